//! Configuration, layered: defaults < optional TOML file < `ASSISTIV_*` environment
//! (plus the conventional `DATABASE_URL` / `REDIS_URL`) < command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// A separate address serving only `/metrics` (no token); when set, the
    /// main listener does not serve it.
    pub metrics_listen: Option<SocketAddr>,
    /// Directory for the embedded SQLite database, the generated master key and blobs.
    pub data_dir: PathBuf,
    /// `postgres://...` or `sqlite://...`; SQLite in `data_dir` when absent.
    pub database_url: Option<SecretString>,
    /// Optional Redis for cross-instance counters.
    pub redis_url: Option<SecretString>,
    /// Operator token for `/admin/v1`; the operator surface is off without it.
    pub admin_token: Option<SecretString>,
    /// Base64 of 32 bytes; generated into the data dir when absent.
    pub master_key: Option<SecretString>,
    /// Earlier master keys (comma-separated base64) that still open, never seal:
    /// set during a rotation, dropped after `assistiv admin master-key rotate`.
    pub previous_master_keys: Option<SecretString>,
    /// Public base URL used in OAuth callbacks and connect links.
    pub public_url: Option<String>,
    pub log_format: LogFormat,
    /// Provision a `default` platform on first start against an empty database.
    pub bootstrap: bool,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Connections in the database pool.
    pub database_max_connections: u32,
    /// How long money stays held for an operation before the sweeper releases it.
    pub hold_ttl_secs: u64,
    /// How often expired holds are swept.
    pub hold_sweep_interval_ms: u64,
    /// How often expired OAuth states and connect links are swept.
    pub oauth_sweep_interval_ms: u64,
    /// No upstream call may hold an MCP tool call longer than this.
    pub tool_timeout_secs: u64,
    /// Extra `Host` values the MCP endpoint accepts (comma-separated), besides
    /// loopback and the public URL's host. DNS-rebinding protection.
    pub mcp_allowed_hosts: Option<String>,
    /// Extra browser `Origin`s the MCP endpoint accepts (comma-separated), besides
    /// loopback and the public URL's origin.
    pub mcp_allowed_origins: Option<String>,
    /// Most live MCP sessions one end user may hold; opening one more closes the
    /// user's least recently used session.
    pub mcp_max_sessions_per_user: usize,
    /// An MCP session idle this long is closed.
    pub mcp_session_idle_secs: u64,
    /// `ttlMs` of `tools/list` on the 2026-07-28 revision: how long a client may
    /// reuse a list before asking again.
    pub mcp_list_ttl_ms: u64,
    /// Where skill blobs (encrypted, content-addressed) are kept; `<data_dir>/blobs`
    /// when absent. Instances sharing a database must share this directory.
    pub blob_dir: Option<PathBuf>,
    /// Largest skill zip accepted by the upload routes, in bytes.
    pub max_skill_zip_bytes: usize,
    /// Largest total size of a skill's files once unpacked, in bytes.
    pub max_skill_unpacked_bytes: u64,
    /// Most files in one skill.
    pub max_skill_files: usize,
    /// Largest single file of a skill once unpacked, in bytes.
    pub max_skill_file_bytes: u64,
    /// A directory with `shelves.toml` and `providers.toml` replacing the built-in
    /// capability catalog.
    pub capabilities_dir: Option<PathBuf>,
    /// Base URL that catalog provider paths (`/...`) resolve under; without it
    /// those providers are `down` and never called.
    pub capabilities_upstream_url: Option<String>,
    /// Longest a capability provider call (or quote) may take, in milliseconds.
    pub capabilities_call_timeout_ms: u64,
    /// How often provider health is probed, in milliseconds.
    pub capabilities_health_interval_ms: u64,
    /// Accept `http://` webhook endpoints (otherwise `https://` only).
    pub webhook_allow_http: bool,
    /// Deliver webhooks to loopback, private, link-local, shared and metadata
    /// addresses (refused by default, after DNS resolution).
    pub webhook_allow_private: bool,
    /// Subnets (comma-separated CIDRs) webhook targets may resolve into even
    /// though they are private (`10.1.0.0/16,127.0.0.1/32`).
    pub webhook_allowed_subnets: Option<String>,
    /// Longest one webhook delivery attempt may take, in milliseconds.
    pub webhook_timeout_ms: u64,
    /// Delays before each attempt (comma-separated: `0s,5s,5m,30m,2h,5h,10h,10h`).
    pub webhook_retry_schedule: String,
    /// How often the delivery worker looks for new events and due retries.
    pub webhook_poll_interval_ms: u64,
    /// Most webhook attempts one instance makes at once.
    pub webhook_concurrency: usize,
    /// Delivered and failed deliveries (and their attempts) older than this are purged.
    pub webhook_retention_days: u64,
    /// A price book file (the shape of `llm/prices.toml`) replacing the shipped one.
    pub price_book: Option<PathBuf>,
    /// First start: give the `default` platform the labelled `mock` LLM provider.
    pub mock_provider: bool,
    /// Delay before each streamed chunk of the mock's `mock-1`, in milliseconds.
    pub mock_chunk_delay_ms: u64,
    /// The output tokens a hold assumes when a completion request sets no
    /// `max_tokens` / `max_completion_tokens`.
    pub inference_default_max_tokens: u32,
    /// Responses API: model turns one response may take (hosted tool calls
    /// between them); the last turn is offered no tools, so it answers.
    pub responses_max_turns: u32,
    /// Responses API: stored responses older than this many days are purged.
    pub responses_retention_days: u64,
}

