//! The connect flow (authorize URL with state + PKCE, the callback's code exchange)
//! and the connection listings and removals around it.

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
use super::provider::{self, ClientCredentials};
use super::store::{self, ActivationRow, ConnectionRow, Consumed, STATUS_CONNECTED, StateRow};
use super::vault::aad;
use crate::apps::AppSlug;
use crate::error::{ApiError, ApiResult};
use crate::tenancy::rate_limits::check_end_user;

/// How long an authorization (its `state`) may take.
const STATE_TTL_MS: i64 = 10 * 60 * 1000;

/// Where to send the browser to consent.
#[derive(Debug, Serialize)]
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
}

#[derive(Debug, Serialize)]
pub struct ConnectionView {
    pub id: Uuid,
    pub end_user_id: Uuid,
    pub app: String,
    pub status: String,
    pub scopes: Vec<String>,
    pub account_login: Option<String>,
    pub account_label: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&ConnectionRow> for ConnectionView {
    fn from(row: &ConnectionRow) -> Self {
        Self {
            id: row.id,
            end_user_id: row.end_user_id,
            app: row.app.clone(),
            status: row.status.clone(),
            scopes: split_scopes(&row.scopes),
            account_login: row.account_login.clone(),
            account_label: row.account_label.clone(),
            expires_at: row.expires_at_ms.and_then(DateTime::from_timestamp_millis),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// An activated app, for a platform's connect UI.
#[derive(Debug, Serialize)]
pub struct PlatformAppView {
    pub app: String,
    pub display_name: String,
    pub scopes: Vec<String>,
    pub tool_count: usize,
}

/// An activated app as one end user sees it.
#[derive(Debug, Serialize)]
pub struct MyAppView {
    pub app: String,
    pub display_name: String,
    pub scopes: Vec<String>,
    pub tool_count: usize,
    pub connected: bool,
    /// `connected`, `needs_reauth` or `not_connected`.
    pub status: String,
    pub account_login: Option<String>,
    pub connect_url: String,
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
fn landing_url(base_url: &str, app: &str, error: Option<&str>) -> ApiResult<String> {
    let mut url = oauth2::url::Url::parse(&format!(
        "{}/mcp/oauth-callback",
        base_url.trim_end_matches('/')
    ))
    .map_err(ApiError::internal)?;
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
    async fn activation_of(&self, platform_id: Uuid, slug: &AppSlug) -> ApiResult<ActivationRow> {
        store::activation(&self.inner.db, platform_id, slug.as_str())
            .await?
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "the app '{slug}' is not activated for this platform"
                ))
            })
    }

    /// Starts a connection: a single-use `state` (10 min) and the authorize URL.
    pub async fn begin(
        &self,
        platform_id: Uuid,
        end_user_id: Uuid,
        app: &str,
    ) -> ApiResult<Authorization> {
        let slug = AppSlug::parse(&self.inner.apps, app)?;
        let spec = self.app(slug.as_str())?.oauth().clone();
        let activation = self.activation_of(platform_id, &slug).await?;
        check_end_user(&self.inner.db, platform_id, end_user_id).await?;
        let endpoints = Endpoints::of(&spec, &activation);

        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let state = B64.encode(raw);
        let hash = state_hash(&state);

        let auth_url = AuthUrl::new(endpoints.authorize_url.clone())
            .map_err(|_| ApiError::internal("invalid authorize URL"))?;
        let redirect = RedirectUrl::new(self.redirect_uri())
            .map_err(|_| ApiError::internal("invalid public URL"))?;
        let client = BasicClient::new(ClientId::new(activation.client_id.clone()))
            .set_auth_uri(auth_url)
            .set_redirect_uri(redirect);
        let state_for_request = state.clone();
        let mut request = client.authorize_url(move || CsrfToken::new(state_for_request));
        let scopes = split_scopes(&activation.scopes);
        if !scopes.is_empty() {
            // Joined with the provider's own separator (not always a space).
            request = request.add_extra_param("scope", spec.join_scopes(&scopes));
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
                    .map_err(ApiError::internal)?,
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
            },
            now_ms,
        )
        .await?;
        Ok(Authorization {
            authorize_url: url.into(),
            expires_at: DateTime::from_timestamp_millis(expires_at_ms).unwrap_or_default(),
        })
    }

    /// `GET /oauth/start?t=`: a valid signed link becomes a fresh authorize URL.
    pub async fn begin_from_link(&self, token: &str) -> ApiResult<String> {
        let claims = self
            .inner
            .links
            .verify(token, self.now_ms())
            .map_err(|e| match e {
                LinkError::Invalid => ApiError::bad_request("invalid connect link"),
                LinkError::Expired => {
                    ApiError::bad_request("this connect link has expired; ask for a new one")
                }
            })?;
        self.begin(claims.platform_id, claims.end_user_id, &claims.app)
            .await
            .map(|a| a.authorize_url)
    }

