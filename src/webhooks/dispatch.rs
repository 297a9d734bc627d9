//! From the outbox to deliveries. Each undispatched `outbox_events` row becomes a
//! message — the exact body every delivery of that event sends, with the
//! platform's next sequence number in `data.sequence` — and one pending delivery
//! per enabled endpoint of the platform that wants the event type. Batches run in
//! one transaction and mark their rows dispatched, so a crash redoes the whole
//! batch or none of it. On PostgreSQL one instance at a time dispatches (a
//! transaction-scoped advisory lock), so sequence numbers follow the outbox order;
//! events of one budget or wallet are written under its row lock, so their order
//! is the order of the changes.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt::Write;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::endpoints::EndpointRow;
use super::{Webhooks, ms};
use crate::args;

/// Outbox rows per dispatch transaction.
pub(super) const BATCH: i64 = 500;
/// The advisory lock dispatchers take on PostgreSQL.
const DISPATCH_LOCK: i64 = 0x5745_4248_4f4f_4b53; // "WEBHOOKS"

#[derive(sqlx::FromRow)]
struct OutboxRow {
    seq: i64,
    id: Uuid,
    platform_id: Uuid,
    event_type: String,
    payload: Json<Value>,
    created_at: DateTime<Utc>,
}

/// The delivered body: the outbox payload with `data.sequence`.
fn body_of(payload: &Value, sequence: i64) -> String {
    let mut payload = payload.clone();
    if let Some(data) = payload.get_mut("data").and_then(Value::as_object_mut) {
        data.insert("sequence".into(), Value::from(sequence));
    }
    payload.to_string()
}

impl Webhooks {
    /// Dispatches one batch of the outbox; how many events it took.
    pub(super) async fn dispatch(&self) -> Result<usize, sqlx::Error> {
        let mut tx = self.db.begin().await?;
        if !tx.single_writer() {
            let (locked,): (bool,) = tx
                .fetch_one(
                    "SELECT pg_try_advisory_xact_lock($1)",
                    &args![DISPATCH_LOCK],
                )
                .await?;
            if !locked {
                tx.rollback().await?;
                return Ok(0);
            }
        }
        let events: Vec<OutboxRow> = tx
            .fetch_all(
                "SELECT seq, id, platform_id, event_type, payload, created_at FROM outbox_events \
                 WHERE dispatched_at_ms IS NULL ORDER BY seq LIMIT $1",
                &args![BATCH],
            )
            .await?;
        if events.is_empty() {
            tx.rollback().await?;
            return Ok(0);
        }
        let now = ms(self.clock.now());
        let mut sequences: HashMap<Uuid, i64> = HashMap::new();
        let mut endpoints: HashMap<Uuid, Vec<EndpointRow>> = HashMap::new();
        for event in &events {
            let platform = event.platform_id;
            if let Entry::Vacant(slot) = sequences.entry(platform) {
                let last: Option<(i64,)> = tx
                    .fetch_optional(
                        "SELECT last_sequence FROM webhook_sequences WHERE platform_id = $1",
                        &args![platform],
                    )
                    .await?;
                slot.insert(last.map_or(0, |(n,)| n));
                let rows: Vec<EndpointRow> = tx
                    .fetch_all(
                        &format!(
                            "SELECT {} FROM webhook_endpoints WHERE platform_id = $1 AND enabled = TRUE",
                            super::endpoints::COLUMNS
                        ),
                        &args![platform],
                    )
                    .await?;
                endpoints.insert(platform, rows);
            }
            let sequence = sequences.entry(platform).or_default();
            *sequence += 1;
            tx.defer(
                "INSERT INTO webhook_messages (id, platform_id, event_type, sequence, body, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &args![
                    event.id,
                    platform,
                    event.event_type.as_str(),
                    *sequence,
                    body_of(&event.payload.0, *sequence),
                    ms(event.created_at)
                ],
            )
            .await?;
            for endpoint in endpoints.get(&platform).into_iter().flatten() {
                if endpoint.wants(&event.event_type) {
                    super::deliveries::queue(&mut tx, endpoint.id, event.id, now).await?;
                }
            }
        }
        for (platform, last) in &sequences {
            tx.defer(
                "INSERT INTO webhook_sequences (platform_id, last_sequence) VALUES ($1, $2) \
                 ON CONFLICT (platform_id) DO UPDATE SET last_sequence = excluded.last_sequence",
                &args![*platform, *last],
            )
            .await?;
        }
        let mut seqs = String::new();
        for (i, event) in events.iter().enumerate() {
            let _ = write!(seqs, "{}{}", if i > 0 { "," } else { "" }, event.seq);
        }
        tx.execute(
            &format!("UPDATE outbox_events SET dispatched_at_ms = $1 WHERE seq IN ({seqs})"),
            &args![now],
        )
        .await?;
        tx.commit().await?;
        Ok(events.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_carries_the_sequence_in_data() {
        let payload = serde_json::json!({"id": "e", "event_type": "budget.debited",
            "created_at": "2026-01-01T00:00:00Z", "data": {"platform_id": "p", "balance_usd": 1.5}});
        let body: Value = serde_json::from_str(&body_of(&payload, 7)).unwrap_or_default();
        assert_eq!(body["data"]["sequence"], 7);
        assert_eq!(body["data"]["balance_usd"], 1.5);
        assert_eq!(body["event_type"], "budget.debited");
    }
}
