//! Stand-ins: local axum servers (port 0) that answer like OpenAI Chat
//! Completions (+ `/v1/models`), Anthropic Messages and Gemini
//! `generateContent` / `streamGenerateContent`, for the gateway's tests and
//! benches.
//!
//! They validate what the real providers validate (the auth header equal to
//! the configured key, required fields such as Anthropic's `max_tokens` and
//! `anthropic-version`, roles and block shapes, unknown fields where the
//! provider refuses them), so a translation bug fails there. Answers are
//! deterministic ([`crate::echo`]): the last user message echoed, a tool
//! call when tools are given and the last message is not a tool result, a
//! JSON object matching the schema when structured output is asked. Usage:
//! prompt tokens = bytes of the request's message text / 4 (rounded up) + 1,
//! completion tokens = bytes of the answer / 4 (rounded up).
//!
//! Knobs: fail the next N requests with a status, cut streams after K
//! events, delay each streamed event, and read the last request's
//! path, headers and body.

mod anthropic;
mod gemini;
mod openai;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::oneshot;

/// Which provider a stand-in imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StandInKind {
    OpenAi,
    Anthropic,
    Gemini,
}

/// A request the stand-in received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// Path and query.
    pub path: String,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body as JSON (`Null` when it was not JSON).
    pub body: Value,
}

impl RecordedRequest {
    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header == name)
            .map(|(_, value)| value.as_str())
    }
}

#[derive(Debug, Default)]
struct Knobs {
    fail_next: usize,
    fail_status: u16,
    die_after_events: Option<usize>,
    chunk_delay: Duration,
    last_request: Option<RecordedRequest>,
    requests: usize,
}

#[derive(Debug)]
struct Shared {
    kind: StandInKind,
    api_key: String,
    knobs: Mutex<Knobs>,
}

impl Shared {
    fn knobs(&self) -> std::sync::MutexGuard<'_, Knobs> {
        self.knobs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running stand-in; it stops when dropped.
#[derive(Debug)]
pub struct StandIn {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl StandIn {
    /// Starts a stand-in of `kind` on 127.0.0.1, port 0, accepting `api_key`.
    pub async fn start(kind: StandInKind, api_key: &str) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            kind,
            api_key: api_key.to_owned(),
            knobs: Mutex::new(Knobs {
                fail_status: 500,
                ..Knobs::default()
            }),
        });
        let router = match kind {
            StandInKind::OpenAi => openai::router(),
            StandInKind::Anthropic => anthropic::router(),
            StandInKind::Gemini => gemini::router(),
        }
        .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self {
            addr,
            shared,
            shutdown: Some(shutdown),
        })
    }

    /// The base URL to configure the provider client with (OpenAI's
    /// includes `/v1`; Anthropic's and Gemini's are the bare origin).
    pub fn base_url(&self) -> String {
        match self.shared.kind {
            StandInKind::OpenAi => format!("http://{}/v1", self.addr),
            StandInKind::Anthropic | StandInKind::Gemini => format!("http://{}", self.addr),
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The next `count` requests fail with `status` (500, 429, 401, ...)
    /// and the provider's error body.
    pub fn fail_next(&self, count: usize, status: u16) {
        let mut knobs = self.shared.knobs();
        knobs.fail_next = count;
        knobs.fail_status = status;
    }

    /// Streams end after `events` SSE events, without their closing events;
    /// `None` lets them finish.
    pub fn die_after_events(&self, events: Option<usize>) {
        self.shared.knobs().die_after_events = events;
    }

    /// Waits `delay` before each streamed event, and before a whole
    /// (non-streamed) answer.
    pub fn set_chunk_delay(&self, delay: Duration) {
        self.shared.knobs().chunk_delay = delay;
    }

    /// The last request received (failed ones included).
    pub fn last_request(&self) -> Option<RecordedRequest> {
        self.shared.knobs().last_request.clone()
    }

    /// How many requests arrived.
    pub fn request_count(&self) -> usize {
        self.shared.knobs().requests
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Records the request; `Err(status)` when an injected failure is due.
fn intake(shared: &Shared, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Result<Value, u16> {
    let recorded = RecordedRequest {
        path: uri
            .path_and_query()
            .map(|path| path.as_str().to_owned())
            .unwrap_or_default(),
        headers: headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: serde_json::from_slice(body).unwrap_or(Value::Null),
    };
    let mut knobs = shared.knobs();
    knobs.requests += 1;
    let json = recorded.body.clone();
    knobs.last_request = Some(recorded);
    if knobs.fail_next > 0 {
        knobs.fail_next -= 1;
        return Err(knobs.fail_status);
    }
    Ok(json)
}

/// Waits the configured delay before a whole answer.
async fn answer_delay(shared: &Shared) {
    let delay = shared.knobs().chunk_delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

/// A JSON response.
fn json_response(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}

/// An SSE response of `events` (already formatted `event:`/`data:` blocks),
/// honouring the delay and cut knobs.
fn sse_response(shared: &Shared, events: Vec<String>) -> Response {
    let (delay, die_after) = {
        let knobs = shared.knobs();
        (knobs.chunk_delay, knobs.die_after_events)
    };
    // A cut stream ends after `die_after` events, without the provider's
    // closing events, as when the upstream dies.
    let kept = die_after.map_or(events.len(), |limit| limit.min(events.len()));
    let stream =
        futures::stream::iter(events.into_iter().take(kept)).then(move |event| async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Ok::<_, std::io::Error>(Bytes::from(event))
        });
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// `data: <json>\n\n`, with an `event:` line when named.
fn sse_event(name: Option<&str>, data: &Value) -> String {
    match name {
        Some(name) => format!("event: {name}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    }
}

/// Tokens as the stand-ins count them (see the module docs).
fn prompt_tokens(texts: &[String]) -> u64 {
    let bytes: usize = texts.iter().map(String::len).sum();
    bytes.div_ceil(4) as u64 + 1
}
