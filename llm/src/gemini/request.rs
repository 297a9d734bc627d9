//! Chat Completions request → Gemini `generateContent` request.
//!
//! Reference: https://ai.google.dev/api/generate-content

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::response::signature_of_call_id;
use crate::error::{ProviderError, ProviderKind};
use crate::openai::{
    ChatRequest, ContentPart, Message, MessageContent, ResponseFormat, Role, ToolChoice,
    ToolChoiceMode,
};
use crate::translate::{
    empty_object_schema, function_of, is_http_url, parse_arguments, parse_data_url, refuse_common,
    refuse_image_detail, refuse_unknown_extras, system_text,
};

const PROVIDER: ProviderKind = ProviderKind::Google;

/// Extras Gemini honours (as `generationConfig` fields).
const TRANSLATED_EXTRAS: [(&str, &str); 2] = [
    ("presence_penalty", "presencePenalty"),
    ("frequency_penalty", "frequencyPenalty"),
];

/// Image types Gemini reads, by file extension, for an http(s) image URL
/// (sent as `fileData`, which needs the MIME type).
const IMAGE_EXTENSIONS: [(&str, &str); 7] = [
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("webp", "image/webp"),
    ("heic", "image/heic"),
    ("heif", "image/heif"),
    ("gif", "image/gif"),
];

/// Checks a model id is safe in a URL path segment (`models/{model}:...`).
pub fn check_model_id(model: &str) -> Result<(), ProviderError> {
    let valid = !model.is_empty()
        && model
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(ProviderError::invalid(format!(
            "model `{model}`: a Gemini model id is letters, digits, `-`, `_` and `.`"
        )))
    }
}

/// Translates `request` into a `generateContent` body (the same body serves
/// `streamGenerateContent`).
pub fn to_generate_content_request(request: &ChatRequest) -> Result<Value, ProviderError> {
    refuse_common(request, PROVIDER)?;
    let translated: Vec<&str> = TRANSLATED_EXTRAS.iter().map(|(name, _)| *name).collect();
    refuse_unknown_extras(request, PROVIDER, &translated)?;
    check_model_id(&request.model)?;
    if request.user.as_ref().is_some_and(|user| !user.is_empty()) {
        return Err(ProviderError::unsupported("user", PROVIDER));
    }
    if request.metadata.as_ref().is_some_and(|map| !map.is_empty()) {
        return Err(ProviderError::unsupported("metadata", PROVIDER));
    }
    if request.parallel_tool_calls == Some(false) {
        return Err(ProviderError::unsupported(
            "parallel_tool_calls=false",
            PROVIDER,
        ));
    }

    let (system, contents) = translate_messages(
        &request.messages,
        requires_thought_signatures(&request.model),
    )?;
    let mut body = Map::new();
    body.insert("contents".to_owned(), Value::Array(contents));
    if let Some(system) = system {
        body.insert(
            "systemInstruction".to_owned(),
            json!({"parts": [{"text": system}]}),
        );
    }
    if let Some(tools) = translate_tools(request)? {
        body.insert("tools".to_owned(), tools);
    }
    if let Some(tool_config) = translate_tool_choice(request)? {
        body.insert("toolConfig".to_owned(), tool_config);
    }
    let generation_config = generation_config(request)?;
    if !generation_config.is_empty() {
        body.insert(
            "generationConfig".to_owned(),
            Value::Object(generation_config),
        );
    }
    Ok(Value::Object(body))
}

