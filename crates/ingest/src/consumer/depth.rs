//! Refreshing the queue depth gauges.
//!
//! Limitation: a gauge sampled every `depth_poll_interval` misses short
//! spikes; the received and deleted counters show throughput exactly.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::QueueAttributeName;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::Shared;
use crate::telemetry;

/// Keeps a zero or tiny interval from turning into a busy loop.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// Sets the depth gauges now and every interval until `stop`.
pub(super) async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    let period = shared.cfg.depth_poll_interval.max(MIN_INTERVAL);
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        if let Some(depth) = depth(&shared, &shared.cfg.queue_url).await {
            metrics::gauge!(telemetry::SQS_QUEUE_DEPTH).set(depth);
        }
        if let Some(url) = &shared.cfg.dead_letter_queue_url
            && let Some(depth) = depth(&shared, url).await
        {
            metrics::gauge!(telemetry::SQS_DEAD_LETTER_QUEUE_DEPTH).set(depth);
        }
    }
}

/// ApproximateNumberOfMessages of `queue_url`; `None` (logged) on failure,
/// which leaves the gauge at its last value.
async fn depth(shared: &Shared, queue_url: &str) -> Option<f64> {
    let result = shared
        .sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await;
    let output = match result {
        Ok(output) => output,
        Err(e) => {
            // Receive failures already warn and flip the health status; this
            // would only repeat them.
            debug!(queue = queue_url, error = %DisplayErrorContext(&e), "cannot read queue depth");
            return None;
        }
    };
    output
        .attributes()
        .and_then(|map| map.get(&QueueAttributeName::ApproximateNumberOfMessages))
        .and_then(|count| count.parse().ok())
}
