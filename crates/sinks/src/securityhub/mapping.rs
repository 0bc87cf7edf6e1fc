//! Vocabulary translations from CloudTrail and Falco terms to ASFF terms.

use chrono::{DateTime, SecondsFormat, Utc};

/// Finding type when no tag says more: a rule on CloudTrail flags an API
/// call by some identity that looks wrong.
const DEFAULT_TYPE: &str = "Unusual Behaviors/User";

/// MITRE ATT&CK tactic tags (the `mitre_<tactic>` convention of Falco's
/// rules) and the ASFF type each maps to. ASFF's TTPs namespace has a
/// category per tactic up to Command and Control; exfiltration and impact
/// are ASFF Effects.
const TACTIC_TYPES: &[(&str, &str)] = &[
    ("mitre_reconnaissance", "TTPs/Discovery"),
    ("mitre_initial_access", "TTPs/Initial Access"),
    ("mitre_execution", "TTPs/Execution"),
    ("mitre_persistence", "TTPs/Persistence"),
    ("mitre_privilege_escalation", "TTPs/Privilege Escalation"),
    ("mitre_defense_evasion", "TTPs/Defense Evasion"),
    ("mitre_credential_access", "TTPs/Credential Access"),
    ("mitre_discovery", "TTPs/Discovery"),
    ("mitre_lateral_movement", "TTPs/Lateral Movement"),
    ("mitre_collection", "TTPs/Collection"),
    ("mitre_command_and_control", "TTPs/Command and Control"),
    ("mitre_exfiltration", "Effects/Data Exfiltration"),
    ("mitre_impact", "Effects/Resource Consumption"),
];

/// CloudTrail `resources[].type` values with an ASFF resource type;
/// anything else is `Other`, as ASFF asks for unknown types.
const RESOURCE_TYPES: &[(&str, &str)] = &[
    ("AWS::S3::Bucket", "AwsS3Bucket"),
    ("AWS::S3::Object", "AwsS3Object"),
    ("AWS::IAM::User", "AwsIamUser"),
    ("AWS::IAM::Role", "AwsIamRole"),
    ("AWS::IAM::Group", "AwsIamGroup"),
    ("AWS::IAM::Policy", "AwsIamPolicy"),
    ("AWS::IAM::AccessKey", "AwsIamAccessKey"),
    ("AWS::EC2::Instance", "AwsEc2Instance"),
    ("AWS::EC2::SecurityGroup", "AwsEc2SecurityGroup"),
    ("AWS::EC2::Volume", "AwsEc2Volume"),
    ("AWS::EC2::VPC", "AwsEc2Vpc"),
    ("AWS::KMS::Key", "AwsKmsKey"),
    ("AWS::Lambda::Function", "AwsLambdaFunction"),
    ("AWS::DynamoDB::Table", "AwsDynamoDbTable"),
    ("AWS::SNS::Topic", "AwsSnsTopic"),
    ("AWS::SQS::Queue", "AwsSqsQueue"),
    ("AWS::ECS::Cluster", "AwsEcsCluster"),
    ("AWS::CloudTrail::Trail", "AwsCloudTrailTrail"),
    ("AWS::RDS::DBInstance", "AwsRdsDbInstance"),
    ("AWS::SecretsManager::Secret", "AwsSecretsManagerSecret"),
];

/// ASFF `Types` for an alert's tags, in tag order without repeats.
pub(crate) fn finding_types(tags: &[String]) -> Vec<String> {
    let mut types: Vec<String> = Vec::new();
    for tag in tags {
        let lower = tag.to_ascii_lowercase();
        if let Some((_, asff)) = TACTIC_TYPES.iter().find(|(t, _)| *t == lower)
            && !types.iter().any(|t| t == asff)
        {
            types.push((*asff).to_string());
        }
    }
    if types.is_empty() {
        types.push(DEFAULT_TYPE.to_string());
    }
    types
}

/// ASFF resource type for a CloudTrail resource type.
pub(crate) fn resource_type(cloudtrail_type: Option<&str>) -> &'static str {
    cloudtrail_type
        .and_then(|t| {
            RESOURCE_TYPES
                .iter()
                .find(|(ct, _)| ct.eq_ignore_ascii_case(t))
        })
        .map_or("Other", |(_, asff)| asff)
}

/// The ARN partition of a region, as ASFF's `Partition` allows it.
pub(crate) fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// An ASFF timestamp (RFC 3339, UTC, milliseconds) for nanoseconds since
/// the epoch; an unknown time (zero) becomes now.
pub(crate) fn timestamp(nanos: i64) -> String {
    let at = if nanos > 0 {
        DateTime::from_timestamp_nanos(nanos)
    } else {
        Utc::now()
    };
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tactic_tags_become_ttp_types() {
        let tags: Vec<String> = [
            "aws",
            "MITRE_Persistence",
            "mitre_discovery",
            "mitre_reconnaissance",
        ]
        .map(String::from)
        .into();
        assert_eq!(finding_types(&tags), ["TTPs/Persistence", "TTPs/Discovery"]);
        assert_eq!(finding_types(&["aws_iam".to_string()]), [DEFAULT_TYPE]);
    }

    #[test]
    fn every_type_has_namespace_and_category() {
        for (_, asff) in TACTIC_TYPES {
            let parts: Vec<&str> = asff.split('/').collect();
            assert_eq!(parts.len(), 2, "{asff}");
            assert!(["TTPs", "Effects"].contains(&parts[0]), "{asff}");
        }
    }

    #[test]
    fn resource_types_and_partitions() {
        assert_eq!(resource_type(Some("AWS::S3::Bucket")), "AwsS3Bucket");
        assert_eq!(resource_type(Some("aws::iam::role")), "AwsIamRole");
        assert_eq!(resource_type(Some("AWS::Bedrock::Agent")), "Other");
        assert_eq!(resource_type(None), "Other");
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition("eu-west-1"), "aws");
    }

    #[test]
    fn timestamps_are_rfc3339_millis_utc() {
        assert_eq!(
            timestamp(1_704_067_200_123_456_789),
            "2024-01-01T00:00:00.123Z"
        );
        assert!(timestamp(0).ends_with('Z'));
    }
}