/// Roles: user → `user`, assistant → `model`, tool → `user` with
/// `functionResponse` parts; system and developer → `systemInstruction`.
/// Consecutive turns of one role merge.
fn translate_messages(
    messages: &[Message],
    signs_calls: bool,
) -> Result<(Option<String>, Vec<Value>), ProviderError> {
    // A tool result names its function; OpenAI gives only the call id.
    let mut call_names: HashMap<&str, &str> = HashMap::new();
    let mut system: Vec<String> = Vec::new();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        let (role, parts) = match message.role {
            Role::System | Role::Developer => {
                let text = system_text(message, index, PROVIDER)?;
                if !text.is_empty() {
                    system.push(text);
                }
                continue;
            }
            Role::User => ("user", user_parts(message, index)?),
            Role::Assistant => {
                for call in message.tool_calls.iter().flatten() {
                    call_names.insert(call.id.as_str(), call.function.name.as_str());
                }
                ("model", model_parts(message, index, signs_calls)?)
            }
            Role::Tool => (
                "user",
                vec![function_response(message, index, &call_names)?],
            ),
            Role::Function => {
                return Err(ProviderError::unsupported(
                    format!("messages[{index}].role=function"),
                    PROVIDER,
                ));
            }
        };
        if parts.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((last_role, last_parts)) if *last_role == role => last_parts.extend(parts),
            _ => turns.push((role, parts)),
        }
    }
    if turns.is_empty() {
        return Err(ProviderError::invalid(
            "`messages` needs at least one user or assistant message",
        ));
    }
    let contents = turns
        .into_iter()
        .map(|(role, parts)| json!({"role": role, "parts": parts}))
        .collect();
    let system = (!system.is_empty()).then(|| system.join("\n\n"));
    Ok((system, contents))
}

