//! End to end against moto_server on 127.0.0.1: bucket → SNS topic → SQS
//! queue (with a dead-letter queue), a real CloudTrail log uploaded, the
//! daemon run as a child process, its alerts compared with `scan` of the
//! same file, then SIGTERM and a clean exit.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::Credentials;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Event, NotificationConfiguration, TopicConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;
use trailwatch_testkit::{
    Daemon, Moto, WebhookServer, free_port, http_get, metric_value, wait_until,
};

use support::{run, trailwatch};
use trailwatch_testkit::{alerts, rule_event_counts, shared_data, trailwatch_findings};

const LOG: &str = "invictus-ir-aws_dataset/218007301253_CloudTrail_us-east-1_20230710T1200Z_iLj9fb7yyUG9X4Bf.json.gz";
const KEY: &str = "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/218007301253_CloudTrail_us-east-1_20230710T1200Z_iLj9fb7yyUG9X4Bf.json.gz";

struct Wiring {
    queue_url: String,
    dlq_url: String,
    sqs: aws_sdk_sqs::Client,
    s3: aws_sdk_s3::Client,
}

async fn sdk_config(moto: &Moto) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(moto.endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await
}

/// Creates the CloudTrail → S3 → SNS → SQS wiring with the given queue
/// visibility timeout and uploads one real log.
async fn wire_and_upload(moto: &Moto, visibility_timeout_secs: u32) -> Wiring {
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
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility_timeout_secs.to_string(),
        )
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
    let wiring = Wiring {
        queue_url,
        dlq_url,
        sqs,
        s3,
    };
    wiring.upload().await;
    wiring
}

impl Wiring {
    /// Puts the log under its key; every put notifies the queue again.
    async fn upload(&self) {
        let body = std::fs::read(shared_data(LOG)).unwrap();
        self.s3
            .put_object()
            .bucket("trail-bucket")
            .key(KEY)
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap();
    }

    /// Waits until the queue holds no message, visible or in flight.
    async fn wait_drained(&self, daemon: &Daemon) {
        for _ in 0..300 {
            if messages_left(&self.sqs, &self.queue_url).await == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("queue did not drain; stderr:\n{}", daemon.stderr());
    }

    /// Visible messages only.
    async fn visible(&self) -> u64 {
        let attrs = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap();
        attrs[&QueueAttributeName::ApproximateNumberOfMessages]
            .parse()
            .unwrap()
    }
}

/// The alerts `scan` finds in the log: what the daemon must deliver.
fn expected_alerts() -> BTreeMap<(String, String), usize> {
    let scan = run(&["scan", shared_data(LOG).to_str().unwrap()]);
    assert!(
        scan.status.success(),
        "{}",
        String::from_utf8_lossy(&scan.stderr)
    );
    rule_event_counts(&alerts(&scan.stdout))
}

/// Starts `trailwatch run` on the wiring's queue with extra arguments;
/// returns the process and its metrics port.
fn start_daemon(
    moto: &Moto,
    wiring: &Wiring,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Daemon, u16) {
    let port = free_port();
    let mut cmd = trailwatch();
    cmd.args([
        "run",
        "--queue-url",
        &wiring.queue_url,
        "--metrics-addr",
        &format!("127.0.0.1:{port}"),
    ])
    .args(extra)
    .env("TRAILWATCH_LOG_FORMAT", "text")
    .envs(moto.env())
    .envs(env.iter().copied());
    (Daemon::spawn(cmd), port)
}

/// SIGTERM, then a clean exit within 10 s.
fn stop(daemon: &mut Daemon) {
    daemon.terminate();
    let status = daemon.wait_exit(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}: {}",
        daemon.stderr()
    );
}

/// The wiring with one log uploaded and a webhook receiver that refuses
/// everything (503) until told otherwise.
struct Outage {
    expected: BTreeMap<(String, String), usize>,
    moto: Moto,
    wiring: Wiring,
    hook: WebhookServer,
    sink: String,
}

impl Outage {
    async fn start(visibility_timeout_secs: u32) -> Outage {
        let expected = expected_alerts();
        let moto = Moto::start();
        let wiring = wire_and_upload(&moto, visibility_timeout_secs).await;
        let hook = WebhookServer::start();
        hook.respond_with(503);
        let sink = format!("webhook:{}", hook.url());
        Outage {
            expected,
            moto,
            wiring,
            hook,
            sink,
        }
    }

