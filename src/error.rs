//! The one error type every HTTP surface answers with, and its envelope:
//! `{"error": {"code", "message", "type", "request_id"}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::http::request_context;

/// Why a payment-gated operation was refused (HTTP 402). Each maps to a precise `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentCode {
    WalletInsufficient,
    BudgetExhausted,
    BudgetSuspended,
    NoBudget,
    AboveCeiling,
    Denylisted,
    NotAllowlisted,
}

impl PaymentCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WalletInsufficient => "wallet_insufficient",
            Self::BudgetExhausted => "budget_exhausted",
            Self::BudgetSuspended => "budget_suspended",
            Self::NoBudget => "no_budget",
            Self::AboveCeiling => "above_ceiling",
            Self::Denylisted => "denylisted",
            Self::NotAllowlisted => "not_allowlisted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    BadRequest,
    Unauthorized,
    PaymentRequired(PaymentCode),
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited { retry_after_secs: u64 },
    Internal,
    Unavailable,
    Upstream,
}

/// An error answered to a client. The message is meant for the caller; internal
/// details go to the log, never into the message.
#[derive(Debug, Clone)]
pub struct Error {
    kind: Kind,
    message: String,
}

/// Marker placed on responses that already carry the envelope, so the request
/// middleware does not rewrite them.
#[derive(Debug, Clone, Copy)]
pub struct Enveloped;

impl Error {
    fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(Kind::BadRequest, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(Kind::Unauthorized, message)
    }
    pub fn payment_required(code: PaymentCode, message: impl Into<String>) -> Self {
        Self::new(Kind::PaymentRequired(code), message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Kind::Forbidden, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, message)
    }
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(Kind::MethodNotAllowed, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(Kind::Conflict, message)
    }
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(Kind::PayloadTooLarge, message)
    }
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(Kind::UnsupportedMediaType, message)
    }
    pub fn rate_limited(retry_after_secs: u64, message: impl Into<String>) -> Self {
        Self::new(Kind::RateLimited { retry_after_secs }, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(Kind::Unavailable, message)
    }
    pub fn upstream(message: impl Into<String>) -> Self {
        Self::new(Kind::Upstream, message)
    }

    /// An unexpected failure: logged in full here, answered as a bare 500.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Self::new(Kind::Internal, "internal error")
    }

    pub fn status(&self) -> StatusCode {
        match self.kind {
            Kind::BadRequest => StatusCode::BAD_REQUEST,
            Kind::Unauthorized => StatusCode::UNAUTHORIZED,
            Kind::PaymentRequired(_) => StatusCode::PAYMENT_REQUIRED,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Kind::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Upstream => StatusCode::BAD_GATEWAY,
        }
    }

    /// The stable machine-readable code of the envelope.
    pub fn code(&self) -> &'static str {
        match self.kind {
            Kind::BadRequest => "bad_request",
            Kind::Unauthorized => "unauthorized",
            Kind::PaymentRequired(code) => code.as_str(),
            Kind::Forbidden => "forbidden",
            Kind::NotFound => "not_found",
            Kind::MethodNotAllowed => "method_not_allowed",
            Kind::Conflict => "conflict",
            Kind::PayloadTooLarge => "payload_too_large",
            Kind::UnsupportedMediaType => "unsupported_media_type",
            Kind::RateLimited { .. } => "rate_limited",
            Kind::Internal => "internal_error",
            Kind::Unavailable => "service_unavailable",
            Kind::Upstream => "upstream_error",
        }
    }

    fn error_type(&self) -> &'static str {
        match self.kind {
            Kind::Unauthorized => "authentication_error",
            Kind::Forbidden => "permission_error",
            Kind::PaymentRequired(_) => "payment_required",
            Kind::RateLimited { .. } => "rate_limit_error",
            Kind::Internal | Kind::Unavailable | Kind::Upstream => "api_error",
            _ => "invalid_request_error",
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.message)
    }
}

impl std::error::Error for Error {}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(rename = "type")]
    error_type: &'a str,
    request_id: String,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let envelope = Envelope {
            error: Body {
                code: self.code(),
                message: &self.message,
                error_type: self.error_type(),
                request_id: request_context::current_request_id(),
            },
        };
        let mut response = (self.status(), axum::Json(envelope)).into_response();
        let headers = response.headers_mut();
        match self.kind {
            Kind::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Kind::RateLimited { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            _ => {}
        }
        response.extensions_mut().insert(Enveloped);
        response
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Self::internal(format_args!("database: {err}"))
    }
}

impl From<anyhow::Error> for Error {
    fn from(err: anyhow::Error) -> Self {
        Self::internal(format_args!("{err:#}"))
    }
}

pub type Result<T> = Result<T, Error>;
