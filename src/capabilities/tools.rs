//! The capability tools over MCP: `list_capabilities`, `list_providers`,
//! `capability_search` (no spend) and `capability_run` (spends). Listed on `/mcp`
//! and `/mcp/capabilities` once the platform is enabled. Refusals are `isError`
//! results whose `structuredContent` carries the code (the 402 ones too) with the
//! quoted price and the ceiling, so a model can read them and adapt.

use std::sync::Arc;

use async_trait::async_trait;
use rmcp::model::{CallToolResult, ContentBlock, Tool};
use serde_json::{Map, Value, json};

use super::browse::{self, ProviderFilter};
use super::run::{self, Refusal, RunRequest, Runner};
use super::store;
use super::tool_specs::{LIST_CAPABILITIES, LIST_PROVIDERS, RUN, SEARCH, definitions};
use crate::error::Error;
use crate::mcp::registry::{
    CallError, McpCaller, McpScope, ToolSource, log_tool_call, rate_limit_refusal, schema_refusal,
    tool_error,
};
use crate::state::AppState;

struct Entry {
    tool: Tool,
    validator: jsonschema::Validator,
}

pub struct CapabilityTools {
    state: AppState,
    entries: Vec<Entry>,
}

fn structured(text: String, value: Value) -> CallToolResult {
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(value);
    result
}

fn refusal_result(refusal: &Refusal) -> CallToolResult {
    let code = match refusal.error.code() {
        "bad_request" => "invalid_arguments",
        other => other,
    };
    tool_error(
        code,
        refusal.error.message().to_owned(),
        json!({
            "status": crate::http::error_response::status(&refusal.error).as_u16(),
            "price_usd": refusal.price,
            "ceiling_usd": refusal.ceiling,
        }),
    )
}

impl CapabilityTools {
    pub fn new(state: AppState) -> anyhow::Result<Self> {
        let mut entries = Vec::new();
        for (name, title, description, schema, annotations) in definitions() {
            let validator = jsonschema::validator_for(&schema)
                .map_err(|e| anyhow::anyhow!("{name}: invalid input schema: {e}"))?;
            let Value::Object(schema) = schema else {
                anyhow::bail!("{name}: input schema is not an object");
            };
            let tool = Tool::new_with_raw(name, Some(description.into()), schema)
                .with_title(title)
                .with_annotations(annotations);
            entries.push(Entry { tool, validator });
        }
        Ok(Self { state, entries })
    }

    async fn enabled(&self, caller: &McpCaller) -> Result<bool, Error> {
        if !matches!(caller.scope, McpScope::All | McpScope::Capabilities) {
            return Ok(false);
        }
        self.state
            .capabilities
            .enabled_for(&self.state.db, caller.platform_id)
            .await
    }

