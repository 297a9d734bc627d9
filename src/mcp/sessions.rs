//! MCP sessions with an owner and a bound. rmcp's in-process [`LocalSessionManager`]
//! keeps the sessions; this wrapper records which key opened each one (from the
//! `initialize` request the auth layer stamped) and holds each end user to
//! `ASSISTIV_MCP_MAX_SESSIONS_PER_USER` live sessions: opening one more closes that
//! user's least recently used session (its client gets 404 and re-initializes, as the
//! protocol prescribes). Every way a session ends (DELETE, idle timeout, eviction,
//! a failed handshake) goes through [`SessionManager::close_session`], which also
//! drops the record, so the book never outlives rmcp's sessions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::{Stream, StreamExt};
use rmcp::model::{ClientJsonRpcMessage, GetExtensions, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::session::local::{
    LocalSessionManager, LocalSessionManagerError,
};
use rmcp::transport::streamable_http_server::session::{
    ServerSseMessage, SessionId, SessionManager,
};
use uuid::Uuid;

use super::replay::Replays;
use crate::config::Config;
use crate::tools::ToolCaller;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Local(#[from] LocalSessionManagerError),
    #[error("an MCP session is opened by an authenticated end user's initialize request")]
    NoOpener,
    #[error(
        "nothing to resume after that event: not this session's, or no longer kept (60 s after \
         the response, 8 finished requests per session)"
    )]
    NotResumable,
}

/// Who opened a session: only that key may use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Owner {
    key_id: Uuid,
    end_user_id: Uuid,
}

#[derive(Debug)]
struct Entry {
    owner: Owner,
    /// Tick of the last request that used it; the smallest is evicted first.
    last_used: u64,
    /// Its `initialize` is still being answered: evicted only after every opened
    /// session of the user (closing it would fail that handshake).
    opening: bool,
    /// False once evicted: refused at once, forgotten when rmcp has closed it.
    live: bool,
}

/// Who owns which session, and each end user's live sessions.
#[derive(Debug, Default)]
struct Book {
    entries: HashMap<SessionId, Entry>,
    live_by_user: HashMap<Uuid, Vec<SessionId>>,
    tick: u64,
}

impl Book {
    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    /// Records a session being opened; answers the sessions of that user to close
    /// to stay within `max`: its least recently used opened ones first.
    fn admit(&mut self, id: SessionId, owner: Owner, max: usize) -> Vec<SessionId> {
        let last_used = self.next_tick();
        self.entries.insert(
            id.clone(),
            Entry {
                owner,
                last_used,
                opening: true,
                live: true,
            },
        );
        let live = self.live_by_user.entry(owner.end_user_id).or_default();
        live.push(id);
        let mut evicted = Vec::new();
        while live.len() > max {
            let oldest = live
                .iter()
                .enumerate()
                .min_by_key(|(_, id)| {
                    self.entries
                        .get(*id)
                        .map_or((false, 0), |e| (e.opening, e.last_used))
                })
                .map(|(index, _)| index);
            let Some(oldest) = oldest else { break };
            let id = live.swap_remove(oldest);
            if let Some(entry) = self.entries.get_mut(&id) {
                entry.live = false;
            }
            evicted.push(id);
        }
        evicted
    }

    /// Its handshake answered: an ordinary session from now on.
    fn opened(&mut self, id: &str) {
        let tick = self.next_tick();
        if let Some(entry) = self.entries.get_mut(id) {
            entry.opening = false;
            entry.last_used = tick;
        }
    }

    /// True when `id` is a live, opened session of `key_id` (and marks it used).
    fn touch(&mut self, id: &str, key_id: Uuid) -> bool {
        let tick = self.next_tick();
        match self.entries.get_mut(id) {
            Some(entry) if entry.live && !entry.opening && entry.owner.key_id == key_id => {
                entry.last_used = tick;
                true
            }
            _ => false,
        }
    }

    fn forget(&mut self, id: &str) {
        let Some(entry) = self.entries.remove(id) else {
            return;
        };
        let user = entry.owner.end_user_id;
        if let Some(live) = self.live_by_user.get_mut(&user) {
            live.retain(|s| s.as_ref() != id);
            if live.is_empty() {
                self.live_by_user.remove(&user);
            }
        }
    }

    fn live(&self) -> usize {
        self.live_by_user.values().map(Vec::len).sum()
    }
}

/// rmcp's local session manager, with owners and a per-user bound.
pub struct McpSessions {
    inner: LocalSessionManager,
    book: Mutex<Book>,
    max_per_user: usize,
    /// Request streams kept for `Last-Event-ID` resumes.
    replays: Arc<Replays>,
}

