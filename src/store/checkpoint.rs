//! WAL checkpoints off the write path. By default SQLite checkpoints inside the
//! commit that pushes the WAL past 1,000 pages: that commit copies the WAL into
//! the database and syncs it, and every write waiting behind it waits too (the
//! money hot path's p99 was mostly that). The writer connection turns automatic
//! checkpoints off, and the background runner (`jobs`) runs a PASSIVE
//! checkpoint on its own connection every [`EVERY`], which never blocks the
//! writer or the readers.
//!
//! A PASSIVE checkpoint alone does not bound the WAL: the file restarts from its
//! beginning only when no reader still reads from it, and under steady traffic
//! some read transaction always does, so the WAL grew by every page ever written
//! (a gigabyte in seconds under a benchmark) and every write extended the file.
//! When the WAL holds more than [`RESTART_AT_FRAMES`] frames, the tick runs a
//! RESTART checkpoint, which waits for the readers of the moment to finish
//! (milliseconds) so the next write starts the file over; the file keeps its
//! size and is overwritten in place. `journal_size_limit` truncates a WAL that a
//! burst made larger back to [`JOURNAL_SIZE_LIMIT`] at that restart.

use std::time::Duration;

use std::sync::Arc;

use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use tokio::sync::Mutex;

/// How often the WAL is copied back into the database.
pub const EVERY: Duration = Duration::from_millis(200);

/// WAL frames (a page of 4 KiB each) past which a tick restarts the WAL.
pub const RESTART_AT_FRAMES: i64 = 4096;

/// Bytes a WAL file is cut back to when it restarts (`journal_size_limit`).
pub const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// The checkpointer's own connection (so a checkpoint never waits on the writer).
#[derive(Clone, Debug)]
pub struct Checkpointer {
    connection: Arc<Mutex<SqliteConnection>>,
    restart_at_frames: i64,
}

impl Checkpointer {
    pub async fn open(options: &SqliteConnectOptions) -> anyhow::Result<Self> {
        Self::open_with(options, RESTART_AT_FRAMES).await
    }

    /// A checkpointer that restarts the WAL past `restart_at_frames` frames.
    pub async fn open_with(
        options: &SqliteConnectOptions,
        restart_at_frames: i64,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            connection: Arc::new(Mutex::new(options.connect().await?)),
            restart_at_frames,
        })
    }

    /// One PASSIVE checkpoint, and a RESTART one when the WAL has grown past
    /// the bound, for the background runner.
    pub async fn tick(&self) {
        let mut connection = self.connection.lock().await;
        let frames = match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&mut *connection)
            .await
        {
            Ok((_busy, frames, _copied)) => frames,
            Err(err) => {
                tracing::warn!(error = %err, "WAL checkpoint failed; retrying");
                return;
            }
        };
        if frames <= self.restart_at_frames {
            return;
        }
        if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(RESTART)")
            .execute(&mut *connection)
            .await
        {
            tracing::warn!(error = %err, frames, "WAL restart failed; retrying");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use sqlx::sqlite::SqliteJournalMode;

    /// Under writes and ever-overlapping read transactions the WAL stays near
    /// the bound instead of holding every page ever written.
    async fn read(connection: &mut SqliteConnection, sql: &'static str) {
        sqlx::query(sql).execute(connection).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_stays_bounded_under_steady_reads() {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("wal.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10));
        let mut writer = options
            .clone()
            .pragma("wal_autocheckpoint", "0")
            .connect()
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (v BLOB)")
            .execute(&mut writer)
            .await
            .unwrap();
        let checkpointer = Checkpointer::open_with(&options, 64).await.unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Two readers taking turns so that a read transaction is always open.
        let readers = {
            let (options, stop) = (options.clone(), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut a = options.clone().read_only(true).connect().await.unwrap();
                let mut b = options.read_only(true).connect().await.unwrap();
                read(&mut a, "BEGIN").await;
                read(&mut a, "SELECT count(*) FROM t").await;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    read(&mut b, "BEGIN").await;
                    read(&mut b, "SELECT count(*) FROM t").await;
                    read(&mut a, "COMMIT").await;
                    std::mem::swap(&mut a, &mut b);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                read(&mut a, "COMMIT").await;
            })
        };
        let wal = dir.path().join("wal.db-wal");
        let mut largest = 0;
        for round in 0..1500 {
            sqlx::query("INSERT INTO t (v) VALUES (zeroblob(3000))")
                .execute(&mut writer)
                .await
                .unwrap();
            if round % 50 == 49 {
                checkpointer.tick().await;
                largest = largest.max(std::fs::metadata(&wal).unwrap().len());
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        readers.await.unwrap();
        // 1,500 one-page writes would be ~6 MB of WAL; bounded, it stays within a
        // few restarts' worth of 64 frames (+ the 50 written between ticks).
        assert!(largest < 1_000_000, "the WAL grew to {largest} bytes");
    }
}
