//! One message from receipt to verdict: parse, fetch and hand over each
//! object under a visibility heartbeat, then delete, release or leave it.

use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, error, info_span, warn};

use super::body::{self, Fetched};
use super::deleter::Delete;
use super::{ConsumerConfig, MessageContext, ObjectHandler, Shared};
use crate::notification::{Notification, ObjectKind, parse_body};
use crate::telemetry::{self, failed_reason, object_outcome, skipped_kind};

/// SQS refuses visibility changes that reach past 12 hours since receipt.
const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 60 * 60);

/// Our clock starts when the receive response arrives, SQS's a little
/// earlier; stay this far inside the 12 h limit so no change is refused.
const VISIBILITY_MARGIN: Duration = Duration::from_secs(60);

/// Characters of an unparseable body quoted in the log.
const BODY_PREFIX_CHARS: usize = 120;

/// What becomes of a message once its work is over.
enum Verdict {
    /// Every object is done: delete it.
    Delete,
    /// Something may heal with time: make it visible again after a backoff.
    Release,
    /// It can never be processed: leave it for the redrive policy.
    Leave,
}

/// Processes `message` to its verdict; on `abort` (the shutdown grace has
/// run out) stops at once and makes the message visible again.
pub(super) async fn run<H: ObjectHandler>(
    shared: Arc<Shared>,
    handler: Arc<H>,
    message: Message,
    received_at: Instant,
    deletes: mpsc::Sender<Delete>,
    abort: CancellationToken,
) {
    let message_id = message.message_id().unwrap_or_default().to_owned();
    let span = info_span!("sqs_message", message_id = %message_id);
    async move {
        let _in_flight = shared.status.track();
        let Some(receipt) = message.receipt_handle() else {
            warn!(message_id, "message without a receipt handle; ignored");
            return;
        };
        let ctx = context(&shared, message_id, &message);
        let body = message.body().unwrap_or_default();

        let mut work = pin!(process(&shared, handler.as_ref(), &ctx, body));
        let verdict = tokio::select! {
            verdict = &mut work => Some(verdict),
            () = heartbeat(&shared, receipt, received_at) => tokio::select! {
                verdict = &mut work => Some(verdict),
                () = abort.cancelled() => None,
            },
            () = abort.cancelled() => None,
        };
        match verdict {
            Some(Verdict::Delete) => {
                let delete = Delete {
                    message_id: ctx.message_id.clone(),
                    receipt_handle: receipt.to_owned(),
                };
                // The deleter outlives every message task, so this only
                // fails if it panicked, which stops the daemon anyway.
                if deletes.send(delete).await.is_err() {
                    warn!(
                        message_id = ctx.message_id,
                        "deleter is gone; message not deleted"
                    );
                }
            }
            Some(Verdict::Release) => {
                let delay = retry_delay(&shared.cfg, ctx.receive_count).min(remaining(received_at));
                release(&shared, receipt, delay).await;
                warn!(
                    message_id = ctx.message_id,
                    receive_count = ctx.receive_count,
                    retry_in_secs = delay.as_secs(),
                    "message released for a retry"
                );
            }
            Some(Verdict::Leave) => {}
            None => {
                release(&shared, receipt, Duration::ZERO).await;
                warn!(
                    message_id = ctx.message_id,
                    "shutdown grace elapsed; unfinished message released"
                );
            }
        }
    }
    .instrument(span)
    .await;
}

fn context(shared: &Shared, message_id: String, message: &Message) -> MessageContext {
    let attribute = |name| message.attributes().and_then(|map| map.get(&name));
    let receive_count = attribute(MessageSystemAttributeName::ApproximateReceiveCount)
        .and_then(|count| count.parse().ok())
        .unwrap_or(1);
    let sent_at = attribute(MessageSystemAttributeName::SentTimestamp)
        .and_then(|ms| ms.parse().ok())
        .map(|ms| UNIX_EPOCH + Duration::from_millis(ms));
    MessageContext {
        message_id,
        receive_count,
        sent_at,
        limits: shared.cfg.limits,
    }
}

