//! The price book: per provider and model, USD per million input, cached
//! input, cache-write and output tokens, with where and when each price was
//! read. `llm/prices.toml` is embedded as the default; an operator file with
//! the same shape can replace it.
//!
//! Prices are held as integer micro-USD per million tokens (= pico-USD per
//! token), so costs are computed in integer arithmetic.

use std::collections::HashMap;

use serde::Deserialize;

use crate::error::ProviderKind;
use crate::openai::Usage;

/// The shipped price book.
pub const DEFAULT_PRICES: &str = include_str!("../prices.toml");

/// Largest price accepted, USD per million tokens (a typo guard).
const MAX_USD_PER_MTOK: f64 = 100_000.0;

/// A price book that could not be read; the message names the file and the
/// field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct PriceBookError {
    pub file: String,
    pub message: String,
}

/// The prices of one model, in micro-USD per million tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPrice {
    pub provider: ProviderKind,
    pub model: String,
    pub input: u64,
    pub cached_input: u64,
    pub cache_write: u64,
    pub output: u64,
    pub source: String,
    pub read_on: String,
}

/// Every price, by provider and model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceBook {
    prices: Vec<ModelPrice>,
    index: HashMap<(ProviderKind, String), usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBook {
    #[serde(default)]
    model: Vec<RawPrice>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrice {
    provider: String,
    model: String,
    input: f64,
    cached_input: f64,
    cache_write: f64,
    output: f64,
    source: String,
    read_on: String,
}

impl PriceBook {
    /// The shipped price book.
    pub fn embedded() -> Result<Self, PriceBookError> {
        Self::parse(DEFAULT_PRICES, "llm/prices.toml")
    }

    /// Reads and checks an operator's price-book file.
    pub fn from_file(path: &std::path::Path) -> Result<Self, PriceBookError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| PriceBookError {
            file: file.clone(),
            message: error.to_string(),
        })?;
        Self::parse(&text, &file)
    }

    /// Parses and checks a price book: unknown fields, unknown providers,
    /// negative or absurd prices, empty sources and duplicates are refused,
    /// naming `file` and the field.
    pub fn parse(text: &str, file: &str) -> Result<Self, PriceBookError> {
        let error = |message: String| PriceBookError {
            file: file.to_owned(),
            message,
        };
        let raw: RawBook = toml::from_str(text).map_err(|e| error(e.to_string()))?;
        let mut prices = Vec::with_capacity(raw.model.len());
        let mut index = HashMap::new();
        for (position, entry) in raw.model.into_iter().enumerate() {
            let at = format!("model[{position}] ({}/{})", entry.provider, entry.model);
            let provider = ProviderKind::parse(&entry.provider)
                .ok_or_else(|| error(format!("{at}.provider: unknown provider")))?;
            if entry.model.trim().is_empty() {
                return Err(error(format!("{at}.model: empty")));
            }
            let micros = |field: &str, usd: f64| {
                usd_per_mtok_to_micros(usd).ok_or_else(|| {
                    error(format!(
                        "{at}.{field}: {usd} is not a price between 0 and {MAX_USD_PER_MTOK} USD per million tokens"
                    ))
                })
            };
            // Real providers cite their pricing page; the mock cites its own docs.
            let cited = if provider == ProviderKind::Mock {
                !entry.source.trim().is_empty()
            } else {
                entry.source.starts_with("https://")
            };
            if !cited {
                return Err(error(format!("{at}.source: expected an https:// URL")));
            }
            if !is_iso_date(&entry.read_on) {
                return Err(error(format!("{at}.read_on: expected a YYYY-MM-DD date")));
            }
            let price = ModelPrice {
                provider,
                input: micros("input", entry.input)?,
                cached_input: micros("cached_input", entry.cached_input)?,
                cache_write: micros("cache_write", entry.cache_write)?,
                output: micros("output", entry.output)?,
                model: entry.model,
                source: entry.source,
                read_on: entry.read_on,
            };
            let key = (provider, price.model.clone());
            if index.insert(key, prices.len()).is_some() {
                return Err(error(format!("{at}: listed twice")));
            }
            prices.push(price);
        }
        Ok(Self { prices, index })
    }

    /// The price of `model` at `provider`; `None` means unknown (the gateway
    /// refuses to serve what it cannot price).
    pub fn get(&self, provider: ProviderKind, model: &str) -> Option<&ModelPrice> {
        self.index
            .get(&(provider, model.to_owned()))
            .and_then(|position| self.prices.get(*position))
    }

    /// Every price, in file order.
    pub fn prices(&self) -> &[ModelPrice] {
        &self.prices
    }

    /// The models priced for `provider`, in file order.
    pub fn models(&self, provider: ProviderKind) -> impl Iterator<Item = &str> {
        self.prices
            .iter()
            .filter(move |price| price.provider == provider)
            .map(|price| price.model.as_str())
    }
}

