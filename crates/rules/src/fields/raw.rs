//! Re-formatting of JSON text as written.
//!
//! The plugin renders sub-documents (`ct.request`, `json.value` on an object,
//! `json.obj`) from the record's own bytes: escapes and number spellings stay
//! as the source wrote them, and only whitespace between tokens changes.
//! Re-serializing the parsed tree would turn `"\u00e9"` into `"é"` or `1e3`
//! into `1000.0`, so these helpers work on the text instead.
//!
//! Every function expects text that has already been validated as JSON (the
//! event parser did that); on anything else they give garbage rather than
//! panic.

use std::borrow::Cow;

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

    }
}
