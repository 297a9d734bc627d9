//! App tools (`github_create_issue`, ...): listed for every app the platform
//! activated, validated against their schema, run as the end user through the
//! OAuth broker's token, with upstream failures as readable tool errors.

use std::sync::Arc;
use std::time::Duration;

use assistiv_app_sdk::{App, AppError, CallContext, qualified_tool_name};
use async_trait::async_trait;
use rmcp::model::{CallToolResult, ContentBlock, Tool, ToolAnnotations};
use serde_json::{Map, Value, json};

use super::registry::{
    CallError, McpCaller, McpScope, ToolSource, log_tool_call, rate_limit_refusal,
    result_or_tool_error, schema_refusal, tool_error,
};
use crate::apps::AppSlug;
use crate::error::Error;
use crate::oauth::{AppToken, TokenError};
use crate::state::AppState;

/// One app tool, prepared once: its MCP definition and compiled input validator.
struct Entry {
    app: Arc<dyn App>,
    slug: AppSlug,
    action: &'static str,
    name: String,
    tool: Tool,
    validator: jsonschema::Validator,
    read_only: bool,
}

pub struct AppTools {
    state: AppState,
    entries: Vec<Entry>,
    http: assistiv_app_sdk::reqwest::Client,
    timeout: Duration,
}

fn mcp_tool(
    app: &dyn App,
    spec: &assistiv_app_sdk::ToolSpec,
    name: String,
) -> Result<Tool, Error> {
    let Value::Object(schema) = spec.input_schema.clone() else {
        return Err(Error::internal(format_args!(
            "{name}: input schema is not an object"
        )));
    };
    let annotations = ToolAnnotations::with_title(spec.title)
        .read_only(spec.annotations.read_only)
        .destructive(spec.annotations.destructive)
        .idempotent(spec.annotations.idempotent)
        .open_world(spec.annotations.open_world);
    let mut tool = Tool::new_with_raw(name, Some(spec.description.into()), schema)
        .with_title(format!("{}: {}", app.display_name(), spec.title))
        .with_annotations(annotations);
    if let Some(Value::Object(output)) = spec.output_schema.clone() {
        tool = tool.with_raw_output_schema(Arc::new(result_or_tool_error(output)));
    }
    Ok(tool)
}

impl AppTools {
    /// Prepares every tool of every app this gateway has.
    pub fn new(state: AppState) -> anyhow::Result<Self> {
        let mut entries = Vec::new();
        for app in state.apps.all() {
            let slug = AppSlug::parse(&state.apps, app.slug()).map_err(anyhow::Error::msg)?;
            for spec in app.tools() {
                let name = qualified_tool_name(app.slug(), spec.name);
                let validator = jsonschema::validator_for(&spec.input_schema)
                    .map_err(|e| anyhow::anyhow!("{name}: invalid input schema: {e}"))?;
                let tool =
                    mcp_tool(app.as_ref(), spec, name.clone()).map_err(anyhow::Error::msg)?;
                entries.push(Entry {
                    app: Arc::clone(app),
                    slug: slug.clone(),
                    action: spec.name,
                    name,
                    tool,
                    validator,
                    read_only: spec.annotations.read_only,
                });
            }
        }
        let timeout = Duration::from_secs(state.config.tool_timeout_secs);
        let http = assistiv_app_sdk::reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("assistiv/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            state,
            entries,
            http,
            timeout,
        })
    }

    /// The entries this caller may see: activated for the platform, and allowed by
    /// the endpoint's scope.
    async fn visible(&self, caller: &McpCaller) -> Result<Vec<&Entry>, Error> {
        if matches!(caller.scope, McpScope::Skills | McpScope::Capabilities) {
            return Ok(Vec::new());
        }
        let activated = self.state.oauth.activated_apps(caller.platform_id).await?;
        Ok(self
            .entries
            .iter()
            .filter(|e| activated.contains(&e.slug))
            .filter(|e| match &caller.scope {
                McpScope::All => true,
                McpScope::Skills | McpScope::Capabilities => false,
                McpScope::Agent {
                    allowed_apps,
                    read_only,
                    ..
                } => {
                    allowed_apps.iter().any(|a| a == e.slug.as_str()) && (!read_only || e.read_only)
                }
            })
            .collect())
    }

    async fn token(&self, caller: &McpCaller, slug: &AppSlug) -> Result<AppToken, CallToolResult> {
        self.state
            .oauth
            .token(caller.platform_id, caller.end_user_id, slug)
            .await
            .map_err(|err| token_error(slug, err))
    }

    async fn run(
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
        // Apps keep to `ctx.timeout` themselves; this bounds one that would not.
        tokio::time::timeout(
            self.timeout,
            entry.app.call(entry.action, args.clone(), &ctx),
        )
        .await
        .unwrap_or(Err(AppError::Timeout))
    }
}

fn token_error(slug: &AppSlug, err: TokenError) -> CallToolResult {
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
    async fn list(&self, caller: &McpCaller) -> Result<Vec<Tool>, Error> {
        Ok(self
            .visible(caller)
            .await?
            .into_iter()
            .map(|e| e.tool.clone())
            .collect())
    }

    async fn call(
        &self,
        caller: &McpCaller,
        name: &str,
        arguments: Map<String, Value>,
    ) -> Result<Option<CallToolResult>, CallError> {
        if !self.entries.iter().any(|e| e.name == name) {
            return Ok(None);
        }
        let visible = self.visible(caller).await?;
        let Some(entry) = visible.into_iter().find(|e| e.name == name) else {
            return Err(CallError::UnknownTool(name.to_owned()));
        };
        let started = std::time::Instant::now();
        let result = self
            .call_entry(caller, entry, Value::Object(arguments))
            .await?;
        log_tool_call(
            &self.state,
            caller,
            entry.slug.as_str(),
            &entry.name,
            &result,
            started,
        );
        Ok(Some(result))
    }
}

impl AppTools {
    /// Validate, rate-limit, authorize and run one visible tool.
    async fn call_entry(
        &self,
        caller: &McpCaller,
        entry: &Entry,
        args: Value,
    ) -> Result<CallToolResult, CallError> {
        if let Some(invalid) = schema_refusal(&entry.validator, &entry.name, &args) {
            return Ok(invalid);
        }
        if let Some(limited) = rate_limit_refusal(&self.state, caller).await? {
            return Ok(limited);
        }
        let token = match self.token(caller, &entry.slug).await {
            Ok(token) => token,
            Err(result) => return Ok(result),
        };
        let mut outcome = self.run(entry, &token, &args).await;
        if matches!(outcome, Err(AppError::Unauthorized)) {
            // The provider refused the token: refresh once and retry once.
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
                Ok(fresh) => outcome = self.run(entry, &fresh, &args).await,
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
