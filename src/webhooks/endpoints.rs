//! Webhook endpoints: a URL (https, or http where the operator allows it; its
//! addresses checked by the [`guard`](super::guard)), an event-type filter, a
//! description, enabled or not, and the `whsec_` secret, sealed at rest so the
//! operator and the platform can reveal it again.

use assistiv_app_sdk::reqwest::Url;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::store::endpoints::{self as store, EndpointFields, EndpointRow};
use super::{EVENT_TYPES, ROTATION_OVERLAP, Webhooks, ms, signing, time};
use crate::domain::paging::PageRequest;
use crate::error::{Error, Result};
use crate::oauth::vault::aad;

/// Most endpoints one platform may have.
pub const MAX_ENDPOINTS: i64 = 50;
const MAX_URL_LEN: usize = 2048;
const MAX_DESCRIPTION_LEN: usize = 500;

/// The body of create (`url` required) and update (every field optional).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointInput {
    pub url: Option<String>,
    #[serde(default, deserialize_with = "crate::domain::patch::double_option")]
    pub description: Option<Option<String>>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

impl EndpointRow {
    /// Whether the endpoint wants `event_type` (an empty filter wants all).
    pub fn wants(&self, event_type: &str) -> bool {
        self.event_types.0.is_empty() || self.event_types.0.iter().any(|t| t == event_type)
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointView {
    pub id: Uuid,
    pub platform_id: Uuid,
    pub url: String,
    pub description: Option<String>,
    /// Empty: every event type.
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why the gateway disabled it (410 Gone, or 5 days without a success).
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// The first failed attempt since the last success.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation also signs.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&EndpointRow> for EndpointView {
    fn from(row: &EndpointRow) -> Self {
        Self {
            id: row.id,
            platform_id: row.platform_id,
            url: row.url.clone(),
            description: row.description.clone(),
            event_types: row.event_types.0.clone(),
            enabled: row.enabled,
            disabled_reason: row.disabled_reason.clone(),
            disabled_at: row.disabled_at_ms.map(time),
            failing_since: row.failing_since_ms.map(time),
            previous_secret_expires_at: row.previous_secret_until_ms.map(time),
            created_at: time(row.created_at_ms),
            updated_at: time(row.updated_at_ms),
        }
    }
}

/// An endpoint with its signing secret (at creation).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedEndpoint {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    pub secret: String,
}

/// The signing secret(s), revealed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SecretView {
    pub endpoint_id: Uuid,
    pub secret: String,
    /// The secret before the last rotation, while it still signs.
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
}

/// The event-type filter, checked, sorted and without duplicates.
fn parse_event_types(types: Vec<String>) -> Result<Vec<String>> {
    let mut types = types;
    if let Some(unknown) = types.iter().find(|t| !EVENT_TYPES.contains(&t.as_str())) {
        return Err(Error::bad_request(format!(
            "event_types: unknown event type '{unknown}'; expected some of {}",
            EVENT_TYPES.join(", ")
        )));
    }
    types.sort();
    types.dedup();
    Ok(types)
}

fn parse_description(description: Option<String>) -> Result<Option<String>> {
    match description {
        Some(d) if d.chars().count() > MAX_DESCRIPTION_LEN => Err(Error::bad_request(format!(
            "description: at most {MAX_DESCRIPTION_LEN} characters"
        ))),
        Some(d) if d.trim().is_empty() => Ok(None),
        other => Ok(other),
    }
}

impl Webhooks {
    /// A URL deliveries may go to, normalised; a clear 400 otherwise.
    pub async fn check_url(&self, raw: &str) -> Result<String> {
        let raw = raw.trim();
        if raw.len() > MAX_URL_LEN {
            return Err(Error::bad_request(format!(
                "url: at most {MAX_URL_LEN} characters"
            )));
        }
        let url = Url::parse(raw)
            .map_err(|e| Error::bad_request(format!("url: not a valid URL ({e})")))?;
        match url.scheme() {
            "https" => {}
            "http" if self.settings.allow_http => {}
            "http" => {
                return Err(Error::bad_request(
                    "url: must be https:// (the operator allows http:// with ASSISTIV_WEBHOOK_ALLOW_HTTP)",
                ));
            }
            other => {
                return Err(Error::bad_request(format!(
                    "url: the scheme must be https, not {other}"
                )));
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::bad_request("url: must not carry credentials"));
        }
        self.settings
            .guard
            .vet(&url)
            .await
            .map_err(|why| Error::bad_request(format!("url: refused: {why}")))?;
        Ok(url.to_string())
    }

    pub(super) async fn endpoint_row(&self, platform_id: Uuid, id: Uuid) -> Result<EndpointRow> {
        store::get(&self.db, platform_id, id)
            .await?
            .ok_or_else(|| Error::not_found("webhook endpoint not found"))
    }

