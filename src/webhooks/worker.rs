//! The delivery worker, one per instance, in the background runner. Each round
//! dispatches the outbox, then claims due deliveries up to the free attempt
//! slots: a claim sets a lease (a token and an expiry longer than any attempt can
//! take) in one statement, with `FOR UPDATE SKIP LOCKED` on PostgreSQL so
//! instances never claim the same row, and SQLite's single writer doing the same
//! there. An attempt signs the stored body with the endpoint's secret(s), posts
//! it through the SSRF-guarded client (no redirects, a time limit) and records
//! the attempt and the delivery's next state in one transaction that still holds
//! the lease. A crash loses nothing: an unfinished attempt's lease runs out and
//! the delivery is claimed again (at least once).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::{Duration, Instant};

use assistiv_app_sdk::reqwest::{self, Url};
use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::guard::Refused;
use super::signing::signature_header;
use super::store::deliveries::{self, Attempt, Job};
use super::store::endpoints::{self, EndpointRow};
use super::{DISABLE_AFTER, Webhooks, ms};
use crate::metrics::DeliveryOutcome;

/// The part of an answer kept in the log.
const RESPONSE_KEPT: usize = 1024;
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// What one attempt came to.
#[derive(Debug)]
enum Outcome {
    Answered {
        status: u16,
        response: String,
        retry_after: Option<Duration>,
    },
    Failed(String),
    /// This instance cannot sign (its master key does not open the secret): no
    /// attempt is recorded, and the lease runs out for an instance that can.
    CannotSign,
}

/// `Retry-After`: seconds, or an HTTP date.
fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&Utc) - now)
        .to_std()
        .ok()
        .map(|d| d.min(MAX_RETRY_AFTER))
}

/// `delay` give or take 10%.
fn jitter(delay: Duration) -> Duration {
    if delay.is_zero() {
        return delay;
    }
    delay.mul_f64(rand::rng().random_range(0.9..=1.1))
}

