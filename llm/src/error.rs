//! Provider errors. An `Err` from `complete`/`stream` means nothing reached
//! the client yet; in-stream failures are items of the stream.

use std::fmt;

/// Which kind of upstream a client speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderKind {
    #[serde(rename = "openai")]
    OpenAi,
    Anthropic,
    Google,
    Xai,
    #[serde(rename = "openai-compatible")]
    OpenAiCompatible,
    Mock,
}

impl ProviderKind {
    /// Every kind, in a stable order.
    pub const ALL: [ProviderKind; 6] = [
        ProviderKind::OpenAi,
        ProviderKind::Anthropic,
        ProviderKind::Google,
        ProviderKind::Xai,
        ProviderKind::OpenAiCompatible,
        ProviderKind::Mock,
    ];

    /// The kind's name as configured (`openai`, `anthropic`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Google => "google",
            ProviderKind::Xai => "xai",
            ProviderKind::OpenAiCompatible => "openai-compatible",
            ProviderKind::Mock => "mock",
        }
    }

    /// Parses a configured name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// Whether the upstream speaks the OpenAI wire format (passthrough).
    pub fn speaks_openai(self) -> bool {
        matches!(
            self,
            ProviderKind::OpenAi | ProviderKind::Xai | ProviderKind::OpenAiCompatible
        )
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What went wrong talking to a provider. Messages never carry the API key:
/// they come from the provider's error body or from the transport with the
/// URL stripped (keys travel in headers, never in URLs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The request uses a parameter this provider cannot honour (→ 400).
    #[error("parameter `{parameter}` is not supported by provider {provider}")]
    Unsupported {
        parameter: String,
        provider: ProviderKind,
    },
    /// The request is malformed for translation (a bad data URL, a tool
    /// message answering no call, ...) (→ 400).
    #[error("invalid request: {message}")]
    InvalidRequest { message: String },
    /// The provider could not be reached (retryable).
    #[error("provider {provider} unreachable: {message}")]
    Connect {
        provider: ProviderKind,
        message: String,
    },
    /// The provider did not answer in time (retryable).
    #[error("provider {provider} timed out")]
    Timeout { provider: ProviderKind },
    /// The provider answered with an error status.
    #[error("provider {provider} answered {status}: {message}")]
    Upstream {
        provider: ProviderKind,
        status: u16,
        message: String,
    },
    /// The provider's answer could not be read (not its documented shape).
    #[error("provider {provider} sent an unreadable answer: {message}")]
    Decode {
        provider: ProviderKind,
        message: String,
    },
}

impl ProviderError {
    /// Whether the gateway may try the next provider: nothing reached the
    /// client and the failure is the provider's (unreachable, timeout,
    /// 429, 5xx, an unreadable answer), not the request's.
    pub fn is_retryable(&self) -> bool {
        match self {
            // An unreadable answer is the provider's fault, like a 502.
            ProviderError::Connect { .. }
            | ProviderError::Timeout { .. }
            | ProviderError::Decode { .. } => true,
            ProviderError::Upstream { status, .. } => *status == 429 || *status >= 500,
            ProviderError::Unsupported { .. } | ProviderError::InvalidRequest { .. } => false,
        }
    }

    /// Whether the client's request is at fault (the gateway answers 400).
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            ProviderError::Unsupported { .. } | ProviderError::InvalidRequest { .. }
        )
    }

    /// The upstream status, when the provider answered one.
    pub fn upstream_status(&self) -> Option<u16> {
        match self {
            ProviderError::Upstream { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(crate) fn unsupported(parameter: impl Into<String>, provider: ProviderKind) -> Self {
        ProviderError::Unsupported {
            parameter: parameter.into(),
            provider,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        ProviderError::InvalidRequest {
            message: message.into(),
        }
    }

    pub(crate) fn decode(provider: ProviderKind, message: impl fmt::Display) -> Self {
        ProviderError::Decode {
            provider,
            message: message.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn retryable_before_first_byte() {
        let upstream = |status| ProviderError::Upstream {
            provider: ProviderKind::OpenAi,
            status,
            message: String::new(),
        };
        assert!(upstream(500).is_retryable());
        assert!(upstream(503).is_retryable());
        assert!(upstream(429).is_retryable());
        assert!(!upstream(400).is_retryable());
        assert!(!upstream(401).is_retryable());
        assert!(
            ProviderError::Timeout {
                provider: ProviderKind::Google
            }
            .is_retryable()
        );
        assert!(!ProviderError::unsupported("n", ProviderKind::Anthropic).is_retryable());
        assert!(ProviderError::unsupported("n", ProviderKind::Anthropic).is_client_error());
    }

    #[test]
    fn kinds_parse_by_name() {
        for kind in ProviderKind::ALL {
            assert_eq!(ProviderKind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::String(kind.as_str().to_owned())
            );
        }
        assert_eq!(ProviderKind::parse("gemini"), None);
    }
}