/// The settings read from `ASSISTIV_*` variables. Others with that prefix (a client's
/// `ASSISTIV_PLATFORM_KEY`, say) are not ours and are left alone.
const SETTINGS: &[&str] = &[
    "LISTEN",
    "METRICS_LISTEN",
    "DATA_DIR",
    "DATABASE_URL",
    "REDIS_URL",
    "ADMIN_TOKEN",
    "MASTER_KEY",
    "PREVIOUS_MASTER_KEYS",
    "PUBLIC_URL",
    "LOG_FORMAT",
    "BOOTSTRAP",
    "MAX_BODY_BYTES",
    "DATABASE_MAX_CONNECTIONS",
    "HOLD_TTL_SECS",
    "HOLD_SWEEP_INTERVAL_MS",
    "OAUTH_SWEEP_INTERVAL_MS",
    "TOOL_TIMEOUT_SECS",
    "MCP_ALLOWED_HOSTS",
    "MCP_ALLOWED_ORIGINS",
    "MCP_MAX_SESSIONS_PER_USER",
    "MCP_SESSION_IDLE_SECS",
    "MCP_LIST_TTL_MS",
    "BLOB_DIR",
    "MAX_SKILL_ZIP_BYTES",
    "MAX_SKILL_UNPACKED_BYTES",
    "MAX_SKILL_FILES",
    "MAX_SKILL_FILE_BYTES",
    "CAPABILITIES_DIR",
    "CAPABILITIES_UPSTREAM_URL",
    "CAPABILITIES_CALL_TIMEOUT_MS",
    "CAPABILITIES_HEALTH_INTERVAL_MS",
    "WEBHOOK_ALLOW_HTTP",
    "WEBHOOK_ALLOW_PRIVATE",
    "WEBHOOK_ALLOWED_SUBNETS",
    "WEBHOOK_TIMEOUT_MS",
    "WEBHOOK_RETRY_SCHEDULE",
    "WEBHOOK_POLL_INTERVAL_MS",
    "WEBHOOK_CONCURRENCY",
    "WEBHOOK_RETENTION_DAYS",
    "PRICE_BOOK",
    "MOCK_PROVIDER",
    "MOCK_CHUNK_DELAY_MS",
    "INFERENCE_DEFAULT_MAX_TOKENS",
    "RESPONSES_MAX_TURNS",
    "RESPONSES_RETENTION_DAYS",
];

/// Defaults as a serializable layer, so figment can merge the others over it.
#[derive(Serialize)]
struct Defaults {
    listen: String,
    data_dir: String,
    log_format: LogFormat,
    bootstrap: bool,
    max_body_bytes: usize,
    database_max_connections: u32,
    hold_ttl_secs: u64,
    hold_sweep_interval_ms: u64,
    oauth_sweep_interval_ms: u64,
    tool_timeout_secs: u64,
    mcp_max_sessions_per_user: usize,
    mcp_session_idle_secs: u64,
    mcp_list_ttl_ms: u64,
    max_skill_zip_bytes: usize,
    max_skill_unpacked_bytes: u64,
    max_skill_files: usize,
    max_skill_file_bytes: u64,
    capabilities_call_timeout_ms: u64,
    capabilities_health_interval_ms: u64,
    webhook_allow_http: bool,
    webhook_allow_private: bool,
    webhook_timeout_ms: u64,
    webhook_retry_schedule: String,
    webhook_poll_interval_ms: u64,
    webhook_concurrency: usize,
    webhook_retention_days: u64,
    mock_provider: bool,
    mock_chunk_delay_ms: u64,
    inference_default_max_tokens: u32,
    responses_max_turns: u32,
    responses_retention_days: u64,
}

