use std::time::Duration;

use assistiv_app_sdk::{App, AppError, CallContext, ToolOutput, reqwest};
use assistiv_app_zendesk::ZendeskApp;
use serde_json::Value;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

/// The access token every test call carries.
pub const TOKEN: &str = "a5d3f9c1e7b24b0f8c6e2d9a1f3b5c7e9d1a3c5e7f9b1d3f5a7c9e1b3d5f7a9c";

/// A stand-in Zendesk account and the app pointed at it.
pub struct TestZendesk {
    pub server: MockServer,
    pub app: ZendeskApp,
    pub ctx: CallContext,
}

impl TestZendesk {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let ctx = CallContext {
            access_token: TOKEN.to_string().into(),
            api_base_url: server.uri(),
            http: reqwest::Client::builder().build().unwrap(),
            timeout: Duration::from_secs(5),
        };
        Self {
            server,
            app: ZendeskApp::new(),
            ctx,
        }
    }

    /// Calls `tool` the way the gateway does: arguments validated against the tool's
    /// input schema first.
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

    /// Calls, expects success, and checks the result against the tool's output schema.
    pub async fn ok(&self, tool: &str, args: Value) -> ToolOutput {
        let out = match self.call(tool, args).await {
            Ok(out) => out,
            Err(e) => panic!("{tool} failed: {e:?}"),
        };
        let spec = self.app.tools().iter().find(|t| t.name == tool).unwrap();
        let schema = spec.output_schema.as_ref().expect("output schema");
        let validator = jsonschema::validator_for(schema).unwrap();
        if let Err(e) = validator.validate(&out.structured) {
            panic!(
                "{tool}: output does not fit its schema: {e}\n{}",
                out.structured
            );
        }
        assert!(!out.text.is_empty(), "{tool}: empty text");
        out
    }

    /// Mounts a mock that must be hit exactly once.
    pub async fn expect(&self, mock: MockBuilder, response: ResponseTemplate) {
        mock.respond_with(response)
            .expect(1)
            .mount(&self.server)
            .await;
    }
}

/// A request matcher for `verb path` that also requires the bearer token.
pub fn zendesk(verb: &str, route: &str) -> MockBuilder {
    Mock::given(method(verb))
        .and(path(route))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("accept", "application/json"))
}

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// 200 with a fixture as JSON body.
pub fn json(name: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(fixture(name))
}

/// `status` with a fixture as JSON body.
pub fn json_status(status: u16, name: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(fixture(name))
}
