//! Usage logs: one row per tool call (and later inference call and capability
//! run). Recording never blocks the call: records go through a bounded channel
//! to a writer that inserts them in batches and drains on shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::store::Db;

pub mod query;
mod store;

const CHANNEL_CAPACITY: usize = 10_000;
const BATCH: usize = 500;
const FLUSH_EVERY: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, Serialize)]
pub struct UsageRecord {
    pub id: Uuid,
    pub platform_id: Uuid,
    pub end_user_id: Option<Uuid>,
    /// `tool_call`, `inference`, `capability_run`.
    pub kind: &'static str,
    pub app: Option<String>,
    pub tool: Option<String>,
    pub model: Option<String>,
    /// `ok` or `error`.
    pub status: &'static str,
    pub error_code: Option<String>,
    pub latency_ms: i64,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cost_micros: Option<i64>,
    pub request_id: String,
    pub created_at: DateTime<Utc>,
    /// Inference: the provider kind that answered.
    pub provider: Option<String>,
    /// Inference: input tokens read from a provider cache.
    pub cached_tokens: Option<i64>,
    /// Inference: time to first token, in milliseconds.
    pub ttft_ms: Option<i64>,
    /// Inference: token counts estimated by the gateway (a cut stream).
    pub tokens_estimated: Option<bool>,
    /// Inference: the price used (JSON: micro-USD per million tokens, markup).
    pub price: Option<String>,
}

impl UsageRecord {
    /// Usage rows are logs: text that arrived with a call (a tool name, say) keeps
    /// what it can, with U+0000, which PostgreSQL cannot store, made U+FFFD.
    fn without_nul(mut self) -> Self {
        for text in [
            &mut self.app,
            &mut self.tool,
            &mut self.model,
            &mut self.error_code,
            &mut self.provider,
            &mut self.price,
        ]
        .into_iter()
        .flatten()
        {
            replace_nul(text);
        }
        replace_nul(&mut self.request_id);
        self
    }
}

fn replace_nul(text: &mut String) {
    if text.contains('\0') {
        *text = text.replace('\0', "\u{FFFD}");
    }
}

#[derive(Clone)]
pub struct UsageLogger {
    sender: mpsc::Sender<UsageRecord>,
    dropped: Arc<AtomicU64>,
    /// Counts inference tokens and cost from the rows as they are recorded.
    metrics: Option<crate::metrics::Metrics>,
}

impl UsageLogger {
    /// The logger and its writer task, which ends once every sender is dropped
    /// and the channel is drained.
    /// On `shutdown` the writer stops taking records, writes what is queued and ends.
    pub fn start(db: Db, shutdown: CancellationToken) -> (Self, tokio::task::JoinHandle<()>) {
        let (logger, writer) = Self::channel(db);
        (logger, tokio::spawn(writer.run(shutdown)))
    }

    /// The logger and the writer the background runner drives
    /// ([`UsageWriter::run`]).
    pub fn channel(db: Db) -> (Self, UsageWriter) {
        let (sender, receiver) = mpsc::channel(CHANNEL_CAPACITY);
        let dropped = Arc::new(AtomicU64::new(0));
        let writer = Writer {
            db,
            dropped: Arc::clone(&dropped),
        };
        let logger = Self {
            sender,
            dropped,
            metrics: None,
        };
        (logger, UsageWriter { writer, receiver })
    }

    /// The same logger, counting every row it records in `metrics` too.
    pub fn observed_by(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Queues a record; when the queue is full the record is dropped with a
    /// warning rather than slowing the call down.
    pub fn record(&self, record: UsageRecord) {
        if let Some(metrics) = &self.metrics {
            metrics.observe_usage(&record);
        }
        if let Err(err) = self.sender.try_send(record.without_nul()) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %err, "usage log queue full or closed; record dropped");
        }
    }

    /// Records that never reached the database since start: the queue was
    /// full, the database refused the row, or it could not be reached.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Records queued for the writer now.
    pub fn queued(&self) -> usize {
        self.sender.max_capacity() - self.sender.capacity()
    }
}

struct Writer {
    db: Db,
    dropped: Arc<AtomicU64>,
}

/// The batch writer's end of the queue.
pub struct UsageWriter {
    writer: Writer,
    receiver: mpsc::Receiver<UsageRecord>,
}

impl UsageWriter {
    /// Writes batches until `shutdown`, then drains what is queued and returns.
    pub async fn run(self, shutdown: CancellationToken) {
        write_batches(self.writer, self.receiver, shutdown).await;
    }
}

async fn write_batches(
    writer: Writer,
    mut receiver: mpsc::Receiver<UsageRecord>,
    shutdown: CancellationToken,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let next = tokio::select! {
            _ = shutdown.cancelled() => {
                // Drain: nothing new is accepted, everything queued is written.
                receiver.close();
                while let Some(record) = receiver.recv().await {
                    batch.push(record);
                    if batch.len() >= BATCH {
                        writer.flush(&mut batch).await;
                    }
                }
                writer.flush(&mut batch).await;
                return;
            }
            next = tokio::time::timeout(FLUSH_EVERY, receiver.recv()) => next,
        };
        let first = match next {
            Ok(Some(record)) => Some(record),
            Ok(None) => None,
            Err(_) => {
                writer.flush(&mut batch).await;
                continue;
            }
        };
        let Some(first) = first else {
            writer.flush(&mut batch).await;
            return;
        };
        batch.push(first);
        while batch.len() < BATCH {
            match receiver.try_recv() {
                Ok(record) => batch.push(record),
                Err(_) => break,
            }
        }
        if batch.len() >= BATCH {
            writer.flush(&mut batch).await;
        }
    }
}

impl Writer {
    async fn flush(&self, batch: &mut Vec<UsageRecord>) {
        if !batch.is_empty() {
            self.write(batch).await;
        }
        batch.clear();
    }

    /// Writes `rows` in one transaction. When the database refuses a row, the
    /// halves are written apart, down to the refused row alone, which is dropped
    /// and logged with its id: one bad row never costs another (another tenant's
    /// rows share the batch). Any other failure (the database out of reach)
    /// loses what was being written, counted and logged.
    async fn write(&self, rows: &[UsageRecord]) {
        let mut pending = vec![rows];
        while let Some(part) = pending.pop() {
            let Err(err) = store::insert(&self.db, part).await else {
                continue;
            };
            let refused = err.as_database_error().is_some();
            match part {
                [row] if refused => {
                    self.count_dropped(1);
                    tracing::error!(
                        id = %row.id,
                        platform_id = %row.platform_id,
                        error = %err,
                        dropped_total = self.dropped.load(Ordering::Relaxed),
                        "the database refused a usage log row; dropped"
                    );
                }
                _ if refused => {
                    let (left, right) = part.split_at(part.len() / 2);
                    pending.push(right);
                    pending.push(left);
                }
                _ => {
                    self.count_dropped(part.len());
                    tracing::error!(
                        error = %err,
                        lost = part.len(),
                        dropped_total = self.dropped.load(Ordering::Relaxed),
                        "writing usage logs failed"
                    );
                }
            }
        }
    }

    fn count_dropped(&self, rows: usize) {
        self.dropped
            .fetch_add(u64::try_from(rows).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}
