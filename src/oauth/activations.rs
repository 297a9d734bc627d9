//! The operator's side: activating an app for a platform (client credentials,
//! scopes, the platform's landing URL, endpoint overrides) and deactivating it.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::broker::{Broker, Endpoints};
use super::settings;
use super::store::{self, ActivationRow};
use super::vault::aad;
use crate::apps::AppSlug;
use crate::error::{Error, Result};
use crate::tenancy::platforms;

/// Scopes as an array or one space- (or comma-) separated string.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ScopesInput {
    List(Vec<String>),
    Text(String),
}

/// `PUT /admin/v1/platforms/{pid}/apps/{app}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateInput {
    pub client_id: String,
    /// Write-only. Required on first activation; absent on update keeps the old one.
    #[schema(value_type = Option<String>)]
    pub client_secret: Option<SecretString>,
    pub scopes: Option<ScopesInput>,
    /// The platform's landing URL; the browser returns to `{base_url}/mcp/oauth-callback`.
    pub base_url: String,
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub revoke_url: Option<String>,
    pub api_base_url: Option<String>,
}

/// An activation as shown: never the client secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActivationView {
    pub platform_id: Uuid,
    pub app: String,
    pub display_name: String,
    pub client_id: String,
    pub has_client_secret: bool,
    pub scopes: Vec<String>,
    pub base_url: String,
    /// Overrides as configured (`null`: the app's default).
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub revoke_url: Option<String>,
    pub api_base_url: Option<String>,
    /// What is used: the overrides or the app's defaults.
    pub effective: EffectiveEndpoints,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EffectiveEndpoints {
    pub authorize_url: String,
    pub token_url: String,
    pub revoke_url: Option<String>,
    pub api_base_url: String,
}

/// What deactivating removed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Deactivated {
    pub app: String,
    pub deactivated: bool,
    pub connections_removed: usize,
}

