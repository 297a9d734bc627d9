//! The one paid-call pipeline. Any work charged to an end user (a capability run,
//! an inference call, a hosted tool turn) goes through it:
//!
//! ```text
//! replay?  --(key answered)--> the stored answer
//!    |
//! reserve: claim the Idempotency-Key + hold on budget and wallet (ONE transaction)
//!    |  refused --> Refusal (402 codes, 409 key conflicts); nothing written
//!    v
//! the caller's work (may report consumption as it goes: a Meter)
//!    |
//! finish: settle at the actual cost (above or below the hold) or release,
//!         a zero ledger row when nothing was charged, the caller's record and the
//!         key's answer (ONE transaction), then the usage-log row
//! ```
//!
//! A [`Reservation`] dropped before `finish` (the work was cut off: a panic, a
//! cancelled task) settles what its [`Meter`] says was consumed, in the
//! background; a crash leaves the hold to the sweeper, which resolves the key to
//! the answer given for interrupted work. Either way no hold outlives its TTL.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::accounts::{self, Entry};
use super::clock::SharedClock;
use super::holds::{self, Hold};
use super::idempotency::{self, Claim, IdempotentRequest};
use super::money::Money;
use crate::error::{Error, PaymentCode};
use crate::store::tx::Tx;
use crate::store::{Db, batch};
use crate::usage::{UsageLogger, UsageRecord};

/// The billing service every paid call goes through.
#[derive(Clone)]
pub struct Billing {
    db: Db,
    clock: SharedClock,
    usage: UsageLogger,
}

/// Who pays, for what, and how the call is logged.
#[derive(Debug, Clone)]
pub struct PaidCall {
    pub platform_id: Uuid,
    pub end_user_id: Uuid,
    /// The hold's purpose and the ledger rows' reason: `capability_run`, `inference`.
    pub purpose: &'static str,
    /// Scoped to the end user and the purpose.
    pub idempotency: Option<IdempotentRequest>,
    pub usage: UsageDraft,
}

/// The usage-log row of a paid call, completed by the pipeline (status, code,
/// cost, latency) when the call ends.
#[derive(Debug, Clone, Default)]
pub struct UsageDraft {
    /// `capability_run`, `inference`, ...
    pub kind: &'static str,
    pub app: Option<String>,
    pub tool: Option<String>,
    pub model: Option<String>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub request_id: String,
    /// Inference: the provider kind that answered.
    pub provider: Option<String>,
    /// Inference: input tokens read from a provider cache (part of `input_tokens`).
    pub cached_tokens: Option<i64>,
    /// Inference: milliseconds until the first token (streams).
    pub ttft_ms: Option<i64>,
    /// Inference: the token counts are the gateway's estimate (a cut stream).
    pub tokens_estimated: Option<bool>,
    /// Inference: the price the cost was computed at (JSON).
    pub price: Option<String>,
}

/// What the caller's work comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    /// The work was done: bill its actual cost (may exceed or undercut the hold).
    Bill(Money),
    /// The work failed: charge this much (zero for nothing), logged with `code`.
    Fail { charge: Money, code: &'static str },
    /// Nothing was done: return the hold, logged with `code`.
    Release { code: &'static str },
}

/// How a paid call ended, in money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    Billed { cost: Money },
    Failed { charged: Money },
    Released,
}

impl Finished {
    /// What was taken from the budget and the wallet.
    pub fn charged(self) -> Money {
        match self {
            Self::Billed { cost } => cost,
            Self::Failed { charged } => charged,
            Self::Released => Money::ZERO,
        }
    }
}

/// A paid call refused before any work: nothing was written.
#[derive(Debug, Clone)]
pub enum Refusal {
    /// The budget or the wallet cannot cover it (`no_budget`, `budget_exhausted`, ...).
    Payment { code: PaymentCode, message: String },
    /// The Idempotency-Key was used for another request, or is still in progress.
    KeyConflict { message: String },
    /// Something else went wrong (a database failure, already logged).
    Failed(Error),
}

impl From<Error> for Refusal {
    fn from(error: Error) -> Self {
        match error.payment_code() {
            Some(code) => Self::Payment {
                code,
                message: error.message().to_owned(),
            },
            None if error.code() == "conflict" => Self::KeyConflict {
                message: error.message().to_owned(),
            },
            None => Self::Failed(error),
        }
    }
}

impl From<sqlx::Error> for Refusal {
    fn from(err: sqlx::Error) -> Self {
        Self::Failed(err.into())
    }
}

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Payment { code, message } => Error::payment_required(code, message),
            Refusal::KeyConflict { message } => Error::conflict(message),
            Refusal::Failed(error) => error,
        }
    }
}

