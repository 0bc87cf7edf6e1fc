//! What a sink is ([`SinkSpec`]) and how it behaves ([`SinkOptions`]).
//!
//! A sink is given either as a short command-line spec (`webhook:URL`) with
//! default options, or as one entry of a config file, deserialized into
//! [`SinkConfig`].

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use reqwest::Url;

use crate::alert::Priority;
use crate::error::SpecError;
use crate::retry::RetryPolicy;

mod file;

/// Which backend a sink writes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkSpec {
    /// One Falco JSON line per alert on standard output.
    Stdout,
    /// One Falco JSON line per alert, appended to this file.
    File(PathBuf),
    /// Falco JSON alerts POSTed one per request (Falcosidekick's input).
    Webhook(Url),
    /// AWS Security Hub findings, in the caller's account and region.
    SecurityHub,
    /// CloudWatch Logs events in this group; the stream defaults to the
    /// host name.
    CloudWatch {
        /// Log group, created when missing.
        group: String,
        /// Log stream, created when missing.
        stream: Option<String>,
    },
}

impl SinkSpec {
    /// The sink's name, used as the `sink` metric label and in errors.
    pub fn name(&self) -> &'static str {
        match self {
            SinkSpec::Stdout => "stdout",
            SinkSpec::File(_) => "file",
            SinkSpec::Webhook(_) => "webhook",
            SinkSpec::SecurityHub => "securityhub",
            SinkSpec::CloudWatch { .. } => "cloudwatch",
        }
    }
}

impl FromStr for SinkSpec {
    type Err = SpecError;

    /// Parses `stdout`, `file:PATH`, `webhook:URL`, `securityhub` or
    /// `cloudwatch:GROUP[/STREAM]`.
    fn from_str(text: &str) -> Result<Self, SpecError> {
        let fail = |reason: &str| SpecError {
            spec: text.to_string(),
            reason: reason.to_string(),
        };
        let (kind, arg) = match text.split_once(':') {
            Some((kind, arg)) => (kind, Some(arg)),
            None => (text, None),
        };
        match (kind.to_ascii_lowercase().as_str(), arg) {
            ("stdout", None) => Ok(SinkSpec::Stdout),
            ("securityhub", None) => Ok(SinkSpec::SecurityHub),
            ("stdout" | "securityhub", Some(_)) => Err(fail("takes no argument")),
            ("file", Some(path)) if !path.is_empty() => Ok(SinkSpec::File(PathBuf::from(path))),
            ("file", _) => Err(fail("expected file:PATH")),
            ("webhook", Some(url)) => parse_url(url).map(SinkSpec::Webhook).map_err(|r| fail(&r)),
            ("webhook", None) => Err(fail("expected webhook:URL")),
            ("cloudwatch", Some(target)) => parse_cloudwatch(target).map_err(|r| fail(&r)),
            ("cloudwatch", None) => Err(fail("expected cloudwatch:GROUP[/STREAM]")),
            _ => Err(fail(
                "unknown sink type; expected stdout, file:PATH, webhook:URL, securityhub \
                 or cloudwatch:GROUP[/STREAM]",
            )),
        }
    }
}

/// Parses an http(s) URL with a host.
pub(crate) fn parse_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("bad url: {e}"))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        "http" | "https" => Err("url has no host".to_string()),
        other => Err(format!("url scheme {other:?} is not http or https")),
    }
}

/// Splits `GROUP[/STREAM]`. Log group names may contain `/` (for example
/// `/aws/trailwatch`), so the stream is what follows the last `/` only
/// when the text does not start with `/`; a group with slashes and a
/// stream are better given in a config file.
fn parse_cloudwatch(target: &str) -> Result<SinkSpec, String> {
    if target.is_empty() {
        return Err("empty log group".to_string());
    }
    let (group, stream) = match target.rsplit_once('/') {
        Some((group, stream)) if !target.starts_with('/') => {
            if group.is_empty() || stream.is_empty() {
                return Err("expected GROUP/STREAM with both parts non-empty".to_string());
            }
            (group, Some(stream.to_string()))
        }
        _ => (target, None),
    };
    Ok(SinkSpec::CloudWatch {
        group: group.to_string(),
        stream,
    })
}

/// How a sink filters alerts and how hard it tries to deliver them.
#[derive(Clone, PartialEq)]
pub struct SinkOptions {
    /// Drop alerts less severe than this.
    pub min_priority: Option<Priority>,
    /// If non-empty, only alerts of these rules.
    pub rules: Vec<String>,
    /// If non-empty, only alerts carrying at least one of these tags.
    pub tags: Vec<String>,
    /// Extra webhook headers. A value may contain `${VAR}`, replaced by
    /// that environment variable when the sink is built; values are never
    /// logged.
    pub headers: Vec<(String, String)>,
    /// Time allowed for one request (one attempt).
    pub timeout: Duration,
    /// Time allowed for one whole `deliver`, retries included; past it the
    /// delivery fails as transient and the batch stays queued.
    pub deliver_timeout: Duration,
    /// Items per request for the batching sinks (Security Hub, CloudWatch),
    /// at most the service's limit; `None` means that limit.
    pub batch_size: Option<usize>,
    /// Requests in flight at once (webhook); at least 1.
    pub concurrency: usize,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
}

