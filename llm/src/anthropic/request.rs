//! Chat Completions request → Anthropic Messages request.
//!
//! Reference: https://docs.anthropic.com/en/api/messages

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{ProviderError, ProviderKind};
use crate::openai::{
    ChatRequest, ContentPart, Message, MessageContent, ResponseFormat, Role, ToolChoice,
    ToolChoiceMode,
};
use crate::translate::{
    empty_object_schema, function_of, is_http_url, parse_arguments, parse_data_url, refuse_common,
    refuse_image_detail, refuse_unknown_extras, system_text,
};

const PROVIDER: ProviderKind = ProviderKind::Anthropic;

/// `max_tokens` sent when the client set no cap: Anthropic requires one.
/// 4096 is the smallest output limit of every current Claude model, so it
/// is valid for all of them.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// The Messages API request body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessagesRequest {
    pub model: String,
    pub max_tokens: u32,
    pub messages: Vec<AnthropicMessage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<AnthropicTool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_config: Option<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
}

/// One turn: `user` or `assistant`, with content blocks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnthropicMessage {
    pub role: &'static str,
    pub content: Vec<Value>,
}

/// A client tool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnthropicTool {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub input_schema: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// Translates `request` (streamed or not) into a Messages request.
pub fn to_messages_request(
    request: &ChatRequest,
    stream: bool,
) -> Result<MessagesRequest, ProviderError> {
    refuse_common(request, PROVIDER)?;
    refuse_unknown_extras(request, PROVIDER, &[])?;
    if request.seed.is_some() {
        return Err(ProviderError::unsupported("seed", PROVIDER));
    }
    if request.metadata.as_ref().is_some_and(|map| !map.is_empty()) {
        return Err(ProviderError::unsupported("metadata", PROVIDER));
    }
    if let Some(temperature) = request.temperature
        && !(0.0..=1.0).contains(&temperature)
    {
        return Err(ProviderError::unsupported(
            "temperature (Anthropic accepts 0 to 1)",
            PROVIDER,
        ));
    }

    let stop_sequences = request.stop_sequences();
    if stop_sequences.iter().any(|stop| stop.trim().is_empty()) {
        return Err(ProviderError::unsupported(
            "stop (Anthropic refuses whitespace-only stop sequences)",
            PROVIDER,
        ));
    }

    let (system, messages) = translate_messages(&request.messages)?;
    let tools = translate_tools(request)?;
    let tool_choice = translate_tool_choice(request)?;
    Ok(MessagesRequest {
        model: request.model.clone(),
        max_tokens: request.output_token_cap().unwrap_or(DEFAULT_MAX_TOKENS),
        messages,
        system,
        tools,
        tool_choice,
        output_config: translate_response_format(request)?,
        stop_sequences,
        temperature: request.temperature,
        top_p: request.top_p,
        metadata: request
            .user
            .as_ref()
            .map(|user| serde_json::json!({"user_id": user})),
        stream,
    })
}

/// System and developer messages become `system`; tool results become
/// `tool_result` blocks of a user turn; consecutive turns of one role merge
/// (parallel tool results must share one user turn).
fn translate_messages(
    messages: &[Message],
) -> Result<(Option<String>, Vec<AnthropicMessage>), ProviderError> {
    let mut system: Vec<String> = Vec::new();
    let mut turns: Vec<AnthropicMessage> = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        let (role, blocks) = match message.role {
            Role::System | Role::Developer => {
                let text = system_text(message, index, PROVIDER)?;
                if !text.is_empty() {
                    system.push(text);
                }
                continue;
            }
            Role::User => ("user", user_blocks(message, index)?),
            Role::Assistant => ("assistant", assistant_blocks(message, index)?),
            Role::Tool => ("user", vec![tool_result_block(message, index)?]),
            Role::Function => {
                return Err(ProviderError::unsupported(
                    format!("messages[{index}].role=function"),
                    PROVIDER,
                ));
            }
        };
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some(last) if last.role == role => last.content.extend(blocks),
            _ => turns.push(AnthropicMessage {
                role,
                content: blocks,
            }),
        }
    }
    if turns.is_empty() {
        return Err(ProviderError::invalid(
            "`messages` needs at least one user or assistant message",
        ));
    }
    let system = (!system.is_empty()).then(|| system.join("\n\n"));
    Ok((system, turns))
}

fn text_block(text: &str) -> Value {
    serde_json::json!({"type": "text", "text": text})
}

fn user_blocks(message: &Message, index: usize) -> Result<Vec<Value>, ProviderError> {
    match message.content() {
        None => Ok(Vec::new()),
        Some(MessageContent::Text(text)) if text.is_empty() => Ok(Vec::new()),
        Some(MessageContent::Text(text)) => Ok(vec![text_block(text)]),
        Some(MessageContent::Parts(parts)) => parts
            .iter()
            .enumerate()
            .map(|(part_index, part)| {
                let at = format!("messages[{index}].content[{part_index}]");
                match part {
                    ContentPart::Text { text } => Ok(text_block(text)),
                    ContentPart::ImageUrl { image_url } => {
                        refuse_image_detail(image_url.detail.as_deref(), &at, PROVIDER)?;
                        image_block(&image_url.url, &at)
                    }
                    other => Err(ProviderError::unsupported(
                        format!("{at}.type={}", other.type_name()),
                        PROVIDER,
                    )),
                }
            })
            .collect(),
    }
}

