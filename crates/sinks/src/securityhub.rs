//! AWS Security Hub sink: each alert becomes an ASFF finding imported with
//! BatchImportFindings into the region of the client.
//!
//! With the default product ARN, Security Hub accepts only findings whose
//! `AwsAccountId` is the caller's own account. Findings are therefore
//! imported under the import account (the account trailwatch runs in, see
//! [`SecurityHubSink::with_import_account`]) and name the record's account
//! as an `AwsAccount` resource, so that an organization trail's alerts for
//! every member account land in the security account. Without an import
//! account each finding goes under its record's account, which works for a
//! single-account trail only.
//!
//! Requests respect the batch limits (`batch.rs`) and the API quota
//! (`throttle.rs`); only the findings the response lists as failed are
//! sent again. Finding ids are stable, so resending is harmless.

use std::collections::HashSet;
use std::time::Instant;

use async_trait::async_trait;
use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, FindingProviderFields, FindingProviderSeverity, Partition, Resource,
    Severity, SeverityLabel,
};

use crate::Sink;
use crate::alert::Alert;
use crate::aws;
use crate::error::{FailureKind, SinkError};
use crate::metrics::{count_failures, observe_send};
use crate::retry::RetryPolicy;

mod asff;
mod batch;
mod mapping;
mod throttle;

use asff::Finding;
use throttle::Throttle;

const NAME: &str = "securityhub";

/// Imports alerts as Security Hub findings.
pub struct SecurityHubSink {
    client: Client,
    region: String,
    batch_size: usize,
    retry: RetryPolicy,
    throttle: Throttle,
    import_account: Option<String>,
}

impl SecurityHubSink {
    /// A sink using `client` (its region is where findings go), sending at
    /// most `batch_size` findings per request (capped at 100), each attempt
    /// limited to `timeout`.
    ///
    /// # Errors
    ///
    /// [`SinkError::Config`] when the client has no region.
    pub fn new(
        client: &Client,
        timeout: std::time::Duration,
        batch_size: Option<usize>,
        retry: RetryPolicy,
    ) -> Result<Self, SinkError> {
        let region = client
            .config()
            .region()
            .map(ToString::to_string)
            .ok_or_else(|| SinkError::Config {
                sink: NAME.into(),
                reason: "the aws configuration has no region".into(),
            })?;
        let (timeouts, retries) = aws::sink_timeouts(timeout);
        let config = client
            .config()
            .to_builder()
            .timeout_config(timeouts)
            .retry_config(retries)
            .build();
        Ok(SecurityHubSink {
            client: Client::from_conf(config),
            region,
            batch_size: batch_size
                .unwrap_or(batch::MAX_FINDINGS)
                .clamp(1, batch::MAX_FINDINGS),
            retry,
            throttle: Throttle::security_hub(),
            import_account: None,
        })
    }

    /// Imports every finding under `account` (the caller's account), naming
    /// the record's account as a resource; `None` keeps each record's own
    /// account.
    pub fn with_import_account(mut self, account: Option<String>) -> Self {
        self.import_account = account.filter(|a| !a.is_empty());
        self
    }

    /// One finding per alert, each within the size limit, without two
    /// findings of the same id in one import.
    fn findings(&self, alerts: &[Alert]) -> Result<Vec<Finding>, SinkError> {
        let mut seen = HashSet::new();
        let mut findings = Vec::with_capacity(alerts.len());
        for alert in alerts {
            let record_account = alert.record.account_id.as_deref().filter(|a| !a.is_empty());
            let Some(account) = self.import_account.as_deref().or(record_account) else {
                count_failures(NAME, FailureKind::Rejected, 1);
                return Err(SinkError::Rejected {
                    sink: NAME.into(),
                    count: 1,
                    detail: format!("alert of rule {:?} has no account id", alert.rule),
                    retryable: false,
                });
            };
            let mut finding = Finding::from_alert(alert, &self.region, account);
            finding.fit(batch::MAX_FINDING_BYTES);
            if seen.insert(finding.id.clone()) {
                findings.push(finding);
            }
        }
        Ok(findings)
    }

