//! Self-service money views for `sk-eu_*` keys: `/v1/me/budget`,
//! `/v1/me/budget/transactions`, `/v1/me/rate-limits`.

use axum::extract::State;
use serde::Serialize;

use crate::auth::EndUserKey;
use crate::billing::budgets::{self, BudgetView};
use crate::billing::ledger::{self, CursorQuery, LedgerEntry};
use crate::error::Result;
use crate::http::extract::ApiQuery;
use crate::http::response::{CursorPage, Data};
use crate::management::budgets::CursorParams;
use crate::ratelimit::{Limits, RateLimitStatus};
use crate::state::AppState;
use crate::tenancy::platforms;
use crate::tenancy::rate_limits::RateLimits;

/// The budget in the platform's display units (`credits_per_usd` × USD).
#[derive(Serialize, utoipa::ToSchema)]
pub struct DisplayAmounts {
    unit: String,
    credits_per_usd: f64,
    max: f64,
    used: f64,
    held: f64,
    remaining: f64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MyBudget {
    #[serde(flatten)]
    budget: BudgetView,
    display: DisplayAmounts,
}

fn to_units(usd: crate::billing::Money, rate: f64) -> f64 {
    // Display only: two decimals of the platform's unit.
    (usd.to_usd() * rate * 100.0).round() / 100.0
}

#[utoipa::path(
    get,
    path = "/v1/me/budget",
    tag = "self-service",
    security(("end_user_key" = [])),
    responses((status = 200, description = "The end user's budget, also in the platform's display units", body = crate::http::response::DataBody<MyBudget>), crate::openapi::errors::KeyErrors),
)]
pub async fn budget(State(state): State<AppState>, me: EndUserKey) -> Result<Data<MyBudget>> {
    let budget = budgets::get(&state.db, &state.clock, me.ctx.platform_id, me.end_user_id).await?;
    let platform = platforms::get(&state.db, me.ctx.platform_id).await?;
    let rate = platform.credits_per_usd;
    let display = DisplayAmounts {
        unit: platform.display_unit,
        credits_per_usd: rate,
        max: to_units(budget.max_usd, rate),
        used: to_units(budget.used_usd, rate),
        held: to_units(budget.held_usd, rate),
        remaining: to_units(budget.remaining_usd, rate),
    };
    Ok(Data(MyBudget { budget, display }))
}

#[utoipa::path(
    get,
    path = "/v1/me/budget/transactions",
    tag = "self-service",
    params(CursorParams),
    security(("end_user_key" = [])),
    responses((status = 200, description = "The budget's ledger, newest first", body = crate::http::response::CursorPage<LedgerEntry>), crate::openapi::errors::KeyErrors),
)]
pub async fn transactions(
    State(state): State<AppState>,
    me: EndUserKey,
    ApiQuery(params): ApiQuery<CursorParams>,
) -> Result<CursorPage<LedgerEntry>> {
    let query = CursorQuery::parse(params.cursor.as_deref(), params.limit)?;
    ledger::budget_entries(&state.db, me.ctx.platform_id, me.end_user_id, &query).await
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MyRateLimits {
    limits: RateLimits,
    /// What is left now in each window (not counting this request's own check).
    status: RateLimitStatus,
}

#[utoipa::path(
    get,
    path = "/v1/me/rate-limits",
    tag = "self-service",
    security(("end_user_key" = [])),
    responses((status = 200, description = "The effective limits and what is left in each window", body = crate::http::response::DataBody<MyRateLimits>), crate::openapi::errors::KeyErrors),
)]
pub async fn rate_limits(
    State(state): State<AppState>,
    me: EndUserKey,
) -> Result<Data<MyRateLimits>> {
    let limits = state
        .limits_cache
        .get(&state.db, me.ctx.platform_id, me.end_user_id)
        .await?;
    let status = state
        .limiter
        .status(me.end_user_id, &Limits::from(limits), state.clock.now())
        .await;
    Ok(Data(MyRateLimits { limits, status }))
}
