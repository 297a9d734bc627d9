//! The connect flow: authorize URL with state + PKCE and connect-time settings, the
//! callback's code exchange, and removing a connection (revoked at the provider).

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Utc};
use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, RedirectUrl};
use rand::RngCore;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::activations::split_scopes;
use super::broker::{Broker, Endpoints};
use super::link::LinkError;
use super::provider::{self, ClientCredentials, RevokeRequest};
use super::settings;
use super::store::{
    self, ActivationRow, ConnectionRow, Consumed, RETURN_TO_CONNECT_PAGE, STATUS_CONNECTED,
    StateRow,
};
use super::vault::aad;
pub use super::views::{ConnectFieldView, ConnectionView, MyAppView, PlatformAppView};

use crate::apps::{App, AppSlug};
use crate::error::{Error, Result};
use crate::tenancy::rate_limits::check_end_user;
use assistiv_app_sdk::CallContext;

/// How long asking the provider whose account was connected may take.
const ACCOUNT_LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// How long an authorization (its `state`) may take.
const STATE_TTL_MS: i64 = 10 * 60 * 1000;

/// Where to send the browser to consent.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Authorization {
    pub authorize_url: String,
    pub expires_at: DateTime<Utc>,
}

/// `GET /oauth/callback` query.
#[derive(Debug, Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    /// Everything else the provider sent (Zoho's `accounts-server`, `location`), for
    /// the app's `settings_from_callback`.
    #[serde(flatten)]
    pub extra: BTreeMap<String, String>,
}

/// `POST /v1/me/apps/{app}/connect` body (optional).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectInput {
    /// Values for the app's connect fields, e.g. `{"subdomain": "acme"}` for Zendesk.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

/// Where the browser lands after the provider's callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnTo {
    /// `{base_url}/mcp/oauth-callback` of the platform's activation.
    Platform,
    /// The hosted connect page.
    ConnectPage,
}

