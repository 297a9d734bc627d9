//! Prometheus metrics (`prometheus-client`, the Prometheus project's own Rust
//! client: typed label sets, OpenMetrics text). One [`Metrics`] per instance,
//! in `AppState`, handed to the parts that count: the HTTP edge, the tool
//! pipeline, the usage logger (inference tokens and cost), the webhook worker
//! and the OAuth broker. What is cheaper to read than to keep (holds open,
//! queue depths, dropped usage rows) is sampled when `/metrics` is scraped.
//!
//! Labels are bounded and carry no tenant: route templates (never raw paths),
//! methods, status codes, app slugs, tool names (fixed at start), provider
//! kinds, priced models (the price book and the operator's configs), outcomes.
//! Never a platform, end user, key or id.

mod http;
pub mod scrape;
mod tools;

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

pub use http::RouteNames;
pub use scrape::{exposition, listener_router, routes};
pub use tools::{ToolMeters, ToolOutcome};

use crate::usage::UsageRecord;

/// Seconds, from 1 ms to about 30 s (upstreams and whole requests).
fn latency_buckets() -> Histogram {
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ])
}

type Latencies<L> = Family<L, Histogram, fn() -> Histogram>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolLabels {
    app: String,
    tool: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppLabels {
    app: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    provider: String,
    model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    provider: String,
    model: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefreshLabels {
    app: String,
    outcome: &'static str,
}

/// How a webhook delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// 2xx.
    Delivered,
    /// Failed; another attempt is scheduled.
    Retrying,
    /// Failed for the last time (schedule exhausted, or 410 Gone).
    Failed,
}

/// How a token refresh ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    Refreshed,
    /// The provider refused it (or there was no refresh token): the connection
    /// needs re-authorization.
    Refused,
    /// The token endpoint did not answer usably; the next call tries again.
    Failed,
}

/// This instance's metrics. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    routes: RouteNames,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Latencies<RouteLabels>,
    tool_calls: Family<ToolLabels, Counter>,
    app_seconds: Latencies<AppLabels>,
    inference_seconds: Latencies<ProviderLabels>,
    inference_tokens: Family<TokenLabels, Counter>,
    inference_cost: Family<ModelLabels, Counter>,
    webhook_deliveries: Family<OutcomeLabels, Counter>,
    token_refreshes: Family<RefreshLabels, Counter>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("assistiv");
        let requests = Family::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status code",
            requests.clone(),
        );
        let request_seconds: Latencies<RouteLabels> = Family::new_with_constructor(latency_buckets);
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request (to its first byte for streams)",
            Unit::Seconds,
            request_seconds.clone(),
        );
        let tool_calls = Family::default();
        registry.register(
            "tool_calls",
            "End users' tool calls (MCP and hosted tools), by app, tool and outcome",
            tool_calls.clone(),
        );
        let app_seconds: Latencies<AppLabels> = Family::new_with_constructor(latency_buckets);
        registry.register_with_unit(
            "app_call_duration",
            "Time a tool's source took to run it (the app's upstream, a skill, a paid run), by app",
            Unit::Seconds,
            app_seconds.clone(),
        );
        let inference_seconds: Latencies<ProviderLabels> =
            Family::new_with_constructor(latency_buckets);
        registry.register_with_unit(
            "inference_duration",
            "Time of an inference call that reached a provider, by provider kind",
            Unit::Seconds,
            inference_seconds.clone(),
        );
        let inference_tokens = Family::default();
        registry.register(
            "inference_tokens",
            "Tokens settled, by provider kind, model and kind (input, cached, output)",
            inference_tokens.clone(),
        );
        let inference_cost = Family::default();
        registry.register(
            "inference_cost_micro_usd",
            "Micro-USD charged for inference, by provider kind and model",
            inference_cost.clone(),
        );
        let webhook_deliveries = Family::default();
        registry.register(
            "webhook_delivery_attempts",
            "Webhook delivery attempts, by outcome (delivered, retrying, failed)",
            webhook_deliveries.clone(),
        );
        let token_refreshes = Family::default();
        registry.register(
            "oauth_token_refreshes",
            "App token refreshes, by app and outcome (refreshed, refused, failed)",
            token_refreshes.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry,
                routes: RouteNames::default(),
                requests,
                request_seconds,
                tool_calls,
                app_seconds,
                inference_seconds,
                inference_tokens,
                inference_cost,
                webhook_deliveries,
                token_refreshes,
            }),
        }
    }

    /// Counts one webhook delivery attempt.
    pub fn webhook_attempt(&self, outcome: DeliveryOutcome) {
        let outcome = match outcome {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Retrying => "retrying",
            DeliveryOutcome::Failed => "failed",
        };
        self.inner
            .webhook_deliveries
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Counts one token refresh of `app` (an app slug: compiled in, bounded).
    pub fn token_refresh(&self, app: &str, outcome: RefreshOutcome) {
        let outcome = match outcome {
            RefreshOutcome::Refreshed => "refreshed",
            RefreshOutcome::Refused => "refused",
            RefreshOutcome::Failed => "failed",
        };
        self.inner
            .token_refreshes
            .get_or_create(&RefreshLabels {
                app: app.to_owned(),
                outcome,
            })
            .inc();
    }

    /// Every settled inference call leaves exactly one usage row with the provider
    /// that answered; its tokens, cost and time are counted from that row, so the
    /// metrics agree with the usage log. Calls refused before a provider was chosen
    /// (no provider on the row) are not counted: their model is the client's text.
    pub fn observe_usage(&self, row: &UsageRecord) {
        if row.kind != "inference" {
            return;
        }
        let (Some(provider), Some(model)) = (&row.provider, &row.model) else {
            return;
        };
        let inner = &self.inner;
        let labels = ModelLabels {
            provider: provider.clone(),
            model: model.clone(),
        };
        let tokens = |kind: &'static str, count: Option<i64>| {
            let count = count.and_then(|c| u64::try_from(c).ok()).unwrap_or(0);
            if count > 0 {
                inner
                    .inference_tokens
                    .get_or_create(&TokenLabels {
                        provider: labels.provider.clone(),
                        model: labels.model.clone(),
                        kind,
                    })
                    .inc_by(count);
            }
        };
        tokens("input", row.input_tokens);
        tokens("cached", row.cached_tokens);
        tokens("output", row.output_tokens);
        let cost = row
            .cost_micros
            .and_then(|c| u64::try_from(c).ok())
            .unwrap_or(0);
        inner.inference_cost.get_or_create(&labels).inc_by(cost);
        inner
            .inference_seconds
            .get_or_create(&ProviderLabels {
                provider: labels.provider,
            })
            .observe(row.latency_ms.max(0) as f64 / 1000.0);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
