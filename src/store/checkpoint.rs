//! WAL checkpoints off the write path. By default SQLite checkpoints inside the
//! commit that pushes the WAL past 1,000 pages: that commit copies the WAL into
//! the database and syncs it, and every write waiting behind it waits too (the
//! money hot path's p99 was mostly that). The writer connection turns automatic
//! checkpoints off, and the background runner (`jobs`) runs a PASSIVE
//! checkpoint on its own connection every [`EVERY`], which never blocks the writer or the readers.

use std::time::Duration;

use std::sync::Arc;

use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use tokio::sync::Mutex;

/// How often the WAL is copied back into the database.
pub const EVERY: Duration = Duration::from_millis(200);

/// The checkpointer's own connection (so a checkpoint never waits on the writer).
#[derive(Clone, Debug)]
pub struct Checkpointer {
    connection: Arc<Mutex<SqliteConnection>>,
}

impl Checkpointer {
    pub async fn open(options: &SqliteConnectOptions) -> anyhow::Result<Self> {
        Ok(Self {
            connection: Arc::new(Mutex::new(options.connect().await?)),
        })
    }

    /// One PASSIVE checkpoint, for the background runner.
    pub async fn tick(&self) {
        let mut connection = self.connection.lock().await;
        if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&mut *connection)
            .await
        {
            tracing::warn!(error = %err, "WAL checkpoint failed; retrying");
        }
    }
}
