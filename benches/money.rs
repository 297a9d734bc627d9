//! Reserve+settle throughput on SQLite and PostgreSQL: the hot path every paid
//! operation takes (two transactions, ledger rows, outbox events).
//!
//! `cargo bench --bench money` (PostgreSQL at `TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432`; `BENCH_OPS`, `BENCH_CONCURRENCY` tune it,
//! `BENCH_BACKENDS=sqlite` or `=postgres` runs one).

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use assistiv::billing::budgets::{self, Actor, BudgetInput};
use assistiv::billing::{Money, Period, SharedClock, SystemClock, holds};
use assistiv::config::Config;
use assistiv::store::Db;
use assistiv::tenancy::end_users::{self, CreateEndUser};
use assistiv::tenancy::platforms::{self, CreatePlatform};
use secrecy::SecretString;
use sqlx::Connection;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn run(label: &str, config: Config, ops: usize, concurrency: usize) {
    let db = Db::connect(&config).await.expect("connect");
    db.migrate().await.expect("migrate");
    let clock: SharedClock = Arc::new(SystemClock);
    let platform = platforms::create(
        &db,
        CreatePlatform {
            name: format!("bench-{}", uuid::Uuid::new_v4().simple()),
            display_name: None,
            wallet: None,
        },
    )
    .await
    .expect("platform");
    let pid = platform.platform.id;
    let actor = Actor("bench".into());
    let mut users = Vec::new();
    for i in 0..concurrency {
        let request = CreateEndUser {
            external_id: format!("user-{i}"),
            display_name: None,
            metadata: None,
            budget: None,
            rate_limits: None,
        };
        let (user, _) = end_users::create_or_get(&db, &clock, pid, request, &actor)
            .await
            .expect("user");
        let input = BudgetInput {
            max_usd: serde_json::Number::from(1_000_000),
            period: Period::Monthly,
            auto_replenish: None,
            replenish_amount: None,
            low_balance_threshold: None,
        };
        budgets::create(&db, &clock, pid, user.end_user.id, &input, &actor)
            .await
            .expect("budget");
        users.push(user.end_user.id);
    }

    let per_task = ops / concurrency;
    let started = Instant::now();
    let tasks = users.into_iter().map(|euid| {
        let (db, clock) = (db.clone(), clock.clone());
        tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_task);
            for _ in 0..per_task {
                let t = Instant::now();
                let amount = Money::from_micros(1_000);
                let hold = holds::reserve(
                    &db,
                    &clock,
                    pid,
                    euid,
                    amount,
                    "bench",
                    Duration::from_secs(60),
                )
                .await
                .expect("reserve");
                holds::settle(&db, &clock, &hold, amount)
                    .await
                    .expect("settle");
                latencies.push(t.elapsed());
            }
            latencies
        })
    });
    let mut latencies: Vec<Duration> = Vec::new();
    for task in futures::future::join_all(tasks).await {
        latencies.extend(task.expect("task"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{label:<10} {:>6} reserve+settle pairs, {concurrency:>3} concurrent: {:>7.0} pairs/s   p50 {:>6.2} ms   p99 {:>6.2} ms",
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
    db.close().await;
}

#[tokio::main]
async fn main() {
    let ops = env_usize("BENCH_OPS", 20_000);
    let concurrency = env_usize("BENCH_CONCURRENCY", 16);

    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let dir = tempfile::tempdir().expect("temp dir");
    if backends.contains("sqlite") {
        let sqlite = Config::for_data_dir(dir.path().to_path_buf());
        run("sqlite", sqlite, ops, concurrency).await;
    }
    if !backends.contains("postgres") {
        return;
    }

    let base = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let name = format!("assistiv_bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres"))
        .await
        .expect("PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .expect("create db");
    let mut postgres = Config::for_data_dir(dir.path().to_path_buf());
    postgres.database_url = Some(SecretString::from(format!("{base}/{name}")));
    postgres.database_max_connections = 16;
    run("postgres", postgres, ops, concurrency).await;
    sqlx::query(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .expect("drop db");
}
