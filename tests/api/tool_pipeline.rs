//! The one tool pipeline: `tools/list` served from bytes serialized once is the
//! very list rmcp would send, follows changes at once, and never skips rmcp's
//! checks; and the pipeline runs an end user's tools without any MCP session
//! (what the Responses API does), checking and logging them the same way.

use serde_json::{Value, json};

use super::helpers::{Backend, TestApp, spawn_app};
use super::mcp::McpSession;
use super::skill_zips::enable_skills;
use assistiv::tools::{CallError, ToolCaller, ToolScope, Tools};

/// A raw `tools/list` with `headers` (after `Accept`): (status, content type, body).
async fn send_list(
    app: &TestApp,
    key: &str,
    params: Value,
    headers: &[(&str, &str)],
) -> (u16, String, String) {
    let mut request = app
        .client
        .post(app.url("/mcp"))
        .bearer_auth(key)
        .header("Accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": params}));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, response.text().await.unwrap())
}

/// A raw `tools/list` on `session`, with extra headers: (status, content type, body).
async fn list(
    app: &TestApp,
    key: &str,
    session: &str,
    params: Value,
    extra: &[(&str, &str)],
) -> (u16, String, String) {
    let mut headers = vec![
        ("Mcp-Session-Id", session),
        ("MCP-Protocol-Version", "2025-06-18"),
    ];
    headers.extend_from_slice(extra);
    send_list(app, key, params, &headers).await
}

/// The JSON-RPC answer in a JSON or SSE body.
pub fn answer(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| {
        body.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .find_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .unwrap_or_else(|| panic!("no JSON-RPC answer in {body}"))
    })
}

