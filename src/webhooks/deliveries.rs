//! The delivery log of an endpoint (cursor pages, newest first), one delivery
//! with its attempts, replay, recover since a time, test events, and the
//! retention purge.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{RECOVER_WINDOW, TEST_EVENT, Webhooks, ms, time};
use crate::args;
use crate::domain::paging::CursorPage;
use crate::error::{Error, Result};
use crate::store::tx::Tx;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;
/// Most messages one `recover` queues again.
const MAX_RECOVER: i64 = 50_000;

/// Queues a delivery of `message_id` to `endpoint_id`, due now. An existing one
/// (a recover, a replay) goes back to pending at the start of the schedule.
pub(super) async fn queue(
    tx: &mut Tx,
    endpoint_id: Uuid,
    message_id: Uuid,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.defer(
        "INSERT INTO webhook_deliveries (id, endpoint_id, message_id, status, attempts, step, \
         next_attempt_ms, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, 'pending', 0, 0, $4, $4, $4) \
         ON CONFLICT (endpoint_id, message_id) DO UPDATE SET status = 'pending', step = 0, \
         next_attempt_ms = excluded.next_attempt_ms, updated_at_ms = excluded.updated_at_ms",
        &args![Uuid::now_v7(), endpoint_id, message_id, now],
    )
    .await
}

#[derive(Debug, sqlx::FromRow)]
struct DeliveryRow {
    id: Uuid,
    endpoint_id: Uuid,
    message_id: Uuid,
    event_type: String,
    sequence: Option<i64>,
    status: String,
    attempts: i32,
    next_attempt_ms: Option<i64>,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    last_latency_ms: Option<i64>,
    last_response: Option<String>,
    created_at_ms: i64,
    delivered_at_ms: Option<i64>,
}

const DELIVERY: &str = "SELECT d.id, d.endpoint_id, d.message_id, m.event_type, m.sequence, d.status, \
     d.attempts, d.next_attempt_ms, d.last_status_code, d.last_error, d.last_latency_ms, \
     d.last_response, d.created_at_ms, d.delivered_at_ms \
     FROM webhook_deliveries d JOIN webhook_messages m ON m.id = d.message_id";