/// What the log says about a failed request, without the URL's query string.
fn describe(err: &reqwest::Error, timeout: Duration) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return format!("refused: {refused}");
        }
        source = e.source();
    }
    if err.is_timeout() {
        return format!("timed out after {} ms", timeout.as_millis());
    }
    let mut text = if err.is_connect() {
        "connection failed".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(err);
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// The first [`RESPONSE_KEPT`] bytes of the answer (lossy UTF-8).
async fn read_start(mut response: reqwest::Response) -> String {
    let mut kept = Vec::new();
    while kept.len() < RESPONSE_KEPT {
        match response.chunk().await {
            Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
            _ => break,
        }
    }
    kept.truncate(RESPONSE_KEPT);
    String::from_utf8_lossy(&kept).replace('\0', "")
}

impl Webhooks {
    /// The worker loop: until shutdown, then waits for the attempts in flight.
    pub(super) async fn run(self, shutdown: CancellationToken) {
        let mut inflight: JoinSet<()> = JoinSet::new();
        let concurrency = self.settings.concurrency;
        let mut last_round: Option<Instant> = None;
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            let free = concurrency - inflight.len();
            let due = last_round.is_none_or(|at| at.elapsed() >= self.settings.poll_interval);
            if due || free * 2 >= concurrency {
                last_round = Some(Instant::now());
                self.dispatch_all().await;
                if free > 0 {
                    match self.claim(free).await {
                        Ok(jobs) => {
                            for (job, endpoint, token) in jobs {
                                let worker = self.clone();
                                inflight.spawn(async move {
                                    worker.attempt(job, endpoint, token).await
                                });
                            }
                        }
                        Err(err) => {
                            tracing::warn!(error = %err, "claiming webhook deliveries failed")
                        }
                    }
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(self.settings.poll_interval) => {}
                Some(_) = inflight.join_next(), if !inflight.is_empty() => {}
            }
        }
        while inflight.join_next().await.is_some() {}
    }

    /// Dispatches the outbox until it is empty (or an error, logged).
    async fn dispatch_all(&self) {
        loop {
            match self.dispatch().await {
                Ok(n) if n as i64 == super::dispatch::BATCH => continue,
                Ok(_) => break,
                Err(err) => {
                    tracing::warn!(error = %err, "dispatching the outbox to webhooks failed");
                    break;
                }
            }
        }
    }

    /// Claims up to `limit` due deliveries of enabled endpoints under one lease.
    async fn claim(&self, limit: usize) -> Result<Vec<(Job, Arc<EndpointRow>, Uuid)>, sqlx::Error> {
        let token = Uuid::new_v4();
        let now = ms(self.clock.now());
        let until = now + self.settings.lease().num_milliseconds();
        let mut tx = self.db.begin().await?;
        let claimed = deliveries::lease_due(&mut tx, now, limit as i64, token, until).await?;
        if claimed == 0 {
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        let jobs = deliveries::leased(&mut tx, token).await?;
        let mut targets: HashMap<Uuid, Arc<EndpointRow>> = HashMap::new();
        for job in &jobs {
            if let Entry::Vacant(slot) = targets.entry(job.endpoint_id)
                && let Some(row) = endpoints::by_id(&mut tx, job.endpoint_id).await?
            {
                slot.insert(Arc::new(row));
            }
        }
        tx.commit().await?;
        Ok(jobs
            .into_iter()
            .filter_map(|job| {
                let endpoint = targets.get(&job.endpoint_id)?.clone();
                Some((job, endpoint, token))
            })
            .collect())
    }

    async fn attempt(&self, job: Job, endpoint: Arc<EndpointRow>, token: Uuid) {
        let started = self.clock.now();
        let clock_start = Instant::now();
        let outcome =
            match tokio::time::timeout(self.settings.timeout, self.send(&job, &endpoint, started))
                .await
            {
                Ok(outcome) => outcome,
                Err(_) => Outcome::Failed(format!(
                    "timed out after {} ms",
                    self.settings.timeout.as_millis()
                )),
            };
        let latency = clock_start.elapsed().as_millis() as i64;
        if matches!(outcome, Outcome::CannotSign) {
            tracing::error!(
                endpoint = %endpoint.id,
                "a webhook signing secret does not open with this instance's master key \
                 (instances sharing a database need the same ASSISTIV_MASTER_KEY); \
                 leaving the delivery to another instance"
            );
            return;
        }
        if let Err(err) = self
            .record(&job, &endpoint, token, started, latency, outcome)
            .await
        {
            // The lease runs out and the delivery is attempted again.
            tracing::warn!(error = %err, delivery = %job.id, "recording a webhook attempt failed");
        }
    }

    /// Signs and posts one delivery.
    async fn send(&self, job: &Job, endpoint: &EndpointRow, now: DateTime<Utc>) -> Outcome {
        let url = match Url::parse(&endpoint.url) {
            Ok(url) => url,
            Err(err) => return Outcome::Failed(format!("invalid URL: {err}")),
        };
        if let Err(why) = self.settings.guard.vet(&url).await {
            return Outcome::Failed(format!("refused: {why}"));
        }
        let Ok((current, previous)) = self.secrets_of(endpoint, ms(now)) else {
            return Outcome::CannotSign;
        };
        let mut secrets = vec![&current];
        secrets.extend(previous.as_ref());
        let id = job.message_id.to_string();
        let timestamp = now.timestamp();
        let signature = signature_header(&secrets, &id, timestamp, &job.body);
        let request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(job.body.clone());
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| retry_after(v, now));
                let mut text = read_start(response).await;
                if (300..400).contains(&status) {
                    text = format!("(redirects are not followed) {text}");
                }
                Outcome::Answered {
                    status,
                    response: text,
                    retry_after,
                }
            }
            Err(err) => Outcome::Failed(describe(&err, self.settings.timeout)),
        }
    }

    /// The attempt row, and the delivery's (and endpoint's) next state.
    async fn record(
        &self,
        job: &Job,
        endpoint: &EndpointRow,
        token: Uuid,
        started: DateTime<Utc>,
        latency: i64,
        outcome: Outcome,
    ) -> Result<(), sqlx::Error> {
        let now = self.clock.now();
        let (status_code, response, error, retry) = match outcome {
            Outcome::Answered {
                status,
                response,
                retry_after,
            } => (Some(status), Some(response), None, retry_after),
            Outcome::Failed(error) => (None, None, Some(error), None),
            Outcome::CannotSign => return Ok(()),
        };
        let success = status_code.is_some_and(|s| (200..300).contains(&s));
        let gone = status_code == Some(410);
        let step = job.step as usize + 1;
        let next_attempt = (!success && !gone && step < self.settings.schedule.len()).then(|| {
            let mut delay = jitter(self.settings.schedule[step]);
            if let Some(wait) = retry {
                delay = delay.max(wait);
            }
            ms(now) + delay.as_millis() as i64
        });
        let status = match (success, next_attempt) {
            (true, _) => "delivered",
            (false, Some(_)) => "pending",
            (false, None) => "failed",
        };
        let error = error.or_else(|| {
            status_code
                .filter(|_| !success)
                .map(|s| format!("answered HTTP {s}"))
        });
        let mut tx = self.db.begin().await?;
        let attempt = Attempt {
            id: Uuid::now_v7(),
            delivery_id: job.id,
            attempt: i64::from(job.attempts) + 1,
            started_at_ms: ms(started),
            finished_at_ms: ms(now),
            status_code: status_code.map(i64::from),
            error,
            latency_ms: latency,
            response,
            next_attempt_ms: next_attempt,
        };
        deliveries::insert_attempt(&mut tx, &attempt).await?;
        deliveries::finish_attempt(&mut tx, &attempt, status, step as i64, success, token).await?;
        if success {
            endpoints::clear_failing(&mut tx, endpoint.id).await?;
        } else if gone {
            let reason = format!("the endpoint answered 410 Gone at {}", now.to_rfc3339());
            endpoints::disable(&mut tx, endpoint.id, reason, ms(now), None).await?;
        } else {
            let reason = format!(
                "no successful delivery for {} days (last error: {})",
                DISABLE_AFTER.num_days(),
                attempt.error.as_deref().unwrap_or("unknown")
            );
            endpoints::mark_failing(&mut tx, endpoint.id, ms(now)).await?;
            let cutoff = Some(ms(now - DISABLE_AFTER));
            endpoints::disable(&mut tx, endpoint.id, reason, ms(now), cutoff).await?;
        }
        tx.commit().await?;
        self.metrics.webhook_attempt(match (success, next_attempt) {
            (true, _) => DeliveryOutcome::Delivered,
            (false, Some(_)) => DeliveryOutcome::Retrying,
            (false, None) => DeliveryOutcome::Failed,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(retry_after("999999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..100 {
            let d = jitter(Duration::from_secs(100));
            assert!(d >= Duration::from_secs(90) && d <= Duration::from_secs(110));
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }
}
