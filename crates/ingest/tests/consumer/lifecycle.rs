//! Retries, heartbeats, backpressure, shutdown and fatal stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use trailwatch_ingest::telemetry as t;
use trailwatch_ingest::{Consumer, ConsumerError};
use trailwatch_testkit::Moto;

use crate::support::*;

const KEY_PREFIX: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01";

struct Setup {
    _moto: Moto,
    sqs: aws_sdk_sqs::Client,
    s3: aws_sdk_s3::Client,
    queue: String,
}

async fn setup(visibility_secs: u32) -> Setup {
    let moto = Moto::start();
    let (sqs, s3) = clients(&moto).await;
    let queue = create_queue(&sqs, "trail-queue", visibility_secs, None).await;
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    Setup {
        _moto: moto,
        sqs,
        s3,
        queue,
    }
}

/// Puts a one-record log per name and sends one notification for each.
async fn publish(env: &Setup, names: &[&str]) {
    for name in names {
        let key = format!("{KEY_PREFIX}/{name}.json.gz");
        put_object(&env.s3, &key, gzip(&log_file(&[name]))).await;
        send(&env.sqs, &env.queue, &cloudtrail_notification(&[&key])).await;
    }
}

fn counter(recorder: &TestRecorder, name: &str) -> u64 {
    recorder.counter(&format!("{name}{{}}"))
}

#[tokio::test]
async fn failing_handler_is_retried_until_it_succeeds() {
    let recorder = TestRecorder::default();
    let _metrics = metrics::set_default_local_recorder(&recorder);
    let env = setup(30).await;
    publish(&env, &["Flaky"]).await;

    let attempts = AtomicU32::new(0);
    let handler = TestHandler::new(move |_, _| {
        if attempts.fetch_add(1, Ordering::SeqCst) < 2 {
            Action::Fail
        } else {
            Action::Proceed
        }
    });
    let consumer = Consumer::new(env.sqs.clone(), env.s3.clone(), test_config(&env.queue));
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(consumer.run(Arc::clone(&handler), shutdown.clone()));

    eventually(Duration::from_secs(30), "message deleted", || async {
        counter(&recorder, t::SQS_MESSAGES_DELETED) == 1
    })
    .await;
    shutdown.cancel();
    run.await.unwrap().unwrap();

    let calls: Vec<_> = handler
        .calls()
        .into_iter()
        .map(|c| (c.receive_count, c.succeeded, c.event_names))
        .collect();
    assert_eq!(
        calls,
        [
            (1, false, vec![]),
            (2, false, vec![]),
            (3, true, vec!["Flaky".to_owned()])
        ]
    );
    assert_eq!(counter(&recorder, t::SQS_MESSAGES_RELEASED), 2);
    assert_eq!(
        recorder.counter(&format!("{}{{reason=handler}}", t::SQS_MESSAGES_FAILED)),
        2
    );
    assert_eq!(queue_counts(&env.sqs, &env.queue).await, (0, 0));
}

#[tokio::test]
async fn shutdown_releases_unfinished_work() {
    let recorder = TestRecorder::default();
    let _metrics = metrics::set_default_local_recorder(&recorder);
    let env = setup(300).await;
    publish(&env, &["Stuck"]).await;

    let never = CancellationToken::new();
    let gate = never.clone();
    let handler = TestHandler::new(move |_, _| Action::Block(gate.clone()));
    let mut cfg = test_config(&env.queue);
    cfg.visibility_timeout = Duration::from_secs(300);
    cfg.shutdown_grace = Duration::from_millis(500);
    let consumer = Consumer::new(env.sqs.clone(), env.s3.clone(), cfg);
    let status = consumer.status();
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(consumer.run(Arc::clone(&handler), shutdown.clone()));

    eventually(Duration::from_secs(10), "handler started", || async {
        handler.active() == 1
    })
    .await;
    assert_eq!(status.in_flight(), 1);
    assert_eq!(queue_counts(&env.sqs, &env.queue).await, (0, 1));
    shutdown.cancel();
    run.await.unwrap().expect("shutdown is not an error");

    // Released, not left to its 300 s visibility timeout: visible right away.
    assert_eq!(handler.active(), 0, "the handler's work was dropped");
    assert_eq!(status.in_flight(), 0);
    assert_eq!(counter(&recorder, t::SQS_MESSAGES_RELEASED), 1);
    assert_eq!(counter(&recorder, t::SQS_MESSAGES_DELETED), 0);
    assert_eq!(queue_counts(&env.sqs, &env.queue).await, (1, 0));
    assert!(handler.calls().is_empty());
    assert!(!never.is_cancelled());
}

