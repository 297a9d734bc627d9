//! Master-key rotation throughput: `BENCH_CONNECTIONS` connections (access and refresh
//! token each) sealed under an old key, then `rotate_all` re-encrypts them under a new
//! key in batches of `BENCH_BATCH` rows per transaction, on SQLite and PostgreSQL.
//! Reported: values re-encrypted per second and the whole run's time; a second run
//! (nothing left to do) shows the cost of checking.
//!
//! `cargo bench --bench key_rotation` (PostgreSQL at `TEST_POSTGRES_URL`, skipped with
//! `BENCH_NO_POSTGRES=1`).

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use assistiv::config::Config;
use assistiv::oauth::store::{ConnectionRow, upsert_connection};
use assistiv::oauth::vault::{Vault, aad};
use assistiv::sealing::rotate::rotate_all;
use assistiv::skills::blobs::FsBlobStore;
use assistiv::startup::Application;
use assistiv::store::end_users::{NewEndUser, create_or_get};
use secrecy::SecretString;
use sqlx::Connection;
use uuid::Uuid;

const OLD: [u8; 32] = [1; 32];
const NEW: [u8; 32] = [2; 32];

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn run(label: &str, config: Config) {
    let connections = env_u64("BENCH_CONNECTIONS", 20_000);
    let batch = env_u64("BENCH_BATCH", 500) as u32;
    let blob_dir = config.blob_dir();
    let app = Application::build(config).await.unwrap();
    let db = app.state().db.clone();
    let platform_id = app.provisioned.as_ref().unwrap().platform.id;
    let now = chrono::Utc::now();
    let old = Vault::new(&OLD);

    // One end user; connections differ by app name (unique per user and app).
    let mut tx = db.begin().await.unwrap();
    let (user, _) = create_or_get(
        &mut tx,
        &NewEndUser {
            id: Uuid::now_v7(),
            platform_id,
            external_id: "bench".into(),
            display_name: None,
            metadata: serde_json::json!({}),
            created_at: now,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let seeding = Instant::now();
    for chunk in 0..connections.div_ceil(1000) {
        let mut tx = db.begin().await.unwrap();
        for i in chunk * 1000..((chunk + 1) * 1000).min(connections) {
            let id = Uuid::now_v7();
            let token = |kind: &str| SecretString::from(format!("gho_{kind}_{i}_0123456789abcdef"));
            let row = ConnectionRow {
                id,
                platform_id,
                end_user_id: user.id,
                app: format!("bench-{i}"),
                status: "connected".into(),
                access_token_enc: old.seal(&token("a"), &aad::access_token(id)).unwrap(),
                refresh_token_enc: Some(old.seal(&token("r"), &aad::refresh_token(id)).unwrap()),
                expires_at_ms: None,
                scopes: "repo".into(),
                account_login: None,
                account_label: None,
                settings_json: "{}".into(),
                created_at: now,
                updated_at: now,
            };
            upsert_connection(&mut tx, &row).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    println!(
        "{label}: seeded {connections} connections in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let vault = Vault::with_previous(&NEW, &[OLD]);
    let blobs = Arc::new(FsBlobStore::new(blob_dir));
    let started = Instant::now();
    let report = rotate_all(&db, blobs.clone(), &vault, batch).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    let values: u64 = report.columns.iter().map(|c| c.resealed).sum();
    assert_eq!(values, connections * 2);
    println!(
        "{label}: rotated {values} values in {} batches of {batch} in {secs:.2} s: {:.0} values/s",
        report.batches,
        values as f64 / secs
    );
    let started = Instant::now();
    let again = rotate_all(&db, blobs, &vault, batch).await.unwrap();
    assert!(again.columns.iter().all(|c| c.resealed == 0));
    println!(
        "{label}: a second run found nothing to do in {:.3} s",
        started.elapsed().as_secs_f64()
    );
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
    let name = format!("assistiv_bench_{}", Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres"))
        .await
        .expect("PostgreSQL at TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .unwrap();
    let mut postgres = Config::for_data_dir(dir.path().join("postgres"));
    postgres.database_url = Some(SecretString::from(format!("{base}/{name}")));
    run("postgres", postgres).await;
    sqlx::query(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
}
