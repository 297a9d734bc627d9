//! The `X-RateLimit-*` headers (OpenAI's names and duration format) and the HTTP
//! answers to refusals.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::{Admission, LimitKind, Quota, Refusal, Rejection, RequestAdmission};
use crate::error::Error;

pub const LIMIT_REQUESTS: HeaderName = HeaderName::from_static("x-ratelimit-limit-requests");
pub const REMAINING_REQUESTS: HeaderName =
    HeaderName::from_static("x-ratelimit-remaining-requests");
pub const RESET_REQUESTS: HeaderName = HeaderName::from_static("x-ratelimit-reset-requests");
pub const LIMIT_TOKENS: HeaderName = HeaderName::from_static("x-ratelimit-limit-tokens");
pub const REMAINING_TOKENS: HeaderName = HeaderName::from_static("x-ratelimit-remaining-tokens");
pub const RESET_TOKENS: HeaderName = HeaderName::from_static("x-ratelimit-reset-tokens");

/// `X-RateLimit-{Limit,Remaining,Reset}-Requests` from `requests` and the same with
/// `-Tokens` from `tokens`; nothing for a `None`. Reset is a duration from now, as
/// OpenAI writes it: `850ms`, `15s`, `1m0s`, `23h59m15s` (whole seconds rounded up
/// from one second on).
pub fn rate_limit_headers(requests: Option<&Quota>, tokens: Option<&Quota>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(quota) = requests {
        insert_quota(
            &mut headers,
            quota,
            [LIMIT_REQUESTS, REMAINING_REQUESTS, RESET_REQUESTS],
        );
    }
    if let Some(quota) = tokens {
        insert_quota(
            &mut headers,
            quota,
            [LIMIT_TOKENS, REMAINING_TOKENS, RESET_TOKENS],
        );
    }
    headers
}

fn insert_quota(
    headers: &mut HeaderMap,
    quota: &Quota,
    [limit, remaining, reset]: [HeaderName; 3],
) {
    headers.insert(limit, HeaderValue::from(quota.limit));
    headers.insert(remaining, HeaderValue::from(quota.remaining));
    if let Ok(value) = HeaderValue::try_from(format_reset(quota.reset_after)) {
        headers.insert(reset, value);
    }
}

/// A duration the way OpenAI's `X-RateLimit-Reset-*` headers write it.
pub(crate) fn format_reset(after: Duration) -> String {
    let ms = after.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = ms.div_ceil(1000);
    let (hours, minutes, seconds) = (secs / 3600, secs / 60 % 60, secs % 60);
    if hours > 0 {
        format!("{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m{seconds}s")
    } else {
        format!("{seconds}s")
    }
}

impl RequestAdmission {
    pub fn headers(&self) -> HeaderMap {
        rate_limit_headers(self.requests.as_ref(), None)
    }
}

impl Admission {
    pub fn headers(&self) -> HeaderMap {
        rate_limit_headers(self.requests.as_ref(), self.tokens.quota.as_ref())
    }
}

impl Refusal {
    /// `Retry-After` and the refused limit's `X-RateLimit-*` headers (remaining 0).
    pub fn headers(&self) -> HeaderMap {
        let quota = Quota {
            limit: self.limit,
            remaining: 0,
            reset_at: self.reset_at,
            reset_after: Duration::from_secs(self.retry_after_secs),
        };
        let mut headers = match self.kind {
            LimitKind::Rpm | LimitKind::Rpd => rate_limit_headers(Some(&quota), None),
            LimitKind::Tpm => rate_limit_headers(None, Some(&quota)),
        };
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from(self.retry_after_secs),
        );
        headers
    }
}

/// 429 `rate_limited` with `Retry-After` (the `X-RateLimit-*` headers need
/// [`Refusal::headers`] or the `IntoResponse` impl).
impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Self {
        Error::rate_limited(refusal.retry_after_secs, refusal.to_string())
    }
}

/// A limit reached: 429. An estimate above the TPM capacity: 400 `bad_request`, since
/// retrying can never succeed (a 429 would invite SDKs to retry in a loop).
impl From<Rejection> for Error {
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::Limited(refusal) => refusal.into(),
            Rejection::TooLarge { .. } => Error::bad_request(rejection.to_string()),
        }
    }
}

/// The error envelope (429) with `Retry-After` and the `X-RateLimit-*` headers.
impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let headers = self.headers();
        let mut response = Error::from(self).into_response();
        response.headers_mut().extend(headers);
        response
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self {
            Rejection::Limited(refusal) => refusal.into_response(),
            Rejection::TooLarge { .. } => Error::from(self).into_response(),
        }
    }
}
