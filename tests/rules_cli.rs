//! `trailwatch rules ...`, `fields` and `config check` from the command line.

mod support;

use support::{run, trailwatch};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn validate_reports_every_error_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "- rule: Unbalanced\n  desc: d\n  condition: (ct.name = A\n  output: o\n  priority: WARNING\n  source: aws_cloudtrail\n\
         - rule: Bad priority\n  desc: d\n  condition: ct.name = A\n  output: o\n  priority: SEVERE\n  source: aws_cloudtrail\n\
         - rule: Unknown field\n  desc: d\n  condition: ct.nope = A\n  output: o\n  priority: INFO\n  source: aws_cloudtrail\n",
    )
    .unwrap();
    let output = run(&[
        "rules",
        "validate",
        "--no-default-rules",
        "--rules",
        bad.to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let err = text(&output.stderr);
    let path = bad.display().to_string();
    let errors: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with(&format!("{path}:")) && l.contains("error"))
        .collect();
    assert_eq!(errors.len(), 3, "{err}");
    for (line, what) in [(3, "Unbalanced"), (11, "SEVERE"), (15, "ct.nope")] {
        let prefix = format!("{path}:{line}:");
        assert!(
            errors
                .iter()
                .any(|l| l.starts_with(&prefix) && l.contains(what)),
            "{what}: {err}"
        );
    }
    assert!(!err.contains("panicked"));
}

#[test]
fn validate_accepts_the_upstream_falco_rules_and_the_defaults() {
    let upstream = trailwatch_testkit::shared_dir().join("compat/falco/aws_cloudtrail_rules.yaml");
    let output = run(&["rules", "validate", "--rules", upstream.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        !text(&output.stderr).contains("error"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn list_prints_one_json_object_per_rule() {
    let upstream = trailwatch_testkit::shared_dir().join("compat/falco/aws_cloudtrail_rules.yaml");
    let output = run(&[
        "rules",
        "list",
        "--json",
        "--no-default-rules",
        "--rules",
        upstream.to_str().unwrap(),
    ]);
    assert!(output.status.success());
    let rules: Vec<serde_json::Value> = text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rules.len(), 22);
    assert_eq!(rules.iter().filter(|r| r["enabled"] == false).count(), 2);
    let login = rules
        .iter()
        .find(|r| r["name"] == "Console Login Without MFA")
        .unwrap();
    assert_eq!(login["priority"], "Critical");
    assert_eq!(login["source"], "aws_cloudtrail");
    assert!(
        login["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "aws_console")
    );
}

#[test]
fn fields_lists_every_cloudtrail_field() {
    let output = run(&["fields", "--json"]);
    assert!(output.status.success());
    let fields: Vec<serde_json::Value> = text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let cloudtrail = fields
        .iter()
        .filter(|f| {
            let name = f["name"].as_str().unwrap();
            ["ct.", "s3.", "ec2.", "ecr.", "iam."]
                .iter()
                .any(|p| name.starts_with(p))
        })
        .count();
    assert_eq!(cloudtrail, 73);
    let imageids = fields.iter().find(|f| f["name"] == "ec2.imageids").unwrap();
    assert_eq!(imageids["type"], "list");
    let bytes = fields.iter().find(|f| f["name"] == "s3.bytes").unwrap();
    assert_eq!(bytes["type"], "uint64");
    assert!(fields.iter().any(|f| f["name"] == "json.value"));
}

#[test]
fn config_check_prints_effective_settings_with_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        "queue_url: http://127.0.0.1:1/123456789012/q\nmax_in_flight: 3\nsinks:\n  - stdout\n  - type: webhook\n    url: https://hooks.example.test/x\n    headers:\n      Authorization: Bearer hunter2\n",
    )
    .unwrap();
    let output = trailwatch()
        .args(["config", "check", "--config", config.to_str().unwrap()])
        .env("TRAILWATCH_SHUTDOWN_GRACE_SECS", "9")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let effective: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(effective["max_in_flight"], 3);
    assert_eq!(effective["shutdown_grace_secs"], 9);
    assert_eq!(effective["metrics_addr"], "0.0.0.0:9090");
    assert!(!text(&output.stdout).contains("hunter2"));

    std::fs::write(&config, "max_in_flight: lots\n").unwrap();
    let output = run(&["config", "check", "--config", config.to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("max_in_flight"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn rules_test_runs_the_bundled_cases() {
    let rules = trailwatch_testkit::workspace_root().join("rules");
    let output = run(&["rules", "test", rules.to_str().unwrap()]);
    let out = text(&output.stdout);
    assert!(output.status.success(), "{out}{}", text(&output.stderr));
    let summary = out.lines().last().unwrap();
    assert!(summary.ends_with(" passed, 0 failed"), "{summary}");
    let passed: usize = summary.split(' ').next().unwrap().parse().unwrap();
    assert!(passed >= 120, "{summary}");
}

#[test]
fn rules_test_with_no_cases_fails() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.test.yaml"), "[]\n").unwrap();
    let output = run(&["rules", "test", dir.path().to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("hold no cases"),
        "{}",
        text(&output.stderr)
    );
}
