//! Outbound webhooks (contract section 12): endpoints per platform with a sealed
//! `whsec_` signing secret, and a delivery worker that turns the billing outbox
//! (`outbox_events`, written in the same transaction as each budget or wallet
//! change) into signed Standard Webhooks requests, at least once.
//!
//! - [`endpoints`]: create, list, update, delete; reveal and rotate the secret
//!   (the old one keeps signing beside the new one for 24 hours).
//! - [`dispatch`]: outbox rows become messages (the exact body, with the
//!   platform's next sequence number) and one delivery per matching endpoint.
//! - [`worker`]: claims due deliveries under a lease (`FOR UPDATE SKIP LOCKED` on
//!   PostgreSQL), posts them through the SSRF [`guard`], records each attempt and
//!   schedules the next one.
//! - [`deliveries`]: the delivery log, replay, recover since a time, test events.
//! - `store`: their SQL, the one place in this module that holds any.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use assistiv_app_sdk::reqwest;
use chrono::{DateTime, Utc};

use crate::billing::{SharedClock, events};
use crate::config::Config;
use crate::jobs::Jobs;
use crate::master_key::MasterKey;
use crate::oauth::vault::Vault;
use crate::store::Db;

pub mod cli;
pub mod deliveries;
mod dispatch;
pub mod endpoints;
pub mod guard;
pub mod routes;
pub mod signing;
mod store;
mod worker;

pub use routes::routes;

/// The event types an endpoint can subscribe to (an empty filter means all).
pub const EVENT_TYPES: [&str; 7] = [
    events::BUDGET_TOPPED_UP,
    events::BUDGET_DEBITED,
    events::BUDGET_LOW_BALANCE,
    events::BUDGET_SUSPENDED,
    events::BUDGET_UNSUSPENDED,
    events::WALLET_LOW_BALANCE,
    events::WALLET_TOPPED_UP,
];

/// The event `POST .../endpoints/{id}/test` sends (to that endpoint only).
pub const TEST_EVENT: &str = "webhook.test";

/// An endpoint failing this long without a success is disabled.
pub const DISABLE_AFTER: chrono::Duration = chrono::Duration::days(5);
/// How long a rotated-out secret keeps signing.
pub const ROTATION_OVERLAP: chrono::Duration = chrono::Duration::hours(24);
/// How far back `recover` may reach.
pub const RECOVER_WINDOW: chrono::Duration = chrono::Duration::days(14);

/// The webhook settings of the configuration, parsed.
#[derive(Debug, Clone)]
pub struct Settings {
    pub allow_http: bool,
    pub guard: guard::Guard,
    /// Longest one attempt may take.
    pub timeout: Duration,
    /// The delay before each attempt; its length is the number of attempts.
    pub schedule: Vec<Duration>,
    pub poll_interval: Duration,
    pub concurrency: usize,
    pub retention: chrono::Duration,
}

impl Settings {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let schedule = parse_schedule(&config.webhook_retry_schedule)
            .context("ASSISTIV_WEBHOOK_RETRY_SCHEDULE")?;
        anyhow::ensure!(
            config.webhook_timeout_ms >= 10 && config.webhook_poll_interval_ms >= 10,
            "ASSISTIV_WEBHOOK_TIMEOUT_MS and ASSISTIV_WEBHOOK_POLL_INTERVAL_MS must be at least 10"
        );
        anyhow::ensure!(
            (1..=1024).contains(&config.webhook_concurrency),
            "ASSISTIV_WEBHOOK_CONCURRENCY must be between 1 and 1024"
        );
        anyhow::ensure!(
            config.webhook_retention_days >= RECOVER_WINDOW.num_days() as u64
                && config.webhook_retention_days <= 3650,
            "ASSISTIV_WEBHOOK_RETENTION_DAYS must be between 14 (the recover window) and 3650"
        );
        Ok(Self {
            allow_http: config.webhook_allow_http,
            guard: guard::Guard::new(
                config.webhook_allow_private,
                config.webhook_allowed_subnets.as_deref(),
            )?,
            timeout: Duration::from_millis(config.webhook_timeout_ms),
            schedule,
            poll_interval: Duration::from_millis(config.webhook_poll_interval_ms),
            concurrency: config.webhook_concurrency,
            retention: chrono::Duration::days(config.webhook_retention_days as i64),
        })
    }

    /// How long a claimed delivery stays claimed: longer than any attempt can
    /// take, so no two attempts of one delivery ever overlap.
    fn lease(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.timeout * 2).unwrap_or(chrono::Duration::hours(1))
            + chrono::Duration::seconds(5)
    }
}

