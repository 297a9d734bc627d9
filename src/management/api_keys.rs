//! `/v1/platforms/{pid}/api-keys`: list (prefixes only), create (raw key once), revoke.

use axum::body::Bytes;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::PlatformScope;
use crate::domain::DisplayName;
use crate::error::Result;
use crate::http::extract::{ApiPath, ApiQuery, json_or_default};
use crate::http::response::{Created, Data, PageQuery, PageRequest, Paged};
use crate::state::AppState;
use crate::store::api_keys::{self, KeyOwner};
use crate::tenancy::keys::{self, IssuedKey, KeyView};

#[utoipa::path(
    get,
    path = "/v1/platforms/{pid}/api-keys",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), crate::http::response::PageQuery),
    security(("platform_key" = [])),
    responses((status = 200, description = "The platform's keys (prefixes only)", body = crate::http::response::Paged<KeyView>), crate::openapi::errors::KeyErrors),
)]
pub async fn list(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Paged<KeyView>> {
    let page = PageRequest::parse(query.page, query.limit)?;
    let rows = api_keys::list_platform_keys(
        &state.db,
        scope.platform_id,
        i64::from(page.limit),
        page.offset(),
    )
    .await?;
    let total = api_keys::count_platform_keys(&state.db, scope.platform_id).await?;
    Ok(page.into_page(rows.into_iter().map(Into::into).collect(), total))
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    name: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/platforms/{pid}/api-keys",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id")),
    request_body = Option<CreateKey>,
    security(("platform_key" = [])),
    responses((status = 201, description = "A new platform key, shown once", body = crate::http::response::DataBody<IssuedKey>), crate::openapi::errors::KeyBodyErrors),
)]
pub async fn create(
    State(state): State<AppState>,
    scope: PlatformScope,
    body: Bytes,
) -> Result<Created<IssuedKey>> {
    let request: CreateKey = json_or_default(&body)?;
    let name = request
        .name
        .map(|n| DisplayName::parse("name", n).map(DisplayName::into_inner))
        .transpose()?;
    keys::create_platform_key(&state.db, scope.platform_id, name)
        .await
        .map(Created)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Revoked {
    id: Uuid,
    revoked: bool,
    revoked_at: DateTime<Utc>,
}

#[utoipa::path(
    delete,
    path = "/v1/platforms/{pid}/api-keys/{key_id}",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), ("key_id" = Uuid, Path, description = "The key id")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The key is revoked", body = crate::http::response::DataBody<Revoked>), crate::openapi::errors::KeyErrors),
)]
pub async fn revoke(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, key_id)): ApiPath<(String, Uuid)>,
) -> Result<Data<Revoked>> {
    let owner = KeyOwner::Platform(scope.platform_id);
    let revoked_at = keys::revoke(&state.db, &state.auth, owner, key_id).await?;
    Ok(Data(Revoked {
        id: key_id,
        revoked: true,
        revoked_at,
    }))
}

/// `GET .../end-users/{euid}/api-keys`: the end user's live keys (prefixes only).
/// Every `POST .../end-users` for an existing `external_id` adds one.
#[utoipa::path(
    get,
    path = "/v1/platforms/{pid}/end-users/{euid}/api-keys",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), ("euid" = Uuid, Path, description = "The end user id"), crate::http::response::PageQuery),
    security(("platform_key" = [])),
    responses((status = 200, description = "The end user's keys (prefixes only)", body = crate::http::response::Paged<KeyView>), crate::openapi::errors::KeyErrors),
)]
pub async fn list_end_user(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, end_user_id)): ApiPath<(String, Uuid)>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Paged<KeyView>> {
    let page = PageRequest::parse(query.page, query.limit)?;
    crate::store::end_users::ensure(&state.db, scope.platform_id, end_user_id).await?;
    let rows = api_keys::list_end_user_keys(
        &state.db,
        scope.platform_id,
        end_user_id,
        i64::from(page.limit),
        page.offset(),
    )
    .await?;
    let total = api_keys::count_end_user_keys(&state.db, scope.platform_id, end_user_id).await?;
    Ok(page.into_page(rows.into_iter().map(Into::into).collect(), total))
}

/// `DELETE .../end-users/{euid}/api-keys/{key_id}`: revoked at once, everywhere.
#[utoipa::path(
    delete,
    path = "/v1/platforms/{pid}/end-users/{euid}/api-keys/{key_id}",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), ("euid" = Uuid, Path, description = "The end user id"), ("key_id" = Uuid, Path, description = "The key id")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The key is revoked", body = crate::http::response::DataBody<Revoked>), crate::openapi::errors::KeyErrors),
)]
pub async fn revoke_end_user(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, end_user_id, key_id)): ApiPath<(String, Uuid, Uuid)>,
) -> Result<Data<Revoked>> {
    let owner = KeyOwner::EndUser {
        platform_id: scope.platform_id,
        end_user_id,
    };
    let revoked_at = keys::revoke(&state.db, &state.auth, owner, key_id).await?;
    Ok(Data(Revoked {
        id: key_id,
        revoked: true,
        revoked_at,
    }))
}