/// USD per million tokens → micro-USD per million tokens, rounded to the
/// nearest (prices have at most six decimals).
fn usd_per_mtok_to_micros(usd: f64) -> Option<u64> {
    if !usd.is_finite() || !(0.0..=MAX_USD_PER_MTOK).contains(&usd) {
        return None;
    }
    // In range, so the cast cannot overflow or be negative.
    Some((usd * 1_000_000.0).round() as u64)
}

fn is_iso_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(position, byte)| matches!(position, 4 | 7) || byte.is_ascii_digit())
}

/// Pico-USD in one micro-USD.
const PICO_PER_MICRO: u128 = 1_000_000;
/// Basis points in one.
const BPS_PER_UNIT: u128 = 10_000;

/// The cost of `usage` at `price` plus `markup_bps` (basis points: 1000 =
/// +10%), in micro-USD.
///
/// Input tokens not read from nor written to a cache are billed at
/// `input`, cached ones at `cached_input`, cache writes at `cache_write`,
/// completion tokens at `output`. Each price is pico-USD per token, so the
/// sum is exact pico-USD; the markup is applied to that sum, and the result
/// is rounded UP to the next micro-USD (never bill less than the usage).
/// Saturates at `i64::MAX`.
pub fn cost_micros(usage: &Usage, price: &ModelPrice, markup_bps: u32) -> i64 {
    let cached = usage.cached_tokens().min(usage.prompt_tokens);
    let cache_write = usage
        .cache_write_tokens()
        .min(usage.prompt_tokens.saturating_sub(cached));
    let uncached = usage
        .prompt_tokens
        .saturating_sub(cached)
        .saturating_sub(cache_write);
    let term = |tokens: u64, price: u64| u128::from(tokens).saturating_mul(u128::from(price));
    let pico = term(uncached, price.input)
        .saturating_add(term(cached, price.cached_input))
        .saturating_add(term(cache_write, price.cache_write))
        .saturating_add(term(usage.completion_tokens, price.output));
    let with_markup = pico.saturating_mul(BPS_PER_UNIT + u128::from(markup_bps));
    let micros = with_markup.div_ceil(BPS_PER_UNIT * PICO_PER_MICRO);
    i64::try_from(micros).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::openai::PromptTokensDetails;

    fn price(input: u64, cached: u64, write: u64, output: u64) -> ModelPrice {
        ModelPrice {
            provider: ProviderKind::OpenAi,
            model: "m".into(),
            input,
            cached_input: cached,
            cache_write: write,
            output,
            source: "https://x".into(),
            read_on: "2026-01-01".into(),
        }
    }

    #[test]
    fn the_embedded_book_parses_and_prices_the_seed_models() {
        let book = PriceBook::embedded().unwrap();
        for (provider, model) in [
            (ProviderKind::OpenAi, "gpt-4o-mini"),
            (ProviderKind::OpenAi, "gpt-4o"),
            (ProviderKind::Anthropic, "claude-sonnet-4-6"),
            (ProviderKind::Google, "gemini-2.0-flash"),
            (ProviderKind::Xai, "grok-2"),
            (ProviderKind::Mock, "mock-1"),
            (ProviderKind::Mock, "mock-fast"),
        ] {
            assert!(book.get(provider, model).is_some(), "{provider}/{model}");
        }
        let mini = book.get(ProviderKind::OpenAi, "gpt-4o-mini").unwrap();
        assert_eq!(mini.input, 150_000);
        assert_eq!(mini.output, 600_000);
    }

    #[test]
    fn cost_is_integer_and_rounds_up() {
        // gpt-4o-mini: $0.15 in, $0.075 cached, $0.60 out per million.
        let price = price(150_000, 75_000, 150_000, 600_000);
        // 1M prompt + 1M completion = $0.75 exactly.
        assert_eq!(
            cost_micros(&Usage::new(1_000_000, 1_000_000), &price, 0),
            750_000
        );
        // One input token costs 0.15 micro-USD: billed 1, never 0.
        assert_eq!(cost_micros(&Usage::new(1, 0), &price, 0), 1);
        // Nothing used, nothing billed.
        assert_eq!(cost_micros(&Usage::new(0, 0), &price, 0), 0);
        // +10% markup on $0.75.
        assert_eq!(
            cost_micros(&Usage::new(1_000_000, 1_000_000), &price, 1_000),
            825_000
        );
    }

    #[test]
    fn cached_and_cache_write_tokens_are_priced_apart() {
        // Sonnet: $3 in, $0.30 cache read, $3.75 cache write, $15 out.
        let price = price(3_000_000, 300_000, 3_750_000, 15_000_000);
        let mut usage = Usage::new(3_000, 100);
        usage.prompt_tokens_details = Some(PromptTokensDetails {
            cached_tokens: Some(1_000),
            cache_write_tokens: Some(1_000),
            ..PromptTokensDetails::default()
        });
        // 1000×3e6 + 1000×3e5 + 1000×3.75e6 + 100×15e6 = 8.55e9 pico-USD.
        assert_eq!(cost_micros(&usage, &price, 0), 8_550);
    }

    #[test]
    fn huge_usage_saturates() {
        let price = price(u64::MAX, 0, 0, u64::MAX);
        assert_eq!(
            cost_micros(&Usage::new(u64::MAX, u64::MAX), &price, u32::MAX),
            i64::MAX
        );
    }

    #[test]
    fn bad_books_are_refused_naming_file_and_field() {
        let entry = |extra: &str| {
            format!(
                "[[model]]\nprovider = \"openai\"\nmodel = \"m\"\ninput = 1.0\ncached_input = 0.5\n\
                 cache_write = 1.0\noutput = 2.0\nsource = \"https://x\"\nread_on = \"2026-01-01\"\n{extra}"
            )
        };
        assert!(PriceBook::parse(&entry(""), "p.toml").is_ok());
        let unknown = PriceBook::parse(&entry("colour = \"red\"\n"), "p.toml").unwrap_err();
        assert!(unknown.to_string().starts_with("p.toml: "), "{unknown}");
        assert!(unknown.to_string().contains("colour"), "{unknown}");
        let negative =
            PriceBook::parse(&entry("").replace("input = 1.0", "input = -1.0"), "p.toml")
                .unwrap_err();
        assert!(
            negative.message.contains("model[0] (openai/m).input"),
            "{negative}"
        );
        let provider =
            PriceBook::parse(&entry("").replace("\"openai\"", "\"acme\""), "p.toml").unwrap_err();
        assert!(
            provider.message.contains(".provider: unknown provider"),
            "{provider}"
        );
        let twice = format!("{}{}", entry(""), entry(""));
        assert!(
            PriceBook::parse(&twice, "p.toml")
                .unwrap_err()
                .message
                .contains("listed twice")
        );
        let date =
            PriceBook::parse(&entry("").replace("2026-01-01", "Jan 1"), "p.toml").unwrap_err();
        assert!(date.message.contains("read_on"), "{date}");
    }
}
