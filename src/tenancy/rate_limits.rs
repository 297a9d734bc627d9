//! Rate-limit settings: the platform default and per-end-user overrides. A field
//! left `null` in an override inherits the platform default; `null` in the
//! platform default means unlimited.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::store::Db;
use crate::store::rate_limits as store;
use crate::store::tx::Tx;

const MAX_LIMIT: u64 = 1_000_000_000;

/// A PUT body. Accepts the seeds' long names as aliases.
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitInput {
    #[serde(alias = "requests_per_minute")]
    pub rpm_limit: Option<u64>,
    #[serde(alias = "tokens_per_minute")]
    pub tpm_limit: Option<u64>,
    #[serde(alias = "requests_per_day")]
    pub rpd_limit: Option<u64>,
}

/// Limits as stored and shown; `None` = not set.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema,
)]
pub struct RateLimits {
    pub rpm_limit: Option<i64>,
    pub tpm_limit: Option<i64>,
    pub rpd_limit: Option<i64>,
}

impl RateLimits {
    pub fn parse(input: &RateLimitInput) -> Result<Self> {
        let check = |name: &str, value: Option<u64>| -> Result<Option<i64>> {
            match value {
                None => Ok(None),
                Some(v) if (1..=MAX_LIMIT).contains(&v) => Ok(Some(v as i64)),
                Some(_) => Err(Error::bad_request(format!(
                    "{name} must be between 1 and {MAX_LIMIT}"
                ))),
            }
        };
        Ok(Self {
            rpm_limit: check("rpm_limit", input.rpm_limit)?,
            tpm_limit: check("tpm_limit", input.tpm_limit)?,
            rpd_limit: check("rpd_limit", input.rpd_limit)?,
        })
    }

    /// This override's fields where set, the platform's elsewhere.
    pub fn over(self, platform: RateLimits) -> RateLimits {
        RateLimits {
            rpm_limit: self.rpm_limit.or(platform.rpm_limit),
            tpm_limit: self.tpm_limit.or(platform.tpm_limit),
            rpd_limit: self.rpd_limit.or(platform.rpd_limit),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndUserLimitsView {
    pub end_user_id: Uuid,
    /// The end user's own settings, `null` when it follows the platform default.
    #[serde(rename = "override")]
    pub override_limits: Option<RateLimits>,
    pub effective: RateLimits,
}

pub async fn platform_default(db: &Db, platform_id: Uuid) -> Result<RateLimits> {
    Ok(store::platform_default(db, platform_id)
        .await?
        .unwrap_or_default())
}

pub async fn set_platform_default(
    db: &Db,
    platform_id: Uuid,
    limits: RateLimits,
    now: DateTime<Utc>,
) -> Result<RateLimits> {
    store::set_platform_default(db, platform_id, limits, now).await?;
    Ok(limits)
}

/// What applies to this end user now.
pub async fn effective(db: &Db, platform_id: Uuid, end_user_id: Uuid) -> Result<RateLimits> {
    let platform = platform_default(db, platform_id).await?;
    Ok(match store::end_user_override(db, end_user_id).await? {
        Some(own) => own.over(platform),
        None => platform,
    })
}

pub async fn end_user_view(
    db: &Db,
    platform_id: Uuid,
    end_user_id: Uuid,
) -> Result<EndUserLimitsView> {
    let platform = platform_default(db, platform_id).await?;
    let own = store::end_user_override(db, end_user_id).await?;
    Ok(EndUserLimitsView {
        end_user_id,
        override_limits: own,
        effective: own.map_or(platform, |o| o.over(platform)),
    })
}

/// Sets the end user's override inside `tx` (the end user must exist).
pub async fn set_end_user_in(
    tx: &mut Tx,
    platform_id: Uuid,
    end_user_id: Uuid,
    limits: RateLimits,
    now: DateTime<Utc>,
) -> Result<()> {
    Ok(store::set_end_user_in(tx, platform_id, end_user_id, limits, now).await?)
}

pub async fn set_end_user(
    db: &Db,
    platform_id: Uuid,
    end_user_id: Uuid,
    limits: RateLimits,
    now: DateTime<Utc>,
) -> Result<EndUserLimitsView> {
    let mut tx = db.begin().await?;
    crate::store::end_users::ensure_in(&mut tx, platform_id, end_user_id).await?;
    set_end_user_in(&mut tx, platform_id, end_user_id, limits, now).await?;
    tx.commit().await?;
    end_user_view(db, platform_id, end_user_id).await
}

pub async fn clear_end_user(
    db: &Db,
    platform_id: Uuid,
    end_user_id: Uuid,
) -> Result<EndUserLimitsView> {
    let mut tx = db.begin().await?;
    crate::store::end_users::ensure_in(&mut tx, platform_id, end_user_id).await?;
    store::clear_end_user_in(&mut tx, end_user_id).await?;
    tx.commit().await?;
    end_user_view(db, platform_id, end_user_id).await
}

/// 404 unless the end user belongs to the platform (for reads).
pub async fn check_end_user(db: &Db, platform_id: Uuid, end_user_id: Uuid) -> Result<()> {
    crate::store::end_users::ensure(db, platform_id, end_user_id).await
}

/// Effective limits per end user, cached briefly so enforcement costs no query
/// on the hot path. Changes made here invalidate at once; other instances see
/// them within the TTL.
#[derive(Clone)]
pub struct LimitsCache {
    cache: moka::sync::Cache<Uuid, RateLimits>,
}

impl Default for LimitsCache {
    fn default() -> Self {
        Self {
            cache: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(std::time::Duration::from_secs(2))
                .build(),
        }
    }
}

impl LimitsCache {
    pub async fn get(&self, db: &Db, platform_id: Uuid, end_user_id: Uuid) -> Result<RateLimits> {
        if let Some(limits) = self.cache.get(&end_user_id) {
            return Ok(limits);
        }
        let limits = effective(db, platform_id, end_user_id).await?;
        self.cache.insert(end_user_id, limits);
        Ok(limits)
    }

    pub fn invalidate(&self, end_user_id: Uuid) {
        self.cache.invalidate(&end_user_id);
    }

    /// A platform default changed: every end user may be affected.
    pub fn invalidate_platform(&self, _platform_id: Uuid) {
        self.cache.invalidate_all();
    }
}
