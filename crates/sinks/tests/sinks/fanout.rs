//! Fan-out over in-memory sinks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Semaphore;
use trailwatch_sinks::{Alert, Fanout, FanoutError, Priority, Sink, SinkError};

use crate::support::alert;

/// Records each batch it receives, as the list of event ids.
#[derive(Default)]
struct Recorder {
    batches: Mutex<Vec<Vec<String>>>,
}

#[async_trait]
impl Sink for Recorder {
    fn name(&self) -> &str {
        "file"
    }

    async fn deliver(&self, alerts: &[Alert]) -> Result<(), SinkError> {
        let ids = alerts.iter().map(|a| a.record.event_id.clone()).collect();
        self.batches.lock().unwrap().push(ids);
        Ok(())
    }
}

/// Fails its first `failures` deliveries, then accepts; may wait for a
/// permit before answering.
struct Flaky {
    failures: usize,
    calls: AtomicUsize,
    gate: Option<Arc<Semaphore>>,
}

#[async_trait]
impl Sink for Flaky {
    fn name(&self) -> &str {
        "webhook"
    }

    async fn deliver(&self, _alerts: &[Alert]) -> Result<(), SinkError> {
        if let Some(gate) = &self.gate {
            gate.acquire().await.unwrap().forget();
        }
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if call < self.failures {
            return Err(SinkError::HttpStatus {
                sink: "webhook".into(),
                status: 503,
                rule: "R".into(),
                retry_after: None,
            });
        }
        Ok(())
    }
}

fn flaky(failures: usize, gate: Option<Arc<Semaphore>>) -> Arc<Flaky> {
    Arc::new(Flaky {
        failures,
        calls: AtomicUsize::new(0),
        gate,
    })
}

fn batch(ids: &[&str]) -> Arc<Vec<Alert>> {
    Arc::new(
        ids.iter()
            .map(|id| alert("R", id, Priority::Error))
            .collect(),
    )
}

#[tokio::test]
async fn a_retried_batch_skips_the_sink_that_accepted_it() {
    let healthy = Arc::new(Recorder::default());
    let failing = flaky(1, None);
    let fanout = Fanout::new(vec![healthy.clone(), failing.clone()], 4);

    let err = fanout
        .deliver("bucket/key-1", batch(&["a", "b"]))
        .await
        .unwrap_err();
    match &err {
        FanoutError::Failed { failures, .. } => {
            assert_eq!(failures.len(), 1);
            assert_eq!(failures[0].0, "webhook");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "batch \"bucket/key-1\" not accepted by sink(s) webhook"
    );

    // The message comes back: only the failed sink gets it again.
    fanout
        .deliver("bucket/key-1", batch(&["a", "b"]))
        .await
        .unwrap();
    assert_eq!(
        *healthy.batches.lock().unwrap(),
        [vec!["a".to_string(), "b".to_string()]]
    );
    assert_eq!(failing.calls.load(Ordering::SeqCst), 2);

    // A batch every sink accepted is not sent anywhere again.
    fanout
        .deliver("bucket/key-1", batch(&["a", "b"]))
        .await
        .unwrap();
    assert_eq!(healthy.batches.lock().unwrap().len(), 1);
    assert_eq!(failing.calls.load(Ordering::SeqCst), 2);
    fanout.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_stuck_sink_does_not_block_a_healthy_one() {
    let healthy = Arc::new(Recorder::default());
    let gate = Arc::new(Semaphore::new(0));
    let stuck = flaky(0, Some(gate.clone()));
    let fanout = Arc::new(Fanout::new(vec![stuck.clone(), healthy.clone()], 2));

    let mut pending = Vec::new();
    for key in ["k1", "k2"] {
        let fanout = Arc::clone(&fanout);
        pending.push(tokio::spawn(async move {
            fanout.deliver(key, batch(&[key])).await
        }));
    }
    // Both batches reach the healthy sink while the other holds the first.
    let wait = async {
        while healthy.batches.lock().unwrap().len() < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("healthy sink got both batches");
    assert_eq!(stuck.calls.load(Ordering::SeqCst), 0);
    assert!(pending.iter().all(|p| !p.is_finished()));

    gate.add_permits(2);
    for p in pending {
        p.await.unwrap().unwrap();
    }
    assert_eq!(stuck.calls.load(Ordering::SeqCst), 2);
    Arc::into_inner(fanout)
        .unwrap()
        .shutdown(Duration::from_secs(5))
        .await;
}

#[tokio::test]
async fn health_turns_false_after_repeated_failures() {
    let fanout = Fanout::new(
        vec![Arc::new(Recorder::default()), flaky(usize::MAX, None)],
        1,
    );
    for i in 0..3 {
        assert_eq!(
            fanout.health(),
            [("file".to_string(), true), ("webhook".to_string(), true)]
        );
        fanout
            .deliver(&format!("k{i}"), batch(&["a"]))
            .await
            .unwrap_err();
    }
    assert_eq!(
        fanout.health(),
        [("file".to_string(), true), ("webhook".to_string(), false)]
    );
    fanout.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn an_empty_batch_reaches_no_sink() {
    let recorder = Arc::new(Recorder::default());
    let fanout = Fanout::new(vec![recorder.clone()], 1);
    fanout.deliver("k", Arc::new(Vec::new())).await.unwrap();
    assert!(recorder.batches.lock().unwrap().is_empty());
    fanout.shutdown(Duration::from_secs(5)).await;
}
