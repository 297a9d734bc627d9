//! `GET /v1/platforms/{pid}/logs` and `GET /v1/me/logs`.

use axum::extract::State;

use crate::auth::{EndUserKey, PlatformScope};
use crate::error::Result;
use crate::http::extract::ApiQuery;
use crate::http::response::CursorPage;
use crate::state::AppState;
use crate::usage::query::{self, LogEntry, LogQuery};

pub async fn platform(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<CursorPage<LogEntry>> {
    query::list(&state.db, scope.platform_id, &q).await
}

pub async fn mine(
    State(state): State<AppState>,
    me: EndUserKey,
    ApiQuery(mut q): ApiQuery<LogQuery>,
) -> Result<CursorPage<LogEntry>> {
    q.end_user_id = Some(me.end_user_id);
    query::list(&state.db, me.ctx.platform_id, &q).await
}
