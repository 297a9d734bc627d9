//! The `assistiv` command line: `serve`, `migrate`, and `admin` subcommands that
//! work straight on the configured database (no server needed).

#![allow(clippy::print_stdout)] // printing is this module's job

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use uuid::Uuid;

use crate::billing::idempotency::IdempotentRequest;
use crate::billing::wallets::{self, WalletSettings, WalletTopup, WalletView};
use crate::billing::{SharedClock, SystemClock};
use crate::config::{Config, LogFormat, Overrides};
use crate::skills::store::Listing;
use crate::skills::{Change, Owner, SkillView, Skills, Source};
use crate::startup::{Application, shutdown_signal};
use crate::store::Db;
use crate::store::platforms as platform_store;
use crate::telemetry;
use crate::tenancy::keys;
use crate::tenancy::platforms::{self, CreatePlatform, CreatedPlatform, PlatformView};

const SETTINGS_HELP: &str = "\
Settings (flag > ASSISTIV_* environment > config file > default):
  ASSISTIV_LISTEN                    --listen        127.0.0.1:8080
  ASSISTIV_DATA_DIR                  --data-dir      ./data
  DATABASE_URL                       --database-url  SQLite in the data dir
  REDIS_URL                          --redis-url     none
  ASSISTIV_ADMIN_TOKEN               (env only)      none: /admin/v1 disabled
  ASSISTIV_MASTER_KEY                (env only)      generated into the data dir
  ASSISTIV_PREVIOUS_MASTER_KEYS      (env only)      none: old keys during a rotation (comma-separated)
  ASSISTIV_PUBLIC_URL                --public-url    http://<listen>
  ASSISTIV_LOG_FORMAT                --log-format    text (or json)
  ASSISTIV_BOOTSTRAP                 --no-bootstrap  true: first start creates a `default` platform
  ASSISTIV_MAX_BODY_BYTES                            1048576
  ASSISTIV_DATABASE_MAX_CONNECTIONS                  16
  ASSISTIV_HOLD_TTL_SECS                             900: held money returns after this
  ASSISTIV_HOLD_SWEEP_INTERVAL_MS                    5000
  ASSISTIV_OAUTH_SWEEP_INTERVAL_MS                   60000: expired OAuth states and connect links
  ASSISTIV_TOOL_TIMEOUT_SECS                         30: longest upstream call of an MCP tool
  ASSISTIV_MCP_ALLOWED_HOSTS                         extra Host values for /mcp (comma-separated)
  ASSISTIV_MCP_ALLOWED_ORIGINS                       extra browser Origins for /mcp (comma-separated)
  ASSISTIV_MCP_MAX_SESSIONS_PER_USER                 32: live MCP sessions per end user
  ASSISTIV_MCP_SESSION_IDLE_SECS                     300: an idle MCP session closes after this
  ASSISTIV_BLOB_DIR                                  <data dir>/blobs: encrypted skill blobs
  ASSISTIV_MAX_SKILL_ZIP_BYTES                       8388608: largest skill upload
  ASSISTIV_MAX_SKILL_UNPACKED_BYTES                  33554432: a skill's files, unpacked
  ASSISTIV_MAX_SKILL_FILES                           1000 files per skill
  ASSISTIV_MAX_SKILL_FILE_BYTES                      8388608: one file, unpacked
  ASSISTIV_CAPABILITIES_DIR                          built in: shelves.toml + providers.toml
  ASSISTIV_CAPABILITIES_UPSTREAM_URL                 none: base for catalog provider paths
  ASSISTIV_CAPABILITIES_CALL_TIMEOUT_MS              15000: a provider call or quote
  ASSISTIV_CAPABILITIES_HEALTH_INTERVAL_MS           30000: provider health probes
  ASSISTIV_WEBHOOK_ALLOW_HTTP                        false: webhook endpoints must be https://
  ASSISTIV_WEBHOOK_ALLOW_PRIVATE                     false: loopback/private/link-local/metadata targets refused
  ASSISTIV_WEBHOOK_ALLOWED_SUBNETS                   none: CIDRs allowed despite being private (comma-separated)
  ASSISTIV_WEBHOOK_TIMEOUT_MS                        15000: one delivery attempt
  ASSISTIV_WEBHOOK_RETRY_SCHEDULE                    0s,5s,5m,30m,2h,5h,10h,10h: delay before each attempt
  ASSISTIV_WEBHOOK_POLL_INTERVAL_MS                  250: how often the worker looks for work
  ASSISTIV_WEBHOOK_CONCURRENCY                       32: attempts in flight per instance
  ASSISTIV_WEBHOOK_RETENTION_DAYS                    30: finished deliveries kept (at least 14)
  ASSISTIV_PRICE_BOOK                                built in (llm/prices.toml): LLM prices file
  ASSISTIV_MOCK_PROVIDER                             true: first start gives `default` the mock LLM provider
  ASSISTIV_MOCK_CHUNK_DELAY_MS                       20: delay before each streamed chunk of mock-1
  ASSISTIV_INFERENCE_DEFAULT_MAX_TOKENS              4096: output a hold assumes without max_tokens
  ASSISTIV_CONFIG                    --config        a TOML file with the same keys in lower case";

