//! The OpenAI stand-in: `POST /v1/chat/completions`, `GET /v1/models`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{Shared, answer_delay, intake, json_response, prompt_tokens, sse_event, sse_response};
use crate::echo::{self, EchoInput, EchoReply};
use crate::tokens::count_tokens_estimate;

/// Models the stand-in lists.
const MODELS: [&str; 3] = ["gpt-4o-mini", "gpt-4o", "grok-2"];

pub(super) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/models", get(models))
}

fn error(status: u16, message: &str, code: Option<&str>) -> Response {
    json_response(
        status,
        json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": code}}),
    )
}

fn failure(status: u16) -> Response {
    match status {
        401 => error(401, "Incorrect API key provided.", Some("invalid_api_key")),
        429 => error(
            429,
            "Rate limit reached for requests",
            Some("rate_limit_exceeded"),
        ),
        _ => error(
            status,
            "The server had an error while processing your request.",
            None,
        ),
    }
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .is_some_and(|key| key == shared.api_key)
}

async fn models(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap) -> Response {
    if let Err(status) = intake(&shared, &uri, &headers, &Bytes::new()) {
        return failure(status);
    }
    if !authorized(&shared, &headers) {
        return failure(401);
    }
    let data: Vec<Value> = MODELS
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 1_700_000_000, "owned_by": "stand-in"}))
        .collect();
    json_response(200, json!({"object": "list", "data": data}))
}

/// What OpenAI refuses: no model, no messages, unknown roles, tool messages
/// without `tool_call_id`, `stream_options` without `stream`.
fn validate(body: &Value) -> Result<(), String> {
    let object = body
        .as_object()
        .ok_or("We could not parse the JSON body of your request.")?;
    if !object.get("model").is_some_and(Value::is_string) {
        return Err("you must provide a model parameter".into());
    }
    let messages = object
        .get("messages")
        .and_then(Value::as_array)
        .filter(|messages| !messages.is_empty())
        .ok_or("'messages' must be a non-empty array")?;
    for (index, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str).unwrap_or("");
        if !matches!(
            role,
            "system" | "developer" | "user" | "assistant" | "tool" | "function"
        ) {
            return Err(format!("Invalid value for 'messages[{index}].role'"));
        }
        if role == "tool"
            && message
                .get("tool_call_id")
                .and_then(Value::as_str)
                .is_none()
        {
            return Err(format!(
                "Missing required parameter: 'messages[{index}].tool_call_id'"
            ));
        }
    }
    if object.contains_key("stream_options") && object.get("stream") != Some(&Value::Bool(true)) {
        return Err(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.".into(),
        );
    }
    Ok(())
}

fn message_text(message: &Value) -> String {
    match message.get("content") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

fn reply(body: &Value) -> EchoReply {
    let messages = body["messages"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let last_user_text = messages
        .iter()
        .rev()
        .find(|message| message["role"] == "user")
        .map(message_text)
        .unwrap_or_default();
    let tools = body["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter_map(|tool| {
                    let name = tool["function"]["name"].as_str()?;
                    Some((name, tool["function"].get("parameters")))
                })
                .collect()
        })
        .unwrap_or_default();
    let format = &body["response_format"];
    echo::reply(&EchoInput {
        last_user_text,
        last_is_tool_result: messages
            .last()
            .is_some_and(|message| message["role"] == "tool"),
        tools,
        forced_tool: body["tool_choice"]["function"]["name"].as_str(),
        tools_disabled: body["tool_choice"] == "none",
        json_schema: (format["type"] == "json_schema")
            .then(|| format["json_schema"].get("schema"))
            .flatten(),
        json_object: format["type"] == "json_object",
    })
}

fn usage(body: &Value, reply: &EchoReply) -> Value {
    let texts: Vec<String> = body["messages"]
        .as_array()
        .map(|messages| messages.iter().map(message_text).collect())
        .unwrap_or_default();
    let prompt = prompt_tokens(&texts);
    let completion = count_tokens_estimate(reply.text());
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
    })
}

async fn chat(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let body = match intake(&shared, &uri, &headers, &raw) {
        Ok(body) => body,
        Err(status) => return failure(status),
    };
    if !authorized(&shared, &headers) {
        return failure(401);
    }
    if let Err(message) = validate(&body) {
        return error(400, &message, None);
    }
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    let reply = reply(&body);
    let usage = usage(&body, &reply);
    let id = "chatcmpl-standin";
    if body["stream"] == true {
        let chunk = |delta: Value, finish: Value| {
            json!({"id": id, "object": "chat.completion.chunk", "created": 1_700_000_000,
                   "model": model, "system_fingerprint": "fp_standin",
                   "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
        };
        let mut events = vec![sse_event(
            None,
            &chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        )];
        let finish = match &reply {
            EchoReply::Text(text) => {
                for piece in echo::pieces(text) {
                    events.push(sse_event(
                        None,
                        &chunk(json!({"content": piece}), Value::Null),
                    ));
                }
                "stop"
            }
            EchoReply::ToolCall { name, arguments } => {
                let start = json!({"tool_calls": [{"index": 0, "id": "call_standin", "type": "function",
                    "function": {"name": name, "arguments": ""}}]});
                let args =
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": arguments}}]});
                events.push(sse_event(None, &chunk(start, Value::Null)));
                events.push(sse_event(None, &chunk(args, Value::Null)));
                "tool_calls"
            }
        };
        events.push(sse_event(None, &chunk(json!({}), json!(finish))));
        if body["stream_options"]["include_usage"] == true {
            events.push(sse_event(
                None,
                &json!({"id": id, "object": "chat.completion.chunk", "created": 1_700_000_000,
                        "model": model, "choices": [], "usage": usage}),
            ));
        }
        events.push("data: [DONE]\n\n".to_owned());
        return sse_response(&shared, events);
    }
    let (message, finish) = match reply {
        EchoReply::Text(text) => (
            json!({"role": "assistant", "content": text, "refusal": null, "annotations": []}),
            "stop",
        ),
        EchoReply::ToolCall { name, arguments } => (
            json!({"role": "assistant", "content": null, "refusal": null, "annotations": [],
                   "tool_calls": [{"id": "call_standin", "type": "function",
                                   "function": {"name": name, "arguments": arguments}}]}),
            "tool_calls",
        ),
    };
    answer_delay(&shared).await;
    json_response(
        200,
        json!({"id": id, "object": "chat.completion", "created": 1_700_000_000, "model": model,
               "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
               "usage": usage, "service_tier": "default", "system_fingerprint": "fp_standin"}),
    )
}
