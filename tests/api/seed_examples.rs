//! The curl examples of the public API reference (API keys, authentication, end
//! users, overview, quickstart) run as written, with only the host changed.

use std::process::Command;

use serde_json::Value;

use crate::helpers::{Backend, spawn_app};

const SEED_BASE: &str = "https://api.assistiv.ai";

const EXAMPLES: &[(&str, &str, u16)] = &[
    (
        "api keys: create",
        r#"curl -X POST https://api.assistiv.ai/v1/platforms/$ASSISTIV_PLATFORM_ID/api-keys \
  -H "Authorization: Bearer $ASSISTIV_PLATFORM_KEY" \
  -H "Content-Type: application/json" \
  -d '{"name":"Production server"}'"#,
        201,
    ),
    (
        "authentication: list end users",
        r#"curl https://api.assistiv.ai/v1/platforms/$ASSISTIV_PLATFORM_ID/end-users \
  -H "Authorization: Bearer $ASSISTIV_PLATFORM_KEY" \
  -H "X-Assistiv-Platform-Id: $ASSISTIV_PLATFORM_ID""#,
        200,
    ),
    (
        "end users: create",
        r#"curl -X POST https://api.assistiv.ai/v1/platforms/$ASSISTIV_PLATFORM_ID/end-users \
  -H "Authorization: Bearer $ASSISTIV_PLATFORM_KEY" \
  -H "Content-Type: application/json" \
  -d '{
    "external_id": "user-42",
    "display_name": "Jane Smith",
    "metadata": { "plan": "pro" }
  }'"#,
        201,
    ),
    (
        "quickstart: provision an end user (idempotent)",
        r#"curl -X POST https://api.assistiv.ai/v1/platforms/$ASSISTIV_PLATFORM_ID/end-users \
  -H "Authorization: Bearer $ASSISTIV_PLATFORM_KEY" \
  -H "Content-Type: application/json" \
  -d '{"external_id":"user-42"}'"#,
        200,
    ),
    (
        "overview: sanity-check the platform key",
        r#"curl https://api.assistiv.ai/v1/me \
  -H "Authorization: Bearer $ASSISTIV_PLATFORM_KEY""#,
        200,
    ),
];

async fn seed_curl_examples_work_as_written(backend: Backend) {
    let app = spawn_app(backend).await;
    for (name, example, expected) in EXAMPLES {
        let script = format!(
            "{} -sS -w '\\n%{{http_code}}'",
            example.replace(SEED_BASE, &app.address)
        );
        let output = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .env("ASSISTIV_PLATFORM_ID", app.platform_id.to_string())
            .env("ASSISTIV_PLATFORM_KEY", &app.platform_key)
            .output()
            .expect("curl runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let (body, status) = stdout.rsplit_once('\n').expect("status line");
        assert_eq!(status, expected.to_string(), "{name}: {body}");
        let json: Value = serde_json::from_str(body).expect("JSON body");
        assert!(
            json["data"].is_object() || json["data"].is_array(),
            "{name}: {body}"
        );
    }
    app.stop().await;
}

/// The MCP seeds' one-line curls: a plain JSON-RPC POST with only
/// `Authorization` and `Content-Type` (curl's `Accept: */*`, no session, no
/// protocol version) is answered in JSON, as the stateless revision would.
const MCP_EXAMPLES: &[(&str, &str, &str)] = &[
    (
        "mcp / tools: list available tools",
        r#"curl -N -X POST https://mcp.assistiv.ai/mcp \
  -H "Authorization: Bearer $END_USER_KEY" \
  -H "Content-Type: application/json" \
  -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'"#,
        "find_skill",
    ),
    (
        "skills via mcp: list the five skill tools",
        r#"curl -N -X POST https://mcp.assistiv.ai/mcp/skills \
  -H "Authorization: Bearer $END_USER_KEY" \
  -H "Content-Type: application/json" \
  -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'"#,
        "submit_skill_review",
    ),
];

async fn seed_mcp_curls_answer_in_json(backend: Backend) {
    let app = spawn_app(backend).await;
    let enabled = app
        .patch(
            &format!("/v1/platforms/{}", app.platform_id),
            &app.platform_key,
            &serde_json::json!({"skills_enabled": true}),
        )
        .await;
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    let (_, key) = app.create_end_user("curl-user").await;
    for (name, example, expected_tool) in MCP_EXAMPLES {
        let script = format!(
            "{} -sS -w '\\n%{{http_code}} %{{content_type}}'",
            example.replace("https://mcp.assistiv.ai", &app.address)
        );
        let output = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .env("END_USER_KEY", &key)
            .output()
            .expect("curl runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let (body, status) = stdout.rsplit_once('\n').expect("status line");
        assert_eq!(status, "200 application/json", "{name}: {body}");
        let json: Value = serde_json::from_str(body).expect("JSON body");
        assert_eq!(json["id"], 1, "{name}: {body}");
        // The 2026-07-28 cache hints: a private list, reusable for 30 s.
        assert_eq!(json["result"]["ttlMs"], 30_000, "{name}: {body}");
        assert_eq!(json["result"]["cacheScope"], "private", "{name}: {body}");
        let names: Vec<&str> = json["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {body}"))
            .iter()
            .filter_map(|tool| tool["name"].as_str())
            .collect();
        assert!(names.contains(expected_tool), "{name}: {names:?}");
    }
    // A tool call the same way, and the same refusal a client would get.
    let call = app
        .request(reqwest::Method::POST, "/mcp", Some(&key))
        .json(
            &serde_json::json!({"jsonrpc": "2.0", "id": "c1", "method": "tools/call",
            "params": {"name": "find_skill", "arguments": {"query": "pdf"}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(call.status(), 200);
    let call: Value = call.json().await.unwrap();
    assert_eq!(call["id"], "c1", "{call}");
    assert_eq!(call["result"]["isError"], false, "{call}");
    let unknown = app
        .request(reqwest::Method::POST, "/mcp", Some(&key))
        .json(
            &serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "no_such_tool", "arguments": {}}}),
        )
        .send()
        .await
        .unwrap();
    let unknown: Value = unknown.json().await.unwrap();
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    app.stop().await;
}

both_backends!(
    seed_curl_examples_work_as_written,
    seed_mcp_curls_answer_in_json
);