#[derive(Parser)]
#[command(name = "assistiv", version, about = "MCP-first tool-execution gateway")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every surface on one port.
    #[command(after_help = SETTINGS_HELP)]
    Serve(ServeArgs),
    /// Run database migrations and exit.
    Migrate(StoreArgs),
    /// Operator tasks, straight on the configured database.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Args)]
pub(crate) struct StoreArgs {
    /// TOML configuration file.
    #[arg(long, env = "ASSISTIV_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (embedded SQLite database, generated keys).
    #[arg(long)]
    data_dir: Option<String>,
    /// Database URL (postgres://... or sqlite:...).
    #[arg(long)]
    database_url: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Address to listen on.
    #[arg(long)]
    listen: Option<String>,
    /// Redis URL for cross-instance counters.
    #[arg(long)]
    redis_url: Option<String>,
    /// Public base URL of this gateway.
    #[arg(long)]
    public_url: Option<String>,
    /// Log format.
    #[arg(long, value_enum)]
    log_format: Option<LogFormat>,
    /// Do not create a `default` platform on an empty database.
    #[arg(long)]
    no_bootstrap: bool,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Platforms (tenants).
    Platform {
        #[command(subcommand)]
        command: PlatformCommand,
    },
    /// A platform's wallet.
    Wallet {
        #[command(subcommand)]
        command: WalletCommand,
    },
    /// MCP apps a platform activated (OAuth client credentials, scopes, endpoints).
    App {
        #[command(subcommand)]
        command: AppCommand,
    },
    /// Public skills (every platform sees them).
    Skills {
        #[command(subcommand)]
        command: SkillsCommand,
    },
    /// The master key that seals secrets at rest: generate one, rotate to it.
    MasterKey {
        #[command(subcommand)]
        command: crate::sealing::cli::MasterKeyCommand,
    },
    /// The capabilities marketplace: platform enablement and policy, providers.
    Capabilities {
        #[command(subcommand)]
        command: crate::capabilities::cli::CapabilitiesCommand,
    },
    /// A platform's outbound webhook endpoints and their deliveries.
    Webhooks {
        #[command(subcommand)]
        command: crate::webhooks::cli::WebhooksCommand,
    },
    /// A platform's LLM provider configs (key, base URL, priority, models, prices).
    Llm {
        #[command(subcommand)]
        command: crate::inference::cli::LlmCommand,
    },
}

