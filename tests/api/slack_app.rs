//! Slack end to end: `oauth2-mock-server` plays Slack's authorization server (its
//! `/authorize` redirects back with a code, its `/token` checks PKCE and signs a JWT),
//! behind a small local `oauth.v2.access` that answers in Slack's own shape (the user
//! token under `authed_user`, `ok: false` errors with HTTP 200, token rotation), and a
//! local Web API stand-in that accepts only the tokens issued to the user and answers
//! the documented shapes recorded in `apps/slack/tests/fixtures`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use assistiv::billing::clock::ManualClock;
use axum::Json;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, Backend, TestApp, spawn_app_with_clock};
use crate::mcp::McpSession;
use crate::oauth_mock_server::{MockServer, oauth2_mock_server};
use crate::stand_in::{self, consent};

pub const SLACK_CLIENT_ID: &str = "2141029472.691202649728";
pub const SLACK_CLIENT_SECRET: &str = "e1b9e11dfcd19c1982d5de12921e17e8c";

#[derive(Default)]
pub struct SlackState {
    mock_url: String,
    pub accepted: HashSet<String>,
    pub revoked_tokens: HashSet<String>,
    refresh_tokens: HashSet<String>,
    issued: u32,
    pub refresh_calls: u32,
    pub revoke_calls: Vec<String>,
    /// (Web API method, its arguments) in arrival order.
    pub calls: Vec<(String, Value)>,
    /// The next API call answers this error instead (`ratelimited` as HTTP 429).
    pub next_error: Option<&'static str>,
}

/// Slack's OAuth and Web API on one local server: `{url}/api/<method>`.
pub struct SlackStandIn {
    pub url: String,
    pub state: Arc<Mutex<SlackState>>,
    pub mock: MockServer,
}

impl SlackStandIn {
    pub async fn start() -> Self {
        let mock = oauth2_mock_server();
        let state = Arc::new(Mutex::new(SlackState {
            mock_url: mock.url.clone(),
            ..SlackState::default()
        }));
        let router = axum::Router::new()
            .route("/api/oauth.v2.access", post(oauth_v2_access))
            .route("/api/{method}", get(web_api).post(web_api))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { url, state, mock }
    }

    /// Activates Slack for the app's default platform against this stand-in.
    pub async fn activate(&self, app: &TestApp) {
        let reply = app
            .send(
                app.request(
                    Method::PUT,
                    &format!("/admin/v1/platforms/{}/apps/slack", app.platform_id),
                    Some(ADMIN_TOKEN),
                )
                .json(&json!({
                    "client_id": SLACK_CLIENT_ID, "client_secret": SLACK_CLIENT_SECRET,
                    "base_url": "https://platform.example",
                    "authorize_url": format!("{}/authorize", self.mock.url),
                    "token_url": format!("{}/api/oauth.v2.access", self.url),
                    "revoke_url": format!("{}/api/auth.revoke", self.url),
                    "api_base_url": format!("{}/api", self.url),
                })),
            )
            .await;
        assert!(reply.status.is_success(), "{}", reply.body);
    }

    pub fn calls_of(&self, method: &str) -> Vec<Value> {
        self.state
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|(m, _)| m == method)
            .map(|(_, args)| args.clone())
            .collect()
    }
}

fn slack_error(error: &str) -> Response {
    (StatusCode::OK, Json(json!({"ok": false, "error": error}))).into_response()
}