async fn process<H: ObjectHandler>(
    shared: &Shared,
    handler: &H,
    ctx: &MessageContext,
    body: &str,
) -> Verdict {
    let objects = match parse_body(body) {
        Ok(Notification::Objects(objects)) => objects,
        Ok(Notification::TestEvent) => {
            debug!("s3 test event acknowledged");
            metrics::counter!(telemetry::NOTIFICATIONS_SKIPPED, "kind" => skipped_kind::TEST_EVENT)
                .increment(1);
            return Verdict::Delete;
        }
        Ok(Notification::ValidationMessage) => {
            debug!("cloudtrail validation message acknowledged");
            metrics::counter!(telemetry::NOTIFICATIONS_SKIPPED, "kind" => skipped_kind::VALIDATION)
                .increment(1);
            return Verdict::Delete;
        }
        Err(e) => {
            error!(
                message_id = ctx.message_id,
                body_prefix = prefix(body),
                error = %e,
                "unrecognised message left for the dead-letter queue"
            );
            metrics::counter!(telemetry::SQS_MESSAGES_FAILED, "reason" => failed_reason::UNPARSEABLE)
                .increment(1);
            return Verdict::Leave;
        }
    };

    for object in &objects {
        let (bucket, key) = (object.bucket.as_str(), object.key.as_str());
        let kind = match object.kind() {
            ObjectKind::Log => None,
            ObjectKind::Digest => Some(skipped_kind::DIGEST),
            ObjectKind::Insight => Some(skipped_kind::INSIGHT),
        };
        if let Some(kind) = kind {
            debug!(bucket, key, kind, "object skipped");
            metrics::counter!(telemetry::NOTIFICATIONS_SKIPPED, "kind" => kind).increment(1);
            continue;
        }
        let body = match body::fetch(&shared.s3, object).await {
            Ok(Fetched::Found(body)) => body,
            Ok(Fetched::NotFound) => {
                warn!(bucket, key, "object not found; treated as done");
                count_object(object_outcome::NOT_FOUND);
                continue;
            }
            Err(e) => {
                warn!(bucket, key, error = %DisplayErrorContext(&e), "cannot fetch object");
                count_object(object_outcome::ERROR);
                metrics::counter!(telemetry::SQS_MESSAGES_FAILED, "reason" => failed_reason::S3_ERROR)
                    .increment(1);
                return Verdict::Release;
            }
        };
        match handler.handle(ctx, object, body).await {
            Ok(report) => {
                debug!(
                    bucket,
                    key,
                    records = report.records,
                    alerts = report.alerts,
                    "object done"
                );
                count_object(object_outcome::OK);
                metrics::counter!(telemetry::S3_OBJECT_BYTES).increment(report.decompressed_bytes);
                if report.digest {
                    metrics::counter!(telemetry::NOTIFICATIONS_SKIPPED, "kind" => skipped_kind::DIGEST)
                        .increment(1);
                }
            }
            Err(e) => {
                warn!(bucket, key, error = %error_chain(&e), "object handler failed");
                count_object(object_outcome::ERROR);
                metrics::counter!(telemetry::SQS_MESSAGES_FAILED, "reason" => failed_reason::HANDLER)
                    .increment(1);
                return Verdict::Release;
            }
        }
    }
    Verdict::Delete
}

