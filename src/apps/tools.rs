//! App tools (`github_create_issue`, ...): listed for every app the platform
//! activated (and the agent allows), run as the end user through the OAuth
//! broker's token, with upstream failures as readable tool errors.

use std::sync::Arc;
use std::time::Duration;

use assistiv_app_sdk::{App, AppError, CallContext, qualified_tool_name};
use async_trait::async_trait;
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Value, json};

use crate::apps::AppSlug;
use crate::error::Error;
use crate::oauth::{AppToken, TokenError};
use crate::state::AppState;
use crate::tools::{Rounds, Step, ToolCaller, ToolDef, ToolScope, ToolSource, tool_error};

/// One app tool: which app and action run it.
struct Entry {
    app: Arc<dyn App>,
    slug: AppSlug,
    action: &'static str,
}

pub struct AppTools {
    state: AppState,
    entries: Vec<Entry>,
    defs: Vec<ToolDef>,
    http: assistiv_app_sdk::reqwest::Client,
    timeout: Duration,
}

impl AppTools {
    /// Prepares every tool of every app this gateway has.
    pub fn new(state: AppState) -> anyhow::Result<Self> {
        let mut entries = Vec::new();
        let mut defs = Vec::new();
        for app in state.apps.all() {
            let slug = AppSlug::parse(&state.apps, app.slug()).map_err(anyhow::Error::msg)?;
            for spec in app.tools() {
                let name = qualified_tool_name(app.slug(), spec.name);
                let title = format!("{}: {}", app.display_name(), spec.title);
                defs.push(ToolDef::from_spec(spec, name, title, slug.as_str())?);
                entries.push(Entry {
                    app: Arc::clone(app),
                    slug: slug.clone(),
                    action: spec.name,
                });
            }
        }
        // The call's deadline is the tool pipeline's; apps also get it as
        // `ctx.timeout` for their own requests.
        let timeout = crate::tools::timeout(&state.config);
        let http = assistiv_app_sdk::reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("assistiv/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            state,
            entries,
            defs,
            http,
            timeout,
        })
    }

    async fn token(&self, caller: &ToolCaller, slug: &AppSlug) -> Result<AppToken, TokenError> {
        self.state
            .oauth
            .token(caller.platform_id, caller.end_user_id, slug)
            .await
    }

    async fn call_app(
        &self,
        entry: &Entry,
        token: &AppToken,
        args: &Value,
    ) -> Result<assistiv_app_sdk::ToolOutput, AppError> {
        let ctx = CallContext {
            access_token: token.access_token.clone(),
            api_base_url: token.api_base_url.clone(),
            http: self.http.clone(),
            timeout: self.timeout,
        };
        entry.app.call(entry.action, args.clone(), &ctx).await
    }
}

pub(super) fn token_error(slug: &AppSlug, err: TokenError) -> CallToolResult {
    match err {
        TokenError::NotConnected { connect_url } => tool_error(
            "not_connected",
            format!(
                "{slug} is not connected for this user: open connect_url to connect it, then retry"
            ),
            json!({"app": slug.as_str(), "connect_url": connect_url}),
        ),
        TokenError::NeedsReauth { connect_url } => tool_error(
            "needs_reauth",
            format!(
                "the {slug} connection expired or was revoked: open connect_url to reconnect, then retry"
            ),
            json!({"app": slug.as_str(), "connect_url": connect_url}),
        ),
        TokenError::Failed(err) => {
            tool_error("internal_error", err.message().to_owned(), json!({}))
        }
    }
}

fn app_error(slug: &AppSlug, err: &AppError) -> CallToolResult {
    let status = err.upstream_status();
    match err {
        AppError::InvalidArguments(msg) => tool_error("invalid_arguments", msg.clone(), json!({})),
        AppError::RateLimited { retry_after_secs } => tool_error(
            "rate_limited",
            format!("{slug} is rate limiting this user; retry later"),
            json!({"retry_after_secs": retry_after_secs, "status": status}),
        ),
        AppError::NotFound(msg) => tool_error("not_found", msg.clone(), json!({"status": 404})),
        other => tool_error(
            "upstream_error",
            format!("{slug}: {other}"),
            json!({"status": status}),
        ),
    }
}

