//! One consumer run over every message shape, with each outcome asserted.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration, StorageClass};
use tokio_util::sync::CancellationToken;
use trailwatch_ingest::Consumer;
use trailwatch_ingest::telemetry as t;
use trailwatch_testkit::Moto;

use crate::support::*;

const PREFIX: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01";
const ORG_PREFIX: &str = "AWSLogs/o-abc123def4/111122223333/CloudTrail/us-east-1/2024/05/01";

/// An S3 event as AWS writes it: `+` for space, `%2B` for plus, version 2.1,
/// and an `eventTime` without a zone as emulators write it.
fn s3_event(encoded_key: &str) -> String {
    serde_json::json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2024-05-01T12:00:00.123456",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": BUCKET, "arn": format!("arn:aws:s3:::{BUCKET}")},
            "object": {"key": encoded_key, "size": 10}
        }
    }]})
    .to_string()
}

#[tokio::test]
async fn every_message_shape_gets_its_outcome() {
    let recorder = TestRecorder::default();
    let _metrics = metrics::set_default_local_recorder(&recorder);
    let moto = Moto::start();
    let (sqs, s3) = clients(&moto).await;
    let dlq = create_queue(&sqs, "trail-dlq", 30, None).await;
    let queue = create_queue(&sqs, "trail-queue", 2, Some((&dlq, 2))).await;
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();

    let raw_s3 = format!("{PREFIX}/111122223333_CloudTrail_us-east-1_20240501T1200Z_raw.json.gz");
    let sns_s3 = format!("{ORG_PREFIX}/with space+plus.json.gz");
    let sns_trail_b = format!("{PREFIX}/b.json.gz");
    let sns_trail_c = format!("{PREFIX}/c+d.json");
    let raw_trail = format!("{PREFIX}/d.json.gz");
    let digest_content = format!("{PREFIX}/looks-like-a-log.json.gz");
    let archived = format!("{PREFIX}/archived.json.gz");
    let digest_key = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/05/01/d.json.gz";
    let insight_key = "AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2024/05/01/i.json.gz";
    let missing = format!("{PREFIX}/missing.json.gz");

    let logs = [
        (&sns_s3, log_file(&["SnsS3"]), true),
        (&sns_trail_b, log_file(&["TrailSnsB"]), true),
        (&sns_trail_c, log_file(&["TrailSnsC1", "TrailSnsC2"]), false),
        (&raw_trail, log_file(&["TrailRawD"]), true),
    ];
    let digest = r#"{"awsAccountId":"111122223333","digestStartTime":"2024-05-01T11:00:00Z"}"#;
    let mut expected_bytes = digest.len() as u64;
    for (key, text, compress) in &logs {
        expected_bytes += text.len() as u64;
        let body = if *compress {
            gzip(text)
        } else {
            text.clone().into_bytes()
        };
        put_object(&s3, key, body).await;
    }
    put_object(&s3, &digest_content, gzip(digest)).await;
    s3.put_object()
        .bucket(BUCKET)
        .key(&archived)
        .storage_class(StorageClass::Glacier)
        .body(gzip(&log_file(&["Archived"])).into())
        .send()
        .await
        .unwrap();

    // S3 itself notifies the queue from here on: first its s3:TestEvent,
    // then a raw S3 event for the next object, its key encoded the
    // emulator's way (`/` as %2F).
    let notify = QueueConfiguration::builder()
        .queue_arn(queue_arn(&sqs, &queue).await)
        .events(Event::S3ObjectCreated)
        .build()
        .unwrap();
    s3.put_bucket_notification_configuration()
        .bucket(BUCKET)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(notify)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let raw_s3_text = log_file(&["RawS3A", "RawS3B"]);
    expected_bytes += raw_s3_text.len() as u64;
    put_object(&s3, &raw_s3, gzip(&raw_s3_text)).await;

    let encoded = format!("{ORG_PREFIX}/with+space%2Bplus.json.gz");
    let test_event = serde_json::json!({
        "Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2024-05-01T12:00:00.000Z",
        "Bucket": BUCKET, "RequestId": "R", "HostId": "H"
    })
    .to_string();
    let unknown_json = r#"{"hello":"world"}"#;
    let not_json = "this is not json";
    let archived_message = cloudtrail_notification(&[&archived]);
    for body in [
        sns(&s3_event(&encoded)),
        sns(&cloudtrail_notification(&[&sns_trail_b, &sns_trail_c])),
        cloudtrail_notification(&[&raw_trail]),
        sns(&test_event),
        sns("CloudTrail validation message."),
        cloudtrail_notification(&[digest_key]),
        cloudtrail_notification(&[&digest_content]),
        cloudtrail_notification(&[insight_key]),
        cloudtrail_notification(&[&missing]),
        archived_message.clone(),
        unknown_json.to_owned(),
        not_json.to_owned(),
    ] {
        send(&sqs, &queue, &body).await;
    }

    let handler = TestHandler::new(|_, _| Action::Proceed);
    let mut cfg = test_config(&queue);
    cfg.visibility_timeout = Duration::from_secs(2);
    cfg.dead_letter_queue_url = Some(dlq.clone());
    let consumer = Consumer::new(sqs.clone(), s3.clone(), cfg);
    let status = consumer.status();
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(consumer.run(Arc::clone(&handler), shutdown.clone()));

    eventually(
        Duration::from_secs(60),
        "queue drained into the DLQ",
        || async {
            queue_counts(&sqs, &queue).await == (0, 0) && queue_counts(&sqs, &dlq).await.0 == 3
        },
    )
    .await;
    eventually(Duration::from_secs(10), "depth gauges updated", || async {
        recorder.gauge(&format!("{}{{}}", t::SQS_DEAD_LETTER_QUEUE_DEPTH)) == 3.0
            && recorder.gauge(&format!("{}{{}}", t::SQS_QUEUE_DEPTH)) == 0.0
    })
    .await;
    shutdown.cancel();
    run.await.unwrap().expect("consumer stops cleanly");

    // The objects handed to the handler, each once, with its records.
    let mut calls = handler.calls();
    calls.sort_by(|a, b| a.key.cmp(&b.key));
    let seen: Vec<_> = calls
        .iter()
        .map(|c| {
            (
                c.key.as_str(),
                c.receive_count,
                c.succeeded,
                c.event_names.join(","),
                c.digest,
            )
        })
        .collect();
    let mut want = vec![
        (raw_s3.as_str(), 1, true, "RawS3A,RawS3B".to_owned(), false),
        (sns_s3.as_str(), 1, true, "SnsS3".to_owned(), false),
        (sns_trail_b.as_str(), 1, true, "TrailSnsB".to_owned(), false),
        (
            sns_trail_c.as_str(),
            1,
            true,
            "TrailSnsC1,TrailSnsC2".to_owned(),
            false,
        ),
        (raw_trail.as_str(), 1, true, "TrailRawD".to_owned(), false),
        (digest_content.as_str(), 1, true, String::new(), true),
    ];
    want.sort_by(|a, b| a.0.cmp(b.0));
    assert_eq!(seen, want);

    // What is left is exactly what cannot be processed.
    let mut dead = BTreeSet::new();
    while dead.len() < 3 {
        let output = sqs
            .receive_message()
            .queue_url(&dlq)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        for message in output.messages.unwrap_or_default() {
            dead.insert(message.body.unwrap());
        }
    }
    let expected_dead: BTreeSet<_> = [
        unknown_json.to_owned(),
        not_json.to_owned(),
        archived_message,
    ]
    .into_iter()
    .collect();
    assert_eq!(dead, expected_dead);

    let count = |name: &str| recorder.counter(name);
    assert_eq!(
        count(&format!("{}{{kind=test_event}}", t::NOTIFICATIONS_SKIPPED)),
        2
    );
    assert_eq!(
        count(&format!("{}{{kind=validation}}", t::NOTIFICATIONS_SKIPPED)),
        1
    );
    assert_eq!(
        count(&format!("{}{{kind=digest}}", t::NOTIFICATIONS_SKIPPED)),
        2
    );
    assert_eq!(
        count(&format!("{}{{kind=insight}}", t::NOTIFICATIONS_SKIPPED)),
        1
    );
    assert_eq!(count(&format!("{}{{outcome=ok}}", t::S3_OBJECTS)), 6);
    assert_eq!(count(&format!("{}{{outcome=not_found}}", t::S3_OBJECTS)), 1);
    // The archived object fails on each of its two deliveries.
    assert_eq!(count(&format!("{}{{outcome=error}}", t::S3_OBJECTS)), 2);
    assert_eq!(
        count(&format!("{}{{reason=s3_error}}", t::SQS_MESSAGES_FAILED)),
        2
    );
    assert_eq!(
        count(&format!("{}{{reason=unparseable}}", t::SQS_MESSAGES_FAILED)),
        4
    );
    assert_eq!(count(&format!("{}{{}}", t::SQS_MESSAGES_RELEASED)), 2);
    assert_eq!(count(&format!("{}{{}}", t::SQS_MESSAGES_DELETED)), 11);
    assert_eq!(count(&format!("{}{{}}", t::SQS_MESSAGES_RECEIVED)), 17);
    assert_eq!(
        count(&format!("{}{{}}", t::S3_OBJECT_BYTES)),
        expected_bytes
    );
    assert_eq!(
        count(&format!("{}{{}}", t::OBJECT_LAG_SECONDS)),
        0,
        "object lag is the handler's to record"
    );
    assert_eq!(
        recorder.gauge(&format!("{}{{}}", t::SQS_MESSAGES_IN_FLIGHT)),
        0.0
    );
    assert!(status.queue_reachable());
    assert!(status.last_receive().is_some());
    assert_eq!(status.in_flight(), 0);
}
