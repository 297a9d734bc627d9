//! The one path of a tool call, for every source: the tool must be the
//! caller's to see, its arguments must fit its schema (and hold no NUL), the
//! call must be within the end user's request limits, it runs under one
//! deadline, and it leaves one usage-log row. A call may take more than one
//! round (`input_required`, see [`super::rounds`]): the rounds that ask the user
//! something leave no row; the one that completes does.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rmcp::model::{CallToolResult, InputRequiredResult, ListToolsResult, Tool};
use serde_json::{Map, Value, json};

use super::results::{refusal, tool_error};
use super::rounds::{self, Rounds, StateError, Step};
use super::{Deadline, ToolCaller, ToolDef, ToolSource};
use crate::domain::nul::{NUL_REFUSED, nul_path};
use crate::error::Error;
use crate::metrics::{ToolMeters, ToolOutcome};
use crate::oauth::vault::Vault;
use crate::state::AppState;

/// A failure that is not a tool result: the call cannot be routed or the
/// gateway failed.
#[derive(Debug)]
pub enum CallError {
    /// No such tool for this caller (MCP: JSON-RPC -32602).
    UnknownTool(String),
    /// The `requestState` of a retried call does not open for this call
    /// (MCP: JSON-RPC -32602).
    RequestState(StateError),
    Internal(Error),
}

/// How a call ended: a result, or questions for the user (with the sealed
/// state the client must send back with its answers).
#[derive(Debug)]
pub enum CallOutcome {
    Complete(CallToolResult),
    InputRequired(InputRequiredResult),
}

impl From<Error> for CallError {
    fn from(err: Error) -> Self {
        Self::Internal(err)
    }
}

/// Every source behind the end users' tools, in listing order.
#[derive(Clone)]
pub struct Tools {
    state: AppState,
    sources: Arc<[Arc<dyn ToolSource>]>,
    /// Tool name → (source, index in its tools), built once.
    by_name: Arc<HashMap<String, (usize, usize)>>,
    timeout: Duration,
    /// Each tool's metrics, by source and index, resolved once.
    meters: Arc<[Vec<ToolMeters>]>,
    /// Seals the state of calls that take more than one round.
    vault: Vault,
    /// A `tools/list` result serialized once per visibility (which of all the
    /// tools a caller sees decides the list, whoever the caller is) and shape
    /// (stateless revision or not).
    lists: moka::sync::Cache<(Vec<bool>, bool), Bytes>,
}

impl Tools {
    /// The pipeline over `sources`; tool names must be unique across them.
    pub fn new(state: AppState, sources: Vec<Arc<dyn ToolSource>>) -> anyhow::Result<Self> {
        let mut by_name = HashMap::new();
        for (s, source) in sources.iter().enumerate() {
            for (t, def) in source.tools().iter().enumerate() {
                if by_name.insert(def.name().to_owned(), (s, t)).is_some() {
                    anyhow::bail!("two tool sources define {}", def.name());
                }
            }
        }
        let timeout = super::timeout(&state.config);
        let meters: Vec<Vec<ToolMeters>> = sources
            .iter()
            .map(|source| {
                source
                    .tools()
                    .iter()
                    .map(|def| state.metrics.tool(&def.log_label, def.name()))
                    .collect()
            })
            .collect();
        let vault = state.master_key.vault();
        Ok(Self {
            state,
            sources: sources.into(),
            by_name: Arc::new(by_name),
            timeout,
            meters: meters.into(),
            vault,
            lists: moka::sync::Cache::new(1024),
        })
    }

    /// The apps, skills and capability tools of this gateway.
    pub fn standard(state: AppState) -> anyhow::Result<Self> {
        let sources: Vec<Arc<dyn ToolSource>> = vec![
            Arc::new(crate::apps::tools::AppTools::new(state.clone())?),
            Arc::new(crate::skills::tools::SkillTools::new(state.clone())?),
            Arc::new(crate::capabilities::tools::CapabilityTools::new(
                state.clone(),
            )?),
        ];
        Self::new(state, sources)
    }

    /// Which of all the tools (every source's, in listing order) this caller sees.
    async fn visibility(&self, caller: &ToolCaller) -> Result<Vec<bool>, Error> {
        let mut visible = Vec::new();
        for source in self.sources.iter() {
            visible.extend(source.visible(caller).await?);
        }
        Ok(visible)
    }