impl McpSessions {
    pub fn new(config: &Config) -> Self {
        let mut inner = LocalSessionManager::default();
        inner.session_config.keep_alive = Some(Duration::from_secs(config.mcp_session_idle_secs));
        Self {
            inner,
            book: Mutex::new(Book::default()),
            max_per_user: config.mcp_max_sessions_per_user.max(1),
            replays: Arc::new(Replays::default()),
        }
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        // The book stays consistent between statements; a panic elsewhere cannot
        // leave it half-written.
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// True when `id` is a live session opened with this key (it is then marked
    /// used). Anything else, unknown or another key's, must look the same: 404.
    pub fn belongs_to(&self, id: &str, key_id: Uuid) -> bool {
        self.book().touch(id, key_id)
    }

    /// Live sessions, all users together (bounded by users × the per-user bound).
    pub fn live(&self) -> usize {
        self.book().live()
    }

    /// Request streams of `id` kept for `Last-Event-ID` resumes.
    pub fn replayable_streams(&self, id: &str) -> usize {
        self.replays.streams_of(id)
    }

    /// Sessions rmcp itself still holds (live, being opened or being closed).
    pub async fn held_by_rmcp(&self) -> usize {
        self.inner.sessions.read().await.len()
    }
}

/// The key behind an `initialize` request, from the request parts rmcp attached.
fn opener(message: &ClientJsonRpcMessage) -> Option<Owner> {
    let ClientJsonRpcMessage::Request(request) = message else {
        return None;
    };
    let caller = request
        .request
        .extensions()
        .get::<axum::http::request::Parts>()?
        .extensions
        .get::<ToolCaller>()?;
    Some(Owner {
        key_id: caller.key.key_id,
        end_user_id: caller.end_user_id,
    })
}

impl SessionManager for McpSessions {
    type Error = SessionError;
    type Transport = <LocalSessionManager as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        Ok(self.inner.create_session().await?)
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        let Some(owner) = opener(&message) else {
            self.close_session(id).await?;
            return Err(SessionError::NoOpener);
        };
        let evicted = self.book().admit(id.clone(), owner, self.max_per_user);
        for old in evicted {
            // The new session must not fail for an old one that would not close.
            if let Err(err) = self.close_session(&old).await {
                tracing::warn!(error = %err, "closing an evicted MCP session");
            }
        }
        match self.inner.initialize_session(id, message).await {
            Ok(response) => {
                self.book().opened(id);
                Ok(response)
            }
            Err(err) => {
                self.close_session(id).await?;
                Err(err.into())
            }
        }
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        Ok(self.inner.has_session(id).await?)
    }

    /// rmcp drops the session first, then the record: while it closes, its id
    /// still belongs to its owner and is refused to everyone else.
    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        let closed = self.inner.close_session(id).await;
        self.book().forget(id);
        self.replays.forget(id);
        Ok(closed?)
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let events = self.inner.create_stream(id, message).await?;
        Ok(self.replays.record(id.clone(), events))
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        Ok(self.inner.accept_message(id, message).await?)
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        Ok(self.inner.create_standalone_stream(id).await?)
    }

    /// A request stream resumes from the log (rmcp forgets it once answered);
    /// the standalone stream's ids (no `/`) go to rmcp.
    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        if !last_event_id.contains('/') {
            return Ok(self.inner.resume(id, last_event_id).await?.left_stream());
        }
        match self.replays.resume(id, &last_event_id) {
            Some(events) => Ok(events.right_stream()),
            None => Err(SessionError::NotResumable),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(key: u128, user: u128) -> Owner {
        Owner {
            key_id: Uuid::from_u128(key),
            end_user_id: Uuid::from_u128(user),
        }
    }

    #[test]
    fn the_least_recently_used_session_of_the_user_goes_first() {
        let mut book = Book::default();
        let alice = owner(1, 10);
        for id in ["a", "b", "x"] {
            let who = if id == "x" { owner(2, 20) } else { alice };
            assert!(book.admit(id.into(), who, 2).is_empty());
            book.opened(id);
        }
        assert!(book.touch("a", alice.key_id), "a is used again");
        assert_eq!(book.admit("c".into(), alice, 2), vec![SessionId::from("b")]);
        book.opened("c");
        assert!(
            !book.touch("b", alice.key_id),
            "an evicted session is refused"
        );
        assert_eq!(book.live(), 3);
        book.forget("b");
        book.forget("a");
        book.forget("c");
        book.forget("x");
        assert_eq!(book.live(), 0);
        assert!(book.entries.is_empty() && book.live_by_user.is_empty());
    }

    #[test]
    fn a_session_still_opening_goes_last() {
        let mut book = Book::default();
        let alice = owner(1, 10);
        book.admit("slow".into(), alice, 2);
        book.admit("a".into(), alice, 2);
        book.opened("a");
        assert!(
            !book.touch("slow", alice.key_id),
            "not usable before its handshake"
        );
        assert_eq!(book.admit("b".into(), alice, 2), vec![SessionId::from("a")]);
        book.opened("b");
        assert_eq!(book.admit("c".into(), alice, 2), vec![SessionId::from("b")]);
        assert_eq!(book.live(), 2);
    }

    #[test]
    fn only_the_opening_key_may_use_a_session() {
        let mut book = Book::default();
        book.admit("a".into(), owner(1, 10), 4);
        book.opened("a");
        assert!(book.touch("a", Uuid::from_u128(1)));
        assert!(!book.touch("a", Uuid::from_u128(2)), "another key");
        assert!(!book.touch("unknown", Uuid::from_u128(1)));
    }
}
