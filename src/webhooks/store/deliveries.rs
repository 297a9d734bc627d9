//! The `webhook_deliveries` rows (one event to one endpoint: its state, its
//! lease while an attempt runs, the last answer) and their `webhook_attempts`.

use uuid::Uuid;

use crate::args;
use crate::store::Db;
use crate::store::tx::Tx;

/// A delivery as the log shows it, with its message's event type and sequence.
#[derive(Debug, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub message_id: Uuid,
    pub event_type: String,
    pub sequence: Option<i64>,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_ms: Option<i64>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub last_latency_ms: Option<i64>,
    pub last_response: Option<String>,
    pub created_at_ms: i64,
    pub delivered_at_ms: Option<i64>,
}

const DELIVERY: &str = "SELECT d.id, d.endpoint_id, d.message_id, m.event_type, m.sequence, d.status, \
     d.attempts, d.next_attempt_ms, d.last_status_code, d.last_error, d.last_latency_ms, \
     d.last_response, d.created_at_ms, d.delivered_at_ms \
     FROM webhook_deliveries d JOIN webhook_messages m ON m.id = d.message_id";

/// One attempt as the log shows it.
#[derive(Debug, sqlx::FromRow)]
pub struct AttemptRow {
    pub attempt: i32,
    pub started_at_ms: i64,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub latency_ms: i64,
    pub response: Option<String>,
    pub next_attempt_ms: Option<i64>,
}

/// A claimed delivery with the body it sends.
#[derive(Debug, sqlx::FromRow)]
pub struct Job {
    pub id: Uuid,
    pub attempts: i32,
    pub step: i32,
    pub endpoint_id: Uuid,
    pub message_id: Uuid,
    pub body: String,
}

/// One finished attempt of delivery `delivery_id`.
pub struct Attempt {
    pub id: Uuid,
    pub delivery_id: Uuid,
    /// Its number, from 1.
    pub attempt: i64,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub latency_ms: i64,
    pub response: Option<String>,
    /// When the next one is due (`None`: no more).
    pub next_attempt_ms: Option<i64>,
}

/// Queues a delivery of `message_id` to `endpoint_id`, due at `now_ms`. An
/// existing one (a recover, a replay) goes back to pending at the start of the
/// schedule.
pub async fn queue(
    tx: &mut Tx,
    endpoint_id: Uuid,
    message_id: Uuid,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    tx.defer(
        "INSERT INTO webhook_deliveries (id, endpoint_id, message_id, status, attempts, step, \
         next_attempt_ms, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, 'pending', 0, 0, $4, $4, $4) \
         ON CONFLICT (endpoint_id, message_id) DO UPDATE SET status = 'pending', step = 0, \
         next_attempt_ms = excluded.next_attempt_ms, updated_at_ms = excluded.updated_at_ms",
        &args![Uuid::now_v7(), endpoint_id, message_id, now_ms],
    )
    .await
}

/// Leases up to `limit` pending deliveries of enabled endpoints due at `now_ms`
/// (earliest due first) to `token` until `until_ms`, in one statement: `FOR
/// UPDATE SKIP LOCKED` on PostgreSQL so instances never lease the same row, the
/// single writer on SQLite. How many it leased.
pub async fn lease_due(
    tx: &mut Tx,
    now_ms: i64,
    limit: i64,
    token: Uuid,
    until_ms: i64,
) -> Result<u64, sqlx::Error> {
    let lock = if tx.single_writer() {
        ""
    } else {
        " FOR UPDATE OF d SKIP LOCKED"
    };
    tx.execute(
        &format!(
            "WITH picked AS (SELECT d.id FROM webhook_deliveries d \
             JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             WHERE d.status = 'pending' AND d.next_attempt_ms <= $1 \
             AND (d.lease_until_ms IS NULL OR d.lease_until_ms < $1) AND e.enabled = TRUE \
             ORDER BY d.next_attempt_ms LIMIT $2{lock}) \
             UPDATE webhook_deliveries SET lease_token = $3, lease_until_ms = $4 \
             WHERE id IN (SELECT id FROM picked)"
        ),
        &args![now_ms, limit, token, until_ms],
    )
    .await
}

/// The deliveries leased to `token`, with their bodies.
pub async fn leased(tx: &mut Tx, token: Uuid) -> Result<Vec<Job>, sqlx::Error> {
    tx.fetch_all(
        "SELECT d.id, d.attempts, d.step, d.endpoint_id, d.message_id, m.body \
         FROM webhook_deliveries d JOIN webhook_messages m ON m.id = d.message_id \
         WHERE d.lease_token = $1",
        &args![token],
    )
    .await
}

