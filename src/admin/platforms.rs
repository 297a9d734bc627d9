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

pub async fn create(
    State(state): State<AppState>,
    _: Admin,
    ApiJson(request): ApiJson<CreatePlatform>,
) -> Result<Created<CreatedPlatform>> {
    platforms::create(&state.db, request).await.map(Created)
}

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

pub async fn show(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Data<PlatformView>> {
    platforms::get(&state.db, id).await.map(Data)
}
