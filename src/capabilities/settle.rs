//! Settling a run: what the provider's answer means for money, and the run row
//! the pipeline writes in its settlement transaction (with the ledger rows and
//! the idempotent answer).

use std::sync::Arc;

use serde_json::{Value, json};

use super::policy::Policy;
use super::run::{Refusal, Runner};
use super::snapshot::Provider;
use super::store::{self, RunRecord};
use super::upstream::Delivery;
use crate::billing::Money;
use crate::billing::holds::Hold;
use crate::billing::pipeline::{Charge, Reservation, record};

/// A run's answer (also what its `Idempotency-Key` replays).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct RunAnswer {
    pub capability: String,
    /// The provider's uid (`cap_*`).
    pub provider: String,
    /// Whether the provider answered with success.
    pub ok: bool,
    /// `billed`, `failed` or `released`.
    pub final_state: String,
    /// The provider's HTTP status (504 on a timeout, 502 when unreachable).
    pub status: u16,
    pub cost_usd: Money,
    pub quote_usd: Money,
    pub charged_end_user: bool,
    pub run_id: uuid::Uuid,
    /// The provider's answer, or `{"error": ...}`.
    pub result: Value,
}

impl RunAnswer {
    fn into_value(self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

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
    RunAnswer {
        capability: provider.spec.capability.clone(),
        provider: provider.spec.uid.clone(),
        ok: false,
        final_state: "released".to_owned(),
        status: 502,
        cost_usd: Money::ZERO,
        quote_usd: hold.amount,
        charged_end_user: false,
        run_id: hold.id,
        result: json!({"error": "the run was interrupted before it settled (the gateway stopped); \
                             its hold was released and nothing was charged"}),
    }
    .into_value()
}

/// Finishes a run's reservation: what the provider's answer means for money, and
/// the run row written in the settlement's transaction; the answer is the run's.
pub(crate) async fn settle(
    runner: &Runner,
    policy: &Policy,
    provider: &Provider,
    reservation: Reservation,
    delivery: Delivery,
    latency_ms: u128,
) -> Result<Value, Refusal> {
    let quote = reservation.hold().amount;
    let (final_state, ok, status, charge, result) = outcome(policy, quote, delivery);
    let run = RunRecord {
        id: reservation.hold().id,
        platform_id: runner.platform_id,
        end_user_id: runner.end_user_id,
        provider_uid: provider.spec.uid.clone(),
        capability: provider.spec.capability.clone(),
        final_state,
        status,
        quote,
        cost: charge,
        charged: false,
        error: (!ok).then(|| result["error"].as_str().unwrap_or("").to_owned()),
        latency_ms: i64::try_from(latency_ms).unwrap_or(i64::MAX),
        request_id: runner.request_id.clone(),
    };
    let charge = match final_state {
        "billed" => Charge::Bill(charge),
        "failed" => Charge::Fail {
            charge,
            code: "failed",
        },
        _ => Charge::Release { code: "released" },
    };
    let (result, now) = (Arc::new(result), reservation.now());
    let (_, body) = reservation
        .finish_with(
            charge,
            record(move |tx, finished| {
                let (mut run, result) = (run.clone(), result.clone());
                Box::pin(async move {
                    let charged = finished.charged();
                    run.cost = charged;
                    run.charged = charged > Money::ZERO;
                    store::insert_run(tx, &run, now).await?;
                    Ok(RunAnswer {
                        capability: run.capability,
                        provider: run.provider_uid,
                        ok,
                        final_state: run.final_state.to_owned(),
                        status: run.status,
                        cost_usd: charged,
                        quote_usd: run.quote,
                        charged_end_user: run.charged,
                        run_id: run.id,
                        result: (*result).clone(),
                    }
                    .into_value())
                })
            }),
        )
        .await?;
    Ok(body)
}
