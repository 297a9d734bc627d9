//! Budgets and wallets inside a transaction: lock the row, change it in memory,
//! post ledger rows and outbox events, write it back. Every balance change goes
//! through `post_*`, so the ledger always sums to the balance.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::events;
use super::money::Money;
use super::period::Period;
use crate::args;
use crate::store::tx::Tx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BudgetRow {
    pub end_user_id: Uuid,
    pub platform_id: Uuid,
    pub max_micros: i64,
    pub balance_micros: i64,
    pub held_micros: i64,
    pub period_spent_micros: i64,
    pub period: String,
    pub period_start_ms: i64,
    pub auto_replenish: bool,
    pub replenish_micros: Option<i64>,
    pub low_balance_threshold_micros: Option<i64>,
    pub low_balance_notified: bool,
    pub is_suspended: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub const BUDGET_COLUMNS: &str = "end_user_id, platform_id, max_micros, balance_micros, held_micros, \
    period_spent_micros, period, period_start_ms, auto_replenish, replenish_micros, \
    low_balance_threshold_micros, low_balance_notified, is_suspended, created_at, updated_at";

impl BudgetRow {
    pub fn period(&self) -> Period {
        Period::parse(&self.period).unwrap_or(Period::OneTime)
    }

    pub fn available(&self) -> i64 {
        self.balance_micros - self.held_micros
    }

    pub fn period_start(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.period_start_ms).unwrap_or_default()
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WalletRow {
    pub platform_id: Uuid,
    pub metered: bool,
    pub balance_micros: i64,
    pub held_micros: i64,
    pub low_balance_threshold_micros: Option<i64>,
    pub low_balance_notified: bool,
    pub updated_at: DateTime<Utc>,
}

pub const WALLET_COLUMNS: &str = "platform_id, metered, balance_micros, held_micros, \
    low_balance_threshold_micros, low_balance_notified, updated_at";

impl WalletRow {
    pub fn available(&self) -> i64 {
        self.balance_micros - self.held_micros
    }
}

/// One ledger entry to post.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub kind: &'static str,
    /// Signed: credits positive, debits negative.
    pub amount_micros: i64,
    pub reason: Option<String>,
    pub actor: String,
    pub idempotency_key: Option<String>,
    pub related_id: Option<String>,
    pub shortfall_micros: i64,
}

pub async fn lock_budget(tx: &mut Tx, end_user_id: Uuid) -> Result<Option<BudgetRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {BUDGET_COLUMNS} FROM budgets WHERE end_user_id = $1{}",
        tx.for_update()
    );
    tx.fetch_optional(&sql, &args![end_user_id]).await
}

/// Releases `held` and charges `charged` in one statement when the budget covers
/// the charge, returning the row as written (`None`: no budget, or not coverable):
/// the settle path's common case, without a separate read under lock.
pub async fn charge_within_hold(
    tx: &mut Tx,
    end_user_id: Uuid,
    held: i64,
    charged: i64,
    now: DateTime<Utc>,
) -> Result<Option<BudgetRow>, sqlx::Error> {
    tx.fetch_optional(
        &charge_within_hold_sql(""),
        &args![end_user_id, held, charged, now],
    )
    .await
}

/// The statement of [`charge_within_hold`], with `also` (` AND ...`) as a further
/// condition. Binds: $1 end user, $2 held, $3 charged, $4 now.
pub fn charge_within_hold_sql(also: &str) -> String {
    format!(
        "UPDATE budgets SET held_micros = held_micros - $2, balance_micros = balance_micros - $3, \
         period_spent_micros = period_spent_micros + $3, updated_at = $4 \
         WHERE end_user_id = $1 AND balance_micros - (held_micros - $2) >= $3{also} \
         RETURNING {BUDGET_COLUMNS}"
    )
}

pub async fn save_budget(
    tx: &mut Tx,
    row: &mut BudgetRow,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    row.updated_at = now;
    tx.execute(
        "UPDATE budgets SET max_micros = $2, balance_micros = $3, held_micros = $4, \
         period_spent_micros = $5, period = $6, period_start_ms = $7, auto_replenish = $8, \
         replenish_micros = $9, low_balance_threshold_micros = $10, low_balance_notified = $11, \
         is_suspended = $12, updated_at = $13 WHERE end_user_id = $1",
        &args![
            row.end_user_id,
            row.max_micros,
            row.balance_micros,
            row.held_micros,
            row.period_spent_micros,
            row.period.clone(),
            row.period_start_ms,
            row.auto_replenish,
            row.replenish_micros,
            row.low_balance_threshold_micros,
            row.low_balance_notified,
            row.is_suspended,
            now
        ],
    )
    .await
    .map(|_| ())
}

