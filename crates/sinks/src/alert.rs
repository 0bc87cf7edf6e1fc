//! The alert every sink receives: Falco's JSON alert plus the CloudTrail
//! context that sinks such as Security Hub need beyond the rendered text.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};

/// Falco's eight priorities, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub enum Priority {
    /// System is unusable.
    Emergency,
    /// Action must be taken immediately.
    Alert,
    /// Critical conditions.
    Critical,
    /// Error conditions.
    Error,
    /// Warning conditions.
    Warning,
    /// Normal but significant condition.
    Notice,
    /// Informational messages.
    Informational,
    /// Debug-level messages.
    Debug,
}

impl Priority {
    /// All priorities, most severe first.
    pub const ALL: [Priority; 8] = [
        Priority::Emergency,
        Priority::Alert,
        Priority::Critical,
        Priority::Error,
        Priority::Warning,
        Priority::Notice,
        Priority::Informational,
        Priority::Debug,
    ];

    /// Falco's spelling, as printed in alerts (`Critical`, `Informational`).
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Emergency => "Emergency",
            Priority::Alert => "Alert",
            Priority::Critical => "Critical",
            Priority::Error => "Error",
            Priority::Warning => "Warning",
            Priority::Notice => "Notice",
            Priority::Informational => "Informational",
            Priority::Debug => "Debug",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error returned when a text names no Falco priority.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown priority {0:?}: expected one of emergency, alert, critical, error, warning, notice, informational (info), debug"
)]
pub struct UnknownPriority(pub String);

impl FromStr for Priority {
    type Err = UnknownPriority;

    /// Case-insensitive, with Falco's `info` alias.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        if lower == "info" {
            return Ok(Priority::Informational);
        }
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(&lower))
            .ok_or_else(|| UnknownPriority(s.to_string()))
    }
}

impl TryFrom<String> for Priority {
    type Error = UnknownPriority;

    fn try_from(s: String) -> Result<Self, UnknownPriority> {
        s.parse()
    }
}

impl Serialize for Priority {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One rule match on one CloudTrail record.
///
/// Serializes to exactly Falco's JSON alert (`hostname`, `output`,
/// `output_fields`, `priority`, `rule`, `source`, `tags`, `time`), so any
/// Falco backend accepts it; `record` is for sinks and is not serialized.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// Host or pod that raised the alert.
    pub hostname: String,
    /// The rule's rendered output template.
    pub output: String,
    /// Every `%field` of the template with its value (`null` when absent),
    /// plus `ct.id` and `evt.time` (integer nanoseconds).
    pub output_fields: serde_json::Map<String, serde_json::Value>,
    /// The rule's priority.
    pub priority: Priority,
    /// The rule's name.
    pub rule: String,
    /// Falco event source, always `aws_cloudtrail` here.
    pub source: String,
    /// The rule's tags.
    pub tags: Vec<String>,
    /// The record's `eventTime`, RFC 3339 UTC with nanoseconds.
    pub time: String,
    /// Context taken from the record for sinks; not part of Falco's JSON.
    #[serde(skip)]
    pub record: RecordContext,
}

/// What sinks need to know about the record behind an alert.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordContext {
    /// `eventID`: with the rule name, the identity of an alert.
    pub event_id: String,
    /// `eventName`.
    pub event_name: Option<String>,
    /// `eventSource`, for example `iam.amazonaws.com`.
    pub event_source: Option<String>,
    /// `recipientAccountId`, else `userIdentity.accountId`.
    pub account_id: Option<String>,
    /// `awsRegion`.
    pub region: Option<String>,
    /// `sourceIPAddress`.
    pub source_ip: Option<String>,
    /// `userIdentity.arn`.
    pub principal_arn: Option<String>,
    /// The record's `resources[]` entries that carry an ARN.
    pub resources: Vec<ResourceRef>,
    /// The record's `eventTime` in nanoseconds since the Unix epoch.
    pub event_time_ns: i64,
}

/// One entry of a record's `resources[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRef {
    /// The resource ARN.
    pub arn: String,
    /// CloudTrail's resource type, for example `AWS::S3::Bucket`.
    pub resource_type: Option<String>,
}

impl Alert {
    /// The alert as one line of Falco JSON, without a trailing newline.
    pub fn to_json_line(&self) -> String {
        // Serializing plain strings, maps and vectors cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_parses_case_insensitively_with_info_alias() {
        assert_eq!("CRITICAL".parse::<Priority>(), Ok(Priority::Critical));
        assert_eq!("info".parse::<Priority>(), Ok(Priority::Informational));
        assert_eq!(
            "Informational".parse::<Priority>(),
            Ok(Priority::Informational)
        );
        assert!("severe".parse::<Priority>().is_err());
    }

    #[test]
    fn alert_serializes_to_falco_keys_only() {
        let mut fields = serde_json::Map::new();
        fields.insert("ct.user".into(), serde_json::Value::Null);
        let alert = Alert {
            hostname: "h".into(),
            output: "o".into(),
            output_fields: fields,
            priority: Priority::Warning,
            rule: "r".into(),
            source: "aws_cloudtrail".into(),
            tags: vec!["aws".into()],
            time: "2024-01-01T00:00:00.000000000Z".into(),
            record: RecordContext::default(),
        };
        let v: serde_json::Value = serde_json::from_str(&alert.to_json_line()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "hostname",
                "output",
                "output_fields",
                "priority",
                "rule",
                "source",
                "tags",
                "time"
            ]
        );
        assert_eq!(v["priority"], "Warning");
        assert_eq!(v["output_fields"]["ct.user"], serde_json::Value::Null);
    }
}
