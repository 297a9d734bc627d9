//! REST for agents and platforms: `GET /v1/capabilities` (shelves; browsable while
//! disabled, with `enabled`), `GET /v1/capabilities/{slug}/providers` (badged),
//! and with an end-user key `POST /v1/capabilities/search` (no spend) and
//! `POST /v1/capabilities/run` (the money path; `Idempotency-Key`). Search and
//! run answer 403 while the platform is not enabled.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::browse::{self, ProviderFilter, ProviderView, ShelfView, Sort};
use super::run::{self, RunRequest, Runner};
use super::store;
use crate::auth::{Caller, EndUserKey};
use crate::error::{Error, Result};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, IdempotentJson, idempotent_response};
use crate::http::request_context::current_request_id;
use crate::http::routes::{Audience, Route};
use crate::state::AppState;

/// The shelves, and whether this platform may search and run.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Shelves {
    data: Vec<ShelfView>,
    total: usize,
    enabled: bool,
}

/// One capability's providers, badged under this platform's policy.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Providers {
    data: Vec<ProviderView>,
    total: usize,
    capability: String,
    enabled: bool,
}

/// The providers a search found (only those the policy allows).
#[derive(Serialize, utoipa::ToSchema)]
pub struct SearchHits {
    data: Vec<ProviderView>,
    total: usize,
    query: String,
}

/// The documented capability routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, providers, search, run_one))]
pub struct Api;

/// Browse with either key; search and run with an end-user key.
pub fn routes() -> Vec<Route> {
    use Audience::{AnyKey, EndUser};
    vec![
        Route::get(AnyKey, "/v1/capabilities", list),
        Route::get(AnyKey, "/v1/capabilities/{slug}/providers", providers),
        Route::post(EndUser, "/v1/capabilities/search", search),
        Route::post(EndUser, "/v1/capabilities/run", run_one),
    ]
}

#[utoipa::path(
    get,
    path = "/v1/capabilities",
    tag = "capabilities",
    security(("platform_key" = []), ("end_user_key" = [])),
    responses((status = 200, description = "The shelves with their provider counts under this platform's policy", body = Shelves), crate::openapi::errors::KeyErrors),
)]
async fn list(State(state): State<AppState>, Caller(key): Caller) -> Result<Response> {
    let policy = store::policy(&state.db, key.platform_id).await?;
    let market = &state.capabilities;
    let shelves = browse::shelves(&market.snapshot(), &policy, &|p| market.availability(p));
    Ok(axum::Json(Shelves {
        total: shelves.len(),
        data: shelves,
        enabled: policy.enabled,
    })
    .into_response())
}

/// Query strings carry text; numbers are parsed here with a clear error.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ProvidersQuery {
    #[param(inline)]
    sort: Option<Sort>,
    max_cost: Option<String>,
    min_rating: Option<f64>,
    verified_only: Option<bool>,
    limit: Option<usize>,
}

#[utoipa::path(
    get,
    path = "/v1/capabilities/{slug}/providers",
    tag = "capabilities",
    params(("slug" = String, Path, description = "The capability (shelf) slug"), ProvidersQuery),
    security(("platform_key" = []), ("end_user_key" = [])),
    responses((status = 200, description = "The capability's providers, badged", body = Providers), crate::openapi::errors::KeyErrors),
)]
async fn providers(
    State(state): State<AppState>,
    Caller(key): Caller,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(query): ApiQuery<ProvidersQuery>,
) -> Result<Response> {
    let max_cost = query
        .max_cost
        .map(|s| {
            s.parse::<serde_json::Number>()
                .map_err(|_| Error::bad_request("max_cost must be a USD amount"))
        })
        .transpose()?;
    let filter = ProviderFilter {
        sort: query.sort,
        max_cost,
        min_rating: query.min_rating,
        verified_only: query.verified_only,
        limit: query.limit,
    };
    let policy = store::policy(&state.db, key.platform_id).await?;
    let market = &state.capabilities;
    let found = browse::providers(&market.snapshot(), &slug, &filter, &policy, &|p| {
        market.availability(p)
    })?;
    Ok(axum::Json(Providers {
        total: found.len(),
        data: found,
        capability: slug,
        enabled: policy.enabled,
    })
    .into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    pub query: String,
    #[serde(default)]
    pub limit: Option<usize>,
}

#[utoipa::path(
    post,
    path = "/v1/capabilities/search",
    tag = "capabilities",
    request_body = SearchRequest,
    security(("end_user_key" = [])),
    responses((status = 200, description = "Providers matching the query that the policy allows", body = SearchHits), crate::openapi::errors::KeyBodyErrors),
)]
async fn search(
    State(state): State<AppState>,
    me: EndUserKey,
    ApiJson(body): ApiJson<SearchRequest>,
) -> Result<Response> {
    let policy = store::policy(&state.db, me.ctx.platform_id).await?;
    if !policy.enabled {
        return Err(Error::forbidden(
            "capabilities are not enabled for this platform; the catalog stays browsable",
        ));
    }
    let market = &state.capabilities;
    let hits = browse::search(&market.snapshot(), &body.query, body.limit, &policy, &|p| {
        market.availability(p)
    })?;
    Ok(axum::Json(SearchHits {
        total: hits.len(),
        data: hits,
        query: body.query,
    })
    .into_response())
}

#[utoipa::path(
    post,
    path = "/v1/capabilities/run",
    tag = "capabilities",
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for a repeated key (24 h)")),
    request_body = RunRequest,
    security(("end_user_key" = [])),
    responses((status = 200, description = "The run settled: the provider's answer and what it cost", body = super::settle::RunAnswer), (status = 402, description = "Refused on money or policy: `budget_exceeded`, `wallet_insufficient`, `denylisted`, `above_ceiling`, ...", body = crate::openapi::errors::ErrorEnvelope), (status = 409, description = "The Idempotency-Key was used with another body, or its first request is still running", body = crate::openapi::errors::ErrorEnvelope), (status = 502, description = "The provider's quote is outside its declared range", body = crate::openapi::errors::ErrorEnvelope), (status = 503, description = "The provider is down", body = crate::openapi::errors::ErrorEnvelope), crate::openapi::errors::KeyBodyErrors),
)]
async fn run_one(
    State(state): State<AppState>,
    me: EndUserKey,
    request: IdempotentJson<RunRequest>,
) -> Result<Response> {
    let runner = Runner {
        platform_id: me.ctx.platform_id,
        end_user_id: me.end_user_id,
        request_id: current_request_id(),
    };
    let answer = run::run_detached(&state, runner, request.body, request.idempotency)
        .await
        .map_err(|refusal| refusal.error)?;
    Ok(idempotent_response(
        answer.status,
        answer.body,
        answer.replayed,
    ))
}
