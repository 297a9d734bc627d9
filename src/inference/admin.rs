//! Operator routes: `/admin/v1/platforms/{pid}/llm-providers` (`GET`, `POST`) and
//! `.../llm-providers/{id}` (`GET`, `PATCH`, `DELETE`). The API key is write-only.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use uuid::Uuid;

use super::operator::{self, Operator, ProviderInput, ProviderView};
use crate::auth::Admin;
use crate::error::Result;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::response::{Created, Data};
use crate::http::routes::{Audience, Route};
use crate::state::AppState;

/// A platform's provider configurations.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProviderList {
    data: Vec<ProviderView>,
    total: usize,
}

/// The documented operator inference routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, show, change, remove))]
pub struct Api;

pub fn routes() -> Vec<Route> {
    use Audience::Operator;
    const LIST: &str = "/admin/v1/platforms/{pid}/llm-providers";
    const ONE: &str = "/admin/v1/platforms/{pid}/llm-providers/{id}";
    vec![
        Route::get(Operator, LIST, list),
        Route::post(Operator, LIST, create),
        Route::get(Operator, ONE, show),
        Route::patch(Operator, ONE, change),
        Route::delete(Operator, ONE, remove),
    ]
}

impl Operator {
    pub fn of(state: &AppState) -> Self {
        Self {
            db: state.db.clone(),
            clock: state.clock.clone(),
            inference: state.inference.clone(),
        }
    }
}

#[utoipa::path(
    get,
    path = "/admin/v1/platforms/{pid}/llm-providers",
    tag = "inference",
    params(("pid" = Uuid, Path, description = "The platform id")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The platform's inference provider configurations", body = ProviderList), crate::openapi::errors::AdminErrors),
)]
async fn list(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(pid): ApiPath<Uuid>,
) -> Result<Response> {
    let providers = operator::list(&Operator::of(&state), pid).await?;
    Ok(axum::Json(ProviderList {
        total: providers.len(),
        data: providers,
    })
    .into_response())
}

#[utoipa::path(
    post,
    path = "/admin/v1/platforms/{pid}/llm-providers",
    tag = "inference",
    params(("pid" = Uuid, Path, description = "The platform id")),
    request_body = ProviderInput,
    security(("admin_token" = [])),
    responses((status = 201, description = "The configuration (never its API key)", body = crate::http::response::DataBody<ProviderView>), crate::openapi::errors::AdminBodyErrors),
)]
async fn create(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(pid): ApiPath<Uuid>,
    ApiJson(input): ApiJson<ProviderInput>,
) -> Result<Created<ProviderView>> {
    operator::create(&Operator::of(&state), pid, input)
        .await
        .map(Created)
}

#[utoipa::path(
    get,
    path = "/admin/v1/platforms/{pid}/llm-providers/{id}",
    tag = "inference",
    params(("pid" = Uuid, Path, description = "The platform id"), ("id" = Uuid, Path, description = "The provider configuration id")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The configuration", body = crate::http::response::DataBody<ProviderView>), crate::openapi::errors::AdminErrors),
)]
async fn show(
    State(state): State<AppState>,
    _: Admin,
    ApiPath((pid, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Data<ProviderView>> {
    operator::show(&Operator::of(&state), pid, id)
        .await
        .map(Data)
}

#[utoipa::path(
    patch,
    path = "/admin/v1/platforms/{pid}/llm-providers/{id}",
    tag = "inference",
    params(("pid" = Uuid, Path, description = "The platform id"), ("id" = Uuid, Path, description = "The provider configuration id")),
    request_body = ProviderInput,
    security(("admin_token" = [])),
    responses((status = 200, description = "The configuration as changed", body = crate::http::response::DataBody<ProviderView>), crate::openapi::errors::AdminBodyErrors),
)]
async fn change(
    State(state): State<AppState>,
    _: Admin,
    ApiPath((pid, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<ProviderInput>,
) -> Result<Data<ProviderView>> {
    operator::change(&Operator::of(&state), pid, id, input)
        .await
        .map(Data)
}

#[utoipa::path(
    delete,
    path = "/admin/v1/platforms/{pid}/llm-providers/{id}",
    tag = "inference",
    params(("pid" = Uuid, Path, description = "The platform id"), ("id" = Uuid, Path, description = "The provider configuration id")),
    security(("admin_token" = [])),
    responses((status = 204, description = "The configuration is deleted"), crate::openapi::errors::AdminErrors),
)]
async fn remove(
    State(state): State<AppState>,
    _: Admin,
    ApiPath((pid, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode> {
    operator::remove(&Operator::of(&state), pid, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
