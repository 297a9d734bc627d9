//! Google Gemini `generateContent` / `streamGenerateContent`: client and
//! translation both ways.

pub mod request;
pub mod response;
pub mod stream;

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::error::{ProviderError, ProviderKind};
use crate::http::{self, Timeouts};
use crate::openai::{ChatCompletion, ChatRequest};
use crate::stream::ChunkStream;

pub use request::to_generate_content_request;
pub use response::{GenerateContentResponse, to_chat_completion};

const PROVIDER: ProviderKind = ProviderKind::Google;

/// A Gemini API client. `base_url` is without the version
/// (`https://generativelanguage.googleapis.com`); the key travels in the
/// `x-goog-api-key` header, never in the URL.
#[derive(Debug, Clone)]
pub struct GeminiClient {
    base_url: String,
    api_key: reqwest::header::HeaderValue,
    http: reqwest::Client,
    timeouts: Timeouts,
}

impl GeminiClient {
    /// A client of `base_url`.
    pub fn new(
        base_url: String,
        api_key: SecretString,
        timeouts: Timeouts,
    ) -> Result<Self, ProviderError> {
        http::check_base_url(PROVIDER, &base_url)?;
        Ok(Self {
            http: http::build_client(PROVIDER, timeouts)?,
            api_key: http::key_header(PROVIDER, api_key.expose_secret())?,
            base_url,
            timeouts,
        })
    }

    fn post(&self, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.http
            .post(http::join_url(&self.base_url, path))
            .header("x-goog-api-key", self.api_key.clone())
            .json(body)
    }

    /// A whole answer.
    pub async fn complete(&self, request: &ChatRequest) -> Result<ChatCompletion, ProviderError> {
        let body = to_generate_content_request(request)?;
        let path = format!("v1beta/models/{}:generateContent", request.model);
        let response = http::send(
            PROVIDER,
            self.post(&path, &body).timeout(self.timeouts.request),
        )
        .await?;
        let response: GenerateContentResponse = http::read_json(PROVIDER, response).await?;
        Ok(to_chat_completion(response, &request.model))
    }

    /// A streamed answer.
    pub async fn stream(&self, request: &ChatRequest) -> Result<ChunkStream, ProviderError> {
        let body = to_generate_content_request(request)?;
        let path = format!(
            "v1beta/models/{}:streamGenerateContent?alt=sse",
            request.model
        );
        let response = http::send_stream(PROVIDER, self.post(&path, &body), self.timeouts).await?;
        Ok(stream::chunk_stream(
            http::sse_events(PROVIDER, response, self.timeouts.idle),
            &request.model,
            request.wants_stream_usage(),
        ))
    }
}
