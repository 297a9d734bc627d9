//! End users' tools, whoever asks: the contract a tool source implements
//! ([`ToolSource`]: what it owns, what a caller may see, how to run one) and the
//! one pipeline every call goes through ([`Tools`]: visibility, argument schema,
//! request limits, one deadline, one usage-log row). The MCP server is one
//! caller of the pipeline; the Responses API is another (no MCP session needed).

mod pipeline;
mod results;
pub mod rounds;

use std::sync::Arc;
use std::time::Duration;

use assistiv_app_sdk::ToolSpec;
use async_trait::async_trait;
use rmcp::model::{CallToolResult, Tool, ToolAnnotations};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::cache::AuthContext;
use crate::error::Error;

pub use pipeline::{CallError, CallOutcome, Tools};
pub use results::{result_or_tool_error, structured, tool_error};
pub use rounds::{Rounds, Step};

/// Which of an end user's tools a caller reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolScope {
    /// Everything the platform activated and enabled (`/mcp`).
    All,
    /// Only the skills tools (`/mcp/skills`).
    Skills,
    /// Only the capability tools (`/mcp/capabilities`).
    Capabilities,
    /// An agent's allowed apps, read-only tools when it says so (`/mcp/agents/{id}`).
    Agent {
        agent_id: Uuid,
        allowed_apps: Vec<String>,
        read_only: bool,
    },
}

/// The end user a tool runs as, and what they reach.
#[derive(Debug, Clone)]
pub struct ToolCaller {
    pub key: AuthContext,
    pub platform_id: Uuid,
    pub end_user_id: Uuid,
    pub scope: ToolScope,
    pub request_id: String,
    /// Set by a caller that counted this call past the end user's request
    /// limits: the tool answers `rate_limited` instead of running.
    pub over_rate_limit: Option<crate::ratelimit::Refusal>,
}

/// Who bounds a tool's running time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// The pipeline's tool timeout.
    Pipeline,
    /// The source's own (paid work must settle, so it is never cut from outside).
    Source,
}

/// One tool as its source defines it, prepared once: the listed definition and
/// the compiled validator of its arguments.
pub struct ToolDef {
    pub tool: Tool,
    validator: jsonschema::Validator,
    pub read_only: bool,
    /// The usage log's `app` column (`github`, `skills`, `capabilities`).
    pub log_label: String,
    /// `false` for a tool whose work writes its own usage row (a paid run).
    pub logged_as_tool_call: bool,
    pub deadline: Deadline,
}

impl ToolDef {
    /// A definition from an SDK [`ToolSpec`] (its schema derived from the
    /// argument type), listed under `name` with `title`.
    pub fn from_spec(
        spec: &ToolSpec,
        name: String,
        title: String,
        log_label: impl Into<String>,
    ) -> anyhow::Result<Self> {
        let validator = jsonschema::validator_for(&spec.input_schema)
            .map_err(|e| anyhow::anyhow!("{name}: invalid input schema: {e}"))?;
        let Value::Object(schema) = spec.input_schema.clone() else {
            anyhow::bail!("{name}: input schema is not an object");
        };
        let a = &spec.annotations;
        let annotations = ToolAnnotations::with_title(spec.title)
            .read_only(a.read_only)
            .destructive(a.destructive)
            .idempotent(a.idempotent)
            .open_world(a.open_world);
        let mut tool = Tool::new_with_raw(name, Some(spec.description.into()), schema)
            .with_title(title)
            .with_annotations(annotations);
        if let Some(Value::Object(output)) = spec.output_schema.clone() {
            tool = tool.with_raw_output_schema(Arc::new(result_or_tool_error(output)));
        }
        Ok(Self {
            tool,
            validator,
            read_only: a.read_only,
            log_label: log_label.into(),
            logged_as_tool_call: true,
            deadline: Deadline::Pipeline,
        })
    }

    /// The same tool, bounded by its source and logging itself.
    pub fn paid(mut self) -> Self {
        self.logged_as_tool_call = false;
        self.deadline = Deadline::Source;
        self
    }

    pub fn name(&self) -> &str {
        &self.tool.name
    }
}

/// One source of tools: apps, skills, capabilities.
#[async_trait]
pub trait ToolSource: Send + Sync {
    /// Every tool this source owns, in listing order (fixed at start).
    fn tools(&self) -> &[ToolDef];

    /// Whether this caller may see and call `tool` (one of [`Self::tools`]);
    /// `visible` answers for all of them at once, cheaper than asking per tool.
    async fn visible(&self, caller: &ToolCaller) -> Result<Vec<bool>, Error>;

    /// Runs `tool` (index into [`Self::tools`]) with arguments that fit its
    /// schema. Tool-level failures are `Ok` results with `isError`; an `Err` that
    /// is the caller's fault becomes one too, a server-side `Err` stays an error.
    async fn run(
        &self,
        caller: &ToolCaller,
        tool: usize,
        arguments: Value,
    ) -> Result<CallToolResult, Error>;

    /// Runs `tool` in a multi round-trip call: a source that may need the user
    /// (to connect an app, to confirm a payment) answers [`Step::Ask`] when the
    /// client can ask them ([`Rounds`]), and reads their answers on the retry.
    async fn run_in_rounds(
        &self,
        caller: &ToolCaller,
        tool: usize,
        arguments: Value,
        _rounds: &Rounds,
    ) -> Result<Step, Error> {
        self.run(caller, tool, arguments).await.map(Step::Complete)
    }
}

/// Deserializes a tool's arguments into the type its schema was derived from.
pub fn arguments<T: serde::de::DeserializeOwned>(arguments: Value) -> Result<T, Error> {
    serde_json::from_value(arguments)
        .map_err(|e| Error::bad_request(format!("invalid arguments: {e}")))
}

/// The pipeline's tool timeout, from the configuration.
pub fn timeout(config: &crate::config::Config) -> Duration {
    Duration::from_secs(config.tool_timeout_secs)
}
