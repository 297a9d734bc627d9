//! The broker: what the MCP layer asks for (activated apps, an end user's token,
//! connect links), and the shared parts every OAuth route uses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assistiv_app_sdk::reqwest;
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::link::{LinkSigner, StartClaims};
use super::provider::{self, ClientCredentials, ProviderError};
use super::settings;
use super::store::{self, ActivationRow, ConnectionRow, Refreshed, STATUS_NEEDS_REAUTH};
use super::vault::{Vault, aad};
use crate::apps::{App, AppRegistry, AppSlug, OAuthSpec};
use crate::billing::SharedClock;
use crate::error::Error;
use crate::master_key::MasterKey;
use crate::metrics::RefreshOutcome;
use crate::store::Db;

/// Tokens are refreshed when less than this is left.
const REFRESH_AHEAD_MS: i64 = 60_000;
/// How long a connect link stays valid.
const LINK_TTL_MS: i64 = 3_600_000;

/// A usable access token for one end user's connection.
#[derive(Debug, Clone)]
pub struct AppToken {
    pub access_token: SecretString,
    /// The effective API base URL (the activation's override or the app's default).
    pub api_base_url: String,
    pub connection_id: Uuid,
}

/// Why no token can be handed out.
#[derive(Debug)]
pub enum TokenError {
    /// The end user has not connected this app.
    NotConnected { connect_url: String },
    /// The connection is dead (refresh refused, token expired): connect again.
    NeedsReauth { connect_url: String },
    /// Anything else (app not activated, database, provider unreachable).
    Failed(Error),
}

impl From<Error> for TokenError {
    fn from(err: Error) -> Self {
        Self::Failed(err)
    }
}

impl From<sqlx::Error> for TokenError {
    fn from(err: sqlx::Error) -> Self {
        Self::Failed(err.into())
    }
}

/// The effective endpoints of an activation: its overrides, else the app's defaults.
/// They may hold `{name}` placeholders, filled per connection ([`settings::fill_url`]).
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub authorize_url: String,
    pub token_url: String,
    pub revoke_url: Option<String>,
    pub api_base_url: String,
}

impl Endpoints {
    pub fn of(spec: &OAuthSpec, row: &ActivationRow) -> Self {
        Self {
            authorize_url: row
                .authorize_url
                .clone()
                .unwrap_or_else(|| spec.authorize_url.to_owned()),
            token_url: row
                .token_url
                .clone()
                .unwrap_or_else(|| spec.token_url.to_owned()),
            revoke_url: row
                .revoke_url
                .clone()
                .or_else(|| spec.revoke_url.map(str::to_owned)),
            api_base_url: row
                .api_base_url
                .clone()
                .unwrap_or_else(|| spec.api_base_url.to_owned())
                .trim_end_matches('/')
                .to_owned(),
        }
    }
}

/// The OAuth broker. Cheap to clone.
#[derive(Clone)]
pub struct Broker {
    pub(super) inner: Arc<Inner>,
}

/// A platform's activated apps and their rows.
pub struct Activations {
    apps: Vec<AppSlug>,
    rows: Vec<ActivationRow>,
}

impl Activations {
    pub fn contains(&self, app: &AppSlug) -> bool {
        self.apps.contains(app)
    }
}

pub(super) struct Inner {
    pub db: Db,
    pub apps: AppRegistry,
    pub vault: Vault,
    pub links: LinkSigner,
    pub public_url: String,
    pub http: reqwest::Client,
    pub clock: SharedClock,
    metrics: crate::metrics::Metrics,
    /// One lock per connection being refreshed (single flight).
    refresh_locks: Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>>,
    /// A platform's activations (rows, sealed secrets included), for 2 s.
    activated: moka::sync::Cache<Uuid, Arc<Activations>>,
}

