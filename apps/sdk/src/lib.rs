//! The contract between the Assistiv gateway and its third-party app crates.
//!
//! An app crate (GitHub, Slack, ...) knows one provider's API and nothing about tenants,
//! keys or the database. It describes itself with static metadata ([`App::slug`],
//! [`App::oauth`], [`App::tools`]) and executes a tool with [`App::call`], given a
//! [`CallContext`]: the end user's decrypted access token, the effective API base URL
//! (the provider default or the platform's override) and the gateway's pooled HTTP client.
//!
//! The gateway owns everything around a call: it names tools `<slug>_<action>`
//! ([`qualified_tool_name`]), validates arguments against [`ToolSpec::input_schema`],
//! refreshes tokens (once more on [`AppError::Unauthorized`]), meters, logs, and turns a
//! [`ToolOutput`] into MCP `structuredContent` + text, or an [`AppError`] into a tool error
//! carrying [`AppError::code`] and [`AppError::upstream_status`].

pub mod http;
pub mod oauth;
#[cfg(feature = "schema")]
pub mod schema;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

pub use async_trait::async_trait;
/// The HTTP client crate of [`CallContext::http`]; build the client from this re-export so
/// the gateway and the apps agree on one `reqwest` version.
pub use reqwest;
pub use secrecy;
use secrecy::SecretString;

pub use oauth::{ConnectField, ConnectionSettings, Revocation, TokenDetails};

/// One third-party app: its identity, OAuth metadata, tools, and how to run them.
///
/// Implementations hold no per-tenant state; one instance serves every platform. `call`
/// must never panic on odd input: it answers [`AppError::InvalidArguments`] instead.
#[async_trait]
pub trait App: Send + Sync {
    /// Stable lowercase slug, e.g. `github`, `zoho-mail`. Part of every tool name.
    fn slug(&self) -> &'static str;
    /// Human-readable name, e.g. `GitHub`.
    fn display_name(&self) -> &'static str;
    /// The provider's OAuth defaults; the gateway applies the platform's overrides.
    fn oauth(&self) -> &OAuthSpec;
    /// Every tool this app offers. Names are unique, snake_case actions.
    fn tools(&self) -> &[ToolSpec];
    /// Runs the action `tool` (a [`ToolSpec::name`]) with already-validated arguments.
    /// Must finish within `ctx.timeout` (answering [`AppError::Timeout`] otherwise).
    async fn call(
        &self,
        tool: &str,
        args: Value,
        ctx: &CallContext,
    ) -> Result<ToolOutput, AppError>;

    // OAuth quirks. The defaults fit an RFC 6749 / RFC 7009 provider; see [`oauth`].

    /// Values the end user gives before the authorize redirect (Zendesk's subdomain),
    /// stored in the connection's settings and usable as `{name}` in every OAuth URL.
    fn connect_fields(&self) -> &'static [ConnectField] {
        &[]
    }

    /// The authorize URL parameter carrying the scopes: `scope`, or Slack's
    /// `user_scope` for a token that acts as the user.
    fn scope_param(&self) -> &'static str {
        "scope"
    }

    /// Settings read from the callback's query parameters (Zoho's `accounts-server`
    /// and `location`). The token exchange and later refreshes go wherever these point,
    /// carrying the client secret: refuse any value that is not the provider's own
    /// (an `Err` fails the connection with `invalid_callback`). `operator_origins` are
    /// the origins (`https://host[:port]`) of the URLs the platform's operator set as
    /// endpoint overrides for this app: the operator chose them, so an app may trust
    /// them as the provider's own too (a private deployment, a test stand-in).
    fn settings_from_callback(
        &self,
        query: &BTreeMap<String, String>,
        operator_origins: &[String],
    ) -> Result<ConnectionSettings, String> {
        let _ = (query, operator_origins);
        Ok(ConnectionSettings::new())
    }

    /// Rewrites the token endpoint's JSON answer (code exchange and refresh) into
    /// RFC 6749's shape before the gateway reads it, e.g. Slack's user token from
    /// `authed_user` ([`oauth::lift_nested_token`]). An answer with a string `error`
    /// field is a refusal, whatever the HTTP status.
    fn normalize_token_response(&self, body: Value) -> Value {
        body
    }

    /// Settings and the account to keep from a (normalized) token response, e.g.
    /// Slack's user and workspace.
    fn token_details(&self, body: &Value) -> TokenDetails {
        let _ = body;
        TokenDetails::default()
    }

    /// How tokens are revoked at the revoke URL when a connection is removed.
    fn revocation(&self) -> Revocation {
        Revocation::Rfc7009
    }

    /// Who a fresh token acts as, asked of the provider right after a connect when the
    /// token response did not say (GitHub's `GET /user` login). `None` when unknown or
    /// when the lookup fails: a connection never fails for want of its account name.
    async fn account_login(&self, ctx: &CallContext) -> Option<String> {
        let _ = ctx;
        None
    }
}

