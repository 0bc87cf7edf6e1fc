//! Loading rules and turning one CloudTrail record into alerts: the part of
//! the pipeline that `scan`, `run` and `rules test` share.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat};
use serde_json::Value;
use trailwatch_rules::{
    Detection, Event, EventError, EventMeta, LoadResult, Loader, Matching, RuleSet,
};
use trailwatch_sinks::{Alert, Priority, RecordContext, ResourceRef};

use crate::cli::{RuleArgs, RuleMatching};
use crate::metric_names as m;

include!(concat!(env!("OUT_DIR"), "/default_rules.rs"));

/// Event source name of every alert.
pub const SOURCE: &str = "aws_cloudtrail";

/// Loads the bundled default ruleset (unless disabled) and then every path
/// in order; folders are walked recursively in name order, skipping the
/// `*.test.yaml` case files that sit beside rules.
pub fn load_rules(paths: &[PathBuf], default_rules: bool) -> LoadResult {
    let mut loader = Loader::new();
    if default_rules {
        for (name, text) in DEFAULT_RULES {
            loader.add_source(&format!("<default>/{name}"), text);
        }
    }
    for path in paths {
        for file in rules_files(path) {
            loader.add_path(&file);
        }
    }
    loader.finish()
}

/// [`load_rules`] from command-line arguments.
pub fn load_rules_from_args(args: &RuleArgs) -> LoadResult {
    load_rules(&args.rules, !args.no_default_rules)
}

/// The rules files a path names: itself if it is not a folder, else every
/// `*.yaml`/`*.yml` below it except `*.test.yaml`, sorted.
pub fn rules_files(path: &Path) -> Vec<PathBuf> {
    if !path.is_dir() {
        return vec![path.to_path_buf()];
    }
    let mut files = Vec::new();
    collect_rules_files(path, &mut files);
    files.sort();
    files
}

fn collect_rules_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        // An unreadable folder is reported by the loader when given as a file.
        out.push(dir.to_path_buf());
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            collect_rules_files(&path, out);
        } else if (name.ends_with(".yaml") || name.ends_with(".yml")) && !name.contains(".test.") {
            out.push(path);
        }
    }
}

impl From<RuleMatching> for Matching {
    fn from(m: RuleMatching) -> Self {
        match m {
            RuleMatching::All => Matching::All,
            RuleMatching::First => Matching::First,
        }
    }
}

/// Evaluates records against a loaded ruleset and builds sink-ready alerts.
#[derive(Clone)]
pub struct Evaluator {
    ruleset: Arc<RuleSet>,
    matching: Matching,
    hostname: Arc<str>,
}

impl Evaluator {
    /// An evaluator over `ruleset`; alerts carry `hostname`.
    pub fn new(ruleset: Arc<RuleSet>, matching: RuleMatching, hostname: &str) -> Self {
        Evaluator {
            ruleset,
            matching: matching.into(),
            hostname: Arc::from(hostname),
        }
    }

    /// Evaluates one record (its JSON text) and appends its alerts to `out`.
    ///
    /// # Errors
    ///
    /// When the record is not a JSON object.
    pub fn evaluate(&self, raw: &str, num: u64, out: &mut Vec<Alert>) -> Result<(), EventError> {
        let meta = EventMeta {
            num,
            hostname: Arc::clone(&self.hostname),
        };
        let event = Event::parse(raw, meta)?;
        let mut detections = Vec::new();
        self.ruleset
            .evaluate(&event, self.matching, &mut detections);
        metrics::counter!(m::RECORDS_EVALUATED).increment(1);
        if detections.is_empty() {
            return Ok(());
        }
        let mut context = record_context(&event);
        // A record without a usable eventTime (missing, not RFC 3339, out of
        // range) would date its alerts 1970, and Falco receivers refuse a
        // zero time: such alerts carry the time they were raised instead.
        let time_ns = match event.time_ns() {
            0 => now_ns(),
            known => known,
        };
        context.event_time_ns = time_ns;
        let time = format_time(time_ns);
        out.extend(
            detections
                .into_iter()
                .map(|d| self.alert(d, &context, &time)),
        );
        Ok(())
    }

