//! The HTTP edge of the MCP endpoint, between the auth layer and rmcp:
//!
//! - **Rate limits.** Every JSON-RPC request POSTed (`initialize`, `tools/list`,
//!   `tools/call`, ...) counts once against the end user's RPM/RPD, like a REST
//!   request; over a limit it answers 429 `rate_limited` with `Retry-After`, except
//!   `tools/call`, which the tool answers with its `rate_limited` tool error (the
//!   call is still counted here, once). Notifications, responses to the server, the
//!   SSE `GET` and `DELETE` are session plumbing and do not count.
//! - **Sessions.** An `Mcp-Session-Id` that is not a live session opened with this
//!   very key answers 404 exactly as rmcp answers an unknown session.
//! - **JSON-RPC framing.** A JSON body that does not parse answers 400 with a
//!   JSON-RPC `-32700`, and one that is not a JSON-RPC message 400 with `-32600`
//!   (rmcp alone answers 415 to both).
//! - **`tools/list` in a session** is answered here, as a plain JSON response (the
//!   transport allows either JSON or SSE), from bytes the tool pipeline serialized
//!   once per visibility: listing is the most frequent request and its answer the
//!   largest, and nothing in it depends on the session.

use std::borrow::Cow;

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Value, json};

use crate::error::Error;
use crate::ratelimit::{Limits, Refusal, RequestAdmission};
use crate::state::AppState;
use crate::tools::{ToolCaller, Tools};

const SESSION_HEADER: &str = "mcp-session-id";
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const INVALID_PARAMS: i64 = -32602;
const INTERNAL_ERROR: i64 = -32603;

/// What the edge works with: the gateway's state and the tool pipeline.
#[derive(Clone)]
pub struct Edge {
    pub state: AppState,
    pub tools: Tools,
    /// rmcp's allowed `Host`s, parsed as rmcp parses them.
    pub allowed_hosts: std::sync::Arc<[(String, Option<u16>)]>,
}

impl Edge {
    pub fn new(state: AppState, tools: Tools) -> Self {
        let allowed_hosts = state
            .config
            .mcp_allowed_hosts()
            .iter()
            .filter_map(|allowed| authority(allowed))
            .collect();
        Self {
            state,
            tools,
            allowed_hosts,
        }
    }

    /// Whether rmcp would take this request into its session unchanged: the
    /// fast path answers only what rmcp would have answered the same way (an
    /// allowed `Host`, no browser `Origin`, both media types accepted, a
    /// protocol revision of the session era and none of 2026's request headers).
    fn rmcp_would_admit(&self, headers: &HeaderMap) -> bool {
        const SESSION_ERA: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];
        let version_fits = match headers.get("mcp-protocol-version") {
            None => true,
            Some(v) => v.to_str().is_ok_and(|v| SESSION_ERA.contains(&v)),
        };
        version_fits
            && self.transport_admits(headers)
            && !headers.contains_key("mcp-method")
            && !headers.contains_key("mcp-name")
    }

    /// Whether rmcp would serve this `tools/list` statelessly (`2026-07-28`)
    /// and answer it as the fast path does: the transport checks, the revision
    /// named once, and its `Mcp-Method` header saying `tools/list` (once).
    fn rmcp_would_list_statelessly(&self, headers: &HeaderMap) -> bool {
        let single = |name: &str, expected: &str| {
            let mut values = headers.get_all(name).iter();
            values.next().is_some_and(|v| v == expected) && values.next().is_none()
        };
        self.transport_admits(headers)
            && single("mcp-protocol-version", STATELESS_REVISION)
            && single("mcp-method", "tools/list")
            && !headers.contains_key("mcp-name")
    }

    /// rmcp's transport checks: an allowed `Host`, no browser `Origin`, both
    /// media types accepted.
    fn transport_admits(&self, headers: &HeaderMap) -> bool {
        let host_allowed = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(authority)
            .is_some_and(|(host, port)| {
                self.allowed_hosts
                    .iter()
                    .any(|(h, p)| *h == host && p.is_none_or(|p| Some(p) == port))
            });
        host_allowed
            && !self.allowed_hosts.is_empty()
            && !headers.contains_key(header::ORIGIN)
            && accepts(headers, "application/json")
            && accepts(headers, "text/event-stream")
    }
}

