//! The tool pipeline's series, resolved once per tool when the pipeline is built
//! (tool names are fixed at start), so a call touches only atomics: no label
//! set is built or hashed per call.

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;

use super::{AppLabels, Metrics, ToolLabels};

/// How a tool call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolOutcome {
    /// The tool ran and answered a result.
    Ok,
    /// The tool ran and answered a tool error (`isError`).
    Error,
    /// The pipeline answered a tool error without running it (arguments,
    /// NUL, rate limit).
    Refused,
    /// The pipeline's deadline passed.
    Timeout,
    /// The gateway failed (a JSON-RPC internal error).
    Internal,
}

const OUTCOMES: [(ToolOutcome, &str); 5] = [
    (ToolOutcome::Ok, "ok"),
    (ToolOutcome::Error, "error"),
    (ToolOutcome::Refused, "refused"),
    (ToolOutcome::Timeout, "timeout"),
    (ToolOutcome::Internal, "internal"),
];

/// One tool's counters and its app's latency histogram.
pub struct ToolMeters {
    calls: [Counter; OUTCOMES.len()],
    run_seconds: Histogram,
}

impl ToolMeters {
    pub fn count(&self, outcome: ToolOutcome) {
        let index = OUTCOMES
            .iter()
            .position(|(o, _)| *o == outcome)
            .unwrap_or(OUTCOMES.len() - 1);
        self.calls[index].inc();
    }

    /// The time the tool's source took to run it.
    pub fn ran_for(&self, took: Duration) {
        self.run_seconds.observe(took.as_secs_f64());
    }
}

impl Metrics {
    /// The meters of `tool` of `app` (the usage log's `app`: `github`, `skills`,
    /// `capabilities`).
    pub fn tool(&self, app: &str, tool: &str) -> ToolMeters {
        let inner = &self.inner;
        let calls = OUTCOMES.map(|(_, outcome)| {
            inner.tool_calls.get_or_create_owned(&ToolLabels {
                app: app.to_owned(),
                tool: tool.to_owned(),
                outcome,
            })
        });
        let run_seconds = inner.app_seconds.get_or_create_owned(&AppLabels {
            app: app.to_owned(),
        });
        ToolMeters { calls, run_seconds }
    }

    /// Calls of a tool the caller cannot see or that does not exist: one series,
    /// since the name is the client's text.
    pub fn unknown_tool(&self) {
        self.inner
            .tool_calls
            .get_or_create(&ToolLabels {
                app: String::new(),
                tool: String::new(),
                outcome: "unknown_tool",
            })
            .inc();
    }
}
