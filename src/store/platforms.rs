//! `platforms` table.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Db;
use super::api_keys::{self, NewApiKey};
use crate::args;
use crate::with_pool;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlatformRow {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub skills_enabled: bool,
    pub display_unit: String,
    pub credits_per_usd: f64,
    pub markup_bps: i64,
    pub default_budget_micros: Option<i64>,
    pub default_budget_period: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct NewPlatform {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub display_unit: String,
    pub credits_per_usd: f64,
    pub created_at: DateTime<Utc>,
}

/// A partial update; `None` leaves a column as it is.
#[derive(Debug, Default)]
pub struct PlatformUpdate {
    pub display_name: Option<String>,
    pub skills_enabled: Option<bool>,
    pub display_unit: Option<String>,
    pub credits_per_usd: Option<f64>,
    pub markup_bps: Option<i64>,
    /// `Some(None)` clears the default budget.
    pub default_budget: Option<Option<(i64, String)>>,
}

const COLUMNS: &str = "id, name, display_name, skills_enabled, display_unit, credits_per_usd, \
    markup_bps, default_budget_micros, default_budget_period, created_at, updated_at";

/// Inserts a platform and its first platform key in one transaction. Fails with a
/// unique violation when the name is taken.
pub async fn insert_with_key(
    db: &Db,
    platform: &NewPlatform,
    key: &NewApiKey,
    metered_wallet: bool,
) -> Result<PlatformRow, sqlx::Error> {
    let sql = format!(
        "INSERT INTO platforms (id, name, display_name, skills_enabled, display_unit, \
         credits_per_usd, markup_bps, created_at, updated_at) \
         VALUES ($1, $2, $3, FALSE, $4, $5, 0, $6, $6) RETURNING {COLUMNS}"
    );
    let mut tx = db.begin().await?;
    let row: PlatformRow = tx
        .fetch_one(
            &sql,
            &args![
                platform.id,
                platform.name.as_str(),
                platform.display_name.as_str(),
                platform.display_unit.as_str(),
                platform.credits_per_usd,
                platform.created_at
            ],
        )
        .await?;
    api_keys::insert_in(&mut tx, key).await?;
    tx.execute(
        "INSERT INTO wallets (platform_id, metered, updated_at) VALUES ($1, $2, $3)",
        &args![platform.id, metered_wallet, platform.created_at],
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn get(db: &Db, id: Uuid) -> Result<Option<PlatformRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM platforms WHERE id = $1");
    with_pool!(db.read(), pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
}

pub async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    with_pool!(db.read(), pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM platforms").fetch_one(pool).await
    })
}

pub async fn list(db: &Db, limit: i64, offset: i64) -> Result<Vec<PlatformRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM platforms ORDER BY created_at, id LIMIT $1 OFFSET $2");
    with_pool!(db.read(), pool => {
        sqlx::query_as(&sql).bind(limit).bind(offset).fetch_all(pool).await
    })
}

/// Applies `update` in one statement, so concurrent partial updates of different
/// fields never undo each other.
pub async fn update(
    db: &Db,
    id: Uuid,
    update: &PlatformUpdate,
    now: DateTime<Utc>,
) -> Result<Option<PlatformRow>, sqlx::Error> {
    let sql = format!(
        "UPDATE platforms SET \
            display_name = COALESCE($2, display_name), \
            skills_enabled = COALESCE($3, skills_enabled), \
            display_unit = COALESCE($4, display_unit), \
            credits_per_usd = COALESCE($5, credits_per_usd), \
            markup_bps = COALESCE($6, markup_bps), \
            default_budget_micros = CASE WHEN $7 THEN $8 ELSE default_budget_micros END, \
            default_budget_period = CASE WHEN $7 THEN $9 ELSE default_budget_period END, \
            updated_at = $10 \
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    let budget_given = update.default_budget.is_some();
    let (budget_micros, budget_period) = match &update.default_budget {
        Some(Some((micros, period))) => (Some(*micros), Some(period.clone())),
        _ => (None, None),
    };
    with_pool!(db.write(), pool => {
        sqlx::query_as(&sql)
            .bind(id)
            .bind(&update.display_name)
            .bind(update.skills_enabled)
            .bind(&update.display_unit)
            .bind(update.credits_per_usd)
            .bind(update.markup_bps)
            .bind(budget_given)
            .bind(budget_micros)
            .bind(&budget_period)
            .bind(now)
            .fetch_optional(pool)
            .await
    })
}

/// The platform's default budget: `(micro-USD, period)` when both are set.
pub async fn default_budget_in(
    tx: &mut crate::store::tx::Tx,
    platform_id: Uuid,
) -> Result<Option<(Option<i64>, Option<String>)>, sqlx::Error> {
    tx.fetch_optional(
        "SELECT default_budget_micros, default_budget_period FROM platforms WHERE id = $1",
        &args![platform_id],
    )
    .await
}