impl Default for Defaults {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: "./data".into(),
            log_format: LogFormat::Text,
            bootstrap: true,
            max_body_bytes: 1024 * 1024,
            database_max_connections: 16,
            hold_ttl_secs: 900,
            hold_sweep_interval_ms: 5_000,
            oauth_sweep_interval_ms: 60_000,
            tool_timeout_secs: 30,
            mcp_max_sessions_per_user: 32,
            mcp_session_idle_secs: 300,
            mcp_list_ttl_ms: 30_000,
            max_skill_zip_bytes: 8 * 1024 * 1024,
            max_skill_unpacked_bytes: 32 * 1024 * 1024,
            max_skill_files: 1000,
            max_skill_file_bytes: 8 * 1024 * 1024,
            capabilities_call_timeout_ms: 15_000,
            capabilities_health_interval_ms: 30_000,
            webhook_allow_http: false,
            webhook_allow_private: false,
            webhook_timeout_ms: 15_000,
            webhook_retry_schedule: "0s,5s,5m,30m,2h,5h,10h,10h".into(),
            webhook_poll_interval_ms: 250,
            webhook_concurrency: 32,
            webhook_retention_days: 30,
            mock_provider: true,
            mock_chunk_delay_ms: 20,
            inference_default_max_tokens: 4096,
            responses_max_turns: 8,
            responses_retention_days: 30,
        }
    }
}

/// Values given on the command line; `None` leaves lower layers in force.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<bool>,
}

