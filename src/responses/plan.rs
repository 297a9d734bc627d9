//! From a `POST /v1/responses` body to a [`Plan`]: the stored conversation it
//! continues (the end user's own, else 404), its input items with ids, its
//! tools (client functions and hosted MCP servers), the answers to approval
//! requests, and the Response object it will fill. Every refusal here is a
//! 400 (or 404) before anything is held or run.

use assistiv_llm::openai::{FunctionDefinition, Tool as ChatTool};
use assistiv_llm::responses::items::McpApprovalRequestItem;
use assistiv_llm::responses::request::{FunctionTool, TextFormat};
use assistiv_llm::responses::{CreateResponse, Item, ResponseObject, ToolSpec, chat, new_id};
use serde_json::{Map, json};

use super::Responses;
use super::hosted::{Asker, Hosted};
use super::stored::{Owner, Stored};
use super::turns::Plan;
use crate::auth::cache::AuthContext;
use crate::error::Error;
use crate::inference::completion::Caller as Payer;
use crate::state::AppState;

/// Who asks and where they reached the gateway.
pub struct Requester<'a> {
    pub key: &'a AuthContext,
    pub end_user_id: uuid::Uuid,
    pub host: Option<&'a str>,
}

impl Requester<'_> {
    pub fn owner(&self) -> Owner {
        Owner {
            platform_id: self.key.platform_id,
            end_user_id: self.end_user_id,
        }
    }
}

pub async fn plan(
    state: &AppState,
    service: &Responses,
    requester: &Requester<'_>,
    response_id: String,
    request: CreateResponse,
) -> Result<Plan, Error> {
    let owner = requester.owner();
    let prior = match &request.previous_response_id {
        Some(previous) => {
            Stored::load(&state.db, service.vault(), owner, previous)
                .await
                .map_err(|error| {
                    if error.code() == "response_not_found" {
                        Error::not_found(format!(
                            "previous_response_id '{previous}' names no response of this end user"
                        ))
                        .with_code("previous_response_not_found")
                    } else {
                        error
                    }
                })?
                .context
        }
        None => Vec::new(),
    };
    let mut input = request.input_items().map_err(Error::bad_request)?;
    for item in &mut input {
        item.ensure_id();
    }
    if prior.is_empty() && input.is_empty() {
        return Err(Error::bad_request(
            "input is required (a string or a list of items) when there is no previous_response_id",
        ));
    }

    let mut functions = Vec::new();
    let mut mcp = Vec::new();
    for (index, value) in request.tools.iter().flatten().enumerate() {
        match ToolSpec::parse(index, value).map_err(Error::bad_request)? {
            ToolSpec::Function(function) => functions.push(function_tool(index, function)?),
            ToolSpec::Mcp(spec) => mcp.push((index, spec)),
        }
    }
    let function_names: Vec<String> = functions
        .iter()
        .filter_map(|tool: &ChatTool| tool.function.as_ref().map(|f| f.name.clone()))
        .collect();
    let asker = Asker {
        key: requester.key,
        end_user_id: requester.end_user_id,
        response_id: &response_id,
        host: requester.host,
    };
    let hosted = Hosted::resolve(state, service.tools(), &asker, mcp, &function_names).await?;
    let approved = approvals(&prior, &input, &hosted)?;
    let tool_choice = request
        .tool_choice
        .as_ref()
        .map(|choice| chat::tool_choice(choice, |label, name| hosted.function_name(label, name?)))
        .transpose()
        .map_err(Error::bad_request)?;
    let format = request.text.as_ref().and_then(|text| text.format.clone());
    if request.max_output_tokens == Some(0) {
        return Err(Error::bad_request("max_output_tokens must be at least 1"));
    }

    let mut tools = functions;
    tools.extend(hosted.functions());
    let response = ResponseObject {
        id: response_id.clone(),
        object: "response".to_owned(),
        created_at: state.clock.now().timestamp(),
        status: "in_progress".to_owned(),
        completed_at: None,
        error: None,
        incomplete_details: None,
        instructions: request.instructions.clone(),
        max_output_tokens: request.max_output_tokens,
        max_tool_calls: request.max_tool_calls,
        model: request.model.clone(),
        output: Vec::new(),
        parallel_tool_calls: request.parallel_tool_calls.unwrap_or(true),
        previous_response_id: request.previous_response_id.clone(),
        temperature: request.temperature,
        top_p: request.top_p,
        tool_choice: request.tool_choice.clone().unwrap_or_else(|| json!("auto")),
        tools: request.tools.clone().unwrap_or_default(),
        text: json!({"format": format.clone().unwrap_or(TextFormat::Text)}),
        truncation: "disabled".to_owned(),
        usage: None,
        user: request.user.clone(),
        metadata: request.metadata.clone().unwrap_or_default(),
        store: request.stores(),
        background: false,
    };
    Ok(Plan {
        response,
        payer: Payer {
            platform_id: owner.platform_id,
            end_user_id: owner.end_user_id,
            request_id: response_id,
        },
        hosted,
        tools,
        tool_choice,
        response_format: format.as_ref().map(chat::response_format),
        instructions: request.instructions,
        prior,
        input,
        approved,
        max_turns: state.config.responses_max_turns,
        max_tool_calls: request.max_tool_calls,
    })
}

