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

#[utoipa::path(
    post,
    path = "/v1/platforms/{pid}/end-users/{euid}/budget",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), ("euid" = Uuid, Path, description = "The end user id")),
    request_body = BudgetInput,
    security(("platform_key" = [])),
    responses((status = 201, description = "The budget", body = crate::http::response::DataBody<BudgetView>), (status = 409, description = "The end user already has a budget", body = crate::openapi::errors::ErrorEnvelope), crate::openapi::errors::KeyBodyErrors),
)]
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

#[utoipa::path(
    get,
    path = "/v1/platforms/{pid}/end-users/{euid}/budget",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), ("euid" = Uuid, Path, description = "The end user id")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The budget", body = crate::http::response::DataBody<BudgetView>), crate::openapi::errors::KeyErrors),
)]
pub async fn show(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, euid)): UserPath,
) -> Result<Data<BudgetView>> {
    budgets::get(&state.db, &state.clock, scope.platform_id, euid)
        .await
        .map(Data)
}

#[utoipa::path(
    patch,
    path = "/v1/platforms/{pid}/end-users/{euid}/budget",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), ("euid" = Uuid, Path, description = "The end user id")),
    request_body = BudgetPatch,
    security(("platform_key" = [])),
    responses((status = 200, description = "The budget as changed", body = crate::http::response::DataBody<BudgetView>), crate::openapi::errors::KeyBodyErrors),
)]
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

#[utoipa::path(
    delete,
    path = "/v1/platforms/{pid}/end-users/{euid}/budget",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), ("euid" = Uuid, Path, description = "The end user id")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The budget is deleted", body = crate::http::response::DataBody<BudgetDeleted>), (status = 409, description = "Money is held on the budget", body = crate::openapi::errors::ErrorEnvelope), crate::openapi::errors::KeyErrors),
)]
pub async fn remove(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, euid)): UserPath,
) -> Result<Data<BudgetDeleted>> {
    budgets::delete(&state.db, scope.platform_id, euid).await?;
    Ok(Data(BudgetDeleted {
        end_user_id: euid,
        deleted: true,
    }))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct BudgetDeleted {
    end_user_id: Uuid,
    deleted: bool,
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

#[utoipa::path(
    post,
    path = "/v1/platforms/{pid}/end-users/{euid}/budget/topup",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), ("euid" = Uuid, Path, description = "The end user id"), ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for a repeated key (24 h)")),
    request_body = AmountInput,
    security(("platform_key" = [])),
    responses((status = 200, description = "The budget after the top-up", body = crate::http::response::DataBody<BudgetView>), (status = 409, description = "The Idempotency-Key was used with another body, or its first request is still running", body = crate::openapi::errors::ErrorEnvelope), crate::openapi::errors::KeyBodyErrors),
)]
pub async fn topup(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, euid)): UserPath,
    request: IdempotentJson<AmountInput>,
) -> Result<Response> {
    move_money(&state, &scope, euid, Movement::Topup, request).await
}

#[utoipa::path(
    post,
    path = "/v1/platforms/{pid}/end-users/{euid}/budget/debit",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), ("euid" = Uuid, Path, description = "The end user id"), ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for a repeated key (24 h)")),
    request_body = AmountInput,
    security(("platform_key" = [])),
    responses((status = 200, description = "The budget after the debit", body = crate::http::response::DataBody<BudgetView>), (status = 409, description = "The Idempotency-Key was used with another body, or its first request is still running", body = crate::openapi::errors::ErrorEnvelope), crate::openapi::errors::KeyBodyErrors),
)]
pub async fn debit(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, euid)): UserPath,
    request: IdempotentJson<AmountInput>,
) -> Result<Response> {
    move_money(&state, &scope, euid, Movement::Debit, request).await
}

#[utoipa::path(
    post,
    path = "/v1/platforms/{pid}/end-users/{euid}/budget/suspend",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), ("euid" = Uuid, Path, description = "The end user id")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The budget, suspended", body = crate::http::response::DataBody<BudgetView>), crate::openapi::errors::KeyErrors),
)]
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

#[utoipa::path(
    post,
    path = "/v1/platforms/{pid}/end-users/{euid}/budget/unsuspend",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), ("euid" = Uuid, Path, description = "The end user id")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The budget, no longer suspended", body = crate::http::response::DataBody<BudgetView>), crate::openapi::errors::KeyErrors),
)]
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CursorParams {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/v1/platforms/{pid}/end-users/{euid}/budget/transactions",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), ("euid" = Uuid, Path, description = "The end user id"), CursorParams),
    security(("platform_key" = [])),
    responses((status = 200, description = "The budget's ledger, newest first", body = crate::http::response::CursorPage<LedgerEntry>), crate::openapi::errors::KeyErrors),
)]
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
