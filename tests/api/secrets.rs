//! Keys are stored as SHA-256 only: no raw key anywhere in the database.

use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Connection;

use crate::helpers::{ADMIN_TOKEN, Backend, TestApp, spawn_app};

async fn issue_some_keys(app: &TestApp) -> Vec<String> {
    let mut raw = vec![app.platform_key.clone()];
    let pid = app.platform_id;
    let created = app
        .post(
            &format!("/v1/platforms/{pid}/api-keys"),
            &app.platform_key,
            &json!({"name": "x"}),
        )
        .await;
    raw.push(created.data()["raw_key"].as_str().unwrap().to_owned());
    for i in 0..3 {
        raw.push(app.create_end_user(&format!("user-{i}")).await.1);
        raw.push(app.create_end_user(&format!("user-{i}")).await.1);
    }
    let (_, other) = app.create_platform("other").await;
    raw.push(other);
    raw
}

/// Every row of every table of ours, as text.
async fn dump_postgres(url: &str) -> String {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut dump = String::new();
    for table in tables {
        let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT t::text FROM \"{table}\" t"))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        dump.push_str(&rows.join("\n"));
    }
    dump
}

/// The raw bytes of the SQLite database and its WAL, as (lossy) text.
fn dump_sqlite_files(app: &TestApp) -> String {
    let mut dump = String::new();
    for entry in std::fs::read_dir(&app.data_dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        dump.push_str(&String::from_utf8_lossy(&bytes));
    }
    dump
}

async fn no_raw_key_is_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let raw_keys = issue_some_keys(&app).await;
    let dump = match backend {
        Backend::Postgres => dump_postgres(app.database_url.as_deref().unwrap()).await,
        Backend::Sqlite => dump_sqlite_files(&app),
    };
    assert!(dump.len() > 1000, "the dump should hold the tables");
    for raw in &raw_keys {
        assert!(
            !dump.contains(raw.as_str()),
            "raw key found in the database"
        );
        // What is stored is the SHA-256 of the key.
        let digest = hex::encode(Sha256::digest(raw.as_bytes()));
        assert!(dump.contains(&digest), "the key's hash should be stored");
    }
    assert!(!dump.contains(ADMIN_TOKEN));
    app.stop().await;
}

both_backends!(no_raw_key_is_stored);
