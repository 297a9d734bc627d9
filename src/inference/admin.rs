//! Operator routes: `/admin/v1/platforms/{pid}/llm-providers` (`GET`, `POST`) and
//! `.../llm-providers/{id}` (`GET`, `PATCH`, `DELETE`). The API key is write-only.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use uuid::Uuid;

use super::operator::{self, Operator, ProviderInput, ProviderView};
use crate::auth::Admin;
use crate::error::Result;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::response::{Created, Data};
use crate::http::routes::{Audience, Route};
use crate::state::AppState;

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

async fn list(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(pid): ApiPath<Uuid>,
) -> Result<Response> {
    let providers = operator::list(&Operator::of(&state), pid).await?;
    Ok(axum::Json(json!({"data": providers, "total": providers.len()})).into_response())
}

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

async fn show(
    State(state): State<AppState>,
    _: Admin,
    ApiPath((pid, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Data<ProviderView>> {
    operator::show(&Operator::of(&state), pid, id)
        .await
        .map(Data)
}

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

async fn remove(
    State(state): State<AppState>,
    _: Admin,
    ApiPath((pid, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode> {
    operator::remove(&Operator::of(&state), pid, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
