//! The Zoho Mail and Zendesk apps as the gateway serves them: listed once a platform
//! activates them, named `<app>_<action>`, with their annotations, input and output
//! schemas; gone again when deactivated.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, Backend, TestApp, spawn_app};
use crate::mcp::McpSession;

const ZOHO_MAIL_TOOLS: [&str; 9] = [
    "zoho_mail_list_accounts",
    "zoho_mail_list_folders",
    "zoho_mail_list_messages",
    "zoho_mail_search_messages",
    "zoho_mail_get_message",
    "zoho_mail_send_message",
    "zoho_mail_reply_to_message",
    "zoho_mail_mark_read",
    "zoho_mail_move_message",
];

const ZENDESK_TOOLS: [&str; 9] = [
    "zendesk_search_tickets",
    "zendesk_get_ticket",
    "zendesk_create_ticket",
    "zendesk_update_ticket",
    "zendesk_list_ticket_comments",
    "zendesk_add_ticket_comment",
    "zendesk_search_users",
    "zendesk_get_user",
    "zendesk_get_me",
];

async fn activate(app: &TestApp, slug: &str, extra: Value) {
    let mut body = json!({"client_id": "client-1", "client_secret": "secret-1",
                          "base_url": "https://platform.example"});
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    let path = format!("/admin/v1/platforms/{}/apps/{slug}", app.platform_id);
    let reply = app
        .send(
            app.request(Method::PUT, &path, Some(ADMIN_TOKEN))
                .json(&body),
        )
        .await;
    assert!(reply.status.is_success(), "{slug}: {}", reply.body);
}

async fn tools(mcp: &mut McpSession<'_>) -> Vec<Value> {
    let listed = mcp.request("tools/list", json!({})).await;
    listed["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed}"))
        .clone()
}

fn find<'a>(tools: &'a [Value], name: &str) -> &'a Value {
    tools
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("{name} not listed"))
}

fn names_with(tools: &[Value], prefix: &str) -> Vec<String> {
    tools
        .iter()
        .filter_map(|t| t["name"].as_str())
        .filter(|n| n.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

async fn zoho_mail_and_zendesk_tools_follow_activation(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, key) = app.create_end_user("user").await;
    let mut mcp = McpSession::open(&app, "/mcp", &key).await;
    assert!(tools(&mut mcp).await.is_empty(), "nothing activated yet");

    activate(
        &app,
        "zoho-mail",
        json!({"scopes": "ZohoMail.messages.ALL"}),
    )
    .await;
    let listed = tools(&mut mcp).await;
    assert_eq!(names_with(&listed, "zoho_mail_"), ZOHO_MAIL_TOOLS);
    assert!(names_with(&listed, "zendesk_").is_empty());

    let list = find(&listed, "zoho_mail_list_messages");
    assert_eq!(list["title"], "Zoho Mail: List messages");
    assert_eq!(list["annotations"]["readOnlyHint"], true);
    assert_eq!(list["inputSchema"]["additionalProperties"], false);
    assert_eq!(list["outputSchema"]["type"], "object");
    let send = find(&listed, "zoho_mail_send_message");
    assert_eq!(send["annotations"]["readOnlyHint"], false);
    assert_eq!(send["annotations"]["destructiveHint"], false);
    assert_eq!(send["annotations"]["idempotentHint"], false);
    assert_eq!(send["annotations"]["openWorldHint"], true);
    assert_eq!(
        send["inputSchema"]["required"],
        json!(["to", "subject", "content"])
    );
    let mark = find(&listed, "zoho_mail_mark_read");
    assert_eq!(mark["annotations"]["idempotentHint"], true);
    assert_eq!(mark["annotations"]["readOnlyHint"], false);

    activate(
        &app,
        "zendesk",
        json!({"api_base_url": "https://acme.zendesk.com"}),
    )
    .await;
    let listed = tools(&mut mcp).await;
    assert_eq!(names_with(&listed, "zendesk_"), ZENDESK_TOOLS);
    assert_eq!(
        names_with(&listed, "zoho_mail_").len(),
        ZOHO_MAIL_TOOLS.len()
    );
    let comment = find(&listed, "zendesk_add_ticket_comment");
    assert_eq!(comment["annotations"]["readOnlyHint"], false);
    assert_eq!(comment["annotations"]["idempotentHint"], false);
    assert_eq!(
        comment["inputSchema"]["required"],
        json!(["ticket_id", "body", "public"])
    );
    let update = find(&listed, "zendesk_update_ticket");
    assert_eq!(update["annotations"]["idempotentHint"], true);
    assert_eq!(update["annotations"]["destructiveHint"], false);
    assert_eq!(
        find(&listed, "zendesk_search_tickets")["annotations"]["readOnlyHint"],
        true
    );

    // The platform's connect UI sees both, with their tool counts.
    let apps = app
        .get(
            &format!("/v1/platforms/{}/mcp/apps", app.platform_id),
            &app.platform_key,
        )
        .await;
    let counts: Vec<(String, u64)> = apps
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["app"].as_str().unwrap().to_owned(),
                a["tool_count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(counts.contains(&("zoho-mail".to_owned(), 9)), "{counts:?}");
    assert!(counts.contains(&("zendesk".to_owned(), 9)), "{counts:?}");

    // Calls are validated against the schema first, then need the user's connection.
    let bad = mcp
        .call(
            "zoho_mail_list_folders",
            json!({"account_id": 2560636000000008002_u64}),
        )
        .await;
    assert_eq!(
        bad["result"]["structuredContent"]["code"], "invalid_arguments",
        "{bad}"
    );
    let not_connected = mcp
        .call("zendesk_get_ticket", json!({"ticket_id": 35436}))
        .await;
    let result = &not_connected["result"];
    assert_eq!(result["isError"], true, "{not_connected}");
    assert_eq!(result["structuredContent"]["code"], "not_connected");
    assert_eq!(result["structuredContent"]["app"], "zendesk");
    assert!(
        result["structuredContent"]["connect_url"]
            .as_str()
            .is_some_and(|u| u.contains("/oauth/start?t=")),
        "{result}"
    );

    // Deactivating an app takes its tools away, and only its tools.
    let path = format!("/admin/v1/platforms/{}/apps/zoho-mail", app.platform_id);
    let gone = app
        .send(app.request(Method::DELETE, &path, Some(ADMIN_TOKEN)))
        .await;
    assert!(gone.status.is_success(), "{}", gone.body);
    let listed = tools(&mut mcp).await;
    assert!(names_with(&listed, "zoho_mail_").is_empty());
    assert_eq!(names_with(&listed, "zendesk_").len(), ZENDESK_TOOLS.len());
    app.stop().await;
}

both_backends!(zoho_mail_and_zendesk_tools_follow_activation);