/// Applies `entry` to the balance and writes its ledger row.
pub async fn post_budget(
    tx: &mut Tx,
    row: &mut BudgetRow,
    entry: Entry,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    row.balance_micros += entry.amount_micros;
    ledger_budget(tx, row, entry, now).await
}

/// Writes the ledger row of a change already applied to `row`.
pub async fn ledger_budget(
    tx: &mut Tx,
    row: &BudgetRow,
    entry: Entry,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    tx.defer(
        "INSERT INTO budget_ledger (id, platform_id, end_user_id, kind, amount_micros, \
         balance_after_micros, reason, actor, idempotency_key, related_id, shortfall_micros, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &args![
            Uuid::now_v7(),
            row.platform_id,
            row.end_user_id,
            entry.kind,
            entry.amount_micros,
            row.balance_micros,
            entry.reason,
            entry.actor,
            entry.idempotency_key,
            entry.related_id,
            entry.shortfall_micros,
            now
        ],
    )
    .await
}

/// Starts a new period when the current one has ended: the balance is reset to
/// the period allowance (`max`), posted as a `period_reset` entry.
pub async fn roll_period(
    tx: &mut Tx,
    row: &mut BudgetRow,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let period = row.period();
    if !period.has_rolled_over(row.period_start(), now) {
        return Ok(());
    }
    row.period_start_ms = period.start_of(now).timestamp_millis();
    row.period_spent_micros = 0;
    let entry = Entry {
        kind: "period_reset",
        amount_micros: row.max_micros - row.balance_micros,
        reason: Some(format!("{} period started", period.as_str())),
        actor: "system".into(),
        ..Entry::default()
    };
    post_budget(tx, row, entry, now).await?;
    rearm_low_balance(row);
    Ok(())
}

fn rearm_low_balance(row: &mut BudgetRow) {
    if row
        .low_balance_threshold_micros
        .is_none_or(|t| row.available() >= t)
    {
        row.low_balance_notified = false;
    }
}

/// After the available amount went down: a `budget.low_balance` event once per
/// crossing of the threshold, then auto-replenish (when on) if still below it
/// (below zero-or-less when no threshold is set).
pub async fn after_decrease(
    tx: &mut Tx,
    row: &mut BudgetRow,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if let Some(threshold) = row.low_balance_threshold_micros
        && row.available() < threshold
        && !row.low_balance_notified
    {
        row.low_balance_notified = true;
        events::record(
            tx,
            row.platform_id,
            events::BUDGET_LOW_BALANCE,
            json!({
                "end_user_id": row.end_user_id,
                "balance_usd": Money::from_micros(row.balance_micros),
                "remaining_usd": Money::from_micros(row.available()),
                "threshold_usd": Money::from_micros(threshold),
            }),
            now,
        )
        .await?;
    }
    let trigger = row.low_balance_threshold_micros.unwrap_or(1);
    if row.auto_replenish
        && let Some(amount) = row.replenish_micros.filter(|a| *a > 0)
        && row.available() < trigger
    {
        let entry = Entry {
            kind: "auto_replenish",
            amount_micros: amount,
            reason: Some("auto_replenish".into()),
            actor: "system".into(),
            ..Entry::default()
        };
        post_budget(tx, row, entry, now).await?;
        topped_up_event(tx, row, amount, now).await?;
        rearm_low_balance(row);
    }
    Ok(())
}

/// After the available amount went up (topup, unsuspend, allowance raised).
pub fn after_increase(row: &mut BudgetRow) {
    rearm_low_balance(row);
}

pub async fn topped_up_event(
    tx: &mut Tx,
    row: &BudgetRow,
    amount: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    events::record(
        tx,
        row.platform_id,
        events::BUDGET_TOPPED_UP,
        json!({
            "end_user_id": row.end_user_id,
            "amount_usd": Money::from_micros(amount),
            "balance_usd": Money::from_micros(row.balance_micros),
        }),
        now,
    )
    .await
}

