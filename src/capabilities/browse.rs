//! Reading the catalog under a policy, in memory: the shelves with their
//! aggregates, one shelf's providers with badges, and freeform search. Nothing
//! here spends; every badge and every search hit comes from [`evaluate`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::catalog::{CallMethod, Pricing};
use super::policy::{Policy, PolicyState, evaluate};
use super::snapshot::{Availability, Provider, Snapshot};
use crate::billing::Money;
use crate::error::Error;

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;

/// One shelf with its aggregates.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShelfView {
    pub slug: String,
    pub title: String,
    pub description: String,
    pub provider_count: usize,
    pub allowed_count: usize,
    pub cheapest_price_usd: Option<Money>,
}

/// A provider as agents and platforms see it: no endpoint, no secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProviderView {
    pub uid: String,
    pub name: String,
    pub capability: String,
    pub description: String,
    pub call_method: CallMethod,
    pub pricing: &'static str,
    pub min_price_usd: Money,
    pub max_price_usd: Money,
    pub rating: f64,
    pub verified: bool,
    pub availability: Availability,
    pub policy_state: PolicyState,
    /// Runnable now under the policy's state and its rating and health bars.
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<super::policy::Bar>,
    pub input_example: Value,
    pub input_schema: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<u32>,
}

pub fn pricing_kind(pricing: &Pricing) -> &'static str {
    match pricing {
        Pricing::Fixed { .. } => "fixed",
        Pricing::Quote { .. } => "quote",
        Pricing::X402 { .. } => "x402",
    }
}

pub fn view(
    provider: &Provider,
    policy: &Policy,
    availability: Availability,
    score: Option<u32>,
) -> ProviderView {
    let verdict = evaluate(policy, provider, provider.price.min, availability);
    let spec = &provider.spec;
    ProviderView {
        uid: spec.uid.clone(),
        name: spec.name.clone(),
        capability: spec.capability.clone(),
        description: spec.description.clone(),
        call_method: spec.call_method,
        pricing: pricing_kind(&spec.pricing),
        min_price_usd: provider.price.min,
        max_price_usd: provider.price.max,
        rating: spec.rating,
        verified: spec.verified,
        availability,
        policy_state: verdict.policy_state,
        allowed: verdict.allowed(),
        blocked_by: verdict.bar,
        input_example: spec.input_example.clone(),
        input_schema: spec.input_schema.clone(),
        score,
    }
}

pub fn shelves(
    snapshot: &Snapshot,
    policy: &Policy,
    availability: &dyn Fn(&Provider) -> Availability,
) -> Vec<ShelfView> {
    snapshot
        .shelves
        .iter()
        .map(|shelf| {
            let mut view = ShelfView {
                slug: shelf.slug.clone(),
                title: shelf.title.clone(),
                description: shelf.description.clone(),
                provider_count: 0,
                allowed_count: 0,
                cheapest_price_usd: None,
            };
            for p in snapshot
                .providers
                .iter()
                .filter(|p| p.spec.capability == shelf.slug)
            {
                view.provider_count += 1;
                if evaluate(policy, p, p.price.min, availability(p)).allowed() {
                    view.allowed_count += 1;
                }
                view.cheapest_price_usd = Some(
                    view.cheapest_price_usd
                        .map_or(p.price.min, |c| c.min(p.price.min)),
                );
            }
            view
        })
        .collect()
}

#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Deserialize,
    serde::Serialize,
    schemars::JsonSchema,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    #[default]
    Price,
    Rating,
}

/// `list_providers` filters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderFilter {
    #[serde(default)]
    pub sort: Option<Sort>,
    #[serde(default)]
    pub max_cost: Option<serde_json::Number>,
    #[serde(default)]
    pub min_rating: Option<f64>,
    #[serde(default)]
    pub verified_only: Option<bool>,
    #[serde(default)]
    pub limit: Option<usize>,
}

fn check_limit(limit: Option<usize>) -> Result<usize, Error> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Error::bad_request(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    Ok(limit)
}

