//! Layers that wrap any [`Sink`]: alert filters and a delivery deadline.
//!
//! [`crate::build`] stacks them, outermost first, as
//! `Filtered -> Deadline -> backend`: filtering first so that an empty
//! batch costs nothing, then one deadline over the backend's own retries
//! and per-request timeouts, so a stuck sink fails fast and the batch stays
//! queued for redelivery.

use std::borrow::Cow;
use std::time::Duration;

use async_trait::async_trait;

use crate::Sink;
use crate::alert::{Alert, Priority};
use crate::error::{FailureKind, SinkError};
use crate::metrics::count_failures;

/// Which alerts a sink wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFilter {
    /// Drop alerts less severe than this.
    pub min_priority: Option<Priority>,
    /// If non-empty, keep only alerts of these rules.
    pub rules: Vec<String>,
    /// If non-empty, keep only alerts with at least one of these tags.
    pub tags: Vec<String>,
}

impl AlertFilter {
    /// True when the filter keeps every alert.
    pub fn is_empty(&self) -> bool {
        self.min_priority.is_none() && self.rules.is_empty() && self.tags.is_empty()
    }

    /// Whether `alert` passes. Priorities are ordered most severe first,
    /// so "at least as severe" is `<=`.
    pub fn accepts(&self, alert: &Alert) -> bool {
        self.min_priority.is_none_or(|min| alert.priority <= min)
            && (self.rules.is_empty() || self.rules.contains(&alert.rule))
            && (self.tags.is_empty() || alert.tags.iter().any(|t| self.tags.contains(t)))
    }
}

/// A sink that only sees the alerts its [`AlertFilter`] accepts.
pub struct Filtered<S> {
    filter: AlertFilter,
    inner: S,
}

impl<S: Sink> Filtered<S> {
    /// Wraps `inner`.
    pub fn new(filter: AlertFilter, inner: S) -> Self {
        Filtered { filter, inner }
    }
}

#[async_trait]
impl<S: Sink> Sink for Filtered<S> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn deliver(&self, alerts: &[Alert]) -> Result<(), SinkError> {
        let kept: Cow<'_, [Alert]> = if self.filter.is_empty() {
            Cow::Borrowed(alerts)
        } else {
            alerts
                .iter()
                .filter(|a| self.filter.accepts(a))
                .cloned()
                .collect::<Vec<_>>()
                .into()
        };
        if kept.is_empty() {
            return Ok(());
        }
        self.inner.deliver(&kept).await
    }
}

/// A sink whose whole `deliver`, retries included, must end in time.
pub struct Deadline<S> {
    timeout: Duration,
    inner: S,
}

impl<S: Sink> Deadline<S> {
    /// Wraps `inner`.
    pub fn new(timeout: Duration, inner: S) -> Self {
        Deadline { timeout, inner }
    }
}

#[async_trait]
impl<S: Sink> Sink for Deadline<S> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// # Errors
    ///
    /// [`SinkError::Timeout`] when the deadline passes; the inner delivery
    /// is dropped, so alerts of the batch may or may not have arrived.
    async fn deliver(&self, alerts: &[Alert]) -> Result<(), SinkError> {
        match tokio::time::timeout(self.timeout, self.inner.deliver(alerts)).await {
            Ok(result) => result,
            Err(_) => {
                // The dropped request never reported itself; count it here.
                count_failures(self.inner.name(), FailureKind::Transient, 1);
                Err(SinkError::Timeout {
                    sink: self.inner.name().to_string(),
                    timeout: self.timeout,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::testing::alert;

    /// Records the rules of what it receives; sleeps when asked to.
    struct Recorder {
        seen: Mutex<Vec<String>>,
        delay: Duration,
    }

    #[async_trait]
    impl Sink for Recorder {
        fn name(&self) -> &str {
            "recorder"
        }

        async fn deliver(&self, alerts: &[Alert]) -> Result<(), SinkError> {
            tokio::time::sleep(self.delay).await;
            self.seen
                .lock()
                .unwrap()
                .extend(alerts.iter().map(|a| a.rule.clone()));
            Ok(())
        }
    }

    fn recorder(delay: Duration) -> Recorder {
        Recorder {
            seen: Mutex::new(Vec::new()),
            delay,
        }
    }

    #[tokio::test]
    async fn filter_by_priority_rule_and_tag() {
        let mut a = alert("A", Priority::Critical);
        a.tags = vec!["aws_iam".into()];
        let b = alert("B", Priority::Notice);
        let mut c = alert("C", Priority::Warning);
        c.tags = vec!["aws_s3".into()];

        let only_warning = AlertFilter {
            min_priority: Some(Priority::Warning),
            ..Default::default()
        };
        let sink = Filtered::new(only_warning, recorder(Duration::ZERO));
        sink.deliver(&[a.clone(), b.clone(), c.clone()])
            .await
            .unwrap();
        assert_eq!(*sink.inner.seen.lock().unwrap(), ["A", "C"]);

        let by_tag = AlertFilter {
            tags: vec!["aws_s3".into()],
            rules: vec![],
            min_priority: None,
        };
        let sink = Filtered::new(by_tag, recorder(Duration::ZERO));
        sink.deliver(&[a.clone(), b.clone(), c.clone()])
            .await
            .unwrap();
        assert_eq!(*sink.inner.seen.lock().unwrap(), ["C"]);

        let by_rule = AlertFilter {
            rules: vec!["B".into()],
            ..Default::default()
        };
        let sink = Filtered::new(by_rule, recorder(Duration::ZERO));
        sink.deliver(&[a, b, c]).await.unwrap();
        assert_eq!(*sink.inner.seen.lock().unwrap(), ["B"]);
    }

    #[tokio::test]
    async fn filter_skips_inner_sink_when_nothing_passes() {
        let filter = AlertFilter {
            rules: vec!["none".into()],
            ..Default::default()
        };
        // An inner delivery would overrun this deadline, so reaching it fails.
        let sink = Filtered::new(
            filter,
            Deadline::new(Duration::from_millis(1), recorder(Duration::from_secs(60))),
        );
        sink.deliver(&[alert("A", Priority::Emergency)])
            .await
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_fails_a_stuck_sink_as_transient() {
        let sink = Deadline::new(Duration::from_secs(5), recorder(Duration::from_secs(60)));
        let err = sink
            .deliver(&[alert("A", Priority::Error)])
            .await
            .unwrap_err();
        assert!(matches!(err, SinkError::Timeout { ref sink, .. } if sink == "recorder"));
        assert!(err.is_retryable());
        assert!(sink.inner.seen.lock().unwrap().is_empty());
    }
}
