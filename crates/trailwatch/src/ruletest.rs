//! Data-driven rule tests: YAML case files stored beside the rules.
//!
//! A case file (`*.test.yaml`) is a YAML sequence of cases. Each case names
//! one CloudTrail record, either inline or inside a record file, and lists
//! the rules that must fire on it and, optionally, rules that must not:
//!
//! ```yaml
//! - name: admin policy attached to a user fires
//!   record: { eventName: AttachUserPolicy, ... }
//!   expect: [Administrator Policy Attached]
//!   expect_not: [IAM Inline Policy Changed]
//! - name: real record from a CloudTrail log file
//!   file: ../data/log.json.gz     # relative to the case file
//!   event_id: 3ad01b1d-...        # or `index: 7`
//!   expect: []
//!   expect_not: [EBS Snapshot Shared With Another Account]
//! ```
//!
//! Record files are CloudTrail log files, `{"Records": [...]}`, plain or
//! gzipped (recognised by the `.gz` suffix). Every record is evaluated with
//! [`Matching::All`], so a case sees every rule that matches.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use anyhow::{Context, bail};
use saphyr::{LoadableYamlNode, ScalarOwned, YamlOwned};
use serde_json::Value;
use trailwatch_rules::{Event, EventMeta, Matching, RuleSet};

/// Suffix that marks a rule test file; the rules loader skips such files.
const CASE_FILE_SUFFIX: &str = ".test.yaml";

/// Keys a case may have; anything else is reported, so a typo such as
/// `expects:` cannot silently turn a case into one that always passes.
const CASE_KEYS: &[&str] = &[
    "name",
    "record",
    "file",
    "event_id",
    "index",
    "expect",
    "expect_not",
];

/// Outcome of running case files against a ruleset.
#[derive(Debug, Default)]
pub struct Report {
    /// Number of cases run.
    pub cases: usize,
    /// One entry per failed case.
    pub failures: Vec<Failure>,
    /// Loaded rules that no case expects to fire.
    pub rules_without_positive_case: Vec<String>,
    /// Loaded rules that no case expects to stay quiet.
    pub rules_without_negative_case: Vec<String>,
}

/// A case whose expectations were not met, or that could not be run.
#[derive(Debug)]
pub struct Failure {
    /// The case file.
    pub file: PathBuf,
    /// The case's `name`.
    pub case: String,
    /// What went wrong.
    pub problem: Problem,
}

/// Why a case failed.
#[derive(Debug)]
pub enum Problem {
    /// The record was evaluated and the detections differ from the case.
    Mismatch {
        /// Rules listed in `expect` that did not fire.
        missing: Vec<String>,
        /// Rules listed in `expect_not` that fired.
        unexpected: Vec<String>,
        /// Every rule that fired, in ruleset order.
        got: Vec<String>,
    },
    /// The case is malformed or names something that does not exist.
    Invalid(String),
}

/// Lists the case files to run: files are kept as given, folders are
/// searched recursively for `*.test.yaml`, sorted by path.
pub fn find_case_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            collect_case_files(path, &mut found);
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    out
}

fn collect_case_files(dir: &Path, out: &mut Vec<PathBuf>) {
    // Unreadable folders are skipped here; an explicit path that does not
    // exist is kept by the caller and fails when it is read.
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_case_files(&path, out);
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(CASE_FILE_SUFFIX))
        {
            out.push(path);
        }
    }
}

/// Runs every case of `files` against `ruleset`.
///
/// # Errors
///
/// Fails when a case file cannot be read or is not a YAML sequence. Problems
/// with single cases (unknown rule names, missing records, unreadable record
/// files) are reported as [`Failure`]s so that one bad case does not hide
/// the others.
pub fn run_case_files(ruleset: &RuleSet, files: &[PathBuf]) -> anyhow::Result<Report> {
    let known: BTreeSet<&str> = ruleset.rules().iter().map(|r| r.name.as_str()).collect();
    let mut runner = Runner {
        ruleset,
        known,
        record_files: HashMap::new(),
        num: 0,
    };
    let mut report = Report::default();
    let mut positive = BTreeSet::new();
    let mut negative = BTreeSet::new();

    for file in files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read case file {}", file.display()))?;
        let docs = YamlOwned::load_from_str(&text)
            .with_context(|| format!("case file {} is not valid YAML", file.display()))?;
        let cases = match docs.as_slice() {
            [] => continue,
            [YamlOwned::Sequence(cases)] => cases,
            _ => bail!(
                "case file {} must hold one YAML sequence of cases",
                file.display()
            ),
        };
        let base = file.parent().unwrap_or(Path::new("."));

        for (i, node) in cases.iter().enumerate() {
            report.cases += 1;
            let (case, problem) = match Case::parse(node) {
                Ok(case) => {
                    positive.extend(case.expect.iter().cloned());
                    negative.extend(case.expect_not.iter().cloned());
                    let problem = runner.run(&case, base);
                    (case.name, problem)
                }
                Err(message) => (format!("case #{}", i + 1), Some(Problem::Invalid(message))),
            };
            if let Some(problem) = problem {
                report.failures.push(Failure {
                    file: file.clone(),
                    case,
                    problem,
                });
            }
        }
    }

    for rule in ruleset.rules().iter().filter(|r| r.enabled) {
        if !positive.contains(&rule.name) {
            report.rules_without_positive_case.push(rule.name.clone());
        }
        if !negative.contains(&rule.name) {
            report.rules_without_negative_case.push(rule.name.clone());
        }
    }
    Ok(report)
}

