//! REST for agents and platforms: `GET /v1/capabilities` (shelves; browsable while
//! disabled, with `enabled`), `GET /v1/capabilities/{slug}/providers` (badged),
//! and with an end-user key `POST /v1/capabilities/search` (no spend) and
//! `POST /v1/capabilities/run` (the money path; `Idempotency-Key`). Search and
//! run answer 403 while the platform is not enabled.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::browse::{self, ProviderFilter, Sort};
use super::run::{self, RunRequest, Runner};
use super::store;
use crate::auth::{Caller, EndUserKey};
use crate::error::{Error, Result};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, IdempotentJson, idempotent_response};
use crate::http::request_context::current_request_id;
use crate::http::routes::{Audience, Route};
use crate::state::AppState;

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

async fn list(State(state): State<AppState>, Caller(key): Caller) -> Result<Response> {
    let policy = store::policy(&state.db, key.platform_id).await?;
    let market = &state.capabilities;
    let shelves = browse::shelves(&market.snapshot(), &policy, &|p| market.availability(p));
    Ok(axum::Json(json!({
        "data": shelves,
        "total": shelves.len(),
        "enabled": policy.enabled,
    }))
    .into_response())
}

/// Query strings carry text; numbers are parsed here with a clear error.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProvidersQuery {
    sort: Option<Sort>,
    max_cost: Option<String>,
    min_rating: Option<f64>,
    verified_only: Option<bool>,
    limit: Option<usize>,
}

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
    Ok(axum::Json(json!({
        "data": found,
        "total": found.len(),
        "capability": slug,
        "enabled": policy.enabled,
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    pub query: String,
    #[serde(default)]
    pub limit: Option<usize>,
}

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
    Ok(axum::Json(json!({"data": hits, "total": hits.len(), "query": body.query})).into_response())
}

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
