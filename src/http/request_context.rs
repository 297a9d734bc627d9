//! Per-request context: a request id on every response (and in every error body),
//! one access-log line per request, and the envelope for errors produced outside
//! our handlers (unknown route, wrong method, body limits).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use crate::error::Error;
use crate::http::error_response::Enveloped;
use crate::metrics::Metrics;

pub static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served, or an empty string outside a request.
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// Request id of the request carried in `extensions`, for code that runs outside
/// the request task (for example inside an MCP service).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn new_request_id() -> String {
    format!("req_{}", Uuid::new_v4().simple())
}

pub async fn middleware(
    State(metrics): State<Metrics>,
    mut request: Request,
    next: Next,
) -> Response {
    let request_id = new_request_id();
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    // This layer runs after routing: the matched template, never the raw path,
    // labels the request's metrics.
    let template = request.extensions().get::<MatchedPath>().cloned();
    let started = Instant::now();

    let (method_ref, path_ref) = (&method, &path);
    let mut response = REQUEST_ID
        .scope(request_id.clone(), async move {
            let response = next.run(request).await;
            envelope_bare_errors(response, method_ref, path_ref).await
        })
        .await;

    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response
            .headers_mut()
            .insert(REQUEST_ID_HEADER.clone(), value);
    }
    let took = started.elapsed();
    metrics.request(
        &method,
        template.as_ref().map(MatchedPath::as_str),
        response.status().as_u16(),
        took,
    );
    tracing::info!(
        request_id = %request_id,
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        latency_us = took.as_micros() as u64,
        "request"
    );
    response
}

/// Gives error responses that did not come from `Error` (axum's fallback 404/405,
/// body-limit 413 and friends) the contract's envelope. JSON and event-stream
/// bodies (MCP's JSON-RPC errors) are left as they are.
async fn envelope_bare_errors(
    response: Response,
    method: &axum::http::Method,
    path: &str,
) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.extensions().get::<Enveloped>().is_some()
    {
        return response;
    }
    let content_type = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if content_type.starts_with("application/json") || content_type.starts_with("text/event-stream")
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let response = Response::from_parts(parts, axum::body::Body::empty());
    let error = match status {
        StatusCode::NOT_FOUND if text.is_none() => {
            Error::not_found(format!("no route for {method} {path}"))
        }
        StatusCode::NOT_FOUND => Error::not_found(text.clone().unwrap_or_default()),
        StatusCode::METHOD_NOT_ALLOWED => {
            Error::method_not_allowed(format!("{method} is not allowed on {path}"))
        }
        StatusCode::PAYLOAD_TOO_LARGE => Error::payload_too_large("request body too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            Error::unsupported_media_type("unsupported content type")
        }
        StatusCode::UNAUTHORIZED => {
            Error::unauthorized(text.clone().unwrap_or("missing or invalid API key".into()))
        }
        StatusCode::FORBIDDEN => Error::forbidden(text.clone().unwrap_or("forbidden".into())),
        s if s.is_client_error() => Error::bad_request(text.clone().unwrap_or_else(|| {
            s.canonical_reason()
                .unwrap_or("bad request")
                .to_ascii_lowercase()
        })),
        _ => Error::internal(format_args!("unenveloped {status} for {method} {path}")),
    };
    let mut enveloped = error.into_response();
    // Keep the headers the original response set (Allow on 405, for instance).
    for (name, value) in response.headers() {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            enveloped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    *enveloped.status_mut() = status;
    enveloped
}
