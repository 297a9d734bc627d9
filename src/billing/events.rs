//! The outbox: budget and wallet events written in the same transaction as the
//! change they report. Delivery reads them from `outbox_events`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::args;
use crate::store::tx::Tx;

pub const BUDGET_TOPPED_UP: &str = "budget.topped_up";
pub const BUDGET_DEBITED: &str = "budget.debited";
pub const BUDGET_LOW_BALANCE: &str = "budget.low_balance";
pub const BUDGET_SUSPENDED: &str = "budget.suspended";
pub const BUDGET_UNSUSPENDED: &str = "budget.unsuspended";
pub const WALLET_LOW_BALANCE: &str = "wallet.low_balance";
pub const WALLET_TOPPED_UP: &str = "wallet.topped_up";

/// Records `{id, event_type, created_at, data: {platform_id, ...data}}`.
pub async fn record(
    tx: &mut Tx,
    platform_id: Uuid,
    event_type: &str,
    mut data: Value,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let id = Uuid::now_v7();
    if let Some(object) = data.as_object_mut() {
        object.insert("platform_id".into(), json!(platform_id));
    }
    let payload = json!({
        "id": id,
        "event_type": event_type,
        "created_at": now,
        "data": data,
    });
    tx.defer(
        "INSERT INTO outbox_events (id, platform_id, event_type, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
        &args![id, platform_id, event_type, payload, now],
    )
    .await
}
