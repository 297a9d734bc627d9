//! WAL checkpoints off the write path. By default SQLite checkpoints inside the
//! commit that pushes the WAL past 1,000 pages: that commit copies the WAL into
//! the database and syncs it, and every write waiting behind it waits too (the
//! money hot path's p99 was mostly that). The writer connection turns automatic
//! checkpoints off, and this task runs a PASSIVE checkpoint on its own
//! connection every [`EVERY`], which never blocks the writer or the readers.

use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, SqlitePool};

/// How often the WAL is copied back into the database.
const EVERY: Duration = Duration::from_millis(200);

/// Starts the checkpointer; it stops when the write pool is closed.
pub async fn start(options: &SqliteConnectOptions, write: SqlitePool) -> anyhow::Result<()> {
    let mut connection = options.connect().await?;
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !write.is_closed() {
            ticker.tick().await;
            if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&mut connection)
                .await
            {
                tracing::warn!(error = %err, "WAL checkpoint failed; retrying");
            }
        }
    });
    Ok(())
}
