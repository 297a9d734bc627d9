//! The MCP endpoint driven by the official clients and the official conformance suite.
//!
//! - The Python SDK (`mcp`, tests/peers/python_client.py), once with its default
//!   negotiation (the current, stateless protocol revision) and once forced to the
//!   `initialize` handshake (a session-era revision with `Mcp-Session-Id`), and the
//!   TypeScript SDK (tests/peers/ts_client.mjs) list the tools, call `github_get_me`
//!   before and after the end user connects GitHub through the real OAuth flow, against
//!   a local stand-in of GitHub (token endpoint with PKCE, `GET /user`).
//! - `@modelcontextprotocol/conformance` runs its server suite on Node 22 through a
//!   header-injecting proxy (tests/peers/auth_proxy.mjs), once per scored protocol
//!   revision (`2026-07-28`, `2025-11-25`); scenarios and checks listed in
//!   tests/peers/conformance-expected-failures.txt may fail, any other failure of a
//!   scored scenario (or a listed one that now passes) fails the test.
//!
//! The peers are installed by `./scripts/test` (`.venv`, `tests/peers/node_modules`),
//! which exports `ASSISTIV_TEST_PYTHON` and `ASSISTIV_TEST_NODE22`; without them these
//! tests fail and say so.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use uuid::Uuid;

use crate::helpers::{ADMIN_TOKEN, Backend, TestApp, spawn_app};

pub const BASE_URL: &str = "https://acme.example/app";
const CLIENT_ID: &str = "Iv1.peer-client-id";
const CLIENT_SECRET: &str = "peer-client-secret-7Hq2Lm";
pub const GITHUB_LOGIN: &str = "octocat-assistiv";
const PEER_TIMEOUT: Duration = Duration::from_secs(90);

// ---------------------------------------------------------------------------------
// The peer tools
// ---------------------------------------------------------------------------------

pub struct Peers {
    pub python: PathBuf,
    pub node22: PathBuf,
    pub dir: PathBuf,
}

pub fn repo_path(path: &str) -> PathBuf {
    let path = PathBuf::from(path);
    if path.is_absolute() {
        path
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
    }
}

/// The installed peers; panics (never skips) when they are missing.
pub fn peers() -> Peers {
    let python = repo_path(
        &std::env::var("ASSISTIV_TEST_PYTHON").unwrap_or_else(|_| ".venv/bin/python".into()),
    );
    let node22 = repo_path(
        &std::env::var("ASSISTIV_TEST_NODE22")
            .unwrap_or_else(|_| "tests/peers/node_modules/node/bin/node".into()),
    );
    let dir = repo_path("tests/peers");
    let needed = [
        python.clone(),
        node22.clone(),
        dir.join("node_modules/@modelcontextprotocol/sdk/package.json"),
        dir.join("node_modules/@modelcontextprotocol/conformance/dist/index.js"),
    ];
    for path in needed {
        assert!(
            path.exists(),
            "{} is missing: the MCP peer clients (official Python and TypeScript SDKs, the \
             conformance suite, Node 22) are not installed. Run ./scripts/test, which installs \
             them into .venv and tests/peers/node_modules (or set ASSISTIV_TEST_PYTHON and \
             ASSISTIV_TEST_NODE22).",
            path.display()
        );
    }
    Peers {
        python,
        node22,
        dir,
    }
}

/// Runs a peer to completion; its stdout's last line, as JSON.
pub async fn run_peer(program: &Path, args: &[&str], key: &str, what: &str) -> Value {
    let started = std::time::Instant::now();
    let output = tokio::time::timeout(
        PEER_TIMEOUT,
        Command::new(program)
            .args(args)
            .env("ASSISTIV_MCP_KEY", key)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("{what} did not finish within {PEER_TIMEOUT:?}"))
    .unwrap_or_else(|e| panic!("cannot run {what} ({}): {e}", program.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        output.status
    );
    let last = stdout.lines().last().unwrap_or_default();
    let report: Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("{what} printed no JSON ({e}):\n{stdout}\n{stderr}"));
    eprintln!("{what}: {:?}", started.elapsed());
    report
}

