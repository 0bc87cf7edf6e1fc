//! Data-driven field extraction cases from `tests/cases/fields.yaml`.
//!
//! The file has two members. `records` maps a name to the JSON text of a
//! record. `cases` is a list; each case has a `name`, a `record` (a name from
//! `records`, or inline JSON text), a `field` written as in a rule
//! (`json.value[/a/b]`), and either `expect` (a string, an integer for number
//! fields, or a list of strings for list fields) or `absent: true`.
//! Alternatively `error: true` says the field must fail to resolve.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use saphyr::{LoadableYamlNode, Yaml};
use trailwatch_rules::fields::{self, FieldRef, Value};
use trailwatch_rules::{Event, EventMeta};

const CASES: &str = include_str!("cases/fields.yaml");

/// Splits `name[arg]` into the name and the argument.
fn split_field(written: &str) -> (&str, Option<&str>) {
    match written.split_once('[') {
        Some((name, rest)) => {
            let arg = rest
                .strip_suffix(']')
                .unwrap_or_else(|| panic!("unclosed argument in {written}"));
            (name, Some(arg))
        }
        None => (written, None),
    }
}

/// The expected value of a case, rendered like [`render`] renders a value.
fn expected(case: &Yaml) -> String {
    if case.as_mapping_get("absent").and_then(Yaml::as_bool) == Some(true) {
        return "<absent>".to_owned();
    }
    let expect = case
        .as_mapping_get("expect")
        .expect("a case needs `expect`, `absent: true` or `error: true`");
    if let Some(text) = expect.as_str() {
        return format!("str {text:?}");
    }
    if let Some(n) = expect.as_integer() {
        return format!("u64 {n}");
    }
    if let Some(items) = expect.as_vec() {
        let items: Vec<&str> = items
            .iter()
            .map(|i| i.as_str().expect("list items must be strings"))
            .collect();
        return format!("list {items:?}");
    }
    panic!("unsupported `expect` value {expect:?}")
}

/// A value in a form that states its type, for comparison with [`expected`].
fn render(value: Option<Value<'_>>) -> String {
    match value {
        None => "<absent>".to_owned(),
        Some(Value::Str(text)) => format!("str {text:?}"),
        Some(Value::U64(n)) => format!("u64 {n}"),
        Some(Value::List(items)) => format!("list {items:?}"),
    }
}

fn event(text: &str) -> Event {
    let meta = EventMeta {
        num: 42,
        hostname: Arc::from("test-host"),
    };
    Event::parse(text, meta).unwrap_or_else(|e| panic!("bad record {text}: {e}"))
}

#[test]
fn field_cases() {
    let docs = Yaml::load_from_str(CASES).expect("cases file is valid YAML");
    let doc = &docs[0];
    let records: HashMap<&str, &str> = doc["records"]
        .as_mapping()
        .expect("`records` is a mapping")
        .iter()
        .map(|(k, v)| (k.as_str().unwrap(), v.as_str().unwrap()))
        .collect();

    let mut failures = String::new();
    let cases = doc["cases"].as_vec().expect("`cases` is a list");
    for case in cases {
        let name = case["name"].as_str().expect("case name");
        let record = case["record"].as_str().expect("case record");
        let text = records.get(record).copied().unwrap_or(record);
        let written = case["field"].as_str().expect("case field");
        let (field, arg) = split_field(written);

        let resolved = fields::resolve(field, arg);
        if case.as_mapping_get("error").and_then(Yaml::as_bool) == Some(true) {
            if let Ok(r) = resolved {
                let _ = writeln!(failures, "{name}: {written} resolved to {r:?}");
            }
            continue;
        }
        let field_ref: FieldRef = match resolved {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(failures, "{name}: {written}: {e}");
                continue;
            }
        };
        assert_eq!(field_ref.display_name(), written, "{name}");

        let got = render(field_ref.extract(&event(text)));
        let want = expected(case);
        if got != want {
            let _ = writeln!(
                failures,
                "{name}: {written}\n    want {want}\n    got  {got}"
            );
        }
    }
    assert!(failures.is_empty(), "failed cases:\n{failures}");
    assert!(cases.len() > 200, "only {} cases", cases.len());
}

#[test]
fn every_field_has_a_case() {
    let docs = Yaml::load_from_str(CASES).expect("cases file is valid YAML");
    let covered: Vec<&str> = docs[0]["cases"]
        .as_vec()
        .expect("`cases` is a list")
        .iter()
        .map(|c| split_field(c["field"].as_str().expect("case field")).0)
        .collect();
    let missing: Vec<&str> = fields::all_fields()
        .iter()
        .map(|f| f.name)
        .filter(|name| !covered.contains(name))
        .collect();
    assert!(missing.is_empty(), "fields without a case: {missing:?}");
}
