//! Data-driven cases, one YAML file per concern under `tests/cases/`:
//! `parser.yaml` (condition syntax and compile errors), `eval.yaml`
//! (conditions against records), `loader.yaml` (whole rules files) and
//! `output.yaml` (output templates).

use std::sync::Arc;

use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde_json::{Map, Value as Json};
use trailwatch_rules::{Event, EventMeta, LoadResult, Loader, Matching, RuleSet};

const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases");

/// Reads a case file into JSON, which is easier to walk than YAML nodes.
fn cases(file: &str) -> Vec<Json> {
    let path = format!("{CASES}/{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let docs = Yaml::load_from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let root = to_json(&docs[0]);
    root["cases"]
        .as_array()
        .expect("a `cases` sequence")
        .clone()
}

fn to_json(y: &Yaml<'_>) -> Json {
    match y {
        Yaml::Value(Scalar::Null) => Json::Null,
        Yaml::Value(Scalar::Boolean(b)) => Json::Bool(*b),
        Yaml::Value(Scalar::Integer(i)) => Json::from(*i),
        Yaml::Value(Scalar::FloatingPoint(f)) => Json::from(f.into_inner()),
        Yaml::Value(Scalar::String(s)) => Json::String(s.to_string()),
        Yaml::Sequence(items) => items.iter().map(to_json).collect(),
        Yaml::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match to_json(k) {
                    Json::String(s) => s,
                    other => other.to_string(),
                };
                out.insert(key, to_json(v));
            }
            Json::Object(out)
        }
        other => panic!("unsupported YAML in a case file: {other:?}"),
    }
}

fn note(case: &Json) -> String {
    case["note"].as_str().unwrap_or("(no note)").to_owned()
}

fn event(record: &Json) -> Event {
    let meta = EventMeta {
        num: 7,
        hostname: Arc::from("case-host"),
    };
    Event::parse(&record.to_string(), meta).expect("case record")
}

