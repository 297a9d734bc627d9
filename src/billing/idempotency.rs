//! `Idempotency-Key` for money-moving POSTs: the first answer is stored in the
//! same transaction as the money change and replayed for 24 h; the same key with
//! another request is 409. The claim is an `INSERT ... ON CONFLICT DO NOTHING`
//! on a unique key, so concurrent duplicates wait for the first to commit and
//! then replay its answer: exactly one effect.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::args;
use crate::error::Error;
use crate::store::tx::Tx;

const REPLAY_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;
const MAX_KEY_LEN: usize = 255;

/// An idempotent request: its key and a digest of what was asked.
#[derive(Debug, Clone)]
pub struct IdempotentRequest {
    pub key: String,
    pub request_hash: String,
}

impl IdempotentRequest {
    pub fn parse_key(raw: &str) -> Result<String, Error> {
        let valid = !raw.is_empty()
            && raw.len() <= MAX_KEY_LEN
            && raw.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
        if !valid {
            return Err(Error::bad_request(format!(
                "Idempotency-Key must be 1-{MAX_KEY_LEN} printable ASCII characters"
            )));
        }
        Ok(raw.to_owned())
    }
}

pub enum Claim {
    Fresh,
    Replay { status: u16, body: Value },
}

#[derive(sqlx::FromRow)]
struct Stored {
    request_hash: String,
    response_status: i32,
    response_body: String,
}

/// Claims the key for this request inside `tx`, or finds the stored answer.
pub async fn claim(
    tx: &mut Tx,
    scope: &str,
    request: &IdempotentRequest,
    now: DateTime<Utc>,
) -> Result<Claim, Error> {
    let now_ms = now.timestamp_millis();
    tx.execute(
        "DELETE FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2 AND created_at_ms < $3",
        &args![scope, request.key.as_str(), now_ms - REPLAY_WINDOW_MS],
    )
    .await?;
    let inserted = tx
        .execute(
            "INSERT INTO idempotency_keys (scope, idempotency_key, request_hash, response_status, \
             response_body, created_at_ms) VALUES ($1, $2, $3, 0, '', $4) \
             ON CONFLICT (scope, idempotency_key) DO NOTHING",
            &args![
                scope,
                request.key.as_str(),
                request.request_hash.as_str(),
                now_ms
            ],
        )
        .await?;
    if inserted == 1 {
        return Ok(Claim::Fresh);
    }
    let stored: Stored = tx
        .fetch_one(
            "SELECT request_hash, response_status, response_body FROM idempotency_keys \
             WHERE scope = $1 AND idempotency_key = $2",
            &args![scope, request.key.as_str()],
        )
        .await?;
    if stored.request_hash != request.request_hash {
        return Err(Error::conflict(
            "this Idempotency-Key was already used with a different request",
        ));
    }
    let body = serde_json::from_str(&stored.response_body).map_err(|_| {
        Error::conflict("a request with this Idempotency-Key is still in progress")
    })?;
    Ok(Claim::Replay {
        status: u16::try_from(stored.response_status).unwrap_or(200),
        body,
    })
}

/// Stores the answer to replay, in the transaction that made the change.
pub async fn complete(
    tx: &mut Tx,
    scope: &str,
    request: &IdempotentRequest,
    status: u16,
    body: &Value,
) -> Result<(), Error> {
    tx.execute(
        "UPDATE idempotency_keys SET response_status = $3, response_body = $4 \
         WHERE scope = $1 AND idempotency_key = $2",
        &args![
            scope,
            request.key.as_str(),
            i64::from(status),
            body.to_string()
        ],
    )
    .await?;
    Ok(())
}

/// Frees a claimed key whose request was refused before any effect, so a retry
/// with the same key can run. A completed answer is never freed.
pub async fn abandon(
    tx: &mut Tx,
    scope: &str,
    request: &IdempotentRequest,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "DELETE FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2 \
         AND response_status = 0",
        &args![scope, request.key.as_str()],
    )
    .await
    .map(|_| ())
}
