//! `assistiv admin webhooks ...`: the operator routes' twin on the command line,
//! straight on the configured database (a running gateway's worker delivers
//! what these commands queue).

#![allow(clippy::print_stdout)] // printing is this module's job

use std::sync::Arc;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use uuid::Uuid;

use super::Webhooks;
use super::deliveries::DeliveryQuery;
use super::endpoints::{EndpointInput, EndpointView, SecretView};
use crate::billing::SystemClock;
use crate::cli::{StoreArgs, print_json};
use crate::domain::paging::PageRequest;
use crate::store::Db;

/// The platform a command works on.
#[derive(Args)]
pub(crate) struct PlatformArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[arg(long)]
    platform: Uuid,
    #[arg(long)]
    json: bool,
}

/// One endpoint of a platform.
#[derive(Args)]
pub(crate) struct EndpointArgs {
    #[command(flatten)]
    on: PlatformArgs,
    #[arg(long)]
    endpoint: Uuid,
}

/// What an endpoint is set to (create: `url` required).
#[derive(Args)]
pub(crate) struct EndpointFields {
    #[arg(long)]
    url: Option<String>,
    /// Event types, comma-separated (none: every type).
    #[arg(long)]
    events: Option<String>,
    #[arg(long)]
    description: Option<String>,
    #[arg(long)]
    enabled: Option<bool>,
}

