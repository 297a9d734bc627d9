//! One chat completion, the money path: the model → the platform's candidates
//! (404 `model_not_found`, unpriced → refused) → TPM with the estimate → a hold
//! on budget and wallet sized from the estimate's price (402 codes) → providers
//! by priority, the next one on a retryable failure before the first byte →
//! settle at the real usage × price × (1 + markup), release the rest →
//! reconcile TPM. RPM/RPD were counted at the edge (the route table's layer).
//!
//! The work after the hold runs in its own task, so a client that goes away
//! cannot cut a settlement in half; a stream's relay (see [`super::relay`])
//! settles what it delivered when the client leaves.

use std::time::{Duration, Instant};

use assistiv_llm::openai::{ChatCompletion, ChatRequest};
use assistiv_llm::{ChunkStream, ModelRef, ProviderError, StreamEvent};
use futures::StreamExt;
use serde_json::{Value, json};
use uuid::Uuid;

use super::charge::{self, Estimate};
use super::routing::{Candidate, Resolved};
use crate::billing::Money;
use crate::billing::accounts;
use crate::billing::pipeline::{Begun, Charge, PaidCall, Reservation, UsageDraft, record};
use crate::error::Error;
use crate::ratelimit::{Limits, TokenReservation};
use crate::state::AppState;

pub(crate) const PURPOSE: &str = "inference";

/// Who calls.
#[derive(Debug, Clone)]
pub struct Caller {
    pub platform_id: Uuid,
    pub end_user_id: Uuid,
    pub request_id: String,
}

/// A call admitted: its hold taken, its tokens reserved.
pub struct Admitted {
    pub request: ChatRequest,
    pub candidates: Vec<Candidate>,
    pub markup_bps: u32,
    pub estimate: Estimate,
    pub hold: Money,
    pub reservation: Reservation,
    pub tokens: TokenReservation,
    pub started: Instant,
}

/// A whole answer and what it cost.
pub struct Answered {
    pub body: ChatCompletion,
    pub provider: &'static str,
    pub charged: Money,
    pub remaining: Option<Money>,
    pub usage_estimated: bool,
}

fn draft(caller: &Caller, model: Option<&str>) -> UsageDraft {
    UsageDraft {
        kind: PURPOSE,
        model: model.map(str::to_owned),
        request_id: caller.request_id.clone(),
        ..UsageDraft::default()
    }
}

/// The usage row of a call refused before anything was held.
pub fn log_refused(state: &AppState, caller: &Caller, model: Option<&str>, error: &Error) {
    state.billing.log_refused(
        caller.platform_id,
        caller.end_user_id,
        &draft(caller, model),
        error.code(),
        Instant::now(),
    );
}

/// Everything up to the hold. A refusal before the hold is logged here (the
/// pipeline logs its own).
pub async fn admit(
    state: &AppState,
    caller: &Caller,
    request: ChatRequest,
) -> Result<Admitted, Error> {
    let started = Instant::now();
    let usage = draft(caller, Some(&request.model));
    let before_hold = async {
        let requested = ModelRef::parse(&request.model)
            .map_err(|e| Error::bad_request(provider_message(&e)))?;
        let routes = state
            .inference
            .routes(&state.db, caller.platform_id)
            .await?;
        let candidates = match routes.resolve(&requested) {
            Resolved::Candidates(candidates) => candidates,
            Resolved::NotFound => {
                return Err(Error::not_found(format!(
                    "the model '{}' is not enabled on this platform; GET /v1/models lists the ones that are",
                    request.model
                ))
                .with_code("model_not_found"));
            }
            Resolved::Unpriced => {
                return Err(Error::bad_request(format!(
                    "the model '{}' has no known price, so it is not served (never free): \
                     the operator can set one in the provider config's prices",
                    request.model
                ))
                .with_code("model_not_priced"));
            }
        };
        let estimate = Estimate::of(&request, state.inference.default_output_tokens());
        let limits = state
            .limits_cache
            .get(&state.db, caller.platform_id, caller.end_user_id)
            .await?;
        let tokens = state
            .limiter
            .reserve_tokens(
                caller.end_user_id,
                &Limits::from(limits),
                estimate.total(),
                state.clock.now(),
            )
            .await
            .map_err(Error::from)?;
        Ok((candidates, routes.markup_bps, estimate, tokens))
    };
    let (candidates, markup_bps, estimate, tokens) = match before_hold.await {
        Ok(admitted) => admitted,
        Err(error) => {
            state.billing.log_refused(
                caller.platform_id,
                caller.end_user_id,
                &usage,
                error.code(),
                started,
            );
            return Err(error);
        }
    };
    let hold = charge::hold(&candidates, estimate, markup_bps);
    let call = PaidCall {
        platform_id: caller.platform_id,
        end_user_id: caller.end_user_id,
        purpose: PURPOSE,
        idempotency: None,
        usage,
    };
    let ttl = state.hold_ttl();
    let begun = state
        .billing
        .reserve(call, hold, ttl, |_| Value::Null)
        .await;
    let reservation = match begun {
        Ok(Begun::Reserved(reservation)) => *reservation,
        Ok(Begun::Replay { .. }) => {
            state.limiter.reconcile(tokens, 0, state.clock.now()).await;
            return Err(Error::internal("an inference call without a key replayed"));
        }
        Err(refusal) => {
            state.limiter.reconcile(tokens, 0, state.clock.now()).await;
            return Err(refusal.into());
        }
    };
    Ok(Admitted {
        request,
        candidates,
        markup_bps,
        estimate,
        hold,
        reservation,
        tokens,
        started,
    })
}

