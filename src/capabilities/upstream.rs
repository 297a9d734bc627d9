//! Talking to providers: the fresh quote taken at call time, and the call.
//!
//! Quotes: a fixed price; a quote endpoint answering `{"price_usd": n}` for the
//! input; or an x402 challenge (HTTP 402 with an `accepts` array whose
//! `maxAmountRequired` is in the atomic units of a 6-decimal USD stablecoin, i.e.
//! micro-USD), read as the quote; the challenge is fetched without the provider
//! credential, the call is made with it (the operator's prepaid account). Paying
//! on-chain is not something this gateway does: a provider that still demands
//! payment at call time ends `released`, nothing charged. Quotes must fall in the
//! provider's declared `min_price_usd`-`max_price_usd`.

use std::time::Instant;

use assistiv_app_sdk::reqwest::{self, Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::Capabilities;
use super::catalog::{CallMethod, Pricing};
use super::snapshot::Provider;
use crate::billing::Money;
use crate::error::Error;

/// Largest provider answer kept as a result.
const MAX_BODY: usize = 1024 * 1024;
/// The header a provider may report a lower final price in (USD).
pub const COST_HEADER: &str = "x-cost-usd";

/// How a call ended, before money is settled.
#[derive(Debug)]
pub enum Delivery {
    /// The provider answered 2xx.
    Answered {
        status: u16,
        body: Value,
        reported_cost: Option<Money>,
    },
    /// The provider answered an error status.
    Failed { status: u16, body: Value },
    /// No answer within the timeout: the provider may have done the work.
    TimedOut,
    /// The request never reached the provider.
    Unreachable,
    /// The provider still asks for (on-chain) payment.
    PaymentDemanded,
}

fn url_of(market: &Capabilities, url: &str) -> Result<String, Error> {
    market
        .resolve(url)
        .ok_or_else(|| Error::unavailable("this provider is not reachable from this gateway"))
}

fn request(
    market: &Capabilities,
    provider: &Provider,
    url: &str,
    method: CallMethod,
    input: &Value,
    with_auth: bool,
) -> reqwest::RequestBuilder {
    let http = market.http();
    let mut builder = match method {
        CallMethod::Get => {
            let mut url = match reqwest::Url::parse(url) {
                Ok(url) => url,
                // Unparseable URLs were refused when the provider was checked;
                // reqwest reports it as a request error if one slips through.
                Err(_) => return http.request(Method::GET, url),
            };
            if let Some(object) = input.as_object() {
                let mut pairs = url.query_pairs_mut();
                for (k, v) in object {
                    pairs.append_pair(k, &v.as_str().map_or_else(|| v.to_string(), str::to_owned));
                }
            }
            http.request(Method::GET, url)
        }
        CallMethod::Post => http
            .request(Method::POST, url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(input.to_string()),
    };
    if !with_auth {
        return builder;
    }
    if let (Some(auth), Some(secret)) = (&provider.spec.auth, market.open_secret(provider)) {
        builder = builder.header(auth.header.as_str(), secret.expose_secret());
    }
    builder
}

async fn body_of(response: reqwest::Response) -> Value {
    match response.bytes().await {
        Ok(bytes) if bytes.len() <= MAX_BODY => serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| json!({"text": String::from_utf8_lossy(&bytes)})),
        Ok(_) => json!({"error": "the provider's answer was too large"}),
        Err(_) => Value::Null,
    }
}

pub(crate) fn price_usd(value: &Value) -> Option<Money> {
    let number = match value {
        Value::Number(n) => n.clone(),
        Value::String(s) => s.parse().ok()?,
        _ => return None,
    };
    Money::from_usd_json("price_usd", &number)
        .ok()
        .filter(|m| !m.is_negative())
}

/// The x402 quote: the cheapest `accepts` entry.
pub(crate) fn x402_price(challenge: &Value) -> Option<Money> {
    challenge["accepts"]
        .as_array()?
        .iter()
        .filter_map(|a| match &a["maxAmountRequired"] {
            Value::String(s) => s.parse::<i64>().ok(),
            Value::Number(n) => n.as_i64(),
            _ => None,
        })
        .filter(|m| *m >= 0)
        .min()
        .map(Money::from_micros)
}

/// The binding price for this input, taken now. A quote or x402 challenge outside
/// the range the provider declared is refused: the provider broke its own terms,
/// so it is a 502 (like an unusable quote), not a policy or balance 402, and
/// nothing is held.
pub async fn quote(
    market: &Capabilities,
    provider: &Provider,
    input: &Value,
) -> Result<Money, Error> {
    let price = fresh_quote(market, provider, input).await?;
    let declared = provider.price;
    if price < declared.min || price > declared.max {
        return Err(Error::upstream(format!(
            "the provider quoted {} USD, outside its declared range {}-{} USD; \
             refused, nothing was charged",
            price.to_usd(),
            declared.min.to_usd(),
            declared.max.to_usd()
        )));
    }
    Ok(price)
}

async fn fresh_quote(
    market: &Capabilities,
    provider: &Provider,
    input: &Value,
) -> Result<Money, Error> {
    let refused = |what: &str| {
        Error::upstream(format!(
            "the provider did not give a usable quote ({what}); nothing was charged"
        ))
    };
    match &provider.spec.pricing {
        Pricing::Fixed { .. } => Ok(provider.price.min),
        Pricing::Quote { quote_url, .. } => {
            let url = url_of(market, quote_url)?;
            let response = request(market, provider, &url, CallMethod::Post, input, true)
                .send()
                .await
                .map_err(|_| refused("unreachable"))?;
            if !response.status().is_success() {
                return Err(refused(&format!("status {}", response.status().as_u16())));
            }
            price_usd(&body_of(response).await["price_usd"]).ok_or_else(|| refused("no price_usd"))
        }
        Pricing::X402 { .. } => {
            let url = url_of(market, &provider.spec.endpoint)?;
            // Unauthenticated: the challenge is the price list, not the call.
            let response = request(
                market,
                provider,
                &url,
                provider.spec.call_method,
                input,
                false,
            )
            .send()
            .await
            .map_err(|_| refused("unreachable"))?;
            if response.status() != StatusCode::PAYMENT_REQUIRED {
                return Err(refused("no 402 payment challenge"));
            }
            x402_price(&body_of(response).await).ok_or_else(|| refused("no accepts entry"))
        }
    }
}

/// Calls the provider once; `(delivery, latency)`.
pub async fn call(market: &Capabilities, provider: &Provider, input: &Value) -> (Delivery, u128) {
    let started = Instant::now();
    let Ok(url) = url_of(market, &provider.spec.endpoint) else {
        return (Delivery::Unreachable, 0);
    };
    let send = request(
        market,
        provider,
        &url,
        provider.spec.call_method,
        input,
        true,
    )
    .send();
    let delivery = match tokio::time::timeout(market.call_timeout(), send).await {
        Err(_) => Delivery::TimedOut,
        Ok(Err(err)) if err.is_timeout() => Delivery::TimedOut,
        Ok(Err(err)) if err.is_connect() => Delivery::Unreachable,
        Ok(Err(_)) => Delivery::Failed {
            status: 502,
            body: json!({"error": "the provider's answer could not be read"}),
        },
        Ok(Ok(response)) => {
            let status = response.status();
            let reported_cost = response
                .headers()
                .get(COST_HEADER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| price_usd(&Value::String(v.to_owned())));
            if status == StatusCode::PAYMENT_REQUIRED
                && matches!(provider.spec.pricing, Pricing::X402 { .. })
            {
                Delivery::PaymentDemanded
            } else {
                let remaining = market.call_timeout().saturating_sub(started.elapsed());
                let body = tokio::time::timeout(remaining, body_of(response))
                    .await
                    .ok();
                match (status.is_success(), body) {
                    (_, None) => Delivery::TimedOut,
                    (true, Some(body)) => Delivery::Answered {
                        status: status.as_u16(),
                        body,
                        reported_cost,
                    },
                    (false, Some(body)) => Delivery::Failed {
                        status: status.as_u16(),
                        body,
                    },
                }
            }
        }
    };
    (delivery, started.elapsed().as_millis())
}

/// One health probe: `true` when the health URL answers 2xx.
pub async fn probe(market: &Capabilities, url: &str) -> bool {
    let Some(url) = market.resolve(url) else {
        return false;
    };
    matches!(
        tokio::time::timeout(market.call_timeout(), market.http().get(url).send()).await,
        Ok(Ok(response)) if response.status().is_success()
    )
}
