//! Anthropic Messages API: client and translation both ways.

pub mod request;
pub mod response;
pub mod stream;

use secrecy::{ExposeSecret, SecretString};

use crate::error::{ProviderError, ProviderKind};
use crate::http::{self, Timeouts};
use crate::openai::{ChatCompletion, ChatRequest};
use crate::stream::ChunkStream;

pub use request::{DEFAULT_MAX_TOKENS, MessagesRequest, to_messages_request};
pub use response::{MessagesResponse, to_chat_completion};

/// The `anthropic-version` header every request carries.
pub const API_VERSION: &str = "2023-06-01";

const PROVIDER: ProviderKind = ProviderKind::Anthropic;

/// A Messages API client. `base_url` is without the version
/// (`https://api.anthropic.com`), as in Anthropic's SDKs.
#[derive(Debug, Clone)]
pub struct AnthropicClient {
    base_url: String,
    api_key: reqwest::header::HeaderValue,
    http: reqwest::Client,
    timeouts: Timeouts,
}

impl AnthropicClient {
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

    fn post(&self, body: &MessagesRequest) -> reqwest::RequestBuilder {
        self.http
            .post(http::join_url(&self.base_url, "v1/messages"))
            .header("x-api-key", self.api_key.clone())
            .header("anthropic-version", API_VERSION)
            .json(body)
    }

    /// A whole answer.
    pub async fn complete(&self, request: &ChatRequest) -> Result<ChatCompletion, ProviderError> {
        let body = to_messages_request(request, false)?;
        let response =
            http::send(PROVIDER, self.post(&body).timeout(self.timeouts.request)).await?;
        let response: MessagesResponse = http::read_json(PROVIDER, response).await?;
        Ok(to_chat_completion(response))
    }

    /// A streamed answer.
    pub async fn stream(&self, request: &ChatRequest) -> Result<ChunkStream, ProviderError> {
        let body = to_messages_request(request, true)?;
        let response = http::send_stream(PROVIDER, self.post(&body), self.timeouts).await?;
        Ok(stream::chunk_stream(
            http::sse_events(PROVIDER, response, self.timeouts.idle),
            request.wants_stream_usage(),
        ))
    }
}
