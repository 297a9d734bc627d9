//! The MCP endpoint: rmcp's streamable-HTTP service mounted at `/mcp`,
//! `/mcp/skills`, `/mcp/capabilities` and `/mcp/agents/{agent_id}`, behind an
//! `sk-eu_*` auth layer; the path decides the [`McpScope`]. Each request's tool
//! list is built for its end user by merging [`ToolSource`]s.

pub mod app_tools;
pub mod auth;
pub mod edge;
pub mod registry;
pub mod server;
pub mod sessions;

pub use registry::{McpCaller, McpScope, ToolSource};

use std::sync::Arc;

use axum::Router;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// Every MCP path, served by one rmcp service; sources filter by the caller's scope.
pub fn router(state: AppState, shutdown: CancellationToken) -> anyhow::Result<Router<AppState>> {
    let app_tools: Arc<dyn ToolSource> = Arc::new(app_tools::AppTools::new(state.clone())?);
    let skill_tools = crate::skills::tools::source(state.clone())?;
    let capability_tools = crate::capabilities::tools::source(state.clone())?;
    let registry = registry::Registry::new(vec![app_tools, skill_tools, capability_tools]);
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
    let service = StreamableHttpService::new(
        move || Ok(server::GatewayServer::new(registry.clone())),
        state.mcp_sessions.clone(),
        mcp_config,
    );
    Ok(Router::new()
        .route_service("/mcp", service.clone())
        .route_service(auth::SKILLS_PATH, service.clone())
        .route_service(auth::CAPABILITIES_PATH, service.clone())
        .route_service("/mcp/agents/{agent_id}", service)
        // Layers run bottom-up: auth first, then the edge (limits, session owner, framing).
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            edge::guard,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            auth::authenticate,
        )))
}
