//! Webhooks: what the outbox's delivery costs the money path, and how fast events
//! go from the outbox to a local receiver (a bare axum server answering 204). One
//! gateway instance per backend.
//!
//! 1. The money path (`BENCH_MONEY_OPS` reserve+settle pairs, `BENCH_MONEY_USERS`
//!    end users at once; each settlement writes one `budget.debited` outbox row
//!    in its own transaction, whatever the webhook configuration), in three
//!    settings:
//!    - `no worker`: on the bare database, no gateway running (as
//!      `benches/money.rs`): the outbox rows are written and nothing reads them;
//!    - `no endpoint`: the gateway's worker running, dispatching each event into
//!      a message (the platform has no endpoint, so no delivery);
//!    - `endpoint`: the same with an enabled endpoint on the platform: each event
//!      is also claimed, signed, posted and its attempt recorded.
//!
//!    `no endpoint` and `endpoint` alternate `BENCH_ROUNDS` times; `no worker`
//!    runs first and last. Printed per run: pairs per second, p50/p99 of a pair,
//!    and this process's CPU time per pair from the first pair until the run's
//!    events are dispatched (and delivered): the gateway with its worker, the
//!    receiver and the load (PostgreSQL's server is another process).
//! 2. Delivery throughput: `BENCH_EVENTS` events written to the outbox in
//!    transactions of 500, `BENCH_CONCURRENCY` attempts in flight, from the first
//!    write to the last 2xx.
//!
//! `cargo bench --bench webhooks` (PostgreSQL at `TEST_POSTGRES_URL`;
//! `BENCH_BACKENDS=sqlite` or `=postgres` runs one).

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use assistiv::billing::{SharedClock, SystemClock, events};
use assistiv::config::Config;
use assistiv::startup::Application;
use assistiv::store::Db;
use assistiv::tenancy::platforms::{self, CreatePlatform};
use assistiv::webhooks::endpoints::EndpointInput;
use axum::Router;
use axum::routing::post;
use secrecy::SecretString;
use sqlx::Connection;
use uuid::Uuid;

mod support;

use support::cpu_time;
use support::money::{pairs, quantile, users_with_budgets};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A receiver counting what it accepts.
async fn receiver() -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    let app = Router::new().route(
        "/hook",
        post(move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::Relaxed);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, count)
}

/// What the money runs share.
struct MoneyRuns {
    label: &'static str,
    ops: usize,
    users: usize,
    clock: SharedClock,
}

impl MoneyRuns {
    /// One run of pairs by `users` of `platform`; `settled` waits until what the
    /// run set off is done (dispatched, delivered). Prints its line.
    async fn run<F: Future<Output = ()>>(
        &self,
        setting: &str,
        db: &Db,
        platform: Uuid,
        users: &[Uuid],
        settled: impl FnOnce() -> F,
    ) {
        let cpu = cpu_time();
        let (latencies, elapsed) =
            pairs(db, &self.clock, platform, users, self.ops / self.users).await;
        let after = Instant::now();
        settled().await;
        let cpu = cpu_time() - cpu;
        let n = latencies.len();
        println!(
            "{:<10} money, {setting:<11} {n:>6} pairs, {:>3} at once: {:>6.0} pairs/s   \
             p50 {:>6.2} ms   p99 {:>6.2} ms   CPU {:>5.3} ms/pair (settled {:.2} s after)",
            self.label,
            self.users,
            n as f64 / elapsed.as_secs_f64(),
            quantile(&latencies, 0.50).as_secs_f64() * 1e3,
            quantile(&latencies, 0.99).as_secs_f64() * 1e3,
            cpu.as_secs_f64() * 1e3 / n as f64,
            after.elapsed().as_secs_f64(),
        );
    }

    /// A run on the bare database (no gateway, no worker).
    async fn bare(&self, config: &Config, platform: Uuid, users: &[Uuid]) {
        let db = Db::connect(config).await.expect("connect");
        self.run("no worker", &db, platform, users, || async {})
            .await;
        db.close().await;
    }
}

async fn new_platform(db: &Db, name: &str) -> Uuid {
    let name = format!("{name}-{}", Uuid::new_v4().simple());
    platforms::create(
        db,
        CreatePlatform {
            name,
            display_name: None,
            wallet: None,
        },
    )
    .await
    .expect("platform")
    .platform
    .id
}

