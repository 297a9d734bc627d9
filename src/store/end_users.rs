//! `end_users` table.

use crate::error::Error;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::Db;
use super::tx::Tx;
use crate::args;
use crate::with_pool;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndUserRow {
    pub id: Uuid,
    pub platform_id: Uuid,
    pub external_id: String,
    pub display_name: Option<String>,
    pub metadata: Json<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct NewEndUser {
    pub id: Uuid,
    pub platform_id: Uuid,
    pub external_id: String,
    pub display_name: Option<String>,
    pub metadata: Value,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, platform_id, external_id, display_name, metadata, created_at, updated_at";

/// Creates the end user, or finds the existing one with that `external_id`,
/// inside `tx`. The unique `(platform_id, external_id)` makes concurrent creates
/// converge on one row. Returns the row and whether it is new.
pub async fn create_or_get(
    tx: &mut Tx,
    user: &NewEndUser,
) -> Result<(EndUserRow, bool), sqlx::Error> {
    let insert = format!(
        "INSERT INTO end_users \
         (id, platform_id, external_id, display_name, metadata, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) \
         ON CONFLICT (platform_id, external_id) DO NOTHING RETURNING {COLUMNS}"
    );
    let inserted: Option<EndUserRow> = tx
        .fetch_optional(
            &insert,
            &args![
                user.id,
                user.platform_id,
                user.external_id.as_str(),
                user.display_name.clone(),
                user.metadata.clone(),
                user.created_at
            ],
        )
        .await?;
    if let Some(row) = inserted {
        return Ok((row, true));
    }
    let select =
        format!("SELECT {COLUMNS} FROM end_users WHERE platform_id = $1 AND external_id = $2");
    let row = tx
        .fetch_one(&select, &args![user.platform_id, user.external_id.as_str()])
        .await?;
    Ok((row, false))
}

pub async fn get(db: &Db, platform_id: Uuid, id: Uuid) -> Result<Option<EndUserRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM end_users WHERE platform_id = $1 AND id = $2");
    with_pool!(db.read(), pool => {
        sqlx::query_as(&sql).bind(platform_id).bind(id).fetch_optional(pool).await
    })
}

/// One page of a platform's end users, oldest first, optionally only the one with
/// `external_id`; and the total matching.
pub async fn list(
    db: &Db,
    platform_id: Uuid,
    external_id: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<EndUserRow>, i64), sqlx::Error> {
    let filter = "platform_id = $1 AND ($2 IS NULL OR external_id = $2)";
    let page = format!(
        "SELECT {COLUMNS} FROM end_users WHERE {filter} \
         ORDER BY created_at, id LIMIT $3 OFFSET $4"
    );
    let count = format!("SELECT COUNT(*) FROM end_users WHERE {filter}");
    with_pool!(db.read(), pool => {
        let rows = sqlx::query_as(&page)
            .bind(platform_id)
            .bind(external_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await?;
        let total = sqlx::query_scalar(&count)
            .bind(platform_id)
            .bind(external_id)
            .fetch_one(pool)
            .await?;
        Ok((rows, total))
    })
}

/// A partial update; `None` leaves a column as it is.
#[derive(Debug, Default)]
pub struct EndUserUpdate {
    /// `Some(None)` clears the display name.
    pub display_name: Option<Option<String>>,
    pub metadata: Option<Value>,
}

pub async fn update(
    db: &Db,
    platform_id: Uuid,
    id: Uuid,
    update: &EndUserUpdate,
    now: DateTime<Utc>,
) -> Result<Option<EndUserRow>, sqlx::Error> {
    let sql = format!(
        "UPDATE end_users SET \
            display_name = CASE WHEN $3 THEN $4 ELSE display_name END, \
            metadata = COALESCE($5, metadata), \
            updated_at = $6 \
         WHERE platform_id = $1 AND id = $2 RETURNING {COLUMNS}"
    );
    let name_given = update.display_name.is_some();
    let name = update.display_name.clone().flatten();
    let metadata = update.metadata.as_ref().map(Json);
    with_pool!(db.write(), pool => {
        sqlx::query_as(&sql)
            .bind(platform_id)
            .bind(id)
            .bind(name_given)
            .bind(&name)
            .bind(metadata)
            .bind(now)
            .fetch_optional(pool)
            .await
    })
}

/// Deletes the end user (its keys and everything else it owns cascade) and records
/// its keys' revocation for the other instances, in one transaction. Returns the
/// hashes of the keys it had, or `None` when no such end user exists.
pub async fn delete(
    db: &Db,
    platform_id: Uuid,
    id: Uuid,
    now_ms: i64,
) -> Result<Option<Vec<String>>, sqlx::Error> {
    with_pool!(db.write(), pool => {
        let mut tx = pool.begin().await?;
        let hashes: Vec<String> = sqlx::query_scalar(
            "SELECT key_hash FROM api_keys WHERE platform_id = $1 AND end_user_id = $2",
        )
        .bind(platform_id)
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let deleted = sqlx::query("DELETE FROM end_users WHERE platform_id = $1 AND id = $2")
            .bind(platform_id)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Ok(None);
        }
        for hash in &hashes {
            sqlx::query("INSERT INTO key_revocations (key_hash, revoked_at_ms) VALUES ($1, $2)")
                .bind(hash)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Some(hashes))
    })
}

/// Whether the end user exists on this platform, inside a transaction.
pub async fn exists_in(tx: &mut Tx, platform_id: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    let found: Option<(Uuid,)> = tx
        .fetch_optional(
            "SELECT id FROM end_users WHERE platform_id = $1 AND id = $2",
            &args![platform_id, id],
        )
        .await?;
    Ok(found.is_some())
}

/// Whether the end user exists on this platform.
pub async fn exists(db: &Db, platform_id: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    let found: Option<(Uuid,)> = db
        .fetch_optional(
            "SELECT id FROM end_users WHERE platform_id = $1 AND id = $2",
            &args![platform_id, id],
        )
        .await?;
    Ok(found.is_some())
}

/// 404 unless the end user exists on this platform (inside a transaction).
pub async fn ensure_in(tx: &mut Tx, platform_id: Uuid, end_user_id: Uuid) -> Result<(), Error> {
    if exists_in(tx, platform_id, end_user_id).await? {
        Ok(())
    } else {
        Err(Error::not_found("end user not found"))
    }
}

/// 404 unless the end user exists on this platform.
pub async fn ensure(db: &Db, platform_id: Uuid, end_user_id: Uuid) -> Result<(), Error> {
    if exists(db, platform_id, end_user_id).await? {
        Ok(())
    } else {
        Err(Error::not_found("end user not found"))
    }
}
