//! Errors of sink configuration, delivery and fan-out.

use std::time::Duration;

/// Why a delivery failed, as the `kind` label of
/// `trailwatch_sink_failures_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// Worth retrying: timeouts, connection errors, 5xx, 429, throttling.
    Transient,
    /// Retrying cannot help: 4xx other than 429, access denied, bad input.
    Permanent,
    /// The service answered but refused some items (Security Hub
    /// `FailedFindings`, CloudWatch `rejectedLogEventsInfo`).
    Rejected,
}

impl FailureKind {
    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Transient => "transient",
            FailureKind::Permanent => "permanent",
            FailureKind::Rejected => "rejected",
        }
    }
}

/// A sink could not be built or could not deliver every alert.
///
/// Every variant names the sink, so an operator reading one log line knows
/// which output is in trouble.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The configuration of a sink is unusable.
    #[error("sink {sink}: invalid configuration: {reason}")]
    Config {
        /// Sink name (`webhook`, `file`, ...).
        sink: String,
        /// What is wrong.
        reason: String,
    },
    /// A header value refers to an environment variable that is not set.
    #[error("sink {sink}: header {header:?} refers to unset environment variable {var:?}")]
    MissingEnv {
        /// Sink name.
        sink: String,
        /// Header name.
        header: String,
        /// The variable that is missing.
        var: String,
    },
    /// Writing JSON lines to stdout or a file failed.
    #[error("sink {sink}: writing alerts to {target} failed")]
    Io {
        /// Sink name.
        sink: String,
        /// `stdout` or the file path.
        target: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An HTTP endpoint answered with an error status.
    #[error("sink {sink}: http status {status} for rule {rule:?}")]
    HttpStatus {
        /// Sink name.
        sink: String,
        /// The HTTP status code.
        status: u16,
        /// The rule of the alert that was refused.
        rule: String,
        /// The server's `Retry-After`, when it sent one with 429 or 503.
        retry_after: Option<Duration>,
    },
    /// An HTTP request failed before a status arrived (connect, timeout).
    #[error("sink {sink}: request for rule {rule:?} failed")]
    Http {
        /// Sink name.
        sink: String,
        /// The rule of the alert being sent.
        rule: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// An AWS API call failed.
    #[error("sink {sink}: {operation} failed ({})", kind.as_str())]
    Aws {
        /// Sink name.
        sink: String,
        /// The API operation, for example `BatchImportFindings`.
        operation: &'static str,
        /// Whether retrying could help.
        kind: FailureKind,
        /// The SDK error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The service accepted the request but refused some of its items.
    #[error("sink {sink}: {count} item(s) rejected: {detail}")]
    Rejected {
        /// Sink name.
        sink: String,
        /// How many items were refused.
        count: usize,
        /// The service's reason for the first refused item.
        detail: String,
        /// Whether the same items could succeed later (throttled entries).
        retryable: bool,
    },
    /// Some alerts of a batch failed; the first failure is the source.
    #[error("sink {sink}: {failed} of {total} alerts not delivered")]
    Partial {
        /// Sink name.
        sink: String,
        /// Alerts that were not delivered.
        failed: usize,
        /// Alerts in the batch.
        total: usize,
        /// The first failure.
        #[source]
        first: Box<SinkError>,
    },
    /// The whole delivery overran its deadline.
    #[error("sink {sink}: delivery did not finish within {timeout:?}")]
    Timeout {
        /// Sink name.
        sink: String,
        /// The deadline that passed.
        timeout: Duration,
    },
}

impl SinkError {
    /// How this failure is classified for retries and metrics.
    pub fn kind(&self) -> FailureKind {
        match self {
            SinkError::Config { .. } | SinkError::MissingEnv { .. } => FailureKind::Permanent,
            SinkError::Io { .. } | SinkError::Http { .. } | SinkError::Timeout { .. } => {
                FailureKind::Transient
            }
            SinkError::HttpStatus { status, .. } => {
                if *status == 429 || *status >= 500 {
                    FailureKind::Transient
                } else {
                    FailureKind::Permanent
                }
            }
            SinkError::Aws { kind, .. } => *kind,
            SinkError::Rejected { .. } => FailureKind::Rejected,
            SinkError::Partial { first, .. } => first.kind(),
        }
    }

    /// Whether sending the same request again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            SinkError::Rejected { retryable, .. } => *retryable,
            other => other.kind() == FailureKind::Transient,
        }
    }

    /// The wait the server asked for, if any.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            SinkError::HttpStatus { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Configuration text that names no valid sink.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid sink {spec:?}: {reason}")]
pub struct SpecError {
    /// The text as given.
    pub spec: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A fan-out delivery that some sink did not accept.
#[derive(Debug, thiserror::Error)]
pub enum FanoutError {
    /// These sinks failed; the others accepted the batch.
    #[error("batch {batch_key:?} not accepted by sink(s) {}", names(failures))]
    Failed {
        /// The batch key given to `deliver`.
        batch_key: String,
        /// Each failing sink with its error.
        failures: Vec<(String, SinkError)>,
    },
    /// A sink's worker task is gone (it panicked or the fan-out shut down).
    #[error("sink {sink}: worker stopped before answering batch {batch_key:?}")]
    WorkerStopped {
        /// Sink name.
        sink: String,
        /// The batch key given to `deliver`.
        batch_key: String,
    },
}

fn names(failures: &[(String, SinkError)]) -> String {
    failures
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_status_classification() {
        let status = |status| SinkError::HttpStatus {
            sink: "webhook".into(),
            status,
            rule: "r".into(),
            retry_after: None,
        };
        assert_eq!(status(503).kind(), FailureKind::Transient);
        assert_eq!(status(429).kind(), FailureKind::Transient);
        assert_eq!(status(400).kind(), FailureKind::Permanent);
        assert_eq!(status(404).kind(), FailureKind::Permanent);
        assert!(!status(401).is_retryable());
        assert_eq!(
            status(400).to_string(),
            "sink webhook: http status 400 for rule \"r\""
        );
    }

    #[test]
    fn fanout_error_names_every_failing_sink() {
        let err = FanoutError::Failed {
            batch_key: "b/k".into(),
            failures: vec![
                (
                    "webhook".into(),
                    SinkError::Timeout {
                        sink: "webhook".into(),
                        timeout: Duration::from_secs(1),
                    },
                ),
                (
                    "file".into(),
                    SinkError::Config {
                        sink: "file".into(),
                        reason: "x".into(),
                    },
                ),
            ],
        };
        assert_eq!(
            err.to_string(),
            "batch \"b/k\" not accepted by sink(s) webhook, file"
        );
    }
}
