//! What every handler can reach.

use std::sync::Arc;

use crate::apps::AppRegistry;
use crate::auth::{AdminToken, Authenticator};
use crate::billing::{Billing, SharedClock};
use crate::capabilities::Capabilities;
use crate::config::Config;
use crate::inference::Inference;
use crate::master_key::MasterKey;
use crate::mcp::sessions::McpSessions;
use crate::metrics::Metrics;
use crate::oauth::Broker;
use crate::ratelimit::RateLimiter;
use crate::skills::Skills;
use crate::store::Db;
use crate::tenancy::rate_limits::LimitsCache;
use crate::usage::UsageLogger;
use crate::webhooks::Webhooks;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub auth: Authenticator,
    pub admin_token: AdminToken,
    pub config: Arc<Config>,
    /// Encrypts secrets at rest.
    pub master_key: Arc<MasterKey>,
    /// Injectable time (budget periods, holds).
    pub clock: SharedClock,
    pub limits_cache: LimitsCache,
    /// RPM/TPM/RPD counters: in process, or shared through Redis.
    pub limiter: RateLimiter,
    /// The third-party apps this gateway serves.
    pub apps: AppRegistry,
    /// Usage-log rows, written off the hot path.
    pub usage: UsageLogger,
    /// The one paid-call pipeline (claim, hold, settle, ledger, usage row).
    pub billing: Billing,
    /// The OAuth broker: app activations, connections, end users' tokens.
    pub oauth: Broker,
    /// The skills catalog and its encrypted blob store.
    pub skills: Skills,
    /// The capabilities catalog (the API calls it capabilities; the docs a marketplace): snapshot and provider health.
    pub capabilities: Capabilities,
    /// The inference plane: price book, provider configs' routes and clients.
    pub inference: Inference,
    /// Live MCP sessions: who opened each, bounded per end user.
    pub mcp_sessions: Arc<McpSessions>,
    /// Outbound webhooks: endpoints, the delivery log and worker.
    pub webhooks: Webhooks,
    /// This instance's Prometheus metrics (served at `/metrics`).
    pub metrics: Metrics,
}

impl AppState {
    /// How long a hold lives before the sweeper releases it.
    pub fn hold_ttl(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.config.hold_ttl_secs)
    }
}
