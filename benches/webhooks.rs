//! Webhook delivery throughput: events written to the outbox, dispatched, signed
//! and posted by one gateway instance to a local receiver (a bare axum server
//! answering 204), from the first write to the last 2xx.
//!
//! `cargo bench --bench webhooks` (PostgreSQL at `TEST_POSTGRES_URL`; `BENCH_EVENTS`,
//! `BENCH_CONCURRENCY` tune it, `BENCH_BACKENDS=sqlite` or `=postgres` runs one).

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use assistiv::billing::events;
use assistiv::config::Config;
use assistiv::startup::Application;
use assistiv::webhooks::endpoints::EndpointInput;
use axum::Router;
use axum::routing::post;
use secrecy::SecretString;
use sqlx::Connection;

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

async fn run(label: &str, mut config: Config, events_total: usize, concurrency: usize) {
    config.admin_token = Some(SecretString::from("bench-admin-token-0123456789"));
    config.webhook_allow_http = true;
    config.webhook_allowed_subnets = Some("127.0.0.0/8".into());
    config.webhook_poll_interval_ms = 20;
    config.webhook_concurrency = concurrency;
    let app = Application::build(config).await.expect("build");
    let state = app.state().clone();
    let platform = app.provisioned.as_ref().expect("provisioned").platform.id;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let (url, count) = receiver().await;
    state
        .webhooks
        .create(
            platform,
            EndpointInput {
                url: Some(url),
                ..EndpointInput::default()
            },
        )
        .await
        .expect("endpoint");

    let started = Instant::now();
    for chunk in 0..events_total.div_ceil(500) {
        let mut tx = state.db.begin().await.unwrap();
        for i in 0..500.min(events_total - chunk * 500) {
            events::record(
                &mut tx,
                platform,
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
    while count.load(Ordering::Relaxed) < events_total {
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(started.elapsed() < Duration::from_secs(600), "stalled");
    }
    let elapsed = started.elapsed();
    println!(
        "{label:<10} {events_total:>6} events, {concurrency:>3} in flight: {:>7.0} events/s delivered \
         (written in {:.2} s, all delivered in {:.2} s)",
        events_total as f64 / elapsed.as_secs_f64(),
        written.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    let _ = stop.send(());
    served.await.unwrap().unwrap();
}

#[tokio::main]
async fn main() {
    let events_total = env_usize("BENCH_EVENTS", 10_000);
    let concurrency = env_usize("BENCH_CONCURRENCY", 32);
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    if backends.contains("sqlite") {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut sqlite = Config::for_data_dir(dir.path().to_path_buf());
        sqlite.database_max_connections = 16;
        run("sqlite", sqlite, events_total, concurrency).await;
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
    run("postgres", postgres, events_total, concurrency).await;
    sqlx::query(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .expect("drop db");
}
