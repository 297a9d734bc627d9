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

pub mod agents;
pub mod api_keys;
pub mod batch;
pub mod checkpoint;
pub mod end_users;
pub mod files;
pub mod platforms;
pub mod rate_limits;
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
    /// SQLite's WAL checkpoints, run by the background runner; `None` on PostgreSQL.
    checkpointer: Option<checkpoint::Checkpointer>,
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
                if !is_in_memory(url.expose_secret()) {
                    files::create_private_file(options.get_filename())?;
                }
                Self::connect_sqlite(options, config.database_max_connections).await
            }
            None => {
                let dir = &config.data_dir;
                files::create_private_dir(dir)
                    .with_context(|| format!("creating data directory {}", dir.display()))?;
                let path = sqlite_path(dir);
                files::create_private_file(&path)?;
                let options = SqliteConnectOptions::new().filename(path);
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
            checkpointer: None,
        })
    }

    async fn connect_sqlite(options: SqliteConnectOptions, readers: u32) -> anyhow::Result<Self> {
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma(
                "journal_size_limit",
                checkpoint::JOURNAL_SIZE_LIMIT.to_string(),
            );
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
        let checkpointer = checkpoint::Checkpointer::open(&options)
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
            checkpointer: Some(checkpointer),
        };
        Ok(Self {
            batcher: Some(batch::WriteBatcher::start(unbatched.clone())),
            ..unbatched
        })
    }

    /// The WAL checkpointer the background runner drives (SQLite only).
    pub fn checkpointer(&self) -> Option<checkpoint::Checkpointer> {
        self.checkpointer.clone()
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

/// The database `config` names, for messages: "the SQLite database /srv/data/assistiv.db".
pub fn describe(config: &Config) -> String {
    match config.database_url.as_ref().map(|u| u.expose_secret()) {
        Some(url) if !url.starts_with("sqlite:") => match PgConnectOptions::from_str(url) {
            Ok(pg) => format!(
                "the PostgreSQL database '{}' on {}:{}",
                pg.get_database().unwrap_or("(default)"),
                pg.get_host(),
                pg.get_port()
            ),
            Err(_) => "the PostgreSQL database of DATABASE_URL".into(),
        },
        _ => match sqlite_file(config) {
            Some(path) => format!("the SQLite database {}", files::shown(&path)),
            None => "an in-memory SQLite database".into(),
        },
    }
}

/// For commands that work on an existing gateway (`assistiv admin ...`): an error
/// naming the database looked for, and how to point at the right one, unless it
/// exists. They never create one; `serve` and `migrate` do. (A PostgreSQL
/// database is never created by connecting: its absence is the connection error.)
pub fn ensure_exists(config: &Config) -> anyhow::Result<()> {
    let Some(path) = sqlite_file(config) else {
        return Ok(());
    };
    anyhow::ensure!(
        path.exists(),
        "no database at {}: admin commands work on an existing gateway's database and \
         never create one.\nPoint at it with --data-dir DIR (or ASSISTIV_DATA_DIR) for the \
         embedded SQLite database, or --database-url URL (or DATABASE_URL); \
         `assistiv migrate` creates a new, empty one.",
        files::shown(&path)
    );
    Ok(())
}

/// The SQLite file `config` uses, if it uses one.
fn sqlite_file(config: &Config) -> Option<std::path::PathBuf> {
    match config.database_url.as_ref().map(|u| u.expose_secret()) {
        None => Some(sqlite_path(&config.data_dir)),
        Some(url) if url.starts_with("sqlite:") && !is_in_memory(url) => {
            SqliteConnectOptions::from_str(url)
                .ok()
                .map(|options| options.get_filename().to_path_buf())
        }
        Some(_) => None,
    }
}

/// `sqlite::memory:` or `sqlite:...?mode=memory`: no file.
fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
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