/// One parsed case.
struct Case {
    name: String,
    source: RecordSource,
    expect: Vec<String>,
    expect_not: Vec<String>,
}

enum RecordSource {
    Inline(Value),
    File { path: String, pick: Pick },
}

enum Pick {
    EventId(String),
    Index(usize),
}

impl Case {
    fn parse(node: &YamlOwned) -> Result<Case, String> {
        let Some(map) = node.as_mapping() else {
            return Err("a case must be a mapping".into());
        };
        for key in map.keys() {
            match key.as_str() {
                Some(k) if CASE_KEYS.contains(&k) => {}
                _ => return Err(format!("unknown key {}", to_json(key))),
            }
        }
        let get = |k: &str| node.as_mapping_get(k);
        let name = get("name")
            .and_then(|n| n.as_str())
            .ok_or("missing string `name`")?
            .to_string();
        let in_case = |e: String| format!("{name}: {e}");

        let source = match (get("record"), get("file")) {
            (Some(record), None) if record.is_mapping() => RecordSource::Inline(to_json(record)),
            (Some(_), None) => return Err(in_case("`record` must be a mapping".into())),
            (None, Some(file)) => {
                let path = file
                    .as_str()
                    .ok_or_else(|| in_case("`file` must be a string".into()))?;
                let pick = match (get("event_id"), get("index")) {
                    (Some(id), None) => Pick::EventId(
                        scalar_text(id)
                            .ok_or_else(|| in_case("`event_id` must be a scalar".into()))?,
                    ),
                    (None, Some(index)) => Pick::Index(
                        index
                            .as_integer()
                            .and_then(|i| usize::try_from(i).ok())
                            .ok_or_else(|| in_case("`index` must be a number >= 0".into()))?,
                    ),
                    _ => {
                        return Err(in_case(
                            "`file` needs exactly one of `event_id` or `index`".into(),
                        ));
                    }
                };
                RecordSource::File {
                    path: path.to_string(),
                    pick,
                }
            }
            _ => return Err(in_case("give exactly one of `record` or `file`".into())),
        };

        let expect = match get("expect") {
            Some(list) => string_list(list)
                .ok_or_else(|| in_case("`expect` must be a list of rule names".into()))?,
            None => {
                return Err(in_case(
                    "missing `expect` (write `expect: []` for a negative case)".into(),
                ));
            }
        };
        let expect_not = match get("expect_not") {
            Some(list) => string_list(list)
                .ok_or_else(|| in_case("`expect_not` must be a list of rule names".into()))?,
            None => Vec::new(),
        };
        if expect.is_empty() && expect_not.is_empty() {
            return Err(in_case(
                "a case must expect or forbid at least one rule".into(),
            ));
        }
        Ok(Case {
            name,
            source,
            expect,
            expect_not,
        })
    }
}

/// State shared by the cases of one run.
struct Runner<'a> {
    ruleset: &'a RuleSet,
    known: BTreeSet<&'a str>,
    /// Record files already read, by resolved path.
    record_files: HashMap<PathBuf, Rc<Vec<Value>>>,
    num: u64,
}

