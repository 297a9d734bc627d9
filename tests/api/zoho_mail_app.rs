//! Zoho Mail end to end with the real app crate: `oauth2-mock-server` plays Zoho's US
//! accounts server for the authorize step (its `/authorize` redirects back with a code,
//! to which the browser's redirect adds Zoho's `location` and `accounts-server`, as
//! Zoho's multi-DC flow does), and one local stand-in plays the user's data centre:
//! its accounts server (`/oauth/v2/token`, the code checked by oauth2-mock-server, 1 h
//! tokens in Zoho's shape, refusals as HTTP 200 `error`; `/oauth/v2/token/revoke`) and
//! its Mail API (`/api/...`, `Zoho-oauthtoken` auth, the documented shapes recorded in
//! `apps/zoho-mail/tests/fixtures`). The operator's `api_base_url` override names the
//! stand-in, which is what lets the app trust it as an accounts server.
//!
//! The broker's data-centre switching itself is proven in `app_quirks.rs`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assistiv::billing::clock::ManualClock;
use axum::Json;
use axum::extract::{Form, OriginalUri, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::routing::{any, post};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app_with_clock};
use crate::mcp::McpSession;
use crate::oauth_mock_server::{MockServer, oauth2_mock_server};
use crate::stand_in::{
    self, activate, answer, authorize, begin, connection, land, ok, rate_limited, serve, token_of,
    tool_error,
};

const CLIENT_ID: &str = "1000.GMB0YULZHJK411248S8I5GZ4CHUEX0";
const CLIENT_SECRET: &str = "122c324d3496d5d777ceeebc129470715fbb856b7";
const ACCOUNT: &str = "2560636000000008002";

/// One recorded Mail API request.
#[derive(Debug, Clone)]
struct Call {
    method: String,
    path: String,
    query: HashMap<String, String>,
    body: Value,
    token: String,
}

#[derive(Default)]
struct ZohoState {
    mock_url: String,
    issued: u32,
    access: HashSet<String>,
    refresh: HashSet<String>,
    token_requests: u32,
    refresh_calls: u32,
    revoked: Vec<String>,
    calls: Vec<Call>,
    /// The next Mail API call answers this status instead (with `Retry-After` on 429).
    next_status: Option<u16>,
    /// Every Mail API call answers 401 (the user revoked the app at Zoho).
    refuse_all: bool,
    /// The Mail API takes this long to answer.
    delay: Option<Duration>,
}

type Shared = Arc<Mutex<ZohoState>>;

/// A Zoho data centre on loopback: accounts server and Mail API.
struct ZohoStandIn {
    url: String,
    state: Shared,
    mock: MockServer,
}

impl ZohoStandIn {
    async fn start() -> Self {
        let mock = oauth2_mock_server();
        let state = Shared::new(Mutex::new(ZohoState {
            mock_url: mock.url.clone(),
            ..ZohoState::default()
        }));
        let router = axum::Router::new()
            .route("/oauth/v2/token", post(token))
            .route("/oauth/v2/token/revoke", post(revoke))
            .route("/api/{*rest}", any(mail_api))
            .with_state(state.clone());
        let url = serve(router).await;
        Self { url, state, mock }
    }

    /// The operator's activation: the authorize step at oauth2-mock-server, the Mail
    /// API at the stand-in; token and revoke URLs stay Zoho's `{accounts_server}`
    /// templates, filled from the callback.
    async fn activate(&self, app: &TestApp) {
        let body = json!({
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "base_url": "https://platform.example",
            "authorize_url": format!("{}/authorize", self.mock.url),
            "api_base_url": self.url,
        });
        activate(app, "zoho-mail", body).await;
    }

    fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }
}

