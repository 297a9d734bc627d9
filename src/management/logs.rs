//! `GET /v1/platforms/{pid}/logs` and `GET /v1/me/logs`.

use axum::extract::State;

use crate::auth::{EndUserKey, PlatformScope};
use crate::error::Result;
use crate::http::extract::ApiQuery;
use crate::http::response::CursorPage;
use crate::state::AppState;
use crate::usage::query::{self, LogEntry, LogQuery};

#[utoipa::path(
    get,
    path = "/v1/platforms/{pid}/logs",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), LogQuery),
    security(("platform_key" = [])),
    responses((status = 200, description = "The platform's usage logs, newest first", body = crate::http::response::CursorPage<LogEntry>), crate::openapi::errors::KeyErrors),
)]
pub async fn platform(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<CursorPage<LogEntry>> {
    query::list(&state.db, scope.platform_id, &q).await
}

#[utoipa::path(
    get,
    path = "/v1/me/logs",
    tag = "self-service",
    params(LogQuery),
    security(("end_user_key" = [])),
    responses((status = 200, description = "The end user's own usage logs, newest first", body = crate::http::response::CursorPage<LogEntry>), crate::openapi::errors::KeyErrors),
)]
pub async fn mine(
    State(state): State<AppState>,
    me: EndUserKey,
    ApiQuery(mut q): ApiQuery<LogQuery>,
) -> Result<CursorPage<LogEntry>> {
    q.end_user_id = Some(me.end_user_id);
    query::list(&state.db, me.ctx.platform_id, &q).await
}
