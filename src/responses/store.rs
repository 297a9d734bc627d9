//! The `responses` rows: each stored response, sealed before it gets here
//! (bound to its id, see `sealing::columns`), readable only by its end user.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::args;
use crate::store::Db;

/// One stored response.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResponseRow {
    pub id: String,
    pub platform_id: Uuid,
    pub end_user_id: Uuid,
    pub body_enc: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(db: &Db, row: &ResponseRow) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    tx.execute(
        "INSERT INTO responses (id, platform_id, end_user_id, body_enc, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
        &args![
            row.id.as_str(),
            row.platform_id,
            row.end_user_id,
            row.body_enc.clone(),
            row.created_at
        ],
    )
    .await?;
    tx.commit().await
}

/// The end user's response `id` (`None` for anyone else's).
pub async fn get(
    db: &Db,
    platform_id: Uuid,
    end_user_id: Uuid,
    id: &str,
) -> Result<Option<ResponseRow>, sqlx::Error> {
    db.fetch_optional(
        "SELECT id, platform_id, end_user_id, body_enc, created_at FROM responses \
         WHERE id = $1 AND platform_id = $2 AND end_user_id = $3",
        &args![id, platform_id, end_user_id],
    )
    .await
}

/// Deletes the end user's response `id`; `false` when there was none.
pub async fn delete(
    db: &Db,
    platform_id: Uuid,
    end_user_id: Uuid,
    id: &str,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let deleted = tx
        .execute(
            "DELETE FROM responses WHERE id = $1 AND platform_id = $2 AND end_user_id = $3",
            &args![id, platform_id, end_user_id],
        )
        .await?;
    tx.commit().await?;
    Ok(deleted > 0)
}

/// Deletes responses created before `cutoff`; how many went.
pub async fn purge_before(db: &Db, cutoff: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let purged = tx
        .execute(
            "DELETE FROM responses WHERE created_at < $1",
            &args![cutoff],
        )
        .await?;
    tx.commit().await?;
    Ok(purged)
}
