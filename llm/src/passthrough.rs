//! OpenAI, xAI and any OpenAI-compatible base URL: the request is forwarded
//! as the client sent it (unknown fields included); streams always ask for
//! usage upstream, and the usage chunk is dropped on the way back when the
//! client did not ask for it.

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sse_stream::Sse;

use crate::error::{ProviderError, ProviderKind};
use crate::http::{self, Timeouts};
use crate::openai::{ChatCompletion, ChatCompletionChunk, ChatRequest, StreamOptions, Usage};
use crate::stream::{ChunkStream, SseTranslator, StreamEvent, sse_json, translate_sse};

/// A client of an OpenAI-wire upstream.
#[derive(Debug, Clone)]
pub struct OpenAiClient {
    kind: ProviderKind,
    base_url: String,
    api_key: SecretString,
    http: reqwest::Client,
    timeouts: Timeouts,
}

impl OpenAiClient {
    /// A client of `base_url` (e.g. `https://api.openai.com/v1`).
    pub fn new(
        kind: ProviderKind,
        base_url: String,
        api_key: SecretString,
        timeouts: Timeouts,
    ) -> Result<Self, ProviderError> {
        http::check_base_url(kind, &base_url)?;
        Ok(Self {
            kind,
            http: http::build_client(kind, timeouts)?,
            base_url,
            api_key,
            timeouts,
        })
    }

    fn post(&self, body: &Value) -> reqwest::RequestBuilder {
        self.http
            .post(http::join_url(&self.base_url, "chat/completions"))
            .bearer_auth(self.api_key.expose_secret())
            .json(body)
    }

    /// A whole answer.
    pub async fn complete(&self, request: &ChatRequest) -> Result<ChatCompletion, ProviderError> {
        let body = upstream_body(request, false)?;
        let response =
            http::send(self.kind, self.post(&body).timeout(self.timeouts.request)).await?;
        http::read_json(self.kind, response).await
    }

    /// A streamed answer.
    pub async fn stream(&self, request: &ChatRequest) -> Result<ChunkStream, ProviderError> {
        let body = upstream_body(request, true)?;
        let response = http::send_stream(self.kind, self.post(&body), self.timeouts).await?;
        Ok(chunk_stream(
            self.kind,
            http::sse_events(self.kind, response, self.timeouts.idle),
            request.wants_stream_usage(),
        ))
    }
}

/// The body sent upstream: the client's request, with `stream` set as asked
/// and, for a stream, `stream_options.include_usage: true` (the gateway
/// must learn usage); without a stream, no `stream_options` (OpenAI refuses
/// them there).
pub fn upstream_body(request: &ChatRequest, stream: bool) -> Result<Value, ProviderError> {
    let mut request = request.clone();
    if stream {
        request.stream = Some(true);
        let mut options = request.stream_options.take().unwrap_or_default();
        options.include_usage = Some(true);
        request.stream_options = Some(options);
    } else {
        request.stream = None;
        request.stream_options = None::<StreamOptions>;
    }
    serde_json::to_value(&request)
        .map_err(|error| ProviderError::invalid(format!("the request cannot be encoded: {error}")))
}

/// Turns an OpenAI-wire SSE stream into stream events.
pub fn chunk_stream<S>(kind: ProviderKind, events: S, client_wants_usage: bool) -> ChunkStream
where
    S: futures::Stream<Item = Result<Sse, ProviderError>> + Send + 'static,
{
    translate_sse(
        events,
        PassthroughTranslator {
            kind,
            client_wants_usage,
            usage: None,
            done: false,
            saw_finish: false,
        },
    )
}

struct PassthroughTranslator {
    kind: ProviderKind,
    client_wants_usage: bool,
    usage: Option<Usage>,
    done: bool,
    saw_finish: bool,
}

impl SseTranslator for PassthroughTranslator {
    fn provider(&self) -> ProviderKind {
        self.kind
    }

    fn event(&mut self, sse: &Sse) -> Result<Vec<StreamEvent>, ProviderError> {
        if sse.data.as_deref().map(str::trim) == Some("[DONE]") {
            self.done = true;
            return Ok(Vec::new());
        }
        if sse.event.as_deref() == Some("error") {
            let message = sse
                .data
                .as_deref()
                .map(http::error_message)
                .unwrap_or_default();
            return Err(ProviderError::Upstream {
                provider: self.kind,
                status: 500,
                message,
            });
        }
        let Some(value) = sse_json::<Value>(self.kind, sse)? else {
            return Ok(Vec::new());
        };
        // OpenAI reports a failure mid-stream as a data object with `error`.
        if let Some(error) = value.get("error").filter(|error| !error.is_null()) {
            return Err(ProviderError::Upstream {
                provider: self.kind,
                status: 500,
                message: http::error_message(&serde_json::json!({"error": error}).to_string()),
            });
        }
        let mut chunk: ChatCompletionChunk = serde_json::from_value(value)
            .map_err(|error| ProviderError::decode(self.kind, error))?;
        if chunk
            .choices
            .iter()
            .any(|choice| choice.finish_reason.is_some())
        {
            self.saw_finish = true;
        }
        if let Some(usage) = &chunk.usage {
            self.usage = Some(usage.clone());
            if !self.client_wants_usage {
                chunk.usage = None;
                if chunk.choices.is_empty() {
                    return Ok(Vec::new());
                }
            }
        }
        Ok(vec![StreamEvent::Chunk(chunk)])
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn is_complete(&self) -> bool {
        self.done || self.saw_finish
    }

    fn finish(&mut self) -> Vec<StreamEvent> {
        self.usage
            .take()
            .map(StreamEvent::Usage)
            .into_iter()
            .collect()
    }
}
