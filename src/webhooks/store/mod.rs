//! SQL for the webhook tables, written once for both databases. Time is epoch
//! milliseconds throughout.
//!
//! - [`endpoints`] holds `webhook_endpoints`.
//! - [`messages`] holds the outbox's way in (`outbox_events`,
//!   `webhook_sequences`, the dispatchers' lock) and `webhook_messages`, the
//!   bodies deliveries send.
//! - [`deliveries`] holds `webhook_deliveries` and `webhook_attempts`: the
//!   worker's leases and records, the delivery log, replay, the retention purge.

pub mod deliveries;
pub mod endpoints;
pub mod messages;
