//! Auth for the MCP routes: an `sk-eu_*` key (401 with `WWW-Authenticate: Bearer`
//! when missing or bad, 403 for a platform key), and the endpoint scope (an
//! agent of the caller's platform, else 404).

use axum::Json;
use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use uuid::Uuid;

use crate::auth::{Caller, KeyKind};
use crate::error::Error;
use crate::http::error_response::{Enveloped, add_error_headers, status};
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

/// A refusal before the MCP session, as MCP clients display it: a JSON-RPC
/// error body (the SDKs show its message; a REST envelope left them saying only
/// "Server returned an error response"), with the status and headers the REST
/// API would send (`WWW-Authenticate` on 401) and the gateway's code in `data`.
fn refusal(error: &Error) -> Response {
    let status = status(error);
    let code = match status.as_u16() {
        401 => -32001,
        403 => -32003,
        404 => -32004,
        429 => -32029,
        _ => -32603,
    };
    let body = json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {
            "code": code,
            "message": error.message(),
            "data": {
                "code": error.code(),
                "type": error.error_type(),
                "request_id": current_request_id(),
            },
        },
    });
    let mut response = (status, Json(body)).into_response();
    add_error_headers(error, response.headers_mut());
    response.extensions_mut().insert(Enveloped);
    response
}

pub async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let Caller(key) = match Caller::from_request_parts(&mut parts, &state).await {
        Ok(caller) => caller,
        Err(err) => return refusal(&err),
    };
    let (KeyKind::EndUser, Some(end_user_id)) = (key.kind, key.end_user_id) else {
        return refusal(&Error::forbidden(
            "MCP endpoints need an end-user key (sk-eu_*); a platform key mints one with \
             POST /v1/platforms/{platform_id}/end-users",
        ));
    };
    let scope = match scope_for(&state, key.platform_id, parts.uri.path()).await {
        Ok(scope) => scope,
        Err(err) => return refusal(&err),
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
