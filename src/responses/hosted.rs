//! Hosted MCP tools: a Responses `tools` item `{"type": "mcp", ...}` whose
//! `server_url` is this gateway's `/mcp` (or `/mcp/skills`,
//! `/mcp/capabilities`, `/mcp/agents/{id}`; absent means `/mcp`) gives the
//! model the end user's tools of that scope, listed and run through the one
//! tool pipeline ([`Tools`]) as that end user: no MCP session, no fetching of
//! any other URL.

use std::collections::HashMap;

use assistiv_llm::openai::{FunctionDefinition, Tool as ChatTool};
use assistiv_llm::responses::Item;
use assistiv_llm::responses::items::{
    McpCallError, McpCallItem, McpListToolsItem, McpListedTool, new_id,
};
use assistiv_llm::responses::request::{ApprovalMode, McpTool, RequireApproval};
use axum::http::Uri;
use rmcp::model::{CallToolResult, Tool};
use serde_json::{Map, Value, json};

use crate::auth::cache::AuthContext;
use crate::error::Error;
use crate::state::AppState;
use crate::tools::{CallError, ToolCaller, Tools};

/// Fields of an `mcp` tool item that do not change what runs: the end user's
/// key already decides whose tools these are.
const IGNORED_FIELDS: &[&str] = &[
    "type",
    "headers",
    "authorization",
    "allowed_callers",
    "defer_loading",
];

/// One hosted server of a request: its label, whose tools, which of them.
pub struct Server {
    pub label: String,
    caller: ToolCaller,
    approval: RequireApproval,
    tools: Vec<Tool>,
}

/// Every hosted server of one request, and which server owns each tool name.
#[derive(Default)]
pub struct Hosted {
    servers: Vec<Server>,
    by_name: HashMap<String, (usize, usize)>,
}

/// Who asks, and where they reached the gateway (for `server_url`).
pub struct Asker<'a> {
    pub key: &'a AuthContext,
    pub end_user_id: uuid::Uuid,
    pub response_id: &'a str,
    /// The request's `Host` header.
    pub host: Option<&'a str>,
}

impl Hosted {
    /// Resolves every `mcp` item: URL, scope, the end user's visible tools,
    /// `allowed_tools`. Refusals are 400s naming the item.
    pub async fn resolve(
        state: &AppState,
        tools: &Tools,
        asker: &Asker<'_>,
        specs: Vec<(usize, McpTool)>,
        function_names: &[String],
    ) -> Result<Self, Error> {
        let mut hosted = Hosted::default();
        for (index, spec) in specs {
            let at = format!("tools[{index}]");
            if let Some(field) = spec
                .extra
                .iter()
                .find(|(name, value)| !IGNORED_FIELDS.contains(&name.as_str()) && !value.is_null())
                .map(|(name, _)| name)
            {
                return Err(Error::bad_request(format!(
                    "{at}: '{field}' is not supported; an mcp tool names this gateway's MCP endpoint in server_url"
                )));
            }
            if spec.server_label.trim().is_empty() {
                return Err(Error::bad_request(format!(
                    "{at}: server_label must not be empty"
                )));
            }
            if hosted.servers.iter().any(|s| s.label == spec.server_label) {
                return Err(Error::bad_request(format!(
                    "{at}: server_label '{}' is used twice",
                    spec.server_label
                )));
            }
            let path = gateway_path(state, asker.host, spec.server_url.as_deref())
                .map_err(|message| Error::bad_request(format!("{at}: {message}")))?;
            let scope = crate::mcp::auth::scope_for(state, asker.key.platform_id, &path).await?;
            let caller = ToolCaller {
                key: asker.key.clone(),
                platform_id: asker.key.platform_id,
                end_user_id: asker.end_user_id,
                scope,
                request_id: asker.response_id.to_owned(),
                over_rate_limit: None,
            };
            let offered: Vec<Tool> = tools
                .list(&caller)
                .await?
                .into_iter()
                .filter(|tool| {
                    spec.allowed_tools
                        .as_ref()
                        .is_none_or(|allowed| allowed.admits(&tool.name, read_only(tool)))
                })
                .collect();
            let s = hosted.servers.len();
            for (t, tool) in offered.iter().enumerate() {
                let name = tool.name.to_string();
                if function_names.contains(&name) || hosted.by_name.contains_key(&name) {
                    return Err(Error::bad_request(format!(
                        "{at}: the tool '{name}' is offered twice (by two mcp items, or by an mcp item and a function); narrow allowed_tools"
                    )));
                }
                hosted.by_name.insert(name, (s, t));
            }
            hosted.servers.push(Server {
                label: spec.server_label,
                caller,
                approval: spec
                    .require_approval
                    .unwrap_or(RequireApproval::Mode(ApprovalMode::Always)),
                tools: offered,
            });
        }
        Ok(hosted)
    }

    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// The servers' tools as the functions the model is offered.
    pub fn functions(&self) -> Vec<ChatTool> {
        self.servers
            .iter()
            .flat_map(|server| &server.tools)
            .map(|tool| ChatTool {
                kind: "function".to_owned(),
                function: Some(FunctionDefinition {
                    name: tool.name.to_string(),
                    description: tool.description.as_ref().map(ToString::to_string),
                    parameters: Some(Value::Object((*tool.input_schema).clone())),
                    strict: None,
                }),
                extra: Map::new(),
            })
            .collect()
    }

