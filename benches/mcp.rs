//! MCP latency and throughput: `tools/list` (GitHub and Slack activated: 32 tools), and
//! `tools/call github_get_me` through
//! the gateway to a local GitHub stand-in, beside a direct call to that stand-in.
//! Open loop at a fixed rate with latency measured from each request's scheduled
//! start (no coordinated omission), then closed-loop saturation. Budgets, rate
//! limits (a generous RPM) and usage logging stay on.
//!
//! `cargo bench --bench mcp` (`BENCH_RATE`, `BENCH_SECS`, `BENCH_WORKERS` tune it).

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

/// GitHub's token endpoint and `GET /user`, answering documented shapes.
async fn github_stand_in() -> String {
    let router = axum::Router::new()
        .route(
            "/login/oauth/access_token",
            post(|| async { Json(json!({"access_token": "gho_bench", "token_type": "bearer", "scope": "repo,read:user"})) }),
        )
        .route(
            "/user",
            get(|| async {
                Json(json!({"login": "octocat", "id": 1, "name": "The Octocat", "public_repos": 8,
                    "followers": 20, "following": 0, "html_url": "https://github.com/octocat", "type": "User"}))
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

async fn gateway(stand_in: &str) -> Gateway {
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
    client
        .put(format!("{url}/admin/v1/platforms/{pid}/apps/github"))
        .bearer_auth(ADMIN)
        .json(&json!({"client_id": "bench", "client_secret": "bench-secret", "base_url": "https://platform.example",
            "token_url": format!("{stand_in}/login/oauth/access_token"), "api_base_url": stand_in}))
        .send()
        .await
        .unwrap();
    // Slack too: tools/list covers every tool of both apps (32).
    client
        .put(format!("{url}/admin/v1/platforms/{pid}/apps/slack"))
        .bearer_auth(ADMIN)
        .json(&json!({"client_id": "bench", "client_secret": "bench-secret", "base_url": "https://platform.example"}))
        .send()
        .await
        .unwrap();
    // The real consent flow, with the stand-in as the provider.
    let connect: Value = client
        .post(format!("{url}/v1/me/apps/github/connect"))
        .bearer_auth(&eu_key)
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
    let stand_in = github_stand_in().await;
    let gw = Arc::new(gateway(&stand_in).await);
    let (client, sid) = session(&gw).await;
    let check = mcp(&client, &gw, &sid, json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "github_get_me", "arguments": {}}})).await;
    assert!(
        check.contains("octocat") && !check.contains("\"isError\":true"),
        "{check}"
    );
    let listed = mcp(
        &client,
        &gw,
        &sid,
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    )
    .await;
    assert_eq!(
        listed.matches("\"inputSchema\"").count(),
        32,
        "GitHub's 22 and Slack's 10 tools"
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
    let (l, e) = saturate(workers, secs, direct).await;
    report("direct GET /user on the stand-in", None, l, e);
    let (l, e) = saturate(workers, secs, list).await;
    report("MCP tools/list", None, l, e);
    let (l, e) = saturate(workers, secs, call).await;
    report("MCP tools/call github_get_me", None, l, e);
}
