//! The broker's per-app OAuth quirks, proven with test-double apps that implement the
//! hooks the way Zoho Mail and Zendesk document them, against local stand-ins:
//!
//! - Zoho-style: the authorize step happens on the US accounts server; the callback
//!   reports the user's data centre (`accounts-server`, `location`); the code exchange,
//!   refreshes and revocation go to that accounts server, the API to the `api_domain`
//!   its token response names; 1 h tokens; `access_type=offline`, `prompt=consent`.
//! - Zendesk-style: a per-customer subdomain asked for at connect time and validated,
//!   every URL built from it, PKCE, revocation with the token as bearer.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assistiv::apps::AppRegistry;
use assistiv::billing::clock::ManualClock;
use assistiv_app_sdk::oauth::dns_label;
use assistiv_app_sdk::reqwest;
use assistiv_app_sdk::secrecy::ExposeSecret;
use assistiv_app_sdk::{
    App, AppError, CallContext, ConnectField, ConnectionSettings, OAuthSpec, Revocation,
    TokenDetails, ToolAnnotations, ToolOutput, ToolSpec, async_trait,
};
use axum::Json;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{ADMIN_TOKEN, Backend, TestApp, spawn_app_with_apps};
use crate::mcp::McpSession;

/// One tool, `whoami`: `GET {api_base_url}/whoami` with the bearer token.
fn whoami_tool() -> Vec<ToolSpec> {
    vec![ToolSpec {
        name: "whoami",
        title: "Who am I",
        description: "The connected account.",
        input_schema: json!({"type": "object", "properties": {}, "additionalProperties": false}),
        output_schema: None,
        annotations: ToolAnnotations::READ,
    }]
}

async fn whoami(ctx: &CallContext) -> Result<ToolOutput, AppError> {
    let response = ctx
        .http
        .get(format!("{}/whoami", ctx.api_base_url))
        .bearer_auth(ctx.access_token.expose_secret())
        .send()
        .await
        .map_err(|e| AppError::Transport(e.to_string()))?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(AppError::from_status(status, "refused", None));
    }
    let body: Value = response
        .json()
        .await
        .map_err(|e| AppError::Transport(e.to_string()))?;
    Ok(ToolOutput::new(body, "whoami"))
}

// ---------------------------------------------------------------- Zoho-style

/// The data centres this double trusts (the real app lists Zoho's own domains).
struct ZohoStyle {
    trusted_accounts_servers: Vec<String>,
    tools: Vec<ToolSpec>,
}

static ZOHO_OAUTH: OAuthSpec = OAuthSpec {
    authorize_url: "https://accounts.zoho.com/oauth/v2/auth",
    token_url: "{accounts_server}/oauth/v2/token",
    revoke_url: Some("{accounts_server}/oauth/v2/token/revoke"),
    api_base_url: "{api_domain}/mail",
    default_scopes: &["ZohoMail.messages.ALL", "ZohoMail.accounts.READ"],
    scope_separator: ",",
    pkce_s256: false,
    extra_authorize_params: &[("access_type", "offline"), ("prompt", "consent")],
};

#[async_trait]
impl App for ZohoStyle {
    fn slug(&self) -> &'static str {
        "test-zoho"
    }
    fn display_name(&self) -> &'static str {
        "Zoho-style"
    }
    fn oauth(&self) -> &OAuthSpec {
        &ZOHO_OAUTH
    }
    fn tools(&self) -> &[ToolSpec] {
        &self.tools
    }
    async fn call(&self, _: &str, _: Value, ctx: &CallContext) -> Result<ToolOutput, AppError> {
        whoami(ctx).await
    }
    fn settings_from_callback(
        &self,
        query: &BTreeMap<String, String>,
        _operator_origins: &[String],
    ) -> Result<ConnectionSettings, String> {
        let server = query
            .get("accounts-server")
            .cloned()
            .unwrap_or_else(|| self.trusted_accounts_servers[0].clone());
        if !self.trusted_accounts_servers.contains(&server) {
            return Err(format!("untrusted accounts server {server}"));
        }
        let mut settings = ConnectionSettings::new();
        settings.insert("accounts_server".into(), server);
        if let Some(location) = query.get("location") {
            settings.insert("location".into(), location.clone());
        }
        Ok(settings)
    }
    fn token_details(&self, body: &Value) -> TokenDetails {
        let mut details = TokenDetails::default();
        if let Some(domain) = body["api_domain"].as_str() {
            details.settings.insert("api_domain".into(), domain.into());
        }
        details
    }
    fn revocation(&self) -> Revocation {
        Revocation::RefreshTokenQuery
    }
}

