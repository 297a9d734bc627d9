//! The outbox's way into the webhook tables: undispatched `outbox_events` rows,
//! each platform's last sequence number (`webhook_sequences`), the messages they
//! become (`webhook_messages`: the exact body every delivery sends), and the
//! lock that lets one dispatcher at a time run on PostgreSQL.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::args;
use crate::store::Db;
use crate::store::tx::Tx;

/// The advisory lock dispatchers take on PostgreSQL.
const DISPATCH_LOCK: i64 = 0x5745_4248_4f4f_4b53; // "WEBHOOKS"

/// One undispatched outbox event.
#[derive(sqlx::FromRow)]
pub struct OutboxRow {
    pub seq: i64,
    pub id: Uuid,
    pub platform_id: Uuid,
    pub event_type: String,
    pub payload: Json<Value>,
    pub created_at: DateTime<Utc>,
}

/// A message to store: its id is the event id (`webhook-id`).
pub struct NewMessage<'a> {
    pub id: Uuid,
    pub platform_id: Uuid,
    pub event_type: &'a str,
    /// `None` for a test event, which has no place in the platform's sequence.
    pub sequence: Option<i64>,
    pub body: String,
    pub created_at_ms: i64,
}

/// Takes the dispatchers' lock for the rest of the transaction (a
/// transaction-scoped advisory lock on PostgreSQL); `false` when another
/// dispatcher holds it. SQLite's single writer already runs one at a time.
pub async fn lock_dispatch(tx: &mut Tx) -> Result<bool, sqlx::Error> {
    if tx.single_writer() {
        return Ok(true);
    }
    let (locked,): (bool,) = tx
        .fetch_one(
            "SELECT pg_try_advisory_xact_lock($1)",
            &args![DISPATCH_LOCK],
        )
        .await?;
    Ok(locked)
}

/// Up to `limit` undispatched outbox events, in outbox order.
pub async fn undispatched(tx: &mut Tx, limit: i64) -> Result<Vec<OutboxRow>, sqlx::Error> {
    tx.fetch_all(
        "SELECT seq, id, platform_id, event_type, payload, created_at FROM outbox_events \
         WHERE dispatched_at_ms IS NULL ORDER BY seq LIMIT $1",
        &args![limit],
    )
    .await
}

/// The platform's last sequence number (0 before its first event).
pub async fn last_sequence(tx: &mut Tx, platform_id: Uuid) -> Result<i64, sqlx::Error> {
    let last: Option<(i64,)> = tx
        .fetch_optional(
            "SELECT last_sequence FROM webhook_sequences WHERE platform_id = $1",
            &args![platform_id],
        )
        .await?;
    Ok(last.map_or(0, |(n,)| n))
}

pub async fn save_sequence(tx: &mut Tx, platform_id: Uuid, last: i64) -> Result<(), sqlx::Error> {
    tx.defer(
        "INSERT INTO webhook_sequences (platform_id, last_sequence) VALUES ($1, $2) \
         ON CONFLICT (platform_id) DO UPDATE SET last_sequence = excluded.last_sequence",
        &args![platform_id, last],
    )
    .await
}

/// Marks the outbox events `seqs` dispatched at `now_ms`.
pub async fn mark_dispatched(tx: &mut Tx, seqs: &[i64], now_ms: i64) -> Result<(), sqlx::Error> {
    let mut list = String::new();
    for (i, seq) in seqs.iter().enumerate() {
        let _ = write!(list, "{}{}", if i > 0 { "," } else { "" }, seq);
    }
    tx.execute(
        &format!("UPDATE outbox_events SET dispatched_at_ms = $1 WHERE seq IN ({list})"),
        &args![now_ms],
    )
    .await
    .map(|_| ())
}

pub async fn insert(tx: &mut Tx, message: &NewMessage<'_>) -> Result<(), sqlx::Error> {
    tx.defer(
        "INSERT INTO webhook_messages (id, platform_id, event_type, sequence, body, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &args![
            message.id,
            message.platform_id,
            message.event_type,
            message.sequence,
            message.body.as_str(),
            message.created_at_ms
        ],
    )
    .await
}

/// The body message `id` sends.
pub async fn body(db: &Db, id: Uuid) -> Result<Option<String>, sqlx::Error> {
    let body: Option<(String,)> = db
        .fetch_optional(
            "SELECT body FROM webhook_messages WHERE id = $1",
            &args![id],
        )
        .await?;
    Ok(body.map(|(body,)| body))
}

/// Up to `limit` of the platform's messages created at `since_ms` or later, but
/// none of `except_type`, oldest first: each id and event type.
pub async fn since(
    db: &Db,
    platform_id: Uuid,
    since_ms: i64,
    except_type: &str,
    limit: i64,
) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    db.fetch_all(
        "SELECT id, event_type FROM webhook_messages WHERE platform_id = $1 \
         AND created_at_ms >= $2 AND event_type <> $3 ORDER BY created_at_ms LIMIT $4",
        &args![platform_id, since_ms, except_type, limit],
    )
    .await
}

/// Outbox events not yet dispatched (the partial index on undispatched rows).
pub async fn undispatched_count(db: &Db) -> Result<i64, sqlx::Error> {
    let row: Option<(i64,)> = db
        .fetch_optional(
            "SELECT count(*) FROM outbox_events WHERE dispatched_at_ms IS NULL",
            &args![],
        )
        .await?;
    Ok(row.map_or(0, |(n,)| n))
}
