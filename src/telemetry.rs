//! Structured logs (text or JSON). Handlers never log keys, tokens or secrets:
//! the request log carries method, path, status and latency only.

use std::io::IsTerminal;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    // Colour codes only for a terminal: a file or a log collector gets plain text.
    let ansi = std::io::stderr().is_terminal();
    let output = fmt::layer().with_writer(std::io::stderr).with_ansi(ansi);
    let output = match format {
        LogFormat::Text => output.boxed(),
        LogFormat::Json => output.json().flatten_event(true).boxed(),
    };
    // A second init (tests) is harmless: the first subscriber stays.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(filter_fn(without_mcp_payloads))
        .with(QuietClientMistakes)
        .with(output)
        .try_init();
}

/// rmcp dumps whole JSON-RPC messages (tool arguments: skill files, messages to
/// send, ...) at debug and trace, and client notifications' params at info in
/// `rmcp::service`. This filter sits beside `RUST_LOG` and both must pass, so no
/// `RUST_LOG` value lets those events through.
fn without_mcp_payloads(metadata: &Metadata<'_>) -> bool {
    let in_module = |module: &str| {
        let target = metadata.target();
        target == module
            || target
                .strip_prefix(module)
                .is_some_and(|rest| rest.starts_with("::"))
    };
    if in_module("rmcp::service") {
        *metadata.level() <= Level::WARN
    } else if in_module("rmcp") {
        *metadata.level() <= Level::INFO
    } else {
        true
    }
}

#[cfg(test)]
mod tests {
    use tracing::callsite::Identifier;
    use tracing::field::FieldSet;
    use tracing::metadata::Kind;

    use super::*;

    struct Callsite;
    impl tracing::Callsite for Callsite {
        fn set_interest(&self, _: tracing::subscriber::Interest) {}
        fn metadata(&self) -> &Metadata<'_> {
            unreachable!("only its identity is used")
        }
    }
    static CALLSITE: Callsite = Callsite;

    fn passes(target: &'static str, level: Level) -> bool {
        let metadata = Metadata::new(
            "event",
            target,
            level,
            None,
            None,
            None,
            FieldSet::new(&[], Identifier(&CALLSITE)),
            Kind::EVENT,
        );
        without_mcp_payloads(&metadata)
    }

    #[test]
    fn rmcp_message_dumps_never_pass() {
        assert!(!passes("rmcp::service", Level::DEBUG), "received request");
        assert!(
            !passes("rmcp::service", Level::INFO),
            "received notification"
        );
        assert!(passes("rmcp::service", Level::WARN));
        assert!(!passes(
            "rmcp::transport::streamable_http_server::tower",
            Level::TRACE
        ));
        assert!(!passes("rmcp", Level::DEBUG));
        assert!(passes("rmcp::transport::worker", Level::INFO));
        assert!(passes("rmcpx", Level::TRACE), "another crate");
        assert!(passes("assistiv::mcp", Level::DEBUG));
    }
}

/// rmcp logs every JSON-RPC error it answers at WARN ("response error"), a
/// client's mistakes included (an unknown tool, bad params, an unknown method).
/// Those are not the operator's problem: they are dropped here (the MCP server
/// logs an unknown tool at INFO itself), and WARN keeps internal errors.
struct QuietClientMistakes;

/// JSON-RPC codes that mean the client got something wrong.
const CLIENT_ERROR_CODES: [i32; 8] = [
    -32700, // parse error
    -32600, // invalid request
    -32601, // method not found
    -32602, // invalid params (an unknown tool, arguments that do not fit)
    -32002, // resource not found
    -32020, // header mismatch
    -32021, // missing client capability
    -32022, // unsupported protocol version
];

impl<S: Subscriber> Layer<S> for QuietClientMistakes {
    fn event_enabled(&self, event: &Event<'_>, _: Context<'_, S>) -> bool {
        let metadata = event.metadata();
        if *metadata.level() != Level::WARN || !metadata.target().starts_with("rmcp::") {
            return true;
        }
        let mut error = ClientErrorField::default();
        event.record(&mut error);
        !error.is_client_error
    }
}

/// Reads the `error` field of rmcp's "response error" event (`ErrorData`'s Debug:
/// `ErrorData { code: ErrorCode(-32602), ... }`).
#[derive(Default)]
struct ClientErrorField {
    is_client_error: bool,
}

impl Visit for ClientErrorField {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() != "error" {
            return;
        }
        let text = format!("{value:?}");
        self.is_client_error = CLIENT_ERROR_CODES
            .iter()
            .any(|code| text.starts_with(&format!("ErrorData {{ code: ErrorCode({code})")));
    }
}

#[cfg(test)]
mod quiet_tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// Collects the messages of the events that get through.
    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<String>>>);

    impl<S: Subscriber> Layer<S> for Seen {
        fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
            struct Message<'a>(&'a mut String);
            impl Visit for Message<'_> {
                fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                    if field.name() == "message" {
                        *self.0 = format!("{value:?}");
                    }
                }
            }
            let mut message = String::new();
            event.record(&mut Message(&mut message));
            self.0.lock().unwrap().push(message);
        }
    }

    #[test]
    fn a_clients_json_rpc_mistake_is_not_a_warning_but_an_internal_error_is() {
        let seen = Seen::default();
        let subscriber = tracing_subscriber::registry()
            .with(seen.clone())
            .with(QuietClientMistakes);
        tracing::subscriber::with_default(subscriber, || {
            let unknown_tool =
                rmcp::ErrorData::invalid_params("unknown tool: github_nope".to_owned(), None);
            let internal = rmcp::ErrorData::internal_error("database down".to_owned(), None);
            tracing::warn!(target: "rmcp::service", id = 1, error = ?unknown_tool, "response error");
            tracing::warn!(target: "rmcp::service", id = 2, error = ?internal, "internal");
            tracing::warn!(target: "assistiv", "ours");
        });
        assert_eq!(*seen.0.lock().unwrap(), ["internal", "ours"]);
    }
}
