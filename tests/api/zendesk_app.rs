//! Zendesk end to end with the real app crate: the subdomain asked at connect time,
//! `oauth2-mock-server` for the authorize step and the code check (PKCE), and one local
//! stand-in holding every customer's Zendesk under `/{subdomain}/...`: its token
//! endpoint (`/oauth/tokens`), its Support API (`/api/v2/...`, the documented shapes
//! recorded in `apps/zendesk/tests/fixtures`) and the token's self-revocation
//! (`DELETE /api/v2/oauth/tokens/current.json`). The operator's overrides keep the
//! `{subdomain}` placeholder. The hosted connect page's form for the subdomain is
//! checked here too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Form, OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::mcp::McpSession;
use crate::oauth_mock_server::{MockServer, oauth2_mock_server};
use crate::stand_in::{
    self, activate, answer, begin, browser, connection, consent, ok, rate_limited, serve, token_of,
    tool_error,
};

/// One recorded Support API request.
#[derive(Debug, Clone)]
struct Call {
    subdomain: String,
    method: String,
    /// The path below `/{subdomain}`.
    path: String,
    query: HashMap<String, String>,
    body: Value,
    token: String,
}

#[derive(Default)]
struct ZendeskState {
    mock_url: String,
    /// access token -> the subdomain it was issued for
    tokens: HashMap<String, String>,
    token_requests: Vec<String>,
    revoked: Vec<(String, String)>,
    calls: Vec<Call>,
    next_status: Option<u16>,
    delay: Option<Duration>,
}

type Shared = Arc<Mutex<ZendeskState>>;

struct ZendeskStandIn {
    url: String,
    state: Shared,
    mock: MockServer,
}

impl ZendeskStandIn {
    async fn start() -> Self {
        let mock = oauth2_mock_server();
        let state = Shared::new(Mutex::new(ZendeskState {
            mock_url: mock.url.clone(),
            ..ZendeskState::default()
        }));
        let router = axum::Router::new()
            .route("/{sub}/oauth/tokens", post(token))
            .route("/{sub}/api/v2/{*rest}", any(support_api))
            .with_state(state.clone());
        let url = serve(router).await;
        Self { url, state, mock }
    }

    /// The operator's overrides keep the `{subdomain}` placeholder (here in the path).
    async fn activate(&self, app: &TestApp) {
        let zd = &self.url;
        let body = json!({
            "client_id": "zdg-assistiv", "client_secret": "zd-secret",
            "base_url": "https://platform.example",
            "authorize_url": format!("{}/authorize", self.mock.url),
            "token_url": format!("{zd}/{{subdomain}}/oauth/tokens"),
            "revoke_url": format!("{zd}/{{subdomain}}/api/v2/oauth/tokens/current.json"),
            "api_base_url": format!("{zd}/{{subdomain}}"),
        });
        activate(app, "zendesk", body).await;
    }

    fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }
}

