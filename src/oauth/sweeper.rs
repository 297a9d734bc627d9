//! A background sweep of spent authorization material: `oauth_states` and
//! `connect_links` rows past their expiry. The connect and mint paths also prune
//! while writing, but a quiet gateway writes nothing, so this runs on a timer.
//!
//! Rows are kept for a grace period after expiry so a late callback still reads
//! "expired" or "used" (a clearer answer than "unknown state").

use super::store;
use crate::billing::SharedClock;
use crate::connect_page::{self, links::SESSION_TTL_MS};
use crate::store::Db;

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
    Ok(Swept {
        states: store::delete_states_expired_before(db, now_ms - STATE_GRACE_MS).await?,
        connect_links: connect_page::store::delete_spent_links(db, now_ms - SESSION_TTL_MS).await?,
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
