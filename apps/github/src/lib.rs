//! GitHub for the Assistiv gateway: the default toolsets of the official GitHub MCP server
//! (context, repositories, issues, pull requests) as an [`App`], through `octocrab` against
//! the configured API base URL (github.com or a GitHub Enterprise `https://HOST/api/v3`).
//!
//! Tool names are actions (`create_issue`); the gateway lists them as `github_<action>`.
//! Every call builds an octocrab client on the gateway's pooled HTTP client with the end
//! user's token, runs within [`CallContext::timeout`], and answers a compact JSON object
//! plus a one-line summary (the content itself for file contents and diffs).

mod api;
mod compact;
mod files;
mod issues;
mod pulls;
mod repos;

use assistiv_app_sdk::schema;
use assistiv_app_sdk::{
    App, AppError, CallContext, OAuthSpec, Revocation, ToolAnnotations, ToolOutput, ToolSpec,
    async_trait, parse_args,
};
use schemars::JsonSchema;
use serde_json::Value;

use crate::api::Api;

/// GitHub's OAuth App endpoints (github.com). The gateway overrides them per platform for
/// GitHub Enterprise (`https://HOST/login/oauth/...`, API `https://HOST/api/v3`).
///
/// Revoking is `DELETE {api}/applications/{client_id}/grant` with HTTP Basic auth of the
/// OAuth App's client id and secret and the body `{"access_token": "..."}`
/// ([`Revocation::BasicAuthJsonDelete`]); the revoke URL follows the API base URL, so a
/// GitHub Enterprise activation revokes on its own host.
pub static OAUTH: OAuthSpec = OAuthSpec {
    authorize_url: "https://github.com/login/oauth/authorize",
    token_url: "https://github.com/login/oauth/access_token",
    revoke_url: Some("{api_base_url}/applications/{client_id}/grant"),
    api_base_url: "https://api.github.com",
    default_scopes: &["repo", "read:user"],
    scope_separator: " ",
    pkce_s256: true,
    extra_authorize_params: &[],
};

/// The GitHub app. One instance serves every platform; it holds only the tool list.
#[derive(Debug, Clone)]
pub struct GitHubApp {
    tools: Vec<ToolSpec>,
}

impl GitHubApp {
    pub fn new() -> Self {
        let mut tools = repos::specs();
        tools.extend(issues::specs());
        tools.extend(pulls::specs());
        Self { tools }
    }
}

impl Default for GitHubApp {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl App for GitHubApp {
    fn slug(&self) -> &'static str {
        "github"
    }

    fn display_name(&self) -> &'static str {
        "GitHub"
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
                "unknown GitHub tool `{tool}`"
            )));
        }
        let api = Api::new(ctx)?;
        tokio::time::timeout(ctx.timeout, dispatch(&api, tool, args))
            .await
            .unwrap_or(Err(AppError::Timeout))
    }

    /// GitHub's grant deletion, with the client credentials.
    fn revocation(&self) -> Revocation {
        Revocation::BasicAuthJsonDelete
    }

    /// The login of `GET /user`.
    async fn account_login(&self, ctx: &CallContext) -> Option<String> {
        let api = Api::new(ctx).ok()?;
        tokio::time::timeout(ctx.timeout, repos::login(&api))
            .await
            .ok()
            .flatten()
    }
}

async fn dispatch(api: &Api, tool: &str, args: Value) -> Result<ToolOutput, AppError> {
    match tool {
        "get_me" => repos::get_me(api, parse_args(args)?).await,
        "search_repositories" => repos::search_repositories(api, parse_args(args)?).await,
        "get_repository" => repos::get_repository(api, parse_args(args)?).await,
        "list_branches" => repos::list_branches(api, parse_args(args)?).await,
        "create_branch" => repos::create_branch(api, parse_args(args)?).await,
        "get_file_contents" => files::get_file_contents(api, parse_args(args)?).await,
        "create_or_update_file" => files::create_or_update_file(api, parse_args(args)?).await,
        "list_commits" => repos::list_commits(api, parse_args(args)?).await,
        "search_code" => repos::search_code(api, parse_args(args)?).await,
        "list_issues" => issues::list_issues(api, parse_args(args)?).await,
        "get_issue" => issues::get_issue(api, parse_args(args)?).await,
        "search_issues" => issues::search_issues(api, parse_args(args)?).await,
        "create_issue" => issues::create_issue(api, parse_args(args)?).await,
        "update_issue" => issues::update_issue(api, parse_args(args)?).await,
        "add_issue_comment" => issues::add_issue_comment(api, parse_args(args)?).await,
        "list_pull_requests" => pulls::list_pull_requests(api, parse_args(args)?).await,
        "get_pull_request" => pulls::get_pull_request(api, parse_args(args)?).await,
        "get_pull_request_files" => pulls::get_pull_request_files(api, parse_args(args)?).await,
        "get_pull_request_diff" => pulls::get_pull_request_diff(api, parse_args(args)?).await,
        "create_pull_request" => pulls::create_pull_request(api, parse_args(args)?).await,
        "merge_pull_request" => pulls::merge_pull_request(api, parse_args(args)?).await,
        "create_pull_request_review" => {
            pulls::create_pull_request_review(api, parse_args(args)?).await
        }
        _ => Err(AppError::InvalidArguments(format!(
            "unknown GitHub tool `{tool}`"
        ))),
    }
}

/// A tool whose schemas are derived from its argument type `A` (the same type `call`
/// deserializes, so the schema and the parser cannot drift) and its output type `O` (the
/// type the tool serializes into `structuredContent`).
fn tool<A: JsonSchema, O: JsonSchema>(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    annotations: ToolAnnotations,
) -> ToolSpec {
    schema::tool_spec_with_output::<A>(
        name,
        title,
        description,
        annotations,
        schema::schema_for::<O>(),
    )
}

pub(crate) use assistiv_app_sdk::str_enum;

str_enum!(
    /// Sort direction.
    Direction { Asc = "asc", Desc = "desc" }
);

/// The string at `v` or "".
fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// The first 7 characters of a SHA.
fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}
