//! One sink entry of a config file, as the user writes it; the accepted
//! keys are documented on [`SinkConfig`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{SinkConfig, SinkOptions, SinkSpec, parse_url};
use crate::alert::Priority;
use crate::error::SpecError;

/// The raw entry; [`SinkConfig`] is built from it with validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SinkEntry {
    #[serde(rename = "type")]
    kind: String,
    path: Option<PathBuf>,
    url: Option<String>,
    group: Option<String>,
    stream: Option<String>,
    min_priority: Option<Priority>,
    #[serde(default)]
    rules: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    timeout_secs: Option<f64>,
    deliver_timeout_secs: Option<f64>,
    batch_size: Option<usize>,
    concurrency: Option<usize>,
    max_retries: Option<usize>,
    retry_min_delay_ms: Option<u64>,
    retry_max_delay_ms: Option<u64>,
    max_retry_elapsed_secs: Option<f64>,
}

impl TryFrom<SinkEntry> for SinkConfig {
    type Error = SpecError;

    fn try_from(entry: SinkEntry) -> Result<Self, SpecError> {
        let kind = entry.kind.to_ascii_lowercase();
        let fail = |reason: String| SpecError {
            spec: entry.kind.clone(),
            reason,
        };
        let allowed: &[&str] = match kind.as_str() {
            "file" => &["path"],
            "webhook" => &["url", "headers"],
            "cloudwatch" => &["group", "stream"],
            _ => &[],
        };
        for (key, present) in [
            ("path", entry.path.is_some()),
            ("url", entry.url.is_some()),
            ("group", entry.group.is_some()),
            ("stream", entry.stream.is_some()),
            ("headers", !entry.headers.is_empty()),
        ] {
            if present && !allowed.contains(&key) {
                return Err(fail(format!(
                    "key {key:?} does not apply to this sink type"
                )));
            }
        }

        let required = |value: Option<String>, key: &str| {
            value
                .filter(|v| !v.is_empty())
                .ok_or_else(|| fail(format!("missing {key:?}")))
        };
        let spec = match kind.as_str() {
            "stdout" => SinkSpec::Stdout,
            "securityhub" => SinkSpec::SecurityHub,
            "file" => match entry.path {
                Some(path) if !path.as_os_str().is_empty() => SinkSpec::File(path),
                _ => return Err(fail("missing \"path\"".to_string())),
            },
            "webhook" => SinkSpec::Webhook(parse_url(&required(entry.url, "url")?).map_err(fail)?),
            "cloudwatch" => SinkSpec::CloudWatch {
                group: required(entry.group, "group")?,
                stream: entry.stream.filter(|s| !s.is_empty()),
            },
            _ => {
                return Err(fail(
                    "unknown sink type; expected stdout, file, webhook, securityhub or cloudwatch"
                        .to_string(),
                ));
            }
        };

        let defaults = SinkOptions::default();
        let secs = |value: Option<f64>, key: &str, default: Duration| match value {
            None => Ok(default),
            Some(v) => Duration::try_from_secs_f64(v)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| fail(format!("{key} must be a positive number of seconds"))),
        };
        let mut retry = defaults.retry;
        retry.max_retries = entry.max_retries.unwrap_or(retry.max_retries);
        retry.min_delay = entry
            .retry_min_delay_ms
            .map_or(retry.min_delay, Duration::from_millis);
        retry.max_delay = entry
            .retry_max_delay_ms
            .map_or(retry.max_delay, Duration::from_millis);
        retry.max_elapsed = secs(
            entry.max_retry_elapsed_secs,
            "max_retry_elapsed_secs",
            retry.max_elapsed,
        )?;
        if retry.min_delay > retry.max_delay {
            return Err(fail(
                "retry_min_delay_ms exceeds retry_max_delay_ms".to_string(),
            ));
        }
        let concurrency = entry.concurrency.unwrap_or(defaults.concurrency);
        if concurrency == 0 {
            return Err(fail("concurrency must be at least 1".to_string()));
        }
        if entry.batch_size == Some(0) {
            return Err(fail("batch_size must be at least 1".to_string()));
        }

        let options = SinkOptions {
            min_priority: entry.min_priority,
            rules: entry.rules,
            tags: entry.tags,
            headers: entry.headers.into_iter().collect(),
            timeout: secs(entry.timeout_secs, "timeout_secs", defaults.timeout)?,
            deliver_timeout: secs(
                entry.deliver_timeout_secs,
                "deliver_timeout_secs",
                defaults.deliver_timeout,
            )?,
            batch_size: entry.batch_size,
            concurrency,
            retry,
        };
        Ok(SinkConfig { spec, options })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(value: serde_json::Value) -> Result<SinkConfig, String> {
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    #[test]
    fn full_webhook_entry() {
        let config = parse(json!({
            "type": "webhook", "url": "http://127.0.0.1:2801/", "min_priority": "info",
            "rules": ["R"], "tags": ["aws_iam"], "headers": {"X-Token": "${TOKEN}"},
            "timeout_secs": 2.5, "concurrency": 8, "max_retries": 2, "retry_min_delay_ms": 10,
            "retry_max_delay_ms": 50, "max_retry_elapsed_secs": 1
        }))
        .unwrap();
        assert_eq!(config.spec.name(), "webhook");
        let o = &config.options;
        assert_eq!(o.min_priority, Some(Priority::Informational));
        assert_eq!(
            o.headers,
            vec![("X-Token".to_string(), "${TOKEN}".to_string())]
        );
        assert_eq!(o.timeout, Duration::from_millis(2500));
        assert_eq!((o.concurrency, o.retry.max_retries), (8, 2));
        assert_eq!(o.retry.min_delay, Duration::from_millis(10));
        assert_eq!(o.retry.max_elapsed, Duration::from_secs(1));
        assert_eq!(o.deliver_timeout, SinkOptions::default().deliver_timeout);
    }

    #[test]
    fn cloudwatch_and_file_entries() {
        let cw = parse(json!({"type": "cloudwatch", "group": "/a/b", "batch_size": 500})).unwrap();
        assert_eq!(
            cw.spec,
            SinkSpec::CloudWatch {
                group: "/a/b".into(),
                stream: None
            }
        );
        assert_eq!(cw.options.batch_size, Some(500));
        let file = parse(json!({"type": "File", "path": "/tmp/x"})).unwrap();
        assert_eq!(file.spec, SinkSpec::File("/tmp/x".into()));
    }

    #[test]
    fn mistakes_are_reported() {
        let err = |v| parse(v).unwrap_err();
        assert!(err(json!({"type": "webhook"})).contains("missing \"url\""));
        assert!(err(json!({"type": "stdout", "url": "http://h/"})).contains("does not apply"));
        assert!(err(json!({"type": "stdout", "min_prio": "x"})).contains("unknown field"));
        assert!(
            err(json!({"type": "stdout", "min_priority": "loud"})).contains("unknown priority")
        );
        assert!(err(json!({"type": "stdout", "timeout_secs": -1})).contains("positive"));
        assert!(err(json!({"type": "stdout", "concurrency": 0})).contains("at least 1"));
        assert!(err(json!({"type": "sns"})).contains("unknown sink type"));
    }
}