impl EndpointFields {
    fn input(self) -> EndpointInput {
        EndpointInput {
            url: self.url,
            description: self.description.map(Some),
            event_types: list(self.events),
            enabled: self.enabled,
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum WebhooksCommand {
    /// List a platform's endpoints.
    List(PlatformArgs),
    /// Add an endpoint (--url required) and print its signing secret.
    Create {
        #[command(flatten)]
        on: PlatformArgs,
        #[command(flatten)]
        fields: EndpointFields,
    },
    /// Change an endpoint (options left out keep their value).
    Update {
        #[command(flatten)]
        target: EndpointArgs,
        #[command(flatten)]
        fields: EndpointFields,
    },
    /// Delete an endpoint and its delivery log.
    Delete(EndpointArgs),
    /// Print the signing secret (and the previous one during a rotation).
    RevealSecret(EndpointArgs),
    /// New signing secret; the old one keeps signing beside it for 24 hours.
    RotateSecret(EndpointArgs),
    /// The newest deliveries of an endpoint.
    Deliveries {
        #[command(flatten)]
        target: EndpointArgs,
        /// pending, delivered or failed.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Send one delivery again.
    Replay {
        #[command(flatten)]
        target: EndpointArgs,
        #[arg(long)]
        delivery: Uuid,
    },
    /// Send again every event since a time (RFC 3339, at most 14 days back).
    Recover {
        #[command(flatten)]
        target: EndpointArgs,
        #[arg(long)]
        since: DateTime<Utc>,
    },
    /// Queue a signed webhook.test event for the endpoint.
    Test(EndpointArgs),
}

async fn service(store: &StoreArgs) -> anyhow::Result<Webhooks> {
    let config = store.load(store.overrides())?;
    let db = Db::connect(&config).await?;
    db.migrate().await?;
    let master_key = crate::master_key::MasterKey::load(&config)?;
    Webhooks::new(
        db,
        &master_key,
        &config,
        Arc::new(SystemClock),
        crate::metrics::Metrics::new(),
    )
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

fn print_secret(secret: &SecretView) {
    println!("signing secret: {}", secret.secret);
    if let (Some(previous), Some(until)) =
        (&secret.previous_secret, secret.previous_secret_expires_at)
    {
        println!("previous secret (signs until {until}): {previous}");
    }
}

/// Prints `value` as JSON with `--json`, else runs `text`.
fn show<T: serde::Serialize>(json: bool, value: &T, text: impl FnOnce(&T)) -> anyhow::Result<()> {
    if json {
        return print_json(value);
    }
    text(value);
    Ok(())
}

pub(crate) async fn run(command: WebhooksCommand) -> anyhow::Result<()> {
    let api = |e: crate::error::Error| anyhow::anyhow!("{}", e.message());
    match command {
        WebhooksCommand::List(on) => {
            let page = PageRequest::parse(Some(1), Some(100)).map_err(api)?;
            let (rows, _) = service(&on.store)
                .await?
                .list(on.platform, page)
                .await
                .map_err(api)?;
            show(on.json, &rows, |rows| {
                if rows.is_empty() {
                    println!("No webhook endpoints.");
                }
                rows.iter().for_each(print_endpoint);
            })
        }
        WebhooksCommand::Create { on, fields } => {
            let created = service(&on.store)
                .await?
                .create(on.platform, fields.input())
                .await
                .map_err(api)?;
            show(on.json, &created, |created| {
                print_endpoint(&created.endpoint);
                println!("  signing secret: {}", created.secret);
            })
        }
        WebhooksCommand::Update { target, fields } => {
            let on = &target.on;
            let view = service(&on.store)
                .await?
                .update(on.platform, target.endpoint, fields.input())
                .await
                .map_err(api)?;
            show(on.json, &view, print_endpoint)
        }
        WebhooksCommand::Delete(target) => {
            let on = &target.on;
            service(&on.store)
                .await?
                .delete(on.platform, target.endpoint)
                .await
                .map_err(api)?;
            let done = serde_json::json!({"id": target.endpoint, "deleted": true});
            show(on.json, &done, |_| {
                println!("Deleted webhook endpoint {}.", target.endpoint);
            })
        }
        WebhooksCommand::RevealSecret(target) => {
            let on = &target.on;
            let secret = service(&on.store)
                .await?
                .reveal(on.platform, target.endpoint)
                .await
                .map_err(api)?;
            show(on.json, &secret, print_secret)
        }
        WebhooksCommand::RotateSecret(target) => {
            let on = &target.on;
            let secret = service(&on.store)
                .await?
                .rotate(on.platform, target.endpoint)
                .await
                .map_err(api)?;
            show(on.json, &secret, print_secret)
        }
        WebhooksCommand::Deliveries {
            target,
            status,
            limit,
        } => {
            let on = &target.on;
            let query = DeliveryQuery {
                cursor: None,
                limit,
                status,
            };
            let page = service(&on.store)
                .await?
                .deliveries(on.platform, target.endpoint, &query)
                .await
                .map_err(api)?;
            show(on.json, &page.data, |rows| {
                for d in rows {
                    let outcome = d.status_code.map(|c| format!("HTTP {c}"));
                    println!(
                        "{}  {}  {}  attempts {}  {}",
                        d.id,
                        d.event_type,
                        d.status,
                        d.attempts,
                        outcome.or_else(|| d.error.clone()).unwrap_or_default()
                    );
                }
            })
        }
        WebhooksCommand::Replay { target, delivery } => {
            let on = &target.on;
            let view = service(&on.store)
                .await?
                .replay(on.platform, target.endpoint, delivery)
                .await
                .map_err(api)?;
            show(on.json, &view, |v| {
                println!("Delivery {} queued again.", v.id)
            })
        }
        WebhooksCommand::Recover { target, since } => {
            let on = &target.on;
            let answer = service(&on.store)
                .await?
                .recover(on.platform, target.endpoint, since)
                .await
                .map_err(api)?;
            show(on.json, &answer, |a| {
                println!("{} deliveries queued again.", a.queued);
            })
        }
        WebhooksCommand::Test(target) => {
            let on = &target.on;
            let view = service(&on.store)
                .await?
                .send_test(on.platform, target.endpoint)
                .await
                .map_err(api)?;
            show(on.json, &view, |v| {
                println!("Test event {} queued (delivery {}).", v.event_id, v.id);
            })
        }
    }
}