/// One tool of an app, as listed to MCP clients.
#[derive(Debug, Clone)]
pub struct ToolSpec {
    /// The action, e.g. `create_issue`; the gateway lists it as `github_create_issue`.
    pub name: &'static str,
    /// Short human-readable title.
    pub title: &'static str,
    /// What the tool does, written for a model choosing tools.
    pub description: &'static str,
    /// JSON Schema (draft 2020-12) of the arguments: `type: object`,
    /// `additionalProperties: false`.
    pub input_schema: Value,
    /// JSON Schema of [`ToolOutput::structured`], when the app commits to one.
    pub output_schema: Option<Value>,
    /// Behaviour hints (MCP tool annotations).
    pub annotations: ToolAnnotations,
}

/// MCP tool annotations: hints for clients, not guarantees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ToolAnnotations {
    /// Only reads (`readOnlyHint`).
    pub read_only: bool,
    /// May destroy or irreversibly change data (`destructiveHint`).
    pub destructive: bool,
    /// Repeating the call with the same arguments has no further effect (`idempotentHint`).
    pub idempotent: bool,
    /// Talks to the world outside the gateway (`openWorldHint`).
    pub open_world: bool,
}

impl ToolAnnotations {
    /// A read-only call to the provider.
    pub const READ: Self = Self {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: true,
    };
    /// A call that creates something new (not idempotent, not destructive).
    pub const CREATE: Self = Self {
        read_only: false,
        destructive: false,
        idempotent: false,
        open_world: true,
    };
    /// A call that changes existing data in place (idempotent, not destructive).
    pub const UPDATE: Self = Self {
        read_only: false,
        destructive: false,
        idempotent: true,
        open_world: true,
    };
    /// A call that irreversibly changes or removes data.
    pub const DESTRUCTIVE: Self = Self {
        read_only: false,
        destructive: true,
        idempotent: false,
        open_world: true,
    };
}

/// Static OAuth 2.0 metadata of a provider. Every URL is a default: the gateway's
/// per-platform configuration may override each one (GitHub Enterprise, regional data
/// centres, tests), so apps never read these URLs at call time; they get the effective
/// API base URL in [`CallContext::api_base_url`]. URLs may name connection settings as
/// `{name}` placeholders (`https://{subdomain}.zendesk.com/oauth/tokens`), filled per
/// connection by the gateway (see [`oauth::fill_template`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthSpec {
    /// Authorization endpoint the browser is sent to.
    pub authorize_url: &'static str,
    /// Token endpoint (code exchange and refresh).
    pub token_url: &'static str,
    /// RFC 7009 revocation endpoint taking the token, if the provider has one.
    pub revoke_url: Option<&'static str>,
    /// Base URL of the provider's API.
    pub api_base_url: &'static str,
    /// Scopes requested when the platform configured none.
    pub default_scopes: &'static [&'static str],
    /// How scopes are joined in the `scope` parameter (`" "` in RFC 6749, `","` for some).
    pub scope_separator: &'static str,
    /// The provider accepts PKCE with `code_challenge_method=S256`.
    pub pkce_s256: bool,
    /// Extra query parameters for the authorize URL, e.g. `("access_type", "offline")`.
    pub extra_authorize_params: &'static [(&'static str, &'static str)],
}