    /// `GET /oauth/callback`: where to send the browser. Refusals that cannot name a
    /// platform (no, unknown or foreign state) are errors; the rest land on the
    /// platform's page with `status=error`.
    pub async fn callback(&self, params: CallbackParams) -> ApiResult<String> {
        let state = params
            .state
            .as_deref()
            .filter(|s| !s.is_empty() && s.len() <= 200)
            .ok_or_else(|| ApiError::bad_request("missing state"))?;
        let hash = state_hash(state);
        let now = self.inner.clock.now();
        let (row, replayed) = match store::consume_state(&self.inner.db, &hash, now).await? {
            Consumed::Unknown => {
                return Err(ApiError::bad_request(
                    "unknown or expired authorization state",
                ));
            }
            Consumed::Replayed(row) => (row, true),
            Consumed::Fresh(row) => (row, false),
        };
        let slug = AppSlug::parse(&self.inner.apps, &row.app)
            .map_err(|_| ApiError::bad_request("unknown or expired authorization state"))?;
        let activation = store::activation(&self.inner.db, row.platform_id, slug.as_str())
            .await?
            .ok_or_else(|| ApiError::bad_request("this app is no longer activated"))?;
        let fail = |code: &str| landing_url(&activation.base_url, slug.as_str(), Some(code));
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
        match self.exchange(&row, &hash, &slug, &activation, code).await {
            Ok(()) => landing_url(&activation.base_url, slug.as_str(), None),
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
    ) -> Result<(), &'static str> {
        let spec = self
            .app(slug.as_str())
            .map_err(|_| "server_error")?
            .oauth()
            .clone();
        let endpoints = Endpoints::of(&spec, activation);
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
            token_url: &endpoints.token_url,
        };
        let tokens = provider::exchange_code(
            &self.inner.http,
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
            account_login: None,
            account_label: None,
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

    /// Best-effort revocation of a connection's tokens at the provider.
    pub(super) async fn revoke_at_provider(
        &self,
        activation: &ActivationRow,
        connection: &ConnectionRow,
    ) {
        let Ok(app) = self.app(&activation.app) else {
            return;
        };
        let endpoints = Endpoints::of(app.oauth(), activation);
        let Some(revoke_url) = endpoints.revoke_url else {
            return;
        };
        let vault = &self.inner.vault;
        let (Ok(secret), Ok(token)) = (
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
        let mut result = provider::revoke(
            &self.inner.http,
            &revoke_url,
            &activation.client_id,
            &secret,
            &token,
            "access_token",
        )
        .await;
        if let Some(enc) = &connection.refresh_token_enc
            && let Ok(refresh) = vault.open(enc, &aad::refresh_token(connection.id))
        {
            result = result.and(
                provider::revoke(
                    &self.inner.http,
                    &revoke_url,
                    &activation.client_id,
                    &secret,
                    &refresh,
                    "refresh_token",
                )
                .await,
            );
        }
        if let Err(reason) = result {
            tracing::warn!(app = %activation.app, connection_id = %connection.id, %reason,
                "revoking a token at the provider failed; the connection is removed anyway");
        }
    }

    /// The platform's activated apps, for connect UIs.
    pub async fn platform_apps(&self, platform_id: Uuid) -> ApiResult<Vec<PlatformAppView>> {
        Ok(store::activations(&self.inner.db, platform_id)
            .await?
            .iter()
            .filter_map(|row| {
                let app = self.inner.apps.get(&row.app)?;
                Some(PlatformAppView {
                    app: row.app.clone(),
                    display_name: app.display_name().to_owned(),
                    scopes: split_scopes(&row.scopes),
                    tool_count: app.tools().len(),
                })
            })
            .collect())
    }

    /// Every activated app with this end user's connection state and a connect link.
    pub async fn my_apps(&self, platform_id: Uuid, end_user_id: Uuid) -> ApiResult<Vec<MyAppView>> {
        let connections = store::connections_of(&self.inner.db, platform_id, end_user_id).await?;
        let mut out = Vec::new();
        for app in self.platform_apps(platform_id).await? {
            let connection = connections.iter().find(|c| c.app == app.app);
            let slug = AppSlug::parse(&self.inner.apps, &app.app)?;
            out.push(MyAppView {
                connected: connection.is_some_and(|c| c.status == STATUS_CONNECTED),
                status: connection.map_or_else(|| "not_connected".to_owned(), |c| c.status.clone()),
                account_login: connection.and_then(|c| c.account_login.clone()),
                connect_url: self.connect_url(platform_id, end_user_id, &slug),
                app: app.app,
                display_name: app.display_name,
                scopes: app.scopes,
                tool_count: app.tool_count,
            });
        }
        Ok(out)
    }

    pub async fn connections(
        &self,
        platform_id: Uuid,
        end_user_id: Uuid,
    ) -> ApiResult<Vec<ConnectionView>> {
        check_end_user(&self.inner.db, platform_id, end_user_id).await?;
        Ok(
            store::connections_of(&self.inner.db, platform_id, end_user_id)
                .await?
                .iter()
                .map(ConnectionView::from)
                .collect(),
        )
    }

    pub async fn connection(
        &self,
        platform_id: Uuid,
        end_user_id: Uuid,
        app: &str,
    ) -> ApiResult<ConnectionView> {
        let slug = AppSlug::parse(&self.inner.apps, app)?;
        check_end_user(&self.inner.db, platform_id, end_user_id).await?;
        store::connection(&self.inner.db, platform_id, end_user_id, slug.as_str())
            .await?
            .as_ref()
            .map(ConnectionView::from)
            .ok_or_else(|| ApiError::not_found(format!("no {slug} connection")))
    }

    /// Removes the end user's connection (revoking at the provider when it can).
    pub async fn disconnect(
        &self,
        platform_id: Uuid,
        end_user_id: Uuid,
        app: &str,
    ) -> ApiResult<()> {
        let slug = AppSlug::parse(&self.inner.apps, app)?;
        check_end_user(&self.inner.db, platform_id, end_user_id).await?;
        let removed =
            store::delete_connection(&self.inner.db, platform_id, end_user_id, slug.as_str())
                .await?
                .ok_or_else(|| ApiError::not_found(format!("no {slug} connection")))?;
        if let Some(activation) =
            store::activation(&self.inner.db, platform_id, slug.as_str()).await?
        {
            self.revoke_at_provider(&activation, &removed).await;
        }
        Ok(())
    }
}
