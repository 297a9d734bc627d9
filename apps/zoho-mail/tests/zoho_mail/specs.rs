use std::collections::{BTreeMap, HashSet};

use assistiv_app_sdk::{App, Revocation, qualified_tool_name};
use assistiv_app_zoho_mail::{OAUTH, ZohoMailApp};
use serde_json::json;

const TOOLS: [&str; 9] = [
    "list_accounts",
    "list_folders",
    "list_messages",
    "search_messages",
    "get_message",
    "send_message",
    "reply_to_message",
    "mark_read",
    "move_message",
];

#[test]
fn every_tool_is_listed_once_with_a_snake_case_name() {
    let app = ZohoMailApp::new();
    let names: Vec<&str> = app.tools().iter().map(|t| t.name).collect();
    assert_eq!(names, TOOLS);
    let unique: HashSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "duplicate tool names");
    for name in names {
        let snake = name.starts_with(|c: char| c.is_ascii_lowercase())
            && !name.ends_with('_')
            && !name.contains("__")
            && name.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        assert!(snake, "{name} is not snake_case");
        assert!(qualified_tool_name(app.slug(), name).len() <= 64, "{name}");
    }
    assert_eq!(
        qualified_tool_name(app.slug(), "send_message"),
        "zoho_mail_send_message"
    );
}

#[test]
fn every_input_and_output_schema_is_valid() {
    for tool in ZohoMailApp::new().tools() {
        let schema = &tool.input_schema;
        jsonschema::meta::validate(schema)
            .unwrap_or_else(|e| panic!("{}: not a valid JSON Schema: {e}", tool.name));
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{}",
            tool.name
        );
        assert_eq!(schema["type"], "object", "{}", tool.name);
        assert_eq!(schema["additionalProperties"], false, "{}", tool.name);
        assert!(schema.get("$defs").is_none(), "{}: inlined", tool.name);
        assert!(!tool.title.is_empty() && !tool.description.is_empty());
        let text = serde_json::to_string(schema).unwrap();
        assert!(!text.contains("null") && !text.contains("uint"), "{text}");

        let output = tool
            .output_schema
            .as_ref()
            .expect("every tool has an output schema");
        jsonschema::validator_for(output)
            .unwrap_or_else(|e| panic!("{}: output schema does not compile: {e}", tool.name));
        // MCP requires an object at the top of an output schema.
        assert_eq!(output["type"], "object", "{}", tool.name);
    }
}

#[test]
fn ids_are_strings_of_digits_in_every_schema() {
    let app = ZohoMailApp::new();
    let validator = |name: &str| {
        let tool = app.tools().iter().find(|t| t.name == name).unwrap();
        jsonschema::validator_for(&tool.input_schema).unwrap()
    };
    let folders = validator("list_folders");
    assert!(folders.is_valid(&json!({})));
    assert!(folders.is_valid(&json!({"account_id": "2560636000000008002"})));
    assert!(!folders.is_valid(&json!({"account_id": 2560636000000008002_u64})));
    assert!(!folders.is_valid(&json!({"account_id": "acct-1"})));

    let list = validator("list_messages");
    assert!(list.is_valid(&json!({"limit": 200, "start": 1})));
    assert!(!list.is_valid(&json!({"limit": 201})));
    assert!(!list.is_valid(&json!({"start": 0})));

    let send = validator("send_message");
    assert!(send.is_valid(&json!({"to": ["a@b.c"], "subject": "", "content": ""})));
    assert!(!send.is_valid(&json!({"to": [], "subject": "s", "content": "c"})));
    assert!(
        !send.is_valid(&json!({"to": ["a@b.c"], "subject": "s", "content": "c", "format": "rtf"}))
    );

    let mark = validator("mark_read");
    assert!(!mark.is_valid(&json!({"message_ids": []})));
    assert!(mark.is_valid(&json!({"message_ids": ["1"], "read": false})));
}

#[test]
fn annotations_follow_what_each_tool_does() {
    for tool in ZohoMailApp::new().tools() {
        let a = tool.annotations;
        let reads = ["list_", "search_", "get_"]
            .iter()
            .any(|p| tool.name.starts_with(p));
        assert_eq!(a.read_only, reads, "{}", tool.name);
        assert!(!a.destructive, "{}: nothing here destroys", tool.name);
        assert!(a.open_world, "{}", tool.name);
        let sends = matches!(tool.name, "send_message" | "reply_to_message");
        // Sending twice sends two emails; marking or moving twice changes nothing more.
        assert_eq!(a.idempotent, !sends, "{}", tool.name);
    }
}

#[test]
fn identity_and_oauth_metadata() {
    let app = ZohoMailApp::default();
    assert_eq!(app.slug(), "zoho-mail");
    assert_eq!(app.display_name(), "Zoho Mail");
    let oauth = app.oauth();
    assert_eq!(oauth, &OAUTH);
    assert_eq!(
        oauth.authorize_url,
        "https://accounts.zoho.com/oauth/v2/auth"
    );
    // The user's data centre: its accounts server and mail host, per connection.
    assert_eq!(oauth.token_url, "{accounts_server}/oauth/v2/token");
    assert_eq!(
        oauth.revoke_url,
        Some("{accounts_server}/oauth/v2/token/revoke")
    );
    assert_eq!(oauth.api_base_url, "{mail_api}");
    assert_eq!(app.revocation(), Revocation::RefreshTokenQuery);
    let eu: BTreeMap<String, String> = [
        (
            "accounts-server".to_owned(),
            "https://accounts.zoho.eu".to_owned(),
        ),
        ("location".to_owned(), "eu".to_owned()),
    ]
    .into();
    let settings = app.settings_from_callback(&eu, &[]).unwrap();
    assert_eq!(settings["mail_api"], "https://mail.zoho.eu");
    let evil: BTreeMap<String, String> = [(
        "accounts-server".to_owned(),
        "https://evil.example".to_owned(),
    )]
    .into();
    assert!(app.settings_from_callback(&evil, &[]).is_err());
    assert_eq!(
        oauth.default_scope_param(),
        "ZohoMail.accounts.READ,ZohoMail.folders.READ,ZohoMail.messages.ALL"
    );
    assert!(
        oauth
            .extra_authorize_params
            .contains(&("access_type", "offline"))
    );
    assert!(
        oauth
            .extra_authorize_params
            .contains(&("prompt", "consent"))
    );
}