    /// A daemon sending to the receiver, once it has been refused alerts.
    fn failing_daemon(&self, extra: &[&str], env: &[(&str, &str)]) -> (Daemon, u16) {
        let args: Vec<&str> = ["--sink", self.sink.as_str()]
            .into_iter()
            .chain(extra.iter().copied())
            .collect();
        let (daemon, port) = start_daemon(&self.moto, &self.wiring, &args, env);
        let refused = wait_until(Duration::from_secs(60), || self.hook.refused() > 0);
        assert!(refused, "{}", daemon.stderr());
        (daemon, port)
    }

    /// The receiver recovers and a fresh daemon delivers every alert once.
    async fn recover_with_a_second_daemon(&self) {
        self.hook.respond_with(200);
        let (mut second, _) = start_daemon(&self.moto, &self.wiring, &["--sink", &self.sink], &[]);
        self.wiring.wait_drained(&second).await;
        assert_eq!(
            webhook_counts(&self.hook),
            self.expected,
            "every alert delivered exactly once"
        );
        stop(&mut second);
    }
}

fn scrape(port: u16) -> String {
    let (status, body) = http_get(port, "/metrics").expect("metrics endpoint answers");
    assert_eq!(status, 200);
    body
}

/// (rule, eventID) counts of the alerts a webhook receiver accepted.
fn webhook_counts(hook: &WebhookServer) -> BTreeMap<(String, String), usize> {
    let bodies: Vec<serde_json::Value> = hook
        .accepted()
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    rule_event_counts(&bodies)
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
    let expected = expected_alerts();
    assert!(
        expected
            .keys()
            .any(|(_, id)| id == "a4ff516f-8f9a-4c36-9700-b31a883c1a6e"),
        "the AllocateAddress record of this file must alert: {expected:#?}"
    );

    let moto = Moto::start();
    let wiring = wire_and_upload(&moto, 30).await;
    let (mut daemon, port) = start_daemon(
        &moto,
        &wiring,
        &["--shutdown-grace-secs", "5"],
        &[("TRAILWATCH_DEAD_LETTER_QUEUE_URL", &wiring.dlq_url)],
    );

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
    wiring.wait_drained(&daemon).await;
    assert_eq!(messages_left(&wiring.sqs, &wiring.dlq_url).await, 0);
    assert_eq!(
        rule_event_counts(&alerts(daemon.lines().join("\n").as_bytes())),
        expected
    );

    let metrics = scrape(port);
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
    assert_dashboards_query_exported_metrics(&metrics);
    assert_eq!(http_get(port, "/healthz").map(|r| r.0), Some(200));
    assert_eq!(http_get(port, "/readyz").map(|r| r.0), Some(200));

    stop(&mut daemon);
}

