//! `/v1/platforms/{pid}/agents[/{agent_id}]`.

use axum::extract::State;
use uuid::Uuid;

use crate::auth::PlatformScope;
use crate::error::Result;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::response::{Created, Data, PageQuery, PageRequest, Paged};
use crate::state::AppState;
use crate::tenancy::agents::{self, Agent, AgentInput};

#[utoipa::path(
    post,
    path = "/v1/platforms/{pid}/agents",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id")),
    request_body = AgentInput,
    security(("platform_key" = [])),
    responses((status = 201, description = "The agent", body = crate::http::response::DataBody<Agent>), crate::openapi::errors::KeyBodyErrors),
)]
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

#[utoipa::path(
    get,
    path = "/v1/platforms/{pid}/agents",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), crate::http::response::PageQuery),
    security(("platform_key" = [])),
    responses((status = 200, description = "The platform's agents", body = crate::http::response::Paged<Agent>), crate::openapi::errors::KeyErrors),
)]
pub async fn list(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Paged<Agent>> {
    let page = PageRequest::parse(query.page, query.limit)?;
    let (agents, total) = agents::list(&state.db, scope.platform_id, page).await?;
    Ok(page.into_page(agents, total))
}

#[utoipa::path(
    get,
    path = "/v1/platforms/{pid}/agents/{agent_id}",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), ("agent_id" = Uuid, Path, description = "The agent id")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The agent", body = crate::http::response::DataBody<Agent>), crate::openapi::errors::KeyErrors),
)]
pub async fn show(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, id)): ApiPath<(String, Uuid)>,
) -> Result<Data<Agent>> {
    agents::get(&state.db, scope.platform_id, id)
        .await
        .map(Data)
}

#[utoipa::path(
    patch,
    path = "/v1/platforms/{pid}/agents/{agent_id}",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), ("agent_id" = Uuid, Path, description = "The agent id")),
    request_body = AgentInput,
    security(("platform_key" = [])),
    responses((status = 200, description = "The agent as changed", body = crate::http::response::DataBody<Agent>), crate::openapi::errors::KeyBodyErrors),
)]
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

#[utoipa::path(
    delete,
    path = "/v1/platforms/{pid}/agents/{agent_id}",
    tag = "management",
    params(("pid" = Uuid, Path, description = "The platform id"), ("agent_id" = Uuid, Path, description = "The agent id")),
    security(("platform_key" = [])),
    responses((status = 200, description = "The agent is deleted", body = crate::http::response::DataBody<AgentDeleted>), crate::openapi::errors::KeyErrors),
)]
pub async fn remove(
    State(state): State<AppState>,
    scope: PlatformScope,
    ApiPath((_, id)): ApiPath<(String, Uuid)>,
) -> Result<Data<AgentDeleted>> {
    agents::delete(&state.db, scope.platform_id, id).await?;
    Ok(Data(AgentDeleted { id, deleted: true }))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct AgentDeleted {
    id: Uuid,
    deleted: bool,
}