/// The three official clients against one endpoint, concurrently:
/// `[python (auto), python (legacy session), typescript]`.
async fn all_clients(peers: &Peers, mcp_url: &str, key: &str, tool: &str) -> [Value; 3] {
    let script = peers.dir.join("python_client.py");
    let script = script.to_str().unwrap();
    let ts = peers.dir.join("ts_client.mjs");
    let ts = ts.to_str().unwrap();
    let auto_args = [script, mcp_url, "--mode", "auto", "--tool", tool];
    let legacy_args = [script, mcp_url, "--mode", "legacy", "--tool", tool];
    let ts_args = [ts, mcp_url, "--tool", tool];
    let (auto, legacy, typescript) = tokio::join!(
        run_peer(&peers.python, &auto_args, key, "python client (auto)"),
        run_peer(&peers.python, &legacy_args, key, "python client (legacy)"),
        run_peer(&peers.node22, &ts_args, key, "typescript client"),
    );
    [auto, legacy, typescript]
}

fn assert_protocols(reports: &[Value; 3]) {
    let [auto, legacy, typescript] = reports;
    // The SDK's default: `server/discover`, the stateless revision, no session.
    assert_eq!(auto["protocol_version"], "2026-07-28", "{auto}");
    assert_eq!(auto["session_ids"], json!([]), "{auto}");
    // Forced handshake: a session-era revision, with an Mcp-Session-Id.
    assert_eq!(legacy["protocol_version"], "2025-11-25", "{legacy}");
    assert_eq!(
        legacy["session_ids"].as_array().unwrap().len(),
        1,
        "{legacy}"
    );
    assert_eq!(typescript["protocol_version"], "2025-11-25", "{typescript}");
    assert_eq!(
        typescript["session_ids"].as_array().unwrap().len(),
        1,
        "{typescript}"
    );
    assert_eq!(typescript["server"]["name"], "assistiv", "{typescript}");
}

// ---------------------------------------------------------------------------------
// A stand-in of GitHub: authorize (consent), token endpoint, REST `GET /user`
// ---------------------------------------------------------------------------------

#[derive(Default)]
struct GitHubState {
    /// code -> (code_challenge, redirect_uri)
    codes: HashMap<String, (String, String)>,
    access_tokens: Vec<String>,
    user_calls: u32,
}

#[derive(Clone)]
pub struct GitHub {
    pub url: String,
    state: Arc<Mutex<GitHubState>>,
}

impl GitHub {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(GitHubState::default()));
        let router = Router::new()
            .route("/login/oauth/authorize", get(gh_authorize))
            .route("/login/oauth/access_token", post(gh_token))
            .route("/api/v3/user", get(gh_user))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { url, state }
    }

    fn user_calls(&self) -> u32 {
        self.state.lock().unwrap().user_calls
    }
}

fn gh_error(status: AxumStatus, message: &str) -> Response {
    (
        status,
        Json(json!({
            "message": message,
            "documentation_url": "https://docs.github.com/rest",
            "status": status.as_u16().to_string(),
        })),
    )
        .into_response()
}

/// The user consents at once: back to `redirect_uri` with a code bound to the PKCE
/// challenge (GitHub's web flow, step 2).
async fn gh_authorize(
    State(state): State<Arc<Mutex<GitHubState>>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let param = |name: &str| query.get(name).cloned().unwrap_or_default();
    if param("client_id") != CLIENT_ID
        || param("code_challenge_method") != "S256"
        || param("code_challenge").is_empty()
        || param("state").is_empty()
    {
        return gh_error(AxumStatus::BAD_REQUEST, "bad authorize request");
    }
    let code = Uuid::new_v4().simple().to_string();
    let redirect_uri = param("redirect_uri");
    state.lock().unwrap().codes.insert(
        code.clone(),
        (param("code_challenge"), redirect_uri.clone()),
    );
    let location = format!(
        "{redirect_uri}?code={code}&state={}",
        encode(&param("state"))
    );
    (AxumStatus::FOUND, [(header::LOCATION, location)]).into_response()
}

