//! `api_keys` table: platform and end-user keys, stored as SHA-256 hex only.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Db;
use crate::with_pool;

/// A key row ready to insert; `key_hash` is the SHA-256 of the raw key.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub id: Uuid,
    pub platform_id: Uuid,
    pub end_user_id: Option<Uuid>,
    pub kind: &'static str,
    pub name: Option<String>,
    pub key_hash: String,
    pub key_prefix: String,
    pub created_at: DateTime<Utc>,
}

const INSERT_SQL: &str = "INSERT INTO api_keys \
    (id, platform_id, end_user_id, kind, name, key_hash, key_prefix, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// Inserts a key inside a transaction.
pub async fn insert_in(tx: &mut super::tx::Tx, key: &NewApiKey) -> Result<(), sqlx::Error> {
    tx.execute(
        INSERT_SQL,
        &crate::args![
            key.id,
            key.platform_id,
            key.end_user_id,
            key.kind,
            key.name.clone(),
            key.key_hash.as_str(),
            key.key_prefix.as_str(),
            key.created_at
        ],
    )
    .await
    .map(|_| ())
}

/// What authentication needs to know about a live key.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActiveKey {
    pub id: Uuid,
    pub kind: String,
    pub platform_id: Uuid,
    pub end_user_id: Option<Uuid>,
    pub key_prefix: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub name: Option<String>,
    pub key_prefix: String,
    pub created_at: DateTime<Utc>,
}

pub async fn find_active_by_hash(
    db: &Db,
    key_hash: &str,
) -> Result<Option<ActiveKey>, sqlx::Error> {
    with_pool!(db.read(), pool => {
        sqlx::query_as(
            "SELECT id, kind, platform_id, end_user_id, key_prefix FROM api_keys \
             WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(pool)
        .await
    })
}

pub async fn insert(db: &Db, key: &NewApiKey) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    insert_in(&mut tx, key).await?;
    tx.commit().await
}

pub async fn count_platform_keys(db: &Db, platform_id: Uuid) -> Result<i64, sqlx::Error> {
    with_pool!(db.read(), pool => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM api_keys \
             WHERE platform_id = $1 AND kind = 'platform' AND revoked_at IS NULL",
        )
        .bind(platform_id)
        .fetch_one(pool)
        .await
    })
}

pub async fn list_platform_keys(
    db: &Db,
    platform_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<Vec<ApiKeyRow>, sqlx::Error> {
    with_pool!(db.read(), pool => {
        sqlx::query_as(
            "SELECT id, name, key_prefix, created_at FROM api_keys \
             WHERE platform_id = $1 AND kind = 'platform' AND revoked_at IS NULL \
             ORDER BY created_at, id LIMIT $2 OFFSET $3",
        )
        .bind(platform_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await
    })
}

/// Whose keys: the platform's own, or one end user's.
#[derive(Debug, Clone, Copy)]
pub enum KeyOwner {
    Platform(Uuid),
    EndUser {
        platform_id: Uuid,
        end_user_id: Uuid,
    },
}

/// The live keys of one end user of `platform_id`, oldest first.
pub async fn list_end_user_keys(
    db: &Db,
    platform_id: Uuid,
    end_user_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<Vec<ApiKeyRow>, sqlx::Error> {
    with_pool!(db.read(), pool => {
        sqlx::query_as(
            "SELECT id, name, key_prefix, created_at FROM api_keys \
             WHERE platform_id = $1 AND end_user_id = $2 AND kind = 'end_user' \
             AND revoked_at IS NULL ORDER BY created_at, id LIMIT $3 OFFSET $4",
        )
        .bind(platform_id)
        .bind(end_user_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await
    })
}

pub async fn count_end_user_keys(
    db: &Db,
    platform_id: Uuid,
    end_user_id: Uuid,
) -> Result<i64, sqlx::Error> {
    with_pool!(db.read(), pool => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM api_keys WHERE platform_id = $1 AND end_user_id = $2 \
             AND kind = 'end_user' AND revoked_at IS NULL",
        )
        .bind(platform_id)
        .bind(end_user_id)
        .fetch_one(pool)
        .await
    })
}

/// Revokes one live key of `owner` and records the revocation for the other
/// instances, in one transaction. Returns the key's hash, or `None` when no such
/// live key belongs to that owner.
pub async fn revoke_key(
    db: &Db,
    owner: KeyOwner,
    key_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<String>, sqlx::Error> {
    let (sql, platform_id, end_user_id) = match owner {
        KeyOwner::Platform(platform_id) => (
            "UPDATE api_keys SET revoked_at = $1 \
             WHERE id = $2 AND platform_id = $3 AND kind = 'platform' AND revoked_at IS NULL \
             RETURNING key_hash",
            platform_id,
            None,
        ),
        KeyOwner::EndUser {
            platform_id,
            end_user_id,
        } => (
            "UPDATE api_keys SET revoked_at = $1 \
             WHERE id = $2 AND platform_id = $3 AND end_user_id = $4 AND kind = 'end_user' \
             AND revoked_at IS NULL RETURNING key_hash",
            platform_id,
            Some(end_user_id),
        ),
    };
    with_pool!(db.write(), pool => {
        let mut tx = pool.begin().await?;
        let mut update = sqlx::query_scalar(sql).bind(now).bind(key_id).bind(platform_id);
        if let Some(end_user_id) = end_user_id {
            update = update.bind(end_user_id);
        }
        let hash: Option<String> = update.fetch_optional(&mut *tx).await?;
        if let Some(hash) = &hash {
            sqlx::query("INSERT INTO key_revocations (key_hash, revoked_at_ms) VALUES ($1, $2)")
                .bind(hash)
                .bind(now.timestamp_millis())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(hash)
    })
}
