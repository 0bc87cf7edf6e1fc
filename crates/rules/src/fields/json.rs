//! The `json.*` fields (and their `jevt.*` aliases) of the Falco json plugin.

use super::{Value, raw};
use crate::event::Event;
use crate::event::tape::Kind;

/// Splits a `json.value` argument into unescaped pointer steps.
///
/// The leading `/` is optional (`/a/b` and `a/b` are the same pointer);
/// `~1` stands for `/` and `~0` for `~`.
pub(super) fn parse_pointer(text: &str) -> Box<[String]> {
    let text = text.strip_prefix('/').unwrap_or(text);
    text.split('/')
        .map(|step| step.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// An array index as the plugin's JSON library reads one: an optionally
/// signed decimal that is not negative (`+1` and `007` are accepted).
fn array_index(step: &str) -> Option<usize> {
    usize::try_from(step.parse::<i64>().ok()?).ok()
}

/// `json.value[pointer]`: a string's text; any other value as compact JSON
/// written as in the record (`false`, `12`, `null`, `{"a":1}`).
///
/// A pointer step leads to a member of an object or, when it reads as an
/// index, to an element of an array.
pub(super) fn value<'e>(ev: &'e Event, steps: &[String]) -> Option<Value<'e>> {
    let mut at = ev.root();
    for step in steps {
        at = match at.kind() {
            Kind::Object => at.get(step)?,
            Kind::Array => at.index(array_index(step)?)?,
            _ => return None,
        };
    }
    Some(Value::Str(match at.as_str() {
        Some(text) => text,
        None => raw::minify(at.text()),
    }))
}

/// `json.obj`: the record indented by two spaces.
pub(super) fn obj(ev: &Event) -> String {
    raw::indent(ev.raw())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_steps_are_unescaped() {
        assert_eq!(&*parse_pointer("/a/b"), ["a", "b"]);
        assert_eq!(&*parse_pointer("a/b"), ["a", "b"]);
        assert_eq!(&*parse_pointer("/a~1b/c~0d/~01"), ["a/b", "c~d", "~1"]);
        assert_eq!(&*parse_pointer(""), [""]);
        assert_eq!(&*parse_pointer("/"), [""]);
        assert_eq!(&*parse_pointer("/a/"), ["a", ""]);
    }

    #[test]
    fn array_indices_follow_decimal_parsing() {
        assert_eq!(array_index("0"), Some(0));
        assert_eq!(array_index("+2"), Some(2));
        assert_eq!(array_index("007"), Some(7));
        assert_eq!(array_index("-0"), Some(0));
        assert_eq!(array_index("-1"), None);
        assert_eq!(array_index("1a"), None);
        assert_eq!(array_index(""), None);
    }
}