#[derive(Default)]
struct DcState {
    /// What this data centre's API domain is (its own URL).
    api_domain: String,
    codes: Vec<String>,
    access: Vec<String>,
    refresh: Vec<String>,
    token_requests: u32,
    refresh_calls: u32,
    revoked: Vec<String>,
    api_calls: u32,
}

/// One Zoho data centre: accounts (`/oauth/v2/...`) and mail API (`/mail/whoami`).
struct DataCentre {
    url: String,
    state: Arc<Mutex<DcState>>,
}

impl DataCentre {
    async fn start() -> Self {
        let state = Arc::new(Mutex::new(DcState::default()));
        let router = axum::Router::new()
            .route("/oauth/v2/token", post(zoho_token))
            .route("/oauth/v2/token/revoke", post(zoho_revoke))
            .route("/mail/whoami", get(zoho_whoami))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        state.lock().unwrap().api_domain = url.clone();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { url, state }
    }

    fn issue_code(&self) -> String {
        let code = format!("1000.{}", uuid::Uuid::new_v4().simple());
        self.state.lock().unwrap().codes.push(code.clone());
        code
    }
}

async fn zoho_token(
    State(state): State<Arc<Mutex<DcState>>>,
    Form(form): Form<HashMap<String, String>>,
) -> Json<Value> {
    let grant = form.get("grant_type").cloned().unwrap_or_default();
    if grant == "refresh_token" {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut s = state.lock().unwrap();
    s.token_requests += 1;
    match grant.as_str() {
        "authorization_code" => {
            let code = form.get("code").cloned().unwrap_or_default();
            if !s.codes.contains(&code) {
                // Zoho answers refusals with HTTP 200 and an `error`.
                return Json(json!({"error": "invalid_code"}));
            }
            s.codes.retain(|c| *c != code);
            let access = format!("1000.access.{}", uuid::Uuid::new_v4().simple());
            let refresh = format!("1000.refresh.{}", uuid::Uuid::new_v4().simple());
            s.access.push(access.clone());
            s.refresh.push(refresh.clone());
            Json(json!({"access_token": access, "refresh_token": refresh,
                "api_domain": s.api_domain, "token_type": "Bearer", "expires_in": 3600}))
        }
        "refresh_token" => {
            s.refresh_calls += 1;
            if !s
                .refresh
                .contains(form.get("refresh_token").unwrap_or(&String::new()))
            {
                return Json(json!({"error": "invalid_code"}));
            }
            let access = format!("1000.access.{}", uuid::Uuid::new_v4().simple());
            s.access.push(access.clone());
            // Zoho keeps the refresh token: none comes back.
            Json(json!({"access_token": access, "api_domain": s.api_domain,
                "token_type": "Bearer", "expires_in": 3600}))
        }
        _ => Json(json!({"error": "unsupported_grant_type"})),
    }
}

async fn zoho_revoke(
    State(state): State<Arc<Mutex<DcState>>>,
    Query(query): Query<HashMap<String, String>>,
) -> Json<Value> {
    let token = query.get("token").cloned().unwrap_or_default();
    let mut s = state.lock().unwrap();
    s.refresh.retain(|t| *t != token);
    s.revoked.push(token);
    Json(json!({"status": "success"}))
}

fn bearer(headers: &HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned()
}

async fn zoho_whoami(State(state): State<Arc<Mutex<DcState>>>, headers: HeaderMap) -> Response {
    let mut s = state.lock().unwrap();
    s.api_calls += 1;
    if s.access.last() != Some(&bearer(&headers)) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!({"data": {"accountName": "jane@acme.eu"}})).into_response()
}

async fn activate(app: &TestApp, slug: &str, body: Value) {
    let reply = app
        .send(
            app.request(
                reqwest::Method::PUT,
                &format!("/admin/v1/platforms/{}/apps/{slug}", app.platform_id),
                Some(ADMIN_TOKEN),
            )
            .json(&body),
        )
        .await;
    assert!(reply.status.is_success(), "{}", reply.body);
}