/// A provider error as the client sees it: 400 for the request's fault (naming
/// the parameter), else 502 `upstream_error` with the provider's status and
/// message (never its key).
pub fn provider_error(error: &ProviderError) -> Error {
    if error.is_client_error() {
        Error::bad_request(provider_message(error))
    } else {
        Error::upstream(provider_message(error))
    }
}

fn provider_message(error: &ProviderError) -> String {
    match error {
        ProviderError::InvalidRequest { message } => message.clone(),
        other => other.to_string(),
    }
}

/// Settles in its own task (a caller going away cannot cut it in half) and
/// answers the end user's remaining budget, read in the same transaction.
pub async fn settle(reservation: Reservation, charge: Charge) -> (Money, Option<Money>) {
    let end_user_id = reservation.hold().end_user_id;
    let task = tokio::spawn(async move {
        reservation
            .finish_with(
                charge,
                record(move |tx, _| {
                    Box::pin(async move {
                        let budget = accounts::lock_budget(tx, end_user_id).await?;
                        Ok(json!(budget.map(|b| b.available().max(0))))
                    })
                }),
            )
            .await
    });
    match task.await {
        Ok(Ok((finished, remaining))) => (
            finished.charged(),
            remaining.as_i64().map(Money::from_micros),
        ),
        Ok(Err(err)) => {
            tracing::error!(error = %err, "settling an inference call failed");
            (Money::ZERO, None)
        }
        Err(err) => {
            tracing::error!(error = %err, "settlement task");
            (Money::ZERO, None)
        }
    }
}

/// Fills the usage row with what the provider reported (or the gateway counted).
pub(crate) fn record_usage(
    reservation: &mut Reservation,
    candidate: &Candidate,
    markup_bps: u32,
    usage: &assistiv_llm::openai::Usage,
    estimated: bool,
) {
    let narrow = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    reservation.set_tokens(
        Some(narrow(usage.prompt_tokens)),
        Some(narrow(usage.completion_tokens)),
    );
    let draft = reservation.usage_mut();
    draft.provider = Some(candidate.provider.kind.as_str().to_owned());
    draft.cached_tokens = Some(narrow(usage.cached_tokens()));
    draft.tokens_estimated = Some(estimated);
    draft.price = Some(charge::price_record(&candidate.price, markup_bps));
}

/// Tries the candidates in order until one answers: a retryable failure (the
/// provider's fault, before anything reached the client) moves on to the next,
/// any other failure ends the search. The request goes up with each
/// candidate's model id.
async fn first_answer<T, F>(
    request: &ChatRequest,
    candidates: &[Candidate],
    mut attempt: F,
) -> Result<(Candidate, T), Error>
where
    F: AsyncFnMut(&Candidate, &ChatRequest) -> Result<T, ProviderError>,
{
    let mut request = request.clone();
    let mut last_error = None;
    for candidate in candidates {
        request.model.clone_from(&candidate.model);
        match attempt(candidate, &request).await {
            Ok(answer) => return Ok((candidate.clone(), answer)),
            Err(error) if error.is_retryable() => {
                tracing::info!(provider = %candidate.provider.id, error = %error, "provider failed; trying the next");
                last_error = Some(error);
            }
            Err(error) => {
                last_error = Some(error);
                break;
            }
        }
    }
    Err(last_error.map_or_else(
        || Error::upstream("no provider could answer"),
        |e| provider_error(&e),
    ))
}

