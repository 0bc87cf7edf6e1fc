//! Navigation and re-formatting of JSON text as written.
//!
//! The plugin renders sub-documents (`ct.request`, `json.value` on an object,
//! `json.obj`) from the record's own bytes: escapes and number spellings stay
//! as the source wrote them, and only whitespace between tokens changes.
//! Re-serializing the parsed tree would turn `"\u00e9"` into `"é"` or `1e3`
//! into `1000.0`, so these helpers work on the text instead.
//!
//! Every function expects text that has already been validated as JSON (the
//! event parser did that); on anything else they return `None` rather than
//! panic.

use std::borrow::Cow;

/// One step of a path into a JSON document.
#[derive(Clone, Copy, Debug)]
pub(super) enum Step<'a> {
    /// Member of an object, by unescaped key (first occurrence wins).
    Key(&'a str),
    /// Element of an array.
    Index(usize),
}

/// Index of the first non-whitespace byte at or after `i`.
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// Index just past the string whose opening quote is at `i`.
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'"' => return Some(j + 1),
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
    None
}

/// Index just past the value that starts at `i` (no leading whitespace).
fn value_end(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = string_end(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            {
                j += 1;
            }
            Some(j)
        }
    }
}

/// Whether the quoted JSON string `quoted` decodes to `key`.
fn key_matches(quoted: &str, key: &str) -> bool {
    let inner = &quoted[1..quoted.len() - 1];
    if !inner.contains('\\') {
        return inner == key;
    }
    serde_json::from_str::<String>(quoted).is_ok_and(|k| k == key)
}

/// Calls `visit` with each (quoted key, value) of the object `text`, until it
/// returns `Some`.
fn find_member<'a, T>(
    text: &'a str,
    mut visit: impl FnMut(&'a str, &'a str) -> Option<T>,
) -> Option<T> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    while b.get(i) == Some(&b'"') {
        let key_end = string_end(b, i)?;
        let start = skip_ws(b, skip_ws(b, key_end) + 1);
        let end = value_end(b, start)?;
        if let Some(found) = visit(text.get(i..key_end)?, text.get(start..end)?) {
            return Some(found);
        }
        i = skip_ws(b, end);
        if b.get(i) != Some(&b',') {
            return None;
        }
        i = skip_ws(b, i + 1);
    }
    None
}

/// The text of member `key` of the object `text` (first occurrence).
pub(super) fn member<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    find_member(text, |k, v| key_matches(k, key).then_some(v))
}

/// The texts of the elements of the array `text`; `None` if not an array.
pub(super) fn elements(text: &str) -> Option<Vec<&str>> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'[') {
        return None;
    }
    let mut out = Vec::new();
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b']') {
        return Some(out);
    }
    loop {
        let end = value_end(b, i)?;
        out.push(text.get(i..end)?);
        i = skip_ws(b, end);
        match b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            b']' => return Some(out),
            _ => return None,
        }
    }
}

/// The text at `path` below the value `text`.
pub(super) fn find<'a>(mut text: &'a str, path: &[Step<'_>]) -> Option<&'a str> {
    for step in path {
        text = match *step {
            Step::Key(key) => member(text, key)?,
            Step::Index(n) => elements(text)?.into_iter().nth(n)?,
        };
    }
    Some(text.trim_matches([' ', '\t', '\n', '\r']))
}

/// `text` without whitespace between tokens; borrowed when already compact.
pub(super) fn minify(text: &str) -> Cow<'_, str> {
    let text = text.trim_matches([' ', '\t', '\n', '\r']);
    let b = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => i = string_end(b, i).unwrap_or(b.len()),
            b' ' | b'\t' | b'\n' | b'\r' => {
                let buf = out.get_or_insert_with(|| String::with_capacity(text.len()));
                buf.push_str(&text[copied..i]);
                i = skip_ws(b, i);
                copied = i;
            }
            _ => i += 1,
        }
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut buf) => {
            buf.push_str(&text[copied..]);
            Cow::Owned(buf)
        }
    }
}

/// `text` indented by two spaces per level, with `": "` after keys and
/// empty objects and arrays kept as `{}` and `[]`.
pub(super) fn indent(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    // Set after `{` or `[`: the line break waits until we know the
    // container is not empty.
    let mut open = false;
    let mut i = skip_ws(b, 0);
    while i < b.len() {
        let c = b[i];
        if open && c != b'}' && c != b']' {
            newline(&mut out, depth);
        }
        match c {
            b'{' | b'[' => {
                out.push(char::from(c));
                depth += 1;
                open = true;
                i = skip_ws(b, i + 1);
                continue;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if !open {
                    newline(&mut out, depth);
                }
                out.push(char::from(c));
            }
            b',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            b':' => out.push_str(": "),
            _ => {
                let end = value_end(b, i).unwrap_or(b.len()).max(i + 1);
                out.push_str(text.get(i..end).unwrap_or_default());
                open = false;
                i = skip_ws(b, end);
                continue;
            }
        }
        open = false;
        i = skip_ws(b, i + 1);
    }
    out
}