/// Keeps the message invisible while it is being processed. Returns only
/// when the 12 h limit leaves no room for another extension.
async fn heartbeat(shared: &Shared, receipt: &str, received_at: Instant) {
    let timeout = shared.cfg.visibility_timeout.max(Duration::from_secs(2));
    let period = timeout / 2;
    loop {
        tokio::time::sleep(period).await;
        let extension = timeout.min(remaining(received_at));
        if extension <= period {
            // Nothing is lost: the message comes back and is evaluated twice.
            warn!("message is near the 12 h visibility limit and may be delivered again");
            return;
        }
        let result = shared
            .sqs
            .change_message_visibility()
            .queue_url(&shared.cfg.queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(seconds(extension))
            .send()
            .await;
        match result {
            Ok(_) => metrics::counter!(telemetry::SQS_VISIBILITY_EXTENSIONS).increment(1),
            Err(e) => warn!(error = %DisplayErrorContext(&e), "cannot extend visibility"),
        }
    }
}

/// Makes the message visible again after `delay`.
pub(super) async fn release(shared: &Shared, receipt: &str, delay: Duration) {
    let result = shared
        .sqs
        .change_message_visibility()
        .queue_url(&shared.cfg.queue_url)
        .receipt_handle(receipt)
        .visibility_timeout(seconds(delay))
        .send()
        .await;
    match result {
        Ok(_) => metrics::counter!(telemetry::SQS_MESSAGES_RELEASED).increment(1),
        // The message still comes back when its current timeout runs out.
        Err(e) => warn!(error = %DisplayErrorContext(&e), "cannot release message"),
    }
}

/// Doubles from the base with every receive, so a poison message reaches
/// the dead-letter queue without keeping a worker busy.
fn retry_delay(cfg: &ConsumerConfig, receive_count: u32) -> Duration {
    let doublings = receive_count.saturating_sub(1).min(20);
    cfg.retry_backoff_base
        .saturating_mul(1 << doublings)
        .min(cfg.retry_backoff_max)
}

/// Time left before the 12 h visibility limit, with a safety margin.
fn remaining(received_at: Instant) -> Duration {
    MAX_VISIBILITY.saturating_sub(received_at.elapsed() + VISIBILITY_MARGIN)
}

/// Whole seconds for the SQS API, which takes 0 to 43,200.
fn seconds(duration: Duration) -> i32 {
    i32::try_from(duration.as_secs().min(MAX_VISIBILITY.as_secs())).unwrap_or(i32::MAX)
}

fn count_object(outcome: &'static str) {
    metrics::counter!(telemetry::S3_OBJECTS, "outcome" => outcome).increment(1);
}

fn prefix(body: &str) -> &str {
    body.char_indices()
        .nth(BODY_PREFIX_CHARS)
        .map_or(body, |(end, _)| &body[..end])
}

/// The error and its sources, `: `-separated, for one log field.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_up_to_the_cap() {
        let cfg = ConsumerConfig::new("q");
        let delays: Vec<_> = [0, 1, 2, 3, 5, 6, 1000]
            .into_iter()
            .map(|count| retry_delay(&cfg, count).as_secs())
            .collect();
        assert_eq!(delays, [30, 30, 60, 120, 480, 900, 900]);
    }

    #[test]
    fn visibility_stays_inside_the_api_range() {
        assert_eq!(seconds(Duration::from_millis(1500)), 1);
        assert_eq!(seconds(Duration::from_secs(50_000)), 43_200);
        let fresh = remaining(Instant::now());
        assert!(fresh <= MAX_VISIBILITY - VISIBILITY_MARGIN);
        assert!(fresh > MAX_VISIBILITY - VISIBILITY_MARGIN - Duration::from_secs(60));
    }

    #[test]
    fn body_prefix_cuts_on_a_character_boundary() {
        let body = "é".repeat(200);
        assert_eq!(prefix(&body).chars().count(), BODY_PREFIX_CHARS);
        assert_eq!(prefix("short"), "short");
    }

    #[test]
    fn error_chain_lists_every_cause() {
        let error = crate::HandlerError::Records(crate::RecordError::Read {
            offset: 7,
            source: std::io::Error::other("connection reset"),
        });
        assert_eq!(
            error_chain(&error),
            "reading records failed: reading the object failed after 7 decompressed bytes: \
             connection reset"
        );
    }
}
