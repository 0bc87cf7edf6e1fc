//! Arbitrary input never panics the condition parser or the rules loader.

use std::path::Path;

use proptest::prelude::*;
use trailwatch_rules::{Loader, UNSUPPORTED_FEATURES};

fn load(text: &str) -> trailwatch_rules::LoadResult {
    let mut loader = Loader::new();
    loader.add_source("fuzz.yaml", text);
    loader.finish()
}

fn rule_with(condition: &str, output: &str) -> String {
    let indent = |t: &str| -> String { t.lines().map(|l| format!("    {l}\n")).collect() };
    format!(
        "- rule: r\n  desc: d\n  priority: INFO\n  source: aws_cloudtrail\n  condition: |-\n{}  output: |-\n{}",
        indent(condition),
        indent(output)
    )
}

/// Pieces of the condition language, so generated text gets past the first
/// token often.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("ct.name".to_owned()),
        Just("json.value[/a/0]".to_owned()),
        Just("ec2.imageids".to_owned()),
        Just("evt.num".to_owned()),
        Just(" and ".to_owned()),
        Just(" or ".to_owned()),
        Just("not ".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just(" = ".to_owned()),
        Just(" in (a, 'b c')".to_owned()),
        Just(" glob ".to_owned()),
        Just(" regex ".to_owned()),
        Just(" exists".to_owned()),
        Just("tolower(".to_owned()),
        Just("val(".to_owned()),
        Just("\"q\\x41\"".to_owned()),
        Just("'".to_owned()),
        Just("%".to_owned()),
        "[a-z0-9_.\\[\\]/*?\"' ]{0,6}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_conditions_do_not_panic(condition in "\\PC{0,80}") {
        let result = load(&rule_with(&condition, "x"));
        prop_assert_eq!(result.ruleset.is_some(), !result.diagnostics.iter().any(|d| d.is_error()));
    }

    #[test]
    fn structured_conditions_do_not_panic(parts in prop::collection::vec(fragment(), 0..16)) {
        let text = parts.concat();
        let result = load(&rule_with(&text, &text));
        prop_assert_eq!(result.ruleset.is_some(), !result.diagnostics.iter().any(|d| d.is_error()));
    }

    #[test]
    fn arbitrary_yaml_does_not_panic(text in "\\PC{0,200}") {
        let result = load(&text);
        for d in &result.diagnostics {
            prop_assert_eq!(&d.file, "fuzz.yaml");
        }
    }

    #[test]
    fn yaml_shaped_text_does_not_panic(
        lines in prop::collection::vec(
            prop_oneof![
                Just("- rule: r".to_owned()),
                Just("- macro: m".to_owned()),
                Just("- list: l".to_owned()),
                Just("  items: [a, l, \"b c\"]".to_owned()),
                Just("  condition: m and ct.name in (l)".to_owned()),
                Just("  output: %ct.user".to_owned()),
                Just("  priority: info".to_owned()),
                Just("  desc: d".to_owned()),
                Just("  source: aws_cloudtrail".to_owned()),
                Just("  append: true".to_owned()),
                Just("  override: {condition: append, items: replace}".to_owned()),
                Just("  exceptions: [{name: e, fields: [ct.name], values: [[x]]}]".to_owned()),
                Just("  enabled: false".to_owned()),
                Just("- required_engine_version: 99".to_owned()),
                "[ -~]{0,20}",
            ],
            0..20,
        )
    ) {
        let result = load(&lines.join("\n"));
        prop_assert_eq!(result.ruleset.is_some(), !result.diagnostics.iter().any(|d| d.is_error()));
    }
}

#[test]
fn unsupported_features_fail_to_load() {
    for (feature, condition) in UNSUPPORTED_FEATURES {
        let result = load(&rule_with(condition, "x"));
        assert!(result.ruleset.is_none(), "{feature} unexpectedly loads");
    }
}

#[test]
fn unreadable_paths_become_diagnostics() {
    let mut loader = Loader::new();
    loader.add_path(Path::new("/nonexistent/trailwatch/rules.yaml"));
    let result = loader.finish();
    assert!(result.ruleset.is_none());
    assert_eq!(result.diagnostics.len(), 1);
    let d = &result.diagnostics[0];
    assert_eq!(d.file, "/nonexistent/trailwatch/rules.yaml");
    assert_eq!((d.line, d.column), (None, None));
    assert!(
        d.message.starts_with("cannot read rules file"),
        "{}",
        d.message
    );
}

#[test]
fn folders_load_yaml_files_recursively_in_order() {
    let dir = std::env::temp_dir().join(format!("trailwatch-rules-{}", std::process::id()));
    let nested = dir.join("b");
    std::fs::create_dir_all(&nested).expect("temp dir");
    let rule = |name: &str| {
        rule_with(&format!("ct.name = {name}"), "o").replace("rule: r", &format!("rule: {name}"))
    };
    std::fs::write(dir.join("a.yaml"), rule("first")).expect("write");
    std::fs::write(nested.join("c.yml"), rule("second")).expect("write");
    std::fs::write(dir.join("notes.txt"), "not rules").expect("write");

    let mut loader = Loader::new();
    loader.add_path(&dir);
    let result = loader.finish();
    std::fs::remove_dir_all(&dir).expect("cleanup");
    let rules = result.ruleset.expect("loads");
    let names: Vec<&str> = rules.rules().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["first", "second"]);
}
