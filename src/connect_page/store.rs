//! The `connect_links` table: links (SHA-256 of the token), the page sessions
//! they open (SHA-256 of the cookie), and their expiries.

use uuid::Uuid;

use crate::args;
use crate::store::Db;

const SPENT: &str = "DELETE FROM connect_links WHERE expires_at_ms < $1 \
                     AND (session_expires_at_ms IS NULL OR session_expires_at_ms < $1)";

/// Stores a new link, removing the spent ones while writing anyway.
pub async fn insert_link(
    db: &Db,
    token_hash: &str,
    platform_id: Uuid,
    end_user_id: Uuid,
    expires_at_ms: i64,
    spent_before_ms: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    tx.execute(SPENT, &args![spent_before_ms]).await?;
    tx.execute(
        "INSERT INTO connect_links (token_hash, platform_id, end_user_id, expires_at_ms) \
         VALUES ($1, $2, $3, $4)",
        &args![token_hash, platform_id, end_user_id, expires_at_ms],
    )
    .await?;
    tx.commit().await
}

/// Opens the page session on an unused, unexpired link (one conditional update
/// settles races); whether it did.
pub async fn open_session(
    db: &Db,
    token_hash: &str,
    session_hash: &str,
    session_expires_at_ms: i64,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let used = tx
        .execute(
            "UPDATE connect_links SET session_hash = $2, session_expires_at_ms = $3 \
             WHERE token_hash = $1 AND session_hash IS NULL AND expires_at_ms > $4",
            &args![token_hash, session_hash, session_expires_at_ms, now_ms],
        )
        .await?;
    tx.commit().await?;
    Ok(used == 1)
}

/// `(platform, end user)` of the live session with this hash.
pub async fn live_session(
    db: &Db,
    session_hash: &str,
    now_ms: i64,
) -> Result<Option<(Uuid, Uuid)>, sqlx::Error> {
    // Read on the write side: the session was created a redirect ago.
    let mut tx = db.begin().await?;
    let row = tx
        .fetch_optional(
            "SELECT platform_id, end_user_id FROM connect_links \
             WHERE session_hash = $1 AND session_expires_at_ms > $2",
            &args![session_hash, now_ms],
        )
        .await?;
    tx.commit().await?;
    Ok(row)
}

/// Deletes links whose link and page session both ended before `before_ms`.
pub async fn delete_spent_links(db: &Db, before_ms: i64) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let deleted = tx.execute(SPENT, &args![before_ms]).await?;
    tx.commit().await?;
    Ok(deleted)
}
