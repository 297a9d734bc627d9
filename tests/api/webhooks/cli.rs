//! `assistiv admin webhooks ...` on the database of a running gateway: what the
//! commands change the API shows, and what they queue the gateway delivers.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::{Receiver, assert_all_verified, endpoints_path, fast};
use crate::helpers::{Backend, TestApp, spawn_app_with};

fn admin_webhooks(app: &TestApp, args: &[&str]) -> Value {
    let mut command = Command::new(env!("CARGO_BIN_EXE_assistiv"));
    for (name, _) in std::env::vars() {
        if name.starts_with("ASSISTIV_") || name == "DATABASE_URL" || name == "REDIS_URL" {
            command.env_remove(name);
        }
    }
    command
        .args(["admin", "webhooks"])
        .args(args)
        .args(["--platform", &app.platform_id.to_string(), "--json"])
        .env("ASSISTIV_DATA_DIR", &app.data_dir)
        .env("ASSISTIV_WEBHOOK_ALLOW_HTTP", "true")
        .env("ASSISTIV_WEBHOOK_ALLOWED_SUBNETS", "127.0.0.0/8");
    if let Some(url) = &app.database_url {
        command.env("DATABASE_URL", url);
    }
    let output = command.output().expect("assistiv runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

async fn the_operator_manages_webhooks_from_the_cli(backend: Backend) {
    let receiver = Receiver::start().await;
    let app = spawn_app_with(backend, fast).await;
    let url = receiver.url("/ok");
    let created = admin_webhooks(
        &app,
        &["create", "--url", &url, "--events", "budget.debited"],
    );
    let id = created["id"].as_str().unwrap().to_owned();
    let first = created["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        created["event_types"],
        serde_json::json!(["budget.debited"])
    );
    let shown = app
        .get(
            &format!("{}/{id}/secret", endpoints_path(app.platform_id)),
            &app.platform_key,
        )
        .await;
    assert_eq!(shown.data()["secret"], first.as_str());

    let rotated = admin_webhooks(&app, &["rotate-secret", "--endpoint", &id]);
    assert_eq!(rotated["previous_secret"], first.as_str());
    let second = rotated["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        admin_webhooks(&app, &["reveal-secret", "--endpoint", &id])["secret"],
        second.as_str()
    );
    receiver.set_secrets(&[&second, &first]).await;

    let queued = admin_webhooks(&app, &["test", "--endpoint", &id]);
    assert_eq!(queued["event_type"], "webhook.test");
    let log = receiver.wait_accepted(1, Duration::from_secs(20)).await;
    assert_all_verified(&log);
    assert_eq!(
        log[0]["per_secret"],
        serde_json::json!([[true, true], [true, true]])
    );
    let delivered = TestApp::eventually(Duration::from_secs(10), || async {
        admin_webhooks(&app, &["deliveries", "--endpoint", &id])
            .as_array()
            .is_some_and(|d| d.len() == 1 && d[0]["status"] == "delivered")
    })
    .await;
    assert!(delivered);

    let listed = admin_webhooks(&app, &["list"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let updated = admin_webhooks(&app, &["update", "--endpoint", &id, "--enabled", "false"]);
    assert_eq!(updated["enabled"], false);
    app.stop().await;
}

both_backends!(the_operator_manages_webhooks_from_the_cli);
