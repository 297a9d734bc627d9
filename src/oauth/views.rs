//! What connect UIs and platforms see: activated apps (with what to ask the user
//! before connecting), an end user's apps with their connection state, connections.

use std::collections::BTreeMap;

use assistiv_app_sdk::ConnectField;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::activations::split_scopes;
use super::broker::Broker;
use super::settings;
use super::store::{self, ConnectionRow, STATUS_CONNECTED};
use crate::apps::AppSlug;
use crate::error::{Error, Result};
use crate::tenancy::rate_limits::check_end_user;

/// A connect field as shown to UIs.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConnectFieldView {
    pub name: &'static str,
    pub label: &'static str,
    pub help: &'static str,
}

fn field_views(fields: &[ConnectField]) -> Vec<ConnectFieldView> {
    fields
        .iter()
        .map(|f| ConnectFieldView {
            name: f.name,
            label: f.label,
            help: f.help,
        })
        .collect()
}

/// Who the end user connected as: the provider's login or id (GitHub's login, Slack's
/// user id) and, when the provider names one, a label (Slack's workspace).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    pub login: Option<String>,
    pub label: Option<String>,
}

/// `None` when the provider said nothing about the account.
fn account_of(row: &ConnectionRow) -> Option<AccountView> {
    (row.account_login.is_some() || row.account_label.is_some()).then(|| AccountView {
        login: row.account_login.clone(),
        label: row.account_label.clone(),
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectionView {
    pub id: Uuid,
    pub end_user_id: Uuid,
    pub app: String,
    pub status: String,
    pub scopes: Vec<String>,
    /// Who the user connected as; `null` when the provider does not say.
    pub account: Option<AccountView>,
    pub account_login: Option<String>,
    pub account_label: Option<String>,
    /// Per-connection settings (a Zendesk subdomain, a Zoho data centre).
    pub settings: BTreeMap<String, String>,
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
            account: account_of(row),
            account_login: row.account_login.clone(),
            account_label: row.account_label.clone(),
            settings: settings::parse(&row.settings_json),
            expires_at: row.expires_at_ms.and_then(DateTime::from_timestamp_millis),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// An activated app, for a platform's connect UI.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlatformAppView {
    pub app: String,
    pub display_name: String,
    pub scopes: Vec<String>,
    pub tool_count: usize,
    /// What a connect UI must ask the end user for before connecting.
    pub connect_fields: Vec<ConnectFieldView>,
}

/// An activated app as one end user sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MyAppView {
    pub app: String,
    pub display_name: String,
    pub scopes: Vec<String>,
    pub tool_count: usize,
    pub connect_fields: Vec<ConnectFieldView>,
    pub connected: bool,
    /// `connected`, `needs_reauth` or `not_connected`.
    pub status: String,
    /// Who the user connected as; `null` when not connected or the provider does not say.
    pub account: Option<AccountView>,
    pub account_login: Option<String>,
    pub account_label: Option<String>,
    pub connect_url: String,
}

impl Broker {
    /// The platform's activated apps, for connect UIs.
    pub async fn platform_apps(&self, platform_id: Uuid) -> Result<Vec<PlatformAppView>> {
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
                    connect_fields: field_views(app.connect_fields()),
                })
            })
            .collect())
    }

    /// Every activated app with this end user's connection state and a connect link.
    pub async fn my_apps(&self, platform_id: Uuid, end_user_id: Uuid) -> Result<Vec<MyAppView>> {
        let connections = store::connections_of(&self.inner.db, platform_id, end_user_id).await?;
        let mut out = Vec::new();
        for app in self.platform_apps(platform_id).await? {
            let connection = connections.iter().find(|c| c.app == app.app);
            let slug = AppSlug::parse(&self.inner.apps, &app.app)?;
            out.push(MyAppView {
                connected: connection.is_some_and(|c| c.status == STATUS_CONNECTED),
                status: connection.map_or_else(|| "not_connected".to_owned(), |c| c.status.clone()),
                account: connection.and_then(account_of),
                account_login: connection.and_then(|c| c.account_login.clone()),
                account_label: connection.and_then(|c| c.account_label.clone()),
                connect_url: self.connect_url(platform_id, end_user_id, &slug),
                app: app.app,
                display_name: app.display_name,
                scopes: app.scopes,
                tool_count: app.tool_count,
                connect_fields: app.connect_fields,
            });
        }
        Ok(out)
    }

    pub async fn connections(
        &self,
        platform_id: Uuid,
        end_user_id: Uuid,
    ) -> Result<Vec<ConnectionView>> {
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
    ) -> Result<ConnectionView> {
        let slug = AppSlug::parse(&self.inner.apps, app)?;
        check_end_user(&self.inner.db, platform_id, end_user_id).await?;
        store::connection(&self.inner.db, platform_id, end_user_id, slug.as_str())
            .await?
            .as_ref()
            .map(ConnectionView::from)
            .ok_or_else(|| Error::not_found(format!("no {slug} connection")))
    }
}