/// How `reserve` ended without a refusal.
pub enum Begun {
    Reserved(Box<Reservation>),
    /// The key was answered (by an earlier call or a concurrent duplicate).
    Replay {
        status: u16,
        body: Value,
    },
}

/// Consumption reported by work whose cost grows while it runs (a stream). Cheap
/// to clone and to update from any task.
#[derive(Debug, Clone, Default)]
pub struct Meter(Arc<AtomicI64>);

impl Meter {
    /// Records `more` consumed.
    pub fn add(&self, more: Money) {
        self.0.fetch_add(more.micros(), Ordering::Relaxed);
    }

    /// Sets the consumption to `total` (a provider's cumulative usage).
    pub fn set(&self, total: Money) {
        self.0.store(total.micros(), Ordering::Relaxed);
    }

    pub fn consumed(&self) -> Money {
        Money::from_micros(self.0.load(Ordering::Relaxed).max(0))
    }
}

/// A hold taken for one paid call, to be finished exactly once.
pub struct Reservation {
    billing: Billing,
    call: PaidCall,
    hold: Hold,
    meter: Meter,
    started: Instant,
    finished: bool,
}

impl Billing {
    pub fn new(db: Db, clock: SharedClock, usage: UsageLogger) -> Self {
        Self { db, clock, usage }
    }

    fn scope(call: &PaidCall) -> String {
        idempotency::end_user_scope(call.platform_id, call.end_user_id, call.purpose)
    }

    /// The stored answer when the call's key was already answered; read without
    /// claiming the key (the claim comes with the hold).
    pub async fn replay(&self, call: &PaidCall) -> Result<Option<(u16, Value)>, Error> {
        let Some(request) = &call.idempotency else {
            return Ok(None);
        };
        idempotency::peek(&self.db, &Self::scope(call), request, self.clock.now()).await
    }

    /// Claims the key (when given) and holds `amount` on the end user's budget and
    /// the platform wallet, in one transaction. `if_interrupted` gives the answer
    /// the key resolves to if the work dies before it finishes (the sweeper
    /// releases the hold); `ttl` must outlast the work.
    pub async fn reserve(
        &self,
        call: PaidCall,
        amount: Money,
        ttl: Duration,
        if_interrupted: impl FnOnce(&Hold) -> Value,
    ) -> Result<Begun, Refusal> {
        if amount.is_negative() {
            return Err(Refusal::Failed(Error::bad_request(
                "a hold cannot be negative",
            )));
        }
        let started = Instant::now();
        let now = self.clock.now();
        let expires = holds::expires_at(now, ttl);
        let hold = Hold {
            id: Uuid::now_v7(),
            platform_id: call.platform_id,
            end_user_id: call.end_user_id,
            amount,
        };
        let claim = call
            .idempotency
            .clone()
            .map(|request| (Self::scope(&call), request, if_interrupted(&hold)));
        let purpose = call.purpose;
        let taken = self
            .db
            .transact(batch::op(move |tx| {
                let (hold, claim) = (hold.clone(), claim.clone());
                Box::pin(async move { reserve_in(tx, hold, purpose, claim, now, expires).await })
            }))
            .await?;
        match taken {
            Ok(Taken::Hold(hold)) => Ok(Begun::Reserved(Box::new(Reservation {
                billing: self.clone(),
                call,
                hold,
                meter: Meter::default(),
                started,
                finished: false,
            }))),
            Ok(Taken::Replay { status, body }) => Ok(Begun::Replay { status, body }),
            Err(error) => {
                let refusal = Refusal::from(error);
                self.log_refusal(&call, &refusal, started);
                Err(refusal)
            }
        }
    }

    /// The usage row of a call refused by the pipeline (the caller logs its own
    /// refusals, made before `reserve`, with [`Billing::log_refused`]).
    fn log_refusal(&self, call: &PaidCall, refusal: &Refusal, started: Instant) {
        let code = Error::from(refusal.clone()).code().to_owned();
        self.log_refused(
            call.platform_id,
            call.end_user_id,
            &call.usage,
            &code,
            started,
        );
    }

    /// Logs a paid call refused before its hold (`code` is the refusal's code).
    pub fn log_refused(
        &self,
        platform_id: Uuid,
        end_user_id: Uuid,
        draft: &UsageDraft,
        code: &str,
        started: Instant,
    ) {
        self.usage.record(usage_row(
            platform_id,
            end_user_id,
            draft,
            ("error", Some(code.to_owned())),
            None,
            started,
            self.clock.now(),
        ));
    }
}

