//! Names of the metrics this binary records itself, and the registration
//! of every series the daemon exports so that each exists from the first
//! scrape: a dashboard or alert over a series that never moved (no sink
//! failure yet, no reload failure yet) then reads zero instead of nothing.
//! The record metrics are the ingest crate's names, recorded here because
//! only the evaluator knows what it evaluated.

use trailwatch_ingest::telemetry as ingest;
use trailwatch_sinks::metrics as sink;

pub use trailwatch_ingest::telemetry::{
    OBJECT_LAG_SECONDS as OBJECT_LAG, RECORD_ERRORS, RECORDS_EVALUATED,
};

/// Counter: alerts raised, by `rule` and `priority`.
pub const ALERTS: &str = "trailwatch_alerts_total";
/// Histogram: seconds between a record's eventTime and its evaluation.
pub const EVENT_LAG: &str = "trailwatch_event_lag_seconds";
/// Gauge: enabled rules currently loaded.
pub const RULES_LOADED: &str = "trailwatch_rules_loaded";
/// Counter: rule reloads rejected because the new rules did not load.
pub const RULES_RELOAD_FAILURES: &str = "trailwatch_rules_reload_failures_total";
/// Gauge set to 1, labelled with the `version`.
pub const BUILD_INFO: &str = "trailwatch_build_info";

/// Values of the `reason` label of [`RECORD_ERRORS`].
const RECORD_ERROR_REASONS: [&str; 6] = [
    "json",
    "too_large",
    "object_too_large",
    "gzip",
    "no_records",
    "read",
];

/// Values of the `kind` label of the sink failure counter.
const SINK_FAILURE_KINDS: [&str; 3] = ["transient", "permanent", "rejected"];

/// Creates every series at zero: the daemon's counters with each label
/// value of their closed sets, `alerts_total` for every `(rule, priority)`
/// loaded, and the sink series for each configured sink.
pub fn register_series<'a>(
    rules: impl IntoIterator<Item = (&'a str, &'static str)>,
    sinks: &[&str],
) {
    use ingest::{failed_reason as failed, object_outcome as outcome, skipped_kind as skipped};

    for name in [
        ingest::SQS_MESSAGES_RECEIVED,
        ingest::SQS_MESSAGES_DELETED,
        ingest::SQS_MESSAGES_RELEASED,
        ingest::SQS_VISIBILITY_EXTENSIONS,
        ingest::S3_OBJECT_BYTES,
        RECORDS_EVALUATED,
        RULES_RELOAD_FAILURES,
    ] {
        metrics::counter!(name).increment(0);
    }
    for reason in [
        failed::UNPARSEABLE,
        failed::S3_ERROR,
        failed::HANDLER,
        failed::DELETE,
    ] {
        metrics::counter!(ingest::SQS_MESSAGES_FAILED, "reason" => reason).increment(0);
    }
    for kind in [
        skipped::TEST_EVENT,
        skipped::VALIDATION,
        skipped::DIGEST,
        skipped::INSIGHT,
    ] {
        metrics::counter!(ingest::NOTIFICATIONS_SKIPPED, "kind" => kind).increment(0);
    }
    for value in [outcome::OK, outcome::NOT_FOUND, outcome::ERROR] {
        metrics::counter!(ingest::S3_OBJECTS, "outcome" => value).increment(0);
    }
    for reason in RECORD_ERROR_REASONS {
        metrics::counter!(RECORD_ERRORS, "reason" => reason).increment(0);
    }
    for (rule, priority) in rules {
        metrics::counter!(ALERTS, "rule" => rule.to_string(), "priority" => priority).increment(0);
    }
    for &name in sinks {
        metrics::counter!(sink::SENDS_TOTAL, "sink" => name.to_string()).increment(0);
        for kind in SINK_FAILURE_KINDS {
            metrics::counter!(sink::FAILURES_TOTAL, "sink" => name.to_string(), "kind" => kind)
                .increment(0);
        }
    }
    metrics::gauge!(ingest::SQS_MESSAGES_IN_FLIGHT).set(0.0);
}
