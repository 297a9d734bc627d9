//! Resuming a session's request stream (`GET` with `Last-Event-ID`).
//!
//! rmcp gives every event of a request's SSE stream an id (`{index}/{stream}`,
//! a priming event first) but forgets the stream the moment it sends the
//! response, so a client whose connection dropped during a call could not get
//! the answer back: its resume found nothing ("Resume failed"). The session
//! manager therefore drains each request stream itself, logging its events
//! here while forwarding them, and answers a resume from this log: the events
//! after the one named, then the rest as they come, until the response.
//!
//! Bounds (per session, in memory, on the instance that holds the session):
//! a stream keeps at most [`MAX_EVENTS_PER_STREAM`] events (beyond that it
//! cannot be resumed); a finished stream is kept [`FINISHED_TTL`] and at most
//! [`MAX_FINISHED_PER_SESSION`] of them (the oldest go first); running streams
//! are never dropped; a closed session drops its log.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use rmcp::transport::streamable_http_server::session::{ServerSseMessage, SessionId};
use tokio::sync::{Notify, mpsc};
use tokio_stream::wrappers::ReceiverStream;

/// Events one request stream may log (priming, progress, the response).
pub const MAX_EVENTS_PER_STREAM: usize = 256;
/// Finished streams a session keeps for late resumes.
pub const MAX_FINISHED_PER_SESSION: usize = 8;
/// How long a finished stream stays resumable.
pub const FINISHED_TTL: Duration = Duration::from_secs(60);
/// Events buffered towards one HTTP response (rmcp's own channel size).
const CHANNEL_CAPACITY: usize = 16;

/// `{index}/{stream}` as rmcp writes a request stream's event ids.
fn parse_event_id(id: &str) -> Option<(usize, u64)> {
    let (index, stream) = id.split_once('/')?;
    Some((index.parse().ok()?, stream.parse().ok()?))
}

#[derive(Default)]
struct LogState {
    events: Vec<(usize, ServerSseMessage)>,
    finished_at: Option<Instant>,
    /// Past the event cap: no longer resumable.
    overflowed: bool,
}

#[derive(Default)]
struct StreamLog {
    state: Mutex<LogState>,
    changed: Notify,
}

impl StreamLog {
    fn state(&self) -> MutexGuard<'_, LogState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, index: usize, event: ServerSseMessage) {
        {
            let mut state = self.state();
            if state.events.len() >= MAX_EVENTS_PER_STREAM {
                state.overflowed = true;
                state.events = Vec::new();
            } else if !state.overflowed {
                state.events.push((index, event));
            }
        }
        self.changed.notify_waiters();
    }

    fn finish(&self) {
        self.state().finished_at = Some(Instant::now());
        self.changed.notify_waiters();
    }

    /// The position after the event `index`, when the log still has it.
    fn position_after(&self, index: usize) -> Option<usize> {
        let state = self.state();
        if state.overflowed {
            return None;
        }
        state
            .events
            .iter()
            .position(|(i, _)| *i == index)
            .map(|p| p + 1)
    }
}

/// The logged request streams of every session, by rmcp's stream number.
#[derive(Default)]
pub struct Replays {
    sessions: Mutex<HashMap<SessionId, HashMap<u64, Arc<StreamLog>>>>,
}

impl Replays {
    fn sessions(&self) -> MutexGuard<'_, HashMap<SessionId, HashMap<u64, Arc<StreamLog>>>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new stream's log; finished streams past their time or the count go.
    fn open(&self, session: &SessionId, stream: u64) -> Arc<StreamLog> {
        let log = Arc::new(StreamLog::default());
        let mut sessions = self.sessions();
        let streams = sessions.entry(session.clone()).or_default();
        streams.retain(|_, log| {
            log.state()
                .finished_at
                .is_none_or(|at| at.elapsed() < FINISHED_TTL)
        });
        let mut finished: Vec<(Instant, u64)> = streams
            .iter()
            .filter_map(|(id, log)| log.state().finished_at.map(|at| (at, *id)))
            .collect();
        if finished.len() >= MAX_FINISHED_PER_SESSION {
            finished.sort_unstable();
            for (_, id) in &finished[..=finished.len() - MAX_FINISHED_PER_SESSION] {
                streams.remove(id);
            }
        }
        streams.insert(stream, Arc::clone(&log));
        log
    }

    /// Forgets a closed session's streams.
    pub fn forget(&self, session: &str) {
        self.sessions().remove(session);
    }

    /// Streams the session holds now (for tests and metrics).
    pub fn streams_of(&self, session: &str) -> usize {
        self.sessions().get(session).map_or(0, HashMap::len)
    }

