//! Gemini `streamGenerateContent?alt=sse` events → `chat.completion.chunk`s.
//! Each event is a whole `GenerateContentResponse` holding the next parts;
//! function calls arrive whole, so each becomes one tool-call delta with its
//! id, name and complete arguments.

use sse_stream::Sse;

use super::response::{GenerateContentResponse, UsageMetadata, finish_reason, split_parts};
use crate::error::{ProviderError, ProviderKind};
use crate::ids::{completion_id, unix_now};
use crate::openai::{
    ChatCompletionChunk, ChunkMeta, Delta, FinishReason, FunctionCallDelta, ToolCallDelta,
};
use crate::stream::{ChunkStream, SseTranslator, StreamEvent, sse_json, translate_sse};

const PROVIDER: ProviderKind = ProviderKind::Google;

/// Turns a Gemini SSE stream into stream events for the requested `model`.
pub fn chunk_stream<S>(events: S, model: &str, client_wants_usage: bool) -> ChunkStream
where
    S: futures::Stream<Item = Result<Sse, ProviderError>> + Send + 'static,
{
    translate_sse(
        events,
        GeminiTranslator {
            model: model.to_owned(),
            client_wants_usage,
            meta: None,
            usage: None,
            tool_calls: 0,
            finish: None,
        },
    )
}

struct GeminiTranslator {
    model: String,
    client_wants_usage: bool,
    meta: Option<ChunkMeta>,
    usage: Option<UsageMetadata>,
    tool_calls: u32,
    finish: Option<FinishReason>,
}

impl SseTranslator for GeminiTranslator {
    fn provider(&self) -> ProviderKind {
        PROVIDER
    }

    fn event(&mut self, sse: &Sse) -> Result<Vec<StreamEvent>, ProviderError> {
        let Some(value) = sse_json::<serde_json::Value>(PROVIDER, sse)? else {
            return Ok(Vec::new());
        };
        // A failure mid-stream arrives as an event with `error`.
        if let Some(error) = value.get("error").filter(|error| !error.is_null()) {
            let status = error
                .get("code")
                .and_then(serde_json::Value::as_u64)
                .and_then(|code| u16::try_from(code).ok())
                .unwrap_or(500);
            let message = error
                .get("message")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned();
            return Err(ProviderError::Upstream {
                provider: PROVIDER,
                status,
                message,
            });
        }
        let response: GenerateContentResponse = serde_json::from_value(value)
            .map_err(|error| ProviderError::decode(PROVIDER, error))?;
        let mut events = Vec::new();
        let meta = match &self.meta {
            Some(meta) => meta.clone(),
            None => {
                let meta = ChunkMeta {
                    id: response
                        .response_id
                        .as_ref()
                        .map(|id| format!("chatcmpl-{id}"))
                        .unwrap_or_else(completion_id),
                    created: unix_now(),
                    model: response
                        .model_version
                        .clone()
                        .unwrap_or_else(|| self.model.clone()),
                };
                events.push(StreamEvent::Chunk(ChatCompletionChunk::with_delta(
                    &meta,
                    Delta::role(),
                    None,
                )));
                self.meta = Some(meta.clone());
                meta
            }
        };
        if let Some(usage) = response.usage_metadata {
            self.usage = Some(usage);
        }
        let Some(candidate) = response.candidates.into_iter().next() else {
            if response
                .prompt_feedback
                .is_some_and(|feedback| feedback.block_reason.is_some())
            {
                self.finish = Some(FinishReason::ContentFilter);
                events.push(StreamEvent::Chunk(ChatCompletionChunk::with_delta(
                    &meta,
                    Delta::default(),
                    self.finish,
                )));
            }
            return Ok(events);
        };
        let parts = candidate
            .content
            .map(|content| content.parts)
            .unwrap_or_default();
        let (text, calls) = split_parts(&parts);
        if !text.is_empty() {
            events.push(StreamEvent::Chunk(ChatCompletionChunk::with_delta(
                &meta,
                Delta::text(text),
                None,
            )));
        }
        for call in calls {
            let delta = ToolCallDelta {
                index: self.tool_calls,
                id: Some(call.id),
                kind: Some("function".to_owned()),
                function: Some(FunctionCallDelta {
                    name: Some(call.function.name),
                    arguments: Some(call.function.arguments),
                }),
            };
            self.tool_calls += 1;
            events.push(StreamEvent::Chunk(ChatCompletionChunk::with_delta(
                &meta,
                Delta::tool_call(delta),
                None,
            )));
        }
        if let Some(reason) = candidate.finish_reason.as_deref()
            && let Some(finish) = finish_reason(reason, self.tool_calls > 0)
        {
            self.finish = Some(finish);
            events.push(StreamEvent::Chunk(ChatCompletionChunk::with_delta(
                &meta,
                Delta::default(),
                Some(finish),
            )));
        }
        Ok(events)
    }

    fn is_done(&self) -> bool {
        false
    }

    fn is_complete(&self) -> bool {
        self.finish.is_some()
    }

    fn finish(&mut self) -> Vec<StreamEvent> {
        let usage = self.usage.unwrap_or_default().to_openai();
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
