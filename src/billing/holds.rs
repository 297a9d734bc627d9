//! Holds: the one mechanism every paid operation uses. `reserve` checks
//! suspension, the budget and the platform wallet together and reserves on both
//! in one transaction; `settle` charges (at most what is available; a shortfall is
//! recorded) and `release` returns the reservation. Holds expire, and the sweeper
//! releases expired ones, so a crash mid-operation never strands money.

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::accounts::{self, Entry};
use super::clock::SharedClock;
use super::idempotency;
use super::money::Money;
use super::period::Period;
use crate::args;
use crate::error::{Error, PaymentCode};
use crate::store::tx::Tx;
use crate::store::{Db, batch};

/// A reservation that must be settled or released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub id: Uuid,
    pub platform_id: Uuid,
    pub end_user_id: Uuid,
    pub amount: Money,
}

/// How a hold ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settlement {
    pub charged: Money,
    /// What could not be charged because the budget or wallet ran short.
    pub shortfall: Money,
}

#[derive(Debug, sqlx::FromRow)]
struct HoldRow {
    id: Uuid,
    platform_id: Uuid,
    end_user_id: Uuid,
    amount_micros: i64,
    purpose: String,
    /// The key of the request settling it, for its ledger row.
    #[sqlx(skip)]
    idempotency_key: Option<String>,
}

/// Reserves `amount` for `purpose` on the end user's budget and its platform's
/// wallet, or refuses with the precise 402 code and changes nothing.
pub async fn reserve(
    db: &Db,
    clock: &SharedClock,
    platform_id: Uuid,
    end_user_id: Uuid,
    amount: Money,
    purpose: &str,
    ttl: Duration,
) -> Result<Hold, Error> {
    if amount.is_negative() {
        return Err(Error::bad_request("a hold cannot be negative"));
    }
    let now = clock.now();
    let hold = Hold {
        id: Uuid::now_v7(),
        platform_id,
        end_user_id,
        amount,
    };
    let purpose = purpose.to_owned();
    let expires = expires_at(now, ttl);
    db.transact(batch::op(move |tx| {
        let (hold, purpose) = (hold.clone(), purpose.clone());
        Box::pin(async move { reserve_in(tx, hold, &purpose, now, expires).await })
    }))
    .await?
}

/// The budget's share of a hold when its budget is active, in its current period
/// and covers it (anything else takes the careful path). Binds: see [`reserve_in`].
const RESERVE_ON_BUDGET: &str = "UPDATE budgets SET held_micros = held_micros + $3, updated_at = $4 \
     WHERE end_user_id = $1 AND platform_id = $2 AND NOT is_suspended \
     AND balance_micros - held_micros >= $3 \
     AND (period = 'one_time' OR (period = 'daily' AND period_start_ms >= $5) \
          OR (period = 'monthly' AND period_start_ms >= $6))";
const RESERVE_ON_WALLET: &str = "UPDATE wallets SET held_micros = held_micros + $3, updated_at = $4 \
     WHERE platform_id = $2 AND (NOT metered OR balance_micros - held_micros >= $3)";
const INSERT_HOLD: &str = "INSERT INTO holds (id, platform_id, end_user_id, amount_micros, purpose, \
     created_at_ms, expires_at_ms) VALUES ($7, $2, $1, $3, $8, $9, $10)";
const UNDO_BUDGET: &str =
    "UPDATE budgets SET held_micros = held_micros - $3 WHERE end_user_id = $1";
const UNDO_WALLET: &str =
    "UPDATE wallets SET held_micros = held_micros - $3 WHERE platform_id = $2";
const UNDO_HOLD: &str = "DELETE FROM holds WHERE id = $7";

