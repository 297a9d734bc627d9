//! Token estimates for what the provider has not counted yet: the hold
//! before a call (TPM, budget) and a stream cut before its usage arrived.
//!
//! The heuristic is OpenAI's rule of thumb, about four bytes of English per
//! token, rounded up, plus a fixed overhead per message (role and
//! separators, 4 tokens), per image (85 tokens, a low-detail image's price)
//! and per request (3 tokens priming the reply). It is an estimate: the
//! provider's reported usage always replaces it when it arrives.

use crate::openai::{ChatRequest, ContentPart, MessageContent};

/// Bytes counted as one token.
pub const BYTES_PER_TOKEN: usize = 4;
/// Tokens added per message.
pub const TOKENS_PER_MESSAGE: u64 = 4;
/// Tokens counted per image part.
pub const TOKENS_PER_IMAGE: u64 = 85;
/// Tokens added per request.
pub const TOKENS_PER_REQUEST: u64 = 3;

/// Estimated tokens of `text`: bytes / 4, rounded up.
pub fn count_tokens_estimate(text: &str) -> u64 {
    text.len().div_ceil(BYTES_PER_TOKEN) as u64
}

/// Estimated prompt tokens of a request: its messages (text, tool calls,
/// images), its tool definitions and response schema, and the overheads.
pub fn estimate_prompt_tokens(request: &ChatRequest) -> u64 {
    let mut tokens = TOKENS_PER_REQUEST;
    for message in &request.messages {
        tokens = tokens.saturating_add(TOKENS_PER_MESSAGE);
        match message.content() {
            None => {}
            Some(MessageContent::Text(text)) => {
                tokens = tokens.saturating_add(count_tokens_estimate(text));
            }
            Some(MessageContent::Parts(parts)) => {
                for part in parts {
                    let part_tokens = match part {
                        ContentPart::Text { text } => count_tokens_estimate(text),
                        ContentPart::ImageUrl { .. } => TOKENS_PER_IMAGE,
                        ContentPart::Other(map) => count_tokens_estimate(
                            &serde_json::Value::Object(map.clone()).to_string(),
                        ),
                    };
                    tokens = tokens.saturating_add(part_tokens);
                }
            }
        }
        for call in message.tool_calls.iter().flatten() {
            tokens = tokens
                .saturating_add(count_tokens_estimate(&call.function.name))
                .saturating_add(count_tokens_estimate(&call.function.arguments));
        }
    }
    if let Some(tools) = &request.tools {
        let text = serde_json::to_string(tools).unwrap_or_default();
        tokens = tokens.saturating_add(count_tokens_estimate(&text));
    }
    if let Some(format) = &request.response_format {
        let text = serde_json::to_string(format).unwrap_or_default();
        tokens = tokens.saturating_add(count_tokens_estimate(&text));
    }
    tokens
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn text_estimate_rounds_up() {
        assert_eq!(count_tokens_estimate(""), 0);
        assert_eq!(count_tokens_estimate("a"), 1);
        assert_eq!(count_tokens_estimate("abcd"), 1);
        assert_eq!(count_tokens_estimate("abcde"), 2);
    }

    #[test]
    fn prompt_estimate_counts_messages_images_and_tools() {
        let request: ChatRequest = serde_json::from_value(serde_json::json!({
            "model": "m",
            "messages": [
                {"role": "system", "content": "abcdefgh"},
                {"role": "user", "content": [
                    {"type": "text", "text": "abcd"},
                    {"type": "image_url", "image_url": {"url": "https://x/y.png"}}
                ]}
            ]
        }))
        .unwrap();
        // 3 + (4 + 2) + (4 + 1 + 85)
        assert_eq!(estimate_prompt_tokens(&request), 99);
    }
}
