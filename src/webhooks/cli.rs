//! `assistiv admin webhooks ...`: the operator routes' twin on the command line,
//! straight on the configured database (a running gateway's worker delivers
//! what these commands queue).

#![allow(clippy::print_stdout)] // printing is this module's job

use std::sync::Arc;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use uuid::Uuid;

use super::Webhooks;
use super::deliveries::DeliveryQuery;
use super::endpoints::{EndpointInput, EndpointView, SecretView};
use crate::billing::SystemClock;
use crate::cli::{StoreArgs, print_json};
use crate::domain::paging::PageRequest;
use crate::store::Db;

#[derive(Subcommand)]
pub(crate) enum WebhooksCommand {
    /// List a platform's endpoints.
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        #[arg(long)]
        json: bool,
    },
    /// Add an endpoint and print its signing secret.
    Create {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        #[arg(long)]
        url: String,
        /// Event types, comma-separated (none: every type).
        #[arg(long)]
        events: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Change an endpoint (options left out keep their value).
    Update {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        #[arg(long)]
        endpoint: Uuid,
        #[arg(long)]
        url: Option<String>,
        #[arg(long)]
        events: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        enabled: Option<bool>,
        #[arg(long)]
        json: bool,
    },
    /// Delete an endpoint and its delivery log.
    Delete {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        #[arg(long)]
        endpoint: Uuid,
    },
    /// Print the signing secret (and the previous one during a rotation).
    RevealSecret {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        #[arg(long)]
        endpoint: Uuid,
        #[arg(long)]
        json: bool,
    },
    /// New signing secret; the old one keeps signing beside it for 24 hours.
    RotateSecret {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        #[arg(long)]
        endpoint: Uuid,
        #[arg(long)]
        json: bool,
    },
    /// The newest deliveries of an endpoint.
    Deliveries {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        #[arg(long)]
        endpoint: Uuid,
        /// pending, delivered or failed.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
        #[arg(long)]
        json: bool,
    },
    /// Send one delivery again.
    Replay {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        #[arg(long)]
        endpoint: Uuid,
        #[arg(long)]
        delivery: Uuid,
        #[arg(long)]
        json: bool,
    },
    /// Send again every event since a time (RFC 3339, at most 14 days back).
    Recover {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        #[arg(long)]
        endpoint: Uuid,
        #[arg(long)]
        since: DateTime<Utc>,
        #[arg(long)]
        json: bool,
    },
    /// Queue a signed webhook.test event for the endpoint.
    Test {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        platform: Uuid,
        #[arg(long)]
        endpoint: Uuid,
        #[arg(long)]
        json: bool,
    },
}

async fn service(store: &StoreArgs) -> anyhow::Result<Webhooks> {
    let config = store.load(store.overrides())?;
    let db = Db::connect(&config).await?;
    db.migrate().await?;
    let master_key = crate::master_key::MasterKey::load(&config)?;
    Webhooks::new(db, &master_key, &config, Arc::new(SystemClock))
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

fn print_endpoint(e: &EndpointView) {
    let events = if e.event_types.is_empty() {
        "all".to_owned()
    } else {
        e.event_types.join(", ")
    };
    println!("{}  {}", e.id, e.url);
    println!("  enabled: {}   events: {events}", e.enabled);
    if let Some(reason) = &e.disabled_reason {
        println!("  disabled: {reason}");
    }
    if let Some(since) = e.failing_since {
        println!("  failing since: {since}");
    }
}

fn print_secret(secret: &SecretView, json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(secret);
    }
    println!("signing secret: {}", secret.secret);
    if let (Some(previous), Some(until)) =
        (&secret.previous_secret, secret.previous_secret_expires_at)
    {
        println!("previous secret (signs until {until}): {previous}");
    }
    Ok(())
}