/// An image: Anthropic takes both `base64` and `url` sources.
fn image_block(url: &str, at: &str) -> Result<Value, ProviderError> {
    if is_http_url(url) {
        return Ok(serde_json::json!({
            "type": "image",
            "source": {"type": "url", "url": url}
        }));
    }
    let data = parse_data_url(url, &format!("{at}.image_url.url"))?;
    Ok(serde_json::json!({
        "type": "image",
        "source": {"type": "base64", "media_type": data.media_type, "data": data.base64}
    }))
}

fn assistant_blocks(message: &Message, index: usize) -> Result<Vec<Value>, ProviderError> {
    let mut blocks = Vec::new();
    match message.content() {
        None => {}
        Some(MessageContent::Text(text)) if !text.is_empty() => blocks.push(text_block(text)),
        Some(MessageContent::Text(_)) => {}
        Some(MessageContent::Parts(parts)) => {
            for (part_index, part) in parts.iter().enumerate() {
                match part {
                    ContentPart::Text { text } if !text.is_empty() => blocks.push(text_block(text)),
                    ContentPart::Text { .. } => {}
                    other => {
                        return Err(ProviderError::unsupported(
                            format!(
                                "messages[{index}].content[{part_index}].type={}",
                                other.type_name()
                            ),
                            PROVIDER,
                        ));
                    }
                }
            }
        }
    }
    for (call_index, call) in message.tool_calls.iter().flatten().enumerate() {
        let at = format!("messages[{index}].tool_calls[{call_index}]");
        if call.kind != "function" {
            return Err(ProviderError::unsupported(
                format!("{at}.type={}", call.kind),
                PROVIDER,
            ));
        }
        blocks.push(serde_json::json!({
            "type": "tool_use",
            "id": call.id,
            "name": call.function.name,
            "input": parse_arguments(&call.function.arguments, &format!("{at}.function.arguments"))?,
        }));
    }
    Ok(blocks)
}

fn tool_result_block(message: &Message, index: usize) -> Result<Value, ProviderError> {
    let tool_use_id = message.tool_call_id.as_ref().ok_or_else(|| {
        ProviderError::invalid(format!(
            "messages[{index}]: a tool message needs `tool_call_id`"
        ))
    })?;
    let text = system_text(message, index, PROVIDER)?;
    Ok(serde_json::json!({
        "type": "tool_result",
        "tool_use_id": tool_use_id,
        "content": text,
    }))
}

fn translate_tools(request: &ChatRequest) -> Result<Vec<AnthropicTool>, ProviderError> {
    let Some(tools) = &request.tools else {
        return Ok(Vec::new());
    };
    tools
        .iter()
        .enumerate()
        .map(|(index, tool)| {
            let function = function_of(tool, index, PROVIDER)?;
            Ok(AnthropicTool {
                name: function.name.clone(),
                description: function.description.clone(),
                input_schema: function
                    .parameters
                    .clone()
                    .unwrap_or_else(empty_object_schema),
                strict: function.strict.filter(|strict| *strict),
            })
        })
        .collect()
}

/// `auto` → auto, `required` → any, `none` → none, named → tool;
/// `parallel_tool_calls: false` → `disable_parallel_tool_use`.
fn translate_tool_choice(request: &ChatRequest) -> Result<Option<Value>, ProviderError> {
    let disable_parallel = request.parallel_tool_calls == Some(false);
    let mut choice = match &request.tool_choice {
        None if disable_parallel && request.tools.is_some() => serde_json::json!({"type": "auto"}),
        None => return Ok(None),
        Some(ToolChoice::Mode(ToolChoiceMode::None)) => {
            return Ok(Some(serde_json::json!({"type": "none"})));
        }
        Some(ToolChoice::Mode(ToolChoiceMode::Auto)) => serde_json::json!({"type": "auto"}),
        Some(ToolChoice::Mode(ToolChoiceMode::Required)) => serde_json::json!({"type": "any"}),
        Some(ToolChoice::Named(named)) => {
            serde_json::json!({"type": "tool", "name": named.function.name})
        }
        Some(ToolChoice::Other(_)) => {
            return Err(ProviderError::unsupported("tool_choice", PROVIDER));
        }
    };
    if disable_parallel && let Some(map) = choice.as_object_mut() {
        map.insert("disable_parallel_tool_use".to_owned(), Value::Bool(true));
    }
    Ok(Some(choice))
}

/// `json_schema` → native structured output (`output_config.format`);
/// `json_object` has no schema to constrain to and is refused.
fn translate_response_format(request: &ChatRequest) -> Result<Option<Value>, ProviderError> {
    match &request.response_format {
        None | Some(ResponseFormat::Text) => Ok(None),
        Some(ResponseFormat::JsonObject) => Err(ProviderError::unsupported(
            "response_format.type=json_object (use json_schema)",
            PROVIDER,
        )),
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            let schema = json_schema.schema.clone().ok_or_else(|| {
                ProviderError::invalid("response_format.json_schema needs `schema`")
            })?;
            let mut format = Map::new();
            format.insert("type".to_owned(), Value::String("json_schema".to_owned()));
            format.insert("schema".to_owned(), schema);
            Ok(Some(serde_json::json!({"format": format})))
        }
    }
}