/// Zoho's token endpoint: codes checked by oauth2-mock-server (PKCE included), tokens
/// in Zoho's `1000.<hex>.<hex>` shape, one hour each.
async fn token(State(state): State<Shared>, Form(form): Form<HashMap<String, String>>) -> Response {
    let grant = form.get("grant_type").cloned().unwrap_or_default();
    let mock_url = {
        let mut s = state.lock().unwrap();
        s.token_requests += 1;
        s.mock_url.clone()
    };
    let refresh = match grant.as_str() {
        "authorization_code" => {
            let checked = reqwest::Client::new()
                .post(format!("{mock_url}/token"))
                .form(&form)
                .send()
                .await
                .unwrap();
            if !checked.status().is_success() {
                return answer(200, json!({"error": "invalid_code"}));
            }
            let refresh = format!("1000.refresh.{}", uuid::Uuid::new_v4().simple());
            state.lock().unwrap().refresh.insert(refresh.clone());
            Some(refresh)
        }
        "refresh_token" => {
            // Slow enough that concurrent callers overlap.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut s = state.lock().unwrap();
            s.refresh_calls += 1;
            let presented = form.get("refresh_token").cloned().unwrap_or_default();
            if !s.refresh.contains(&presented) {
                // Zoho refuses with HTTP 200 and an `error`.
                return answer(200, json!({"error": "invalid_code"}));
            }
            None
        }
        _ => return answer(200, json!({"error": "unsupported_grant_type"})),
    };
    let access = {
        let mut s = state.lock().unwrap();
        s.issued += 1;
        let access = format!("1000.{}.{}", s.issued, uuid::Uuid::new_v4().simple());
        s.access.insert(access.clone());
        access
    };
    let mut body = json!({"access_token": access, "api_domain": "https://www.zohoapis.com",
        "token_type": "Bearer", "expires_in": 3600});
    // A refresh answer carries no refresh token: Zoho keeps the first one.
    if let Some(refresh) = refresh {
        body["refresh_token"] = json!(refresh);
    }
    answer(200, body)
}

