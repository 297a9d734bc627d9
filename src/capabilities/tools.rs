//! The capability tools over MCP: `list_capabilities`, `list_providers`,
//! `capability_search` (no spend) and `capability_run` (spends). Listed on `/mcp`
//! and `/mcp/capabilities` once the platform is enabled. Refusals are `isError`
//! results whose `structuredContent` carries the code (the 402 ones too) with the
//! quoted price and the ceiling, so a model can read them and adapt.

use async_trait::async_trait;
use rmcp::model::CallToolResult;
use serde_json::{Value, json};

use super::browse;
use super::run::{self, Refusal, Runner};
use super::store;
use super::tool_specs::{
    LIST_CAPABILITIES, LIST_PROVIDERS, ListProvidersArgs, RUN, RunArgs, SEARCH, SearchArgs,
    definitions,
};
use crate::error::Error;
use crate::state::AppState;
use crate::tools::{ToolCaller, ToolDef, ToolScope, ToolSource, arguments, structured, tool_error};

pub struct CapabilityTools {
    state: AppState,
    defs: Vec<ToolDef>,
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
        let defs = definitions()
            .iter()
            .map(|spec| {
                let def =
                    ToolDef::from_spec(spec, spec.name.into(), spec.title.into(), "capabilities")?;
                // A run holds money and logs itself (kind capability_run), under the
                // capability timeout, so it always settles.
                Ok(if spec.name == RUN { def.paid() } else { def })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self { state, defs })
    }

    async fn dispatch(
        &self,
        caller: &ToolCaller,
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
                let (slug, filter) = arguments::<ListProvidersArgs>(args)?.filter();
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
                let SearchArgs { query, limit } = arguments(args)?;
                let query = query.as_str();
                let limit = Some(limit);
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
                let request = arguments::<RunArgs>(args)?.into();
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
    fn tools(&self) -> &[ToolDef] {
        &self.defs
    }

    /// On `/mcp` and `/mcp/capabilities`, once the platform enabled them.
    async fn visible(&self, caller: &ToolCaller) -> Result<Vec<bool>, Error> {
        let shown = matches!(caller.scope, ToolScope::All | ToolScope::Capabilities)
            && self
                .state
                .capabilities
                .enabled_for(&self.state.db, caller.platform_id)
                .await?;
        Ok(vec![shown; self.defs.len()])
    }

    async fn run(
        &self,
        caller: &ToolCaller,
        tool: usize,
        args: Value,
    ) -> Result<CallToolResult, Error> {
        match self.dispatch(caller, self.defs[tool].name(), args).await {
            Ok(result) => Ok(result),
            Err(refusal) if refusal.error.kind() == crate::error::ErrorKind::Internal => {
                Err(refusal.error)
            }
            Err(refusal) => Ok(refusal_result(&refusal)),
        }
    }
}
