//! The marketplace's rows: per-platform policy, the operator's provider changes,
//! and run records.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::catalog::ProviderSpec;
use super::policy::{ConfirmFallback, Mode, Policy};
use super::snapshot::Override;
use crate::args;
use crate::billing::Money;
use crate::store::Db;
use crate::store::tx::Tx;

#[derive(sqlx::FromRow)]
struct SettingsRow {
    enabled: bool,
    mode: String,
    allowlist: String,
    denylist: String,
    max_cost_micros: Option<i64>,
    min_rating_centi: Option<i64>,
    require_healthy: bool,
    charge_failed_calls: bool,
    confirm_above_micros: Option<i64>,
    confirm_fallback: String,
}

fn list(text: &str) -> std::collections::BTreeSet<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// The platform's policy (the defaults, disabled, when the operator set none).
pub async fn policy(db: &Db, platform_id: Uuid) -> Result<Policy, sqlx::Error> {
    let row: Option<SettingsRow> = db
        .fetch_optional(
            "SELECT enabled, mode, allowlist, denylist, max_cost_micros, min_rating_centi, \
             require_healthy, charge_failed_calls, confirm_above_micros, confirm_fallback \
             FROM capability_settings WHERE platform_id = $1",
            &args![platform_id],
        )
        .await?;
    Ok(row.map_or_else(Policy::default, |r| Policy {
        enabled: r.enabled,
        mode: if r.mode == "curated" {
            Mode::Curated
        } else {
            Mode::Open
        },
        allowlist: list(&r.allowlist),
        denylist: list(&r.denylist),
        max_cost_per_call: r.max_cost_micros.map(Money::from_micros),
        min_rating: r.min_rating_centi.map(|c| c as f64 / 100.0),
        require_healthy: r.require_healthy,
        charge_failed_calls: r.charge_failed_calls,
        confirm_above: r.confirm_above_micros.map(Money::from_micros),
        confirm_fallback: if r.confirm_fallback == "run" {
            ConfirmFallback::Run
        } else {
            ConfirmFallback::Refuse
        },
    }))
}

pub async fn save_policy(
    db: &Db,
    platform_id: Uuid,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    tx.execute(
        "INSERT INTO capability_settings (platform_id, enabled, mode, allowlist, denylist, \
         max_cost_micros, min_rating_centi, require_healthy, charge_failed_calls, updated_at, \
         confirm_above_micros, confirm_fallback) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (platform_id) \
         DO UPDATE SET enabled = $2, mode = $3, allowlist = $4, denylist = $5, \
         max_cost_micros = $6, min_rating_centi = $7, require_healthy = $8, \
         charge_failed_calls = $9, updated_at = $10, confirm_above_micros = $11, \
         confirm_fallback = $12",
        &args![
            platform_id,
            policy.enabled,
            match policy.mode {
                Mode::Curated => "curated",
                Mode::Open => "open",
            },
            serde_json::to_string(&policy.allowlist).unwrap_or_else(|_| "[]".into()),
            serde_json::to_string(&policy.denylist).unwrap_or_else(|_| "[]".into()),
            policy.max_cost_per_call.map(Money::micros),
            policy.min_rating.map(|r| (r * 100.0).round() as i64),
            policy.require_healthy,
            policy.charge_failed_calls,
            now,
            policy.confirm_above.map(Money::micros),
            policy.confirm_fallback.as_str()
        ],
    )
    .await?;
    tx.commit().await
}

#[derive(sqlx::FromRow)]
struct OverrideRow {
    uid: String,
    spec: Option<String>,
    removed: bool,
    auth_secret: Option<Vec<u8>>,
}

/// Every operator change.
pub async fn overrides(db: &Db) -> Result<Vec<Override>, sqlx::Error> {
    let rows: Vec<OverrideRow> = db
        .fetch_all(
            "SELECT uid, spec, removed, auth_secret FROM capability_providers ORDER BY uid",
            &[],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Override {
            spec: r.spec.as_deref().and_then(|s| {
                serde_json::from_str::<ProviderSpec>(s)
                    .map_err(
                        |e| tracing::warn!(uid = %r.uid, error = %e, "unreadable provider change"),
                    )
                    .ok()
            }),
            uid: r.uid,
            removed: r.removed,
            sealed_secret: r.auth_secret,
        })
        .collect())
}

/// Stores a provider's definition (and, when given, its sealed secret), undoing
/// any removal.
pub async fn put_provider(
    db: &Db,
    spec: &ProviderSpec,
    sealed_secret: Option<Vec<u8>>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let text = serde_json::to_string(spec).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    let mut tx = db.begin().await?;
    tx.execute(
        "INSERT INTO capability_providers (uid, spec, removed, auth_secret, updated_at) \
         VALUES ($1, $2, FALSE, $3, $4) ON CONFLICT (uid) DO UPDATE SET spec = $2, removed = FALSE, \
         auth_secret = COALESCE($3, capability_providers.auth_secret), updated_at = $4",
        &args![spec.uid.as_str(), text, sealed_secret, now],
    )
    .await?;
    tx.commit().await
}

/// Removes a provider: a shipped one is marked removed, an operator one deleted.
pub async fn remove_provider(
    db: &Db,
    uid: &str,
    shipped: bool,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    if shipped {
        tx.execute(
            "INSERT INTO capability_providers (uid, spec, removed, auth_secret, updated_at) \
             VALUES ($1, NULL, TRUE, NULL, $2) ON CONFLICT (uid) DO UPDATE SET spec = NULL, \
             removed = TRUE, auth_secret = NULL, updated_at = $2",
            &args![uid, now],
        )
        .await?;
    } else {
        tx.execute(
            "DELETE FROM capability_providers WHERE uid = $1",
            &args![uid],
        )
        .await?;
    }
    tx.commit().await
}

/// One finished run, written in the transaction that settles its hold.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub id: Uuid,
    pub platform_id: Uuid,
    pub end_user_id: Uuid,
    pub provider_uid: String,
    pub capability: String,
    pub final_state: &'static str,
    pub status: u16,
    pub quote: Money,
    pub cost: Money,
    pub charged: bool,
    pub error: Option<String>,
    pub latency_ms: i64,
    pub request_id: String,
}

pub async fn insert_run(
    tx: &mut Tx,
    run: &RunRecord,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO capability_runs (id, platform_id, end_user_id, provider_uid, capability, \
         final_state, status, quote_micros, cost_micros, charged, error, latency_ms, request_id, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        &args![
            run.id,
            run.platform_id,
            run.end_user_id,
            run.provider_uid.as_str(),
            run.capability.as_str(),
            run.final_state,
            i64::from(run.status),
            run.quote.micros(),
            run.cost.micros(),
            run.charged,
            run.error.clone(),
            run.latency_ms,
            run.request_id.as_str(),
            now
        ],
    )
    .await
    .map(|_| ())
}
