//! What the operator changes, shared by `/admin/v1/platforms/{pid}/llm-providers`
//! and `assistiv admin llm ...`: a platform's provider configs, with an API key
//! that is sealed on the way in and never shown again.

use std::collections::BTreeMap;

use assistiv_llm::ProviderKind;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Inference;
use super::routing::{PriceMicros, Settings};
use super::store::{self, ProviderRow};
use crate::billing::SharedClock;
use crate::domain::patch::double_option;
use crate::error::{Error, Result};
use crate::store::Db;

const MAX_MODELS: usize = 1000;
const MAX_USD_PER_MTOK: f64 = 100_000.0;
/// What the `mock` provider is, wherever it is listed.
pub const MOCK_NOTE: &str = "mock provider: deterministic echo answers for trying the gateway, \
    demos and benchmarks; not a real model";

/// What operator changes need. Served from `AppState`, or built by the CLI
/// straight on the configured database.
pub struct Operator {
    pub db: Db,
    pub clock: SharedClock,
    pub inference: Inference,
}

/// A config to create (`POST`) or the fields to change (`PATCH`; absent fields
/// keep their value, `null` clears `base_url` and `models`).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = LlmProviderInput)]
pub struct ProviderInput {
    /// `openai`, `anthropic`, `google`, `xai`, `openai-compatible`, `mock`
    /// (set at creation only).
    pub provider: Option<String>,
    pub name: Option<String>,
    /// Write-only.
    #[schema(value_type = Option<String>)]
    pub api_key: Option<SecretString>,
    #[serde(default, deserialize_with = "double_option")]
    pub base_url: Option<Option<String>>,
    pub enabled: Option<bool>,
    /// Lower is tried first.
    pub priority: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    pub models: Option<Option<Vec<String>>>,
    pub aliases: Option<BTreeMap<String, String>>,
    /// Per model, USD per million tokens (replaces the set).
    pub prices: Option<BTreeMap<String, PriceInput>>,
}

/// A price override as the operator writes it: USD per million tokens.
/// `cached_input` and `cache_write` default to `input`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceInput {
    pub input: f64,
    #[serde(default)]
    pub cached_input: Option<f64>,
    #[serde(default)]
    pub cache_write: Option<f64>,
    pub output: f64,
}

