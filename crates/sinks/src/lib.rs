//! Alert sinks: where trailwatch sends the alerts its rules raise.
//!
//! Every output implements the small [`Sink`] trait. [`build`] turns
//! configured [`SinkConfig`]s into sinks wrapped in layers (filters and a
//! delivery deadline, see [`layer`]); retries with backoff, per-request
//! timeouts and concurrency limits live inside each backend, because only
//! the backend knows which part of a batch to resend. [`Fanout`] delivers a
//! batch to all sinks at once, each in its own task.

pub mod alert;
mod aws;
pub mod cloudwatch;
pub mod config;
pub mod error;
pub mod fanout;
pub mod layer;
pub mod lines;
pub mod metrics;
mod recent;
pub mod retry;
pub mod securityhub;
mod stack;
pub mod webhook;

#[cfg(test)]
mod testing;

use async_trait::async_trait;

pub use alert::{Alert, Priority, RecordContext, ResourceRef};
pub use config::{SinkConfig, SinkOptions, SinkSpec};
pub use error::{FailureKind, FanoutError, SinkError, SpecError};
pub use fanout::Fanout;
pub use retry::RetryPolicy;
pub use stack::{AwsClients, build};

/// One output for alerts.
#[async_trait]
pub trait Sink: Send + Sync {
    /// The sink's kind (`stdout`, `file`, `webhook`, `securityhub`,
    /// `cloudwatch`): the `sink` metric label and the name in errors.
    fn name(&self) -> &str;

    /// Delivers `alerts`, retrying transient failures within the sink's
    /// policy.
    ///
    /// # Errors
    ///
    /// Any error means that some alert may not have been accepted; the
    /// caller keeps the source message so the batch is delivered again.
    /// Alerts accepted before the failure may then arrive twice: delivery
    /// is at least once.
    async fn deliver(&self, alerts: &[Alert]) -> Result<(), SinkError>;
}
