//! The sinks emit the metric names and labels listed in docs/metrics.md.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics::{
    Counter, CounterFn, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use trailwatch_sinks::lines::FileSink;
use trailwatch_sinks::webhook::WebhookSink;
use trailwatch_sinks::{Priority, Sink};

use crate::support::{Reply, ScriptedServer, alert, quick_retry};

/// Totals per `name{label=value,...}`: counter sums and histogram counts.
#[derive(Default)]
struct Totals {
    values: Arc<Mutex<BTreeMap<String, u64>>>,
}

struct Handle {
    key: String,
    values: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl Handle {
    fn add(&self, n: u64) {
        *self
            .values
            .lock()
            .unwrap()
            .entry(self.key.clone())
            .or_default() += n;
    }
}

impl CounterFn for Handle {
    fn increment(&self, value: u64) {
        self.add(value);
    }

    fn absolute(&self, _value: u64) {
        unreachable!("sinks only increment counters");
    }
}

impl HistogramFn for Handle {
    fn record(&self, _value: f64) {
        self.add(1);
    }
}

impl Totals {
    fn handle(&self, key: &Key) -> Arc<Handle> {
        let mut labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        labels.sort();
        let key = format!("{}{{{}}}", key.name(), labels.join(","));
        Arc::new(Handle {
            key,
            values: Arc::clone(&self.values),
        })
    }

    fn get(&self, key: &str) -> u64 {
        self.values.lock().unwrap().get(key).copied().unwrap_or(0)
    }
}

impl Recorder for Totals {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.handle(key))
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.handle(key))
    }
}

/// Runs `test` on a single-threaded runtime with `totals` as the recorder,
/// so every task it spawns records there too.
fn with_recorder(totals: &Totals, test: impl AsyncFnOnce()) {
    metrics::with_local_recorder(totals, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(test());
    });
}

#[test]
fn webhook_counts_sends_retried_failures_and_durations() {
    let totals = Totals::default();
    with_recorder(&totals, async || {
        let server = ScriptedServer::start(vec![Reply::Status(503), Reply::Status(404)]).await;
        let url = server.url.parse().unwrap();
        let sink = WebhookSink::new(url, &[], Duration::from_secs(5), 1, quick_retry()).unwrap();
        let alerts = [
            alert("R", "e1", Priority::Error),
            alert("R", "e2", Priority::Error),
        ];
        sink.deliver(&alerts).await.unwrap_err();
    });

    // e1: 503 then 404 (given up); e2: 200.
    assert_eq!(totals.get("trailwatch_sink_sends_total{sink=webhook}"), 1);
    assert_eq!(
        totals.get("trailwatch_sink_failures_total{kind=transient,sink=webhook}"),
        1
    );
    assert_eq!(
        totals.get("trailwatch_sink_failures_total{kind=permanent,sink=webhook}"),
        1
    );
    assert_eq!(
        totals.get("trailwatch_sink_send_duration_seconds{sink=webhook}"),
        3
    );
}

#[test]
fn file_sink_counts_one_send_per_batch() {
    let totals = Totals::default();
    let dir = tempfile::tempdir().unwrap();
    with_recorder(&totals, async || {
        let sink = FileSink::open(&dir.path().join("a.json")).await.unwrap();
        sink.deliver(&[
            alert("R", "e1", Priority::Error),
            alert("R", "e2", Priority::Error),
        ])
        .await
        .unwrap();
        sink.deliver(&[alert("R", "e3", Priority::Error)])
            .await
            .unwrap();
    });

    assert_eq!(totals.get("trailwatch_sink_sends_total{sink=file}"), 2);
    assert_eq!(
        totals.get("trailwatch_sink_send_duration_seconds{sink=file}"),
        2
    );
    assert_eq!(
        totals.get("trailwatch_sink_failures_total{kind=transient,sink=file}"),
        0
    );
}