impl Default for SinkOptions {
    fn default() -> Self {
        SinkOptions {
            min_priority: None,
            rules: Vec::new(),
            tags: Vec::new(),
            headers: Vec::new(),
            timeout: Duration::from_secs(10),
            deliver_timeout: Duration::from_secs(300),
            batch_size: None,
            concurrency: 4,
            retry: RetryPolicy::default(),
        }
    }
}

impl fmt::Debug for SinkOptions {
    /// Header values may hold secrets, so only their names are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("SinkOptions")
            .field("min_priority", &self.min_priority)
            .field("rules", &self.rules)
            .field("tags", &self.tags)
            .field("headers", &header_names)
            .field("timeout", &self.timeout)
            .field("deliver_timeout", &self.deliver_timeout)
            .field("batch_size", &self.batch_size)
            .field("concurrency", &self.concurrency)
            .field("retry", &self.retry)
            .finish()
    }
}

/// One configured sink: where it writes and how.
///
/// Deserializes from one entry of a config file, flat, with `type` naming
/// the sink; every key but `type` (and the sink's own `path`, `url` or
/// `group`) is optional and defaults as in [`SinkOptions::default`]:
///
/// ```yaml
/// - type: webhook            # stdout | file | webhook | securityhub | cloudwatch
///   url: https://sidekick.example:2801/
///   min_priority: warning    # Falco spelling, case-insensitive, `info` allowed
///   rules: [Console Login Without MFA]
///   tags: [aws_iam]
///   headers: {Authorization: "Bearer ${SIDEKICK_TOKEN}"}
///   timeout_secs: 5          # per request
///   deliver_timeout_secs: 300
///   concurrency: 8
///   max_retries: 5
///   retry_min_delay_ms: 200
///   retry_max_delay_ms: 10000
///   max_retry_elapsed_secs: 60
/// - type: file
///   path: /var/log/trailwatch/alerts.json
/// - type: cloudwatch
///   group: /trailwatch/alerts
///   stream: prod             # default: the host name
///   batch_size: 1000         # securityhub: at most 100; cloudwatch: 10000
/// ```
///
/// Unknown keys, and keys that do not apply to the type (`url` on a file
/// sink), are errors, so a typo never silently falls back to a default.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(try_from = "file::SinkEntry")]
pub struct SinkConfig {
    /// The backend.
    pub spec: SinkSpec,
    /// Filters and delivery options.
    pub options: SinkOptions,
}

impl From<SinkSpec> for SinkConfig {
    /// A sink with default options, as given on the command line.
    fn from(spec: SinkSpec) -> Self {
        SinkConfig {
            spec,
            options: SinkOptions::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spec_form() {
        assert_eq!("stdout".parse(), Ok(SinkSpec::Stdout));
        assert_eq!("SecurityHub".parse(), Ok(SinkSpec::SecurityHub));
        assert_eq!(
            "file:/var/log/a b.json".parse(),
            Ok(SinkSpec::File("/var/log/a b.json".into()))
        );
        let hook: SinkSpec = "webhook:http://127.0.0.1:2801/".parse().unwrap();
        assert_eq!(
            hook,
            SinkSpec::Webhook(Url::parse("http://127.0.0.1:2801/").unwrap())
        );
        assert_eq!(
            "cloudwatch:trailwatch/alerts".parse(),
            Ok(SinkSpec::CloudWatch {
                group: "trailwatch".into(),
                stream: Some("alerts".into())
            })
        );
        assert_eq!(
            "cloudwatch:/aws/trailwatch".parse(),
            Ok(SinkSpec::CloudWatch {
                group: "/aws/trailwatch".into(),
                stream: None
            })
        );
        assert_eq!(
            "cloudwatch:g".parse(),
            Ok(SinkSpec::CloudWatch {
                group: "g".into(),
                stream: None
            })
        );
    }

    #[test]
    fn rejects_bad_specs_with_reasons() {
        let reason = |s: &str| s.parse::<SinkSpec>().unwrap_err().reason;
        assert!(reason("kafka:x").contains("unknown sink type"));
        assert_eq!(reason("file:"), "expected file:PATH");
        assert_eq!(reason("stdout:x"), "takes no argument");
        assert!(reason("webhook:ftp://h/").contains("not http or https"));
        assert!(reason("webhook:not a url").starts_with("bad url"));
        assert_eq!(reason("cloudwatch:"), "empty log group");
        assert!(reason("cloudwatch:g/").contains("both parts"));
        let err = "webhook".parse::<SinkSpec>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid sink \"webhook\": expected webhook:URL"
        );
    }

    #[test]
    fn debug_output_hides_header_values() {
        let options = SinkOptions {
            headers: vec![("Authorization".into(), "Bearer s3cr3t".into())],
            ..SinkOptions::default()
        };
        let text = format!("{options:?}");
        assert!(text.contains("Authorization"));
        assert!(!text.contains("s3cr3t"));
    }
}