    /// The `mcp_list_tools` items of servers the conversation has not listed yet.
    pub fn listings(&self, context: &[Item]) -> Vec<Item> {
        self.servers
            .iter()
            .filter(|server| {
                !context.iter().any(
                    |item| matches!(item, Item::McpListTools(l) if l.server_label == server.label),
                )
            })
            .map(|server| {
                Item::McpListTools(McpListToolsItem {
                    id: new_id("mcpl"),
                    server_label: server.label.clone(),
                    tools: server.tools.iter().map(listed).collect(),
                    error: None,
                })
            })
            .collect()
    }

    /// The server and tool behind a function name the model called.
    pub fn find(&self, name: &str) -> Option<(&Server, &Tool)> {
        let &(s, t) = self.by_name.get(name)?;
        let server = &self.servers[s];
        Some((server, &server.tools[t]))
    }

    /// The server labelled `label`.
    pub fn server(&self, label: &str) -> Option<&Server> {
        self.servers.iter().find(|server| server.label == label)
    }

    /// The function name of `tool` on the server labelled `label`.
    pub fn function_name(&self, label: &str, tool: &str) -> Option<String> {
        let server = self.server(label)?;
        server
            .tools
            .iter()
            .any(|t| t.name == tool)
            .then(|| tool.to_owned())
    }
}

impl Server {
    /// Whether a call of `tool` waits for the user's approval.
    pub fn needs_approval(&self, tool: &Tool) -> bool {
        self.approval.requires(&tool.name, read_only(tool))
    }

    /// Whether this server offers `name`.
    pub fn offers(&self, name: &str) -> bool {
        self.tools.iter().any(|tool| tool.name == name)
    }

    /// Runs `name` through the tool pipeline as the end user: the call's
    /// output, or its error (a tool error the model reads, `not_connected`
    /// with its connect URL included).
    pub async fn call(
        &self,
        tools: &Tools,
        name: &str,
        arguments: &str,
        approval_request_id: Option<String>,
    ) -> McpCallItem {
        let mut item = McpCallItem {
            id: new_id("mcp"),
            server_label: self.label.clone(),
            name: name.to_owned(),
            arguments: arguments.to_owned(),
            output: None,
            error: None,
            approval_request_id,
            status: Some("completed".to_owned()),
        };
        let parsed = match serde_json::from_str::<Value>(if arguments.trim().is_empty() {
            "{}"
        } else {
            arguments
        }) {
            Ok(Value::Object(map)) => map,
            _ => {
                return failed(
                    item,
                    tool_error_content("invalid_arguments", "the arguments are not a JSON object"),
                );
            }
        };
        match tools.call(&self.caller, name, parsed).await {
            Ok(result) if result.is_error == Some(true) => {
                let content = content_json(&result);
                failed(item, content)
            }
            Ok(result) => {
                item.output = Some(output_text(&result));
                item
            }
            Err(CallError::UnknownTool(name)) => failed(
                item,
                tool_error_content(
                    "unknown_tool",
                    &format!("no tool named '{name}' for this user"),
                ),
            ),
            // No state is handed to a hosted call; kept for the match to be whole.
            Err(CallError::RequestState(err)) => failed(
                item,
                tool_error_content("invalid_arguments", &err.to_string()),
            ),
            Err(CallError::Internal(error)) => {
                tracing::error!(error = %error, tool = name, "hosted tool call failed");
                item.status = Some("failed".to_owned());
                item.error = Some(McpCallError::McpProtocolError {
                    code: -32603,
                    message: "the gateway failed to run this tool".to_owned(),
                });
                item
            }
        }
    }
}

