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

/// The account the credentials belong to, under which Security Hub
/// findings are imported. When it cannot be found each finding goes under
/// its record's account, which suits single-account trails only.
async fn caller_account(conf: &aws_config::SdkConfig) -> Option<String> {
    match aws_sdk_sts::Client::new(conf)
        .get_caller_identity()
        .send()
        .await
    {
        Ok(identity) => identity.account,
        Err(e) => {
            tracing::warn!(
                error = %aws_sdk_sts::error::DisplayErrorContext(&e),
                "Cannot find the caller's account; findings go under each record's account."
            );
            None
        }
    }
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
            account_id: caller_account(&conf).await,
        }
    } else {
        AwsClients::default()
    };
    trailwatch_sinks::build(configs, &aws, &crate::hostname())
        .await
        .context("building the sinks")
}
