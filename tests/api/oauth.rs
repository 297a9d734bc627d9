//! The OAuth broker end to end, against a local stand-in of GitHub's OAuth endpoints
//! (an axum server implementing the documented token endpoint shape:
//! `POST /login/oauth/access_token` with `Accept: application/json`, client
//! credentials in the form, PKCE S256 verified against the challenge).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use assistiv::apps::AppSlug;
use assistiv::billing::clock::ManualClock;
use assistiv::oauth::{AppToken, TokenError};
use axum::extract::{Form, State};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::Connection;
use uuid::Uuid;

use crate::helpers::{ADMIN_TOKEN, Backend, TestApp, spawn_app_with_clock};

const PUBLIC_URL: &str = "https://gateway.example";
pub(crate) const BASE_URL: &str = "https://acme.example/app";
pub(crate) const CLIENT_ID: &str = "Iv1.client-id-123";
pub(crate) const CLIENT_SECRET: &str = "client-secret-QyZ8wPq1n3";

#[derive(Default)]
pub(crate) struct ProviderState {
    /// code -> (code_challenge, redirect_uri)
    codes: HashMap<String, (Option<String>, String)>,
    /// Refresh tokens still valid.
    refresh_tokens: Vec<String>,
    issued: u32,
    refresh_calls: u32,
    refuse_refresh: bool,
    pub(crate) expires_in: Option<u64>,
    revoked: Vec<String>,
    /// Access tokens issued, which the API's `GET /user` accepts.
    access_tokens: Vec<String>,
    /// Every grant deletion received: (path client id, Authorization, content type, body).
    revoke_requests: Vec<(String, String, String, String)>,
    /// Answer grant deletions with a 500.
    fail_revoke: bool,
}

#[derive(Clone)]
pub(crate) struct Provider {
    pub(crate) url: String,
    pub(crate) state: Arc<Mutex<ProviderState>>,
}

impl Provider {
    pub(crate) async fn start(expires_in: Option<u64>) -> Self {
        let state = Arc::new(Mutex::new(ProviderState {
            expires_in,
            ..ProviderState::default()
        }));
        let router = Router::new()
            .route("/login/oauth/access_token", post(token_endpoint))
            .route(
                "/api/v3/applications/{client_id}/grant",
                axum::routing::delete(grant_endpoint),
            )
            .route("/api/v3/user", axum::routing::get(user_endpoint))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { url, state }
    }

    /// The user consented: the provider would redirect with this code.
    pub(crate) fn issue_code(&self, challenge: Option<String>, redirect_uri: &str) -> String {
        let code = format!("code-{}", Uuid::new_v4().simple());
        self.state
            .lock()
            .unwrap()
            .codes
            .insert(code.clone(), (challenge, redirect_uri.to_owned()));
        code
    }

    pub(crate) fn refresh_calls(&self) -> u32 {
        self.state.lock().unwrap().refresh_calls
    }
}

fn issue(state: &mut ProviderState) -> Value {
    state.issued += 1;
    let n = state.issued;
    let refresh = format!("ghr_refresh_{n}_{}", Uuid::new_v4().simple());
    state.refresh_tokens.push(refresh.clone());
    let access = format!("gho_access_{n}_{}", Uuid::new_v4().simple());
    state.access_tokens.push(access.clone());
    let mut body = json!({
        "access_token": access,
        "token_type": "bearer",
        "scope": "repo,read:user",
        "refresh_token": refresh,
    });
    if let Some(secs) = state.expires_in {
        body["expires_in"] = json!(secs);
    }
    body
}

async fn token_endpoint(
    State(state): State<Arc<Mutex<ProviderState>>>,
    headers: axum::http::HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    let refused = |code: &str| (StatusCode::OK, Json(json!({"error": code})));
    assert_eq!(
        headers.get("accept").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    if form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || form.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        );
    }
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let mut state = state.lock().unwrap();
            let Some((challenge, redirect)) =
                form.get("code").and_then(|code| state.codes.remove(code))
            else {
                return refused("bad_verification_code");
            };
            if form.get("redirect_uri") != Some(&redirect) {
                return refused("redirect_uri_mismatch");
            }
            if let Some(challenge) = challenge {
                let verifier = form.get("code_verifier").cloned().unwrap_or_default();
                let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
                if computed != challenge {
                    return refused("bad_verification_code");
                }
            }
            (StatusCode::OK, Json(issue(&mut state)))
        }
        Some("refresh_token") => {
            // Slow enough that concurrent callers overlap.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let mut state = state.lock().unwrap();
            state.refresh_calls += 1;
            let presented = form.get("refresh_token").cloned().unwrap_or_default();
            if state.refuse_refresh || !state.refresh_tokens.contains(&presented) {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"error": "invalid_grant"})),
                );
            }
            state.refresh_tokens.retain(|t| *t != presented);
            (StatusCode::OK, Json(issue(&mut state)))
        }
        _ => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "unsupported_grant_type"})),
        ),
    }
}