/// `POST /login/oauth/access_token`, answering GitHub's documented JSON (an expiring
/// user token with its refresh token).
async fn gh_token(
    State(state): State<Arc<Mutex<GitHubState>>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let refused = |error: &str, description: &str| {
        Json(json!({
            "error": error,
            "error_description": description,
            "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors",
        }))
        .into_response()
    };
    if headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) != Some("application/json") {
        return gh_error(AxumStatus::NOT_ACCEPTABLE, "send Accept: application/json");
    }
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    if field("client_id") != CLIENT_ID || field("client_secret") != CLIENT_SECRET {
        return refused(
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
        );
    }
    let mut state = state.lock().unwrap();
    let Some((challenge, redirect_uri)) = state.codes.remove(&field("code")) else {
        return refused(
            "bad_verification_code",
            "The code passed is incorrect or expired.",
        );
    };
    if field("redirect_uri") != redirect_uri {
        return refused(
            "redirect_uri_mismatch",
            "The redirect_uri MUST match the registered callback URL for this application.",
        );
    }
    let verifier = field("code_verifier");
    if verifier.is_empty()
        || URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != challenge
    {
        return refused(
            "bad_verification_code",
            "The code_verifier does not match the code_challenge.",
        );
    }
    let access_token = format!("ghu_{}", Uuid::new_v4().simple());
    state.access_tokens.push(access_token.clone());
    Json(json!({
        "access_token": access_token,
        "expires_in": 28800,
        "refresh_token": format!("ghr_{}", Uuid::new_v4().simple()),
        "refresh_token_expires_in": 15_811_200,
        "scope": "",
        "token_type": "bearer",
    }))
    .into_response()
}

