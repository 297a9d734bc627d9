//! The Anthropic stand-in: `POST /v1/messages`, validating as the Messages
//! API does (https://docs.anthropic.com/en/api/messages).

use std::collections::HashSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

use super::{Shared, answer_delay, intake, json_response, prompt_tokens, sse_event, sse_response};
use crate::echo::{self, EchoInput, EchoReply};
use crate::tokens::count_tokens_estimate;

const TOP_LEVEL: [&str; 18] = [
    "model",
    "max_tokens",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "output_config",
    "stop_sequences",
    "temperature",
    "top_p",
    "top_k",
    "metadata",
    "stream",
    "thinking",
    "service_tier",
    "container",
    "mcp_servers",
    "context_management",
];

pub(super) fn router() -> Router<Arc<Shared>> {
    Router::new().route("/v1/messages", post(messages))
}

fn error(status: u16, kind: &str, message: &str) -> Response {
    json_response(
        status,
        json!({"type": "error", "error": {"type": kind, "message": message}}),
    )
}

fn failure(status: u16) -> Response {
    match status {
        401 => error(401, "authentication_error", "invalid x-api-key"),
        429 => error(
            429,
            "rate_limit_error",
            "Number of requests has exceeded your rate limit",
        ),
        529 => error(529, "overloaded_error", "Overloaded"),
        _ => error(status, "api_error", "Internal server error"),
    }
}

fn check_block(block: &Value, role: &str, at: &str) -> Result<(), String> {
    let kind = block["type"].as_str().unwrap_or("");
    match (kind, role) {
        ("text", _) => match block["text"].as_str() {
            Some(text) if !text.is_empty() => Ok(()),
            _ => Err(format!("{at}: text content blocks must be non-empty")),
        },
        ("image", "user") => {
            let source = &block["source"];
            match source["type"].as_str() {
                Some("base64")
                    if matches!(
                        source["media_type"].as_str(),
                        Some("image/jpeg" | "image/png" | "image/gif" | "image/webp")
                    ) && source["data"].is_string() =>
                {
                    Ok(())
                }
                Some("url") if source["url"].is_string() => Ok(()),
                _ => Err(format!("{at}.source: invalid image source")),
            }
        }
        ("tool_use", "assistant")
            if block["id"].is_string()
                && block["name"].is_string()
                && block["input"].is_object() =>
        {
            Ok(())
        }
        ("tool_result", "user") if block["tool_use_id"].is_string() => Ok(()),
        _ => Err(format!(
            "{at}.type: `{kind}` is not a valid block in a {role} message"
        )),
    }
}

fn blocks(message: &Value) -> Vec<Value> {
    match &message["content"] {
        Value::String(text) => vec![json!({"type": "text", "text": text})],
        Value::Array(blocks) => blocks.clone(),
        _ => Vec::new(),
    }
}

/// What the Messages API refuses.
fn validate(body: &Value) -> Result<(), String> {
    let object = body
        .as_object()
        .ok_or("body: Input should be a valid dictionary")?;
    if let Some(unknown) = object.keys().find(|key| !TOP_LEVEL.contains(&key.as_str())) {
        return Err(format!("{unknown}: Extra inputs are not permitted"));
    }
    if !object.get("model").is_some_and(Value::is_string) {
        return Err("model: Field required".into());
    }
    match object.get("max_tokens").and_then(Value::as_u64) {
        Some(tokens) if tokens >= 1 => {}
        _ => return Err("max_tokens: Field required".into()),
    }
    let messages = object
        .get("messages")
        .and_then(Value::as_array)
        .filter(|messages| !messages.is_empty())
        .ok_or("messages: at least one message is required")?;
    let mut open_tool_uses: HashSet<String> = HashSet::new();
    for (index, message) in messages.iter().enumerate() {
        let role = message["role"].as_str().unwrap_or("");
        if !matches!(role, "user" | "assistant") {
            return Err(format!(
                "messages.{index}.role: Input should be 'user' or 'assistant'"
            ));
        }
        if message["content"].as_str() == Some("") {
            return Err(format!(
                "messages.{index}: text content blocks must be non-empty"
            ));
        }
        let content = blocks(message);
        if content.is_empty() {
            return Err(format!(
                "messages.{index}.content: content must not be empty"
            ));
        }
        let mut answered = HashSet::new();
        for (position, block) in content.iter().enumerate() {
            check_block(block, role, &format!("messages.{index}.content.{position}"))?;
            if let Some(id) = block["tool_use_id"].as_str() {
                if !open_tool_uses.contains(id) {
                    return Err(format!(
                        "messages.{index}.content.{position}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                    ));
                }
                answered.insert(id.to_owned());
            }
        }
        if role == "user" && !open_tool_uses.is_empty() && answered != open_tool_uses {
            return Err(format!(
                "messages.{index}: `tool_use` ids were found without `tool_result` blocks immediately after"
            ));
        }
        open_tool_uses = content
            .iter()
            .filter(|block| block["type"] == "tool_use")
            .filter_map(|block| block["id"].as_str().map(str::to_owned))
            .collect();
    }
    for key in ["temperature", "top_p"] {
        if let Some(value) = object.get(key)
            && !value
                .as_f64()
                .is_some_and(|value| (0.0..=1.0).contains(&value))
        {
            return Err(format!("{key}: Input should be between 0 and 1"));
        }
    }
    for stop in object
        .get("stop_sequences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if stop.as_str().is_none_or(|stop| stop.trim().is_empty()) {
            return Err(
                "stop_sequences: each stop sequence must contain non-whitespace characters".into(),
            );
        }
    }
    if let Some(system) = object.get("system")
        && !(system.is_string() || system.is_array())
    {
        return Err("system: Input should be a valid string or list".into());
    }
    for (index, tool) in object
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if !tool["name"].is_string() || tool["input_schema"]["type"] != "object" {
            return Err(format!(
                "tools.{index}: a tool needs `name` and an object `input_schema`"
            ));
        }
    }
    if let Some(choice) = object.get("tool_choice") {
        let valid = match choice["type"].as_str() {
            Some("auto" | "any" | "none") => true,
            Some("tool") => choice["name"].is_string(),
            _ => false,
        };
        if !valid {
            return Err("tool_choice: Input tag does not match any of the expected tags".into());
        }
    }
    if let Some(config) = object.get("output_config")
        && (config["format"]["type"] != "json_schema" || !config["format"]["schema"].is_object())
    {
        return Err("output_config.format: expected {type: json_schema, schema}".into());
    }
    if let Some(metadata) = object.get("metadata")
        && metadata
            .as_object()
            .is_none_or(|map| map.keys().any(|key| key != "user_id"))
    {
        return Err("metadata: Extra inputs are not permitted".into());
    }
    Ok(())
}

