//! The MCP endpoint under hostile use: live sessions bounded per end user, a
//! session usable only with the key that opened it, every MCP request counted
//! against the user's RPM (once), JSON-RPC errors for malformed bodies and params,
//! and no tool argument in the log at any level.

use std::time::Duration;

use assistiv::billing::clock::ManualClock;
use futures::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, fresh_postgres_database, spawn_app, spawn_app_with_clock};
use crate::mcp::activate_github;

const PROTOCOL: &str = "2025-06-18";
const ACCEPT: &str = "application/json, text/event-stream";

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}})
}

/// The JSON-RPC message answering `id` in an SSE or JSON body.
fn answer_to(body: &str, id: u64) -> Value {
    if let Ok(message) = serde_json::from_str::<Value>(body) {
        return message;
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("no answer to request {id} in {body}"))
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

/// One MCP HTTP request: `session` goes in `Mcp-Session-Id`.
async fn send(
    app: &TestApp,
    method: Method,
    key: &str,
    session: Option<&str>,
    body: Option<Vec<u8>>,
) -> Answer {
    let is_get = method == Method::GET;
    let accept = if is_get { "text/event-stream" } else { ACCEPT };
    let mut request = app
        .request(method, "/mcp", Some(key))
        .header("Accept", accept)
        .header("MCP-Protocol-Version", PROTOCOL);
    if let Some(session) = session {
        request = request.header("Mcp-Session-Id", session);
    }
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    // The SSE stream a GET opens stays open: it is not read.
    let body = if status == 200 && is_get {
        String::new()
    } else {
        response.text().await.unwrap()
    };
    Answer {
        status,
        headers,
        body,
    }
}

async fn post(app: &TestApp, key: &str, session: Option<&str>, message: &Value) -> Answer {
    send(
        app,
        Method::POST,
        key,
        session,
        Some(serde_json::to_vec(message).unwrap()),
    )
    .await
}

/// `initialize` then `notifications/initialized`: the new session's id.
async fn open(app: &TestApp, key: &str) -> String {
    let opened = post(app, key, None, &initialize()).await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    let session = opened.headers["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let initialized = post(
        app,
        key,
        Some(&session),
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    assert_eq!(initialized.status, 202, "{}", initialized.body);
    session
}

async fn request(
    app: &TestApp,
    key: &str,
    session: &str,
    id: u64,
    method: &str,
    params: Value,
) -> (u16, Value) {
    let answer = post(
        app,
        key,
        Some(session),
        &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
    )
    .await;
    let message = if answer.status == 200 {
        answer_to(&answer.body, id)
    } else {
        serde_json::from_str(&answer.body).unwrap_or(Value::Null)
    };
    (answer.status, message)
}

async fn end_user_with_rpm(app: &TestApp, rpm: u32) -> String {
    let created = app
        .post(
            &format!("/v1/platforms/{}/end-users", app.platform_id),
            &app.platform_key,
            &json!({"external_id": format!("rpm-{rpm}"), "rate_limits": {"rpm_limit": rpm}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.data()["api_key"]["raw_key"]
        .as_str()
        .unwrap()
        .to_owned()
}

// ---------------------------------------------------------------------------------
// Item 2: sessions bounded per end user, MCP requests counted against RPM/RPD
// ---------------------------------------------------------------------------------

async fn live_sessions_are_bounded_per_end_user(backend: Backend) {
    const OPENED: usize = 5_000;
    let app = spawn_app(backend).await;
    let bound = app.state.config.mcp_max_sessions_per_user;
    let (_, flooder) = app.create_end_user("flooder").await;
    let (_, neighbour) = app.create_end_user("neighbour").await;
    let neighbours = open(&app, &neighbour).await;
    let first = open(&app, &flooder).await;

    let (app_ref, flooder_ref) = (&app, &flooder);
    let opened: Vec<String> = futures::stream::iter(0..OPENED)
        .map(|_| async move {
            let answer = post(app_ref, flooder_ref, None, &initialize()).await;
            assert_eq!(answer.status, 200, "{}", answer.body);
            answer.headers["mcp-session-id"]
                .to_str()
                .unwrap()
                .to_owned()
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert_eq!(opened.len(), OPENED);

    assert_eq!(
        app.state.mcp_sessions.live(),
        bound + 1,
        "the flooder's bound, plus the neighbour's session"
    );
    assert_eq!(app.state.mcp_sessions.held_by_rmcp().await, bound + 1);
    let (status, _) = request(&app, &flooder, &first, 1, "tools/list", json!({})).await;
    assert_eq!(status, 404, "the least recently used session was closed");
    let latest = opened.last().unwrap();
    let initialized = post(
        &app,
        &flooder,
        Some(latest),
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    assert_eq!(initialized.status, 202, "a recent session lives");
    let (status, _) = request(&app, &flooder, latest, 1, "ping", json!({})).await;
    assert_eq!(status, 200, "a recent session lives");
    let (status, listed) = request(&app, &neighbour, &neighbours, 1, "tools/list", json!({})).await;
    assert_eq!(
        status, 200,
        "another user's session is not touched: {listed}"
    );
    app.stop().await;
}

async fn idle_sessions_leave_the_books(backend: Backend) {
    let app = crate::helpers::spawn_app_with(backend, |c| c.mcp_session_idle_secs = 1).await;
    let (_, key) = app.create_end_user("idle").await;
    for _ in 0..3 {
        open(&app, &key).await;
    }
    assert_eq!(app.state.mcp_sessions.live(), 3);
    let drained = TestApp::eventually(Duration::from_secs(30), || {
        let sessions = app.state.mcp_sessions.clone();
        async move { sessions.live() == 0 && sessions.held_by_rmcp().await == 0 }
    })
    .await;
    assert!(
        drained,
        "idle sessions are dropped by rmcp and by the owner book"
    );
    app.stop().await;
}

async fn every_mcp_request_counts_once_against_the_rpm(backend: Backend) {
    // A stopped clock: the minute window cannot turn during the test.
    let app = spawn_app_with_clock(backend, ManualClock::new(chrono::Utc::now()), |_| {}).await;
    activate_github(&app, app.platform_id).await;
    let key = end_user_with_rpm(&app, 3).await;

    let opened = post(&app, &key, None, &initialize()).await; // 1
    assert_eq!(opened.status, 200, "{}", opened.body);
    assert_eq!(opened.headers["x-ratelimit-remaining-requests"], "2");
    let session = opened.headers["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let initialized = post(
        &app,
        &key,
        Some(&session),
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    assert_eq!(initialized.status, 202, "a notification is not counted");
    let (status, called) = request(
        &app,
        &key,
        &session,
        1,
        "tools/call",
        json!({"name": "github_get_me", "arguments": {}}),
    )
    .await; // 2
    assert_eq!(status, 200);
    assert_eq!(
        called["result"]["structuredContent"]["code"], "not_connected",
        "{called}"
    );
    let (status, listed) = request(&app, &key, &session, 2, "tools/list", json!({})).await; // 3
    assert_eq!(status, 200, "the tool call counted once: {listed}");

    let refused = post(
        &app,
        &key,
        Some(&session),
        &json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
    )
    .await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert!(refused.headers.contains_key("retry-after"));
    let body: Value = serde_json::from_str(&refused.body).unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    let again = post(&app, &key, None, &initialize()).await;
    assert_eq!(again.status, 429, "initialize counts too");
    assert!(again.headers.contains_key("retry-after"));
    assert!(again.headers.get("mcp-session-id").is_none());

    // A tool call past the limit keeps its tool-error answer.
    let (status, limited) = request(
        &app,
        &key,
        &session,
        4,
        "tools/call",
        json!({"name": "github_get_me", "arguments": {}}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(limited["result"]["isError"], true, "{limited}");
    assert_eq!(
        limited["result"]["structuredContent"]["code"],
        "rate_limited"
    );
    assert!(
        limited["result"]["structuredContent"]["retry_after_secs"]
            .as_u64()
            .unwrap()
            >= 1
    );

    let closed = send(&app, Method::DELETE, &key, Some(&session), None).await;
    assert_eq!(closed.status, 200, "closing a session is not counted");
    app.stop().await;
}

// ---------------------------------------------------------------------------------
// Item 3: a session belongs to the key that opened it
// ---------------------------------------------------------------------------------

/// An error body without its (per request) `request_id`.
fn without_request_id(body: &str) -> Value {
    let mut body: Value = serde_json::from_str(body).unwrap_or_else(|_| Value::from(body));
    if let Some(error) = body.get_mut("error").and_then(Value::as_object_mut) {
        error.remove("request_id");
    }
    body
}

async fn a_session_belongs_to_the_key_that_opened_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner) = app.create_end_user("owner").await;
    let (_, same_platform) = app.create_end_user("neighbour").await;
    let (other, other_key) = app.create_platform("other").await;
    let (_, other_platform) = app.create_end_user_on(other, &other_key, "stranger").await;
    let session = open(&app, &owner).await;
    let unknown = uuid::Uuid::new_v4().to_string();

    let list =
        serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list"})).unwrap();
    for intruder in [&same_platform, &other_platform] {
        for (method, body) in [
            (Method::POST, Some(list.clone())),
            (Method::GET, None),
            (Method::DELETE, None),
        ] {
            let foreign = send(&app, method.clone(), intruder, Some(&session), body.clone()).await;
            let missing = send(&app, method.clone(), intruder, Some(&unknown), body).await;
            assert_eq!(foreign.status, 404, "{method} with another key's session");
            assert_eq!(
                (foreign.status, without_request_id(&foreign.body)),
                (missing.status, without_request_id(&missing.body)),
                "{method}: another key's session looks like an unknown one"
            );
        }
    }
    let (status, listed) = request(&app, &owner, &session, 1, "tools/list", json!({})).await;
    assert_eq!(status, 200, "the owner's session survived: {listed}");
    let stream = send(&app, Method::GET, &owner, Some(&session), None).await;
    assert_eq!(stream.status, 200, "the owner may open the SSE stream");

    // 200, which the SDKs expect (the Python SDK warns on any other status).
    let closed = send(&app, Method::DELETE, &owner, Some(&session), None).await;
    assert_eq!(closed.status, 200);
    let (status, _) = request(&app, &owner, &session, 2, "tools/list", json!({})).await;
    assert_eq!(status, 404, "closed by its owner");
    assert_eq!(app.state.mcp_sessions.live(), 0);
    app.stop().await;
}

// ---------------------------------------------------------------------------------
// Item 7: JSON-RPC errors for malformed bodies and params
// ---------------------------------------------------------------------------------

async fn malformed_messages_are_json_rpc_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, key) = app.create_end_user("user").await;
    for (body, code, id) in [
        (
            &b"{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": "[..],
            -32700,
            Value::Null,
        ),
        (b"not json", -32700, Value::Null),
        (b"", -32700, Value::Null),
        (
            b"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]",
            -32600,
            Value::Null,
        ),
        (b"{\"hello\": \"world\"}", -32600, Value::Null),
        (b"{\"jsonrpc\":\"2.0\",\"id\":5}", -32600, json!(5)),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":7}",
            -32600,
            Value::Null,
        ),
    ] {
        let answer = send(&app, Method::POST, &key, None, Some(body.to_vec())).await;
        let shown = String::from_utf8_lossy(body);
        assert_eq!(answer.status, 400, "{shown}: {}", answer.body);
        let error: Value = serde_json::from_str(&answer.body)
            .unwrap_or_else(|e| panic!("{shown}: {e}: {}", answer.body));
        assert_eq!(error["jsonrpc"], "2.0", "{error}");
        assert_eq!(error["error"]["code"], code, "{shown}: {error}");
        assert_eq!(error["id"], id, "{shown}: {error}");
    }

    let session = open(&app, &key).await;
    for (id, params, status) in [
        (11, json!({"name": 5, "arguments": {}}), 200),
        (
            12,
            json!({"name": "github_get_me", "arguments": [1, 2]}),
            200,
        ),
        (13, json!({"arguments": {}}), 200),
        // Params that are not even an object: refused before the session sees them.
        (14, json!([]), 400),
    ] {
        let (answered, answer) =
            request(&app, &key, &session, id, "tools/call", params.clone()).await;
        assert_eq!(answered, status, "{params}: {answer}");
        assert_eq!(answer["id"], id, "{answer}");
        assert_eq!(answer["error"]["code"], -32602, "{params}: {answer}");
    }
    let (_, unknown) = request(&app, &key, &session, 15, "no/such/method", json!({})).await;
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    let (_, listed) = request(&app, &key, &session, 16, "tools/list", json!({})).await;
    assert!(
        listed["result"]["tools"].is_array(),
        "the session still works: {listed}"
    );
    app.stop().await;
}

// ---------------------------------------------------------------------------------
// Item 13: no tool argument in the log, whatever RUST_LOG says
// ---------------------------------------------------------------------------------

/// `assistiv serve` with every target at debug and rmcp at trace; the log is
/// written to `log`. Answers the child, its URL and the first platform key.
async fn serve_logging_everything(
    backend: Backend,
    dir: &std::path::Path,
    log: &std::path::Path,
) -> (tokio::process::Child, String, String) {
    use tokio::io::AsyncBufReadExt;
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_assistiv"));
    for (name, _) in std::env::vars() {
        if name.starts_with("ASSISTIV_") || name == "DATABASE_URL" || name == "REDIS_URL" {
            command.env_remove(name);
        }
    }
    command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--data-dir",
        ])
        .arg(dir)
        .env("RUST_LOG", "debug,rmcp=trace,rmcp::service=trace")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .kill_on_drop(true);
    if backend == Backend::Postgres {
        command.args(["--database-url", &fresh_postgres_database().await]);
    }
    let mut child = command.spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut key = None;
    let url = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("serve exited early");
        if let Some(found) = line.split_whitespace().find(|w| w.starts_with("sk-plat_")) {
            key = Some(found.to_owned());
        }
        if let Some(address) = line.strip_prefix("Assistiv is listening on ") {
            break address.trim().to_owned();
        }
    };
    (child, url, key.expect("first start prints a platform key"))
}

async fn tool_arguments_never_reach_the_log(backend: Backend) {
    const SECRET: &str = "s3cr3t-skill-file-Zq81xWv";
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let (mut child, url, platform_key) =
        serve_logging_everything(backend, &dir.path().join("data"), &log).await;
    let client = reqwest::Client::new();
    let me: Value = client
        .get(format!("{url}/v1/me"))
        .bearer_auth(&platform_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let platform_id = me["data"]["platform_id"].as_str().unwrap();
    let created: Value = client
        .post(format!("{url}/v1/platforms/{platform_id}/end-users"))
        .bearer_auth(&platform_key)
        .json(&json!({"external_id": "logged"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = created["data"]["api_key"]["raw_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let mcp = |session: Option<String>, message: Value| {
        let mut request = client
            .post(format!("{url}/mcp"))
            .bearer_auth(&key)
            .header("Accept", ACCEPT)
            .header("MCP-Protocol-Version", PROTOCOL)
            .json(&message);
        if let Some(session) = session {
            request = request.header("Mcp-Session-Id", session);
        }
        request.send()
    };
    let opened = mcp(None, initialize()).await.unwrap();
    assert_eq!(opened.status(), 200);
    let session = opened.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    opened.text().await.unwrap();
    for message in [
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "method": "notifications/custom", "params": {"note": SECRET}}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "skills_create", "arguments": {"files": [{"path": "SKILL.md", "content": SECRET}]}}}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": 5, "arguments": {"text": SECRET}}}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
    ] {
        let answer = mcp(Some(session.clone()), message).await.unwrap();
        assert!(answer.status().is_success(), "{}", answer.status());
        answer.text().await.unwrap();
    }
    let pid = child.id().unwrap().to_string();
    let stopped = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(stopped.success());
    assert!(child.wait().await.unwrap().success());

    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(logs.contains("\"level\":\"DEBUG\""), "debug logging was on");
    assert!(!logs.contains(SECRET), "a tool argument reached the log");
}

/// What `initialize` declares is what is served: tools, logging, and prompts
/// and resources (whose lists are empty), and nothing past them.
async fn the_server_declares_what_it_serves(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, key) = app.create_end_user("declared").await;
    let opened = post(&app, &key, None, &initialize()).await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    let capabilities = answer_to(&opened.body, 0)["result"]["capabilities"].clone();
    for served in ["tools", "logging", "prompts", "resources"] {
        assert!(
            capabilities.get(served).is_some(),
            "{served}: {capabilities}"
        );
    }
    let session = opened.headers["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    post(
        &app,
        &key,
        Some(&session),
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    let (status, prompts) = request(&app, &key, &session, 2, "prompts/list", json!({})).await;
    assert_eq!(
        (status, &prompts["result"]["prompts"]),
        (200, &json!([])),
        "{prompts}"
    );
    let (_, resources) = request(&app, &key, &session, 3, "resources/list", json!({})).await;
    assert_eq!(resources["result"]["resources"], json!([]), "{resources}");
    let (_, prompt) = request(&app, &key, &session, 4, "prompts/get", json!({"name": "x"})).await;
    assert_eq!(prompt["error"]["code"], -32602, "{prompt}");
    let (_, read) = request(
        &app,
        &key,
        &session,
        5,
        "resources/read",
        json!({"uri": "x://y"}),
    )
    .await;
    assert_eq!(read["error"]["code"], -32002, "{read}");
    assert_eq!(read["error"]["data"]["uri"], "x://y", "{read}");
    app.stop().await;
}

/// A request of the stateless `2026-07-28` revision: its headers and `_meta`.
async fn post_stateless(app: &TestApp, key: &str, id: u64, method: &str, params: Value) -> Answer {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    let mut request = app
        .request(Method::POST, "/mcp", Some(key))
        .header("Accept", ACCEPT)
        .header("MCP-Protocol-Version", "2026-07-28")
        .header("Mcp-Method", method);
    if let Some(name) = params.get("uri").or_else(|| params.get("name")) {
        request = request.header("Mcp-Name", name.as_str().unwrap());
    }
    let response = request
        .json(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
        .send()
        .await
        .unwrap();
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

/// What `2026-07-28` removed from the session era (`initialize`, `ping`,
/// `logging/setLevel`, `resources/subscribe` and `unsubscribe`) is an unknown
/// method on that revision, 404 with `-32601`, whether its params are the old
/// method's or nothing but `_meta`; a session of an older revision keeps them.
/// A resource not found names its URI in `data` (SEP-2164) on either.
async fn the_stateless_revision_has_no_session_era_methods(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, key) = app.create_end_user("stateless").await;
    let removed = [
        ("initialize", json!({})),
        ("ping", json!({})),
        ("logging/setLevel", json!({})),
        ("logging/setLevel", json!({"level": "info"})),
        ("resources/subscribe", json!({})),
        ("resources/subscribe", json!({"uri": "x://y"})),
        ("resources/unsubscribe", json!({})),
        ("resources/unsubscribe", json!({"uri": "x://y"})),
    ];
    for (id, (method, params)) in (20..).zip(removed) {
        let answer = post_stateless(&app, &key, id, method, params.clone()).await;
        let shown = format!("{method} {params}");
        assert_eq!(answer.status, 404, "{shown}: {}", answer.body);
        let message = answer_to(&answer.body, id);
        assert_eq!(message["id"], id, "{shown}: {message}");
        assert_eq!(message["error"]["code"], -32601, "{shown}: {message}");
    }
    // What the revision has still works.
    let listed = post_stateless(&app, &key, 30, "tools/list", json!({})).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert!(answer_to(&listed.body, 30)["result"]["tools"].is_array());
    let read = post_stateless(&app, &key, 31, "resources/read", json!({"uri": "x://y"})).await;
    let read = answer_to(&read.body, 31);
    assert_eq!(read["error"]["code"], -32602, "{read}");
    assert_eq!(read["error"]["data"]["uri"], "x://y", "{read}");

    let session = open(&app, &key).await;
    let (_, pong) = request(&app, &key, &session, 40, "ping", json!({})).await;
    assert_eq!(pong["result"], json!({}), "{pong}");
    let (_, level) = request(
        &app,
        &key,
        &session,
        41,
        "logging/setLevel",
        json!({"level": "info"}),
    )
    .await;
    assert_eq!(level["result"], json!({}), "{level}");
    app.stop().await;
}

both_backends!(
    the_server_declares_what_it_serves,
    the_stateless_revision_has_no_session_era_methods,
    live_sessions_are_bounded_per_end_user,
    idle_sessions_leave_the_books,
    every_mcp_request_counts_once_against_the_rpm,
    a_session_belongs_to_the_key_that_opened_it,
    malformed_messages_are_json_rpc_errors,
    tool_arguments_never_reach_the_log,
);