impl Runner<'_> {
    /// Evaluates one case; `None` means it passed.
    fn run(&mut self, case: &Case, base: &Path) -> Option<Problem> {
        let unknown: Vec<&str> = case
            .expect
            .iter()
            .chain(&case.expect_not)
            .map(String::as_str)
            .filter(|name| !self.known.contains(name))
            .collect();
        if !unknown.is_empty() {
            return Some(Problem::Invalid(format!(
                "no such rule loaded: {}",
                unknown.join(", ")
            )));
        }
        if let Some(both) = case.expect.iter().find(|r| case.expect_not.contains(r)) {
            return Some(Problem::Invalid(format!(
                "rule {both:?} is both expected and forbidden"
            )));
        }

        let record = match &case.source {
            RecordSource::Inline(record) => record.clone(),
            RecordSource::File { path, pick } => match self.pick_record(&base.join(path), pick) {
                Ok(record) => record,
                Err(message) => return Some(Problem::Invalid(message)),
            },
        };
        self.num += 1;
        let meta = EventMeta {
            num: self.num,
            hostname: Arc::from("ruletest"),
        };
        let event = match Event::parse(&record.to_string(), meta) {
            Ok(event) => event,
            Err(e) => return Some(Problem::Invalid(format!("record does not parse: {e}"))),
        };
        let mut detections = Vec::new();
        self.ruleset
            .evaluate(&event, Matching::All, &mut detections);
        let got: Vec<String> = detections.into_iter().map(|d| d.rule).collect();

        let missing: Vec<String> = case
            .expect
            .iter()
            .filter(|r| !got.contains(r))
            .cloned()
            .collect();
        let unexpected: Vec<String> = case
            .expect_not
            .iter()
            .filter(|r| got.contains(r))
            .cloned()
            .collect();
        if missing.is_empty() && unexpected.is_empty() {
            None
        } else {
            Some(Problem::Mismatch {
                missing,
                unexpected,
                got,
            })
        }
    }

    fn pick_record(&mut self, path: &Path, pick: &Pick) -> Result<Value, String> {
        let records = match self.record_files.get(path) {
            Some(records) => Rc::clone(records),
            None => {
                let records = Rc::new(read_record_file(path)?);
                self.record_files
                    .insert(path.to_path_buf(), Rc::clone(&records));
                records
            }
        };
        let shown = path.display();
        match pick {
            Pick::Index(i) => records
                .get(*i)
                .cloned()
                .ok_or_else(|| format!("{shown} has {} records, no index {i}", records.len())),
            Pick::EventId(id) => {
                let mut found = records
                    .iter()
                    .filter(|r| r.get("eventID").and_then(Value::as_str) == Some(id));
                match (found.next(), found.next()) {
                    (Some(record), None) => Ok(record.clone()),
                    (None, _) => Err(format!("{shown} has no record with eventID {id}")),
                    (Some(_), Some(_)) => Err(format!(
                        "{shown} has several records with eventID {id}; use `index`"
                    )),
                }
            }
        }
    }
}

/// Reads a CloudTrail log file (`{"Records": [...]}`), gunzipping `*.gz`.
fn read_record_file(path: &Path) -> Result<Vec<Value>, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let text = if path.extension().is_some_and(|ext| ext == "gz") {
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot gunzip {shown}: {e}"))?;
        text
    } else {
        String::from_utf8(bytes).map_err(|e| format!("{shown} is not UTF-8: {e}"))?
    };
    let value: Value =
        serde_json::from_str(&text).map_err(|e| format!("{shown} is not JSON: {e}"))?;
    match value {
        Value::Object(mut map) => match map.remove("Records") {
            Some(Value::Array(records)) => Ok(records),
            _ => Err(format!("{shown} has no \"Records\" array")),
        },
        _ => Err(format!("{shown} is not a CloudTrail log file object")),
    }
}

/// Converts a YAML node to JSON: scalars keep their YAML type, so quote
/// values that must stay strings (account ids, `"1.08"`).
fn to_json(node: &YamlOwned) -> Value {
    match node {
        YamlOwned::Value(scalar) => match scalar {
            ScalarOwned::Null => Value::Null,
            ScalarOwned::Boolean(b) => Value::Bool(*b),
            ScalarOwned::Integer(i) => Value::from(*i),
            ScalarOwned::FloatingPoint(f) => {
                serde_json::Number::from_f64(f.into_inner()).map_or(Value::Null, Value::Number)
            }
            ScalarOwned::String(s) => Value::String(s.clone()),
        },
        YamlOwned::Sequence(items) => Value::Array(items.iter().map(to_json).collect()),
        YamlOwned::Mapping(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (scalar_text(k).unwrap_or_default(), to_json(v)))
                .collect(),
        ),
        YamlOwned::Tagged(_, inner) => to_json(inner),
        YamlOwned::Representation(text, ..) => Value::String(text.clone()),
        YamlOwned::Alias(_) | YamlOwned::BadValue => Value::Null,
    }
}