/// A config as the operator sees it: never the key, only whether one is set.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = LlmProviderView)]
pub struct ProviderView {
    pub id: Uuid,
    pub platform_id: Uuid,
    pub name: String,
    pub provider: String,
    pub base_url: Option<String>,
    pub enabled: bool,
    pub priority: i64,
    pub api_key_set: bool,
    /// The allowlist (`null`: the kind's priced models).
    pub models: Option<Vec<String>>,
    /// What it serves now: the allowlist or defaults, with their prices known.
    pub serves: Vec<String>,
    /// Served but unpriced: refused until the operator sets a price.
    pub unpriced: Vec<String>,
    pub aliases: BTreeMap<String, String>,
    pub prices: BTreeMap<String, PriceInput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn usd(micros: u64) -> f64 {
    micros as f64 / 1_000_000.0
}

pub fn view(inference: &Inference, row: &ProviderRow) -> ProviderView {
    let settings = Settings::of(row);
    let kind = ProviderKind::parse(&row.kind).unwrap_or(ProviderKind::Mock);
    let book = inference.prices();
    let (serves, unpriced): (Vec<String>, Vec<String>) = settings
        .served(kind, book)
        .into_iter()
        .partition(|m| settings.price(kind, m, book).is_some());
    ProviderView {
        id: row.id,
        platform_id: row.platform_id,
        name: row.name.clone(),
        provider: row.kind.clone(),
        base_url: row.base_url.clone(),
        enabled: row.enabled,
        priority: row.priority,
        api_key_set: row.api_key_enc.is_some(),
        models: settings.models.clone(),
        serves,
        unpriced,
        aliases: settings.aliases.clone(),
        prices: settings
            .prices
            .iter()
            .map(|(model, p)| {
                let price = PriceInput {
                    input: usd(p.input),
                    cached_input: Some(usd(p.cached_input)),
                    cache_write: Some(usd(p.cache_write)),
                    output: usd(p.output),
                };
                (model.clone(), price)
            })
            .collect(),
        note: (kind == ProviderKind::Mock).then_some(MOCK_NOTE),
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

async fn platform_exists(db: &Db, platform_id: Uuid) -> Result<()> {
    crate::tenancy::platforms::get(db, platform_id)
        .await
        .map(|_| ())
}

fn not_found() -> Error {
    Error::not_found("no such LLM provider config on this platform")
}

pub async fn list(ops: &Operator, platform_id: Uuid) -> Result<Vec<ProviderView>> {
    platform_exists(&ops.db, platform_id).await?;
    let rows = store::list(&ops.db, platform_id).await?;
    Ok(rows.iter().map(|r| view(&ops.inference, r)).collect())
}

pub async fn show(ops: &Operator, platform_id: Uuid, id: Uuid) -> Result<ProviderView> {
    let row = store::get(&ops.db, platform_id, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(view(&ops.inference, &row))
}

fn check_model_id(field: &str, id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 256 || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::bad_request(format!(
            "{field}: model ids are 1-256 characters without whitespace ('{id}')"
        )));
    }
    Ok(())
}

fn price_micros(model: &str, field: &str, usd: f64) -> Result<u64> {
    if !usd.is_finite() || !(0.0..=MAX_USD_PER_MTOK).contains(&usd) {
        return Err(Error::bad_request(format!(
            "prices.{model}.{field}: a price between 0 and {MAX_USD_PER_MTOK} USD per million tokens"
        )));
    }
    Ok((usd * 1_000_000.0).round() as u64)
}

/// Lays `input` over `row` (checked whole before anything is written).
fn apply(row: &mut ProviderRow, kind: ProviderKind, input: ProviderInput) -> Result<()> {
    let mut settings = Settings::of(row);
    if let Some(name) = input.name {
        let name = name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::bad_request("name: 1-100 characters"));
        }
        row.name = name;
    }
    if let Some(base_url) = input.base_url {
        if let Some(url) = &base_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(Error::bad_request("base_url must be an http(s) URL"));
        }
        row.base_url = base_url.map(|u| u.trim_end_matches('/').to_owned());
    }
    if let Some(enabled) = input.enabled {
        row.enabled = enabled;
    }
    if let Some(priority) = input.priority {
        if !(0..=1_000_000).contains(&priority) {
            return Err(Error::bad_request(
                "priority: 0-1000000 (lower is tried first)",
            ));
        }
        row.priority = priority;
    }
    if let Some(models) = input.models {
        if let Some(list) = &models {
            if list.len() > MAX_MODELS {
                return Err(Error::bad_request(format!("models: at most {MAX_MODELS}")));
            }
            for id in list {
                check_model_id("models", id)?;
            }
        }
        settings.models = models;
    }
    if let Some(aliases) = input.aliases {
        if aliases.len() > MAX_MODELS {
            return Err(Error::bad_request(format!("aliases: at most {MAX_MODELS}")));
        }
        for (alias, target) in &aliases {
            check_model_id("aliases", alias)?;
            check_model_id("aliases", target)?;
            if alias.contains('/') {
                return Err(Error::bad_request(format!(
                    "aliases: '{alias}' must not contain '/' (the provider/model form is added by the gateway)"
                )));
            }
        }
        settings.aliases = aliases;
    }
    if let Some(prices) = input.prices {
        if prices.len() > MAX_MODELS {
            return Err(Error::bad_request(format!(
                "prices: at most {MAX_MODELS} models"
            )));
        }
        let mut parsed = BTreeMap::new();
        for (model, p) in prices {
            check_model_id("prices", &model)?;
            let input = price_micros(&model, "input", p.input)?;
            let price = PriceMicros {
                input,
                cached_input: p
                    .cached_input
                    .map_or(Ok(input), |v| price_micros(&model, "cached_input", v))?,
                cache_write: p
                    .cache_write
                    .map_or(Ok(input), |v| price_micros(&model, "cache_write", v))?,
                output: price_micros(&model, "output", p.output)?,
            };
            parsed.insert(model, price);
        }
        settings.prices = parsed;
    }
    if kind == ProviderKind::OpenAiCompatible && row.base_url.is_none() {
        return Err(Error::bad_request(
            "base_url: an openai-compatible provider needs one (e.g. http://localhost:11434/v1)",
        ));
    }
    row.models = settings.models.as_ref().map(json_text);
    row.aliases = json_text(&settings.aliases);
    row.prices = json_text(&settings.prices);
    Ok(())
}

