//! The SQS side of the daemon: receive, fetch, hand over, delete or release.
//!
//! Lifecycle of one message:
//! 1. received by the poll loop, which only asks for as many messages as
//!    there are free slots ([`ConsumerConfig::max_in_flight`]), so a slow
//!    handler slows polling instead of piling messages up in memory;
//! 2. processed in its own task (`message.rs`): parsed, each object fetched
//!    and handed to the [`ObjectHandler`], while a heartbeat keeps the message
//!    invisible;
//! 3. deleted in a batch (`deleter.rs`) once every object succeeded, or
//!    released with a backoff for a later retry, or left alone when it cannot
//!    be understood, so that the redrive policy moves it to the dead-letter
//!    queue.
//!
//! We prefer duplicates to loss: a message is deleted only after the handler
//! said every alert was accepted, and anything unfinished at shutdown is
//! released for another consumer.

mod body;
mod deleter;
mod depth;
mod message;
mod poll;
mod status;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::error::{ConsumerError, HandlerError};
use crate::notification::ObjectRef;
use crate::records::Limits;

pub use body::ObjectBody;
pub use status::ConsumerStatus;

/// Settings of a [`Consumer`].
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// The queue to poll.
    pub queue_url: String,
    /// ReceiveMessage long-poll wait, 0 to 20 seconds. Default 20, the SQS
    /// maximum, which costs the fewest empty receives.
    pub wait_time_secs: i32,
    /// Messages per ReceiveMessage, 1 to 10 (SQS limit). Default 10.
    pub max_messages: i32,
    /// Messages processed concurrently; polling pauses while all are busy.
    /// Default 8.
    pub max_in_flight: usize,
    /// The queue's visibility timeout. A heartbeat renews it at half this
    /// period while a message is being processed.
    pub visibility_timeout: Duration,
    /// How long in-flight messages may take to finish after shutdown is
    /// requested before they are released. Default 20 s.
    pub shutdown_grace: Duration,
    /// Caps passed to the record reader of each object.
    pub limits: Limits,
    /// The dead-letter queue, polled only for its depth gauge.
    pub dead_letter_queue_url: Option<String>,
    /// How often the depth gauges are refreshed. Default 30 s.
    pub depth_poll_interval: Duration,
    /// First delay before a failed message is retried; it doubles with each
    /// receive. Default 30 s.
    pub retry_backoff_base: Duration,
    /// Longest retry delay. Default 15 min.
    pub retry_backoff_max: Duration,
}

impl ConsumerConfig {
    /// The defaults described on each field, for `queue_url`, assuming the
    /// SQS default visibility timeout of 30 s.
    pub fn new(queue_url: impl Into<String>) -> Self {
        ConsumerConfig {
            queue_url: queue_url.into(),
            wait_time_secs: 20,
            max_messages: 10,
            max_in_flight: 8,
            visibility_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(20),
            limits: Limits::default(),
            dead_letter_queue_url: None,
            depth_poll_interval: Duration::from_secs(30),
            retry_backoff_base: Duration::from_secs(30),
            retry_backoff_max: Duration::from_secs(15 * 60),
        }
    }
}

/// What the handler knows about the message an object came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageContext {
    /// The SQS message id, for logs.
    pub message_id: String,
    /// SQS ApproximateReceiveCount: 1 on the first delivery.
    pub receive_count: u32,
    /// When SQS accepted the message (SentTimestamp), if reported.
    pub sent_at: Option<SystemTime>,
    /// The record size caps from [`ConsumerConfig::limits`].
    pub limits: Limits,
}

/// What a handler reports about an object it finished.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObjectReport {
    /// Records evaluated.
    pub records: u64,
    /// Alerts delivered.
    pub alerts: u64,
    /// Decompressed bytes read, added to `trailwatch_s3_object_bytes_total`.
    pub decompressed_bytes: u64,
    /// The object turned out to be a digest file
    /// ([`crate::RecordReader::is_digest`]); counted as a skipped digest.
    pub digest: bool,
}

/// Evaluates the objects a [`Consumer`] fetches.
#[async_trait::async_trait]
pub trait ObjectHandler: Send + Sync + 'static {
    /// Evaluate one object's records and deliver every alert; Ok only when
    /// all were accepted by every sink.
    ///
    /// Read the body with [`crate::open_records`] over
    /// [`ObjectBody::into_blocking_reader`] inside `spawn_blocking`, with
    /// the limits in [`MessageContext::limits`].
    ///
    /// # Errors
    ///
    /// Any [`HandlerError`] makes the consumer release the message for a
    /// retry; the records before the failure may then be evaluated again.
    /// Return an error for what may heal (a sink down, a
    /// [`crate::RecordError::is_transient`] read failure). Content that can
    /// never be read (broken JSON, a corrupt gzip stream) fails the same way
    /// on every retry, so such an object is better counted, logged and
    /// reported as done.
    async fn handle(
        &self,
        ctx: &MessageContext,
        object: &ObjectRef,
        body: ObjectBody,
    ) -> Result<ObjectReport, HandlerError>;
}

/// Polls one queue and drives messages through an [`ObjectHandler`].
pub struct Consumer {
    shared: Arc<Shared>,
}

/// What every task of a consumer reads.
struct Shared {
    sqs: aws_sdk_sqs::Client,
    s3: aws_sdk_s3::Client,
    cfg: ConsumerConfig,
    status: Arc<ConsumerStatus>,
}

impl Consumer {
    /// A consumer of `cfg.queue_url` that fetches objects with `s3`.
    pub fn new(sqs: aws_sdk_sqs::Client, s3: aws_sdk_s3::Client, cfg: ConsumerConfig) -> Self {
        Consumer {
            shared: Arc::new(Shared {
                sqs,
                s3,
                cfg,
                status: Arc::new(ConsumerStatus::default()),
            }),
        }
    }

    /// Live counters for health checks; stays valid after `run` returns.
    pub fn status(&self) -> Arc<ConsumerStatus> {
        Arc::clone(&self.shared.status)
    }

    /// Runs until `shutdown` is cancelled, then stops receiving, lets the
    /// messages in flight finish within [`ConsumerConfig::shutdown_grace`],
    /// releases the rest and returns `Ok`.
    ///
    /// Receive errors are retried with a backoff (and shown in
    /// [`ConsumerStatus::queue_reachable`]) rather than returned.
    ///
    /// # Errors
    ///
    /// [`ConsumerError::QueueNotFound`] when SQS says the queue does not
    /// exist, and [`ConsumerError::TaskPanicked`] when a message task
    /// panicked; in both cases the in-flight work is drained as at shutdown
    /// first.
    pub async fn run<H: ObjectHandler>(
        self,
        handler: Arc<H>,
        shutdown: CancellationToken,
    ) -> Result<(), ConsumerError> {
        poll::run(self.shared, handler, shutdown).await
    }
}
