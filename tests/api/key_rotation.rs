//! Master-key rotation end to end: secrets sealed under an old key (an app's client
//! secret, a user's OAuth tokens, a pending state's PKCE verifier, a skill blob on
//! disk), then `assistiv admin master-key rotate` under a new key with the old one as
//! previous, then a restart with only the new key: everything still opens, a tool
//! call works, a pending connect completes, and nothing is plaintext or under the
//! old key.

use std::process::Command;
use std::sync::{Arc, Mutex};

use assistiv::oauth::vault::key_id;
use assistiv::sealing::columns::SEALED_COLUMNS;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, Backend, TestApp, spawn_app_with};
use crate::mcp::McpSession;
use crate::oauth::dump_database;
use crate::oauth_mock_server::{github_api, oauth2_mock_server};
use crate::skill_zips::{enable_skills, skill_md, upload, zip};
use crate::skills::tool_result;

const OLD: [u8; 32] = [11; 32];
const NEW: [u8; 32] = [22; 32];
const CLIENT_SECRET: &str = "rotation-client-secret-Zq81";
const CAPABILITY_SECRET: &str = "capability-secret-Vt42";
const LLM_KEY: &str = "sk-llm-rotation-Qp07";

fn rotate(app: &TestApp) -> Value {
    let output = rotate_with_previous(app, OLD);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON report")
}

fn rotate_with_previous(app: &TestApp, previous: [u8; 32]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_assistiv"));
    for (name, _) in std::env::vars() {
        if name.starts_with("ASSISTIV_") || name == "DATABASE_URL" {
            command.env_remove(name);
        }
    }
    command
        .args([
            "admin",
            "master-key",
            "rotate",
            "--batch-size",
            "1",
            "--json",
        ])
        .args(["--data-dir", &app.data_dir.display().to_string()])
        .env("ASSISTIV_MASTER_KEY", STANDARD.encode(NEW))
        .env("ASSISTIV_PREVIOUS_MASTER_KEYS", STANDARD.encode(previous));
    if let Some(url) = &app.database_url {
        command.args(["--database-url", url]);
    }
    command.output().expect("assistiv runs")
}

