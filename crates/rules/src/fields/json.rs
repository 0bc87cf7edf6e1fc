//! The `json.*` fields (and their `jevt.*` aliases) of the Falco json plugin.

use serde_json::Value as Json;

use super::cloudtrail::compact;
use super::{Value, raw};
use crate::event::Event;

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

/// Where one pointer step leads from `v`: a member of an object, or, for a
/// step that reads as an index, an element of an array.
fn step<'v, 's>(v: &'v Json, step: &'s str) -> Option<(&'v Json, raw::Step<'s>)> {
    match v {
        Json::Object(map) => Some((map.get(step)?, raw::Step::Key(step))),
        Json::Array(items) => {
            let n = array_index(step)?;
            Some((items.get(n)?, raw::Step::Index(n)))
        }
        _ => None,
    }
}

/// An array index as the plugin's JSON library reads one: an optionally
/// signed decimal that is not negative (`+1` and `007` are accepted).
fn array_index(step: &str) -> Option<usize> {
    usize::try_from(step.parse::<i64>().ok()?).ok()
}

/// `json.value[pointer]`: a string's text; any other value as compact JSON
/// written as in the record (`false`, `12`, `null`, `{"a":1}`).
pub(super) fn value<'e>(ev: &'e Event, steps: &[String]) -> Option<Value<'e>> {
    let mut at = ev.json();
    for s in steps {
        at = step(at, s)?.0;
    }
    if let Some(text) = at.as_str() {
        return Some(Value::borrowed(text));
    }

    // Rare: walk again to learn the path to the value's text.
    let mut path = Vec::with_capacity(steps.len());
    let mut at = ev.json();
    for s in steps {
        let (next, raw_step) = step(at, s)?;
        path.push(raw_step);
        at = next;
    }
    Some(Value::Str(compact(ev.raw(), &path, at)))
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
