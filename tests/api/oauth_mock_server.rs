//! The consent flow against a real OAuth server: the npm `oauth2-mock-server`
//! plays GitHub's authorization server (its `/authorize` approves and redirects,
//! its `/token` checks the PKCE verifier and issues a signed JWT), and a local
//! GitHub API stand-in accepts only the token that server issued to this user.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::http::HeaderMap;
use axum::routing::get;
use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, Backend, spawn_app};
use crate::mcp::McpSession;

pub struct MockServer {
    child: Child,
    pub url: String,
}

impl Drop for MockServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn repo(path: &str) -> PathBuf {
    let path = PathBuf::from(path);
    if path.is_absolute() {
        path
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
    }
}

/// Starts `oauth2-mock-server` on a free loopback port, through
/// `tests/peers/oauth2_provider.mjs`, which binds each code to the client it was
/// issued to.
pub fn oauth2_mock_server() -> MockServer {
    let node = repo(
        &std::env::var("ASSISTIV_TEST_NODE22")
            .unwrap_or_else(|_| "tests/peers/node_modules/node/bin/node".into()),
    );
    let script = repo("tests/peers/oauth2_provider.mjs");
    let module = repo("tests/peers/node_modules/oauth2-mock-server/dist/index.mjs");
    assert!(
        node.exists() && module.exists(),
        "oauth2-mock-server or Node 22 is missing: run ./scripts/test, which installs tests/peers"
    );
    let mut child = Command::new(node)
        .arg(script)
        .args(["-a", "127.0.0.1", "-p", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start oauth2-mock-server");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("oauth2-mock-server exited")
            .expect("read");
        if let Some(at) = line.find("http://127.0.0.1:") {
            break line[at..]
                .split_whitespace()
                .next()
                .unwrap()
                .trim_end_matches('/')
                .to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    MockServer { child, url }
}

/// GitHub's `GET /user`, for the bearer token it was told to accept.
pub async fn github_api(accepted: Arc<Mutex<Option<String>>>) -> String {
    let router = axum::Router::new().route(
        "/user",
        get(move |headers: HeaderMap| {
            let accepted = accepted.clone();
            async move {
                let presented = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .map(str::to_owned);
                let expected = accepted.lock().unwrap().clone();
                if presented.is_none() || presented != expected {
                    return (axum::http::StatusCode::UNAUTHORIZED, Json(json!({"message": "Bad credentials"})));
                }
                (axum::http::StatusCode::OK, Json(json!({"login": "mock-octocat", "id": 7, "name": "Mock Octocat", "type": "User"})))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

async fn consent_against_oauth2_mock_server(backend: Backend) {
    let mock = oauth2_mock_server();
    let accepted = Arc::new(Mutex::new(None));
    let api = github_api(accepted.clone()).await;
    let app = spawn_app(backend).await;
    let (euid, key) = app.create_end_user("mock-user").await;
    let activated = app
        .send(
            app.request(reqwest::Method::PUT, &format!("/admin/v1/platforms/{}/apps/github", app.platform_id), Some(ADMIN_TOKEN))
                .json(&json!({"client_id": "assistiv-test", "client_secret": "mock-secret", "base_url": "https://platform.example",
                    "authorize_url": format!("{}/authorize", mock.url), "token_url": format!("{}/token", mock.url),
                    "api_base_url": api})),
        )
        .await;
    assert!(activated.status.is_success(), "{}", activated.body);

    let mut mcp = McpSession::open(&app, "/mcp", &key).await;
    let before = mcp.call("github_get_me", json!({})).await;
    assert_eq!(
        before["result"]["structuredContent"]["code"], "not_connected",
        "{before}"
    );

    // The browser: authorize at the real OAuth server, which redirects back to us.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let connect = app
        .post("/v1/me/apps/github/connect", &key, &json!({}))
        .await;
    let authorize_url = connect.data()["authorize_url"].as_str().unwrap().to_owned();
    assert!(
        authorize_url.contains("code_challenge_method=S256"),
        "{authorize_url}"
    );
    let at_provider = browser.get(&authorize_url).send().await.unwrap();
    assert_eq!(at_provider.status(), 302);
    let callback = at_provider.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        callback.starts_with(&format!("{}/oauth/callback?", app.address)),
        "{callback}"
    );
    // An open-redirect attempt: extra destinations on the callback are ignored;
    // the browser only ever goes to the activation's base URL.
    let hijack = format!(
        "{callback}&redirect_uri=https%3A%2F%2Fevil.example&next=https%3A%2F%2Fevil.example"
    );
    let landed = browser.get(&hijack).send().await.unwrap();
    assert_eq!(landed.status(), 302);
    assert_eq!(
        landed.headers()["location"].to_str().unwrap(),
        "https://platform.example/mcp/oauth-callback?app=github&status=connected"
    );
    // Replaying the callback is refused.
    let replay = browser.get(&callback).send().await.unwrap();
    assert!(
        replay.headers()["location"]
            .to_str()
            .unwrap()
            .contains("status=error")
    );

    // The stored token is the mock server's signed JWT; the API accepts only it.
    let slug = assistiv::apps::AppSlug::parse(&app.state.apps, "github").unwrap();
    let token = match app.state.oauth.token(app.platform_id, euid, &slug).await {
        Ok(token) => token,
        Err(_) => panic!("connected user has a token"),
    };
    let raw = secrecy::ExposeSecret::expose_secret(&token.access_token).to_owned();
    // The mock names itself `localhost` in its issuer.
    let port = mock.url.rsplit(':').next().unwrap();
    assert_eq!(jwt_claims(&raw)["iss"], format!("http://localhost:{port}"));
    *accepted.lock().unwrap() = Some(raw);
    let after = mcp.call("github_get_me", json!({})).await;
    assert_eq!(after["result"]["isError"], false, "{after}");
    assert_eq!(
        after["result"]["structuredContent"]["login"],
        "mock-octocat"
    );

    // Another platform's user, same app, same provider: never this user's token.
    let (other, other_key) = app.create_platform("other-platform").await;
    let activated = app
        .send(
            app.request(reqwest::Method::PUT, &format!("/admin/v1/platforms/{other}/apps/github"), Some(ADMIN_TOKEN))
                .json(&json!({"client_id": "other-client", "client_secret": "other-secret", "base_url": "https://other.example",
                    "authorize_url": format!("{}/authorize", mock.url), "token_url": format!("{}/token", mock.url),
                    "api_base_url": api})),
        )
        .await;
    assert!(activated.status.is_success(), "{}", activated.body);
    let (_, stranger_key) = app.create_end_user_on(other, &other_key, "mock-user").await;
    let mut stranger = McpSession::open(&app, "/mcp", &stranger_key).await;
    let theirs = stranger.call("github_get_me", json!({})).await;
    assert_eq!(
        theirs["result"]["structuredContent"]["code"], "not_connected",
        "{theirs}"
    );
    app.stop().await;
}

/// Activates GitHub for `platform` against the mock provider.
async fn activate_github(
    app: &crate::helpers::TestApp,
    platform: uuid::Uuid,
    client_id: &str,
    base_url: &str,
    mock: &MockServer,
    api: &str,
) {
    let activated = app
        .send(
            app.request(reqwest::Method::PUT, &format!("/admin/v1/platforms/{platform}/apps/github"), Some(ADMIN_TOKEN))
                .json(&json!({"client_id": client_id, "client_secret": format!("{client_id}-secret"), "base_url": base_url,
                    "authorize_url": format!("{}/authorize", mock.url), "token_url": format!("{}/token", mock.url),
                    "api_base_url": api})),
        )
        .await;
    assert!(activated.status.is_success(), "{}", activated.body);
}

/// A code the provider issued to another client (platform B's activation of the same
/// app) delivered to platform A's callback with A's state: the provider refuses it for
/// A's client, so the browser lands on A's error page, nothing is stored and the state
/// is spent. The attacker keeps A's PKCE challenge, so only the client binding refuses.
async fn a_code_issued_to_another_client_is_refused(backend: Backend) {
    let mock = oauth2_mock_server();
    let api = github_api(Arc::new(Mutex::new(None))).await;
    let app = spawn_app(backend).await;
    let (euid, key) = app.create_end_user("victim").await;
    activate_github(
        &app,
        app.platform_id,
        "client-a",
        "https://a.example",
        &mock,
        &api,
    )
    .await;
    let (other, _) = app.create_platform("platform-b").await;
    activate_github(&app, other, "client-b", "https://b.example", &mock, &api).await;

    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let connect = app
        .post("/v1/me/apps/github/connect", &key, &json!({}))
        .await;
    let authorize_url = connect.data()["authorize_url"].as_str().unwrap().to_owned();
    let mut url = reqwest::Url::parse(&authorize_url).unwrap();
    let swapped: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "client_id" {
                "client-b".into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    assert!(
        swapped
            .iter()
            .any(|(k, v)| k == "client_id" && v == "client-b")
    );
    url.query_pairs_mut().clear().extend_pairs(&swapped);
    let at_provider = browser.get(url.as_str()).send().await.unwrap();
    assert_eq!(at_provider.status(), 302);
    let callback = at_provider.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(callback.starts_with(&format!("{}/oauth/callback?", app.address)));

    let landed = browser.get(&callback).send().await.unwrap();
    assert_eq!(landed.status(), 302);
    assert_eq!(
        landed.headers()["location"].to_str().unwrap(),
        "https://a.example/mcp/oauth-callback?app=github&status=error&error=token_exchange_failed"
    );
    // Nothing stored.
    let slug = assistiv::apps::AppSlug::parse(&app.state.apps, "github").unwrap();
    assert!(
        app.state
            .oauth
            .token(app.platform_id, euid, &slug)
            .await
            .is_err()
    );
    let mine = app.get("/v1/me/apps", &key).await;
    let github = mine
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["app"] == "github")
        .unwrap()
        .clone();
    assert_eq!(github["connected"], false, "{github}");
    // The state is spent: the same callback again is a replay.
    let replay = browser.get(&callback).send().await.unwrap();
    assert_eq!(
        replay.headers()["location"].to_str().unwrap(),
        "https://a.example/mcp/oauth-callback?app=github&status=error&error=state_used"
    );
    assert!(
        app.state
            .oauth
            .token(app.platform_id, euid, &slug)
            .await
            .is_err()
    );

    // The honest flow through client A still connects (the binding refuses only theft).
    let connect = app
        .post("/v1/me/apps/github/connect", &key, &json!({}))
        .await;
    let authorize_url = connect.data()["authorize_url"].as_str().unwrap().to_owned();
    let at_provider = browser.get(&authorize_url).send().await.unwrap();
    let callback = at_provider.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let landed = browser.get(&callback).send().await.unwrap();
    assert_eq!(
        landed.headers()["location"].to_str().unwrap(),
        "https://a.example/mcp/oauth-callback?app=github&status=connected"
    );
    assert!(
        app.state
            .oauth
            .token(app.platform_id, euid, &slug)
            .await
            .is_ok()
    );
    app.stop().await;
}

both_backends!(
    consent_against_oauth2_mock_server,
    a_code_issued_to_another_client_is_refused
);
