//! The capability tools over MCP: `list_capabilities`, `list_providers`,
//! `capability_search` (no spend) and `capability_run` (spends). Listed on `/mcp`
//! and `/mcp/capabilities` once the platform is enabled. Refusals are `isError`
//! results whose `structuredContent` carries the code (the 402 ones too) with the
//! quoted price and the ceiling, so a model can read them and adapt.
//!
//! A run quoted above the platform's `confirm_above_usd` asks the end user first
//! (a form elicitation, on clients that can show one: `input_required`), and
//! runs only on the retry that carries their yes; a no ends the call with
//! nothing held or charged. Clients that cannot ask get the platform's
//! `confirm_fallback`: run anyway, or `confirmation_required`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use rmcp::model::{CallToolResult, ElicitationSchema};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::browse;
use super::policy::ConfirmFallback;
use super::run::{self, CONFIRMATION_REQUIRED, Refusal, RunRequest, Runner};
use super::store;
use super::tool_specs::{
    LIST_CAPABILITIES, LIST_PROVIDERS, ListProvidersArgs, RUN, RunArgs, SEARCH, SearchArgs,
    definitions,
};
use crate::billing::Money;
use crate::error::Error;
use crate::state::AppState;
use crate::tools::rounds::{Answer, Ask, Rounds, Step};
use crate::tools::{ToolCaller, ToolDef, ToolScope, ToolSource, arguments, structured, tool_error};

/// The question key of a run's confirmation.
const CONFIRM: &str = "confirm_run";

/// What a confirmation round remembers (sealed in `requestState`): the quote
/// the user is asked to approve.
#[derive(Debug, Serialize, Deserialize)]
struct AskedToConfirm {
    confirm_price_micros: i64,
}

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
            _ => match self.paid_run(caller, args, &Rounds::none()).await? {
                Step::Complete(result) => Ok(result),
                Step::Ask(_) => {
                    Err(Error::internal("a run asked a client that cannot answer").into())
                }
            },
        }
    }

    /// `capability_run`, with the user's confirmation where the platform asks for it.
    async fn paid_run(
        &self,
        caller: &ToolCaller,
        args: Value,
        rounds: &Rounds,
    ) -> Result<Step, Refusal> {
        let mut request: RunRequest = arguments::<RunArgs>(args)?.into();
        let policy = store::policy(&self.state.db, caller.platform_id).await?;
        match rounds.state_as::<AskedToConfirm>() {
            Some(asked) => match rounds.answer(CONFIRM) {
                Some(Answer::Accepted(_)) => {
                    request.consent.approved = Some(Money::from_micros(asked.confirm_price_micros));
                }
                _ => {
                    return Ok(Step::Complete(tool_error(
                        "declined",
                        "the user declined this run: nothing was held or charged",
                        json!({"price_usd": Money::from_micros(asked.confirm_price_micros)}),
                    )));
                }
            },
            None if rounds.form || policy.confirm_fallback == ConfirmFallback::Refuse => {
                request.consent.ask_above = policy.confirm_above;
            }
            None => {}
        }
        let runner = Runner {
            platform_id: caller.platform_id,
            end_user_id: caller.end_user_id,
            request_id: caller.request_id.clone(),
        };
        let uid = request.capability.clone();
        match run::run_detached(&self.state, runner, request, None).await {
            Ok(answer) => Ok(Step::Complete(run_result(answer.body))),
            Err(refusal) if rounds.form && refusal.error.code() == CONFIRMATION_REQUIRED => {
                let price = refusal.price.unwrap_or(Money::ZERO);
                Ok(Step::Ask(self.confirmation(&uid, price)))
            }
            Err(refusal) => Err(refusal),
        }
    }

    /// "Run <provider> for $0.012 from your budget?" as a yes/no form.
    fn confirmation(&self, uid: &str, price: Money) -> Ask {
        let name = self
            .state
            .capabilities
            .snapshot()
            .provider(uid)
            .map_or_else(|| uid.to_owned(), |p| p.spec.name.clone());
        Ask::new(AskedToConfirm {
            confirm_price_micros: price.micros(),
        })
        .form(
            CONFIRM,
            format!("Run {name} for ${} from your budget?", price.to_usd()),
            ElicitationSchema::new(BTreeMap::new()),
        )
    }
}

/// A finished run as a tool result.
fn run_result(body: Value) -> CallToolResult {
    let text = format!(
        "{}: {} (status {}), cost {} USD.",
        body["provider"].as_str().unwrap_or_default(),
        body["final_state"].as_str().unwrap_or_default(),
        body["status"],
        body["cost_usd"]
    );
    if body["ok"] == true {
        return structured(text, body);
    }
    let code = match body["final_state"].as_str() {
        Some("released") => "released",
        _ => "provider_failed",
    };
    tool_error(code, text, body)
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

    /// A run may ask its user to confirm the price first; the other tools
    /// take one round.
    async fn run_in_rounds(
        &self,
        caller: &ToolCaller,
        tool: usize,
        args: Value,
        rounds: &Rounds,
    ) -> Result<Step, Error> {
        if self.defs[tool].name() != RUN {
            return self.run(caller, tool, args).await.map(Step::Complete);
        }
        match self.paid_run(caller, args, rounds).await {
            Ok(step) => Ok(step),
            Err(refusal) if refusal.error.kind() == crate::error::ErrorKind::Internal => {
                Err(refusal.error)
            }
            Err(refusal) => Ok(Step::Complete(refusal_result(&refusal))),
        }
    }
}
