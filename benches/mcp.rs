//! MCP latency and throughput: `tools/list`, and `tools/call github_get_me` through
//! the gateway to a local GitHub stand-in, beside a direct call to that stand-in.
//! Open loop at a fixed rate with latency measured from each request's scheduled
//! start (no coordinated omission), then closed-loop saturation. Budgets, rate
//! limits (a generous RPM) and usage logging stay on.
//!
//! The gateway is the release `assistiv serve` binary in its own process (SQLite in
//! a temporary data directory), so its CPU time per request is measured apart from
//! the load generator's: user + system time from `/proc/<pid>/stat` before and
//! after each scenario, divided by the requests served.
//!
//! `cargo bench --bench mcp` (`BENCH_RATE`, `BENCH_SECS`, `BENCH_WORKERS` tune it;
//! `BENCH_APPS` picks the apps activated and connected, all four by default, so
//! `tools/list` carries all their tools; with Zendesk it adds `tools/call
//! zendesk_get_me`). `BENCH_BASELINE_BIN=<path to another build's assistiv>` runs
//! every scenario on that build too, in the same run against the same stand-in,
//! each scenario on the baseline then on this build, so the two are compared
//! under the same conditions.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

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
            "/api/oauth.v2.access",
            post(|| async {
                Json(json!({"ok": true, "app_id": "A0KRD7HC3", "team": {"id": "T9TK3CUKW", "name": "Bench"},
                    "authed_user": {"id": "U1234", "scope": "chat:write", "access_token": "xoxp-bench", "token_type": "user"}}))
            }),
        )
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
    /// The `assistiv serve` process (killed on drop).
    process: Child,
    _data_dir: tempfile::TempDir,
}

impl Gateway {
    /// CPU time (user + system) the gateway process has used so far.
    fn cpu_time(&self) -> Duration {
        support::cpu_time_of(&self.process.id().unwrap().to_string())
    }
}

/// Starts `assistiv serve` on a free port and reads the first-start platform from
/// what it prints.
async fn start_gateway(bin: &str) -> (Child, String, String, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut process = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("ASSISTIV_DATA_DIR", dir.path())
        .env("ASSISTIV_ADMIN_TOKEN", ADMIN)
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
    let (mut pid, mut key, mut url) = (None, None, None);
    while url.is_none() {
        let line = lines.next_line().await.unwrap().expect("gateway exited");
        let line = line.trim();
        if let Some(v) = line.strip_prefix("platform id:") {
            pid = Some(v.trim().to_owned());
        } else if let Some(v) = line.strip_prefix("platform key:") {
            key = Some(v.trim().to_owned());
        } else if let Some(v) = line.strip_prefix("Assistiv is listening on ") {
            url = Some(v.trim().to_owned());
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (process, url.unwrap(), pid.unwrap(), key.unwrap(), dir)
}

async fn gateway(stand_in: &str, apps: &[&str], bin: &str) -> Gateway {
    let (process, url, pid, key, data_dir) = start_gateway(bin).await;
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
        ("slack", "/api/oauth.v2.access"),
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
    Gateway {
        url,
        eu_key,
        process,
        _data_dir: data_dir,
    }
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
    let response = mcp_post(&client, gw)
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
    answer_text(
        mcp_post(client, gw)
            .header("Mcp-Session-Id", session)
            .header("MCP-Protocol-Version", "2025-06-18")
            .json(&body),
    )
    .await
}

/// A POST to the gateway's `/mcp` with the end user's key.
fn mcp_post(client: &reqwest::Client, gw: &Gateway) -> reqwest::RequestBuilder {
    client
        .post(format!("{}/mcp", gw.url))
        .bearer_auth(&gw.eu_key)
        .header("Accept", ACCEPT)
}

async fn answer_text(request: reqwest::RequestBuilder) -> String {
    request.send().await.unwrap().text().await.unwrap()
}

/// A request of the current revision (2026-07-28): stateless, no session, the
/// protocol version in a header and in the request's `_meta`.
async fn mcp_stateless(client: &reqwest::Client, gw: &Gateway, method: &str) -> String {
    answer_text(
        mcp_post(client, gw)
            .header("MCP-Protocol-Version", "2026-07-28")
            .header("Mcp-Method", method)
            .json(
                &json!({"jsonrpc": "2.0", "id": next_id(), "method": method, "params": {"_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"}}}}),
            ),
    )
    .await
}

fn report(
    name: &str,
    offered: Option<u64>,
    mut latencies: Vec<Duration>,
    elapsed: Duration,
    gateway_cpu: Option<Duration>,
) {
    latencies.sort();
    let pct = |p: f64| {
        latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)].as_secs_f64()
            * 1e3
    };
    let offered = offered.map_or("saturation".to_owned(), |r| format!("{r} req/s"));
    let cpu = gateway_cpu.map_or(String::new(), |cpu| {
        format!(
            "  gateway CPU {:.3} ms/request",
            cpu.as_secs_f64() * 1e3 / latencies.len() as f64
        )
    });
    println!(
        "{name:<34} {offered:>12}  {:>7.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} requests){cpu}",
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        latencies.len()
    );
}

/// What an open-loop run measured: each request's latency from its dispatch (the
/// moment its task began sending) and from its scheduled start.
struct OpenLoop {
    from_dispatch: Vec<Duration>,
    from_schedule: Vec<Duration>,
    elapsed: Duration,
}