/// `0s,5s,5m,30m,2h,5h,10h,10h` (units ms, s, m, h; a bare number is seconds).
fn parse_schedule(text: &str) -> anyhow::Result<Vec<Duration>> {
    let schedule = text
        .split(',')
        .map(str::trim)
        .map(parse_duration)
        .collect::<anyhow::Result<Vec<_>>>()?;
    anyhow::ensure!(
        (1..=20).contains(&schedule.len()),
        "between 1 and 20 attempts"
    );
    Ok(schedule)
}

fn parse_duration(item: &str) -> anyhow::Result<Duration> {
    let split = item
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(item.len());
    let (number, unit) = item.split_at(split);
    let n: u64 = number
        .parse()
        .with_context(|| format!("'{item}' is not a duration like 5s, 5m or 2h"))?;
    let secs = match unit {
        "ms" => return Ok(Duration::from_millis(n)),
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => anyhow::bail!("'{item}': the unit is one of ms, s, m, h, d"),
    };
    Ok(Duration::from_secs(secs))
}

/// Epoch milliseconds, as the webhook tables store time.
fn ms(time: DateTime<Utc>) -> i64 {
    time.timestamp_millis()
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// The webhook service: endpoints, the delivery log, and the worker's parts.
#[derive(Clone)]
pub struct Webhooks {
    db: Db,
    vault: Vault,
    clock: SharedClock,
    settings: Arc<Settings>,
    client: reqwest::Client,
    metrics: crate::metrics::Metrics,
}

impl Webhooks {
    pub fn new(
        db: Db,
        master_key: &MasterKey,
        config: &Config,
        clock: SharedClock,
        metrics: crate::metrics::Metrics,
    ) -> anyhow::Result<Self> {
        let settings = Settings::from_config(config)?;
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(settings.guard.resolver())
            .user_agent(concat!("Assistiv-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the webhook HTTP client")?;
        Ok(Self {
            db,
            vault: master_key.vault(),
            clock,
            settings: Arc::new(settings),
            client,
            metrics,
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Outbox events not yet dispatched and deliveries waiting for an attempt.
    pub async fn backlog(&self) -> Result<(i64, i64), sqlx::Error> {
        Ok((
            store::messages::undispatched_count(&self.db).await?,
            store::deliveries::pending_count(&self.db).await?,
        ))
    }

    /// Registers the delivery worker and the retention purge with the runner.
    pub fn start(&self, jobs: &mut Jobs) {
        let worker = self.clone();
        jobs.until_stopped("webhook-worker", move |token| worker.run(token));
        let purger = self.clone();
        jobs.every("webhook-retention", Duration::from_secs(3600), move || {
            let purger = purger.clone();
            async move {
                if let Err(err) = purger.purge().await {
                    tracing::warn!(error = %err, "webhook retention purge failed");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn schedules_parse_with_units() {
        let schedule = parse_schedule("0s,5s,5m,30m,2h,5h,10h,10h").unwrap();
        assert_eq!(schedule.len(), 8);
        assert_eq!(schedule[0], Duration::ZERO);
        assert_eq!(schedule[2], Duration::from_secs(300));
        assert_eq!(schedule[7], Duration::from_secs(36_000));
        assert_eq!(
            parse_schedule("0,250ms").unwrap()[1],
            Duration::from_millis(250)
        );
        assert!(parse_schedule("5x").is_err());
        assert!(parse_schedule("").is_err());
    }
}