enum Taken {
    Hold(Hold),
    Replay { status: u16, body: Value },
}

type ClaimToTake = (String, IdempotentRequest, Value);

async fn reserve_in(
    tx: &mut Tx,
    hold: Hold,
    purpose: &str,
    claim: Option<ClaimToTake>,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> Result<Result<Taken, Error>, sqlx::Error> {
    if let Some((scope, request, interrupted)) = &claim {
        match idempotency::claim_in(tx, scope, request, now, Some((hold.id, interrupted))).await? {
            Ok(Claim::Fresh) => {}
            Ok(Claim::Replay { status, body }) => return Ok(Ok(Taken::Replay { status, body })),
            Err(refusal) => return Ok(Err(refusal)),
        }
    }
    match holds::reserve_in(tx, hold, purpose, now, expires).await? {
        Ok(hold) => Ok(Ok(Taken::Hold(hold))),
        Err(refusal) => {
            // Refused before any effect: the key stays free for a retry.
            if let Some((scope, request, _)) = &claim {
                idempotency::abandon(tx, scope, request).await?;
            }
            Ok(Err(refusal))
        }
    }
}

/// The caller's own rows, written in the settlement's transaction: given how the
/// call ended, returns the answer (stored for the Idempotency-Key).
pub trait Record:
    for<'t> Fn(&'t mut Tx, Finished) -> batch::TxFuture<'t, Value> + Send + Sync + 'static
{
}
impl<F> Record for F where
    F: for<'t> Fn(&'t mut Tx, Finished) -> batch::TxFuture<'t, Value> + Send + Sync + 'static
{
}

/// Pins a closure to the [`Record`] signature.
pub fn record<F>(f: F) -> F
where
    F: for<'t> Fn(&'t mut Tx, Finished) -> batch::TxFuture<'t, Value> + Send + Sync + 'static,
{
    f
}

impl Reservation {
    pub fn hold(&self) -> &Hold {
        &self.hold
    }

    /// The time by the billing clock (for the caller's rows).
    pub fn now(&self) -> DateTime<Utc> {
        self.billing.clock.now()
    }

    /// Where growing work reports what it consumed; what a cut-off settles.
    pub fn meter(&self) -> Meter {
        self.meter.clone()
    }

    /// Fills in the usage row's token counts (known at the end of the work).
    pub fn set_tokens(&mut self, input: Option<i64>, output: Option<i64>) {
        self.call.usage.input_tokens = input;
        self.call.usage.output_tokens = output;
    }

    /// The usage row as it stands (the caller completes it as the work goes;
    /// work cut off is logged with what it says then).
    pub fn usage_mut(&mut self) -> &mut UsageDraft {
        &mut self.call.usage
    }

    /// Settles or releases the hold and writes the ledger and usage rows.
    pub async fn finish(self, charge: Charge) -> Result<Finished, Error> {
        let (finished, _) = self
            .finish_with(charge, record(|_, _| Box::pin(async { Ok(Value::Null) })))
            .await?;
        Ok(finished)
    }

    /// As [`Reservation::finish`], with the caller's rows written in the same
    /// transaction; their answer is stored for the key (status 200).
    pub async fn finish_with(
        mut self,
        charge: Charge,
        record: impl Record,
    ) -> Result<(Finished, Value), Error> {
        self.finished = true;
        let outcome = settle(
            &self.billing,
            &self.call,
            &self.hold,
            charge,
            Some(Arc::new(record)),
        )
        .await;
        match &outcome {
            Ok((finished, _)) => self.log(charge, *finished),
            // The hold is still there: the sweeper returns it within its TTL.
            Err(err) => tracing::error!(error = %err, hold = %self.hold.id, "settlement failed"),
        }
        outcome
    }

    fn log(&self, charge: Charge, finished: Finished) {
        let status = match charge {
            Charge::Bill(_) => ("ok", None),
            Charge::Fail { code, .. } | Charge::Release { code } => ("error", Some(code.into())),
        };
        let billing = &self.billing;
        billing.usage.record(usage_row(
            self.call.platform_id,
            self.call.end_user_id,
            &self.call.usage,
            status,
            Some(finished.charged()),
            self.started,
            billing.clock.now(),
        ));
    }
}