fn failed(mut item: McpCallItem, content: Value) -> McpCallItem {
    item.status = Some("failed".to_owned());
    item.error = Some(McpCallError::McpToolExecutionError { content });
    item
}

fn tool_error_content(code: &str, message: &str) -> Value {
    json!([{"type": "text", "text": json!({"code": code, "message": message}).to_string()}])
}

fn content_json(result: &CallToolResult) -> Value {
    serde_json::to_value(&result.content).unwrap_or(Value::Null)
}

/// A successful result as the text a model reads: its text blocks, else its
/// structured content.
fn output_text(result: &CallToolResult) -> String {
    let texts: Vec<&str> = result
        .content
        .iter()
        .filter_map(|block| block.as_text().map(|text| text.text.as_str()))
        .collect();
    if texts.is_empty() {
        result
            .structured_content
            .as_ref()
            .map(Value::to_string)
            .unwrap_or_default()
    } else {
        texts.join("\n")
    }
}

fn read_only(tool: &Tool) -> bool {
    tool.annotations
        .as_ref()
        .and_then(|a| a.read_only_hint)
        .unwrap_or(false)
}

fn listed(tool: &Tool) -> McpListedTool {
    McpListedTool {
        name: tool.name.to_string(),
        description: tool.description.as_ref().map(ToString::to_string),
        input_schema: Value::Object((*tool.input_schema).clone()),
        annotations: tool
            .annotations
            .as_ref()
            .and_then(|a| serde_json::to_value(a).ok()),
    }
}

/// The MCP path `server_url` names on this gateway (absent: `/mcp`). Its host
/// must be the one the request reached (`Host`), the public URL's or the
/// listen address; its path one of the MCP endpoints.
fn gateway_path(
    state: &AppState,
    host: Option<&str>,
    server_url: Option<&str>,
) -> Result<String, String> {
    let Some(url) = server_url else {
        return Ok("/mcp".to_owned());
    };
    let refused = || {
        format!(
            "server_url '{url}' is not this gateway's MCP endpoint; use {}/mcp (or /mcp/skills, \
             /mcp/capabilities, /mcp/agents/<id>), or leave server_url out",
            state.config.public_url()
        )
    };
    let uri: Uri = url.parse().map_err(|_| refused())?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(refused());
    };
    if !matches!(scheme, "http" | "https") || uri.query().is_some() {
        return Err(refused());
    }
    let authority = authority.as_str().to_ascii_lowercase();
    let public = state.config.public_url();
    let ours = [
        host.map(str::to_ascii_lowercase),
        public
            .split_once("://")
            .and_then(|(_, rest)| rest.split('/').next())
            .map(str::to_ascii_lowercase),
        Some(state.config.listen.to_string()),
    ];
    if !ours.iter().flatten().any(|a| *a == authority) {
        return Err(refused());
    }
    let path = uri.path().trim_end_matches('/');
    let is_mcp = matches!(
        path,
        "/mcp" | crate::mcp::auth::SKILLS_PATH | crate::mcp::auth::CAPABILITIES_PATH
    ) || path
        .strip_prefix(crate::mcp::auth::AGENT_PATH_PREFIX)
        .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok());
    if is_mcp {
        Ok(path.to_owned())
    } else {
        Err(refused())
    }
}