fn query_of(url: &str) -> HashMap<String, String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn landing(app: &TestApp, query: &str) -> String {
    let response = browser()
        .get(format!("{}/oauth/callback?{query}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    response.headers()["location"].to_str().unwrap().to_owned()
}

async fn zoho_data_centres_refresh_and_revocation(backend: Backend) {
    let us = DataCentre::start().await;
    let eu = DataCentre::start().await;
    let evil = DataCentre::start().await;
    let double = ZohoStyle {
        trusted_accounts_servers: vec![us.url.clone(), eu.url.clone()],
        tools: whoami_tool(),
    };
    let apps = AppRegistry::builtin().with(Arc::new(double)).unwrap();
    let clock = ManualClock::new(chrono::Utc::now());
    let app = spawn_app_with_apps(backend, clock.clone(), apps, |_| {}).await;
    activate(
        &app,
        "test-zoho",
        json!({"client_id": "1000.GMB0YULZHJK411248S8I5GZ4CHUEX0", "client_secret": "zoho-secret",
            "base_url": "https://platform.example",
            "authorize_url": format!("{}/oauth/v2/auth", us.url)}),
    )
    .await;
    let (euid, key) = app.create_end_user("zoho-user").await;

    // The authorize URL asks for offline access and a fresh consent.
    let begin = |key: String| {
        let app = &app;
        async move {
            let reply = app
                .post("/v1/me/apps/test-zoho/connect", &key, &json!({}))
                .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            query_of(reply.data()["authorize_url"].as_str().unwrap())
        }
    };
    let params = begin(key.clone()).await;
    assert_eq!(params["access_type"], "offline");
    assert_eq!(params["prompt"], "consent");
    assert_eq!(
        params["scope"],
        "ZohoMail.messages.ALL,ZohoMail.accounts.READ"
    );

    // A callback naming a server the app does not trust: no token request leaves.
    let forged = landing(
        &app,
        &format!(
            "code={}&state={}&location=eu&accounts-server={}",
            evil.issue_code(),
            params["state"],
            evil.url
        ),
    )
    .await;
    assert!(
        forged.ends_with("status=error&error=invalid_callback"),
        "{forged}"
    );
    assert_eq!(evil.state.lock().unwrap().token_requests, 0);

    // The EU user: the exchange goes to the EU accounts server, the API to its domain.
    let params = begin(key.clone()).await;
    let landed = landing(
        &app,
        &format!(
            "code={}&state={}&location=eu&accounts-server={}",
            eu.issue_code(),
            params["state"],
            eu.url
        ),
    )
    .await;
    assert!(
        landed.ends_with("app=test-zoho&status=connected"),
        "{landed}"
    );
    assert_eq!(us.state.lock().unwrap().token_requests, 0);
    let connection = app
        .get(
            &format!(
                "/v1/platforms/{}/end-users/{euid}/connections/test-zoho",
                app.platform_id
            ),
            &app.platform_key,
        )
        .await;
    assert_eq!(
        connection.data()["settings"],
        json!({"accounts_server": eu.url, "location": "eu", "api_domain": eu.url})
    );
    let mut mcp = McpSession::open(&app, "/mcp", &key).await;
    let first = mcp.call("test_zoho_whoami", json!({})).await;
    assert_eq!(first["result"]["isError"], false, "{first}");
    assert_eq!(eu.state.lock().unwrap().api_calls, 1);

    // The hour is nearly over: 20 concurrent calls, one refresh at the EU server.
    clock.advance(chrono::Duration::seconds(3600 - 30));
    let calls = (0..20).map(|i| mcp.call_with_id(1000 + i, "test_zoho_whoami", json!({})));
    for result in futures::future::join_all(calls).await {
        assert_eq!(result["result"]["isError"], false, "{result}");
    }
    assert_eq!(eu.state.lock().unwrap().refresh_calls, 1);
    assert_eq!(eu.state.lock().unwrap().api_calls, 21);

    // The refresh token is revoked at Zoho; the next expiry: needs_reauth, said by the tool.
    eu.state.lock().unwrap().refresh.clear();
    clock.advance(chrono::Duration::seconds(3600));
    let dead = mcp.call("test_zoho_whoami", json!({})).await;
    assert_eq!(dead["result"]["isError"], true);
    assert_eq!(
        dead["result"]["structuredContent"]["code"], "needs_reauth",
        "{dead}"
    );
    assert!(
        dead["result"]["structuredContent"]["connect_url"]
            .as_str()
            .unwrap()
            .contains("/oauth/start?t=")
    );
    assert_eq!(eu.state.lock().unwrap().refresh_calls, 2);
    let mine = app.get("/v1/me/apps", &key).await;
    assert_eq!(mine.data()[0]["status"], "needs_reauth");

    // Reconnect, then disconnect: Zoho's revoke endpoint gets the refresh token.
    let params = begin(key.clone()).await;
    landing(
        &app,
        &format!(
            "code={}&state={}&location=eu&accounts-server={}",
            eu.issue_code(),
            params["state"],
            eu.url
        ),
    )
    .await;
    let refresh = eu.state.lock().unwrap().refresh.last().cloned().unwrap();
    assert_eq!(app.delete("/v1/me/apps/test-zoho", &key).await.status, 200);
    assert_eq!(eu.state.lock().unwrap().revoked, [refresh]);
    app.stop().await;
}

// ------------------------------------------------------------- Zendesk-style

struct ZendeskStyle {
    tools: Vec<ToolSpec>,
}

static ZENDESK_FIELDS: [ConnectField; 1] = [ConnectField {
    name: "subdomain",
    label: "Zendesk subdomain",
    help: "acme for acme.zendesk.com",
    validate: dns_label,
}];

static ZENDESK_OAUTH: OAuthSpec = OAuthSpec {
    authorize_url: "https://{subdomain}.zendesk.com/oauth/authorizations/new",
    token_url: "https://{subdomain}.zendesk.com/oauth/tokens",
    revoke_url: Some("https://{subdomain}.zendesk.com/api/v2/oauth/tokens/current.json"),
    api_base_url: "https://{subdomain}.zendesk.com/api/v2",
    default_scopes: &["read", "write"],
    scope_separator: " ",
    pkce_s256: true,
    extra_authorize_params: &[],
};

#[async_trait]
impl App for ZendeskStyle {
    fn slug(&self) -> &'static str {
        "test-zendesk"
    }
    fn display_name(&self) -> &'static str {
        "Zendesk-style"
    }
    fn oauth(&self) -> &OAuthSpec {
        &ZENDESK_OAUTH
    }
    fn tools(&self) -> &[ToolSpec] {
        &self.tools
    }
    async fn call(&self, _: &str, _: Value, ctx: &CallContext) -> Result<ToolOutput, AppError> {
        whoami(ctx).await
    }
    fn connect_fields(&self) -> &'static [ConnectField] {
        &ZENDESK_FIELDS
    }
    fn revocation(&self) -> Revocation {
        Revocation::BearerDelete
    }
}

