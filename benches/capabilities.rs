//! Capability search over a generated catalog of 1,000 providers (seeded; names,
//! descriptions and shelves drawn from a skewed vocabulary, so common words match
//! hundreds of providers and rare ones a few). Measured:
//!
//! 1. the in-memory search itself (`browse::search` on the snapshot, with a
//!    policy that has a denylist, a ceiling and a rating bar), sequential;
//! 2. `POST /v1/capabilities/search` end to end (auth, the platform's policy read,
//!    search, JSON) on the gateway over SQLite, sequential.
//!
//! `cargo bench --bench capabilities` (`BENCH_PROVIDERS`, `BENCH_QUERIES`).

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use assistiv::billing::Money;
use assistiv::capabilities::browse;
use assistiv::capabilities::catalog::Catalog;
use assistiv::capabilities::policy::{Mode, Policy};
use assistiv::capabilities::snapshot::{Availability, Snapshot};
use assistiv::config::Config;
use assistiv::startup::Application;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use secrecy::SecretString;
use serde_json::json;

const WORDS: [&str; 24] = [
    "image",
    "photo",
    "translate",
    "weather",
    "court",
    "legal",
    "score",
    "football",
    "email",
    "verify",
    "address",
    "scrape",
    "page",
    "search",
    "news",
    "stock",
    "price",
    "voice",
    "text",
    "document",
    "invoice",
    "company",
    "flight",
    "map",
];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A word: common ones favoured, then one of 2,000 rare made-up words.
fn word(rng: &mut StdRng) -> String {
    if rng.random_bool(0.6) {
        let i = (rng.random::<f64>().powi(2) * WORDS.len() as f64) as usize;
        WORDS[i.min(WORDS.len() - 1)].to_owned()
    } else {
        format!("rare{}", rng.random_range(0..2000))
    }
}

fn sentence(rng: &mut StdRng, n: usize) -> String {
    (0..n).map(|_| word(rng)).collect::<Vec<_>>().join(" ")
}

/// shelves.toml (the shipped one) and a providers.toml of `n` providers.
fn generate(dir: &std::path::Path, n: usize) -> (String, String) {
    let shelves = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/capabilities/shelves.toml"
    ))
    .unwrap();
    let slugs: Vec<String> = shelves
        .lines()
        .filter_map(|l| l.strip_prefix("slug = \""))
        .map(|s| s.trim_end_matches('"').to_owned())
        .collect();
    let mut rng = StdRng::seed_from_u64(7);
    let mut providers = String::new();
    for i in 0..n {
        let shelf = &slugs[rng.random_range(0..slugs.len())];
        let price = f64::from(rng.random_range(1..100_000)) / 1e6;
        write!(
            providers,
            "[[provider]]\nuid = \"cap_bench_{i:04}\"\nname = \"{} {}\"\ncapability = \"{shelf}\"\n\
             description = \"{}\"\ncall_method = \"POST\"\nendpoint = \"http://127.0.0.1:9/{i}\"\n\
             pricing = {{ kind = \"fixed\", price_usd = {price} }}\ninput_example = {{}}\n\
             rating = {}\nverified = {}\n\n",
            word(&mut rng),
            word(&mut rng),
            sentence(&mut rng, 12),
            f64::from(rng.random_range(10..=50)) / 10.0,
            rng.random_bool(0.5)
        )
        .unwrap();
    }
    std::fs::write(dir.join("shelves.toml"), &shelves).unwrap();
    std::fs::write(dir.join("providers.toml"), &providers).unwrap();
    (shelves, providers)
}

fn queries(n: usize) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(11);
    (0..n)
        .map(|_| {
            let words = rng.random_range(1..=4);
            sentence(&mut rng, words)
        })
        .collect()
}

fn percentiles(mut latencies: Vec<Duration>) -> (f64, f64, f64) {
    latencies.sort();
    let pct = |p: f64| {
        latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)].as_secs_f64()
            * 1e3
    };
    (pct(0.50), pct(0.99), pct(1.0))
}