/// `host[:port]` as rmcp normalizes it: brackets trimmed, lower case.
fn authority(raw: &str) -> Option<(String, Option<u16>)> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let normalize = |host: &str| host.trim_matches(['[', ']']).to_ascii_lowercase();
    Some(match axum::http::uri::Authority::try_from(raw) {
        Ok(a) => (normalize(a.host()), a.port_u16()),
        Err(_) => (normalize(raw), None),
    })
}

pub async fn guard(State(edge): State<Edge>, request: Request, next: Next) -> Response {
    let state = &edge.state;
    let (mut parts, body) = request.into_parts();
    let mut bare = false;
    let (body, message) = if parts.method == Method::POST && is_json(&parts.headers) {
        match axum::body::to_bytes(body, state.config.max_body_bytes).await {
            Ok(bytes) => {
                let message = Message::read(&bytes);
                let bytes = match super::bare::rewrite(&mut parts, &bytes) {
                    Some(rewritten) => {
                        bare = true;
                        rewritten
                    }
                    None => bytes,
                };
                (Body::from(bytes), Some(message))
            }
            Err(_) => {
                return Error::payload_too_large(format!(
                    "the body is larger than {} bytes",
                    state.config.max_body_bytes
                ))
                .into_response();
            }
        }
    } else {
        (body, None)
    };
    let Some(caller) = parts.extensions.get_mut::<ToolCaller>() else {
        return Error::internal("the MCP edge runs behind the auth layer").into_response();
    };

    let counts = match &message {
        Some(message) => message.counts(),
        None => parts.method == Method::POST,
    };
    let mut admission = None;
    if counts {
        match count(state, caller).await {
            Err(err) => return err.into_response(),
            Ok(Ok(admitted)) => admission = Some(admitted),
            Ok(Err(refusal)) if matches!(message, Some(Message::ToolCall { .. })) => {
                caller.over_rate_limit = Some(refusal);
            }
            Ok(Err(refusal)) => return refusal.into_response(),
        }
    }
    let method = parts.method.clone();
    let mut response = answer(&edge, parts, body, message, next).await;
    if bare {
        response = super::bare::as_json(response, state.config.max_body_bytes).await;
    }
    // rmcp ends a session with 202; the SDKs expect 200 (Python warns
    // "Session termination failed: 202" on every close).
    if method == Method::DELETE && response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::OK;
    }
    if let Some(admission) = admission {
        response.headers_mut().extend(admission.headers());
    }
    response
}

/// The counted request's answer: a framing error, a refused session, or rmcp's.
async fn answer(
    edge: &Edge,
    parts: axum::http::request::Parts,
    body: Body,
    message: Option<Message>,
    next: Next,
) -> Response {
    if let Some(Message::Malformed { id, code, message }) = &message {
        return jsonrpc_error(id.clone(), *code, message);
    }
    if let Some(session) = parts.headers.get(SESSION_HEADER) {
        let key_id = parts.extensions.get::<ToolCaller>().map(|c| c.key.key_id);
        let owned = match (session.to_str(), key_id) {
            (Ok(session), Some(key_id)) => edge.state.mcp_sessions.belongs_to(session, key_id),
            _ => false,
        };
        if !owned {
            return session_not_found();
        }
        if let Some(Message::ListTools {
            id,
            fits: ListFit::Plain,
        }) = &message
            && edge.rmcp_would_admit(&parts.headers)
            && let Some(caller) = parts.extensions.get::<ToolCaller>()
        {
            return listed(id, edge.tools.session_list_json(caller).await);
        }
    } else if let Some(Message::ListTools {
        id,
        fits: ListFit::Stateless,
    }) = &message
        && edge.rmcp_would_list_statelessly(&parts.headers)
        && let Some(caller) = parts.extensions.get::<ToolCaller>()
    {
        // The stateless revision's list, from bytes too (rmcp would build a
        // service for this one request to say the same).
        return listed(id, edge.tools.stateless_list_json(caller).await);
    }
    let response = next.run(Request::from_parts(parts, body)).await;
    if response.status() != StatusCode::UNSUPPORTED_MEDIA_TYPE {
        return response;
    }
    // rmcp answers 415 to any JSON body it cannot read as a client message. Past
    // the checks above, the envelope is sound: a request's params are at fault.
    match message {
        Some(
            Message::ToolCall { id } | Message::Request { id } | Message::ListTools { id, .. },
        ) => jsonrpc_error(id, INVALID_PARAMS, "Invalid params"),
        Some(message) => jsonrpc_error(
            message.id(),
            INVALID_REQUEST,
            "Invalid Request: not a valid MCP client message",
        ),
        None => response,
    }
}

