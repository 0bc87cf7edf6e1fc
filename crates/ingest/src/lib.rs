//! Getting CloudTrail records into trailwatch.
//!
//! Two entry points share one record splitter:
//!
//! - The daemon side, [`Consumer`], long-polls an SQS queue, recognises every
//!   shape of notification that points at a CloudTrail log object
//!   ([`parse_body`]), fetches each object from S3 and hands its body to an
//!   [`ObjectHandler`]. A message is deleted only after the handler accepted
//!   every object of it; otherwise it is released with a backoff so that
//!   poison messages drift to the dead-letter queue.
//! - The local side, [`expand_inputs`], turns the paths given to
//!   `trailwatch scan` into files (folders walked recursively) or stdin.
//!
//! Either way the bytes go through [`open_records`], which detects gzip by its
//! magic bytes and yields each element of the top-level `Records` array as
//! its exact JSON text, without holding the whole object in memory.
//!
//! Metric names are listed in docs/metrics.md; see [`telemetry`].

mod consumer;
mod error;
mod local;
mod notification;
mod records;
pub mod telemetry;

pub use consumer::{
    Consumer, ConsumerConfig, ConsumerStatus, MessageContext, ObjectBody, ObjectHandler,
    ObjectReport,
};
pub use error::{
    BoxError, ConsumerError, HandlerError, LocalError, NotificationError, RecordError,
};
pub use local::{Input, expand_inputs};
pub use notification::{Notification, ObjectKind, ObjectRef, parse_body};
pub use records::{Limits, RawRecord, RecordReader, open_records};
