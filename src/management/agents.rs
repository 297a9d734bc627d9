//! `/v1/platforms/{pid}/agents[/{agent_id}]`.

use axum::extract::State;
use uuid::Uuid;

use crate::auth::PlatformScope;
use crate::error::Result;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::response::{Created, Data, PageQuery, PageRequest, Paged};
use crate::state::AppState;
use crate::tenancy::agents::{self, Agent, AgentInput};

pub async fn create(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiJson(input): ApiJson<AgentInput>,
) -> Result<Created<Agent>> {
    agents::create(
        &state.db,
        &state.apps,
        scope.platform_id,
        &input,
        state.clock.now(),
    )
    .await
    .map(Created)
}

pub async fn list(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Paged<Agent>> {
    let page = PageRequest::parse(query.page, query.limit)?;
    let (agents, total) = agents::list(&state.db, scope.platform_id, page).await?;
    Ok(page.into_page(agents, total))
}

pub async fn show(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, id)): ApiPath<(String, Uuid)>,
) -> Result<Data<Agent>> {
    agents::get(&state.db, scope.platform_id, id)
        .await
        .map(Data)
}

pub async fn update(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, id)): ApiPath<(String, Uuid)>,
    ApiJson(input): ApiJson<AgentInput>,
) -> Result<Data<Agent>> {
    agents::update(
        &state.db,
        &state.apps,
        scope.platform_id,
        id,
        &input,
        state.clock.now(),
    )
    .await
    .map(Data)
}

pub async fn remove(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, id)): ApiPath<(String, Uuid)>,
) -> Result<Data<serde_json::Value>> {
    agents::delete(&state.db, scope.platform_id, id).await?;
    Ok(Data(serde_json::json!({"id": id, "deleted": true})))
}
