//! A Responses conversation as Chat Completions messages, so every provider
//! the chat plane reaches (and translates) serves the Responses API too.
//!
//! Items map to messages in order: messages by role (text and image parts),
//! `function_call` / `mcp_call` / `mcp_approval_request` to assistant tool
//! calls, their outputs to `tool` messages. An approval request nobody
//! answered is left out (the model never saw a call it cannot have a result
//! for); a declined one answers the call with the refusal.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::items::{Item, ItemRole, MessageItem, Part};
use super::request::TextFormat;
use crate::openai::{
    ContentPart, ImageUrl, JsonSchemaFormat, Message, MessageContent, NamedFunction,
    NamedToolChoice, NamedToolChoiceKind, ResponseFormat, Role, ToolCall, ToolChoice,
    ToolChoiceMode,
};

/// The chat messages of `instructions` followed by `items`.
pub fn messages(instructions: Option<&str>, items: &[Item]) -> Vec<Message> {
    let answered: HashSet<&str> = items
        .iter()
        .filter_map(|item| match item {
            Item::McpApprovalResponse(response) => Some(response.approval_request_id.as_str()),
            Item::McpCall(call) => call.approval_request_id.as_deref(),
            _ => None,
        })
        .collect();
    let mut out = Vec::with_capacity(items.len() + 1);
    if let Some(instructions) = instructions.filter(|text| !text.is_empty()) {
        out.push(Message::text(Role::System, instructions));
    }
    for item in items {
        match item {
            Item::Message(message) => out.push(message_of(message)),
            Item::FunctionCall(call) => push_tool_call(
                &mut out,
                ToolCall::function(&call.call_id, &call.name, call.arguments.clone()),
            ),
            Item::FunctionCallOutput(output) => {
                out.push(tool_result(&output.call_id, output.text()));
            }
            Item::McpListTools(_) => {}
            Item::McpApprovalRequest(request) => {
                if answered.contains(request.id.as_str()) {
                    push_tool_call(
                        &mut out,
                        ToolCall::function(&request.id, &request.name, request.arguments.clone()),
                    );
                }
            }
            Item::McpApprovalResponse(response) => {
                if !response.approve {
                    let reason = response
                        .reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default();
                    out.push(tool_result(
                        &response.approval_request_id,
                        format!("The user declined this tool call{reason}"),
                    ));
                }
            }
            Item::McpCall(call) => {
                let call_id = match &call.approval_request_id {
                    Some(approval) => approval.clone(),
                    None => {
                        push_tool_call(
                            &mut out,
                            ToolCall::function(&call.id, &call.name, call.arguments.clone()),
                        );
                        call.id.clone()
                    }
                };
                let text = match (&call.output, &call.error) {
                    (_, Some(error)) => format!("Error: {}", error.text()),
                    (Some(output), None) => output.clone(),
                    (None, None) => String::new(),
                };
                out.push(tool_result(&call_id, text));
            }
        }
    }
    out
}

fn message_of(message: &MessageItem) -> Message {
    let role = match message.role {
        ItemRole::User => Role::User,
        ItemRole::Assistant => Role::Assistant,
        ItemRole::System => Role::System,
        ItemRole::Developer => Role::Developer,
    };
    let has_image = message
        .content
        .iter()
        .any(|part| matches!(part, Part::InputImage { .. }));
    if role == Role::Assistant || !has_image {
        return Message::text(role, message.text());
    }
    let parts = message
        .content
        .iter()
        .map(|part| match part {
            Part::InputText { text } | Part::OutputText { text, .. } => {
                ContentPart::Text { text: text.clone() }
            }
            Part::Refusal { refusal } => ContentPart::Text {
                text: refusal.clone(),
            },
            Part::InputImage { image_url, detail } => ContentPart::ImageUrl {
                image_url: ImageUrl {
                    url: image_url.clone(),
                    detail: detail.clone(),
                },
            },
        })
        .collect();
    let mut out = Message::text(role, "");
    out.content = Some(Some(MessageContent::Parts(parts)));
    out
}

/// Adds a tool call to the assistant message just before, or a new one.
fn push_tool_call(out: &mut Vec<Message>, call: ToolCall) {
    if let Some(last) = out.last_mut()
        && last.role == Role::Assistant
    {
        last.tool_calls.get_or_insert_with(Vec::new).push(call);
        return;
    }
    out.push(Message {
        role: Role::Assistant,
        content: Some(None),
        name: None,
        tool_calls: Some(vec![call]),
        tool_call_id: None,
        extra: Map::new(),
    });
}

fn tool_result(call_id: &str, text: String) -> Message {
    let mut message = Message::text(Role::Tool, text);
    message.tool_call_id = Some(call_id.to_owned());
    message
}

/// `text.format` as a chat `response_format`.
pub fn response_format(format: &TextFormat) -> ResponseFormat {
    match format {
        TextFormat::Text => ResponseFormat::Text,
        TextFormat::JsonObject => ResponseFormat::JsonObject,
        TextFormat::JsonSchema {
            name,
            schema,
            description,
            strict,
        } => ResponseFormat::JsonSchema {
            json_schema: JsonSchemaFormat {
                name: name.clone(),
                description: description.clone(),
                schema: Some(schema.clone()),
                strict: *strict,
            },
        },
    }
}

