//! The OpenAI rendering of [`Error`], for the inference routes: the shape the
//! official OpenAI SDKs parse into their typed errors,
//! `{"error": {"message", "type", "code", "param"}, "request_id"}`, with the
//! same status and headers as the REST envelope (`Retry-After` on 429,
//! `WWW-Authenticate` on 401). A renderer, not a second error type.

use axum::response::{IntoResponse, Response};
use serde::Serialize;

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

/// OpenAI's error body, as the inference routes answer it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OpenAiErrorEnvelope {
    pub error: OpenAiErrorBody,
    pub request_id: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OpenAiErrorBody {
    pub message: String,
    #[serde(rename = "type")]
    pub error_type: String,
    pub code: String,
    /// Always `null`: errors name the parameter in the message.
    pub param: Option<String>,
}

impl IntoResponse for OpenAiError {
    fn into_response(self) -> Response {
        let error = self.0;
        let body = OpenAiErrorEnvelope {
            error: OpenAiErrorBody {
                message: error.message().to_owned(),
                error_type: error.error_type().to_owned(),
                code: error.code().to_owned(),
                param: None,
            },
            request_id: request_context::current_request_id(),
        };
        let mut response = (status(&error), axum::Json(body)).into_response();
        add_error_headers(&error, response.headers_mut());
        response.extensions_mut().insert(Enveloped);
        response
    }
}
