//! What the Anthropic and Gemini translations share: refusing parameters a
//! provider cannot honour, data URLs, tool-call lookups.

use serde_json::Value;

use crate::error::{ProviderError, ProviderKind};
use crate::openai::{
    ChatRequest, ContentPart, FunctionDefinition, Message, MessageContent, Role, Tool,
};

/// Refuses every field of `extra` that asks for something (any value but
/// `null`, `false`, `0` or an empty object/array/string): the provider
/// cannot honour what the gateway does not translate. `allowed` names the
/// extras the caller translates itself.
pub(crate) fn refuse_unknown_extras(
    request: &ChatRequest,
    provider: ProviderKind,
    allowed: &[&str],
) -> Result<(), ProviderError> {
    let mut untranslated = request.extra.clone();
    untranslated.retain(|name, _| !allowed.contains(&name.as_str()));
    match first_asking_field(&untranslated) {
        Some(name) => Err(ProviderError::unsupported(name, provider)),
        None => Ok(()),
    }
}

/// The first field of `extra` that asks for something, in name order.
pub(crate) fn first_asking_field(extra: &serde_json::Map<String, Value>) -> Option<&str> {
    let mut names: Vec<&String> = extra
        .iter()
        .filter(|(_, value)| asks_for_something(value))
        .map(|(name, _)| name)
        .collect();
    names.sort();
    names.first().map(|name| name.as_str())
}

/// Whether a value is more than the field's "off" default (`null`,
/// `false`, `0`, empty): replayed SDK objects carry such fields
/// (`"refusal": null`, `"annotations": []`) and ask for nothing.
fn asks_for_something(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => false,
        Value::Number(number) => number.as_f64() != Some(0.0),
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
        Value::Bool(true) => true,
    }
}

/// The function of `tools[index]`: other tool types, and tool fields the
/// provider cannot honour, are refused by name.
pub(crate) fn function_of(
    tool: &Tool,
    index: usize,
    provider: ProviderKind,
) -> Result<&FunctionDefinition, ProviderError> {
    if tool.kind != "function" {
        return Err(ProviderError::unsupported(
            format!("tools[{index}].type={}", tool.kind),
            provider,
        ));
    }
    if let Some(name) = first_asking_field(&tool.extra) {
        return Err(ProviderError::unsupported(
            format!("tools[{index}].{name}"),
            provider,
        ));
    }
    tool.function.as_ref().ok_or_else(|| {
        ProviderError::invalid(format!("tools[{index}]: a function tool needs `function`"))
    })
}

/// The common refusals: `n > 1` (one choice only), the deprecated
/// `function` role and `name` on messages.
pub(crate) fn refuse_common(
    request: &ChatRequest,
    provider: ProviderKind,
) -> Result<(), ProviderError> {
    if request.n.is_some_and(|n| n > 1) {
        return Err(ProviderError::unsupported("n", provider));
    }
    for (index, message) in request.messages.iter().enumerate() {
        if message.role == Role::Function {
            return Err(ProviderError::unsupported(
                format!("messages[{index}].role=function"),
                provider,
            ));
        }
        if message.name.is_some() {
            return Err(ProviderError::unsupported(
                format!("messages[{index}].name"),
                provider,
            ));
        }
        if let Some(name) = first_asking_field(&message.extra) {
            return Err(ProviderError::unsupported(
                format!("messages[{index}].{name}"),
                provider,
            ));
        }
    }
    if request.messages.is_empty() {
        return Err(ProviderError::invalid("`messages` must not be empty"));
    }
    Ok(())
}