fn names(answer: &Value) -> Vec<String> {
    answer["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn listing_bytes_are_rmcps_list_and_follow_changes(backend: Backend) {
    let app = spawn_app(backend).await;
    enable_skills(&app, app.platform_id, &app.platform_key).await;
    let (_, key) = app.create_end_user("lister").await;
    let session = McpSession::open(&app, "/mcp", &key).await;
    let sid = session.id().to_owned();

    let (status, kind, fast) = list(&app, &key, &sid, json!({}), &[]).await;
    assert_eq!(status, 200, "{fast}");
    assert!(
        kind.starts_with("application/json"),
        "served from bytes: {kind}"
    );
    // `_meta` sends the same request through rmcp (SSE).
    let (status, kind, slow) = list(
        &app,
        &key,
        &sid,
        json!({"_meta": {"progressToken": 1}}),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{slow}");
    assert!(
        kind.starts_with("text/event-stream"),
        "through rmcp: {kind}"
    );
    assert_eq!(answer(&fast), answer(&slow), "the same list either way");
    assert!(names(&answer(&fast)).contains(&"find_skill".to_owned()));

    // A change shows at once: no stale bytes.
    let off = app
        .patch(
            &format!("/v1/platforms/{}", app.platform_id),
            &app.platform_key,
            &json!({"skills_enabled": false}),
        )
        .await;
    assert_eq!(off.status, 200);
    let (_, _, fast) = list(&app, &key, &sid, json!({}), &[]).await;
    assert!(
        !names(&answer(&fast)).contains(&"find_skill".to_owned()),
        "{fast}"
    );

    // rmcp's own checks still apply: a browser Origin or a foreign Host is
    // refused as rmcp refuses it, never answered from the bytes.
    let (status, _, body) = list(
        &app,
        &key,
        &sid,
        json!({}),
        &[("Origin", "https://evil.example")],
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, _, body) = list(&app, &key, &sid, json!({}), &[("Host", "evil.example")]).await;
    assert_eq!(status, 403, "{body}");
    // Params the bytes were not made for are left to rmcp, whatever it answers.
    for params in [json!({"cursor": 5}), json!([1])] {
        let (_, kind, body) = list(&app, &key, &sid, params, &[]).await;
        assert!(
            !kind.starts_with("application/json") || body.contains("\"error\""),
            "{kind} {body}"
        );
    }
    app.stop().await;
}

async fn the_pipeline_runs_tools_without_mcp(backend: Backend) {
    let app = spawn_app(backend).await;
    enable_skills(&app, app.platform_id, &app.platform_key).await;
    let (end_user_id, key) = app.create_end_user("responses").await;
    let auth = app.state.auth.authenticate(&key).await.unwrap().unwrap();
    let tools = Tools::standard(app.state.clone()).unwrap();
    let caller = ToolCaller {
        key: auth,
        platform_id: app.platform_id,
        end_user_id,
        scope: ToolScope::All,
        request_id: "req_pipeline".into(),
        over_rate_limit: None,
    };
    let listed = tools.list(&caller).await.unwrap();
    assert!(listed.iter().any(|t| t.name == "find_skill"));

    let found = tools
        .call(
            &caller,
            "find_skill",
            json!({"query": "pdf"}).as_object().cloned().unwrap(),
        )
        .await
        .unwrap();
    assert_ne!(found.is_error, Some(true), "{found:?}");
    let invalid = tools
        .call(
            &caller,
            "find_skill",
            json!({"query": 5}).as_object().cloned().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(invalid.is_error, Some(true));
    assert_eq!(
        invalid.structured_content.unwrap()["code"],
        "invalid_arguments"
    );
    let nul = tools
        .call(
            &caller,
            "find_skill",
            json!({"query": "a\u{0}b"}).as_object().cloned().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(nul.structured_content.unwrap()["code"], "invalid_arguments");
    assert!(matches!(
        tools
            .call(&caller, "no_such_tool", Default::default())
            .await,
        Err(CallError::UnknownTool(_))
    ));
    // Scoped like an MCP path: the capabilities scope does not reach skills.
    let scoped = ToolCaller {
        scope: ToolScope::Capabilities,
        ..caller.clone()
    };
    assert!(matches!(
        tools.call(&scoped, "find_skill", Default::default()).await,
        Err(CallError::UnknownTool(_))
    ));

    // Logged once each, like calls over MCP.
    let logged = TestApp::eventually(std::time::Duration::from_secs(10), || async {
        let logs = app.get("/v1/me/logs?kind=tool_call", &key).await;
        logs.body["data"]
            .as_array()
            .is_some_and(|rows| rows.iter().filter(|r| r["tool"] == "find_skill").count() == 3)
    })
    .await;
    assert!(logged, "three find_skill rows in the usage log");
    app.stop().await;
}

/// A stateless (`2026-07-28`) `tools/list` with `meta` and extra headers.
async fn stateless_list(
    app: &TestApp,
    key: &str,
    meta: Value,
    extra: &[(&str, &str)],
) -> (u16, String, Value) {
    let mut headers = vec![
        ("MCP-Protocol-Version", "2026-07-28"),
        ("Mcp-Method", "tools/list"),
    ];
    headers.extend_from_slice(extra);
    let (status, kind, body) = send_list(app, key, json!({"_meta": meta}), &headers).await;
    (status, kind, answer(&body))
}

/// The stateless revision's list from bytes is rmcp's, and what rmcp refuses
/// still reaches rmcp.
async fn stateless_listing_bytes_are_rmcps_list(backend: Backend) {
    let app = spawn_app(backend).await;
    enable_skills(&app, app.platform_id, &app.platform_key).await;
    let (_, key) = app.create_end_user("stateless-lister").await;
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {},
                      "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"}});
    let (status, kind, fast) = stateless_list(&app, &key, meta.clone(), &[]).await;
    assert_eq!(status, 200, "{fast}");
    assert!(
        kind.starts_with("application/json"),
        "served from bytes: {kind}"
    );
    // Another `_meta` key sends the same request through rmcp.
    let mut through = meta.clone();
    through["progressToken"] = json!(1);
    let (status, kind, slow) = stateless_list(&app, &key, through, &[]).await;
    assert_eq!(status, 200, "{slow}");
    assert!(
        kind.starts_with("text/event-stream"),
        "through rmcp: {kind}"
    );
    assert_eq!(fast, slow, "the same list either way");
    assert_eq!(fast["result"]["resultType"], "complete", "{fast}");
    assert!(names(&fast).contains(&"find_skill".to_owned()));
    // What rmcp refuses is refused as before: a contradicting Mcp-Method, a
    // missing capability, malformed capabilities.
    let (status, _, wrong) =
        stateless_list(&app, &key, meta.clone(), &[("Mcp-Method", "tools/call")]).await;
    assert_eq!(status, 400, "{wrong}");
    let (status, _, missing) = stateless_list(
        &app,
        &key,
        json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28"}),
        &[],
    )
    .await;
    assert_eq!(status, 400, "{missing}");
    let (status, _, malformed) = stateless_list(
        &app,
        &key,
        json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
               "io.modelcontextprotocol/clientCapabilities": {"roots": 5}}),
        &[],
    )
    .await;
    assert_ne!(status, 200, "{malformed}");
    app.stop().await;
}

both_backends!(
    stateless_listing_bytes_are_rmcps_list,
    listing_bytes_are_rmcps_list_and_follow_changes,
    the_pipeline_runs_tools_without_mcp
);