/// `oauth.v2.access`: the code (and PKCE verifier) checked by oauth2-mock-server, the
/// answer rewritten into Slack's shape.
async fn oauth_v2_access(
    State(state): State<Arc<Mutex<SlackState>>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if form.get("client_id").map(String::as_str) != Some(SLACK_CLIENT_ID)
        || form.get("client_secret").map(String::as_str) != Some(SLACK_CLIENT_SECRET)
    {
        return slack_error("bad_client_secret");
    }
    let grant = form.get("grant_type").cloned().unwrap_or_default();
    let mock_url = {
        let mut s = state.lock().unwrap();
        if grant == "refresh_token" {
            s.refresh_calls += 1;
            let presented = form.get("refresh_token").cloned().unwrap_or_default();
            if !s.refresh_tokens.remove(&presented) {
                return slack_error("invalid_refresh_token");
            }
        }
        s.mock_url.clone()
    };
    if grant == "refresh_token" {
        // Slow enough that concurrent callers overlap.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let issued = reqwest::Client::new()
        .post(format!("{mock_url}/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    if !issued.status().is_success() {
        return slack_error("invalid_code");
    }
    let issued: Value = issued.json().await.unwrap();
    let refresh = issued["refresh_token"].as_str().unwrap().to_owned();
    let access = {
        let mut s = state.lock().unwrap();
        // The mock's JWTs repeat within a second (same claims): number them.
        s.issued += 1;
        format!(
            "xoxe.xoxp-{}-{}",
            s.issued,
            issued["access_token"].as_str().unwrap()
        )
    };
    {
        let mut s = state.lock().unwrap();
        s.accepted.insert(access.clone());
        s.refresh_tokens.insert(refresh.clone());
    }
    let team = json!({"id": "T9TK3CUKW", "name": "Slack Softworks"});
    let body = if grant == "refresh_token" {
        json!({"ok": true, "app_id": "A0KRD7HC3", "scope": "channels:read,chat:write",
            "access_token": access, "token_type": "user", "refresh_token": refresh,
            "expires_in": 43200, "team": team, "enterprise": null, "is_enterprise_install": false})
    } else {
        json!({"ok": true, "app_id": "A0KRD7HC3",
            "authed_user": {"id": "U1234", "scope": "channels:read,chat:write,search:read",
                "access_token": access, "token_type": "user", "refresh_token": refresh,
                "expires_in": 43200},
            "team": team, "enterprise": null, "is_enterprise_install": false})
    };
    (StatusCode::OK, Json(body)).into_response()
}

fn fixture(name: &str) -> Value {
    stand_in::fixture("slack", name)
}

/// Any Web API method: the bearer token must be one issued to the user.
async fn web_api(
    State(state): State<Arc<Mutex<SlackState>>>,
    Path(method): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let mut s = state.lock().unwrap();
    if s.revoked_tokens.contains(&token) {
        return slack_error("token_revoked");
    }
    if !s.accepted.contains(&token) {
        return slack_error("invalid_auth");
    }
    if method == "auth.revoke" {
        s.revoke_calls.push(token);
        return (StatusCode::OK, Json(json!({"ok": true, "revoked": true}))).into_response();
    }
    let args = if body.is_empty() {
        json!(query)
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    s.calls.push((method.clone(), args.clone()));
    match s.next_error.take() {
        Some("ratelimited") => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "12")],
                Json(json!({"ok": false, "error": "ratelimited"})),
            )
                .into_response();
        }
        Some(error) => return slack_error(error),
        None => {}
    }
    let name = match method.as_str() {
        "conversations.list" => "conversations_list",
        "conversations.history" => "conversations_history",
        "conversations.replies" => "conversations_replies",
        "chat.postMessage" if args.get("thread_ts").is_some() => "chat_post_reply",
        "chat.postMessage" => "chat_post_message",
        "chat.scheduleMessage" => "chat_schedule_message",
        "reactions.add" => "reactions_add",
        "users.list" => "users_list",
        "users.profile.get" => "users_profile_get",
        "search.messages" => "search_messages",
        _ => return slack_error("unknown_method"),
    };
    (StatusCode::OK, Json(fixture(name))).into_response()
}

pub const SLACK_TOOLS: [&str; 10] = [
    "slack_list_channels",
    "slack_get_channel_history",
    "slack_get_thread_replies",
    "slack_search_messages",
    "slack_post_message",
    "slack_reply_to_thread",
    "slack_add_reaction",
    "slack_schedule_message",
    "slack_list_users",
    "slack_get_user_profile",
];

