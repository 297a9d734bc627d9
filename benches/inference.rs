//! The inference plane's overhead, side by side in one run on the same local
//! upstream (the OpenAI stand-in of `assistiv-llm`, no delay): the direct call,
//! the gateway (SQLite; budget hold and settlement, RPM/TPM limits, the usage
//! log all on) and LiteLLM's proxy, non-streamed `chat.completions`. Measured:
//!
//! 1. CPU per request: this process's CPU time (`/proc/self/stat`) over N
//!    sequential calls through the gateway, minus the same N calls made directly
//!    (the client and the upstream run in this process too); for LiteLLM, the
//!    CPU of its process and its children (`/proc/<pid>/stat`) plus this
//!    process's, minus the direct calls', over the same N calls;
//! 2. added latency, p50 / p99, in open loop at 500 and 1,000 requests per
//!    second (requests start on schedule whether or not earlier ones finished);
//! 3. saturation: requests per second with 64 callers in closed loop;
//! 4. time to first token of a stream, direct, through the gateway and through
//!    LiteLLM.
//!
//! LiteLLM is the `litellm` proxy CLI of the pinned `litellm[proxy]` in `.venv`
//! (`tests/peers/requirements.txt`; `scripts/test` installs it, or `python3 -m
//! venv .venv && .venv/bin/pip install -r tests/peers/requirements.txt`), or the
//! executable named by `BENCH_LITELLM`. It runs as a subprocess with a config
//! file naming one model routed to the stand-in with its key, a master key, no
//! database (so none of its budgets, limits or spend logs), no admin UI, log
//! level ERROR, one uvicorn worker. When it is not installed the bench says so
//! in one line and measures the rest. Any request that fails is counted and
//! printed, not timed. Past its saturation LiteLLM goes on serving requests
//! whose callers gave up, so the bench waits for it to be idle before its next
//! step.
//!
//! `cargo bench --bench inference` (`BENCH_SECONDS`, default 5; `BENCH_CALLS`,
//! default 3000).

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod support;

use assistiv_llm::stand_in::{StandIn, StandInKind};
use serde_json::{Value, json};
use support::{cpu_time, cpu_time_of_tree, ms};
use tokio::process::{Child, Command};
use tokio::sync::Semaphore;

const ADMIN: &str = "bench-admin-token-0123456789";
const LITELLM_KEY: &str = "sk-litellm-bench-0123456789";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Clone)]
struct Target {
    client: reqwest::Client,
    url: String,
    key: String,
    model: &'static str,
}

impl Target {
    /// One non-streamed call: its latency, or why it failed.
    async fn call(&self, body: &Value) -> Result<Duration, String> {
        let started = Instant::now();
        let response = self
            .client
            .post(&self.url)
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await
            .map_err(|e| chain(&e))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| chain(&e))?;
        if !status.is_success() {
            return Err(format!("{status}: {}", String::from_utf8_lossy(&bytes)));
        }
        Ok(started.elapsed())
    }

    fn body(&self) -> Value {
        json!({"model": self.model, "max_tokens": 32,
               "messages": [{"role": "user", "content": "ping the gateway"}]})
    }

    async fn ttft(&self) -> Result<Duration, String> {
        let mut body = self.body();
        body["stream"] = json!(true);
        let started = Instant::now();
        let mut response = self
            .client
            .post(&self.url)
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .map_err(|e| chain(&e))?;
        if !response.status().is_success() {
            return Err(response.status().to_string());
        }
        loop {
            let chunk = response
                .chunk()
                .await
                .map_err(|e| chain(&e))?
                .ok_or("the stream ended before the first token")?;
            if String::from_utf8_lossy(&chunk).contains("\"content\":\"ping") {
                return Ok(started.elapsed());
            }
        }
    }
}

/// An error and its sources, on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Latencies of the calls that succeeded (sorted), and the failures.
#[derive(Default)]
struct Outcomes {
    latencies: Vec<Duration>,
    failed: usize,
    first_error: Option<String>,
}

impl Outcomes {
    fn record(&mut self, outcome: Result<Duration, String>) {
        match outcome {
            Ok(latency) => self.latencies.push(latency),
            Err(error) => {
                self.failed += 1;
                self.first_error.get_or_insert(error);
            }
        }
    }

    fn sorted(mut self) -> Self {
        self.latencies.sort();
        self
    }

