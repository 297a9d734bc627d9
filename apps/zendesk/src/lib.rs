//! Zendesk Support for the Assistiv gateway: tickets (search, read, create, update),
//! their comments (list, add a public reply or an internal note) and users, through the
//! Support API v2 (`/api/v2/...`) of the customer's own Zendesk account
//! (`https://{subdomain}.zendesk.com`, handed over per connection in
//! [`CallContext::api_base_url`]).
//!
//! Tool names are actions (`create_ticket`); the gateway lists them as
//! `zendesk_<action>`.

mod api;
mod comments;
mod compact;
mod schema;
mod tickets;
mod users;

use assistiv_app_sdk::oauth::dns_label;
use assistiv_app_sdk::{
    App, AppError, CallContext, ConnectField, OAuthSpec, Revocation, ToolOutput, ToolSpec,
    async_trait, parse_args,
};
use serde_json::Value;

use crate::api::Api;

/// Stands for the customer's Zendesk subdomain in [`OAUTH`]'s URLs. Every Zendesk
/// account is its own OAuth server and API host; the broker replaces this with the
/// subdomain the user gave at connect time (letters, digits and hyphens) before any URL
/// is used. An API base URL still holding it is refused by every tool.
pub const SUBDOMAIN_PLACEHOLDER: &str = "{subdomain}";

/// Zendesk's OAuth endpoints, per account (see [`SUBDOMAIN_PLACEHOLDER`]; the
/// subdomain is asked of the user at connect time, [`ZendeskApp::connect_fields`]).
/// Scopes are space-separated; `read write` covers tickets and users. Zendesk accepts
/// PKCE. It has no RFC 7009 endpoint: a token revokes itself with
/// `DELETE /api/v2/oauth/tokens/current.json` and itself as the bearer.
pub static OAUTH: OAuthSpec = OAuthSpec {
    authorize_url: "https://{subdomain}.zendesk.com/oauth/authorizations/new",
    token_url: "https://{subdomain}.zendesk.com/oauth/tokens",
    revoke_url: Some("https://{subdomain}.zendesk.com/api/v2/oauth/tokens/current.json"),
    api_base_url: "https://{subdomain}.zendesk.com",
    default_scopes: &["read", "write"],
    scope_separator: " ",
    pkce_s256: true,
    extra_authorize_params: &[],
};

/// The one value asked of the user before the authorize redirect: the account's
/// subdomain, a DNS label (it becomes part of every host name above).
static CONNECT_FIELDS: [ConnectField; 1] = [ConnectField {
    name: "subdomain",
    label: "Zendesk subdomain",
    help: "acme for acme.zendesk.com",
    validate: dns_label,
}];

/// The Zendesk app. One instance serves every platform; it holds only the tool list.
#[derive(Debug, Clone)]
pub struct ZendeskApp {
    tools: Vec<ToolSpec>,
}

impl ZendeskApp {
    pub fn new() -> Self {
        let mut tools = tickets::specs();
        tools.extend(comments::specs());
        tools.extend(users::specs());
        Self { tools }
    }
}

impl Default for ZendeskApp {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl App for ZendeskApp {
    fn slug(&self) -> &'static str {
        "zendesk"
    }

    fn display_name(&self) -> &'static str {
        "Zendesk"
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
                "unknown Zendesk tool `{tool}`"
            )));
        }
        let api = Api::new(ctx)?;
        tokio::time::timeout(ctx.timeout, dispatch(&api, tool, args))
            .await
            .unwrap_or(Err(AppError::Timeout))
    }

    fn connect_fields(&self) -> &'static [ConnectField] {
        &CONNECT_FIELDS
    }

    /// `DELETE /api/v2/oauth/tokens/current.json` with the token as its bearer.
    fn revocation(&self) -> Revocation {
        Revocation::BearerDelete
    }
}

async fn dispatch(api: &Api<'_>, tool: &str, args: Value) -> Result<ToolOutput, AppError> {
    match tool {
        "search_tickets" => tickets::search_tickets(api, parse_args(args)?).await,
        "get_ticket" => tickets::get_ticket(api, parse_args(args)?).await,
        "create_ticket" => tickets::create_ticket(api, parse_args(args)?).await,
        "update_ticket" => tickets::update_ticket(api, parse_args(args)?).await,
        "list_ticket_comments" => comments::list_ticket_comments(api, parse_args(args)?).await,
        "add_ticket_comment" => comments::add_ticket_comment(api, parse_args(args)?).await,
        "search_users" => users::search_users(api, parse_args(args)?).await,
        "get_user" => users::get_user(api, parse_args(args)?).await,
        "get_me" => users::get_me(api, parse_args(args)?).await,
        _ => Err(AppError::InvalidArguments(format!(
            "unknown Zendesk tool `{tool}`"
        ))),
    }
}

/// The string at `v` or "".
fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}