fn ok(result: &Value) -> &Value {
    assert_eq!(result["result"]["isError"], false, "{result}");
    &result["result"]["structuredContent"]
}

async fn slack_connect_list_and_call_every_tool(backend: Backend) {
    let clock = ManualClock::new(chrono::Utc::now());
    let slack = SlackStandIn::start().await;
    let app = spawn_app_with_clock(backend, clock.clone(), |_| {}).await;
    slack.activate(&app).await;
    let (euid, key) = app.create_end_user("slack-user").await;

    let mut mcp = McpSession::open(&app, "/mcp", &key).await;
    let names = mcp.tool_names().await;
    assert_eq!(names, SLACK_TOOLS, "the platform activated Slack only");
    let before = mcp.call("slack_list_channels", json!({})).await;
    assert_eq!(
        before["result"]["structuredContent"]["code"],
        "not_connected"
    );

    // Consent: the user token is asked for with `user_scope`, comma-separated.
    let connect = app
        .post("/v1/me/apps/slack/connect", &key, &json!({}))
        .await;
    let authorize_url = connect.data()["authorize_url"].as_str().unwrap().to_owned();
    let query: HashMap<String, String> = reqwest::Url::parse(&authorize_url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert!(query["user_scope"].starts_with("channels:read,channels:history,"));
    assert!(!query.contains_key("scope"), "{authorize_url}");
    assert_eq!(query["code_challenge_method"], "S256");
    let landed = consent(&app, &authorize_url).await;
    assert_eq!(
        landed,
        "https://platform.example/mcp/oauth-callback?app=slack&status=connected"
    );
    let connection = app
        .get(
            &format!(
                "/v1/platforms/{}/end-users/{euid}/connections/slack",
                app.platform_id
            ),
            &app.platform_key,
        )
        .await;
    assert_eq!(connection.data()["account_login"], "U1234");
    assert_eq!(connection.data()["account_label"], "Slack Softworks");
    assert_eq!(
        connection.data()["account"],
        json!({"login": "U1234", "label": "Slack Softworks"})
    );
    let mine = app.get("/v1/me/apps", &key).await;
    let listed = mine
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["app"] == "slack")
        .unwrap();
    assert_eq!(listed["account"]["login"], "U1234", "{listed}");
    assert_eq!(
        connection.data()["settings"],
        json!({"team_id": "T9TK3CUKW"})
    );

    // Every tool, as the user, with the arguments Slack documents.
    let ts = "1503435956.000247";
    let calls = [
        ("slack_list_channels", json!({"limit": 2})),
        (
            "slack_get_channel_history",
            json!({"channel": "C123ABC456", "limit": 2}),
        ),
        (
            "slack_get_thread_replies",
            json!({"channel": "C123ABC456", "thread_ts": ts}),
        ),
        ("slack_search_messages", json!({"query": "meaning of life"})),
        (
            "slack_post_message",
            json!({"channel": "C123ABC456", "text": "Hello"}),
        ),
        (
            "slack_reply_to_thread",
            json!({"channel": "C123ABC456", "thread_ts": ts, "text": "Hi"}),
        ),
        (
            "slack_add_reaction",
            json!({"channel": "C123ABC456", "timestamp": ts, "name": "tada"}),
        ),
        (
            "slack_schedule_message",
            json!({"channel": "C123ABC456", "text": "Later", "post_at": 1562180400}),
        ),
        ("slack_list_users", json!({"cursor": "abc"})),
        ("slack_get_user_profile", json!({"user": "U0123ABC"})),
    ];
    for (tool, args) in calls {
        let result = mcp.call(tool, args).await;
        ok(&result);
    }
    assert_eq!(
        slack.calls_of("conversations.list"),
        [json!({"types": "public_channel", "exclude_archived": "true", "limit": "2"})]
    );
    assert_eq!(slack.calls_of("conversations.replies")[0]["ts"], ts);
    assert_eq!(
        slack.calls_of("chat.postMessage"),
        [
            json!({"channel": "C123ABC456", "text": "Hello"}),
            json!({"channel": "C123ABC456", "thread_ts": ts, "text": "Hi", "reply_broadcast": false}),
        ]
    );
    assert_eq!(slack.calls_of("reactions.add")[0]["name"], "tada");
    assert_eq!(slack.calls_of("users.list")[0]["cursor"], "abc");
    assert_eq!(slack.calls_of("users.profile.get")[0]["user"], "U0123ABC");
    assert_eq!(
        slack.calls_of("chat.scheduleMessage")[0]["post_at"],
        1562180400
    );

    // Slack's `ok: false` strings become the tool error codes.
    slack.state.lock().unwrap().next_error = Some("not_in_channel");
    let denied = mcp
        .call("slack_post_message", json!({"channel": "C9", "text": "x"}))
        .await;
    let error = &denied["result"]["structuredContent"];
    assert_eq!(denied["result"]["isError"], true);
    assert_eq!(error["code"], "upstream_error", "{denied}");
    assert_eq!(error["status"], 403);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("not_in_channel")
    );
    slack.state.lock().unwrap().next_error = Some("ratelimited");
    let limited = mcp.call("slack_list_users", json!({})).await;
    assert_eq!(
        limited["result"]["structuredContent"]["code"],
        "rate_limited"
    );
    assert_eq!(
        limited["result"]["structuredContent"]["retry_after_secs"],
        12
    );
    slack.state.lock().unwrap().next_error = Some("channel_not_found");
    let missing = mcp
        .call("slack_get_channel_history", json!({"channel": "C404"}))
        .await;
    assert_eq!(missing["result"]["structuredContent"]["code"], "not_found");

    // Token rotation: 12 hours later the token is refreshed (once) before the call.
    clock.advance(chrono::Duration::seconds(43200 - 30));
    ok(&mcp.call("slack_list_users", json!({})).await);
    assert_eq!(slack.state.lock().unwrap().refresh_calls, 1);
    ok(&mcp.call("slack_list_users", json!({})).await);
    assert_eq!(slack.state.lock().unwrap().refresh_calls, 1);

    // The user revokes the app in Slack: the token and its refresh token die. The
    // gateway tries one refresh, then the tool answers needs_reauth.
    {
        let mut s = slack.state.lock().unwrap();
        let tokens: Vec<String> = s.accepted.iter().cloned().collect();
        s.revoked_tokens.extend(tokens);
        s.refresh_tokens.clear();
    }
    let dead = mcp.call("slack_list_users", json!({})).await;
    let error = &dead["result"]["structuredContent"];
    assert_eq!(error["code"], "needs_reauth", "{dead}");
    assert!(
        error["connect_url"]
            .as_str()
            .unwrap()
            .contains("/oauth/start?t=")
    );
    assert_eq!(slack.state.lock().unwrap().refresh_calls, 2);
    let mine = app.get("/v1/me/apps", &key).await;
    assert_eq!(mine.data()[0]["status"], "needs_reauth");

    // Connect again, then disconnect: auth.revoke gets the token as its bearer.
    let connect = app
        .post("/v1/me/apps/slack/connect", &key, &json!({}))
        .await;
    consent(&app, connect.data()["authorize_url"].as_str().unwrap()).await;
    ok(&mcp.call("slack_list_users", json!({})).await);
    let gone = app.delete("/v1/me/apps/slack", &key).await;
    assert_eq!(gone.status, 200, "{}", gone.body);
    assert_eq!(slack.state.lock().unwrap().revoke_calls.len(), 1);
    app.stop().await;
}

both_backends!(slack_connect_list_and_call_every_tool);
