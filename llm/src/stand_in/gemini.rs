//! The Gemini stand-in: `POST /v1beta/models/{model}:generateContent` and
//! `:streamGenerateContent?alt=sse`, validating as the Gemini API does
//! (https://ai.google.dev/api/generate-content).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Map, Value, json};

use super::{Shared, answer_delay, intake, json_response, prompt_tokens, sse_event, sse_response};
use crate::echo::{self, EchoInput, EchoReply};
use crate::tokens::count_tokens_estimate;

const TOP_LEVEL: [&str; 7] = [
    "contents",
    "systemInstruction",
    "tools",
    "toolConfig",
    "generationConfig",
    "safetySettings",
    "cachedContent",
];
const GENERATION_CONFIG: [&str; 17] = [
    "temperature",
    "topP",
    "topK",
    "maxOutputTokens",
    "stopSequences",
    "candidateCount",
    "seed",
    "presencePenalty",
    "frequencyPenalty",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "responseLogprobs",
    "logprobs",
    "thinkingConfig",
    "mediaResolution",
    "responseModalities",
];
const PART_DATA: [&str; 7] = [
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
];
const PART_META: [&str; 3] = ["thought", "thoughtSignature", "videoMetadata"];

pub(super) fn router() -> Router<Arc<Shared>> {
    Router::new().route("/v1beta/models/{call}", post(generate))
}

fn error(status: u16, message: &str) -> Response {
    let code = match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    };
    json_response(
        status,
        json!({"error": {"code": status, "message": message, "status": code}}),
    )
}

fn failure(status: u16) -> Response {
    match status {
        429 => error(429, "Resource has been exhausted (e.g. check quota)."),
        401 => error(401, "Request had invalid authentication credentials."),
        _ => error(status, "An internal error has occurred."),
    }
}

fn unknown_field(object: &Map<String, Value>, known: &[&str], at: &str) -> Result<(), String> {
    match object.keys().find(|key| !known.contains(&key.as_str())) {
        Some(key) => Err(format!(
            "Invalid JSON payload received. Unknown name \"{key}\" at '{at}': Cannot find field."
        )),
        None => Ok(()),
    }
}

fn check_part(part: &Value, at: &str) -> Result<(), String> {
    let object = part
        .as_object()
        .ok_or(format!("{at}: a part must be an object"))?;
    let known: Vec<&str> = PART_DATA.iter().chain(PART_META.iter()).copied().collect();
    unknown_field(object, &known, at)?;
    let data: Vec<&str> = PART_DATA
        .iter()
        .copied()
        .filter(|key| object.contains_key(*key))
        .collect();
    if data.len() != 1 {
        return Err(format!(
            "{at}: a part needs exactly one data field, found {data:?}"
        ));
    }
    let valid = match data[0] {
        "text" => part["text"].is_string(),
        "inlineData" => {
            part["inlineData"]["mimeType"].is_string() && part["inlineData"]["data"].is_string()
        }
        "fileData" => part["fileData"]["fileUri"].is_string(),
        "functionCall" => part["functionCall"]["name"].is_string(),
        "functionResponse" => {
            part["functionResponse"]["name"].is_string()
                && part["functionResponse"]["response"].is_object()
        }
        _ => true,
    };
    if valid {
        Ok(())
    } else {
        Err(format!("{at}.{}: missing or invalid fields", data[0]))
    }
}

/// What the Gemini API refuses.
fn validate(body: &Value) -> Result<(), String> {
    let object = body.as_object().ok_or("Invalid JSON payload received.")?;
    unknown_field(object, &TOP_LEVEL, "")?;
    let contents = object
        .get("contents")
        .and_then(Value::as_array)
        .filter(|contents| !contents.is_empty())
        .ok_or("* GenerateContentRequest.contents: contents is not specified")?;
    for (index, content) in contents.iter().enumerate() {
        if !matches!(content["role"].as_str(), Some("user" | "model")) {
            return Err(format!(
                "contents[{index}].role: Please use a valid role: user, model."
            ));
        }
        let parts = content["parts"]
            .as_array()
            .filter(|parts| !parts.is_empty())
            .ok_or(format!("contents[{index}].parts: must not be empty"))?;
        for (position, part) in parts.iter().enumerate() {
            check_part(part, &format!("contents[{index}].parts[{position}]"))?;
        }
    }
    if let Some(system) = object.get("systemInstruction") {
        for (position, part) in system["parts"].as_array().into_iter().flatten().enumerate() {
            check_part(part, &format!("systemInstruction.parts[{position}]"))?;
        }
    }
    if let Some(config) = object.get("generationConfig") {
        let config = config
            .as_object()
            .ok_or("generationConfig must be an object")?;
        unknown_field(config, &GENERATION_CONFIG, "generation_config")?;
    }
    for (index, tool) in object
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        for (position, declaration) in tool["functionDeclarations"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            if !declaration["name"].is_string() {
                return Err(format!(
                    "tools[{index}].function_declarations[{position}].name: required"
                ));
            }
            if declaration.get("parameters").is_some()
                && declaration.get("parametersJsonSchema").is_some()
            {
                return Err(format!(
                    "tools[{index}].function_declarations[{position}]: parameters and parametersJsonSchema are exclusive"
                ));
            }
        }
    }
    if let Some(mode) = object
        .get("toolConfig")
        .map(|config| &config["functionCallingConfig"]["mode"])
        && !matches!(mode.as_str(), Some("AUTO" | "ANY" | "NONE" | "VALIDATED"))
    {
        return Err("toolConfig.functionCallingConfig.mode: invalid value".into());
    }
    Ok(())
}

