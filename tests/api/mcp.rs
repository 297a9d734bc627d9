//! The MCP endpoint over raw streamable HTTP: per-user tool lists following app
//! activation and agent scope, tool errors the model can read, JSON-RPC errors
//! for protocol misuse, auth, and usage logs.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, Backend, TestApp, spawn_app};

/// A client session on one MCP endpoint (legacy session mode with SSE answers).
pub struct McpSession<'a> {
    app: &'a TestApp,
    path: String,
    key: String,
    session: String,
    next_id: u64,
}

const PROTOCOL: &str = "2025-06-18";

/// The JSON-RPC message answering `id` in an SSE or JSON body (the transport
/// allows either).
fn sse_message(body: &str, id: u64) -> Value {
    if let Ok(message) = serde_json::from_str::<Value>(body) {
        return message;
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("no answer to request {id} in {body}"))
}

impl<'a> McpSession<'a> {
    pub async fn open(app: &'a TestApp, path: &str, key: &str) -> Self {
        let response = app
            .client
            .post(app.url(path))
            .bearer_auth(key)
            .header("Accept", "application/json, text/event-stream")
            .json(&json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                "params": {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let session = response.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let init = sse_message(&response.text().await.unwrap(), 0);
        assert_eq!(init["result"]["serverInfo"]["name"], "assistiv");
        let mut this = Self {
            app,
            path: path.to_owned(),
            key: key.to_owned(),
            session,
            next_id: 1,
        };
        this.post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        this
    }

    async fn post(&mut self, message: Value) -> (u16, String) {
        let response = self
            .app
            .client
            .post(self.app.url(&self.path))
            .bearer_auth(&self.key)
            .header("Accept", "application/json, text/event-stream")
            .header("Mcp-Session-Id", &self.session)
            .header("MCP-Protocol-Version", PROTOCOL)
            .json(&message)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let (status, body) = self
            .post(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        assert_eq!(status, 200, "{body}");
        sse_message(&body, id)
    }

    /// The `Mcp-Session-Id` of this session.
    pub fn id(&self) -> &str {
        &self.session
    }

    pub async fn tool_names(&mut self) -> Vec<String> {
        let listed = self.request("tools/list", json!({})).await;
        listed["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("{listed}"))
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    }

    pub async fn call(&mut self, name: &str, arguments: Value) -> Value {
        self.request("tools/call", json!({"name": name, "arguments": arguments}))
            .await
    }

    /// A tools/call with a caller-chosen id, through `&self`, so several can run at
    /// once on one session.
    pub async fn call_with_id(&self, id: u64, name: &str, arguments: Value) -> Value {
        let message = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": name, "arguments": arguments}});
        let response = self
            .app
            .client
            .post(self.app.url(&self.path))
            .bearer_auth(&self.key)
            .header("Accept", "application/json, text/event-stream")
            .header("Mcp-Session-Id", &self.session)
            .header("MCP-Protocol-Version", PROTOCOL)
            .json(&message)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        sse_message(&response.text().await.unwrap(), id)
    }
}

pub async fn activate_github(app: &TestApp, platform_id: uuid::Uuid) {
    let reply = app
        .send(
            app.request(Method::PUT, &format!("/admin/v1/platforms/{platform_id}/apps/github"), Some(ADMIN_TOKEN))
                .json(&json!({"client_id": "client-1", "client_secret": "secret-1", "base_url": "https://platform.example"})),
        )
        .await;
    assert!(reply.status.is_success(), "{}", reply.body);
}

async fn tool_lists_follow_activation_and_agent_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, key) = app.create_end_user("user").await;
    let mut mcp = McpSession::open(&app, "/mcp", &key).await;
    assert!(mcp.tool_names().await.is_empty(), "nothing activated yet");
    activate_github(&app, app.platform_id).await;
    let names = mcp.tool_names().await;
    for expected in [
        "github_get_me",
        "github_create_issue",
        "github_merge_pull_request",
        "github_search_code",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    let listed = mcp.request("tools/list", json!({})).await;
    let get_me = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "github_get_me")
        .unwrap();
    assert_eq!(get_me["annotations"]["readOnlyHint"], true);
    assert_eq!(get_me["inputSchema"]["type"], "object");
    // The app's output schema, or the gateway's tool error (clients validate both).
    let output = &get_me["outputSchema"];
    assert_eq!(output["type"], "object", "{get_me}");
    assert_eq!(
        output["anyOf"][0]["properties"]["login"]["type"], "string",
        "{get_me}"
    );
    assert_eq!(output["anyOf"][1]["required"], json!(["code", "message"]));

    let agents = format!("/v1/platforms/{}/agents", app.platform_id);
    let reader = app
        .post(&agents, &app.platform_key, &json!({"name": "Reader", "config": {"graph": "triage"}, "allowed_apps": ["github"], "read_only": true}))
        .await;
    assert_eq!(reader.status, 201, "{}", reader.body);
    let reader_path = reader.data()["mcp_path"].as_str().unwrap().to_owned();
    let mut scoped = McpSession::open(&app, &reader_path, &key).await;
    let scoped_names = scoped.tool_names().await;
    assert!(scoped_names.contains(&"github_get_me".to_owned()));
    assert!(
        !scoped_names.contains(&"github_create_issue".to_owned()),
        "read-only agent"
    );
    let refused = scoped
        .call(
            "github_create_issue",
            json!({"owner": "o", "repo": "r", "title": "t"}),
        )
        .await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");

    let nothing = app
        .post(
            &agents,
            &app.platform_key,
            &json!({"name": "Nothing", "allowed_apps": []}),
        )
        .await;
    let mut empty =
        McpSession::open(&app, nothing.data()["mcp_path"].as_str().unwrap(), &key).await;
    assert!(empty.tool_names().await.is_empty());

    // Agents are CRUD; unknown apps are refused; other platforms' agents are 404.
    let id = reader.data()["id"].as_str().unwrap();
    let patched = app
        .patch(
            &format!("{agents}/{id}"),
            &app.platform_key,
            &json!({"read_only": false}),
        )
        .await;
    assert_eq!(patched.data()["read_only"], false);
    assert_eq!(app.get(&agents, &app.platform_key).await.body["total"], 2);
    app.post(
        &agents,
        &app.platform_key,
        &json!({"name": "x", "allowed_apps": ["myspace"]}),
    )
    .await
    .assert_error(400, "bad_request");
    let (other, other_key) = app.create_platform("other").await;
    let (_, other_user_key) = app.create_end_user_on(other, &other_key, "u").await;
    let response = app
        .client
        .post(app.url(&reader_path))
        .bearer_auth(&other_user_key)
        .header("Accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    app.get(&format!("/v1/platforms/{other}/agents/{id}"), &other_key)
        .await
        .assert_error(404, "not_found");
    assert_eq!(
        app.delete(&format!("{agents}/{id}"), &app.platform_key)
            .await
            .status,
        200
    );
    app.stop().await;
}

async fn tool_failures_are_results_and_misuse_is_json_rpc(backend: Backend) {
    let app = spawn_app(backend).await;
    let (euid, key) = app.create_end_user("user").await;
    activate_github(&app, app.platform_id).await;
    let mut mcp = McpSession::open(&app, "/mcp", &key).await;

    let not_connected = mcp.call("github_get_me", json!({})).await;
    let result = &not_connected["result"];
    assert_eq!(result["isError"], true, "{not_connected}");
    assert_eq!(result["structuredContent"]["code"], "not_connected");
    let connect_url = result["structuredContent"]["connect_url"].as_str().unwrap();
    assert!(
        connect_url.starts_with(&format!("{}/oauth/start?t=", app.address)),
        "{connect_url}"
    );
    assert!(!connect_url.contains("sk-"), "no key in any URL");

    let invalid = mcp.call("github_get_issue", json!({"owner": 5})).await;
    assert_eq!(
        invalid["result"]["structuredContent"]["code"],
        "invalid_arguments"
    );
    assert!(
        invalid["result"]["structuredContent"]["errors"]
            .as_array()
            .unwrap()
            .len()
            >= 2
    );

    let unknown = mcp.call("github_does_not_exist", json!({})).await;
    assert_eq!(unknown["error"]["code"], -32602);

    // Every call is logged, for the platform and for the end user.
    let logs = format!("/v1/platforms/{}/logs?kind=tool_call", app.platform_id);
    let logged = TestApp::eventually(Duration::from_secs(5), || async {
        app.get(&logs, &app.platform_key).await.body["data"]
            .as_array()
            .map_or(0, Vec::len)
            == 2
    })
    .await;
    assert!(logged, "two tool calls logged");
    let rows = app.get(&logs, &app.platform_key).await;
    let row = &rows.body["data"][1];
    assert_eq!(row["tool"], "github_get_me");
    assert_eq!(row["status"], "error");
    assert_eq!(row["error_code"], "not_connected");
    assert_eq!(row["end_user_id"], euid.to_string());
    let mine = app.get("/v1/me/logs", &key).await;
    assert_eq!(mine.body["data"].as_array().unwrap().len(), 2);
    app.get(&format!("{logs}&status=maybe"), &app.platform_key)
        .await
        .assert_error(400, "bad_request");
    app.stop().await;
}

async fn tool_calls_count_against_the_rpm_limit(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app
        .post(
            &format!("/v1/platforms/{}/end-users", app.platform_id),
            &app.platform_key,
            &json!({"external_id": "limited", "rate_limits": {"rpm_limit": 2}}),
        )
        .await;
    let key = created.data()["api_key"]["raw_key"]
        .as_str()
        .unwrap()
        .to_owned();
    activate_github(&app, app.platform_id).await;
    let mut mcp = McpSession::open(&app, "/mcp", &key).await;
    let codes: Vec<Value> = {
        let mut codes = Vec::new();
        for _ in 0..3 {
            codes.push(
                mcp.call("github_get_me", json!({})).await["result"]["structuredContent"]["code"]
                    .clone(),
            );
        }
        codes
    };
    // A minute boundary may fall inside the burst; then all three pass.
    if codes[2] != "not_connected" {
        assert_eq!(codes[2], "rate_limited", "{codes:?}");
    }
    app.stop().await;
}

async fn mcp_needs_an_end_user_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}});
    let post = |key: Option<String>| {
        let mut request = app
            .client
            .post(app.url("/mcp"))
            .header("Accept", "application/json, text/event-stream")
            .json(&init);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send()
    };
    let missing = post(None).await.unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        post(Some(app.platform_key.clone())).await.unwrap().status(),
        403
    );
    let (euid, key) = app.create_end_user("user").await;
    app.delete(
        &format!("/v1/platforms/{}/end-users/{euid}", app.platform_id),
        &app.platform_key,
    )
    .await;
    assert_eq!(
        post(Some(key)).await.unwrap().status(),
        401,
        "a deleted user's key dies at once"
    );
    app.stop().await;
}

both_backends!(
    tool_lists_follow_activation_and_agent_scope,
    tool_failures_are_results_and_misuse_is_json_rpc,
    tool_calls_count_against_the_rpm_limit,
    mcp_needs_an_end_user_key,
);
