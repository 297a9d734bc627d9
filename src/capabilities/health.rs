//! The background prober. Every `ASSISTIV_CAPABILITIES_HEALTH_INTERVAL_MS` it
//! reloads the operator's changes (other instances may have made them) and
//! probes each provider's `health_url`: 2xx is `healthy`, anything else `down`.
//! Providers without a health URL stay `unknown`; ones that cannot be reached
//! at all (a path with no upstream base configured) are `down`. Down never runs.

use tokio::task::JoinSet;

use super::Capabilities;
use super::snapshot::Availability;
use super::upstream;
use crate::store::Db;

/// Probes every provider once, concurrently.
pub async fn probe_all(market: &Capabilities) {
    let snapshot = market.snapshot();
    let mut probes = JoinSet::new();
    for provider in &snapshot.providers {
        let Some(url) = provider.spec.health_url.clone() else {
            continue;
        };
        let (market, uid) = (market.clone(), provider.spec.uid.clone());
        probes.spawn(async move {
            let healthy = upstream::probe(&market, &url).await;
            let state = if healthy {
                Availability::Healthy
            } else {
                Availability::Down
            };
            market.set_health(&uid, state);
        });
    }
    while probes.join_next().await.is_some() {}
}

/// One round for the background runner: the operator's changes reloaded (other
/// instances may have made them), then every provider probed.
pub async fn tick(market: &Capabilities, db: &Db) {
    if let Err(err) = market.reload(db).await {
        tracing::warn!(error = %err, "reloading capability providers failed");
    }
    probe_all(market).await;
}