fn reply(body: &Value) -> EchoReply {
    let contents = body["contents"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let text_of = |content: &Value| -> String {
        content["parts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|part| part["text"].as_str())
            .collect()
    };
    let last_user_text = contents
        .iter()
        .rev()
        .filter(|content| content["role"] == "user")
        .map(text_of)
        .find(|text| !text.is_empty())
        .unwrap_or_default();
    let tools = body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|tool| {
            tool["functionDeclarations"]
                .as_array()
                .into_iter()
                .flatten()
        })
        .filter_map(|declaration| {
            let schema = declaration
                .get("parametersJsonSchema")
                .or(declaration.get("parameters"));
            Some((declaration["name"].as_str()?, schema))
        })
        .collect();
    let calling = &body["toolConfig"]["functionCallingConfig"];
    let config = &body["generationConfig"];
    let json_schema = config
        .get("responseJsonSchema")
        .or(config.get("responseSchema"));
    echo::reply(&EchoInput {
        last_user_text,
        last_is_tool_result: contents.last().is_some_and(|content| {
            content["parts"]
                .as_array()
                .into_iter()
                .flatten()
                .all(|part| part.get("functionResponse").is_some())
        }),
        tools,
        forced_tool: calling["allowedFunctionNames"][0].as_str(),
        tools_disabled: calling["mode"] == "NONE",
        json_schema,
        json_object: json_schema.is_none() && config["responseMimeType"] == "application/json",
    })
}

async fn generate(
    State(shared): State<Arc<Shared>>,
    Path(call): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let body = match intake(&shared, &uri, &headers, &raw) {
        Ok(body) => body,
        Err(status) => return failure(status),
    };
    let key = headers
        .get("x-goog-api-key")
        .and_then(|value| value.to_str().ok());
    if key != Some(shared.api_key.as_str()) {
        return error(400, "API key not valid. Please pass a valid API key.");
    }
    let Some((model, action)) = call.split_once(':') else {
        return error(404, "Not found");
    };
    let sse = uri.query() == Some("alt=sse");
    let streaming = match action {
        "generateContent" => false,
        "streamGenerateContent" if sse => true,
        _ => return error(404, "The requested method is not served by this stand-in"),
    };
    if let Err(message) = validate(&body) {
        return error(400, &message);
    }
    let reply = reply(&body);
    let mut texts: Vec<String> = Vec::new();
    for content in body["contents"].as_array().into_iter().flatten() {
        for part in content["parts"].as_array().into_iter().flatten() {
            if let Some(text) = part["text"].as_str() {
                texts.push(text.to_owned());
            }
        }
    }
    let prompt = prompt_tokens(&texts);
    let completion = count_tokens_estimate(reply.text());
    let usage = |candidates: u64| json!({"promptTokenCount": prompt, "candidatesTokenCount": candidates, "totalTokenCount": prompt + candidates});
    let response = |parts: Value, finish: Option<&str>, candidates: u64| {
        let mut candidate = json!({"content": {"role": "model", "parts": parts}, "index": 0});
        if let (Some(finish), Some(map)) = (finish, candidate.as_object_mut()) {
            map.insert("finishReason".into(), json!(finish));
        }
        json!({"candidates": [candidate], "usageMetadata": usage(candidates),
               "modelVersion": model, "responseId": "standin"})
    };
    let call_part = |name: &str, arguments: &str| {
        let args: Value = serde_json::from_str(arguments).unwrap_or_else(|_| json!({}));
        json!([{"functionCall": {"name": name, "args": args}}])
    };
    if streaming {
        let events = match &reply {
            EchoReply::Text(text) if text.is_empty() => {
                vec![sse_event(
                    None,
                    &response(json!([{"text": ""}]), Some("STOP"), 0),
                )]
            }
            EchoReply::Text(text) => {
                let pieces = echo::pieces(text);
                let last = pieces.len().saturating_sub(1);
                let mut produced = 0;
                pieces
                    .iter()
                    .enumerate()
                    .map(|(position, piece)| {
                        produced += count_tokens_estimate(piece);
                        let finish = (position == last).then_some("STOP");
                        let candidates = if position == last {
                            completion
                        } else {
                            produced
                        };
                        sse_event(
                            None,
                            &response(json!([{"text": piece}]), finish, candidates),
                        )
                    })
                    .collect()
            }
            EchoReply::ToolCall { name, arguments } => {
                vec![sse_event(
                    None,
                    &response(call_part(name, arguments), Some("STOP"), completion),
                )]
            }
        };
        return sse_response(&shared, events);
    }
    let parts = match &reply {
        EchoReply::Text(text) => json!([{"text": text}]),
        EchoReply::ToolCall { name, arguments } => call_part(name, arguments),
    };
    answer_delay(&shared).await;
    json_response(200, response(parts, Some("STOP"), completion))
}
