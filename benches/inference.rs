//! The inference plane's overhead, side by side in one run on the same local
//! upstream (the OpenAI stand-in of `assistiv-llm`, no delay): the direct call
//! and the gateway (SQLite; budget hold and settlement, RPM/TPM limits, the
//! usage log all on), non-streamed `chat.completions`. Measured:
//!
//! 1. CPU per request: this process's CPU time (`/proc/self/stat`) over N
//!    sequential calls through the gateway, minus the same N calls made directly
//!    (the client and the upstream run in this process too);
//! 2. added latency, p50 / p99, in open loop at 500 and 1,000 requests per
//!    second (requests start on schedule whether or not earlier ones finished);
//! 3. saturation: requests per second with 64 callers in closed loop;
//! 4. time to first token of a stream, direct and through the gateway.
//!
//! `cargo bench --bench inference` (`BENCH_SECONDS`, default 5; `BENCH_CALLS`,
//! default 3000). LiteLLM is not measured here: no LiteLLM install was at hand.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

mod support;

use assistiv::config::Config;
use assistiv::startup::Application;
use assistiv_llm::stand_in::{StandIn, StandInKind};
use secrecy::SecretString;
use serde_json::{Value, json};
use support::{cpu_time, ms};
use tokio::sync::Semaphore;

const ADMIN: &str = "bench-admin-token-0123456789";

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
    async fn call(&self, body: &Value) -> Duration {
        let started = Instant::now();
        let response = self
            .client
            .post(&self.url)
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        response.bytes().await.unwrap();
        started.elapsed()
    }

    fn body(&self) -> Value {
        json!({"model": self.model, "max_tokens": 32,
               "messages": [{"role": "user", "content": "ping the gateway"}]})
    }

    async fn ttft(&self) -> Duration {
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
            .unwrap();
        loop {
            let chunk = response.chunk().await.unwrap().unwrap();
            if String::from_utf8_lossy(&chunk).contains("\"content\":\"ping") {
                return started.elapsed();
            }
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Sequential calls: CPU time used and the latencies.
async fn sequential(target: &Target, calls: u64) -> (Duration, Vec<Duration>) {
    let body = target.body();
    let cpu = cpu_time();
    let mut latencies = Vec::with_capacity(calls as usize);
    for _ in 0..calls {
        latencies.push(target.call(&body).await);
    }
    latencies.sort();
    (cpu_time() - cpu, latencies)
}

/// Open loop at `rate` per second for `seconds`: sorted latencies.
async fn open_loop(target: &Target, rate: u64, seconds: u64) -> Vec<Duration> {
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
    let mut latencies = Vec::with_capacity(tasks.len());
    for task in tasks {
        latencies.push(task.await.unwrap());
    }
    latencies.sort();
    latencies
}

/// Closed loop with `callers` concurrent callers for `seconds`: requests per second.
async fn saturation(target: &Target, callers: usize, seconds: u64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let gate = Arc::new(Semaphore::new(callers));
    let body = Arc::new(target.body());
    let mut tasks = Vec::new();
    let started = Instant::now();
    while Instant::now() < deadline {
        let permit = Arc::clone(&gate).acquire_owned().await.unwrap();
        let (target, body) = (target.clone(), Arc::clone(&body));
        tasks.push(tokio::spawn(async move {
            target.call(&body).await;
            drop(permit);
        }));
    }
    let count = tasks.len();
    for task in tasks {
        task.await.unwrap();
    }
    count as f64 / started.elapsed().as_secs_f64()
}

/// A gateway on SQLite, serving, with the upstream configured and a funded user.
async fn gateway(upstream: &StandIn) -> Target {
    let dir = tempfile::tempdir().unwrap().keep();
    let mut config = Config::for_data_dir(dir);
    config.admin_token = Some(SecretString::from(ADMIN));
    config.mock_provider = false;
    let app = Application::build(config).await.unwrap();
    let created = app.provisioned.as_ref().unwrap();
    let (pid, pkey) = (created.platform.id, created.api_key.raw_key.clone());
    let base = format!("http://{}", app.addr().unwrap());
    tokio::spawn(app.run_until(std::future::pending()));
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

    // Warm both paths (connections, caches).
    sequential(&direct, 200).await;
    sequential(&through, 200).await;

    println!("inference bench: {calls} sequential calls, {seconds} s per load step, SQLite\n");
    let (direct_cpu, direct_lat) = sequential(&direct, calls).await;
    let (gateway_cpu, gateway_lat) = sequential(&through, calls).await;
    let per_call = gateway_cpu.saturating_sub(direct_cpu) / calls as u32;
    println!(
        "sequential           p50 direct {}  gateway {}",
        ms(percentile(&direct_lat, 0.5)),
        ms(percentile(&gateway_lat, 0.5))
    );
    println!(
        "gateway CPU per non-streamed completion: {} (process CPU {} vs {} direct)",
        ms(per_call),
        ms(gateway_cpu),
        ms(direct_cpu)
    );

    for rate in [500, 1000] {
        let d = open_loop(&direct, rate, seconds).await;
        let g = open_loop(&through, rate, seconds).await;
        println!(
            "open loop {rate:>5}/s   direct p50 {} p99 {}   gateway p50 {} p99 {}   added p50 {} p99 {}",
            ms(percentile(&d, 0.5)),
            ms(percentile(&d, 0.99)),
            ms(percentile(&g, 0.5)),
            ms(percentile(&g, 0.99)),
            ms(percentile(&g, 0.5).saturating_sub(percentile(&d, 0.5))),
            ms(percentile(&g, 0.99).saturating_sub(percentile(&d, 0.99))),
        );
    }

    let direct_rps = saturation(&direct, 64, seconds).await;
    let gateway_rps = saturation(&through, 64, seconds).await;
    println!(
        "saturation (64 callers)   direct {direct_rps:.0} req/s   gateway {gateway_rps:.0} req/s"
    );

    let mut direct_ttft = Vec::new();
    let mut gateway_ttft = Vec::new();
    for _ in 0..200 {
        direct_ttft.push(direct.ttft().await);
        gateway_ttft.push(through.ttft().await);
    }
    direct_ttft.sort();
    gateway_ttft.sort();
    println!(
        "stream TTFT p50   direct {}   gateway {}   added {}",
        ms(percentile(&direct_ttft, 0.5)),
        ms(percentile(&gateway_ttft, 0.5)),
        ms(percentile(&gateway_ttft, 0.5).saturating_sub(percentile(&direct_ttft, 0.5)))
    );
}
