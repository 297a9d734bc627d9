//! The error responses routes share, as `utoipa::IntoResponses` sets: each
//! status with the body the gateway answers it with (the REST envelope, or
//! OpenAI's shape on the inference routes). A route lists its set and adds the
//! statuses particular to it (402, 409, 502, ...).

use utoipa::IntoResponses;

pub use crate::http::error_response::ErrorEnvelope;
pub use crate::http::openai_error::OpenAiErrorEnvelope;

/// A route that takes a key and no body.
#[derive(IntoResponses)]
pub enum KeyErrors {
    #[response(
        status = 400,
        description = "Bad input: a malformed id or query parameter"
    )]
    BadRequest(ErrorEnvelope),
    #[response(
        status = 401,
        description = "No key, or an invalid or revoked one",
        headers(("WWW-Authenticate" = String, description = "`Bearer`"))
    )]
    Unauthorized(ErrorEnvelope),
    #[response(status = 403, description = "This kind of key may not call this route")]
    Forbidden(ErrorEnvelope),
    #[response(status = 404, description = "Not found, or not this caller's")]
    NotFound(ErrorEnvelope),
    #[response(
        status = 429,
        description = "The end user's requests per minute or day are spent",
        headers(("Retry-After" = u64, description = "Seconds until a request is admitted"))
    )]
    RateLimited(ErrorEnvelope),
}

/// A route that takes a key and a JSON body.
#[derive(IntoResponses)]
pub enum KeyBodyErrors {
    #[response(
        status = 400,
        description = "Bad input: malformed JSON, an unknown or invalid field"
    )]
    BadRequest(ErrorEnvelope),
    #[response(
        status = 401,
        description = "No key, or an invalid or revoked one",
        headers(("WWW-Authenticate" = String, description = "`Bearer`"))
    )]
    Unauthorized(ErrorEnvelope),
    #[response(status = 403, description = "This kind of key may not call this route")]
    Forbidden(ErrorEnvelope),
    #[response(status = 404, description = "Not found, or not this caller's")]
    NotFound(ErrorEnvelope),
    #[response(
        status = 413,
        description = "The body is larger than this route accepts"
    )]
    PayloadTooLarge(ErrorEnvelope),
    #[response(status = 415, description = "The body is not `application/json`")]
    UnsupportedMediaType(ErrorEnvelope),
    #[response(
        status = 429,
        description = "The end user's requests per minute or day are spent",
        headers(("Retry-After" = u64, description = "Seconds until a request is admitted"))
    )]
    RateLimited(ErrorEnvelope),
}

/// An operator route (`/admin/v1`) with no body.
#[derive(IntoResponses)]
pub enum AdminErrors {
    #[response(
        status = 400,
        description = "Bad input: a malformed id or query parameter"
    )]
    BadRequest(ErrorEnvelope),
    #[response(
        status = 401,
        description = "No admin token, or a wrong one",
        headers(("WWW-Authenticate" = String, description = "`Bearer`"))
    )]
    Unauthorized(ErrorEnvelope),
    #[response(
        status = 403,
        description = "A key, not the admin token, or no admin token is configured"
    )]
    Forbidden(ErrorEnvelope),
    #[response(status = 404, description = "Not found")]
    NotFound(ErrorEnvelope),
}

/// An operator route (`/admin/v1`) with a JSON body.
#[derive(IntoResponses)]
pub enum AdminBodyErrors {
    #[response(
        status = 400,
        description = "Bad input: malformed JSON, an unknown or invalid field"
    )]
    BadRequest(ErrorEnvelope),
    #[response(
        status = 401,
        description = "No admin token, or a wrong one",
        headers(("WWW-Authenticate" = String, description = "`Bearer`"))
    )]
    Unauthorized(ErrorEnvelope),
    #[response(
        status = 403,
        description = "A key, not the admin token, or no admin token is configured"
    )]
    Forbidden(ErrorEnvelope),
    #[response(status = 404, description = "Not found")]
    NotFound(ErrorEnvelope),
    #[response(
        status = 413,
        description = "The body is larger than this route accepts"
    )]
    PayloadTooLarge(ErrorEnvelope),
    #[response(status = 415, description = "The body is not `application/json`")]
    UnsupportedMediaType(ErrorEnvelope),
}

/// An inference route: the same statuses in OpenAI's error shape.
#[derive(IntoResponses)]
pub enum OpenAiErrors {
    #[response(status = 400, description = "Bad input (OpenAI's error shape)")]
    BadRequest(OpenAiErrorEnvelope),
    #[response(
        status = 401,
        description = "No key, or an invalid or revoked one",
        headers(("WWW-Authenticate" = String, description = "`Bearer`"))
    )]
    Unauthorized(OpenAiErrorEnvelope),
    #[response(status = 403, description = "This kind of key may not call this route")]
    Forbidden(OpenAiErrorEnvelope),
    #[response(status = 404, description = "Not found, or not this caller's")]
    NotFound(OpenAiErrorEnvelope),
    #[response(
        status = 429,
        description = "Requests or tokens per minute, or requests per day, are spent",
        headers(("Retry-After" = u64, description = "Seconds until a request is admitted"))
    )]
    RateLimited(OpenAiErrorEnvelope),
}

/// A public route (no key): the browser's OAuth and connect-page steps.
#[derive(IntoResponses)]
pub enum PublicErrors {
    #[response(
        status = 400,
        description = "A missing, malformed, expired or spent token or parameter"
    )]
    BadRequest(ErrorEnvelope),
    #[response(status = 404, description = "Not found")]
    NotFound(ErrorEnvelope),
}
