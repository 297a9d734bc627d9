//! Rate limits on every request made with an end-user key: RPM/RPD counted
//! before the handler runs (429 `rate_limited` with `Retry-After` when over), the
//! `X-RateLimit-*` headers added to the answer. Other keys pass untouched; their
//! handlers' extractors answer for bad keys.

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::{Caller, KeyKind};
use crate::ratelimit::Limits;
use crate::state::AppState;
use crate::tenancy::rate_limits::RateLimits;

impl From<RateLimits> for Limits {
    fn from(limits: RateLimits) -> Self {
        let narrow = |v: Option<i64>| v.map(|v| u32::try_from(v).unwrap_or(u32::MAX));
        Limits {
            rpm: narrow(limits.rpm_limit),
            tpm: narrow(limits.tpm_limit),
            rpd: narrow(limits.rpd_limit),
        }
    }
}

pub async fn enforce(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let caller = Caller::from_request_parts(&mut parts, &state).await;
    let request = Request::from_parts(parts, body);
    let ctx = match caller {
        Ok(Caller(ctx)) if ctx.kind == KeyKind::EndUser => ctx,
        _ => return next.run(request).await,
    };
    let Some(end_user_id) = ctx.end_user_id else {
        return next.run(request).await;
    };
    let limits = match state
        .limits_cache
        .get(&state.db, ctx.platform_id, end_user_id)
        .await
    {
        Ok(limits) => Limits::from(limits),
        Err(err) => return err.into_response(),
    };
    match state
        .limiter
        .check_request(end_user_id, &limits, state.clock.now())
        .await
    {
        Err(refusal) => refusal.into_response(),
        Ok(admission) => {
            let mut response = next.run(request).await;
            response.headers_mut().extend(admission.headers());
            response
        }
    }
}
