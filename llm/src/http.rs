//! What every HTTP provider client shares: the reqwest client with its
//! timeouts, error mapping (status + provider message, never the key) and the
//! SSE decoder.

use std::time::Duration;

use futures::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use sse_stream::{Sse, SseStream};

use crate::error::{ProviderError, ProviderKind};

/// Timeouts of a provider client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// To open the TCP/TLS connection.
    pub connect: Duration,
    /// For a whole non-streamed answer.
    pub request: Duration,
    /// Between two reads of a streamed body (an idle stream is cut).
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(600),
            idle: Duration::from_secs(120),
        }
    }
}

/// Most bytes of an error body read.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Longest provider error message kept (the rest is cut).
const MAX_ERROR_MESSAGE: usize = 2_000;

/// Builds the pooled reqwest client of one provider.
pub(crate) fn build_client(
    provider: ProviderKind,
    timeouts: Timeouts,
) -> Result<reqwest::Client, ProviderError> {
    // No redirects: a redirect would carry the key header to another host
    // (reqwest strips only `authorization` across hosts).
    reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|error| ProviderError::Connect {
            provider,
            message: format!("HTTP client: {}", error.without_url()),
        })
}

/// The API key as a header value marked sensitive (kept out of debug
/// output). A key with bytes a header cannot carry is refused without
/// showing it.
pub(crate) fn key_header(
    provider: ProviderKind,
    key: &str,
) -> Result<reqwest::header::HeaderValue, ProviderError> {
    let mut value = reqwest::header::HeaderValue::from_str(key).map_err(|_| {
        ProviderError::invalid(format!(
            "the API key of provider {provider} has characters an HTTP header cannot carry"
        ))
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Checks a configured base URL is http(s).
pub(crate) fn check_base_url(provider: ProviderKind, base_url: &str) -> Result<(), ProviderError> {
    match reqwest::Url::parse(base_url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(()),
        _ => Err(ProviderError::invalid(format!(
            "the base URL of provider {provider} must be an http(s) URL"
        ))),
    }
}

/// Maps a transport error (no status) to a provider error, URL stripped.
pub(crate) fn transport_error(provider: ProviderKind, error: reqwest::Error) -> ProviderError {
    if error.is_timeout() {
        ProviderError::Timeout { provider }
    } else if error.is_decode() {
        ProviderError::decode(provider, error.without_url())
    } else {
        ProviderError::Connect {
            provider,
            message: error.without_url().to_string(),
        }
    }
}

/// Sends a request; a non-2xx answer becomes `ProviderError::Upstream` with
/// the provider's own message.
pub(crate) async fn send(
    provider: ProviderKind,
    request: reqwest::RequestBuilder,
) -> Result<reqwest::Response, ProviderError> {
    let response = request
        .send()
        .await
        .map_err(|error| transport_error(provider, error))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    // The error body is read up to a bound: only its message is kept.
    let mut body = Vec::new();
    let mut response = response;
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ERROR_BODY {
            break;
        }
    }
    Err(ProviderError::Upstream {
        provider,
        status: status.as_u16(),
        message: error_message(&String::from_utf8_lossy(&body)),
    })
}

/// Sends a streamed request: the answer's headers must come within the
/// request timeout (the body then has the idle timeout between reads, see
/// [`sse_events`]; a whole-request timeout would cut long streams).
pub(crate) async fn send_stream(
    provider: ProviderKind,
    request: reqwest::RequestBuilder,
    timeouts: Timeouts,
) -> Result<reqwest::Response, ProviderError> {
    tokio::time::timeout(timeouts.request, send(provider, request))
        .await
        .map_err(|_| ProviderError::Timeout { provider })?
}

/// Reads a JSON body.
pub(crate) async fn read_json<T: DeserializeOwned>(
    provider: ProviderKind,
    response: reqwest::Response,
) -> Result<T, ProviderError> {
    let bytes = response
        .bytes()
        .await
        .map_err(|error| transport_error(provider, error))?;
    serde_json::from_slice(&bytes).map_err(|error| ProviderError::decode(provider, error))
}

/// The human message of a provider error body. OpenAI, Anthropic and Gemini
/// all answer `{"error": {"message": ...}}`; anything else is kept as text.
pub(crate) fn error_message(body: &str) -> String {
    let from_json = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|value| {
            value
                .pointer("/error/message")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        });
    let message = from_json.unwrap_or_else(|| body.trim().to_owned());
    truncate(message, MAX_ERROR_MESSAGE)
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

/// Why a streamed body stopped.
#[derive(Debug)]
enum BodyError {
    Transport(reqwest::Error),
    Idle,
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::Transport(error) => write!(f, "{error}"),
            BodyError::Idle => f.write_str("no data within the idle timeout"),
        }
    }
}

impl std::error::Error for BodyError {}

/// The SSE events of a streamed body. A transport failure or a body idle
/// for longer than `idle` is an error item.
pub(crate) fn sse_events(
    provider: ProviderKind,
    response: reqwest::Response,
    idle: Duration,
) -> impl Stream<Item = Result<Sse, ProviderError>> + Send + 'static {
    let bytes = futures::stream::unfold(
        Some(Box::pin(response.bytes_stream())),
        move |body| async move {
            let mut body = body?;
            match tokio::time::timeout(idle, body.next()).await {
                Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(body))),
                Ok(Some(Err(error))) => Some((Err(BodyError::Transport(error)), None)),
                Ok(None) => None,
                Err(_) => Some((Err(BodyError::Idle), None)),
            }
        },
    );
    SseStream::from_bytes_stream(bytes).map(move |item| {
        item.map_err(|error| match error {
            sse_stream::Error::Body(source) => match source.downcast::<BodyError>() {
                Ok(body_error) => match *body_error {
                    BodyError::Transport(error) => transport_error(provider, error),
                    BodyError::Idle => ProviderError::Timeout { provider },
                },
                Err(other) => ProviderError::Connect {
                    provider,
                    message: other.to_string(),
                },
            },
            other => ProviderError::decode(provider, format!("SSE: {other}")),
        })
    })
}

/// Joins a base URL and a path without doubling or dropping the slash.
pub(crate) fn join_url(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn error_messages_are_read_from_every_provider_shape() {
        assert_eq!(
            error_message(
                r#"{"error":{"message":"Invalid API key","type":"invalid_request_error"}}"#
            ),
            "Invalid API key"
        );
        assert_eq!(
            error_message(
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
            ),
            "Overloaded"
        );
        assert_eq!(error_message("  bad gateway \n"), "bad gateway");
        assert_eq!(error_message(&"é".repeat(3_000)).len(), MAX_ERROR_MESSAGE);
    }

    #[test]
    fn urls_join_with_one_slash() {
        assert_eq!(join_url("http://a/v1/", "/chat"), "http://a/v1/chat");
        assert_eq!(join_url("http://a/v1", "chat"), "http://a/v1/chat");
    }
}
