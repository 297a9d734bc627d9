//! Storage: one sqlx pool for SQLite (embedded default) or PostgreSQL (scale-out),
//! and one module of queries per table. Only this module speaks SQL.
//!
//! Queries are written once with `$n` placeholders (both drivers accept them) and
//! compiled for both backends by [`with_pool!`]; where the dialects differ, a
//! module matches on [`Pool`] and carries two statements.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::config::Config;

pub mod api_keys;
pub mod batch;
mod checkpoint;
pub mod end_users;
pub mod platforms;
pub mod revocations;
pub mod tx;

/// A pool of one backend.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete sqlx pool, compiling it once per
/// backend: the same SQL and binds serve SQLite and PostgreSQL.
#[macro_export]
macro_rules! with_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Readers and the writer. SQLite allows one writer at a time, so its writes go
/// through a single connection (queued in-process instead of failing with
/// `SQLITE_BUSY`); on PostgreSQL both are the same pool.
#[derive(Clone, Debug)]
pub struct Db {
    read: Pool,
    write: Pool,
    /// SQLite's group commit for [`Db::transact`]; `None` on PostgreSQL.
    batcher: Option<batch::WriteBatcher>,
}

impl Db {
    pub async fn connect(config: &Config) -> anyhow::Result<Self> {
        match &config.database_url {
            Some(url) if !url.expose_secret().starts_with("sqlite:") => {
                Self::connect_postgres(url.expose_secret(), config.database_max_connections).await
            }
            Some(url) => {
                let options = SqliteConnectOptions::from_str(url.expose_secret())
                    .context("invalid sqlite URL")?
                    .create_if_missing(true);
                Self::connect_sqlite(options, config.database_max_connections).await
            }
            None => {
                let dir = &config.data_dir;
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating data directory {}", dir.display()))?;
                let options = SqliteConnectOptions::new()
                    .filename(sqlite_path(dir))
                    .create_if_missing(true);
                Self::connect_sqlite(options, config.database_max_connections).await
            }
        }
    }

    async fn connect_postgres(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url).context("invalid PostgreSQL URL")?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .context("connecting to PostgreSQL")?;
        let pool = Pool::Postgres(pool);
        Ok(Self {
            read: pool.clone(),
            write: pool,
            batcher: None,
        })
    }

    async fn connect_sqlite(options: SqliteConnectOptions, readers: u32) -> anyhow::Result<Self> {
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            // A ping before each acquire is a round trip to the connection's
            // thread per write transaction; a local file has no link to test.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            // Checkpoints run in the background instead (see `checkpoint`).
            .connect_with(options.clone().pragma("wal_autocheckpoint", "0"))
            .await
            .context("opening the SQLite database")?;
        checkpoint::start(&options, write.clone())
            .await
            .context("opening the SQLite database for checkpoints")?;
        let read = SqlitePoolOptions::new()
            .max_connections(readers)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.read_only(true))
            .await
            .context("opening the SQLite database for reading")?;
        let unbatched = Self {
            read: Pool::Sqlite(read),
            write: Pool::Sqlite(write),
            batcher: None,
        };
        Ok(Self {
            batcher: Some(batch::WriteBatcher::start(unbatched.clone())),
            ..unbatched
        })
    }

    pub fn backend(&self) -> Backend {
        match self.write {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Pool for reads.
    pub fn read(&self) -> &Pool {
        &self.read
    }

    /// Pool for writes and read-modify-write transactions.
    pub fn write(&self) -> &Pool {
        &self.write
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        match &self.write {
            Pool::Sqlite(pool) => sqlx::migrate!("migrations/sqlite").run(pool).await,
            Pool::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await,
        }
        .context("running database migrations")
    }

    /// Cheap reachability probe for `/readyz`.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        with_pool!(&self.read, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
    }

    pub async fn close(&self) {
        with_pool!(&self.read, pool => pool.close().await);
        with_pool!(&self.write, pool => pool.close().await);
    }
}

/// Whether an error is a unique-constraint violation (a lost insert race).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

/// Where the embedded database lives inside a data directory.
pub fn sqlite_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("assistiv.db")
}