    async fn dispatch(
        &self,
        caller: &McpCaller,
        name: &str,
        args: Value,
    ) -> Result<CallToolResult, Refusal> {
        let policy = store::policy(&self.state.db, caller.platform_id).await?;
        let market = &self.state.capabilities;
        let availability = |p: &super::snapshot::Provider| market.availability(p);
        let snapshot = market.snapshot();
        match name {
            LIST_CAPABILITIES => {
                let shelves = browse::shelves(&snapshot, &policy, &availability);
                let lines: Vec<String> = shelves
                    .iter()
                    .map(|s| {
                        format!(
                            "- {}: {} ({} providers, {} allowed{})",
                            s.slug,
                            s.description,
                            s.provider_count,
                            s.allowed_count,
                            s.cheapest_price_usd
                                .map(|p| format!(", from {} USD", p.to_usd()))
                                .unwrap_or_default()
                        )
                    })
                    .collect();
                Ok(structured(
                    format!(
                        "{} capabilities (list_providers with a slug next):\n{}",
                        shelves.len(),
                        lines.join("\n")
                    ),
                    json!({"capabilities": shelves}),
                ))
            }
            LIST_PROVIDERS => {
                let slug = args["capability"].as_str().unwrap_or_default().to_owned();
                let mut args = args;
                if let Some(object) = args.as_object_mut() {
                    object.remove("capability");
                }
                let filter: ProviderFilter = serde_json::from_value(args)
                    .map_err(|e| Error::bad_request(format!("invalid arguments: {e}")))?;
                let found = browse::providers(&snapshot, &slug, &filter, &policy, &availability)?;
                let lines: Vec<String> = found
                    .iter()
                    .map(|p| {
                        format!(
                            "- {} ({}): {}-{} USD, rating {}, {}, {}; input_example {}",
                            p.uid,
                            p.name,
                            p.min_price_usd.to_usd(),
                            p.max_price_usd.to_usd(),
                            p.rating,
                            serde_json::to_value(p.availability)
                                .unwrap_or_default()
                                .as_str()
                                .unwrap_or(""),
                            serde_json::to_value(p.policy_state)
                                .unwrap_or_default()
                                .as_str()
                                .unwrap_or(""),
                            p.input_example
                        )
                    })
                    .collect();
                Ok(structured(
                    format!(
                        "{} provider(s) under {slug} (capability_run with a uid):\n{}",
                        found.len(),
                        lines.join("\n")
                    ),
                    json!({"capability": slug, "providers": found}),
                ))
            }
            SEARCH => {
                let query = args["query"].as_str().unwrap_or_default();
                let limit = args["limit"].as_u64().map(|l| l as usize);
                if !policy.enabled {
                    return Err(Error::forbidden("capabilities are not enabled").into());
                }
                let hits = browse::search(&snapshot, query, limit, &policy, &availability)?;
                let lines: Vec<String> = hits
                    .iter()
                    .map(|p| {
                        format!(
                            "- {} ({}, {}): from {} USD, rating {}",
                            p.uid,
                            p.name,
                            p.capability,
                            p.min_price_usd.to_usd(),
                            p.rating
                        )
                    })
                    .collect();
                Ok(structured(
                    format!(
                        "{} match(es) for '{query}':\n{}",
                        hits.len(),
                        lines.join("\n")
                    ),
                    json!({"query": query, "providers": hits}),
                ))
            }
            _ => {
                let request: RunRequest = serde_json::from_value(args)
                    .map_err(|e| Error::bad_request(format!("invalid arguments: {e}")))?;
                let runner = Runner {
                    platform_id: caller.platform_id,
                    end_user_id: caller.end_user_id,
                    request_id: caller.request_id.clone(),
                };
                let answer = run::run_detached(&self.state, runner, request, None).await?;
                let body = answer.body;
                let text = format!(
                    "{}: {} (status {}), cost {} USD.",
                    body["provider"].as_str().unwrap_or_default(),
                    body["final_state"].as_str().unwrap_or_default(),
                    body["status"],
                    body["cost_usd"]
                );
                if body["ok"] == true {
                    return Ok(structured(text, body));
                }
                let code = match body["final_state"].as_str() {
                    Some("released") => "released",
                    _ => "provider_failed",
                };
                Ok(tool_error(code, text, body))
            }
        }
    }
}

#[async_trait]
impl ToolSource for CapabilityTools {
    async fn list(&self, caller: &McpCaller) -> Result<Vec<Tool>, Error> {
        if !self.enabled(caller).await? {
            return Ok(Vec::new());
        }
        Ok(self.entries.iter().map(|e| e.tool.clone()).collect())
    }

    async fn call(
        &self,
        caller: &McpCaller,
        name: &str,
        arguments: Map<String, Value>,
    ) -> Result<Option<CallToolResult>, CallError> {
        let Some(entry) = self.entries.iter().find(|e| e.tool.name == name) else {
            return Ok(None);
        };
        if !self.enabled(caller).await? {
            return Err(CallError::UnknownTool(name.to_owned()));
        }
        let started = std::time::Instant::now();
        let args = Value::Object(arguments);
        let result = if let Some(invalid) = schema_refusal(&entry.validator, name, &args) {
            invalid
        } else if let Some(limited) = rate_limit_refusal(&self.state, caller).await? {
            limited
        } else {
            match self.dispatch(caller, name, args).await {
                Ok(result) => result,
                Err(refusal) if refusal.error.kind() == crate::error::ErrorKind::Internal => {
                    return Err(refusal.error.into());
                }
                Err(refusal) => refusal_result(&refusal),
            }
        };
        // Runs log themselves (kind capability_run); the free tools log as tool calls.
        if name != RUN {
            log_tool_call(&self.state, caller, "capabilities", name, &result, started);
        }
        Ok(Some(result))
    }
}

/// The capability tools as a registry source.
pub fn source(state: AppState) -> anyhow::Result<Arc<dyn ToolSource>> {
    Ok(Arc::new(CapabilityTools::new(state)?))
}