/// Starts a new line indented for `depth`.
fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const DOC: &str = r#" { "a" : { "b\u0063" : [ 1 , 2.50 , "x y" ] , "n" : null } ,
        "a" : "dup", "e": {}, "f": [ ] } "#;

    #[test]
    fn member_takes_first_occurrence_and_decodes_keys() {
        assert_eq!(
            member(DOC, "a").map(minify).as_deref(),
            Some(r#"{"b\u0063":[1,2.50,"x y"],"n":null}"#)
        );
        assert_eq!(member(DOC, "missing"), None);
        assert_eq!(member("[1]", "a"), None);
        let inner = member(DOC, "a").unwrap();
        assert_eq!(
            member(inner, "bc").map(str::trim),
            Some(r#"[ 1 , 2.50 , "x y" ]"#)
        );
    }

    #[test]
    fn find_walks_keys_and_indices() {
        let path = [Step::Key("a"), Step::Key("bc"), Step::Index(1)];
        assert_eq!(find(DOC, &path), Some("2.50"));
        let path = [Step::Key("a"), Step::Key("bc"), Step::Index(3)];
        assert_eq!(find(DOC, &path), None);
        assert_eq!(find(DOC, &[Step::Key("f"), Step::Index(0)]), None);
        assert_eq!(find(DOC, &[Step::Key("e")]), Some("{}"));
    }

    #[test]
    fn elements_of_arrays_only() {
        assert_eq!(
            elements(" [ {\"k\": [1]} , 2 ] "),
            Some(vec!["{\"k\": [1]}", "2"])
        );
        assert_eq!(elements("[]"), Some(vec![]));
        assert_eq!(elements("{}"), None);
    }

    #[test]
    fn minify_keeps_strings_and_borrows_compact_text() {
        assert_eq!(minify(r#"{"a":"b c"}"#), Cow::Borrowed(r#"{"a":"b c"}"#));
        assert_eq!(
            minify("{ \"a\" :\n [ \"b \\\" c\" ] }"),
            r#"{"a":["b \" c"]}"#
        );
        assert_eq!(minify(" null "), "null");
    }

    #[test]
    fn indent_matches_two_space_layout() {
        let text = r#"{"a":{"b":[1,"x, y"],"e":{},"f":[ ]},"c":true}"#;
        let expected = "{\n  \"a\": {\n    \"b\": [\n      1,\n      \"x, y\"\n    ],\n    \
                        \"e\": {},\n    \"f\": []\n  },\n  \"c\": true\n}";
        assert_eq!(indent(text), expected);
        assert_eq!(indent(" { } "), "{}");
    }

    /// Any JSON value, with strings that need escaping.
    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value as J;
        let leaf = prop_oneof![
            Just(J::Null),
            any::<bool>().prop_map(J::Bool),
            any::<i64>().prop_map(J::from),
            // Quarters survive a text round trip exactly.
            (-4000i32..4000).prop_map(|n| J::from(f64::from(n) / 4.0)),
            "[a-z\\\"/ \n\u{e9}\u{1F600}]{0,6}".prop_map(J::from),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(J::Array),
                prop::collection::vec(("[a-z\"]{0,3}", inner), 0..5)
                    .prop_map(|members| J::Object(members.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn minify_and_indent_agree_with_serde_json(v in json_value()) {
            let compact = serde_json::to_string(&v).unwrap();
            let pretty = serde_json::to_string_pretty(&v).unwrap();
            prop_assert_eq!(minify(&pretty), compact.as_str());
            prop_assert_eq!(indent(&compact), pretty.as_str());
        }

        #[test]
        fn find_agrees_with_the_parsed_tree(v in json_value()) {
            let pretty = serde_json::to_string_pretty(&v).unwrap();
            let mut stack = vec![(Vec::new(), &v)];
            while let Some((path, node)) = stack.pop() {
                let text = find(&pretty, &path).expect("path exists");
                let reparsed: serde_json::Value = serde_json::from_str(text).unwrap();
                prop_assert_eq!(&reparsed, node);
                match node {
                    serde_json::Value::Array(items) => {
                        for (i, item) in items.iter().enumerate() {
                            let mut p = path.clone();
                            p.push(Step::Index(i));
                            stack.push((p, item));
                        }
                        let mut p = path.clone();
                        p.push(Step::Index(items.len()));
                        prop_assert_eq!(find(&pretty, &p), None);
                    }
                    serde_json::Value::Object(members) => {
                        let mut p = path.clone();
                        p.push(Step::Key("absent key"));
                        prop_assert_eq!(find(&pretty, &p), None);
                        for (key, member) in members {
                            let mut p = path.clone();
                            p.push(Step::Key(key));
                            stack.push((p, member));
                        }
                    }
                    _ => {
                        let mut p = path.clone();
                        p.push(Step::Index(0));
                        prop_assert_eq!(find(&pretty, &p), None);
                        p.pop();
                        p.push(Step::Key(""));
                        prop_assert_eq!(find(&pretty, &p), None);
                    }
                }
            }
        }
    }
}
