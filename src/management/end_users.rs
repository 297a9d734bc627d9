//! `/v1/platforms/{pid}/end-users[/{euid}]`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::PlatformScope;
use crate::error::Result;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::response::{Created, Data, PageRequest, Paged};
use crate::state::AppState;
use crate::tenancy::end_users::{self, CreateEndUser, EndUserView, EndUserWithKey, PatchEndUser};

/// 201 with a key when the end user is new; 200 with a fresh key when it exists.
#[utoipa::path(
    post,
    path = "/v1/platforms/{pid}/end-users",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id")),
    request_body = CreateEndUser,
    security(("platform_key" = [])),
    responses((status = 201, description = "A new end user with a key (and its budget and limits)", body = crate::http::response::DataBody<EndUserWithKey>), (status = 200, description = "The end user exists (same external_id): a fresh key", body = crate::http::response::DataBody<EndUserWithKey>), crate::openapi::errors::KeyBodyErrors),
)]
pub async fn create(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiJson(request): ApiJson<CreateEndUser>,
) -> Result<Response> {
    let (user, created) = end_users::create_or_get(
        &state.db,
        &state.clock,
        scope.platform_id,
        request,
        &scope.actor(),
    )
    .await?;
    Ok(if created {
        Created(user).into_response()
    } else {
        Data(user).into_response()
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    page: Option<u32>,
    limit: Option<u32>,
    external_id: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/platforms/{pid}/end-users",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), ListQuery),
    security(("platform_key" = [])),
    responses((status = 200, description = "The platform's end users", body = crate::http::response::Paged<EndUserView>), crate::openapi::errors::KeyErrors),
)]
pub async fn list(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Paged<EndUserView>> {
    let page = PageRequest::parse(query.page, query.limit)?;
    let (users, total) =
        end_users::list(&state.db, scope.platform_id, query.external_id, page).await?;
    Ok(page.into_page(users, total))
}

#[utoipa::path(
    get,
    path = "/v1/platforms/{pid}/end-users/{euid}",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), ("euid" = Uuid, Path, description = "The end user id")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The end user", body = crate::http::response::DataBody<EndUserView>), crate::openapi::errors::KeyErrors),
)]
pub async fn show(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, id)): ApiPath<(String, Uuid)>,
) -> Result<Data<EndUserView>> {
    end_users::get(&state.db, scope.platform_id, id)
        .await
        .map(Data)
}

#[utoipa::path(
    patch,
    path = "/v1/platforms/{pid}/end-users/{euid}",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), ("euid" = Uuid, Path, description = "The end user id")),
    request_body = PatchEndUser,
    security(("platform_key" = [])),
    responses((status = 200, description = "The end user as changed", body = crate::http::response::DataBody<EndUserView>), crate::openapi::errors::KeyBodyErrors),
)]
pub async fn update(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, id)): ApiPath<(String, Uuid)>,
    ApiJson(patch): ApiJson<PatchEndUser>,
) -> Result<Data<EndUserView>> {
    end_users::update(&state.db, scope.platform_id, id, patch)
        .await
        .map(Data)
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = EndUserDeleted)]
pub struct Deleted {
    id: Uuid,
    deleted: bool,
}

#[utoipa::path(
    delete,
    path = "/v1/platforms/{pid}/end-users/{euid}",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), ("euid" = Uuid, Path, description = "The end user id")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The end user and its keys are deleted", body = crate::http::response::DataBody<Deleted>), crate::openapi::errors::KeyErrors),
)]
pub async fn remove(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, id)): ApiPath<(String, Uuid)>,
) -> Result<Data<Deleted>> {
    end_users::delete(&state.db, &state.auth, scope.platform_id, id).await?;
    Ok(Data(Deleted { id, deleted: true }))
}