/// `GET /user` with GitHub's documented body, for the token it issued only.
async fn gh_user(State(state): State<Arc<Mutex<GitHubState>>>, headers: HeaderMap) -> Response {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let mut state = state.lock().unwrap();
    if !state.access_tokens.contains(&presented) {
        return gh_error(AxumStatus::UNAUTHORIZED, "Bad credentials");
    }
    state.user_calls += 1;
    Json(json!({
        "login": GITHUB_LOGIN,
        "id": 583231,
        "node_id": "MDQ6VXNlcjU4MzIzMQ==",
        "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4",
        "gravatar_id": "",
        "url": format!("https://api.github.com/users/{GITHUB_LOGIN}"),
        "html_url": format!("https://github.com/{GITHUB_LOGIN}"),
        "type": "User",
        "site_admin": false,
        "name": "The Octocat",
        "company": "@github",
        "blog": "https://github.blog",
        "location": "San Francisco",
        "email": null,
        "hireable": null,
        "bio": null,
        "twitter_username": null,
        "public_repos": 8,
        "public_gists": 8,
        "followers": 9999,
        "following": 9,
        "created_at": "2011-01-25T18:44:36Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }))
    .into_response()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.replace('+', " ").into_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn query_of(url: &str) -> HashMap<String, String> {
    let (_, query) = url.split_once('?').unwrap_or((url, ""));
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

// ---------------------------------------------------------------------------------
// The world: a gateway with GitHub activated (endpoints at the stand-in), one end user
// ---------------------------------------------------------------------------------

pub struct World {
    pub app: TestApp,
    pub github: GitHub,
    pub eu_key: String,
}

pub async fn world(backend: Backend) -> World {
    let github = GitHub::start().await;
    let app = spawn_app(backend).await;
    let (_, eu_key) = app.create_end_user("mcp-peer-user").await;
    let activation = app
        .send(
            app.request(
                Method::PUT,
                &format!("/admin/v1/platforms/{}/apps/github", app.platform_id),
                Some(ADMIN_TOKEN),
            )
            .json(&json!({
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "base_url": BASE_URL,
                "authorize_url": format!("{}/login/oauth/authorize", github.url),
                "token_url": format!("{}/login/oauth/access_token", github.url),
                "api_base_url": format!("{}/api/v3", github.url),
            })),
        )
        .await;
    assert!(
        activation.status.is_success(),
        "activating GitHub: {} {}",
        activation.status,
        activation.body
    );
    World {
        app,
        github,
        eu_key,
    }
}

impl World {
    pub fn mcp_url(&self) -> String {
        self.app.url("/mcp")
    }

    /// The user connects GitHub through the real flow: connect, consent at the
    /// stand-in, the browser lands on the gateway's callback.
    async fn connect_github(&self) {
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let begun = self
            .app
            .post("/v1/me/apps/github/connect", &self.eu_key, &json!({}))
            .await;
        assert_eq!(begun.status, 200, "connect: {}", begun.body);
        let authorize_url = begun.data()["authorize_url"].as_str().unwrap().to_owned();
        assert!(
            authorize_url.starts_with(&format!("{}/login/oauth/authorize?", self.github.url)),
            "{authorize_url}"
        );
        let params = query_of(&authorize_url);
        let state = params.get("state").cloned().unwrap_or_default();
        assert!(!state.is_empty(), "{authorize_url}");
        assert!(
            params.get("code_challenge").is_some_and(|c| c.len() >= 43),
            "{authorize_url}"
        );
        assert_eq!(
            params.get("code_challenge_method").map(String::as_str),
            Some("S256")
        );
        assert_eq!(
            params.get("redirect_uri").map(String::as_str),
            Some(self.app.url("/oauth/callback").as_str())
        );

        // Consent: GitHub sends the browser back with a code and the same state.
        let consent = browser.get(&authorize_url).send().await.unwrap();
        assert_eq!(consent.status(), 302, "{}", consent.text().await.unwrap());
        let callback = consent.headers()[header::LOCATION.as_str()]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            callback.starts_with(&self.app.url("/oauth/callback?code=")),
            "{callback}"
        );
        let back = query_of(&callback);
        assert_eq!(back.get("state"), Some(&state));

        let landed = browser.get(&callback).send().await.unwrap();
        let status = landed.status();
        let location = landed
            .headers()
            .get(header::LOCATION.as_str())
            .map(|v| v.to_str().unwrap().to_owned());
        let body = landed.text().await.unwrap();
        assert_eq!(status, 302, "callback: {body}");
        let location = location.unwrap();
        assert!(location.starts_with(BASE_URL), "{location}");
        let landing = query_of(&location);
        assert_eq!(
            landing.get("status").map(String::as_str),
            Some("connected"),
            "{location}"
        );
        assert_eq!(landing.get("app").map(String::as_str), Some("github"));
    }
}

// ---------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------

async fn official_clients_call_tools_before_and_after_connecting(backend: Backend) {
    let peers = peers();
    let w = world(backend).await;
    let mcp_url = w.mcp_url();

    // (a) Not connected yet: every client sees the app's tools, and the call is a
    // readable tool error carrying the connect link.
    let reports = all_clients(&peers, &mcp_url, &w.eu_key, "github_get_me").await;
    assert_protocols(&reports);
    for report in &reports {
        let tools: Vec<&str> = report["tools"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for expected in [
            "github_get_me",
            "github_create_issue",
            "github_get_repository",
        ] {
            assert!(tools.contains(&expected), "{expected} missing: {report}");
        }
        let call = &report["call"];
        assert_eq!(call["isError"], true, "{report}");
        assert_eq!(
            call["structuredContent"]["code"], "not_connected",
            "{report}"
        );
        assert_eq!(call["structuredContent"]["app"], "github", "{report}");
        let connect_url = call["structuredContent"]["connect_url"]
            .as_str()
            .unwrap_or_default();
        assert!(
            connect_url.starts_with(&w.app.url("/oauth/start?t=")),
            "{report}"
        );
        assert!(!connect_url.contains(&w.eu_key), "{report}");
    }
    assert_eq!(w.github.user_calls(), 0);

    // (b) The user connects GitHub (state + PKCE, code exchange at the stand-in).
    w.connect_github().await;

    // (c) The same call now runs as the user, with the token the stand-in issued.
    let reports = all_clients(&peers, &mcp_url, &w.eu_key, "github_get_me").await;
    assert_protocols(&reports);
    for report in &reports {
        let call = &report["call"];
        assert_eq!(call["isError"], false, "{report}");
        assert_eq!(call["structuredContent"]["login"], GITHUB_LOGIN, "{report}");
        assert_eq!(call["structuredContent"]["id"], 583231, "{report}");
        assert!(
            call["text"][0]
                .as_str()
                .is_some_and(|t| t.contains(GITHUB_LOGIN)),
            "{report}"
        );
    }
    // One `GET /user` at connect time (the connection's account), one per client.
    assert_eq!(w.github.user_calls(), 1 + 3);
}

fn initialize_body() -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "assistiv-test", "version": "1.0.0"},
        },
    })
}

