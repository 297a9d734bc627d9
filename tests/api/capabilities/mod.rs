//! The capabilities marketplace against local stand-in providers (fixed price,
//! quote endpoint, x402 challenge, slow, failing, flapping health), on both
//! databases: every final state, every 402 code, money exactness under load,
//! the seed's agent loop through the Python MCP SDK, the seed's curl examples,
//! and badges agreeing with search over a generated 1,000-provider catalog.

mod agent_loop;
mod badges;
mod cli;
mod concurrency;
mod crash;
mod limits;
mod quotes;
mod refusals;
pub mod runs;
mod seed_curl;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, Backend, Reply, TestApp, spawn_app_with};

/// What the stand-ins saw.
#[derive(Default)]
pub struct Seen {
    pub calls: AtomicUsize,
    pub flaps: AtomicUsize,
    pub last_key: std::sync::Mutex<Option<String>>,
}

pub struct Upstream {
    pub base: String,
    pub seen: Arc<Seen>,
}

async fn fixed(
    State(seen): State<Arc<Seen>>,
    headers: HeaderMap,
    Json(input): Json<Value>,
) -> impl IntoResponse {
    seen.calls.fetch_add(1, Ordering::SeqCst);
    *seen.last_key.lock().unwrap() = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Json(
        json!({"image_url": "https://cdn.example/out.png", "width": 1024, "height": 1024, "prompt": input["prompt"]}),
    )
}

async fn lookup(Query(q): Query<std::collections::HashMap<String, String>>) -> impl IntoResponse {
    Json(json!({"ip": q.get("ip"), "country": "US", "city": "Mountain View"}))
}

async fn quote(Json(input): Json<Value>) -> impl IntoResponse {
    // Longer prompts cost more: 0.007 USD, or 0.05 for anything marked "large".
    let large = input["prompt"]
        .as_str()
        .is_some_and(|p| p.contains("large"));
    Json(json!({"price_usd": if large { 0.05 } else { 0.007 }}))
}

async fn quoted_run(Json(input): Json<Value>) -> impl IntoResponse {
    // Reports a final price below the quote.
    (
        [("x-cost-usd", "0.005")],
        Json(json!({"done": true, "prompt": input["prompt"]})),
    )
}

async fn x402(headers: HeaderMap) -> impl IntoResponse {
    if headers.get("x-api-key").and_then(|v| v.to_str().ok()) == Some("prepaid-account") {
        return (
            StatusCode::OK,
            Json(json!({"ip": "1.1.1.1", "country": "AU"})),
        );
    }
    (
        StatusCode::PAYMENT_REQUIRED,
        Json(json!({
            "x402Version": 1,
            "error": "X-PAYMENT header is required",
            "accepts": [
                {"scheme": "exact", "network": "base", "maxAmountRequired": "2000",
                 "asset": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "payTo": "0x0000000000000000000000000000000000000001",
                 "resource": "http://127.0.0.1/x402/ip", "description": "IP lookup", "mimeType": "application/json",
                 "maxTimeoutSeconds": 60},
                {"scheme": "exact", "network": "base-sepolia", "maxAmountRequired": "1500",
                 "asset": "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "payTo": "0x0000000000000000000000000000000000000001",
                 "resource": "http://127.0.0.1/x402/ip", "description": "IP lookup", "mimeType": "application/json",
                 "maxTimeoutSeconds": 60}
            ]
        })),
    )
}

async fn slow() -> impl IntoResponse {
    tokio::time::sleep(Duration::from_secs(3)).await;
    Json(json!({"late": true}))
}

async fn failing() -> impl IntoResponse {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({"error": "provider exploded"})),
    )
}

async fn flapping(State(seen): State<Arc<Seen>>) -> StatusCode {
    // Healthy, down, healthy, down, ...
    if seen.flaps.fetch_add(1, Ordering::SeqCst) % 2 == 0 {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// The stand-in providers on a loopback port.
pub async fn upstream() -> Upstream {
    let seen = Arc::new(Seen::default());
    let router = Router::new()
        .route("/health", get(|| async { StatusCode::OK }))
        .route("/fixed/run", post(fixed))
        .route("/pixelforge/v1/generate", post(fixed))
        .route("/pixelforge/health", get(|| async { StatusCode::OK }))
        .route("/ipatlas/lookup", get(lookup))
        .route("/quote/price", post(quote))
        .route("/quote/run", post(quoted_run))
        .route("/x402/ip", get(x402))
        .route("/slow/run", post(slow))
        .route("/fail/run", post(failing))
        .route("/flap/health", get(flapping))
        .with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    Upstream { base, seen }
}

/// A provider definition the operator adds, at the stand-in.
pub fn provider(uid: &str, capability: &str, endpoint: &str, pricing: Value) -> Value {
    json!({
        "uid": uid,
        "name": format!("Test {uid}"),
        "capability": capability,
        "description": format!("stand-in provider {uid}"),
        "call_method": "POST",
        "endpoint": endpoint,
        "pricing": pricing,
        "input_schema": {"type": "object", "required": ["prompt"], "properties": {"prompt": {"type": "string", "minLength": 1}}},
        "input_example": {"prompt": "a cat wearing sunglasses"},
        "rating": 4.5,
        "verified": true
    })
}

pub async fn add_provider(app: &TestApp, body: &Value) -> Reply {
    app.post("/admin/v1/capabilities/providers", ADMIN_TOKEN, body)
        .await
}

pub async fn set_policy(app: &TestApp, platform_id: uuid::Uuid, policy: &Value) -> Reply {
    app.send(
        app.request(
            reqwest::Method::PUT,
            &format!("/admin/v1/platforms/{platform_id}/capabilities"),
            Some(ADMIN_TOKEN),
        )
        .json(policy),
    )
    .await
}

/// An end user with a one-time budget of `max_usd`: (id, sk-eu key).
pub async fn user_with_budget(
    app: &TestApp,
    external_id: &str,
    max_usd: f64,
) -> (uuid::Uuid, String) {
    let (euid, key) = app.create_end_user(external_id).await;
    let reply = app
        .post(
            &format!("/v1/platforms/{}/end-users/{euid}/budget", app.platform_id),
            &app.platform_key,
            &json!({"max_usd": max_usd, "period": "one_time"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    (euid, key)
}

/// A gateway whose catalog paths resolve at the stand-in, with a short call timeout.
pub async fn spawn(backend: Backend, upstream: &Upstream) -> TestApp {
    let base = upstream.base.clone();
    spawn_app_with(backend, move |c| {
        c.capabilities_upstream_url = Some(base);
        c.capabilities_call_timeout_ms = 500;
        c.capabilities_health_interval_ms = 60_000;
    })
    .await
}

pub async fn run(app: &TestApp, key: &str, body: &Value) -> Reply {
    app.post("/v1/capabilities/run", key, body).await
}

/// The budget as the platform reads it.
pub async fn budget(app: &TestApp, euid: uuid::Uuid) -> Value {
    let reply = app
        .get(
            &format!("/v1/platforms/{}/end-users/{euid}/budget", app.platform_id),
            &app.platform_key,
        )
        .await;
    reply.data().clone()
}
