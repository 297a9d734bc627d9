//! The catalog as data: `capabilities/shelves.toml` and `capabilities/providers.toml`
//! (built in, or read from `ASSISTIV_CAPABILITIES_DIR`). Everything is checked at
//! start: a bad file stops start-up with its path and the offending field.

use std::collections::HashSet;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use crate::billing::Money;

const BUILTIN_SHELVES: &str = include_str!("../../capabilities/shelves.toml");
const BUILTIN_PROVIDERS: &str = include_str!("../../capabilities/providers.toml");

/// One category agents plan over.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shelf {
    pub slug: String,
    pub title: String,
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum CallMethod {
    Get,
    Post,
}

/// How a provider is priced. Prices are USD in the files and the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Pricing {
    Fixed {
        #[schema(value_type = f64)]
        price_usd: Number,
    },
    /// `quote_url` answers `{"price_usd": n}` for an input.
    Quote {
        quote_url: String,
        #[schema(value_type = f64)]
        min_price_usd: Number,
        #[schema(value_type = f64)]
        max_price_usd: Number,
    },
    /// The endpoint answers 402 with an x402 `accepts` array: that is the quote.
    X402 {
        #[schema(value_type = f64)]
        min_price_usd: Number,
        #[schema(value_type = f64)]
        max_price_usd: Number,
    },
}

/// The header a provider's secret travels in. The secret itself is set by the
/// operator, kept encrypted, and never part of a spec that is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthSpec {
    pub header: String,
}

/// A provider as written in the files and accepted from the operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderSpec {
    pub uid: String,
    pub name: String,
    /// The shelf slug.
    pub capability: String,
    #[serde(default)]
    pub description: String,
    pub call_method: CallMethod,
    /// Absolute, or a path under the configured upstream base URL.
    pub endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_url: Option<String>,
    pub pricing: Pricing,
    #[serde(default = "any_object")]
    pub input_schema: Value,
    pub input_example: Value,
    pub rating: f64,
    #[serde(default)]
    pub verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthSpec>,
}

fn any_object() -> Value {
    serde_json::json!({"type": "object"})
}

/// The indicative price range of a checked spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceRange {
    pub min: Money,
    pub max: Money,
}

fn usd(field: &str, n: &Number) -> Result<Money, String> {
    let money = Money::from_usd_json(field, n).map_err(|e| e.message().to_owned())?;
    if money.is_negative() {
        return Err(format!("{field}: must not be negative"));
    }
    Ok(money)
}

impl ProviderSpec {
    /// Checks every field; the error names the field.
    pub fn check(&self, shelves: &HashSet<String>) -> Result<PriceRange, String> {
        let uid_ok = self.uid.len() > 4
            && self.uid.len() <= 64
            && self.uid.starts_with("cap_")
            && self
                .uid
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !uid_ok {
            return Err(
                "uid: must be cap_ followed by lowercase letters, digits or _ (at most 64)".into(),
            );
        }
        if self.name.trim().is_empty() || self.name.len() > 200 {
            return Err("name: must be 1-200 characters".into());
        }
        if !shelves.contains(&self.capability) {
            return Err(format!("capability: unknown shelf '{}'", self.capability));
        }
        if self.description.len() > 2000 {
            return Err("description: at most 2000 characters".into());
        }
        check_url("endpoint", &self.endpoint)?;
        if let Some(url) = &self.health_url {
            check_url("health_url", url)?;
        }
        if !(0.0..=5.0).contains(&self.rating) || self.rating.is_nan() {
            return Err("rating: must be between 0 and 5".into());
        }
        if !self.input_schema.is_object() {
            return Err("input_schema: must be a JSON Schema object".into());
        }
        let validator = jsonschema::validator_for(&self.input_schema)
            .map_err(|e| format!("input_schema: {e}"))?;
        if let Err(e) = validator.validate(&self.input_example) {
            return Err(format!(
                "input_example: does not match input_schema ({}: {e})",
                e.instance_path()
            ));
        }
        if let Some(auth) = &self.auth {
            axum::http::HeaderName::from_bytes(auth.header.as_bytes())
                .map_err(|_| "auth.header: not a valid HTTP header name".to_owned())?;
        }
        let range = match &self.pricing {
            Pricing::Fixed { price_usd } => {
                let price = usd("pricing.price_usd", price_usd)?;
                PriceRange {
                    min: price,
                    max: price,
                }
            }
            Pricing::Quote {
                quote_url,
                min_price_usd,
                max_price_usd,
            } => {
                check_url("pricing.quote_url", quote_url)?;
                range(min_price_usd, max_price_usd)?
            }
            Pricing::X402 {
                min_price_usd,
                max_price_usd,
            } => range(min_price_usd, max_price_usd)?,
        };
        Ok(range)
    }
}