    fn alert(&self, mut detection: Detection, context: &RecordContext, time: &str) -> Alert {
        let priority = to_sink_priority(detection.priority);
        if detection.output_fields.get("evt.time") == Some(&serde_json::Value::from(0)) {
            detection
                .output_fields
                .insert("evt.time".into(), context.event_time_ns.into());
        }
        metrics::counter!(m::ALERTS, "rule" => detection.rule.clone(), "priority" => priority.as_str())
            .increment(1);
        Alert {
            hostname: self.hostname.to_string(),
            output: detection.output,
            output_fields: detection.output_fields,
            priority,
            rule: detection.rule,
            source: SOURCE.to_string(),
            tags: detection.tags,
            time: time.to_string(),
            record: context.clone(),
        }
    }
}

fn now_ns() -> i64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since_epoch.map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Both crates spell priorities the same way, so the name is the bridge.
fn to_sink_priority(p: trailwatch_rules::Priority) -> Priority {
    p.as_str().parse().unwrap_or(Priority::Debug)
}

/// RFC 3339 UTC with nanoseconds, as Falco writes alert times.
pub fn format_time(ns: i64) -> String {
    DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn record_context(event: &Event) -> RecordContext {
    let json = event.json();
    let text = |v: &Value| v.as_str().map(str::to_string);
    let at = |pointer: &str| json.pointer(pointer).and_then(text);
    let resources = json
        .get("resources")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|r| {
                    let arn = r.get("ARN").or_else(|| r.get("arn")).and_then(text)?;
                    Some(ResourceRef {
                        arn,
                        resource_type: r.get("type").and_then(text),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    RecordContext {
        event_id: at("/eventID").unwrap_or_default(),
        event_name: at("/eventName"),
        event_source: at("/eventSource"),
        account_id: at("/recipientAccountId").or_else(|| at("/userIdentity/accountId")),
        region: at("/awsRegion"),
        source_ip: at("/sourceIPAddress"),
        principal_arn: at("/userIdentity/arn"),
        resources,
        event_time_ns: event.time_ns(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_without_a_usable_event_time_alerts_at_the_time_raised() {
        let rules = "- rule: Any\n  desc: d\n  condition: ct.name = CreateUser\n  output: o\n  priority: INFO\n  source: aws_cloudtrail\n";
        let mut loader = Loader::new();
        loader.add_source("any.yaml", rules);
        let ruleset = loader.finish().ruleset.expect("rule loads");
        let evaluator = Evaluator::new(Arc::new(ruleset), RuleMatching::All, "h");
        let before = now_ns();
        for time in ["\"garbage\"", "null", "12345"] {
            let raw = format!(r#"{{"eventName":"CreateUser","eventID":"e","eventTime":{time}}}"#);
            let mut alerts = Vec::new();
            evaluator.evaluate(&raw, 1, &mut alerts).unwrap();
            let evt_time = alerts[0].output_fields["evt.time"].as_i64().unwrap();
            assert!(evt_time >= before, "{time}: {evt_time}");
            assert_eq!(alerts[0].record.event_time_ns, evt_time);
            assert_eq!(alerts[0].time, format_time(evt_time));
        }
        let mut alerts = Vec::new();
        let dated =
            r#"{"eventName":"CreateUser","eventID":"e","eventTime":"2024-01-01T00:00:00Z"}"#;
        evaluator.evaluate(dated, 1, &mut alerts).unwrap();
        assert_eq!(alerts[0].time, "2024-01-01T00:00:00.000000000Z");
    }

    #[test]
    fn times_print_with_nanoseconds_in_utc() {
        assert_eq!(
            format_time(1_394_140_974_000_000_000),
            "2014-03-06T21:22:54.000000000Z"
        );
    }

    #[test]
    fn default_rules_load_without_errors() {
        let result = load_rules(&[], true);
        let errors: Vec<String> = result
            .diagnostics
            .iter()
            .filter(|d| d.severity == trailwatch_rules::Severity::Error)
            .map(ToString::to_string)
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        assert!(result.ruleset.is_some());
    }

    #[test]
    fn rules_folders_skip_test_case_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        for name in ["b.yaml", "a.yml", "a.test.yaml", "sub/c.yaml", "notes.md"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let names: Vec<String> = rules_files(dir.path())
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a.yml", "b.yaml", "sub/c.yaml"]);
    }
}