/// Every `trailwatch_*` metric the Grafana dashboard and the Prometheus
/// alerts query exists in a real scrape.
fn assert_dashboards_query_exported_metrics(scrape: &str) {
    let root = trailwatch_testkit::workspace_root().join("deploy");
    let dashboard =
        std::fs::read_to_string(root.join("grafana/trailwatch-dashboard.json")).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&dashboard).expect("dashboard is JSON");
    assert!(parsed["panels"].as_array().is_some_and(|p| !p.is_empty()));
    let alerts = std::fs::read_to_string(root.join("prometheus/trailwatch-alerts.yaml")).unwrap();
    let exported: std::collections::BTreeSet<&str> = scrape
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    let mut queried = std::collections::BTreeSet::new();
    for text in [&dashboard, &alerts] {
        let mut rest = text.as_str();
        while let Some(at) = rest.find("trailwatch_") {
            let name: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            rest = &rest[at + name.len()..];
            queried.insert(name);
        }
    }
    assert!(queried.len() >= 15, "{queried:?}");
    let missing: Vec<&String> = queried
        .iter()
        .filter(|name| {
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(name);
            !exported.contains(name.as_str())
                && !exported.contains(format!("{base}_bucket").as_str())
                && !exported.contains(base)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "queried but not exported: {missing:?}\n{scrape}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sink_gets_every_alert_and_a_redelivery_adds_no_finding() {
    let expected = expected_alerts();
    let total: usize = expected.values().sum();
    let moto = Moto::start();
    let wiring = wire_and_upload(&moto, 30).await;
    let hook = WebhookServer::start();
    let sinks = [
        "--sink",
        "stdout",
        "--sink",
        &format!("webhook:{}", hook.url()),
        "--sink",
        "securityhub",
        "--sink",
        "cloudwatch:trailwatch-e2e/alerts",
    ];
    let (mut daemon, _) = start_daemon(&moto, &wiring, &sinks, &[]);
    wiring.wait_drained(&daemon).await;
    assert!(
        wait_until(Duration::from_secs(10), || daemon.lines().len() >= total),
        "{}",
        daemon.stderr()
    );
    assert_eq!(
        rule_event_counts(&alerts(daemon.lines().join("\n").as_bytes())),
        expected
    );
    assert_eq!(webhook_counts(&hook), expected);

    let conf = sdk_config(&moto).await;
    let hub = aws_sdk_securityhub::Client::new(&conf);
    let findings = trailwatch_findings(&hub).await;
    assert_eq!(
        findings.len(),
        expected.len(),
        "one finding per (rule, record)"
    );
    let eip = findings
        .iter()
        .find(|f| f.generator_id() == Some("trailwatch/Elastic IP Address Allocated"))
        .expect("a finding for the AllocateAddress record");
    assert_eq!(
        eip.aws_account_id(),
        Some("123456789012"),
        "imported under the caller's account"
    );
    assert!(
        eip.resources()
            .iter()
            .any(|r| r.id() == Some("AWS::::Account:123837392027")),
        "{:?}",
        eip.resources()
    );
    assert_eq!(
        eip.created_at(),
        Some("2023-07-10T11:55:08.000Z"),
        "the record's eventTime"
    );

    let logs = aws_sdk_cloudwatchlogs::Client::new(&conf);
    let events = logs
        .get_log_events()
        .log_group_name("trailwatch-e2e")
        .log_stream_name("alerts")
        .start_from_head(true)
        .send()
        .await
        .unwrap();
    let logged: Vec<serde_json::Value> = events
        .events()
        .iter()
        .map(|e| serde_json::from_str(e.message().unwrap()).unwrap())
        .collect();
    assert_eq!(rule_event_counts(&logged), expected);

    stop(&mut daemon);

    // The same object announced again, to a fresh process that remembers
    // nothing: the finding ids make the second import an update.
    wiring.upload().await;
    let (mut second, _) = start_daemon(
        &moto,
        &wiring,
        &["--sink", "securityhub", "--sink", "stdout"],
        &[],
    );
    assert!(
        wait_until(Duration::from_secs(60), || second.lines().len() >= total),
        "{}",
        second.stderr()
    );
    wiring.wait_drained(&second).await;
    assert_eq!(trailwatch_findings(&hub).await.len(), expected.len());
    stop(&mut second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_daemon_leaves_its_alerts_for_the_next_one() {
    let outage = Outage::start(5).await;
    let (mut first, _) = outage.failing_daemon(&[], &[]);

    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let left = messages_left(&outage.wiring.sqs, &outage.wiring.queue_url).await;
    assert_eq!(left, 1, "the object's message survives");
    outage.recover_with_a_second_daemon().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_outage_longer_than_the_visibility_timeout_loses_nothing() {
    let outage = Outage::start(4).await;
    let (mut daemon, port) =
        outage.failing_daemon(&[], &[("TRAILWATCH_VISIBILITY_TIMEOUT_SECS", "4")]);

    // Three visibility timeouts of failing deliveries.
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(outage.hook.accepted().len(), 0);
    outage.hook.respond_with(200);
    outage.wiring.wait_drained(&daemon).await;

    assert_eq!(webhook_counts(&outage.hook), outage.expected);
    let metrics = scrape(port);
    assert_eq!(
        metric_value(&metrics, "trailwatch_records_evaluated_total"),
        Some(394.0),
        "the object was processed once, kept invisible meanwhile:\n{metrics}"
    );
    let extensions =
        metric_value(&metrics, "trailwatch_sqs_visibility_extensions_total").unwrap_or(0.0);
    assert!(extensions >= 3.0, "{metrics}");
    stop(&mut daemon);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_delivery_releases_the_message_and_exits_cleanly() {
    let outage = Outage::start(120).await;
    let (mut first, _) = outage.failing_daemon(&["--shutdown-grace-secs", "2"], &[]);

    first.terminate();
    let status = first.wait_exit(Duration::from_secs(15));
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}: {}",
        first.stderr()
    );
    // Released at once rather than after the 120 s visibility timeout.
    let mut visible = 0;
    for _ in 0..25 {
        visible = outage.wiring.visible().await;
        if visible == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(visible, 1, "visible messages; stderr:\n{}", first.stderr());
    outage.recover_with_a_second_daemon().await;
}
