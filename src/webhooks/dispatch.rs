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

use serde_json::Value;
use uuid::Uuid;

use super::store::endpoints::EndpointRow;
use super::store::{deliveries, endpoints, messages};
use super::{Webhooks, ms};

/// Outbox rows per dispatch transaction.
pub(super) const BATCH: i64 = 500;

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
        if !messages::lock_dispatch(&mut tx).await? {
            tx.rollback().await?;
            return Ok(0);
        }
        let events = messages::undispatched(&mut tx, BATCH).await?;
        if events.is_empty() {
            tx.rollback().await?;
            return Ok(0);
        }
        let now = ms(self.clock.now());
        let mut sequences: HashMap<Uuid, i64> = HashMap::new();
        let mut targets: HashMap<Uuid, Vec<EndpointRow>> = HashMap::new();
        for event in &events {
            let platform = event.platform_id;
            if let Entry::Vacant(slot) = sequences.entry(platform) {
                slot.insert(messages::last_sequence(&mut tx, platform).await?);
                targets.insert(platform, endpoints::enabled(&mut tx, platform).await?);
            }
            let sequence = sequences.entry(platform).or_default();
            *sequence += 1;
            let message = messages::NewMessage {
                id: event.id,
                platform_id: platform,
                event_type: &event.event_type,
                sequence: Some(*sequence),
                body: body_of(&event.payload.0, *sequence),
                created_at_ms: ms(event.created_at),
            };
            messages::insert(&mut tx, &message).await?;
            for endpoint in targets.get(&platform).into_iter().flatten() {
                if endpoint.wants(&event.event_type) {
                    deliveries::queue(&mut tx, endpoint.id, event.id, now).await?;
                }
            }
        }
        for (platform, last) in &sequences {
            messages::save_sequence(&mut tx, *platform, *last).await?;
        }
        let seqs: Vec<i64> = events.iter().map(|event| event.seq).collect();
        messages::mark_dispatched(&mut tx, &seqs, now).await?;
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