impl OAuthSpec {
    /// Joins `scopes` with this provider's separator, for the `scope` parameter.
    pub fn join_scopes<S: AsRef<str>>(&self, scopes: &[S]) -> String {
        scopes
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(self.scope_separator)
    }

    /// [`Self::default_scopes`] joined for the `scope` parameter.
    pub fn default_scope_param(&self) -> String {
        self.join_scopes(self.default_scopes)
    }
}

/// What one tool call gets from the gateway.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// The end user's decrypted, unexpired access token. Never log it.
    pub access_token: SecretString,
    /// Effective API base URL without a trailing slash, e.g. `https://api.github.com`
    /// or a GitHub Enterprise `https://ghe.example.com/api/v3`, with this connection's
    /// settings filled in (`https://acme.zendesk.com/api/v2`).
    pub api_base_url: String,
    /// The gateway's pooled client; apps reuse it rather than building their own.
    pub http: reqwest::Client,
    /// Budget for the whole call, every upstream request included.
    pub timeout: Duration,
}

/// A successful tool result: MCP `structuredContent` (a JSON object) plus a text content.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// Compact JSON object with the useful fields of the provider's answer.
    pub structured: Value,
    /// A short human-readable summary (or the text itself, e.g. a diff).
    pub text: String,
}

impl ToolOutput {
    pub fn new(structured: Value, text: impl Into<String>) -> Self {
        Self {
            structured,
            text: text.into(),
        }
    }
}

/// Why a tool call failed. [`AppError::code`] is stable and part of the gateway's
/// contract; messages are for people and models, never parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// The arguments do not fit the tool, or the provider rejected them (e.g. HTTP 422).
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    /// The provider answered 401: the gateway refreshes the token once and retries, or
    /// marks the connection `needs_reauth`.
    #[error("the provider rejected the access token")]
    Unauthorized,
    /// The provider answered 404 (also what GitHub answers for private resources the
    /// token cannot see).
    #[error("not found: {0}")]
    NotFound(String),
    /// The provider's rate limit is exhausted.
    #[error("rate limited by the provider")]
    RateLimited {
        /// Seconds until a retry may succeed, when the provider said.
        retry_after_secs: Option<u64>,
    },
    /// Any other error status from the provider.
    #[error("upstream error {status}: {message}")]
    Upstream { status: u16, message: String },
    /// The call did not finish within [`CallContext::timeout`].
    #[error("the provider did not answer in time")]
    Timeout,
    /// No usable HTTP answer: connection refused, TLS failure, unreadable body.
    #[error("transport error: {0}")]
    Transport(String),
}

impl AppError {
    /// Stable error code: `invalid_arguments`, `unauthorized`, `not_found`,
    /// `rate_limited` or `upstream_error` (which also covers timeouts and transport
    /// failures; tell them apart with [`Self::upstream_status`]).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidArguments(_) => "invalid_arguments",
            Self::Unauthorized => "unauthorized",
            Self::NotFound(_) => "not_found",
            Self::RateLimited { .. } => "rate_limited",
            Self::Upstream { .. } | Self::Timeout | Self::Transport(_) => "upstream_error",
        }
    }

    /// The HTTP status to report with the error: the provider's own status when it
    /// answered, 504 for a timeout, 502 when no usable answer came back, `None` for
    /// arguments the app refused before calling out.
    pub fn upstream_status(&self) -> Option<u16> {
        match self {
            Self::InvalidArguments(_) => None,
            Self::Unauthorized => Some(401),
            Self::NotFound(_) => Some(404),
            Self::RateLimited { .. } => Some(429),
            Self::Upstream { status, .. } => Some(*status),
            Self::Timeout => Some(504),
            Self::Transport(_) => Some(502),
        }
    }

    /// Generic status mapping for providers without special cases: 401, 404, 429 (with
    /// `retry_after_secs`), 400/422 as invalid arguments, anything else upstream.
    pub fn from_status(
        status: u16,
        message: impl Into<String>,
        retry_after_secs: Option<u64>,
    ) -> Self {
        let message = message.into();
        match status {
            401 => Self::Unauthorized,
            404 => Self::NotFound(message),
            429 => Self::RateLimited { retry_after_secs },
            400 | 422 => Self::InvalidArguments(message),
            _ => Self::Upstream { status, message },
        }
    }
}

