//! Rate-limit enforcement per subject (an end user): requests per minute and per
//! day over fixed UTC windows, and tokens per minute as a token bucket.
//!
//! One type, [`RateLimiter`], with two backends that behave the same: in process
//! (one instance) or Redis (every instance shares the counters). Time is passed in
//! (`now`), so callers pass `Utc::now()` and tests control the clock.
//!
//! A request to an inference endpoint goes:
//!
//! 1. [`RateLimiter::admit`] with the token estimate (counts the request and reserves
//!    the tokens atomically, or refuses without counting anything); or
//!    [`RateLimiter::check_request`] alone for calls that spend no tokens;
//! 2. on refusal answer [`Rejection`] / [`Refusal`] (both `IntoResponse`: 429 with
//!    `Retry-After` and the `X-RateLimit-*` headers, or 400 for an estimate no bucket
//!    can ever hold); on admission add [`Admission::headers`] to the response;
//! 3. after the upstream answers (or fails: actual 0), [`RateLimiter::reconcile`] the
//!    reservation with the actual token count.
//!
//! Window counters and buckets are only kept for limits that are set; `None` is
//! unlimited. A limit of 0 refuses every request (`rpm`, `rpd`) or every estimate
//! above 0 (`tpm`).

mod accounting;
mod headers;
mod memory;
mod redis_store;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use headers::rate_limit_headers;

use accounting::{
    KEEP_EXTRA_MS, MIN_UNITS, Snapshot, Step, Take, UNITS_PER_TOKEN, Window, capacity_units,
    ms_until, quota, refill, refusal, requests_quota, tokens_quota, window_quota,
};

/// The limits of one subject. `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Requests per fixed UTC minute.
    pub rpm: Option<u32>,
    /// Tokens per minute: a bucket of this capacity refilling this many per 60 s.
    pub tpm: Option<u32>,
    /// Requests per fixed UTC day.
    pub rpd: Option<u32>,
}

/// Which limit a refusal or quota is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitKind {
    Rpm,
    Tpm,
    Rpd,
}

impl LimitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rpm => "rpm",
            Self::Tpm => "tpm",
            Self::Rpd => "rpd",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Rpm => "requests per minute",
            Self::Tpm => "tokens per minute",
            Self::Rpd => "requests per day",
        }
    }
}

/// Where one limit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Quota {
    pub limit: u64,
    /// What is left now (never below 0, even when the token bucket is overdrawn).
    pub remaining: u64,
    /// When the window resets, or when the token bucket is full again.
    pub reset_at: DateTime<Utc>,
    /// `reset_at - now`, for the `X-RateLimit-Reset-*` headers.
    #[serde(skip)]
    pub reset_after: Duration,
}

/// A request refused by a full window or a short token bucket (HTTP 429).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub kind: LimitKind,
    pub limit: u64,
    /// Whole seconds (rounded up, at least 1) until this request would be admitted.
    pub retry_after_secs: u64,
    /// When the window resets, or when the bucket holds enough tokens.
    pub reset_at: DateTime<Utc>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rate limit reached: {} {}; retry in {} s",
            self.limit,
            self.kind.describe(),
            self.retry_after_secs
        )
    }
}

impl std::error::Error for Refusal {}

/// Why a token reservation (or a combined admission) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// A limit is reached for now: retry later (429).
    #[error(transparent)]
    Limited(Refusal),
    /// The estimate is larger than the bucket can ever hold: retrying cannot help.
    #[error(
        "this request needs an estimated {estimate} tokens, more than the limit of {capacity} tokens per minute"
    )]
    TooLarge { estimate: u64, capacity: u32 },
}

impl From<Refusal> for Rejection {
    fn from(refusal: Refusal) -> Self {
        Self::Limited(refusal)
    }
}

/// An admitted request: the tightest of the RPM and RPD windows after counting it
/// (`None` when neither is set, or when Redis failed and the request was let through).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestAdmission {
    pub requests: Option<Quota>,
}

/// Tokens taken from a subject's bucket. Hand it back to [`RateLimiter::reconcile`]
/// with the actual count (0 when the call failed), once.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "reconcile the reservation with the actual token count"]
pub struct TokenReservation {
    subject: Uuid,
    /// The bucket it was taken from; `None` when nothing was taken.
    tpm: Option<u32>,
    reserved: u64,
    quota: Option<Quota>,
}

