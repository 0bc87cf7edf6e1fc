//! Metric names and label values used by the ingest side.
//!
//! The names are those of docs/metrics.md (every crate uses them verbatim);
//! keeping them in one place makes a typo a compile error rather than a
//! silently empty dashboard. Label values come from small closed sets, never
//! from keys, ARNs or message ids.
//!
//! Which side records what:
//! - [`crate::Consumer`] records every `trailwatch_sqs_*` metric, the skipped
//!   notifications, `trailwatch_s3_objects_total` and the decompressed bytes
//!   reported by the handler in [`crate::ObjectReport::decompressed_bytes`].
//! - The caller of [`crate::open_records`] (the handler, or the local scan)
//!   records [`RECORDS_EVALUATED`] and [`RECORD_ERRORS`] with
//!   [`crate::RecordError::reason`] as the label, because only it knows what
//!   was evaluated.
//! - The handler records [`OBJECT_LAG_SECONDS`] from
//!   [`crate::ObjectBody::last_modified`]; the consumer does not, so that it
//!   is counted once.

/// Counter: messages returned by ReceiveMessage.
pub const SQS_MESSAGES_RECEIVED: &str = "trailwatch_sqs_messages_received_total";
/// Counter: messages deleted from the queue (done).
pub const SQS_MESSAGES_DELETED: &str = "trailwatch_sqs_messages_deleted_total";
/// Counter: messages made visible again, after a failure or at shutdown.
pub const SQS_MESSAGES_RELEASED: &str = "trailwatch_sqs_messages_released_total";
/// Counter, label `reason`: messages that could not be completed.
pub const SQS_MESSAGES_FAILED: &str = "trailwatch_sqs_messages_failed_total";
/// Counter: successful ChangeMessageVisibility heartbeats.
pub const SQS_VISIBILITY_EXTENSIONS: &str = "trailwatch_sqs_visibility_extensions_total";
/// Gauge: messages being processed right now.
pub const SQS_MESSAGES_IN_FLIGHT: &str = "trailwatch_sqs_messages_in_flight";
/// Gauge: the queue's ApproximateNumberOfMessages.
pub const SQS_QUEUE_DEPTH: &str = "trailwatch_sqs_queue_depth";
/// Gauge: the dead-letter queue's ApproximateNumberOfMessages.
pub const SQS_DEAD_LETTER_QUEUE_DEPTH: &str = "trailwatch_sqs_dead_letter_queue_depth";
/// Counter, label `kind`: notifications or objects deliberately not evaluated.
pub const NOTIFICATIONS_SKIPPED: &str = "trailwatch_notifications_skipped_total";
/// Counter, label `outcome`: S3 objects fetched and handled.
pub const S3_OBJECTS: &str = "trailwatch_s3_objects_total";
/// Counter: decompressed bytes read from S3 objects.
pub const S3_OBJECT_BYTES: &str = "trailwatch_s3_object_bytes_total";
/// Counter: records handed to the rules.
pub const RECORDS_EVALUATED: &str = "trailwatch_records_evaluated_total";
/// Counter, label `reason`: errors met while splitting records.
pub const RECORD_ERRORS: &str = "trailwatch_record_errors_total";
/// Histogram: seconds between an object's S3 LastModified and its reading.
pub const OBJECT_LAG_SECONDS: &str = "trailwatch_object_lag_seconds";

/// Values of the `reason` label of [`SQS_MESSAGES_FAILED`].
pub mod failed_reason {
    /// The body matched no known notification shape.
    pub const UNPARSEABLE: &str = "unparseable";
    /// GetObject failed with something other than not-found.
    pub const S3_ERROR: &str = "s3_error";
    /// The object handler returned an error.
    pub const HANDLER: &str = "handler";
    /// DeleteMessageBatch did not delete the message.
    pub const DELETE: &str = "delete";
}

/// Values of the `kind` label of [`NOTIFICATIONS_SKIPPED`].
pub mod skipped_kind {
    /// The `s3:TestEvent` sent when a bucket notification is configured.
    pub const TEST_EVENT: &str = "test_event";
    /// The "CloudTrail validation message." sent when a trail's topic is set.
    pub const VALIDATION: &str = "validation";
    /// A CloudTrail digest file, by key or by content.
    pub const DIGEST: &str = "digest";
    /// A CloudTrail Insights file, by key.
    pub const INSIGHT: &str = "insight";
}

/// Values of the `outcome` label of [`S3_OBJECTS`].
pub mod object_outcome {
    /// Fetched and accepted by the handler.
    pub const OK: &str = "ok";
    /// NoSuchKey or HTTP 404: deleted or expired before we read it.
    pub const NOT_FOUND: &str = "not_found";
    /// Fetch or handler failure; the message will be retried.
    pub const ERROR: &str = "error";
}
