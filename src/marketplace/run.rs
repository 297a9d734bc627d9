//! A run, the money path: check the input → fresh quote → ceiling = min(policy
//! ceiling, `max_pay`) → a hold of exactly the quote → call with a timeout →
//! settle. The settlement, the run row, its ledger row and the idempotent answer
//! commit in ONE transaction; a crash before it leaves a hold the sweeper
//! releases. Refusals before the hold change nothing (and free the key).

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Number, Value, json};
use uuid::Uuid;

use super::policy::{Bar, Policy, PolicyState, evaluate};
use super::settle;
use super::snapshot::Provider;
use super::store;
use super::upstream;
use crate::billing::Money;
use crate::billing::holds::{self, Hold};
use crate::billing::idempotency::{self, Claim, IdempotentRequest};
use crate::error::Error;
use crate::state::AppState;
use crate::store::batch;
use crate::usage::UsageRecord;

pub(crate) const PURPOSE: &str = "capability_run";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// The provider's uid (`cap_*`).
    pub capability: String,
    #[serde(default)]
    pub input: Option<Value>,
    #[serde(default)]
    pub max_pay: Option<Number>,
}

/// Who runs it.
#[derive(Debug, Clone)]
pub struct Runner {
    pub platform_id: Uuid,
    pub end_user_id: Uuid,
    pub request_id: String,
}

/// A run refused before it started, with what the caller needs to adapt.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub error: Error,
    pub price: Option<Money>,
    pub ceiling: Option<Money>,
}

impl From<Error> for Refusal {
    fn from(error: Error) -> Self {
        Self {
            error,
            price: None,
            ceiling: None,
        }
    }
}

impl From<sqlx::Error> for Refusal {
    fn from(err: sqlx::Error) -> Self {
        Error::from(err).into()
    }
}

/// The answer: HTTP status, body, and whether it is a replay.
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub replayed: bool,
}

pub(crate) fn scope(runner: &Runner) -> String {
    format!("end_user:{}", runner.end_user_id)
}

/// Checks that need nothing from the provider: enablement, the uid, the input,
/// the policy state that does not depend on price, and the health bars.
pub fn admit(
    state: &AppState,
    policy: &Policy,
    request: &RunRequest,
) -> Result<(std::sync::Arc<Provider>, Value, Option<Money>), Refusal> {
    if !policy.enabled {
        return Err(Error::forbidden(
            "capabilities are not enabled for this platform; ask the operator to enable them",
        )
        .into());
    }
    let max_pay = request
        .max_pay
        .as_ref()
        .map(|n| Money::from_usd_json("max_pay", n))
        .transpose()?;
    if max_pay.is_some_and(|m| m.is_negative()) {
        return Err(Error::bad_request("max_pay must not be negative").into());
    }
    let snapshot = state.marketplace.snapshot();
    let provider = snapshot
        .provider(&request.capability)
        .cloned()
        .ok_or_else(|| {
            Error::not_found(format!(
                "no capability provider '{}': pass a provider uid (cap_*) from list_providers or search",
                request.capability
            ))
        })?;
    let input = request.input.clone().unwrap_or_else(|| json!({}));
    let problems: Vec<String> = provider
        .validator
        .iter_errors(&input)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    if !problems.is_empty() {
        return Err(Error::bad_request(format!(
            "input does not match {}'s input schema (see its input_example): {}",
            provider.spec.uid,
            problems.join("; ")
        ))
        .into());
    }
    let availability = state.marketplace.availability(&provider);
    // Price-independent refusals first; the ceiling waits for the fresh quote.
    let verdict = evaluate(policy, &provider, Money::ZERO, availability);
    if let Some(code) = verdict.policy_state.payment_code() {
        return Err(Error::payment_required(code, policy_message(verdict.policy_state)).into());
    }
    match verdict.bar {
        None => {}
        Some(Bar::Down) => {
            return Err(Error::unavailable("this provider is down; pick another one").into());
        }
        Some(Bar::NotHealthy) => {
            return Err(Error::unavailable(
                "this provider is not healthy yet and the policy requires healthy providers",
            )
            .into());
        }
        Some(Bar::BelowMinRating) => {
            return Err(Error::forbidden(
                "this provider's rating is below the platform's min_rating",
            )
            .into());
        }
    }
    Ok((provider, input, max_pay))
}

fn policy_message(state: PolicyState) -> &'static str {
    match state {
        PolicyState::Denylisted => "this provider is denylisted by the platform's policy",
        PolicyState::NotAllowlisted => {
            "the platform's policy is curated and this provider is not on its allowlist"
        }
        PolicyState::AboveCeiling => "the quoted price is above the per-call ceiling",
        PolicyState::InPolicy => "in policy",
    }
}

/// Runs one capability in its own task, so a caller that goes away (a dropped
/// connection) cannot cancel it between the hold and the settlement: the run
/// finishes, settles and records its outcome (replayable with its Idempotency-Key).
pub async fn run_detached(
    state: &AppState,
    runner: Runner,
    request: RunRequest,
    idempotency: Option<IdempotentRequest>,
) -> Result<Answer, Refusal> {
    let state = state.clone();
    tokio::spawn(async move { run(&state, &runner, &request, idempotency.as_ref()).await })
        .await
        .unwrap_or_else(|err| {
            Err(Error::internal(format_args!("capability run task: {err}")).into())
        })
}