async fn mcp_endpoint_refuses_wrong_callers_and_foreign_hosts(backend: Backend) {
    let w = world(backend).await;
    let app = &w.app;
    let initialize = |key: Option<&str>| {
        app.request(Method::POST, "/mcp", key)
            .header("accept", "application/json, text/event-stream")
            .json(&initialize_body())
    };

    // The end user's key: accepted (the control for the refusals below).
    let ok = initialize(Some(&w.eu_key)).send().await.unwrap();
    assert_eq!(ok.status(), 200, "{}", ok.text().await.unwrap());

    // No key: 401 with a Bearer challenge.
    let missing = app.send(initialize(None)).await;
    assert_jsonrpc_refusal(&missing, 401, -32001, "unauthorized");
    assert!(
        missing
            .headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Bearer")),
        "{:?}",
        missing.headers
    );

    // A platform key is not an end user: 403.
    let platform = app.send(initialize(Some(&app.platform_key))).await;
    assert_jsonrpc_refusal(&platform, 403, -32003, "forbidden");

    // DNS rebinding: a foreign Host, or a foreign browser Origin, even with a good key.
    let host = app
        .send(initialize(Some(&w.eu_key)).header("host", "evil.example"))
        .await;
    assert_eq!(host.status, 403, "{}", host.body);
    let origin = app
        .send(initialize(Some(&w.eu_key)).header("origin", "https://evil.example"))
        .await;
    assert_eq!(origin.status, 403, "{}", origin.body);
    // A loopback browser origin is fine.
    let local = initialize(Some(&w.eu_key))
        .header("origin", "http://localhost:5173")
        .send()
        .await
        .unwrap();
    assert_eq!(local.status(), 200, "{}", local.text().await.unwrap());
}

/// The protocol revisions the suite scores, each run at its own wire: the
/// stateless `2026-07-28` (per-request `_meta`, `server/discover`) and the
/// session era's last, `2025-11-25` (the `initialize` handshake).
const CONFORMANCE_REVISIONS: [&str; 2] = ["2026-07-28", "2025-11-25"];

/// Scenarios a requirement set runs without scoring them that the gateway
/// passes and must keep passing: its sessions (`server-session-lifecycle`),
/// SSE resumption (`server-sse-polling`) and the 2026 header checks
/// (`http-header-validation`, SEP-2243) are its own behaviour, not fixtures'.
const UNSCORED_BUT_PASSING: [&str; 3] = [
    "server-session-lifecycle",
    "server-sse-polling",
    "http-header-validation",
];

/// The entries of tests/peers/conformance-expected-failures.txt, one a line:
/// `scenario: why` (the whole scenario may fail) or `scenario:check-id: why`
/// (only that check may fail, in the suite's own notation); key
/// `(scenario, check)`.
fn expected_failures(dir: &Path) -> BTreeMap<(String, Option<String>), String> {
    let path = dir.join("conformance-expected-failures.txt");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (target, why) = line.split_once(": ").unwrap_or_else(|| {
                panic!(
                    "{}: `{line}` is not `scenario: why` or `scenario:check-id: why`",
                    path.display()
                )
            });
            assert!(!why.trim().is_empty(), "{line}: say why it fails");
            let key = match target.trim().split_once(':') {
                Some((scenario, check)) => (scenario.to_owned(), Some(check.to_owned())),
                None => (target.trim().to_owned(), None),
            };
            (key, why.trim().to_owned())
        })
        .collect()
}

/// The server scenarios a revision scores: the `server:` list of the suite's
/// frozen `requirements/<revision>.yaml` (what runs besides them, `not_scored`,
/// is reported and never decides conformance).
fn scored_scenarios(dir: &Path, revision: &str) -> BTreeSet<String> {
    let path = dir.join(format!(
        "node_modules/@modelcontextprotocol/conformance/requirements/{revision}.yaml"
    ));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let scored: BTreeSet<String> = text
        .lines()
        .skip_while(|line| *line != "server:")
        .skip(1)
        .take_while(|line| !line.starts_with(|c: char| c.is_ascii_alphabetic()))
        .filter_map(|line| line.trim().strip_prefix("- "))
        .map(|name| name.trim().to_owned())
        .collect();
    assert!(
        !scored.is_empty(),
        "{}: no server scenarios",
        path.display()
    );
    scored
}

/// One check of a scenario: its id, status (`SUCCESS`, `FAILURE`, `WARNING`,
/// `SKIPPED`, `INFO`) and error message.
pub struct Check {
    pub id: String,
    pub status: String,
    pub message: String,
}

