//! One provider, whatever its kind: `complete` and `stream`.

use secrecy::SecretString;

use crate::anthropic::AnthropicClient;
use crate::error::{ProviderError, ProviderKind};
use crate::gemini::GeminiClient;
use crate::http::Timeouts;
use crate::mock::{MOCK_MODELS, MOCK_OWNER, MockProvider};
use crate::openai::{ChatCompletion, ChatRequest, ModelObject, Usage};
use crate::passthrough::OpenAiClient;
use crate::prices::PriceBook;
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

/// The models a provider kind offers by default: those the price book
/// prices for it (the mock's own two for `mock`). `openai-compatible`
/// upstreams have no defaults: their models are configured.
pub fn default_models(kind: ProviderKind, prices: &PriceBook) -> Vec<String> {
    match kind {
        ProviderKind::Mock => MOCK_MODELS
            .iter()
            .map(|model| (*model).to_owned())
            .collect(),
        ProviderKind::OpenAiCompatible => Vec::new(),
        _ => prices.models(kind).map(str::to_owned).collect(),
    }
}

/// A `GET /v1/models` entry for `model` of `kind` (`owned_by` is the kind,
/// or `assistiv-mock` for the mock, so a listing never passes a mock off as
/// a real model).
pub fn model_object(kind: ProviderKind, model: &str) -> ModelObject {
    let owner = match kind {
        ProviderKind::Mock => MOCK_OWNER,
        other => other.as_str(),
    };
    ModelObject::new(model, 0, owner)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn bad_base_urls_and_unsendable_keys_are_refused_without_the_key() {
        let config = |kind, key: &str, url: Option<&str>| ProviderConfig {
            base_url: url.map(str::to_owned),
            ..ProviderConfig::new(kind, SecretString::from(key.to_owned()))
        };
        assert!(Provider::new(config(ProviderKind::OpenAiCompatible, "k", None)).is_err());
        assert!(Provider::new(config(ProviderKind::OpenAi, "k", Some("ftp://x"))).is_err());
        assert!(Provider::new(config(ProviderKind::Anthropic, "k", Some("not a url"))).is_err());
        let error =
            Provider::new(config(ProviderKind::Google, "bad\nkey-secret", None)).unwrap_err();
        assert!(
            error.is_client_error() && !error.to_string().contains("key-secret"),
            "{error}"
        );
        assert!(Provider::new(config(ProviderKind::Xai, "k", None)).is_ok());
        assert!(Provider::new(config(ProviderKind::Mock, "", None)).is_ok());
    }

    #[test]
    fn default_models_come_from_the_price_book() {
        let prices = PriceBook::embedded().unwrap();
        assert!(default_models(ProviderKind::OpenAi, &prices).contains(&"gpt-4o-mini".to_owned()));
        assert!(default_models(ProviderKind::Xai, &prices).contains(&"grok-2".to_owned()));
        assert_eq!(
            default_models(ProviderKind::Mock, &prices),
            ["mock-1", "mock-fast"]
        );
        assert!(default_models(ProviderKind::OpenAiCompatible, &prices).is_empty());
        assert_eq!(
            model_object(ProviderKind::Mock, "mock-1").owned_by,
            "assistiv-mock"
        );
        assert_eq!(
            model_object(ProviderKind::Anthropic, "claude-sonnet-4-6").owned_by,
            "anthropic"
        );
    }
}