fn range(min: &Number, max: &Number) -> Result<PriceRange, String> {
    let min = usd("pricing.min_price_usd", min)?;
    let max = usd("pricing.max_price_usd", max)?;
    if max < min {
        return Err("pricing.max_price_usd: below min_price_usd".into());
    }
    Ok(PriceRange { min, max })
}

fn check_url(field: &str, url: &str) -> Result<(), String> {
    let ok = url.starts_with('/') || url.starts_with("http://") || url.starts_with("https://");
    if !ok || url.len() > 2000 || url.contains(char::is_whitespace) {
        return Err(format!(
            "{field}: must be an http(s) URL or a path starting with /"
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShelvesFile {
    shelf: Vec<Shelf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProvidersFile {
    #[serde(default)]
    provider: Vec<ProviderSpec>,
}

/// The shipped catalog, checked.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub shelves: Vec<Shelf>,
    pub providers: Vec<ProviderSpec>,
}

impl Catalog {
    /// The built-in files, or those in `dir` when given.
    pub fn load(dir: Option<&Path>) -> anyhow::Result<Self> {
        match dir {
            None => Self::parse(
                ("capabilities/shelves.toml", BUILTIN_SHELVES),
                ("capabilities/providers.toml", BUILTIN_PROVIDERS),
            ),
            Some(dir) => {
                let read = |name: &str| {
                    let path = dir.join(name);
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))
                        .map(|text| (path.display().to_string(), text))
                };
                let shelves = read("shelves.toml")?;
                let providers = read("providers.toml")?;
                Self::parse((&shelves.0, &shelves.1), (&providers.0, &providers.1))
            }
        }
    }

    /// Parses and checks two files given as `(path, text)`.
    pub fn parse(shelves: (&str, &str), providers: (&str, &str)) -> anyhow::Result<Self> {
        let file: ShelvesFile =
            toml::from_str(shelves.1).with_context(|| format!("{}: invalid", shelves.0))?;
        let mut slugs = HashSet::new();
        for (i, shelf) in file.shelf.iter().enumerate() {
            let slug_ok = !shelf.slug.is_empty()
                && shelf
                    .slug
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            anyhow::ensure!(
                slug_ok,
                "{}: shelf[{i}].slug: lowercase letters, digits and hyphens only",
                shelves.0
            );
            anyhow::ensure!(
                !shelf.title.trim().is_empty(),
                "{}: shelf[{i}] ({}).title: must not be empty",
                shelves.0,
                shelf.slug
            );
            anyhow::ensure!(
                slugs.insert(shelf.slug.clone()),
                "{}: shelf[{i}].slug: '{}' appears twice",
                shelves.0,
                shelf.slug
            );
        }
        let list: ProvidersFile =
            toml::from_str(providers.1).with_context(|| format!("{}: invalid", providers.0))?;
        let mut uids = HashSet::new();
        for (i, spec) in list.provider.iter().enumerate() {
            spec.check(&slugs).map_err(|e| {
                anyhow::anyhow!("{}: provider[{i}] ({}).{e}", providers.0, spec.uid)
            })?;
            anyhow::ensure!(
                uids.insert(spec.uid.clone()),
                "{}: provider[{i}].uid: '{}' appears twice",
                providers.0,
                spec.uid
            );
        }
        Ok(Self {
            shelves: file.shelf,
            providers: list.provider,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalog_is_valid() -> anyhow::Result<()> {
        let catalog = Catalog::load(None)?;
        assert!(catalog.shelves.len() >= 45);
        assert!(catalog.providers.len() >= 12);
        Ok(())
    }

    #[test]
    fn a_bad_field_is_named_with_its_file() {
        let shelves = "[[shelf]]\nslug = \"geo\"\ntitle = \"Geo\"\ndescription = \"d\"\n";
        let providers = "[[provider]]\nuid = \"cap_x\"\nname = \"X\"\ncapability = \"geo\"\n\
            call_method = \"GET\"\nendpoint = \"/x\"\npricing = { kind = \"fixed\", price_usd = -1 }\n\
            input_example = {}\nrating = 4.0\n";
        let err = Catalog::parse(("s.toml", shelves), ("p.toml", providers))
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(
            err.contains("p.toml") && err.contains("pricing.price_usd"),
            "{err}"
        );
        let unknown = providers.replace("capability = \"geo\"", "capability = \"nope\"");
        let err = Catalog::parse(("s.toml", shelves), ("p.toml", &unknown))
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(err.contains("capability: unknown shelf"), "{err}");
    }
}
