//! Error types of the ingest crate.
//!
//! Messages are lowercase without a trailing period; each variant carries what
//! an operator needs to find the input again (byte offset, path, queue).
//! Message ids, buckets and keys are added by the consumer's log lines, which
//! know them, rather than copied into every parse error.

use std::io;
use std::path::PathBuf;

/// A boxed error from a caller-supplied component (a sink, a task).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why an SQS body could not be understood as a notification.
#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    /// The body, or the `Message` inside an SNS envelope, is not JSON.
    #[error("body is not json")]
    NotJson(#[source] serde_json::Error),
    /// Valid JSON, but neither an S3 event, a CloudTrail notification nor a
    /// test event, raw or inside an SNS envelope.
    #[error("json body matches no known notification shape")]
    UnknownShape,
    /// An S3 event whose `eventVersion` is not 2.x.
    #[error("unsupported s3 event version {version:?}")]
    UnsupportedEventVersion {
        /// The `eventVersion` found.
        version: String,
    },
    /// An element of an S3 event's `Records` lacks the bucket or key.
    #[error("s3 event record {index} is malformed")]
    MalformedS3Record {
        /// Position in the event's `Records` array.
        index: usize,
        /// What serde found missing or mistyped.
        #[source]
        source: serde_json::Error,
    },
    /// A percent-encoded key that does not decode to UTF-8.
    #[error("object key {key:?} does not decode to utf-8")]
    InvalidKey {
        /// The key as it appeared in the event.
        key: String,
    },
}

/// A problem met while splitting an object into records.
///
/// [`RecordError::is_fatal`] tells whether the reader stopped; only
/// [`RecordError::TooLarge`] lets it go on with the next record.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The content is not valid JSON at `offset` (decompressed bytes).
    #[error("invalid json at byte {offset}: {detail}")]
    Json {
        /// Offset of the offending byte in the decompressed stream.
        offset: u64,
        /// What was expected or found.
        detail: &'static str,
    },
    /// One record exceeded the per-record cap and was skipped.
    #[error(
        "record {index} at byte {offset} has {size} bytes, over the {limit}-byte limit; skipped"
    )]
    TooLarge {
        /// Position of the record in the `Records` array.
        index: usize,
        /// Offset of the record's first byte.
        offset: u64,
        /// The record's size in bytes.
        size: u64,
        /// The configured cap.
        limit: usize,
    },
    /// The decompressed object exceeded the per-object cap.
    #[error("object is over the {limit}-byte decompressed size limit")]
    ObjectTooLarge {
        /// The configured cap.
        limit: u64,
    },
    /// The gzip stream is corrupt or truncated.
    #[error("gzip stream is corrupt or truncated after {offset} decompressed bytes")]
    Gzip {
        /// Decompressed bytes read before the failure.
        offset: u64,
        /// The decoder's error.
        #[source]
        source: io::Error,
    },
    /// Reading the underlying source failed (network, disk).
    #[error("reading the object failed after {offset} decompressed bytes")]
    Read {
        /// Decompressed bytes read before the failure.
        offset: u64,
        /// The source's error.
        #[source]
        source: io::Error,
    },
    /// The top-level value is not an object with a `Records` array, and not
    /// a digest file either.
    #[error("no top-level \"Records\" array")]
    NoRecords,
}

impl RecordError {
    /// Whether the reader stopped: every variant except
    /// [`RecordError::TooLarge`].
    pub fn is_fatal(&self) -> bool {
        !matches!(self, RecordError::TooLarge { .. })
    }

    /// Whether retrying the same object later may succeed: only
    /// [`RecordError::Read`], a failure of the source rather than of the
    /// content.
    pub fn is_transient(&self) -> bool {
        matches!(self, RecordError::Read { .. })
    }

    /// The `reason` label for `trailwatch_record_errors_total`.
    ///
    /// One of `json`, `too_large`, `object_too_large`, `gzip`, `no_records`,
    /// or `read` for a transient source failure, which callers usually
    /// count as an S3 error instead (see [`RecordError::is_transient`]).
    pub fn reason(&self) -> &'static str {
        match self {
            RecordError::Json { .. } => "json",
            RecordError::TooLarge { .. } => "too_large",
            RecordError::ObjectTooLarge { .. } => "object_too_large",
            RecordError::Gzip { .. } => "gzip",
            RecordError::Read { .. } => "read",
            RecordError::NoRecords => "no_records",
        }
    }
}

/// A local input that could not be opened or listed.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The path does not exist or cannot be read.
    #[error("cannot read {}", path.display())]
    Access {
        /// The path as given or found while walking.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A folder whose entries could not be listed.
    #[error("cannot list folder {}", path.display())]
    ListFolder {
        /// The folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

/// Why an [`crate::ObjectHandler`] did not finish an object. Any variant makes
/// the consumer release the message for a later retry.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The object's records could not be read (typically
    /// [`RecordError::is_transient`]).
    #[error("reading records failed")]
    Records(#[source] RecordError),
    /// At least one alert was not accepted by a sink.
    #[error("alert delivery failed")]
    Delivery(#[source] BoxError),
    /// Anything else, such as a panicked blocking task.
    #[error("object handling failed")]
    Other(#[source] BoxError),
}

/// Why [`crate::Consumer::run`] stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    /// SQS says the queue does not exist; retrying cannot help.
    #[error("queue {queue} does not exist")]
    QueueNotFound {
        /// The configured queue URL.
        queue: String,
        /// The SQS error.
        #[source]
        source: Box<aws_sdk_sqs::Error>,
    },
    /// A message task panicked; the daemon must stop rather than go on with
    /// a hole in its bookkeeping.
    #[error("a message task on queue {queue} panicked")]
    TaskPanicked {
        /// The configured queue URL.
        queue: String,
        /// The join error carrying the panic.
        #[source]
        source: tokio::task::JoinError,
    },
}