/// A `tools/list` answered from serialized bytes.
fn listed(id: &Value, result: Result<bytes::Bytes, Error>) -> Response {
    match result {
        Ok(result) => jsonrpc_result(id, &result),
        Err(err) => jsonrpc_error_status(
            StatusCode::INTERNAL_SERVER_ERROR,
            id.clone(),
            INTERNAL_ERROR,
            err.message(),
        ),
    }
}

async fn count(
    state: &AppState,
    caller: &ToolCaller,
) -> Result<Result<RequestAdmission, Refusal>, Error> {
    let limits = state
        .limits_cache
        .get(&state.db, caller.platform_id, caller.end_user_id)
        .await?;
    Ok(state
        .limiter
        .check_request(caller.end_user_id, &Limits::from(limits), state.clock.now())
        .await)
}

/// The same test rmcp applies: a body it will parse as JSON.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            let essence = value.split_once(';').map_or(value, |(essence, _)| essence);
            essence.trim().eq_ignore_ascii_case("application/json")
        })
}

/// What rmcp answers to a session it does not know, byte for byte.
fn session_not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not Found: Session not found").into_response()
}

fn jsonrpc_error(id: Value, code: i64, message: &str) -> Response {
    jsonrpc_error_status(StatusCode::BAD_REQUEST, id, code, message)
}

fn jsonrpc_error_status(status: StatusCode, id: Value, code: i64, message: &str) -> Response {
    (
        status,
        Json(json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// `{"jsonrpc":"2.0","id":<id>,"result":<result>}` around result bytes serialized before.
fn jsonrpc_result(id: &Value, result: &[u8]) -> Response {
    let id = id.to_string();
    let mut body = Vec::with_capacity(result.len() + id.len() + 40);
    body.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    body.extend_from_slice(id.as_bytes());
    body.extend_from_slice(b",\"result\":");
    body.extend_from_slice(result);
    body.push(b'}');
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(body),
    )
        .into_response()
}

/// Whether the `Accept` header names `media` (as rmcp requires, literally).
fn accepts(headers: &HeaderMap, media: &str) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|item| item.split(';').next().unwrap_or_default().trim())
        .any(|essence| essence.eq_ignore_ascii_case(media))
}

/// What the edge needs of a POSTed message, read in one pass without building it
/// (rmcp builds it afterwards).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Message {
    ToolCall {
        id: Value,
    },
    /// `tools/list`, and whether the fast path may answer its params.
    ListTools {
        id: Value,
        fits: ListFit,
    },
    Request {
        id: Value,
    },
    /// A notification, or a response to a server request.
    Plumbing,
    Malformed {
        id: Value,
        code: i64,
        message: &'static str,
    },
}

impl Message {
    pub(crate) fn read(body: &[u8]) -> Self {
        // The members skipped unread are not checked for UTF-8 by the parser, so
        // the whole body is, once: rmcp must never receive a body the edge took
        // for JSON that is not (found by the `mcp_body` fuzz target).
        let Ok(body) = std::str::from_utf8(body) else {
            return Self::Malformed {
                id: Value::Null,
                code: PARSE_ERROR,
                message: "Parse error: the body is not valid JSON",
            };
        };
        let first = body.bytes().find(|b| !b.is_ascii_whitespace());
        let parsed = if first == Some(b'{') {
            serde_json::from_str::<Envelope<'_>>(body).map(Envelope::message)
        } else {
            // Batches (gone since 2025-06-18), scalars, or not JSON at all.
            serde_json::from_str::<IgnoredAny>(body).map(|_| Self::invalid(Value::Null))
        };
        parsed.unwrap_or_else(|err| match err.classify() {
            serde_json::error::Category::Data => Self::invalid(Value::Null),
            _ => Self::Malformed {
                id: Value::Null,
                code: PARSE_ERROR,
                message: "Parse error: the body is not valid JSON",
            },
        })
    }

    fn invalid(id: Value) -> Self {
        Self::Malformed {
            id,
            code: INVALID_REQUEST,
            message: "Invalid Request: not a JSON-RPC 2.0 request, notification or response",
        }
    }

    fn counts(&self) -> bool {
        !matches!(self, Self::Plumbing)
    }