    fn tools_shown<'a>(&'a self, visible: &'a [bool]) -> impl Iterator<Item = &'a Tool> + 'a {
        self.sources
            .iter()
            .flat_map(|source| source.tools().iter())
            .zip(visible)
            .filter(|(_, shown)| **shown)
            .map(|(def, _)| &def.tool)
    }

    /// The tools this caller sees, in listing order.
    pub async fn list(&self, caller: &ToolCaller) -> Result<Vec<Tool>, Error> {
        let visible = self.visibility(caller).await?;
        Ok(self.tools_shown(&visible).cloned().collect())
    }

    /// This caller's `tools/list` result (`{"tools": [...]}`) as JSON bytes, in
    /// the shape of the session-era revisions (before 2026-07-28: no
    /// `resultType`; the cache hints as rmcp sends them to every revision),
    /// serialized once per distinct visibility and reused: what rmcp sends for
    /// [`Self::list`], for a fraction of the work. The visibility is read afresh
    /// on every call, so a change anywhere shows at once.
    pub async fn session_list_json(&self, caller: &ToolCaller) -> Result<Bytes, Error> {
        self.list_json(caller, false).await
    }

    /// The same list in the stateless revision's shape (`resultType: "complete"`).
    pub async fn stateless_list_json(&self, caller: &ToolCaller) -> Result<Bytes, Error> {
        self.list_json(caller, true).await
    }

    async fn list_json(&self, caller: &ToolCaller, stateless: bool) -> Result<Bytes, Error> {
        let visible = self.visibility(caller).await?;
        let key = (visible, stateless);
        if let Some(bytes) = self.lists.get(&key) {
            return Ok(bytes);
        }
        let mut result =
            ListToolsResult::with_all_items(self.tools_shown(&key.0).cloned().collect())
                .with_ttl_ms(self.state.config.mcp_list_ttl_ms)
                .with_cache_scope(rmcp::model::CacheScope::Private);
        if !stateless {
            // rmcp leaves `resultType: "complete"` out for peers before 2026-07-28.
            result.result_type = None;
        }
        let bytes = Bytes::from(
            serde_json::to_vec(&result)
                .map_err(|e| Error::internal(format_args!("serializing tools/list: {e}")))?,
        );
        self.lists.insert(key, bytes.clone());
        Ok(bytes)
    }

    /// Runs `name` as `caller`, in one round. Refusals and tool failures are
    /// `isError` results.
    pub async fn call(
        &self,
        caller: &ToolCaller,
        name: &str,
        arguments: Map<String, Value>,
    ) -> Result<CallToolResult, CallError> {
        match self
            .call_in_rounds(caller, name, arguments, Rounds::none(), None)
            .await?
        {
            CallOutcome::Complete(result) => Ok(result),
            CallOutcome::InputRequired(_) => Err(CallError::Internal(Error::internal(
                "a tool asked for input a one-round caller cannot give",
            ))),
        }
    }

    /// Runs `name` as `caller`, one round of a call that may take several:
    /// `rounds` says what the client can ask its user and what it answered;
    /// `request_state` is the state the previous round handed out, which must
    /// open for this caller, tool and arguments.
    pub async fn call_in_rounds(
        &self,
        caller: &ToolCaller,
        name: &str,
        arguments: Map<String, Value>,
        mut rounds: Rounds,
        request_state: Option<&str>,
    ) -> Result<CallOutcome, CallError> {
        let unknown = || {
            self.state.metrics.unknown_tool();
            CallError::UnknownTool(name.to_owned())
        };
        let &(s, t) = self.by_name.get(name).ok_or_else(unknown)?;
        let source = &self.sources[s];
        let def = &source.tools()[t];
        let visible = source.visible(caller).await?;
        if !visible.get(t).copied().unwrap_or(false) {
            return Err(unknown());
        }
        let arguments = Value::Object(arguments);
        let now_ms = self.state.clock.now().timestamp_millis();
        // Only a call that can take more than one round is bound to its arguments.
        let binding = (rounds.can_ask() || request_state.is_some())
            .then(|| rounds::binding(caller, name, &arguments));
        if let (Some(sealed), Some(binding)) = (request_state, &binding) {
            let opened = rounds::open(&self.vault, binding, sealed, now_ms)
                .map_err(CallError::RequestState)?;
            rounds.state = Some(opened);
        }
        let meters = &self.meters[s][t];
        let started = Instant::now();
        let checked = self
            .checked_run(
                caller,
                ResolvedTool {
                    source: source.as_ref(),
                    def,
                    index: t,
                    meters,
                },
                arguments,
                &rounds,
            )
            .await;
        let step = match checked {
            Ok((step, outcome)) => {
                // A round that asks the user is not a call's end: counted when it ends.
                if matches!(step, Step::Complete(_)) {
                    meters.count(outcome);
                }
                step
            }
            Err(err) => {
                meters.count(ToolOutcome::Internal);
                return Err(err);
            }
        };
        match step {
            Step::Complete(result) => {
                if def.logged_as_tool_call {
                    self.log(caller, def, &result, started);
                }
                Ok(CallOutcome::Complete(result))
            }
            Step::Ask(ask) => {
                let binding = binding.ok_or_else(|| {
                    Error::internal(format_args!("{name} asked a caller that cannot answer"))
                })?;
                let sealed = rounds::seal(&self.vault, &binding, ask.state, now_ms)?;
                Ok(CallOutcome::InputRequired(InputRequiredResult::new(
                    Some(ask.requests),
                    Some(sealed),
                )))
            }
        }
    }

    async fn checked_run(
        &self,
        caller: &ToolCaller,
        tool: ResolvedTool<'_>,
        arguments: Value,
        rounds: &Rounds,
    ) -> Result<(Step, ToolOutcome), CallError> {
        let ResolvedTool {
            source,
            def,
            index,
            meters,
        } = tool;
        let complete = |result, outcome| Ok((Step::Complete(result), outcome));
        if let Some(invalid) = schema_refusal(def, &arguments) {
            return complete(invalid, ToolOutcome::Refused);
        }
        if let Some(at) = nul_path(&arguments) {
            // Arguments reach databases and upstreams: refused like REST bodies.
            return complete(
                tool_error(
                    "invalid_arguments",
                    format!("{NUL_REFUSED} (at {at})"),
                    json!({}),
                ),
                ToolOutcome::Refused,
            );
        }
        if let Some(refusal) = caller.over_rate_limit {
            return complete(
                tool_error(
                    "rate_limited",
                    refusal.to_string(),
                    json!({"retry_after_secs": refusal.retry_after_secs}),
                ),
                ToolOutcome::Refused,
            );
        }
        let ran_from = Instant::now();
        let run = source.run_in_rounds(caller, index, arguments, rounds);
        let outcome = match def.deadline {
            Deadline::Source => run.await,
            Deadline::Pipeline => match tokio::time::timeout(self.timeout, run).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    meters.ran_for(ran_from.elapsed());
                    return complete(
                        tool_error(
                            "upstream_error",
                            format!(
                                "{}: the call did not finish within {} s",
                                def.log_label,
                                self.timeout.as_secs()
                            ),
                            json!({"status": 504}),
                        ),
                        ToolOutcome::Timeout,
                    );
                }
            },
        };
        meters.ran_for(ran_from.elapsed());
        match outcome {
            Ok(Step::Complete(result)) => {
                let answered = if result.is_error == Some(true) {
                    ToolOutcome::Error
                } else {
                    ToolOutcome::Ok
                };
                complete(result, answered)
            }
            Ok(ask) => Ok((ask, ToolOutcome::Ok)),
            Err(err) if err.is_server_side() => Err(err.into()),
            Err(err) => complete(refusal(&err), ToolOutcome::Error),
        }
    }

    /// The usage-log row of one tool call: its status and, for an `isError`
    /// result, the stable `code` it carries.
    fn log(&self, caller: &ToolCaller, def: &ToolDef, result: &CallToolResult, started: Instant) {
        let error_code = (result.is_error == Some(true))
            .then(|| {
                result
                    .structured_content
                    .as_ref()
                    .and_then(|s| s["code"].as_str().map(str::to_owned))
            })
            .flatten();
        self.state.usage.record(crate::usage::UsageRecord {
            id: uuid::Uuid::now_v7(),
            platform_id: caller.platform_id,
            end_user_id: Some(caller.end_user_id),
            kind: "tool_call",
            app: Some(def.log_label.clone()),
            tool: Some(def.name().to_owned()),
            model: None,
            status: if error_code.is_some() { "error" } else { "ok" },
            error_code,
            latency_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            input_tokens: None,
            output_tokens: None,
            cost_micros: None,
            request_id: caller.request_id.clone(),
            created_at: self.state.clock.now(),
            provider: None,
            cached_tokens: None,
            ttft_ms: None,
            tokens_estimated: None,
            price: None,
        });
    }
}

/// The tool a call resolved to: its source, its definition, its index in
/// the source's tools and its metrics.
#[derive(Clone, Copy)]
struct ResolvedTool<'a> {
    source: &'a dyn ToolSource,
    def: &'a ToolDef,
    index: usize,
    meters: &'a ToolMeters,
}

/// `invalid_arguments` when `args` do not fit the tool's input schema.
fn schema_refusal(def: &ToolDef, args: &Value) -> Option<CallToolResult> {
    let problems: Vec<String> = def
        .validator
        .iter_errors(args)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    (!problems.is_empty()).then(|| {
        tool_error(
            "invalid_arguments",
            format!("the arguments do not match {}'s input schema", def.name()),
            json!({"errors": problems}),
        )
    })
}