/// Indents text as a YAML literal block scalar.
fn block(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// Loads one rule with the given condition and output.
fn one_rule(condition: &str, output: &str) -> LoadResult {
    let text = format!(
        "- rule: case\n  desc: case\n  priority: INFO\n  source: aws_cloudtrail\n  \
         condition: |-\n{}  output: |-\n{}",
        block(condition),
        block(output)
    );
    let mut loader = Loader::new();
    loader.add_source("case.yaml", &text);
    loader.finish()
}

fn fires(rules: &RuleSet, record: &Json) -> Vec<String> {
    let mut out = Vec::new();
    rules.evaluate(&event(record), Matching::All, &mut out);
    out.into_iter().map(|d| d.rule).collect()
}

fn errors(result: &LoadResult) -> Vec<String> {
    result
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(ToString::to_string)
        .collect()
}

#[test]
fn parser_cases() {
    for case in cases("parser.yaml") {
        let note = note(&case);
        let condition = case["condition"].as_str().expect("condition");
        let result = one_rule(condition, "x");
        let errors = errors(&result);
        match case["error"].as_str() {
            None => assert!(errors.is_empty(), "{note}: unexpected {errors:?}"),
            Some(expected) => {
                assert_eq!(errors.len(), 1, "{note}: {errors:?}");
                assert!(
                    errors[0].contains(expected),
                    "{note}: {} lacks {expected:?}",
                    errors[0]
                );
            }
        }
    }
}

#[test]
fn eval_cases() {
    for case in cases("eval.yaml") {
        let note = note(&case);
        for check in case["checks"].as_array().expect("checks") {
            let condition = check["condition"].as_str().expect("condition");
            let expected = check["match"].as_bool().expect("match");
            let result = one_rule(condition, "x");
            let errors = errors(&result);
            let rules = result
                .ruleset
                .unwrap_or_else(|| panic!("{note}: {condition}: {errors:?}"));
            let fired = !fires(&rules, &case["record"]).is_empty();
            assert_eq!(fired, expected, "{note}: {condition}");
        }
    }
}

#[test]
fn output_cases() {
    for case in cases("output.yaml") {
        let note = note(&case);
        let output = case["output"].as_str().expect("output");
        let result = one_rule("evt.num > 0", output);
        if let Some(expected) = case["error"].as_str() {
            let errors = errors(&result);
            assert_eq!(errors.len(), 1, "{note}: {errors:?}");
            assert!(
                errors[0].contains(expected),
                "{note}: {} lacks {expected:?}",
                errors[0]
            );
            continue;
        }
        let rules = result
            .ruleset
            .unwrap_or_else(|| panic!("{note}: failed to load"));
        let mut out = Vec::new();
        rules.evaluate(&event(&case["record"]), Matching::All, &mut out);
        assert_eq!(out.len(), 1, "{note}");
        match case["text_length"].as_u64() {
            Some(length) => assert_eq!(out[0].output.chars().count() as u64, length, "{note}"),
            None => assert_eq!(
                out[0].output,
                case["text"].as_str().expect("text"),
                "{note}"
            ),
        }
        if let Some(fields) = case["fields"].as_object() {
            for (key, value) in fields {
                assert_eq!(out[0].output_fields.get(key), Some(value), "{note}: {key}");
            }
        }
    }
}

/// Every expected text must occur in a distinct diagnostic (in any order),
/// and there must be no others.
fn check_diagnostics(note: &str, kind: &str, found: &[String], expected: Option<&Json>) {
    let expected: Vec<&str> = expected
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    assert_eq!(found.len(), expected.len(), "{note}: {kind}: {found:#?}");
    let mut unmatched: Vec<&String> = found.iter().collect();
    for want in expected {
        let at = unmatched.iter().position(|got| got.contains(want));
        let at =
            at.unwrap_or_else(|| panic!("{note}: {kind}: none of {unmatched:#?} has {want:?}"));
        unmatched.remove(at);
    }
}

#[test]
fn loader_cases() {
    for case in cases("loader.yaml") {
        let note = note(&case);
        let mut loader = Loader::new();
        for (i, text) in case["files"].as_array().expect("files").iter().enumerate() {
            loader.add_source(&format!("f{i}.yaml"), text.as_str().expect("file text"));
        }
        let result = loader.finish();
        let warnings: Vec<String> = result
            .diagnostics
            .iter()
            .filter(|d| !d.is_error())
            .map(ToString::to_string)
            .collect();
        check_diagnostics(&note, "errors", &errors(&result), case.get("errors"));
        check_diagnostics(&note, "warnings", &warnings, case.get("warnings"));
        let Some(rules) = result.ruleset else {
            assert!(
                case.get("rules").is_none(),
                "{note}: expected rules but loading failed"
            );
            continue;
        };
        if let Some(expected) = case["rules"].as_array() {
            let got: Vec<Json> = rules
                .rules()
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "name": r.name, "priority": r.priority.as_str(),
                        "enabled": r.enabled, "tags": r.tags, "desc": r.description
                    })
                })
                .collect();
            assert_eq!(got.len(), expected.len(), "{note}: {got:#?}");
            for (g, e) in got.iter().zip(expected) {
                for (key, value) in e.as_object().expect("rule mapping") {
                    assert_eq!(&g[key], value, "{note}: {key} of {}", g["name"]);
                }
            }
        }
        for event in case["events"].as_array().into_iter().flatten() {
            let expected: Vec<&str> = event["fires"]
                .as_array()
                .expect("fires")
                .iter()
                .filter_map(Json::as_str)
                .collect();
            let matching = match event["matching"].as_str() {
                Some("first") => Matching::First,
                _ => Matching::All,
            };
            let mut out = Vec::new();
            rules.evaluate(&self::event(&event["record"]), matching, &mut out);
            let names: Vec<&str> = out.iter().map(|d| d.rule.as_str()).collect();
            assert_eq!(names, expected, "{note}: {}", event["record"]);
            if let Some(output) = event["output"].as_str() {
                assert_eq!(out[0].output, output, "{note}");
            }
        }
    }
}
