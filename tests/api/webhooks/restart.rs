//! A `kill -9` of the gateway in the middle of delivering loses nothing: after
//! restart every event arrives (at least once, each id with one body).

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;

use super::{Receiver, accepted_ids, assert_all_verified};
use crate::helpers::{ADMIN_TOKEN, Backend, fresh_postgres_database};

/// `assistiv serve` on `dir` (and `database_url`); its URL, and the first
/// start's platform id and key.
async fn serve(
    dir: &Path,
    database_url: Option<&str>,
) -> (tokio::process::Child, String, Option<(String, String)>) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_assistiv"));
    for (name, _) in std::env::vars() {
        if name.starts_with("ASSISTIV_") || name == "DATABASE_URL" || name == "REDIS_URL" {
            command.env_remove(name);
        }
    }
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("ASSISTIV_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("ASSISTIV_WEBHOOK_ALLOW_HTTP", "true")
        .env("ASSISTIV_WEBHOOK_ALLOWED_SUBNETS", "127.0.0.0/8")
        .env("ASSISTIV_WEBHOOK_POLL_INTERVAL_MS", "20")
        .env("ASSISTIV_WEBHOOK_TIMEOUT_MS", "1000")
        .env("ASSISTIV_WEBHOOK_CONCURRENCY", "2")
        .env("ASSISTIV_WEBHOOK_RETRY_SCHEDULE", "0s,100ms,100ms,100ms")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(url) = database_url {
        command.args(["--database-url", url]);
    }
    let mut child = command.spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut pid, mut key) = (None, None);
    let url = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("serve exited early");
        if let Some(id) = line.trim().strip_prefix("platform id:") {
            pid = Some(id.trim().to_owned());
        }
        if let Some(k) = line.trim().strip_prefix("platform key:") {
            key = Some(k.trim().to_owned());
        }
        if let Some(address) = line.strip_prefix("Assistiv is listening on ") {
            break address.trim().to_owned();
        }
    };
    (child, url, pid.zip(key))
}

async fn a_killed_gateway_loses_no_event(backend: Backend) {
    const EVENTS: usize = 20;
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let database = match backend {
        Backend::Postgres => Some(fresh_postgres_database().await),
        Backend::Sqlite => None,
    };
    let (mut first, url, provisioned) = serve(dir.path(), database.as_deref()).await;
    let (pid, key) = provisioned.expect("first start provisions");
    let client = reqwest::Client::new();
    let post = |path: String, token: String, body: Value| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let reply = client
                .post(format!("{url}{path}"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(reply.status().is_success(), "{path}: {}", reply.status());
            reply.json::<Value>().await.unwrap()
        }
    };
    let created = post(
        format!("/admin/v1/platforms/{pid}/webhooks/endpoints"),
        ADMIN_TOKEN.into(),
        json!({"url": receiver.url("/slow/150")}),
    )
    .await;
    let endpoint = created["data"]["id"].as_str().unwrap().to_owned();
    receiver
        .set_secrets(&[created["data"]["secret"].as_str().unwrap()])
        .await;
    let user = post(
        format!("/v1/platforms/{pid}/end-users"),
        key.clone(),
        json!({"external_id": "survivor", "budget": {"max_usd": 100, "period": "monthly"}}),
    )
    .await;
    let euid = user["data"]["id"].as_str().unwrap().to_owned();
    for _ in 0..EVENTS {
        post(
            format!("/v1/platforms/{pid}/end-users/{euid}/budget/topup"),
            key.clone(),
            json!({"amount_usd": 1}),
        )
        .await;
    }
    // Some delivered, the rest queued or in flight: kill -9.
    let started = crate::helpers::TestApp::eventually(Duration::from_secs(20), || async {
        receiver.state().await.0.len() >= 3
    })
    .await;
    assert!(started);
    first.start_kill().unwrap();
    first.wait().await.unwrap();
    let (log, _) = receiver.state().await;
    assert!(
        accepted_ids(&log).len() < EVENTS,
        "the kill came before the end ({} delivered)",
        accepted_ids(&log).len()
    );

    let (mut second, url, _) = serve(dir.path(), database.as_deref()).await;
    let log = receiver
        .wait_accepted(EVENTS, Duration::from_secs(60))
        .await;
    assert_all_verified(&log);
    // The kill may have cut an attempt after the receiver answered and before it
    // was recorded: its lease runs out and it is sent again (at least once).
    let all_delivered = crate::helpers::TestApp::eventually(Duration::from_secs(30), || async {
        let deliveries: Value = client
            .get(format!(
                "{url}/admin/v1/platforms/{pid}/webhooks/endpoints/{endpoint}/deliveries?limit=100"
            ))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let deliveries = deliveries["data"].as_array().unwrap();
        deliveries.len() == EVENTS && deliveries.iter().all(|d| d["status"] == "delivered")
    })
    .await;
    assert!(all_delivered);
    assert_all_verified(&receiver.state().await.0);
    second.start_kill().unwrap();
    second.wait().await.unwrap();
}

both_backends!(a_killed_gateway_loses_no_event);
