//! `GET`/`PATCH /v1/platforms/{pid}`.

use axum::extract::State;

use crate::auth::PlatformScope;
use crate::error::Result;
use crate::http::extract::ApiJson;
use crate::http::response::Data;
use crate::state::AppState;
use crate::tenancy::platforms::{self, PatchPlatform, PlatformView};

#[utoipa::path(
    get,
    path = "/v1/platforms/{pid}",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The platform", body = crate::http::response::DataBody<PlatformView>), crate::openapi::errors::KeyErrors),
)]
pub async fn show(
    State(state): State<AppState>,
    scope: PlatformScope,
) -> Result<Data<PlatformView>> {
    platforms::get(&state.db, scope.platform_id).await.map(Data)
}

#[utoipa::path(
    patch,
    path = "/v1/platforms/{pid}",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id")),
    request_body = PatchPlatform,
    security(("platform_key" = [])),
    responses((status = 200, description = "The platform as changed", body = crate::http::response::DataBody<PlatformView>), crate::openapi::errors::KeyBodyErrors),
)]
pub async fn update(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiJson(patch): ApiJson<PatchPlatform>,
) -> Result<Data<PlatformView>> {
    let updated = platforms::update(&state.db, scope.platform_id, patch).await;
    state.skills.forget_platform(scope.platform_id);
    updated.map(Data)
}
