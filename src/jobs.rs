//! One runner for every background loop: the hold and OAuth sweepers, the
//! capability health prober, the key-revocation poller, SQLite's WAL
//! checkpointer and the usage-log writer (the webhook worker joins them). It
//! starts them, tells them to stop on shutdown, and waits for each to drain, so
//! a graceful stop never cuts a loop mid-write.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The background loops of one gateway instance.
pub struct Jobs {
    shutdown: CancellationToken,
    running: Vec<(&'static str, JoinHandle<()>)>,
}

impl Jobs {
    pub fn new() -> Self {
        Self {
            shutdown: CancellationToken::new(),
            running: Vec::new(),
        }
    }

    /// Cancelled when the runner stops (for work outside the runner that must
    /// stop with it, such as MCP sessions).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.child_token()
    }

    /// Runs `tick` at once and then every `period` until shutdown; a tick in
    /// progress at shutdown is abandoned at its next await (ticks are idempotent
    /// and transactional, so the next start picks up where it left off).
    pub fn every<F, Fut>(&mut self, name: &'static str, period: Duration, mut tick: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let shutdown = self.shutdown.child_token();
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = ticker.tick() => {}
                }
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tick() => {}
                }
            }
        });
        self.running.push((name, task));
    }

    /// Runs a long-lived worker that watches the token itself and drains what it
    /// holds before it returns (the usage-log writer).
    pub fn until_stopped<F, Fut>(&mut self, name: &'static str, worker: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let task = tokio::spawn(worker(self.shutdown.child_token()));
        self.running.push((name, task));
    }

    /// The names of the loops, in start order.
    pub fn names(&self) -> Vec<&'static str> {
        self.running.iter().map(|(name, _)| *name).collect()
    }

    /// Tells every loop to stop and waits for each to finish draining.
    pub async fn stop(self) {
        self.shutdown.cancel();
        for (name, task) in self.running {
            if let Err(err) = task.await {
                tracing::error!(job = name, error = %err, "background job ended abnormally");
            }
        }
    }
}

impl Default for Jobs {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn loops_tick_until_stopped_and_workers_drain() {
        let mut jobs = Jobs::new();
        let ticks = Arc::new(AtomicU32::new(0));
        let counted = Arc::clone(&ticks);
        jobs.every("counter", Duration::from_millis(1), move || {
            let counted = Arc::clone(&counted);
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        });
        let drained = Arc::new(AtomicU32::new(0));
        let flag = Arc::clone(&drained);
        jobs.until_stopped("drainer", move |token| async move {
            token.cancelled().await;
            flag.store(1, Ordering::SeqCst);
        });
        assert_eq!(jobs.names(), ["counter", "drainer"]);
        while ticks.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        jobs.stop().await;
        assert_eq!(drained.load(Ordering::SeqCst), 1, "the worker drained");
        let after = ticks.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(ticks.load(Ordering::SeqCst), after, "no tick after stop");
    }
}
