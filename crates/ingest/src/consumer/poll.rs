//! The receive loop, and the shutdown drain that ends it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_sqs::error::{DisplayErrorContext, SdkError};
use aws_sdk_sqs::operation::receive_message::ReceiveMessageError;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::{JoinError, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::{ObjectHandler, Shared, deleter, depth, message};
use crate::error::ConsumerError;
use crate::telemetry;

/// SQS allows 1 to 10 messages per ReceiveMessage (API reference,
/// "ReceiveMessage", MaxNumberOfMessages).
const MAX_RECEIVE: usize = 10;

/// SQS long polls wait at most 20 s (API reference, "ReceiveMessage",
/// WaitTimeSeconds).
const MAX_WAIT_SECS: i32 = 20;

/// Longest pause between receive attempts while SQS keeps failing.
const MAX_RECEIVE_BACKOFF: Duration = Duration::from_secs(30);

/// Why the receive loop stopped.
enum Stop {
    Shutdown,
    Failed(ConsumerError),
}

pub(super) async fn run<H: ObjectHandler>(
    shared: Arc<Shared>,
    handler: Arc<H>,
    shutdown: CancellationToken,
) -> Result<(), ConsumerError> {
    let cfg = &shared.cfg;
    info!(
        queue = cfg.queue_url,
        max_in_flight = cfg.max_in_flight,
        visibility_timeout_secs = cfg.visibility_timeout.as_secs(),
        "sqs consumer started"
    );
    let slots = Arc::new(Semaphore::new(cfg.max_in_flight.max(1)));
    let abort = CancellationToken::new();
    let stop_depth = CancellationToken::new();
    let (deletes, finished) = mpsc::channel(cfg.max_in_flight.max(deleter::MAX_BATCH));
    let deleter = tokio::spawn(deleter::run(Arc::clone(&shared), finished));
    let depth = tokio::spawn(depth::run(Arc::clone(&shared), stop_depth.clone()));
    let mut tasks = JoinSet::new();
    let mut failures = 0u32;
    let mut open_poll = None;

    let stop = loop {
        if let Some(source) = reap(&mut tasks) {
            break Stop::Failed(panic_error(&shared, source));
        }
        let Some(permits) = free_slots(&slots, cfg.max_messages, &shutdown).await else {
            break Stop::Shutdown;
        };
        // A panicking task frees its slot too; notice it before polling on.
        if let Some(source) = reap(&mut tasks) {
            break Stop::Failed(panic_error(&shared, source));
        }
        // A response that is already here wins over shutdown, so that its
        // messages are processed (or released) rather than stranded. A poll
        // still open at shutdown is kept: SQS may yet hand it a message (one
        // this consumer releases while draining, say), which is then
        // released again instead of staying invisible for a whole timeout.
        let mut receiving = tokio::spawn(receive(Arc::clone(&shared), permits.len()));
        let joined = tokio::select! {
            biased;
            joined = &mut receiving => joined,
            () = shutdown.cancelled() => {
                open_poll = Some(receiving);
                break Stop::Shutdown;
            }
        };
        let received = match joined {
            Ok(received) => received,
            Err(source) => break Stop::Failed(panic_error(&shared, source)),
        };
        let messages = match received {
            Ok(messages) => messages,
            Err(e) if is_queue_missing(&e) => {
                shared.status.receive_failed();
                break Stop::Failed(ConsumerError::QueueNotFound {
                    queue: cfg.queue_url.clone(),
                    source: Box::new(e.into()),
                });
            }
            Err(e) => {
                shared.status.receive_failed();
                failures = failures.saturating_add(1);
                let pause = MAX_RECEIVE_BACKOFF.min(Duration::from_secs(1 << failures.min(5)));
                warn!(
                    queue = cfg.queue_url,
                    error = %DisplayErrorContext(&e),
                    retry_in_secs = pause.as_secs(),
                    "cannot receive messages"
                );
                tokio::select! {
                    () = shutdown.cancelled() => break Stop::Shutdown,
                    () = tokio::time::sleep(pause) => continue,
                }
            }
        };
        failures = 0;
        shared.status.receive_succeeded();
        let received_at = Instant::now();
        metrics::counter!(telemetry::SQS_MESSAGES_RECEIVED).increment(messages.len() as u64);
        debug!(messages = messages.len(), "received");
        for (message, permit) in messages.into_iter().zip(permits) {
            let task = message::run(
                Arc::clone(&shared),
                Arc::clone(&handler),
                message,
                received_at,
                deletes.clone(),
                abort.clone(),
            );
            tasks.spawn(async move {
                task.await;
                drop(permit);
            });
        }
    };
    drop(deletes);

    let mut first_panic = drain(&mut tasks, cfg.shutdown_grace, &abort).await;
    stop_depth.cancel();
    // The depth poller only sleeps and reads; how it ended does not matter.
    let _ = depth.await;
    // Every sender is gone now, so the deleter flushes what is left and ends.
    if let Err(e) = deleter.await {
        first_panic = first_panic.or(Some(e));
    }
    if let Some(poll) = open_poll {
        release_late_messages(&shared, poll).await;
    }
    info!("sqs consumer stopped");
    match (stop, first_panic) {
        (Stop::Failed(error), _) => Err(error),
        (Stop::Shutdown, Some(source)) => Err(panic_error(&shared, source)),
        (Stop::Shutdown, None) => Ok(()),
    }
}

/// Waits for the tasks in flight, up to `grace`; then tells the rest to
/// release their messages and waits for that. Returns the first panic.
async fn drain(
    tasks: &mut JoinSet<()>,
    grace: Duration,
    abort: &CancellationToken,
) -> Option<JoinError> {
    info!(in_flight = tasks.len(), "sqs consumer stopping");
    let mut first_panic = None;
    let finished = tokio::time::timeout(grace, async {
        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = joined {
                first_panic.get_or_insert(e);
            }
        }
    })
    .await;
    if finished.is_err() {
        warn!(
            unfinished = tasks.len(),
            grace_secs = grace.as_secs(),
            "shutdown grace elapsed; releasing unfinished messages"
        );
        abort.cancel();
        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = joined {
                first_panic.get_or_insert(e);
            }
        }
    }
    first_panic
}

