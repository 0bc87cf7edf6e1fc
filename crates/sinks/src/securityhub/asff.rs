//! An alert as an AWS Security Finding Format (ASFF) finding.
//!
//! The finding is modelled here as JSON, in the shape BatchImportFindings
//! sends it, so its size can be measured against Security Hub's limits
//! before it is converted to the SDK type.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::mapping;
use crate::alert::{Alert, Priority};

/// ASFF schema version, the only one Security Hub accepts.
pub(crate) const SCHEMA_VERSION: &str = "2018-10-08";
/// Title length limit (ASFF: up to 256 characters).
pub(crate) const MAX_TITLE_CHARS: usize = 256;
/// Description length limit (ASFF: up to 1024 characters).
pub(crate) const MAX_DESCRIPTION_CHARS: usize = 1024;
/// ProductFields limits (ASFF: up to 50 pairs, keys up to 128 characters,
/// values up to 2048 characters).
pub(crate) const MAX_PRODUCT_FIELDS: usize = 50;
const MAX_FIELD_KEY_CHARS: usize = 128;
const MAX_FIELD_VALUE_CHARS: usize = 2048;
/// Resources per finding (ASFF: 1 to 32).
const MAX_RESOURCES: usize = 32;
/// Marks text we shortened, so a reader knows the finding is incomplete.
const ELLIPSIS: char = '…';

/// One finding, serialized with ASFF's field names.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Finding {
    pub schema_version: &'static str,
    pub id: String,
    pub product_arn: String,
    pub generator_id: String,
    pub aws_account_id: String,
    pub types: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub first_observed_at: String,
    pub last_observed_at: String,
    pub severity: Severity,
    pub title: String,
    pub description: String,
    pub resources: Vec<Resource>,
    pub product_fields: BTreeMap<String, String>,
    pub finding_provider_fields: ProviderFields,
}

/// `Severity` and `FindingProviderFields.Severity`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Severity {
    pub label: &'static str,
}

/// Where Security Hub wants a provider's own severity and types, so that
/// later edits by analysts (through BatchUpdateFindings) are kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ProviderFields {
    pub severity: Severity,
    pub types: Vec<String>,
}

/// One affected resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Resource {
    #[serde(rename = "Type")]
    pub kind: String,
    pub id: String,
    pub partition: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// The finding id: the SHA-256 hex of rule and CloudTrail `eventID`, so a
