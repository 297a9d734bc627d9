//! Platforms: creation (with the first key), first-start provisioning, settings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Number;
use uuid::Uuid;

use super::keys::{IssuedKey, mint, now};
use crate::auth::KeyKind;
use crate::billing::{Money, Period};
use crate::domain::{DisplayName, PlatformName};
use crate::error::{Error, Result};
use crate::store::platforms::{self, NewPlatform, PlatformRow, PlatformUpdate};
use crate::store::{Db, is_unique_violation};

pub const DEFAULT_PLATFORM_NAME: &str = "default";
const DEFAULT_DISPLAY_UNIT: &str = "credits";
const DEFAULT_CREDITS_PER_USD: f64 = 1000.0;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DefaultBudgetView {
    pub max_usd: Money,
    pub period: Period,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlatformView {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub skills_enabled: bool,
    pub display_unit: String,
    pub credits_per_usd: f64,
    pub markup_percent: f64,
    pub default_budget: Option<DefaultBudgetView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<PlatformRow> for PlatformView {
    fn from(row: PlatformRow) -> Self {
        let default_budget = match (
            row.default_budget_micros,
            row.default_budget_period.as_deref(),
        ) {
            (Some(micros), Some(period)) => Period::parse(period).map(|period| DefaultBudgetView {
                max_usd: Money::from_micros(micros),
                period,
            }),
            _ => None,
        };
        Self {
            id: row.id,
            name: row.name,
            display_name: row.display_name,
            skills_enabled: row.skills_enabled,
            display_unit: row.display_unit,
            credits_per_usd: row.credits_per_usd,
            markup_percent: row.markup_bps as f64 / 100.0,
            default_budget,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A platform just created, with its first key (shown once).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedPlatform {
    #[serde(flatten)]
    pub platform: PlatformView,
    pub api_key: IssuedKey,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePlatform {
    pub name: String,
    pub display_name: Option<String>,
    /// `{"metered": true}` starts the wallet metered (spend stops at zero).
    pub wallet: Option<WalletOptions>,
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalletOptions {
    #[serde(default)]
    pub metered: bool,
}

pub async fn create(db: &Db, request: CreatePlatform) -> Result<CreatedPlatform> {
    let name = PlatformName::parse(request.name)?;
    let display_name = match request.display_name {
        Some(display) => DisplayName::parse("display_name", display)?.into_inner(),
        None => name.as_str().to_owned(),
    };
    let metered = request.wallet.is_some_and(|w| w.metered);
    match insert(db, &name, display_name, metered).await {
        Err(err) if is_unique_violation(&err) => Err(Error::conflict(format!(
            "a platform named '{}' already exists",
            name.as_str()
        ))),
        other => Ok(other?),
    }
}

async fn insert(
    db: &Db,
    name: &PlatformName,
    display_name: String,
    metered: bool,
) -> Result<CreatedPlatform, sqlx::Error> {
    let created_at = now();
    let platform = NewPlatform {
        id: Uuid::now_v7(),
        name: name.as_str().to_owned(),
        display_name,
        display_unit: DEFAULT_DISPLAY_UNIT.to_owned(),
        credits_per_usd: DEFAULT_CREDITS_PER_USD,
        created_at,
    };
    let (key, issued) = mint(
        KeyKind::Platform,
        platform.id,
        None,
        Some("initial".into()),
        created_at,
    );
    let row = platforms::insert_with_key(db, &platform, &key, metered).await?;
    Ok(CreatedPlatform {
        platform: row.into(),
        api_key: issued,
    })
}

/// On an empty database, creates the `default` platform and returns it with its
/// key. When another instance wins the race, or platforms exist, returns `None`.
pub async fn provision_default(db: &Db) -> anyhow::Result<Option<CreatedPlatform>> {
    if platforms::count(db).await? > 0 {
        return Ok(None);
    }
    let name = PlatformName::parse(DEFAULT_PLATFORM_NAME.into()).map_err(anyhow::Error::msg)?;
    match insert(db, &name, "Default platform".into(), false).await {
        Ok(created) => Ok(Some(created)),
        Err(err) if is_unique_violation(&err) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

pub async fn get(db: &Db, id: Uuid) -> Result<PlatformView> {
    platforms::get(db, id)
        .await?
        .map(Into::into)
        .ok_or_else(|| Error::not_found("platform not found"))
}

/// `PATCH /v1/platforms/{pid}` body. Absent fields stay as they are.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchPlatform {
    pub display_name: Option<String>,
    pub skills_enabled: Option<bool>,
    pub display_unit: Option<String>,
    #[schema(value_type = Option<f64>)]
    pub credits_per_usd: Option<Number>,
    #[schema(value_type = Option<f64>)]
    pub markup_percent: Option<Number>,
    /// `null` clears the default budget.
    #[serde(default, deserialize_with = "crate::domain::patch::double_option")]
    pub default_budget: Option<Option<DefaultBudgetInput>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultBudgetInput {
    #[schema(value_type = f64)]
    pub max_usd: Number,
    pub period: Period,
}

fn parse_patch(patch: PatchPlatform) -> Result<PlatformUpdate> {
    let display_name = patch
        .display_name
        .map(|d| DisplayName::parse("display_name", d).map(DisplayName::into_inner))
        .transpose()?;
    let display_unit = patch
        .display_unit
        .map(|u| DisplayName::parse("display_unit", u).map(DisplayName::into_inner))
        .transpose()?;
    if display_unit
        .as_ref()
        .is_some_and(|u| u.chars().count() > 32)
    {
        return Err(Error::bad_request(
            "display_unit is too long: at most 32 characters",
        ));
    }
    let credits_per_usd = patch
        .credits_per_usd
        .map(|n| match n.as_f64() {
            Some(v) if v.is_finite() && v > 0.0 && v <= 1e9 => Ok(v),
            _ => Err(Error::bad_request(
                "credits_per_usd must be a number above 0 and at most 1e9",
            )),
        })
        .transpose()?;
    let markup_bps = patch
        .markup_percent
        .map(|n| match n.as_f64() {
            Some(v) if (0.0..=1000.0).contains(&v) && (v * 100.0).fract().abs() < 1e-9 => {
                Ok((v * 100.0).round() as i64)
            }
            _ => Err(Error::bad_request(
                "markup_percent must be between 0 and 1000 with at most two decimals",
            )),
        })
        .transpose()?;
    let default_budget = match patch.default_budget {
        None => None,
        Some(None) => Some(None),
        Some(Some(input)) => {
            let max = Money::from_usd_json("default_budget.max_usd", &input.max_usd)?;
            if max.is_negative() {
                return Err(Error::bad_request(
                    "default_budget.max_usd must not be negative",
                ));
            }
            Some(Some((max.micros(), input.period.as_str().to_owned())))
        }
    };
    Ok(PlatformUpdate {
        display_name,
        skills_enabled: patch.skills_enabled,
        display_unit,
        credits_per_usd,
        markup_bps,
        default_budget,
    })
}

pub async fn update(db: &Db, id: Uuid, patch: PatchPlatform) -> Result<PlatformView> {
    let update = parse_patch(patch)?;
    platforms::update(db, id, &update, now())
        .await?
        .map(Into::into)
        .ok_or_else(|| Error::not_found("platform not found"))
}
