use std::time::Duration;

use assistiv_app_github::GitHubApp;
use assistiv_app_sdk::{App, AppError, CallContext, ToolOutput, reqwest};
use serde_json::Value;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

/// The access token every test call carries.
pub const TOKEN: &str = "gho_16C7e42F292c6912E7710c838347Ae178B4a";

/// A stand-in GitHub API and the app pointed at it.
pub struct TestGitHub {
    pub server: MockServer,
    pub app: GitHubApp,
    pub ctx: CallContext,
}

impl TestGitHub {
    pub async fn start() -> Self {
        Self::start_with_prefix("").await
    }

    /// GitHub Enterprise serves its API under `/api/v3`.
    pub async fn start_with_prefix(prefix: &str) -> Self {
        let server = MockServer::start().await;
        let ctx = CallContext {
            access_token: TOKEN.to_string().into(),
            api_base_url: format!("{}{prefix}", server.uri()),
            http: reqwest::Client::builder().build().unwrap(),
            timeout: Duration::from_secs(5),
        };
        Self {
            server,
            app: GitHubApp::new(),
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

    /// Calls and expects success: a non-empty text and a structured output that fits the
    /// tool's output schema.
    pub async fn ok(&self, tool: &str, args: Value) -> ToolOutput {
        match self.call(tool, args).await {
            Ok(out) => {
                assert!(!out.text.is_empty(), "{tool}: empty text");
                assert_fits_output_schema(&self.app, tool, &out.structured);
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

/// The output schema `tool` declares, compiled.
pub fn output_validator(app: &GitHubApp, tool: &str) -> jsonschema::Validator {
    let spec = app.tools().iter().find(|t| t.name == tool).unwrap();
    let schema = spec
        .output_schema
        .as_ref()
        .unwrap_or_else(|| panic!("{tool} has no output schema"));
    jsonschema::validator_for(schema).unwrap()
}

pub fn assert_fits_output_schema(app: &GitHubApp, tool: &str, structured: &Value) {
    let problems: Vec<String> = output_validator(app, tool)
        .iter_errors(structured)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(
        problems.is_empty(),
        "{tool}: the output does not fit the output schema: {problems:?}\n{structured:#}"
    );
}

/// A request matcher for `verb path` that also requires the bearer token and the API
/// version header octocrab sends.
pub fn github(verb: &str, route: &str) -> MockBuilder {
    Mock::given(method(verb))
        .and(path(route))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("x-github-api-version", "2022-11-28"))
}

pub fn fixture(name: &str) -> Value {
    serde_json::from_str(&fixture_text(&format!("{name}.json"))).unwrap()
}

pub fn fixture_text(file: &str) -> String {
    let path = format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// 200 with a fixture as JSON body.
pub fn json(name: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(fixture(name))
}

/// `status` with a fixture as JSON body.
pub fn json_status(status: u16, name: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(fixture(name))
}
