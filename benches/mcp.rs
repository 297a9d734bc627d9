//! MCP latency and throughput: `tools/list`, and `tools/call github_get_me` through
//! the gateway to a local GitHub stand-in, beside a direct call to that stand-in.
//! Open loop at a fixed rate with latency measured from each request's scheduled
//! start (no coordinated omission), then closed-loop saturation. Budgets, rate
//! limits (a generous RPM) and usage logging stay on.
//!
//! `cargo bench --bench mcp` (`BENCH_RATE`, `BENCH_SECS`, `BENCH_WORKERS` tune it;
//! `BENCH_APPS=github,zoho-mail,zendesk` activates and connects more apps, so
//! `tools/list` carries all their tools, and adds `tools/call zendesk_get_me`).

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use assistiv::config::Config;
use assistiv::startup::Application;
use axum::Json;
use axum::routing::{get, post};
use secrecy::SecretString;
use serde_json::{Value, json};

/// JSON-RPC ids must be unique within a session: concurrent requests share one.
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(10);

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

const ADMIN: &str = "bench-admin-token-0123456789";
const ACCEPT: &str = "application/json, text/event-stream";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The apps' token endpoints, GitHub's `GET /user` and Zendesk's `GET
/// /api/v2/users/me.json`, answering documented shapes.
async fn github_stand_in() -> String {
    let token = |token: &'static str| {
        post(move || async move { Json(json!({"access_token": token, "token_type": "bearer"})) })
    };
    let router = axum::Router::new()
        .route("/login/oauth/access_token", token("gho_bench"))
        .route("/oauth/tokens", token("zendesk_bench"))
        .route("/oauth/v2/token", token("zoho_bench"))
        .route(
            "/user",
            get(|| async {
                Json(json!({"login": "octocat", "id": 1, "name": "The Octocat", "public_repos": 8,
                    "followers": 20, "following": 0, "html_url": "https://github.com/octocat", "type": "User"}))
            }),
        )
        .route(
            "/api/v2/users/me.json",
            get(|| async {
                Json(json!({"user": {"id": 35436, "name": "Johnny Agent", "email": "johnny@example.com",
                    "role": "agent", "active": true, "time_zone": "Copenhagen", "locale": "en-US",
                    "created_at": "2009-07-20T22:55:29Z", "url": "https://company.zendesk.com/api/v2/users/35436.json"}}))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

struct Gateway {
    url: String,
    eu_key: String,
}

async fn gateway(stand_in: &str, apps: &[&str]) -> Gateway {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_data_dir(dir.path().to_path_buf());
    config.admin_token = Some(SecretString::from(ADMIN));
    std::mem::forget(dir);
    let app = Application::build(config).await.unwrap();
    let url = format!("http://{}", app.addr().unwrap());
    let created = app.provisioned.as_ref().unwrap();
    let (pid, key) = (created.platform.id, created.api_key.raw_key.clone());
    tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let user: Value = client
        .post(format!("{url}/v1/platforms/{pid}/end-users"))
        .bearer_auth(&key)
        .json(&json!({"external_id": "bench", "rate_limits": {"rpm_limit": 1_000_000}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let eu_key = user["data"]["api_key"]["raw_key"]
        .as_str()
        .unwrap()
        .to_owned();
    for (app, token_path) in [
        ("github", "/login/oauth/access_token"),
        ("zoho-mail", "/oauth/v2/token"),
        ("zendesk", "/oauth/tokens"),
    ] {
        if !apps.contains(&app) {
            continue;
        }
        client
            .put(format!("{url}/admin/v1/platforms/{pid}/apps/{app}"))
            .bearer_auth(ADMIN)
            .json(&json!({"client_id": "bench", "client_secret": "bench-secret", "base_url": "https://platform.example",
                "authorize_url": format!("{stand_in}/authorize"),
                "token_url": format!("{stand_in}{token_path}"), "api_base_url": stand_in}))
            .send()
            .await
            .unwrap();
        // The real consent flow, with the stand-in as the provider (Zendesk asks for the
        // account's subdomain first).
        let settings = if app == "zendesk" {
            json!({"settings": {"subdomain": "bench"}})
        } else {
            json!({})
        };
        let connect: Value = client
            .post(format!("{url}/v1/me/apps/{app}/connect"))
            .bearer_auth(&eu_key)
            .json(&settings)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let authorize = connect["data"]["authorize_url"].as_str().unwrap();
        let query: HashMap<String, String> = url_query(authorize);
        let callback = client
            .get(format!(
                "{url}/oauth/callback?code=bench-code&state={}",
                query["state"]
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(callback.status(), 302);
    }
    Gateway { url, eu_key }
}

fn url_query(url: &str) -> HashMap<String, String> {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), percent_decode(v)))
        .collect()
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&value[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An MCP session: (client, session id).
async fn session(gw: &Gateway) -> (reqwest::Client, String) {
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{}/mcp", gw.url))
        .bearer_auth(&gw.eu_key)
        .header("Accept", ACCEPT)
        .json(&json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}))
        .send()
        .await
        .unwrap();
    let id = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    response.text().await.unwrap();
    mcp(
        &client,
        gw,
        &id,
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    (client, id)
}

async fn mcp(client: &reqwest::Client, gw: &Gateway, session: &str, body: Value) -> String {
    client
        .post(format!("{}/mcp", gw.url))
        .bearer_auth(&gw.eu_key)
        .header("Accept", ACCEPT)
        .header("Mcp-Session-Id", session)
        .header("MCP-Protocol-Version", "2025-06-18")
        .json(&body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn report(name: &str, offered: Option<u64>, mut latencies: Vec<Duration>, elapsed: Duration) {
    latencies.sort();
    let pct = |p: f64| {
        latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)].as_secs_f64()
            * 1e3
    };
    let offered = offered.map_or("saturation".to_owned(), |r| format!("{r} req/s"));
    println!(
        "{name:<34} {offered:>12}  {:>7.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} requests)",
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        latencies.len()
    );
}

/// Open loop: request `i` is due at `start + i / rate`; its latency counts from then.
async fn open_loop<F, Fut>(rate: u64, secs: u64, call: F) -> (Vec<Duration>, Duration)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let call = Arc::new(call);
    let start = tokio::time::Instant::now();
    let total = rate * secs;
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(due).await;
        let call = Arc::clone(&call);
        tasks.push(tokio::spawn(async move {
            call().await;
            due.elapsed()
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    for task in tasks {
        latencies.push(task.await.unwrap());
    }
    (latencies, start.elapsed())
}

/// Closed loop: `workers` callers back to back for `secs`.
async fn saturate<F, Fut>(workers: u64, secs: u64, call: F) -> (Vec<Duration>, Duration)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let call = Arc::new(call);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let call = Arc::clone(&call);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    call().await;
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    (latencies, start.elapsed())
}

#[tokio::main]
async fn main() {
    let rate = env_u64("BENCH_RATE", 500);
    let secs = env_u64("BENCH_SECS", 10);
    let workers = env_u64("BENCH_WORKERS", 32);
    let apps_env = std::env::var("BENCH_APPS").unwrap_or_else(|_| "github".to_owned());
    let apps: Vec<&str> = apps_env.split(',').map(str::trim).collect();
    assert!(apps.contains(&"github"), "BENCH_APPS must include github");
    let stand_in = github_stand_in().await;
    let gw = Arc::new(gateway(&stand_in, &apps).await);
    let (client, sid) = session(&gw).await;
    let listed = mcp(
        &client,
        &gw,
        &sid,
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    )
    .await;
    println!(
        "apps {apps_env}: tools/list answers {} tools in {} bytes",
        listed.matches("\"inputSchema\"").count(),
        listed.len()
    );
    let check = mcp(&client, &gw, &sid, json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "github_get_me", "arguments": {}}})).await;
    assert!(
        check.contains("octocat") && !check.contains("\"isError\":true"),
        "{check}"
    );

    let direct = {
        let client = reqwest::Client::new();
        let url = format!("{stand_in}/user");
        move || {
            let (client, url) = (client.clone(), url.clone());
            async move {
                client
                    .get(url)
                    .bearer_auth("gho_bench")
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
            }
        }
    };
    let list = {
        let (gw, client, sid) = (Arc::clone(&gw), client.clone(), sid.clone());
        move || {
            let (gw, client, sid) = (Arc::clone(&gw), client.clone(), sid.clone());
            async move {
                mcp(
                    &client,
                    &gw,
                    &sid,
                    json!({"jsonrpc": "2.0", "id": next_id(), "method": "tools/list"}),
                )
                .await;
            }
        }
    };
    let call = {
        let (gw, client, sid) = (Arc::clone(&gw), client.clone(), sid.clone());
        move || {
            let (gw, client, sid) = (Arc::clone(&gw), client.clone(), sid.clone());
            async move {
                let body = mcp(
                    &client,
                    &gw,
                    &sid,
                    json!({"jsonrpc": "2.0", "id": next_id(), "method": "tools/call",
                    "params": {"name": "github_get_me", "arguments": {}}}),
                )
                .await;
                assert!(body.contains("octocat"), "{body}");
            }
        }
    };

    let (l, e) = open_loop(rate, secs, direct.clone()).await;
    report("direct GET /user on the stand-in", Some(rate), l, e);
    let (l, e) = open_loop(rate, secs, list.clone()).await;
    report("MCP tools/list", Some(rate), l, e);
    let (l, e) = open_loop(rate, secs, call.clone()).await;
    report("MCP tools/call github_get_me", Some(rate), l, e);
    if apps.contains(&"zendesk") {
        let (gw, client, sid) = (Arc::clone(&gw), client.clone(), sid.clone());
        let zendesk = move || {
            let (gw, client, sid) = (Arc::clone(&gw), client.clone(), sid.clone());
            async move {
                let body = mcp(
                    &client,
                    &gw,
                    &sid,
                    json!({"jsonrpc": "2.0", "id": next_id(), "method": "tools/call",
                    "params": {"name": "zendesk_get_me", "arguments": {}}}),
                )
                .await;
                assert!(body.contains("Johnny Agent"), "{body}");
            }
        };
        let (l, e) = open_loop(rate, secs, zendesk).await;
        report("MCP tools/call zendesk_get_me", Some(rate), l, e);
    }
    let (l, e) = saturate(workers, secs, direct).await;
    report("direct GET /user on the stand-in", None, l, e);
    let (l, e) = saturate(workers, secs, list).await;
    report("MCP tools/list", None, l, e);
    let (l, e) = saturate(workers, secs, call).await;
    report("MCP tools/call github_get_me", None, l, e);
}