fn reply(body: &Value) -> EchoReply {
    let messages = body["messages"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let text_of = |message: &Value| -> String {
        blocks(message)
            .iter()
            .filter(|block| block["type"] == "text")
            .filter_map(|block| block["text"].as_str())
            .collect()
    };
    // The last thing the user wrote (a turn of tool results has no text).
    let last_user_text = messages
        .iter()
        .rev()
        .filter(|message| message["role"] == "user")
        .map(text_of)
        .find(|text| !text.is_empty())
        .unwrap_or_default();
    let tools = body["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter_map(|tool| Some((tool["name"].as_str()?, tool.get("input_schema"))))
                .collect()
        })
        .unwrap_or_default();
    echo::reply(&EchoInput {
        last_user_text,
        last_is_tool_result: messages.last().is_some_and(|message| {
            blocks(message)
                .iter()
                .all(|block| block["type"] == "tool_result")
        }),
        tools,
        forced_tool: (body["tool_choice"]["type"] == "tool")
            .then(|| body["tool_choice"]["name"].as_str())
            .flatten(),
        tools_disabled: body["tool_choice"]["type"] == "none",
        json_schema: body["output_config"]["format"].get("schema"),
        json_object: false,
    })
}

async fn messages(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let body = match intake(&shared, &uri, &headers, &raw) {
        Ok(body) => body,
        Err(status) => return failure(status),
    };
    let key = headers
        .get("x-api-key")
        .and_then(|value| value.to_str().ok());
    if key != Some(shared.api_key.as_str()) {
        return failure(401);
    }
    if headers
        .get("anthropic-version")
        .and_then(|value| value.to_str().ok())
        != Some("2023-06-01")
    {
        return error(
            400,
            "invalid_request_error",
            "anthropic-version: header is required",
        );
    }
    if let Err(message) = validate(&body) {
        return error(400, "invalid_request_error", &message);
    }
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    let reply = reply(&body);
    let mut texts: Vec<String> = body["system"]
        .as_str()
        .map(str::to_owned)
        .into_iter()
        .collect();
    for message in body["messages"].as_array().into_iter().flatten() {
        for block in blocks(message) {
            if let Some(text) = block["text"].as_str() {
                texts.push(text.to_owned());
            }
        }
    }
    let input_tokens = prompt_tokens(&texts);
    let output_tokens = count_tokens_estimate(reply.text());
    let id = "msg_standin";
    if body["stream"] == true {
        let mut events = vec![sse_event(
            Some("message_start"),
            &json!({"type": "message_start", "message": {
                "id": id, "type": "message", "role": "assistant", "content": [], "model": model,
                "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1,
                          "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}}),
        )];
        let stop_reason = match &reply {
            EchoReply::Text(text) => {
                events.push(sse_event(Some("content_block_start"), &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})));
                events.push(sse_event(Some("ping"), &json!({"type": "ping"})));
                for piece in echo::pieces(text) {
                    events.push(sse_event(Some("content_block_delta"), &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}})));
                }
                events.push(sse_event(
                    Some("content_block_stop"),
                    &json!({"type": "content_block_stop", "index": 0}),
                ));
                "end_turn"
            }
            EchoReply::ToolCall { name, arguments } => {
                events.push(sse_event(Some("content_block_start"), &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_standin", "name": name, "input": {}}})));
                let middle = arguments
                    .char_indices()
                    .nth(arguments.chars().count() / 2)
                    .map_or(0, |(at, _)| at);
                for fragment in ["", &arguments[..middle], &arguments[middle..]] {
                    events.push(sse_event(Some("content_block_delta"), &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": fragment}})));
                }
                events.push(sse_event(
                    Some("content_block_stop"),
                    &json!({"type": "content_block_stop", "index": 0}),
                ));
                "tool_use"
            }
        };
        events.push(sse_event(Some("message_delta"), &json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null}, "usage": {"output_tokens": output_tokens}})));
        events.push(sse_event(
            Some("message_stop"),
            &json!({"type": "message_stop"}),
        ));
        return sse_response(&shared, events);
    }
    let (content, stop_reason) = match reply {
        EchoReply::Text(text) => (json!([{"type": "text", "text": text}]), "end_turn"),
        EchoReply::ToolCall { name, arguments } => {
            let input: Value = serde_json::from_str(&arguments).unwrap_or_else(|_| json!({}));
            (
                json!([{"type": "tool_use", "id": "toolu_standin", "name": name, "input": input}]),
                "tool_use",
            )
        }
    };
    answer_delay(&shared).await;
    json_response(
        200,
        json!({"id": id, "type": "message", "role": "assistant", "model": model, "content": content,
               "stop_reason": stop_reason, "stop_sequence": null,
               "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                         "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}),
    )
}
