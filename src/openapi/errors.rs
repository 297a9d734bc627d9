//! The error responses routes share, as `utoipa::IntoResponses` sets: each
//! status with the body the gateway answers it with (the REST envelope, or
//! OpenAI's shape on the inference routes). A route lists its set and adds the
//! statuses particular to it (402, 409, 502, ...).

use utoipa::IntoResponses;

pub use crate::http::error_response::ErrorEnvelope;
pub use crate::http::openai_error::OpenAiErrorEnvelope;

/// One set: an enum whose variants are the statuses, each with its description
/// (and headers), the body being `$body`.
macro_rules! error_set {
    ($(#[$doc:meta])* $name:ident($body:ty) {
        $($variant:ident = $status:tt $description:tt $(headers $headers:tt)?),* $(,)?
    }) => {
        $(#[$doc])*
        #[derive(IntoResponses)]
        pub enum $name {
            $(
                #[response(status = $status, description = $description $(, headers $headers)?)]
                $variant($body),
            )*
        }
    };
}

error_set! {
    /// A route that takes a key and no body.
    KeyErrors(ErrorEnvelope) {
        BadRequest = 400 "Bad input: a malformed id or query parameter",
        Unauthorized = 401 "No key, or an invalid or revoked one"
            headers(("WWW-Authenticate" = String, description = "`Bearer`")),
        Forbidden = 403 "This kind of key may not call this route",
        NotFound = 404 "Not found, or not this caller's",
        RateLimited = 429 "The end user's requests per minute or day are spent"
            headers(("Retry-After" = u64, description = "Seconds until a request is admitted")),
    }
}

error_set! {
    /// A route that takes a key and a JSON body.
    KeyBodyErrors(ErrorEnvelope) {
        BadRequest = 400 "Bad input: malformed JSON, an unknown or invalid field",
        Unauthorized = 401 "No key, or an invalid or revoked one"
            headers(("WWW-Authenticate" = String, description = "`Bearer`")),
        Forbidden = 403 "This kind of key may not call this route",
        NotFound = 404 "Not found, or not this caller's",
        PayloadTooLarge = 413 "The body is larger than this route accepts",
        UnsupportedMediaType = 415 "The body is not `application/json`",
        RateLimited = 429 "The end user's requests per minute or day are spent"
            headers(("Retry-After" = u64, description = "Seconds until a request is admitted")),
    }
}

error_set! {
    /// An operator route (`/admin/v1`) with no body.
    AdminErrors(ErrorEnvelope) {
        BadRequest = 400 "Bad input: a malformed id or query parameter",
        Unauthorized = 401 "No admin token, or a wrong one"
            headers(("WWW-Authenticate" = String, description = "`Bearer`")),
        Forbidden = 403 "A key, not the admin token, or no admin token is configured",
        NotFound = 404 "Not found",
    }
}

error_set! {
    /// An operator route (`/admin/v1`) with a JSON body.
    AdminBodyErrors(ErrorEnvelope) {
        BadRequest = 400 "Bad input: malformed JSON, an unknown or invalid field",
        Unauthorized = 401 "No admin token, or a wrong one"
            headers(("WWW-Authenticate" = String, description = "`Bearer`")),
        Forbidden = 403 "A key, not the admin token, or no admin token is configured",
        NotFound = 404 "Not found",
        PayloadTooLarge = 413 "The body is larger than this route accepts",
        UnsupportedMediaType = 415 "The body is not `application/json`",
    }
}

error_set! {
    /// An inference route: the same statuses in OpenAI's error shape.
    OpenAiErrors(OpenAiErrorEnvelope) {
        BadRequest = 400 "Bad input (OpenAI's error shape)",
        Unauthorized = 401 "No key, or an invalid or revoked one"
            headers(("WWW-Authenticate" = String, description = "`Bearer`")),
        Forbidden = 403 "This kind of key may not call this route",
        NotFound = 404 "Not found, or not this caller's",
        RateLimited = 429 "Requests or tokens per minute, or requests per day, are spent"
            headers(("Retry-After" = u64, description = "Seconds until a request is admitted")),
    }
}

error_set! {
    /// A public route (no key): the browser's OAuth and connect-page steps.
    PublicErrors(ErrorEnvelope) {
        BadRequest = 400 "A missing, malformed, expired or spent token or parameter",
        NotFound = 404 "Not found",
    }
}
