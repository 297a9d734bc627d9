//! `/metrics`: on the main listener behind the operator's admin token, or, when
//! `ASSISTIV_METRICS_LISTEN` is set, only on that address without a token (the
//! main listener then answers 404 for it).

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::auth::Admin;
use crate::error::Error;
use crate::http::routes::{Audience, Route};
use crate::state::AppState;

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The route on the main listener, unless the metrics have their own address.
pub fn routes(state: &AppState) -> Vec<Route> {
    if state.config.metrics_listen.is_some() {
        return Vec::new();
    }
    vec![Route::get(Audience::Operator, "/metrics", with_admin_token)]
}

/// The router of the dedicated metrics listener: `/metrics` and nothing else.
pub fn listener_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(open))
        .with_state(state)
}

/// The metrics in the OpenMetrics text format (`docs/OPERATIONS.md` lists every
/// series). Served here only while `ASSISTIV_METRICS_LISTEN` is unset; with it,
/// on that address alone, without a token, and this route answers 404.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operator",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The exposition", content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String),
        crate::openapi::errors::AdminErrors,
    ),
)]
pub async fn with_admin_token(_: Admin, State(state): State<AppState>) -> Result<Response, Error> {
    open(State(state)).await
}

async fn open(State(state): State<AppState>) -> Result<Response, Error> {
    let body = exposition(&state).await?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response())
}

/// The whole exposition: the counters kept as they happen, then what is read
/// now (a few counts over indexed columns, and the usage queue's state).
pub async fn exposition(state: &AppState) -> Result<String, Error> {
    let holds_open = crate::billing::holds::count_open(&state.db).await?;
    let (outbox, deliveries) = state.webhooks.backlog().await?;
    let mut sampled = Registry::with_prefix("assistiv");
    sampled.register(
        "holds_open",
        "Holds on budgets and wallets not yet settled or released",
        ConstGauge::new(holds_open),
    );
    sampled.register(
        "webhook_outbox_pending",
        "Outbox events not yet dispatched into webhook messages",
        ConstGauge::new(outbox),
    );
    sampled.register(
        "webhook_deliveries_pending",
        "Webhook deliveries waiting for an attempt (new or retrying)",
        ConstGauge::new(deliveries),
    );
    sampled.register(
        "usage_queue_depth",
        "Usage-log rows queued for the writer",
        ConstGauge::new(state.usage.queued() as i64),
    );
    sampled.register(
        "usage_rows_dropped",
        "Usage-log rows lost since start (queue full, refused or unreachable database); must stay 0",
        ConstCounter::new(state.usage.dropped()),
    );
    let mut body = String::with_capacity(16 * 1024);
    encode_registry(&mut body, &state.metrics.inner.registry)
        .and_then(|()| encode_registry(&mut body, &sampled))
        .and_then(|()| encode_eof(&mut body))
        .map_err(|e| Error::internal(format_args!("encoding metrics: {e}")))?;
    Ok(body)
}
