//! End to end against moto_server on 127.0.0.1: bucket → SNS topic → SQS
//! queue (with a dead-letter queue), a real CloudTrail log uploaded, the
//! daemon run as a child process, its alerts compared with `scan` of the
//! same file, then SIGTERM and a clean exit.

mod support;

use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::Credentials;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Event, NotificationConfiguration, TopicConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;
use trailwatch_testkit::{Daemon, Moto, free_port, http_get, metric_value, wait_until};

use support::{alerts, rule_event_counts, run, shared_data, trailwatch};

const LOG: &str = "invictus-ir-aws_dataset/218007301253_CloudTrail_us-east-1_20230710T1200Z_iLj9fb7yyUG9X4Bf.json.gz";
const KEY: &str = "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/218007301253_CloudTrail_us-east-1_20230710T1200Z_iLj9fb7yyUG9X4Bf.json.gz";

struct Wiring {
    queue_url: String,
    dlq_url: String,
    sqs: aws_sdk_sqs::Client,
}

async fn sdk_config(moto: &Moto) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(moto.endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await
}

/// Creates the CloudTrail → S3 → SNS → SQS wiring and uploads one real log.
async fn wire_and_upload(moto: &Moto) -> Wiring {
    let conf = sdk_config(moto).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let sns = aws_sdk_sns::Client::new(&conf);

    let dlq_url = sqs
        .create_queue()
        .queue_name("trail-dlq")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let dlq_arn = queue_arn(&sqs, &dlq_url).await;
    let redrive = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"3"}}"#);
    let queue_url = sqs
        .create_queue()
        .queue_name("trail-events")
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .attributes(QueueAttributeName::VisibilityTimeout, "30")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let topic_arn = sns
        .create_topic()
        .name("trail-topic")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn(&sqs, &queue_url).await)
        .send()
        .await
        .unwrap();

    s3.create_bucket()
        .bucket("trail-bucket")
        .send()
        .await
        .unwrap();
    let topic = TopicConfiguration::builder()
        .topic_arn(&topic_arn)
        .events(Event::from("s3:ObjectCreated:*"))
        .build()
        .unwrap();
    s3.put_bucket_notification_configuration()
        .bucket("trail-bucket")
        .notification_configuration(
            NotificationConfiguration::builder()
                .topic_configurations(topic)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let body = std::fs::read(shared_data(LOG)).unwrap();
    s3.put_object()
        .bucket("trail-bucket")
        .key(KEY)
        .body(ByteStream::from(body))
        .send()
        .await
        .unwrap();
    Wiring {
        queue_url,
        dlq_url,
        sqs,
    }
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    attrs.attributes.unwrap()[&QueueAttributeName::QueueArn].clone()
}

/// Visible plus in-flight messages.
async fn messages_left(sqs: &aws_sdk_sqs::Client, url: &str) -> u64 {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .map(|k| attrs[k].parse::<u64>().unwrap())
    .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_alerts_match_scan_and_the_queue_drains() {
    // What the same engine finds in the file locally is what the daemon must deliver.
    let scan = run(&["scan", shared_data(LOG).to_str().unwrap()]);
    assert!(
        scan.status.success(),
        "{}",
        String::from_utf8_lossy(&scan.stderr)
    );
    let expected = rule_event_counts(&alerts(&scan.stdout));
    assert!(
        expected
            .keys()
            .any(|(_, id)| id == "a4ff516f-8f9a-4c36-9700-b31a883c1a6e"),
        "the AllocateAddress record of this file must alert: {expected:#?}"
    );

    let moto = Moto::start();
    let wiring = wire_and_upload(&moto).await;
    let port = free_port();
    let mut cmd = trailwatch();
    cmd.args([
        "run",
        "--queue-url",
        &wiring.queue_url,
        "--metrics-addr",
        &format!("127.0.0.1:{port}"),
    ])
    .args(["--shutdown-grace-secs", "5"])
    .env("TRAILWATCH_LOG_FORMAT", "text")
    .envs(moto.env());
    let mut daemon = Daemon::spawn(cmd);

    let expected_lines: usize = expected.values().sum();
    let delivered = wait_until(Duration::from_secs(60), || {
        daemon.lines().len() >= expected_lines
    });
    assert!(
        delivered,
        "got {} of {expected_lines} alerts; stderr:\n{}",
        daemon.lines().len(),
        daemon.stderr()
    );

    let sqs = wiring.sqs.clone();
    let url = wiring.queue_url.clone();
    let mut drained = false;
    for _ in 0..150 {
        if messages_left(&sqs, &url).await == 0 {
            drained = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(drained, "queue did not drain; stderr:\n{}", daemon.stderr());
    assert_eq!(messages_left(&sqs, &wiring.dlq_url).await, 0);

    let got = rule_event_counts(&alerts(daemon.lines().join("\n").as_bytes()));
    assert_eq!(got, expected);

    let (status, metrics) = http_get(port, "/metrics").expect("metrics endpoint answers");
    assert_eq!(status, 200);
    assert_eq!(
        metric_value(
            &metrics,
            "trailwatch_notifications_skipped_total{kind=\"test_event\"}"
        ),
        Some(1.0),
        "the S3 test event is acknowledged:\n{metrics}"
    );
    assert_eq!(
        metric_value(&metrics, "trailwatch_sqs_messages_deleted_total"),
        Some(2.0),
        "{metrics}"
    );
    assert_eq!(
        metric_value(&metrics, "trailwatch_records_evaluated_total"),
        Some(394.0),
        "{metrics}"
    );
    assert_eq!(http_get(port, "/healthz").map(|r| r.0), Some(200));
    assert_eq!(http_get(port, "/readyz").map(|r| r.0), Some(200));

    daemon.terminate();
    let status = daemon.wait_exit(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "exit after SIGTERM: {status:?}; stderr:\n{}",
        daemon.stderr()
    );
}
