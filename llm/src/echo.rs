//! The deterministic answer of the mock provider and of the stand-ins:
//!
//! - tools given, `tool_choice` not `none`, and the last message not a tool
//!   result → a call of the named tool (else the first), with arguments
//!   sampled from its parameter schema;
//! - structured output asked (`json_schema`) → a JSON object sampled from
//!   the schema; `json_object` → `{"echo": <last user text>}`;
//! - otherwise → the text of the last user message, echoed.

use serde_json::{Map, Value, json};

/// What the deterministic model answers.
#[derive(Debug, Clone, PartialEq)]
pub enum EchoReply {
    Text(String),
    ToolCall { name: String, arguments: String },
}

impl EchoReply {
    /// The text the reply carries (for token counts).
    pub fn text(&self) -> &str {
        match self {
            EchoReply::Text(text) => text,
            EchoReply::ToolCall { arguments, .. } => arguments,
        }
    }
}

/// Inputs of the deterministic answer, read from any provider's request.
#[derive(Debug, Clone, Default)]
pub struct EchoInput<'a> {
    pub last_user_text: String,
    pub last_is_tool_result: bool,
    /// Tool names with their parameter schemas, in order.
    pub tools: Vec<(&'a str, Option<&'a Value>)>,
    /// The tool a named choice forces.
    pub forced_tool: Option<&'a str>,
    pub tools_disabled: bool,
    pub json_schema: Option<&'a Value>,
    pub json_object: bool,
}

/// The deterministic answer.
pub fn reply(input: &EchoInput<'_>) -> EchoReply {
    if !input.tools.is_empty() && !input.tools_disabled && !input.last_is_tool_result {
        let (name, schema) = input
            .forced_tool
            .and_then(|forced| input.tools.iter().find(|(name, _)| *name == forced))
            .or_else(|| input.tools.first())
            .copied()
            .unwrap_or(("tool", None));
        let arguments = schema
            .map(|schema| sample(schema, &input.last_user_text))
            .filter(Value::is_object)
            .unwrap_or_else(|| Value::Object(Map::new()));
        return EchoReply::ToolCall {
            name: name.to_owned(),
            arguments: arguments.to_string(),
        };
    }
    if let Some(schema) = input.json_schema {
        return EchoReply::Text(sample(schema, &input.last_user_text).to_string());
    }
    if input.json_object {
        return EchoReply::Text(json!({"echo": input.last_user_text}).to_string());
    }
    EchoReply::Text(input.last_user_text.clone())
}

/// A value matching a simple JSON Schema: objects with every property,
/// strings (the echoed text), numbers, integers, booleans, arrays of one
/// item, `enum`/`const` first value.
pub fn sample(schema: &Value, text: &str) -> Value {
    sample_at_depth(schema, text, 0)
}

fn sample_at_depth(schema: &Value, text: &str, depth: usize) -> Value {
    if depth > 16 {
        return Value::Null;
    }
    if let Some(value) = schema.get("const") {
        return value.clone();
    }
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|v| v.first())
    {
        return first.clone();
    }
    let kind = match schema.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|kind| *kind != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "string",
    };
    match kind {
        "object" => {
            let mut object = Map::new();
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (name, property) in properties {
                    object.insert(name.clone(), sample_at_depth(property, text, depth + 1));
                }
            }
            Value::Object(object)
        }
        "array" => {
            let item = schema
                .get("items")
                .map(|items| sample_at_depth(items, text, depth + 1))
                .unwrap_or(Value::Null);
            Value::Array(vec![item])
        }
        "integer" => json!(1),
        "number" => json!(1.5),
        "boolean" => json!(true),
        "null" => Value::Null,
        _ => Value::String(text.to_owned()),
    }
}

/// Splits a text into stream pieces: words with their trailing space.
pub fn pieces(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for character in text.chars() {
        current.push(character);
        if character == ' ' {
            pieces.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn samples_match_simple_schemas() {
        let schema = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "age": {"type": "integer"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "kind": {"enum": ["a", "b"]},
                "maybe": {"type": ["null", "boolean"]}
            },
            "required": ["name", "age", "tags", "kind", "maybe"],
            "additionalProperties": false
        });
        assert_eq!(
            sample(&schema, "hi"),
            json!({"name": "hi", "age": 1, "tags": ["hi"], "kind": "a", "maybe": true})
        );
    }

    #[test]
    fn tools_win_unless_the_last_message_is_a_tool_result() {
        let schema = json!({"type": "object", "properties": {"city": {"type": "string"}}});
        let mut input = EchoInput {
            last_user_text: "Paris".into(),
            tools: vec![("weather", Some(&schema))],
            ..EchoInput::default()
        };
        assert_eq!(
            reply(&input),
            EchoReply::ToolCall {
                name: "weather".into(),
                arguments: r#"{"city":"Paris"}"#.into()
            }
        );
        input.last_is_tool_result = true;
        assert_eq!(reply(&input), EchoReply::Text("Paris".into()));
    }

    #[test]
    fn pieces_keep_every_character() {
        assert_eq!(pieces("a bc d"), vec!["a ", "bc ", "d"]);
        assert_eq!(pieces("a bc d").concat(), "a bc d");
    }
}
