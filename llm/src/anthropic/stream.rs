//! Anthropic Messages SSE events → `chat.completion.chunk`s.
//!
//! Reference: https://docs.anthropic.com/en/docs/build-with-claude/streaming

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;
use sse_stream::Sse;

use super::response::{AnthropicUsage, finish_reason};
use crate::error::{ProviderError, ProviderKind};
use crate::ids::unix_now;
use crate::openai::{ChatCompletionChunk, ChunkMeta, Delta, FinishReason, ToolCallDelta};
use crate::stream::{ChunkStream, SseTranslator, StreamEvent, sse_json, translate_sse};

const PROVIDER: ProviderKind = ProviderKind::Anthropic;

/// Turns a Messages SSE stream into stream events; the usage chunk is sent
/// to the client only when `client_wants_usage`.
pub fn chunk_stream<S>(events: S, client_wants_usage: bool) -> ChunkStream
where
    S: futures::Stream<Item = Result<Sse, ProviderError>> + Send + 'static,
{
    translate_sse(
        events,
        AnthropicTranslator {
            client_wants_usage,
            meta: None,
            usage: AnthropicUsage::default(),
            tool_indices: HashMap::new(),
            tool_calls: 0,
            finish: None,
            done: false,
        },
    )
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockStart {
        index: u32,
        content_block: StartBlock,
    },
    ContentBlockDelta {
        index: u32,
        delta: BlockDelta,
    },
    ContentBlockStop {},
    MessageDelta {
        delta: MessageDeltaBody,
        #[serde(default)]
        usage: Option<AnthropicUsage>,
    },
    MessageStop {},
    Ping {},
    Error {
        error: ErrorBody,
    },
}

#[derive(Deserialize)]
struct StartMessage {
    id: String,
    model: String,
    #[serde(default)]
    usage: AnthropicUsage,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StartBlock {
    Text {
        #[serde(default)]
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockDelta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct MessageDeltaBody {
    #[serde(default)]
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    message: String,
}

struct AnthropicTranslator {
    client_wants_usage: bool,
    meta: Option<ChunkMeta>,
    usage: AnthropicUsage,
    /// Anthropic content-block index → OpenAI tool-call index.
    tool_indices: HashMap<u32, u32>,
    tool_calls: u32,
    finish: Option<FinishReason>,
    done: bool,
}

impl AnthropicTranslator {
    fn meta(&self) -> Result<&ChunkMeta, ProviderError> {
        self.meta
            .as_ref()
            .ok_or_else(|| ProviderError::decode(PROVIDER, "an event came before message_start"))
    }

    fn chunk(&self, delta: Delta) -> Result<Vec<StreamEvent>, ProviderError> {
        Ok(vec![StreamEvent::Chunk(ChatCompletionChunk::with_delta(
            self.meta()?,
            delta,
            None,
        ))])
    }
}

/// The HTTP status an in-stream `error` event stands for.
fn error_status(kind: &str) -> u16 {
    match kind {
        "rate_limit_error" => 429,
        "overloaded_error" => 529,
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        _ => 500,
    }
}

impl SseTranslator for AnthropicTranslator {
    fn provider(&self) -> ProviderKind {
        PROVIDER
    }

    fn event(&mut self, sse: &Sse) -> Result<Vec<StreamEvent>, ProviderError> {
        let Some(event) = sse_json::<Value>(PROVIDER, sse)? else {
            return Ok(Vec::new());
        };
        // Event types newer than this translator are skipped, as Anthropic's
        // versioning policy asks of clients.
        let Ok(event) = serde_json::from_value::<Event>(event) else {
            return Ok(Vec::new());
        };
        match event {
            Event::MessageStart { message } => {
                self.usage.merge(&message.usage);
                let meta = ChunkMeta {
                    id: format!("chatcmpl-{}", message.id),
                    created: unix_now(),
                    model: message.model,
                };
                self.meta = Some(meta);
                self.chunk(Delta::role())
            }
            Event::ContentBlockStart {
                index,
                content_block,
            } => match content_block {
                StartBlock::Text { text } if !text.is_empty() => self.chunk(Delta::text(text)),
                StartBlock::Text { .. } | StartBlock::Other => Ok(Vec::new()),
                StartBlock::ToolUse { id, name } => {
                    let tool_index = self.tool_calls;
                    self.tool_calls += 1;
                    self.tool_indices.insert(index, tool_index);
                    self.chunk(Delta::tool_call(ToolCallDelta::start(tool_index, id, name)))
                }
            },
            Event::ContentBlockDelta { index, delta } => match delta {
                BlockDelta::TextDelta { text } => self.chunk(Delta::text(text)),
                BlockDelta::InputJsonDelta { partial_json } => {
                    if partial_json.is_empty() {
                        return Ok(Vec::new());
                    }
                    let tool_index = *self.tool_indices.get(&index).ok_or_else(|| {
                        ProviderError::decode(PROVIDER, "input_json_delta outside a tool_use block")
                    })?;
                    self.chunk(Delta::tool_call(ToolCallDelta::arguments(
                        tool_index,
                        partial_json,
                    )))
                }
                BlockDelta::Other => Ok(Vec::new()),
            },
            Event::MessageDelta { delta, usage } => {
                if let Some(usage) = usage {
                    self.usage.merge(&usage);
                }
                let finish = finish_reason(delta.stop_reason.as_deref());
                if finish.is_none() {
                    return Ok(Vec::new());
                }
                self.finish = finish;
                Ok(vec![StreamEvent::Chunk(ChatCompletionChunk::with_delta(
                    self.meta()?,
                    Delta::default(),
                    finish,
                ))])
            }
            Event::MessageStop {} => {
                self.done = true;
                Ok(Vec::new())
            }
            Event::ContentBlockStop {} | Event::Ping {} => Ok(Vec::new()),
            Event::Error { error } => Err(ProviderError::Upstream {
                provider: PROVIDER,
                status: error_status(&error.kind),
                message: error.message,
            }),
        }
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn is_complete(&self) -> bool {
        self.done || self.finish.is_some()
    }

    fn finish(&mut self) -> Vec<StreamEvent> {
        let usage = self.usage.to_openai();
        let mut events = Vec::new();
        if self.client_wants_usage
            && let Some(meta) = &self.meta
        {
            events.push(StreamEvent::Chunk(ChatCompletionChunk::usage_only(
                meta,
                usage.clone(),
            )));
        }
        events.push(StreamEvent::Usage(usage));
        events
    }
}
