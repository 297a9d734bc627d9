//! The items of a Responses conversation, input and output alike, in OpenAI's
//! shapes: messages (text and image parts), function calls and their outputs,
//! and the hosted-MCP items (`mcp_list_tools`, `mcp_call`,
//! `mcp_approval_request`, `mcp_approval_response`).
//!
//! An input message may come in the "easy" form (`{"role", "content"}`, no
//! `type`, content a string); it is stored and listed in the full form (a
//! `message` with an id and content parts).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// One conversation item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Item {
    Message(MessageItem),
    FunctionCall(FunctionCallItem),
    FunctionCallOutput(FunctionCallOutputItem),
    McpListTools(McpListToolsItem),
    McpCall(McpCallItem),
    McpApprovalRequest(McpApprovalRequestItem),
    McpApprovalResponse(McpApprovalResponseItem),
}

impl Item {
    /// The item's id (assigned by the gateway when the client sent none).
    pub fn id(&self) -> Option<&str> {
        match self {
            Item::Message(item) => item.id.as_deref(),
            Item::FunctionCall(item) => item.id.as_deref(),
            Item::FunctionCallOutput(item) => item.id.as_deref(),
            Item::McpListTools(item) => Some(&item.id),
            Item::McpCall(item) => Some(&item.id),
            Item::McpApprovalRequest(item) => Some(&item.id),
            Item::McpApprovalResponse(item) => item.id.as_deref(),
        }
    }

    /// Gives the item an id of its kind when it has none.
    pub fn ensure_id(&mut self) {
        let missing = |id: &mut Option<String>, prefix: &str| {
            if id.is_none() {
                *id = Some(new_id(prefix));
            }
        };
        match self {
            Item::Message(item) => missing(&mut item.id, "msg"),
            Item::FunctionCall(item) => missing(&mut item.id, "fc"),
            Item::FunctionCallOutput(item) => missing(&mut item.id, "fco"),
            Item::McpApprovalResponse(item) => missing(&mut item.id, "mcpar"),
            Item::McpListTools(_) | Item::McpCall(_) | Item::McpApprovalRequest(_) => {}
        }
    }

    /// Parses one input item: the full form, or an easy message (no `type`).
    /// Item types the gateway does not serve are refused by name.
    pub fn from_input(value: Value) -> Result<Self, String> {
        let Value::Object(mut map) = value else {
            return Err("each input item must be an object".to_owned());
        };
        let kind = match map.get("type") {
            None if map.contains_key("role") => {
                map.insert("type".to_owned(), Value::from("message"));
                "message".to_owned()
            }
            None => return Err("an input item needs a `type` (or a `role`)".to_owned()),
            Some(Value::String(kind)) => kind.clone(),
            Some(_) => return Err("an input item's `type` must be a string".to_owned()),
        };
        if !SERVED_TYPES.contains(&kind.as_str()) {
            return Err(format!(
                "input items of type '{kind}' are not supported here; supported: {}",
                SERVED_TYPES.join(", ")
            ));
        }
        serde_json::from_value(Value::Object(map)).map_err(|e| format!("input item '{kind}': {e}"))
    }
}

const SERVED_TYPES: &[&str] = &[
    "message",
    "function_call",
    "function_call_output",
    "mcp_list_tools",
    "mcp_call",
    "mcp_approval_request",
    "mcp_approval_response",
];

/// A fresh item id: `<prefix>_<32 hex>`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemRole {
    User,
    Assistant,
    System,
    Developer,
}

/// A message item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub role: ItemRole,
    #[serde(deserialize_with = "content_parts")]
    pub content: Vec<Part>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl MessageItem {
    /// An assistant message with one text part, completed.
    pub fn assistant_text(text: String) -> Self {
        Self {
            id: Some(new_id("msg")),
            role: ItemRole::Assistant,
            content: vec![Part::OutputText {
                text,
                annotations: Vec::new(),
            }],
            status: Some("completed".to_owned()),
        }
    }

    /// The text parts joined.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|part| match part {
                Part::InputText { text } | Part::OutputText { text, .. } => Some(text.as_str()),
                Part::Refusal { refusal } => Some(refusal.as_str()),
                Part::InputImage { .. } => None,
            })
            .collect()
    }
}

/// One part of a message's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Part {
    InputText {
        text: String,
    },
    InputImage {
        /// An http(s) URL or a `data:` URL (`file_id` is not served).
        image_url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    OutputText {
        text: String,
        #[serde(default)]
        annotations: Vec<Value>,
    },
    Refusal {
        refusal: String,
    },
}