impl Config {
    /// Loads every layer. `file` is the optional TOML config file.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Defaults::default()));
        if let Some(file) = file {
            anyhow::ensure!(file.exists(), "config file {} not found", file.display());
            figment = figment.merge(Toml::file(file));
        }
        let config: Config = figment
            .merge(Env::raw().only(&["DATABASE_URL", "REDIS_URL"]))
            .merge(Env::prefixed("ASSISTIV_").only(SETTINGS))
            .merge(Serialized::defaults(overrides))
            .extract()
            .context("invalid configuration")?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if let Some(url) = &self.database_url {
            let url = url.expose_secret();
            anyhow::ensure!(
                url.starts_with("postgres://")
                    || url.starts_with("postgresql://")
                    || url.starts_with("sqlite:"),
                "DATABASE_URL must start with postgres://, postgresql:// or sqlite:"
            );
        }
        if let Some(token) = &self.admin_token {
            anyhow::ensure!(
                token.expose_secret().len() >= 16,
                "ASSISTIV_ADMIN_TOKEN must be at least 16 characters"
            );
        }
        if let Some(url) = &self.public_url {
            anyhow::ensure!(
                url.starts_with("http://") || url.starts_with("https://"),
                "ASSISTIV_PUBLIC_URL must be an http(s) URL"
            );
        }
        anyhow::ensure!(
            self.hold_ttl_secs >= 1,
            "ASSISTIV_HOLD_TTL_SECS must be at least 1"
        );
        anyhow::ensure!(
            self.hold_sweep_interval_ms >= 10,
            "ASSISTIV_HOLD_SWEEP_INTERVAL_MS must be at least 10"
        );
        anyhow::ensure!(
            self.oauth_sweep_interval_ms >= 10,
            "ASSISTIV_OAUTH_SWEEP_INTERVAL_MS must be at least 10"
        );
        anyhow::ensure!(
            self.max_skill_zip_bytes >= 1024
                && self.max_skill_unpacked_bytes >= 1024
                && self.max_skill_files >= 1
                && self.max_skill_file_bytes >= 1024,
            "ASSISTIV_MAX_SKILL_* limits must be at least 1024 bytes (and 1 file)"
        );
        if let Some(url) = &self.capabilities_upstream_url {
            anyhow::ensure!(
                url.starts_with("http://") || url.starts_with("https://"),
                "ASSISTIV_CAPABILITIES_UPSTREAM_URL must be an http(s) URL"
            );
        }
        anyhow::ensure!(
            self.capabilities_call_timeout_ms >= 10 && self.capabilities_health_interval_ms >= 10,
            "ASSISTIV_CAPABILITIES_CALL_TIMEOUT_MS and _HEALTH_INTERVAL_MS must be at least 10"
        );
        anyhow::ensure!(
            self.mcp_max_sessions_per_user >= 1 && self.mcp_session_idle_secs >= 1,
            "ASSISTIV_MCP_MAX_SESSIONS_PER_USER and ASSISTIV_MCP_SESSION_IDLE_SECS must be at least 1"
        );
        crate::webhooks::Settings::from_config(self)?;
        anyhow::ensure!(
            self.inference_default_max_tokens >= 1,
            "ASSISTIV_INFERENCE_DEFAULT_MAX_TOKENS must be at least 1"
        );
        anyhow::ensure!(
            (1..=64).contains(&self.responses_max_turns) && self.responses_retention_days >= 1,
            "ASSISTIV_RESPONSES_MAX_TURNS must be 1 to 64 and ASSISTIV_RESPONSES_RETENTION_DAYS at least 1"
        );
        anyhow::ensure!(
            self.database_max_connections >= 2,
            "ASSISTIV_DATABASE_MAX_CONNECTIONS must be at least 2"
        );
        Ok(())
    }

    /// The base URL clients reach this gateway at.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }

    fn public_authority(&self) -> Option<(String, String)> {
        let url = self.public_url();
        let (scheme, rest) = url.split_once("://")?;
        let authority = rest.split('/').next()?.to_owned();
        Some((scheme.to_owned(), authority))
    }

    /// The directory holding skill blobs.
    pub fn blob_dir(&self) -> PathBuf {
        self.blob_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("blobs"))
    }

    /// `Host` values the MCP endpoint accepts.
    pub fn mcp_allowed_hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1", "[::1]"]
            .map(String::from)
            .to_vec();
        if let Some((_, authority)) = self.public_authority() {
            hosts.push(authority.clone());
            if let Some((host, _)) = authority.rsplit_once(':') {
                hosts.push(host.to_owned());
            }
        }
        hosts.extend(split_list(self.mcp_allowed_hosts.as_deref()));
        hosts
    }

    /// Browser `Origin`s the MCP endpoint accepts (others are refused).
    pub fn mcp_allowed_origins(&self) -> Vec<String> {
        let mut origins: Vec<String> =
            ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"]
                .map(String::from)
                .to_vec();
        if let Some((scheme, authority)) = self.public_authority() {
            let origin = if authority.contains(':') && !authority.ends_with(']') {
                format!("{scheme}://{authority}")
            } else {
                format!(
                    "{scheme}://{authority}:{}",
                    if scheme == "https" { 443 } else { 80 }
                )
            };
            origins.push(origin);
        }
        origins.extend(split_list(self.mcp_allowed_origins.as_deref()));
        origins
    }

    /// A configuration for tests and embedding: defaults, no environment.
    pub fn for_data_dir(data_dir: PathBuf) -> Self {
        let defaults = Defaults::default();
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics_listen: None,
            data_dir,
            database_url: None,
            redis_url: None,
            admin_token: None,
            master_key: None,
            previous_master_keys: None,
            public_url: None,
            log_format: defaults.log_format,
            bootstrap: defaults.bootstrap,
            max_body_bytes: defaults.max_body_bytes,
            database_max_connections: 8,
            hold_ttl_secs: defaults.hold_ttl_secs,
            hold_sweep_interval_ms: defaults.hold_sweep_interval_ms,
            oauth_sweep_interval_ms: defaults.oauth_sweep_interval_ms,
            tool_timeout_secs: defaults.tool_timeout_secs,
            mcp_allowed_hosts: None,
            mcp_allowed_origins: None,
            mcp_max_sessions_per_user: defaults.mcp_max_sessions_per_user,
            mcp_session_idle_secs: defaults.mcp_session_idle_secs,
            mcp_list_ttl_ms: defaults.mcp_list_ttl_ms,
            blob_dir: None,
            max_skill_zip_bytes: defaults.max_skill_zip_bytes,
            max_skill_unpacked_bytes: defaults.max_skill_unpacked_bytes,
            max_skill_files: defaults.max_skill_files,
            max_skill_file_bytes: defaults.max_skill_file_bytes,
            capabilities_dir: None,
            capabilities_upstream_url: None,
            capabilities_call_timeout_ms: defaults.capabilities_call_timeout_ms,
            capabilities_health_interval_ms: defaults.capabilities_health_interval_ms,
            webhook_allow_http: defaults.webhook_allow_http,
            webhook_allow_private: defaults.webhook_allow_private,
            webhook_allowed_subnets: None,
            webhook_timeout_ms: defaults.webhook_timeout_ms,
            webhook_retry_schedule: defaults.webhook_retry_schedule,
            webhook_poll_interval_ms: defaults.webhook_poll_interval_ms,
            webhook_concurrency: defaults.webhook_concurrency,
            webhook_retention_days: defaults.webhook_retention_days,
            price_book: None,
            mock_provider: defaults.mock_provider,
            mock_chunk_delay_ms: defaults.mock_chunk_delay_ms,
            inference_default_max_tokens: defaults.inference_default_max_tokens,
            responses_max_turns: defaults.responses_max_turns,
            responses_retention_days: defaults.responses_retention_days,
        }
    }
}