    fn id(&self) -> Value {
        match self {
            Self::ToolCall { id }
            | Self::ListTools { id, .. }
            | Self::Request { id }
            | Self::Malformed { id, .. } => id.clone(),
            Self::Plumbing => Value::Null,
        }
    }
}

/// The members of a JSON-RPC message the edge looks at; the rest (params, result
/// bodies) is skipped unread.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow)]
    jsonrpc: Option<Cow<'a, str>>,
    #[serde(default)]
    id: Id,
    #[serde(default, borrow)]
    method: Option<Cow<'a, str>>,
    #[serde(default)]
    params: ListParams,
    #[serde(default)]
    result: Present,
    #[serde(default)]
    error: Present,
}

impl Envelope<'_> {
    fn message(self) -> Message {
        let absent_id = matches!(self.id, Id::Absent);
        let id = match self.id {
            Id::Valid(id) => Some(id),
            Id::Absent | Id::Invalid => None,
        };
        if self.jsonrpc.as_deref() != Some("2.0") {
            return Message::invalid(id.unwrap_or(Value::Null));
        }
        let answers = usize::from(self.result.0) + usize::from(self.error.0);
        match (self.method, id) {
            (Some(method), Some(id)) if answers == 0 => {
                if method == "tools/call" {
                    Message::ToolCall { id }
                } else if method == "tools/list" {
                    Message::ListTools {
                        id,
                        fits: self.params.0,
                    }
                } else {
                    Message::Request { id }
                }
            }
            (Some(_), None) if answers == 0 && absent_id => Message::Plumbing,
            (None, Some(_)) if answers == 1 => Message::Plumbing,
            (_, id) => Message::invalid(id.unwrap_or(Value::Null)),
        }
    }
}

