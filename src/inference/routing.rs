//! A platform's routes: its enabled provider configs in the order they are tried
//! (priority, lowest first), each with a built client and the priced models it
//! serves; and the candidates for a requested model.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use assistiv_llm::openai::ModelObject;
use assistiv_llm::{ModelPrice, ModelRef, PriceBook, Provider, ProviderConfig, ProviderKind};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Inference;
use super::store::{self, ProviderRow};
use crate::error::{Error, Result};
use crate::store::Db;

/// A price override, in micro-USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceMicros {
    pub input: u64,
    pub cached_input: u64,
    pub cache_write: u64,
    pub output: u64,
}

/// The JSON columns of a config, parsed.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The allowlist; `None` serves the kind's priced models.
    pub models: Option<Vec<String>>,
    pub aliases: BTreeMap<String, String>,
    pub prices: BTreeMap<String, PriceMicros>,
}

impl Settings {
    pub fn of(row: &ProviderRow) -> Self {
        Self {
            models: row
                .models
                .as_deref()
                .and_then(|m| serde_json::from_str(m).ok()),
            aliases: serde_json::from_str(&row.aliases).unwrap_or_default(),
            prices: serde_json::from_str(&row.prices).unwrap_or_default(),
        }
    }

    /// The models a config of `kind` serves: its allowlist, or the kind's
    /// priced models and the ones the operator priced.
    pub fn served(&self, kind: ProviderKind, book: &PriceBook) -> BTreeSet<String> {
        match &self.models {
            Some(list) => list.iter().cloned().collect(),
            None => assistiv_llm::default_models(kind, book)
                .into_iter()
                .chain(self.prices.keys().cloned())
                .collect(),
        }
    }

    /// The price of `model` at a config of `kind`: the operator's override,
    /// else the price book's; `None` means it cannot be served.
    pub fn price(&self, kind: ProviderKind, model: &str, book: &PriceBook) -> Option<ModelPrice> {
        if let Some(p) = self.prices.get(model) {
            return Some(ModelPrice {
                provider: kind,
                model: model.to_owned(),
                input: p.input,
                cached_input: p.cached_input,
                cache_write: p.cache_write,
                output: p.output,
                source: "operator override".into(),
                read_on: String::new(),
            });
        }
        book.get(kind, model).cloned()
    }
}

/// One enabled config, ready to call.
pub struct Configured {
    pub id: Uuid,
    pub name: String,
    pub kind: ProviderKind,
    pub client: Provider,
    /// Every model it serves that has a price.
    pub models: BTreeMap<String, ModelPrice>,
    /// Models it serves without a price (refused, never served free).
    pub unpriced: HashSet<String>,
    pub aliases: BTreeMap<String, String>,
}

/// A platform's enabled configs, in the order they are tried.
pub struct PlatformRoutes {
    pub markup_bps: u32,
    pub providers: Vec<Arc<Configured>>,
}

/// One provider that may answer a request, and the model id it is sent.
#[derive(Clone)]
pub struct Candidate {
    pub provider: Arc<Configured>,
    pub model: String,
    pub price: ModelPrice,
}

pub(super) async fn build(
    inference: &Inference,
    db: &Db,
    platform_id: Uuid,
) -> Result<PlatformRoutes> {
    let platform = crate::store::platforms::get(db, platform_id)
        .await?
        .ok_or_else(|| Error::not_found("platform not found"))?;
    let rows = store::list(db, platform_id).await?;
    let book = inference.prices();
    let mut providers = Vec::new();
    for row in rows.iter().filter(|r| r.enabled) {
        let Some(kind) = ProviderKind::parse(&row.kind) else {
            continue;
        };
        let Some(client) = client(inference, row, kind) else {
            continue;
        };
        let settings = Settings::of(row);
        let mut models = BTreeMap::new();
        let mut unpriced = HashSet::new();
        for model in settings.served(kind, book) {
            match settings.price(kind, &model, book) {
                Some(price) => {
                    models.insert(model, price);
                }
                None => {
                    unpriced.insert(model);
                }
            }
        }
        for target in settings.aliases.values() {
            if !models.contains_key(target)
                && let Some(price) = settings.price(kind, target, book)
            {
                models.insert(target.clone(), price);
            }
        }
        providers.push(Arc::new(Configured {
            id: row.id,
            name: row.name.clone(),
            kind,
            client,
            models,
            unpriced,
            aliases: settings.aliases,
        }));
    }
    Ok(PlatformRoutes {
        markup_bps: u32::try_from(platform.markup_bps.max(0)).unwrap_or(u32::MAX),
        providers,
    })
}

/// The config's client: reused while the config is unchanged.
fn client(inference: &Inference, row: &ProviderRow, kind: ProviderKind) -> Option<Provider> {
    let version = (row.id, row.updated_at.timestamp_micros());
    if let Some(client) = inference.inner.clients.get(&version) {
        return Some(client);
    }
    let key = match &row.api_key_enc {
        Some(sealed) => inference.open_key(row.id, sealed)?,
        None => SecretString::from(String::new()),
    };
    let mut config = ProviderConfig::new(kind, key);
    config.base_url = row.base_url.clone();
    config.timeouts = inference.inner.timeouts;
    config.mock = inference.inner.mock.clone();
    match Provider::new(config) {
        Ok(client) => {
            inference.inner.clients.insert(version, client.clone());
            Some(client)
        }
        Err(err) => {
            tracing::warn!(provider = %row.id, error = %err, "LLM provider config unusable");
            None
        }
    }
}

/// What a requested model resolves to.
pub enum Resolved {
    /// The configs serving it, in the order to try them.
    Candidates(Vec<Candidate>),
    /// Served by a config, but with no known price (refused).
    Unpriced,
    NotFound,
}

impl PlatformRoutes {
    /// The configs serving `requested` (`model`, `provider/model` or an alias).
    pub fn resolve(&self, requested: &ModelRef) -> Resolved {
        let mut candidates = Vec::new();
        let mut unpriced = false;
        for provider in &self.providers {
            if requested.provider.is_some_and(|p| p != provider.kind) {
                continue;
            }
            let model = provider
                .aliases
                .get(&requested.model)
                .unwrap_or(&requested.model);
            if let Some(price) = provider.models.get(model) {
                candidates.push(Candidate {
                    provider: Arc::clone(provider),
                    model: model.clone(),
                    price: price.clone(),
                });
            } else if provider.unpriced.contains(model) {
                unpriced = true;
            }
        }
        match (candidates.is_empty(), unpriced) {
            (false, _) => Resolved::Candidates(candidates),
            (true, true) => Resolved::Unpriced,
            (true, false) => Resolved::NotFound,
        }
    }

    /// `GET /v1/models`: every servable id, plain and as `provider/model`.
    pub fn model_list(&self) -> Vec<ModelObject> {
        let mut seen = HashSet::new();
        let mut list = Vec::new();
        let mut add = |kind: ProviderKind, id: String| {
            if seen.insert(id.clone()) {
                list.push(assistiv_llm::model_object(kind, &id));
            }
        };
        for provider in &self.providers {
            let kind = provider.kind;
            let aliases = provider
                .aliases
                .iter()
                .filter(|(_, target)| provider.models.contains_key(*target))
                .map(|(alias, _)| alias);
            let ids: Vec<&String> = provider.models.keys().chain(aliases).collect();
            for id in &ids {
                add(kind, (*id).clone());
            }
            for id in ids {
                add(kind, format!("{kind}/{id}"));
            }
        }
        list
    }
}
