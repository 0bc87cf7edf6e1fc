//! Shared pieces of the consumer tests: AWS clients on moto, queue and
//! bucket setup, a scriptable handler and a metrics recorder.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_sdk_sqs::config::{Credentials, Region};
use aws_sdk_sqs::types::QueueAttributeName;
use flate2::Compression;
use flate2::write::GzEncoder;
use metrics::{Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName};
use metrics::{Metadata, Recorder, SharedString, Unit};
use tokio_util::sync::CancellationToken;
use trailwatch_ingest::{
    ConsumerConfig, HandlerError, MessageContext, ObjectBody, ObjectHandler, ObjectRef,
    ObjectReport, open_records,
};
use trailwatch_testkit::Moto;

pub const BUCKET: &str = "trail-bucket";

/// SQS and S3 clients pointed at `moto` with static test credentials.
pub async fn clients(moto: &Moto) -> (aws_sdk_sqs::Client, aws_sdk_s3::Client) {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(moto.endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await;
    let s3_config = aws_sdk_s3::config::Builder::from(&config)
        .force_path_style(true)
        .build();
    (
        aws_sdk_sqs::Client::new(&config),
        aws_sdk_s3::Client::from_conf(s3_config),
    )
}

/// Creates a queue with `visibility_secs`, and when `dead_letter` is given a
/// redrive policy to it after `max_receives`. Returns the URL.
pub async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    visibility_secs: u32,
    dead_letter: Option<(&str, u32)>,
) -> String {
    let mut request = sqs.create_queue().queue_name(name).attributes(
        QueueAttributeName::VisibilityTimeout,
        visibility_secs.to_string(),
    );
    if let Some((dlq_url, max_receives)) = dead_letter {
        let arn = queue_arn(sqs, dlq_url).await;
        let policy =
            serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": max_receives});
        request = request.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
    }
    request.send().await.unwrap().queue_url.unwrap()
}

pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    let output = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    output.attributes.unwrap()[&QueueAttributeName::QueueArn].clone()
}

/// (visible, in flight) message counts of a queue.
pub async fn queue_counts(sqs: &aws_sdk_sqs::Client, url: &str) -> (u64, u64) {
    let output = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let attributes = output.attributes.unwrap();
    let count = |name| attributes[&name].parse().unwrap();
    (
        count(QueueAttributeName::ApproximateNumberOfMessages),
        count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    )
}

pub async fn send(sqs: &aws_sdk_sqs::Client, url: &str, body: &str) {
    sqs.send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await
        .unwrap();
}

pub async fn put_object(s3: &aws_sdk_s3::Client, key: &str, body: Vec<u8>) {
    s3.put_object()
        .bucket(BUCKET)
        .key(key)
        .body(body.into())
        .send()
        .await
        .unwrap();
}

pub fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

/// A CloudTrail log body with one record per event name.
pub fn log_file(event_names: &[&str]) -> String {
    let records: Vec<_> = event_names
        .iter()
        .map(|name| serde_json::json!({"eventVersion": "1.08", "eventName": name}))
        .collect();
    serde_json::json!({ "Records": records }).to_string()
}

/// A CloudTrail notification naming `keys`, raw.
pub fn cloudtrail_notification(keys: &[&str]) -> String {
    serde_json::json!({"s3Bucket": BUCKET, "s3ObjectKey": keys}).to_string()
}

/// `message` inside an SNS envelope, as a non-raw subscription delivers it.
pub fn sns(message: &str) -> String {
    serde_json::json!({
        "Type": "Notification",
        "MessageId": "5b4a1c3e-0000-4000-8000-000000000001",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:cloudtrail",
        "Message": message,
        "Timestamp": "2024-05-01T12:00:00.000Z",
        "SignatureVersion": "1",
        "Signature": "dGVzdA==",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
    })
    .to_string()
}

/// Short waits and timeouts so each test takes seconds.
pub fn test_config(queue_url: &str) -> ConsumerConfig {
    let mut cfg = ConsumerConfig::new(queue_url);
    cfg.wait_time_secs = 1;
    cfg.visibility_timeout = Duration::from_secs(30);
    cfg.shutdown_grace = Duration::from_secs(5);
    cfg.depth_poll_interval = Duration::from_millis(200);
    cfg.retry_backoff_base = Duration::from_secs(1);
    cfg.retry_backoff_max = Duration::from_secs(2);
    cfg
}

/// Polls `condition` until it holds; panics with `what` after `limit`.
/// This bounds a test's run time; it does not assert how fast anything is.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !condition().await {
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What the scripted handler does with an object.
pub enum Action {
    Proceed,
    Fail,
    /// Wait until the token is cancelled, then proceed.
    Block(CancellationToken),
    Panic,
}

