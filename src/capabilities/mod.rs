//! The capabilities marketplace (SPEC section 9): paid real-world API actions
//! agents discover and run, charged to the end user's budget under the
//! platform's spend policy.
//!
//! - [`catalog`]: the shipped shelves and providers, checked at start;
//! - [`snapshot`]: catalog + operator changes merged (operator wins), in memory;
//! - [`policy`]: the platform's policy and the ONE predicate over it;
//! - [`browse`]: shelves, providers with badges, search (no spend);
//! - [`upstream`]: quotes and calls to providers; [`health`]: the prober;
//! - [`run`]: quote → ceiling → hold → call; [`settle`]: one transaction at the end;
//! - [`routes`], [`admin`] (over [`operator`]), [`tools`]: REST, operator API, MCP tools.

pub mod admin;
pub mod browse;
pub mod catalog;
pub mod cli;
pub mod health;
pub mod operator;
pub mod policy;
pub mod routes;
pub mod run;
pub mod settle;
pub mod snapshot;
pub mod store;
pub mod tool_specs;
pub mod tools;
pub mod upstream;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use secrecy::SecretString;

use crate::config::Config;
use crate::master_key::MasterKey;
use crate::oauth::vault::{Vault, aad};
use crate::store::Db;
use catalog::Catalog;
use snapshot::{Availability, Provider, Snapshot};

/// Shared marketplace state: the catalog, the current snapshot, health.
#[derive(Clone)]
pub struct Capabilities {
    inner: Arc<Inner>,
}

struct Inner {
    catalog: Catalog,
    snapshot: RwLock<Arc<Snapshot>>,
    health: RwLock<HashMap<String, Availability>>,
    upstream: Option<String>,
    http: assistiv_app_sdk::reqwest::Client,
    vault: Vault,
    call_timeout: Duration,
    health_interval: Duration,
    /// Platforms' `enabled` flag, read on every MCP tools/list: cached for 2 s
    /// (like app activations), forgotten at once when this instance sets a policy.
    enabled: moka::sync::Cache<uuid::Uuid, bool>,
}

impl Capabilities {
    /// Loads and checks the catalog (a bad file is an error naming it) and lays
    /// the stored operator changes over it.
    pub async fn start(db: &Db, config: &Config, master_key: &MasterKey) -> anyhow::Result<Self> {
        let catalog = Catalog::load(config.capabilities_dir.as_deref())?;
        let call_timeout = Duration::from_millis(config.capabilities_call_timeout_ms);
        let http = assistiv_app_sdk::reqwest::Client::builder()
            .timeout(call_timeout)
            .connect_timeout(Duration::from_secs(5))
            .redirect(assistiv_app_sdk::reqwest::redirect::Policy::none())
            .user_agent(concat!("assistiv/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let market = Self {
            inner: Arc::new(Inner {
                snapshot: RwLock::new(Arc::new(Snapshot::default())),
                catalog,
                health: RwLock::new(HashMap::new()),
                upstream: config
                    .capabilities_upstream_url
                    .as_ref()
                    .map(|u| u.trim_end_matches('/').to_owned()),
                http,
                vault: master_key.vault(),
                call_timeout,
                health_interval: Duration::from_millis(config.capabilities_health_interval_ms),
                enabled: moka::sync::Cache::builder()
                    .time_to_live(Duration::from_secs(2))
                    .max_capacity(100_000)
                    .build(),
            }),
        };
        market.reload(db).await?;
        Ok(market)
    }

    /// Rebuilds the snapshot from the catalog and the stored changes.
    pub async fn reload(&self, db: &Db) -> Result<(), sqlx::Error> {
        let overrides = store::overrides(db).await?;
        let fresh = Arc::new(Snapshot::build(&self.inner.catalog, &overrides));
        if let Ok(mut current) = self.inner.snapshot.write() {
            *current = fresh;
        }
        Ok(())
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.inner
            .snapshot
            .read()
            .map(|s| Arc::clone(&s))
            .unwrap_or_default()
    }

    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// A provider URL made absolute: paths resolve under the upstream base URL;
    /// `None` when there is no base to resolve them under.
    pub fn resolve(&self, url: &str) -> Option<String> {
        if url.starts_with('/') {
            self.inner
                .upstream
                .as_ref()
                .map(|base| format!("{base}{url}"))
        } else {
            Some(url.to_owned())
        }
    }

    /// The provider's health: `down` when it cannot be reached at all.
    pub fn availability(&self, provider: &Provider) -> Availability {
        if self.resolve(&provider.spec.endpoint).is_none() {
            return Availability::Down;
        }
        self.inner
            .health
            .read()
            .ok()
            .and_then(|h| h.get(&provider.spec.uid).copied())
            .unwrap_or(Availability::Unknown)
    }

    pub(crate) fn set_health(&self, uid: &str, availability: Availability) {
        if let Ok(mut health) = self.inner.health.write() {
            health.insert(uid.to_owned(), availability);
        }
    }

    pub(crate) fn http(&self) -> &assistiv_app_sdk::reqwest::Client {
        &self.inner.http
    }

    /// Whether the operator enabled capabilities for the platform.
    pub async fn enabled_for(
        &self,
        db: &Db,
        platform_id: uuid::Uuid,
    ) -> Result<bool, crate::error::Error> {
        if let Some(enabled) = self.inner.enabled.get(&platform_id) {
            return Ok(enabled);
        }
        let enabled = store::policy(db, platform_id).await?.enabled;
        self.inner.enabled.insert(platform_id, enabled);
        Ok(enabled)
    }

    /// Called after a platform's policy changed.
    pub fn forget_platform(&self, platform_id: uuid::Uuid) {
        self.inner.enabled.invalidate(&platform_id);
    }

    pub fn call_timeout(&self) -> Duration {
        self.inner.call_timeout
    }

    pub fn health_interval(&self) -> Duration {
        self.inner.health_interval
    }

    /// Seals an operator-set provider secret, bound to the provider's uid.
    pub fn seal_secret(&self, uid: &str, secret: &SecretString) -> anyhow::Result<Vec<u8>> {
        self.inner
            .vault
            .seal(secret, &aad::capability_secret(uid))
            .map_err(anyhow::Error::from)
    }

    pub fn open_secret(&self, provider: &Provider) -> Option<SecretString> {
        let sealed = provider.sealed_secret.as_ref()?;
        match self
            .inner
            .vault
            .open(sealed, &aad::capability_secret(&provider.spec.uid))
        {
            Ok(secret) => Some(secret),
            Err(err) => {
                tracing::warn!(uid = %provider.spec.uid, error = %err, "provider secret unreadable");
                None
            }
        }
    }
}
