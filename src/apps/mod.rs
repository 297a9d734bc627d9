//! The third-party apps the gateway serves (GitHub, Zoho Mail, Zendesk, ...), by slug. App crates know
//! nothing of tenants or storage; the gateway hands them a token and a client.

mod connect_rounds;
pub mod tools;

use std::sync::Arc;

pub use assistiv_app_sdk::{
    App, AppError, CallContext, ConnectField, OAuthSpec, ToolOutput, ToolSpec,
};

use crate::error::Error;

/// An app slug as used in routes and tool names (`github`, `zoho-mail`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppSlug(String);

impl AppSlug {
    /// A slug of an app this gateway has.
    pub fn parse(registry: &AppRegistry, raw: &str) -> Result<Self, Error> {
        registry
            .get(raw)
            .map(|app| Self(app.slug().to_owned()))
            .ok_or_else(|| Error::not_found(format!("unknown app '{raw}'")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for AppSlug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Every app compiled into this gateway. Adding one is a crate and one line here.
#[derive(Clone)]
pub struct AppRegistry {
    apps: Vec<Arc<dyn App>>,
}

impl AppRegistry {
    pub fn builtin() -> Self {
        Self {
            apps: vec![
                Arc::new(assistiv_app_github::GitHubApp::new()),
                Arc::new(assistiv_app_zoho_mail::ZohoMailApp::new()),
                Arc::new(assistiv_app_zendesk::ZendeskApp::new()),
                Arc::new(assistiv_app_slack::SlackApp::new()),
            ],
        }
    }

    /// This registry plus `app` (an embedder's own app, or a test double). A slug
    /// already taken is refused.
    pub fn with(mut self, app: Arc<dyn App>) -> anyhow::Result<Self> {
        anyhow::ensure!(
            self.get(app.slug()).is_none(),
            "an app with the slug '{}' is already registered",
            app.slug()
        );
        self.apps.push(app);
        Ok(self)
    }

    pub fn get(&self, slug: &str) -> Option<&Arc<dyn App>> {
        self.apps.iter().find(|app| app.slug() == slug)
    }

    pub fn all(&self) -> &[Arc<dyn App>] {
        &self.apps
    }
}

impl Default for AppRegistry {
    fn default() -> Self {
        Self::builtin()
    }
}