    /// Imports one batch, resending only failed findings until all are in
    /// or the retry policy is exhausted.
    async fn import(&self, mut pending: Vec<Finding>) -> Result<(), SinkError> {
        let mut backoff = self.retry.backoff();
        loop {
            self.throttle.acquire().await;
            let started = Instant::now();
            let sent = self
                .client
                .batch_import_findings()
                .set_findings(Some(pending.iter().map(to_sdk).collect()))
                .send()
                .await;
            let output = match sent {
                Ok(output) => output,
                Err(err) => {
                    let kind = aws::classify(&err);
                    observe_send(NAME, started, Err(kind));
                    let err = aws::sink_error(NAME, "BatchImportFindings", err);
                    if kind == FailureKind::Transient && backoff.wait(None).await {
                        tracing::warn!(sink = NAME, error = %err, "import failed, retrying");
                        continue;
                    }
                    return Err(err);
                }
            };
            observe_send(NAME, started, Ok(()));

            let failed = output.failed_findings();
            if failed.is_empty() {
                return Ok(());
            }
            count_failures(NAME, FailureKind::Rejected, failed.len() as u64);
            for entry in failed {
                tracing::warn!(
                    sink = NAME,
                    finding_id = entry.id().unwrap_or_default(),
                    code = entry.error_code().unwrap_or_default(),
                    reason = entry.error_message().unwrap_or_default(),
                    "finding not imported"
                );
            }
            let failed_ids: HashSet<&str> = failed.iter().filter_map(|e| e.id()).collect();
            let detail = failed
                .first()
                .map(|e| {
                    format!(
                        "{}: {}",
                        e.error_code().unwrap_or("?"),
                        e.error_message().unwrap_or("")
                    )
                })
                .unwrap_or_default();
            let count = failed.len();
            pending.retain(|f| failed_ids.contains(f.id.as_str()));
            if pending.is_empty() || !backoff.wait(None).await {
                return Err(SinkError::Rejected {
                    sink: NAME.into(),
                    count,
                    detail,
                    retryable: true,
                });
            }
        }
    }
}

#[async_trait]
impl Sink for SecurityHubSink {
    fn name(&self) -> &str {
        NAME
    }

    /// # Errors
    ///
    /// [`SinkError::Aws`] when a request fails, [`SinkError::Rejected`]
    /// when findings are still refused after the retries or an alert has
    /// no account id.
    async fn deliver(&self, alerts: &[Alert]) -> Result<(), SinkError> {
        for request in batch::plan(self.findings(alerts)?, self.batch_size) {
            self.import(request).await?;
        }
        Ok(())
    }
}

/// The SDK's form of a finding.
fn to_sdk(finding: &Finding) -> AwsSecurityFinding {
    let severity = Severity::builder()
        .label(SeverityLabel::from(finding.severity.label))
        .build();
    let provider_fields = FindingProviderFields::builder()
        .severity(
            FindingProviderSeverity::builder()
                .label(SeverityLabel::from(
                    finding.finding_provider_fields.severity.label,
                ))
                .build(),
        )
        .set_types(Some(finding.finding_provider_fields.types.clone()))
        .build();
    let resources = finding
        .resources
        .iter()
        .map(|r| {
            Resource::builder()
                .r#type(&r.kind)
                .id(&r.id)
                .partition(Partition::from(r.partition))
                .set_region(r.region.clone())
                .build()
        })
        .collect();
    AwsSecurityFinding::builder()
        .schema_version(finding.schema_version)
        .id(&finding.id)
        .product_arn(&finding.product_arn)
        .generator_id(&finding.generator_id)
        .aws_account_id(&finding.aws_account_id)
        .set_types(Some(finding.types.clone()))
        .created_at(&finding.created_at)
        .updated_at(&finding.updated_at)
        .first_observed_at(&finding.first_observed_at)
        .last_observed_at(&finding.last_observed_at)
        .severity(severity)
        .title(&finding.title)
        .description(&finding.description)
        .set_resources(Some(resources))
        .set_product_fields(Some(finding.product_fields.clone().into_iter().collect()))
        .finding_provider_fields(provider_fields)
        .build()
}