/// An http(s) URL without credentials or fragment; returned without a trailing slash.
pub fn parse_url(field: &str, raw: &str) -> Result<String> {
    let raw = raw.trim();
    let url = oauth2::url::Url::parse(raw)
        .map_err(|_| Error::bad_request(format!("{field} must be an absolute http(s) URL")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::bad_request(format!(
            "{field} must be an http(s) URL"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(Error::bad_request(format!(
            "{field} must not carry credentials or a fragment"
        )));
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

fn parse_scopes(input: Option<ScopesInput>, defaults: &[&str]) -> Result<Vec<String>> {
    let scopes: Vec<String> = match input {
        None => return Ok(defaults.iter().map(|s| (*s).to_owned()).collect()),
        Some(ScopesInput::List(list)) => list,
        Some(ScopesInput::Text(text)) => text
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    let mut out: Vec<String> = Vec::with_capacity(scopes.len());
    for scope in scopes {
        let valid = !scope.is_empty()
            && scope.len() <= 200
            && scope
                .chars()
                .all(|c| c.is_ascii_graphic() && c != ',' && c != '"' && c != '\\');
        if !valid {
            return Err(Error::bad_request(format!("invalid scope '{scope}'")));
        }
        if !out.contains(&scope) {
            out.push(scope);
        }
    }
    if out.len() > 100 {
        return Err(Error::bad_request("at most 100 scopes"));
    }
    Ok(out)
}

pub fn split_scopes(stored: &str) -> Vec<String> {
    stored.split_whitespace().map(str::to_owned).collect()
}

impl Broker {
    fn view(&self, row: &ActivationRow) -> Result<ActivationView> {
        let app = self.app(&row.app)?;
        let endpoints = Endpoints::of(app.oauth(), row);
        Ok(ActivationView {
            platform_id: row.platform_id,
            app: row.app.clone(),
            display_name: app.display_name().to_owned(),
            client_id: row.client_id.clone(),
            has_client_secret: !row.client_secret_enc.is_empty(),
            scopes: split_scopes(&row.scopes),
            base_url: row.base_url.clone(),
            authorize_url: row.authorize_url.clone(),
            token_url: row.token_url.clone(),
            revoke_url: row.revoke_url.clone(),
            api_base_url: row.api_base_url.clone(),
            effective: EffectiveEndpoints {
                authorize_url: endpoints.authorize_url,
                token_url: endpoints.token_url,
                revoke_url: endpoints.revoke_url,
                api_base_url: endpoints.api_base_url,
            },
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    /// Activates (or updates) `app` for the platform; the view and whether it is new.
    pub async fn activate(
        &self,
        platform_id: Uuid,
        app: &str,
        input: ActivateInput,
    ) -> Result<(ActivationView, bool)> {
        let slug = AppSlug::parse(&self.inner.apps, app)?;
        let spec = self.app(slug.as_str())?.oauth().clone();
        platforms::get(&self.inner.db, platform_id).await?;
        let client_id = input.client_id.trim().to_owned();
        if client_id.is_empty() || client_id.len() > 500 {
            return Err(Error::bad_request("client_id must be 1 to 500 characters"));
        }
        // Overrides may name connection settings as `{name}` (a per-customer host).
        let optional = |field: &str, value: Option<String>| -> Result<Option<String>> {
            value
                .map(|v| {
                    settings::check_template(field, &v)?;
                    Ok(v.trim().trim_end_matches('/').to_owned())
                })
                .transpose()
        };
        let base_url = parse_url("base_url", &input.base_url)?;
        let authorize_url = optional("authorize_url", input.authorize_url)?;
        let token_url = optional("token_url", input.token_url)?;
        let revoke_url = optional("revoke_url", input.revoke_url)?;
        let api_base_url = optional("api_base_url", input.api_base_url)?;
        let scopes = parse_scopes(input.scopes, spec.default_scopes)?;
        let existing = store::activation(&self.inner.db, platform_id, slug.as_str()).await?;
        let aad = aad::client_secret(platform_id, slug.as_str());
        let client_secret_enc = match (&input.client_secret, &existing) {
            (Some(secret), _) => {
                let len = secret.expose_secret().len();
                if len == 0 || len > 1000 {
                    return Err(Error::bad_request(
                        "client_secret must be 1 to 1000 characters",
                    ));
                }
                self.inner
                    .vault
                    .seal(secret, &aad)
                    .map_err(Error::internal)?
            }
            (None, Some(row)) => row.client_secret_enc.clone(),
            (None, None) => {
                return Err(Error::bad_request(
                    "client_secret is required to activate an app",
                ));
            }
        };
        let now = self.inner.clock.now();
        let row = ActivationRow {
            platform_id,
            app: slug.as_str().to_owned(),
            client_id,
            client_secret_enc,
            scopes: scopes.join(" "),
            base_url,
            authorize_url,
            token_url,
            revoke_url,
            api_base_url,
            created_at: existing.as_ref().map_or(now, |r| r.created_at),
            updated_at: now,
        };
        let created = store::upsert_activation(&self.inner.db, &row).await?;
        self.forget_activations(platform_id);
        Ok((self.view(&row)?, created))
    }

    pub async fn activation_view(&self, platform_id: Uuid, app: &str) -> Result<ActivationView> {
        let slug = AppSlug::parse(&self.inner.apps, app)?;
        platforms::get(&self.inner.db, platform_id).await?;
        let row = store::activation(&self.inner.db, platform_id, slug.as_str())
            .await?
            .ok_or_else(|| Error::not_found(format!("the app '{slug}' is not activated")))?;
        self.view(&row)
    }

    pub async fn activation_views(&self, platform_id: Uuid) -> Result<Vec<ActivationView>> {
        platforms::get(&self.inner.db, platform_id).await?;
        store::activations(&self.inner.db, platform_id)
            .await?
            .iter()
            .filter(|row| self.inner.apps.get(&row.app).is_some())
            .map(|row| self.view(row))
            .collect()
    }

    /// Deactivates `app`: the activation and every connection of it on the platform
    /// go, tokens revoked at the provider first when it can (best effort).
    pub async fn deactivate(&self, platform_id: Uuid, app: &str) -> Result<Deactivated> {
        let slug = AppSlug::parse(&self.inner.apps, app)?;
        platforms::get(&self.inner.db, platform_id).await?;
        let activation = store::activation(&self.inner.db, platform_id, slug.as_str())
            .await?
            .ok_or_else(|| Error::not_found(format!("the app '{slug}' is not activated")))?;
        let removed = store::delete_activation(&self.inner.db, platform_id, slug.as_str())
            .await?
            .ok_or_else(|| Error::not_found(format!("the app '{slug}' is not activated")))?;
        self.forget_activations(platform_id);
        for connection in &removed {
            self.revoke_at_provider(&activation, connection).await;
        }
        Ok(Deactivated {
            app: slug.as_str().to_owned(),
            deactivated: true,
            connections_removed: removed.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn urls_must_be_http_without_credentials() {
        assert_eq!(
            parse_url("u", "https://acme.example/app/").unwrap(),
            "https://acme.example/app"
        );
        assert!(parse_url("u", "http://127.0.0.1:9/x").is_ok());
        for bad in [
            "",
            "acme.example",
            "ftp://x",
            "https://u:p@x",
            "https://x/#f",
            "javascript:alert(1)",
        ] {
            assert!(parse_url("u", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes_from_a_list_or_a_string_or_the_defaults() {
        let defaults = ["repo", "read:user"];
        assert_eq!(
            parse_scopes(None, &defaults).unwrap(),
            ["repo", "read:user"]
        );
        assert_eq!(
            parse_scopes(Some(ScopesInput::Text("repo  gist,repo".into())), &defaults).unwrap(),
            ["repo", "gist"]
        );
        assert_eq!(
            parse_scopes(Some(ScopesInput::List(vec!["a".into()])), &defaults).unwrap(),
            ["a"]
        );
        assert!(parse_scopes(Some(ScopesInput::List(vec!["a b".into()])), &defaults).is_err());
        assert!(parse_scopes(Some(ScopesInput::List(vec![String::new()])), &defaults).is_err());
    }
}