impl Broker {
    pub fn new(
        db: Db,
        apps: AppRegistry,
        master_key: &MasterKey,
        public_url: String,
        clock: SharedClock,
        metrics: crate::metrics::Metrics,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                apps,
                vault: master_key.vault(),
                links: LinkSigner::new(master_key.bytes()),
                public_url: public_url.trim_end_matches('/').to_owned(),
                http,
                clock,
                metrics,
                refresh_locks: Mutex::new(HashMap::new()),
                activated: moka::sync::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(Duration::from_secs(2))
                    .build(),
            }),
        })
    }

    pub(super) fn now_ms(&self) -> i64 {
        self.inner.clock.now().timestamp_millis()
    }

    pub(super) fn app(&self, slug: &str) -> Result<&Arc<dyn App>, Error> {
        self.inner
            .apps
            .get(slug)
            .ok_or_else(|| Error::not_found(format!("unknown app '{slug}'")))
    }

    /// The gateway's public base URL, without a trailing slash.
    pub fn public_url(&self) -> &str {
        &self.inner.public_url
    }

    /// `{public_url}/oauth/callback`.
    pub fn redirect_uri(&self) -> String {
        format!("{}/oauth/callback", self.inner.public_url)
    }

    pub(super) fn forget_activations(&self, platform_id: Uuid) {
        self.inner.activated.invalidate(&platform_id);
    }

    /// This platform's activations, cached for 2 s (forgotten at once when this
    /// instance changes them): every tool list and call reads them.
    async fn activations(&self, platform_id: Uuid) -> Result<Arc<Activations>, Error> {
        if let Some(known) = self.inner.activated.get(&platform_id) {
            return Ok(known);
        }
        let rows = store::activations(&self.inner.db, platform_id).await?;
        let apps = rows
            .iter()
            .filter_map(|row| AppSlug::parse(&self.inner.apps, &row.app).ok())
            .collect();
        let known = Arc::new(Activations { apps, rows });
        self.inner.activated.insert(platform_id, known.clone());
        Ok(known)
    }

    /// The apps this platform activated (cached for 2 s).
    pub async fn activated_apps(&self, platform_id: Uuid) -> Result<Arc<Activations>, Error> {
        self.activations(platform_id).await
    }

    /// A signed link that starts the connection flow in a browser (valid 1 h).
    pub fn connect_url(&self, platform_id: Uuid, end_user_id: Uuid, app: &AppSlug) -> String {
        let token = self.inner.links.sign(&StartClaims {
            platform_id,
            end_user_id,
            app: app.as_str().to_owned(),
            expires_at_ms: self.now_ms() + LINK_TTL_MS,
        });
        format!("{}/oauth/start?t={token}", self.inner.public_url)
    }

    /// The end user's access token for `app`, refreshed first when it expires
    /// within a minute.
    pub async fn token(
        &self,
        platform_id: Uuid,
        end_user_id: Uuid,
        app: &AppSlug,
    ) -> Result<AppToken, TokenError> {
        let (activation, endpoints) = self.activation_for_tokens(platform_id, app).await?;
        let Some(row) =
            store::connection(&self.inner.db, platform_id, end_user_id, app.as_str()).await?
        else {
            return Err(TokenError::NotConnected {
                connect_url: self.connect_url(platform_id, end_user_id, app),
            });
        };
        let now_ms = self.now_ms();
        if row.status == STATUS_NEEDS_REAUTH {
            return Err(self.needs_reauth(platform_id, end_user_id, app));
        }
        if !expires_soon(&row, now_ms) {
            return self.app_token(&row, &endpoints);
        }
        self.refresh_single_flight(&activation, &endpoints, app, &row, |current, now_ms| {
            expires_soon(current, now_ms)
        })
        .await
    }

    /// After the provider answered 401 with `stale`: refresh once. When another call
    /// already replaced that token, the current one is returned without a refresh.
    pub async fn refresh_after_unauthorized(
        &self,
        platform_id: Uuid,
        end_user_id: Uuid,
        app: &AppSlug,
        stale: &AppToken,
    ) -> Result<AppToken, TokenError> {
        let (activation, endpoints) = self.activation_for_tokens(platform_id, app).await?;
        let Some(row) =
            store::connection(&self.inner.db, platform_id, end_user_id, app.as_str()).await?
        else {
            return Err(TokenError::NotConnected {
                connect_url: self.connect_url(platform_id, end_user_id, app),
            });
        };
        let vault = self.inner.vault.clone();
        let stale_token = stale.access_token.expose_secret().to_owned();
        let stale_id = stale.connection_id;
        self.refresh_single_flight(&activation, &endpoints, app, &row, move |current, _| {
            current.id == stale_id
                && vault
                    .open(&current.access_token_enc, &aad::access_token(current.id))
                    .is_ok_and(|t| t.expose_secret() == stale_token)
        })
        .await
    }

    async fn activation_for_tokens(
        &self,
        platform_id: Uuid,
        app: &AppSlug,
    ) -> Result<(ActivationRow, Endpoints), TokenError> {
        let spec = self.app(app.as_str())?.oauth().clone();
        let activation = self
            .activations(platform_id)
            .await?
            .rows
            .iter()
            .find(|row| row.app == app.as_str())
            .cloned()
            .ok_or_else(|| {
                Error::not_found(format!(
                    "the app '{app}' is not activated for this platform"
                ))
            })?;
        let endpoints = Endpoints::of(&spec, &activation);
        Ok((activation, endpoints))
    }

    fn needs_reauth(&self, platform_id: Uuid, end_user_id: Uuid, app: &AppSlug) -> TokenError {
        TokenError::NeedsReauth {
            connect_url: self.connect_url(platform_id, end_user_id, app),
        }
    }

    fn app_token(
        &self,
        row: &ConnectionRow,
        endpoints: &Endpoints,
    ) -> Result<AppToken, TokenError> {
        let access_token = self
            .inner
            .vault
            .open(&row.access_token_enc, &aad::access_token(row.id))
            .map_err(Error::internal)?;
        Ok(AppToken {
            access_token,
            api_base_url: api_base_url(endpoints, &row.settings_json)?,
            connection_id: row.id,
        })
    }

    fn lock_for(&self, connection_id: Uuid) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .inner
            .refresh_locks
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // Drop locks nobody holds or waits for.
        locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        locks.entry(connection_id).or_default().clone()
    }

    /// Refreshes `row` under its connection's lock, unless `still_needed` says that
    /// the row as re-read after taking the lock no longer needs it.
    async fn refresh_single_flight(
        &self,
        activation: &ActivationRow,
        endpoints: &Endpoints,
        app: &AppSlug,
        row: &ConnectionRow,
        still_needed: impl Fn(&ConnectionRow, i64) -> bool,
    ) -> Result<AppToken, TokenError> {
        let (platform_id, end_user_id) = (row.platform_id, row.end_user_id);
        let lock = self.lock_for(row.id);
        let _guard = lock.lock().await;
        // Re-read on the write side: a refresh that finished while we waited is seen.
        let Some(current) =
            store::connection_fresh(&self.inner.db, platform_id, end_user_id, app.as_str()).await?
        else {
            return Err(TokenError::NotConnected {
                connect_url: self.connect_url(platform_id, end_user_id, app),
            });
        };
        if current.status == STATUS_NEEDS_REAUTH {
            return Err(self.needs_reauth(platform_id, end_user_id, app));
        }
        if !still_needed(&current, self.now_ms()) {
            return self.app_token(&current, endpoints);
        }
        // Across instances: one holds a lease while it refreshes; the others wait
        // for its result instead of refreshing (and rotating tokens) themselves.
        let current = match self.lease_or_wait(app, &current, &still_needed).await? {
            Leased::Taken(row) => row,
            Leased::RefreshedElsewhere(row) => return self.app_token(&row, endpoints),
        };
        let result = self
            .refresh_leased(activation, endpoints, app, &current)
            .await;
        store::release_refresh_lease(&self.inner.db, current.id).await?;
        result
    }

    /// Takes the connection's refresh lease, or waits while another instance
    /// holds it and returns its refreshed row once `still_needed` no longer holds.
    async fn lease_or_wait(
        &self,
        app: &AppSlug,
        row: &ConnectionRow,
        still_needed: &impl Fn(&ConnectionRow, i64) -> bool,
    ) -> Result<Leased, TokenError> {
        let (platform_id, end_user_id) = (row.platform_id, row.end_user_id);
        loop {
            let now_ms = chrono::Utc::now().timestamp_millis();
            if store::take_refresh_lease(&self.inner.db, row.id, now_ms, now_ms + REFRESH_LEASE_MS)
                .await?
            {
                // Re-read under the lease: a refresh may have landed just before it.
                return match store::connection_fresh(
                    &self.inner.db,
                    platform_id,
                    end_user_id,
                    app.as_str(),
                )
                .await?
                {
                    // Another instance refreshed and let go just before we took it.
                    Some(current)
                        if current.status != STATUS_NEEDS_REAUTH
                            && !still_needed(&current, self.now_ms()) =>
                    {
                        store::release_refresh_lease(&self.inner.db, row.id).await?;
                        Ok(Leased::RefreshedElsewhere(current))
                    }
                    Some(current) if current.status != STATUS_NEEDS_REAUTH => {
                        Ok(Leased::Taken(current))
                    }
                    Some(_) => {
                        store::release_refresh_lease(&self.inner.db, row.id).await?;
                        Err(self.needs_reauth(platform_id, end_user_id, app))
                    }
                    None => Err(TokenError::NotConnected {
                        connect_url: self.connect_url(platform_id, end_user_id, app),
                    }),
                };
            }
            tokio::time::sleep(LEASE_POLL).await;
            match store::connection_fresh(&self.inner.db, platform_id, end_user_id, app.as_str())
                .await?
            {
                None => {
                    return Err(TokenError::NotConnected {
                        connect_url: self.connect_url(platform_id, end_user_id, app),
                    });
                }
                Some(current) if current.status == STATUS_NEEDS_REAUTH => {
                    return Err(self.needs_reauth(platform_id, end_user_id, app));
                }
                Some(current) if !still_needed(&current, self.now_ms()) => {
                    return Ok(Leased::RefreshedElsewhere(current));
                }
                Some(_) => {}
            }
        }
    }

    /// The refresh itself, with this instance holding the connection's lease.
    async fn refresh_leased(
        &self,
        activation: &ActivationRow,
        endpoints: &Endpoints,
        app: &AppSlug,
        current: &ConnectionRow,
    ) -> Result<AppToken, TokenError> {
        let (platform_id, end_user_id) = (current.platform_id, current.end_user_id);
        let Some(refresh_enc) = &current.refresh_token_enc else {
            // Nothing to refresh with: the user must connect again.
            store::mark_needs_reauth(&self.inner.db, current.id, self.inner.clock.now()).await?;
            self.inner
                .metrics
                .token_refresh(app.as_str(), RefreshOutcome::Refused);
            return Err(self.needs_reauth(platform_id, end_user_id, app));
        };
        let vault = &self.inner.vault;
        let refresh_token = vault
            .open(refresh_enc, &aad::refresh_token(current.id))
            .map_err(Error::internal)?;
        let client_secret = vault
            .open(
                &activation.client_secret_enc,
                &aad::client_secret(platform_id, app.as_str()),
            )
            .map_err(Error::internal)?;
        let known = settings::parse(&current.settings_json);
        let token_url = settings::fill_url("token_url", &endpoints.token_url, &known)
            .map_err(Error::internal)?;
        let credentials = ClientCredentials {
            client_id: &activation.client_id,
            client_secret: &client_secret,
            token_url: &token_url,
        };
        let app_impl = Arc::clone(self.app(app.as_str())?);
        match provider::refresh(&self.inner.http, &app_impl, &credentials, &refresh_token).await {
            Ok(tokens) => {
                let now = self.inner.clock.now();
                let access_enc = vault
                    .seal(&tokens.access_token, &aad::access_token(current.id))
                    .map_err(Error::internal)?;
                // Providers that do not rotate refresh tokens keep the old one valid.
                let refresh = tokens.refresh_token.as_ref().unwrap_or(&refresh_token);
                let refresh_enc = vault
                    .seal(refresh, &aad::refresh_token(current.id))
                    .map_err(Error::internal)?;
                let expires_at_ms = tokens
                    .expires_in
                    .map(|d| now.timestamp_millis() + d.as_millis() as i64);
                // A refresh answer may move settings too (Zoho repeats `api_domain`).
                let mut merged = known;
                merged.extend(app_impl.token_details(&tokens.raw).settings);
                let settings_json = settings::to_json(&merged);
                let api_base_url = api_base_url(endpoints, &settings_json)?;
                store::save_refreshed(
                    &self.inner.db,
                    current.id,
                    Refreshed {
                        access_token_enc: access_enc,
                        refresh_token_enc: Some(refresh_enc),
                        expires_at_ms,
                        scopes: tokens.scopes,
                        settings_json,
                    },
                    now,
                )
                .await?;
                tracing::info!(connection_id = %current.id, app = %app, "refreshed an app token");
                self.inner
                    .metrics
                    .token_refresh(app.as_str(), RefreshOutcome::Refreshed);
                Ok(AppToken {
                    access_token: tokens.access_token,
                    api_base_url,
                    connection_id: current.id,
                })
            }
            Err(ProviderError::Refused(code)) => {
                // Another instance (sharing PostgreSQL) may have refreshed, and rotated
                // the refresh token we used, meanwhile: then its tokens are good.
                if let Some(latest) =
                    store::connection_fresh(&self.inner.db, platform_id, end_user_id, app.as_str())
                        .await?
                    && latest.id == current.id
                    && latest.status != STATUS_NEEDS_REAUTH
                    && latest.refresh_token_enc != current.refresh_token_enc
                {
                    return self.app_token(&latest, endpoints);
                }
                tracing::warn!(connection_id = %current.id, app = %app, error = %code,
                    "the provider refused a token refresh; the connection needs re-authorization");
                store::mark_needs_reauth(&self.inner.db, current.id, self.inner.clock.now())
                    .await?;
                self.inner
                    .metrics
                    .token_refresh(app.as_str(), RefreshOutcome::Refused);
                Err(self.needs_reauth(platform_id, end_user_id, app))
            }
            Err(ProviderError::Failed(reason)) => {
                tracing::warn!(connection_id = %current.id, app = %app, %reason, "token refresh failed");
                self.inner
                    .metrics
                    .token_refresh(app.as_str(), RefreshOutcome::Failed);
                Err(TokenError::Failed(Error::upstream(
                    "the provider's token endpoint did not answer usably",
                )))
            }
        }
    }
}

enum Leased {
    Taken(ConnectionRow),
    RefreshedElsewhere(ConnectionRow),
}

/// How long an instance may hold a refresh lease (longer than a token request).
const REFRESH_LEASE_MS: i64 = 30_000;
const LEASE_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// The connection's API base URL: the endpoint template with its settings filled in.
fn api_base_url(endpoints: &Endpoints, settings_json: &str) -> Result<String, TokenError> {
    settings::fill_url(
        "api_base_url",
        &endpoints.api_base_url,
        &settings::parse(settings_json),
    )
    .map_err(|reason| TokenError::Failed(Error::internal(reason)))
}

fn expires_soon(row: &ConnectionRow, now_ms: i64) -> bool {
    row.expires_at_ms
        .is_some_and(|at| at - now_ms < REFRESH_AHEAD_MS)
}
