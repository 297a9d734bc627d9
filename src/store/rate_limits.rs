//! The `platform_rate_limits` and `end_user_rate_limits` tables.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::args;
use crate::store::Db;
use crate::store::tx::Tx;
use crate::tenancy::rate_limits::RateLimits;

pub async fn platform_default(
    db: &Db,
    platform_id: Uuid,
) -> Result<Option<RateLimits>, sqlx::Error> {
    db.fetch_optional(
        "SELECT rpm_limit, tpm_limit, rpd_limit FROM platform_rate_limits WHERE platform_id = $1",
        &args![platform_id],
    )
    .await
}

pub async fn set_platform_default(
    db: &Db,
    platform_id: Uuid,
    limits: RateLimits,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    tx.execute(
        "INSERT INTO platform_rate_limits (platform_id, rpm_limit, tpm_limit, rpd_limit, updated_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (platform_id) DO UPDATE SET \
         rpm_limit = excluded.rpm_limit, tpm_limit = excluded.tpm_limit, \
         rpd_limit = excluded.rpd_limit, updated_at = excluded.updated_at",
        &args![platform_id, limits.rpm_limit, limits.tpm_limit, limits.rpd_limit, now],
    )
    .await?;
    tx.commit().await
}

pub async fn end_user_override(
    db: &Db,
    end_user_id: Uuid,
) -> Result<Option<RateLimits>, sqlx::Error> {
    db.fetch_optional(
        "SELECT rpm_limit, tpm_limit, rpd_limit FROM end_user_rate_limits WHERE end_user_id = $1",
        &args![end_user_id],
    )
    .await
}

/// [`end_user_override`] inside `tx` (reading what it wrote).
pub async fn end_user_override_in(
    tx: &mut Tx,
    end_user_id: Uuid,
) -> Result<Option<RateLimits>, sqlx::Error> {
    tx.fetch_optional(
        "SELECT rpm_limit, tpm_limit, rpd_limit FROM end_user_rate_limits WHERE end_user_id = $1",
        &args![end_user_id],
    )
    .await
}

pub async fn set_end_user_in(
    tx: &mut Tx,
    platform_id: Uuid,
    end_user_id: Uuid,
    limits: RateLimits,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO end_user_rate_limits (end_user_id, platform_id, rpm_limit, tpm_limit, rpd_limit, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (end_user_id) DO UPDATE SET \
         rpm_limit = excluded.rpm_limit, tpm_limit = excluded.tpm_limit, \
         rpd_limit = excluded.rpd_limit, updated_at = excluded.updated_at",
        &args![end_user_id, platform_id, limits.rpm_limit, limits.tpm_limit, limits.rpd_limit, now],
    )
    .await?;
    Ok(())
}

pub async fn clear_end_user_in(tx: &mut Tx, end_user_id: Uuid) -> Result<(), sqlx::Error> {
    tx.execute(
        "DELETE FROM end_user_rate_limits WHERE end_user_id = $1",
        &args![end_user_id],
    )
    .await?;
    Ok(())
}