pub async fn debited_event(
    tx: &mut Tx,
    row: &BudgetRow,
    amount: i64,
    kind: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    events::record(
        tx,
        row.platform_id,
        events::BUDGET_DEBITED,
        json!({
            "end_user_id": row.end_user_id,
            "amount_usd": Money::from_micros(amount),
            "balance_usd": Money::from_micros(row.balance_micros),
            "kind": kind,
        }),
        now,
    )
    .await
}

/// Locks the platform's wallet (every platform has one, from its creation).
pub async fn lock_wallet(tx: &mut Tx, platform_id: Uuid) -> Result<WalletRow, sqlx::Error> {
    let sql = format!(
        "SELECT {WALLET_COLUMNS} FROM wallets WHERE platform_id = $1{}",
        tx.for_update()
    );
    tx.fetch_one(&sql, &args![platform_id]).await
}

pub async fn save_wallet(
    tx: &mut Tx,
    row: &mut WalletRow,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    row.updated_at = now;
    tx.execute(
        "UPDATE wallets SET metered = $2, balance_micros = $3, held_micros = $4, \
         low_balance_threshold_micros = $5, low_balance_notified = $6, updated_at = $7 \
         WHERE platform_id = $1",
        &args![
            row.platform_id,
            row.metered,
            row.balance_micros,
            row.held_micros,
            row.low_balance_threshold_micros,
            row.low_balance_notified,
            now
        ],
    )
    .await
    .map(|_| ())
}

/// Moves the wallet's held and balance amounts in one statement (no separate
/// lock: the row is locked only from here to commit) and returns the new row.
pub async fn apply_to_wallet(
    tx: &mut Tx,
    platform_id: Uuid,
    held_delta: i64,
    balance_delta: i64,
    now: DateTime<Utc>,
) -> Result<WalletRow, sqlx::Error> {
    let sql = format!(
        "UPDATE wallets SET held_micros = held_micros + $2, balance_micros = balance_micros + $3, \
         updated_at = $4 WHERE platform_id = $1 RETURNING {WALLET_COLUMNS}"
    );
    tx.fetch_one(&sql, &args![platform_id, held_delta, balance_delta, now])
        .await
}

pub async fn post_wallet(
    tx: &mut Tx,
    row: &mut WalletRow,
    entry: Entry,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    row.balance_micros += entry.amount_micros;
    ledger_wallet(tx, row, entry, now).await
}

/// Writes the ledger row of a change already applied to `row`.
pub async fn ledger_wallet(
    tx: &mut Tx,
    row: &WalletRow,
    entry: Entry,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    tx.defer(
        "INSERT INTO wallet_ledger (id, platform_id, kind, amount_micros, balance_after_micros, \
         reason, actor, idempotency_key, related_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &args![
            Uuid::now_v7(),
            row.platform_id,
            entry.kind,
            entry.amount_micros,
            row.balance_micros,
            entry.reason,
            entry.actor,
            entry.idempotency_key,
            entry.related_id,
            now
        ],
    )
    .await
}

/// [`wallet_after_change`] for a row written by [`apply_to_wallet`]: saves the
/// notification flag only when it changed.
pub async fn wallet_after_change_saving(
    tx: &mut Tx,
    row: &mut WalletRow,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let before = row.low_balance_notified;
    wallet_after_change(tx, row, now).await?;
    if row.low_balance_notified != before {
        tx.execute(
            "UPDATE wallets SET low_balance_notified = $2 WHERE platform_id = $1",
            &args![row.platform_id, row.low_balance_notified],
        )
        .await?;
    }
    Ok(())
}

/// `wallet.low_balance` once per crossing (metered wallets with a threshold only).
pub async fn wallet_after_change(
    tx: &mut Tx,
    row: &mut WalletRow,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let Some(threshold) = row.low_balance_threshold_micros.filter(|_| row.metered) else {
        row.low_balance_notified = false;
        return Ok(());
    };
    if row.available() >= threshold {
        row.low_balance_notified = false;
    } else if !row.low_balance_notified {
        row.low_balance_notified = true;
        events::record(
            tx,
            row.platform_id,
            events::WALLET_LOW_BALANCE,
            json!({
                "balance_usd": Money::from_micros(row.balance_micros),
                "available_usd": Money::from_micros(row.available()),
                "threshold_usd": Money::from_micros(threshold),
            }),
            now,
        )
        .await?;
    }
    Ok(())
}
