//! Building the configured sinks, with AWS clients only for the sinks that
//! need them.

use std::sync::Arc;

use anyhow::{Context, Result};
use serde_json::Value;
use trailwatch_sinks::{AwsClients, Sink, SinkConfig, SinkSpec};

/// Sink configs from `--sink` specs; `stdout` when none is given.
pub fn from_specs(specs: &[String]) -> Result<Vec<SinkConfig>> {
    if specs.is_empty() {
        return Ok(vec![SinkConfig::from(SinkSpec::Stdout)]);
    }
    specs
        .iter()
        .map(|s| Ok(SinkConfig::from(s.parse::<SinkSpec>()?)))
        .collect()
}

/// Sink configs from the settings: spec strings or maps with options.
pub fn from_settings(entries: &[Value]) -> Result<Vec<SinkConfig>> {
    if entries.is_empty() {
        return from_specs(&[]);
    }
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| match entry {
            Value::String(spec) => Ok(SinkConfig::from(spec.parse::<SinkSpec>()?)),
            other => serde_json::from_value(other.clone()).with_context(|| format!("sinks[{i}]")),
        })
        .collect()
}

/// Builds every sink; AWS clients come from the standard credential chain.
pub async fn build(configs: &[SinkConfig]) -> Result<Vec<Arc<dyn Sink>>> {
    let needs_aws = configs
        .iter()
        .any(|c| matches!(c.spec, SinkSpec::SecurityHub | SinkSpec::CloudWatch { .. }));
    let aws = if needs_aws {
        let conf = crate::daemon::load_aws_config().await;
        AwsClients {
            securityhub: Some(aws_sdk_securityhub::Client::new(&conf)),
            cloudwatch: Some(aws_sdk_cloudwatchlogs::Client::new(&conf)),
        }
    } else {
        AwsClients::default()
    };
    trailwatch_sinks::build(configs, &aws, &crate::hostname())
        .await
        .context("building the sinks")
}
