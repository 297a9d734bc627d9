//! Usage logs: one row per tool call (and later inference call and capability
//! run). Recording never blocks the call: records go through a bounded channel
//! to a writer that inserts them in batches and drains on shutdown.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::args;
use crate::store::Db;

pub mod query;

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
}

#[derive(Clone)]
pub struct UsageLogger {
    sender: mpsc::Sender<UsageRecord>,
}

impl UsageLogger {
    /// The logger and its writer task, which ends once every sender is dropped
    /// and the channel is drained.
    /// On `shutdown` the writer stops taking records, writes what is queued and ends.
    pub fn start(db: Db, shutdown: CancellationToken) -> (Self, tokio::task::JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(CHANNEL_CAPACITY);
        let writer = tokio::spawn(write_batches(db, receiver, shutdown));
        (Self { sender }, writer)
    }

    /// Queues a record; when the queue is full the record is dropped with a
    /// warning rather than slowing the call down.
    pub fn record(&self, record: UsageRecord) {
        if let Err(err) = self.sender.try_send(record) {
            tracing::warn!(error = %err, "usage log queue full or closed; record dropped");
        }
    }
}

async fn write_batches(
    db: Db,
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
                        flush(&db, &mut batch).await;
                    }
                }
                flush(&db, &mut batch).await;
                return;
            }
            next = tokio::time::timeout(FLUSH_EVERY, receiver.recv()) => next,
        };
        let first = match next {
            Ok(Some(record)) => Some(record),
            Ok(None) => None,
            Err(_) => {
                flush(&db, &mut batch).await;
                continue;
            }
        };
        let Some(first) = first else {
            flush(&db, &mut batch).await;
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
            flush(&db, &mut batch).await;
        }
    }
}

async fn flush(db: &Db, batch: &mut Vec<UsageRecord>) {
    if batch.is_empty() {
        return;
    }
    if let Err(err) = insert(db, batch).await {
        tracing::error!(error = %err, lost = batch.len(), "writing usage logs failed");
    }
    batch.clear();
}

async fn insert(db: &Db, batch: &[UsageRecord]) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    for r in batch {
        tx.execute(
            "INSERT INTO usage_logs (id, platform_id, end_user_id, kind, app, tool, model, status, error_code, \
             latency_ms, input_tokens, output_tokens, cost_micros, request_id, created_at, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            &args![
                r.id,
                r.platform_id,
                r.end_user_id,
                r.kind,
                r.app.clone(),
                r.tool.clone(),
                r.model.clone(),
                r.status,
                r.error_code.clone(),
                r.latency_ms,
                r.input_tokens,
                r.output_tokens,
                r.cost_micros,
                r.request_id.as_str(),
                r.created_at,
                r.created_at.timestamp_millis()
            ],
        )
        .await?;
    }
    tx.commit().await
}
