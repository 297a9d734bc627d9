//! Holds: the one mechanism every paid operation uses. `reserve` checks
//! suspension, the budget and the platform wallet together and reserves on both
//! in one transaction; `settle` charges (at most what is available; a shortfall is
//! recorded) and `release` returns the reservation. Holds expire, and the sweeper
//! releases expired ones, so a crash mid-operation never strands money.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::accounts::{self, Entry};
use super::clock::SharedClock;
use super::money::Money;
use crate::args;
use crate::error::{ApiError, PaymentCode};
use crate::store::Db;
use crate::store::tx::Tx;

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
) -> Result<Hold, ApiError> {
    if amount.is_negative() {
        return Err(ApiError::bad_request("a hold cannot be negative"));
    }
    let now = clock.now();
    let mut tx = db.begin().await?;
    let mut budget = accounts::lock_budget(&mut tx, end_user_id)
        .await?
        .filter(|b| b.platform_id == platform_id)
        .ok_or_else(|| {
            ApiError::payment_required(PaymentCode::NoBudget, "this end user has no budget")
        })?;
    accounts::roll_period(&mut tx, &mut budget, now).await?;
    if budget.is_suspended {
        return Err(ApiError::payment_required(
            PaymentCode::BudgetSuspended,
            "this end user's budget is suspended",
        ));
    }
    if budget.available() < amount.micros() {
        return Err(ApiError::payment_required(
            PaymentCode::BudgetExhausted,
            format!(
                "budget exhausted: {} USD needed, {} USD available",
                amount.to_usd(),
                Money::from_micros(budget.available().max(0)).to_usd()
            ),
        ));
    }
    let mut wallet = accounts::lock_wallet(&mut tx, platform_id, now).await?;
    if wallet.metered && wallet.available() < amount.micros() {
        return Err(ApiError::payment_required(
            PaymentCode::WalletInsufficient,
            "the platform wallet has insufficient funds",
        ));
    }
    budget.held_micros += amount.micros();
    wallet.held_micros += amount.micros();
    accounts::save_budget(&mut tx, &mut budget, now).await?;
    accounts::save_wallet(&mut tx, &mut wallet, now).await?;
    let id = Uuid::now_v7();
    let expires = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(15));
    tx.execute(
        "INSERT INTO holds (id, platform_id, end_user_id, amount_micros, purpose, created_at_ms, expires_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &args![
            id,
            platform_id,
            end_user_id,
            amount.micros(),
            purpose,
            now.timestamp_millis(),
            expires.timestamp_millis()
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(Hold {
        id,
        platform_id,
        end_user_id,
        amount,
    })
}

/// Takes the hold row out, or `None` when it was already settled, released or swept.
async fn take_hold(tx: &mut Tx, id: Uuid) -> Result<Option<HoldRow>, sqlx::Error> {
    let sql = format!(
        "SELECT id, platform_id, end_user_id, amount_micros, purpose FROM holds WHERE id = $1{}",
        tx.for_update()
    );
    let Some(row) = tx.fetch_optional::<HoldRow>(&sql, &args![id]).await? else {
        return Ok(None);
    };
    tx.execute("DELETE FROM holds WHERE id = $1", &args![id])
        .await?;
    Ok(Some(row))
}