#[async_trait]
impl ToolSource for AppTools {
    fn tools(&self) -> &[ToolDef] {
        &self.defs
    }

    /// Activated for the platform, and allowed by the caller's scope.
    async fn visible(&self, caller: &ToolCaller) -> Result<Vec<bool>, Error> {
        if matches!(caller.scope, ToolScope::Skills | ToolScope::Capabilities) {
            return Ok(vec![false; self.entries.len()]);
        }
        let activated = self.state.oauth.activated_apps(caller.platform_id).await?;
        Ok(self
            .entries
            .iter()
            .zip(&self.defs)
            .map(|(e, def)| {
                activated.contains(&e.slug)
                    && match &caller.scope {
                        ToolScope::Agent {
                            allowed_apps,
                            read_only,
                            ..
                        } => {
                            allowed_apps.iter().any(|a| a == e.slug.as_str())
                                && (!read_only || def.read_only)
                        }
                        _ => true,
                    }
            })
            .collect())
    }

    /// Authorize and run one tool; a token the provider refuses is refreshed
    /// once and the call retried once.
    async fn run(
        &self,
        caller: &ToolCaller,
        tool: usize,
        args: Value,
    ) -> Result<CallToolResult, Error> {
        let entry = &self.entries[tool];
        match self.token(caller, &entry.slug).await {
            Ok(token) => self.run_as(caller, entry, token, args).await,
            Err(err) => Ok(token_error(&entry.slug, err)),
        }
    }

    /// As [`Self::run`]; a client that can open a URL for its user is asked to
    /// connect the app (its connect fields first, by form) instead of getting
    /// `not_connected`, and its retry runs the call.
    async fn run_in_rounds(
        &self,
        caller: &ToolCaller,
        tool: usize,
        args: Value,
        rounds: &Rounds,
    ) -> Result<Step, Error> {
        let entry = &self.entries[tool];
        match self.token(caller, &entry.slug).await {
            Ok(token) => self
                .run_as(caller, entry, token, args)
                .await
                .map(Step::Complete),
            Err(err) if rounds.url => Ok(
                match super::connect_rounds::next(entry.app.as_ref(), &entry.slug, err, rounds) {
                    Ok(ask) => Step::Ask(ask),
                    Err(result) => Step::Complete(result),
                },
            ),
            Err(err) => Ok(Step::Complete(token_error(&entry.slug, err))),
        }
    }
}

impl AppTools {
    /// Runs one tool with the user's token; a token the provider refuses is
    /// refreshed once and the call retried once.
    async fn run_as(
        &self,
        caller: &ToolCaller,
        entry: &Entry,
        token: AppToken,
        args: Value,
    ) -> Result<CallToolResult, Error> {
        let mut outcome = self.call_app(entry, &token, &args).await;
        if matches!(outcome, Err(AppError::Unauthorized)) {
            match self
                .state
                .oauth
                .refresh_after_unauthorized(
                    caller.platform_id,
                    caller.end_user_id,
                    &entry.slug,
                    &token,
                )
                .await
            {
                Ok(fresh) => outcome = self.call_app(entry, &fresh, &args).await,
                Err(err) => return Ok(token_error(&entry.slug, err)),
            }
        }
        Ok(match outcome {
            Ok(output) => {
                let mut result = CallToolResult::success(vec![ContentBlock::text(output.text)]);
                result.structured_content = Some(output.structured);
                result
            }
            Err(AppError::Unauthorized) => token_error(
                &entry.slug,
                TokenError::NeedsReauth {
                    connect_url: self.state.oauth.connect_url(
                        caller.platform_id,
                        caller.end_user_id,
                        &entry.slug,
                    ),
                },
            ),
            Err(err) => app_error(&entry.slug, &err),
        })
    }
}
