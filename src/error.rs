//! The one error every service returns. It knows no protocol: each edge renders
//! it — the REST envelope and HTTP status (`http::error_response`), an MCP tool
//! error with `structuredContent.code` (`mcp`), an OpenAI-style error body
//! (inference). What it carries is the kind (which decides status and code at
//! the edges), a message meant for the caller, and optionally a more precise code.

/// Why a payment-gated operation was refused. Each maps to a precise `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentCode {
    WalletInsufficient,
    BudgetExhausted,
    BudgetSuspended,
    NoBudget,
    AboveCeiling,
    Denylisted,
    NotAllowlisted,
    BelowMinRating,
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
            Self::BelowMinRating => "below_min_rating",
        }
    }
}

/// What went wrong, in the contract's families (section 4 of the contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
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

/// An error answered to a caller. The message is meant for the caller; internal
/// details go to the log, never into the message.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    /// A more precise code than the kind's (`model_not_found`), when there is one.
    code: Option<&'static str>,
}

/// `Result` with this crate's [`Error`] unless another error is named.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            code: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, message)
    }
    pub fn payment_required(code: PaymentCode, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::PaymentRequired(code), message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::MethodNotAllowed, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::PayloadTooLarge, message)
    }
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::UnsupportedMediaType, message)
    }
    pub fn rate_limited(retry_after_secs: u64, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::RateLimited { retry_after_secs }, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }
    pub fn upstream(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Upstream, message)
    }

    /// An unexpected failure: logged in full here, answered as a bare "internal error".
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Self::new(ErrorKind::Internal, "internal error")
    }

    /// The same error with a more precise code (`model_not_found` for a not-found).
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        if let Some(code) = self.code {
            return code;
        }
        match self.kind {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::PaymentRequired(code) => code.as_str(),
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::MethodNotAllowed => "method_not_allowed",
            ErrorKind::Conflict => "conflict",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::UnsupportedMediaType => "unsupported_media_type",
            ErrorKind::RateLimited { .. } => "rate_limited",
            ErrorKind::Internal => "internal_error",
            ErrorKind::Unavailable => "service_unavailable",
            ErrorKind::Upstream => "upstream_error",
        }
    }

    /// The family name shown as the error's `type` (OpenAI's vocabulary).
    pub fn error_type(&self) -> &'static str {
        match self.kind {
            ErrorKind::Unauthorized => "authentication_error",
            ErrorKind::Forbidden => "permission_error",
            ErrorKind::PaymentRequired(_) => "payment_required",
            ErrorKind::RateLimited { .. } => "rate_limit_error",
            ErrorKind::Internal | ErrorKind::Unavailable | ErrorKind::Upstream => "api_error",
            _ => "invalid_request_error",
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The precise 402 code, when this is a payment refusal.
    pub fn payment_code(&self) -> Option<PaymentCode> {
        match self.kind {
            ErrorKind::PaymentRequired(code) => Some(code),
            _ => None,
        }
    }

    /// Whether the fault is the gateway's or an upstream's rather than the caller's.
    pub fn is_server_side(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Internal | ErrorKind::Unavailable | ErrorKind::Upstream
        )
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.message)
    }
}

impl std::error::Error for Error {}

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