/// One event's delivery to one endpoint, as the log shows it.
#[derive(Debug, Serialize)]
pub struct DeliveryView {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    /// The event id (`webhook-id`).
    pub event_id: Uuid,
    pub event_type: String,
    pub sequence: Option<i64>,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub latency_ms: Option<i64>,
    /// The first 1 KB of the last answer.
    pub response: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<DeliveryRow> for DeliveryView {
    fn from(row: DeliveryRow) -> Self {
        let pending = row.status == "pending";
        Self {
            id: row.id,
            endpoint_id: row.endpoint_id,
            event_id: row.message_id,
            event_type: row.event_type,
            sequence: row.sequence,
            status: row.status,
            attempts: row.attempts,
            status_code: row.last_status_code,
            error: row.last_error,
            latency_ms: row.last_latency_ms,
            response: row.last_response,
            next_attempt_at: row.next_attempt_ms.filter(|_| pending).map(time),
            created_at: time(row.created_at_ms),
            delivered_at: row.delivered_at_ms.map(time),
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
struct AttemptRow {
    attempt: i32,
    started_at_ms: i64,
    status_code: Option<i32>,
    error: Option<String>,
    latency_ms: i64,
    response: Option<String>,
    next_attempt_ms: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct AttemptView {
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub latency_ms: i64,
    pub response: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// A delivery with the payload it sends and every attempt.
#[derive(Debug, Serialize)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: DeliveryView,
    pub payload: Value,
    pub attempt_log: Vec<AttemptView>,
}

/// `?cursor=&limit=&status=`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
    pub status: Option<String>,
}

/// `{"since": RFC 3339}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoverInput {
    pub since: DateTime<Utc>,
}

fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("d:{id}"))
}

fn decode_cursor(cursor: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    Uuid::parse_str(std::str::from_utf8(&bytes).ok()?.strip_prefix("d:")?).ok()
}

impl Webhooks {
    pub async fn deliveries(
        &self,
        platform_id: Uuid,
        endpoint_id: Uuid,
        query: &DeliveryQuery,
    ) -> Result<CursorPage<DeliveryView>> {
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(Error::bad_request(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
        let before = match query.cursor.as_deref() {
            None => Uuid::max(),
            Some(c) => decode_cursor(c).ok_or_else(|| Error::bad_request("invalid cursor"))?,
        };
        let status = match query.status.as_deref() {
            None => None,
            Some(s @ ("pending" | "delivered" | "failed")) => Some(s.to_owned()),
            Some(other) => {
                return Err(Error::bad_request(format!(
                    "status: '{other}' is not one of pending, delivered, failed"
                )));
            }
        };
        self.endpoint_row(platform_id, endpoint_id).await?;
        let mut rows: Vec<DeliveryRow> = self
            .db
            .fetch_all(
                &format!(
                    "{DELIVERY} WHERE d.endpoint_id = $1 AND d.id < $2 AND ($3 IS NULL OR d.status = $3) \
                     ORDER BY d.id DESC LIMIT $4"
                ),
                &args![endpoint_id, before, status, i64::from(limit) + 1],
            )
            .await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = more
            .then(|| rows.last().map(|r| encode_cursor(r.id)))
            .flatten();
        Ok(CursorPage {
            data: rows.into_iter().map(Into::into).collect(),
            next_cursor,
        })
    }

    async fn delivery_row(
        &self,
        platform_id: Uuid,
        endpoint_id: Uuid,
        id: Uuid,
    ) -> Result<DeliveryRow> {
        self.endpoint_row(platform_id, endpoint_id).await?;
        self.db
            .fetch_optional(
                &format!("{DELIVERY} WHERE d.id = $1 AND d.endpoint_id = $2"),
                &args![id, endpoint_id],
            )
            .await?
            .ok_or_else(|| Error::not_found("delivery not found"))
    }

    pub async fn delivery(
        &self,
        platform_id: Uuid,
        endpoint_id: Uuid,
        id: Uuid,
    ) -> Result<DeliveryDetail> {
        let row = self.delivery_row(platform_id, endpoint_id, id).await?;
        let (body,): (String,) = self
            .db
            .fetch_optional(
                "SELECT body FROM webhook_messages WHERE id = $1",
                &args![row.message_id],
            )
            .await?
            .ok_or_else(|| Error::not_found("delivery not found"))?;
        let attempts: Vec<AttemptRow> = self
            .db
            .fetch_all(
                "SELECT attempt, started_at_ms, status_code, error, latency_ms, response, next_attempt_ms \
                 FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt",
                &args![id],
            )
            .await?;
        Ok(DeliveryDetail {
            delivery: row.into(),
            payload: serde_json::from_str(&body).unwrap_or(Value::Null),
            attempt_log: attempts
                .into_iter()
                .map(|a| AttemptView {
                    attempt: a.attempt,
                    started_at: time(a.started_at_ms),
                    status_code: a.status_code,
                    error: a.error,
                    latency_ms: a.latency_ms,
                    response: a.response,
                    next_attempt_at: a.next_attempt_ms.map(time),
                })
                .collect(),
        })
    }

    /// Sends the delivery again now, from the start of the retry schedule.
    pub async fn replay(
        &self,
        platform_id: Uuid,
        endpoint_id: Uuid,
        id: Uuid,
    ) -> Result<DeliveryView> {
        let row = self.delivery_row(platform_id, endpoint_id, id).await?;
        let now = ms(self.clock.now());
        let mut tx = self.db.begin().await?;
        let changed = tx
            .execute(
                "UPDATE webhook_deliveries SET status = 'pending', step = 0, next_attempt_ms = $1, \
                 updated_at_ms = $1 WHERE id = $2 AND (lease_until_ms IS NULL OR lease_until_ms < $1)",
                &args![now, row.id],
            )
            .await?;
        tx.commit().await?;
        if changed == 0 {
            return Err(Error::conflict(
                "an attempt of this delivery is in flight; replay it once it is done",
            ));
        }
        Ok(self
            .delivery_row(platform_id, endpoint_id, id)
            .await?
            .into())
    }

    /// Queues again every event of the platform since `since` (at most 14 days
    /// back) that the endpoint subscribes to; how many.
    pub async fn recover(
        &self,
        platform_id: Uuid,
        endpoint_id: Uuid,
        since: DateTime<Utc>,
    ) -> Result<Value> {
        let now = self.clock.now();
        if since < now - RECOVER_WINDOW {
            return Err(Error::bad_request(format!(
                "since: at most {} days back",
                RECOVER_WINDOW.num_days()
            )));
        }
        if since > now {
            return Err(Error::bad_request("since: must not be in the future"));
        }
        let endpoint = self.endpoint_row(platform_id, endpoint_id).await?;
        let messages: Vec<(Uuid, String)> = self
            .db
            .fetch_all(
                "SELECT id, event_type FROM webhook_messages WHERE platform_id = $1 \
                 AND created_at_ms >= $2 AND event_type <> $3 ORDER BY created_at_ms LIMIT $4",
                &args![platform_id, ms(since), TEST_EVENT, MAX_RECOVER],
            )
            .await?;
        let mut tx = self.db.begin().await?;
        let mut queued = 0u64;
        for (message_id, event_type) in &messages {
            if endpoint.wants(event_type) {
                queue(&mut tx, endpoint_id, *message_id, ms(now)).await?;
                queued += 1;
            }
        }
        tx.commit().await?;
        Ok(json!({"endpoint_id": endpoint_id, "since": since, "queued": queued}))
    }

    /// Queues a signed `webhook.test` event for this endpoint alone.
    pub async fn send_test(&self, platform_id: Uuid, endpoint_id: Uuid) -> Result<DeliveryView> {
        self.endpoint_row(platform_id, endpoint_id).await?;
        let now = self.clock.now();
        let id = Uuid::now_v7();
        let body = json!({
            "id": id,
            "event_type": TEST_EVENT,
            "created_at": now,
            "data": {"platform_id": platform_id, "endpoint_id": endpoint_id},
        });
        let mut tx = self.db.begin().await?;
        tx.defer(
            "INSERT INTO webhook_messages (id, platform_id, event_type, sequence, body, created_at_ms) \
             VALUES ($1, $2, $3, NULL, $4, $5)",
            &args![id, platform_id, TEST_EVENT, body.to_string(), ms(now)],
        )
        .await?;
        queue(&mut tx, endpoint_id, id, ms(now)).await?;
        tx.commit().await?;
        let (delivery,): (Uuid,) = self
            .db
            .fetch_optional(
                "SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 AND message_id = $2",
                &args![endpoint_id, id],
            )
            .await?
            .ok_or_else(|| Error::internal("the test delivery vanished"))?;
        Ok(self
            .delivery_row(platform_id, endpoint_id, delivery)
            .await?
            .into())
    }

    /// Deletes finished deliveries (and their attempts) older than the retention,
    /// messages no delivery needs any more, and dispatched outbox rows as old.
    pub async fn purge(&self) -> Result<u64, sqlx::Error> {
        let cutoff = ms(self.clock.now() - self.settings.retention);
        let mut tx = self.db.begin().await?;
        let deliveries = tx
            .execute(
                "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND updated_at_ms < $1",
                &args![cutoff],
            )
            .await?;
        tx.execute(
            "DELETE FROM webhook_messages WHERE created_at_ms < $1 AND NOT EXISTS \
             (SELECT 1 FROM webhook_deliveries d WHERE d.message_id = webhook_messages.id)",
            &args![cutoff],
        )
        .await?;
        tx.execute(
            "DELETE FROM outbox_events WHERE dispatched_at_ms IS NOT NULL AND dispatched_at_ms < $1",
            &args![cutoff],
        )
        .await?;
        tx.commit().await?;
        Ok(deliveries)
    }
}