/// A JSON column's text (these values always serialize).
fn json_text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

fn check_key(kind: ProviderKind, key: Option<&SecretString>, creating: bool) -> Result<()> {
    if let Some(key) = key {
        let raw = key.expose_secret();
        if raw.is_empty() || raw.len() > 4096 || raw.chars().any(char::is_control) {
            return Err(Error::bad_request(
                "api_key: 1-4096 characters without control characters",
            ));
        }
        if kind == ProviderKind::Mock {
            return Err(Error::bad_request(
                "api_key: the mock provider takes no key",
            ));
        }
    } else if creating && !matches!(kind, ProviderKind::Mock | ProviderKind::OpenAiCompatible) {
        return Err(Error::bad_request(format!(
            "api_key: a {kind} provider needs the provider's API key"
        )));
    }
    Ok(())
}

pub async fn create(
    ops: &Operator,
    platform_id: Uuid,
    input: ProviderInput,
) -> Result<ProviderView> {
    platform_exists(&ops.db, platform_id).await?;
    let name = input.provider.clone().ok_or_else(|| {
        Error::bad_request(
            "provider: one of openai, anthropic, google, xai, openai-compatible, mock",
        )
    })?;
    let kind = ProviderKind::parse(&name).ok_or_else(|| {
        Error::bad_request(format!(
            "provider: '{name}' is not one of openai, anthropic, google, xai, openai-compatible, mock"
        ))
    })?;
    check_key(kind, input.api_key.as_ref(), true)?;
    let now = ops.clock.now();
    let id = Uuid::now_v7();
    let mut row = ProviderRow {
        id,
        platform_id,
        name: name.clone(),
        kind: kind.as_str().to_owned(),
        api_key_enc: None,
        base_url: None,
        enabled: true,
        priority: 100,
        models: None,
        aliases: "{}".into(),
        prices: "{}".into(),
        created_at: now,
        updated_at: now,
    };
    let key = input.api_key.clone();
    apply(
        &mut row,
        kind,
        ProviderInput {
            provider: None,
            ..input
        },
    )?;
    row.api_key_enc = key.map(|k| ops.inference.seal_key(id, &k)).transpose()?;
    store::insert(&ops.db, &row).await?;
    ops.inference.forget_platform(platform_id);
    Ok(view(&ops.inference, &row))
}

pub async fn change(
    ops: &Operator,
    platform_id: Uuid,
    id: Uuid,
    input: ProviderInput,
) -> Result<ProviderView> {
    let mut row = store::get(&ops.db, platform_id, id)
        .await?
        .ok_or_else(not_found)?;
    let kind = ProviderKind::parse(&row.kind).unwrap_or(ProviderKind::Mock);
    if input.provider.as_deref().is_some_and(|p| p != row.kind) {
        return Err(Error::bad_request(
            "provider cannot be changed: create another config",
        ));
    }
    check_key(kind, input.api_key.as_ref(), false)?;
    let key = input.api_key.clone();
    apply(&mut row, kind, input)?;
    row.updated_at = ops.clock.now();
    let sealed = key.map(|k| ops.inference.seal_key(id, &k)).transpose()?;
    if sealed.is_some() {
        row.api_key_enc.clone_from(&sealed);
    }
    if !store::update(&ops.db, &row, sealed).await? {
        return Err(not_found());
    }
    ops.inference.forget_platform(platform_id);
    Ok(view(&ops.inference, &row))
}

pub async fn remove(ops: &Operator, platform_id: Uuid, id: Uuid) -> Result<()> {
    if !store::delete(&ops.db, platform_id, id).await? {
        return Err(not_found());
    }
    ops.inference.forget_platform(platform_id);
    Ok(())
}

/// First start: the `default` platform gets the labelled mock provider, so the
/// README's first curl gets an answer.
pub async fn provision_mock(ops: &Operator, platform_id: Uuid) -> Result<ProviderView> {
    create(
        ops,
        platform_id,
        ProviderInput {
            provider: Some("mock".into()),
            name: Some("mock (not a real model)".into()),
            ..ProviderInput::default()
        },
    )
    .await
}