impl Drop for Reservation {
    /// Work cut off before `finish` settles what its meter consumed, in the
    /// background (without a runtime, the sweeper releases the hold instead).
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let consumed = self.meter.consumed();
        let charge = if consumed > Money::ZERO {
            Charge::Fail {
                charge: consumed,
                code: "cut_off",
            }
        } else {
            Charge::Release { code: "cut_off" }
        };
        let cut = Reservation {
            billing: self.billing.clone(),
            call: self.call.clone(),
            hold: self.hold.clone(),
            meter: self.meter.clone(),
            started: self.started,
            finished: true,
        };
        runtime.spawn(async move {
            let billing = cut.billing.clone();
            match settle(&billing, &cut.call, &cut.hold, charge, None).await {
                Ok((finished, _)) => cut.log(charge, finished),
                Err(err) => tracing::error!(error = %err, hold = %cut.hold.id, "settling cut-off work failed"),
            }
        });
    }
}

/// The ONE settlement transaction. Without a record (work cut off), a key still
/// in progress resolves to the answer given for interrupted work.
async fn settle(
    billing: &Billing,
    call: &PaidCall,
    hold: &Hold,
    charge: Charge,
    record: Option<Arc<dyn Record>>,
) -> Result<(Finished, Value), Error> {
    let now = billing.clock.now();
    let (hold, purpose) = (hold.clone(), call.purpose);
    let key = call.idempotency.clone().map(|r| (Billing::scope(call), r));
    Ok(billing
        .db
        .transact(batch::op(move |tx| {
            let (hold, key, record) = (hold.clone(), key.clone(), record.clone());
            Box::pin(async move {
                let key_text = key.as_ref().map(|(_, r)| r.key.as_str());
                let amount = match charge {
                    Charge::Bill(cost) => cost,
                    Charge::Fail { charge, .. } => charge,
                    Charge::Release { .. } => Money::ZERO,
                };
                let charged = if amount > Money::ZERO {
                    match holds::settle_in(tx, &hold, amount, key_text, now).await? {
                        Ok(settlement) => settlement.charged,
                        // The hold expired mid-work and the sweeper released it.
                        Err(_) => Money::ZERO,
                    }
                } else {
                    holds::release_in(tx, hold.id, now).await?;
                    Money::ZERO
                };
                if charged == Money::ZERO {
                    note_uncharged(tx, &hold, purpose, key_text, now).await?;
                }
                let finished = match charge {
                    Charge::Bill(_) => Finished::Billed { cost: charged },
                    Charge::Fail { .. } => Finished::Failed { charged },
                    Charge::Release { .. } => Finished::Released,
                };
                let answer = match &record {
                    Some(record) => record(tx, finished).await?,
                    None => Value::Null,
                };
                if let Some((scope, request)) = &key {
                    match &record {
                        Some(_) => idempotency::complete(tx, scope, request, 200, &answer).await?,
                        None => idempotency::resolve_for_swept_hold(tx, hold.id).await?,
                    }
                }
                Ok((finished, answer))
            })
        }))
        .await?)
}

/// Every paid call is a ledger row: one that charged nothing gets a zero entry.
async fn note_uncharged(
    tx: &mut Tx,
    hold: &Hold,
    purpose: &str,
    idempotency_key: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if let Some(mut budget) = accounts::lock_budget(tx, hold.end_user_id).await? {
        let entry = Entry {
            kind: "release",
            amount_micros: 0,
            reason: Some(purpose.into()),
            actor: "system".into(),
            related_id: Some(format!("{purpose}:{}", hold.id)),
            idempotency_key: idempotency_key.map(str::to_owned),
            ..Entry::default()
        };
        accounts::post_budget(tx, &mut budget, entry, now).await?;
    }
    Ok(())
}

fn usage_row(
    platform_id: Uuid,
    end_user_id: Uuid,
    draft: &UsageDraft,
    (status, error_code): (&'static str, Option<String>),
    cost: Option<Money>,
    started: Instant,
    now: DateTime<Utc>,
) -> UsageRecord {
    UsageRecord {
        id: Uuid::now_v7(),
        platform_id,
        end_user_id: Some(end_user_id),
        kind: draft.kind,
        app: draft.app.clone(),
        tool: draft.tool.clone(),
        model: draft.model.clone(),
        status,
        error_code,
        latency_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        input_tokens: draft.input_tokens,
        output_tokens: draft.output_tokens,
        cost_micros: cost.map(Money::micros),
        request_id: draft.request_id.clone(),
        created_at: now,
        provider: draft.provider.clone(),
        cached_tokens: draft.cached_tokens,
        ttft_ms: draft.ttft_ms,
        tokens_estimated: draft.tokens_estimated,
        price: draft.price.clone(),
    }
}
