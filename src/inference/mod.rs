//! The OpenAI-compatible inference plane (SPEC section 11): `GET /v1/models` and
//! `POST /v1/chat/completions` routed to each platform's provider configs, metered
//! through the one paid-call pipeline. The provider side (wire types, clients,
//! translations, the price book) is the `assistiv-llm` crate; this module picks
//! providers, holds and settles money and answers the client.
//!
//! - [`store`]: the `llm_providers` rows; [`operator`]: what the operator
//!   changes (shared by [`admin`] routes and the [`cli`]);
//! - [`routing`]: a platform's enabled configs, built once and cached, and the
//!   candidates for a model (priority order, prices known);
//! - [`charge`]: the hold before a call and the cost after it;
//! - [`completion`]: one call (limits, hold, fallback, settlement);
//! - [`relay`]: a streamed answer relayed chunk by chunk, settling what it
//!   delivered when cut;
//! - [`routes`]: the two `/v1` handlers (errors in OpenAI's shape).

pub mod admin;
pub mod charge;
pub mod cli;
pub mod completion;
pub mod operator;
pub mod relay;
pub mod routes;
pub mod routing;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use assistiv_llm::mock::MockProvider;
use assistiv_llm::{PriceBook, Timeouts};
use secrecy::SecretString;
use uuid::Uuid;

use crate::config::Config;
use crate::master_key::MasterKey;
use crate::oauth::vault::{Vault, aad};
use crate::store::Db;
use routing::PlatformRoutes;

/// Shared inference state: the price book, the sealing key and each platform's
/// routes (built clients included), cached for a short while.
#[derive(Clone)]
pub struct Inference {
    inner: Arc<Inner>,
}

struct Inner {
    prices: PriceBook,
    vault: Vault,
    mock: MockProvider,
    timeouts: Timeouts,
    default_output_tokens: u32,
    /// Each platform's routes, for 2 s (a change made on this instance drops
    /// them at once; other instances see it within the 2 s).
    routes: moka::sync::Cache<Uuid, Arc<PlatformRoutes>>,
    /// Built clients by config id and version: a client (its connection pool)
    /// outlives the routes cache until its config changes.
    clients: moka::sync::Cache<(Uuid, i64), assistiv_llm::Provider>,
}

impl Inference {
    /// Loads the price book (the shipped one, or the operator's file), checked
    /// like the capabilities catalog: a bad file stops the start, naming it.
    pub fn start(config: &Config, master_key: &MasterKey) -> anyhow::Result<Self> {
        let prices = match &config.price_book {
            Some(path) => PriceBook::from_file(path)?,
            None => PriceBook::embedded()?,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                prices,
                vault: master_key.vault(),
                mock: MockProvider {
                    chunk_delay: Duration::from_millis(config.mock_chunk_delay_ms),
                },
                timeouts: Timeouts::default(),
                default_output_tokens: config.inference_default_max_tokens,
                routes: moka::sync::Cache::builder()
                    .time_to_live(Duration::from_secs(2))
                    .max_capacity(100_000)
                    .build(),
                clients: moka::sync::Cache::builder()
                    .time_to_idle(Duration::from_secs(3600))
                    .max_capacity(100_000)
                    .build(),
            }),
        })
    }

    pub fn prices(&self) -> &PriceBook {
        &self.inner.prices
    }

    /// The output cap a hold assumes when the request sets none.
    pub fn default_output_tokens(&self) -> u32 {
        self.inner.default_output_tokens
    }

    /// The platform's routes (from the cache, or built from its rows).
    pub async fn routes(
        &self,
        db: &Db,
        platform_id: Uuid,
    ) -> crate::error::Result<Arc<PlatformRoutes>> {
        if let Some(routes) = self.inner.routes.get(&platform_id) {
            return Ok(routes);
        }
        let routes = Arc::new(routing::build(self, db, platform_id).await?);
        self.inner.routes.insert(platform_id, Arc::clone(&routes));
        Ok(routes)
    }

    /// Called after a platform's configs changed on this instance.
    pub fn forget_platform(&self, platform_id: Uuid) {
        self.inner.routes.invalidate(&platform_id);
    }

    /// Seals a provider API key, bound to its config's id.
    pub fn seal_key(&self, id: Uuid, key: &SecretString) -> crate::error::Result<Vec<u8>> {
        self.inner
            .vault
            .seal(key, &aad::llm_provider_key(id))
            .map_err(crate::error::Error::internal)
    }

    fn open_key(&self, id: Uuid, sealed: &[u8]) -> Option<SecretString> {
        match self.inner.vault.open(sealed, &aad::llm_provider_key(id)) {
            Ok(key) => Some(key),
            Err(err) => {
                tracing::warn!(provider = %id, error = %err, "LLM provider key unreadable");
                None
            }
        }
    }
}