/// The text of a system or developer message (text parts only).
pub(crate) fn system_text(
    message: &Message,
    index: usize,
    provider: ProviderKind,
) -> Result<String, ProviderError> {
    match message.content() {
        None => Ok(String::new()),
        Some(MessageContent::Text(text)) => Ok(text.clone()),
        Some(MessageContent::Parts(parts)) => {
            let mut text = String::new();
            for (part_index, part) in parts.iter().enumerate() {
                match part {
                    ContentPart::Text { text: part_text } => text.push_str(part_text),
                    other => {
                        return Err(ProviderError::unsupported(
                            format!(
                                "messages[{index}].content[{part_index}].type={}",
                                other.type_name()
                            ),
                            provider,
                        ));
                    }
                }
            }
            Ok(text)
        }
    }
}

/// A decoded `data:<media type>;base64,<data>` URL (data kept encoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DataUrl {
    pub media_type: String,
    pub base64: String,
}

/// Parses a base64 data URL; other `data:` forms are refused.
pub(crate) fn parse_data_url(url: &str, at: &str) -> Result<DataUrl, ProviderError> {
    use base64::Engine as _;
    let invalid = || {
        ProviderError::invalid(format!(
            "{at}: expected a data URL `data:<image type>;base64,<data>`"
        ))
    };
    let rest = url.strip_prefix("data:").ok_or_else(invalid)?;
    let (header, data) = rest.split_once(',').ok_or_else(invalid)?;
    let media_type = header.strip_suffix(";base64").ok_or_else(invalid)?;
    if media_type.is_empty() || !media_type.contains('/') {
        return Err(invalid());
    }
    if base64::engine::general_purpose::STANDARD
        .decode(data)
        .is_err()
    {
        return Err(ProviderError::invalid(format!(
            "{at}: the data URL is not valid base64"
        )));
    }
    Ok(DataUrl {
        media_type: media_type.to_ascii_lowercase(),
        base64: data.to_owned(),
    })
}

/// Refuses an image `detail` other than `auto`: neither Anthropic nor
/// Gemini takes a per-image resolution.
pub(crate) fn refuse_image_detail(
    detail: Option<&str>,
    at: &str,
    provider: ProviderKind,
) -> Result<(), ProviderError> {
    match detail {
        None | Some("auto") => Ok(()),
        Some(detail) => Err(ProviderError::unsupported(
            format!("{at}.image_url.detail={detail}"),
            provider,
        )),
    }
}

/// Whether `url` is an http(s) URL.
pub(crate) fn is_http_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// Parses tool-call arguments (a JSON string) into the object providers want.
pub(crate) fn parse_arguments(arguments: &str, at: &str) -> Result<Value, ProviderError> {
    if arguments.trim().is_empty() {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(ProviderError::invalid(format!(
            "{at}: the arguments must be a JSON object"
        ))),
    }
}

/// The schema of a function without `parameters`: an object with none.
pub(crate) fn empty_object_schema() -> Value {
    serde_json::json!({"type": "object", "properties": {}})
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn data_urls_parse_and_bad_ones_are_refused() {
        let parsed = parse_data_url("data:image/PNG;base64,iVBORw0KGgo=", "x").unwrap();
        assert_eq!(parsed.media_type, "image/png");
        assert_eq!(parsed.base64, "iVBORw0KGgo=");
        for bad in [
            "data:image/png,rawdata",
            "data:;base64,AAAA",
            "data:image/png;base64,@@@",
            "https://x",
        ] {
            assert!(parse_data_url(bad, "x").is_err(), "{bad}");
        }
    }

    #[test]
    fn default_valued_extras_ask_for_nothing() {
        let request: ChatRequest = serde_json::from_value(serde_json::json!({
            "model": "m", "messages": [{"role": "user", "content": "hi"}],
            "logprobs": false, "presence_penalty": 0, "logit_bias": {}
        }))
        .unwrap();
        assert!(refuse_unknown_extras(&request, ProviderKind::Anthropic, &[]).is_ok());
        let mut asking = request.clone();
        asking.extra.insert("logprobs".into(), Value::Bool(true));
        assert_eq!(
            refuse_unknown_extras(&asking, ProviderKind::Anthropic, &[]),
            Err(ProviderError::unsupported(
                "logprobs",
                ProviderKind::Anthropic
            ))
        );
    }
}
