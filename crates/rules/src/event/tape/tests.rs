//! The index must accept what `serde_json` accepts and lead to the same
//! values as its tree.

use proptest::prelude::*;
use serde_json::Value as Json;

use super::*;

/// Whether serde_json takes `text` as one JSON value.
fn serde_accepts(text: &str) -> bool {
    serde_json::from_str::<Json>(text).is_ok()
}

/// The scan agrees with serde_json: a plain scan is valid, and valid text
/// is never called invalid.
fn check_verdict(text: &str) {
    let mut nodes = Vec::new();
    let scan = scan(text, &mut nodes);
    let valid = serde_accepts(text);
    match scan {
        Scan::Plain => assert!(valid, "plain but rejected by serde_json: {text:?}"),
        Scan::Invalid => assert!(!valid, "invalid but accepted by serde_json: {text:?}"),
        Scan::Unusual => {}
    }
}

#[test]
fn verdicts_on_edge_cases() {
    let cases = [
        "{}",
        " {\"a\" : [ ] }\n",
        "[1, 2]",
        "\"text\"",
        "0",
        "-0.5e-3",
        "01",
        "1.",
        ".5",
        "-",
        "1e",
        "1e400",
        "[1e400]",
        "tru",
        "true ",
        "nul",
        "{\"a\":1,}",
        "[1,]",
        "{\"a\" 1}",
        "{1:2}",
        "{} {}",
        "{\"a\":\"\u{1}\"}",
        "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12\"}",
        "{\"a\":\"\\u00e9\\n\\/\"}",
        "{\"a\":\"\\ud83d\\ude00\"}",
        "{\"a\":\"\\ud83d\"}",
        "{\"a\":\"\\ude00\"}",
        "{\"a\":\"\\ud83dx\"}",
        "\u{feff}{}",
        "{\"a\":[}",
        "{\"a\":]",
        "",
        "   ",
        "{\"é\":\"ü\"}",
    ];
    for text in cases {
        check_verdict(text);
    }
    let huge = format!("[1{}]", "0".repeat(400));
    check_verdict(&huge);
    for depth in [99, 100, 101, 126, 127, 128, 129, 200] {
        check_verdict(&format!("{}{}", "[".repeat(depth), "]".repeat(depth)));
        check_verdict(&format!(
            "{}1{}",
            "{\"a\":".repeat(depth),
            "}".repeat(depth)
        ));
    }
}

#[test]
fn navigation_follows_first_keys_and_indices() {
    let text = r#"{"a": {"b\u0063": [1, 2.50, "x y"], "n": null}, "a": "dup",
        "e": {}, "f": [ ], "s": "q\"uote", "t": true}"#;
    let mut nodes = Vec::new();
    assert_eq!(scan(text, &mut nodes), Scan::Plain);
    let root = JsonRef::root(text, &nodes);
    let a = root.get("a").unwrap();
    assert_eq!(a.kind(), Kind::Object);
    let list = a.get("bc").unwrap();
    assert_eq!(list.text(), r#"[1, 2.50, "x y"]"#);
    assert_eq!(list.index(1).unwrap().text(), "2.50");
    assert_eq!(list.index(2).unwrap().as_str().unwrap(), "x y");
    assert!(list.index(3).is_none());
    assert_eq!(a.get("n").unwrap().kind(), Kind::Null);
    assert_eq!(root.get("e").unwrap().text(), "{}");
    assert_eq!(root.get("f").unwrap().elements().unwrap().count(), 0);
    assert_eq!(root.get("s").unwrap().as_str().unwrap(), "q\"uote");
    assert!(root.get("s").unwrap().is_str("q\"uote"));
    assert_eq!(root.get("t").unwrap().kind(), Kind::True);
    assert!(root.get("missing").is_none());
    assert!(list.get("a").is_none());
    assert!(root.index(0).is_none());
}

/// Walks the serde tree and the index side by side.
fn check_same(tree: &Json, at: JsonRef<'_>) {
    let reparsed: Json = serde_json::from_str(at.text()).expect("a value's text is JSON");
    assert_eq!(&reparsed, tree);
    match tree {
        Json::Object(members) => {
            assert_eq!(at.kind(), Kind::Object);
            for (key, value) in members {
                check_same(value, at.get(key).expect("member present"));
            }
        }
        Json::Array(items) => {
            let elements: Vec<_> = at.elements().expect("an array").collect();
            assert_eq!(elements.len(), items.len());
            for (item, element) in items.iter().zip(elements) {
                check_same(item, element);
            }
        }
        Json::String(s) => assert_eq!(at.as_str().as_deref(), Some(s.as_str())),
        Json::Null => assert_eq!(at.kind(), Kind::Null),
        Json::Bool(b) => assert_eq!(at.kind(), if *b { Kind::True } else { Kind::False }),
        Json::Number(_) => assert_eq!(at.kind(), Kind::Number),
    }
}

/// Any JSON value, with strings that need escaping.
fn json_value() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<u64>().prop_map(Json::from),
        (-4000i32..4000).prop_map(|n| Json::from(f64::from(n) / 4.0)),
        "[a-z\\\"/ \n\t\u{1}\u{e9}\u{1F600}]{0,6}".prop_map(Json::from),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Json::Array),
            prop::collection::vec(("[a-z\"\\\\]{0,3}", inner), 0..5)
                .prop_map(|members| Json::Object(members.into_iter().collect())),
        ]
    })
}

/// Bytes that change what a JSON text means.
const MUTATIONS: &[&str] = &[
    "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "\\ud800", "e5", "-", ".", "0", " ", "\u{1}",
    "t", "null", "é",
];

proptest! {
    #[test]
    fn index_agrees_with_the_serde_tree(v in json_value(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&v).unwrap()
        } else {
            serde_json::to_string(&v).unwrap()
        };
        let mut nodes = Vec::new();
        prop_assert_ne!(scan(&text, &mut nodes), Scan::Invalid);
        check_same(&v, JsonRef::root(&text, &nodes));
    }

    #[test]
    fn verdict_agrees_with_serde_on_damaged_text(
        v in json_value(),
        edits in prop::collection::vec(
            (any::<prop::sample::Index>(), 0..MUTATIONS.len(), any::<bool>()),
            1..4,
        ),
    ) {
        let mut text = serde_json::to_string(&v).unwrap();
        for (at, what, delete) in edits {
            let mut i = at.index(text.len() + 1);
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            if delete && i < text.len() {
                let end = (i + 1..=text.len()).find(|&e| text.is_char_boundary(e)).unwrap();
                text.replace_range(i..end, "");
            } else {
                text.insert_str(i, MUTATIONS[what]);
            }
        }
        check_verdict(&text);
    }
}

proptest! {
    #[test]
    fn plain_run_stops_where_a_byte_loop_stops(
        bytes in prop::collection::vec(
            prop_oneof![1 => Just(b'"'), 1 => Just(b'\\'), 1 => 0u8..0x20, 20 => 0x20u8..=0xff],
            0..40,
        ),
        from in 0usize..40,
    ) {
        let from = from.min(bytes.len());
        let expected = (from..bytes.len())
            .find(|&i| matches!(bytes[i], b'"' | b'\\' | 0..=0x1f))
            .unwrap_or(bytes.len());
        prop_assert_eq!(plain_run(&bytes, from), expected);
    }
}