/// redelivered record updates its finding instead of adding one. Without
/// an event id the whole alert is hashed, which is still stable.
pub(crate) fn finding_id(alert: &Alert) -> String {
    let mut hash = Sha256::new();
    hash.update(alert.rule.as_bytes());
    // The separator keeps ("ab", "c") and ("a", "bc") apart.
    hash.update([0u8]);
    if alert.record.event_id.is_empty() {
        hash.update(alert.to_json_line().as_bytes());
    } else {
        hash.update(alert.record.event_id.as_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Severity label for a Falco priority.
pub(crate) fn severity_label(priority: Priority) -> &'static str {
    match priority {
        Priority::Emergency | Priority::Alert | Priority::Critical => "CRITICAL",
        Priority::Error => "HIGH",
        Priority::Warning => "MEDIUM",
        Priority::Notice => "LOW",
        Priority::Informational | Priority::Debug => "INFORMATIONAL",
    }
}

impl Finding {
    /// Builds the finding for `alert`, imported into `region` under
    /// `account`, with every text within its ASFF limit.
    pub(crate) fn from_alert(alert: &Alert, region: &str, account: &str) -> Finding {
        let partition = mapping::partition(region);
        let observed = mapping::timestamp(alert.record.event_time_ns);
        let label = severity_label(alert.priority);
        let types = mapping::finding_types(&alert.tags);
        Finding {
            schema_version: SCHEMA_VERSION,
            id: finding_id(alert),
            product_arn: format!(
                "arn:{partition}:securityhub:{region}:{account}:product/{account}/default"
            ),
            generator_id: format!("trailwatch/{}", alert.rule),
            aws_account_id: account.to_string(),
            types: types.clone(),
            created_at: observed.clone(),
            updated_at: observed.clone(),
            first_observed_at: observed.clone(),
            last_observed_at: observed,
            severity: Severity { label },
            title: truncate(&alert.rule, MAX_TITLE_CHARS),
            description: truncate(&alert.output, MAX_DESCRIPTION_CHARS),
            resources: resources(alert, account, partition),
            product_fields: product_fields(alert),
            finding_provider_fields: ProviderFields {
                severity: Severity { label },
                types,
            },
        }
    }

    /// The finding's size as JSON, which is what the limits count.
    pub(crate) fn size(&self) -> usize {
        serde_json::to_vec(self).map_or(usize::MAX, |v| v.len())
    }

    /// Shrinks the finding until it is at most `max_bytes`: first the
    /// ProductFields values, halving their cap, then the description, then
    /// dropping ProductFields and all resources but the first. Required
    /// fields are kept, so a finding always results.
    pub(crate) fn fit(&mut self, max_bytes: usize) {
        let mut cap = MAX_FIELD_VALUE_CHARS;
        while self.size() > max_bytes && cap > 16 {
            cap /= 2;
            for value in self.product_fields.values_mut() {
                *value = truncate(value, cap);
            }
        }
        let mut cap = MAX_DESCRIPTION_CHARS;
        while self.size() > max_bytes && cap > 16 {
            cap /= 2;
            self.description = truncate(&self.description, cap);
        }
        if self.size() > max_bytes {
            self.product_fields.clear();
        }
        if self.size() > max_bytes {
            self.resources.truncate(1);
        }
    }
}

/// At most `max_chars` characters of `text`, cut on a character boundary,
/// ending with an ellipsis when something was cut.
pub(crate) fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_string(),
        Some(_) => {
            let keep = max_chars.saturating_sub(1);
            let mut out: String = text.chars().take(keep).collect();
            out.push(ELLIPSIS);
            out
        }
    }
}

fn resources(alert: &Alert, account: &str, partition: &'static str) -> Vec<Resource> {
    let region = alert.record.region.clone();
    let mut out: Vec<Resource> = alert
        .record
        .resources
        .iter()
        .take(MAX_RESOURCES)
        .map(|r| Resource {
            kind: mapping::resource_type(r.resource_type.as_deref()).to_string(),
            id: r.arn.clone(),
            partition,
            region: region.clone(),
        })
        .collect();
    // The record's account, in the form AWS's own findings use: always when
    // it differs from the import account, else when nothing else names it.
    let record_account = alert.record.account_id.as_deref().filter(|a| !a.is_empty());
    let foreign = record_account.is_some_and(|a| a != account);
    if out.is_empty() || foreign {
        out.insert(
            0,
            Resource {
                kind: "AwsAccount".to_string(),
                id: format!("AWS::::Account:{}", record_account.unwrap_or(account)),
                partition,
                region,
            },
        );
        out.truncate(MAX_RESOURCES);
    }
    out
}

