//! Tool results a model can read: successes with structured content, failures
//! as `isError` with a stable `code`.

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Map, Value, json};

/// A success: `text` for the model, `value` as `structuredContent`.
pub fn structured(text: String, value: Value) -> CallToolResult {
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(value);
    result
}

/// A tool error the model can read: `isError` with `{code, message, ...}`.
pub fn tool_error(code: &str, message: impl Into<String>, extra: Value) -> CallToolResult {
    let mut body = Map::new();
    body.insert("code".into(), Value::from(code));
    body.insert("message".into(), Value::from(message.into()));
    if let Value::Object(extra) = extra {
        body.extend(extra);
    }
    CallToolResult::structured_error(Value::Object(body))
}

/// A tool's listed `outputSchema`: its result's schema, or a [`tool_error`] body. Some
/// clients (the TypeScript SDK among them) validate `structuredContent` against the
/// output schema even on `isError` results, so the error shape must fit it too.
pub fn result_or_tool_error(mut result: Map<String, Value>) -> Map<String, Value> {
    let mut schema = Map::new();
    // The dialect belongs at the root, not inside a branch.
    if let Some(dialect) = result.remove("$schema") {
        schema.insert("$schema".into(), dialect);
    }
    schema.insert("type".into(), Value::from("object"));
    let tool_error = json!({
        "type": "object",
        "description": "A failed call (isError): a stable code, e.g. not_connected with its \
                        connect_url, upstream_error with the upstream status.",
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        "required": ["code", "message"]
    });
    schema.insert(
        "anyOf".into(),
        Value::Array(vec![Value::Object(result), tool_error]),
    );
    schema
}

/// A refusal the model can read, coded like the HTTP error it would have been
/// (`invalid_arguments` for any bad input).
pub fn refusal(err: &crate::error::Error) -> CallToolResult {
    use crate::error::ErrorKind;
    let code = match err.kind() {
        ErrorKind::BadRequest | ErrorKind::PayloadTooLarge => "invalid_arguments",
        _ => err.code(),
    };
    tool_error(code, err.message().to_owned(), json!({}))
}