#[derive(Default)]
struct ZendeskState {
    /// code -> (subdomain, PKCE challenge)
    codes: HashMap<String, (String, String)>,
    /// access token -> subdomain
    tokens: HashMap<String, String>,
    seen: Vec<String>,
    revoked: Vec<(String, String)>,
}

type Zd = Arc<Mutex<ZendeskState>>;

/// Every customer's Zendesk on one server: `/{subdomain}/...`.
async fn zendesk_server() -> (String, Zd) {
    let state = Zd::default();
    let router = axum::Router::new()
        .route("/{sub}/oauth/tokens", post(zendesk_token))
        .route("/{sub}/api/v2/whoami", get(zendesk_whoami))
        .route(
            "/{sub}/api/v2/oauth/tokens/current.json",
            delete(zendesk_revoke),
        )
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, state)
}

async fn zendesk_token(
    State(state): State<Zd>,
    Path(sub): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut s = state.lock().unwrap();
    s.seen.push(format!("token:{sub}"));
    let code = form.get("code").cloned().unwrap_or_default();
    let Some((issued_for, challenge)) = s.codes.remove(&code) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    if issued_for != sub || URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != challenge
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    }
    let token = format!("zd-{}", uuid::Uuid::new_v4().simple());
    s.tokens.insert(token.clone(), sub);
    Json(json!({"access_token": token, "token_type": "bearer", "scope": "read write"}))
        .into_response()
}

