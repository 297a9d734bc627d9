//! Platform wallets (operator-managed): unmetered until metered; then spend stops
//! at zero with 402 `wallet_insufficient`. An unmetered wallet is still debited,
//! so its balance shows what the platform spent (it may go below zero).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value, json};
use uuid::Uuid;

use super::accounts::{self, Entry, WalletRow};
use super::clock::SharedClock;
use super::events;
use super::idempotency::{self, Claim, IdempotentRequest};
use super::money::Money;
use crate::args;
use crate::error::{Error, Result};
use crate::store::Db;
use crate::store::tx::Tx;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WalletView {
    pub platform_id: Uuid,
    pub metered: bool,
    pub balance_usd: Money,
    pub held_usd: Money,
    pub available_usd: Money,
    pub low_balance_threshold_usd: Option<Money>,
    pub updated_at: DateTime<Utc>,
}

impl From<&WalletRow> for WalletView {
    fn from(row: &WalletRow) -> Self {
        Self {
            platform_id: row.platform_id,
            metered: row.metered,
            balance_usd: Money::from_micros(row.balance_micros),
            held_usd: Money::from_micros(row.held_micros),
            available_usd: Money::from_micros(row.available()),
            low_balance_threshold_usd: row.low_balance_threshold_micros.map(Money::from_micros),
            updated_at: row.updated_at,
        }
    }
}

async fn locked(tx: &mut Tx, platform_id: Uuid, now: DateTime<Utc>) -> Result<WalletRow> {
    let exists: Option<(Uuid,)> = tx
        .fetch_optional(
            "SELECT id FROM platforms WHERE id = $1",
            &args![platform_id],
        )
        .await?;
    if exists.is_none() {
        return Err(Error::not_found("platform not found"));
    }
    // Guards platforms created before wallets existed.
    tx.execute(
        "INSERT INTO wallets (platform_id, updated_at) VALUES ($1, $2) ON CONFLICT (platform_id) DO NOTHING",
        &args![platform_id, now],
    )
    .await?;
    Ok(accounts::lock_wallet(tx, platform_id).await?)
}

pub async fn get(db: &Db, clock: &SharedClock, platform_id: Uuid) -> Result<WalletView> {
    let now = clock.now();
    let mut tx = db.begin().await?;
    let row = locked(&mut tx, platform_id, now).await?;
    tx.commit().await?;
    Ok((&row).into())
}

/// `PUT /admin/v1/platforms/{pid}/wallet`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalletSettings {
    pub metered: Option<bool>,
    #[serde(default, deserialize_with = "crate::domain::patch::double_option")]
    #[schema(value_type = Option<f64>)]
    pub low_balance_threshold_usd: Option<Option<Number>>,
}

pub async fn configure(
    db: &Db,
    clock: &SharedClock,
    platform_id: Uuid,
    settings: &WalletSettings,
) -> Result<WalletView> {
    let threshold = match &settings.low_balance_threshold_usd {
        None => None,
        Some(None) => Some(None),
        Some(Some(n)) => {
            let money = Money::from_usd_json("low_balance_threshold_usd", n)?;
            if money.is_negative() {
                return Err(Error::bad_request(
                    "low_balance_threshold_usd must not be negative",
                ));
            }
            Some(Some(money.micros()))
        }
    };
    let now = clock.now();
    let mut tx = db.begin().await?;
    let mut row = locked(&mut tx, platform_id, now).await?;
    if let Some(metered) = settings.metered {
        row.metered = metered;
    }
    if let Some(threshold) = threshold {
        row.low_balance_threshold_micros = threshold;
    }
    accounts::wallet_after_change(&mut tx, &mut row, now).await?;
    accounts::save_wallet(&mut tx, &mut row, now).await?;
    tx.commit().await?;
    Ok((&row).into())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalletTopup {
    #[schema(value_type = f64)]
    pub amount_usd: Number,
    pub reason: Option<String>,
}

/// Operator top-up, idempotent with `idempotency`: (status, body, replayed).
pub async fn topup(
    db: &Db,
    clock: &SharedClock,
    platform_id: Uuid,
    input: &WalletTopup,
    idempotency: Option<&IdempotentRequest>,
) -> Result<(u16, Value, bool)> {
    let amount = Money::from_usd_json("amount_usd", &input.amount_usd)?;
    if amount.micros() <= 0 {
        return Err(Error::bad_request("amount_usd must be above 0"));
    }
    let reason = input
        .reason
        .clone()
        .map(|r| {
            crate::domain::DisplayName::parse("reason", r)
                .map(crate::domain::DisplayName::into_inner)
        })
        .transpose()?;
    let now = clock.now();
    let mut tx = db.begin().await?;
    let scope = idempotency::wallet_scope(platform_id);
    if let Some(request) = idempotency
        && let Claim::Replay { status, body } =
            idempotency::claim(&mut tx, &scope, request, now).await?
    {
        return Ok((status, body, true));
    }
    let mut row = locked(&mut tx, platform_id, now).await?;
    let entry = Entry {
        kind: "topup",
        amount_micros: amount.micros(),
        reason,
        actor: "admin".into(),
        idempotency_key: idempotency.map(|r| r.key.clone()),
        ..Entry::default()
    };
    accounts::post_wallet(&mut tx, &mut row, entry, now).await?;
    events::record(
        &mut tx,
        platform_id,
        events::WALLET_TOPPED_UP,
        json!({"amount_usd": amount, "balance_usd": Money::from_micros(row.balance_micros)}),
        now,
    )
    .await?;
    accounts::wallet_after_change(&mut tx, &mut row, now).await?;
    accounts::save_wallet(&mut tx, &mut row, now).await?;
    let body = json!({"data": WalletView::from(&row)});
    if let Some(request) = idempotency {
        idempotency::complete(&mut tx, &scope, request, 200, &body).await?;
    }
    tx.commit().await?;
    Ok((200, body, false))
}
