//! A background sweep of spent authorization material: `oauth_states` and
//! `connect_links` rows past their expiry. The connect and mint paths also prune
//! while writing, but a quiet gateway writes nothing, so this runs on a timer.
//!
//! Rows are kept for a grace period after expiry so a late callback still reads
//! "expired" or "used" (a clearer answer than "unknown state").

use crate::billing::SharedClock;
use crate::connect_page::links::SESSION_TTL_MS;
use crate::store::Db;
use crate::with_pool;

/// How long an expired state is kept before the sweep deletes it.
pub const STATE_GRACE_MS: i64 = 60 * 60 * 1000;

/// What one sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub states: u64,
    pub connect_links: u64,
}

/// Deletes states expired more than [`STATE_GRACE_MS`] ago, and connect links whose
/// link and page session have both been over for a session's length.
pub async fn sweep_expired(db: &Db, clock: &SharedClock) -> Result<Swept, sqlx::Error> {
    let now_ms = clock.now().timestamp_millis();
    let states = with_pool!(db.write(), pool => {
        sqlx::query("DELETE FROM oauth_states WHERE expires_at_ms < $1")
            .bind(now_ms - STATE_GRACE_MS)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })?;
    let before = now_ms - SESSION_TTL_MS;
    let connect_links = with_pool!(db.write(), pool => {
        sqlx::query(
            "DELETE FROM connect_links WHERE expires_at_ms < $1 \
             AND (session_expires_at_ms IS NULL OR session_expires_at_ms < $1)",
        )
        .bind(before)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(Swept {
        states,
        connect_links,
    })
}

/// One sweep for the background runner, like the holds sweeper.
pub async fn sweep(db: &Db, clock: &SharedClock) {
    match sweep_expired(db, clock).await {
        Ok(swept) if swept != Swept::default() => {
            tracing::debug!(
                states = swept.states,
                connect_links = swept.connect_links,
                "swept expired authorization states and connect links"
            );
        }
        Ok(_) => {}
        Err(err) => tracing::warn!(error = %err, "OAuth state sweep failed"),
    }
}
