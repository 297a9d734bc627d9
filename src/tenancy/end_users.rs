//! End users: idempotent creation on `external_id` (always with a fresh key),
//! reads, updates, and deletion that kills their keys at once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::keys::{IssuedKey, mint, now};
use super::rate_limits::{self, RateLimitInput, RateLimits};
use crate::auth::{Authenticator, KeyKind};
use crate::billing::accounts;
use crate::billing::budgets::{self, Actor, BudgetConfig, BudgetInput, BudgetView};
use crate::billing::{Money, Period, SharedClock};
use crate::domain::paging::PageRequest;
use crate::domain::{DisplayName, ExternalId, Metadata};
use crate::error::{Error, Result};
use crate::store::Db;
use crate::store::api_keys;
use crate::store::end_users::{self, EndUserRow, EndUserUpdate, NewEndUser};
use crate::store::tx::Tx;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndUserView {
    pub id: Uuid,
    pub platform_id: Uuid,
    pub external_id: String,
    pub display_name: Option<String>,
    pub metadata: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<EndUserRow> for EndUserView {
    fn from(row: EndUserRow) -> Self {
        Self {
            id: row.id,
            platform_id: row.platform_id,
            external_id: row.external_id,
            display_name: row.display_name,
            metadata: row.metadata.0,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The answer to a create: the end user, a key shown once, and the budget and
/// rate limits it has (when any).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndUserWithKey {
    #[serde(flatten)]
    pub end_user: EndUserView,
    pub api_key: IssuedKey,
    pub budget: Option<BudgetView>,
    pub rate_limits: Option<RateLimits>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEndUser {
    pub external_id: String,
    pub display_name: Option<String>,
    pub metadata: Option<Value>,
    /// One-call bootstrap: a budget to create with the end user.
    pub budget: Option<BudgetInput>,
    /// One-call bootstrap: rate-limit overrides to set with the end user.
    pub rate_limits: Option<RateLimitInput>,
}

/// Creates the end user (or finds it by `external_id`) with a fresh key, and,
/// when asked, its budget (else the platform's default budget) and rate limits,
/// in one transaction. An existing end user keeps the budget and limits it has.
/// Returns the answer and whether the end user is new.
pub async fn create_or_get(
    db: &Db,
    clock: &SharedClock,
    platform_id: Uuid,
    request: CreateEndUser,
    actor: &Actor,
) -> Result<(EndUserWithKey, bool)> {
    let external_id = ExternalId::parse(request.external_id)?;
    let display_name = request
        .display_name
        .map(|d| DisplayName::parse("display_name", d).map(DisplayName::into_inner))
        .transpose()?;
    let metadata = match request.metadata {
        Some(value) => Metadata::parse(value)?,
        None => Metadata::empty(),
    };
    let budget = request
        .budget
        .as_ref()
        .map(BudgetConfig::parse)
        .transpose()?;
    let limits = request
        .rate_limits
        .as_ref()
        .map(RateLimits::parse)
        .transpose()?;
    let now = clock.now();
    let user = NewEndUser {
        id: Uuid::now_v7(),
        platform_id,
        external_id: external_id.as_str().to_owned(),
        display_name,
        metadata: metadata.into_inner(),
        created_at: now,
    };

    let mut tx = db.begin().await?;
    let (row, created) = end_users::create_or_get(&mut tx, &user).await?;
    let (key_row, api_key) = mint(KeyKind::EndUser, platform_id, Some(row.id), None, now);
    api_keys::insert_in(&mut tx, &key_row).await?;

    let budget = match budget.or(if created {
        default_budget(&mut tx, platform_id).await?
    } else {
        None
    }) {
        Some(config) if accounts::lock_budget(&mut tx, row.id).await?.is_none() => {
            Some(budgets::create_in(&mut tx, platform_id, row.id, &config, actor, now).await?)
        }
        _ => accounts::lock_budget(&mut tx, row.id).await?,
    };
    if let Some(limits) = limits {
        let existing = crate::store::rate_limits::end_user_override_in(&mut tx, row.id).await?;
        if created || existing.is_none() {
            rate_limits::set_end_user_in(&mut tx, platform_id, row.id, limits, now).await?;
        }
    }
    let limits = crate::store::rate_limits::end_user_override_in(&mut tx, row.id).await?;
    tx.commit().await?;
    Ok((
        EndUserWithKey {
            end_user: row.into(),
            api_key,
            budget: budget.as_ref().map(BudgetView::from),
            rate_limits: limits,
        },
        created,
    ))
}

/// The platform's default budget, when it has one.
async fn default_budget(tx: &mut Tx, platform_id: Uuid) -> Result<Option<BudgetConfig>> {
    Ok(
        match crate::store::platforms::default_budget_in(tx, platform_id).await? {
            Some((Some(micros), Some(period))) => {
                Period::parse(&period).map(|period| BudgetConfig {
                    max: Money::from_micros(micros),
                    period,
                    auto_replenish: false,
                    replenish: None,
                    threshold: None,
                })
            }
            _ => None,
        },
    )
}

pub async fn get(db: &Db, platform_id: Uuid, id: Uuid) -> Result<EndUserView> {
    end_users::get(db, platform_id, id)
        .await?
        .map(Into::into)
        .ok_or_else(|| Error::not_found("end user not found"))
}

pub async fn list(
    db: &Db,
    platform_id: Uuid,
    external_id: Option<String>,
    page: PageRequest,
) -> Result<(Vec<EndUserView>, i64)> {
    let external_id = external_id.map(ExternalId::parse).transpose()?;
    let (rows, total) = end_users::list(
        db,
        platform_id,
        external_id.as_ref().map(ExternalId::as_str),
        i64::from(page.limit),
        page.offset(),
    )
    .await?;
    Ok((rows.into_iter().map(Into::into).collect(), total))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchEndUser {
    /// `null` clears the display name.
    #[serde(default, deserialize_with = "crate::domain::patch::double_option")]
    pub display_name: Option<Option<String>>,
    pub metadata: Option<Value>,
}

pub async fn update(
    db: &Db,
    platform_id: Uuid,
    id: Uuid,
    patch: PatchEndUser,
) -> Result<EndUserView> {
    let display_name = match patch.display_name {
        None => None,
        Some(None) => Some(None),
        Some(Some(name)) => Some(Some(DisplayName::parse("display_name", name)?.into_inner())),
    };
    let update = EndUserUpdate {
        display_name,
        metadata: patch
            .metadata
            .map(Metadata::parse)
            .transpose()?
            .map(Metadata::into_inner),
    };
    end_users::update(db, platform_id, id, &update, now())
        .await?
        .map(Into::into)
        .ok_or_else(|| Error::not_found("end user not found"))
}

/// Deletes the end user and everything it owns; its keys stop working at once.
pub async fn delete(db: &Db, auth: &Authenticator, platform_id: Uuid, id: Uuid) -> Result<()> {
    let hashes = end_users::delete(db, platform_id, id, Utc::now().timestamp_millis())
        .await?
        .ok_or_else(|| Error::not_found("end user not found"))?;
    auth.evict(&hashes);
    Ok(())
}