/// Runs one capability for `runner`.
pub async fn run(
    state: &AppState,
    runner: &Runner,
    request: &RunRequest,
    idempotency: Option<&IdempotentRequest>,
) -> Result<Answer, Refusal> {
    let started = std::time::Instant::now();
    let outcome = run_inner(state, runner, request, idempotency).await;
    let (status, error_code, cost, uid) = match &outcome {
        Ok(answer) => (
            if answer.body["ok"] == true {
                "ok"
            } else {
                "error"
            },
            answer.body["final_state"]
                .as_str()
                .filter(|s| *s != "billed")
                .map(str::to_owned),
            Money::from_usd_json("cost_usd", &number(&answer.body["cost_usd"]))
                .ok()
                .map(Money::micros),
            answer.body["provider"].as_str().map(str::to_owned),
        ),
        Err(refusal) => ("error", Some(refusal.error.code().to_owned()), None, None),
    };
    let replayed = outcome.as_ref().is_ok_and(|a| a.replayed);
    if !replayed {
        state.usage.record(UsageRecord {
            id: Uuid::now_v7(),
            platform_id: runner.platform_id,
            end_user_id: Some(runner.end_user_id),
            kind: "capability_run",
            app: Some("capabilities".into()),
            tool: Some(uid.unwrap_or_else(|| request.capability.clone())),
            model: None,
            status,
            error_code,
            latency_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            input_tokens: None,
            output_tokens: None,
            cost_micros: cost,
            request_id: runner.request_id.clone(),
            created_at: state.clock.now(),
        });
    }
    outcome
}

fn number(value: &Value) -> Number {
    value
        .as_number()
        .cloned()
        .unwrap_or_else(|| Number::from(0))
}

async fn run_inner(
    state: &AppState,
    runner: &Runner,
    request: &RunRequest,
    idempotency: Option<&IdempotentRequest>,
) -> Result<Answer, Refusal> {
    let policy = store::policy(&state.db, runner.platform_id).await?;
    let (provider, input, max_pay) = admit(state, &policy, request)?;
    if let Some(request) = idempotency
        && let Claim::Replay { status, body } = claim(state, &scope(runner), request).await?
    {
        return Ok(Answer {
            status,
            body,
            replayed: true,
        });
    }
    let hold = match quote_and_hold(state, runner, &policy, &provider, &input, max_pay).await {
        Ok(hold) => hold,
        Err(refusal) => {
            if let Some(request) = idempotency {
                abandon(state, &scope(runner), request).await?;
            }
            return Err(refusal);
        }
    };
    let (delivery, latency) = upstream::call(&state.marketplace, &provider, &input).await;
    let body = settle::settle(
        state,
        runner,
        &policy,
        &provider,
        &hold,
        delivery,
        latency,
        idempotency,
    )
    .await?;
    Ok(Answer {
        status: 200,
        body,
        replayed: false,
    })
}

async fn claim(
    state: &AppState,
    scope: &str,
    request: &IdempotentRequest,
) -> Result<Claim, Refusal> {
    let now = state.clock.now();
    let (scope, request) = (scope.to_owned(), request.clone());
    let claimed = state
        .db
        .transact(batch::op(move |tx| {
            let (scope, request) = (scope.clone(), request.clone());
            Box::pin(async move { Ok(idempotency::claim(tx, &scope, &request, now).await) })
        }))
        .await?;
    Ok(claimed?)
}

async fn abandon(
    state: &AppState,
    scope: &str,
    request: &IdempotentRequest,
) -> Result<(), Refusal> {
    let (scope, request) = (scope.to_owned(), request.clone());
    state
        .db
        .transact(batch::op(move |tx| {
            let (scope, request) = (scope.clone(), request.clone());
            Box::pin(async move { idempotency::abandon(tx, &scope, &request).await })
        }))
        .await?;
    Ok(())
}

/// The fresh quote, the ceiling check (through the same predicate), the hold.
async fn quote_and_hold(
    state: &AppState,
    runner: &Runner,
    policy: &Policy,
    provider: &Provider,
    input: &Value,
    max_pay: Option<Money>,
) -> Result<Hold, Refusal> {
    let price = upstream::quote(&state.marketplace, provider, input).await?;
    let ceiling = match (policy.max_cost_per_call, max_pay) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let effective = Policy {
        max_cost_per_call: ceiling,
        ..policy.clone()
    };
    let availability = state.marketplace.availability(provider);
    let verdict = evaluate(&effective, provider, price, availability);
    if let Some(code) = verdict.policy_state.payment_code() {
        let message = match (verdict.policy_state, ceiling) {
            (PolicyState::AboveCeiling, Some(c)) => format!(
                "the quoted price {} USD is above the ceiling {} USD (the policy's \
                 max_cost_per_call_usd, lowered by max_pay); pick a cheaper provider",
                price.to_usd(),
                c.to_usd()
            ),
            (other, _) => policy_message(other).to_owned(),
        };
        return Err(Refusal {
            error: Error::payment_required(code, message),
            price: Some(price),
            ceiling,
        });
    }
    let ttl = state
        .hold_ttl()
        .max(state.marketplace.call_timeout() + Duration::from_secs(60));
    holds::reserve(
        &state.db,
        &state.clock,
        runner.platform_id,
        runner.end_user_id,
        price,
        PURPOSE,
        ttl,
    )
    .await
    .map_err(|error| Refusal {
        error,
        price: Some(price),
        ceiling,
    })
}
