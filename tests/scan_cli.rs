//! `trailwatch scan` over real CloudTrail logs and broken inputs.

mod support;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use support::{run, trailwatch};
use trailwatch_testkit::{alerts, rule_event_counts, shared_data};

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn sample(name: &str) -> PathBuf {
    trailwatch_testkit::workspace_root()
        .join("samples")
        .join(name)
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn every_shared_file_is_scanned_or_rejected_by_name() {
    let files = files_under(&shared_data(""));
    assert!(
        files.len() >= 60,
        "shared data missing? {} files",
        files.len()
    );
    let mut rejected = BTreeSet::new();
    for file in &files {
        let path = file.to_str().unwrap();
        let output = run(&["scan", path]);
        let err = stderr(&output);
        assert!(!err.contains("panicked"), "{path}: {err}");
        assert!(
            err.contains("scanned 1 inputs"),
            "{path}: no summary: {err}"
        );
        if !output.status.success() {
            assert!(
                err.contains(&format!("error: {path}: ")),
                "{path}: error not named: {err}"
            );
            rejected.insert(file.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    // Exactly the inputs that are not CloudTrail logs are rejected: the
    // malformed JSON fixture, the test-harness files, the TSV and Markdown.
    for name in &rejected {
        let expected_reject = name == "SerializerTestFileBadJsonFormat.json"
            || name.ends_with(".tsv")
            || name.ends_with(".md")
            || (name.starts_with("cloudtrail_") && !name.ends_with(".records.json"));
        assert!(expected_reject, "{name} should have been scanned");
    }
    assert!(rejected.contains("SerializerTestFileBadJsonFormat.json"));
    assert!(rejected.contains("cloudtrail_insights.json"));
}

/// (file, eventID, rule) of real records the default ruleset must flag.
const REAL_DETECTIONS: &[(&str, &str, &str)] = &[
    (
        "streamalert/cloudtrail_mfa_policy_abuse_attempt.records.json",
        "123aaac1-123d-456a-1k29a4dd2kea",
        "MFA Device Deactivated Or Deleted",
    ),
    (
        "panther-analysis/panther_cloudtrail_rule_tests.json.gz",
        "12345678-1234-1234-1234-111111111111",
        "S3 Bucket Encryption Removed",
    ),
    (
        "invictus-ir-aws_dataset/218007301253_CloudTrail_us-east-1_20230710T1200Z_iLj9fb7yyUG9X4Bf.json.gz",
        "a4ff516f-8f9a-4c36-9700-b31a883c1a6e",
        "Elastic IP Address Allocated",
    ),
    (
        "panther-analysis/panther_cloudtrail_rule_tests.json.gz",
        "1",
        "IAM User Created",
    ),
    (
        "panther-analysis/panther_cloudtrail_rule_tests.json.gz",
        "1",
        "Administrator Policy Attached",
    ),
];

#[test]
fn the_six_detections_fire_on_real_records() {
    for (file, event_id, rule) in REAL_DETECTIONS {
        let output = run(&["scan", shared_data(file).to_str().unwrap()]);
        assert!(output.status.success(), "{file}: {}", stderr(&output));
        let found = alerts(&output.stdout);
        let hit = found
            .iter()
            .find(|a| a["rule"] == *rule && a["output_fields"]["ct.id"] == *event_id);
        let hit = hit.unwrap_or_else(|| panic!("{rule} did not fire on {event_id} in {file}"));
        assert_eq!(hit["source"], "aws_cloudtrail");
        assert!(hit["time"].as_str().unwrap().ends_with('Z'));
        assert!(hit["output_fields"]["evt.time"].as_i64().unwrap() > 0);
    }
    // The Panther CreateUser and AttachUserPolicy records both name new-user.
    let output = run(&[
        "scan",
        shared_data("panther-analysis/panther_cloudtrail_rule_tests.json.gz")
            .to_str()
            .unwrap(),
    ]);
    let found = alerts(&output.stdout);
    let admin = found
        .iter()
        .find(|a| a["rule"] == "Administrator Policy Attached")
        .unwrap();
    assert!(
        admin["output"]
            .as_str()
            .unwrap()
            .contains("AdministratorAccess"),
        "{admin}"
    );
}

fn record(
    event_source: &str,
    event_name: &str,
    request: serde_json::Value,
    id: &str,
) -> serde_json::Value {
    serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": "arn:aws:iam::111122223333:user/alice",
                         "accountId": "111122223333", "userName": "alice"},
        "eventTime": "2026-03-01T12:00:00Z", "eventSource": event_source, "eventName": event_name,
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2",
        "requestParameters": request, "responseElements": null, "eventID": id,
        "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true,
        "recipientAccountId": "111122223333"
    })
}

#[test]
fn look_alikes_stay_quiet() {
    let records = vec![
        record(
            "iam.amazonaws.com",
            "AttachUserPolicy",
            serde_json::json!({"userName": "bob", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
            "la-1",
        ),
        record(
            "iam.amazonaws.com",
            "GetUser",
            serde_json::json!({"userName": "bob"}),
            "la-2",
        ),
        record(
            "ec2.amazonaws.com",
            "DescribeAddresses",
            serde_json::json!({"filterSet": {}}),
            "la-3",
        ),
        record(
            "s3.amazonaws.com",
            "PutBucketEncryption",
            serde_json::json!({"bucketName": "b"}),
            "la-4",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lookalikes.json");
    std::fs::write(&path, serde_json::json!({ "Records": records }).to_string()).unwrap();
    let output = run(&["scan", path.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let six = [
        "MFA Device Deactivated Or Deleted",
        "S3 Bucket Encryption Removed",
        "Elastic IP Address Allocated",
        "IAM User Created",
        "Administrator Policy Attached",
        "IAM User Added To Group",
    ];
    let noisy: Vec<_> = alerts(&output.stdout)
        .into_iter()
        .filter(|a| six.contains(&a["rule"].as_str().unwrap()))
        .collect();
    assert!(noisy.is_empty(), "{noisy:#?}");
}

#[test]
fn the_bundled_samples_raise_the_story_alerts() {
    let samples = trailwatch_testkit::workspace_root().join("samples");
    let output = run(&["scan", samples.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let rules: BTreeSet<String> = alerts(&output.stdout)
        .iter()
        .map(|a| a["rule"].as_str().unwrap().to_string())
        .collect();
    for rule in [
        "IAM User Created",
        "IAM User Added To Group",
        "Administrator Policy Attached",
        "MFA Device Deactivated Or Deleted",
        "Elastic IP Address Allocated",
        "S3 Bucket Encryption Removed",
        "Console Login Without MFA",
        "CloudTrail Logging Stopped",
    ] {
        assert!(rules.contains(rule), "{rule} missing from {rules:?}");
    }
    assert!(
        stderr(&output).contains("scanned 2 inputs, 17 records"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn broken_inputs_are_named_and_the_rest_still_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let bad_gzip = dir.path().join("a_bad.json.gz");
    std::fs::write(
        &bad_gzip,
        [
            0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x01, 0x02,
        ],
    )
    .unwrap();
    let bad_json = dir.path().join("b_bad.json");
    std::fs::write(&bad_json, r#"{"Records": [{"eventName": "CreateUser""#).unwrap();
    let no_records = dir.path().join("c_norecords.json");
    std::fs::write(&no_records, r#"{"logFiles": []}"#).unwrap();
    let good = dir.path().join("d_good.json");
    std::fs::copy(
        sample("111122223333_CloudTrail_us-east-1_20260301T1210Z_Hk3mN8pVzE5sJ9qw.json"),
        &good,
    )
    .unwrap();

    let output = run(&["scan", dir.path().to_str().unwrap()]);
    assert!(!output.status.success());
    let err = stderr(&output);
    for (path, what) in [
        (&bad_gzip, "gzip"),
        (&bad_json, "json"),
        (&no_records, "Records"),
    ] {
        let line = err
            .lines()
            .find(|l| l.starts_with(&format!("error: {}: ", path.display())))
            .unwrap_or_else(|| panic!("{} not reported: {err}", path.display()));
        assert!(line.contains(what), "{line}");
    }
    let rules: Vec<String> = alerts(&output.stdout)
        .iter()
        .map(|a| a["rule"].as_str().unwrap().to_string())
        .collect();
    assert!(
        rules.contains(&"Elastic IP Address Allocated".to_string()),
        "{rules:?}"
    );
    assert!(err.contains("scanned 4 inputs"), "{err}");
}

#[test]
fn stdin_and_files_give_the_same_alerts_and_gzip_is_told_by_content() {
    let path = sample("111122223333_CloudTrail_us-east-1_20260301T1205Z_Qx7bY2iLwT0aR1cd.json.gz");
    let file = path.to_str().unwrap();
    let from_file = run(&["scan", file]);
    // The same gzip bytes under a plain `.json` name, and on stdin.
    let dir = tempfile::tempdir().unwrap();
    let renamed = dir.path().join("plain-name.json");
    std::fs::copy(file, &renamed).unwrap();
    let from_renamed = run(&["scan", renamed.to_str().unwrap()]);

    let mut child = trailwatch()
        .args(["scan", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(file).unwrap())
        .unwrap();
    let from_stdin = child.wait_with_output().unwrap();

    let expected = rule_event_counts(&alerts(&from_file.stdout));
    assert!(expected.len() >= 5, "{expected:?}");
    assert_eq!(rule_event_counts(&alerts(&from_renamed.stdout)), expected);
    assert_eq!(rule_event_counts(&alerts(&from_stdin.stdout)), expected);
    assert!(from_stdin.status.success(), "{}", stderr(&from_stdin));
}

#[test]
fn upstream_falco_rules_scan_the_shared_logs() {
    let rules = trailwatch_testkit::shared_dir().join("compat/falco/aws_cloudtrail_rules.yaml");
    let output = run(&[
        "scan",
        "--no-default-rules",
        "--rules",
        rules.to_str().unwrap(),
        shared_data("").to_str().unwrap(),
    ]);
    let err = stderr(&output);
    assert!(
        !err.contains("panicked") && !err.contains(": error:"),
        "{err}"
    );
    let found = alerts(&output.stdout);
    let rules: BTreeSet<&str> = found.iter().map(|a| a["rule"].as_str().unwrap()).collect();
    for rule in [
        "Console Login Without MFA",
        "Create AWS user",
        "CloudTrail Logging Disabled",
        "Put Bucket ACL",
    ] {
        assert!(rules.contains(rule), "{rule} missing from {rules:?}");
    }
    // Falco's output format: every %field of the template, `null` when absent.
    let login = found
        .iter()
        .find(|a| a["rule"] == "Console Login Without MFA")
        .unwrap();
    assert_eq!(login["priority"], "Critical");
    for key in ["ct.user", "ct.srcip", "ct.region", "ct.id", "evt.time"] {
        assert!(
            login["output_fields"].get(key).is_some(),
            "{key} missing: {login}"
        );
    }
}

#[test]
fn rule_matching_first_reproduces_falcos_default() {
    let login = serde_json::json!({"Records": [{
        "eventVersion": "1.08", "eventTime": "2026-03-01T12:00:00Z", "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin", "awsRegion": "us-east-1", "sourceIPAddress": "192.0.2.1",
        "userIdentity": {"type": "Root", "principalId": "111122223333", "arn": "arn:aws:iam::111122223333:root",
                         "accountId": "111122223333"},
        "responseElements": {"ConsoleLogin": "Success"},
        "additionalEventData": {"MFAUsed": "No"}, "eventID": "root-login", "eventType": "AwsConsoleSignIn",
        "recipientAccountId": "111122223333"
    }]});
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("login.json");
    std::fs::write(&path, login.to_string()).unwrap();
    let upstream = trailwatch_testkit::shared_dir().join("compat/falco/aws_cloudtrail_rules.yaml");
    let rules_of = |matching: &str| -> Vec<String> {
        let output = run(&[
            "scan",
            "--no-default-rules",
            "--rules",
            upstream.to_str().unwrap(),
            "--rule-matching",
            matching,
            path.to_str().unwrap(),
        ]);
        assert!(output.status.success(), "{}", stderr(&output));
        alerts(&output.stdout)
            .iter()
            .map(|a| a["rule"].as_str().unwrap().to_string())
            .collect()
    };
    // The root-specific rule comes later in the file, so first-match hides it.
    assert_eq!(rules_of("first"), ["Console Login Without MFA"]);
    assert_eq!(
        rules_of("all"),
        [
            "Console Login Without MFA",
            "Console Root Login Without MFA"
        ]
    );
}

#[test]
fn records_that_are_not_objects_break_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.json");
    std::fs::write(
        &path,
        r#"{"Records": [1, "text", {"eventName": "GetUser"}]}"#,
    )
    .unwrap();
    let output = run(&["scan", path.to_str().unwrap()]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains(&format!("error: {}: record 0: ", path.display())),
        "{err}"
    );
    assert!(
        err.contains("scanned 1 inputs, 3 records, 0 alerts, 2 errors"),
        "{err}"
    );
}

#[test]
fn a_missing_path_and_an_empty_folder_are_errors() {
    let output = run(&["scan", "/nonexistent/trail.json"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("error: /nonexistent/trail.json: cannot read: No such file or directory"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let output = run(&["scan", dir.path().to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("no CloudTrail log files"),
        "{}",
        stderr(&output)
    );
}
