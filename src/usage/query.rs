//! Reading usage logs: filters, newest first, opaque cursor.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::billing::Money;
use crate::domain::paging::CursorPage;
use crate::error::{Error, Result};
use crate::store::Db;

#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    pub end_user_id: Option<Uuid>,
    pub model: Option<String>,
    pub kind: Option<String>,
    pub status: Option<String>,
    /// RFC 3339; `start` is accepted as an alias.
    #[serde(alias = "start")]
    pub since: Option<DateTime<Utc>>,
    #[serde(alias = "end")]
    pub until: Option<DateTime<Utc>>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct LogRow {
    seq: i64,
    id: Uuid,
    end_user_id: Option<Uuid>,
    kind: String,
    app: Option<String>,
    tool: Option<String>,
    model: Option<String>,
    status: String,
    error_code: Option<String>,
    latency_ms: i64,
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
    cost_micros: Option<i64>,
    request_id: String,
    created_at: DateTime<Utc>,
    provider: Option<String>,
    cached_tokens: Option<i64>,
    ttft_ms: Option<i64>,
    tokens_estimated: Option<bool>,
    price: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LogEntry {
    pub id: Uuid,
    pub end_user_id: Option<Uuid>,
    pub kind: String,
    pub app: Option<String>,
    pub tool: Option<String>,
    pub model: Option<String>,
    pub status: String,
    pub error_code: Option<String>,
    pub latency_ms: i64,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cost_usd: Option<Money>,
    pub request_id: String,
    pub created_at: DateTime<Utc>,
    /// Inference: the provider kind that answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Inference: input tokens read from a provider cache (part of `input_tokens`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<i64>,
    /// Inference: time to the first token, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<i64>,
    /// Inference: token counts estimated by the gateway (a stream cut before the
    /// provider reported usage).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_estimated: Option<bool>,
    /// Inference: the price the cost was computed at (micro-USD per million
    /// tokens, and the platform markup in basis points).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<serde_json::Value>,
}

impl From<LogRow> for LogEntry {
    fn from(r: LogRow) -> Self {
        Self {
            id: r.id,
            end_user_id: r.end_user_id,
            kind: r.kind,
            app: r.app,
            tool: r.tool,
            model: r.model,
            status: r.status,
            error_code: r.error_code,
            latency_ms: r.latency_ms,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            cost_usd: r.cost_micros.map(Money::from_micros),
            request_id: r.request_id,
            created_at: r.created_at,
            provider: r.provider,
            cached_tokens: r.cached_tokens,
            ttft_ms: r.ttft_ms,
            tokens_estimated: r.tokens_estimated,
            price: r.price.and_then(|p| serde_json::from_str(&p).ok()),
        }
    }
}

const MAX_LIMIT: u32 = 500;

fn decode_cursor(cursor: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix("log:")?
        .parse()
        .ok()
}

/// Logs of a platform (optionally of one end user), newest first.
pub async fn list(db: &Db, platform_id: Uuid, query: &LogQuery) -> Result<CursorPage<LogEntry>> {
    let limit = query.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Error::bad_request(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let before = match &query.cursor {
        None => i64::MAX,
        Some(c) => decode_cursor(c).ok_or_else(|| Error::bad_request("invalid cursor"))?,
    };
    if let Some(status) = &query.status
        && status != "ok"
        && status != "error"
    {
        return Err(Error::bad_request("status must be ok or error"));
    }
    let rows = super::store::page(db, platform_id, query, before, i64::from(limit) + 1).await?;
    let more = rows.len() > limit as usize;
    let mut rows = rows;
    rows.truncate(limit as usize);
    let next_cursor = more
        .then(|| {
            rows.last()
                .map(|r| URL_SAFE_NO_PAD.encode(format!("log:{}", r.seq)))
        })
        .flatten();
    Ok(CursorPage {
        data: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    })
}