/// Collects finished tasks; returns the first that panicked.
fn reap(tasks: &mut JoinSet<()>) -> Option<JoinError> {
    let mut first_panic = None;
    while let Some(joined) = tasks.try_join_next() {
        if let Err(e) = joined {
            first_panic.get_or_insert(e);
        }
    }
    first_panic
}

fn panic_error(shared: &Shared, source: JoinError) -> ConsumerError {
    ConsumerError::TaskPanicked {
        queue: shared.cfg.queue_url.clone(),
        source,
    }
}

/// Waits for one free slot, then takes as many more as are free, up to the
/// receive batch size: we never receive more than we can start at once.
/// `None` on shutdown.
async fn free_slots(
    slots: &Arc<Semaphore>,
    max_messages: i32,
    shutdown: &CancellationToken,
) -> Option<Vec<OwnedSemaphorePermit>> {
    let first = tokio::select! {
        () = shutdown.cancelled() => return None,
        permit = Arc::clone(slots).acquire_owned() => {
            permit.expect("the slot semaphore is never closed")
        }
    };
    let want = usize::try_from(max_messages)
        .unwrap_or(1)
        .clamp(1, MAX_RECEIVE);
    let mut permits = vec![first];
    while permits.len() < want {
        match Arc::clone(slots).try_acquire_owned() {
            Ok(permit) => permits.push(permit),
            Err(_) => break,
        }
    }
    Some(permits)
}

/// How long a poll left open at shutdown is awaited. A long poll answers as
/// soon as a message is available, so a message released while draining
/// reaches it within this time; a poll that finds nothing is dropped.
const LATE_POLL_WAIT: Duration = Duration::from_secs(2);

/// Releases (visibility 0) whatever a poll left open at shutdown received.
async fn release_late_messages(
    shared: &Shared,
    mut poll: tokio::task::JoinHandle<Result<Vec<Message>, SdkError<ReceiveMessageError>>>,
) {
    let Ok(joined) = tokio::time::timeout(LATE_POLL_WAIT, &mut poll).await else {
        poll.abort();
        return;
    };
    let Ok(Ok(messages)) = joined else { return };
    for receipt in messages.iter().filter_map(Message::receipt_handle) {
        message::release(shared, receipt, Duration::ZERO).await;
    }
    if !messages.is_empty() {
        info!(
            messages = messages.len(),
            "released messages received while stopping"
        );
    }
}

async fn receive(
    shared: Arc<Shared>,
    count: usize,
) -> Result<Vec<Message>, SdkError<ReceiveMessageError>> {
    let output = shared
        .sqs
        .receive_message()
        .queue_url(&shared.cfg.queue_url)
        .wait_time_seconds(shared.cfg.wait_time_secs.clamp(0, MAX_WAIT_SECS))
        .max_number_of_messages(i32::try_from(count).unwrap_or(1))
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
        .send()
        .await?;
    Ok(output.messages.unwrap_or_default())
}

fn is_queue_missing(error: &SdkError<ReceiveMessageError>) -> bool {
    error
        .as_service_error()
        .is_some_and(ReceiveMessageError::is_queue_does_not_exist)
}