async fn zendesk_whoami(
    State(state): State<Zd>,
    Path(sub): Path<String>,
    headers: HeaderMap,
) -> Response {
    let s = state.lock().unwrap();
    if s.tokens.get(&bearer(&headers)) != Some(&sub) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!({"user": {"subdomain": sub}})).into_response()
}

async fn zendesk_revoke(
    State(state): State<Zd>,
    Path(sub): Path<String>,
    headers: HeaderMap,
) -> StatusCode {
    let mut s = state.lock().unwrap();
    let token = bearer(&headers);
    s.tokens.remove(&token);
    s.revoked.push((sub, token));
    StatusCode::NO_CONTENT
}

async fn zendesk_subdomain_at_connect_time(backend: Backend) {
    let (zd, state) = zendesk_server().await;
    let apps = AppRegistry::builtin()
        .with(Arc::new(ZendeskStyle {
            tools: whoami_tool(),
        }))
        .unwrap();
    let app =
        spawn_app_with_apps(backend, ManualClock::new(chrono::Utc::now()), apps, |_| {}).await;
    // The operator's overrides keep the `{subdomain}` placeholder (here in the path).
    activate(
        &app,
        "test-zendesk",
        json!({"client_id": "zdg-assistiv", "client_secret": "zd-secret",
            "base_url": "https://platform.example",
            "authorize_url": format!("{zd}/{{subdomain}}/oauth/authorizations/new"),
            "token_url": format!("{zd}/{{subdomain}}/oauth/tokens"),
            "revoke_url": format!("{zd}/{{subdomain}}/api/v2/oauth/tokens/current.json"),
            "api_base_url": format!("{zd}/{{subdomain}}/api/v2")}),
    )
    .await;
    let bad_template = app
        .send(
            app.request(
                reqwest::Method::PUT,
                &format!("/admin/v1/platforms/{}/apps/test-zendesk", app.platform_id),
                Some(ADMIN_TOKEN),
            )
            .json(
                &json!({"client_id": "x", "base_url": "https://platform.example",
                "token_url": "ftp://{subdomain}.example/x"}),
            ),
        )
        .await;
    bad_template.assert_error(400, "bad_request");
    let (euid, key) = app.create_end_user("zendesk-user").await;

    // UIs learn what to ask for.
    let mine = app.get("/v1/me/apps", &key).await;
    assert_eq!(mine.data()[0]["connect_fields"][0]["name"], "subdomain");

    // No subdomain, a malformed one, an unknown setting: refused, nothing stored.
    for body in [
        json!({}),
        json!({"settings": {"subdomain": "evil.com/x"}}),
        json!({"settings": {"subdomain": "-acme"}}),
        json!({"settings": {"subdomain": "acme_corp"}}),
        json!({"settings": {"subdomain": "acme", "region": "eu"}}),
    ] {
        app.post("/v1/me/apps/test-zendesk/connect", &key, &body)
            .await
            .assert_error(400, "bad_request");
    }

    let reply = app
        .post(
            "/v1/me/apps/test-zendesk/connect",
            &key,
            &json!({"settings": {"subdomain": "Acme"}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let authorize_url = reply.data()["authorize_url"].as_str().unwrap();
    assert!(
        authorize_url.starts_with(&format!("{zd}/acme/oauth/authorizations/new?")),
        "{authorize_url}"
    );
    let params = query_of(authorize_url);
    assert_eq!(params["scope"], "read write");
    // The user consents at acme's Zendesk, which issues a code for acme.
    let code = format!("zd-code-{}", uuid::Uuid::new_v4().simple());
    state.lock().unwrap().codes.insert(
        code.clone(),
        ("acme".into(), params["code_challenge"].clone()),
    );
    let landed = landing(&app, &format!("code={code}&state={}", params["state"])).await;
    assert!(landed.ends_with("status=connected"), "{landed}");
    assert_eq!(state.lock().unwrap().seen, ["token:acme"]);
    let connection = app
        .get(
            &format!(
                "/v1/platforms/{}/end-users/{euid}/connections/test-zendesk",
                app.platform_id
            ),
            &app.platform_key,
        )
        .await;
    assert_eq!(connection.data()["settings"], json!({"subdomain": "acme"}));

    let mut mcp = McpSession::open(&app, "/mcp", &key).await;
    let result = mcp.call("test_zendesk_whoami", json!({})).await;
    assert_eq!(result["result"]["isError"], false, "{result}");
    assert_eq!(
        result["result"]["structuredContent"]["user"]["subdomain"],
        "acme"
    );

    // The signed start link asks for the subdomain first (a small form), then goes on.
    let link = mine.data()[0]["connect_url"].as_str().unwrap().to_owned();
    let form = browser().get(&link).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let page = form.text().await.unwrap();
    assert!(page.contains("name=\"subdomain\""), "{page}");
    let started = browser()
        .get(format!("{link}&subdomain=globex"))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 302);
    assert!(
        started.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(&format!("{zd}/globex/oauth/authorizations/new?"))
    );

    // Disconnect: DELETE current.json on acme's Zendesk with the token as bearer.
    let token = state.lock().unwrap().tokens.keys().next().cloned().unwrap();
    assert_eq!(
        app.delete("/v1/me/apps/test-zendesk", &key).await.status,
        200
    );
    assert_eq!(state.lock().unwrap().revoked, [("acme".to_owned(), token)]);
    app.stop().await;
}

// ------------------------------------------------------ an app that hangs

/// An app that ignores `ctx.timeout`: the gateway's own bound must still answer.
struct Hangs {
    tools: Vec<ToolSpec>,
}

static HANGS_OAUTH: OAuthSpec = OAuthSpec {
    authorize_url: "https://hangs.example/authorize",
    token_url: "https://hangs.example/token",
    revoke_url: None,
    api_base_url: "https://hangs.example/api",
    default_scopes: &[],
    scope_separator: " ",
    pkce_s256: false,
    extra_authorize_params: &[],
};

#[async_trait]
impl App for Hangs {
    fn slug(&self) -> &'static str {
        "test-hangs"
    }
    fn display_name(&self) -> &'static str {
        "Hangs"
    }
    fn oauth(&self) -> &OAuthSpec {
        &HANGS_OAUTH
    }
    fn tools(&self) -> &[ToolSpec] {
        &self.tools
    }
    async fn call(&self, _: &str, _: Value, _: &CallContext) -> Result<ToolOutput, AppError> {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Err(AppError::Transport("unreachable".into()))
    }
}

