//! `/admin/v1/platforms`: create (returns the first `sk-plat_*` once), list, get.

use axum::extract::State;
use uuid::Uuid;

use crate::auth::Admin;
use crate::error::Result;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::response::{Created, Data, PageQuery, PageRequest, Paged};
use crate::state::AppState;
use crate::store::platforms as platform_store;
use crate::tenancy::platforms::{self, CreatePlatform, CreatedPlatform, PlatformView};

#[utoipa::path(
    post,
    path = "/admin/v1/platforms",
    tag = "operator",
    request_body = CreatePlatform,
    security(("admin_token" = [])),
    responses((status = 201, description = "The platform with its first platform key, shown once", body = crate::http::response::DataBody<CreatedPlatform>), (status = 409, description = "A platform with this name exists", body = crate::openapi::errors::ErrorEnvelope), crate::openapi::errors::AdminBodyErrors),
)]
pub async fn create(
    State(state): State<AppState>,
    _: Admin,
    ApiJson(request): ApiJson<CreatePlatform>,
) -> Result<Created<CreatedPlatform>> {
    platforms::create(&state.db, request).await.map(Created)
}

#[utoipa::path(
    get,
    path = "/admin/v1/platforms",
    tag = "operator",
    params(crate::http::response::PageQuery),
    security(("admin_token" = [])),
    responses((status = 200, description = "Every platform", body = crate::http::response::Paged<PlatformView>), crate::openapi::errors::AdminErrors),
)]
pub async fn list(
    State(state): State<AppState>,
    _: Admin,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Paged<PlatformView>> {
    let page = PageRequest::parse(query.page, query.limit)?;
    let rows = platform_store::list(&state.db, i64::from(page.limit), page.offset()).await?;
    let total = platform_store::count(&state.db).await?;
    Ok(page.into_page(rows.into_iter().map(Into::into).collect(), total))
}

#[utoipa::path(
    get,
    path = "/admin/v1/platforms/{pid}",
    tag = "operator",
    params(("pid" = Uuid, Path, description = "The platform id")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The platform", body = crate::http::response::DataBody<PlatformView>), crate::openapi::errors::AdminErrors),
)]
pub async fn show(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Data<PlatformView>> {
    platforms::get(&state.db, id).await.map(Data)
}
