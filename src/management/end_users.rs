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
use crate::tenancy::end_users::{self, CreateEndUser, EndUserView, PatchEndUser};

/// 201 with a key when the end user is new; 200 with a fresh key when it exists.
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    page: Option<u32>,
    limit: Option<u32>,
    external_id: Option<String>,
}

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

pub async fn show(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, id)): ApiPath<(String, Uuid)>,
) -> Result<Data<EndUserView>> {
    end_users::get(&state.db, scope.platform_id, id)
        .await
        .map(Data)
}

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

#[derive(Serialize)]
pub struct Deleted {
    id: Uuid,
    deleted: bool,
}

pub async fn remove(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, id)): ApiPath<(String, Uuid)>,
) -> Result<Data<Deleted>> {
    end_users::delete(&state.db, &state.auth, scope.platform_id, id).await?;
    Ok(Data(Deleted { id, deleted: true }))
}