async fn a_hanging_app_answers_within_the_tool_timeout(backend: Backend) {
    let apps = AppRegistry::builtin()
        .with(Arc::new(Hangs {
            tools: whoami_tool(),
        }))
        .unwrap();
    let codes = DataCentre::start().await;
    let app = spawn_app_with_apps(backend, ManualClock::new(chrono::Utc::now()), apps, |c| {
        c.tool_timeout_secs = 1;
    })
    .await;
    activate(
        &app,
        "test-hangs",
        json!({"client_id": "c", "client_secret": "s", "base_url": "https://platform.example",
            "token_url": format!("{}/oauth/v2/token", codes.url)}),
    )
    .await;
    let (_, key) = app.create_end_user("patient-user").await;
    // Connect through the data-centre stand-in's token endpoint (no expiry matters here).
    let reply = app
        .post("/v1/me/apps/test-hangs/connect", &key, &json!({}))
        .await;
    let params = query_of(reply.data()["authorize_url"].as_str().unwrap());
    let landed = landing(
        &app,
        &format!("code={}&state={}", codes.issue_code(), params["state"]),
    )
    .await;
    assert!(landed.ends_with("status=connected"), "{landed}");
    let mut mcp = McpSession::open(&app, "/mcp", &key).await;
    let result = tokio::time::timeout(
        Duration::from_secs(20),
        mcp.call("test_hangs_whoami", json!({})),
    )
    .await
    .expect("the gateway bounds the call");
    let error = &result["result"]["structuredContent"];
    assert_eq!(error["code"], "upstream_error", "{result}");
    assert_eq!(error["status"], 504);
    app.stop().await;
}

both_backends!(
    zoho_data_centres_refresh_and_revocation,
    zendesk_subdomain_at_connect_time,
    a_hanging_app_answers_within_the_tool_timeout
);
