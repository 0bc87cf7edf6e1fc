//! CloudWatch Logs sink: each alert is one log event whose message is the
//! Falco JSON line, in a log group and stream created when missing.
//!
//! The event timestamp is when the alert was delivered, not the record's
//! `eventTime`: CloudTrail delivers logs minutes to hours late, and
//! CloudWatch rejects events older than 14 days (or the group's retention),
//! so the record time would lose old alerts; it stays in the message.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::{InputLogEvent, RejectedLogEventsInfo};

use crate::Sink;
use crate::alert::Alert;
use crate::aws;
use crate::error::{FailureKind, SinkError};
use crate::metrics::{count_failures, observe_send};
use crate::retry::RetryPolicy;

mod batch;

use batch::LogEvent;

const NAME: &str = "cloudwatch";

/// Writes alerts as CloudWatch Logs events.
pub struct CloudWatchSink {
    client: Client,
    group: String,
    stream: String,
    batch_size: usize,
    retry: RetryPolicy,
    // Whether group and stream are known to exist; reset when a put says
    // otherwise (someone deleted them), so they are created again.
    ready: tokio::sync::Mutex<bool>,
}

impl CloudWatchSink {
    /// A sink writing to `group`/`stream` with `client`, at most
    /// `batch_size` events per request (capped at 10,000), each attempt
    /// limited to `timeout`. Nothing is created until the first delivery.
    pub fn new(
        client: &Client,
        group: &str,
        stream: &str,
        timeout: Duration,
        batch_size: Option<usize>,
        retry: RetryPolicy,
    ) -> Self {
        let (timeouts, retries) = aws::sink_timeouts(timeout);
        let config = client
            .config()
            .to_builder()
            .timeout_config(timeouts)
            .retry_config(retries)
            .build();
        CloudWatchSink {
            client: Client::from_conf(config),
            group: group.to_string(),
            stream: stream.to_string(),
            batch_size: batch_size
                .unwrap_or(batch::MAX_EVENTS)
                .clamp(1, batch::MAX_EVENTS),
            retry,
            ready: tokio::sync::Mutex::new(false),
        }
    }

    /// Creates the group and the stream unless they already exist.
    async fn ensure_stream(&self) -> Result<(), SinkError> {
        let mut ready = self.ready.lock().await;
        if *ready {
            return Ok(());
        }
        let created = self
            .client
            .create_log_group()
            .log_group_name(&self.group)
            .send()
            .await;
        if let Err(err) = created
            && !err
                .as_service_error()
                .is_some_and(|e| e.is_resource_already_exists_exception())
        {
            return Err(aws::sink_error(NAME, "CreateLogGroup", err));
        }
        let created = self
            .client
            .create_log_stream()
            .log_group_name(&self.group)
            .log_stream_name(&self.stream)
            .send()
            .await;
        if let Err(err) = created
            && !err
                .as_service_error()
                .is_some_and(|e| e.is_resource_already_exists_exception())
        {
            return Err(aws::sink_error(NAME, "CreateLogStream", err));
        }
        let (group, stream) = (&self.group, &self.stream);
        tracing::debug!(sink = NAME, group, stream, "log stream ready");
        *ready = true;
        Ok(())
    }

    /// Sends one request, retrying transient failures.
    async fn put(&self, events: &[LogEvent]) -> Result<(), SinkError> {
        let input: Vec<InputLogEvent> = events
            .iter()
            .map(|e| {
                InputLogEvent::builder()
                    .timestamp(e.timestamp_ms)
                    .message(&e.message)
                    .build()
                    .expect("timestamp and message, the required fields, are set")
            })
            .collect();
        let mut backoff = self.retry.backoff();
        loop {
            let err = match self.put_once(&input).await {
                Ok(()) => return Ok(()),
                Err(err) => err,
            };
            if !err.is_retryable() || !backoff.wait(None).await {
                return Err(err);
            }
            tracing::warn!(sink = NAME, error = %err, "put failed, retrying");
        }
    }

