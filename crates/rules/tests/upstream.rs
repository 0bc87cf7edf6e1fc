//! The upstream Falco cloudtrail rules file, loaded unmodified.

use std::path::Path;
use std::sync::Arc;

use trailwatch_rules::{Detection, Event, EventMeta, Loader, Matching, Priority, RuleSet};

const RULES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/compat/falco/aws_cloudtrail_rules.yaml"
);
const EVENTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/compat/falco/events"
);

fn load(path: &Path) -> RuleSet {
    let mut loader = Loader::new();
    loader.add_path(path);
    let result = loader.finish();
    let errors: Vec<String> = result
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(ToString::to_string)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    result.ruleset.expect("no errors, so a rule set")
}

fn event(json: &str) -> Event {
    let meta = EventMeta {
        num: 1,
        hostname: Arc::from("test-host"),
    };
    Event::parse(json, meta).expect("valid test record")
}

fn fired(rules: &RuleSet, json: &str, matching: Matching) -> Vec<Detection> {
    let mut out = Vec::new();
    rules.evaluate(&event(json), matching, &mut out);
    out
}

#[test]
fn loads_without_warnings_about_sources() {
    let mut loader = Loader::new();
    loader.add_path(Path::new(RULES));
    let result = loader.finish();
    assert!(
        result.diagnostics.iter().all(|d| !d.is_error()),
        "{:?}",
        result.diagnostics
    );
    let rules = result.ruleset.expect("rule set");
    assert_eq!(rules.rules().len(), 22);
    assert_eq!(rules.enabled_count(), 20);
    let names: Vec<&str> = rules.rules().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names[0], "All Cloudtrail Events");
    assert_eq!(names[21], "CloudTrail Logging Disabled");
    let info = &rules.rules()[5];
    assert_eq!(info.name, "Create AWS user");
    assert_eq!(info.priority, Priority::Informational);
    assert_eq!(info.tags, ["cloud", "aws", "aws_iam"]);
    assert_eq!(info.source, "aws_cloudtrail");
}

/// A successful IAM call by `alice`, patched per test.
fn record(patch: serde_json::Value) -> String {
    let mut base = serde_json::json!({
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": "arn:aws:iam::123456789012:user/alice",
            "accountId": "123456789012",
            "userName": "alice"
        },
        "eventTime": "2024-05-01T10:00:00Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": "GetUser",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15",
        "requestParameters": {},
        "responseElements": null,
        "requestID": "req-1",
        "eventID": "evt-1",
        "eventType": "AwsApiCall",
        "recipientAccountId": "123456789012"
    });
    merge(&mut base, patch);
    base.to_string()
}

fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(&k) {
                    Some(slot) if v.is_object() && slot.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, p) => *b = p,
    }
}

fn rule_names(detections: &[Detection]) -> Vec<&str> {
    detections.iter().map(|d| d.rule.as_str()).collect()
}

