//! Anthropic Messages response → `chat.completion`.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::ids::unix_now;
use crate::openai::{
    AssistantMessage, ChatCompletion, Choice, FinishReason, PromptTokensDetails, ToolCall, Usage,
};

/// The Messages API response body.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MessagesResponse {
    pub id: String,
    pub model: String,
    pub content: Vec<ContentBlock>,
    pub stop_reason: Option<String>,
    pub usage: AnthropicUsage,
}

/// A content block of a response. Blocks the gateway does not ask for
/// (thinking, server tools) are skipped.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    #[serde(other)]
    Other,
}

/// Anthropic's usage: `input_tokens` excludes the tokens read from and
/// written to the prompt cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct AnthropicUsage {
    #[serde(default)]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
}

impl AnthropicUsage {
    /// Later counts replace earlier ones (a stream's `message_delta` carries
    /// cumulative counts).
    pub fn merge(&mut self, later: &AnthropicUsage) {
        self.input_tokens = later.input_tokens.or(self.input_tokens);
        self.output_tokens = later.output_tokens.or(self.output_tokens);
        self.cache_read_input_tokens = later
            .cache_read_input_tokens
            .or(self.cache_read_input_tokens);
        self.cache_creation_input_tokens = later
            .cache_creation_input_tokens
            .or(self.cache_creation_input_tokens);
    }

    /// OpenAI usage: prompt tokens = input + cache read + cache write, of
    /// which `cached_tokens` were read and `cache_write_tokens` written.
    pub fn to_openai(&self) -> Usage {
        let cache_read = self.cache_read_input_tokens.unwrap_or(0);
        let cache_write = self.cache_creation_input_tokens.unwrap_or(0);
        let prompt = self
            .input_tokens
            .unwrap_or(0)
            .saturating_add(cache_read)
            .saturating_add(cache_write);
        let mut usage = Usage::new(prompt, self.output_tokens.unwrap_or(0));
        usage.prompt_tokens_details = Some(PromptTokensDetails {
            cached_tokens: Some(cache_read),
            cache_write_tokens: (cache_write > 0).then_some(cache_write),
            extra: Map::new(),
        });
        usage
    }
}

/// Maps a stop reason.
pub fn finish_reason(stop_reason: Option<&str>) -> Option<FinishReason> {
    Some(match stop_reason? {
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        // end_turn, stop_sequence, pause_turn and any newer reason.
        _ => FinishReason::Stop,
    })
}

/// Translates a Messages response into a `chat.completion`.
pub fn to_chat_completion(response: MessagesResponse) -> ChatCompletion {
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in response.content {
        match block {
            ContentBlock::Text { text: block_text } => text.push_str(&block_text),
            ContentBlock::ToolUse { id, name, input } => {
                tool_calls.push(ToolCall::function(id, name, input.to_string()));
            }
            ContentBlock::Other => {}
        }
    }
    let content = if text.is_empty() && !tool_calls.is_empty() {
        None
    } else {
        Some(text)
    };
    ChatCompletion {
        id: format!("chatcmpl-{}", response.id),
        object: "chat.completion".to_owned(),
        created: unix_now(),
        model: response.model,
        choices: vec![Choice {
            index: 0,
            message: AssistantMessage::new(content, tool_calls),
            finish_reason: finish_reason(response.stop_reason.as_deref()),
            logprobs: None,
        }],
        usage: Some(response.usage.to_openai()),
        system_fingerprint: None,
        extra: Map::new(),
    }
}
