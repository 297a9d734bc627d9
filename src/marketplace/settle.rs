//! Settling a run: what the provider's answer means for money, and the ONE
//! transaction that settles or releases the hold, writes the run row, a zero
//! ledger row when nothing was charged (every run is a ledger row) and the
//! idempotent answer.

use serde_json::{Value, json};

use super::policy::Policy;
use super::run::{PURPOSE, Refusal, Runner, scope};
use super::snapshot::Provider;
use super::store::{self, RunRecord};
use super::upstream::Delivery;
use crate::billing::Money;
use crate::billing::accounts::{self, Entry};
use crate::billing::holds::{self, Hold};
use crate::billing::idempotency::{self, IdempotentRequest};
use crate::state::AppState;
use crate::store::batch;

/// What a delivery means for money: `(final_state, ok, status, charge, result)`.
fn outcome(
    policy: &Policy,
    quote: Money,
    delivery: Delivery,
) -> (&'static str, bool, u16, Money, Value) {
    let failed_charge = if policy.charge_failed_calls {
        quote
    } else {
        Money::ZERO
    };
    match delivery {
        Delivery::Answered {
            status,
            body,
            reported_cost,
        } => {
            let cost = reported_cost.map_or(quote, |r| r.min(quote));
            ("billed", true, status, cost, body)
        }
        Delivery::Failed { status, body } => ("failed", false, status, failed_charge, body),
        Delivery::TimedOut => (
            "failed",
            false,
            504,
            failed_charge,
            json!({"error": "the provider did not answer within the timeout"}),
        ),
        Delivery::Unreachable => (
            "released",
            false,
            502,
            Money::ZERO,
            json!({"error": "the provider could not be reached; nothing was charged"}),
        ),
        Delivery::PaymentDemanded => (
            "released",
            false,
            402,
            Money::ZERO,
            json!({"error": "the provider demands on-chain (x402) payment at call time, which \
                             this gateway does not make; nothing was charged"}),
        ),
    }
}

/// The answer a run's `Idempotency-Key` resolves to when the run dies between
/// its hold and its settlement (the sweeper released the hold: nothing charged).
pub(crate) fn interrupted(provider: &Provider, hold: &Hold) -> Value {
    json!({
        "capability": provider.spec.capability,
        "provider": provider.spec.uid,
        "ok": false,
        "final_state": "released",
        "status": 502,
        "cost_usd": Money::ZERO,
        "quote_usd": hold.amount,
        "charged_end_user": false,
        "run_id": hold.id,
        "result": {"error": "the run was interrupted before it settled (the gateway stopped); \
                             its hold was released and nothing was charged"},
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn settle(
    state: &AppState,
    runner: &Runner,
    policy: &Policy,
    provider: &Provider,
    hold: &Hold,
    delivery: Delivery,
    latency_ms: u128,
    idempotency: Option<&IdempotentRequest>,
) -> Result<Value, Refusal> {
    let (final_state, ok, status, charge, result) = outcome(policy, hold.amount, delivery);
    let now = state.clock.now();
    let record = RunRecord {
        id: hold.id,
        platform_id: runner.platform_id,
        end_user_id: runner.end_user_id,
        provider_uid: provider.spec.uid.clone(),
        capability: provider.spec.capability.clone(),
        final_state,
        status,
        quote: hold.amount,
        cost: charge,
        charged: false,
        error: (!ok).then(|| result["error"].as_str().unwrap_or("").to_owned()),
        latency_ms: i64::try_from(latency_ms).unwrap_or(i64::MAX),
        request_id: runner.request_id.clone(),
    };
    let (scope, request) = (scope(runner), idempotency.cloned());
    let result = std::sync::Arc::new(result);
    let hold = hold.clone();
    let body = state
        .db
        .transact(batch::op(move |tx| {
            let (mut record, scope, request, result, hold) = (
                record.clone(),
                scope.clone(),
                request.clone(),
                result.clone(),
                hold.clone(),
            );
            Box::pin(async move {
                let key = request.as_ref().map(|r| r.key.as_str());
                let charged = if charge > Money::ZERO {
                    match holds::settle_in(tx, &hold, charge, key, now).await? {
                        Ok(settlement) => settlement.charged,
                        // The hold expired mid-call and the sweeper released it.
                        Err(_) => Money::ZERO,
                    }
                } else {
                    holds::release_in(tx, record.id, now).await?;
                    Money::ZERO
                };
                if charged == Money::ZERO {
                    note_uncharged(tx, &record, key, now).await?;
                }
                record.cost = charged;
                record.charged = charged > Money::ZERO;
                store::insert_run(tx, &record, now).await?;
                let body = json!({
                    "capability": record.capability,
                    "provider": record.provider_uid,
                    "ok": ok,
                    "final_state": record.final_state,
                    "status": record.status,
                    "cost_usd": charged,
                    "quote_usd": record.quote,
                    "charged_end_user": record.charged,
                    "run_id": record.id,
                    "result": *result,
                });
                if let Some(request) = &request {
                    idempotency::complete(tx, &scope, request, 200, &body).await?;
                }
                Ok(body)
            })
        }))
        .await?;
    Ok(body)
}

/// Every run is a ledger row: one that charged nothing gets a zero entry.
async fn note_uncharged(
    tx: &mut crate::store::tx::Tx,
    record: &RunRecord,
    idempotency_key: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    if let Some(mut budget) = accounts::lock_budget(tx, record.end_user_id).await? {
        let entry = Entry {
            kind: "release",
            amount_micros: 0,
            reason: Some(PURPOSE.into()),
            actor: "system".into(),
            related_id: Some(format!("{PURPOSE}:{}", record.id)),
            idempotency_key: idempotency_key.map(str::to_owned),
            ..Entry::default()
        };
        accounts::post_budget(tx, &mut budget, entry, now).await?;
    }
    Ok(())
}
