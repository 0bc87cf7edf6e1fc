//! Delivering each batch to every sink, each sink in its own task.
//!
//! Every sink has a worker task fed by a bounded channel. A delivery queues
//! the batch on all channels at once and waits for every answer, so a slow
//! or failing sink holds up other sinks only once its channel is full (the
//! caller then waits, and upstream stops pulling work). A worker records
//! which batch keys its sink accepted; a batch delivered again under the
//! same key (the message came back from the queue after a partial failure)
//! skips the sinks that already have it.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tracing::Instrument;

use crate::Sink;
use crate::alert::Alert;
use crate::error::{FanoutError, SinkError};

mod accepted;

use accepted::Accepted;

/// Batch keys remembered per fan-out. A batch is one CloudTrail object,
/// and a redelivery comes back within the queue's visibility timeout, so a
/// few thousand recent keys cover every retry in flight.
const REMEMBERED_BATCHES: usize = 4096;
/// Consecutive failed deliveries after which a sink reports unhealthy.
const UNHEALTHY_AFTER: u32 = 3;

/// All sinks behind one `deliver`.
pub struct Fanout {
    workers: Vec<Worker>,
    accepted: Arc<Mutex<Accepted>>,
}

struct Worker {
    name: String,
    jobs: mpsc::Sender<Job>,
    task: JoinHandle<()>,
    failures: Arc<AtomicU32>,
}

struct Job {
    batch_key: Arc<str>,
    alerts: Arc<Vec<Alert>>,
    reply: oneshot::Sender<Result<(), SinkError>>,
}

impl Fanout {
    /// Starts one worker per sink, each with a queue of `channel_capacity`
    /// batches (at least 1).
    ///
    /// # Panics
    ///
    /// When called outside a tokio runtime.
    pub fn new(sinks: Vec<Arc<dyn Sink>>, channel_capacity: usize) -> Self {
        let accepted = Arc::new(Mutex::new(Accepted::new(REMEMBERED_BATCHES)));
        let workers = sinks
            .into_iter()
            .enumerate()
            .map(|(index, sink)| {
                let (jobs, queue) = mpsc::channel(channel_capacity.max(1));
                let failures = Arc::new(AtomicU32::new(0));
                let name = sink.name().to_string();
                let span = tracing::info_span!("sink", sink = %name);
                let run = work(
                    index,
                    sink,
                    queue,
                    Arc::clone(&accepted),
                    Arc::clone(&failures),
                );
                let task = tokio::spawn(run.instrument(span));
                Worker {
                    name,
                    jobs,
                    task,
                    failures,
                }
            })
            .collect();
        Fanout { workers, accepted }
    }

    /// Delivers `alerts` to every sink that has not yet accepted
    /// `batch_key`, and waits until each has answered.
    ///
    /// # Errors
    ///
    /// [`FanoutError::Failed`] naming every sink that did not accept the
    /// batch; the sinks that did are remembered, so delivering the same key
    /// again only retries the failed ones. [`FanoutError::WorkerStopped`]
    /// when a sink's worker is gone.
    pub async fn deliver(
        &self,
        batch_key: &str,
        alerts: Arc<Vec<Alert>>,
    ) -> Result<(), FanoutError> {
        if alerts.is_empty() {
            return Ok(());
        }
        let done = self.lock_accepted().sinks_of(batch_key);
        let key: Arc<str> = Arc::from(batch_key);
        let mut answers = JoinSet::new();
        for (index, worker) in self.workers.iter().enumerate() {
            if done.contains(&index) {
                tracing::debug!(sink = %worker.name, batch_key, "batch already accepted, skipped");
                continue;
            }
            let (reply, answer) = oneshot::channel();
            let job = Job {
                batch_key: Arc::clone(&key),
                alerts: Arc::clone(&alerts),
                reply,
            };
            let jobs = worker.jobs.clone();
            // Queued concurrently: one full channel must not delay the rest.
            answers.spawn(async move {
                let outcome = match jobs.send(job).await {
                    Ok(()) => answer.await.ok(),
                    Err(_) => None,
                };
                (index, outcome)
            });
        }

        let mut failures = Vec::new();
        let mut stopped = None;
        while let Some(joined) = answers.join_next().await {
            let (index, outcome) = match joined {
                Ok(answer) => answer,
                Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
                Err(_) => continue,
            };
            let name = self.workers[index].name.clone();
            match outcome {
                Some(Ok(())) => {}
                Some(Err(err)) => failures.push((name, err)),
                None => stopped = Some(name),
            }
        }
        if let Some(sink) = stopped {
            return Err(FanoutError::WorkerStopped {
                sink,
                batch_key: batch_key.to_string(),
            });
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(FanoutError::Failed {
                batch_key: batch_key.to_string(),
                failures,
            })
        }
    }

    /// Each sink's name and whether it is healthy: its worker runs and its
    /// last deliveries did not fail three times in a row.
    pub fn health(&self) -> Vec<(String, bool)> {
        self.workers
            .iter()
            .map(|w| {
                let healthy =
                    !w.task.is_finished() && w.failures.load(Ordering::Relaxed) < UNHEALTHY_AFTER;
                (w.name.clone(), healthy)
            })
            .collect()
    }

    /// Closes the queues and lets every worker finish what was already
    /// queued for up to `grace`; workers still busy then (a sink retrying a
    /// receiver that is down) are stopped. Their callers already saw the
    /// delivery as unfinished, so nothing is acknowledged that was not sent.
    pub async fn shutdown(self, grace: Duration) {
        let deadline = tokio::time::Instant::now() + grace;
        for worker in self.workers {
            drop(worker.jobs);
            let mut task = worker.task;
            match tokio::time::timeout_at(deadline, &mut task).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => {
                    tracing::error!(sink = %worker.name, error = %err, "sink worker ended abnormally");
                }
                Err(_) => {
                    task.abort();
                    tracing::warn!(sink = %worker.name, "sink still busy at shutdown; stopped");
                }
            }
        }
    }

    fn lock_accepted(&self) -> std::sync::MutexGuard<'_, Accepted> {
        // Held only for map updates, never across an await; a poisoned lock
        // means a panic elsewhere, and the map is still consistent.
        self.accepted.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The worker of sink number `index`: delivers queued batches in order.
async fn work(
    index: usize,
    sink: Arc<dyn Sink>,
    mut queue: mpsc::Receiver<Job>,
    accepted: Arc<Mutex<Accepted>>,
    failures: Arc<AtomicU32>,
) {
    while let Some(job) = queue.recv().await {
        let result = sink.deliver(&job.alerts).await;
        match &result {
            Ok(()) => {
                failures.store(0, Ordering::Relaxed);
                accepted
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .record(&job.batch_key, index);
            }
            Err(err) => {
                failures.fetch_add(1, Ordering::Relaxed);
                let batch_key = &*job.batch_key;
                tracing::warn!(batch_key, error = %err, "sink did not accept batch");
            }
        }
        // The caller may have given up waiting; the outcome is recorded.
        let _ = job.reply.send(result);
    }
}
