//! Operator routes: `GET`/`PUT /admin/v1/platforms/{pid}/capabilities` (enablement
//! and policy) and `/admin/v1/capabilities/providers` (`GET`, `POST`;
//! `GET`/`PATCH`/`DELETE /{uid}`), plus `POST .../providers/probe` to probe now.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::operator::{self, AdminProviderView, Operator, PolicyInput, PolicyView};
use crate::auth::Admin;
use crate::error::Result;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::response::{Data, DataBody};
use crate::http::routes::{Audience, Route};
use crate::state::AppState;

/// Every provider as the operator sees it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AdminProviders {
    data: Vec<AdminProviderView>,
    total: usize,
}

/// A provider's health after a probe.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Probed {
    uid: String,
    availability: super::snapshot::Availability,
}

/// The documented operator capability routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(show_policy, set_policy, list, add, probe, show, change, remove))]
pub struct Api;

pub fn routes() -> Vec<Route> {
    use Audience::Operator;
    const POLICY: &str = "/admin/v1/platforms/{pid}/capabilities";
    const PROVIDER: &str = "/admin/v1/capabilities/providers/{uid}";
    vec![
        Route::get(Operator, POLICY, show_policy),
        Route::put(Operator, POLICY, set_policy),
        Route::get(Operator, "/admin/v1/capabilities/providers", list),
        Route::post(Operator, "/admin/v1/capabilities/providers", add),
        Route::post(Operator, "/admin/v1/capabilities/providers/probe", probe),
        Route::get(Operator, PROVIDER, show),
        Route::patch(Operator, PROVIDER, change),
        Route::delete(Operator, PROVIDER, remove),
    ]
}

#[utoipa::path(
    get,
    path = "/admin/v1/platforms/{pid}/capabilities",
    tag = "capabilities",
    params(("pid" = Uuid, Path, description = "The platform id")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The platform's capability policy", body = crate::http::response::DataBody<PolicyView>), crate::openapi::errors::AdminErrors),
)]
async fn show_policy(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(pid): ApiPath<Uuid>,
) -> Result<Data<PolicyView>> {
    operator::show_policy(&Operator::of(&state), pid)
        .await
        .map(Data)
}

#[utoipa::path(
    put,
    path = "/admin/v1/platforms/{pid}/capabilities",
    tag = "capabilities",
    params(("pid" = Uuid, Path, description = "The platform id")),
    request_body = PolicyInput,
    security(("admin_token" = [])),
    responses((status = 200, description = "The policy as set (fields left out keep their value)", body = crate::http::response::DataBody<PolicyView>), crate::openapi::errors::AdminBodyErrors),
)]
async fn set_policy(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(pid): ApiPath<Uuid>,
    ApiJson(input): ApiJson<PolicyInput>,
) -> Result<Data<PolicyView>> {
    operator::set_policy(&Operator::of(&state), pid, input)
        .await
        .map(Data)
}

#[utoipa::path(
    get,
    path = "/admin/v1/capabilities/providers",
    tag = "capabilities",
    security(("admin_token" = [])),
    responses((status = 200, description = "Every provider, with its origin and health", body = AdminProviders), crate::openapi::errors::AdminErrors),
)]
async fn list(State(state): State<AppState>, _: Admin) -> Result<Response> {
    let providers = operator::list_providers(&Operator::of(&state));
    Ok(axum::Json(AdminProviders {
        total: providers.len(),
        data: providers,
    })
    .into_response())
}

#[utoipa::path(
    get,
    path = "/admin/v1/capabilities/providers/{uid}",
    tag = "capabilities",
    params(("uid" = String, Path, description = "The provider uid (`cap_*`)")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The provider", body = crate::http::response::DataBody<AdminProviderView>), crate::openapi::errors::AdminErrors),
)]
async fn show(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(uid): ApiPath<String>,
) -> Result<Data<AdminProviderView>> {
    operator::show_provider(&Operator::of(&state), &uid).map(Data)
}

#[utoipa::path(
    post,
    path = "/admin/v1/capabilities/providers",
    tag = "capabilities",
    request_body = super::catalog::ProviderSpec,
    security(("admin_token" = [])),
    responses((status = 201, description = "The provider is added", body = crate::http::response::DataBody<AdminProviderView>), (status = 409, description = "A provider with this uid exists", body = crate::openapi::errors::ErrorEnvelope), crate::openapi::errors::AdminBodyErrors),
)]
async fn add(
    State(state): State<AppState>,
    _: Admin,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response> {
    let view = operator::add_provider(&Operator::of(&state), body).await?;
    Ok((StatusCode::CREATED, axum::Json(DataBody { data: view })).into_response())
}

#[utoipa::path(
    patch,
    path = "/admin/v1/capabilities/providers/{uid}",
    tag = "capabilities",
    params(("uid" = String, Path, description = "The provider uid (`cap_*`)")),
    request_body = Object,
    security(("admin_token" = [])),
    responses((status = 200, description = "The provider with the given fields laid over it", body = crate::http::response::DataBody<AdminProviderView>), crate::openapi::errors::AdminBodyErrors),
)]
async fn change(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(uid): ApiPath<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Data<AdminProviderView>> {
    operator::change_provider(&Operator::of(&state), &uid, body)
        .await
        .map(Data)
}

#[utoipa::path(
    delete,
    path = "/admin/v1/capabilities/providers/{uid}",
    tag = "capabilities",
    params(("uid" = String, Path, description = "The provider uid (`cap_*`)")),
    security(("admin_token" = [])),
    responses((status = 204, description = "The operator's definition is removed"), crate::openapi::errors::AdminErrors),
)]
async fn remove(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(uid): ApiPath<String>,
) -> Result<StatusCode> {
    operator::remove_provider(&Operator::of(&state), &uid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Probes every provider now instead of waiting for the next interval.
#[utoipa::path(
    post,
    path = "/admin/v1/capabilities/providers/probe",
    tag = "capabilities",
    security(("admin_token" = [])),
    responses((status = 200, description = "Every provider's health, probed now", body = crate::http::response::DataBody<Vec<Probed>>), crate::openapi::errors::AdminErrors),
)]
async fn probe(State(state): State<AppState>, _: Admin) -> Result<Response> {
    super::health::probe_all(&state.capabilities).await;
    let providers = operator::list_providers(&Operator::of(&state));
    let health: Vec<Probed> = providers
        .into_iter()
        .map(|p| Probed {
            uid: p.spec.uid,
            availability: p.availability,
        })
        .collect();
    Ok(Data(health).into_response())
}