impl TokenReservation {
    fn nothing(subject: Uuid) -> Self {
        Self {
            subject,
            tpm: None,
            reserved: 0,
            quota: None,
        }
    }

    /// The tokens taken (0 when TPM is unlimited).
    pub fn reserved(&self) -> u64 {
        self.reserved
    }

    /// The bucket after the reservation (`None` when TPM is unlimited).
    pub fn quota(&self) -> Option<Quota> {
        self.quota
    }
}

/// A request counted and its tokens reserved, by [`RateLimiter::admit`].
#[derive(Debug, PartialEq, Eq)]
#[must_use = "reconcile `tokens` with the actual token count"]
pub struct Admission {
    pub requests: Option<Quota>,
    pub tokens: TokenReservation,
}

/// Remaining now per limit, without counting (`GET /v1/me/rate-limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RateLimitStatus {
    pub rpm: Option<Quota>,
    pub tpm: Option<Quota>,
    pub rpd: Option<Quota>,
}

/// The rate limiter of the gateway; cheap to clone (clones share the counters).
///
/// **Redis failures fail open**: when Redis cannot be reached, errors or takes more
/// than a second, the request is admitted without counting and a `tracing::warn!` is
/// logged, because rate limiting must never take the gateway down. After a failure
/// Redis is skipped for a second (requests are admitted at once, without waiting on
/// it), then tried again. Budgets and wallets, which guard money, do not depend on
/// Redis and still apply.
#[derive(Clone)]
pub struct RateLimiter {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    InProcess(Arc<memory::MemoryStore>),
    Redis(redis_store::RedisStore),
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("backend", &self.backend_name())
            .finish()
    }
}

impl RateLimiter {
    /// Counters in this process only (one instance).
    pub fn in_process() -> Self {
        Self {
            backend: Backend::InProcess(Arc::new(memory::MemoryStore::new())),
        }
    }

