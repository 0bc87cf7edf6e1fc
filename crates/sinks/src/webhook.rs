//! Falco webhook sink: POSTs each alert as Falco JSON, the input that
//! Falcosidekick and other Falco backends accept (one alert per request).
//!
//! Each alert is its own request and is retried on its own (5xx, 429 with
//! its `Retry-After`, connection errors, timeouts), at most `concurrency`
//! requests in flight. Any other status is a permanent failure: it is
//! logged with the rule and status and `deliver` returns an error, so the
//! source message is not deleted and ends in the dead-letter queue rather
//! than being counted as delivered.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{Client, StatusCode, Url};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

use crate::Sink;
use crate::alert::Alert;
use crate::error::SinkError;
use crate::metrics::observe_send;
use crate::recent::RecentSet;
use crate::retry::{RetryPolicy, retry};

const NAME: &str = "webhook";

/// Alerts remembered as delivered, so that a batch retried after a partial
/// failure resends only what the receiver has not taken yet.
const REMEMBERED_ALERTS: usize = 65_536;

/// Sends alerts to an HTTP endpoint, one POST per alert.
pub struct WebhookSink {
    inner: Arc<Endpoint>,
    permits: Arc<Semaphore>,
    delivered: Arc<Mutex<RecentSet<u64>>>,
}

struct Endpoint {
    client: Client,
    url: Url,
    headers: HeaderMap,
    retry: RetryPolicy,
}

impl WebhookSink {
    /// A sink POSTing to `url` with `headers` (`${VAR}` already resolved),
    /// `timeout` per request and at most `concurrency` requests at once.
    ///
    /// # Errors
    ///
    /// [`SinkError::Config`] for an invalid header name or value (the value
    /// is not repeated in the message) or a zero concurrency.
    pub fn new(
        url: Url,
        headers: &[(String, String)],
        timeout: Duration,
        concurrency: usize,
        retry: RetryPolicy,
    ) -> Result<Self, SinkError> {
        let config_error = |reason: String| SinkError::Config {
            sink: NAME.into(),
            reason,
        };
        if concurrency == 0 {
            return Err(config_error("concurrency must be at least 1".into()));
        }
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| config_error(format!("invalid header name {name:?}")))?;
            let mut value = HeaderValue::from_str(value)
                .map_err(|_| config_error(format!("invalid value for header {name:?}")))?;
            // Keeps the value out of any debug output of the request.
            value.set_sensitive(true);
            map.insert(header, value);
        }
        let client = Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A redirect would turn the POST into a GET or carry the
            // headers elsewhere; a receiver that moved is a config error.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| config_error(format!("http client: {e}")))?;
        let inner = Endpoint {
            client,
            url,
            headers: map,
            retry,
        };
        Ok(WebhookSink {
            inner: Arc::new(inner),
            permits: Arc::new(Semaphore::new(concurrency)),
            delivered: Arc::new(Mutex::new(RecentSet::new(REMEMBERED_ALERTS))),
        })
    }
}

#[async_trait]
impl Sink for WebhookSink {
    fn name(&self) -> &str {
        NAME
    }

    /// # Errors
    ///
    /// [`SinkError::Partial`] naming how many alerts failed, with the first
    /// failure (its status and rule) as the source.
    async fn deliver(&self, alerts: &[Alert]) -> Result<(), SinkError> {
        let mut requests = JoinSet::new();
        for alert in alerts {
            let id = alert_identity(alert);
            if lock(&self.delivered).contains(&id) {
                continue;
            }
            let permit = Arc::clone(&self.permits)
                .acquire_owned()
                .await
                .expect("the webhook semaphore is never closed");
            let endpoint = Arc::clone(&self.inner);
            let delivered = Arc::clone(&self.delivered);
            let (body, rule) = (alert.to_json_line(), alert.rule.clone());
            requests.spawn(async move {
                let result = endpoint.send_with_retry(&body, &rule).await;
                if result.is_ok() {
                    lock(&delivered).insert(id);
                }
                drop(permit);
                (rule, result)
            });
        }

        let mut failures = Vec::new();
        while let Some(joined) = requests.join_next().await {
            match joined {
                Ok((_, Ok(()))) => {}
                Ok((rule, Err(err))) => {
                    tracing::debug!(sink = NAME, rule, error = %err, "alert not delivered");
                    failures.push(err);
                }
                Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
                Err(_) => {}
            }
        }
        let failed = failures.len();
        match failures.into_iter().next() {
            None => Ok(()),
            Some(first) => {
                // One line per batch, not per alert: a receiver that is down
                // would otherwise flood the log.
                let total = alerts.len();
                tracing::error!(sink = NAME, failed, total, first = %first, "alerts not delivered");
                Err(SinkError::Partial {
                    sink: NAME.into(),
                    failed,
                    total: alerts.len(),
                    first: Box::new(first),
                })
            }
        }
    }
}