/// GitHub's `GET /user` for a token this provider issued.
async fn user_endpoint(
    State(state): State<Arc<Mutex<ProviderState>>>,
    headers: axum::http::HeaderMap,
) -> (StatusCode, Json<Value>) {
    let presented = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !state
        .lock()
        .unwrap()
        .access_tokens
        .iter()
        .any(|t| t == presented)
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "Bad credentials"})),
        );
    }
    (
        StatusCode::OK,
        Json(json!({"login": "octo-oauth", "id": 42, "name": "Octo OAuth", "type": "User"})),
    )
}

/// GitHub's `DELETE /applications/{client_id}/grant`: HTTP Basic auth of the OAuth
/// App's client id and secret, the token in a JSON body, 204 when done.
async fn grant_endpoint(
    State(state): State<Arc<Mutex<ProviderState>>>,
    axum::extract::Path(client_id): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
    body: String,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut state = state.lock().unwrap();
    state.revoke_requests.push((
        client_id.clone(),
        header("authorization"),
        header("content-type"),
        body.clone(),
    ));
    if state.fail_revoke {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if client_id != CLIENT_ID || header("authorization") != expected {
        return StatusCode::NOT_FOUND; // GitHub's answer to bad client credentials
    }
    let token = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|b| b["access_token"].as_str().map(str::to_owned));
    match token {
        Some(token) if state.access_tokens.contains(&token) => {
            state.revoked.push(token);
            StatusCode::NO_CONTENT
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

struct World {
    app: TestApp,
    clock: Arc<ManualClock>,
    provider: Provider,
    browser: reqwest::Client,
    euid: Uuid,
    eu_key: String,
}

async fn world(backend: Backend, expires_in: Option<u64>) -> World {
    let clock = ManualClock::new(chrono::Utc::now());
    let provider = Provider::start(expires_in).await;
    let app = spawn_app_with_clock(backend, clock.clone(), |c| {
        c.public_url = Some(PUBLIC_URL.into());
    })
    .await;
    let (euid, eu_key) = app.create_end_user("oauth-user").await;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    World {
        app,
        clock,
        provider,
        browser,
        euid,
        eu_key,
    }
}

impl World {
    fn activation_path(&self) -> String {
        format!("/admin/v1/platforms/{}/apps/github", self.app.platform_id)
    }

    async fn activate(&self) -> crate::helpers::Reply {
        let body = json!({
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "base_url": BASE_URL,
            "authorize_url": format!("{}/login/oauth/authorize", self.provider.url),
            "token_url": format!("{}/login/oauth/access_token", self.provider.url),
            "api_base_url": format!("{}/api/v3", self.provider.url),
        });
        self.app
            .send(
                self.app
                    .request(
                        reqwest::Method::PUT,
                        &self.activation_path(),
                        Some(ADMIN_TOKEN),
                    )
                    .json(&body),
            )
            .await
    }

    /// A browser GET on the gateway: (status, Location).
    async fn browse(&self, url: &str) -> (StatusCode, Option<String>, Value) {
        let url = url.replace(PUBLIC_URL, &self.app.address);
        let response = self.browser.get(url).send().await.unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.json().await.unwrap_or(Value::Null);
        (status, location, body)
    }

    async fn my_apps(&self) -> Vec<Value> {
        let reply = self.app.get("/v1/me/apps", &self.eu_key).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.data().as_array().unwrap().clone()
    }

    /// POST connect: the authorize URL's query parameters.
    async fn begin(&self) -> HashMap<String, String> {
        let reply = self
            .app
            .post("/v1/me/apps/github/connect", &self.eu_key, &json!({}))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(reply.data()["expires_at"].is_string());
        let url = reply.data()["authorize_url"].as_str().unwrap();
        assert!(url.starts_with(&format!("{}/login/oauth/authorize?", self.provider.url)));
        query_of(url)
    }

    /// Consent at the provider, then the browser lands on the callback.
    async fn consent_and_callback(&self, params: &HashMap<String, String>) -> String {
        let code = self.provider.issue_code(
            params.get("code_challenge").cloned(),
            &params["redirect_uri"],
        );
        let (status, location, body) = self
            .browse(&format!(
                "{PUBLIC_URL}/oauth/callback?code={code}&state={}",
                params["state"]
            ))
            .await;
        assert_eq!(status, 302, "{body}");
        location.unwrap()
    }

    async fn connect(&self) {
        let params = self.begin().await;
        let location = self.consent_and_callback(&params).await;
        assert_eq!(
            location,
            format!("{BASE_URL}/mcp/oauth-callback?app=github&status=connected")
        );
    }

    fn github(&self) -> AppSlug {
        AppSlug::parse(&self.app.state.apps, "github").unwrap()
    }

    async fn token(&self) -> Result<AppToken, TokenError> {
        self.app
            .state
            .oauth
            .token(self.app.platform_id, self.euid, &self.github())
            .await
    }

    async fn connection_count(&self) -> usize {
        let reply = self
            .app
            .get(
                &format!(
                    "/v1/platforms/{}/end-users/{}/connections",
                    self.app.platform_id, self.euid
                ),
                &self.app.platform_key,
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.data().as_array().unwrap().len()
    }
}

pub(crate) fn query_of(url: &str) -> HashMap<String, String> {
    let (_, query) = url.split_once('?').unwrap();
    query
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// Every row of every table, as text (PostgreSQL), or the raw database files (SQLite).
pub async fn dump_database(app: &TestApp) -> String {
    match app.backend {
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(app.database_url.as_deref().unwrap())
                .await
                .unwrap();
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            let mut dump = String::new();
            for table in tables {
                let rows: Vec<String> =
                    sqlx::query_scalar(&format!("SELECT t::text FROM \"{table}\" t"))
                        .fetch_all(&mut conn)
                        .await
                        .unwrap();
                dump.push_str(&rows.join("\n"));
            }
            dump
        }
        Backend::Sqlite => {
            let mut dump = String::new();
            for entry in std::fs::read_dir(&app.data_dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    continue; // blobs/, checked on their own
                }
                let bytes = std::fs::read(path).unwrap();
                dump.push_str(&String::from_utf8_lossy(&bytes));
            }
            dump
        }
    }
}

async fn connect_flow_end_to_end(backend: Backend) {
    let w = world(backend, None).await;
    let created = w.activate().await;
    assert_eq!(created.status, 201, "{}", created.body);
    let updated = w.activate().await;
    assert_eq!(updated.status, 200, "{}", updated.body);

    // Read back: never the secret.
    let shown = w.app.get(&w.activation_path(), ADMIN_TOKEN).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(shown.data()["has_client_secret"], true);
    assert_eq!(shown.data()["client_id"], CLIENT_ID);
    assert_eq!(shown.data()["scopes"], json!(["repo", "read:user"]));
    assert!(shown.data().get("client_secret").is_none());
    assert!(!shown.body.to_string().contains(CLIENT_SECRET));
    let listed = w
        .app
        .get(
            &format!("/admin/v1/platforms/{}/apps", w.app.platform_id),
            ADMIN_TOKEN,
        )
        .await;
    assert_eq!(listed.data().as_array().unwrap().len(), 1);
    assert!(!listed.body.to_string().contains(CLIENT_SECRET));

    // The platform's connect UI sees the app and its tools.
    let apps = w
        .app
        .get(
            &format!("/v1/platforms/{}/mcp/apps", w.app.platform_id),
            &w.app.platform_key,
        )
        .await;
    assert_eq!(apps.data()[0]["app"], "github");
    assert!(apps.data()[0]["tool_count"].as_u64().unwrap() > 0);

    // Not connected yet, with a signed start link (no API key in it).
    let mine = w.my_apps().await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["connected"], false);
    assert_eq!(mine[0]["status"], "not_connected");
    assert_eq!(mine[0]["account"], Value::Null);
    let connect_url = mine[0]["connect_url"].as_str().unwrap().to_owned();
    assert!(connect_url.starts_with(&format!("{PUBLIC_URL}/oauth/start?t=")));
    assert!(!connect_url.contains(&w.eu_key) && !connect_url.contains("sk-"));
    assert!(matches!(
        w.token().await,
        Err(TokenError::NotConnected { .. })
    ));

    // The start link redirects to a fresh authorize URL.
    let (status, location, _) = w.browse(&connect_url).await;
    assert_eq!(status, 302);
    let from_link = query_of(&location.unwrap());
    assert_eq!(from_link["client_id"], CLIENT_ID);

    // POST connect: the authorize URL carries everything the provider needs.
    let params = w.begin().await;
    assert_eq!(params["client_id"], CLIENT_ID);
    assert_eq!(params["response_type"], "code");
    assert_eq!(
        params["redirect_uri"],
        format!("{PUBLIC_URL}/oauth/callback")
    );
    assert_eq!(params["scope"], "repo read:user");
    assert_eq!(params["code_challenge_method"], "S256");
    assert!(params["code_challenge"].len() >= 43);
    assert!(params["state"].len() >= 32);
    assert_ne!(params["state"], from_link["state"]);

    let location = w.consent_and_callback(&params).await;
    assert_eq!(
        location,
        format!("{BASE_URL}/mcp/oauth-callback?app=github&status=connected")
    );
    // The same state again is refused, and changes nothing.
    let code = w.provider.issue_code(
        params.get("code_challenge").cloned(),
        &params["redirect_uri"],
    );
    let (status, location, _) = w
        .browse(&format!(
            "{PUBLIC_URL}/oauth/callback?code={code}&state={}",
            params["state"]
        ))
        .await;
    assert_eq!(status, 302);
    assert_eq!(
        location.unwrap(),
        format!("{BASE_URL}/mcp/oauth-callback?app=github&status=error&error=state_used")
    );

    let mine = w.my_apps().await;
    assert_eq!(mine[0]["connected"], true, "{mine:?}");
    assert_eq!(mine[0]["status"], "connected");
    // Who the user connected as: GitHub's `GET /user` login, asked right after connect.
    assert_eq!(mine[0]["account"]["login"], "octo-oauth", "{mine:?}");
    assert_eq!(w.connection_count().await, 1);
    let listed = w
        .app
        .get(
            &format!(
                "/v1/platforms/{}/end-users/{}/connections",
                w.app.platform_id, w.euid
            ),
            &w.app.platform_key,
        )
        .await;
    assert_eq!(
        listed.data()[0]["account"]["login"],
        "octo-oauth",
        "{}",
        listed.body
    );
    let connection = w
        .app
        .get(
            &format!(
                "/v1/platforms/{}/end-users/{}/connections/github",
                w.app.platform_id, w.euid
            ),
            &w.app.platform_key,
        )
        .await;
    assert_eq!(connection.data()["status"], "connected");
    assert_eq!(connection.data()["account"]["login"], "octo-oauth");
    assert!(!connection.body.to_string().contains("gho_"));

    // The MCP layer gets the token and the API base URL override.
    let token = w.token().await.unwrap();
    assert!(
        token
            .access_token
            .expose_secret()
            .starts_with("gho_access_1_")
    );
    assert_eq!(token.api_base_url, format!("{}/api/v3", w.provider.url));
    assert_eq!(w.provider.refresh_calls(), 0, "no expiry, no refresh");

    // Nothing secret is stored in plain text.
    let access = token.access_token.expose_secret().to_owned();
    let refresh = w.provider.state.lock().unwrap().refresh_tokens[0].clone();
    let dump = dump_database(&w.app).await;
    assert!(dump.contains(CLIENT_ID), "the dump should hold the rows");
    for secret in [
        CLIENT_SECRET,
        access.as_str(),
        refresh.as_str(),
        params["state"].as_str(),
    ] {
        assert!(!dump.contains(secret), "a secret is stored in plain text");
    }

    // The end user disconnects: revoked at the provider, row gone.
    let gone = w.app.delete("/v1/me/apps/github", &w.eu_key).await;
    assert_eq!(gone.status, 200, "{}", gone.body);
    assert!(w.provider.state.lock().unwrap().revoked.contains(&access));
    assert_eq!(w.connection_count().await, 0);
    w.app
        .delete("/v1/me/apps/github", &w.eu_key)
        .await
        .assert_error(404, "not_found");
    w.app.stop().await;
}

async fn tokens_refresh_once_under_concurrency(backend: Backend) {
    let w = world(backend, Some(3600)).await;
    assert_eq!(w.activate().await.status, 201);
    w.connect().await;
    let first = w.token().await.unwrap();
    assert_eq!(w.provider.refresh_calls(), 0, "fresh token, no refresh");

    // Less than a minute left: 20 concurrent callers, one refresh.
    w.clock.advance(chrono::Duration::seconds(3560));
    let results = futures::future::join_all((0..20).map(|_| w.token())).await;
    assert_eq!(w.provider.refresh_calls(), 1);
    let tokens: Vec<String> = results
        .into_iter()
        .map(|r| r.unwrap().access_token.expose_secret().to_owned())
        .collect();
    assert!(tokens.iter().all(|t| *t == tokens[0]));
    assert_ne!(tokens[0], first.access_token.expose_secret());
    // And the refreshed token is what is stored now.
    let again = w.token().await.unwrap();
    assert_eq!(again.access_token.expose_secret(), tokens[0]);
    assert_eq!(w.provider.refresh_calls(), 1);

    // A 401 from the provider: 20 callers holding the stale token, one refresh.
    let stale = again.clone();
    let slug = w.github();
    let results = futures::future::join_all((0..20).map(|_| {
        w.app
            .state
            .oauth
            .refresh_after_unauthorized(w.app.platform_id, w.euid, &slug, &stale)
    }))
    .await;
    assert_eq!(w.provider.refresh_calls(), 2);
    let tokens: Vec<String> = results
        .into_iter()
        .map(|r| r.unwrap().access_token.expose_secret().to_owned())
        .collect();
    assert!(tokens.iter().all(|t| *t == tokens[0]));
    assert_ne!(tokens[0], stale.access_token.expose_secret());

    // The provider refuses the next refresh: needs_reauth, with a reconnect link.
    w.provider.state.lock().unwrap().refuse_refresh = true;
    let current = w.token().await.unwrap();
    let refused = w
        .app
        .state
        .oauth
        .refresh_after_unauthorized(w.app.platform_id, w.euid, &slug, &current)
        .await;
    match refused {
        Err(TokenError::NeedsReauth { connect_url }) => {
            assert!(connect_url.starts_with(&format!("{PUBLIC_URL}/oauth/start?t=")))
        }
        other => panic!("expected NeedsReauth, got {other:?}"),
    }
    assert!(matches!(
        w.token().await,
        Err(TokenError::NeedsReauth { .. })
    ));
    let mine = w.my_apps().await;
    assert_eq!(mine[0]["connected"], false);
    assert_eq!(mine[0]["status"], "needs_reauth");
    assert_eq!(w.provider.refresh_calls(), 3);
    // Counted by outcome: two refreshed, one refused.
    let scraped =
        crate::metrics::Scrape::parse(assistiv::metrics::exposition(&w.app.state).await.unwrap());
    let refreshes = |outcome| {
        scraped.value(
            "assistiv_oauth_token_refreshes_total",
            &[("app", "github"), ("outcome", outcome)],
        )
    };
    assert_eq!((refreshes("refreshed"), refreshes("refused")), (2.0, 1.0));

    // Connecting again heals it.
    w.connect().await;
    assert_eq!(w.my_apps().await[0]["status"], "connected");
    assert!(w.token().await.is_ok());
    w.app.stop().await;
}

async fn bad_states_are_refused_and_store_nothing(backend: Backend) {
    let w = world(backend, None).await;
    assert_eq!(w.activate().await.status, 201);

    // Unknown (forged) and missing states: no platform to send the browser to.
    let (status, _, body) = w
        .browse(&format!(
            "{PUBLIC_URL}/oauth/callback?code=abc&state=forged-state-value"
        ))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");
    let (status, _, _) = w
        .browse(&format!("{PUBLIC_URL}/oauth/callback?code=abc"))
        .await;
    assert_eq!(status, 400);

    // The provider reports a refusal.
    let params = w.begin().await;
    let (status, location, _) = w
        .browse(&format!(
            "{PUBLIC_URL}/oauth/callback?error=access_denied&state={}",
            params["state"]
        ))
        .await;
    assert_eq!(status, 302);
    assert_eq!(
        location.unwrap(),
        format!("{BASE_URL}/mcp/oauth-callback?app=github&status=error&error=access_denied")
    );

    // A code the provider never issued.
    let params = w.begin().await;
    let (_, location, _) = w
        .browse(&format!(
            "{PUBLIC_URL}/oauth/callback?code=not-a-code&state={}",
            params["state"]
        ))
        .await;
    assert!(
        location
            .unwrap()
            .ends_with("status=error&error=token_exchange_failed")
    );

    // A valid code but a wrong PKCE verifier cannot happen through us; a state
    // older than 10 minutes is refused.
    let params = w.begin().await;
    w.clock.advance(chrono::Duration::minutes(11));
    let location = w.consent_and_callback(&params).await;
    assert!(
        location.ends_with("status=error&error=state_expired"),
        "{location}"
    );

    // Tampered and expired start links.
    let connect_url = w.my_apps().await[0]["connect_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _, _) = w.browse(&format!("{connect_url}x")).await;
    assert_eq!(status, 400);
    let (status, _, _) = w.browse(&format!("{PUBLIC_URL}/oauth/start")).await;
    assert_eq!(status, 400);
    w.clock.advance(chrono::Duration::minutes(61));
    let (status, _, body) = w.browse(&connect_url).await;
    assert_eq!(status, 400, "{body}");

    assert_eq!(w.connection_count().await, 0, "nothing stored");
    assert_eq!(w.my_apps().await[0]["connected"], false);
    w.app.stop().await;
}

async fn deactivating_drops_every_connection(backend: Backend) {
    let w = world(backend, Some(3600)).await;
    assert_eq!(w.activate().await.status, 201);
    w.connect().await;
    let token = w.token().await.unwrap();

    let done = w.app.delete(&w.activation_path(), ADMIN_TOKEN).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.data()["connections_removed"], 1);
    let revoked = w.provider.state.lock().unwrap().revoked.clone();
    assert!(revoked.contains(&token.access_token.expose_secret().to_owned()));
    assert_eq!(w.connection_count().await, 0);
    assert!(w.my_apps().await.is_empty());
    assert!(matches!(w.token().await, Err(TokenError::Failed(_))));
    w.app
        .get(&w.activation_path(), ADMIN_TOKEN)
        .await
        .assert_error(404, "not_found");
    w.app
        .delete(&w.activation_path(), ADMIN_TOKEN)
        .await
        .assert_error(404, "not_found");
    w.app
        .post("/v1/me/apps/github/connect", &w.eu_key, &json!({}))
        .await
        .assert_error(404, "not_found");
    w.app.stop().await;
}

async fn activation_input_and_tenancy_are_checked(backend: Backend) {
    let w = world(backend, None).await;
    let pid = w.app.platform_id;
    let put = |path: String, body: Value| {
        w.app.send(
            w.app
                .request(reqwest::Method::PUT, &path, Some(ADMIN_TOKEN))
                .json(&body),
        )
    };
    let path = w.activation_path();
    // The secret is required on first activation.
    put(
        path.clone(),
        json!({"client_id": "x", "base_url": BASE_URL}),
    )
    .await
    .assert_error(400, "bad_request");
    for bad in [
        json!({"client_id": "x", "client_secret": "s", "base_url": "not a url"}),
        json!({"client_id": "x", "client_secret": "s", "base_url": "ftp://x"}),
        json!({"client_id": "x", "client_secret": "s", "base_url": BASE_URL, "token_url": "javascript:x"}),
        json!({"client_id": "x", "client_secret": "s", "base_url": BASE_URL, "surprise": 1}),
        json!({"client_id": "", "client_secret": "s", "base_url": BASE_URL}),
        json!({"client_id": "x", "client_secret": "s", "base_url": BASE_URL, "scopes": ["a b"]}),
    ] {
        put(path.clone(), bad)
            .await
            .assert_error(400, "bad_request");
    }
    put(
        format!("/admin/v1/platforms/{pid}/apps/nope"),
        json!({"client_id": "x", "client_secret": "s", "base_url": BASE_URL}),
    )
    .await
    .assert_error(404, "not_found");
    put(
        format!("/admin/v1/platforms/{}/apps/github", Uuid::now_v7()),
        json!({"client_id": "x", "client_secret": "s", "base_url": BASE_URL}),
    )
    .await
    .assert_error(404, "not_found");
    // Scopes as a string; an update without the secret keeps it.
    let ok = put(
        path.clone(),
        json!({"client_id": "x", "client_secret": CLIENT_SECRET, "base_url": BASE_URL, "scopes": "repo gist"}),
    )
    .await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    assert_eq!(ok.data()["scopes"], json!(["repo", "gist"]));
    let kept = put(
        path.clone(),
        json!({"client_id": "y", "base_url": BASE_URL}),
    )
    .await;
    assert_eq!(kept.status, 200, "{}", kept.body);
    assert_eq!(kept.data()["has_client_secret"], true);
    assert_eq!(kept.data()["scopes"], json!(["repo", "read:user"]));
    // Platform keys cannot use the operator routes.
    w.app
        .get(&path, &w.app.platform_key)
        .await
        .assert_error(403, "forbidden");

    // Another platform sees nothing of this one.
    let (other_pid, other_key) = w.app.create_platform("other").await;
    let (other_euid, _) = w.app.create_end_user_on(other_pid, &other_key, "x").await;
    for path in [
        format!("/v1/platforms/{pid}/mcp/apps"),
        format!("/v1/platforms/{pid}/end-users/{}/connections", w.euid),
        format!(
            "/v1/platforms/{pid}/end-users/{}/connections/github",
            w.euid
        ),
    ] {
        w.app
            .get(&path, &other_key)
            .await
            .assert_error(404, "not_found");
    }
    w.app
        .get(
            &format!("/v1/platforms/{pid}/end-users/{other_euid}/connections"),
            &w.app.platform_key,
        )
        .await
        .assert_error(404, "not_found");
    w.app
        .delete(
            &format!("/v1/platforms/{pid}/end-users/{other_euid}/connections/github"),
            &w.app.platform_key,
        )
        .await
        .assert_error(404, "not_found");
    let other_apps = w
        .app
        .get(&format!("/v1/platforms/{other_pid}/mcp/apps"), &other_key)
        .await;
    assert_eq!(other_apps.data(), &json!([]));
    // End-user routes need an end-user key; unknown apps are 404.
    w.app
        .get("/v1/me/apps", &w.app.platform_key)
        .await
        .assert_error(403, "forbidden");
    w.app
        .post("/v1/me/apps/nope/connect", &w.eu_key, &json!({}))
        .await
        .assert_error(404, "not_found");
    w.app.stop().await;
}

async fn a_ciphertext_copied_to_another_row_does_not_decrypt(backend: Backend) {
    let mut w = world(backend, None).await;
    assert_eq!(w.activate().await.status, 201);
    w.connect().await;
    let first_euid = w.euid;
    // A second end user connects too.
    let (other_euid, other_key) = w.app.create_end_user("second-user").await;
    w.euid = other_euid;
    w.eu_key = other_key;
    w.connect().await;
    assert!(w.token().await.is_ok());
    // Copy the first user's sealed access token onto the second user's row.
    let mut tx = w.app.state.db.begin().await.unwrap();
    let first: (Vec<u8>,) = tx
        .fetch_one(
            "SELECT access_token_enc FROM app_connections WHERE end_user_id = $1",
            &assistiv::args![first_euid],
        )
        .await
        .unwrap();
    tx.execute(
        "UPDATE app_connections SET access_token_enc = $1 WHERE end_user_id = $2",
        &assistiv::args![first.0, other_euid],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    match w.token().await {
        Err(TokenError::Failed(e)) => assert_eq!(e.code(), "internal_error"),
        r => panic!("a moved ciphertext must not decrypt: {:?}", r.map(|_| ())),
    }
    w.euid = first_euid;
    assert!(w.token().await.is_ok(), "the original row still decrypts");
    w.app.stop().await;
}

fn assistiv_cli() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_assistiv"));
    for (name, _) in std::env::vars() {
        if name.starts_with("ASSISTIV_") || name == "DATABASE_URL" || name == "REDIS_URL" {
            command.env_remove(name);
        }
    }
    command
}

fn cli_json(command: &mut std::process::Command) -> (Value, String) {
    let output = command.output().expect("assistiv runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (serde_json::from_str(&stdout).expect("JSON output"), stdout)
}

async fn admin_app_commands_work_on_the_database(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = vec!["--data-dir".to_owned(), dir.path().display().to_string()];
    if backend == Backend::Postgres {
        store.push("--database-url".into());
        store.push(crate::helpers::fresh_postgres_database().await);
    }
    // Admin commands never create a database: `migrate` does.
    let migrated = assistiv_cli().arg("migrate").args(&store).output().unwrap();
    assert!(migrated.status.success());
    let (platform, _) = cli_json(
        assistiv_cli()
            .args(["admin", "platform", "create", "--name", "acme", "--json"])
            .args(&store),
    );
    let pid = platform["id"].as_str().unwrap().to_owned();
    let activate = |extra: &[&str]| {
        let mut command = assistiv_cli();
        command
            .args([
                "admin",
                "app",
                "activate",
                "--platform",
                &pid,
                "--app",
                "github",
            ])
            .args(["--client-id", CLIENT_ID, "--base-url", BASE_URL])
            .args(extra)
            .args(&store)
            .env("GITHUB_SECRET_FOR_TEST", CLIENT_SECRET);
        command
    };
    let (view, stdout) = cli_json(&mut activate(&[
        "--client-secret-env",
        "GITHUB_SECRET_FOR_TEST",
        "--scopes",
        "repo gist",
        "--json",
    ]));
    assert_eq!(view["has_client_secret"], true);
    assert_eq!(view["scopes"], json!(["repo", "gist"]));
    assert!(!stdout.contains(CLIENT_SECRET));
    // No secret on first activation elsewhere: refused.
    let refused = assistiv_cli()
        .args([
            "admin",
            "app",
            "activate",
            "--platform",
            &pid,
            "--app",
            "github",
        ])
        .args([
            "--client-id",
            "x",
            "--base-url",
            BASE_URL,
            "--client-secret-env",
            "UNSET_VAR_X",
        ])
        .args(&store)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    // Text output by default; an update keeps the secret.
    let text = activate(&[]).output().unwrap();
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.contains("Updated.") && text.contains("client secret: set"),
        "{text}"
    );
    assert!(!text.contains(CLIENT_SECRET));

    let (listed, _) = cli_json(
        assistiv_cli()
            .args(["admin", "app", "list", "--platform", &pid, "--json"])
            .args(&store),
    );
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let (done, _) = cli_json(
        assistiv_cli()
            .args([
                "admin",
                "app",
                "deactivate",
                "--platform",
                &pid,
                "--app",
                "github",
                "--json",
            ])
            .args(&store),
    );
    assert_eq!(done["deactivated"], true);
    let (listed, _) = cli_json(
        assistiv_cli()
            .args(["admin", "app", "list", "--platform", &pid, "--json"])
            .args(&store),
    );
    assert_eq!(listed, json!([]));
}

/// Disconnecting GitHub deletes the grant the way GitHub documents it: DELETE
/// `{api}/applications/{client_id}/grant` with Basic auth of the client credentials and
/// `{"access_token": ...}`; a failing deletion still disconnects locally.
async fn github_grant_is_deleted_on_disconnect(backend: Backend) {
    let w = world(backend, None).await;
    assert_eq!(w.activate().await.status, 201);
    w.connect().await;
    let access = w
        .token()
        .await
        .unwrap()
        .access_token
        .expose_secret()
        .to_owned();
    let gone = w.app.delete("/v1/me/apps/github", &w.eu_key).await;
    assert_eq!(gone.status, 200, "{}", gone.body);
    let requests = w.provider.state.lock().unwrap().revoke_requests.clone();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let (client_id, authorization, content_type, body) = &requests[0];
    assert_eq!(client_id, CLIENT_ID);
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    assert_eq!(authorization, &format!("Basic {credentials}"));
    assert_eq!(content_type, "application/json");
    assert_eq!(
        serde_json::from_str::<Value>(body).unwrap(),
        json!({"access_token": access})
    );
    assert_eq!(w.provider.state.lock().unwrap().revoked, [access]);
    assert_eq!(w.connection_count().await, 0);

    // GitHub fails the deletion: the connection is removed here all the same.
    w.connect().await;
    w.provider.state.lock().unwrap().fail_revoke = true;
    let gone = w.app.delete("/v1/me/apps/github", &w.eu_key).await;
    assert_eq!(gone.status, 200, "{}", gone.body);
    assert_eq!(w.provider.state.lock().unwrap().revoke_requests.len(), 2);
    assert_eq!(w.connection_count().await, 0);
    assert!(matches!(
        w.token().await,
        Err(TokenError::NotConnected { .. })
    ));
    assert_eq!(w.my_apps().await[0]["connected"], false);
    w.app.stop().await;
}

both_backends!(
    github_grant_is_deleted_on_disconnect,
    connect_flow_end_to_end,
    tokens_refresh_once_under_concurrency,
    bad_states_are_refused_and_store_nothing,
    deactivating_drops_every_connection,
    activation_input_and_tenancy_are_checked,
    a_ciphertext_copied_to_another_row_does_not_decrypt,
    admin_app_commands_work_on_the_database,
);

/// Two gateways on one PostgreSQL database refresh a connection once between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_refresh_once_between_them() {
    let w = world(Backend::Postgres, Some(3600)).await;
    assert_eq!(w.activate().await.status, 201);
    w.connect().await;
    // Instances sharing a database share the master key.
    let key = std::fs::read_to_string(w.app.data_dir.join("master.key")).unwrap();
    let other = crate::helpers::spawn_on_database_with_clock(
        w.app.database_url.clone(),
        w.clock.clone(),
        |c| {
            c.bootstrap = false;
            c.public_url = Some(PUBLIC_URL.into());
            c.master_key = Some(secrecy::SecretString::from(key));
        },
    )
    .await;
    w.clock.advance(chrono::Duration::seconds(3560));
    let slug = w.github();
    let (pid, euid) = (w.app.platform_id, w.euid);
    let calls = (0..20).map(|i| {
        let broker = if i % 2 == 0 {
            &w.app.state.oauth
        } else {
            &other.state.oauth
        };
        broker.token(pid, euid, &slug)
    });
    let results = futures::future::join_all(calls).await;
    assert_eq!(
        w.provider.refresh_calls(),
        1,
        "one refresh across both instances"
    );
    let tokens: Vec<String> = results
        .into_iter()
        .map(|r| r.unwrap().access_token.expose_secret().to_owned())
        .collect();
    assert!(tokens.iter().all(|t| *t == tokens[0]));
    other.stop().await;
    w.app.stop().await;
}