fn report(label: &str, latencies: Vec<Duration>, hits: usize) {
    let n = latencies.len();
    let (p50, p99, max) = percentiles(latencies);
    println!(
        "{label}: {n} queries, p50 {p50:.3} ms, p99 {p99:.3} ms, max {max:.3} ms, {:.1} hits/query",
        hits as f64 / n as f64
    );
}

#[tokio::main]
async fn main() {
    let providers = env_usize("BENCH_PROVIDERS", 1000);
    let count = env_usize("BENCH_QUERIES", 2000);
    let dir = tempfile::tempdir().unwrap();
    let catalog_dir = dir.path().join("catalog");
    std::fs::create_dir_all(&catalog_dir).unwrap();
    let (shelves, list) = generate(&catalog_dir, providers);
    let queries = queries(count);

    // 1. In memory.
    let catalog = Catalog::parse(("shelves.toml", &shelves), ("providers.toml", &list)).unwrap();
    let snapshot = Snapshot::build(&catalog, &[]);
    let policy = Policy {
        enabled: true,
        mode: Mode::Open,
        denylist: (0..providers)
            .step_by(9)
            .map(|i| format!("cap_bench_{i:04}"))
            .collect(),
        max_cost_per_call: Some(Money::from_micros(60_000)),
        min_rating: Some(2.0),
        ..Policy::default()
    };
    let availability = |_: &assistiv::capabilities::snapshot::Provider| Availability::Unknown;
    for q in queries.iter().take(200) {
        let _ = browse::search(&snapshot, q, Some(20), &policy, &availability);
    }
    let mut latencies = Vec::with_capacity(count);
    let mut hits = 0;
    for q in &queries {
        let started = Instant::now();
        let found = browse::search(&snapshot, q, Some(20), &policy, &availability).unwrap();
        latencies.push(started.elapsed());
        hits += found.len();
    }
    report(
        &format!("in-memory search over {providers} providers"),
        latencies,
        hits,
    );

    // 2. End to end over HTTP, SQLite.
    let mut config = Config::for_data_dir(dir.path().join("data"));
    config.admin_token = Some(SecretString::from("bench-admin-token-0123456789"));
    config.capabilities_dir = Some(catalog_dir);
    let app = Application::build(config).await.unwrap();
    let url = format!("http://{}", app.addr().unwrap());
    let created = app.provisioned.as_ref().unwrap();
    let (pid, key) = (created.platform.id, created.api_key.raw_key.clone());
    tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::new();
    let enabled = client
        .put(format!("{url}/admin/v1/platforms/{pid}/capabilities"))
        .bearer_auth("bench-admin-token-0123456789")
        .json(&json!({"enabled": true, "max_cost_per_call_usd": 0.06, "min_rating": 2.0}))
        .send()
        .await
        .unwrap();
    assert!(enabled.status().is_success());
    let user: serde_json::Value = client
        .post(format!("{url}/v1/platforms/{pid}/end-users"))
        .bearer_auth(&key)
        .json(&json!({"external_id": "bench"}))
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
    let search = |q: &str| {
        client
            .post(format!("{url}/v1/capabilities/search"))
            .bearer_auth(&eu_key)
            .json(&json!({"query": q, "limit": 20}))
            .send()
    };
    for q in queries.iter().take(200) {
        search(q).await.unwrap().bytes().await.unwrap();
    }
    let mut latencies = Vec::with_capacity(count);
    let mut hits = 0;
    for q in &queries {
        let started = Instant::now();
        let body: serde_json::Value = search(q).await.unwrap().json().await.unwrap();
        latencies.push(started.elapsed());
        hits += body["data"].as_array().map_or(0, Vec::len);
    }
    report(
        &format!("POST /v1/capabilities/search over {providers} providers (SQLite)"),
        latencies,
        hits,
    );
}
