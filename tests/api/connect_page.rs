//! The hosted connect page: links minted by the platform, single use, short-lived; a
//! session cookie and a CSRF token per page; and the whole flow in a real headless
//! Chromium (Debian's `chromium`, driven by `playwright-core`): open the link, click
//! Connect for Slack, complete the OAuth flow against oauth2-mock-server, see
//! "connected", then the user's MCP tool list has the Slack tools.

use std::process::Command;

use assistiv::billing::clock::ManualClock;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app_with_clock};
use crate::mcp::{McpSession, activate_github};
use crate::oauth_mock_server::repo;
use crate::slack_app::{SLACK_TOOLS, SlackStandIn};

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn mint(app: &TestApp, euid: uuid::Uuid, key: &str) -> crate::helpers::Reply {
    app.post(
        &format!(
            "/v1/platforms/{}/end-users/{euid}/connect-links",
            app.platform_id
        ),
        key,
        &json!({}),
    )
    .await
}

fn cookie_of(response: &reqwest::Response) -> String {
    let set = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/connect"),
        "{set}"
    );
    set.split(';').next().unwrap().to_owned()
}

async fn links_are_single_use_short_lived_and_csrf_safe(backend: Backend) {
    let clock = ManualClock::new(chrono::Utc::now());
    let app = spawn_app_with_clock(backend, clock.clone(), |_| {}).await;
    activate_github(&app, app.platform_id).await;
    let (euid, eu_key) = app.create_end_user("page-user").await;

    // Only the platform's key mints, only for its own users.
    mint(&app, euid, &eu_key)
        .await
        .assert_error(403, "forbidden");
    let (_, other_key) = app.create_platform("other").await;
    mint(&app, euid, &other_key)
        .await
        .assert_error(404, "not_found");
    mint(&app, uuid::Uuid::now_v7(), &app.platform_key.clone())
        .await
        .assert_error(404, "not_found");
    let minted = mint(&app, euid, &app.platform_key.clone()).await;
    assert_eq!(minted.status, 201, "{}", minted.body);
    let link = minted.data()["url"].as_str().unwrap().to_owned();
    assert!(link.starts_with(&format!("{}/connect?t=", app.address)));
    assert!(!link.contains("sk-"));

    // First use: a cookie and a redirect that drops the token from the URL.
    let opened = browser().get(&link).send().await.unwrap();
    assert_eq!(opened.status(), StatusCode::SEE_OTHER);
    assert_eq!(opened.headers()["location"], "/connect");
    let cookie = cookie_of(&opened);
    // Second use: refused.
    let again = browser().get(&link).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    assert!(again.text().await.unwrap().contains("expired"));

    let page = browser()
        .get(app.url("/connect"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    let html = page.text().await.unwrap();
    assert!(
        html.contains("data-app=\"github\" data-status=\"not_connected\""),
        "{html}"
    );
    assert!(html.contains("name=\"viewport\""));
    assert!(!html.contains("<script"));
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();

    // A form post without the page's token (a cross-site forgery) is refused; with it,
    // the flow starts at the provider.
    let forged = browser()
        .post(app.url("/connect/apps/github/connect"))
        .header("cookie", &cookie)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let no_cookie = browser()
        .post(app.url("/connect/apps/github/connect"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(no_cookie.status(), StatusCode::UNAUTHORIZED);
    let started = browser()
        .post(app.url("/connect/apps/github/connect"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    assert!(
        started.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("https://github.com/login/oauth/authorize?")
    );

    // Links wait 15 minutes at most; sessions last 30.
    let late = mint(&app, euid, &app.platform_key.clone()).await;
    clock.advance(chrono::Duration::minutes(16));
    let refused = browser()
        .get(late.data()["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    clock.advance(chrono::Duration::minutes(15));
    let stale = browser()
        .get(app.url("/connect"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

/// Runs tests/peers/connect_page.mjs; its JSON report.
fn drive_chromium(link: &str, screenshot: &std::path::Path) -> Value {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "Chromium is missing at {chromium}: run ./scripts/test, which installs Debian's package"
    );
    let node = repo(
        &std::env::var("ASSISTIV_TEST_NODE22")
            .unwrap_or_else(|_| "tests/peers/node_modules/node/bin/node".into()),
    );
    let output = Command::new(node)
        .arg(repo("tests/peers/connect_page.mjs"))
        .arg(link)
        .arg(screenshot)
        .current_dir(repo("tests/peers"))
        .env("CHROMIUM", &chromium)
        .output()
        .expect("run the Chromium driver");
    assert!(
        output.status.success(),
        "connect_page.mjs failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("unreadable report {stdout}: {e}"))
}

async fn connect_slack_in_chromium(backend: Backend) {
    let slack = SlackStandIn::start().await;
    let app = spawn_app_with_clock(backend, ManualClock::new(chrono::Utc::now()), |_| {}).await;
    slack.activate(&app).await;
    activate_github(&app, app.platform_id).await;
    let (euid, key) = app.create_end_user("chromium-user").await;
    let link = mint(&app, euid, &app.platform_key.clone()).await;
    let link = link.data()["url"].as_str().unwrap().to_owned();

    let dir = tempfile::tempdir().unwrap();
    let shot = match std::env::var("ASSISTIV_SCREENSHOT_DIR") {
        Ok(dir) => std::path::PathBuf::from(dir).join("connect-page.png"),
        Err(_) => dir.path().join("connect-page.png"),
    };
    let link_for_browser = link.clone();
    let report = tokio::task::spawn_blocking(move || drive_chromium(&link_for_browser, &shot))
        .await
        .unwrap();
    assert_eq!(report["before"], "not_connected", "{report}");
    assert!(
        report["landedAt"].as_str().unwrap().ends_with("/connect"),
        "{report}"
    );
    assert_eq!(report["after"], "connected", "{report}");
    assert_eq!(report["state"], "Connected as Slack Softworks", "{report}");
    assert_eq!(report["banner"], "Slack is connected.", "{report}");
    assert_eq!(report["overflows"], false, "the page fits a phone's width");

    // The user's agent now sees, and can use, the Slack tools.
    let mut mcp = McpSession::open(&app, "/mcp", &key).await;
    let names = mcp.tool_names().await;
    for tool in SLACK_TOOLS {
        assert!(
            names.iter().any(|n| n == tool),
            "{tool} missing from {names:?}"
        );
    }
    let listed = mcp.call("slack_list_channels", json!({})).await;
    assert_eq!(listed["result"]["isError"], false, "{listed}");
    let mine = app.get("/v1/me/apps", &key).await;
    let slack_row = mine
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["app"] == "slack")
        .unwrap()
        .clone();
    assert_eq!(slack_row["connected"], true);
    app.stop().await;
}

both_backends!(
    links_are_single_use_short_lived_and_csrf_safe,
    connect_slack_in_chromium
);
