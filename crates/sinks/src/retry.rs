//! Bounded retries with exponential backoff and jitter.
//!
//! Sinks retry inside `deliver` because only they know what to resend:
//! the webhook resends one alert, Security Hub only the findings listed in
//! `FailedFindings`. `Backoff` supplies the waits (computed by `backon`)
//! and enforces the policy's bounds; `retry` is the common loop for a
//! request that is resent whole.

use std::future::Future;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

use crate::error::SinkError;

/// How long and how often a sink retries transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 disables retrying.
    pub max_retries: usize,
    /// The first wait; later waits double up to `max_delay`, with jitter.
    pub min_delay: Duration,
    /// The longest single wait, also the cap on a server's `Retry-After`.
    pub max_delay: Duration,
    /// Total waiting allowed across all retries of one request.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    /// Up to 30 retries from 200 ms up to 10 s each, at most 120 s of
    /// waiting: enough to ride out a restart or a short outage of the
    /// receiver within one delivery, while the daemon keeps the SQS message
    /// invisible. Past that the delivery fails, the message is released
    /// with a growing delay and retried later.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 30,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_elapsed: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// A fresh sequence of waits for one request.
    pub(crate) fn backoff(&self) -> Backoff {
        let waits = ExponentialBuilder::new()
            .with_jitter()
            .with_factor(2.0)
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries)
            .with_total_delay(Some(self.max_elapsed))
            .build();
        Backoff {
            waits,
            max_delay: self.max_delay,
        }
    }
}

/// The remaining waits of one request's retries.
pub(crate) struct Backoff {
    waits: ExponentialBackoff,
    max_delay: Duration,
}

impl Backoff {
    /// The next wait, or `None` once the policy is exhausted. A server's
    /// `hint` (Retry-After) replaces the computed wait when longer, capped
    /// at `max_delay` so a server cannot park the sink indefinitely.
    pub(crate) fn next_wait(&mut self, hint: Option<Duration>) -> Option<Duration> {
        let computed = self.waits.next()?;
        Some(match hint {
            Some(hint) => hint.min(self.max_delay).max(computed),
            None => computed,
        })
    }

    /// Sleeps before the next attempt; false when no attempt is left.
    pub(crate) async fn wait(&mut self, hint: Option<Duration>) -> bool {
        match self.next_wait(hint) {
            Some(wait) => {
                tokio::time::sleep(wait).await;
                true
            }
            None => false,
        }
    }
}

/// Runs `attempt` until it succeeds, fails permanently, or the policy is
/// exhausted; returns the last error in the latter cases.
pub(crate) async fn retry<T, F, Fut>(policy: &RetryPolicy, mut attempt: F) -> Result<T, SinkError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SinkError>>,
{
    let mut backoff = policy.backoff();
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(err) if err.is_retryable() => {
                let hint = err.retry_after();
                // Per request, so debug: the caller logs what finally failed.
                tracing::debug!(error = %err, "transient sink failure, retrying");
                if !backoff.wait(hint).await {
                    return Err(err);
                }
            }
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_bounded_by_count_and_cap() {
        let policy = RetryPolicy {
            max_retries: 4,
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            max_elapsed: Duration::from_secs(100),
        };
        let mut backoff = policy.backoff();
        let waits: Vec<Duration> = std::iter::from_fn(|| backoff.next_wait(None)).collect();
        assert_eq!(waits.len(), 4);
        // Jitter adds up to one extra delay on top of the capped delay.
        assert!(waits.iter().all(|w| *w >= Duration::from_millis(100)));
        assert!(waits.iter().all(|w| *w <= Duration::from_millis(600)));
    }

    #[test]
    fn retry_after_hint_is_honoured_up_to_the_cap() {
        let policy = RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_secs(5),
            max_elapsed: Duration::from_secs(100),
        };
        let mut backoff = policy.backoff();
        assert!(backoff.next_wait(Some(Duration::from_secs(2))).unwrap() >= Duration::from_secs(2));
        assert!(
            backoff.next_wait(Some(Duration::from_secs(3600))).unwrap() <= Duration::from_secs(5)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retry_stops_on_permanent_error() {
        let mut calls = 0;
        let result: Result<(), SinkError> = retry(&RetryPolicy::default(), || {
            calls += 1;
            async {
                Err(SinkError::HttpStatus {
                    sink: "webhook".into(),
                    status: 403,
                    rule: "r".into(),
                    retry_after: None,
                })
            }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_gives_up_after_max_retries() {
        let policy = RetryPolicy {
            max_retries: 2,
            ..RetryPolicy::default()
        };
        let mut calls = 0;
        let result: Result<(), SinkError> = retry(&policy, || {
            calls += 1;
            async {
                Err(SinkError::Timeout {
                    sink: "webhook".into(),
                    timeout: Duration::from_secs(1),
                })
            }
        })
        .await;
        assert!(matches!(result, Err(SinkError::Timeout { .. })));
        assert_eq!(calls, 3);
    }
}