/// One shelf's providers, filtered and sorted (cheapest first by default).
pub fn providers(
    snapshot: &Snapshot,
    slug: &str,
    filter: &ProviderFilter,
    policy: &Policy,
    availability: &dyn Fn(&Provider) -> Availability,
) -> Result<Vec<ProviderView>, Error> {
    if snapshot.shelf(slug).is_none() {
        return Err(Error::not_found(format!("no capability '{slug}'")));
    }
    let limit = check_limit(filter.limit)?;
    let max_cost = filter
        .max_cost
        .as_ref()
        .map(|n| Money::from_usd_json("max_cost", n))
        .transpose()?;
    if let Some(min) = filter.min_rating
        && !(0.0..=5.0).contains(&min)
    {
        return Err(Error::bad_request("min_rating must be between 0 and 5"));
    }
    let mut found: Vec<&Provider> = snapshot
        .providers
        .iter()
        .map(AsRef::as_ref)
        .filter(|p| p.spec.capability == slug)
        .filter(|p| max_cost.is_none_or(|max| p.price.min <= max))
        .filter(|p| filter.min_rating.is_none_or(|min| p.spec.rating >= min))
        .filter(|p| !filter.verified_only.unwrap_or(false) || p.spec.verified)
        .collect();
    match filter.sort.unwrap_or_default() {
        Sort::Price => found.sort_by(|a, b| {
            a.price
                .min
                .cmp(&b.price.min)
                .then(b.spec.rating.total_cmp(&a.spec.rating))
        }),
        Sort::Rating => found.sort_by(|a, b| {
            b.spec
                .rating
                .total_cmp(&a.spec.rating)
                .then(a.price.min.cmp(&b.price.min))
        }),
    }
    Ok(found
        .into_iter()
        .take(limit)
        .map(|p| view(p, policy, availability(p), None))
        .collect())
}

const STOPWORDS: &[&str] = &["the", "and", "for", "with", "from", "into", "that", "this"];

/// The words of a query worth matching: lowercased, 3+ characters, no plural `s`.
pub fn terms(query: &str) -> Vec<String> {
    query
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 3 && !STOPWORDS.contains(w))
        .map(|w| match w.strip_suffix('s') {
            Some(stem) if stem.len() >= 3 && !w.ends_with("ss") => stem.to_owned(),
            _ => w.to_owned(),
        })
        .collect()
}

fn score(provider: &Provider, terms: &[String]) -> u32 {
    terms
        .iter()
        .map(|t| {
            let mut s = 0;
            if provider.name_lc.contains(t.as_str()) {
                s += 3;
            }
            if provider.shelf_lc.contains(t.as_str()) {
                s += 2;
            }
            if provider.description_lc.contains(t.as_str()) {
                s += 1;
            }
            s
        })
        .sum()
}

/// Freeform search: providers matching the query that the policy allows now,
/// best match first (then rating, then price).
pub fn search(
    snapshot: &Snapshot,
    query: &str,
    limit: Option<usize>,
    policy: &Policy,
    availability: &dyn Fn(&Provider) -> Availability,
) -> Result<Vec<ProviderView>, Error> {
    let limit = check_limit(limit)?;
    if query.trim().is_empty() || query.len() > 500 {
        return Err(Error::bad_request("query must be 1-500 characters"));
    }
    let terms = terms(query);
    let mut hits: Vec<(u32, &Provider, Availability)> = snapshot
        .providers
        .iter()
        .filter_map(|p| {
            let s = score(p, &terms);
            if s == 0 {
                return None;
            }
            let availability = availability(p);
            evaluate(policy, p, p.price.min, availability)
                .allowed()
                .then_some((s, p.as_ref(), availability))
        })
        .collect();
    hits.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(b.1.spec.rating.total_cmp(&a.1.spec.rating))
            .then(a.1.price.min.cmp(&b.1.price.min))
    });
    Ok(hits
        .into_iter()
        .take(limit)
        .map(|(s, p, a)| view(p, policy, a, Some(s)))
        .collect())
}
