//! Recognising what an SQS message body points at.
//!
//! Four shapes carry object references, and every one is detected from the
//! body itself, so one consumer works whatever the subscription looks like:
//!
//! | producer | raw delivery | inside an SNS envelope |
//! |---|---|---|
//! | S3 event notification (`{"Records":[{"s3":..}]}`) | yes | yes |
//! | CloudTrail's own notification (`{"s3Bucket":..,"s3ObjectKey":[..]}`) | yes | yes |
//!
//! Besides these, S3 sends an `s3:TestEvent` when a notification is
//! configured and CloudTrail publishes "CloudTrail validation message." when
//! a topic is attached; both are recognised so they can be acknowledged.
//!
//! Keys in S3 events are form-URL-encoded (`+` for space, `%XX`); keys in
//! CloudTrail notifications are plain. [`ObjectRef::key`] is always decoded.

mod s3_event;

use serde_json::{Map, Value};

use crate::error::NotificationError;

/// The exact `Message` CloudTrail publishes to check that it may use a topic.
const CLOUDTRAIL_VALIDATION_MESSAGE: &str = "CloudTrail validation message.";

/// What one SQS message asks of the consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// Objects to fetch and evaluate. May be empty (for example an S3 event
    /// about removed objects), in which case there is nothing to do.
    Objects(Vec<ObjectRef>),
    /// The `s3:TestEvent` S3 sends when a notification is configured.
    TestEvent,
    /// The message CloudTrail sends when an SNS topic is attached to a trail.
    ValidationMessage,
}

/// One S3 object named by a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    /// The bucket name.
    pub bucket: String,
    /// The object key, already decoded.
    pub key: String,
    /// Size in bytes when the notification states it (S3 events do,
    /// CloudTrail notifications do not).
    pub size: Option<u64>,
}

/// Which kind of CloudTrail file a key names, from its path segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A log file with a `Records` array: the only kind that is evaluated.
    Log,
    /// A digest file under `CloudTrail-Digest/`, used for integrity checks.
    Digest,
    /// An Insights file under `CloudTrail-Insight/`.
    Insight,
}

impl ObjectRef {
    /// Classifies the key by its folder segments, so that bucket prefixes and
    /// organisation trails (`AWSLogs/o-xxxx/<account>/...`) are handled alike.
    pub fn kind(&self) -> ObjectKind {
        let mut folders = self.key.split('/');
        // The last segment is the file name, which never decides the kind.
        folders.next_back();
        for segment in folders {
            match segment {
                "CloudTrail-Digest" => return ObjectKind::Digest,
                "CloudTrail-Insight" => return ObjectKind::Insight,
                _ => {}
            }
        }
        ObjectKind::Log
    }
}

/// Parses an SQS message body, detecting its shape.
///
/// # Errors
///
/// [`NotificationError`] when the body is not JSON, matches no known shape, or
/// is an S3 event with a bad version, record or key. Such a message should be
/// left on the queue so that its redrive policy moves it to the dead-letter
/// queue.
pub fn parse_body(body: &str) -> Result<Notification, NotificationError> {
    // With raw message delivery the validation message arrives bare, as text.
    if body.trim() == CLOUDTRAIL_VALIDATION_MESSAGE {
        return Ok(Notification::ValidationMessage);
    }
    let value: Value = serde_json::from_str(body).map_err(NotificationError::NotJson)?;
    let Value::Object(fields) = value else {
        return Err(NotificationError::UnknownShape);
    };
    match sns_message(&fields) {
        Some(message) if message.trim() == CLOUDTRAIL_VALIDATION_MESSAGE => {
            Ok(Notification::ValidationMessage)
        }
        Some(message) => {
            let inner: Value = serde_json::from_str(message).map_err(NotificationError::NotJson)?;
            match inner {
                Value::Object(inner) => parse_payload(inner),
                _ => Err(NotificationError::UnknownShape),
            }
        }
        None => parse_payload(fields),
    }
}

/// The `Message` of an SNS envelope, if `fields` is one.
fn sns_message(fields: &Map<String, Value>) -> Option<&str> {
    let message = fields.get("Message")?.as_str()?;
    let is_notification = fields.get("Type").and_then(Value::as_str) == Some("Notification");
    (is_notification || fields.contains_key("TopicArn")).then_some(message)
}

/// Parses the payload itself: S3 event, CloudTrail notification or test event.
fn parse_payload(fields: Map<String, Value>) -> Result<Notification, NotificationError> {
    if fields.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Notification::TestEvent);
    }
    if let (Some(Value::String(bucket)), Some(Value::Array(keys))) =
        (fields.get("s3Bucket"), fields.get("s3ObjectKey"))
    {
        return cloudtrail_objects(bucket, keys);
    }
    // Limitation: EventBridge "Object Created" events are not recognised;
    // they are reported as an unknown shape and left for the dead-letter
    // queue.
    match fields.get("Records") {
        Some(Value::Array(records)) => s3_event::objects(records).map(Notification::Objects),
        _ => Err(NotificationError::UnknownShape),
    }
}

/// Object references of a CloudTrail notification; its keys are not encoded.
fn cloudtrail_objects(bucket: &str, keys: &[Value]) -> Result<Notification, NotificationError> {
    let mut objects = Vec::with_capacity(keys.len());
    for key in keys {
        let Value::String(key) = key else {
            return Err(NotificationError::UnknownShape);
        };
        objects.push(ObjectRef {
            bucket: bucket.to_owned(),
            key: key.clone(),
            size: None,
        });
    }
    Ok(Notification::Objects(objects))
}

#[cfg(test)]
mod tests;
