//! The merged catalog in memory: the shipped providers with the operator's
//! changes laid over them (operator wins), each with its compiled input validator
//! and lowercased search text. Rebuilt whole on change and swapped in, so every
//! read (browse, search, run) is a lock-free look at one consistent version.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;

use super::catalog::{Catalog, PriceRange, ProviderSpec, Shelf};

/// A provider's upstream health at the last probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Availability {
    Healthy,
    Unknown,
    Down,
}

/// Where a provider's current definition comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Catalog,
    Operator,
}

pub struct Provider {
    pub spec: ProviderSpec,
    pub price: PriceRange,
    pub validator: jsonschema::Validator,
    /// Lowercased name, shelf and description, for search.
    pub name_lc: String,
    pub shelf_lc: String,
    pub description_lc: String,
    pub origin: Origin,
    /// The operator-set auth secret, sealed (bound to the provider's uid).
    pub sealed_secret: Option<Vec<u8>>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("uid", &self.spec.uid)
            .finish_non_exhaustive()
    }
}

/// An operator change as stored: a full spec (added or changed), a removal, and
/// perhaps a sealed secret.
#[derive(Debug, Clone)]
pub struct Override {
    pub uid: String,
    pub spec: Option<ProviderSpec>,
    pub removed: bool,
    pub sealed_secret: Option<Vec<u8>>,
}

#[derive(Debug, Default)]
pub struct Snapshot {
    pub shelves: Vec<Shelf>,
    pub providers: Vec<Arc<Provider>>,
    by_uid: HashMap<String, usize>,
}

impl Provider {
    /// A checked spec made ready to serve.
    pub fn prepare(
        spec: ProviderSpec,
        shelves: &HashSet<String>,
        shelf_titles: &HashMap<String, String>,
        origin: Origin,
        sealed_secret: Option<Vec<u8>>,
    ) -> Result<Self, String> {
        let price = spec.check(shelves)?;
        let validator = jsonschema::validator_for(&spec.input_schema)
            .map_err(|e| format!("input_schema: {e}"))?;
        let title = shelf_titles
            .get(&spec.capability)
            .cloned()
            .unwrap_or_default();
        Ok(Self {
            name_lc: spec.name.to_lowercase(),
            shelf_lc: format!("{} {}", spec.capability, title).to_lowercase(),
            description_lc: spec.description.to_lowercase(),
            spec,
            price,
            validator,
            origin,
            sealed_secret,
        })
    }
}

impl Snapshot {
    /// Catalog providers, then operator-only ones; an override replaces or removes.
    pub fn build(catalog: &Catalog, overrides: &[Override]) -> Self {
        let slugs: HashSet<String> = catalog.shelves.iter().map(|s| s.slug.clone()).collect();
        let titles: HashMap<String, String> = catalog
            .shelves
            .iter()
            .map(|s| (s.slug.clone(), s.title.clone()))
            .collect();
        let by_override: HashMap<&str, &Override> =
            overrides.iter().map(|o| (o.uid.as_str(), o)).collect();
        let mut specs: Vec<(ProviderSpec, Origin, Option<Vec<u8>>)> = Vec::new();
        for spec in &catalog.providers {
            match by_override.get(spec.uid.as_str()) {
                None => specs.push((spec.clone(), Origin::Catalog, None)),
                Some(o) if o.removed => {}
                Some(o) => match &o.spec {
                    Some(changed) => {
                        specs.push((changed.clone(), Origin::Operator, o.sealed_secret.clone()))
                    }
                    None => specs.push((spec.clone(), Origin::Catalog, o.sealed_secret.clone())),
                },
            }
        }
        let shipped: HashSet<&str> = catalog.providers.iter().map(|p| p.uid.as_str()).collect();
        for o in overrides {
            if shipped.contains(o.uid.as_str()) || o.removed {
                continue;
            }
            if let Some(spec) = &o.spec {
                specs.push((spec.clone(), Origin::Operator, o.sealed_secret.clone()));
            }
        }
        let mut snapshot = Snapshot {
            shelves: catalog.shelves.clone(),
            ..Snapshot::default()
        };
        for (spec, origin, secret) in specs {
            let uid = spec.uid.clone();
            match Provider::prepare(spec, &slugs, &titles, origin, secret) {
                Ok(provider) => {
                    snapshot.by_uid.insert(uid, snapshot.providers.len());
                    snapshot.providers.push(Arc::new(provider));
                }
                // Stored changes were checked on the way in; this only guards a
                // shelf that a newer catalog no longer has.
                Err(err) => tracing::warn!(%uid, error = %err, "capability provider skipped"),
            }
        }
        snapshot
    }

    pub fn provider(&self, uid: &str) -> Option<&Arc<Provider>> {
        self.by_uid.get(uid).and_then(|&i| self.providers.get(i))
    }

    pub fn shelf(&self, slug: &str) -> Option<&Shelf> {
        self.shelves.iter().find(|s| s.slug == slug)
    }

    pub fn shelf_slugs(&self) -> HashSet<String> {
        self.shelves.iter().map(|s| s.slug.clone()).collect()
    }

    pub fn shelf_titles(&self) -> HashMap<String, String> {
        self.shelves
            .iter()
            .map(|s| (s.slug.clone(), s.title.clone()))
            .collect()
    }
}