/// A JSON-RPC id as MCP (and rmcp) allows it: a string or an integer that fits an
/// `i64`, possibly written as a float (`1.0`); never null.
#[derive(Debug, Default)]
enum Id {
    #[default]
    Absent,
    Valid(Value),
    Invalid,
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl<'de> Visitor<'de> for IdVisitor {
            type Value = Id;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON-RPC id")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Id, E> {
                Ok(Id::Valid(Value::from(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id::Valid(Value::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Id, E> {
                Ok(i64::try_from(v).map_or(Id::Invalid, |v| Id::Valid(Value::from(v))))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Id, E> {
                // Integers an f64 holds exactly (below 2^53).
                const EXACT: f64 = 9_007_199_254_740_992.0;
                #[allow(clippy::cast_possible_truncation)]
                let id = (v.fract() == 0.0 && v.abs() < EXACT).then(|| Value::from(v as i64));
                Ok(id.map_or(Id::Invalid, Id::Valid))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Id, E> {
                Ok(Id::Invalid)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Id, E> {
                Ok(Id::Invalid)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Id, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Id::Invalid)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Id, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Id::Invalid)
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

/// Whether `params` would read as plain `tools/list` params (absent, null, or an
/// object whose `cursor` is a string, without `_meta`); any other method's params
/// are walked without being kept.
#[derive(Debug)]
struct ListParams(ListFit);

/// What a `tools/list`'s params allow the fast path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListFit {
    /// No `_meta`, at most a string cursor: a session's list.
    Plain,
    /// Exactly the `_meta` the stateless revision requires (its version and
    /// well-formed client capabilities), at most a string cursor.
    Stateless,
    /// Anything else: rmcp answers it.
    Other,
}

const STATELESS_REVISION: &str = "2026-07-28";

/// Whether `meta` holds exactly what a `2026-07-28` request carries (its
/// version, well-formed client capabilities and, optionally, well-formed
/// client info) and nothing rmcp would act on besides.
fn stateless_meta(meta: &Value) -> bool {
    fn fits<T: serde::de::DeserializeOwned>(value: &Value) -> bool {
        value.is_object() && serde_json::from_value::<T>(value.clone()).is_ok()
    }
    let Some(meta) = meta.as_object() else {
        return false;
    };
    meta.iter().all(|(key, value)| match key.as_str() {
        "io.modelcontextprotocol/protocolVersion" => value.as_str() == Some(STATELESS_REVISION),
        "io.modelcontextprotocol/clientCapabilities" => {
            fits::<rmcp::model::ClientCapabilities>(value)
        }
        "io.modelcontextprotocol/clientInfo" => fits::<rmcp::model::Implementation>(value),
        _ => false,
    }) && meta.contains_key("io.modelcontextprotocol/protocolVersion")
        && meta.contains_key("io.modelcontextprotocol/clientCapabilities")
}

impl Default for ListParams {
    fn default() -> Self {
        Self(ListFit::Plain)
    }
}

impl<'de> Deserialize<'de> for ListParams {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ParamsVisitor;
        impl<'de> Visitor<'de> for ParamsVisitor {
            type Value = ListParams;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON-RPC params")
            }
            fn visit_unit<E: de::Error>(self) -> Result<ListParams, E> {
                Ok(ListParams(ListFit::Plain))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ListParams, A::Error> {
                let mut fits = true;
                let mut meta = None;
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    match key.as_ref() {
                        "cursor" => fits &= map.next_value::<Value>()?.is_string(),
                        // `_meta` names the protocol revision (and more rmcp acts on).
                        "_meta" => meta = Some(stateless_meta(&map.next_value::<Value>()?)),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(ListParams(match (fits, meta) {
                    (true, None) => ListFit::Plain,
                    (true, Some(true)) => ListFit::Stateless,
                    _ => ListFit::Other,
                }))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ListParams, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(ListParams(ListFit::Other))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<ListParams, E> {
                Ok(ListParams(ListFit::Other))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<ListParams, E> {
                Ok(ListParams(ListFit::Other))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<ListParams, E> {
                Ok(ListParams(ListFit::Other))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<ListParams, E> {
                Ok(ListParams(ListFit::Other))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<ListParams, E> {
                Ok(ListParams(ListFit::Other))
            }
        }
        deserializer.deserialize_any(ParamsVisitor)
    }
}

/// Whether a member is there at all (`null` included), its value skipped.
#[derive(Debug, Default)]
struct Present(bool);

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer).map(|_| Present(true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str) -> Message {
        Message::read(body.as_bytes())
    }

    fn code(message: &Message) -> Option<i64> {
        match message {
            Message::Malformed { code, .. } => Some(*code),
            _ => None,
        }
    }

    #[test]
    fn requests_notifications_and_responses_are_told_apart() {
        assert_eq!(
            read(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x"}}"#),
            Message::ToolCall { id: json!(7) }
        );
        assert_eq!(
            read(r#" {"method":"tools/list","id":"a","jsonrpc":"2.0"}"#),
            Message::ListTools {
                id: json!("a"),
                fits: ListFit::Plain
            }
        );
        assert_eq!(
            read(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"c","x":[1]}}"#
            ),
            Message::ListTools {
                id: json!(1),
                fits: ListFit::Plain
            }
        );
        for params in [r#"[]"#, r#"5"#, r#"{"cursor":1}"#, r#"{"_meta":{}}"#] {
            let body =
                format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{params}}}"#);
            assert_eq!(
                read(&body),
                Message::ListTools {
                    id: json!(1),
                    fits: ListFit::Other
                },
                "{params}"
            );
        }
        assert_eq!(
            read(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            Message::Plumbing
        );
        assert_eq!(
            read(r#"{"jsonrpc":"2.0","id":2.0,"method":"ping"}"#),
            Message::Request { id: json!(2) }
        );
        assert_eq!(
            read(r#"{"jsonrpc":"2.0","id":3,"result":{}}"#),
            Message::Plumbing
        );
        assert_eq!(
            read(r#"{"jsonrpc":"2.0","id":3,"error":{"code":1,"message":"m"}}"#),
            Message::Plumbing
        );
    }

    #[test]
    fn bad_json_is_a_parse_error_and_bad_framing_an_invalid_request() {
        for body in ["", "{", "{\"jsonrpc\":", "not json", "{} x", "{\"a\":1,}"] {
            assert_eq!(code(&read(body)), Some(PARSE_ERROR), "{body:?}");
        }
        // Invalid UTF-8 inside a member the edge skips is still not JSON.
        let skipped =
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"a\":\"\xd7\"}}";
        assert_eq!(code(&Message::read(skipped)), Some(PARSE_ERROR));
        for body in [
            "[]",
            r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
            "42",
            "null",
            "{}",
            r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
            r#"{"id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":9223372036854775808,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":5}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{},"error":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}"#,
        ] {
            assert_eq!(code(&read(body)), Some(INVALID_REQUEST), "{body:?}");
        }
        assert_eq!(
            read(r#"{"jsonrpc":"2.0","id":"k","method":"ping","result":1}"#).id(),
            json!("k"),
            "the id is echoed when it could be read"
        );
    }
}