fn resealed(report: &Value, column: &str) -> u64 {
    report["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["column"] == column)
        .unwrap_or_else(|| panic!("{column} in {report}"))["resealed"]
        .as_u64()
        .unwrap()
}

/// Every non-null sealed value in the database.
async fn sealed_values(app: &TestApp) -> Vec<Vec<u8>> {
    let mut values = Vec::new();
    for column in SEALED_COLUMNS {
        let rows: Vec<(Vec<u8>,)> = app
            .state
            .db
            .fetch_all(
                &format!(
                    "SELECT {c} FROM {t} WHERE {c} IS NOT NULL",
                    c = column.column,
                    t = column.table
                ),
                &[],
            )
            .await
            .unwrap();
        values.extend(rows.into_iter().map(|(v,)| v));
    }
    values
}

fn key(bytes: [u8; 32]) -> Option<SecretString> {
    Some(SecretString::from(STANDARD.encode(bytes)))
}

async fn rotate_then_restart_with_only_the_new_key(backend: Backend) {
    let mock = oauth2_mock_server();
    let accepted = Arc::new(Mutex::new(None));
    let api = github_api(accepted.clone()).await;
    let app = spawn_app_with(backend, |c| c.master_key = key(OLD)).await;
    let (euid, eu_key) = app.create_end_user("rotating-user").await;
    let activated = app
        .send(
            app.request(reqwest::Method::PUT, &format!("/admin/v1/platforms/{}/apps/github", app.platform_id), Some(ADMIN_TOKEN))
                .json(&json!({"client_id": "rotation-client", "client_secret": CLIENT_SECRET, "base_url": "https://p.example",
                    "authorize_url": format!("{}/authorize", mock.url), "token_url": format!("{}/token", mock.url),
                    "api_base_url": api})),
        )
        .await;
    assert!(activated.status.is_success(), "{}", activated.body);

    // Connect (client secret, tokens), and leave a second connect pending (verifier).
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let consent = |app_address: String, authorize_url: String| {
        let browser = browser.clone();
        async move {
            let at_provider = browser.get(&authorize_url).send().await.unwrap();
            let callback = at_provider.headers()["location"]
                .to_str()
                .unwrap()
                .to_owned();
            // The gateway restarts on another port; the callback path is what counts.
            let path = &callback[callback.find("/oauth/callback").unwrap()..];
            let landed = browser
                .get(format!("{app_address}{path}"))
                .send()
                .await
                .unwrap();
            landed.headers()["location"].to_str().unwrap().to_owned()
        }
    };
    let first = app
        .post("/v1/me/apps/github/connect", &eu_key, &json!({}))
        .await;
    let landed = consent(
        app.address.clone(),
        first.data()["authorize_url"].as_str().unwrap().to_owned(),
    )
    .await;
    assert!(landed.ends_with("status=connected"), "{landed}");
    let pending = app
        .post("/v1/me/apps/github/connect", &eu_key, &json!({}))
        .await;
    let pending_url = pending.data()["authorize_url"].as_str().unwrap().to_owned();
    let slug = assistiv::apps::AppSlug::parse(&app.state.apps, "github").unwrap();
    let Ok(token) = app.state.oauth.token(app.platform_id, euid, &slug).await else {
        panic!("connected");
    };
    let access = token.access_token.expose_secret().to_owned();
    *accepted.lock().unwrap() = Some(access.clone());

    // A skill blob on disk.
    enable_skills(&app, app.platform_id, &app.platform_key).await;
    let body = "Rotation-proof instructions: turn the key twice.";
    let skill = skill_md(
        "rotation-skill",
        "Survives a master-key rotation.",
        "1.0.0",
        body,
    );
    let uploaded = upload(
        &app,
        "/v1/skills",
        &app.platform_key,
        zip(&[("SKILL.md", &skill)]),
    )
    .await;
    assert_eq!(uploaded.status, 201, "{}", uploaded.body);
    let skill_id = uploaded.data()["id"].as_str().unwrap().to_owned();
    let sha = uploaded.data()["sha256"].as_str().unwrap().to_owned();
    let blob_path = app.data_dir.join("blobs").join(&sha[..2]).join(&sha);

    // A capability provider's auth secret.
    let provider = app
        .patch(
            "/admin/v1/capabilities/providers/cap_img_pixelforge",
            ADMIN_TOKEN,
            &json!({"auth": {"header": "X-Api-Key", "secret": CAPABILITY_SECRET}}),
        )
        .await;
    assert_eq!(provider.status, 200, "{}", provider.body);

    // An LLM provider's API key.
    crate::inference::add_provider(
        &app,
        app.platform_id,
        json!({"provider": "openai", "api_key": LLM_KEY}),
    )
    .await;

    // Rotation while an instance runs with the new key current and the old previous.
    let app = app
        .restart(|c| {
            c.master_key = key(NEW);
            c.previous_master_keys = key(OLD);
        })
        .await;
    // Without the old key nothing opens: the rotation stops, naming what, and the
    // batch it was in changes nothing.
    let before = sealed_values(&app).await;
    let refused = rotate_with_previous(&app, [33; 32]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("does not decrypt"), "{stderr}");
    assert!(!stderr.contains(CLIENT_SECRET) && !stderr.contains(&access));
    assert_eq!(sealed_values(&app).await, before);

    let report = rotate(&app);
    assert_eq!(report["key_id"], hex::encode(key_id(&NEW)), "{report}");
    assert_eq!(resealed(&report, "app_activations.client_secret_enc"), 1);
    assert_eq!(resealed(&report, "app_connections.access_token_enc"), 1);
    assert_eq!(
        resealed(&report, "capability_providers.auth_secret"),
        1,
        "{report}"
    );
    assert_eq!(
        resealed(&report, "oauth_states.pkce_verifier_enc"),
        2,
        "{report}"
    );
    assert_eq!(
        resealed(&report, "llm_providers.api_key_enc"),
        1,
        "{report}"
    );
    assert_eq!(report["blobs_resealed"], 1);
    assert!(
        report["batches"].as_u64().unwrap() >= 4,
        "one row per batch: {report}"
    );
    // Resumable and idempotent: a second run finds nothing left.
    let again = rotate(&app);
    for column in again["columns"].as_array().unwrap() {
        assert_eq!(column["resealed"], 0, "{again}");
    }
    assert_eq!(again["blobs_resealed"], 0);

    // Restart with only the new key.
    let app = app
        .restart(|c| {
            c.master_key = key(NEW);
            c.previous_master_keys = None;
        })
        .await;
    let mut header = vec![0xA5, 0x01];
    header.extend_from_slice(&key_id(&NEW));
    let values = sealed_values(&app).await;
    assert!(values.len() >= 5, "{}", values.len());
    // The provider secret opens under the new key.
    let provider = app
        .get(
            "/admin/v1/capabilities/providers/cap_img_pixelforge",
            ADMIN_TOKEN,
        )
        .await;
    assert_eq!(provider.data()["secret_set"], true, "{}", provider.body);
    let snapshot = app.state.capabilities.snapshot();
    let opened = app
        .state
        .capabilities
        .open_secret(snapshot.provider("cap_img_pixelforge").unwrap())
        .expect("the provider secret opens under the new key");
    assert_eq!(opened.expose_secret(), CAPABILITY_SECRET);
    // The LLM provider's key opens too: its config (skipped when its key does not
    // open) serves its models.
    let models = app.get("/v1/models", &app.platform_key).await;
    assert!(
        models.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "openai/gpt-4o-mini"),
        "{}",
        models.body
    );
    for value in &values {
        assert!(
            value.starts_with(&header),
            "a value is not under the new key"
        );
    }
    assert!(std::fs::read(&blob_path).unwrap().starts_with(&header));

    // Tokens decrypt and a tool call works.
    let Ok(token) = app.state.oauth.token(app.platform_id, euid, &slug).await else {
        panic!("the token opens under the new key");
    };
    assert_eq!(token.access_token.expose_secret(), access);
    let mut mcp = McpSession::open(&app, "/mcp", &eu_key).await;
    let me = mcp.call("github_get_me", json!({})).await;
    assert_eq!(me["result"]["isError"], false, "{me}");
    assert_eq!(me["result"]["structuredContent"]["login"], "mock-octocat");
    // The pending connect completes: its PKCE verifier and the client secret open.
    let landed = consent(app.address.clone(), pending_url).await;
    assert!(landed.ends_with("status=connected"), "{landed}");
    // The skill blob opens.
    let mut skills = McpSession::open(&app, "/mcp/skills", &eu_key).await;
    let fetched = skills.call("fetch_skill", json!({"id": skill_id})).await;
    let fetched = tool_result(&fetched);
    assert_eq!(fetched["isError"], false, "{fetched}");
    assert!(fetched.to_string().contains("turn the key twice"));

    // Nothing plaintext.
    let dump = dump_database(&app).await;
    assert!(dump.contains("rotation-client"), "the dump holds the rows");
    assert!(!dump.contains(CLIENT_SECRET));
    assert!(!dump.contains(CAPABILITY_SECRET));
    assert!(!dump.contains(LLM_KEY));
    assert!(!dump.contains(&access));
    let blob = std::fs::read(&blob_path).unwrap();
    assert!(!blob.windows(12).any(|w| w == b"turn the key"));
    app.stop().await;
}

both_backends!(rotate_then_restart_with_only_the_new_key);