    pub async fn create(&self, platform_id: Uuid, input: EndpointInput) -> Result<CreatedEndpoint> {
        let url = input
            .url
            .as_deref()
            .ok_or_else(|| Error::bad_request("url is required"))?;
        let url = self.check_url(url).await?;
        let event_types = parse_event_types(input.event_types.unwrap_or_default())?;
        let description = parse_description(input.description.flatten())?;
        if crate::store::platforms::get(&self.db, platform_id)
            .await?
            .is_none()
        {
            return Err(Error::not_found("platform not found"));
        }
        let id = Uuid::now_v7();
        let secret = signing::new_secret();
        let sealed = self
            .vault
            .seal(&secret, &aad::webhook_secret(id))
            .map_err(Error::internal)?;
        let now = ms(self.clock.now());
        let mut tx = self.db.begin().await?;
        if store::count_in(&mut tx, platform_id).await? >= MAX_ENDPOINTS {
            return Err(Error::conflict(format!(
                "a platform has at most {MAX_ENDPOINTS} webhook endpoints"
            )));
        }
        let fields = EndpointFields {
            url,
            description,
            event_types,
            enabled: input.enabled.unwrap_or(true),
            now_ms: now,
        };
        store::insert(&mut tx, platform_id, id, &fields, sealed).await?;
        tx.commit().await?;
        let row = self.endpoint_row(platform_id, id).await?;
        Ok(CreatedEndpoint {
            endpoint: (&row).into(),
            secret: secret.expose_secret().to_owned(),
        })
    }

    pub async fn list(
        &self,
        platform_id: Uuid,
        page: PageRequest,
    ) -> Result<(Vec<EndpointView>, i64)> {
        let rows = store::page(&self.db, platform_id, i64::from(page.limit), page.offset()).await?;
        let total = store::count(&self.db, platform_id).await?;
        Ok((rows.iter().map(Into::into).collect(), total))
    }

    pub async fn get(&self, platform_id: Uuid, id: Uuid) -> Result<EndpointView> {
        Ok((&self.endpoint_row(platform_id, id).await?).into())
    }

    /// Changes what `input` names. Enabling an endpoint clears why it was disabled
    /// and its failure streak.
    pub async fn update(
        &self,
        platform_id: Uuid,
        id: Uuid,
        input: EndpointInput,
    ) -> Result<EndpointView> {
        let row = self.endpoint_row(platform_id, id).await?;
        let url = match input.url.as_deref() {
            Some(url) => self.check_url(url).await?,
            None => row.url.clone(),
        };
        let event_types = match input.event_types {
            Some(types) => parse_event_types(types)?,
            None => row.event_types.0.clone(),
        };
        let description = match input.description {
            Some(d) => parse_description(d)?,
            None => row.description.clone(),
        };
        let enabled = input.enabled.unwrap_or(row.enabled);
        let reenabled = enabled && !row.enabled;
        let fields = EndpointFields {
            url,
            description,
            event_types,
            enabled,
            now_ms: ms(self.clock.now()),
        };
        store::update(&self.db, platform_id, id, &fields, reenabled).await?;
        self.get(platform_id, id).await
    }

    /// Deletes the endpoint and its delivery log.
    pub async fn delete(&self, platform_id: Uuid, id: Uuid) -> Result<()> {
        if !store::delete(&self.db, platform_id, id).await? {
            return Err(Error::not_found("webhook endpoint not found"));
        }
        Ok(())
    }

    /// The current secret and, during a rotation's overlap, the previous one.
    pub(super) fn secrets_of(
        &self,
        row: &EndpointRow,
        now_ms: i64,
    ) -> Result<(SecretString, Option<SecretString>)> {
        let current = self
            .vault
            .open(&row.secret_enc, &aad::webhook_secret(row.id))
            .map_err(Error::internal)?;
        let previous = match (&row.previous_secret_enc, row.previous_secret_until_ms) {
            (Some(sealed), Some(until)) if until > now_ms => Some(
                self.vault
                    .open(sealed, &aad::webhook_previous_secret(row.id))
                    .map_err(Error::internal)?,
            ),
            _ => None,
        };
        Ok((current, previous))
    }

    fn secret_view(&self, row: &EndpointRow) -> Result<SecretView> {
        let now = ms(self.clock.now());
        let (current, previous) = self.secrets_of(row, now)?;
        Ok(SecretView {
            endpoint_id: row.id,
            secret: current.expose_secret().to_owned(),
            previous_secret_expires_at: previous
                .as_ref()
                .and(row.previous_secret_until_ms.map(time)),
            previous_secret: previous.map(|s| s.expose_secret().to_owned()),
        })
    }

    pub async fn reveal(&self, platform_id: Uuid, id: Uuid) -> Result<SecretView> {
        let row = self.endpoint_row(platform_id, id).await?;
        self.secret_view(&row)
    }

    /// A new secret; the current one keeps signing beside it for 24 hours.
    pub async fn rotate(&self, platform_id: Uuid, id: Uuid) -> Result<SecretView> {
        let row = self.endpoint_row(platform_id, id).await?;
        let now = self.clock.now();
        let (current, _) = self.secrets_of(&row, ms(now))?;
        let secret = signing::new_secret();
        let sealed = self
            .vault
            .seal(&secret, &aad::webhook_secret(id))
            .map_err(Error::internal)?;
        let previous = self
            .vault
            .seal(&current, &aad::webhook_previous_secret(id))
            .map_err(Error::internal)?;
        // Matching the old ciphertext: of two rotations at once, one wins.
        let rotated = store::rotate_secret(
            &self.db,
            &row,
            sealed,
            previous,
            ms(now + ROTATION_OVERLAP),
            ms(now),
        )
        .await?;
        if !rotated {
            return Err(Error::conflict(
                "the secret changed meanwhile (another rotation); reveal it and retry",
            ));
        }
        let row = self.endpoint_row(platform_id, id).await?;
        self.secret_view(&row)
    }
}