/// Scenario name -> its checks, from the suite's
/// `<out>/server-<scenario>-<timestamp>/checks.json`.
pub fn conformance_results(out: &Path) -> BTreeMap<String, Vec<Check>> {
    let mut results = BTreeMap::new();
    for entry in std::fs::read_dir(out).unwrap() {
        let entry = entry.unwrap();
        let dir_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = dir_name.strip_prefix("server-") else {
            continue;
        };
        // `<scenario>-2026-11-22T06-51-49-746Z`: the timestamp is the last 6 fields.
        let scenario = rest.rsplitn(7, '-').last().unwrap().to_owned();
        let checks: Value = serde_json::from_str(
            &std::fs::read_to_string(entry.path().join("checks.json")).unwrap(),
        )
        .unwrap();
        let checks = checks
            .as_array()
            .unwrap()
            .iter()
            .map(|c| Check {
                id: c["id"].as_str().unwrap_or_default().to_owned(),
                status: c["status"].as_str().unwrap_or_default().to_owned(),
                message: c["errorMessage"].as_str().unwrap_or_default().to_owned(),
            })
            .collect();
        results.insert(scenario, checks);
    }
    results
}

/// One revision's run of the suite (`server --requirements <revision>`) through
/// the proxy: scenario -> checks, and the suite's output.
async fn run_conformance(
    peers: &Peers,
    url: &str,
    revision: &str,
) -> (BTreeMap<String, Vec<Check>>, String) {
    let out = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let run = tokio::time::timeout(
        Duration::from_secs(180),
        Command::new(&peers.node22)
            .arg(
                peers
                    .dir
                    .join("node_modules/@modelcontextprotocol/conformance/dist/index.js"),
            )
            .args(["server", "--url", url, "--requirements", revision])
            .arg("--output-dir")
            .arg(out.path())
            .current_dir(&peers.dir)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("the conformance suite ({revision}) did not finish within 180 s"))
    .expect("run the conformance suite");
    eprintln!("conformance suite {revision}: {:?}", started.elapsed());
    let log = format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    (conformance_results(out.path()), log)
}

/// A scenario's verdict against the expected failures: its failures nothing
/// excuses, and the entries it no longer needs.
fn judge(
    scenario: &str,
    checks: &[Check],
    expected: &BTreeMap<(String, Option<String>), String>,
) -> (Vec<String>, Vec<String>) {
    let failed = |c: &&Check| c.status == "FAILURE";
    if expected.contains_key(&(scenario.to_owned(), None)) {
        let stale = (!checks.iter().any(|c| failed(&c))).then(|| scenario.to_owned());
        return (Vec::new(), stale.into_iter().collect());
    }
    let excused: BTreeSet<&str> = expected
        .keys()
        .filter(|(s, _)| s == scenario)
        .filter_map(|(_, check)| check.as_deref())
        .collect();
    let unexpected = checks
        .iter()
        .filter(failed)
        .filter(|c| !excused.contains(c.id.as_str()))
        .map(|c| format!("{scenario}:{}: {}", c.id, c.message))
        .collect();
    // A listed check that ran and passed is stale; one absent or skipped is
    // tolerated (a scenario stops at a failed prerequisite).
    let stale = excused
        .iter()
        .filter(|id| {
            let runs: Vec<&Check> = checks.iter().filter(|c| c.id == **id).collect();
            !runs.is_empty() && runs.iter().all(|c| c.status == "SUCCESS")
        })
        .map(|id| format!("{scenario}:{id}"))
        .collect();
    (unexpected, stale)
}