/// For every upstream rule: a record that must fire it and a near miss that
/// must not.
#[test]
fn every_rule_fires_on_its_record_and_not_on_a_near_miss() {
    use serde_json::json;
    let mut rules = load(Path::new(RULES));
    rules.set_all_enabled();
    assert_eq!(rules.enabled_count(), 22);

    let console = |ty: &str, result: &str, mfa: &str| {
        json!({"eventName": "ConsoleLogin", "eventSource": "signin.amazonaws.com",
               "userIdentity": {"type": ty},
               "responseElements": {"ConsoleLogin": result},
               "additionalEventData": {"MFAUsed": mfa}})
    };
    let named = |name: &str| json!({"eventName": name});
    let failed = |name: &str| json!({"eventName": name, "errorCode": "AccessDenied"});
    let access_block = |value: bool| {
        json!({"eventName": "PutBucketPublicAccessBlock", "eventSource": "s3.amazonaws.com",
               "requestParameters": {"publicAccessBlock": "", "bucketName": "b1",
                   "PublicAccessBlockConfiguration": {"RestrictPublicBuckets": value,
                       "BlockPublicPolicy": true, "BlockPublicAcls": true, "IgnorePublicAcls": true}}})
    };
    let cases = [
        (
            "Console Login Through Assume Role",
            console("AssumedRole", "Success", "Yes"),
            console("AssumedRole", "Failure", "Yes"),
        ),
        (
            "Console Login Without MFA",
            console("IAMUser", "Success", "No"),
            console("IAMUser", "Success", "Yes"),
        ),
        (
            "Console Root Login Without MFA",
            console("Root", "Success", "No"),
            console("IAMUser", "Success", "No"),
        ),
        (
            "Deactivate MFA for Root User",
            json!({"eventName": "DeactivateMFADevice", "userIdentity": {"type": "Root"},
                   "requestParameters": {"userName": "AWS ROOT USER", "serialNumber": "arn:mfa"}}),
            json!({"eventName": "DeactivateMFADevice", "userIdentity": {"type": "Root"},
                   "requestParameters": {"userName": "alice", "serialNumber": "arn:mfa"}}),
        ),
        ("Create AWS user", named("CreateUser"), failed("CreateUser")),
        ("Create Group", named("CreateGroup"), named("CreateGroups")),
        ("Delete Group", named("DeleteGroup"), failed("DeleteGroup")),
        (
            "ECS Service Created",
            json!({"eventName": "CreateService", "eventSource": "ecs.amazonaws.com"}),
            json!({"eventName": "CreateService", "eventSource": "servicediscovery.amazonaws.com"}),
        ),
        (
            "ECS Task Run or Started",
            json!({"eventName": "StartTask", "eventSource": "ecs.amazonaws.com"}),
            json!({"eventName": "StopTask", "eventSource": "ecs.amazonaws.com"}),
        ),
        (
            "Create Lambda Function",
            named("CreateFunction20150331"),
            named("CreateFunction"),
        ),
        (
            "Update Lambda Function Code",
            named("UpdateFunctionCode20150331v2"),
            failed("UpdateFunctionCode20150331v2"),
        ),
        (
            "Update Lambda Function Configuration",
            named("UpdateFunctionConfiguration20150331v2"),
            failed("UpdateFunctionConfiguration20150331v2"),
        ),
        (
            "Run Instances",
            named("RunInstances"),
            failed("RunInstances"),
        ),
        (
            "Run Instances in Non-approved Region",
            json!({"eventName": "RunInstances", "awsRegion": "eu-west-3"}),
            json!({"eventName": "RunInstances", "awsRegion": "us-east-0"}),
        ),
        (
            "Delete Bucket Encryption",
            named("DeleteBucketEncryption"),
            failed("DeleteBucketEncryption"),
        ),
        (
            "Delete Bucket Public Access Block",
            access_block(false),
            access_block(true),
        ),
        ("List Buckets", named("ListBuckets"), failed("ListBuckets")),
        (
            "Put Bucket ACL",
            named("PutBucketAcl"),
            failed("PutBucketAcl"),
        ),
        (
            "Put Bucket Policy",
            named("PutBucketPolicy"),
            failed("PutBucketPolicy"),
        ),
        (
            "CloudTrail Trail Created",
            named("CreateTrail"),
            failed("CreateTrail"),
        ),
        (
            "CloudTrail Logging Disabled",
            named("StopLogging"),
            named("StartLogging"),
        ),
    ];
    for (rule, hit, miss) in cases {
        let hits = fired(&rules, &record(hit), Matching::All);
        assert!(
            rule_names(&hits).contains(&rule),
            "{rule} did not fire: {:?}",
            rule_names(&hits)
        );
        let misses = fired(&rules, &record(miss), Matching::All);
        assert!(
            !rule_names(&misses).contains(&rule),
            "{rule} fired on its near miss"
        );
    }
}

#[test]
fn the_catch_all_rule_needs_a_positive_event_number() {
    let mut rules = load(Path::new(RULES));
    rules.set_all_enabled();
    let json = record(serde_json::json!({"eventName": "GetUser"}));
    let mut out = Vec::new();
    rules.evaluate(&event(&json), Matching::All, &mut out);
    assert_eq!(rule_names(&out), ["All Cloudtrail Events"]);

    let zero = EventMeta {
        num: 0,
        hostname: Arc::from("h"),
    };
    out.clear();
    rules.evaluate(
        &Event::parse(&json, zero).expect("record"),
        Matching::All,
        &mut out,
    );
    assert!(out.is_empty());
}

#[test]
fn console_login_rules_need_an_identity_type() {
    let rules = load(Path::new(RULES));
    let no_type = record(serde_json::json!({
        "eventName": "ConsoleLogin",
        "userIdentity": {"type": null},
        "responseElements": {"ConsoleLogin": "Success"},
        "additionalEventData": {"MFAUsed": "No"}
    }));
    // `type: null` reads as "" (present), so `!= "AssumedRole"` holds.
    assert_eq!(
        rule_names(&fired(&rules, &no_type, Matching::All)),
        ["Console Login Without MFA"]
    );

    let mut absent: serde_json::Value = serde_json::from_str(&no_type).expect("json");
    absent["userIdentity"]
        .as_object_mut()
        .expect("object")
        .remove("type");
    // A missing type makes `!=` false: nothing fires.
    assert!(fired(&rules, &absent.to_string(), Matching::All).is_empty());
}