/// A function tool as the model sees it; its name as OpenAI allows it.
fn function_tool(index: usize, function: FunctionTool) -> Result<ChatTool, Error> {
    let valid = !function.name.is_empty()
        && function.name.len() <= 64
        && function
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(Error::bad_request(format!(
            "tools[{index}].name must be 1 to 64 letters, digits, '_' or '-'"
        )));
    }
    if let Some(parameters) = &function.parameters
        && !parameters.is_object()
    {
        return Err(Error::bad_request(format!(
            "tools[{index}].parameters must be a JSON Schema object"
        )));
    }
    Ok(ChatTool {
        kind: "function".to_owned(),
        function: Some(FunctionDefinition {
            name: function.name,
            description: function.description,
            parameters: function.parameters,
            strict: function.strict,
        }),
        extra: Map::new(),
    })
}

/// The approval responses of this input, checked against the conversation:
/// each answers an approval request it holds, not answered before, of a
/// server this request still offers. The approved ones, to run first.
fn approvals(
    prior: &[Item],
    input: &[Item],
    hosted: &Hosted,
) -> Result<Vec<McpApprovalRequestItem>, Error> {
    let mut approved = Vec::new();
    let mut answered_now: Vec<&str> = Vec::new();
    for item in input {
        let Item::McpApprovalResponse(answer) = item else {
            continue;
        };
        let id = answer.approval_request_id.as_str();
        let request = prior.iter().chain(input).find_map(|item| match item {
            Item::McpApprovalRequest(request) if request.id == id => Some(request),
            _ => None,
        });
        let Some(request) = request else {
            return Err(Error::bad_request(format!(
                "approval_request_id '{id}' answers no mcp_approval_request of this conversation \
                 (continue it with previous_response_id)"
            )));
        };
        let answered_before = prior.iter().any(|item| match item {
            Item::McpApprovalResponse(r) => r.approval_request_id == id,
            Item::McpCall(call) => call.approval_request_id.as_deref() == Some(id),
            _ => false,
        });
        if answered_before || answered_now.contains(&id) {
            return Err(Error::bad_request(format!(
                "the approval request '{id}' was already answered"
            )));
        }
        answered_now.push(id);
        if !answer.approve {
            continue;
        }
        let offered = hosted
            .server(&request.server_label)
            .is_some_and(|server| server.offers(&request.name));
        if !offered {
            return Err(Error::bad_request(format!(
                "the approved call of '{}' needs the mcp tool with server_label '{}' (offering it) \
                 in this request's tools",
                request.name, request.server_label
            )));
        }
        approved.push(request.clone());
    }
    Ok(approved)
}

/// A fresh response id.
pub fn response_id() -> String {
    new_id("resp")
}
