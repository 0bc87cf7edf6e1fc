//! Lock-free health figures of a running consumer, read by health checks.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::telemetry;

/// What a health endpoint needs to know about a [`crate::Consumer`].
#[derive(Debug, Default)]
pub struct ConsumerStatus {
    queue_reachable: AtomicBool,
    in_flight: AtomicUsize,
    /// Milliseconds since the Unix epoch of the last successful receive;
    /// 0 means never.
    last_receive_ms: AtomicU64,
}

impl ConsumerStatus {
    /// Whether the most recent ReceiveMessage succeeded (`false` before the
    /// first one).
    pub fn queue_reachable(&self) -> bool {
        self.queue_reachable.load(Ordering::Relaxed)
    }

    /// Messages being processed right now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// When ReceiveMessage last succeeded, even if it returned nothing.
    pub fn last_receive(&self) -> Option<SystemTime> {
        match self.last_receive_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(UNIX_EPOCH + Duration::from_millis(ms)),
        }
    }

    pub(super) fn receive_succeeded(&self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis());
        self.last_receive_ms
            .store(u64::try_from(now).unwrap_or(u64::MAX), Ordering::Relaxed);
        self.queue_reachable.store(true, Ordering::Relaxed);
    }

    pub(super) fn receive_failed(&self) {
        self.queue_reachable.store(false, Ordering::Relaxed);
    }

    /// Counts a message as in flight until the returned guard drops, which
    /// also happens when its task panics or is aborted.
    pub(super) fn track(&self) -> InFlight<'_> {
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        metrics::gauge!(telemetry::SQS_MESSAGES_IN_FLIGHT).set(now as f64);
        InFlight { status: self }
    }
}

/// Keeps one message counted in [`ConsumerStatus::in_flight`].
pub(super) struct InFlight<'a> {
    status: &'a ConsumerStatus,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let now = self.status.in_flight.fetch_sub(1, Ordering::Relaxed) - 1;
        metrics::gauge!(telemetry::SQS_MESSAGES_IN_FLIGHT).set(now as f64);
    }
}
