//! Operator routes: `GET`/`PUT /admin/v1/platforms/{pid}/capabilities` (enablement
//! and policy) and `/admin/v1/capabilities/providers` (`GET`, `POST`;
//! `GET`/`PATCH`/`DELETE /{uid}`), plus `POST .../providers/probe` to probe now.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use super::operator::{self, AdminProviderView, Operator, PolicyInput, PolicyView};
use crate::auth::Admin;
use crate::error::Result;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::response::Data;
use crate::http::routes::{Audience, Route};
use crate::state::AppState;

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

async fn show_policy(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(pid): ApiPath<Uuid>,
) -> Result<Data<PolicyView>> {
    operator::show_policy(&Operator::of(&state), pid)
        .await
        .map(Data)
}

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

async fn list(State(state): State<AppState>, _: Admin) -> Result<Response> {
    let providers = operator::list_providers(&Operator::of(&state));
    Ok(axum::Json(json!({"data": providers, "total": providers.len()})).into_response())
}

async fn show(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(uid): ApiPath<String>,
) -> Result<Data<AdminProviderView>> {
    operator::show_provider(&Operator::of(&state), &uid).map(Data)
}

async fn add(
    State(state): State<AppState>,
    _: Admin,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response> {
    let view = operator::add_provider(&Operator::of(&state), body).await?;
    Ok((StatusCode::CREATED, axum::Json(json!({"data": view}))).into_response())
}

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

async fn remove(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(uid): ApiPath<String>,
) -> Result<StatusCode> {
    operator::remove_provider(&Operator::of(&state), &uid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Probes every provider now instead of waiting for the next interval.
async fn probe(State(state): State<AppState>, _: Admin) -> Result<Response> {
    super::health::probe_all(&state.capabilities).await;
    let providers = operator::list_providers(&Operator::of(&state));
    let health: Vec<Value> = providers
        .iter()
        .map(|p| json!({"uid": p.spec.uid, "availability": p.availability}))
        .collect();
    Ok(axum::Json(json!({"data": health})).into_response())
}
