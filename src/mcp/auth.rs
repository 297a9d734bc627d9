//! Auth for the MCP routes: an `sk-eu_*` key (401 with `WWW-Authenticate: Bearer`
//! when missing or bad, 403 for a platform key), and the endpoint scope (an
//! agent of the caller's platform, else 404).

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use crate::auth::{Caller, KeyKind};
use crate::error::Error;
use crate::http::request_context::current_request_id;
use crate::state::AppState;
use crate::tenancy::agents;
use crate::tools::{ToolCaller, ToolScope};

pub const AGENT_PATH_PREFIX: &str = "/mcp/agents/";
pub const SKILLS_PATH: &str = "/mcp/skills";
pub const CAPABILITIES_PATH: &str = "/mcp/capabilities";

pub(crate) async fn scope_for(
    state: &AppState,
    platform_id: Uuid,
    path: &str,
) -> Result<ToolScope, Error> {
    let Some(rest) = path.strip_prefix(AGENT_PATH_PREFIX) else {
        return Ok(match path.trim_end_matches('/') {
            SKILLS_PATH => ToolScope::Skills,
            CAPABILITIES_PATH => ToolScope::Capabilities,
            _ => ToolScope::All,
        });
    };
    let id = Uuid::parse_str(rest.trim_end_matches('/'))
        .map_err(|_| Error::not_found("agent not found"))?;
    let agent = agents::get(&state.db, platform_id, id).await?;
    Ok(ToolScope::Agent {
        agent_id: agent.id,
        allowed_apps: agent.allowed_apps,
        read_only: agent.read_only,
    })
}

pub async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let Caller(key) = match Caller::from_request_parts(&mut parts, &state).await {
        Ok(caller) => caller,
        Err(err) => return err.into_response(),
    };
    let (KeyKind::EndUser, Some(end_user_id)) = (key.kind, key.end_user_id) else {
        return Error::forbidden("MCP endpoints need an end-user key (sk-eu_*)").into_response();
    };
    let scope = match scope_for(&state, key.platform_id, parts.uri.path()).await {
        Ok(scope) => scope,
        Err(err) => return err.into_response(),
    };
    parts.extensions.insert(ToolCaller {
        platform_id: key.platform_id,
        end_user_id,
        key,
        scope,
        request_id: current_request_id(),
        over_rate_limit: None,
    });
    next.run(Request::from_parts(parts, body)).await
}
