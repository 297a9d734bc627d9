//! A run, the money path: policy, then the input → fresh quote → ceiling =
//! min(policy ceiling, `max_pay`) → the key's claim and a hold of exactly the
//! quote, in one transaction → call with a timeout → settle. The settlement, the
//! run row, its ledger row and the idempotent answer commit in ONE transaction; a
//! crash before it leaves a hold the sweeper releases, resolving the key to the
//! released answer. Refusals before the hold change nothing (the key stays free).

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Number, Value, json};
use uuid::Uuid;

use super::policy::{Bar, Policy, PolicyState, evaluate};
use super::settle;
use super::snapshot::Provider;
use super::store;
use super::upstream;
use crate::billing::Money;
use crate::billing::idempotency::IdempotentRequest;
use crate::billing::pipeline::{Begun, PaidCall, UsageDraft};
use crate::error::Error;
use crate::state::AppState;

pub(crate) const PURPOSE: &str = "capability_run";

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// The provider's uid (`cap_*`).
    pub capability: String,
    #[serde(default)]
    pub input: Option<Value>,
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub max_pay: Option<Number>,
    /// Set by the `capability_run` tool only (never from a body).
    #[serde(skip)]
    pub consent: Consent,
}

/// The end user's say before a run, where the client can ask them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Consent {
    /// Stop before anything is held when the fresh quote is above this
    /// (`confirmation_required`).
    pub ask_above: Option<Money>,
    /// The price the user approved: the run's ceiling never exceeds it.
    pub approved: Option<Money>,
}

/// The code of a run stopped for the user's confirmation.
pub const CONFIRMATION_REQUIRED: &str = "confirmation_required";

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

/// Checks that need nothing from the provider, policy before input: enablement,
/// the uid, the policy state that does not depend on price (the same predicate
/// as the badges, so a run refuses what the badge shows), the availability bars,
/// then the input against the provider's schema.
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
    let snapshot = state.capabilities.snapshot();
    let provider = snapshot
        .provider(&request.capability)
        .cloned()
        .ok_or_else(|| {
            Error::not_found(format!(
                "no capability provider '{}': pass a provider uid (cap_*) from list_providers or search",
                request.capability
            ))
        })?;
    let availability = state.capabilities.availability(&provider);
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
    }
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
    let max_pay = match (max_pay, request.consent.approved) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok((provider, input, max_pay))
}

fn policy_message(state: PolicyState) -> &'static str {
    match state {
        PolicyState::Denylisted => "this provider is denylisted by the platform's policy",
        PolicyState::NotAllowlisted => {
            "the platform's policy is curated and this provider is not on its allowlist"
        }
        PolicyState::BelowMinRating => {
            "this provider's rating is below the platform's min_rating; pick another provider"
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

/// Runs one capability for `runner`, through the one paid-call pipeline
/// (`billing::pipeline`), which also writes its usage-log row.
pub async fn run(
    state: &AppState,
    runner: &Runner,
    request: &RunRequest,
    idempotency: Option<&IdempotentRequest>,
) -> Result<Answer, Refusal> {
    let started = Instant::now();
    let mut call = PaidCall {
        platform_id: runner.platform_id,
        end_user_id: runner.end_user_id,
        purpose: PURPOSE,
        idempotency: idempotency.cloned(),
        usage: UsageDraft {
            kind: "capability_run",
            app: Some("capabilities".into()),
            tool: Some(request.capability.clone()),
            request_id: runner.request_id.clone(),
            ..UsageDraft::default()
        },
    };
    // A key already answered replays that answer, whatever changed since; the key
    // itself is claimed only with the hold.
    if let Some((status, body)) = state.billing.replay(&call).await? {
        return Ok(Answer {
            status,
            body,
            replayed: true,
        });
    }
    let before_hold = async {
        let policy = store::policy(&state.db, runner.platform_id).await?;
        let (provider, input, max_pay) = admit(state, &policy, request)?;
        let quoted = quote_within_ceiling(state, &policy, &provider, &input, max_pay).await?;
        if let Some(threshold) = request.consent.ask_above.filter(|t| quoted.0 > *t) {
            return Err(Refusal {
                error: Error::forbidden(format!(
                    "{} quotes {} USD, above the platform's confirmation threshold of {} USD: \
                     the end user must confirm this run first",
                    provider.spec.name,
                    quoted.0.to_usd(),
                    threshold.to_usd()
                ))
                .with_code(CONFIRMATION_REQUIRED),
                price: Some(quoted.0),
                ceiling: quoted.1,
            });
        }
        Ok::<_, Refusal>((policy, provider, input, quoted))
    };
    let (policy, provider, input, (price, ceiling)) = match before_hold.await {
        Ok(admitted) => admitted,
        Err(refusal) => {
            let code = refusal.error.code();
            state.billing.log_refused(
                runner.platform_id,
                runner.end_user_id,
                &call.usage,
                code,
                started,
            );
            return Err(refusal);
        }
    };
    call.usage.tool = Some(provider.spec.uid.clone());
    let ttl = state
        .hold_ttl()
        .max(state.capabilities.call_timeout() + Duration::from_secs(60));
    let begun = state
        .billing
        .reserve(call, price, ttl, |hold| {
            settle::interrupted(&provider, hold)
        })
        .await
        .map_err(|refusal| Refusal {
            error: refusal.into(),
            price: Some(price),
            ceiling,
        })?;
    let reservation = match begun {
        Begun::Reserved(reservation) => *reservation,
        Begun::Replay { status, body } => {
            return Ok(Answer {
                status,
                body,
                replayed: true,
            });
        }
    };
    let (delivery, latency) = upstream::call(&state.capabilities, &provider, &input).await;
    let body = settle::settle(runner, &policy, &provider, reservation, delivery, latency).await?;
    Ok(Answer {
        status: 200,
        body,
        replayed: false,
    })
}

/// The fresh quote and the ceiling check (through the same predicate).
async fn quote_within_ceiling(
    state: &AppState,
    policy: &Policy,
    provider: &Provider,
    input: &Value,
    max_pay: Option<Money>,
) -> Result<(Money, Option<Money>), Refusal> {
    let price = upstream::quote(&state.capabilities, provider, input).await?;
    let ceiling = match (policy.max_cost_per_call, max_pay) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let effective = Policy {
        max_cost_per_call: ceiling,
        ..policy.clone()
    };
    let availability = state.capabilities.availability(provider);
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
    Ok((price, ceiling))
}
