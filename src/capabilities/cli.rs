//! `assistiv admin capabilities ...`: the operator routes' twin on the command
//! line, straight on the configured database. A running gateway picks provider
//! changes up at its next health interval.

#![allow(clippy::print_stdout)] // printing is this module's job

use std::path::PathBuf;

use clap::Subcommand;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use uuid::Uuid;

use super::Capabilities;
use super::operator::{self, AdminProviderView, Operator, PolicyInput, PolicyView};
use super::policy::{ConfirmFallback, Mode};
use crate::billing::SystemClock;
use crate::cli::{StoreArgs, print_json};

#[derive(Subcommand)]
pub(crate) enum CapabilitiesCommand {
    /// Show a platform's enablement and spend policy.
    Show {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        #[arg(long)]
        json: bool,
    },
    /// Enable or disable capabilities for a platform and set its policy (options
    /// left out keep their value).
    Set {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        #[arg(long)]
        enabled: Option<bool>,
        /// curated or open.
        #[arg(long)]
        mode: Option<String>,
        /// Provider uids or capability slugs, comma-separated ("" clears).
        #[arg(long)]
        allowlist: Option<String>,
        #[arg(long)]
        denylist: Option<String>,
        /// Per-call ceiling in USD.
        #[arg(long, conflicts_with = "no_ceiling")]
        max_cost_per_call_usd: Option<f64>,
        /// Remove the per-call ceiling.
        #[arg(long)]
        no_ceiling: bool,
        #[arg(long)]
        min_rating: Option<f64>,
        #[arg(long)]
        require_healthy: Option<bool>,
        #[arg(long)]
        charge_failed_calls: Option<bool>,
        /// Ask the end user before a `capability_run` quoted above this (USD).
        #[arg(long, conflicts_with = "no_confirm")]
        confirm_above_usd: Option<f64>,
        /// Never ask before a run.
        #[arg(long)]
        no_confirm: bool,
        /// run or refuse: a run above the threshold on a client that cannot ask.
        #[arg(long)]
        confirm_fallback: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List providers (catalog and operator ones, with endpoints; never secrets).
    Providers {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        json: bool,
    },
    /// Add a provider from a JSON file (the POST /admin/v1/capabilities/providers body).
    Add {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        file: PathBuf,
        /// Environment variable holding the provider's auth secret.
        #[arg(long)]
        secret_env: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Change a provider: the JSON file's fields are laid over its definition.
    Change {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        uid: String,
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long)]
        secret_env: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Remove a provider.
    Remove {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        uid: String,
        #[arg(long)]
        json: bool,
    },
}

async fn operator(store: &StoreArgs) -> anyhow::Result<Operator> {
    let (config, db, master_key) = store.open().await?;
    let capabilities = Capabilities::start(&db, &config, &master_key).await?;
    Ok(Operator {
        db,
        clock: std::sync::Arc::new(SystemClock),
        capabilities,
    })
}

fn list(text: Option<String>) -> Option<Vec<String>> {
    text.map(|t| {
        t.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

fn number(value: f64) -> anyhow::Result<serde_json::Number> {
    serde_json::Number::from_f64(value).ok_or_else(|| anyhow::anyhow!("not a finite number"))
}

fn print_policy(p: &PolicyView) {
    println!(
        "Capabilities on platform {}: {}",
        p.platform_id,
        if p.enabled { "enabled" } else { "disabled" }
    );
    println!("  mode:                {:?}", p.mode);
    let joined = |set: &std::collections::BTreeSet<String>| {
        set.iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("  allowlist:           {}", joined(&p.allowlist));
    println!("  denylist:            {}", joined(&p.denylist));
    println!(
        "  max cost per call:   {}",
        p.max_cost_per_call_usd
            .map_or("none".into(), |m| format!("{} USD", m.to_usd()))
    );
    println!(
        "  min rating:          {}",
        p.min_rating.map_or("none".into(), |r| r.to_string())
    );
    println!("  require healthy:     {}", p.require_healthy);
    println!("  charge failed calls: {}", p.charge_failed_calls);
    println!(
        "  confirm above:       {}",
        p.confirm_above_usd
            .map_or("never".into(), |m| format!("{} USD", m.to_usd()))
    );
    println!("  confirm fallback:    {}", p.confirm_fallback.as_str());
}

fn print_provider(p: &AdminProviderView) {
    println!(
        "{}  {} [{}] {:?} {:?}  rating {}{}{}",
        p.spec.uid,
        p.spec.name,
        p.spec.capability,
        p.origin,
        p.availability,
        p.spec.rating,
        if p.spec.verified { ", verified" } else { "" },
        if p.secret_set { ", secret set" } else { "" }
    );
    println!("    {:?} {}", p.spec.call_method, p.spec.endpoint);
}

fn read_body(file: Option<&PathBuf>, secret_env: Option<&str>) -> anyhow::Result<Value> {
    let mut body = match file {
        Some(file) => serde_json::from_str(
            &std::fs::read_to_string(file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?,
        )
        .map_err(|e| anyhow::anyhow!("{}: invalid JSON: {e}", file.display()))?,
        None => json!({}),
    };
    if let Some(var) = secret_env {
        let secret = secrecy::SecretString::from(
            std::env::var(var).map_err(|_| anyhow::anyhow!("{var} is not set"))?,
        );
        let header = body["auth"]["header"].clone();
        body["auth"] = json!({"header": header, "secret": secret.expose_secret()});
    }
    Ok(body)
}

pub(crate) async fn run(command: CapabilitiesCommand) -> anyhow::Result<()> {
    let api = |e: crate::error::Error| anyhow::anyhow!("{}", e.message());
    match command {
        CapabilitiesCommand::Show {
            store,
            platform,
            json,
        } => {
            let view = operator::show_policy(&operator(&store).await?, platform)
                .await
                .map_err(api)?;
            if json {
                return print_json(&view);
            }
            print_policy(&view);
        }
        CapabilitiesCommand::Set {
            store,
            platform,
            enabled,
            mode,
            allowlist,
            denylist,
            max_cost_per_call_usd,
            no_ceiling,
            min_rating,
            require_healthy,
            charge_failed_calls,
            confirm_above_usd,
            no_confirm,
            confirm_fallback,
            json,
        } => {
            let mode = match mode.as_deref() {
                None => None,
                Some("curated") => Some(Mode::Curated),
                Some("open") => Some(Mode::Open),
                Some(other) => anyhow::bail!("--mode must be curated or open, not {other}"),
            };
            let max = match (max_cost_per_call_usd, no_ceiling) {
                (_, true) => Some(None),
                (Some(usd), false) => Some(Some(number(usd)?)),
                (None, false) => None,
            };
            let confirm = match (confirm_above_usd, no_confirm) {
                (_, true) => Some(None),
                (Some(usd), false) => Some(Some(number(usd)?)),
                (None, false) => None,
            };
            let confirm_fallback = match confirm_fallback.as_deref() {
                None => None,
                Some("run") => Some(ConfirmFallback::Run),
                Some("refuse") => Some(ConfirmFallback::Refuse),
                Some(other) => {
                    anyhow::bail!("--confirm-fallback must be run or refuse, not {other}")
                }
            };
            let input = PolicyInput {
                enabled,
                mode,
                allowlist: list(allowlist),
                denylist: list(denylist),
                max_cost_per_call_usd: max,
                min_rating: min_rating.map(Some),
                require_healthy,
                charge_failed_calls,
                confirm_above_usd: confirm,
                confirm_fallback,
            };
            let view = operator::set_policy(&operator(&store).await?, platform, input)
                .await
                .map_err(api)?;
            if json {
                return print_json(&view);
            }
            print_policy(&view);
        }
        CapabilitiesCommand::Providers { store, json } => {
            let providers = operator::list_providers(&operator(&store).await?);
            if json {
                return print_json(&providers);
            }
            for p in &providers {
                print_provider(p);
            }
        }
        CapabilitiesCommand::Add {
            store,
            file,
            secret_env,
            json,
        } => {
            let body = read_body(Some(&file), secret_env.as_deref())?;
            let view = operator::add_provider(&operator(&store).await?, body)
                .await
                .map_err(api)?;
            if json {
                return print_json(&view);
            }
            println!("Added provider {}.", view.spec.uid);
            print_provider(&view);
        }
        CapabilitiesCommand::Change {
            store,
            uid,
            file,
            secret_env,
            json,
        } => {
            let mut body = read_body(file.as_ref(), secret_env.as_deref())?;
            let ops = operator(&store).await?;
            if body["auth"]["header"].is_null()
                && body["auth"]["secret"].is_string()
                && let Ok(current) = operator::show_provider(&ops, &uid)
                && let Some(auth) = &current.spec.auth
            {
                body["auth"]["header"] = json!(auth.header);
            }
            let view = operator::change_provider(&ops, &uid, body)
                .await
                .map_err(api)?;
            if json {
                return print_json(&view);
            }
            println!("Changed provider {}.", view.spec.uid);
            print_provider(&view);
        }
        CapabilitiesCommand::Remove { store, uid, json } => {
            operator::remove_provider(&operator(&store).await?, &uid)
                .await
                .map_err(api)?;
            if json {
                return print_json(&json!({"uid": uid, "removed": true}));
            }
            println!("Removed provider {uid}.");
        }
    }
    Ok(())
}
