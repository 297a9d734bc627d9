//! The OpenAI rendering of [`Error`], for the inference routes: the shape the
//! official OpenAI SDKs parse into their typed errors,
//! `{"error": {"message", "type", "code", "param"}, "request_id"}`, with the
//! same status and headers as the REST envelope (`Retry-After` on 429,
//! `WWW-Authenticate` on 401). A renderer, not a second error type.

use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::error_response::{Enveloped, add_error_headers, status};
use super::request_context;
use crate::error::Error;

/// An [`Error`] answered in OpenAI's error shape.
#[derive(Debug)]
pub struct OpenAiError(pub Error);

impl From<Error> for OpenAiError {
    fn from(error: Error) -> Self {
        Self(error)
    }
}

impl IntoResponse for OpenAiError {
    fn into_response(self) -> Response {
        let error = self.0;
        let body = json!({
            "error": {
                "message": error.message(),
                "type": error.error_type(),
                "code": error.code(),
                "param": null,
            },
            "request_id": request_context::current_request_id(),
        });
        let mut response = (status(&error), axum::Json(body)).into_response();
        add_error_headers(&error, response.headers_mut());
        response.extensions_mut().insert(Enveloped);
        response
    }
}