/// The text of a scalar node, whatever its YAML type.
fn scalar_text(node: &YamlOwned) -> Option<String> {
    match to_json(node) {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn string_list(node: &YamlOwned) -> Option<Vec<String>> {
    node.as_vec()?
        .iter()
        .map(|item| item.as_str().map(str::to_string))
        .collect()
}

// === impl Display ===

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = format!("{}: {:?}", self.file.display(), self.case);
        match &self.problem {
            Problem::Invalid(message) => writeln!(f, "{at}: invalid case: {message}"),
            Problem::Mismatch {
                missing,
                unexpected,
                got,
            } => {
                for rule in missing {
                    writeln!(f, "{at}: rule {rule:?} expected to fire, got {got:?}")?;
                }
                for rule in unexpected {
                    writeln!(f, "{at}: rule {rule:?} expected not to fire, got {got:?}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for failure in &self.failures {
            write!(f, "{failure}")?;
        }
        coverage_note(f, "fire", &self.rules_without_positive_case)?;
        coverage_note(f, "stay quiet", &self.rules_without_negative_case)?;
        Ok(())
    }
}

/// Notes loaded rules that no case covers; names are listed only when few,
/// since running a single case file leaves most rules uncovered.
fn coverage_note(f: &mut fmt::Formatter<'_>, what: &str, rules: &[String]) -> fmt::Result {
    const MAX_LISTED: usize = 10;
    match rules.len() {
        0 => Ok(()),
        n if n <= MAX_LISTED => {
            writeln!(
                f,
                "no case expects these rules to {what}: {}",
                rules.join(", ")
            )
        }
        n => writeln!(f, "no case expects {n} of the loaded rules to {what}"),
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use trailwatch_rules::Loader;

    use super::*;

    const RULES: &str = r#"
- rule: Key Created
  desc: test rule
  condition: ct.name = CreateAccessKey
  output: key (user=%ct.user)
  priority: WARNING
  source: aws_cloudtrail
"#;

    fn ruleset() -> RuleSet {
        let mut loader = Loader::new();
        loader.add_source("rules.yaml", RULES);
        loader.finish().ruleset.expect("test rules load")
    }

    fn run(cases: &str) -> Report {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.test.yaml");
        fs::write(&file, cases).unwrap();
        fs::write(
            dir.path().join("log.json"),
            r#"{"Records":[{"eventID":"e1","eventName":"CreateAccessKey"},{"eventID":"e2","eventName":"GetUser"}]}"#,
        )
        .unwrap();
        run_case_files(&ruleset(), &[file]).unwrap()
    }

    #[test]
    fn passing_positive_and_negative_cases() {
        let report = run(
            "- name: fires\n  record: {eventName: CreateAccessKey}\n  expect: [Key Created]\n\
             - name: quiet\n  file: log.json\n  event_id: e2\n  expect: []\n  expect_not: [Key Created]\n",
        );
        assert_eq!(report.cases, 2);
        assert!(report.failures.is_empty(), "{report}");
        assert!(report.rules_without_positive_case.is_empty());
        assert!(report.rules_without_negative_case.is_empty());
    }

    #[test]
    fn mismatches_name_rule_and_detections() {
        let report = run(
            "- name: wrong\n  file: log.json\n  index: 0\n  expect: []\n  expect_not: [Key Created]\n",
        );
        assert_eq!(report.failures.len(), 1);
        let text = report.to_string();
        assert!(text.contains("a.test.yaml: \"wrong\": rule \"Key Created\" expected not to fire, got [\"Key Created\"]"), "{text}");
        assert_eq!(
            report.rules_without_positive_case,
            vec!["Key Created".to_string()]
        );
    }

    #[test]
    fn invalid_cases_are_failures_not_passes() {
        let report = run(
            "- name: typo in key\n  record: {eventName: X}\n  expects: [Key Created]\n\
             - name: unknown rule\n  record: {eventName: X}\n  expect: [No Such Rule]\n\
             - name: missing index\n  file: log.json\n  index: 9\n  expect: [Key Created]\n\
             - name: nothing checked\n  record: {eventName: X}\n  expect: []\n",
        );
        assert_eq!(report.cases, 4);
        let messages: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert!(
            messages[0].contains("unknown key \"expects\""),
            "{}",
            messages[0]
        );
        assert!(
            messages[1].contains("no such rule loaded: No Such Rule"),
            "{}",
            messages[1]
        );
        assert!(
            messages[2].contains("has 2 records, no index 9"),
            "{}",
            messages[2]
        );
        assert!(messages[3].contains("at least one rule"), "{}", messages[3]);
    }

    #[test]
    fn finds_case_files_recursively_and_sorted() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        for name in [
            "b.test.yaml",
            "a.test.yaml",
            "rules.yaml",
            "sub/c.test.yaml",
        ] {
            fs::write(dir.path().join(name), "[]").unwrap();
        }
        let explicit = dir.path().join("rules.yaml");
        let found = find_case_files(&[dir.path().to_path_buf(), explicit.clone()]);
        let expected = vec![
            dir.path().join("a.test.yaml"),
            dir.path().join("b.test.yaml"),
            dir.path().join("sub/c.test.yaml"),
            explicit,
        ];
        assert_eq!(found, expected);
    }
}
