//! Outbound webhooks, end to end: a receiver built on the official
//! `standardwebhooks` and `svix` libraries (tests/peers/webhook_receiver.py)
//! verifies every delivery the gateway makes.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use assistiv::config::Config;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;
use uuid::Uuid;

use crate::helpers::{ADMIN_TOKEN, TestApp};
use crate::mcp_clients::repo_path;

mod cli;
mod delivery;
mod endpoints;
mod failures;
mod restart;
mod scale;

/// The Python receiver (see the module doc of webhook_receiver.py).
pub struct Receiver {
    _child: tokio::process::Child,
    pub base: String,
    client: reqwest::Client,
}

impl Receiver {
    pub async fn start() -> Self {
        Self::start_with_slow(3.0).await
    }

    /// `slow_secs`: how long `/flaky` keeps its second attempt waiting.
    pub async fn start_with_slow(slow_secs: f64) -> Self {
        let python = repo_path(
            &std::env::var("ASSISTIV_TEST_PYTHON").unwrap_or_else(|_| ".venv/bin/python".into()),
        );
        assert!(
            python.exists(),
            "{} is missing: the webhook receiver needs Python with tests/peers/requirements.txt \
             (standardwebhooks, svix) installed; set ASSISTIV_TEST_PYTHON",
            python.display()
        );
        let mut child = tokio::process::Command::new(python)
            .arg(repo_path("tests/peers/webhook_receiver.py"))
            .env("RECEIVER_SLOW_SECONDS", slow_secs.to_string())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the webhook receiver");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the receiver starts within 30 s")
            .unwrap()
            .expect("the receiver printed its port (are standardwebhooks and svix installed?)");
        let port = line.strip_prefix("listening ").expect("listening <port>");
        Self {
            _child: child,
            base: format!("http://127.0.0.1:{}", port.trim()),
            client: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn set_secrets(&self, secrets: &[&str]) {
        let status = self
            .client
            .post(self.url("/_secrets"))
            .json(&json!({ "secrets": secrets }))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 204);
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        response.json().await.unwrap()
    }

    /// Every request received, and how many overlapped another of the same id.
    pub async fn state(&self) -> (Vec<Value>, i64) {
        let state: Value = self.get("/_state").await;
        (
            state["log"].as_array().cloned().unwrap_or_default(),
            state["overlaps"].as_i64().unwrap_or(-1),
        )
    }

    /// The receiver's counts, cheap to poll however long its log is.
    pub async fn summary(&self) -> Summary {
        self.get("/_summary").await
    }

    /// Waits until `n` distinct event ids were answered 200; the whole log.
    pub async fn wait_accepted(&self, n: usize, within: Duration) -> Vec<Value> {
        self.wait_accepted_where(n, within, |_| true).await
    }