#[derive(Subcommand)]
enum SkillsCommand {
    /// Publish a skill zip as a public skill (a new version when the name exists).
    Upload {
        #[command(flatten)]
        store: StoreArgs,
        /// The zipped skill folder (SKILL.md at its root or in its one top folder).
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// List public skills (`--all` adds platforms' private ones).
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Delete a skill (and its blob once no skill uses it).
    Delete {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        id: Uuid,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum AppCommand {
    /// Activate (or update) an app for a platform.
    Activate {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        /// App slug, e.g. github.
        #[arg(long)]
        app: String,
        #[arg(long)]
        client_id: String,
        /// Name of the environment variable holding the client secret (never argv).
        /// Required on first activation; omitted on update keeps the stored secret.
        #[arg(long)]
        client_secret_env: Option<String>,
        /// The platform's landing URL ({base_url}/mcp/oauth-callback after consent).
        #[arg(long)]
        base_url: String,
        /// Space- or comma-separated scopes (default: the app's).
        #[arg(long)]
        scopes: Option<String>,
        #[arg(long)]
        authorize_url: Option<String>,
        #[arg(long)]
        token_url: Option<String>,
        #[arg(long)]
        revoke_url: Option<String>,
        #[arg(long)]
        api_base_url: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Deactivate an app: its end users' connections are deleted (and revoked).
    Deactivate {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        #[arg(long)]
        app: String,
        #[arg(long)]
        json: bool,
    },
    /// List a platform's activated apps.
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum WalletCommand {
    /// Show the balance and settings.
    Show {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        #[arg(long)]
        json: bool,
    },
    /// Meter the wallet (spend stops at zero) and set its low-balance threshold.
    Set {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        #[arg(long)]
        metered: Option<bool>,
        #[arg(long)]
        low_balance_threshold_usd: Option<f64>,
        #[arg(long)]
        json: bool,
    },
    /// Add funds.
    Topup {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        #[arg(long)]
        amount_usd: f64,
        #[arg(long)]
        reason: Option<String>,
        /// Makes a retried top-up safe (same key, same amount: one effect).
        #[arg(long)]
        idempotency_key: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum PlatformCommand {
    /// Create a platform and print its first platform key (shown once).
    Create {
        #[command(flatten)]
        store: StoreArgs,
        /// Unique slug: lowercase letters, digits, hyphens.
        #[arg(long)]
        name: String,
        #[arg(long)]
        display_name: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List platforms.
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        json: bool,
    },
    /// Issue another platform key for a platform (recovery after revoking them all).
    Key {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

impl StoreArgs {
    /// What an operator command works with: the configuration, the migrated
    /// database and the master key.
    pub(crate) async fn open(&self) -> anyhow::Result<(Config, Db, crate::master_key::MasterKey)> {
        let config = self.load(self.overrides())?;
        let db = Db::connect(&config).await?;
        db.migrate().await?;
        let master_key = crate::master_key::MasterKey::load(&config)?;
        Ok((config, db, master_key))
    }

    pub(crate) fn overrides(&self) -> Overrides {
        Overrides {
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            ..Overrides::default()
        }
    }

    /// The configuration of a command on an existing gateway (every `admin`
    /// command): its database must exist. Admin commands never create one, so a
    /// command run from the wrong folder says where it looked instead of
    /// answering from a fresh, empty database.
    pub(crate) fn load(&self, overrides: Overrides) -> anyhow::Result<Config> {
        let config = self.load_creating(overrides)?;
        crate::store::ensure_exists(&config)?;
        Ok(config)
    }

    /// The configuration of `serve` and `migrate`, which create the database
    /// when it is missing.
    fn load_creating(&self, overrides: Overrides) -> anyhow::Result<Config> {
        Config::load(self.config.as_deref(), &overrides)
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(store) => {
            let config = store.load_creating(store.overrides())?;
            telemetry::init(config.log_format);
            let db = Db::connect(&config).await?;
            db.migrate().await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::Platform { command },
        } => platform_command(command).await,
        Command::Admin {
            command: AdminCommand::Wallet { command },
        } => wallet_command(command).await,
        Command::Admin {
            command: AdminCommand::App { command },
        } => app_command(command).await,
        Command::Admin {
            command: AdminCommand::Skills { command },
        } => skills_command(command).await,
        Command::Admin {
            command: AdminCommand::MasterKey { command },
        } => crate::sealing::cli::run(command).await,
        Command::Admin {
            command: AdminCommand::Capabilities { command },
        } => crate::capabilities::cli::run(command).await,
        Command::Admin {
            command: AdminCommand::Webhooks { command },
        } => crate::webhooks::cli::run(command).await,
        Command::Admin {
            command: AdminCommand::Llm { command },
        } => crate::inference::cli::run(command).await,
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        listen: args.listen.clone(),
        redis_url: args.redis_url.clone(),
        public_url: args.public_url.clone(),
        log_format: args.log_format,
        bootstrap: args.no_bootstrap.then_some(false),
        ..args.store.overrides()
    };
    let config = args.store.load_creating(overrides)?;
    telemetry::init(config.log_format);
    let public_url = config.public_url();
    let app = Application::build(config).await?;
    let stop = shutdown_signal()?;
    let addr = app.addr()?;
    if let Some(created) = &app.provisioned {
        print_first_start(created, app.provisioned_mock);
    }
    tracing::info!(%addr, %public_url, "assistiv listening");
    println!("Assistiv is listening on http://{addr}");
    app.run_until(stop).await
}

fn print_first_start(created: &CreatedPlatform, mock_provider: bool) {
    println!(
        "First start: created the platform \"{}\".",
        created.platform.name
    );
    println!("  platform id:  {}", created.platform.id);
    println!("  platform key: {}", created.api_key.raw_key);
    println!("The key is shown once. Store it now:");
    println!("  export ASSISTIV_PLATFORM_ID={}", created.platform.id);
    println!("  export ASSISTIV_PLATFORM_KEY={}", created.api_key.raw_key);
    if mock_provider {
        println!(
            "It has the mock LLM provider (models mock-1, mock-fast: echo answers, not a real \
             model); add real ones with `assistiv admin llm add`."
        );
    }
}

async fn connect(store: &StoreArgs) -> anyhow::Result<Db> {
    connect_described(store).await.map(|(db, _)| db)
}

/// The database, and what it is ("the SQLite database /srv/data/assistiv.db").
async fn connect_described(store: &StoreArgs) -> anyhow::Result<(Db, String)> {
    let config = store.load(store.overrides())?;
    let db = Db::connect(&config).await?;
    db.migrate().await?;
    Ok((db, crate::store::describe(&config)))
}

pub(crate) fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

async fn platform_command(command: PlatformCommand) -> anyhow::Result<()> {
    match command {
        PlatformCommand::Create {
            store,
            name,
            display_name,
            json,
        } => {
            let db = connect(&store).await?;
            let created = platforms::create(
                &db,
                CreatePlatform {
                    name,
                    display_name,
                    wallet: None,
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            if json {
                return print_json(&created);
            }
            println!("Created platform \"{}\".", created.platform.name);
            println!("  platform id:  {}", created.platform.id);
            println!("  platform key: {}", created.api_key.raw_key);
            println!("The key is shown once. Store it now.");
            Ok(())
        }
        PlatformCommand::List { store, json } => {
            let (db, described) = connect_described(&store).await?;
            let rows: Vec<PlatformView> = platform_store::list(&db, i64::MAX, 0)
                .await?
                .into_iter()
                .map(Into::into)
                .collect();
            if json {
                return print_json(&rows);
            }
            if rows.is_empty() {
                println!("No platforms in {described}.");
            }
            for platform in rows {
                println!(
                    "{}  {:<24} {}  created {}",
                    platform.id,
                    platform.name,
                    platform.display_name,
                    platform.created_at.format("%Y-%m-%d %H:%M UTC")
                );
            }
            Ok(())
        }
        PlatformCommand::Key {
            store,
            platform,
            name,
            json,
        } => {
            let db = connect(&store).await?;
            platforms::get(&db, platform)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            let issued = keys::create_platform_key(&db, platform, name)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            if json {
                return print_json(&issued);
            }
            println!("New platform key for {platform}: {}", issued.raw_key);
            println!("The key is shown once. Store it now.");
            Ok(())
        }
    }
}

fn usd_number(value: f64) -> anyhow::Result<serde_json::Number> {
    serde_json::Number::from_f64(value)
        .ok_or_else(|| anyhow::anyhow!("{value} is not a valid amount"))
}

fn print_wallet(wallet: &WalletView) {
    println!("Wallet of platform {}", wallet.platform_id);
    println!("  metered:    {}", wallet.metered);
    println!("  balance:    {} USD", wallet.balance_usd.to_usd());
    println!("  held:       {} USD", wallet.held_usd.to_usd());
    println!("  available:  {} USD", wallet.available_usd.to_usd());
    match wallet.low_balance_threshold_usd {
        Some(t) => println!("  low-balance threshold: {} USD", t.to_usd()),
        None => println!("  low-balance threshold: none"),
    }
}

async fn wallet_command(command: WalletCommand) -> anyhow::Result<()> {
    let clock: SharedClock = std::sync::Arc::new(SystemClock);
    let api = |e: crate::error::Error| anyhow::anyhow!("{}", e.message());
    let (wallet, json) = match command {
        WalletCommand::Show {
            store,
            platform,
            json,
        } => {
            let db = connect(&store).await?;
            (
                wallets::get(&db, &clock, platform).await.map_err(api)?,
                json,
            )
        }
        WalletCommand::Set {
            store,
            platform,
            metered,
            low_balance_threshold_usd,
            json,
        } => {
            let db = connect(&store).await?;
            let settings = WalletSettings {
                metered,
                low_balance_threshold_usd: low_balance_threshold_usd
                    .map(usd_number)
                    .transpose()?
                    .map(Some),
            };
            (
                wallets::configure(&db, &clock, platform, &settings)
                    .await
                    .map_err(api)?,
                json,
            )
        }
        WalletCommand::Topup {
            store,
            platform,
            amount_usd,
            reason,
            idempotency_key,
            json,
        } => {
            let db = connect(&store).await?;
            let input = WalletTopup {
                amount_usd: usd_number(amount_usd)?,
                reason,
            };
            let idempotency = idempotency_key
                .map(|key| -> anyhow::Result<IdempotentRequest> {
                    Ok(IdempotentRequest {
                        key: IdempotentRequest::parse_key(&key).map_err(api)?,
                        request_hash: format!("cli-topup:{platform}:{amount_usd}"),
                    })
                })
                .transpose()?;
            let (_, body, _) = wallets::topup(&db, &clock, platform, &input, idempotency.as_ref())
                .await
                .map_err(api)?;
            let wallet = wallets::get(&db, &clock, platform).await.map_err(api)?;
            if json {
                return print_json(&body["data"]);
            }
            (wallet, false)
        }
    };
    if json {
        return print_json(&wallet);
    }
    print_wallet(&wallet);
    Ok(())
}

async fn broker(store: &StoreArgs) -> anyhow::Result<crate::oauth::Broker> {
    let config = store.load(store.overrides())?;
    let db = Db::connect(&config).await?;
    db.migrate().await?;
    let master_key = crate::master_key::MasterKey::load(&config)?;
    crate::oauth::Broker::new(
        db,
        crate::apps::AppRegistry::builtin(),
        &master_key,
        config.public_url(),
        std::sync::Arc::new(SystemClock),
        crate::metrics::Metrics::new(),
    )
}

fn print_activation(view: &crate::oauth::activations::ActivationView) {
    println!(
        "{} ({}) on platform {}",
        view.app, view.display_name, view.platform_id
    );
    println!("  client id:     {}", view.client_id);
    println!(
        "  client secret: {}",
        if view.has_client_secret {
            "set"
        } else {
            "missing"
        }
    );
    println!("  scopes:        {}", view.scopes.join(" "));
    println!("  base url:      {}", view.base_url);
    println!("  authorize:     {}", view.effective.authorize_url);
    println!("  token:         {}", view.effective.token_url);
    println!("  api base:      {}", view.effective.api_base_url);
}

async fn app_command(command: AppCommand) -> anyhow::Result<()> {
    use crate::oauth::activations::{ActivateInput, ScopesInput};
    let api = |e: crate::error::Error| anyhow::anyhow!("{}", e.message());
    match command {
        AppCommand::Activate {
            store,
            platform,
            app,
            client_id,
            client_secret_env,
            base_url,
            scopes,
            authorize_url,
            token_url,
            revoke_url,
            api_base_url,
            json,
        } => {
            let client_secret = client_secret_env
                .map(|var| {
                    std::env::var(&var)
                        .map(secrecy::SecretString::from)
                        .map_err(|_| anyhow::anyhow!("the environment variable {var} is not set"))
                })
                .transpose()?;
            let broker = broker(&store).await?;
            let input = ActivateInput {
                client_id,
                client_secret,
                scopes: scopes.map(ScopesInput::Text),
                base_url,
                authorize_url,
                token_url,
                revoke_url,
                api_base_url,
            };
            let (view, created) = broker.activate(platform, &app, input).await.map_err(api)?;
            if json {
                return print_json(&view);
            }
            println!("{}", if created { "Activated." } else { "Updated." });
            print_activation(&view);
            Ok(())
        }
        AppCommand::Deactivate {
            store,
            platform,
            app,
            json,
        } => {
            let broker = broker(&store).await?;
            let done = broker.deactivate(platform, &app).await.map_err(api)?;
            if json {
                return print_json(&done);
            }
            println!(
                "Deactivated {} on platform {platform}; {} connection(s) removed.",
                done.app, done.connections_removed
            );
            Ok(())
        }
        AppCommand::List {
            store,
            platform,
            json,
        } => {
            let broker = broker(&store).await?;
            let views = broker.activation_views(platform).await.map_err(api)?;
            if json {
                return print_json(&views);
            }
            if views.is_empty() {
                println!("No activated apps.");
            }
            for view in &views {
                print_activation(view);
            }
            Ok(())
        }
    }
}

async fn skills_catalog(store: &StoreArgs) -> anyhow::Result<Skills> {
    let config = store.load(store.overrides())?;
    let db = Db::connect(&config).await?;
    db.migrate().await?;
    let master_key = crate::master_key::MasterKey::load(&config)?;
    Ok(Skills::from_config(
        db,
        &config,
        &master_key,
        std::sync::Arc::new(SystemClock),
    ))
}

fn print_skill(skill: &SkillView) {
    println!(
        "{}  {} {}  ({}, {} file(s), {} bytes)",
        skill.id, skill.name, skill.version, skill.visibility, skill.file_count, skill.size_bytes
    );
    println!("    {}", skill.description);
    if let Some(overall) = skill.reviews.overall {
        println!("    reviews: {overall}/5 from {}", skill.reviews.count);
    }
}

async fn skills_command(command: SkillsCommand) -> anyhow::Result<()> {
    let api = |e: crate::error::Error| anyhow::anyhow!("{}", e.message());
    match command {
        SkillsCommand::Upload { store, file, json } => {
            let zip = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let skills = skills_catalog(&store).await?;
            let (skill, change) = skills
                .publish_zip(zip.into(), Owner::Public, Source::Operator)
                .await
                .map_err(api)?;
            if json {
                return print_json(&serde_json::json!({"change": change, "skill": skill}));
            }
            let what = match change {
                Change::Created => "Published",
                Change::NewVersion => "Published a new version of",
                Change::Unchanged => "Unchanged:",
            };
            println!("{what} the public skill {} {}.", skill.name, skill.version);
            print_skill(&skill);
            Ok(())
        }
        SkillsCommand::List { store, all, json } => {
            let skills = skills_catalog(&store).await?;
            let listing = if all { Listing::All } else { Listing::Public };
            let (rows, _) = skills.list(listing, i64::MAX, 0).await.map_err(api)?;
            if json {
                return print_json(&rows);
            }
            if rows.is_empty() {
                println!("No skills.");
            }
            for skill in &rows {
                print_skill(skill);
            }
            Ok(())
        }
        SkillsCommand::Delete { store, id, json } => {
            let skills = skills_catalog(&store).await?;
            skills.delete_any(id).await.map_err(api)?;
            if json {
                return print_json(&serde_json::json!({"id": id, "deleted": true}));
            }
            println!("Deleted skill {id}.");
            Ok(())
        }
    }
}
