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
