//! Slack for the Assistiv gateway: channels, history, threads, posting, reactions, users
//! and search through Slack's Web API (`https://slack.com/api/<method>`), acting as the
//! end user with a user token (`xoxp-`) from OAuth v2's `user_scope`.
//!
//! Slack answers HTTP 200 with `"ok": false` and an error string for most failures;
//! [`api`] maps those strings to the gateway's codes. Pagination follows Slack's
//! cursors (`cursor` in, `next_cursor` out); search pages by number.

mod api;
mod chat;
mod compact;
mod conversations;
mod users;

use std::collections::BTreeMap;

use assistiv_app_sdk::oauth::lift_nested_token;
use assistiv_app_sdk::{
    App, AppError, CallContext, OAuthSpec, Revocation, TokenDetails, ToolOutput, ToolSpec,
    async_trait, parse_args,
};
use serde_json::Value;

use crate::api::Api;

/// Slack's OAuth v2 endpoints. Scopes are user scopes (sent as `user_scope`, see
/// [`SlackApp::scope_param`]), so the token acts as the end user, comma-separated as
/// Slack documents. Slack accepts PKCE (`code_verifier`) on `oauth.v2.access`.
pub static OAUTH: OAuthSpec = OAuthSpec {
    authorize_url: "https://slack.com/oauth/v2/authorize",
    token_url: "https://slack.com/api/oauth.v2.access",
    revoke_url: Some("https://slack.com/api/auth.revoke"),
    api_base_url: "https://slack.com/api",
    default_scopes: &[
        "channels:read",
        "channels:history",
        "groups:read",
        "groups:history",
        "chat:write",
        "reactions:write",
        "users:read",
        "users.profile:read",
        "search:read",
    ],
    scope_separator: ",",
    pkce_s256: true,
    extra_authorize_params: &[],
};

/// The Slack app. One instance serves every platform; it holds only the tool list.
#[derive(Debug, Clone)]
pub struct SlackApp {
    tools: Vec<ToolSpec>,
}

impl SlackApp {
    pub fn new() -> Self {
        let mut tools = conversations::specs();
        tools.extend(chat::specs());
        tools.extend(users::specs());
        Self { tools }
    }
}

impl Default for SlackApp {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl App for SlackApp {
    fn slug(&self) -> &'static str {
        "slack"
    }

    fn display_name(&self) -> &'static str {
        "Slack"
    }

    fn oauth(&self) -> &OAuthSpec {
        &OAUTH
    }

    fn tools(&self) -> &[ToolSpec] {
        &self.tools
    }

    async fn call(
        &self,
        tool: &str,
        args: Value,
        ctx: &CallContext,
    ) -> Result<ToolOutput, AppError> {
        if !self.tools.iter().any(|t| t.name == tool) {
            return Err(AppError::InvalidArguments(format!(
                "unknown Slack tool `{tool}`"
            )));
        }
        let api = Api::new(ctx);
        tokio::time::timeout(ctx.timeout, dispatch(&api, tool, args))
            .await
            .unwrap_or(Err(AppError::Timeout))
    }

    /// User scopes go in `user_scope`: the token then acts as the user, not a bot.
    fn scope_param(&self) -> &'static str {
        "user_scope"
    }

    /// `oauth.v2.access` puts a user token under `authed_user` (the top level holds a
    /// bot token, or nothing when only user scopes were asked). Token rotation answers
    /// (`grant_type=refresh_token`) already carry the token at the top level.
    fn normalize_token_response(&self, body: Value) -> Value {
        lift_nested_token(body, "authed_user")
    }

    fn token_details(&self, body: &Value) -> TokenDetails {
        let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        let mut settings = BTreeMap::new();
        if let Some(team) = text(&body["team"]["id"]) {
            settings.insert("team_id".to_owned(), team);
        }
        TokenDetails {
            settings,
            account_login: text(&body["authed_user"]["id"]),
            account_label: text(&body["team"]["name"]),
        }
    }

    /// `auth.revoke` takes the token itself as the bearer token.
    fn revocation(&self) -> Revocation {
        Revocation::BearerPost
    }
}

async fn dispatch(api: &Api, tool: &str, args: Value) -> Result<ToolOutput, AppError> {
    match tool {
        "list_channels" => conversations::list_channels(api, parse_args(args)?).await,
        "get_channel_history" => conversations::get_channel_history(api, parse_args(args)?).await,
        "get_thread_replies" => conversations::get_thread_replies(api, parse_args(args)?).await,
        "search_messages" => conversations::search_messages(api, parse_args(args)?).await,
        "post_message" => chat::post_message(api, parse_args(args)?).await,
        "reply_to_thread" => chat::reply_to_thread(api, parse_args(args)?).await,
        "schedule_message" => chat::schedule_message(api, parse_args(args)?).await,
        "add_reaction" => chat::add_reaction(api, parse_args(args)?).await,
        "list_users" => users::list_users(api, parse_args(args)?).await,
        "get_user_profile" => users::get_user_profile(api, parse_args(args)?).await,
        _ => Err(AppError::InvalidArguments(format!(
            "unknown Slack tool `{tool}`"
        ))),
    }
}

pub(crate) use assistiv_app_sdk::str_enum;