/// The auth proxy (tests/peers/auth_proxy.mjs) in front of the gateway at
/// `address`, adding `key` as the bearer token: the child and the URL of `path`
/// through it.
pub async fn start_auth_proxy(
    peers: &Peers,
    address: &str,
    key: &str,
    path: &str,
) -> (tokio::process::Child, String) {
    let mut proxy = Command::new(&peers.node22)
        .arg(peers.dir.join("auth_proxy.mjs"))
        .arg(address)
        .env("ASSISTIV_MCP_KEY", key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the auth proxy");
    let mut lines = BufReader::new(proxy.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the auth proxy did not start")
        .unwrap()
        .unwrap_or_default();
    let port: u16 = first
        .strip_prefix("listening ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected auth proxy output: {first}"));
    (proxy, format!("http://127.0.0.1:{port}{path}"))
}

async fn conformance_suite_passes_but_for_fixture_scenarios(backend: Backend) {
    let peers = peers();
    let w = world(backend).await;

    // The suite cannot send a bearer token: a proxy adds the end user's.
    let (mut proxy, url) = start_auth_proxy(&peers, &w.app.address, &w.eu_key, "/mcp").await;

    let expected = expected_failures(&peers.dir);
    let mut scored_somewhere = BTreeSet::new();
    let mut ran = BTreeSet::new();
    let mut problems = Vec::new();
    let mut summary = Vec::new();
    for revision in CONFORMANCE_REVISIONS {
        let scored = scored_scenarios(&peers.dir, revision);
        let (results, log) = run_conformance(&peers, &url, revision).await;
        let mut not_run = Vec::new();
        let mut unexpected = Vec::new();
        let mut stale = Vec::new();
        let mut passed = 0;
        for scenario in &scored {
            let Some(checks) = results.get(scenario) else {
                not_run.push(scenario.clone());
                continue;
            };
            let (failures, no_longer) = judge(scenario, checks, &expected);
            unexpected.extend(failures);
            stale.extend(no_longer);
            passed += usize::from(!checks.iter().any(|c| c.status == "FAILURE"));
        }
        let mut unscored = Vec::new();
        for (scenario, checks) in results.iter().filter(|(s, _)| !scored.contains(*s)) {
            let failures: Vec<String> = checks
                .iter()
                .filter(|c| c.status == "FAILURE")
                .map(|c| format!("{scenario}:{}: {}", c.id, c.message))
                .collect();
            unscored.push(format!(
                "{scenario} {}",
                if failures.is_empty() {
                    "passed"
                } else {
                    "failed"
                }
            ));
            if UNSCORED_BUT_PASSING.contains(&scenario.as_str()) {
                unexpected.extend(failures);
            }
        }
        ran.extend(results.keys().cloned());
        scored_somewhere.extend(scored.iter().cloned());
        if !(not_run.is_empty() && unexpected.is_empty() && stale.is_empty()) {
            problems.push(format!(
                "{revision}: scored but not run {not_run:?}; unexpected failures \
                 {unexpected:#?}; passing now, remove them from \
                 conformance-expected-failures.txt: {stale:?}\n{log}"
            ));
        }
        summary.push(format!(
            "{revision}: {passed} of {} scored scenarios passed, {} expected failures; \
             not scored: {unscored:?}",
            scored.len(),
            scored.len() - passed
        ));
    }
    drop(proxy.stdin.take());
    let _ = proxy.kill().await;

    let unknown: Vec<&(String, Option<String>)> = expected
        .keys()
        .filter(|(scenario, _)| !scored_somewhere.contains(scenario))
        .collect();
    let unseen: Vec<&str> = UNSCORED_BUT_PASSING
        .into_iter()
        .filter(|s| !ran.contains(*s))
        .collect();
    assert!(
        problems.is_empty() && unknown.is_empty() && unseen.is_empty(),
        "conformance: listed in conformance-expected-failures.txt but scored by no \
         revision: {unknown:?}; to keep passing but not run: {unseen:?}\n{}",
        problems.join("\n")
    );
    eprintln!("conformance:\n{}", summary.join("\n"));
}

both_backends!(
    official_clients_call_tools_before_and_after_connecting,
    mcp_endpoint_refuses_wrong_callers_and_foreign_hosts,
    conformance_suite_passes_but_for_fixture_scenarios,
);

/// A refusal before the MCP session in the shape MCP clients display: a
/// JSON-RPC error (its message shown by the SDKs) with the REST status, and the
/// gateway's code and request id in `data`.
fn assert_jsonrpc_refusal(reply: &crate::helpers::Reply, status: u16, code: i64, ours: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    assert_eq!(reply.body["jsonrpc"], "2.0", "{}", reply.body);
    assert!(reply.body["id"].is_null(), "{}", reply.body);
    let error = &reply.body["error"];
    assert_eq!(error["code"], code, "{}", reply.body);
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(error["data"]["code"], ours, "{}", reply.body);
    assert_eq!(
        reply
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        error["data"]["request_id"].as_str(),
    );
}