    async fn put_once(&self, input: &[InputLogEvent]) -> Result<(), SinkError> {
        if let Err(err) = self.ensure_stream().await {
            count_failures(NAME, err.kind(), 1);
            return Err(err);
        }
        let started = Instant::now();
        let sent = self
            .client
            .put_log_events()
            .log_group_name(&self.group)
            .log_stream_name(&self.stream)
            .set_log_events(Some(input.to_vec()))
            .send()
            .await;
        let output = match sent {
            Ok(output) => output,
            Err(err) => {
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception())
                {
                    // Recreate on the next attempt; worth retrying.
                    *self.ready.lock().await = false;
                    observe_send(NAME, started, Err(FailureKind::Transient));
                    return Err(SinkError::Aws {
                        sink: NAME.into(),
                        operation: "PutLogEvents",
                        kind: FailureKind::Transient,
                        source: Box::new(err),
                    });
                }
                observe_send(NAME, started, Err(aws::classify(&err)));
                return Err(aws::sink_error(NAME, "PutLogEvents", err));
            }
        };
        observe_send(NAME, started, Ok(()));
        match output
            .rejected_log_events_info()
            .map(|info| rejected_count(info, input.len()))
        {
            Some(count) if count > 0 => {
                count_failures(NAME, FailureKind::Rejected, count as u64);
                let detail = format!("{:?}", output.rejected_log_events_info());
                tracing::error!(sink = NAME, count, detail, "log events rejected");
                // Retrying the same timestamps would be refused again.
                Err(SinkError::Rejected {
                    sink: NAME.into(),
                    count,
                    detail,
                    retryable: false,
                })
            }
            _ => Ok(()),
        }
    }
}

/// How many events the service refused: those before the too-old or
/// expired end index and those from the too-new start index on.
fn rejected_count(info: &RejectedLogEventsInfo, total: usize) -> usize {
    let index = |i: Option<i32>| {
        i.and_then(|i| usize::try_from(i).ok())
            .map(|i| i.min(total))
    };
    let old = index(info.too_old_log_event_end_index()).unwrap_or(0);
    let expired = index(info.expired_log_event_end_index()).unwrap_or(0);
    let new_from = index(info.too_new_log_event_start_index()).unwrap_or(total);
    let before = old.max(expired);
    before + total.saturating_sub(new_from.max(before))
}

#[async_trait]
impl Sink for CloudWatchSink {
    fn name(&self) -> &str {
        NAME
    }

    /// # Errors
    ///
    /// [`SinkError::Aws`] when creating the stream or putting events fails,
    /// [`SinkError::Rejected`] when the service refuses events.
    async fn deliver(&self, alerts: &[Alert]) -> Result<(), SinkError> {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let events = alerts
            .iter()
            .map(|a| LogEvent {
                timestamp_ms: now_ms,
                message: batch::message(a),
            })
            .collect();
        for request in batch::plan(events, self.batch_size) {
            self.put(&request).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(old: Option<i32>, expired: Option<i32>, new: Option<i32>) -> RejectedLogEventsInfo {
        RejectedLogEventsInfo::builder()
            .set_too_old_log_event_end_index(old)
            .set_expired_log_event_end_index(expired)
            .set_too_new_log_event_start_index(new)
            .build()
    }

    #[test]
    fn rejected_events_are_counted_from_the_indexes() {
        assert_eq!(rejected_count(&info(None, None, None), 10), 0);
        assert_eq!(rejected_count(&info(Some(3), None, None), 10), 3);
        assert_eq!(rejected_count(&info(Some(2), Some(4), None), 10), 4);
        assert_eq!(rejected_count(&info(None, None, Some(7)), 10), 3);
        assert_eq!(rejected_count(&info(Some(2), None, Some(8)), 10), 4);
        // Overlapping or out-of-range indexes never count an event twice.
        assert_eq!(rejected_count(&info(Some(6), None, Some(4)), 10), 10);
        assert_eq!(rejected_count(&info(Some(50), None, None), 10), 10);
    }
}
