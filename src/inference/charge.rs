//! The money of one completion: the estimate the TPM limit and the hold are
//! sized from, the cost of real (or counted) usage, and the price recorded on
//! the usage row. Integer micro-USD throughout (`assistiv_llm::cost_micros`
//! rounds up, so a call is never billed below its usage).

use assistiv_llm::openai::{ChatRequest, Usage};
use assistiv_llm::{ModelPrice, cost_micros, estimate_prompt_tokens};
use serde_json::json;

use super::routing::Candidate;
use crate::billing::Money;

/// Tokens a call may use before it is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    pub prompt_tokens: u64,
    /// The request's output cap (or the configured default).
    pub output_tokens: u64,
}

impl Estimate {
    pub fn of(request: &ChatRequest, default_output: u32) -> Self {
        Self {
            prompt_tokens: estimate_prompt_tokens(request),
            output_tokens: u64::from(request.output_token_cap().unwrap_or(default_output)),
        }
    }

    /// What the TPM bucket is asked for.
    pub fn total(self) -> u64 {
        self.prompt_tokens.saturating_add(self.output_tokens)
    }
}

/// The cost of `usage` at `price`, with the platform markup.
pub fn cost(usage: &Usage, price: &ModelPrice, markup_bps: u32) -> Money {
    Money::from_micros(cost_micros(usage, price, markup_bps))
}

/// The hold: the estimate priced at the dearest candidate (a fallback may land
/// on it).
pub fn hold(candidates: &[Candidate], estimate: Estimate, markup_bps: u32) -> Money {
    let usage = Usage::new(estimate.prompt_tokens, estimate.output_tokens);
    candidates
        .iter()
        .map(|c| cost(&usage, &c.price, markup_bps))
        .max()
        .unwrap_or(Money::ZERO)
}

/// Usage counted by the gateway: the prompt estimate and the delivered output
/// (`delivered_bytes` / 4, rounded up, as `count_tokens_estimate` counts), for a
/// stream cut before the provider's usage.
pub fn counted_usage(prompt_tokens: u64, delivered_bytes: u64) -> Usage {
    Usage::new(prompt_tokens, delivered_bytes.div_ceil(4))
}

/// The price a usage row records: micro-USD per million tokens and the markup.
pub fn price_record(price: &ModelPrice, markup_bps: u32) -> String {
    json!({
        "input": price.input,
        "cached_input": price.cached_input,
        "cache_write": price.cache_write,
        "output": price.output,
        "unit": "micro-USD per million tokens",
        "markup_bps": markup_bps,
        "source": price.source,
    })
    .to_string()
}

/// Micro-USD as the `x-assistiv-*-usd` headers write them (six decimals).
pub fn usd_text(money: Money) -> String {
    let micros = money.micros();
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    format!("{sign}{}.{:06}", abs / 1_000_000, abs % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usd_text_is_exact() {
        assert_eq!(usd_text(Money::from_micros(0)), "0.000000");
        assert_eq!(usd_text(Money::from_micros(12)), "0.000012");
        assert_eq!(usd_text(Money::from_micros(5_000_001)), "5.000001");
        assert_eq!(usd_text(Money::from_micros(-3)), "-0.000003");
    }
}
