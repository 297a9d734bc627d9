//! `Idempotency-Key` for money-moving POSTs: the first answer is stored in the
//! same transaction as the money change and replayed for 24 h; the same key with
//! another request is 409. The claim is an `INSERT ... ON CONFLICT DO NOTHING`
//! on a unique key, so concurrent duplicates wait for the first to commit and
//! then replay its answer: exactly one effect.
//!
//! Keys are scoped per end user and operation ([`end_user_scope`]; a platform
//! sends the same monthly key for every user) or per platform for wallet
//! top-ups ([`wallet_scope`]). Work that outlives its transaction (a capability
//! run) claims its key in the transaction that takes its hold, bound to that hold
//! with the answer for work that dies: when the sweeper releases the hold, the key
//! resolves to that answer ([`resolve_for_swept_hold`]) instead of staying in
//! progress.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::args;
use crate::error::Error;
use crate::store::Db;
use crate::store::tx::Tx;

const REPLAY_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;
const MAX_KEY_LEN: usize = 255;
/// `response_status` of a claim whose answer is not stored yet.
const IN_PROGRESS: i64 = 0;
/// The status a swept claim's answer is replayed with (what every run answers).
const SWEPT_STATUS: i64 = 200;

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

/// The scope of an end user's keys for one operation (`topup`, `debit`,
/// `capability_run`). The platform is part of it, so a key never reaches another
/// tenant's stored answer.
pub fn end_user_scope(platform_id: Uuid, end_user_id: Uuid, operation: &str) -> String {
    format!("platform:{platform_id}:end_user:{end_user_id}:{operation}")
}

/// The scope of the operator's wallet top-up keys: one platform's wallet.
pub fn wallet_scope(platform_id: Uuid) -> String {
    format!("admin:wallet:{platform_id}")
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

impl Stored {
    /// The stored answer for `request`, or why there is none to replay.
    fn answer(self, request: &IdempotentRequest) -> Result<(u16, Value), Error> {
        if self.request_hash != request.request_hash {
            return Err(Error::conflict(
                "this Idempotency-Key was already used with a different request",
            ));
        }
        let in_progress =
            || Error::conflict("a request with this Idempotency-Key is still in progress");
        if i64::from(self.response_status) == IN_PROGRESS {
            return Err(in_progress());
        }
        let body = serde_json::from_str(&self.response_body).map_err(|_| in_progress())?;
        Ok((u16::try_from(self.response_status).unwrap_or(200), body))
    }
}

/// The stored answer to replay for this key, read without claiming it: `None`
/// when the key is free (never used, or older than the replay window).
pub async fn peek(
    db: &Db,
    scope: &str,
    request: &IdempotentRequest,
    now: DateTime<Utc>,
) -> Result<Option<(u16, Value)>, Error> {
    let stored: Option<Stored> = db
        .fetch_optional(
            "SELECT request_hash, response_status, response_body FROM idempotency_keys \
             WHERE scope = $1 AND idempotency_key = $2 AND created_at_ms >= $3",
            &args![
                scope,
                request.key.as_str(),
                now.timestamp_millis() - REPLAY_WINDOW_MS
            ],
        )
        .await?;
    stored.map(|s| s.answer(request)).transpose()
}

/// Claims the key for this request inside `tx`, or finds the stored answer.
pub async fn claim(
    tx: &mut Tx,
    scope: &str,
    request: &IdempotentRequest,
    now: DateTime<Utc>,
) -> Result<Claim, Error> {
    claim_in(tx, scope, request, now, None).await?
}

/// [`claim`] for a batched operation: database failures apart from the 409s.
/// `bound` ties the claim to a hold, with the answer to give if its work dies.
pub async fn claim_in(
    tx: &mut Tx,
    scope: &str,
    request: &IdempotentRequest,
    now: DateTime<Utc>,
    bound: Option<(Uuid, &Value)>,
) -> Result<Result<Claim, Error>, sqlx::Error> {
    let now_ms = now.timestamp_millis();
    tx.execute(
        "DELETE FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2 AND created_at_ms < $3",
        &args![scope, request.key.as_str(), now_ms - REPLAY_WINDOW_MS],
    )
    .await?;
    let (hold_id, if_swept) = match bound {
        Some((hold_id, answer)) => (Some(hold_id), answer.to_string()),
        None => (None, String::new()),
    };
    let inserted = tx
        .execute(
            "INSERT INTO idempotency_keys (scope, idempotency_key, request_hash, response_status, \
             response_body, created_at_ms, hold_id) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (scope, idempotency_key) DO NOTHING",
            &args![
                scope,
                request.key.as_str(),
                request.request_hash.as_str(),
                IN_PROGRESS,
                if_swept,
                now_ms,
                hold_id
            ],
        )
        .await?;
    if inserted == 1 {
        return Ok(Ok(Claim::Fresh));
    }
    let stored: Stored = tx
        .fetch_one(
            "SELECT request_hash, response_status, response_body FROM idempotency_keys \
             WHERE scope = $1 AND idempotency_key = $2",
            &args![scope, request.key.as_str()],
        )
        .await?;
    Ok(stored
        .answer(request)
        .map(|(status, body)| Claim::Replay { status, body }))
}

/// Stores the answer to replay, in the transaction that made the change. A key
/// already resolved (its hold was swept as dead work) keeps that first answer.
pub async fn complete(
    tx: &mut Tx,
    scope: &str,
    request: &IdempotentRequest,
    status: u16,
    body: &Value,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE idempotency_keys SET response_status = $3, response_body = $4 \
         WHERE scope = $1 AND idempotency_key = $2 AND response_status = $5",
        &args![
            scope,
            request.key.as_str(),
            i64::from(status),
            body.to_string(),
            IN_PROGRESS
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
         AND response_status = $3",
        &args![scope, request.key.as_str(), IN_PROGRESS],
    )
    .await
    .map(|_| ())
}

/// The sweeper released `hold_id` because its work died: a key still in progress
/// on it resolves to the answer written with the claim.
pub async fn resolve_for_swept_hold(tx: &mut Tx, hold_id: Uuid) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE idempotency_keys SET response_status = $2 \
         WHERE hold_id = $1 AND response_status = $3",
        &args![hold_id, SWEPT_STATUS, IN_PROGRESS],
    )
    .await
    .map(|_| ())
}
