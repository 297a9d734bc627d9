//! Reading the ledgers: newest first, paged by an opaque cursor.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::money::Money;
use crate::args;
use crate::domain::paging::CursorPage;
use crate::error::{Error, Result};
use crate::store::Db;

#[derive(Debug, sqlx::FromRow)]
struct LedgerRow {
    seq: i64,
    id: Uuid,
    kind: String,
    amount_micros: i64,
    balance_after_micros: i64,
    reason: Option<String>,
    actor: String,
    idempotency_key: Option<String>,
    related_id: Option<String>,
    shortfall_micros: i64,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LedgerEntry {
    pub id: Uuid,
    pub kind: String,
    pub amount_usd: Money,
    pub balance_after_usd: Money,
    pub reason: Option<String>,
    pub actor: String,
    pub idempotency_key: Option<String>,
    pub related_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shortfall_usd: Option<Money>,
    pub created_at: DateTime<Utc>,
}

impl From<LedgerRow> for LedgerEntry {
    fn from(row: LedgerRow) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            amount_usd: Money::from_micros(row.amount_micros),
            balance_after_usd: Money::from_micros(row.balance_after_micros),
            reason: row.reason,
            actor: row.actor,
            idempotency_key: row.idempotency_key,
            related_id: row.related_id,
            shortfall_usd: (row.shortfall_micros != 0)
                .then(|| Money::from_micros(row.shortfall_micros)),
            created_at: row.created_at,
        }
    }
}

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

/// A validated `?cursor=&limit=`.
pub struct CursorQuery {
    before_seq: i64,
    limit: u32,
}

impl CursorQuery {
    pub fn parse(cursor: Option<&str>, limit: Option<u32>) -> Result<Self> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(Error::bad_request(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
        let before_seq = match cursor {
            None => i64::MAX,
            Some(cursor) => {
                decode_cursor(cursor).ok_or_else(|| Error::bad_request("invalid cursor"))?
            }
        };
        Ok(Self { before_seq, limit })
    }
}

fn encode_cursor(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("seq:{seq}"))
}

fn decode_cursor(cursor: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix("seq:")?
        .parse()
        .ok()
}

fn page(mut rows: Vec<LedgerRow>, limit: u32) -> CursorPage<LedgerEntry> {
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = more
        .then(|| rows.last().map(|r| encode_cursor(r.seq)))
        .flatten();
    CursorPage {
        data: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    }
}

pub async fn budget_entries(
    db: &Db,
    platform_id: Uuid,
    end_user_id: Uuid,
    query: &CursorQuery,
) -> Result<CursorPage<LedgerEntry>> {
    let rows = db
        .fetch_all(
            "SELECT seq, id, kind, amount_micros, balance_after_micros, reason, actor, idempotency_key, \
             related_id, shortfall_micros, created_at FROM budget_ledger \
             WHERE platform_id = $1 AND end_user_id = $2 AND seq < $3 ORDER BY seq DESC LIMIT $4",
            &args![platform_id, end_user_id, query.before_seq, i64::from(query.limit) + 1],
        )
        .await?;
    Ok(page(rows, query.limit))
}

pub async fn wallet_entries(
    db: &Db,
    platform_id: Uuid,
    query: &CursorQuery,
) -> Result<CursorPage<LedgerEntry>> {
    let rows = db
        .fetch_all(
            "SELECT seq, id, kind, amount_micros, balance_after_micros, reason, actor, idempotency_key, \
             related_id, CAST(0 AS BIGINT) AS shortfall_micros, created_at FROM wallet_ledger \
             WHERE platform_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
            &args![platform_id, query.before_seq, i64::from(query.limit) + 1],
        )
        .await?;
    Ok(page(rows, query.limit))
}