/// One finished or failed handler call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub key: String,
    pub receive_count: u32,
    pub succeeded: bool,
    pub event_names: Vec<String>,
    pub digest: bool,
}

type Decide = dyn Fn(&MessageContext, &ObjectRef) -> Action + Send + Sync;

/// Reads every record of each object, as the real handler would, and
/// records what it saw.
pub struct TestHandler {
    decide: Box<Decide>,
    pub calls: Mutex<Vec<Call>>,
    pub started: Mutex<Vec<String>>,
    active: AtomicUsize,
    pub max_active: AtomicUsize,
}

impl TestHandler {
    pub fn new(
        decide: impl Fn(&MessageContext, &ObjectRef) -> Action + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(TestHandler {
            decide: Box::new(decide),
            calls: Mutex::new(Vec::new()),
            started: Mutex::new(Vec::new()),
            active: AtomicUsize::new(0),
            max_active: AtomicUsize::new(0),
        })
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn active(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }
}

struct Active<'a>(&'a AtomicUsize);

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl ObjectHandler for TestHandler {
    async fn handle(
        &self,
        ctx: &MessageContext,
        object: &ObjectRef,
        body: ObjectBody,
    ) -> Result<ObjectReport, HandlerError> {
        let now = self.active.fetch_add(1, Ordering::SeqCst) + 1;
        let _active = Active(&self.active);
        self.max_active.fetch_max(now, Ordering::SeqCst);
        self.started.lock().unwrap().push(object.key.clone());
        let mut call = Call {
            key: object.key.clone(),
            receive_count: ctx.receive_count,
            succeeded: false,
            event_names: Vec::new(),
            digest: false,
        };
        match (self.decide)(ctx, object) {
            Action::Proceed => {}
            Action::Block(token) => token.cancelled().await,
            Action::Fail => {
                self.calls.lock().unwrap().push(call);
                return Err(HandlerError::Delivery("test sink refused the alert".into()));
            }
            Action::Panic => panic!("scripted handler panic"),
        }
        let limits = ctx.limits;
        let reader = body.into_blocking_reader();
        let (names, digest, bytes) = tokio::task::spawn_blocking(move || {
            let mut records = open_records(reader, limits);
            let mut names = Vec::new();
            for record in records.by_ref() {
                let record = record.map_err(HandlerError::Records)?;
                let value: serde_json::Value = serde_json::from_str(&record.text).unwrap();
                names.push(value["eventName"].as_str().unwrap_or("").to_owned());
            }
            Ok::<_, HandlerError>((names, records.is_digest(), records.bytes_read()))
        })
        .await
        .map_err(|e| HandlerError::Other(Box::new(e)))??;
        call.succeeded = true;
        call.event_names = names;
        call.digest = digest;
        let report = ObjectReport {
            records: call.event_names.len() as u64,
            alerts: 0,
            decompressed_bytes: bytes,
            digest,
        };
        self.calls.lock().unwrap().push(call);
        Ok(report)
    }
}

/// Counters, gauges and histogram counts by `name{label=value,..}`.
#[derive(Default)]
pub struct TestRecorder {
    cells: Mutex<BTreeMap<String, Arc<Cell>>>,
}

#[derive(Default)]
struct Cell(AtomicU64);

impl CounterFn for Cell {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::SeqCst);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::SeqCst);
    }
}

impl GaugeFn for Cell {
    fn increment(&self, value: f64) {
        self.set(f64::from_bits(self.0.load(Ordering::SeqCst)) + value);
    }
    fn decrement(&self, value: f64) {
        self.set(f64::from_bits(self.0.load(Ordering::SeqCst)) - value);
    }
    fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::SeqCst);
    }
}

impl HistogramFn for Cell {
    fn record(&self, _value: f64) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl TestRecorder {
    fn cell(&self, key: &Key) -> Arc<Cell> {
        let mut labels: Vec<_> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        labels.sort();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        Arc::clone(self.cells.lock().unwrap().entry(name).or_default())
    }

    fn value(&self, name: &str) -> u64 {
        self.cells
            .lock()
            .unwrap()
            .get(name)
            .map_or(0, |cell| cell.0.load(Ordering::SeqCst))
    }

    /// A counter (or a histogram's sample count); `name{}` without labels.
    pub fn counter(&self, name: &str) -> u64 {
        self.value(name)
    }

    pub fn gauge(&self, name: &str) -> f64 {
        f64::from_bits(self.value(name))
    }
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.cell(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.cell(key))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.cell(key))
    }
}
