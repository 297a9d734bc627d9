//! `find_skill` over a catalog of 10,000 skills, on SQLite (FTS5) and PostgreSQL
//! (tsvector + GIN). The catalog is published through the real path (folder →
//! sealed blob → catalog row); skills draw their words from a skewed vocabulary,
//! so common words match thousands of skills and rare ones a handful. Measured:
//! the search query alone (sequential), and `tools/call find_skill` over MCP at a
//! fixed rate (latency from each request's scheduled start) with rate limits and
//! usage logging on.
//!
//! `cargo bench --bench skills` (`BENCH_SKILLS`, `BENCH_QUERIES`, `BENCH_RATE`,
//! `BENCH_SECS`; PostgreSQL at `TEST_POSTGRES_URL`, skipped with `BENCH_NO_POSTGRES=1`,
//! its database kept for inspection with `BENCH_KEEP_DB=1`).

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use assistiv::config::Config;
use assistiv::skills::folder::{Folder, SkillFile};
use assistiv::skills::{Owner, Source};
use assistiv::startup::Application;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::Connection;

const ACCEPT: &str = "application/json, text/event-stream";
const PROTOCOL: &str = "2025-06-18";
const COMMON: [&str; 24] = [
    "file",
    "data",
    "report",
    "pdf",
    "api",
    "csv",
    "image",
    "email",
    "deploy",
    "test",
    "search",
    "convert",
    "summary",
    "invoice",
    "chart",
    "table",
    "json",
    "backup",
    "calendar",
    "translate",
    "resize",
    "merge",
    "schedule",
    "review",
];

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// 3,000 made-up words after the common ones; index draws favour the front.
struct Vocabulary(Vec<String>);

impl Vocabulary {
    fn new() -> Self {
        let syllables = [
            "ka", "lo", "mi", "ter", "zan", "qu", "ri", "bel", "dor", "fy", "ex", "on",
        ];
        let mut words: Vec<String> = COMMON.iter().map(|w| (*w).to_owned()).collect();
        let mut i = 0usize;
        while words.len() < COMMON.len() + 3000 {
            let w = format!(
                "{}{}{}",
                syllables[i % 12],
                syllables[(i / 12) % 12],
                syllables[(i / 144) % 12]
            );
            words.push(w);
            i += 1;
        }
        Self(words)
    }

    fn draw(&self, rng: &mut StdRng) -> &str {
        let u: f64 = rng.random();
        &self.0[((u * u * u) * self.0.len() as f64) as usize]
    }

    fn sentence(&self, rng: &mut StdRng, n: usize) -> String {
        (0..n).map(|_| self.draw(rng)).collect::<Vec<_>>().join(" ")
    }
}

fn skill_folder(i: usize, vocabulary: &Vocabulary, rng: &mut StdRng) -> Folder {
    let name = format!("skill-{i}-{}", vocabulary.draw(rng));
    let description = vocabulary.sentence(rng, 14);
    let body = (0..8)
        .map(|_| vocabulary.sentence(rng, 40))
        .collect::<Vec<_>>()
        .join("\n\n");
    let skill_md = format!(
        "---\nname: {name}\ndescription: \"{description}\"\nversion: \"1\"\n---\n\n{body}\n"
    );
    let limits = assistiv::skills::folder::Limits {
        zip_bytes: 1 << 20,
        unpacked_bytes: 1 << 20,
        files: 10,
        file_bytes: 1 << 20,
    };
    Folder::new(
        vec![
            SkillFile {
                path: "SKILL.md".into(),
                content: skill_md.into_bytes(),
            },
            SkillFile {
                path: "run.py".into(),
                content: format!("print({i})\n").into_bytes(),
            },
        ],
        &limits,
    )
    .unwrap()
}

/// An MCP session on `endpoint`: its id.
async fn session(client: &reqwest::Client, endpoint: &str, key: &str) -> String {
    let response = client
        .post(endpoint)
        .bearer_auth(key)
        .header("Accept", ACCEPT)
        .json(&json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}))
        .send()
        .await
        .unwrap();
    let id = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    response.text().await.unwrap();
    client
        .post(endpoint)
        .bearer_auth(key)
        .header("Accept", ACCEPT)
        .header("Mcp-Session-Id", &id)
        .header("MCP-Protocol-Version", PROTOCOL)
        .json(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .send()
        .await
        .unwrap();
    id
}

fn percentiles(mut latencies: Vec<Duration>) -> (f64, f64, f64) {
    latencies.sort();
    let pct = |p: f64| {
        latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)].as_secs_f64()
            * 1e3
    };
    (pct(0.50), pct(0.99), pct(1.0))
}

