use std::time::Duration;

use assistiv_app_sdk::{App, AppError, CallContext, ToolOutput, reqwest};
use assistiv_app_zoho_mail::ZohoMailApp;
use serde_json::Value;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

/// The access token every test call carries (Zoho's `1000.<hex>.<hex>` shape).
pub const TOKEN: &str = "1000.3cb6e2c5d0f8a1b2c3d4e5f6a7b8c9d0.0a1b2c3d4e5f60718293a4b5c6d7e8f9";

/// The account of `accounts.json`.
pub const ACCOUNT: &str = "2560636000000008002";

/// A stand-in Zoho Mail API and the app pointed at it.
pub struct TestZoho {
    pub server: MockServer,
    pub app: ZohoMailApp,
    pub ctx: CallContext,
}

impl TestZoho {
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
            app: ZohoMailApp::new(),
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

    /// The primary-account lookup a tool makes when no `account_id` is given.
    pub async fn expect_account_lookup(&self) {
        self.expect(zoho("GET", "/api/accounts"), json("accounts"))
            .await;
    }
}

/// A request matcher for `verb path` that also requires the Zoho OAuth header.
pub fn zoho(verb: &str, route: &str) -> MockBuilder {
    Mock::given(method(verb))
        .and(path(route))
        .and(header(
            "authorization",
            format!("Zoho-oauthtoken {TOKEN}").as_str(),
        ))
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
