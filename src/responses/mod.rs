//! The Responses API (SPEC section 11): `POST /v1/responses` over every
//! provider of the inference plane, stateful per end user, with the end
//! user's own tools hosted (`{"type": "mcp"}` items run through the one tool
//! pipeline, no MCP session).
//!
//! - [`plan`]: the request checked and resolved (the conversation it
//!   continues, tools, approvals) before anything is held;
//! - [`hosted`]: MCP tool items → the end user's tools of that scope;
//! - [`turns`]: the loop of model turns (each metered through the inference
//!   plane's money path) and hosted tool calls; [`answer`]: one turn, whole or
//!   streamed delta by delta through the metered relay;
//! - [`report`]: progress as the Responses event stream;
//! - [`stored`] + [`store`]: responses sealed at rest, per end user, purged
//!   after the retention setting;
//! - [`routes`]: the four `/v1/responses` handlers (errors in OpenAI's shape).

pub mod answer;
pub mod hosted;
pub mod plan;
pub mod report;
pub mod routes;
pub mod store;
pub mod stored;
pub mod turns;

use std::sync::Arc;
use std::time::Duration;

use crate::oauth::vault::Vault;
use crate::state::AppState;
use crate::tools::Tools;

/// What the Responses handlers share: the tool pipeline and the sealing key.
#[derive(Clone)]
pub struct Responses {
    inner: Arc<Inner>,
}

struct Inner {
    tools: Tools,
    vault: Vault,
}

impl Responses {
    pub fn new(state: &AppState, tools: Tools) -> Self {
        Self {
            inner: Arc::new(Inner {
                tools,
                vault: state.master_key.vault(),
            }),
        }
    }

    pub fn tools(&self) -> &Tools {
        &self.inner.tools
    }

    pub fn vault(&self) -> &Vault {
        &self.inner.vault
    }
}

/// How often the retention purge runs.
pub const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Deletes stored responses older than the retention setting.
pub async fn purge_expired(state: &AppState) {
    let days = i64::try_from(state.config.responses_retention_days).unwrap_or(i64::MAX);
    let cutoff = state.clock.now() - chrono::Duration::days(days.min(36_500));
    match store::purge_before(&state.db, cutoff).await {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, "stored responses past their retention purged"),
        Err(error) => tracing::warn!(error = %error, "purging stored responses failed"),
    }
}
