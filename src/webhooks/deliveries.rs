//! The delivery log of an endpoint (cursor pages, newest first), one delivery
//! with its attempts, replay, recover since a time, test events, and the
//! retention purge.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::store::deliveries::{self as store, DeliveryRow};
use super::store::messages::{self, NewMessage};
use super::{RECOVER_WINDOW, TEST_EVENT, Webhooks, ms, time};
use crate::domain::paging::CursorPage;
use crate::error::{Error, Result};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;
/// Most messages one `recover` queues again.
const MAX_RECOVER: i64 = 50_000;

/// One event's delivery to one endpoint, as the log shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
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

#[derive(Debug, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: DeliveryView,
    pub payload: Value,
    pub attempt_log: Vec<AttemptView>,
}

/// `?cursor=&limit=&status=`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
    pub status: Option<String>,
}

/// `{"since": RFC 3339}`.
/// What a recovery queued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Recovered {
    pub endpoint_id: Uuid,
    pub since: DateTime<Utc>,
    pub queued: u64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
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
        let mut rows =
            store::page(&self.db, endpoint_id, before, status, i64::from(limit) + 1).await?;
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
        store::get(&self.db, endpoint_id, id)
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
        let body = messages::body(&self.db, row.message_id)
            .await?
            .ok_or_else(|| Error::not_found("delivery not found"))?;
        let attempts = store::attempts(&self.db, id).await?;
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
        if !store::replay(&self.db, row.id, now).await? {
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
    ) -> Result<Recovered> {
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
        let events =
            messages::since(&self.db, platform_id, ms(since), TEST_EVENT, MAX_RECOVER).await?;
        let mut tx = self.db.begin().await?;
        let mut queued = 0u64;
        for (message_id, event_type) in &events {
            if endpoint.wants(event_type) {
                store::queue(&mut tx, endpoint_id, *message_id, ms(now)).await?;
                queued += 1;
            }
        }
        tx.commit().await?;
        Ok(Recovered {
            endpoint_id,
            since,
            queued,
        })
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
        let message = NewMessage {
            id,
            platform_id,
            event_type: TEST_EVENT,
            sequence: None,
            body: body.to_string(),
            created_at_ms: ms(now),
        };
        messages::insert(&mut tx, &message).await?;
        store::queue(&mut tx, endpoint_id, id, ms(now)).await?;
        tx.commit().await?;
        let delivery = store::id_of(&self.db, endpoint_id, id)
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
        store::purge(&self.db, cutoff).await
    }
}
