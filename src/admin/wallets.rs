//! `/admin/v1/platforms/{pid}/wallet[...]`: the operator meters, tops up and
//! reads a platform's wallet.

use axum::extract::State;
use axum::response::Response;
use uuid::Uuid;

use crate::auth::Admin;
use crate::billing::ledger::{self, CursorQuery, LedgerEntry};
use crate::billing::wallets::{self, WalletSettings, WalletTopup, WalletView};
use crate::error::Result;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, IdempotentJson, idempotent_response};
use crate::http::response::{CursorPage, Data};
use crate::management::budgets::CursorParams;
use crate::state::AppState;
use crate::tenancy::platforms;

#[utoipa::path(
    get,
    path = "/admin/v1/platforms/{pid}/wallet",
    tag = "operator",
    params(("pid" = Uuid, Path, description = "The platform id")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The platform's wallet", body = crate::http::response::DataBody<WalletView>), crate::openapi::errors::AdminErrors),
)]
pub async fn show(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(pid): ApiPath<Uuid>,
) -> Result<Data<WalletView>> {
    wallets::get(&state.db, &state.clock, pid).await.map(Data)
}

#[utoipa::path(
    put,
    path = "/admin/v1/platforms/{pid}/wallet",
    tag = "operator",
    params(("pid" = Uuid, Path, description = "The platform id")),
    request_body = WalletSettings,
    security(("admin_token" = [])),
    responses((status = 200, description = "The wallet as configured", body = crate::http::response::DataBody<WalletView>), crate::openapi::errors::AdminBodyErrors),
)]
pub async fn configure(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(pid): ApiPath<Uuid>,
    ApiJson(settings): ApiJson<WalletSettings>,
) -> Result<Data<WalletView>> {
    wallets::configure(&state.db, &state.clock, pid, &settings)
        .await
        .map(Data)
}

#[utoipa::path(
    post,
    path = "/admin/v1/platforms/{pid}/wallet/topup",
    tag = "operator",
    params(("pid" = Uuid, Path, description = "The platform id"), ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for a repeated key (24 h)")),
    request_body = WalletTopup,
    security(("admin_token" = [])),
    responses((status = 200, description = "The wallet after the top-up", body = crate::http::response::DataBody<WalletView>), (status = 409, description = "The Idempotency-Key was used with another body, or its first request is still running", body = crate::openapi::errors::ErrorEnvelope), crate::openapi::errors::AdminBodyErrors),
)]
pub async fn topup(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(pid): ApiPath<Uuid>,
    request: IdempotentJson<WalletTopup>,
) -> Result<Response> {
    let (status, body, replayed) = wallets::topup(
        &state.db,
        &state.clock,
        pid,
        &request.body,
        request.idempotency.as_ref(),
    )
    .await?;
    Ok(idempotent_response(status, body, replayed))
}

#[utoipa::path(
    get,
    path = "/admin/v1/platforms/{pid}/wallet/transactions",
    tag = "operator",
    params(("pid" = Uuid, Path, description = "The platform id"), CursorParams),
    security(("admin_token" = [])),
    responses((status = 200, description = "The wallet's ledger, newest first", body = crate::http::response::CursorPage<LedgerEntry>), crate::openapi::errors::AdminErrors),
)]
pub async fn transactions(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(pid): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<CursorParams>,
) -> Result<CursorPage<LedgerEntry>> {
    let query = CursorQuery::parse(params.cursor.as_deref(), params.limit)?;
    platforms::get(&state.db, pid).await?;
    ledger::wallet_entries(&state.db, pid, &query).await
}
