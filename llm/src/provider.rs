//! One provider, whatever its kind: `complete` and `stream`.

use secrecy::SecretString;

use crate::anthropic::AnthropicClient;
use crate::error::{ProviderError, ProviderKind};
use crate::gemini::GeminiClient;
use crate::http::Timeouts;
use crate::mock::MockProvider;
use crate::openai::{ChatCompletion, ChatRequest, Usage};
use crate::passthrough::OpenAiClient;
use crate::stream::ChunkStream;
use crate::tokens::{count_tokens_estimate, estimate_prompt_tokens};

/// The base URL of a kind when the configuration names none
/// (`openai-compatible` has none: it must be configured).
pub fn default_base_url(kind: ProviderKind) -> Option<&'static str> {
    match kind {
        ProviderKind::OpenAi => Some("https://api.openai.com/v1"),
        ProviderKind::Xai => Some("https://api.x.ai/v1"),
        ProviderKind::Anthropic => Some("https://api.anthropic.com"),
        ProviderKind::Google => Some("https://generativelanguage.googleapis.com"),
        ProviderKind::OpenAiCompatible | ProviderKind::Mock => None,
    }
}

/// How to reach one provider.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    /// `None`: the kind's default.
    pub base_url: Option<String>,
    pub api_key: SecretString,
    pub timeouts: Timeouts,
    /// The mock's per-chunk delay (other kinds ignore it).
    pub mock: MockProvider,
}

impl ProviderConfig {
    /// A configuration with default timeouts and base URL.
    pub fn new(kind: ProviderKind, api_key: SecretString) -> Self {
        Self {
            kind,
            base_url: None,
            api_key,
            timeouts: Timeouts::default(),
            mock: MockProvider::default(),
        }
    }

    /// The same with `base_url`.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }
}

/// A whole answer and the usage to bill.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub response: ChatCompletion,
    /// The provider's usage, or an estimate when it reported none.
    pub usage: Usage,
    pub usage_estimated: bool,
}

/// A configured provider client.
#[derive(Debug, Clone)]
pub enum Provider {
    /// OpenAI, xAI and OpenAI-compatible upstreams.
    OpenAi(OpenAiClient),
    Anthropic(AnthropicClient),
    Google(GeminiClient),
    Mock(MockProvider),
}

impl Provider {
    /// Builds the client of `config`.
    pub fn new(config: ProviderConfig) -> Result<Self, ProviderError> {
        let kind = config.kind;
        let base_url = match (config.base_url, default_base_url(kind)) {
            (Some(url), _) => url,
            (None, Some(url)) => url.to_owned(),
            (None, None) if kind == ProviderKind::Mock => String::new(),
            (None, None) => {
                return Err(ProviderError::invalid(format!(
                    "provider {kind} needs a base URL"
                )));
            }
        };
        Ok(match kind {
            ProviderKind::OpenAi | ProviderKind::Xai | ProviderKind::OpenAiCompatible => {
                Provider::OpenAi(OpenAiClient::new(
                    kind,
                    base_url,
                    config.api_key,
                    config.timeouts,
                )?)
            }
            ProviderKind::Anthropic => Provider::Anthropic(AnthropicClient::new(
                base_url,
                config.api_key,
                config.timeouts,
            )?),
            ProviderKind::Google => Provider::Google(GeminiClient::new(
                base_url,
                config.api_key,
                config.timeouts,
            )?),
            ProviderKind::Mock => Provider::Mock(config.mock),
        })
    }

    /// A whole answer. `Err`: nothing was answered; see
    /// [`ProviderError::is_retryable`].
    pub async fn complete(&self, request: &ChatRequest) -> Result<Completion, ProviderError> {
        let response = match self {
            Provider::OpenAi(client) => client.complete(request).await?,
            Provider::Anthropic(client) => client.complete(request).await?,
            Provider::Google(client) => client.complete(request).await?,
            Provider::Mock(mock) => mock.complete(request)?,
        };
        let (usage, usage_estimated) = match &response.usage {
            Some(usage) => (usage.clone(), false),
            None => (estimate_usage(request, &response), true),
        };
        Ok(Completion {
            response,
            usage,
            usage_estimated,
        })
    }

    /// A streamed answer. `Err`: nothing was streamed; failures after the
    /// first byte are `Err` items of the stream.
    pub async fn stream(&self, request: &ChatRequest) -> Result<ChunkStream, ProviderError> {
        match self {
            Provider::OpenAi(client) => client.stream(request).await,
            Provider::Anthropic(client) => client.stream(request).await,
            Provider::Google(client) => client.stream(request).await,
            Provider::Mock(mock) => mock.stream(request),
        }
    }
}

/// Usage from the request and the answer's text when a provider reports
/// none.
fn estimate_usage(request: &ChatRequest, response: &ChatCompletion) -> Usage {
    let completion: u64 = response
        .choices
        .iter()
        .map(|choice| {
            let text = choice
                .message
                .content
                .as_deref()
                .map_or(0, count_tokens_estimate);
            let calls: u64 = choice
                .message
                .tool_calls
                .iter()
                .flatten()
                .map(|call| count_tokens_estimate(&call.function.arguments))
                .sum();
            text.saturating_add(calls)
        })
        .sum();
    Usage::new(estimate_prompt_tokens(request), completion)
}
