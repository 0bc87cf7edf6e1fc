//! Helpers shared by the binary's integration tests.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

/// The trailwatch binary under test.
pub fn trailwatch() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trailwatch"));
    cmd.env_remove("TRAILWATCH_CONFIG")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

/// Runs `trailwatch ARGS` to completion.
pub fn run(args: &[&str]) -> Output {
    trailwatch()
        .args(args)
        .output()
        .expect("running trailwatch")
}

/// The real CloudTrail data beside the checkout.
pub fn shared_data(rel: &str) -> PathBuf {
    trailwatch_testkit::shared_dir()
        .join("data/cloudtrail")
        .join(rel)
}

/// Parses each stdout line as a JSON alert.
pub fn alerts(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// (rule, eventID) of every alert, counted.
pub fn rule_event_counts(alerts: &[serde_json::Value]) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for alert in alerts {
        let rule = alert["rule"].as_str().unwrap_or_default().to_string();
        let id = alert["output_fields"]["ct.id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        *counts.entry((rule, id)).or_insert(0) += 1;
    }
    counts
}