    /// As [`Receiver::wait_accepted`], counting only the records `filter` keeps.
    pub async fn wait_accepted_where(
        &self,
        n: usize,
        within: Duration,
        filter: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let (log, _) = self.state().await;
            let kept: Vec<Value> = log.iter().filter(|r| filter(r)).cloned().collect();
            if accepted_ids(&kept).len() >= n {
                return log;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} of {n} events accepted in {within:?}; log: {}",
                accepted_ids(&kept).len(),
                serde_json::to_string(&log.iter().rev().take(5).collect::<Vec<_>>()).unwrap()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// What the receiver counted so far.
#[derive(Debug, serde::Deserialize)]
pub struct Summary {
    /// Requests received.
    pub requests: usize,
    /// Distinct event ids answered 200.
    pub accepted: usize,
    /// Requests that arrived while another of the same id and path was answered.
    pub overlaps: i64,
}

/// The event ids answered 200.
pub fn accepted_ids(log: &[Value]) -> std::collections::BTreeSet<String> {
    log.iter()
        .filter(|r| r["status"] == 200)
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Every request verified with both libraries, and both refused a tampered
/// body, a foreign secret and a stale timestamp; each id always the same body.
pub fn assert_all_verified(log: &[Value]) {
    let mut bodies: HashMap<&str, &str> = HashMap::new();
    for record in log {
        assert_eq!(record["verified"], true, "not verified: {record}");
        for check in ["tampered_refused", "foreign_refused", "stale_refused"] {
            assert_eq!(record[check], true, "{check}: {record}");
        }
        let id = record["id"].as_str().unwrap();
        let body = record["body"].as_str().unwrap();
        if let Some(first) = bodies.insert(id, body) {
            assert_eq!(first, body, "event {id} was sent with two bodies");
        }
    }
}

/// Fast and loopback-friendly webhook settings for tests.
pub fn fast(config: &mut Config) {
    config.webhook_allow_http = true;
    config.webhook_allowed_subnets = Some("127.0.0.0/8".into());
    config.webhook_poll_interval_ms = 20;
    config.webhook_timeout_ms = 1_000;
    config.webhook_retry_schedule = "0s,100ms,100ms,100ms,100ms,100ms,100ms,100ms".into();
}

pub fn endpoints_path(pid: Uuid) -> String {
    format!("/v1/platforms/{pid}/webhooks/endpoints")
}

pub fn admin_endpoints_path(pid: Uuid) -> String {
    format!("/admin/v1/platforms/{pid}/webhooks/endpoints")
}

/// Creates an endpoint with the platform key: (id, secret).
pub async fn create_endpoint(app: &TestApp, url: &str, events: &[&str]) -> (Uuid, String) {
    let reply = app
        .post(
            &endpoints_path(app.platform_id),
            &app.platform_key,
            &json!({"url": url, "event_types": events}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    (
        reply.data()["id"].as_str().unwrap().parse().unwrap(),
        reply.data()["secret"].as_str().unwrap().to_owned(),
    )
}

/// An end user with a budget of `max_usd` (low-balance threshold 2 USD).
pub async fn user_with_budget(app: &TestApp, external_id: &str, max_usd: f64) -> Uuid {
    let (euid, _) = app.create_end_user(external_id).await;
    let reply = app
        .post(
            &budget_path(app, euid),
            &app.platform_key,
            &json!({"max_usd": max_usd, "period": "monthly", "low_balance_threshold": 2}),
        )
        .await;
    assert!(reply.status.is_success(), "{}", reply.body);
    euid
}

pub fn budget_path(app: &TestApp, euid: Uuid) -> String {
    format!("/v1/platforms/{}/end-users/{euid}/budget", app.platform_id)
}

/// `POST .../budget/{action}` with the platform key.
pub async fn budget_action(app: &TestApp, euid: Uuid, action: &str, body: Value) {
    let reply = app
        .post(
            &format!("{}/{action}", budget_path(app, euid)),
            &app.platform_key,
            &body,
        )
        .await;
    assert_eq!(reply.status, 200, "{action}: {}", reply.body);
}

/// The outbox's event ids, in order.
pub async fn outbox_ids(app: &TestApp) -> Vec<String> {
    let rows: Vec<(Uuid,)> = app
        .state
        .db
        .fetch_all("SELECT id FROM outbox_events ORDER BY seq", &[])
        .await
        .unwrap();
    rows.into_iter().map(|(id,)| id.to_string()).collect()
}

/// The deliveries API of one endpoint, all pages.
pub async fn all_deliveries(app: &TestApp, endpoint: Uuid) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!(
            "{}/{endpoint}/deliveries?limit=200",
            endpoints_path(app.platform_id)
        );
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let reply = app.get(&path, &app.platform_key).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        out.extend(reply.body["data"].as_array().unwrap().iter().cloned());
        match reply.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// Records grouped by event id, in arrival order.
pub fn by_id(log: &[Value]) -> BTreeMap<String, Vec<Value>> {
    let mut map: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for record in log {
        map.entry(record["id"].as_str().unwrap().to_owned())
            .or_default()
            .push(record.clone());
    }
    map
}

/// Makes each attempt row record the database session that wrote it (a column
/// added to this test's own database): which instance made which attempt, when
/// instances name their sessions (`?application_name=...`).
pub async fn record_who_attempts(db: &assistiv::store::Db) {
    let mut tx = db.begin().await.unwrap();
    tx.execute(
        "ALTER TABLE webhook_attempts \
         ADD COLUMN made_by TEXT DEFAULT current_setting('application_name')",
        &[],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// `PUT` with the admin token.
pub async fn admin_put(app: &TestApp, path: &str, body: &Value) -> crate::helpers::Reply {
    app.send(app.request(Method::PUT, path, Some(ADMIN_TOKEN)).json(body))
        .await
}
