//! What the operator changes, shared by `/admin/v1` and the CLI: a platform's
//! enablement and policy, and providers added, changed or removed at runtime
//! (with an auth secret that is sealed on the way in and never shown again).

use std::collections::BTreeSet;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};
use uuid::Uuid;

use super::Capabilities;
use super::catalog::ProviderSpec;
use super::policy::{ConfirmFallback, Mode, Policy};
use super::snapshot::{Availability, Origin, Provider};
use super::store;
use crate::billing::Money;
use crate::billing::SharedClock;
use crate::domain::patch::double_option;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::Db;

const MAX_LIST: usize = 1000;

/// What operator changes need: the database, the clock and the capabilities catalog whose
/// snapshot is rebuilt after each change. Served from [`AppState`], or built by
/// the CLI straight on the configured database.
pub struct Operator {
    pub db: Db,
    pub clock: SharedClock,
    pub capabilities: Capabilities,
}

impl Operator {
    pub fn of(state: &AppState) -> Self {
        Self {
            db: state.db.clone(),
            clock: state.clock.clone(),
            capabilities: state.capabilities.clone(),
        }
    }
}

/// `PUT /admin/v1/platforms/{pid}/capabilities`: fields left out keep their value.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    pub enabled: Option<bool>,
    pub mode: Option<Mode>,
    pub allowlist: Option<Vec<String>>,
    pub denylist: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<f64>)]
    pub max_cost_per_call_usd: Option<Option<Number>>,
    #[serde(default, deserialize_with = "double_option")]
    pub min_rating: Option<Option<f64>>,
    pub require_healthy: Option<bool>,
    pub charge_failed_calls: Option<bool>,
    /// `null` turns confirmation off.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<f64>)]
    pub confirm_above_usd: Option<Option<Number>>,
    pub confirm_fallback: Option<ConfirmFallback>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PolicyView {
    pub platform_id: Uuid,
    pub enabled: bool,
    pub mode: Mode,
    pub allowlist: BTreeSet<String>,
    pub denylist: BTreeSet<String>,
    pub max_cost_per_call_usd: Option<Money>,
    pub min_rating: Option<f64>,
    pub require_healthy: bool,
    pub charge_failed_calls: bool,
    pub confirm_above_usd: Option<Money>,
    pub confirm_fallback: ConfirmFallback,
}

impl PolicyView {
    pub fn new(platform_id: Uuid, p: Policy) -> Self {
        Self {
            platform_id,
            enabled: p.enabled,
            mode: p.mode,
            allowlist: p.allowlist,
            denylist: p.denylist,
            max_cost_per_call_usd: p.max_cost_per_call,
            min_rating: p.min_rating,
            require_healthy: p.require_healthy,
            charge_failed_calls: p.charge_failed_calls,
            confirm_above_usd: p.confirm_above,
            confirm_fallback: p.confirm_fallback,
        }
    }
}

fn check_list(field: &str, list: &[String]) -> Result<()> {
    if list.len() > MAX_LIST || list.iter().any(|e| e.is_empty() || e.len() > 100) {
        return Err(Error::bad_request(format!(
            "{field}: at most {MAX_LIST} provider uids or capability slugs, each 1-100 characters"
        )));
    }
    Ok(())
}

pub async fn show_policy(state: &Operator, platform_id: Uuid) -> Result<PolicyView> {
    crate::tenancy::platforms::get(&state.db, platform_id).await?;
    let policy = store::policy(&state.db, platform_id).await?;
    Ok(PolicyView::new(platform_id, policy))
}

/// Applies `input` over the current policy, after checking all of it.
pub async fn set_policy(
    state: &Operator,
    platform_id: Uuid,
    input: PolicyInput,
) -> Result<PolicyView> {
    crate::tenancy::platforms::get(&state.db, platform_id).await?;
    let mut policy = store::policy(&state.db, platform_id).await?;
    if let Some(list) = input.allowlist {
        check_list("allowlist", &list)?;
        policy.allowlist = list.into_iter().collect();
    }
    if let Some(list) = input.denylist {
        check_list("denylist", &list)?;
        policy.denylist = list.into_iter().collect();
    }
    if let Some(max) = input.max_cost_per_call_usd {
        let max = max
            .map(|n| Money::from_usd_json("max_cost_per_call_usd", &n))
            .transpose()?;
        if max.is_some_and(Money::is_negative) {
            return Err(Error::bad_request(
                "max_cost_per_call_usd must not be negative",
            ));
        }
        policy.max_cost_per_call = max;
    }
    if let Some(confirm) = input.confirm_above_usd {
        let confirm = confirm
            .map(|n| Money::from_usd_json("confirm_above_usd", &n))
            .transpose()?;
        if confirm.is_some_and(Money::is_negative) {
            return Err(Error::bad_request("confirm_above_usd must not be negative"));
        }
        policy.confirm_above = confirm;
    }
    if let Some(min) = input.min_rating {
        if min.is_some_and(|m| !(0.0..=5.0).contains(&m)) {
            return Err(Error::bad_request("min_rating must be between 0 and 5"));
        }
        policy.min_rating = min;
    }
    policy.enabled = input.enabled.unwrap_or(policy.enabled);
    policy.mode = input.mode.unwrap_or(policy.mode);
    policy.require_healthy = input.require_healthy.unwrap_or(policy.require_healthy);
    policy.confirm_fallback = input.confirm_fallback.unwrap_or(policy.confirm_fallback);
    policy.charge_failed_calls = input
        .charge_failed_calls
        .unwrap_or(policy.charge_failed_calls);
    store::save_policy(&state.db, platform_id, &policy, state.clock.now()).await?;
    state.capabilities.forget_platform(platform_id);
    Ok(PolicyView::new(platform_id, policy))
}

