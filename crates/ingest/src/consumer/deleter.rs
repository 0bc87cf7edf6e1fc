//! Deleting finished messages in batches.
//!
//! Message tasks send their finished messages here; whatever has arrived
//! while the previous call was out goes in the next DeleteMessageBatch, so a
//! busy consumer makes one call per ten messages and an idle one deletes at
//! once.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::Shared;
use crate::telemetry::{self, failed_reason};

/// DeleteMessageBatch accepts at most 10 entries (SQS API reference,
/// "DeleteMessageBatch", Entries).
pub(super) const MAX_BATCH: usize = 10;

/// Pause before the one retry of entries that failed.
const RETRY_DELAY: Duration = Duration::from_millis(200);

/// A message whose work is complete.
#[derive(Debug)]
pub(super) struct Delete {
    pub(super) message_id: String,
    pub(super) receipt_handle: String,
}

/// Deletes what arrives on `finished` until every sender is gone.
pub(super) async fn run(shared: Arc<Shared>, mut finished: mpsc::Receiver<Delete>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while finished.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let failed = delete(&shared, std::mem::take(&mut batch)).await;
        if failed.is_empty() {
            continue;
        }
        // Throttling and server errors are usually momentary; one retry
        // saves a redelivery, and with it duplicate alerts.
        tokio::time::sleep(RETRY_DELAY).await;
        for lost in delete(&shared, failed).await {
            warn!(
                message_id = lost.message_id,
                "message not deleted; it will be delivered and evaluated again"
            );
            metrics::counter!(telemetry::SQS_MESSAGES_FAILED, "reason" => failed_reason::DELETE)
                .increment(1);
        }
    }
}

/// Deletes one batch and returns the entries that failed.
async fn delete(shared: &Shared, batch: Vec<Delete>) -> Vec<Delete> {
    let entries: Vec<_> = batch
        .iter()
        .enumerate()
        .map(|(i, message)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(&message.receipt_handle)
                .build()
                .expect("both required fields of a delete entry are set")
        })
        .collect();
    let entries_len = entries.len();
    let result = shared
        .sqs
        .delete_message_batch()
        .queue_url(&shared.cfg.queue_url)
        .set_entries(Some(entries))
        .send()
        .await;
    let output = match result {
        Ok(output) => output,
        Err(e) => {
            warn!(
                messages = batch.len(),
                error = %DisplayErrorContext(&e),
                "delete batch failed"
            );
            return batch;
        }
    };
    // Entry ids are the positions in `batch`, so a failure maps straight
    // back to its message.
    let mut failed_at = vec![false; batch.len()];
    for entry in output.failed() {
        let Some(index) = entry
            .id()
            .parse::<usize>()
            .ok()
            .filter(|&i| i < batch.len())
        else {
            continue;
        };
        failed_at[index] = true;
        warn!(
            message_id = batch[index].message_id,
            code = entry.code(),
            error = entry.message().unwrap_or_default(),
            "delete entry failed"
        );
    }
    let failed: Vec<_> = batch
        .into_iter()
        .zip(failed_at)
        .filter_map(|(message, failed)| failed.then_some(message))
        .collect();
    let deleted = entries_len - failed.len();
    metrics::counter!(telemetry::SQS_MESSAGES_DELETED).increment(deleted as u64);
    debug!(deleted, failed = failed.len(), "delete batch done");
    failed
}

#[cfg(test)]
mod tests {
    use aws_config::BehaviorVersion;
    use aws_sdk_sqs::config::{Credentials, Region};
    use aws_sdk_sqs::types::QueueAttributeName as Name;

    use super::*;
    use crate::{ConsumerConfig, ConsumerStatus};

    #[tokio::test]
    async fn a_failed_entry_is_returned_and_the_rest_deleted() {
        let moto = trailwatch_testkit::Moto::start();
        let config = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(moto.endpoint())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .load()
            .await;
        let sqs = aws_sdk_sqs::Client::new(&config);
        let queue = sqs.create_queue().queue_name("q").send().await.unwrap();
        let queue = queue.queue_url.unwrap();
        for body in ["one", "two"] {
            let send = sqs.send_message().queue_url(&queue).message_body(body);
            send.send().await.unwrap();
        }
        let received = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap();
        assert_eq!(received.len(), 2);
        let mut batch: Vec<_> = received
            .iter()
            .map(|m| Delete {
                message_id: m.message_id.clone().unwrap(),
                receipt_handle: m.receipt_handle.clone().unwrap(),
            })
            .collect();
        batch.insert(
            1,
            Delete {
                message_id: "bogus".to_owned(),
                receipt_handle: "not-a-receipt-handle".to_owned(),
            },
        );
        let shared = Shared {
            sqs: sqs.clone(),
            s3: aws_sdk_s3::Client::new(&config),
            cfg: ConsumerConfig::new(&queue),
            status: Arc::new(ConsumerStatus::default()),
        };

        let failed = delete(&shared, batch).await;

        let failed: Vec<_> = failed.iter().map(|d| d.message_id.as_str()).collect();
        assert_eq!(failed, ["bogus"]);
        let left = sqs
            .get_queue_attributes()
            .queue_url(&queue)
            .attribute_names(Name::All)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap();
        assert_eq!(left[&Name::ApproximateNumberOfMessages], "0");
        assert_eq!(left[&Name::ApproximateNumberOfMessagesNotVisible], "0");
    }
}