/// `content`: a string (one text part of the role's kind) or an array of parts.
fn content_parts<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Part>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(text) => Ok(vec![Part::InputText { text }]),
        Value::Array(parts) => parts
            .into_iter()
            .map(|part| {
                let kind = part.get("type").and_then(Value::as_str).unwrap_or("");
                match kind {
                    "input_text" | "input_image" | "output_text" | "refusal" => {
                        serde_json::from_value(part).map_err(D::Error::custom)
                    }
                    "" => Err(D::Error::custom("a content part needs a string `type`")),
                    other => Err(D::Error::custom(format!(
                        "content parts of type '{other}' are not supported here; supported: \
                         input_text, input_image (image_url), output_text, refusal"
                    ))),
                }
            })
            .collect(),
        _ => Err(D::Error::custom(
            "`content` must be a string or an array of parts",
        )),
    }
}

/// A call of a function tool the client runs itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCallItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub call_id: String,
    pub name: String,
    pub arguments: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// The client's answer to a function call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCallOutputItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub call_id: String,
    /// A string, or an array of content parts (kept as sent).
    pub output: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl FunctionCallOutputItem {
    /// The output as the text a model reads.
    pub fn text(&self) -> String {
        match &self.output {
            Value::String(text) => text.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|part| part.get("text").and_then(Value::as_str))
                .collect(),
            other => other.to_string(),
        }
    }
}

/// The tools an MCP server offered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpListToolsItem {
    pub id: String,
    pub server_label: String,
    pub tools: Vec<McpListedTool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One tool of an `mcp_list_tools` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpListedTool {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub input_schema: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Value>,
}

/// A tool call the gateway ran on an MCP server, with its output or error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpCallItem {
    pub id: String,
    pub server_label: String,
    pub name: String,
    pub arguments: String,
    #[serde(default)]
    pub output: Option<String>,
    #[serde(default)]
    pub error: Option<McpCallError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// Why an MCP call failed, in OpenAI's shapes (`mcp_tool_execution_error`
/// carries the tool's own error content).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum McpCallError {
    McpToolExecutionError { content: Value },
    McpProtocolError { code: i64, message: String },
    HttpError { code: i64, message: String },
}

impl McpCallError {
    /// The error as the text a model reads.
    pub fn text(&self) -> String {
        match self {
            McpCallError::McpToolExecutionError { content } => match content {
                Value::Array(parts) => parts
                    .iter()
                    .filter_map(|part| part.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("\n"),
                Value::String(text) => text.clone(),
                other => other.to_string(),
            },
            McpCallError::McpProtocolError { message, .. }
            | McpCallError::HttpError { message, .. } => message.clone(),
        }
    }
}

/// A call waiting for the user's approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpApprovalRequestItem {
    pub id: String,
    pub server_label: String,
    pub name: String,
    pub arguments: String,
}

/// The user's answer to an approval request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpApprovalResponseItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub approval_request_id: String,
    pub approve: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    #[test]
    fn an_easy_message_becomes_a_full_one() {
        let item = Item::from_input(json!({"role": "user", "content": "hi"})).unwrap();
        let Item::Message(message) = &item else {
            panic!("not a message")
        };
        assert_eq!(message.content, vec![Part::InputText { text: "hi".into() }]);
        let mut item = item;
        item.ensure_id();
        let value = serde_json::to_value(&item).unwrap();
        assert_eq!(value["type"], "message");
        assert!(value["id"].as_str().unwrap().starts_with("msg_"));
        assert_eq!(value["content"][0]["type"], "input_text");
    }

    #[test]
    fn unserved_items_and_parts_are_refused_by_name() {
        let err = Item::from_input(json!({"type": "web_search_call", "id": "x"})).unwrap_err();
        assert!(err.contains("web_search_call"), "{err}");
        let err = Item::from_input(json!({"role": "user", "content": [
            {"type": "input_file", "file_id": "f"}
        ]}))
        .unwrap_err();
        assert!(err.contains("input_file"), "{err}");
        assert!(Item::from_input(json!("hi")).is_err());
        assert!(Item::from_input(json!({"role": "wizard", "content": "x"})).is_err());
    }

    #[test]
    fn mcp_items_round_trip() {
        let call = json!({
            "type": "mcp_call", "id": "mcp_1", "server_label": "gw", "name": "github_get_me",
            "arguments": "{}", "output": null,
            "error": {"type": "mcp_tool_execution_error", "content": [{"type": "text", "text": "not connected"}]},
            "status": "failed"
        });
        let item = Item::from_input(call.clone()).unwrap();
        assert_eq!(serde_json::to_value(&item).unwrap(), call);
        let Item::McpCall(call) = item else { panic!() };
        assert_eq!(call.error.unwrap().text(), "not connected");
    }
}