/// `POST /oauth/v2/token/revoke?token=<refresh token>`.
async fn revoke(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Json<Value> {
    let token = query.get("token").cloned().unwrap_or_default();
    let mut s = state.lock().unwrap();
    s.refresh.remove(&token);
    s.revoked.push(token);
    Json(json!({"status": "success"}))
}

fn fixture(name: &str) -> Value {
    stand_in::fixture("zoho-mail", name)
}

async fn mail_api(
    State(state): State<Shared>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let token = token_of(&headers, "Zoho-oauthtoken");
    let delay = {
        let mut s = state.lock().unwrap();
        if s.refuse_all || !s.access.contains(&token) {
            return answer(401, fixture("error_401"));
        }
        s.calls.push(Call {
            method: method.to_string(),
            path: uri.path().to_owned(),
            query,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            token,
        });
        match s.next_status.take() {
            Some(429) => {
                let body = json!({"status": {"code": 429, "description": "Too many requests"}});
                return rate_limited("30", body);
            }
            Some(status @ 401) => return answer(status, fixture("error_401")),
            Some(status) => return answer(status, fixture("error_500")),
            None => {}
        }
        s.delay
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let account = format!("/api/accounts/{ACCOUNT}");
    let path = uri.path();
    let name = match (method.as_str(), path.strip_prefix(&account)) {
        ("GET", _) if path == "/api/accounts" => "accounts",
        ("GET", Some("/folders")) => "folders",
        ("GET", Some("/messages/view")) => "messages_view",
        ("GET", Some("/messages/search")) => "messages_search",
        ("GET", Some(rest)) if rest.ends_with("/details") => "message_details",
        ("GET", Some(rest)) if rest.ends_with("/content") => "message_content",
        ("POST", Some("/messages")) => "sent",
        ("POST", Some(rest)) if rest.starts_with("/messages/") => "replied",
        ("PUT", Some("/updatemessage")) => "updated",
        _ => return answer(404, fixture("error_404")),
    };
    answer(200, fixture(name))
}

/// Starts a connection and follows the authorize redirect at oauth2-mock-server; the
/// callback URL it sends the browser to, with Zoho's multi-DC parameters added, and
/// the authorize URL's query.
async fn authorize_at(
    app: &TestApp,
    key: &str,
    accounts_server: &str,
) -> (String, HashMap<String, String>) {
    let (authorize_url, params) = begin(app, key, "zoho-mail", json!({})).await;
    let mut callback = authorize(app, &authorize_url).await;
    callback
        .query_pairs_mut()
        .append_pair("location", "eu")
        .append_pair("accounts-server", accounts_server);
    (callback.to_string(), params)
}

const ZOHO_TOOLS: [&str; 9] = [
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

async fn zoho_mail_connect_call_every_tool_refresh_and_revoke(backend: Backend) {
    let clock = ManualClock::new(chrono::Utc::now());
    let zoho = ZohoStandIn::start().await;
    let evil = ZohoStandIn::start().await;
    let app = spawn_app_with_clock(backend, clock.clone(), |c| c.tool_timeout_secs = 2).await;
    zoho.activate(&app).await;
    let (euid, key) = app.create_end_user("zoho-user").await;
    let mut mcp = McpSession::open(&app, "/mcp", &key).await;
    assert_eq!(mcp.tool_names().await, ZOHO_TOOLS);

    // A callback naming an accounts server that is neither Zoho's nor the operator's:
    // refused before any token request, nothing stored.
    let (forged, params) = authorize_at(&app, &key, &evil.url).await;
    assert_eq!(params["access_type"], "offline");
    assert_eq!(params["prompt"], "consent");
    assert_eq!(
        params["scope"],
        "ZohoMail.accounts.READ,ZohoMail.folders.READ,ZohoMail.messages.ALL"
    );
    assert!(
        land(&forged)
            .await
            .ends_with("status=error&error=invalid_callback")
    );
    assert_eq!(evil.state.lock().unwrap().token_requests, 0);
    assert_eq!(zoho.state.lock().unwrap().token_requests, 0);
    let mine = app.get("/v1/me/apps", &key).await;
    assert_eq!(mine.data()[0]["status"], "not_connected", "{}", mine.body);

    // The real consent: the exchange goes to the reported accounts server.
    let (callback, _) = authorize_at(&app, &key, &zoho.url).await;
    assert_eq!(
        land(&callback).await,
        "https://platform.example/mcp/oauth-callback?app=zoho-mail&status=connected"
    );
    assert_eq!(
        connection(&app, euid, "zoho-mail").await["settings"],
        json!({"accounts_server": zoho.url, "location": "eu"})
    );

    // Every tool, with the token Zoho issued, sending what Zoho's reference documents.
    let message = "1709876190693100009";
    let calls = [
        ("zoho_mail_list_accounts", json!({})),
        ("zoho_mail_list_folders", json!({"account_id": ACCOUNT})),
        (
            "zoho_mail_list_messages",
            json!({"account_id": ACCOUNT, "folder_id": "2560636000000008014", "status": "unread", "limit": 2}),
        ),
        (
            "zoho_mail_search_messages",
            json!({"account_id": ACCOUNT, "query": "subject:Marketing", "limit": 25}),
        ),
        (
            "zoho_mail_get_message",
            json!({"account_id": ACCOUNT, "folder_id": "9000000002014", "message_id": message}),
        ),
        (
            "zoho_mail_send_message",
            json!({"account_id": ACCOUNT, "from_address": "rebecca@zylker.com",
                "to": ["paula@zylker.com"], "subject": "Hello", "content": "Hi Paula"}),
        ),
        (
            "zoho_mail_reply_to_message",
            json!({"account_id": ACCOUNT, "message_id": message, "from_address": "rebecca@zylker.com",
                "to": ["paula@zylker.com"], "content": "Thanks"}),
        ),
        (
            "zoho_mail_mark_read",
            json!({"account_id": ACCOUNT, "message_ids": [message]}),
        ),
        (
            "zoho_mail_move_message",
            json!({"account_id": ACCOUNT, "message_ids": [message], "destination_folder_id": "2560636000000009001"}),
        ),
    ];
    for (tool, args) in calls {
        ok(&mcp.call(tool, args).await);
    }
    let seen = zoho.calls();
    let issued: Vec<String> = zoho.state.lock().unwrap().access.iter().cloned().collect();
    assert_eq!(issued.len(), 1);
    assert!(seen.iter().all(|c| c.token == issued[0]), "{seen:?}");
    let account = format!("/api/accounts/{ACCOUNT}");
    let mut requests: Vec<(&str, String)> = seen
        .iter()
        .map(|c| (c.method.as_str(), c.path.clone()))
        .collect();
    // get_message asks for the details and the content at the same time: either
    // may arrive first.
    requests[4..6].sort_by(|a, b| b.1.cmp(&a.1));
    assert_eq!(
        requests,
        [
            ("GET", "/api/accounts".to_owned()),
            ("GET", format!("{account}/folders")),
            ("GET", format!("{account}/messages/view")),
            ("GET", format!("{account}/messages/search")),
            (
                "GET",
                format!("{account}/folders/9000000002014/messages/{message}/details")
            ),
            (
                "GET",
                format!("{account}/folders/9000000002014/messages/{message}/content")
            ),
            ("POST", format!("{account}/messages")),
            ("POST", format!("{account}/messages/{message}")),
            ("PUT", format!("{account}/updatemessage")),
            ("PUT", format!("{account}/updatemessage")),
        ]
    );
    assert_eq!(seen[2].query["folderId"], "2560636000000008014");
    assert_eq!(seen[2].query["status"], "unread");
    assert_eq!(seen[2].query["limit"], "2");
    assert_eq!(seen[3].query["searchKey"], "subject:Marketing");
    assert_eq!(
        seen[6].body,
        json!({"fromAddress": "rebecca@zylker.com", "toAddress": "paula@zylker.com",
            "subject": "Hello", "content": "Hi Paula", "mailFormat": "plaintext"})
    );
    assert_eq!(seen[7].body["action"], "reply");
    assert_eq!(seen[7].body["content"], "Thanks");
    assert_eq!(
        seen[8].body,
        json!({"mode": "markAsRead", "messageId": [1709876190693100009_u64]})
    );
    assert_eq!(
        seen[9].body,
        json!({"mode": "moveMessage", "messageId": [1709876190693100009_u64],
            "destfolderId": 2560636000000009001_u64})
    );

    // Error mapping: 429 with its wait, 5xx, a Mail API slower than the tool timeout.
    zoho.state.lock().unwrap().next_status = Some(429);
    let limited = mcp.call("zoho_mail_list_accounts", json!({})).await;
    let error = tool_error(&limited);
    assert_eq!(error["code"], "rate_limited", "{limited}");
    assert_eq!(error["retry_after_secs"], 30);
    zoho.state.lock().unwrap().next_status = Some(500);
    let broken = mcp.call("zoho_mail_list_accounts", json!({})).await;
    let error = tool_error(&broken);
    assert_eq!(error["code"], "upstream_error", "{broken}");
    assert_eq!(error["status"], 500);
    zoho.state.lock().unwrap().delay = Some(Duration::from_secs(5));
    let slow = mcp.call("zoho_mail_list_accounts", json!({})).await;
    let error = tool_error(&slow);
    assert_eq!(error["code"], "upstream_error", "{slow}");
    assert_eq!(error["status"], 504);
    zoho.state.lock().unwrap().delay = None;

    // A 401 mid-hour: one refresh at the accounts server, then the call goes through.
    zoho.state.lock().unwrap().next_status = Some(401);
    ok(&mcp.call("zoho_mail_list_accounts", json!({})).await);
    assert_eq!(zoho.state.lock().unwrap().refresh_calls, 1);

    // The hour is nearly over: 20 concurrent calls, one refresh.
    clock.advance(chrono::Duration::seconds(3600 - 30));
    let calls = (0..20).map(|i| mcp.call_with_id(1000 + i, "zoho_mail_list_accounts", json!({})));
    for result in futures::future::join_all(calls).await {
        ok(&result);
    }
    assert_eq!(zoho.state.lock().unwrap().refresh_calls, 2);

    // The user revokes the app at Zoho: every token dies. One refresh is tried, then
    // the tool answers needs_reauth and the connection says so.
    {
        let mut s = zoho.state.lock().unwrap();
        s.refuse_all = true;
        s.refresh.clear();
    }
    let dead = mcp.call("zoho_mail_list_accounts", json!({})).await;
    let error = tool_error(&dead);
    assert_eq!(error["code"], "needs_reauth", "{dead}");
    assert!(
        error["connect_url"]
            .as_str()
            .unwrap()
            .contains("/oauth/start?t=")
    );
    assert_eq!(zoho.state.lock().unwrap().refresh_calls, 3);
    let mine = app.get("/v1/me/apps", &key).await;
    assert_eq!(mine.data()[0]["status"], "needs_reauth");

    // Connect again; an expired token whose refresh token was revoked: needs_reauth.
    zoho.state.lock().unwrap().refuse_all = false;
    let (callback, _) = authorize_at(&app, &key, &zoho.url).await;
    assert!(land(&callback).await.ends_with("status=connected"));
    ok(&mcp.call("zoho_mail_list_accounts", json!({})).await);
    zoho.state.lock().unwrap().refresh.clear();
    clock.advance(chrono::Duration::seconds(3600));
    let expired = mcp.call("zoho_mail_list_accounts", json!({})).await;
    assert_eq!(tool_error(&expired)["code"], "needs_reauth", "{expired}");

    // Connect again, then disconnect: Zoho's revoke endpoint gets the refresh token.
    let (callback, _) = authorize_at(&app, &key, &zoho.url).await;
    assert!(land(&callback).await.ends_with("status=connected"));
    let refresh: Vec<String> = zoho.state.lock().unwrap().refresh.iter().cloned().collect();
    assert_eq!(refresh.len(), 1);
    let gone = app.delete("/v1/me/apps/zoho-mail", &key).await;
    assert_eq!(gone.status, 200, "{}", gone.body);
    assert_eq!(zoho.state.lock().unwrap().revoked, refresh);
    app.stop().await;
}

both_backends!(zoho_mail_connect_call_every_tool_refresh_and_revoke);