async fn count(db: &Db, sql: &str) -> i64 {
    let (n,): (i64,) = db.fetch_optional(sql, &[]).await.unwrap().unwrap();
    n
}

/// Until the outbox is dispatched.
async fn dispatched(db: &Db) {
    let sql = "SELECT COUNT(*) FROM outbox_events WHERE dispatched_at_ms IS NULL";
    while count(db, sql).await > 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Until the receiver has accepted `n`.
async fn received(count: &AtomicUsize, n: usize) {
    let started = Instant::now();
    while count.load(Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(started.elapsed() < Duration::from_secs(600), "stalled");
    }
}

async fn run(label: &'static str, mut config: Config) {
    let events_total = env_usize("BENCH_EVENTS", 10_000);
    let concurrency = env_usize("BENCH_CONCURRENCY", 32);
    let money = MoneyRuns {
        label,
        ops: env_usize("BENCH_MONEY_OPS", 5_000),
        users: env_usize("BENCH_MONEY_USERS", 16),
        clock: Arc::new(SystemClock),
    };
    let rounds = env_usize("BENCH_ROUNDS", 2);
    config.admin_token = Some(SecretString::from("bench-admin-token-0123456789"));
    config.webhook_allow_http = true;
    config.webhook_allowed_subnets = Some("127.0.0.0/8".into());
    config.webhook_poll_interval_ms = 20;
    config.webhook_concurrency = concurrency;
    config.bootstrap = false;

    // Two platforms: `quiet` never has an endpoint, `hooked` gets one.
    let db = Db::connect(&config).await.expect("connect");
    db.migrate().await.expect("migrate");
    let quiet = new_platform(&db, "quiet").await;
    let hooked = new_platform(&db, "hooked").await;
    let quiet_users = users_with_budgets(&db, &money.clock, quiet, money.users).await;
    let hooked_users = users_with_budgets(&db, &money.clock, hooked, money.users).await;
    db.close().await;
    money.bare(&config, quiet, &quiet_users).await;

    let app = Application::build(config.clone()).await.expect("build");
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    dispatched(&state.db).await;
    let (url, count) = receiver().await;
    state
        .webhooks
        .create(
            hooked,
            EndpointInput {
                url: Some(url),
                ..EndpointInput::default()
            },
        )
        .await
        .expect("endpoint");
    for _ in 0..rounds {
        money
            .run("no endpoint", &state.db, quiet, &quiet_users, || {
                dispatched(&state.db)
            })
            .await;
        let expected = count.load(Ordering::Relaxed) + money.ops / money.users * money.users;
        money
            .run("endpoint", &state.db, hooked, &hooked_users, || {
                received(&count, expected)
            })
            .await;
    }

    let before = count.load(Ordering::Relaxed);
    let started = Instant::now();
    for chunk in 0..events_total.div_ceil(500) {
        let mut tx = state.db.begin().await.unwrap();
        for i in 0..500.min(events_total - chunk * 500) {
            events::record(
                &mut tx,
                hooked,
                events::BUDGET_DEBITED,
                serde_json::json!({"amount_usd": 0.001, "balance_usd": i as f64}),
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
    let written = started.elapsed();
    received(&count, before + events_total).await;
    let elapsed = started.elapsed();
    println!(
        "{label:<10} delivery, {events_total:>6} events, {concurrency:>3} in flight: {:>7.0} events/s \
         delivered (written in {:.2} s, all delivered in {:.2} s)",
        events_total as f64 / elapsed.as_secs_f64(),
        written.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    let _ = stop.send(());
    served.await.unwrap().unwrap();
    money.bare(&config, quiet, &quiet_users).await;
}

#[tokio::main]
async fn main() {
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    if backends.contains("sqlite") {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut sqlite = Config::for_data_dir(dir.path().to_path_buf());
        sqlite.database_max_connections = 16;
        run("sqlite", sqlite).await;
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
    let dir = tempfile::tempdir().expect("temp dir");
    let mut postgres = Config::for_data_dir(dir.path().to_path_buf());
    postgres.database_url = Some(SecretString::from(format!("{base}/{name}")));
    postgres.database_max_connections = 16;
    run("postgres", postgres).await;
    sqlx::query(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .expect("drop db");
}
