//! A token bucket that keeps BatchImportFindings under Security Hub's
//! quota (10 requests per second per account and region, burst 30).

use std::time::Duration;

use tokio::time::Instant;

/// Sustained requests per second.
pub(crate) const RATE_PER_SEC: f64 = 10.0;
/// Requests allowed at once after an idle period.
pub(crate) const BURST: f64 = 30.0;

/// Tokens refill continuously at `rate` per second up to `burst`.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn new(rate: f64, burst: f64, now: Instant) -> Self {
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            updated: now,
        }
    }

    /// Takes a token if one is there; otherwise says how long until one is.
    pub(crate) fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

/// A [`TokenBucket`] shared by the tasks of one sink.
#[derive(Debug)]
pub(crate) struct Throttle {
    bucket: std::sync::Mutex<TokenBucket>,
}

impl Throttle {
    /// Security Hub's quota.
    pub(crate) fn security_hub() -> Self {
        Throttle {
            bucket: std::sync::Mutex::new(TokenBucket::new(RATE_PER_SEC, BURST, Instant::now())),
        }
    }

    /// Waits until a request may be sent.
    pub(crate) async fn acquire(&self) {
        loop {
            let wait = {
                // The lock is never held across an await; a poisoned lock
                // only means another task panicked mid-update of two floats.
                let mut bucket = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
                match bucket.try_take(Instant::now()) {
                    Ok(()) => return,
                    Err(wait) => wait,
                }
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_steady_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(RATE_PER_SEC, BURST, start);
        for _ in 0..30 {
            assert_eq!(bucket.try_take(start), Ok(()));
        }
        let wait = bucket.try_take(start).unwrap_err();
        assert_eq!(wait, Duration::from_millis(100));
        // After 100 ms one token is back, and only one.
        let later = start + Duration::from_millis(100);
        assert_eq!(bucket.try_take(later), Ok(()));
        assert!(bucket.try_take(later).is_err());
        // A long idle period refills to the burst, not beyond.
        let much_later = later + Duration::from_secs(3600);
        let taken = (0..100)
            .filter(|_| bucket.try_take(much_later).is_ok())
            .count();
        assert_eq!(taken, 30);
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_paces_requests_past_the_burst() {
        let throttle = Throttle::security_hub();
        let start = Instant::now();
        for _ in 0..40 {
            throttle.acquire().await;
        }
        // 30 at once, then 10 more at 10 per second on the paused clock.
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(999), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(1100), "{elapsed:?}");
    }
}
