//! Zoho Mail for the Assistiv gateway: the user's mail accounts, folders and messages
//! (list, search, read, send, reply, mark read, move) through Zoho Mail's REST API
//! (`/api/accounts/...`) at the connection's regional API base URL
//! (`https://mail.zoho.{com,eu,in,com.au,jp,...}`, derived from the data centre the
//! OAuth callback reports, see [`oauth`], handed over in [`CallContext::api_base_url`]).
//!
//! Tool names are actions (`send_message`); the gateway lists them as
//! `zoho_mail_<action>`. Zoho's ids are 64-bit numbers: tools take and return them as
//! strings of digits, so no JSON client rounds them. Where a tool's `account_id` is left
//! out, it acts on the user's primary account, found with one extra request.

mod accounts;
mod api;
mod compact;
mod ids;
mod messages;
pub mod oauth;
mod schema;
mod send;
mod update;

use std::collections::BTreeMap;

use assistiv_app_sdk::{
    App, AppError, CallContext, ConnectionSettings, OAuthSpec, Revocation, ToolOutput, ToolSpec,
    async_trait, parse_args,
};
use serde_json::Value;

use crate::api::Api;

/// Zoho Accounts' endpoints. The authorize step starts on the US accounts server; Zoho
/// sends the user on to their own data centre and reports it on the callback, and the
/// token exchange, refreshes, revocation and the mail API then use that data centre's
/// hosts (`{accounts_server}`, `{mail_api}`, see [`oauth`]).
///
/// `access_type=offline` asks for a refresh token (access tokens live one hour) and
/// `prompt=consent` makes Zoho issue one again when a user reconnects. Scopes are
/// comma-separated. Revocation is `POST {accounts}/oauth/v2/token/revoke?token=...`
/// with the refresh token, which ends its access tokens too.
pub static OAUTH: OAuthSpec = OAuthSpec {
    authorize_url: "https://accounts.zoho.com/oauth/v2/auth",
    token_url: "{accounts_server}/oauth/v2/token",
    revoke_url: Some("{accounts_server}/oauth/v2/token/revoke"),
    api_base_url: "{mail_api}",
    default_scopes: &[
        "ZohoMail.accounts.READ",
        "ZohoMail.folders.READ",
        "ZohoMail.messages.ALL",
    ],
    scope_separator: ",",
    pkce_s256: true,
    extra_authorize_params: &[("access_type", "offline"), ("prompt", "consent")],
};

/// The Zoho Mail app. One instance serves every platform; it holds only the tool list.
#[derive(Debug, Clone)]
pub struct ZohoMailApp {
    tools: Vec<ToolSpec>,
}

impl ZohoMailApp {
    pub fn new() -> Self {
        let mut tools = accounts::specs();
        tools.extend(messages::specs());
        tools.extend(send::specs());
        tools.extend(update::specs());
        Self { tools }
    }
}

impl Default for ZohoMailApp {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl App for ZohoMailApp {
    fn slug(&self) -> &'static str {
        "zoho-mail"
    }

    fn display_name(&self) -> &'static str {
        "Zoho Mail"
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
                "unknown Zoho Mail tool `{tool}`"
            )));
        }
        let api = Api::new(ctx)?;
        tokio::time::timeout(ctx.timeout, dispatch(&api, tool, args))
            .await
            .unwrap_or(Err(AppError::Timeout))
    }

    /// The data centre from `accounts-server` and `location`: only Zoho's own
    /// accounts hosts (or the operator's configured origins) are accepted.
    fn settings_from_callback(
        &self,
        query: &BTreeMap<String, String>,
        operator_origins: &[String],
    ) -> Result<ConnectionSettings, String> {
        oauth::settings_from_callback(query, operator_origins)
    }

    /// Zoho revokes the refresh token given as the `token` query parameter.
    fn revocation(&self) -> Revocation {
        Revocation::RefreshTokenQuery
    }
}

async fn dispatch(api: &Api<'_>, tool: &str, args: Value) -> Result<ToolOutput, AppError> {
    match tool {
        "list_accounts" => accounts::list_accounts(api, parse_args(args)?).await,
        "list_folders" => accounts::list_folders(api, parse_args(args)?).await,
        "list_messages" => messages::list_messages(api, parse_args(args)?).await,
        "search_messages" => messages::search_messages(api, parse_args(args)?).await,
        "get_message" => messages::get_message(api, parse_args(args)?).await,
        "send_message" => send::send_message(api, parse_args(args)?).await,
        "reply_to_message" => send::reply_to_message(api, parse_args(args)?).await,
        "mark_read" => update::mark_read(api, parse_args(args)?).await,
        "move_message" => update::move_message(api, parse_args(args)?).await,
        _ => Err(AppError::InvalidArguments(format!(
            "unknown Zoho Mail tool `{tool}`"
        ))),
    }
}

/// The string at `v` or "".
fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}