/// Charges `actual` against the hold. Above the reservation, it charges up to what
/// the budget (and a metered wallet) can still cover and records the shortfall.
pub async fn settle(
    db: &Db,
    clock: &SharedClock,
    hold: &Hold,
    actual: Money,
) -> Result<Settlement, ApiError> {
    if actual.is_negative() {
        return Err(ApiError::bad_request("a charge cannot be negative"));
    }
    let now = clock.now();
    let mut tx = db.begin().await?;
    let row = take_hold(&mut tx, hold.id)
        .await?
        .ok_or_else(|| ApiError::conflict("this hold was already settled, released or expired"))?;
    let mut wallet = accounts::lock_wallet(&mut tx, row.platform_id, now).await?;
    wallet.held_micros -= row.amount_micros;
    let budget = accounts::lock_budget(&mut tx, row.end_user_id).await?;
    let Some(mut budget) = budget else {
        // The end user was deleted mid-operation: nothing left to charge.
        accounts::save_wallet(&mut tx, &mut wallet, now).await?;
        tx.commit().await?;
        return Ok(Settlement {
            charged: Money::ZERO,
            shortfall: actual,
        });
    };
    budget.held_micros -= row.amount_micros;
    let mut coverable = budget.available().max(0);
    if wallet.metered {
        coverable = coverable.min(wallet.available().max(0));
    }
    // The hold's own amount is back in `available`, so up to the reservation is
    // always coverable; only the part above it can fall short.
    let charged = actual.micros().min(coverable);
    let shortfall = actual.micros() - charged;
    let related = Some(format!("{}:{}", row.purpose, row.id));
    if charged > 0 || shortfall > 0 {
        let entry = Entry {
            kind: "spend",
            amount_micros: -charged,
            reason: Some(row.purpose.clone()),
            actor: "system".into(),
            related_id: related.clone(),
            shortfall_micros: shortfall,
            ..Entry::default()
        };
        accounts::post_budget(&mut tx, &mut budget, entry, now).await?;
        budget.period_spent_micros += charged;
        let wallet_entry = Entry {
            kind: "spend",
            amount_micros: -charged,
            reason: Some(row.purpose.clone()),
            actor: format!("end_user:{}", row.end_user_id),
            related_id: related,
            ..Entry::default()
        };
        accounts::post_wallet(&mut tx, &mut wallet, wallet_entry, now).await?;
        accounts::debited_event(&mut tx, &budget, charged, "spend", now).await?;
    }
    accounts::after_decrease(&mut tx, &mut budget, now).await?;
    accounts::wallet_after_change(&mut tx, &mut wallet, now).await?;
    accounts::save_budget(&mut tx, &mut budget, now).await?;
    accounts::save_wallet(&mut tx, &mut wallet, now).await?;
    tx.commit().await?;
    Ok(Settlement {
        charged: Money::from_micros(charged),
        shortfall: Money::from_micros(shortfall),
    })
}

/// Returns the reservation untouched. Releasing a hold that is already gone is a no-op.
pub async fn release(db: &Db, clock: &SharedClock, hold_id: Uuid) -> Result<bool, ApiError> {
    let now = clock.now();
    let mut tx = db.begin().await?;
    let Some(row) = take_hold(&mut tx, hold_id).await? else {
        return Ok(false);
    };
    let mut wallet = accounts::lock_wallet(&mut tx, row.platform_id, now).await?;
    wallet.held_micros -= row.amount_micros;
    if let Some(mut budget) = accounts::lock_budget(&mut tx, row.end_user_id).await? {
        budget.held_micros -= row.amount_micros;
        accounts::after_increase(&mut budget);
        accounts::save_budget(&mut tx, &mut budget, now).await?;
    }
    accounts::wallet_after_change(&mut tx, &mut wallet, now).await?;
    accounts::save_wallet(&mut tx, &mut wallet, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Releases every hold that expired by now; how many.
pub async fn sweep_expired(db: &Db, clock: &SharedClock) -> Result<usize, ApiError> {
    let now_ms = clock.now().timestamp_millis();
    let expired: Vec<(Uuid,)> = db
        .fetch_all(
            "SELECT id FROM holds WHERE expires_at_ms <= $1 ORDER BY expires_at_ms LIMIT 1000",
            &args![now_ms],
        )
        .await?;
    let mut released = 0;
    for (id,) in expired {
        if release(db, clock, id).await? {
            released += 1;
        }
    }
    if released > 0 {
        tracing::warn!(released, "released expired holds");
    }
    Ok(released)
}

/// Sweeps at start and then every `every` until `shutdown`.
pub fn spawn_sweeper(
    db: Db,
    clock: SharedClock,
    every: Duration,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticker.tick() => {}
            }
            if let Err(err) = sweep_expired(&db, &clock).await {
                tracing::warn!(error = %err, "hold sweep failed");
            }
        }
    })
}

/// When a hold taken now with `ttl` expires (for callers that report it).
pub fn expires_at(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(15))
}