    /// Forwards `events` (one request's stream) to the returned stream while
    /// logging them, and keeps draining after the client went away, so the
    /// response is logged even then.
    pub fn record(
        self: &Arc<Self>,
        session: SessionId,
        events: impl Stream<Item = ServerSseMessage> + Send + 'static,
    ) -> ReceiverStream<ServerSseMessage> {
        let (sender, receiver) = mpsc::channel(CHANNEL_CAPACITY);
        let replays = Arc::clone(self);
        tokio::spawn(async move {
            let mut events = std::pin::pin!(events);
            let mut forward = Some(sender);
            let mut log: Option<Arc<StreamLog>> = None;
            while let Some(event) = events.next().await {
                if let Some((index, stream)) = event.event_id.as_deref().and_then(parse_event_id) {
                    log.get_or_insert_with(|| replays.open(&session, stream))
                        .push(index, event.clone());
                }
                if let Some(sender) = &forward
                    && sender.send(event).await.is_err()
                {
                    forward = None;
                }
            }
            if let Some(log) = log {
                log.finish();
            }
        });
        ReceiverStream::new(receiver)
    }

    /// The events after `last_event_id` of one of this session's request
    /// streams, then the rest as they come; `None` when that event is not
    /// logged (another session's, expired, or past the bounds).
    pub fn resume(
        &self,
        session: &str,
        last_event_id: &str,
    ) -> Option<ReceiverStream<ServerSseMessage>> {
        let (index, stream) = parse_event_id(last_event_id)?;
        let log = Arc::clone(self.sessions().get(session)?.get(&stream)?);
        let mut next = log.position_after(index)?;
        let (sender, receiver) = mpsc::channel(CHANNEL_CAPACITY);
        tokio::spawn(async move {
            loop {
                let changed = log.changed.notified();
                let mut changed = std::pin::pin!(changed);
                changed.as_mut().enable();
                let (event, finished) = {
                    let state = log.state();
                    if state.overflowed {
                        return;
                    }
                    (
                        state.events.get(next).map(|(_, e)| e.clone()),
                        state.finished_at.is_some(),
                    )
                };
                match event {
                    Some(event) => {
                        next += 1;
                        if sender.send(event).await.is_err() {
                            return;
                        }
                    }
                    None if finished => return,
                    None => changed.await,
                }
            }
        });
        Some(ReceiverStream::new(receiver))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str) -> ServerSseMessage {
        let mut message = ServerSseMessage::retry(Duration::from_secs(3));
        message.event_id = Some(id.to_owned());
        message
    }

    async fn ids(stream: impl Stream<Item = ServerSseMessage>) -> Vec<String> {
        stream
            .map(|e| e.event_id.unwrap_or_default())
            .collect()
            .await
    }

    #[tokio::test]
    async fn a_resume_gets_what_followed_even_after_the_client_left() {
        let replays = Arc::new(Replays::default());
        let session: SessionId = "s1".into();
        let (tx, rx) = mpsc::channel(4);
        let forwarded = replays.record(session.clone(), ReceiverStream::new(rx));
        let mut forwarded = Box::pin(forwarded);
        tx.send(event("0/7")).await.ok();
        assert_eq!(
            forwarded.next().await.and_then(|e| e.event_id),
            Some("0/7".into())
        );
        drop(forwarded); // the client's connection drops
        tx.send(event("1/7")).await.ok();
        tx.send(event("2/7")).await.ok();
        drop(tx); // the response was sent: rmcp ends the stream
        tokio::time::sleep(Duration::from_millis(20)).await;

        let resumed = replays.resume("s1", "0/7").map(ids);
        assert_eq!(
            match resumed {
                Some(f) => f.await,
                None => Vec::new(),
            },
            ["1/7", "2/7"]
        );
        assert!(replays.resume("s2", "0/7").is_none(), "another session");
        assert!(replays.resume("s1", "9/7").is_none(), "an event never sent");
        assert!(replays.resume("s1", "0/8").is_none(), "another stream");
        assert!(replays.resume("s1", "junk").is_none());
        replays.forget("s1");
        assert!(replays.resume("s1", "0/7").is_none(), "a closed session");
    }

    #[tokio::test]
    async fn a_resume_during_the_call_follows_it_to_the_end() {
        let replays = Arc::new(Replays::default());
        let (tx, rx) = mpsc::channel(4);
        let forwarded = replays.record("s".into(), ReceiverStream::new(rx));
        tx.send(event("0/1")).await.ok();
        drop(forwarded);
        tokio::time::sleep(Duration::from_millis(20)).await;
        let Some(resumed) = replays.resume("s", "0/1") else {
            panic!("the running stream is logged");
        };
        let collected = tokio::spawn(ids(resumed));
        tx.send(event("1/1")).await.ok();
        drop(tx);
        assert_eq!(collected.await.ok(), Some(vec!["1/1".to_owned()]));
    }

    #[tokio::test]
    async fn finished_streams_are_bounded_per_session() {
        let replays = Arc::new(Replays::default());
        for stream in 0..(MAX_FINISHED_PER_SESSION as u64 + 3) {
            let (tx, rx) = mpsc::channel(1);
            let forwarded = replays.record("s".into(), ReceiverStream::new(rx));
            tx.send(event(&format!("0/{stream}"))).await.ok();
            drop(tx);
            let _: Vec<_> = forwarded.collect().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Each new stream makes room: the finished ones stay at the bound.
        assert!(replays.streams_of("s") <= MAX_FINISHED_PER_SESSION);
        assert!(
            replays.resume("s", "0/0").is_none(),
            "the oldest went first"
        );
    }
}