/// `raw` percent-encoded for one URL path segment.
fn path_segment(raw: &str) -> String {
    oauth2::url::form_urlencoded::byte_serialize(raw.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn state_hash(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

/// A provider's error code, reduced to characters safe to echo in a URL.
fn safe_code(raw: &str) -> String {
    let code: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-' || *c == '.')
        .take(64)
        .collect();
    if code.is_empty() {
        "authorization_failed".into()
    } else {
        code
    }
}

/// `{base_url}/mcp/oauth-callback?app=..&status=..[&error=..]`.
fn landing_url(base_url: &str, app: &str, error: Option<&str>) -> Result<String> {
    result_url(
        &format!("{}/mcp/oauth-callback", base_url.trim_end_matches('/')),
        app,
        error,
    )
}

/// `{public_url}/connect?app=..&status=..[&error=..]`: back on the hosted page.
fn connect_page_landing(public_url: &str, app: &str, error: Option<&str>) -> Result<String> {
    result_url(&format!("{public_url}/connect"), app, error)
}

/// `page` with the outcome in its query: `status=connected`, or `status=error` and a
/// URL-safe `error` code.
fn result_url(page: &str, app: &str, error: Option<&str>) -> Result<String> {
    let mut url = oauth2::url::Url::parse(page).map_err(Error::internal)?;
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("app", app);
        match error {
            None => query.append_pair("status", "connected"),
            Some(code) => query
                .append_pair("status", "error")
                .append_pair("error", &safe_code(code)),
        };
    }
    Ok(url.into())
}

impl Broker {
    async fn activation_of(&self, platform_id: Uuid, slug: &AppSlug) -> Result<ActivationRow> {
        store::activation(&self.inner.db, platform_id, slug.as_str())
            .await?
            .ok_or_else(|| {
                Error::not_found(format!(
                    "the app '{slug}' is not activated for this platform"
                ))
            })
    }

    /// Starts a connection: a single-use `state` (10 min) and the authorize URL,
    /// with the end user's connect-time settings (a Zendesk subdomain) checked and
    /// bound to the state.
    pub async fn begin(
        &self,
        platform_id: Uuid,
        end_user_id: Uuid,
        app: &str,
        input: &ConnectInput,
        return_to: ReturnTo,
    ) -> Result<Authorization> {
        let slug = AppSlug::parse(&self.inner.apps, app)?;
        let app = Arc::clone(self.app(slug.as_str())?);
        let spec = app.oauth().clone();
        let activation = self.activation_of(platform_id, &slug).await?;
        check_end_user(&self.inner.db, platform_id, end_user_id).await?;
        let endpoints = Endpoints::of(&spec, &activation);
        let connect_settings = settings::from_connect_input(app.as_ref(), &input.settings)?;
        let authorize_url =
            settings::fill_url("authorize_url", &endpoints.authorize_url, &connect_settings)
                .map_err(Error::bad_request)?;

        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let state = B64.encode(raw);
        let hash = state_hash(&state);

        let auth_url =
            AuthUrl::new(authorize_url).map_err(|_| Error::internal("invalid authorize URL"))?;
        let redirect = RedirectUrl::new(self.redirect_uri())
            .map_err(|_| Error::internal("invalid public URL"))?;
        let client = BasicClient::new(ClientId::new(activation.client_id.clone()))
            .set_auth_uri(auth_url)
            .set_redirect_uri(redirect);
        let state_for_request = state.clone();
        let mut request = client.authorize_url(move || CsrfToken::new(state_for_request));
        let scopes = split_scopes(&activation.scopes);
        if !scopes.is_empty() {
            // Joined with the provider's own separator (not always a space).
            request = request.add_extra_param(app.scope_param(), spec.join_scopes(&scopes));
        }
        let mut pkce_verifier_enc = None;
        if spec.pkce_s256 {
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            request = request.set_pkce_challenge(challenge);
            let verifier = SecretString::from(verifier.secret().to_owned());
            pkce_verifier_enc = Some(
                self.inner
                    .vault
                    .seal(&verifier, &aad::pkce_verifier(&hash))
                    .map_err(Error::internal)?,
            );
        }
        for (name, value) in spec.extra_authorize_params {
            request = request.add_extra_param(*name, *value);
        }
        let (url, _) = request.url();

        let now_ms = self.now_ms();
        let expires_at_ms = now_ms + STATE_TTL_MS;
        store::insert_state(
            &self.inner.db,
            &hash,
            &StateRow {
                platform_id,
                end_user_id,
                app: slug.as_str().to_owned(),
                pkce_verifier_enc,
                expires_at_ms,
                settings_json: settings::to_json(&connect_settings),
                return_to: (return_to == ReturnTo::ConnectPage)
                    .then(|| RETURN_TO_CONNECT_PAGE.to_owned()),
            },
            now_ms,
        )
        .await?;
        Ok(Authorization {
            authorize_url: url.into(),
            expires_at: DateTime::from_timestamp_millis(expires_at_ms).unwrap_or_default(),
        })
    }

    /// `GET /oauth/start?t=`: a valid signed link becomes a fresh authorize URL (with
    /// the connect-time settings the start page asked for).
    pub async fn begin_from_link(&self, token: &str, input: &ConnectInput) -> Result<String> {
        let claims = self
            .inner
            .links
            .verify(token, self.now_ms())
            .map_err(|e| match e {
                LinkError::Invalid => Error::bad_request("invalid connect link"),
                LinkError::Expired => {
                    Error::bad_request("this connect link has expired; ask for a new one")
                }
            })?;
        self.begin(
            claims.platform_id,
            claims.end_user_id,
            &claims.app,
            input,
            ReturnTo::Platform,
        )
        .await
        .map(|a| a.authorize_url)
    }

    /// The app a valid start link names, to ask for its connect fields first.
    pub fn link_app(&self, token: &str) -> Result<Arc<dyn App>> {
        let claims = self
            .inner
            .links
            .verify(token, self.now_ms())
            .map_err(|_| Error::bad_request("invalid or expired connect link"))?;
        self.app(&claims.app).cloned()
    }

    /// `GET /oauth/callback`: where to send the browser. Refusals that cannot name a
    /// platform (no, unknown or foreign state) are errors; the rest land on the
    /// platform's page with `status=error`.
    pub async fn callback(&self, params: CallbackParams) -> Result<String> {
        let state = params
            .state
            .as_deref()
            .filter(|s| !s.is_empty() && s.len() <= 200)
            .ok_or_else(|| Error::bad_request("missing state"))?;
        let hash = state_hash(state);
        let now = self.inner.clock.now();
        let (row, replayed) = match store::consume_state(&self.inner.db, &hash, now).await? {
            Consumed::Unknown => {
                return Err(Error::bad_request("unknown or expired authorization state"));
            }
            Consumed::Replayed(row) => (row, true),
            Consumed::Fresh(row) => (row, false),
        };
        let slug = AppSlug::parse(&self.inner.apps, &row.app)
            .map_err(|_| Error::bad_request("unknown or expired authorization state"))?;
        let activation = store::activation(&self.inner.db, row.platform_id, slug.as_str())
            .await?
            .ok_or_else(|| Error::bad_request("this app is no longer activated"))?;
        let landing = |error: Option<&str>| match row.return_to.as_deref() {
            Some(RETURN_TO_CONNECT_PAGE) => {
                connect_page_landing(&self.inner.public_url, slug.as_str(), error)
            }
            _ => landing_url(&activation.base_url, slug.as_str(), error),
        };
        let fail = |code: &str| landing(Some(code));
        if replayed {
            return fail("state_used");
        }
        if row.expires_at_ms <= now.timestamp_millis() {
            return fail("state_expired");
        }
        if let Some(error) = &params.error {
            return fail(error);
        }
        let Some(code) = params.code.as_deref().filter(|c| !c.is_empty()) else {
            return fail("missing_code");
        };
        match self
            .exchange(&row, &hash, &slug, &activation, code, &params.extra)
            .await
        {
            Ok(()) => landing(None),
            Err(code) => fail(code),
        }
    }

    /// Exchanges the code and stores the connection; an error code for the landing
    /// page on failure.
    async fn exchange(
        &self,
        row: &StateRow,
        state_hash: &str,
        slug: &AppSlug,
        activation: &ActivationRow,
        code: &str,
        callback_query: &BTreeMap<String, String>,
    ) -> Result<(), &'static str> {
        let app = Arc::clone(self.app(slug.as_str()).map_err(|_| "server_error")?);
        let endpoints = Endpoints::of(app.oauth(), activation);
        // Connect-time settings, then what the callback reports (Zoho's data centre).
        let mut known = settings::parse(&row.settings_json);
        let reported = app
            .settings_from_callback(callback_query, &settings::operator_origins(activation))
            .map_err(|reason| {
                tracing::warn!(app = %slug, %reason, "refused the callback's parameters");
                "invalid_callback"
            })?;
        known.extend(reported);
        let token_url =
            settings::fill_url("token_url", &endpoints.token_url, &known).map_err(|reason| {
                tracing::warn!(app = %slug, %reason, "no usable token URL for this connection");
                "invalid_callback"
            })?;
        let vault = &self.inner.vault;
        let verifier = row
            .pkce_verifier_enc
            .as_ref()
            .map(|enc| vault.open(enc, &aad::pkce_verifier(state_hash)))
            .transpose()
            .map_err(|_| "server_error")?;
        let client_secret = vault
            .open(
                &activation.client_secret_enc,
                &aad::client_secret(activation.platform_id, slug.as_str()),
            )
            .map_err(|_| "server_error")?;
        let credentials = ClientCredentials {
            client_id: &activation.client_id,
            client_secret: &client_secret,
            token_url: &token_url,
        };
        let tokens = provider::exchange_code(
            &self.inner.http,
            &app,
            &credentials,
            &self.redirect_uri(),
            code,
            verifier.as_ref(),
        )
        .await
        .map_err(|e| {
            tracing::warn!(app = %slug, error = ?e, "authorization code exchange failed");
            "token_exchange_failed"
        })?;
        let mut details = app.token_details(&tokens.raw);
        known.extend(details.settings);
        if details.account_login.is_none() {
            details.account_login = self
                .ask_account(&app, &endpoints, &known, &tokens.access_token)
                .await;
        }

        let now = self.inner.clock.now();
        let id = Uuid::now_v7();
        let access_token_enc = vault
            .seal(&tokens.access_token, &aad::access_token(id))
            .map_err(|_| "server_error")?;
        let refresh_token_enc = tokens
            .refresh_token
            .as_ref()
            .map(|t| vault.seal(t, &aad::refresh_token(id)))
            .transpose()
            .map_err(|_| "server_error")?;
        let connection = ConnectionRow {
            id,
            platform_id: row.platform_id,
            end_user_id: row.end_user_id,
            app: slug.as_str().to_owned(),
            status: STATUS_CONNECTED.to_owned(),
            access_token_enc,
            refresh_token_enc,
            expires_at_ms: tokens
                .expires_in
                .map(|d| now.timestamp_millis() + d.as_millis() as i64),
            scopes: tokens
                .scopes
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| activation.scopes.clone()),
            account_login: details.account_login,
            account_label: details.account_label,
            settings_json: settings::to_json(&known),
            created_at: now,
            updated_at: now,
        };
        let stored = async {
            let mut tx = self.inner.db.begin().await?;
            store::upsert_connection(&mut tx, &connection).await?;
            tx.commit().await
        }
        .await;
        stored.map_err(|e| {
            tracing::error!(error = %e, "storing a connection failed");
            "server_error"
        })?;
        tracing::info!(app = %slug, connection_id = %id, "app connected");
        Ok(())
    }

    /// Who the new token acts as, when the token response did not say: the app asks
    /// its provider (GitHub's `GET /user`). Best effort, bounded by a short timeout.
    async fn ask_account(
        &self,
        app: &Arc<dyn App>,
        endpoints: &Endpoints,
        known: &assistiv_app_sdk::ConnectionSettings,
        access_token: &SecretString,
    ) -> Option<String> {
        let api_base_url =
            settings::fill_url("api_base_url", &endpoints.api_base_url, known).ok()?;
        let ctx = CallContext {
            access_token: access_token.clone(),
            api_base_url,
            http: self.inner.http.clone(),
            timeout: ACCOUNT_LOOKUP_TIMEOUT,
        };
        let login = app.account_login(&ctx).await;
        if login.is_none() {
            tracing::debug!(
                app = app.slug(),
                "the provider did not say whose account was connected"
            );
        }
        login
    }

    /// Best-effort revocation of a connection's tokens at the provider, in its style.
    pub(super) async fn revoke_at_provider(
        &self,
        activation: &ActivationRow,
        connection: &ConnectionRow,
    ) {
        let Ok(app) = self.app(&activation.app) else {
            return;
        };
        let endpoints = Endpoints::of(app.oauth(), activation);
        let Some(template) = endpoints.revoke_url else {
            return;
        };
        // Besides the connection's settings, a revoke URL may name the client id and
        // the effective API base URL (GitHub's `{api_base_url}/applications/{client_id}/grant`).
        let mut known = settings::parse(&connection.settings_json);
        if let Ok(api) = settings::fill_url("api_base_url", &endpoints.api_base_url, &known) {
            known.entry("api_base_url".into()).or_insert(api);
        }
        known
            .entry("client_id".into())
            .or_insert_with(|| path_segment(&activation.client_id));
        let vault = &self.inner.vault;
        let (Ok(revoke_url), Ok(secret), Ok(token)) = (
            settings::fill_url("revoke_url", &template, &known),
            vault.open(
                &activation.client_secret_enc,
                &aad::client_secret(activation.platform_id, &activation.app),
            ),
            vault.open(
                &connection.access_token_enc,
                &aad::access_token(connection.id),
            ),
        ) else {
            return;
        };
        let refresh = connection
            .refresh_token_enc
            .as_ref()
            .and_then(|enc| vault.open(enc, &aad::refresh_token(connection.id)).ok());
        let request = RevokeRequest {
            revoke_url: &revoke_url,
            client_id: &activation.client_id,
            client_secret: &secret,
            access_token: &token,
            refresh_token: refresh.as_ref(),
        };
        if let Err(reason) = provider::revoke(&self.inner.http, app.revocation(), &request).await {
            tracing::warn!(app = %activation.app, connection_id = %connection.id, %reason,
                "revoking a token at the provider failed; the connection is removed anyway");
        }
    }

    /// Removes the end user's connection (revoking at the provider when it can).
    pub async fn disconnect(&self, platform_id: Uuid, end_user_id: Uuid, app: &str) -> Result<()> {
        let slug = AppSlug::parse(&self.inner.apps, app)?;
        check_end_user(&self.inner.db, platform_id, end_user_id).await?;
        let removed =
            store::delete_connection(&self.inner.db, platform_id, end_user_id, slug.as_str())
                .await?
                .ok_or_else(|| Error::not_found(format!("no {slug} connection")))?;
        if let Some(activation) =
            store::activation(&self.inner.db, platform_id, slug.as_str()).await?
        {
            self.revoke_at_provider(&activation, &removed).await;
        }
        Ok(())
    }
}