/// A Responses `tool_choice` as a chat one. `mcp_name` maps an MCP server
/// label and tool name to the function name the model sees.
pub fn tool_choice(
    choice: &Value,
    mcp_name: impl Fn(&str, Option<&str>) -> Option<String>,
) -> Result<ToolChoice, String> {
    let named = |name: String| {
        ToolChoice::Named(NamedToolChoice {
            kind: NamedToolChoiceKind::Function,
            function: NamedFunction { name },
        })
    };
    match choice {
        Value::String(mode) => match mode.as_str() {
            "auto" => Ok(ToolChoice::Mode(ToolChoiceMode::Auto)),
            "none" => Ok(ToolChoice::Mode(ToolChoiceMode::None)),
            "required" => Ok(ToolChoice::Mode(ToolChoiceMode::Required)),
            other => Err(format!(
                "tool_choice '{other}' is not one of auto, none, required"
            )),
        },
        Value::Object(map) => match map.get("type").and_then(Value::as_str) {
            Some("function") => map
                .get("name")
                .and_then(Value::as_str)
                .map(|name| named(name.to_owned()))
                .ok_or_else(|| "tool_choice of type function needs a `name`".to_owned()),
            Some("mcp") => {
                let label = map
                    .get("server_label")
                    .and_then(Value::as_str)
                    .ok_or_else(|| "tool_choice of type mcp needs a `server_label`".to_owned())?;
                let name = map.get("name").and_then(Value::as_str);
                match name {
                    None => Ok(ToolChoice::Mode(ToolChoiceMode::Required)),
                    Some(tool) => mcp_name(label, Some(tool)).map(named).ok_or_else(|| {
                        format!("tool_choice names '{tool}', which the MCP server '{label}' does not offer")
                    }),
                }
            }
            Some(other) => Err(format!(
                "tool_choice of type '{other}' is not supported; use auto, none, required, \
                 a function or an mcp choice"
            )),
            None => Err("tool_choice needs a `type`".to_owned()),
        },
        _ => Err("tool_choice must be a string or an object".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    fn items(values: Value) -> Vec<Item> {
        values
            .as_array()
            .unwrap()
            .iter()
            .map(|v| Item::from_input(v.clone()).unwrap())
            .collect()
    }

    #[test]
    fn a_conversation_maps_to_chat_messages() {
        let items = items(json!([
            {"role": "user", "content": [
                {"type": "input_text", "text": "What is this?"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAAA"}
            ]},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "42"},
            {"type": "mcp_list_tools", "id": "l1", "server_label": "gw", "tools": []},
            {"type": "mcp_call", "id": "m1", "server_label": "gw", "name": "g", "arguments": "{}", "output": "ok"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Done", "annotations": []}]}
        ]));
        let messages = serde_json::to_value(messages(Some("Be brief."), &items)).unwrap();
        assert_eq!(
            messages,
            json!([
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
                ]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ]},
                {"role": "tool", "content": "42", "tool_call_id": "c1"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "m1", "type": "function", "function": {"name": "g", "arguments": "{}"}}
                ]},
                {"role": "tool", "content": "ok", "tool_call_id": "m1"},
                {"role": "assistant", "content": "Done"}
            ])
        );
    }

    #[test]
    fn approvals_answer_their_calls_and_unanswered_ones_are_left_out() {
        let items = items(json!([
            {"role": "user", "content": "go"},
            {"type": "mcp_approval_request", "id": "a1", "server_label": "gw", "name": "g", "arguments": "{}"},
            {"type": "mcp_approval_request", "id": "a2", "server_label": "gw", "name": "h", "arguments": "{}"},
            {"type": "mcp_approval_request", "id": "a3", "server_label": "gw", "name": "k", "arguments": "{}"},
            {"type": "mcp_approval_response", "approval_request_id": "a2", "approve": false, "reason": "no"},
            {"type": "mcp_approval_response", "approval_request_id": "a1", "approve": true},
            {"type": "mcp_call", "id": "m1", "server_label": "gw", "name": "g", "arguments": "{}", "output": "ran", "approval_request_id": "a1"}
        ]));
        let messages = serde_json::to_value(messages(None, &items)).unwrap();
        assert_eq!(
            messages,
            json!([
                {"role": "user", "content": "go"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "a1", "type": "function", "function": {"name": "g", "arguments": "{}"}},
                    {"id": "a2", "type": "function", "function": {"name": "h", "arguments": "{}"}}
                ]},
                {"role": "tool", "content": "The user declined this tool call: no", "tool_call_id": "a2"},
                {"role": "tool", "content": "ran", "tool_call_id": "a1"}
            ])
        );
    }

    #[test]
    fn tool_choices_map() {
        let none = |_: &str, _: Option<&str>| None;
        assert_eq!(
            tool_choice(&json!("required"), none).unwrap(),
            ToolChoice::Mode(ToolChoiceMode::Required)
        );
        let named = tool_choice(&json!({"type": "function", "name": "f"}), none).unwrap();
        assert!(matches!(named, ToolChoice::Named(n) if n.function.name == "f"));
        let mcp = tool_choice(
            &json!({"type": "mcp", "server_label": "gw", "name": "github_get_me"}),
            |_, name| name.map(str::to_owned),
        )
        .unwrap();
        assert!(matches!(mcp, ToolChoice::Named(n) if n.function.name == "github_get_me"));
        assert!(tool_choice(&json!({"type": "web_search_preview"}), none).is_err());
    }
}