    /// Counters in Redis, shared by every instance using the same Redis. Fails when
    /// Redis cannot be reached now; later failures fail open (see [`RateLimiter`]).
    pub async fn redis(url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            backend: Backend::Redis(redis_store::RedisStore::connect(url).await?),
        })
    }

    /// `"in_process"` or `"redis"`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::InProcess(_) => "in_process",
            Backend::Redis(_) => "redis",
        }
    }

    /// Admits and counts one request against RPM and RPD, or refuses it without
    /// counting when either window is full.
    pub async fn check_request(
        &self,
        subject: Uuid,
        limits: &Limits,
        now: DateTime<Utc>,
    ) -> Result<RequestAdmission, Refusal> {
        match self.acquire(subject, limits, true, None, now).await {
            Ok((requests, _)) => Ok(RequestAdmission { requests }),
            Err(Rejection::Limited(refusal)) => Err(refusal),
            // No tokens were asked for, so no estimate can be too large.
            Err(Rejection::TooLarge { .. }) => Ok(RequestAdmission { requests: None }),
        }
    }

    /// Takes `estimate` tokens from the TPM bucket, or refuses without taking any.
    pub async fn reserve_tokens(
        &self,
        subject: Uuid,
        limits: &Limits,
        estimate: u64,
        now: DateTime<Utc>,
    ) -> Result<TokenReservation, Rejection> {
        let (_, tokens) = self
            .acquire(subject, limits, false, Some(estimate), now)
            .await?;
        Ok(tokens)
    }

    /// [`check_request`](Self::check_request) and [`reserve_tokens`](Self::reserve_tokens)
    /// in one atomic step: either both are counted or neither is.
    pub async fn admit(
        &self,
        subject: Uuid,
        limits: &Limits,
        estimate: u64,
        now: DateTime<Utc>,
    ) -> Result<Admission, Rejection> {
        let (requests, tokens) = self
            .acquire(subject, limits, true, Some(estimate), now)
            .await?;
        Ok(Admission { requests, tokens })
    }

    /// Settles a reservation: returns `reserved - actual` tokens to the bucket (never
    /// above its capacity), or takes the extra, possibly driving the bucket below 0
    /// so that later reservations wait until it refills.
    pub async fn reconcile(&self, reservation: TokenReservation, actual: u64, now: DateTime<Utc>) {
        let Some(tpm) = reservation.tpm.filter(|&tpm| tpm > 0) else {
            return;
        };
        let delta = i128::from(reservation.reserved) - i128::from(actual);
        if delta == 0 {
            return;
        }
        let delta_units = (delta * i128::from(UNITS_PER_TOKEN))
            .clamp(i128::from(MIN_UNITS), -i128::from(MIN_UNITS));
        let delta_units = i64::try_from(delta_units).unwrap_or(0);
        let now_ms = now.timestamp_millis();
        match &self.backend {
            Backend::InProcess(store) => {
                store.adjust(reservation.subject, tpm, delta_units, now_ms)
            }
            Backend::Redis(store) => {
                // On failure the tokens stay as reserved (logged by the store).
                let _ = store
                    .adjust(reservation.subject, tpm, delta_units, now_ms)
                    .await;
            }
        }
    }

    /// Where each set limit stands now, without counting anything. When Redis fails,
    /// every limit shows as untouched (requests are being let through then).
    pub async fn status(
        &self,
        subject: Uuid,
        limits: &Limits,
        now: DateTime<Utc>,
    ) -> RateLimitStatus {
        let now_ms = now.timestamp_millis();
        let tpm = limits.tpm.filter(|&tpm| tpm > 0);
        let peek = match &self.backend {
            Backend::InProcess(store) => store.peek(subject, tpm, now_ms),
            Backend::Redis(store) => store
                .peek(subject, limits, tpm, now_ms)
                .await
                .unwrap_or_else(|| Snapshot::untouched(tpm)),
        };
        RateLimitStatus {
            rpm: limits
                .rpm
                .map(|limit| window_quota(limit, peek.minute, Window::Minute, now_ms)),
            tpm: limits.tpm.map(|limit| match tpm {
                Some(tpm) => tokens_quota(tpm, peek.tokens, now_ms),
                None => quota(u64::from(limit), 0, now_ms, now_ms),
            }),
            rpd: limits
                .rpd
                .map(|limit| window_quota(limit, peek.day, Window::Day, now_ms)),
        }
    }

    async fn acquire(
        &self,
        subject: Uuid,
        limits: &Limits,
        count_request: bool,
        estimate: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<(Option<Quota>, TokenReservation), Rejection> {
        let take = match (estimate, limits.tpm) {
            (Some(estimate), Some(capacity)) if estimate > u64::from(capacity) => {
                return Err(Rejection::TooLarge { estimate, capacity });
            }
            // With a capacity of 0 only an estimate of 0 gets here: nothing to take.
            (Some(estimate), Some(tpm)) if tpm > 0 => Some(Take {
                tpm,
                tokens: estimate,
                units: i64::try_from(estimate).unwrap_or(0) * UNITS_PER_TOKEN, // <= tpm
            }),
            _ => None,
        };
        let step = Step {
            rpm: limits.rpm.filter(|_| count_request),
            rpd: limits.rpd.filter(|_| count_request),
            take,
        };
        if step.rpm.is_none() && step.rpd.is_none() && step.take.is_none() {
            return Ok((None, TokenReservation::nothing(subject)));
        }
        let now_ms = now.timestamp_millis();
        let snapshot = match &self.backend {
            Backend::InProcess(store) => store.acquire(subject, &step, now_ms),
            Backend::Redis(store) => match store.acquire(subject, &step, now_ms).await {
                Some(snapshot) => snapshot,
                // Failed open (logged by the store).
                None => return Ok((None, TokenReservation::nothing(subject))),
            },
        };
        if !snapshot.admitted {
            return Err(match refusal(&step, &snapshot, now_ms) {
                Some(refusal) => Rejection::Limited(refusal),
                // Unreachable while the backends agree with `refusal`; fail open.
                None => {
                    tracing::warn!("rate limiter refused without a full limit; admitting");
                    return Ok((None, TokenReservation::nothing(subject)));
                }
            });
        }
        let requests = requests_quota(&step, &snapshot, now_ms);
        let tokens = match step.take {
            Some(take) => TokenReservation {
                subject,
                tpm: Some(take.tpm),
                reserved: take.tokens,
                quota: Some(tokens_quota(take.tpm, snapshot.tokens, now_ms)),
            },
            None => TokenReservation::nothing(subject),
        };
        Ok((requests, tokens))
    }
}
