//! Streams of chat completion chunks, and the driver that turns a provider's
//! SSE events into them through a per-provider translator.

use std::collections::VecDeque;
use std::pin::Pin;

use futures::{Stream, StreamExt};
use sse_stream::Sse;

use crate::error::{ProviderError, ProviderKind};
use crate::openai::{ChatCompletionChunk, Usage};

/// One item of a provider stream.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// A chunk to send to the client as it is.
    Chunk(ChatCompletionChunk),
    /// The answer's usage as the provider reported it, once, at the end,
    /// whether or not the client asked for the usage chunk (the gateway
    /// always bills from it).
    Usage(Usage),
}

/// The stream `Provider::stream` returns. An `Err` item is an in-stream
/// failure (the provider cut the stream, sent an error event, went idle):
/// the stream ends after it.
pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, ProviderError>> + Send>>;

/// Turns one provider's SSE events into stream events.
pub(crate) trait SseTranslator: Send + 'static {
    /// The provider, for errors.
    fn provider(&self) -> ProviderKind;
    /// Translates one event into zero or more stream events.
    fn event(&mut self, sse: &Sse) -> Result<Vec<StreamEvent>, ProviderError>;
    /// The provider said its last word: stop reading.
    fn is_done(&self) -> bool;
    /// The answer is whole (the body may end here without a failure).
    fn is_complete(&self) -> bool;
    /// What comes after the last event (the usage chunk and event).
    fn finish(&mut self) -> Vec<StreamEvent>;
}

/// Drives `events` through `translator`. A body that ends before the answer
/// is whole yields a final `Err` item.
pub(crate) fn translate_sse<S, T>(events: S, translator: T) -> ChunkStream
where
    S: Stream<Item = Result<Sse, ProviderError>> + Send + 'static,
    T: SseTranslator,
{
    struct State<S, T> {
        events: Pin<Box<S>>,
        translator: T,
        pending: VecDeque<Result<StreamEvent, ProviderError>>,
        ended: bool,
    }
    let state = State {
        events: Box::pin(events),
        translator,
        pending: VecDeque::new(),
        ended: false,
    };
    Box::pin(futures::stream::unfold(state, |mut state| async move {
        loop {
            if let Some(item) = state.pending.pop_front() {
                return Some((item, state));
            }
            if state.ended {
                return None;
            }
            match state.events.next().await {
                Some(Ok(sse)) => match state.translator.event(&sse) {
                    Ok(events) => {
                        state.pending.extend(events.into_iter().map(Ok));
                        if state.translator.is_done() {
                            state
                                .pending
                                .extend(state.translator.finish().into_iter().map(Ok));
                            state.ended = true;
                        }
                    }
                    Err(error) => {
                        state.pending.push_back(Err(error));
                        state.ended = true;
                    }
                },
                Some(Err(error)) => {
                    state.pending.push_back(Err(error));
                    state.ended = true;
                }
                None => {
                    if state.translator.is_complete() {
                        state
                            .pending
                            .extend(state.translator.finish().into_iter().map(Ok));
                    } else {
                        state.pending.push_back(Err(ProviderError::Connect {
                            provider: state.translator.provider(),
                            message: "the stream ended before the answer was complete".to_owned(),
                        }));
                    }
                    state.ended = true;
                }
            }
        }
    }))
}

/// Parses an SSE event's data as JSON.
pub(crate) fn sse_json<T: serde::de::DeserializeOwned>(
    provider: ProviderKind,
    sse: &Sse,
) -> Result<Option<T>, ProviderError> {
    match sse.data.as_deref() {
        None => Ok(None),
        Some(data) => serde_json::from_str(data)
            .map(Some)
            .map_err(|error| ProviderError::decode(provider, error)),
    }
}

/// Decodes SSE text (a recorded fixture, a test body) into events.
pub fn sse_from_text(
    provider: ProviderKind,
    text: &str,
) -> impl Stream<Item = Result<Sse, ProviderError>> + Send + 'static {
    let bytes = bytes::Bytes::from(text.to_owned());
    sse_stream::SseStream::from_bytes_stream(futures::stream::iter([Ok::<_, std::io::Error>(
        bytes,
    )]))
    .map(move |item| item.map_err(|error| ProviderError::decode(provider, error)))
}
