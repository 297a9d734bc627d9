//! Authentication with a small in-memory cache that every instance keeps honest:
//! a background task polls the recent-revocations feed every 250 ms and evicts
//! what it finds, and the cache is bypassed whenever that poll has not succeeded
//! for a while. A revoked key therefore stops working on every instance within
//! about a quarter of a second, and never later than one second.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::Utc;
use moka::sync::Cache;
use uuid::Uuid;

use super::keys::{KeyKind, claimed_kind, hash_key};
use crate::store::{Db, api_keys, revocations};

const POLL_EVERY: Duration = Duration::from_millis(250);
/// Each poll re-reads this much history, so late commits and lookups that raced an
/// eviction are caught by the next poll.
const POLL_WINDOW_MS: i64 = 30_000;
/// Past this age of the last good poll, the cache is not trusted.
const STALE_AFTER_MS: i64 = 750;
const PRUNE_AFTER_MS: i64 = 10 * 60_000;
const CACHE_TTL: Duration = Duration::from_secs(300);
const CACHE_CAPACITY: u64 = 100_000;

/// Who a valid key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthContext {
    pub key_id: Uuid,
    pub kind: KeyKind,
    pub platform_id: Uuid,
    pub end_user_id: Option<Uuid>,
    pub key_prefix: String,
}

#[derive(Clone)]
pub struct Authenticator {
    db: Db,
    cache: Cache<String, AuthContext>,
    last_sync_ms: Arc<AtomicI64>,
    last_prune_ms: Arc<AtomicI64>,
}

impl Authenticator {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            cache: Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .time_to_live(CACHE_TTL)
                .build(),
            last_sync_ms: Arc::new(AtomicI64::new(0)),
            last_prune_ms: Arc::new(AtomicI64::new(0)),
        }
    }

    /// The key's owner, or `None` for an unknown, malformed or revoked key.
    pub async fn authenticate(&self, raw: &str) -> Result<Option<AuthContext>, sqlx::Error> {
        let Some(claimed) = claimed_kind(raw) else {
            return Ok(None);
        };
        let hash = hash_key(raw);
        let trusted = self.cache_is_trusted();
        if trusted && let Some(ctx) = self.cache.get(&hash) {
            return Ok(Some(ctx));
        }
        let Some(row) = api_keys::find_active_by_hash(&self.db, &hash).await? else {
            return Ok(None);
        };
        let Some(kind) = KeyKind::parse(&row.kind).filter(|k| *k == claimed) else {
            return Ok(None);
        };
        let ctx = AuthContext {
            key_id: row.id,
            kind,
            platform_id: row.platform_id,
            end_user_id: row.end_user_id,
            key_prefix: row.key_prefix,
        };
        if trusted {
            self.cache.insert(hash, ctx.clone());
        }
        Ok(Some(ctx))
    }

    /// Drops keys from this instance's cache at once (the revoking instance does
    /// not wait for its own poll).
    pub fn evict(&self, hashes: &[String]) {
        for hash in hashes {
            self.cache.invalidate(hash);
        }
    }

    fn cache_is_trusted(&self) -> bool {
        Utc::now().timestamp_millis() - self.last_sync_ms.load(Ordering::Acquire) <= STALE_AFTER_MS
    }

    /// How often the background runner calls [`Authenticator::sync_revocations`].
    pub const SYNC_EVERY: std::time::Duration = POLL_EVERY;

    /// One poll of the revocation feed (evicting what was revoked, re-reading
    /// the last seconds so late commits are still seen), and a prune of the feed
    /// once a minute.
    pub async fn sync_revocations(&self) {
        let started_ms = Utc::now().timestamp_millis();
        match revocations::since(&self.db, started_ms - POLL_WINDOW_MS).await {
            Ok(hashes) => {
                self.evict(&hashes);
                self.last_sync_ms.store(started_ms, Ordering::Release);
            }
            Err(err) => {
                tracing::warn!(error = %err, "revocation poll failed; key cache bypassed")
            }
        }
        let last_prune_ms = self.last_prune_ms.load(Ordering::Relaxed);
        if started_ms - last_prune_ms > 60_000 {
            self.last_prune_ms.store(started_ms, Ordering::Relaxed);
            if let Err(err) = revocations::prune(&self.db, started_ms - PRUNE_AFTER_MS).await {
                tracing::warn!(error = %err, "pruning the revocation feed failed");
            }
        }
    }
}
