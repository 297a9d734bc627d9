//! The MCP endpoint: rmcp's streamable-HTTP service mounted at `/mcp`,
//! `/mcp/skills`, `/mcp/capabilities` and `/mcp/agents/{agent_id}`, behind an
//! `sk-eu_*` auth layer; the path decides the [`ToolScope`](crate::tools::ToolScope).
//! Listing and calling go through the one tool pipeline ([`crate::tools::Tools`]).

pub mod auth;
pub mod bare;
pub mod edge;
pub mod replay;
pub mod server;
pub mod sessions;

use axum::Router;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// Every MCP path, served by one rmcp service; sources filter by the caller's scope.
pub fn router(
    state: AppState,
    tools: crate::tools::Tools,
    shutdown: CancellationToken,
) -> anyhow::Result<Router<AppState>> {
    let config = &state.config;
    let mut mcp_config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(true)
        .with_cancellation_token(shutdown)
        .with_max_request_body_bytes(config.max_body_bytes)
        .with_allowed_hosts(config.mcp_allowed_hosts());
    let origins = config.mcp_allowed_origins();
    mcp_config = mcp_config
        .with_allowed_origins(origins)
        .enforce_origin_validation();
    let edge = edge::Edge::new(state.clone(), tools.clone());
    let list_ttl_ms = config.mcp_list_ttl_ms;
    let skills = crate::skills::extension::SkillsExtension::new(state.skills.clone());
    let service = StreamableHttpService::new(
        move || {
            Ok(server::GatewayServer::new(tools.clone(), list_ttl_ms).with_skills(skills.clone()))
        },
        state.mcp_sessions.clone(),
        mcp_config,
    );
    Ok(Router::new()
        .route_service("/mcp", service.clone())
        .route_service(auth::SKILLS_PATH, service.clone())
        .route_service(auth::CAPABILITIES_PATH, service.clone())
        .route_service("/mcp/agents/{agent_id}", service)
        // Layers run bottom-up: auth first, then the edge (limits, session owner, framing).
        .route_layer(axum::middleware::from_fn_with_state(edge, edge::guard))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            auth::authenticate,
        )))
}
