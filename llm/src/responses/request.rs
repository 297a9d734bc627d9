//! `POST /v1/responses` request body, as the OpenAI SDKs send it. Every field
//! the gateway does not honour is refused by name (a request is never answered
//! as if a setting applied when it did not).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::items::Item;

/// The Responses request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateResponse {
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Input>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tool_calls: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_response_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Fields the SDKs may send that change nothing the gateway answers (hints,
/// or the values that are already the gateway's behaviour).
const IGNORED_FIELDS: &[&str] = &[
    "include",
    "safety_identifier",
    "prompt_cache_key",
    "prompt_cache_retention",
    "service_tier",
    "stream_options",
];

impl CreateResponse {
    /// Parses a body, refusing fields the gateway cannot honour.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let request: Self =
            serde_json::from_slice(body).map_err(|e| format!("invalid responses request: {e}"))?;
        for (name, value) in &request.extra {
            let honoured = IGNORED_FIELDS.contains(&name.as_str())
                || value.is_null()
                || matches!(
                    (name.as_str(), value),
                    ("truncation", Value::String(t)) if t == "disabled"
                )
                || matches!((name.as_str(), value), ("background", Value::Bool(false)));
            if !honoured {
                return Err(format!(
                    "the parameter '{name}' is not supported by this gateway's Responses API"
                ));
            }
        }
        if let Some(metadata) = &request.metadata {
            check_metadata(metadata)?;
        }
        Ok(request)
    }

    pub fn is_stream(&self) -> bool {
        self.stream == Some(true)
    }

    /// Whether the response is kept for `previous_response_id` and retrieval.
    pub fn stores(&self) -> bool {
        self.store != Some(false)
    }

    /// The input as items (a string is one user message).
    pub fn input_items(&self) -> Result<Vec<Item>, String> {
        match &self.input {
            None => Ok(Vec::new()),
            Some(Input::Text(text)) => Item::from_input(serde_json::json!({
                "type": "message", "role": "user", "content": text
            }))
            .map(|item| vec![item]),
            Some(Input::Items(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    Item::from_input(item.clone()).map_err(|e| format!("input[{i}]: {e}"))
                })
                .collect(),
        }
    }
}

/// OpenAI's limits on `metadata`: 16 pairs, keys up to 64 characters, string
/// values up to 512.
fn check_metadata(metadata: &Map<String, Value>) -> Result<(), String> {
    if metadata.len() > 16 {
        return Err("metadata holds at most 16 pairs".to_owned());
    }
    for (key, value) in metadata {
        if key.chars().count() > 64 {
            return Err(format!("metadata key '{key}' is longer than 64 characters"));
        }
        match value {
            Value::String(text) if text.chars().count() <= 512 => {}
            Value::String(_) => {
                return Err(format!(
                    "metadata value of '{key}' is longer than 512 characters"
                ));
            }
            _ => return Err(format!("metadata value of '{key}' must be a string")),
        }
    }
    Ok(())
}

/// `input`: a string or an array of items (parsed by [`Item::from_input`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Input {
    Text(String),
    Items(Vec<Value>),
}

/// `text`: the output format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<TextFormat>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `text.format`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TextFormat {
    Text,
    JsonObject,
    JsonSchema {
        name: String,
        schema: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        strict: Option<bool>,
    },
}

/// A function tool the client runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionTool {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// A hosted MCP server (`{"type": "mcp", ...}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpTool {
    pub server_label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_tools: Option<AllowedTools>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_approval: Option<RequireApproval>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_description: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `allowed_tools`: names, or a filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AllowedTools {
    Names(Vec<String>),
    Filter(ToolFilter),
}

/// A filter over an MCP server's tools.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_names: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

impl ToolFilter {
    /// Whether a tool passes the filter (every condition given holds).
    pub fn admits(&self, name: &str, read_only: bool) -> bool {
        self.tool_names
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == name))
            && self.read_only.is_none_or(|wanted| wanted == read_only)
    }

    fn is_empty(&self) -> bool {
        self.tool_names.is_none() && self.read_only.is_none()
    }
}

