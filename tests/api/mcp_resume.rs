//! Resuming a legacy session's request stream with `Last-Event-ID`: a client
//! whose connection dropped during a call gets the answer back from a `GET`,
//! even when the answer was produced after it left; other sessions cannot.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app};
use crate::mcp::McpSession;
use crate::skill_zips::enable_skills;

const PROTOCOL: &str = "2025-06-18";

/// The SSE events of `body`: (id, data as JSON).
fn events(body: &str) -> Vec<(Option<String>, Option<Value>)> {
    body.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let id = block
                .lines()
                .find_map(|l| l.strip_prefix("id:"))
                .map(|v| v.trim().to_owned());
            let data = block
                .lines()
                .find_map(|l| l.strip_prefix("data:"))
                .and_then(|d| serde_json::from_str(d.trim()).ok());
            (id, data)
        })
        .collect()
}

/// POSTs a `tools/call` on `session`, reads its stream only up to the first
/// event with an id, and hangs up: that id.
async fn call_and_hang_up(app: &TestApp, key: &str, session: &str, id: u64) -> String {
    let mut response = app
        .request(Method::POST, "/mcp", Some(key))
        .header("Accept", "application/json, text/event-stream")
        .header("Mcp-Session-Id", session)
        .header("MCP-Protocol-Version", PROTOCOL)
        .json(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "find_skill", "arguments": {"query": "anything"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut seen = String::new();
    loop {
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("the stream sent nothing")
            .unwrap()
            .expect("the stream ended before an event with an id");
        seen.push_str(&String::from_utf8_lossy(&chunk));
        if let Some(id) = events(&seen).into_iter().find_map(|(id, _)| id) {
            return id; // dropping `response` closes the connection
        }
    }
}

/// A `GET` resuming after `last_event_id` on `session`: the whole stream.
async fn resume(app: &TestApp, key: &str, session: &str, last_event_id: &str) -> String {
    let response = app
        .request(Method::GET, "/mcp", Some(key))
        .header("Accept", "text/event-stream")
        .header("Mcp-Session-Id", session)
        .header("MCP-Protocol-Version", PROTOCOL)
        .header("Last-Event-ID", last_event_id)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    tokio::time::timeout(Duration::from_secs(10), response.text())
        .await
        .expect("the resumed stream did not end after the answer")
        .unwrap()
}

async fn a_dropped_call_is_answered_on_resume(backend: Backend) {
    let app = spawn_app(backend).await;
    enable_skills(&app, app.platform_id, &app.platform_key).await;
    let (_, key) = app.create_end_user("resumer").await;
    let session = McpSession::open(&app, "/mcp", &key).await;
    let sid = session.id().to_owned();

    let first = call_and_hang_up(&app, &key, &sid, 41).await;
    // Let the call finish while nobody listens.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let resumed = resume(&app, &key, &sid, &first).await;
    let answers: Vec<Value> = events(&resumed)
        .into_iter()
        .filter_map(|(_, data)| data)
        .collect();
    assert_eq!(answers.len(), 1, "exactly the answer: {resumed}");
    assert_eq!(answers[0]["id"], 41, "{resumed}");
    assert!(
        answers[0]["result"]["structuredContent"]["skills"].is_array(),
        "{resumed}"
    );
    // Resuming from the answer's own id: nothing after it.
    let last = events(&resumed)
        .into_iter()
        .find_map(|(id, data)| data.and(id))
        .unwrap_or_else(|| panic!("the answer has an id: {resumed}"));
    let after = resume(&app, &key, &sid, &last).await;
    assert!(
        events(&after).iter().all(|(_, data)| data.is_none()),
        "{after}"
    );

    // Another session of the same key cannot read this one's stream.
    let other = McpSession::open(&app, "/mcp", &key).await;
    let foreign = resume(&app, &key, other.id(), &first).await;
    assert!(
        events(&foreign).iter().all(|(_, data)| data.is_none()),
        "another session's events: {foreign}"
    );
    // A closed session's streams are gone with it.
    let closed = app
        .request(Method::DELETE, "/mcp", Some(&key))
        .header("Mcp-Session-Id", &sid)
        .header("MCP-Protocol-Version", PROTOCOL)
        .send()
        .await
        .unwrap();
    assert!(closed.status().is_success(), "{}", closed.status());
    assert_eq!(app.state.mcp_sessions.replayable_streams(&sid), 0);
    app.stop().await;
}

both_backends!(a_dropped_call_is_answered_on_resume);
