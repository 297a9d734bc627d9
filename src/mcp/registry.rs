//! Tool sources and their merge. A source owns a set of tool names (apps own
//! `<app>_<action>`, later skills and capabilities own theirs); the registry asks
//! every source for its tools for this caller and routes calls by name. New
//! sources plug in here without changing the server.

use std::sync::Arc;

use async_trait::async_trait;
use rmcp::model::{CallToolResult, Tool};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::auth::cache::AuthContext;
use crate::error::Error;

/// What an MCP endpoint exposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum McpScope {
    /// `/mcp`: everything the platform activated and enabled.
    All,
    /// `/mcp/skills`: only the skills tools.
    Skills,
    /// `/mcp/capabilities`: only the capability-marketplace tools.
    Capabilities,
    /// `/mcp/agents/{id}`: only the agent's allowed apps (read-only tools when asked).
    Agent {
        agent_id: Uuid,
        allowed_apps: Vec<String>,
        read_only: bool,
    },
}

/// The authenticated end user behind an MCP request, and the endpoint's scope.
#[derive(Debug, Clone)]
pub struct McpCaller {
    pub key: AuthContext,
    pub platform_id: Uuid,
    pub end_user_id: Uuid,
    pub scope: McpScope,
    pub request_id: String,
    /// Set by the MCP edge on a `tools/call` it counted past the end user's
    /// request limits: the tool answers `rate_limited` instead of running.
    pub over_rate_limit: Option<crate::ratelimit::Refusal>,
}

/// A failure that is not a tool result: the call cannot be routed.
#[derive(Debug)]
pub enum CallError {
    /// No such tool for this caller (JSON-RPC -32602).
    UnknownTool(String),
    Internal(Error),
}

impl From<Error> for CallError {
    fn from(err: Error) -> Self {
        Self::Internal(err)
    }
}

/// One source of tools.
#[async_trait]
pub trait ToolSource: Send + Sync {
    /// Tools this caller may see.
    async fn list(&self, caller: &McpCaller) -> Result<Vec<Tool>, Error>;

    /// Runs `name` when this source owns it (`None` otherwise). Tool-level
    /// failures are `Ok(Some(result))` with `isError`.
    async fn call(
        &self,
        caller: &McpCaller,
        name: &str,
        arguments: Map<String, Value>,
    ) -> Result<Option<CallToolResult>, CallError>;
}

/// The sources behind one endpoint, in listing order.
#[derive(Clone, Default)]
pub struct Registry {
    sources: Vec<Arc<dyn ToolSource>>,
}

impl Registry {
    pub fn new(sources: Vec<Arc<dyn ToolSource>>) -> Self {
        Self { sources }
    }

    pub async fn list(&self, caller: &McpCaller) -> Result<Vec<Tool>, Error> {
        let mut tools = Vec::new();
        for source in &self.sources {
            tools.extend(source.list(caller).await?);
        }
        Ok(tools)
    }

    pub async fn call(
        &self,
        caller: &McpCaller,
        name: &str,
        arguments: Map<String, Value>,
    ) -> Result<CallToolResult, CallError> {
        for source in &self.sources {
            if let Some(result) = source.call(caller, name, arguments.clone()).await? {
                return Ok(result);
            }
        }
        Err(CallError::UnknownTool(name.to_owned()))
    }
}

/// `invalid_arguments` when `args` do not fit `tool`'s compiled input schema,
/// checked before anything runs.
pub fn schema_refusal(
    validator: &jsonschema::Validator,
    tool: &str,
    args: &Value,
) -> Option<CallToolResult> {
    let problems: Vec<String> = validator
        .iter_errors(args)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    (!problems.is_empty()).then(|| {
        tool_error(
            "invalid_arguments",
            format!("the arguments do not match {tool}'s input schema"),
            json!({"errors": problems}),
        )
    })
}

/// `rate_limited` (with the wait) when this call is past the end user's request
/// limits. The MCP edge counted it already, once, like every MCP request
/// ([`super::edge`]); every source asks here, whichever runs the tool.
pub async fn rate_limit_refusal(
    _state: &crate::state::AppState,
    caller: &McpCaller,
) -> Result<Option<CallToolResult>, Error> {
    Ok(caller.over_rate_limit.map(|refusal| {
        tool_error(
            "rate_limited",
            refusal.to_string(),
            json!({"retry_after_secs": refusal.retry_after_secs}),
        )
    }))
}

/// Writes the usage-log row of one tool call (`kind` tool_call): its status and,
/// for an `isError` result, the stable `code` the result carries.
pub fn log_tool_call(
    state: &crate::state::AppState,
    caller: &McpCaller,
    app: &str,
    tool: &str,
    result: &CallToolResult,
    started: std::time::Instant,
) {
    let error_code = (result.is_error == Some(true))
        .then(|| {
            result
                .structured_content
                .as_ref()
                .and_then(|s| s["code"].as_str().map(str::to_owned))
        })
        .flatten();
    state.usage.record(crate::usage::UsageRecord {
        id: Uuid::now_v7(),
        platform_id: caller.platform_id,
        end_user_id: Some(caller.end_user_id),
        kind: "tool_call",
        app: Some(app.to_owned()),
        tool: Some(tool.to_owned()),
        model: None,
        status: if error_code.is_some() { "error" } else { "ok" },
        error_code,
        latency_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        input_tokens: None,
        output_tokens: None,
        cost_micros: None,
        request_id: caller.request_id.clone(),
        created_at: state.clock.now(),
        provider: None,
        cached_tokens: None,
        ttft_ms: None,
        tokens_estimated: None,
        price: None,
    });
}

/// A tool error the model can read: `isError` with `{code, message, ...}`.
pub fn tool_error(code: &str, message: impl Into<String>, extra: Value) -> CallToolResult {
    let mut body = Map::new();
    body.insert("code".into(), Value::from(code));
    body.insert("message".into(), Value::from(message.into()));
    if let Value::Object(extra) = extra {
        body.extend(extra);
    }
    CallToolResult::structured_error(Value::Object(body))
}

/// A tool's listed `outputSchema`: its result's schema, or a [`tool_error`] body. Some
/// clients (the TypeScript SDK among them) validate `structuredContent` against the
/// output schema even on `isError` results, so the error shape must fit it too.
pub fn result_or_tool_error(mut result: Map<String, Value>) -> Map<String, Value> {
    let mut schema = Map::new();
    // The dialect belongs at the root, not inside a branch.
    if let Some(dialect) = result.remove("$schema") {
        schema.insert("$schema".into(), dialect);
    }
    schema.insert("type".into(), Value::from("object"));
    let tool_error = json!({
        "type": "object",
        "description": "A failed call (isError): a stable code, e.g. not_connected with its \
                        connect_url, upstream_error with the upstream status.",
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        "required": ["code", "message"]
    });
    schema.insert(
        "anyOf".into(),
        Value::Array(vec![Value::Object(result), tool_error]),
    );
    schema
}