fn user_parts(message: &Message, index: usize) -> Result<Vec<Value>, ProviderError> {
    match message.content() {
        None => Ok(Vec::new()),
        Some(MessageContent::Text(text)) if text.is_empty() => Ok(Vec::new()),
        Some(MessageContent::Text(text)) => Ok(vec![json!({"text": text})]),
        Some(MessageContent::Parts(parts)) => parts
            .iter()
            .enumerate()
            .map(|(part_index, part)| {
                let at = format!("messages[{index}].content[{part_index}]");
                match part {
                    ContentPart::Text { text } => Ok(json!({"text": text})),
                    ContentPart::ImageUrl { image_url } => {
                        refuse_image_detail(image_url.detail.as_deref(), &at, PROVIDER)?;
                        image_part(&image_url.url, &at)
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

/// A data URL → `inlineData`; an http(s) URL → `fileData` with the MIME type
/// told by its extension (Gemini fetches public URLs itself); an http URL
/// whose type cannot be told is refused.
fn image_part(url: &str, at: &str) -> Result<Value, ProviderError> {
    if is_http_url(url) {
        let path = url.split(['?', '#']).next().unwrap_or(url);
        let extension = path
            .rsplit_once('.')
            .map(|(_, extension)| extension.to_ascii_lowercase())
            .unwrap_or_default();
        let mime_type = IMAGE_EXTENSIONS
            .iter()
            .find(|(known, _)| *known == extension)
            .map(|(_, mime_type)| *mime_type)
            .ok_or_else(|| {
                ProviderError::invalid(format!(
                    "{at}.image_url.url: Gemini needs the image type of a URL, and this URL does \
                     not end in .png, .jpg, .jpeg, .webp, .heic, .heif or .gif; send the image \
                     as a base64 data URL instead"
                ))
            })?;
        return Ok(json!({"fileData": {"mimeType": mime_type, "fileUri": url}}));
    }
    let data = parse_data_url(url, &format!("{at}.image_url.url"))?;
    Ok(json!({"inlineData": {"mimeType": data.media_type, "data": data.base64}}))
}

/// Gemini 3 and later refuse a replayed function call without its thought
/// signature.
fn requires_thought_signatures(model: &str) -> bool {
    model
        .strip_prefix("gemini-")
        .and_then(|rest| rest.split(['.', '-']).next())
        .and_then(|major| major.parse::<u32>().ok())
        .is_some_and(|major| major >= 3)
}

/// The signature Google documents for a replayed call whose real one is
/// unknown (a call made by another provider, or by the client).
const UNKNOWN_SIGNATURE: &str = "skip_thought_signature_validator";

/// A model turn: its text, then its calls. A call keeps the thought
/// signature its id carries; on models that require one, the first call of
/// a turn without one gets the documented "unknown" signature.
fn model_parts(
    message: &Message,
    index: usize,
    signs_calls: bool,
) -> Result<Vec<Value>, ProviderError> {
    let mut parts = Vec::new();
    let text = system_text(message, index, PROVIDER)?;
    if !text.is_empty() {
        parts.push(json!({"text": text}));
    }
    for (call_index, call) in message.tool_calls.iter().flatten().enumerate() {
        let at = format!("messages[{index}].tool_calls[{call_index}]");
        if call.kind != "function" {
            return Err(ProviderError::unsupported(
                format!("{at}.type={}", call.kind),
                PROVIDER,
            ));
        }
        let args = parse_arguments(
            &call.function.arguments,
            &format!("{at}.function.arguments"),
        )?;
        let mut part = json!({"functionCall": {"name": call.function.name, "args": args}});
        let signature = match signature_of_call_id(&call.id) {
            Some(signature) => Some(signature),
            None if signs_calls && call_index == 0 => Some(UNKNOWN_SIGNATURE),
            None => None,
        };
        if let (Some(signature), Some(map)) = (signature, part.as_object_mut()) {
            map.insert(
                "thoughtSignature".to_owned(),
                Value::String(signature.to_owned()),
            );
        }
        parts.push(part);
    }
    Ok(parts)
}

/// A tool message → `functionResponse` named after the call it answers; the
/// content goes in `response.result` (as JSON when it parses as JSON).
fn function_response(
    message: &Message,
    index: usize,
    call_names: &HashMap<&str, &str>,
) -> Result<Value, ProviderError> {
    let call_id = message.tool_call_id.as_deref().ok_or_else(|| {
        ProviderError::invalid(format!(
            "messages[{index}]: a tool message needs `tool_call_id`"
        ))
    })?;
    let name = call_names.get(call_id).ok_or_else(|| {
        ProviderError::invalid(format!(
            "messages[{index}]: tool_call_id `{call_id}` answers no earlier assistant tool call"
        ))
    })?;
    let text = system_text(message, index, PROVIDER)?;
    let result = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
    Ok(json!({"functionResponse": {"name": name, "response": {"result": result}}}))
}

fn translate_tools(request: &ChatRequest) -> Result<Option<Value>, ProviderError> {
    let Some(tools) = &request.tools else {
        return Ok(None);
    };
    if tools.is_empty() {
        return Ok(None);
    }
    let declarations = tools
        .iter()
        .enumerate()
        .map(|(index, tool)| {
            let function = function_of(tool, index, PROVIDER)?;
            let mut declaration = Map::new();
            declaration.insert("name".to_owned(), Value::String(function.name.clone()));
            if let Some(description) = &function.description {
                declaration.insert("description".to_owned(), Value::String(description.clone()));
            }
            declaration.insert(
                "parametersJsonSchema".to_owned(),
                function
                    .parameters
                    .clone()
                    .unwrap_or_else(empty_object_schema),
            );
            Ok(Value::Object(declaration))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(json!([{"functionDeclarations": declarations}])))
}

/// `auto` → AUTO, `none` → NONE, `required` → ANY, named → ANY restricted
/// to that function. With a `strict` function, `auto` (or no choice) is
/// VALIDATED: calls are constrained to the declared schemas, as OpenAI's
/// strict mode promises (ANY is constrained already).
fn translate_tool_choice(request: &ChatRequest) -> Result<Option<Value>, ProviderError> {
    let strict = request
        .tools
        .iter()
        .flatten()
        .filter_map(|tool| tool.function.as_ref())
        .any(|function| function.strict == Some(true));
    let auto = if strict { "VALIDATED" } else { "AUTO" };
    let config = match &request.tool_choice {
        None if strict => json!({"mode": auto}),
        None => return Ok(None),
        Some(ToolChoice::Mode(ToolChoiceMode::Auto)) => json!({"mode": auto}),
        Some(ToolChoice::Mode(ToolChoiceMode::None)) => json!({"mode": "NONE"}),
        Some(ToolChoice::Mode(ToolChoiceMode::Required)) => json!({"mode": "ANY"}),
        Some(ToolChoice::Named(named)) => {
            json!({"mode": "ANY", "allowedFunctionNames": [named.function.name]})
        }
        Some(ToolChoice::Other(_)) => {
            return Err(ProviderError::unsupported("tool_choice", PROVIDER));
        }
    };
    Ok(Some(json!({"functionCallingConfig": config})))
}

fn generation_config(request: &ChatRequest) -> Result<Map<String, Value>, ProviderError> {
    let mut config = Map::new();
    let mut put = |key: &str, value: Value| {
        config.insert(key.to_owned(), value);
    };
    if let Some(cap) = request.output_token_cap() {
        put("maxOutputTokens", json!(cap));
    }
    if let Some(temperature) = request.temperature {
        put("temperature", json!(temperature));
    }
    if let Some(top_p) = request.top_p {
        put("topP", json!(top_p));
    }
    let stops = request.stop_sequences();
    if !stops.is_empty() {
        put("stopSequences", json!(stops));
    }
    if let Some(seed) = request.seed {
        put("seed", json!(seed));
    }
    for (openai, gemini) in TRANSLATED_EXTRAS {
        if let Some(value) = request.extra.get(openai).filter(|value| !value.is_null()) {
            put(gemini, value.clone());
        }
    }
    match &request.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonObject) => put("responseMimeType", json!("application/json")),
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            let schema = json_schema.schema.clone().ok_or_else(|| {
                ProviderError::invalid("response_format.json_schema needs `schema`")
            })?;
            put("responseMimeType", json!("application/json"));
            put("responseJsonSchema", schema);
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::gemini::response::{signature_of_call_id, signed_call_id};

    fn replay(model: &str, call_id: &str) -> Value {
        let request: ChatRequest = serde_json::from_value(json!({
            "model": model,
            "messages": [
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "tool_calls": [
                    {"id": call_id, "type": "function", "function": {"name": "w", "arguments": "{}"}},
                    {"id": "call_second", "type": "function", "function": {"name": "w", "arguments": "{}"}}
                ]},
                {"role": "tool", "tool_call_id": call_id, "content": "sunny"},
                {"role": "tool", "tool_call_id": "call_second", "content": "rainy"}
            ]
        }))
        .unwrap();
        to_generate_content_request(&request).unwrap()["contents"][1]["parts"].clone()
    }

    #[test]
    fn thought_signatures_travel_in_call_ids_and_come_back() {
        let id = signed_call_id(Some("CiQB0e2Kb+/="));
        assert_eq!(signature_of_call_id(&id), Some("CiQB0e2Kb+/="));
        let parts = replay("gemini-3-flash", &id);
        assert_eq!(parts[0]["thoughtSignature"], "CiQB0e2Kb+/=");
        assert!(parts[1].get("thoughtSignature").is_none());
        // Gemini 2 keeps a signature it was given, and invents none.
        assert_eq!(
            replay("gemini-2.5-flash", &id)[0]["thoughtSignature"],
            "CiQB0e2Kb+/="
        );
        assert!(
            replay("gemini-2.5-flash", "call_plain")[0]
                .get("thoughtSignature")
                .is_none()
        );
    }

    #[test]
    fn gemini_3_calls_without_a_signature_get_the_documented_placeholder() {
        let parts = replay("gemini-3.5-pro", "call_from_another_provider");
        assert_eq!(parts[0]["thoughtSignature"], UNKNOWN_SIGNATURE);
        assert!(parts[1].get("thoughtSignature").is_none());
        assert_eq!(signature_of_call_id("call_from_another_provider"), None);
    }

    #[test]
    fn strict_tools_are_validated_calls() {
        let mut request: ChatRequest = serde_json::from_value(json!({
            "model": "gemini-2.5-flash",
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "f", "strict": true,
                "parameters": {"type": "object", "properties": {}, "additionalProperties": false}}}]
        }))
        .unwrap();
        let mode = |request: &ChatRequest| {
            to_generate_content_request(request).unwrap()["toolConfig"]["functionCallingConfig"]["mode"].clone()
        };
        assert_eq!(mode(&request), "VALIDATED");
        request.tool_choice = Some(ToolChoice::Mode(ToolChoiceMode::Required));
        assert_eq!(mode(&request), "ANY");
        request.tool_choice = Some(ToolChoice::Mode(ToolChoiceMode::None));
        assert_eq!(mode(&request), "NONE");
        request.tools.as_mut().unwrap()[0]
            .function
            .as_mut()
            .unwrap()
            .strict = Some(false);
        request.tool_choice = Some(ToolChoice::Mode(ToolChoiceMode::Auto));
        assert_eq!(mode(&request), "AUTO");
    }
}
