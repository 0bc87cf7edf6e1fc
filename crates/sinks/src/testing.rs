//! Alerts for unit tests.

use crate::alert::{Alert, Priority, RecordContext};

/// An alert of `rule` at `priority` on an event with a fixed time, whose
/// event id is derived from the rule so that distinct rules never collide.
pub(crate) fn alert(rule: &str, priority: Priority) -> Alert {
    let mut output_fields = serde_json::Map::new();
    output_fields.insert("ct.user".into(), "alice".into());
    output_fields.insert("ct.srcip".into(), "203.0.113.7".into());
    output_fields.insert("evt.time".into(), 1_704_067_200_000_000_000_i64.into());
    Alert {
        hostname: "host-1".into(),
        output: format!("{rule} happened (user=alice)"),
        output_fields,
        priority,
        rule: rule.into(),
        source: "aws_cloudtrail".into(),
        tags: vec!["aws".into()],
        time: "2024-01-01T00:00:00.000000000Z".into(),
        record: RecordContext {
            event_id: format!("evt-{rule}"),
            event_name: Some("ConsoleLogin".into()),
            event_source: Some("signin.amazonaws.com".into()),
            account_id: Some("123456789012".into()),
            region: Some("us-east-1".into()),
            source_ip: Some("203.0.113.7".into()),
            principal_arn: Some("arn:aws:iam::123456789012:user/alice".into()),
            resources: Vec::new(),
            event_time_ns: 1_704_067_200_000_000_000,
        },
    }
}
