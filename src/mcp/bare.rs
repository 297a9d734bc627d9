//! Plain JSON-RPC posts: a request POSTed with none of MCP's headers (no
//! session, no protocol version, an `Accept` that is not both media types),
//! as the seeds' one-line curl sends `tools/list`. Such a request cannot be a
//! session-era client's (those initialize first, then send their session), so
//! it is served as the stateless `2026-07-28` revision would serve it: the
//! edge adds what that revision requires (the version header, `Mcp-Method`,
//! `Mcp-Name`, the request's `_meta`) and answers in JSON.

use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

const STATELESS_REVISION: &str = "2026-07-28";
const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";

/// The request rewritten for the stateless revision, when it is a plain
/// JSON-RPC request (else `None`, and it goes on unchanged).
pub fn rewrite(parts: &mut Parts, body: &[u8]) -> Option<Bytes> {
    let headers = &parts.headers;
    if headers.contains_key("mcp-session-id") || headers.contains_key("mcp-protocol-version") {
        return None;
    }
    let mut message: Value = serde_json::from_slice(body).ok()?;
    let object = message.as_object_mut()?;
    let method = object.get("method")?.as_str()?.to_owned();
    if method == "initialize" || !object.contains_key("id") {
        return None;
    }
    let params = object.entry("params").or_insert_with(|| json!({}));
    let name = match method.as_str() {
        "tools/call" | "prompts/get" => params.get("name").and_then(Value::as_str),
        "resources/read" => params.get("uri").and_then(Value::as_str),
        _ => None,
    }
    .map(HeaderValue::from_str);
    let name = match name {
        Some(Ok(name)) => Some(name),
        // A name no header can carry: rmcp answers what is wrong with it.
        Some(Err(_)) => return None,
        None => None,
    };
    let meta = params
        .as_object_mut()?
        .entry("_meta")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()?;
    meta.entry(META_VERSION)
        .or_insert_with(|| Value::from(STATELESS_REVISION));
    meta.entry(META_CAPABILITIES)
        .or_insert_with(|| Value::Object(Map::new()));
    let rewritten = serde_json::to_vec(&message).ok()?;
    let headers = &mut parts.headers;
    headers.insert(
        "mcp-protocol-version",
        HeaderValue::from_static(STATELESS_REVISION),
    );
    headers.insert("mcp-method", HeaderValue::from_str(&method).ok()?);
    if let Some(name) = name {
        headers.insert("mcp-name", name);
    }
    headers.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    headers.remove(header::CONTENT_LENGTH);
    Some(Bytes::from(rewritten))
}

/// rmcp's answer to a rewritten request as one JSON response: a stateless
/// event stream ends after the request's response, which is its last message.
pub async fn as_json(response: Response, limit: usize) -> Response {
    let is_stream = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/event-stream"));
    if !is_stream {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return (
            StatusCode::BAD_GATEWAY,
            "the answer was larger than the body limit",
        )
            .into_response();
    };
    let text = String::from_utf8_lossy(&bytes);
    let last = text
        .split("\n\n")
        .filter_map(|event| {
            let data: Vec<&str> = event
                .lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .map(|data| data.strip_prefix(' ').unwrap_or(data))
                .collect();
            serde_json::from_str::<Value>(&data.join("\n")).ok()
        })
        .filter(|message| message.get("result").is_some() || message.get("error").is_some())
        .last();
    let Some(last) = last else {
        return (StatusCode::BAD_GATEWAY, "no response in the answer").into_response();
    };
    let mut response = Response::new(Body::from(last.to_string()));
    *response.status_mut() = parts.status;
    for (name, value) in &parts.headers {
        let framing = [
            header::CONTENT_TYPE,
            header::CONTENT_LENGTH,
            header::TRANSFER_ENCODING,
            header::CACHE_CONTROL,
        ];
        if !framing.contains(name) && name != "x-accel-buffering" {
            response.headers_mut().append(name, value.clone());
        }
    }
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