/// No provider answered: the hold goes back, the tokens too.
pub async fn release(state: &AppState, admitted: Admitted, error: &Error) {
    let Admitted {
        candidates,
        mut reservation,
        tokens,
        ..
    } = admitted;
    reservation.usage_mut().provider = candidates
        .first()
        .map(|c| c.provider.kind.as_str().to_owned());
    settle(reservation, Charge::Release { code: error.code() }).await;
    state.limiter.reconcile(tokens, 0, state.clock.now()).await;
}

/// A whole (non-streamed) answer, in its own task.
pub async fn complete(state: &AppState, admitted: Admitted) -> Result<Answered, Error> {
    let state = state.clone();
    tokio::spawn(async move { complete_inner(&state, admitted).await })
        .await
        .unwrap_or_else(|err| Err(Error::internal(format_args!("completion task: {err}"))))
}

async fn complete_inner(state: &AppState, admitted: Admitted) -> Result<Answered, Error> {
    let answered = first_answer(
        &admitted.request,
        &admitted.candidates,
        async |candidate: &Candidate, request: &ChatRequest| {
            candidate.provider.client.complete(request).await
        },
    )
    .await;
    let (candidate, completion) = match answered {
        Ok(answered) => answered,
        Err(error) => {
            release(state, admitted, &error).await;
            return Err(error);
        }
    };
    let Admitted {
        markup_bps,
        mut reservation,
        tokens,
        ..
    } = admitted;
    let cost = charge::cost(&completion.usage, &candidate.price, markup_bps);
    record_usage(
        &mut reservation,
        &candidate,
        markup_bps,
        &completion.usage,
        completion.usage_estimated,
    );
    let (charged, remaining) = settle(reservation, Charge::Bill(cost)).await;
    let total = completion.usage.total_tokens;
    state
        .limiter
        .reconcile(tokens, total, state.clock.now())
        .await;
    Ok(Answered {
        body: completion.response,
        provider: candidate.provider.kind.as_str(),
        charged,
        remaining,
        usage_estimated: completion.usage_estimated,
    })
}

/// A stream that has produced its first item: the provider that answered and
/// the rest of its stream.
pub struct Opened {
    pub candidate: Candidate,
    pub first: StreamEvent,
    pub rest: ChunkStream,
    pub ttft: Duration,
}

/// Opens a stream, trying the candidates in order until one produces its
/// first item (nothing has reached the client until then, so a provider that
/// fails or dies before it is passed over like one that refused).
pub async fn open_stream(admitted: &Admitted) -> Result<Opened, Error> {
    let (candidate, (first, rest)) = first_answer(
        &admitted.request,
        &admitted.candidates,
        async |candidate: &Candidate, request: &ChatRequest| {
            let mut stream = candidate.provider.client.stream(request).await?;
            match stream.next().await {
                Some(Ok(first)) => Ok((first, stream)),
                Some(Err(error)) => Err(error),
                None => Err(ProviderError::Decode {
                    provider: candidate.provider.kind,
                    message: "the stream ended before its first event".into(),
                }),
            }
        },
    )
    .await?;
    Ok(Opened {
        candidate,
        first,
        rest,
        ttft: admitted.started.elapsed(),
    })
}

/// The 403 a platform key gets here, saying what to do instead.
/// `what` names the refused surface ("chat completions", "responses").
pub fn platform_key_refused(what: &str, platform_id: Uuid) -> Error {
    Error::forbidden(format!(
        "{what} run as an end user and need an end-user key (sk-eu_*), not a \
         platform key. Mint one with this platform key: POST /v1/platforms/{platform_id}/end-users \
         with {{\"external_id\": \"<your user's id>\"}}; the answer's api_key.raw_key is the \
         sk-eu_* key to send as the Bearer token here"
    ))
}
