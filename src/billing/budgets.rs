//! End-user budgets: create/get/patch/delete, topup, manual debit, suspension and
//! the ledger. Every change runs in one transaction with its ledger row(s), its
//! outbox event(s) and, for money-moving POSTs, its idempotency record.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value, json};
use uuid::Uuid;

use super::accounts::{self, BUDGET_COLUMNS, BudgetRow, Entry};
use super::clock::SharedClock;
use super::events;
use super::idempotency::{self, Claim, IdempotentRequest};
use super::money::Money;
use super::period::Period;
use crate::args;
use crate::error::{Error, PaymentCode, Result};
use crate::store::Db;
use crate::store::tx::Tx;

/// `POST .../budget` body (also the `budget` of the one-call bootstrap).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetInput {
    #[schema(value_type = f64)]
    pub max_usd: Number,
    pub period: Period,
    pub auto_replenish: Option<bool>,
    #[schema(value_type = Option<f64>)]
    pub replenish_amount: Option<Number>,
    #[schema(value_type = Option<f64>)]
    pub low_balance_threshold: Option<Number>,
}

/// A validated budget configuration.
#[derive(Debug, Clone)]
pub struct BudgetConfig {
    pub max: Money,
    pub period: Period,
    pub auto_replenish: bool,
    pub replenish: Option<Money>,
    pub threshold: Option<Money>,
}

fn non_negative(field: &str, value: &Number) -> Result<Money> {
    let money = Money::from_usd_json(field, value)?;
    if money.is_negative() {
        return Err(Error::bad_request(format!("{field} must not be negative")));
    }
    Ok(money)
}

fn positive(field: &str, value: &Number) -> Result<Money> {
    let money = Money::from_usd_json(field, value)?;
    if money.micros() <= 0 {
        return Err(Error::bad_request(format!("{field} must be above 0")));
    }
    Ok(money)
}

