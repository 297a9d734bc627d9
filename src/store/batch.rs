//! Group commit for SQLite. SQLite has one writer, and each statement through sqlx
//! is a round trip to the connection's thread; a commit also writes the WAL. So
//! concurrent write operations (the money hot path: reserve, settle, release)
//! queue here and share one transaction per turn of the writer: one `BEGIN`, the
//! operations one after another, one `COMMIT`, then every caller gets its answer.
//!
//! An operation answers `Ok(outcome)` when what it wrote should be committed, which
//! includes refusals (a 402 is an outcome, not a failure: it must leave nothing it
//! does not intend to commit). An `Err` is a database failure: the whole batch
//! rolls back and every operation in it runs again alone, in its own transaction,
//! so one failure never leaks into another caller's answer. Operations are `Fn`
//! for that reason, and must not open other transactions (the writer is theirs).
//!
//! On PostgreSQL each operation simply gets its own transaction: transactions run
//! in parallel there, and batching across instances would only add lock cycles.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::Db;
use super::tx::Tx;

/// The future of one operation, borrowing the transaction it runs in.
pub type TxFuture<'t, T> = Pin<Box<dyn Future<Output = Result<T, sqlx::Error>> + Send + 't>>;

/// One write operation: re-runnable against any transaction.
pub trait TxOp<T>: for<'t> Fn(&'t mut Tx) -> TxFuture<'t, T> + Send + Sync + 'static {}
impl<T, F> TxOp<T> for F where F: for<'t> Fn(&'t mut Tx) -> TxFuture<'t, T> + Send + Sync + 'static {}

/// Pins a closure to the [`TxOp`] signature (closures returning futures that
/// borrow their argument need the higher-ranked bound spelled out).
pub fn op<T, F>(f: F) -> F
where
    F: for<'t> Fn(&'t mut Tx) -> TxFuture<'t, T> + Send + Sync + 'static,
{
    f
}

/// Operations waiting for the next turn of the writer; past this, callers wait.
const QUEUE: usize = 4096;
/// Most operations one transaction carries (bounds a turn's latency).
const MAX_BATCH: usize = 64;

type JobFuture<'a> = Pin<Box<dyn Future<Output = Result<(), sqlx::Error>> + Send + 'a>>;

/// An operation with its answer slot, type-erased so one queue carries them all.
trait Job: Send {
    /// Runs in the shared transaction and keeps the outcome until commit.
    fn run<'a>(&'a mut self, tx: &'a mut Tx) -> JobFuture<'a>;
    /// Sends the kept outcome (after the batch committed).
    fn deliver(self: Box<Self>);
    /// Runs alone in its own transaction and sends that answer.
    fn run_alone(self: Box<Self>, db: Db) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

struct OpJob<T, F> {
    op: Arc<F>,
    outcome: Option<T>,
    reply: oneshot::Sender<Result<T, sqlx::Error>>,
}

impl<T, F> Job for OpJob<T, F>
where
    T: Send + 'static,
    F: TxOp<T>,
{
    fn run<'a>(&'a mut self, tx: &'a mut Tx) -> JobFuture<'a> {
        Box::pin(async move {
            self.outcome = Some((self.op)(tx).await?);
            Ok(())
        })
    }

    fn deliver(self: Box<Self>) {
        let answer = self
            .outcome
            .ok_or_else(|| sqlx::Error::Protocol("write batch lost an outcome".into()));
        let _ = self.reply.send(answer);
    }

    fn run_alone(self: Box<Self>, db: Db) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            let answer = in_own_transaction(&db, self.op.as_ref()).await;
            let _ = self.reply.send(answer);
        })
    }
}

async fn in_own_transaction<T>(db: &Db, op: &impl TxOp<T>) -> Result<T, sqlx::Error> {
    let mut tx = db.begin().await?;
    let outcome = op(&mut tx).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// The queue in front of SQLite's writer.
#[derive(Clone)]
pub struct WriteBatcher {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl std::fmt::Debug for WriteBatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteBatcher").finish_non_exhaustive()
    }
}

impl WriteBatcher {
    /// Starts the writer's loop; it ends when the last handle is dropped.
    pub fn start(db: Db) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(drain(db, queue));
        Self { jobs }
    }
}

async fn drain(db: Db, mut queue: mpsc::Receiver<Box<dyn Job>>) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        run_batch(&db, std::mem::take(&mut batch)).await;
    }
}

async fn run_batch(db: &Db, mut batch: Vec<Box<dyn Job>>) {
    if let Ok(mut tx) = db.begin().await {
        let mut all_ran = true;
        for job in batch.iter_mut() {
            if job.run(&mut tx).await.is_err() {
                all_ran = false;
                break;
            }
        }
        if all_ran {
            match tx.commit().await {
                Ok(()) => {
                    batch.into_iter().for_each(|job| job.deliver());
                    return;
                }
                Err(err) => tracing::warn!(error = %err, "group commit failed; retrying alone"),
            }
        } else if let Err(err) = tx.rollback().await {
            tracing::warn!(error = %err, "rolling back a failed write batch");
        }
    }
    // Something failed: every operation runs again on its own, so each caller gets
    // the answer its own operation deserves.
    for job in batch {
        job.run_alone(db.clone()).await;
    }
}

impl Db {
    /// Runs a write operation and commits it: batched with concurrent ones on
    /// SQLite (group commit), in its own transaction on PostgreSQL. See the module
    /// documentation for what an operation may do.
    pub async fn transact<T, F>(&self, op: F) -> Result<T, sqlx::Error>
    where
        T: Send + 'static,
        F: TxOp<T>,
    {
        let op = Arc::new(op);
        if let Some(batcher) = &self.batcher {
            let (reply, answer) = oneshot::channel();
            let job = Box::new(OpJob {
                op: Arc::clone(&op),
                outcome: None,
                reply,
            });
            if batcher.jobs.send(job).await.is_ok() {
                return answer.await.unwrap_or_else(|_| {
                    Err(sqlx::Error::Protocol(
                        "the write batch stopped before answering".into(),
                    ))
                });
            }
            // The writer loop is gone (shutting down): fall through and run alone.
        }
        in_own_transaction(self, op.as_ref()).await
    }
}