async fn run(label: &str, mut config: Config) {
    let skills = env_u64("BENCH_SKILLS", 10_000) as usize;
    let queries = env_u64("BENCH_QUERIES", 1_000) as usize;
    let rate = env_u64("BENCH_RATE", 50);
    let secs = env_u64("BENCH_SECS", 10);
    config.admin_token = Some(SecretString::from("bench-admin-token-0123456789"));
    let app = Application::build(config).await.unwrap();
    let state = app.state().clone();
    let url = format!("http://{}", app.addr().unwrap());
    let created = app.provisioned.as_ref().unwrap();
    let (pid, key) = (created.platform.id, created.api_key.raw_key.clone());
    tokio::spawn(app.run_until(std::future::pending()));

    // Publish the catalog: public skills, and a tenth private to the platform.
    let vocabulary = Arc::new(Vocabulary::new());
    let started = Instant::now();
    let workers = 8;
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let (state, vocabulary) = (state.clone(), Arc::clone(&vocabulary));
            tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(w as u64);
                for i in (w..skills).step_by(workers) {
                    let folder = skill_folder(i, &vocabulary, &mut rng);
                    let (owner, source) = if i % 10 == 0 {
                        (Owner::Platform(pid), Source::Platform)
                    } else {
                        (Owner::Public, Source::Operator)
                    };
                    state
                        .skills
                        .publish_folder(folder, owner, source)
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let publish = started.elapsed();
    // Statistics as autovacuum (PostgreSQL) keeps them after a bulk load, so the
    // planner sees the catalog it serves.
    match state.db.write() {
        assistiv::store::Pool::Sqlite(pool) => {
            sqlx::query("ANALYZE").execute(pool).await.map(|_| ())
        }
        assistiv::store::Pool::Postgres(pool) => {
            sqlx::query("ANALYZE").execute(pool).await.map(|_| ())
        }
    }
    .unwrap();
    println!(
        "{label:<9} published {skills} skills in {:.1} s ({:.0} skills/s)",
        publish.as_secs_f64(),
        skills as f64 / publish.as_secs_f64()
    );

    // Queries: 1-3 words from the same skewed vocabulary (so many are common).
    let mut rng = StdRng::seed_from_u64(99);
    let texts: Vec<String> = (0..queries)
        .map(|_| {
            let n = rng.random_range(1..=3);
            vocabulary.sentence(&mut rng, n)
        })
        .collect();
    let mut latencies = Vec::with_capacity(queries);
    let mut hits = 0usize;
    for text in &texts {
        let t = Instant::now();
        hits += state.skills.find(pid, text, 10).await.unwrap().len();
        latencies.push(t.elapsed());
    }
    let (p50, p99, max) = percentiles(latencies);
    println!(
        "{label:<9} search query alone      {queries:>6} sequential        p50 {p50:>6.2} ms  p99 {p99:>6.2} ms  max {max:>7.2} ms  ({:.1} hits/query)",
        hits as f64 / queries as f64
    );

    // The MCP tool over HTTP, open loop.
    let client = reqwest::Client::new();
    client
        .patch(format!("{url}/v1/platforms/{pid}"))
        .bearer_auth(&key)
        .json(&json!({"skills_enabled": true}))
        .send()
        .await
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
    let endpoint = Arc::new(format!("{url}/mcp/skills"));
    let session = session(&client, &endpoint, &eu_key).await;
    let texts = Arc::new(texts);
    let start = tokio::time::Instant::now();
    let total = rate * secs;
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(due).await;
        let (client, endpoint, eu_key, texts, session) = (
            client.clone(),
            Arc::clone(&endpoint),
            eu_key.clone(),
            Arc::clone(&texts),
            session.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let body = client
                .post(endpoint.as_str())
                .bearer_auth(&eu_key)
                .header("Accept", ACCEPT)
                .header("Mcp-Session-Id", session)
                .header("MCP-Protocol-Version", PROTOCOL)
                .json(&json!({"jsonrpc": "2.0", "id": i + 10, "method": "tools/call",
                    "params": {"name": "find_skill", "arguments": {"query": texts[i as usize % texts.len()]}}}))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(body.contains("\"isError\":false"), "{body}");
            due.elapsed()
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    for task in tasks {
        latencies.push(task.await.unwrap());
    }
    let (p50, p99, max) = percentiles(latencies);
    println!(
        "{label:<9} MCP tools/call find_skill {total:>5} at {rate} req/s     p50 {p50:>6.2} ms  p99 {p99:>6.2} ms  max {max:>7.2} ms"
    );
    state.db.close().await;
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    run("sqlite", Config::for_data_dir(dir.path().join("sqlite"))).await;

    if std::env::var("BENCH_NO_POSTGRES").is_ok() {
        return;
    }
    let base = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let name = format!("assistiv_bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres"))
        .await
        .expect("PostgreSQL at TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .unwrap();
    let mut postgres = Config::for_data_dir(dir.path().join("postgres"));
    postgres.database_url = Some(SecretString::from(format!("{base}/{name}")));
    postgres.database_max_connections = 16;
    run("postgres", postgres).await;
    if std::env::var_os("BENCH_KEEP_DB").is_some() {
        println!("kept database {name} (BENCH_KEEP_DB)");
        return;
    }
    sqlx::query(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
}
