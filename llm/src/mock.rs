//! The `mock` provider: in-process, no HTTP, deterministic (see [`crate::echo`]).
//!
//! Models: `mock-1` (streams with the configured per-chunk delay) and
//! `mock-fast` (no delay); `owned_by` is `assistiv-mock`, so a listing shows
//! plainly that they are not real models. Usage: prompt tokens are
//! [`estimate_prompt_tokens`] of the request, completion tokens
//! [`count_tokens_estimate`] of the reply text (or of the tool call's
//! arguments): bytes / 4, rounded up.

use std::time::Duration;

use futures::StreamExt;
use serde_json::Map;

use crate::echo::{self, EchoInput, EchoReply};
use crate::error::{ProviderError, ProviderKind};
use crate::ids::{completion_id, tool_call_id, unix_now};
use crate::openai::{
    AssistantMessage, ChatCompletion, ChatCompletionChunk, ChatRequest, Choice, ChunkMeta, Delta,
    FinishReason, ModelObject, ResponseFormat, Role, ToolCall, ToolCallDelta, ToolChoice,
    ToolChoiceMode, Usage,
};
use crate::stream::{ChunkStream, StreamEvent};
use crate::tokens::{count_tokens_estimate, estimate_prompt_tokens};

/// The mock's model ids.
pub const MOCK_MODELS: [&str; 2] = ["mock-1", "mock-fast"];

/// `owned_by` of the mock's models.
pub const MOCK_OWNER: &str = "assistiv-mock";

/// The in-process mock provider.
#[derive(Debug, Clone, Default)]
pub struct MockProvider {
    /// Delay before each streamed chunk of `mock-1` (`mock-fast` has none).
    pub chunk_delay: Duration,
}

/// The mock's `GET /v1/models` entries.
pub fn mock_models() -> Vec<ModelObject> {
    MOCK_MODELS
        .iter()
        .map(|id| ModelObject::new(*id, 0, MOCK_OWNER))
        .collect()
}

fn reply_for(request: &ChatRequest) -> EchoReply {
    let last_user_text = request
        .messages
        .iter()
        .rev()
        .find(|message| message.role == Role::User)
        .map(|message| message.text_content())
        .unwrap_or_default();
    let tools = request
        .tools
        .iter()
        .flatten()
        .filter_map(|tool| tool.function.as_ref())
        .map(|function| (function.name.as_str(), function.parameters.as_ref()))
        .collect();
    let (json_schema, json_object) = match &request.response_format {
        Some(ResponseFormat::JsonSchema { json_schema }) => (json_schema.schema.as_ref(), false),
        Some(ResponseFormat::JsonObject) => (None, true),
        _ => (None, false),
    };
    echo::reply(&EchoInput {
        last_user_text,
        last_is_tool_result: request
            .messages
            .last()
            .is_some_and(|message| message.role == Role::Tool),
        tools,
        forced_tool: match &request.tool_choice {
            Some(ToolChoice::Named(named)) => Some(named.function.name.as_str()),
            _ => None,
        },
        tools_disabled: request.tool_choice == Some(ToolChoice::Mode(ToolChoiceMode::None)),
        json_schema,
        json_object,
    })
}

fn check(request: &ChatRequest) -> Result<(), ProviderError> {
    if !MOCK_MODELS.contains(&request.model.as_str()) {
        return Err(ProviderError::Upstream {
            provider: ProviderKind::Mock,
            status: 404,
            message: format!("The model `{}` does not exist", request.model),
        });
    }
    if request.messages.is_empty() {
        return Err(ProviderError::invalid("`messages` must not be empty"));
    }
    if request.n.is_some_and(|n| n > 1) {
        return Err(ProviderError::unsupported("n", ProviderKind::Mock));
    }
    Ok(())
}

fn usage_for(request: &ChatRequest, reply: &EchoReply) -> Usage {
    Usage::new(
        estimate_prompt_tokens(request),
        count_tokens_estimate(reply.text()),
    )
}

impl MockProvider {
    /// A whole answer.
    pub fn complete(&self, request: &ChatRequest) -> Result<ChatCompletion, ProviderError> {
        check(request)?;
        let reply = reply_for(request);
        let usage = usage_for(request, &reply);
        let (message, finish) = match reply {
            EchoReply::Text(text) => (
                AssistantMessage::new(Some(text), Vec::new()),
                FinishReason::Stop,
            ),
            EchoReply::ToolCall { name, arguments } => (
                AssistantMessage::new(
                    None,
                    vec![ToolCall::function(tool_call_id(), name, arguments)],
                ),
                FinishReason::ToolCalls,
            ),
        };
        Ok(ChatCompletion {
            id: completion_id(),
            object: "chat.completion".to_owned(),
            created: unix_now(),
            model: request.model.clone(),
            choices: vec![Choice {
                index: 0,
                message,
                finish_reason: Some(finish),
                logprobs: None,
            }],
            usage: Some(usage),
            system_fingerprint: None,
            extra: Map::new(),
        })
    }

    /// A streamed answer: the role, the text word by word (or the tool call
    /// in two pieces), the finish chunk, then usage.
    pub fn stream(&self, request: &ChatRequest) -> Result<ChunkStream, ProviderError> {
        check(request)?;
        let reply = reply_for(request);
        let usage = usage_for(request, &reply);
        let meta = ChunkMeta {
            id: completion_id(),
            created: unix_now(),
            model: request.model.clone(),
        };
        let mut events = vec![StreamEvent::Chunk(ChatCompletionChunk::with_delta(
            &meta,
            Delta::role(),
            None,
        ))];
        let finish = match &reply {
            EchoReply::Text(text) => {
                for piece in echo::pieces(text) {
                    events.push(StreamEvent::Chunk(ChatCompletionChunk::with_delta(
                        &meta,
                        Delta::text(piece),
                        None,
                    )));
                }
                FinishReason::Stop
            }
            EchoReply::ToolCall { name, arguments } => {
                events.push(StreamEvent::Chunk(ChatCompletionChunk::with_delta(
                    &meta,
                    Delta::tool_call(ToolCallDelta::start(0, tool_call_id(), name.clone())),
                    None,
                )));
                events.push(StreamEvent::Chunk(ChatCompletionChunk::with_delta(
                    &meta,
                    Delta::tool_call(ToolCallDelta::arguments(0, arguments.clone())),
                    None,
                )));
                FinishReason::ToolCalls
            }
        };
        events.push(StreamEvent::Chunk(ChatCompletionChunk::with_delta(
            &meta,
            Delta::default(),
            Some(finish),
        )));
        if request.wants_stream_usage() {
            events.push(StreamEvent::Chunk(ChatCompletionChunk::usage_only(
                &meta,
                usage.clone(),
            )));
        }
        events.push(StreamEvent::Usage(usage));
        let delay = if request.model == "mock-fast" {
            Duration::ZERO
        } else {
            self.chunk_delay
        };
        Ok(Box::pin(futures::stream::iter(events).then(
            move |event| async move {
                if !delay.is_zero() && matches!(event, StreamEvent::Chunk(_)) {
                    tokio::time::sleep(delay).await;
                }
                Ok(event)
            },
        )))
    }
}