pub(crate) async fn run(command: WebhooksCommand) -> anyhow::Result<()> {
    let api = |e: crate::error::Error| anyhow::anyhow!("{}", e.message());
    match command {
        WebhooksCommand::List {
            store,
            platform,
            json,
        } => {
            let hooks = service(&store).await?;
            let page = PageRequest::parse(Some(1), Some(100)).map_err(api)?;
            let (rows, _) = hooks.list(platform, page).await.map_err(api)?;
            if json {
                return print_json(&rows);
            }
            if rows.is_empty() {
                println!("No webhook endpoints.");
            }
            rows.iter().for_each(print_endpoint);
        }
        WebhooksCommand::Create {
            store,
            platform,
            url,
            events,
            description,
            json,
        } => {
            let hooks = service(&store).await?;
            let input = EndpointInput {
                url: Some(url),
                description: description.map(Some),
                event_types: list(events),
                enabled: None,
            };
            let created = hooks.create(platform, input).await.map_err(api)?;
            if json {
                return print_json(&created);
            }
            print_endpoint(&created.endpoint);
            println!("  signing secret: {}", created.secret);
        }
        WebhooksCommand::Update {
            store,
            platform,
            endpoint,
            url,
            events,
            description,
            enabled,
            json,
        } => {
            let hooks = service(&store).await?;
            let input = EndpointInput {
                url,
                description: description.map(Some),
                event_types: list(events),
                enabled,
            };
            let view = hooks.update(platform, endpoint, input).await.map_err(api)?;
            if json {
                return print_json(&view);
            }
            print_endpoint(&view);
        }
        WebhooksCommand::Delete {
            store,
            platform,
            endpoint,
        } => {
            service(&store)
                .await?
                .delete(platform, endpoint)
                .await
                .map_err(api)?;
            println!("Deleted webhook endpoint {endpoint}.");
        }
        WebhooksCommand::RevealSecret {
            store,
            platform,
            endpoint,
            json,
        } => {
            let secret = service(&store)
                .await?
                .reveal(platform, endpoint)
                .await
                .map_err(api)?;
            print_secret(&secret, json)?;
        }
        WebhooksCommand::RotateSecret {
            store,
            platform,
            endpoint,
            json,
        } => {
            let secret = service(&store)
                .await?
                .rotate(platform, endpoint)
                .await
                .map_err(api)?;
            print_secret(&secret, json)?;
        }
        WebhooksCommand::Deliveries {
            store,
            platform,
            endpoint,
            status,
            limit,
            json,
        } => {
            let hooks = service(&store).await?;
            let query = DeliveryQuery {
                cursor: None,
                limit,
                status,
            };
            let page = hooks
                .deliveries(platform, endpoint, &query)
                .await
                .map_err(api)?;
            if json {
                return print_json(&page.data);
            }
            for d in &page.data {
                println!(
                    "{}  {}  {}  attempts {}  {}",
                    d.id,
                    d.event_type,
                    d.status,
                    d.attempts,
                    d.status_code
                        .map(|c| format!("HTTP {c}"))
                        .or_else(|| d.error.clone())
                        .unwrap_or_default()
                );
            }
        }
        WebhooksCommand::Replay {
            store,
            platform,
            endpoint,
            delivery,
            json,
        } => {
            let hooks = service(&store).await?;
            let view = hooks
                .replay(platform, endpoint, delivery)
                .await
                .map_err(api)?;
            if json {
                return print_json(&view);
            }
            println!("Delivery {} queued again.", view.id);
        }
        WebhooksCommand::Recover {
            store,
            platform,
            endpoint,
            since,
            json,
        } => {
            let hooks = service(&store).await?;
            let answer = hooks
                .recover(platform, endpoint, since)
                .await
                .map_err(api)?;
            if json {
                return print_json(&answer);
            }
            println!("{} deliveries queued again.", answer["queued"]);
        }
        WebhooksCommand::Test {
            store,
            platform,
            endpoint,
            json,
        } => {
            let hooks = service(&store).await?;
            let view = hooks.send_test(platform, endpoint).await.map_err(api)?;
            if json {
                return print_json(&view);
            }
            println!(
                "Test event {} queued (delivery {}).",
                view.event_id, view.id
            );
        }
    }
    Ok(())
}
