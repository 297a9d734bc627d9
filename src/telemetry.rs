//! Structured logs (text or JSON). Handlers never log keys, tokens or secrets:
//! the request log carries method, path, status and latency only.

use tracing::{Level, Metadata};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let output = fmt::layer().with_writer(std::io::stderr);
    let output = match format {
        LogFormat::Text => output.boxed(),
        LogFormat::Json => output.json().flatten_event(true).boxed(),
    };
    // A second init (tests) is harmless: the first subscriber stays.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(filter_fn(without_mcp_payloads))
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