/// `POST /oauth/tokens`: the code and PKCE verifier checked by oauth2-mock-server; a
/// Zendesk token (no expiry, no refresh token) for this subdomain.
async fn token(
    State(state): State<Shared>,
    Path(sub): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mock_url = {
        let mut s = state.lock().unwrap();
        s.token_requests.push(sub.clone());
        s.mock_url.clone()
    };
    let checked = reqwest::Client::new()
        .post(format!("{mock_url}/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    if !checked.status().is_success() || !form.contains_key("code_verifier") {
        let refusal = json!({"error": "invalid_grant", "error_description": "The code is invalid"});
        return answer(400, refusal);
    }
    let access = format!("zd-{}", uuid::Uuid::new_v4().simple());
    state.lock().unwrap().tokens.insert(access.clone(), sub);
    answer(
        200,
        json!({"access_token": access, "token_type": "bearer", "scope": "read write"}),
    )
}

fn fixture(name: &str) -> Value {
    stand_in::fixture("zendesk", name)
}

async fn support_api(
    State(state): State<Shared>,
    Path((sub, _)): Path<(String, String)>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let token = token_of(&headers, "Bearer");
    let path = uri
        .path()
        .strip_prefix(&format!("/{sub}"))
        .unwrap_or_default()
        .to_owned();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let delay = {
        let mut s = state.lock().unwrap();
        if s.tokens.get(&token) != Some(&sub) {
            return answer(401, fixture("error_401"));
        }
        if method == Method::DELETE && path == "/api/v2/oauth/tokens/current.json" {
            s.tokens.remove(&token);
            s.revoked.push((sub, token));
            return StatusCode::NO_CONTENT.into_response();
        }
        s.calls.push(Call {
            subdomain: sub,
            method: method.to_string(),
            path: path.clone(),
            query,
            body: body.clone(),
            token,
        });
        match s.next_status.take() {
            Some(429) => return rate_limited("93", fixture("error_429")),
            Some(status) => {
                return (StatusCode::from_u16(status).unwrap(), "Unavailable").into_response();
            }
            None => {}
        }
        s.delay
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let (status, name) = match (method.as_str(), path.as_str()) {
        ("GET", "/api/v2/search.json") => (200, "search_tickets"),
        ("GET", "/api/v2/tickets/35436.json") => (200, "ticket"),
        ("POST", "/api/v2/tickets.json") => (201, "ticket_created"),
        ("PUT", "/api/v2/tickets/35436.json") if body["ticket"].get("comment").is_some() => {
            (200, "comment_added")
        }
        ("PUT", "/api/v2/tickets/35436.json") => (200, "ticket_updated"),
        ("GET", "/api/v2/tickets/35436/comments.json") => (200, "comments"),
        ("GET", "/api/v2/users/search.json") => (200, "users_search"),
        ("GET", "/api/v2/users/35436.json" | "/api/v2/users/me.json") => (200, "user"),
        _ => (404, "error_404"),
    };
    answer(status, fixture(name))
}

const ZENDESK_TOOLS: [&str; 9] = [
    "zendesk_add_ticket_comment",
    "zendesk_create_ticket",
    "zendesk_get_me",
    "zendesk_get_ticket",
    "zendesk_get_user",
    "zendesk_list_ticket_comments",
    "zendesk_search_tickets",
    "zendesk_search_users",
    "zendesk_update_ticket",
];

async fn zendesk_connect_call_every_tool_and_revoke(backend: Backend) {
    let zendesk = ZendeskStandIn::start().await;
    let app = spawn_app_with(backend, |c| c.tool_timeout_secs = 2).await;
    zendesk.activate(&app).await;
    let (euid, key) = app.create_end_user("zendesk-user").await;
    let mut mcp = McpSession::open(&app, "/mcp", &key).await;
    let mut names = mcp.tool_names().await;
    names.sort();
    assert_eq!(names, ZENDESK_TOOLS);
    let mine = app.get("/v1/me/apps", &key).await;
    assert_eq!(mine.data()[0]["connect_fields"][0]["name"], "subdomain");

    // A subdomain that is not a DNS label: 400 in the error envelope, nothing stored.
    for bad in ["evil.com/", "a_b", ""] {
        app.post(
            "/v1/me/apps/zendesk/connect",
            &key,
            &json!({"settings": {"subdomain": bad}}),
        )
        .await
        .assert_error(400, "bad_request");
    }
    let mine = app.get("/v1/me/apps", &key).await;
    assert_eq!(mine.data()[0]["status"], "not_connected");

    // Connect acme's Zendesk: PKCE, the code exchanged at acme's token endpoint.
    let (authorize_url, params) = begin(
        &app,
        &key,
        "zendesk",
        json!({"settings": {"subdomain": "Acme"}}),
    )
    .await;
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["scope"], "read write");
    assert_eq!(
        consent(&app, &authorize_url).await,
        "https://platform.example/mcp/oauth-callback?app=zendesk&status=connected"
    );
    assert_eq!(zendesk.state.lock().unwrap().token_requests, ["acme"]);
    assert_eq!(
        connection(&app, euid, "zendesk").await["settings"],
        json!({"subdomain": "acme"})
    );

    // Every tool, on acme's Zendesk, with its token, sending the documented requests.
    let calls = [
        (
            "zendesk_search_tickets",
            json!({"query": "printer", "status": "open", "per_page": 2}),
        ),
        ("zendesk_get_ticket", json!({"ticket_id": 35436})),
        (
            "zendesk_create_ticket",
            json!({"subject": "My printer is on fire!", "description": "The smoke is very colorful.",
                "requester_email": "jane@acme.com"}),
        ),
        (
            "zendesk_update_ticket",
            json!({"ticket_id": 35436, "status": "pending", "priority": "urgent"}),
        ),
        (
            "zendesk_list_ticket_comments",
            json!({"ticket_id": 35436, "page_size": 2}),
        ),
        (
            "zendesk_add_ticket_comment",
            json!({"ticket_id": 35436, "body": "Refund approved", "public": false}),
        ),
        ("zendesk_search_users", json!({"query": "example.com"})),
        ("zendesk_get_user", json!({"user_id": 35436})),
        ("zendesk_get_me", json!({})),
    ];
    for (tool, args) in calls {
        ok(&mcp.call(tool, args).await);
    }
    let seen = zendesk.calls();
    let token = zendesk
        .state
        .lock()
        .unwrap()
        .tokens
        .keys()
        .next()
        .cloned()
        .unwrap();
    assert!(
        seen.iter()
            .all(|c| c.token == token && c.subdomain == "acme"),
        "{seen:?}"
    );
    let requests: Vec<(&str, &str)> = seen
        .iter()
        .map(|c| (c.method.as_str(), c.path.as_str()))
        .collect();
    assert_eq!(
        requests,
        [
            ("GET", "/api/v2/search.json"),
            ("GET", "/api/v2/tickets/35436.json"),
            ("POST", "/api/v2/tickets.json"),
            ("PUT", "/api/v2/tickets/35436.json"),
            ("GET", "/api/v2/tickets/35436/comments.json"),
            ("PUT", "/api/v2/tickets/35436.json"),
            ("GET", "/api/v2/users/search.json"),
            ("GET", "/api/v2/users/35436.json"),
            ("GET", "/api/v2/users/me.json"),
        ]
    );
    let search = &seen[0].query;
    assert!(search["query"].contains("type:ticket"), "{search:?}");
    assert!(search["query"].contains("status:open"), "{search:?}");
    assert!(search["query"].contains("printer"), "{search:?}");
    assert_eq!(search["per_page"], "2");
    assert_eq!(
        seen[2].body,
        json!({"ticket": {"subject": "My printer is on fire!",
            "comment": {"body": "The smoke is very colorful.", "public": true},
            "requester": {"email": "jane@acme.com"}}})
    );
    assert_eq!(
        seen[3].body,
        json!({"ticket": {"status": "pending", "priority": "urgent"}})
    );
    assert_eq!(seen[4].query["page[size]"], "2");
    assert_eq!(
        seen[5].body,
        json!({"ticket": {"comment": {"body": "Refund approved", "public": false}}})
    );
    assert_eq!(seen[6].query["query"], "example.com");

    // Error mapping: 429 with Zendesk's Retry-After, 503, a Zendesk slower than the
    // tool timeout.
    zendesk.state.lock().unwrap().next_status = Some(429);
    let limited = mcp.call("zendesk_get_me", json!({})).await;
    let error = tool_error(&limited);
    assert_eq!(error["code"], "rate_limited", "{limited}");
    assert_eq!(error["retry_after_secs"], 93);
    zendesk.state.lock().unwrap().next_status = Some(503);
    let down = mcp.call("zendesk_get_me", json!({})).await;
    let error = tool_error(&down);
    assert_eq!(error["code"], "upstream_error", "{down}");
    assert_eq!(error["status"], 503);
    zendesk.state.lock().unwrap().delay = Some(Duration::from_secs(5));
    let slow = mcp.call("zendesk_get_me", json!({})).await;
    let error = tool_error(&slow);
    assert_eq!(error["code"], "upstream_error", "{slow}");
    assert_eq!(error["status"], 504);
    zendesk.state.lock().unwrap().delay = None;

    // Disconnect: the token revokes itself on acme's Zendesk.
    let gone = app.delete("/v1/me/apps/zendesk", &key).await;
    assert_eq!(gone.status, 200, "{}", gone.body);
    assert_eq!(
        zendesk.state.lock().unwrap().revoked,
        [("acme".to_owned(), token.clone())]
    );

    // Connect again; an agent's token revoked inside Zendesk (no refresh token to
    // try): the tool answers needs_reauth.
    let (authorize_url, _) = begin(
        &app,
        &key,
        "zendesk",
        json!({"settings": {"subdomain": "acme"}}),
    )
    .await;
    consent(&app, &authorize_url).await;
    ok(&mcp.call("zendesk_get_me", json!({})).await);
    zendesk.state.lock().unwrap().tokens.clear();
    let dead = mcp.call("zendesk_get_me", json!({})).await;
    let error = tool_error(&dead);
    assert_eq!(error["code"], "needs_reauth", "{dead}");
    let mine = app.get("/v1/me/apps", &key).await;
    assert_eq!(mine.data()[0]["status"], "needs_reauth");
    app.stop().await;
}

/// The connect page's own forms answer HTML: a bad subdomain re-renders the page with
/// the reason, a forged CSRF token gets an HTML error page.
async fn connect_page_forms_answer_html(backend: Backend) {
    let zendesk = ZendeskStandIn::start().await;
    let app = spawn_app_with(backend, |_| {}).await;
    zendesk.activate(&app).await;
    let (euid, key) = app.create_end_user("page-user").await;
    let minted = app
        .post(
            &format!(
                "/v1/platforms/{}/end-users/{euid}/connect-links",
                app.platform_id
            ),
            &app.platform_key,
            &json!({}),
        )
        .await;
    assert_eq!(minted.status, 201, "{}", minted.body);
    let opened = browser()
        .get(minted.data()["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let cookie = opened.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = browser()
        .get(app.url("/connect"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"subdomain\""), "{page}");
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let post = |form: Vec<(&'static str, String)>| {
        browser()
            .post(app.url("/connect/apps/zendesk/connect"))
            .header("cookie", &cookie)
            .form(&form)
            .send()
    };
    let is_html = |r: &reqwest::Response| {
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    };

    for bad in ["evil.com/", "a_b", ""] {
        let refused = post(vec![("csrf", csrf.clone()), ("subdomain", bad.to_owned())])
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert!(is_html(&refused));
        let html = refused.text().await.unwrap();
        assert!(html.contains("settings.subdomain"), "{html}");
        assert!(
            html.contains("name=\"subdomain\""),
            "the form again: {html}"
        );
    }
    let forged = post(vec![
        ("csrf", "forged".to_owned()),
        ("subdomain", "acme".to_owned()),
    ])
    .await
    .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(is_html(&forged));
    assert!(forged.text().await.unwrap().contains("<h1>"));
    let forged_disconnect = browser()
        .post(app.url("/connect/apps/zendesk/disconnect"))
        .header("cookie", &cookie)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged_disconnect.status(), StatusCode::FORBIDDEN);
    assert!(is_html(&forged_disconnect));

    // The signed start link's own form (for platforms that show `connect_url`): a bad
    // subdomain shows the form again with the reason, still HTML.
    let link = app.get("/v1/me/apps", &key).await.data()[0]["connect_url"]
        .as_str()
        .unwrap()
        .to_owned();
    for bad in ["evil.com%2F", "a_b", ""] {
        let refused = browser()
            .get(format!("{link}&subdomain={bad}"))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        assert!(is_html(&refused));
        let html = refused.text().await.unwrap();
        assert!(html.contains("settings.subdomain"), "{html}");
        assert!(
            html.contains("name=\"subdomain\""),
            "the form again: {html}"
        );
    }

    // Nothing reached Zendesk; a good subdomain starts the flow.
    assert!(zendesk.state.lock().unwrap().token_requests.is_empty());
    let started = post(vec![
        ("csrf", csrf.clone()),
        ("subdomain", "acme".to_owned()),
    ])
    .await
    .unwrap();
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    assert!(
        started.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(&format!("{}/authorize?", zendesk.mock.url))
    );
    app.stop().await;
}

both_backends!(
    zendesk_connect_call_every_tool_and_revoke,
    connect_page_forms_answer_html
);
