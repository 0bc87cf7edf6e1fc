//! Building configured sinks: one backend per config, wrapped in layers.
//!
//! The stack of every sink, outermost first:
//!
//! 1. [`Filtered`]: drops alerts the sink does not want, so filtered
//!    alerts cost no request and no metric;
//! 2. [`Deadline`]: bounds the whole delivery, retries included;
//! 3. the backend, which times out each request, retries transient
//!    failures with backoff and limits its own concurrency or rate.

use std::sync::Arc;

use crate::Sink;
use crate::cloudwatch::CloudWatchSink;
use crate::config::{SinkConfig, SinkOptions, SinkSpec};
use crate::error::SinkError;
use crate::layer::{AlertFilter, Deadline, Filtered};
use crate::lines::{FileSink, StdoutSink};
use crate::securityhub::SecurityHubSink;
use crate::webhook::WebhookSink;

/// Largest `batch_size` per batching sink (the service limits).
const SECURITY_HUB_MAX_BATCH: usize = 100;
const CLOUDWATCH_MAX_BATCH: usize = 10_000;

/// AWS clients for the AWS sinks, built by the caller from its AWS config
/// (region, credentials, endpoint). A sink whose client is missing fails
/// to build.
#[derive(Debug, Clone, Default)]
pub struct AwsClients {
    /// Client for the `securityhub` sink.
    pub securityhub: Option<aws_sdk_securityhub::Client>,
    /// Client for the `cloudwatch` sink.
    pub cloudwatch: Option<aws_sdk_cloudwatchlogs::Client>,
    /// The account the clients act in, under which Security Hub findings
    /// are imported; when unknown, each finding goes under its record's
    /// account.
    pub account_id: Option<String>,
}

/// Builds every configured sink with its layers. `hostname` names the
/// CloudWatch stream when none is configured, so replicas do not share one.
///
/// # Errors
///
/// The first sink that cannot be built: a file that cannot be opened, a
/// header with an unset `${VAR}` or invalid value, a `batch_size` over the
/// service limit, an AWS sink without its client.
pub async fn build(
    configs: &[SinkConfig],
    aws: &AwsClients,
    hostname: &str,
) -> Result<Vec<Arc<dyn Sink>>, SinkError> {
    let mut sinks = Vec::with_capacity(configs.len());
    for config in configs {
        sinks.push(build_one(config, aws, hostname).await?);
    }
    Ok(sinks)
}

async fn build_one(
    config: &SinkConfig,
    aws: &AwsClients,
    hostname: &str,
) -> Result<Arc<dyn Sink>, SinkError> {
    let options = &config.options;
    let name = config.spec.name();
    let config_error = |reason: String| SinkError::Config {
        sink: name.into(),
        reason,
    };
    let missing_client = || config_error("no aws client was configured for this sink".into());
    if let Some(limit) = batch_limit(&config.spec)
        && options
            .batch_size
            .is_some_and(|size| size == 0 || size > limit)
    {
        return Err(config_error(format!(
            "batch_size must be between 1 and {limit}"
        )));
    }

    let sink = match &config.spec {
        SinkSpec::Stdout => layered(options, StdoutSink::new()),
        SinkSpec::File(path) => layered(options, FileSink::open(path).await?),
        SinkSpec::Webhook(url) => {
            let headers = resolve_headers(name, &options.headers, |var| std::env::var(var).ok())?;
            let sink = WebhookSink::new(
                url.clone(),
                &headers,
                options.timeout,
                options.concurrency,
                options.retry,
            )?;
            layered(options, sink)
        }
        SinkSpec::SecurityHub => {
            let client = aws.securityhub.as_ref().ok_or_else(missing_client)?;
            let sink =
                SecurityHubSink::new(client, options.timeout, options.batch_size, options.retry)?
                    .with_import_account(aws.account_id.clone());
            layered(options, sink)
        }
        SinkSpec::CloudWatch { group, stream } => {
            let client = aws.cloudwatch.as_ref().ok_or_else(missing_client)?;
            let stream = stream.as_deref().unwrap_or(hostname);
            if stream.is_empty() {
                return Err(config_error(
                    "no log stream and no host name to default to".into(),
                ));
            }
            let sink = CloudWatchSink::new(
                client,
                group,
                stream,
                options.timeout,
                options.batch_size,
                options.retry,
            );
            layered(options, sink)
        }
    };
    tracing::info!(sink = name, options = ?options, "sink ready");
    Ok(sink)
}

