//! `assistiv admin llm ...`: the operator routes' twin on the command line,
//! straight on the configured database. A running gateway picks changes up
//! within 2 s (its routes cache).

#![allow(clippy::print_stdout)] // printing is this module's job

use std::path::PathBuf;

use clap::Subcommand;
use serde_json::{Value, json};
use uuid::Uuid;

use super::Inference;
use super::operator::{self, Operator, ProviderInput, ProviderView};
use crate::billing::SystemClock;
use crate::cli::{StoreArgs, print_json};

/// The fields `add` and `change` share.
#[derive(clap::Args)]
pub(crate) struct ProviderFlags {
    /// A JSON file with the request body (`provider`, `models`, `aliases`,
    /// `prices`, ...); the options below are laid over it.
    #[arg(long)]
    file: Option<PathBuf>,
    #[arg(long)]
    name: Option<String>,
    /// Environment variable holding the provider's API key (never argv).
    #[arg(long)]
    api_key_env: Option<String>,
    #[arg(long)]
    base_url: Option<String>,
    /// Lower is tried first.
    #[arg(long)]
    priority: Option<i64>,
    #[arg(long)]
    enabled: Option<bool>,
    /// The model allowlist, comma-separated.
    #[arg(long)]
    models: Option<String>,
    /// Aliases, comma-separated `alias=model` pairs.
    #[arg(long)]
    aliases: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub(crate) enum LlmCommand {
    /// List a platform's provider configs (never their keys).
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        #[arg(long)]
        json: bool,
    },
    /// Show one config.
    Show {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        #[arg(long)]
        id: Uuid,
        #[arg(long)]
        json: bool,
    },
    /// Add a provider config: openai, anthropic, google, xai, openai-compatible or mock.
    Add {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        #[arg(long)]
        provider: String,
        #[command(flatten)]
        flags: ProviderFlags,
    },
    /// Change a config (a new key replaces the old one in the same transaction).
    Change {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        #[arg(long)]
        id: Uuid,
        #[command(flatten)]
        flags: ProviderFlags,
    },
    /// Remove a config.
    Remove {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        #[arg(long)]
        id: Uuid,
        #[arg(long)]
        json: bool,
    },
}

async fn operator(store: &StoreArgs) -> anyhow::Result<Operator> {
    let (config, db, master_key) = store.open().await?;
    let inference = Inference::start(&config, &master_key)?;
    Ok(Operator {
        db,
        clock: std::sync::Arc::new(SystemClock),
        inference,
    })
}

fn print_provider(p: &ProviderView) {
    println!(
        "{}  {} [{}] priority {}, {}{}",
        p.id,
        p.name,
        p.provider,
        p.priority,
        if p.enabled { "enabled" } else { "disabled" },
        if p.api_key_set { ", key set" } else { "" }
    );
    if let Some(url) = &p.base_url {
        println!("    base URL: {url}");
    }
    println!("    serves: {}", p.serves.join(", "));
    if !p.unpriced.is_empty() {
        println!("    unpriced (refused): {}", p.unpriced.join(", "));
    }
    for (alias, model) in &p.aliases {
        println!("    alias {alias} -> {model}");
    }
    if let Some(note) = p.note {
        println!("    {note}");
    }
}

fn split(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// The request body from the file and the options.
fn body(flags: &ProviderFlags, provider: Option<&str>) -> anyhow::Result<ProviderInput> {
    let mut body: Value = match &flags.file {
        Some(file) => serde_json::from_str(
            &std::fs::read_to_string(file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?,
        )
        .map_err(|e| anyhow::anyhow!("{}: invalid JSON: {e}", file.display()))?,
        None => json!({}),
    };
    if let Some(provider) = provider {
        body["provider"] = json!(provider);
    }
    if let Some(name) = &flags.name {
        body["name"] = json!(name);
    }
    if let Some(var) = &flags.api_key_env {
        let key = std::env::var(var).map_err(|_| anyhow::anyhow!("{var} is not set"))?;
        body["api_key"] = json!(key);
    }
    if let Some(url) = &flags.base_url {
        body["base_url"] = json!(url);
    }
    if let Some(priority) = flags.priority {
        body["priority"] = json!(priority);
    }
    if let Some(enabled) = flags.enabled {
        body["enabled"] = json!(enabled);
    }
    if let Some(models) = &flags.models {
        body["models"] = json!(split(models).collect::<Vec<_>>());
    }
    if let Some(aliases) = &flags.aliases {
        let mut map = serde_json::Map::new();
        for pair in split(aliases) {
            let (alias, model) = pair
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("--aliases: expected alias=model, got {pair}"))?;
            map.insert(alias.trim().into(), json!(model.trim()));
        }
        body["aliases"] = Value::Object(map);
    }
    serde_json::from_value(body).map_err(|e| anyhow::anyhow!("invalid provider config: {e}"))
}

pub(crate) async fn run(command: LlmCommand) -> anyhow::Result<()> {
    let api = |e: crate::error::Error| anyhow::anyhow!("{}", e.message());
    let (view, json, verb) = match command {
        LlmCommand::List {
            store,
            platform,
            json,
        } => {
            let list = operator::list(&operator(&store).await?, platform)
                .await
                .map_err(api)?;
            if json {
                return print_json(&list);
            }
            if list.is_empty() {
                println!("No LLM provider configs on platform {platform}.");
            }
            list.iter().for_each(print_provider);
            return Ok(());
        }
        LlmCommand::Show {
            store,
            platform,
            id,
            json,
        } => {
            let view = operator::show(&operator(&store).await?, platform, id)
                .await
                .map_err(api)?;
            (view, json, None)
        }
        LlmCommand::Add {
            store,
            platform,
            provider,
            flags,
        } => {
            let input = body(&flags, Some(&provider))?;
            let view = operator::create(&operator(&store).await?, platform, input)
                .await
                .map_err(api)?;
            (view, flags.json, Some("Added"))
        }
        LlmCommand::Change {
            store,
            platform,
            id,
            flags,
        } => {
            let input = body(&flags, None)?;
            let view = operator::change(&operator(&store).await?, platform, id, input)
                .await
                .map_err(api)?;
            (view, flags.json, Some("Changed"))
        }
        LlmCommand::Remove {
            store,
            platform,
            id,
            json,
        } => {
            operator::remove(&operator(&store).await?, platform, id)
                .await
                .map_err(api)?;
            if json {
                return print_json(&json!({"id": id, "removed": true}));
            }
            println!("Removed LLM provider config {id}.");
            return Ok(());
        }
    };
    if json {
        return print_json(&view);
    }
    if let Some(verb) = verb {
        println!("{verb} LLM provider config {}.", view.id);
    }
    print_provider(&view);
    Ok(())
}
