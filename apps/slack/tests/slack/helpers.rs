use std::time::Duration;

use assistiv_app_sdk::{App, AppError, CallContext, ToolOutput, reqwest};
use assistiv_app_slack::SlackApp;
use serde_json::Value;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

/// The user token every test call carries.
pub const TOKEN: &str = "xoxp-1234-5678-91011-00e4dd";

/// A stand-in Slack API and the app pointed at it.
pub struct TestSlack {
    pub server: MockServer,
    pub app: SlackApp,
    pub ctx: CallContext,
}

impl TestSlack {
    pub async fn start() -> Self {
        Self::start_with_timeout(Duration::from_secs(5)).await
    }

    pub async fn start_with_timeout(timeout: Duration) -> Self {
        let server = MockServer::start().await;
        let ctx = CallContext {
            access_token: TOKEN.to_string().into(),
            api_base_url: format!("{}/api", server.uri()),
            http: reqwest::Client::builder().build().unwrap(),
            timeout,
        };
        Self {
            server,
            app: SlackApp::new(),
            ctx,
        }
    }

    /// Calls `tool` the way the gateway does: arguments validated against the schema.
    pub async fn call(&self, tool: &str, args: Value) -> Result<ToolOutput, AppError> {
        let spec = self
            .app
            .tools()
            .iter()
            .find(|t| t.name == tool)
            .unwrap_or_else(|| panic!("no tool {tool}"));
        let validator = jsonschema::validator_for(&spec.input_schema).unwrap();
        if let Err(e) = validator.validate(&args) {
            panic!("{tool}: test arguments do not fit the input schema: {e}");
        }
        self.app.call(tool, args, &self.ctx).await
    }

    pub async fn ok(&self, tool: &str, args: Value) -> ToolOutput {
        match self.call(tool, args).await {
            Ok(out) => {
                assert!(
                    out.structured.is_object(),
                    "{tool}: structured must be an object"
                );
                assert!(!out.text.is_empty(), "{tool}: empty text");
                out
            }
            Err(e) => panic!("{tool} failed: {e:?}"),
        }
    }

    /// Mounts a mock that must be hit exactly once.
    pub async fn expect(&self, mock: MockBuilder, response: ResponseTemplate) {
        mock.respond_with(response)
            .expect(1)
            .mount(&self.server)
            .await;
    }
}

/// A matcher for `verb /api/<method>` with the bearer token.
pub fn slack(verb: &str, api_method: &str) -> MockBuilder {
    Mock::given(method(verb))
        .and(path(format!("/api/{api_method}")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
}

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// HTTP 200 with a fixture (Slack answers errors with 200 too).
pub fn json(name: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(fixture(name))
}
