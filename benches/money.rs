//! Reserve+settle throughput on SQLite and PostgreSQL: the hot path every paid
//! operation takes (two transactions, ledger rows, outbox events).
//!
//! `cargo bench --bench money` (PostgreSQL at `TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432`; `BENCH_OPS`, `BENCH_CONCURRENCY` tune it,
//! `BENCH_BACKENDS=sqlite` or `=postgres` runs one).

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use assistiv::billing::{SharedClock, SystemClock};
use assistiv::config::Config;
use assistiv::store::Db;
use assistiv::tenancy::platforms::{self, CreatePlatform};
use secrecy::SecretString;
use sqlx::Connection;

mod support;

use support::money::{pairs, quantile, users_with_budgets};

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
    let users = users_with_budgets(&db, &clock, pid, concurrency).await;
    let (latencies, elapsed) = pairs(&db, &clock, pid, &users, ops / concurrency).await;
    println!(
        "{label:<10} {:>6} reserve+settle pairs, {concurrency:>3} concurrent: {:>7.0} pairs/s   p50 {:>6.2} ms   p99 {:>6.2} ms",
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        quantile(&latencies, 0.50).as_secs_f64() * 1e3,
        quantile(&latencies, 0.99).as_secs_f64() * 1e3,
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