fn split_list(list: Option<&str>) -> Vec<String> {
    list.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail closures return figment::Error
mod tests {
    use super::*;

    fn load(file: Option<&str>, overrides: &Overrides) -> Result<Config, String> {
        Config::load(file.map(Path::new), overrides).map_err(|e| format!("{e:#}"))
    }

    /// docs/OPERATIONS.md documents every setting the gateway reads.
    #[test]
    #[allow(clippy::expect_used)]
    fn every_setting_is_documented() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/OPERATIONS.md");
        let operations = std::fs::read_to_string(path).expect("docs/OPERATIONS.md");
        let missing: Vec<String> = SETTINGS
            .iter()
            .map(|name| format!("`ASSISTIV_{name}`"))
            .filter(|env| !operations.contains(env.as_str()))
            .collect();
        assert!(missing.is_empty(), "not in docs/OPERATIONS.md: {missing:?}");
    }

    #[test]
    fn layers_are_defaults_then_file_then_env_then_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "assistiv.toml",
                "listen = \"127.0.0.1:9000\"\ndata_dir = \"/srv/file\"\nlog_format = \"json\"\n",
            )?;
            jail.set_env("ASSISTIV_DATA_DIR", "/srv/env");
            jail.set_env("DATABASE_URL", "postgres://u@localhost/db");
            // A client's variable with our prefix is not a setting and must not break start-up.
            jail.set_env("ASSISTIV_PLATFORM_KEY", "sk-plat_not_a_setting");
            let flags = Overrides {
                log_format: Some(LogFormat::Text),
                ..Overrides::default()
            };
            let config = load(Some("assistiv.toml"), &flags)?;
            assert_eq!(
                config.listen.to_string(),
                "127.0.0.1:9000",
                "file over default"
            );
            assert_eq!(config.data_dir, PathBuf::from("/srv/env"), "env over file");
            assert_eq!(config.log_format, LogFormat::Text, "flag over file");
            assert!(config.database_url.is_some());
            assert_eq!(config.public_url(), "http://127.0.0.1:9000");
            assert!(config.bootstrap);
            Ok(())
        });
    }

    #[test]
    fn bad_settings_stop_start_up() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("typo.toml", "listn = \"127.0.0.1:1\"\n")?;
            assert!(
                load(Some("typo.toml"), &Overrides::default()).is_err(),
                "unknown file key"
            );
            assert!(load(Some("missing.toml"), &Overrides::default()).is_err());
            jail.set_env("DATABASE_URL", "mysql://nope");
            assert!(load(None, &Overrides::default()).is_err());
            jail.set_env("DATABASE_URL", "sqlite://x.db");
            jail.set_env("ASSISTIV_ADMIN_TOKEN", "short");
            assert!(
                load(None, &Overrides::default()).is_err(),
                "admin token too short"
            );
            jail.set_env("ASSISTIV_ADMIN_TOKEN", "long-enough-admin-token");
            jail.set_env("ASSISTIV_LISTEN", "not an address");
            assert!(load(None, &Overrides::default()).is_err());
            Ok(())
        });
    }
}