/// A provider as the operator sees it: the whole spec (endpoints included),
/// where it comes from, its health, and whether a secret is set (never the secret).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdminProviderView {
    #[serde(flatten)]
    pub spec: ProviderSpec,
    pub origin: Origin,
    pub availability: Availability,
    pub secret_set: bool,
}

pub fn admin_view(market: &Capabilities, provider: &Provider) -> AdminProviderView {
    AdminProviderView {
        spec: provider.spec.clone(),
        origin: provider.origin,
        availability: market.availability(provider),
        secret_set: provider.sealed_secret.is_some(),
    }
}

pub fn list_providers(state: &Operator) -> Vec<AdminProviderView> {
    let market = &state.capabilities;
    market
        .snapshot()
        .providers
        .iter()
        .map(|p| admin_view(market, p))
        .collect()
}

pub fn show_provider(state: &Operator, uid: &str) -> Result<AdminProviderView> {
    let market = &state.capabilities;
    let snapshot = market.snapshot();
    let provider = snapshot
        .provider(uid)
        .ok_or_else(|| Error::not_found(format!("no capability provider '{uid}'")))?;
    Ok(admin_view(market, provider))
}

/// Takes `auth.secret` out of a provider body, leaving a spec to parse.
fn split_secret(mut body: Value) -> Result<(Value, Option<SecretString>)> {
    let secret = match body.get_mut("auth").and_then(Value::as_object_mut) {
        Some(auth) => match auth.remove("secret") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.is_empty() && s.len() <= 4096 => {
                Some(SecretString::from(s))
            }
            Some(_) => {
                return Err(Error::bad_request(
                    "auth.secret must be a string of 1-4096 characters",
                ));
            }
        },
        None => None,
    };
    Ok((body, secret))
}

async fn store_spec(
    state: &Operator,
    body: Value,
    secret: Option<SecretString>,
) -> Result<AdminProviderView> {
    let spec: ProviderSpec = serde_json::from_value(body)
        .map_err(|e| Error::bad_request(format!("invalid provider: {e}")))?;
    let market = &state.capabilities;
    let snapshot = market.snapshot();
    spec.check(&snapshot.shelf_slugs())
        .map_err(Error::bad_request)?;
    if secret.is_some() && spec.auth.is_none() {
        return Err(Error::bad_request(
            "auth.header: name the header the secret is sent in",
        ));
    }
    let sealed = secret
        .map(|s| market.seal_secret(&spec.uid, &s))
        .transpose()?;
    store::put_provider(&state.db, &spec, sealed, state.clock.now()).await?;
    market.reload(&state.db).await?;
    show_provider(state, &spec.uid)
}

pub async fn add_provider(state: &Operator, body: Value) -> Result<AdminProviderView> {
    let (body, secret) = split_secret(body)?;
    let uid = body["uid"].as_str().unwrap_or_default();
    if state.capabilities.snapshot().provider(uid).is_some() {
        return Err(Error::conflict(format!(
            "provider '{uid}' exists: change it with PATCH"
        )));
    }
    store_spec(state, body, secret).await
}

/// Lays the given fields over the provider's current definition.
pub async fn change_provider(
    state: &Operator,
    uid: &str,
    patch: Value,
) -> Result<AdminProviderView> {
    let Value::Object(patch) = patch else {
        return Err(Error::bad_request("the body must be a JSON object"));
    };
    let current = show_provider(state, uid)?;
    let (patch, secret) = split_secret(Value::Object(patch))?;
    let mut merged = serde_json::to_value(&current.spec).map_err(Error::internal)?;
    if let (Some(target), Value::Object(fields)) = (merged.as_object_mut(), patch) {
        for (key, value) in fields {
            if key == "uid" && value.as_str() != Some(uid) {
                return Err(Error::bad_request("uid cannot be changed"));
            }
            if value.is_null() {
                target.remove(&key);
            } else {
                target.insert(key, value);
            }
        }
    }
    store_spec(state, merged, secret).await
}

pub async fn remove_provider(state: &Operator, uid: &str) -> Result<()> {
    let market = &state.capabilities;
    if market.snapshot().provider(uid).is_none() {
        return Err(Error::not_found(format!("no capability provider '{uid}'")));
    }
    let shipped = market.catalog().providers.iter().any(|p| p.uid == uid);
    store::remove_provider(&state.db, uid, shipped, state.clock.now()).await?;
    market.reload(&state.db).await?;
    Ok(())
}