fn batch_limit(spec: &SinkSpec) -> Option<usize> {
    match spec {
        SinkSpec::SecurityHub => Some(SECURITY_HUB_MAX_BATCH),
        SinkSpec::CloudWatch { .. } => Some(CLOUDWATCH_MAX_BATCH),
        _ => None,
    }
}

fn layered<S: Sink + 'static>(options: &SinkOptions, backend: S) -> Arc<dyn Sink> {
    let filter = AlertFilter {
        min_priority: options.min_priority,
        rules: options.rules.clone(),
        tags: options.tags.clone(),
    };
    Arc::new(Filtered::new(
        filter,
        Deadline::new(options.deliver_timeout, backend),
    ))
}

/// Replaces each `${VAR}` in header values with `lookup(VAR)`.
fn resolve_headers(
    sink: &str,
    headers: &[(String, String)],
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, SinkError> {
    headers
        .iter()
        .map(|(name, value)| {
            let error = |var: &str| SinkError::MissingEnv {
                sink: sink.into(),
                header: name.clone(),
                var: var.into(),
            };
            let mut out = String::with_capacity(value.len());
            let mut rest = value.as_str();
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let after = &rest[start + 2..];
                let end = after.find('}').ok_or_else(|| SinkError::Config {
                    sink: sink.into(),
                    reason: format!("header {name:?} has an unterminated ${{"),
                })?;
                let var = &after[..end];
                out.push_str(&lookup(var).ok_or_else(|| error(var))?);
                rest = &after[end + 1..];
            }
            out.push_str(rest);
            Ok((name.clone(), out))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(var: &str) -> Option<String> {
        (var == "TOKEN").then(|| "s3cr3t".to_string())
    }

    #[test]
    fn header_variables_are_resolved() {
        let headers = vec![
            ("Authorization".to_string(), "Bearer ${TOKEN}".to_string()),
            ("X-Plain".to_string(), "value".to_string()),
            ("X-Twice".to_string(), "${TOKEN}:${TOKEN}".to_string()),
        ];
        let resolved = resolve_headers("webhook", &headers, env).unwrap();
        assert_eq!(resolved[0].1, "Bearer s3cr3t");
        assert_eq!(resolved[1].1, "value");
        assert_eq!(resolved[2].1, "s3cr3t:s3cr3t");
    }

    #[test]
    fn unset_or_malformed_variables_fail_without_leaking_values() {
        let headers = vec![("Authorization".to_string(), "Bearer ${MISSING}".to_string())];
        let err = resolve_headers("webhook", &headers, env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "sink webhook: header \"Authorization\" refers to unset environment variable \"MISSING\""
        );
        let headers = vec![("X".to_string(), "${TOKEN".to_string())];
        assert!(
            resolve_headers("webhook", &headers, env)
                .unwrap_err()
                .to_string()
                .contains("unterminated")
        );
    }

    #[tokio::test]
    async fn aws_sinks_need_their_clients_and_valid_batch_sizes() {
        let no_clients = AwsClients::default();
        let hub = SinkConfig::from(SinkSpec::SecurityHub);
        let err = build(&[hub], &no_clients, "h").await.err().unwrap();
        assert!(err.to_string().contains("no aws client"), "{err}");

        let mut cw = SinkConfig::from(SinkSpec::CloudWatch {
            group: "g".into(),
            stream: None,
        });
        cw.options.batch_size = Some(10_001);
        let err = build(&[cw], &no_clients, "h").await.err().unwrap();
        assert_eq!(
            err.to_string(),
            "sink cloudwatch: invalid configuration: batch_size must be between 1 and 10000"
        );
    }

    #[tokio::test]
    async fn builds_line_sinks_with_their_names() {
        let dir = tempfile::tempdir().unwrap();
        let configs = [
            SinkConfig::from(SinkSpec::Stdout),
            SinkConfig::from(SinkSpec::File(dir.path().join("a.json"))),
        ];
        let sinks = build(&configs, &AwsClients::default(), "h").await.unwrap();
        let names: Vec<&str> = sinks.iter().map(|s| s.name()).collect();
        assert_eq!(names, ["stdout", "file"]);
        assert!(dir.path().join("a.json").exists());
    }
}