/// Deserializes a tool's arguments object into `T`, answering
/// [`AppError::InvalidArguments`] with serde's message (which names the offending field)
/// instead of panicking. `null` reads as `{}`; any other non-object is refused.
pub fn parse_args<T: DeserializeOwned>(args: Value) -> Result<T, AppError> {
    let args = match args {
        // A missing `arguments` object (JSON null) means "no arguments".
        Value::Null => Value::Object(serde_json::Map::new()),
        Value::Object(_) => args,
        // serde would read an array positionally into a struct: refuse it.
        _ => {
            return Err(AppError::InvalidArguments(
                "arguments must be a JSON object".into(),
            ));
        }
    };
    serde_json::from_value(args).map_err(|e| AppError::InvalidArguments(e.to_string()))
}

/// The MCP tool name of an app's action: `<slug>_<action>` with the slug's hyphens as
/// underscores (`zoho-mail`, `send_message` → `zoho_mail_send_message`).
pub fn qualified_tool_name(slug: &str, action: &str) -> String {
    format!("{}_{action}", slug.replace('-', "_"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn codes_and_statuses_are_stable() {
        let cases = [
            (
                AppError::InvalidArguments("x".into()),
                "invalid_arguments",
                None,
            ),
            (AppError::Unauthorized, "unauthorized", Some(401)),
            (AppError::NotFound("x".into()), "not_found", Some(404)),
            (
                AppError::RateLimited {
                    retry_after_secs: Some(3),
                },
                "rate_limited",
                Some(429),
            ),
            (
                AppError::Upstream {
                    status: 503,
                    message: "down".into(),
                },
                "upstream_error",
                Some(503),
            ),
            (AppError::Timeout, "upstream_error", Some(504)),
            (
                AppError::Transport("refused".into()),
                "upstream_error",
                Some(502),
            ),
        ];
        for (err, code, status) in cases {
            assert_eq!(err.code(), code, "{err:?}");
            assert_eq!(err.upstream_status(), status, "{err:?}");
        }
    }

    #[test]
    fn generic_status_mapping() {
        assert_eq!(AppError::from_status(401, "", None), AppError::Unauthorized);
        assert_eq!(
            AppError::from_status(429, "", Some(7)),
            AppError::RateLimited {
                retry_after_secs: Some(7)
            }
        );
        assert_eq!(
            AppError::from_status(422, "bad", None),
            AppError::InvalidArguments("bad".into())
        );
        assert_eq!(
            AppError::from_status(404, "gone", None),
            AppError::NotFound("gone".into())
        );
        assert_eq!(
            AppError::from_status(500, "boom", None),
            AppError::Upstream {
                status: 500,
                message: "boom".into()
            }
        );
    }

    #[test]
    fn parse_args_reports_bad_input_instead_of_panicking() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        struct Args {
            n: u32,
        }
        let err = parse_args::<Args>(serde_json::json!({"n": "x"})).unwrap_err();
        assert_eq!(err.code(), "invalid_arguments");
        assert!(parse_args::<Args>(serde_json::json!({"n": 1, "extra": 2})).is_err());
        assert!(parse_args::<Args>(serde_json::json!([1])).is_err());
        assert!(parse_args::<Args>(Value::Null).is_err());
        assert_eq!(
            parse_args::<Args>(serde_json::json!({"n": 4})).unwrap().n,
            4
        );
    }

    #[test]
    fn names_and_scopes() {
        assert_eq!(
            qualified_tool_name("github", "create_issue"),
            "github_create_issue"
        );
        assert_eq!(
            qualified_tool_name("zoho-mail", "send_message"),
            "zoho_mail_send_message"
        );
        let spec = OAuthSpec {
            authorize_url: "https://a",
            token_url: "https://t",
            revoke_url: None,
            api_base_url: "https://api",
            default_scopes: &["repo", "read:user"],
            scope_separator: " ",
            pkce_s256: true,
            extra_authorize_params: &[],
        };
        assert_eq!(spec.default_scope_param(), "repo read:user");
        assert_eq!(spec.join_scopes(&["a".to_string(), "b".to_string()]), "a b");
    }
}
