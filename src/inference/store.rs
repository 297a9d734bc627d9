//! The `llm_providers` rows: each platform's provider configs. The API key is
//! sealed before it gets here (bound to the row id, see `sealing::columns`).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::args;
use crate::store::Db;

/// One provider config as stored (JSON columns still text).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProviderRow {
    pub id: Uuid,
    pub platform_id: Uuid,
    pub name: String,
    pub kind: String,
    pub api_key_enc: Option<Vec<u8>>,
    pub base_url: Option<String>,
    pub enabled: bool,
    pub priority: i64,
    /// JSON array, or NULL for the kind's priced models.
    pub models: Option<String>,
    /// JSON object alias -> model.
    pub aliases: String,
    /// JSON object model -> price (micro-USD per million tokens).
    pub prices: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, platform_id, name, kind, api_key_enc, base_url, enabled, priority, \
    models, aliases, prices, created_at, updated_at";

/// A platform's configs, the order routing tries them in (priority, then age).
pub async fn list(db: &Db, platform_id: Uuid) -> Result<Vec<ProviderRow>, sqlx::Error> {
    db.fetch_all(
        &format!(
            "SELECT {COLUMNS} FROM llm_providers WHERE platform_id = $1 \
             ORDER BY priority, created_at, id"
        ),
        &args![platform_id],
    )
    .await
}

/// One config of the platform (`None` for another platform's id).
pub async fn get(db: &Db, platform_id: Uuid, id: Uuid) -> Result<Option<ProviderRow>, sqlx::Error> {
    db.fetch_optional(
        &format!("SELECT {COLUMNS} FROM llm_providers WHERE id = $1 AND platform_id = $2"),
        &args![id, platform_id],
    )
    .await
}

pub async fn insert(db: &Db, row: &ProviderRow) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    tx.execute(
        "INSERT INTO llm_providers (id, platform_id, name, kind, api_key_enc, base_url, enabled, \
         priority, models, aliases, prices, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        &args![
            row.id,
            row.platform_id,
            row.name.as_str(),
            row.kind.as_str(),
            row.api_key_enc.clone(),
            row.base_url.clone(),
            row.enabled,
            row.priority,
            row.models.clone(),
            row.aliases.as_str(),
            row.prices.as_str(),
            row.created_at,
            row.updated_at
        ],
    )
    .await?;
    tx.commit().await
}

/// Writes every field of `row`; the key only when `new_key` is given. One
/// statement in one transaction: a replaced key and the other changes land
/// together or not at all.
pub async fn update(
    db: &Db,
    row: &ProviderRow,
    new_key: Option<Vec<u8>>,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let changed = tx
        .execute(
            "UPDATE llm_providers SET name = $3, base_url = $4, enabled = $5, priority = $6, \
             models = $7, aliases = $8, prices = $9, updated_at = $10, \
             api_key_enc = CASE WHEN $11 THEN $12 ELSE api_key_enc END \
             WHERE id = $1 AND platform_id = $2",
            &args![
                row.id,
                row.platform_id,
                row.name.as_str(),
                row.base_url.clone(),
                row.enabled,
                row.priority,
                row.models.clone(),
                row.aliases.as_str(),
                row.prices.as_str(),
                row.updated_at,
                new_key.is_some(),
                new_key
            ],
        )
        .await?;
    tx.commit().await?;
    Ok(changed > 0)
}

pub async fn delete(db: &Db, platform_id: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let deleted = tx
        .execute(
            "DELETE FROM llm_providers WHERE id = $1 AND platform_id = $2",
            &args![id, platform_id],
        )
        .await?;
    tx.commit().await?;
    Ok(deleted > 0)
}
