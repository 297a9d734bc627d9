//! `key_revocations`: a short-lived feed of revoked key hashes that every
//! instance polls to evict its key cache.

use super::Db;
use crate::with_pool;

/// Hashes revoked at or after `since_ms` (Unix milliseconds).
pub async fn since(db: &Db, since_ms: i64) -> Result<Vec<String>, sqlx::Error> {
    with_pool!(db.read(), pool => {
        sqlx::query_scalar("SELECT key_hash FROM key_revocations WHERE revoked_at_ms >= $1")
            .bind(since_ms)
            .fetch_all(pool)
            .await
    })
}

/// Drops entries older than `before_ms`; the feed only needs to outlive the poll window.
pub async fn prune(db: &Db, before_ms: i64) -> Result<u64, sqlx::Error> {
    with_pool!(db.write(), pool => {
        sqlx::query("DELETE FROM key_revocations WHERE revoked_at_ms < $1")
            .bind(before_ms)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })
}