/// `output_fields` flattened to strings, after our own context fields.
/// ASFF values must be non-empty, so nulls and empty strings are left out.
fn product_fields(alert: &Alert) -> BTreeMap<String, String> {
    let record = &alert.record;
    let context = [
        ("trailwatch/Rule", Some(&alert.rule)),
        (
            "trailwatch/Priority",
            Some(&alert.priority.as_str().to_string()),
        ),
        ("trailwatch/EventName", record.event_name.as_ref()),
        ("trailwatch/EventSource", record.event_source.as_ref()),
        ("trailwatch/Region", record.region.as_ref()),
        ("trailwatch/SourceIp", record.source_ip.as_ref()),
        ("trailwatch/PrincipalArn", record.principal_arn.as_ref()),
    ];
    let mut fields = BTreeMap::new();
    for (key, value) in context {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            fields.insert(key.to_string(), truncate(value, MAX_FIELD_VALUE_CHARS));
        }
    }
    for (key, value) in &alert.output_fields {
        if fields.len() >= MAX_PRODUCT_FIELDS {
            // Limitation: fields past ASFF's 50 are dropped from the finding;
            // the full alert still reaches the other sinks.
            break;
        }
        let text = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if !text.is_empty() {
            fields.insert(
                truncate(key, MAX_FIELD_KEY_CHARS),
                truncate(&text, MAX_FIELD_VALUE_CHARS),
            );
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::ResourceRef;
    use crate::testing::alert;

    fn finding(alert: &Alert) -> Finding {
        Finding::from_alert(alert, "eu-west-1", "123456789012")
    }

    #[test]
    fn required_asff_fields_are_valid() {
        let mut a = alert("Console Login Without MFA", Priority::Critical);
        a.tags = vec!["aws".into(), "mitre_initial_access".into()];
        let f = finding(&a);
        let json = serde_json::to_value(&f).unwrap();
        for key in [
            "SchemaVersion",
            "Id",
            "ProductArn",
            "GeneratorId",
            "AwsAccountId",
            "Types",
            "CreatedAt",
            "UpdatedAt",
            "Severity",
            "Title",
            "Description",
            "Resources",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        assert_eq!(json["SchemaVersion"], "2018-10-08");
        assert_eq!(
            json["ProductArn"],
            "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default"
        );
        assert_eq!(json["GeneratorId"], "trailwatch/Console Login Without MFA");
        assert_eq!(json["AwsAccountId"], "123456789012");
        assert_eq!(json["Types"], serde_json::json!(["TTPs/Initial Access"]));
        assert_eq!(json["FindingProviderFields"]["Types"], json["Types"]);
        assert_eq!(json["Severity"]["Label"], "CRITICAL");
        assert_eq!(json["CreatedAt"], "2024-01-01T00:00:00.000Z");
        assert_eq!(json["FirstObservedAt"], json["CreatedAt"]);
        assert_eq!(json["Resources"][0]["Type"], "AwsAccount");
        assert_eq!(json["Resources"][0]["Id"], "AWS::::Account:123456789012");
        assert_eq!(json["ProductFields"]["ct.user"], "alice");
        assert_eq!(json["ProductFields"]["evt.time"], "1704067200000000000");
        assert_eq!(json["ProductFields"]["trailwatch/Region"], "us-east-1");
        assert_eq!(json["ProductFields"]["trailwatch/SourceIp"], "203.0.113.7");
        assert_eq!(f.id.len(), 64);
        assert!(f.id.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn a_member_account_record_is_imported_under_the_import_account() {
        let mut a = alert("Root Account Used", Priority::Critical);
        a.record.account_id = Some("444455556666".into());
        a.record.resources = vec![ResourceRef {
            arn: "arn:aws:s3:::member-bucket".into(),
            resource_type: Some("AWS::S3::Bucket".into()),
        }];
        let json = serde_json::to_value(finding(&a)).unwrap();
        assert_eq!(json["AwsAccountId"], "123456789012");
        assert_eq!(
            json["ProductArn"],
            "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default"
        );
        assert_eq!(json["Resources"][0]["Type"], "AwsAccount");
        assert_eq!(json["Resources"][0]["Id"], "AWS::::Account:444455556666");
        assert_eq!(json["Resources"][1]["Id"], "arn:aws:s3:::member-bucket");
        assert_eq!(json["Resources"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn severity_follows_priority() {
        let labels: Vec<&str> = Priority::ALL.into_iter().map(severity_label).collect();
        assert_eq!(
            labels,
            [
                "CRITICAL",
                "CRITICAL",
                "CRITICAL",
                "HIGH",
                "MEDIUM",
                "LOW",
                "INFORMATIONAL",
                "INFORMATIONAL"
            ]
        );
    }

    #[test]
    fn id_depends_on_rule_and_event_only() {
        let a = alert("R", Priority::Error);
        let mut later = a.clone();
        later.hostname = "another-host".into();
        later.output = "re-rendered".into();
        assert_eq!(finding_id(&a), finding_id(&later));
        assert_eq!(finding_id(&a), finding_id(&a.clone()));

        let mut other_event = a.clone();
        other_event.record.event_id = "evt-other".into();
        assert_ne!(finding_id(&a), finding_id(&other_event));
        let mut other_rule = a.clone();
        other_rule.rule = "S".into();
        assert_ne!(finding_id(&a), finding_id(&other_rule));
    }

    #[test]
    fn long_texts_are_cut_on_character_boundaries() {
        let mut a = alert(&"é".repeat(300), Priority::Warning);
        a.output = "日本".repeat(1000);
        let f = finding(&a);
        assert_eq!(f.title.chars().count(), MAX_TITLE_CHARS);
        assert!(f.title.ends_with(ELLIPSIS));
        assert_eq!(f.description.chars().count(), MAX_DESCRIPTION_CHARS);
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("abcdef", 3), "ab…");
    }

    #[test]
    fn product_fields_respect_asff_limits() {
        let mut a = alert("R", Priority::Warning);
        for i in 0..80 {
            a.output_fields
                .insert(format!("{i}{}", "k".repeat(200)), "v".repeat(5000).into());
        }
        a.output_fields.insert("empty".into(), "".into());
        let f = finding(&a);
        assert_eq!(f.product_fields.len(), MAX_PRODUCT_FIELDS);
        assert!(
            f.product_fields
                .keys()
                .all(|k| k.chars().count() <= MAX_FIELD_KEY_CHARS)
        );
        assert!(
            f.product_fields
                .values()
                .all(|v| !v.is_empty() && v.chars().count() <= MAX_FIELD_VALUE_CHARS)
        );
    }

    #[test]
    fn record_resources_become_asff_resources() {
        let mut a = alert("R", Priority::Warning);
        a.record.resources = (0..40)
            .map(|i| ResourceRef {
                arn: format!("arn:aws:s3:::bucket-{i}"),
                resource_type: Some("AWS::S3::Bucket".into()),
            })
            .collect();
        let f = finding(&a);
        assert_eq!(f.resources.len(), 32);
        assert_eq!(f.resources[0].kind, "AwsS3Bucket");
        assert_eq!(f.resources[0].id, "arn:aws:s3:::bucket-0");
        assert_eq!(f.resources[0].region.as_deref(), Some("us-east-1"));
    }

    #[test]
    fn oversized_finding_is_shrunk_to_fit() {
        let mut a = alert("R", Priority::Warning);
        a.record.resources = (0..32)
            .map(|i| ResourceRef {
                arn: format!("arn:aws:s3:::{i}-{}", "b".repeat(5_000)),
                resource_type: None,
            })
            .collect();
        for i in 0..50 {
            a.output_fields
                .insert(format!("f{i}"), "v".repeat(5000).into());
        }
        let mut f = finding(&a);
        assert!(f.size() > 240_000, "{}", f.size());
        f.fit(240_000);
        assert!(f.size() <= 240_000, "{}", f.size());
        // Halving the field values was enough: everything else is intact.
        assert_eq!(f.product_fields.len(), MAX_PRODUCT_FIELDS);
        assert!(
            f.product_fields
                .values()
                .all(|v| v.chars().count() == 1024 || v.len() < 1024)
        );
        assert_eq!(f.resources.len(), 32);
        assert_eq!(f.description, a.output);

        // A tighter budget gives up product fields, then resources.
        let mut g = finding(&a);
        g.fit(20_000);
        assert!(g.size() <= 20_000, "{}", g.size());
        assert_eq!(g.resources.len(), 1);
        assert_eq!(g.title, "R");
    }
}
