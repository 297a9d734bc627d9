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

pub async fn show(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(pid): ApiPath<Uuid>,
) -> Result<Data<WalletView>> {
    wallets::get(&state.db, &state.clock, pid).await.map(Data)
}

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
