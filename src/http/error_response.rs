//! The REST rendering of [`Error`]: its HTTP status and the contract's envelope
//! `{"error": {"code", "message", "type", "request_id"}}`, with `WWW-Authenticate`
//! on 401 and `Retry-After` on 429.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::request_context;
use crate::error::{Error, ErrorKind};

/// Marker placed on responses that already carry the envelope, so the request
/// middleware does not rewrite them.
#[derive(Debug, Clone, Copy)]
pub struct Enveloped;

/// The HTTP status an error answers with.
pub fn status(error: &Error) -> StatusCode {
    match error.kind() {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::PaymentRequired(_) => StatusCode::PAYMENT_REQUIRED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Upstream => StatusCode::BAD_GATEWAY,
    }
}

/// The REST error body: `{"error": {...}}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The precise code (`not_found`, `budget_exceeded`, ...).
    pub code: String,
    pub message: String,
    /// The error's family, in OpenAI's vocabulary (`invalid_request_error`, ...).
    #[serde(rename = "type")]
    pub error_type: String,
    /// This request's id, as in the `x-request-id` header and the logs.
    pub request_id: String,
}

/// The headers an error's status calls for.
pub fn add_error_headers(error: &Error, headers: &mut axum::http::HeaderMap) {
    match error.kind() {
        ErrorKind::Unauthorized => {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        ErrorKind::RateLimited { retry_after_secs } => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        _ => {}
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let envelope = ErrorEnvelope {
            error: ErrorBody {
                code: self.code().to_owned(),
                message: self.message().to_owned(),
                error_type: self.error_type().to_owned(),
                request_id: request_context::current_request_id(),
            },
        };
        let mut response = (status(&self), axum::Json(envelope)).into_response();
        add_error_headers(&self, response.headers_mut());
        response.extensions_mut().insert(Enveloped);
        response
    }
}
