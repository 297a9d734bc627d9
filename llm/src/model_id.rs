//! Model ids as clients write them: `gpt-4o-mini` or `provider/model`.

use crate::error::{ProviderError, ProviderKind};

/// Longest model id accepted.
pub const MAX_MODEL_ID_LEN: usize = 256;

/// A requested model: an optional provider prefix and the model id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    pub provider: Option<ProviderKind>,
    pub model: String,
}

impl ModelRef {
    /// Parses `model` or `provider/model`. A prefix that is not a provider
    /// kind stays part of the id (OpenAI-compatible upstreams have ids like
    /// `meta-llama/Llama-3.3-70B`). Empty ids, ids with whitespace or
    /// control characters and ids over 256 bytes are refused.
    pub fn parse(raw: &str) -> Result<Self, ProviderError> {
        if raw.is_empty() || raw.len() > MAX_MODEL_ID_LEN {
            return Err(ProviderError::invalid(format!(
                "`model` must be 1 to {MAX_MODEL_ID_LEN} bytes"
            )));
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ProviderError::invalid(
                "`model` must not contain whitespace or control characters",
            ));
        }
        if let Some((prefix, model)) = raw.split_once('/')
            && let Some(provider) = ProviderKind::parse(prefix)
        {
            if model.is_empty() {
                return Err(ProviderError::invalid(format!(
                    "`model` `{raw}` names no model after the provider"
                )));
            }
            return Ok(Self {
                provider: Some(provider),
                model: model.to_owned(),
            });
        }
        Ok(Self {
            provider: None,
            model: raw.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn both_forms_parse() {
        assert_eq!(
            ModelRef::parse("gpt-4o-mini").unwrap(),
            ModelRef {
                provider: None,
                model: "gpt-4o-mini".into()
            }
        );
        assert_eq!(
            ModelRef::parse("anthropic/claude-sonnet-4-6").unwrap(),
            ModelRef {
                provider: Some(ProviderKind::Anthropic),
                model: "claude-sonnet-4-6".into()
            }
        );
        assert_eq!(
            ModelRef::parse("openai-compatible/meta-llama/Llama-3").unwrap(),
            ModelRef {
                provider: Some(ProviderKind::OpenAiCompatible),
                model: "meta-llama/Llama-3".into()
            }
        );
        assert_eq!(
            ModelRef::parse("meta-llama/Llama-3").unwrap().provider,
            None
        );
    }

    #[test]
    fn bad_ids_are_refused() {
        for bad in ["", "google/", "a b", "x\u{0}y", &"m".repeat(257)] {
            assert!(ModelRef::parse(bad).is_err(), "{bad:?}");
        }
    }
}