#[tokio::test]
async fn heartbeat_keeps_a_slow_message_invisible() {
    let recorder = TestRecorder::default();
    let _metrics = metrics::set_default_local_recorder(&recorder);
    let env = setup(4).await;
    publish(&env, &["Slow"]).await;

    let gate = CancellationToken::new();
    let handler = TestHandler::new({
        let gate = gate.clone();
        move |_, _| Action::Block(gate.clone())
    });
    let mut cfg = test_config(&env.queue);
    cfg.visibility_timeout = Duration::from_secs(4);
    let consumer = Consumer::new(env.sqs.clone(), env.s3.clone(), cfg);
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(consumer.run(Arc::clone(&handler), shutdown.clone()));

    eventually(Duration::from_secs(10), "handler started", || async {
        handler.active() == 1
    })
    .await;
    // Hold the object for three visibility timeouts; the heartbeat must keep
    // the message from coming back meanwhile.
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(queue_counts(&env.sqs, &env.queue).await, (0, 1));
    }
    gate.cancel();
    eventually(Duration::from_secs(10), "message deleted", || async {
        counter(&recorder, t::SQS_MESSAGES_DELETED) == 1
    })
    .await;
    shutdown.cancel();
    run.await.unwrap().unwrap();

    assert!(counter(&recorder, t::SQS_VISIBILITY_EXTENSIONS) >= 5);
    assert_eq!(
        handler.started.lock().unwrap().len(),
        1,
        "never redelivered"
    );
    assert_eq!(queue_counts(&env.sqs, &env.queue).await, (0, 0));
}

#[tokio::test]
async fn slow_object_does_not_block_others_and_full_slots_stop_polling() {
    let env = setup(30).await;
    let gate = CancellationToken::new();
    let handler = TestHandler::new({
        let gate = gate.clone();
        move |_, object| {
            if object.key.contains("/Slow") {
                Action::Block(gate.clone())
            } else {
                Action::Proceed
            }
        }
    });
    let mut cfg = test_config(&env.queue);
    cfg.max_in_flight = 2;
    let consumer = Consumer::new(env.sqs.clone(), env.s3.clone(), cfg);
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(consumer.run(Arc::clone(&handler), shutdown.clone()));

    publish(&env, &["Slow1"]).await;
    eventually(Duration::from_secs(10), "slow object started", || async {
        handler.active() == 1
    })
    .await;
    publish(&env, &["Fast1", "Fast2", "Fast3"]).await;
    eventually(Duration::from_secs(20), "fast objects done", || async {
        handler.calls().len() == 3
    })
    .await;

    // Both slots busy: the next message must stay in the queue, unreceived.
    publish(&env, &["Slow2"]).await;
    eventually(
        Duration::from_secs(10),
        "second slow object started",
        || async { handler.active() == 2 },
    )
    .await;
    publish(&env, &["Fast4"]).await;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(queue_counts(&env.sqs, &env.queue).await, (1, 2));
    }
    assert_eq!(handler.started.lock().unwrap().len(), 5);

    gate.cancel();
    eventually(Duration::from_secs(20), "everything done", || async {
        handler.calls().len() == 6 && queue_counts(&env.sqs, &env.queue).await == (0, 0)
    })
    .await;
    shutdown.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(handler.max_active.load(Ordering::SeqCst), 2);
    let mut done: Vec<_> = handler
        .calls()
        .into_iter()
        .map(|c| c.event_names.join(","))
        .collect();
    done.sort();
    assert_eq!(done, ["Fast1", "Fast2", "Fast3", "Fast4", "Slow1", "Slow2"]);
}

#[tokio::test]
async fn missing_queue_stops_the_consumer() {
    let env = setup(30).await;
    let missing = env.queue.replace("trail-queue", "no-such-queue");
    let consumer = Consumer::new(env.sqs.clone(), env.s3.clone(), test_config(&missing));
    let status = consumer.status();
    let handler = TestHandler::new(|_, _| Action::Proceed);
    let error = consumer
        .run(handler, CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ConsumerError::QueueNotFound { queue, .. } if *queue == missing),
        "{error:?}"
    );
    assert!(!status.queue_reachable());
}

#[tokio::test]
async fn handler_panic_stops_the_consumer() {
    let env = setup(30).await;
    publish(&env, &["Boom"]).await;
    let handler = TestHandler::new(|_, _| Action::Panic);
    let consumer = Consumer::new(env.sqs.clone(), env.s3.clone(), test_config(&env.queue));
    let error = consumer
        .run(handler, CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(error, ConsumerError::TaskPanicked { .. }),
        "{error:?}"
    );
    // Not deleted: it comes back after its visibility timeout.
    assert_eq!(queue_counts(&env.sqs, &env.queue).await, (0, 1));
}
