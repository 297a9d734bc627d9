//! `/v1/platforms/{pid}/end-users/{euid}/budget[...]`.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::PlatformScope;
use crate::billing::budgets::{self, AmountInput, BudgetInput, BudgetPatch, BudgetView, Movement};
use crate::billing::ledger::{self, CursorQuery, LedgerEntry};
use crate::error::Result;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, IdempotentJson, idempotent_response};
use crate::http::response::{Created, CursorPage, Data};
use crate::state::AppState;
use crate::tenancy::rate_limits::check_end_user;

type UserPath = ApiPath<(String, Uuid)>;

pub async fn create(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, euid)): UserPath,
    ApiJson(input): ApiJson<BudgetInput>,
) -> Result<Created<BudgetView>> {
    budgets::create(
        &state.db,
        &state.clock,
        scope.platform_id,
        euid,
        &input,
        &scope.actor(),
    )
    .await
    .map(Created)
}

pub async fn show(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, euid)): UserPath,
) -> Result<Data<BudgetView>> {
    budgets::get(&state.db, &state.clock, scope.platform_id, euid)
        .await
        .map(Data)
}

pub async fn update(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, euid)): UserPath,
    ApiJson(patch): ApiJson<BudgetPatch>,
) -> Result<Data<BudgetView>> {
    budgets::patch(
        &state.db,
        &state.clock,
        scope.platform_id,
        euid,
        &patch,
        &scope.actor(),
    )
    .await
    .map(Data)
}

pub async fn remove(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, euid)): UserPath,
) -> Result<Data<serde_json::Value>> {
    budgets::delete(&state.db, scope.platform_id, euid).await?;
    Ok(Data(
        serde_json::json!({"end_user_id": euid, "deleted": true}),
    ))
}

async fn move_money(
    state: &AppState,
    scope: &PlatformScope,
    euid: Uuid,
    movement: Movement,
    request: IdempotentJson<AmountInput>,
) -> Result<Response> {
    let (status, body, replayed) = budgets::move_money(
        &state.db,
        &state.clock,
        scope.platform_id,
        euid,
        movement,
        &request.body,
        &scope.actor(),
        request.idempotency.as_ref(),
    )
    .await?;
    Ok(idempotent_response(status, body, replayed))
}

pub async fn topup(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, euid)): UserPath,
    request: IdempotentJson<AmountInput>,
) -> Result<Response> {
    move_money(&state, &scope, euid, Movement::Topup, request).await
}

pub async fn debit(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, euid)): UserPath,
    request: IdempotentJson<AmountInput>,
) -> Result<Response> {
    move_money(&state, &scope, euid, Movement::Debit, request).await
}

pub async fn suspend(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, euid)): UserPath,
) -> Result<Data<BudgetView>> {
    budgets::set_suspended(
        &state.db,
        &state.clock,
        scope.platform_id,
        euid,
        true,
        &scope.actor(),
    )
    .await
    .map(Data)
}

pub async fn unsuspend(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, euid)): UserPath,
) -> Result<Data<BudgetView>> {
    budgets::set_suspended(
        &state.db,
        &state.clock,
        scope.platform_id,
        euid,
        false,
        &scope.actor(),
    )
    .await
    .map(Data)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CursorParams {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

pub async fn transactions(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, euid)): UserPath,
    ApiQuery(params): ApiQuery<CursorParams>,
) -> Result<CursorPage<LedgerEntry>> {
    let query = CursorQuery::parse(params.cursor.as_deref(), params.limit)?;
    check_end_user(&state.db, scope.platform_id, euid).await?;
    ledger::budget_entries(&state.db, scope.platform_id, euid, &query).await
}