/// An alert's identity: its rule, record and rendered text.
fn alert_identity(alert: &Alert) -> u64 {
    let mut hasher = DefaultHasher::new();
    (&alert.rule, &alert.record.event_id, &alert.output).hash(&mut hasher);
    hasher.finish()
}

fn lock(set: &Mutex<RecentSet<u64>>) -> std::sync::MutexGuard<'_, RecentSet<u64>> {
    // The set stays consistent even if a holder panicked mid-insert.
    set.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Endpoint {
    async fn send_with_retry(&self, body: &str, rule: &str) -> Result<(), SinkError> {
        retry(&self.retry, || self.send(body, rule)).await
    }

    /// One POST; any 2xx is acceptance.
    async fn send(&self, body: &str, rule: &str) -> Result<(), SinkError> {
        let started = Instant::now();
        let response = self
            .client
            .post(self.url.clone())
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_owned())
            .send()
            .await;
        let result = match response {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(SinkError::HttpStatus {
                sink: NAME.into(),
                status: response.status().as_u16(),
                rule: rule.to_string(),
                retry_after: retry_after(response.status(), response.headers()),
            }),
            Err(source) => Err(SinkError::Http {
                sink: NAME.into(),
                rule: rule.to_string(),
                source,
            }),
        };
        let outcome = result.as_ref().map(|_| ()).map_err(SinkError::kind);
        observe_send(NAME, started, outcome);
        result
    }
}

/// The wait a 429 or 503 asks for: `Retry-After` as seconds or as an
/// HTTP date (RFC 9110 section 10.2.3).
fn retry_after(status: StatusCode, headers: &HeaderMap) -> Option<Duration> {
    if status != StatusCode::TOO_MANY_REQUESTS && status != StatusCode::SERVICE_UNAVAILABLE {
        return None;
    }
    parse_retry_after(headers.get(RETRY_AFTER)?.to_str().ok()?, chrono::Utc::now())
}

fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    // A date in the past means "now".
    Some((at.to_utc() - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn retry_after_only_for_429_and_503() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(
            retry_after(StatusCode::TOO_MANY_REQUESTS, &headers),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(StatusCode::SERVICE_UNAVAILABLE, &headers),
            Some(Duration::from_secs(7))
        );
        assert_eq!(retry_after(StatusCode::BAD_GATEWAY, &headers), None);
    }

    #[test]
    fn bad_headers_are_config_errors_without_the_value() {
        let url = Url::parse("http://127.0.0.1:9/").unwrap();
        let bad = [("X-Token".to_string(), "line\nbreak-secret".to_string())];
        let err = WebhookSink::new(
            url.clone(),
            &bad,
            Duration::from_secs(1),
            1,
            RetryPolicy::default(),
        )
        .err()
        .unwrap();
        assert_eq!(
            err.to_string(),
            "sink webhook: invalid configuration: invalid value for header \"X-Token\""
        );
        let err = WebhookSink::new(url, &[], Duration::from_secs(1), 0, RetryPolicy::default())
            .err()
            .unwrap();
        assert!(err.to_string().contains("concurrency"));
    }
}