/// Open loop: request `i` is due at `start + i / rate`, and each request is its own
/// task, so a slow answer never delays the next send (no coordinated omission).
/// Tokio's timer fires at 1 ms granularity, so a send can start up to ~1 ms after
/// it was due: latency from dispatch is the service's; latency from the schedule
/// adds that timer lag (both are reported).
async fn open_loop<F, Fut>(rate: u64, secs: u64, call: F) -> OpenLoop
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
            let dispatched = tokio::time::Instant::now();
            call().await;
            (dispatched.elapsed(), due.elapsed())
        }));
    }
    let mut run = OpenLoop {
        from_dispatch: Vec::with_capacity(tasks.len()),
        from_schedule: Vec::with_capacity(tasks.len()),
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        let (dispatch, schedule) = task.await.unwrap();
        run.from_dispatch.push(dispatch);
        run.from_schedule.push(schedule);
    }
    run.elapsed = start.elapsed();
    run
}

/// Reports an open-loop run: from dispatch, then from the schedule.
fn report_open(name: &str, rate: u64, run: OpenLoop, gateway_cpu: Option<Duration>) {
    report(
        name,
        Some(rate),
        run.from_dispatch,
        run.elapsed,
        gateway_cpu,
    );
    let mut late = run.from_schedule;
    late.sort();
    let pct =
        |p: f64| late[((late.len() as f64 * p) as usize).min(late.len() - 1)].as_secs_f64() * 1e3;
    println!(
        "{:<34} {:>12}  counted from the schedule (adds the timer's lag): p50 {:>6.2} ms  p99 {:>6.2} ms",
        "",
        "",
        pct(0.50),
        pct(0.99)
    );
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

/// One build under test: its gateway, an MCP session on it, and its label.
struct Build {
    label: &'static str,
    gw: Arc<Gateway>,
    client: reqwest::Client,
    sid: String,
}

impl Build {
    async fn start(label: &'static str, bin: &str, stand_in: &str, apps: &[&str]) -> Self {
        let gw = Arc::new(gateway(stand_in, apps, bin).await);
        let (client, sid) = session(&gw).await;
        let build = Self {
            label,
            gw,
            client,
            sid,
        };
        let listed = build.send("tools/list", json!({})).await;
        println!(
            "{label}: tools/list answers {} tools in {} bytes",
            listed.matches("\"inputSchema\"").count(),
            listed.len()
        );
        let check = build.call("github_get_me").await;
        assert!(
            check.contains("octocat") && !check.contains("\"isError\":true"),
            "{check}"
        );
        build
    }

    async fn send(&self, method: &str, params: Value) -> String {
        mcp(
            &self.client,
            &self.gw,
            &self.sid,
            json!({"jsonrpc": "2.0", "id": next_id(), "method": method, "params": params}),
        )
        .await
    }

    async fn call(&self, tool: &str) -> String {
        self.send("tools/call", json!({"name": tool, "arguments": {}}))
            .await
    }

    /// The scenario `name` as a repeatable call on this build.
    fn scenario(
        self: &Arc<Self>,
        name: &'static str,
    ) -> impl Fn() -> BoxedCall + Send + Sync + 'static {
        let build = Arc::clone(self);
        move || {
            let build = Arc::clone(&build);
            Box::pin(async move {
                match name {
                    "tools/list" => {
                        build.send("tools/list", json!({})).await;
                    }
                    "tools/list (2026-07-28)" => {
                        let body = mcp_stateless(&build.client, &build.gw, "tools/list").await;
                        assert!(body.contains("github_get_me"), "{body}");
                    }
                    "tools/call github_get_me" => {
                        let body = build.call("github_get_me").await;
                        assert!(body.contains("octocat"), "{body}");
                    }
                    _ => {
                        let body = build.call("zendesk_get_me").await;
                        assert!(body.contains("Johnny Agent"), "{body}");
                    }
                }
            })
        }
    }
}

type BoxedCall = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

#[tokio::main]
async fn main() {
    let rate = env_u64("BENCH_RATE", 500);
    let secs = env_u64("BENCH_SECS", 10);
    let workers = env_u64("BENCH_WORKERS", 32);
    let apps_env =
        std::env::var("BENCH_APPS").unwrap_or_else(|_| "github,slack,zoho-mail,zendesk".to_owned());
    let apps: Vec<&str> = apps_env.split(',').map(str::trim).collect();
    assert!(apps.contains(&"github"), "BENCH_APPS must include github");
    let stand_in = github_stand_in().await;
    println!("apps {apps_env}");
    let mut builds = Vec::new();
    if let Ok(bin) = std::env::var("BENCH_BASELINE_BIN") {
        builds.push(Arc::new(
            Build::start("baseline", &bin, &stand_in, &apps).await,
        ));
    }
    let this = env!("CARGO_BIN_EXE_assistiv");
    builds.push(Arc::new(
        Build::start("this build", this, &stand_in, &apps).await,
    ));

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
    let mut scenarios = vec![
        "tools/list",
        "tools/list (2026-07-28)",
        "tools/call github_get_me",
    ];
    if apps.contains(&"zendesk") {
        scenarios.push("tools/call zendesk_get_me");
    }

    let run = open_loop(rate, secs, direct.clone()).await;
    report_open("direct GET /user on the stand-in", rate, run, None);
    for name in &scenarios {
        for build in &builds {
            let cpu = build.gw.cpu_time();
            let run = open_loop(rate, secs, build.scenario(name)).await;
            let label = format!("MCP {name} [{}]", build.label);
            report_open(&label, rate, run, Some(build.gw.cpu_time() - cpu));
        }
    }
    let (l, e) = saturate(workers, secs, direct).await;
    report("direct GET /user on the stand-in", None, l, e, None);
    for name in &scenarios {
        for build in &builds {
            let cpu = build.gw.cpu_time();
            let (l, e) = saturate(workers, secs, build.scenario(name)).await;
            let label = format!("MCP {name} [{}]", build.label);
            report(&label, None, l, e, Some(build.gw.cpu_time() - cpu));
        }
    }
}