#[test]
fn first_match_hides_the_later_overlapping_rules() {
    let rules = load(Path::new(RULES));
    let root = record(serde_json::json!({
        "eventName": "ConsoleLogin",
        "userIdentity": {"type": "Root"},
        "responseElements": {"ConsoleLogin": "Success"},
        "additionalEventData": {"MFAUsed": "No"}
    }));
    assert_eq!(
        rule_names(&fired(&rules, &root, Matching::All)),
        [
            "Console Login Without MFA",
            "Console Root Login Without MFA"
        ]
    );
    assert_eq!(
        rule_names(&fired(&rules, &root, Matching::First)),
        ["Console Login Without MFA"]
    );

    let run = record(serde_json::json!({"eventName": "RunInstances", "awsRegion": "ap-south-1"}));
    assert_eq!(
        rule_names(&fired(&rules, &run, Matching::All)),
        ["Run Instances", "Run Instances in Non-approved Region"]
    );
    assert_eq!(
        rule_names(&fired(&rules, &run, Matching::First)),
        ["Run Instances"]
    );
}

#[test]
fn create_user_output_and_fields() {
    let rules = load(Path::new(RULES));
    let json = record(serde_json::json!({
        "eventName": "CreateUser",
        "requestParameters": {"userName": "bob"}
    }));
    let out = fired(&rules, &json, Matching::All);
    assert_eq!(out.len(), 1);
    let d = &out[0];
    assert_eq!(d.priority, Priority::Informational);
    assert_eq!(
        d.output,
        "A new AWS user has been created (requesting user=alice, requesting IP=198.51.100.7, \
         AWS region=us-east-1, new user created=bob)"
    );
    let fields = serde_json::Value::Object(d.output_fields.clone());
    assert_eq!(
        fields,
        serde_json::json!({
            "ct.user": "alice",
            "ct.srcip": "198.51.100.7",
            "ct.region": "us-east-1",
            "ct.request.username": "bob",
            "ct.id": "evt-1",
            "evt.time": 1_714_557_600_000_000_000_i64
        })
    );
}

#[test]
fn run_instances_prints_absent_fields_as_na() {
    let rules = load(Path::new(RULES));
    let json = record(serde_json::json!({
        "eventName": "RunInstances",
        "awsRegion": "us-east-0",
        "responseElements": {"reservationId": "r-1", "instancesSet": {"items": [{"instanceId": "i-9"}]}}
    }));
    let out = fired(&rules, &json, Matching::All);
    assert_eq!(rule_names(&out), ["Run Instances"]);
    assert!(
        out[0]
            .output
            .ends_with("subnet id=<NA>, reservation id=r-1)"),
        "{}",
        out[0].output
    );
    assert_eq!(
        out[0].output_fields["ct.response.subnetid"],
        serde_json::Value::Null
    );
    assert_eq!(
        out[0].output_fields["ct.request.availabilityzone"],
        serde_json::Value::Null
    );
}

/// Falco's own regression fixtures: one StartInstances record per file,
/// each giving exactly one alert from the test rule.
#[test]
fn falco_fixtures_give_one_create_instance_alert() {
    let rules = load(&Path::new(EVENTS).join("cloudtrail_create_instances.yaml"));
    for file in [
        "alice_start_instances.json",
        "alice_start_instances_bigevent.json",
    ] {
        let text = std::fs::read_to_string(Path::new(EVENTS).join(file)).expect("fixture");
        let log: serde_json::Value = serde_json::from_str(&text).expect("fixture json");
        let records = log["Records"].as_array().expect("records");
        let mut out = Vec::new();
        for (i, r) in records.iter().enumerate() {
            let meta = EventMeta {
                num: i as u64 + 1,
                hostname: Arc::from("h"),
            };
            let ev = Event::parse(&r.to_string(), meta).expect("record");
            rules.evaluate(&ev, Matching::First, &mut out);
        }
        assert_eq!(rule_names(&out), ["Cloudtrail Create Instance"], "{file}");
        assert_eq!(out[0].priority, Priority::Informational);
        assert!(
            out[0]
                .output
                .starts_with("EC2 Instance Created (evtnum=1 info=")
        );
        assert!(
            out[0].output.ends_with(" id=<NA> user name=Alice)"),
            "{}",
            out[0].output
        );
        assert_eq!(
            out[0].output_fields["json.value[/userIdentity/userName]"],
            "Alice"
        );
        assert_eq!(out[0].output_fields["evt.num"], 1);
    }
}
