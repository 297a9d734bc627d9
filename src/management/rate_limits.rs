//! `/v1/platforms/{pid}/rate-limits` (platform default) and
//! `/v1/platforms/{pid}/end-users/{euid}/rate-limits` (override).

use axum::extract::State;
use uuid::Uuid;

use crate::auth::PlatformScope;
use crate::error::Result;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::response::Data;
use crate::state::AppState;
use crate::tenancy::rate_limits::{self, EndUserLimitsView, RateLimitInput, RateLimits};

#[utoipa::path(
    get,
    path = "/v1/platforms/{pid}/rate-limits",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The platform's default limits", body = crate::http::response::DataBody<RateLimits>), crate::openapi::errors::KeyErrors),
)]
pub async fn show_platform(
    State(state): State<AppState>,
    scope: PlatformScope,
) -> Result<Data<RateLimits>> {
    rate_limits::platform_default(&state.db, scope.platform_id)
        .await
        .map(Data)
}

#[utoipa::path(
    put,
    path = "/v1/platforms/{pid}/rate-limits",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id")),
    request_body = RateLimitInput,
    security(("platform_key" = [])),
    responses((status = 200, description = "The platform's default limits as set", body = crate::http::response::DataBody<RateLimits>), crate::openapi::errors::KeyBodyErrors),
)]
pub async fn put_platform(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiJson(input): ApiJson<RateLimitInput>,
) -> Result<Data<RateLimits>> {
    let limits = RateLimits::parse(&input)?;
    let saved =
        rate_limits::set_platform_default(&state.db, scope.platform_id, limits, state.clock.now())
            .await?;
    state.limits_cache.invalidate_platform(scope.platform_id);
    Ok(Data(saved))
}

#[utoipa::path(
    get,
    path = "/v1/platforms/{pid}/end-users/{euid}/rate-limits",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), ("euid" = Uuid, Path, description = "The end user id")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The end user's override and effective limits", body = crate::http::response::DataBody<EndUserLimitsView>), crate::openapi::errors::KeyErrors),
)]
pub async fn show_end_user(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, euid)): ApiPath<(String, Uuid)>,
) -> Result<Data<EndUserLimitsView>> {
    rate_limits::check_end_user(&state.db, scope.platform_id, euid).await?;
    rate_limits::end_user_view(&state.db, scope.platform_id, euid)
        .await
        .map(Data)
}

#[utoipa::path(
    put,
    path = "/v1/platforms/{pid}/end-users/{euid}/rate-limits",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), ("euid" = Uuid, Path, description = "The end user id")),
    request_body = RateLimitInput,
    security(("platform_key" = [])),
    responses((status = 200, description = "The end user's override as set", body = crate::http::response::DataBody<EndUserLimitsView>), crate::openapi::errors::KeyBodyErrors),
)]
pub async fn put_end_user(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, euid)): ApiPath<(String, Uuid)>,
    ApiJson(input): ApiJson<RateLimitInput>,
) -> Result<Data<EndUserLimitsView>> {
    let limits = RateLimits::parse(&input)?;
    let view = rate_limits::set_end_user(
        &state.db,
        scope.platform_id,
        euid,
        limits,
        state.clock.now(),
    )
    .await?;
    state.limits_cache.invalidate(euid);
    Ok(Data(view))
}

#[utoipa::path(
    delete,
    path = "/v1/platforms/{pid}/end-users/{euid}/rate-limits",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), ("euid" = Uuid, Path, description = "The end user id")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The override is cleared: the platform default applies", body = crate::http::response::DataBody<EndUserLimitsView>), crate::openapi::errors::KeyErrors),
)]
pub async fn delete_end_user(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, euid)): ApiPath<(String, Uuid)>,
) -> Result<Data<EndUserLimitsView>> {
    let view = rate_limits::clear_end_user(&state.db, scope.platform_id, euid).await?;
    state.limits_cache.invalidate(euid);
    Ok(Data(view))
}