/// [`reserve`] inside a caller's transaction (to commit it with related rows):
/// the hold as given, or the refusal (with nothing of the hold left in `tx`).
pub(crate) async fn reserve_in(
    tx: &mut Tx,
    hold: Hold,
    purpose: &str,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> Result<Result<Hold, Error>, sqlx::Error> {
    let args = args![
        hold.end_user_id,
        hold.platform_id,
        hold.amount.micros(),
        now,
        Period::Daily.start_of(now).timestamp_millis(),
        Period::Monthly.start_of(now).timestamp_millis(),
        hold.id,
        purpose,
        now.timestamp_millis(),
        expires.timestamp_millis()
    ];
    // The common case in one round trip (on SQLite): budget, hold row, wallet
    // (last, so PostgreSQL locks the shared wallet row for the shortest time, and
    // never before the budget row). What did not fit is undone below, in this
    // same transaction.
    let reserved = tx
        .execute_each(&[RESERVE_ON_BUDGET, INSERT_HOLD, RESERVE_ON_WALLET], &args)
        .await?;
    let (on_budget, on_wallet) = (reserved[0] == 1, reserved[2] == 1);
    if on_budget && on_wallet {
        return Ok(Ok(hold));
    }
    // Each undo changes exactly the one row its step changed.
    let undo: Vec<&str> = [
        (reserved[1] == 1, UNDO_HOLD),
        (on_budget, UNDO_BUDGET),
        (on_wallet, UNDO_WALLET),
    ]
    .into_iter()
    .filter_map(|(done, undo)| done.then_some(undo))
    .collect();
    if !undo.is_empty() {
        tx.execute_each(&undo, &args).await?;
    }
    if on_budget {
        return Ok(Err(wallet_insufficient()));
    }
    if let Err(refusal) = reserve_on_locked_budget(tx, &hold, now).await? {
        return Ok(Err(refusal));
    }
    let reserved = tx
        .execute_each(&[INSERT_HOLD, RESERVE_ON_WALLET], &args)
        .await?;
    if reserved[1] == 0 {
        // The refusal commits nothing of this hold.
        tx.execute_each(&[UNDO_HOLD, UNDO_BUDGET], &args).await?;
        return Ok(Err(wallet_insufficient()));
    }
    Ok(Ok(hold))
}

fn wallet_insufficient() -> Error {
    Error::payment_required(
        PaymentCode::WalletInsufficient,
        "the platform wallet has insufficient funds",
    )
}

/// The careful path: lock the budget, start a new period if one began, then
/// reserve or name exactly why not. A new period is kept even when refused.
async fn reserve_on_locked_budget(
    tx: &mut Tx,
    hold: &Hold,
    now: DateTime<Utc>,
) -> Result<Result<(), Error>, sqlx::Error> {
    let Some(mut budget) = accounts::lock_budget(tx, hold.end_user_id)
        .await?
        .filter(|b| b.platform_id == hold.platform_id)
    else {
        return Ok(Err(Error::payment_required(
            PaymentCode::NoBudget,
            "this end user has no budget",
        )));
    };
    let period_started = budget.period_start_ms;
    accounts::roll_period(tx, &mut budget, now).await?;
    let refusal = if budget.is_suspended {
        Some(Error::payment_required(
            PaymentCode::BudgetSuspended,
            "this end user's budget is suspended",
        ))
    } else if budget.available() < hold.amount.micros() {
        Some(Error::payment_required(
            PaymentCode::BudgetExhausted,
            format!(
                "budget exhausted: {} USD needed, {} USD available",
                hold.amount.to_usd(),
                Money::from_micros(budget.available().max(0)).to_usd()
            ),
        ))
    } else {
        None
    };
    if let Some(refusal) = refusal {
        if budget.period_start_ms != period_started {
            accounts::save_budget(tx, &mut budget, now).await?;
        }
        return Ok(Err(refusal));
    }
    budget.held_micros += hold.amount.micros();
    accounts::save_budget(tx, &mut budget, now).await?;
    Ok(Ok(()))
}

/// Takes the hold row out, or `None` when it was already settled, released or swept.
async fn take_hold(tx: &mut Tx, id: Uuid) -> Result<Option<HoldRow>, sqlx::Error> {
    tx.fetch_optional(
        "DELETE FROM holds WHERE id = $1 RETURNING id, platform_id, end_user_id, amount_micros, purpose",
        &args![id],
    )
    .await
}

/// Charges `actual` against the hold. Above the reservation, it charges up to what
/// the budget (and a metered wallet) can still cover and records the shortfall.
pub async fn settle(
    db: &Db,
    clock: &SharedClock,
    hold: &Hold,
    actual: Money,
) -> Result<Settlement, Error> {
    if actual.is_negative() {
        return Err(Error::bad_request("a charge cannot be negative"));
    }
    let now = clock.now();
    let hold = hold.clone();
    db.transact(batch::op(move |tx| {
        let hold = hold.clone();
        Box::pin(async move { settle_in(tx, &hold, actual, None, now).await })
    }))
    .await?
}

/// [`settle`] inside a caller's transaction (to commit it with related rows);
/// `idempotency_key` is the settling request's, for the spend's ledger row.
pub(crate) async fn settle_in(
    tx: &mut Tx,
    hold: &Hold,
    actual: Money,
    idempotency_key: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Result<Settlement, Error>, sqlx::Error> {
    let key = idempotency_key.map(str::to_owned);
    let row = if tx.single_writer() && actual <= hold.amount {
        match settle_within_hold_at_once(tx, hold, actual, key.clone(), now).await? {
            Fused::Settled(settlement) => return Ok(Ok(settlement)),
            Fused::Taken(row) => Some(row),
            Fused::Gone => None,
        }
    } else {
        take_hold(tx, hold.id).await?
    };
    let Some(mut row) = row else {
        return Ok(Err(Error::conflict(
            "this hold was already settled, released or expired",
        )));
    };
    row.idempotency_key = key;
    settle_taken(tx, &row, actual, now).await.map(Ok)
}

/// Settles a hold already taken out of `holds`.
async fn settle_taken(
    tx: &mut Tx,
    row: &HoldRow,
    actual: Money,
    now: DateTime<Utc>,
) -> Result<Settlement, sqlx::Error> {
    let above_hold = actual.micros() > row.amount_micros;
    // Within the reservation the wallet was already checked at reserve time; only
    // a charge above it needs the wallet's current availability first.
    let wallet_cap = if above_hold {
        let wallet = accounts::lock_wallet(tx, row.platform_id).await?;
        wallet
            .metered
            .then(|| (wallet.available() + row.amount_micros).max(0))
    } else {
        None
    };
    let (charged, related) = if above_hold {
        settle_budget_carefully(tx, row, actual, wallet_cap, now).await?
    } else {
        settle_budget_within_hold(tx, row, actual, now).await?
    };
    let wallet =
        accounts::apply_to_wallet(tx, row.platform_id, -row.amount_micros, -charged, now).await?;
    settle_wallet(tx, row, wallet, charged, related, now).await?;
    Ok(Settlement {
        charged: Money::from_micros(charged),
        shortfall: Money::from_micros(actual.micros() - charged),
    })
}

/// The wallet's side of a settlement already applied to `wallet`: its ledger row
/// and low-balance check.
async fn settle_wallet(
    tx: &mut Tx,
    row: &HoldRow,
    mut wallet: accounts::WalletRow,
    charged: i64,
    related: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if charged > 0 {
        let entry = Entry {
            kind: "spend",
            amount_micros: -charged,
            reason: Some(row.purpose.clone()),
            actor: format!("end_user:{}", row.end_user_id),
            related_id: related,
            ..Entry::default()
        };
        accounts::ledger_wallet(tx, &wallet, entry, now).await?;
    }
    accounts::wallet_after_change_saving(tx, &mut wallet, now).await
}

/// What [`settle_within_hold_at_once`] did.
enum Fused {
    Settled(Settlement),
    /// The hold was taken but the budget no longer covers the charge (or is gone):
    /// nothing else changed, the careful path goes on from here.
    Taken(HoldRow),
    /// No such hold (settled, released or swept).
    Gone,
}

/// Binds: $1 end user, $2 held amount, $3 charge, $4 now (as
/// [`accounts::charge_within_hold_sql`]), $5 hold id, $6 platform.
const HOLD_IS_THERE: &str = " AND EXISTS (SELECT 1 FROM holds WHERE id = $5 \
     AND platform_id = $6 AND end_user_id = $1 AND amount_micros = $2)";

/// The common settlement, a charge within the reservation, in one round trip on a
/// single-writer database: the budget and the wallet are charged while the hold is
/// still there, then the hold is taken. Only exact with one writer (nothing can
/// take the hold between the statements); what did not apply is undone by what
/// the statements answered.
async fn settle_within_hold_at_once(
    tx: &mut Tx,
    hold: &Hold,
    actual: Money,
    idempotency_key: Option<String>,
    now: DateTime<Utc>,
) -> Result<Fused, sqlx::Error> {
    use accounts::{BudgetRow, WALLET_COLUMNS, WalletRow};
    let on_budget = accounts::charge_within_hold_sql(HOLD_IS_THERE);
    let on_wallet = format!(
        "UPDATE wallets SET held_micros = held_micros - $2, balance_micros = balance_micros - $3, \
         updated_at = $4 WHERE platform_id = $6{HOLD_IS_THERE} RETURNING {WALLET_COLUMNS}"
    );
    let take = "DELETE FROM holds WHERE id = $5 \
                RETURNING id, platform_id, end_user_id, amount_micros, purpose";
    let args = args![
        hold.end_user_id,
        hold.amount.micros(),
        actual.micros(),
        now,
        hold.id,
        hold.platform_id
    ];
    let answers = tx
        .fetch_each(&[&on_budget, &on_wallet, take], &args)
        .await?;
    let [budget, wallet, taken] = answers.as_slice() else {
        return Err(sqlx::Error::Protocol(
            "settle answered the wrong results".into(),
        ));
    };
    let (budget, wallet, taken) = (
        budget.first::<BudgetRow>()?,
        wallet.first::<WalletRow>()?,
        taken.first::<HoldRow>()?,
    );
    let taken = taken.map(|row| HoldRow {
        idempotency_key,
        ..row
    });
    match (taken, budget, wallet) {
        (Some(row), Some(mut budget), Some(wallet)) => {
            let charged = actual.micros();
            let related = finish_budget_within_hold(tx, &row, &mut budget, actual, now).await?;
            settle_wallet(tx, &row, wallet, charged, Some(related), now).await?;
            Ok(Fused::Settled(Settlement {
                charged: actual,
                shortfall: Money::ZERO,
            }))
        }
        (taken, budget, wallet) => {
            // Each undo reverses exactly the one row its statement changed.
            let undo: Vec<&str> = [
                (
                    budget.is_some(),
                    "UPDATE budgets SET held_micros = held_micros + $2, \
                     balance_micros = balance_micros + $3, \
                     period_spent_micros = period_spent_micros - $3 WHERE end_user_id = $1",
                ),
                (
                    wallet.is_some(),
                    "UPDATE wallets SET held_micros = held_micros + $2, \
                     balance_micros = balance_micros + $3 WHERE platform_id = $6",
                ),
            ]
            .into_iter()
            .filter_map(|(done, undo)| done.then_some(undo))
            .collect();
            if !undo.is_empty() {
                tx.execute_each(&undo, &args).await?;
            }
            Ok(taken.map_or(Fused::Gone, Fused::Taken))
        }
    }
}

fn spend_entry(row: &HoldRow, charged: i64, actual: Money) -> Entry {
    Entry {
        kind: "spend",
        amount_micros: -charged,
        reason: Some(row.purpose.clone()),
        actor: "system".into(),
        related_id: Some(related_id(row)),
        shortfall_micros: actual.micros() - charged,
        idempotency_key: row.idempotency_key.clone(),
    }
}

fn related_id(row: &HoldRow) -> String {
    format!("{}:{}", row.purpose, row.id)
}

/// The common case, a charge within the reservation: the budget is charged in one
/// conditional statement, and written again only when the charge crossed the
/// low-balance threshold or triggered a replenish. A budget that no longer covers
/// it (its allowance was cut meanwhile) or is gone takes the careful path.
async fn settle_budget_within_hold(
    tx: &mut Tx,
    row: &HoldRow,
    actual: Money,
    now: DateTime<Utc>,
) -> Result<(i64, Option<String>), sqlx::Error> {
    let Some(mut budget) =
        accounts::charge_within_hold(tx, row.end_user_id, row.amount_micros, actual.micros(), now)
            .await?
    else {
        return settle_budget_carefully(tx, row, actual, None, now).await;
    };
    let related = finish_budget_within_hold(tx, row, &mut budget, actual, now).await?;
    Ok((actual.micros(), Some(related)))
}

/// The budget's side of a charge within the reservation, already applied to
/// `budget`: its ledger row and event, then the low-balance check and replenish
/// (written again only when they changed it).
async fn finish_budget_within_hold(
    tx: &mut Tx,
    row: &HoldRow,
    budget: &mut accounts::BudgetRow,
    actual: Money,
    now: DateTime<Utc>,
) -> Result<String, sqlx::Error> {
    let charged = actual.micros();
    if charged > 0 {
        accounts::ledger_budget(tx, budget, spend_entry(row, charged, actual), now).await?;
        accounts::debited_event(tx, budget, charged, "spend", now).await?;
    }
    let (balance, notified) = (budget.balance_micros, budget.low_balance_notified);
    accounts::after_decrease(tx, budget, now).await?;
    if budget.balance_micros != balance || budget.low_balance_notified != notified {
        accounts::save_budget(tx, budget, now).await?;
    }
    Ok(related_id(row))
}

/// Under lock: charged up to what the budget (and, above the reservation, a
/// metered wallet) can still cover, the rest recorded as shortfall.
async fn settle_budget_carefully(
    tx: &mut Tx,
    row: &HoldRow,
    actual: Money,
    wallet_cap: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(i64, Option<String>), sqlx::Error> {
    let budget = accounts::lock_budget(tx, row.end_user_id).await?;
    Ok(match budget {
        None => (0, None), // the end user was deleted mid-operation: nothing to charge
        Some(mut budget) => {
            budget.held_micros -= row.amount_micros;
            // The hold's own amount is back in `available`, so up to the
            // reservation is always coverable; only more can fall short.
            let mut coverable = budget.available().max(0);
            if let Some(cap) = wallet_cap {
                coverable = coverable.min(cap);
            }
            let charged = actual.micros().min(coverable);
            if charged > 0 || actual.micros() > 0 {
                accounts::post_budget(tx, &mut budget, spend_entry(row, charged, actual), now)
                    .await?;
                budget.period_spent_micros += charged;
                accounts::debited_event(tx, &budget, charged, "spend", now).await?;
            }
            accounts::after_decrease(tx, &mut budget, now).await?;
            accounts::save_budget(tx, &mut budget, now).await?;
            (charged, Some(related_id(row)))
        }
    })
}

/// Returns the reservation untouched. Releasing a hold that is already gone is a no-op.
pub async fn release(db: &Db, clock: &SharedClock, hold_id: Uuid) -> Result<bool, Error> {
    let now = clock.now();
    Ok(db
        .transact(batch::op(move |tx| {
            Box::pin(async move { release_in(tx, hold_id, now).await })
        }))
        .await?)
}

/// [`release`] inside a caller's transaction.
pub(crate) async fn release_in(
    tx: &mut Tx,
    hold_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let Some(row) = take_hold(tx, hold_id).await? else {
        return Ok(false);
    };
    if let Some(mut budget) = accounts::lock_budget(tx, row.end_user_id).await? {
        budget.held_micros -= row.amount_micros;
        accounts::after_increase(&mut budget);
        accounts::save_budget(tx, &mut budget, now).await?;
    }
    let mut wallet =
        accounts::apply_to_wallet(tx, row.platform_id, -row.amount_micros, 0, now).await?;
    accounts::wallet_after_change_saving(tx, &mut wallet, now).await?;
    Ok(true)
}

/// Releases every hold that expired by now; how many. An expired hold's work
/// died, so an `Idempotency-Key` claimed with it resolves to the answer written
/// for that case, in the same transaction.
pub async fn sweep_expired(db: &Db, clock: &SharedClock) -> Result<usize, Error> {
    let now = clock.now();
    let expired: Vec<(Uuid,)> = db
        .fetch_all(
            "SELECT id FROM holds WHERE expires_at_ms <= $1 ORDER BY expires_at_ms LIMIT 1000",
            &args![now.timestamp_millis()],
        )
        .await?;
    let mut released = 0;
    for (id,) in expired {
        let swept = db
            .transact(batch::op(move |tx| {
                Box::pin(async move {
                    let released = release_in(tx, id, now).await?;
                    if released {
                        idempotency::resolve_for_swept_hold(tx, id).await?;
                    }
                    Ok(released)
                })
            }))
            .await?;
        if swept {
            released += 1;
        }
    }
    if released > 0 {
        tracing::warn!(released, "released expired holds");
    }
    Ok(released)
}

/// One sweep for the background runner: expired holds released, failures logged.
pub async fn sweep(db: &Db, clock: &SharedClock) {
    if let Err(err) = sweep_expired(db, clock).await {
        tracing::warn!(error = %err, "hold sweep failed");
    }
}

/// Holds not yet settled or released (each is deleted when it ends).
pub async fn count_open(db: &Db) -> Result<i64, Error> {
    let row: Option<(i64,)> = db
        .fetch_optional("SELECT count(*) FROM holds", &args![])
        .await?;
    Ok(row.map_or(0, |(n,)| n))
}

/// When a hold taken now with `ttl` expires (for callers that report it).
pub fn expires_at(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(15))
}