pub async fn insert_attempt(tx: &mut Tx, attempt: &Attempt) -> Result<(), sqlx::Error> {
    tx.defer(
        "INSERT INTO webhook_attempts (id, delivery_id, attempt, started_at_ms, finished_at_ms, \
         status_code, error, latency_ms, response, next_attempt_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &args![
            attempt.id,
            attempt.delivery_id,
            attempt.attempt,
            attempt.started_at_ms,
            attempt.finished_at_ms,
            attempt.status_code,
            attempt.error.clone(),
            attempt.latency_ms,
            attempt.response.clone(),
            attempt.next_attempt_ms
        ],
    )
    .await
}

/// The delivery's state after `attempt`: `status`, the schedule's `step`, the
/// last answer, and the lease released, if `token` still holds it.
pub async fn finish_attempt(
    tx: &mut Tx,
    attempt: &Attempt,
    status: &str,
    step: i64,
    delivered: bool,
    token: Uuid,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, step = $2, \
         next_attempt_ms = $3, lease_token = NULL, lease_until_ms = NULL, last_status_code = $4, \
         last_error = $5, last_latency_ms = $6, last_response = $7, updated_at_ms = $8, \
         delivered_at_ms = CASE WHEN $9 THEN $8 ELSE delivered_at_ms END \
         WHERE id = $10 AND lease_token = $11",
        &args![
            status,
            step,
            attempt.next_attempt_ms,
            attempt.status_code,
            attempt.error.clone(),
            attempt.latency_ms,
            attempt.response.clone(),
            attempt.finished_at_ms,
            delivered,
            attempt.delivery_id,
            token
        ],
    )
    .await
    .map(|_| ())
}

/// Up to `limit` of the endpoint's deliveries before `before` (an id), newest
/// first, of `status` if given.
pub async fn page(
    db: &Db,
    endpoint_id: Uuid,
    before: Uuid,
    status: Option<String>,
    limit: i64,
) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    db.fetch_all(
        &format!(
            "{DELIVERY} WHERE d.endpoint_id = $1 AND d.id < $2 AND ($3 IS NULL OR d.status = $3) \
             ORDER BY d.id DESC LIMIT $4"
        ),
        &args![endpoint_id, before, status, limit],
    )
    .await
}

/// The endpoint's delivery `id`.
pub async fn get(db: &Db, endpoint_id: Uuid, id: Uuid) -> Result<Option<DeliveryRow>, sqlx::Error> {
    db.fetch_optional(
        &format!("{DELIVERY} WHERE d.id = $1 AND d.endpoint_id = $2"),
        &args![id, endpoint_id],
    )
    .await
}

/// The id of the delivery of `message_id` to `endpoint_id`.
pub async fn id_of(
    db: &Db,
    endpoint_id: Uuid,
    message_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    let id: Option<(Uuid,)> = db
        .fetch_optional(
            "SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 AND message_id = $2",
            &args![endpoint_id, message_id],
        )
        .await?;
    Ok(id.map(|(id,)| id))
}

/// The delivery's attempts, first first.
pub async fn attempts(db: &Db, delivery_id: Uuid) -> Result<Vec<AttemptRow>, sqlx::Error> {
    db.fetch_all(
        "SELECT attempt, started_at_ms, status_code, error, latency_ms, response, next_attempt_ms \
         FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt",
        &args![delivery_id],
    )
    .await
}

/// Puts delivery `id` back to pending at the start of the schedule, due at
/// `now_ms`, unless an attempt holds its lease; whether it did.
pub async fn replay(db: &Db, id: Uuid, now_ms: i64) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let changed = tx
        .execute(
            "UPDATE webhook_deliveries SET status = 'pending', step = 0, next_attempt_ms = $1, \
             updated_at_ms = $1 WHERE id = $2 AND (lease_until_ms IS NULL OR lease_until_ms < $1)",
            &args![now_ms, id],
        )
        .await?;
    tx.commit().await?;
    Ok(changed > 0)
}

/// In one transaction, deletes finished deliveries (and their attempts) last
/// changed before `cutoff_ms`, messages as old that no delivery needs any more,
/// and outbox rows dispatched before it; how many deliveries went.
pub async fn purge(db: &Db, cutoff_ms: i64) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let deliveries = tx
        .execute(
            "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND updated_at_ms < $1",
            &args![cutoff_ms],
        )
        .await?;
    tx.execute(
        "DELETE FROM webhook_messages WHERE created_at_ms < $1 AND NOT EXISTS \
         (SELECT 1 FROM webhook_deliveries d WHERE d.message_id = webhook_messages.id)",
        &args![cutoff_ms],
    )
    .await?;
    tx.execute(
        "DELETE FROM outbox_events WHERE dispatched_at_ms IS NOT NULL AND dispatched_at_ms < $1",
        &args![cutoff_ms],
    )
    .await?;
    tx.commit().await?;
    Ok(deliveries)
}

/// Deliveries waiting for an attempt (the partial index on pending rows).
pub async fn pending_count(db: &Db) -> Result<i64, sqlx::Error> {
    let row: Option<(i64,)> = db
        .fetch_optional(
            "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'",
            &args![],
        )
        .await?;
    Ok(row.map_or(0, |(n,)| n))
}
