//! The sink metrics; every name is listed in docs/metrics.md.
//!
//! A "send" is one request to the backend: one webhook POST, one
//! `BatchImportFindings`, one `PutLogEvents`, or one write-and-flush of JSON
//! lines. Each send is timed; a send that succeeds counts in
//! [`SENDS_TOTAL`], one that fails counts once in [`FAILURES_TOTAL`] with
//! its kind, so retried attempts show up as transient failures. The `sink`
//! label is the sink's name, a closed set (`stdout`, `file`, `webhook`,
//! `securityhub`, `cloudwatch`).

use std::time::Instant;

use crate::error::FailureKind;

/// Requests a sink completed successfully.
pub const SENDS_TOTAL: &str = "trailwatch_sink_sends_total";
/// Requests or items that failed, by `kind` (`transient`, `permanent`, `rejected`).
pub const FAILURES_TOTAL: &str = "trailwatch_sink_failures_total";
/// Duration of each request, successful or not.
pub const SEND_DURATION_SECONDS: &str = "trailwatch_sink_send_duration_seconds";

/// Records one send that started at `started` and ended with `outcome`.
pub(crate) fn observe_send(sink: &str, started: Instant, outcome: Result<(), FailureKind>) {
    let labels = [("sink", sink.to_string())];
    metrics::histogram!(SEND_DURATION_SECONDS, &labels).record(started.elapsed().as_secs_f64());
    match outcome {
        Ok(()) => metrics::counter!(SENDS_TOTAL, &labels).increment(1),
        Err(kind) => count_failures(sink, kind, 1),
    }
}

/// Counts `count` failures of `kind`, for items refused inside a request
/// that as a whole succeeded.
pub(crate) fn count_failures(sink: &str, kind: FailureKind, count: u64) {
    let labels = [
        ("sink", sink.to_string()),
        ("kind", kind.as_str().to_string()),
    ];
    metrics::counter!(FAILURES_TOTAL, &labels).increment(count);
}