    /// The `p` percentile of the successful calls (none: every call failed).
    fn p(&self, p: f64) -> Option<Duration> {
        (!self.latencies.is_empty()).then(|| percentile(&self.latencies, p))
    }

    /// The `p` percentile, printed.
    fn at(&self, p: f64) -> String {
        self.p(p).map_or_else(|| "n/a".into(), ms)
    }

    /// How much the `p` percentile exceeds `base`'s, printed.
    fn over(&self, base: &Outcomes, p: f64) -> String {
        match (self.p(p), base.p(p)) {
            (Some(this), Some(base)) => ms(this.saturating_sub(base)),
            _ => "n/a".into(),
        }
    }

    /// "" when every call to `name` succeeded, else how many failed and the first error.
    fn failures(&self, name: &str) -> String {
        match &self.first_error {
            None => String::new(),
            Some(error) => format!(
                "   [{name}: {} of {} failed, not timed; first: {}]",
                self.failed,
                self.failed + self.latencies.len(),
                error.chars().take(160).collect::<String>()
            ),
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Sequential calls: this process's CPU time used and the outcomes.
async fn sequential(target: &Target, calls: u64) -> (Duration, Outcomes) {
    let body = target.body();
    let cpu = cpu_time();
    let mut outcomes = Outcomes::default();
    for _ in 0..calls {
        outcomes.record(target.call(&body).await);
    }
    (cpu_time() - cpu, outcomes.sorted())
}

/// Open loop at `rate` per second for `seconds`.
async fn open_loop(target: &Target, rate: u64, seconds: u64) -> Outcomes {
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let total = rate * seconds;
    let body = Arc::new(target.body());
    let started = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        tokio::time::sleep_until(started + interval * i as u32).await;
        let (target, body) = (target.clone(), Arc::clone(&body));
        tasks.push(tokio::spawn(async move { target.call(&body).await }));
    }
    let mut outcomes = Outcomes::default();
    for task in tasks {
        outcomes.record(task.await.unwrap());
    }
    outcomes.sorted()
}

/// Closed loop with `callers` concurrent callers for `seconds`: successful
/// requests per second, and the outcomes.
async fn saturation(target: &Target, callers: usize, seconds: u64) -> (f64, Outcomes) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let gate = Arc::new(Semaphore::new(callers));
    let body = Arc::new(target.body());
    let mut tasks = Vec::new();
    let started = Instant::now();
    while Instant::now() < deadline {
        let permit = Arc::clone(&gate).acquire_owned().await.unwrap();
        let (target, body) = (target.clone(), Arc::clone(&body));
        tasks.push(tokio::spawn(async move {
            let outcome = target.call(&body).await;
            drop(permit);
            outcome
        }));
    }
    let mut outcomes = Outcomes::default();
    for task in tasks {
        outcomes.record(task.await.unwrap());
    }
    let rate = outcomes.latencies.len() as f64 / started.elapsed().as_secs_f64();
    (rate, outcomes.sorted())
}

/// A gateway on SQLite, serving, with the upstream configured and a funded user.
async fn gateway(upstream: &StandIn) -> Target {
    let (base, pid, pkey) = support::serve_gateway(ADMIN).await;
    let client = reqwest::Client::new();
    let reply: Value = client
        .post(format!("{base}/admin/v1/platforms/{pid}/llm-providers"))
        .bearer_auth(ADMIN)
        .json(
            &json!({"provider": "openai", "api_key": "sk-bench", "base_url": upstream.base_url()}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(reply["data"]["id"].is_string(), "{reply}");
    let reply: Value = client
        .post(format!("{base}/v1/platforms/{pid}/end-users"))
        .bearer_auth(&pkey)
        .json(
            &json!({"external_id": "bench", "budget": {"max_usd": 1_000_000, "period": "one_time"},
                      "rate_limits": {"rpm_limit": 1_000_000, "tpm_limit": 100_000_000}}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = reply["data"]["api_key"]["raw_key"]
        .as_str()
        .unwrap()
        .to_owned();
    Target {
        client,
        url: format!("{base}/v1/chat/completions"),
        key,
        model: "gpt-4o-mini",
    }
}

/// LiteLLM's proxy, serving, with the upstream as its one model.
struct LiteLlm {
    target: Target,
    version: String,
    /// The `litellm` process (killed on drop).
    process: Child,
    _dir: tempfile::TempDir,
}

impl LiteLlm {
    /// CPU time of the LiteLLM process and its children so far.
    fn cpu_time(&self) -> Duration {
        cpu_time_of_tree(self.process.id().unwrap())
    }

    /// Waits, up to 120 s, until LiteLLM is idle (under 50 ms of CPU in a
    /// second): past its saturation it goes on serving requests whose callers
    /// gave up, which would weigh on the next step. Says so when it is not.
    async fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let before = self.cpu_time();
            tokio::time::sleep(Duration::from_secs(1)).await;
            if self.cpu_time() - before < Duration::from_millis(50) {
                return;
            }
            if Instant::now() > deadline {
                println!("(LiteLLM still busy 120 s after the step; going on)");
                return;
            }
        }
    }
}

/// The `litellm` executable: `BENCH_LITELLM`, else the one in `.venv`.
fn litellm_executable() -> PathBuf {
    std::env::var_os("BENCH_LITELLM").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/litellm"),
        PathBuf::from,
    )
}

/// Starts LiteLLM's proxy, or says in one line why it is not measured.
async fn litellm(upstream: &StandIn) -> Result<LiteLlm, String> {
    let executable = litellm_executable();
    if !executable.exists() {
        return Err(format!(
            "no {} (install the pinned peer: `python3 -m venv .venv && .venv/bin/pip install \
             -r tests/peers/requirements.txt`, as scripts/test does, or set BENCH_LITELLM)",
            executable.display()
        ));
    }
    let version = std::process::Command::new(executable.with_file_name("python"))
        .args([
            "-c",
            "import importlib.metadata as m; print(m.version('litellm'))",
        ])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_else(|| "(version unknown)".into());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "model_list:\n  - model_name: gpt-4o-mini\n    litellm_params:\n      \
             model: openai/gpt-4o-mini\n      api_base: {}\n      api_key: sk-bench\n\
             general_settings:\n  master_key: {LITELLM_KEY}\n",
            upstream.base_url()
        ),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = dir.path().join("litellm.log");
    let mut process = Command::new(&executable)
        .arg("--config")
        .arg(&config)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--num_workers", "1"])
        .current_dir(dir.path())
        // The bundled model price map, not a fetch from the network.
        .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        .env("LITELLM_LOG", "ERROR")
        .env("DISABLE_ADMIN_UI", "True")
        .env("LITELLM_MODE", "PRODUCTION")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(dir.path().join("litellm.err")).unwrap())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{} did not start: {e}", executable.display()))?;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        // Bounds a run whose requests pile up past LiteLLM's saturation.
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if let Some(status) = process.try_wait().unwrap() {
            let err = std::fs::read_to_string(dir.path().join("litellm.err")).unwrap_or_default();
            let tail: Vec<&str> = err.lines().rev().take(3).collect();
            return Err(format!("litellm exited ({status}): {}", tail.join(" | ")));
        }
        let ready = client
            .get(format!("{base}/health/liveliness"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ready {
            break;
        }
        if Instant::now() > deadline {
            return Err("litellm did not answer /health/liveliness within 180 s".into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let target = Target {
        client,
        url: format!("{base}/v1/chat/completions"),
        key: LITELLM_KEY.into(),
        model: "gpt-4o-mini",
    };
    target
        .call(&target.body())
        .await
        .map_err(|e| format!("litellm answers, but not a completion: {e}"))?;
    Ok(LiteLlm {
        target,
        version,
        process,
        _dir: dir,
    })
}

#[tokio::main]
async fn main() {
    let seconds = env_u64("BENCH_SECONDS", 5);
    let calls = env_u64("BENCH_CALLS", 3000);
    let upstream = StandIn::start(StandInKind::OpenAi, "sk-bench")
        .await
        .unwrap();
    let direct = Target {
        client: reqwest::Client::new(),
        url: format!("{}/chat/completions", upstream.base_url()),
        key: "sk-bench".into(),
        model: "gpt-4o-mini",
    };
    let through = gateway(&upstream).await;
    let litellm = match litellm(&upstream).await {
        Ok(litellm) => Some(litellm),
        Err(why) => {
            println!("LiteLLM: not measured: {why}");
            None
        }
    };

    // Warm every path (connections, caches).
    sequential(&direct, 200).await;
    sequential(&through, 200).await;
    if let Some(litellm) = &litellm {
        sequential(&litellm.target, 200).await;
    }

    println!(
        "inference bench: {calls} sequential calls, {seconds} s per load step, SQLite; load average {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    if let Some(litellm) = &litellm {
        let pid = litellm.process.id().unwrap();
        let processes = 1 + support::descendants_of(pid).len();
        println!(
            "LiteLLM {} proxy: pid {pid}, --num_workers 1, {processes} process{} in its tree, no database",
            litellm.version,
            if processes == 1 { "" } else { "es" }
        );
    }
    println!();
    let (direct_cpu, direct_lat) = sequential(&direct, calls).await;
    let (gateway_cpu, gateway_lat) = sequential(&through, calls).await;
    let per_call = gateway_cpu.saturating_sub(direct_cpu) / calls as u32;
    println!(
        "sequential           p50 direct {}  gateway {}{}{}",
        direct_lat.at(0.5),
        gateway_lat.at(0.5),
        direct_lat.failures("direct"),
        gateway_lat.failures("gateway")
    );
    println!(
        "gateway CPU per non-streamed completion: {} (process CPU {} vs {} direct)",
        ms(per_call),
        ms(gateway_cpu),
        ms(direct_cpu)
    );
    if let Some(litellm) = &litellm {
        litellm.settle().await;
        let before = litellm.cpu_time();
        let (own_cpu, lat) = sequential(&litellm.target, calls).await;
        let its_cpu = litellm.cpu_time() - before;
        let per_call = (its_cpu + own_cpu).saturating_sub(direct_cpu) / calls as u32;
        println!(
            "sequential           p50 LiteLLM {}{}",
            lat.at(0.5),
            lat.failures("LiteLLM")
        );
        println!(
            "LiteLLM CPU per non-streamed completion: {} (its processes {} + this process {} vs {} direct)",
            ms(per_call),
            ms(its_cpu),
            ms(own_cpu),
            ms(direct_cpu)
        );
    }

    for rate in [500, 1000] {
        let d = open_loop(&direct, rate, seconds).await;
        let g = open_loop(&through, rate, seconds).await;
        println!(
            "open loop {rate:>5}/s   direct p50 {} p99 {}   gateway p50 {} p99 {}   added p50 {} p99 {}{}{}",
            d.at(0.5),
            d.at(0.99),
            g.at(0.5),
            g.at(0.99),
            g.over(&d, 0.5),
            g.over(&d, 0.99),
            d.failures("direct"),
            g.failures("gateway"),
        );
        if let Some(litellm) = &litellm {
            let l = open_loop(&litellm.target, rate, seconds).await;
            println!(
                "open loop {rate:>5}/s   LiteLLM p50 {} p99 {}   added p50 {} p99 {}{}",
                l.at(0.5),
                l.at(0.99),
                l.over(&d, 0.5),
                l.over(&d, 0.99),
                l.failures("LiteLLM"),
            );
            litellm.settle().await;
        }
    }

    let (direct_rps, d) = saturation(&direct, 64, seconds).await;
    let (gateway_rps, g) = saturation(&through, 64, seconds).await;
    println!(
        "saturation (64 callers)   direct {direct_rps:.0} req/s   gateway {gateway_rps:.0} req/s{}{}",
        d.failures("direct"),
        g.failures("gateway")
    );
    if let Some(litellm) = &litellm {
        let (rps, l) = saturation(&litellm.target, 64, seconds).await;
        println!(
            "saturation (64 callers)   LiteLLM {rps:.0} req/s{}",
            l.failures("LiteLLM")
        );
        litellm.settle().await;
    }

    let mut direct_ttft = Outcomes::default();
    let mut gateway_ttft = Outcomes::default();
    let mut litellm_ttft = Outcomes::default();
    for _ in 0..200 {
        direct_ttft.record(direct.ttft().await);
        gateway_ttft.record(through.ttft().await);
        if let Some(litellm) = &litellm {
            litellm_ttft.record(litellm.target.ttft().await);
        }
    }
    let (direct_ttft, gateway_ttft) = (direct_ttft.sorted(), gateway_ttft.sorted());
    println!(
        "stream TTFT p50   direct {}   gateway {}   added {}{}{}",
        direct_ttft.at(0.5),
        gateway_ttft.at(0.5),
        gateway_ttft.over(&direct_ttft, 0.5),
        direct_ttft.failures("direct"),
        gateway_ttft.failures("gateway")
    );
    if litellm.is_some() {
        let litellm_ttft = litellm_ttft.sorted();
        println!(
            "stream TTFT p50   LiteLLM {}   added {}{}",
            litellm_ttft.at(0.5),
            litellm_ttft.over(&direct_ttft, 0.5),
            litellm_ttft.failures("LiteLLM")
        );
    }
}