impl AllowedTools {
    pub fn admits(&self, name: &str, read_only: bool) -> bool {
        match self {
            AllowedTools::Names(names) => names.iter().any(|n| n == name),
            AllowedTools::Filter(filter) => filter.admits(name, read_only),
        }
    }
}

/// `require_approval`: `"always"`, `"never"`, or filters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequireApproval {
    Mode(ApprovalMode),
    Filters {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        always: Option<ToolFilter>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        never: Option<ToolFilter>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalMode {
    Always,
    Never,
}

impl RequireApproval {
    /// Whether a call of `name` waits for the user's approval. As on OpenAI,
    /// a tool no filter names needs approval.
    pub fn requires(&self, name: &str, read_only: bool) -> bool {
        match self {
            RequireApproval::Mode(ApprovalMode::Always) => true,
            RequireApproval::Mode(ApprovalMode::Never) => false,
            RequireApproval::Filters { always, never } => {
                let named = |f: &Option<ToolFilter>| {
                    f.as_ref()
                        .is_some_and(|f| !f.is_empty() && f.admits(name, read_only))
                };
                if named(always) { true } else { !named(never) }
            }
        }
    }
}

/// One entry of `tools`, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolSpec {
    Function(FunctionTool),
    Mcp(McpTool),
}

impl ToolSpec {
    /// Parses a `tools` entry, refusing the types the gateway does not run.
    pub fn parse(index: usize, value: &Value) -> Result<Self, String> {
        let kind = value.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "function" => serde_json::from_value(value.clone())
                .map(ToolSpec::Function)
                .map_err(|e| format!("tools[{index}]: {e}")),
            "mcp" => serde_json::from_value(value.clone())
                .map(ToolSpec::Mcp)
                .map_err(|e| format!("tools[{index}]: {e}")),
            "" => Err(format!("tools[{index}] needs a string `type`")),
            other => Err(format!(
                "tools[{index}]: tools of type '{other}' are not supported by this gateway; \
                 supported: function, mcp (this gateway's own /mcp endpoints)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_parameters_are_refused_by_name() {
        let err =
            CreateResponse::parse(br#"{"model":"m","input":"x","background":true}"#).unwrap_err();
        assert!(err.contains("background"), "{err}");
        let ok = CreateResponse::parse(
            br#"{"model":"m","input":"x","include":[],"truncation":"disabled","background":false}"#,
        )
        .unwrap();
        assert!(ok.stores());
    }

    #[test]
    fn approval_filters_follow_openai() {
        let always: RequireApproval = serde_json::from_value(json!("always")).unwrap();
        assert!(always.requires("a", true));
        let never: RequireApproval = serde_json::from_value(json!("never")).unwrap();
        assert!(!never.requires("a", false));
        let filters: RequireApproval =
            serde_json::from_value(json!({"never": {"tool_names": ["read"]}})).unwrap();
        assert!(!filters.requires("read", false));
        assert!(filters.requires("write", false));
        let filters: RequireApproval = serde_json::from_value(
            json!({"always": {"tool_names": ["write"]}, "never": {"read_only": true}}),
        )
        .unwrap();
        assert!(filters.requires("write", true));
        assert!(!filters.requires("read", true));
    }

    #[test]
    fn metadata_limits_hold() {
        let long = "k".repeat(65);
        let body = json!({"model": "m", "metadata": {long: "v"}}).to_string();
        assert!(CreateResponse::parse(body.as_bytes()).is_err());
        let body = json!({"model": "m", "metadata": {"k": 1}}).to_string();
        assert!(CreateResponse::parse(body.as_bytes()).is_err());
    }

    #[test]
    fn tool_types_are_checked() {
        assert!(
            ToolSpec::parse(0, &json!({"type": "web_search"}))
                .unwrap_err()
                .contains("web_search")
        );
        let mcp = ToolSpec::parse(
            0,
            &json!({"type": "mcp", "server_label": "gw", "allowed_tools": ["a"]}),
        )
        .unwrap();
        assert!(matches!(mcp, ToolSpec::Mcp(_)));
    }
}