impl BudgetConfig {
    pub fn parse(input: &BudgetInput) -> Result<Self> {
        let config = Self {
            max: non_negative("max_usd", &input.max_usd)?,
            period: input.period,
            auto_replenish: input.auto_replenish.unwrap_or(false),
            replenish: input
                .replenish_amount
                .as_ref()
                .map(|n| positive("replenish_amount", n))
                .transpose()?,
            threshold: input
                .low_balance_threshold
                .as_ref()
                .map(|n| non_negative("low_balance_threshold", n))
                .transpose()?,
        };
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<()> {
        if self.auto_replenish && self.replenish.is_none() {
            return Err(Error::bad_request(
                "auto_replenish needs a replenish_amount",
            ));
        }
        Ok(())
    }
}

/// `PATCH .../budget` body; absent fields stay, `null` clears the optional ones.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetPatch {
    #[schema(value_type = Option<f64>)]
    pub max_usd: Option<Number>,
    pub period: Option<Period>,
    pub auto_replenish: Option<bool>,
    #[serde(default, deserialize_with = "crate::domain::patch::double_option")]
    #[schema(value_type = Option<f64>)]
    pub replenish_amount: Option<Option<Number>>,
    #[serde(default, deserialize_with = "crate::domain::patch::double_option")]
    #[schema(value_type = Option<f64>)]
    pub low_balance_threshold: Option<Option<Number>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BudgetView {
    pub end_user_id: Uuid,
    pub max_usd: Money,
    pub balance_usd: Money,
    pub used_usd: Money,
    pub held_usd: Money,
    pub remaining_usd: Money,
    pub period: Period,
    pub period_start: DateTime<Utc>,
    pub resets_at: Option<DateTime<Utc>>,
    pub auto_replenish: bool,
    pub replenish_amount: Option<Money>,
    pub low_balance_threshold: Option<Money>,
    pub is_suspended: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&BudgetRow> for BudgetView {
    fn from(row: &BudgetRow) -> Self {
        let period = row.period();
        Self {
            end_user_id: row.end_user_id,
            max_usd: Money::from_micros(row.max_micros),
            balance_usd: Money::from_micros(row.balance_micros),
            used_usd: Money::from_micros(row.period_spent_micros),
            held_usd: Money::from_micros(row.held_micros),
            remaining_usd: Money::from_micros(row.available().max(0)),
            period,
            period_start: row.period_start(),
            resets_at: period.next_reset(row.period_start()),
            auto_replenish: row.auto_replenish,
            replenish_amount: row.replenish_micros.map(Money::from_micros),
            low_balance_threshold: row.low_balance_threshold_micros.map(Money::from_micros),
            is_suspended: row.is_suspended,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Who made a change, for the ledger's `actor`.
#[derive(Debug, Clone)]
pub struct Actor(pub String);

/// The end user's budget, locked and rolled into the current period.
async fn current(
    tx: &mut Tx,
    platform_id: Uuid,
    end_user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<BudgetRow> {
    crate::store::end_users::ensure_in(tx, platform_id, end_user_id).await?;
    let mut row = accounts::lock_budget(tx, end_user_id)
        .await?
        .ok_or_else(|| Error::not_found("this end user has no budget"))?;
    accounts::roll_period(tx, &mut row, now).await?;
    Ok(row)
}

/// Creates the budget inside `tx` (the allowance is posted as the opening entry).
/// Fails with 409 when the end user already has one.
pub async fn create_in(
    tx: &mut Tx,
    platform_id: Uuid,
    end_user_id: Uuid,
    config: &BudgetConfig,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<BudgetRow> {
    let sql = format!(
        "INSERT INTO budgets (end_user_id, platform_id, max_micros, balance_micros, held_micros, \
         period_spent_micros, period, period_start_ms, auto_replenish, replenish_micros, \
         low_balance_threshold_micros, low_balance_notified, is_suspended, created_at, updated_at) \
         VALUES ($1, $2, $3, 0, 0, 0, $4, $5, $6, $7, $8, FALSE, FALSE, $9, $9) \
         ON CONFLICT (end_user_id) DO NOTHING RETURNING {BUDGET_COLUMNS}"
    );
    let mut row: BudgetRow = tx
        .fetch_optional(
            &sql,
            &args![
                end_user_id,
                platform_id,
                config.max.micros(),
                config.period.as_str(),
                config.period.start_of(now).timestamp_millis(),
                config.auto_replenish,
                config.replenish.map(Money::micros),
                config.threshold.map(Money::micros),
                now
            ],
        )
        .await?
        .ok_or_else(|| Error::conflict("this end user already has a budget"))?;
    let entry = Entry {
        kind: "allowance",
        amount_micros: config.max.micros(),
        reason: Some("budget created".into()),
        actor: actor.0.clone(),
        ..Entry::default()
    };
    accounts::post_budget(tx, &mut row, entry, now).await?;
    accounts::after_decrease(tx, &mut row, now).await?;
    accounts::save_budget(tx, &mut row, now).await?;
    Ok(row)
}

pub async fn create(
    db: &Db,
    clock: &SharedClock,
    platform_id: Uuid,
    end_user_id: Uuid,
    input: &BudgetInput,
    actor: &Actor,
) -> Result<BudgetView> {
    let config = BudgetConfig::parse(input)?;
    let now = clock.now();
    let mut tx = db.begin().await?;
    crate::store::end_users::ensure_in(&mut tx, platform_id, end_user_id).await?;
    let row = create_in(&mut tx, platform_id, end_user_id, &config, actor, now).await?;
    tx.commit().await?;
    Ok((&row).into())
}

/// Reads the budget. A read writes nothing (no lock, no `updated_at`) unless a
/// period reset is due: then it starts the new period under lock, as a write would.
pub async fn get(
    db: &Db,
    clock: &SharedClock,
    platform_id: Uuid,
    end_user_id: Uuid,
) -> Result<BudgetView> {
    let now = clock.now();
    crate::store::end_users::ensure(db, platform_id, end_user_id).await?;
    let sql =
        format!("SELECT {BUDGET_COLUMNS} FROM budgets WHERE end_user_id = $1 AND platform_id = $2");
    let row: BudgetRow = db
        .fetch_optional(&sql, &args![end_user_id, platform_id])
        .await?
        .ok_or_else(|| Error::not_found("this end user has no budget"))?;
    if !row.period().has_rolled_over(row.period_start(), now) {
        return Ok((&row).into());
    }
    let mut tx = db.begin().await?;
    let mut row = accounts::lock_budget(&mut tx, end_user_id)
        .await?
        .filter(|b| b.platform_id == platform_id)
        .ok_or_else(|| Error::not_found("this end user has no budget"))?;
    let period_started = row.period_start_ms;
    accounts::roll_period(&mut tx, &mut row, now).await?;
    // Another request may have started the period meanwhile: then nothing to write.
    if row.period_start_ms != period_started {
        accounts::save_budget(&mut tx, &mut row, now).await?;
    }
    tx.commit().await?;
    Ok((&row).into())
}

pub async fn patch(
    db: &Db,
    clock: &SharedClock,
    platform_id: Uuid,
    end_user_id: Uuid,
    patch: &BudgetPatch,
    actor: &Actor,
) -> Result<BudgetView> {
    let max = patch
        .max_usd
        .as_ref()
        .map(|n| non_negative("max_usd", n))
        .transpose()?;
    let replenish = match &patch.replenish_amount {
        None => None,
        Some(None) => Some(None),
        Some(Some(n)) => Some(Some(positive("replenish_amount", n)?)),
    };
    let threshold = match &patch.low_balance_threshold {
        None => None,
        Some(None) => Some(None),
        Some(Some(n)) => Some(Some(non_negative("low_balance_threshold", n)?)),
    };
    let now = clock.now();
    let mut tx = db.begin().await?;
    let mut row = current(&mut tx, platform_id, end_user_id, now).await?;
    if let Some(replenish) = replenish {
        row.replenish_micros = replenish.map(Money::micros);
    }
    if let Some(threshold) = threshold {
        row.low_balance_threshold_micros = threshold.map(Money::micros);
    }
    if let Some(auto) = patch.auto_replenish {
        row.auto_replenish = auto;
    }
    if row.auto_replenish && row.replenish_micros.is_none() {
        return Err(Error::bad_request(
            "auto_replenish needs a replenish_amount",
        ));
    }
    if let Some(period) = patch.period
        && period != row.period()
    {
        row.period = period.as_str().to_owned();
        row.period_start_ms = period.start_of(now).timestamp_millis();
    }
    if let Some(max) = max {
        // A new allowance moves the balance by the difference: raising the limit
        // from 10 to 20 with 3 spent leaves 17.
        let delta = max.micros() - row.max_micros;
        row.max_micros = max.micros();
        if delta != 0 {
            let entry = Entry {
                kind: "allowance_change",
                amount_micros: delta,
                reason: Some(format!("max_usd set to {}", max.to_usd())),
                actor: actor.0.clone(),
                ..Entry::default()
            };
            accounts::post_budget(&mut tx, &mut row, entry, now).await?;
        }
    }
    accounts::after_increase(&mut row);
    accounts::after_decrease(&mut tx, &mut row, now).await?;
    accounts::save_budget(&mut tx, &mut row, now).await?;
    tx.commit().await?;
    Ok((&row).into())
}

pub async fn delete(db: &Db, platform_id: Uuid, end_user_id: Uuid) -> Result<()> {
    let mut tx = db.begin().await?;
    crate::store::end_users::ensure_in(&mut tx, platform_id, end_user_id).await?;
    let row = accounts::lock_budget(&mut tx, end_user_id)
        .await?
        .ok_or_else(|| Error::not_found("this end user has no budget"))?;
    if row.held_micros > 0 {
        return Err(Error::conflict(
            "the budget has money held by operations in progress",
        ));
    }
    tx.execute(
        "DELETE FROM budgets WHERE end_user_id = $1",
        &args![end_user_id],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// `{amount_usd, reason}` of topup and debit.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmountInput {
    #[schema(value_type = f64)]
    pub amount_usd: Number,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Movement {
    Topup,
    Debit,
}

/// Topup or manual debit, idempotent when `idempotency` is given. Returns the
/// HTTP status and body to answer (the stored ones on replay) and whether it was
/// a replay.
#[allow(clippy::too_many_arguments)]
pub async fn move_money(
    db: &Db,
    clock: &SharedClock,
    platform_id: Uuid,
    end_user_id: Uuid,
    movement: Movement,
    input: &AmountInput,
    actor: &Actor,
    idempotency: Option<&IdempotentRequest>,
) -> Result<(u16, Value, bool)> {
    let amount = positive("amount_usd", &input.amount_usd)?;
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
    let operation = match movement {
        Movement::Topup => "topup",
        Movement::Debit => "debit",
    };
    let scope = idempotency::end_user_scope(platform_id, end_user_id, operation);
    if let Some(request) = idempotency
        && let Claim::Replay { status, body } =
            idempotency::claim(&mut tx, &scope, request, now).await?
    {
        return Ok((status, body, true));
    }
    let mut row = current(&mut tx, platform_id, end_user_id, now).await?;
    let (kind, signed) = match movement {
        Movement::Topup => ("topup", amount.micros()),
        Movement::Debit => {
            if row.available() < amount.micros() {
                return Err(Error::payment_required(
                    PaymentCode::BudgetExhausted,
                    "the debit exceeds what the budget has available",
                ));
            }
            ("debit", -amount.micros())
        }
    };
    let entry = Entry {
        kind,
        amount_micros: signed,
        reason: reason.clone(),
        actor: actor.0.clone(),
        idempotency_key: idempotency.map(|r| r.key.clone()),
        ..Entry::default()
    };
    accounts::post_budget(&mut tx, &mut row, entry, now).await?;
    match movement {
        Movement::Topup => {
            accounts::topped_up_event(&mut tx, &row, amount.micros(), now).await?;
            accounts::after_increase(&mut row);
        }
        Movement::Debit => {
            accounts::debited_event(&mut tx, &row, amount.micros(), "debit", now).await?;
            accounts::after_decrease(&mut tx, &mut row, now).await?;
        }
    }
    accounts::save_budget(&mut tx, &mut row, now).await?;
    let body = json!({"data": BudgetView::from(&row)});
    if let Some(request) = idempotency {
        idempotency::complete(&mut tx, &scope, request, 200, &body).await?;
    }
    tx.commit().await?;
    Ok((200, body, false))
}

pub async fn set_suspended(
    db: &Db,
    clock: &SharedClock,
    platform_id: Uuid,
    end_user_id: Uuid,
    suspended: bool,
    actor: &Actor,
) -> Result<BudgetView> {
    let now = clock.now();
    let mut tx = db.begin().await?;
    let mut row = current(&mut tx, platform_id, end_user_id, now).await?;
    if row.is_suspended != suspended {
        row.is_suspended = suspended;
        let (kind, event) = if suspended {
            ("suspend", events::BUDGET_SUSPENDED)
        } else {
            ("unsuspend", events::BUDGET_UNSUSPENDED)
        };
        let entry = Entry {
            kind,
            actor: actor.0.clone(),
            ..Entry::default()
        };
        accounts::post_budget(&mut tx, &mut row, entry, now).await?;
        events::record(
            &mut tx,
            platform_id,
            event,
            json!({"end_user_id": end_user_id, "balance_usd": Money::from_micros(row.balance_micros)}),
            now,
        )
        .await?;
    }
    accounts::save_budget(&mut tx, &mut row, now).await?;
    tx.commit().await?;
    Ok((&row).into())
}
