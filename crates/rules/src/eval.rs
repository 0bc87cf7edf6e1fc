//! Evaluation of compiled conditions against one event.
//!
//! A field that is absent makes every comparison on it false, `!=`
//! included; only `not` turns that into true. String values are compared as
//! C strings, up to their first NUL byte, as libsinsp does.
//!
//! Rules of one set often read the same fields (`ct.name`, `ct.user`, ...),
//! so each value is extracted once per event and kept in a [`Memo`].

use std::borrow::Cow;

use base64::Engine as _;

use crate::ast::{Op, Transformer};
use crate::compile::matcher::{compare_text, path_match};
use crate::compile::{Accessor, Node, Test, TestKind};
use crate::event::Event;
use crate::fields::Value;

/// The values read from one event so far, by accessor slot.
pub(crate) struct Memo<'e> {
    /// `None` until the slot is read; then the value, or `None` if absent.
    values: Vec<Option<Option<Value<'e>>>>,
    slots: usize,
}

impl<'e> Memo<'e> {
    /// An empty memo for accessors with slots below `slots`. Nothing is
    /// allocated until a value is kept.
    pub(crate) fn new(slots: usize) -> Self {
        Memo {
            values: Vec::new(),
            slots,
        }
    }

    /// Reads the accessor's value into its slot, if it is not there yet.
    /// Returns the slot, or `None` when the accessor has none.
    fn fill(&mut self, acc: &Accessor, ev: &'e Event) -> Option<usize> {
        if acc.slot >= self.slots {
            return None;
        }
        if self.values.is_empty() {
            self.values.resize(self.slots, None);
        }
        let slot = &mut self.values[acc.slot];
        if slot.is_none() {
            *slot = Some(acc.value(ev));
        }
        Some(acc.slot)
    }

    /// The accessor's value, read at most once per event.
    fn value(&mut self, acc: &Accessor, ev: &'e Event) -> Option<Cow<'_, Value<'e>>> {
        match self.fill(acc, ev) {
            Some(slot) => self.values[slot].as_ref()?.as_ref().map(Cow::Borrowed),
            None => acc.value(ev).map(Cow::Owned),
        }
    }
}

impl Node {
    /// Whether the event satisfies this expression.
    pub(crate) fn matches<'e>(&self, ev: &'e Event, memo: &mut Memo<'e>) -> bool {
        match self {
            Node::And(children) => children.iter().all(|c| c.matches(ev, memo)),
            Node::Or(children) => children.iter().any(|c| c.matches(ev, memo)),
            Node::Not(child) => !child.matches(ev, memo),
            Node::Check(test) => test.matches(ev, memo),
        }
    }

    /// Like [`Node::matches`], but takes child `skip` of a top-level `and`
    /// as true without evaluating it.
    pub(crate) fn matches_except<'e>(
        &self,
        skip: usize,
        ev: &'e Event,
        memo: &mut Memo<'e>,
    ) -> bool {
        match self {
            Node::And(children) => children
                .iter()
                .enumerate()
                .all(|(i, c)| i == skip || c.matches(ev, memo)),
            _ => self.matches(ev, memo),
        }
    }
}

/// The part of a string a C comparison sees.
pub(crate) fn c_str(s: &str) -> &str {
    match memchr::memchr(0, s.as_bytes()) {
        Some(nul) => &s[..nul],
        None => s,
    }
}

impl Accessor {
    /// Extracts the field and applies the transformers; `None` if absent.
    pub(crate) fn value<'e>(&self, ev: &'e Event) -> Option<Value<'e>> {
        let mut value = self.field.extract(ev)?;
        for t in &self.transforms {
            value = transform(*t, value)?;
        }
        Some(value)
    }
}

fn map_strings<'e>(
    value: Value<'e>,
    f: impl Fn(Cow<'e, str>) -> Option<Cow<'e, str>>,
) -> Option<Value<'e>> {
    match value {
        Value::Str(s) => f(s).map(Value::Str),
        Value::List(items) => items
            .into_iter()
            .map(f)
            .collect::<Option<Vec<_>>>()
            .map(Value::List),
        Value::U64(n) => Some(Value::U64(n)),
    }
}

fn transform(t: Transformer, value: Value<'_>) -> Option<Value<'_>> {
    match t {
        Transformer::ToLower => map_strings(value, |s| Some(s.to_ascii_lowercase().into())),
        Transformer::ToUpper => map_strings(value, |s| Some(s.to_ascii_uppercase().into())),
        Transformer::Basename => map_strings(value, |s| match s {
            Cow::Borrowed(b) => Some(Cow::Borrowed(b.rsplit('/').next().unwrap_or(b))),
            Cow::Owned(o) => Some(Cow::Owned(o.rsplit('/').next().unwrap_or(&o).to_owned())),
        }),
        // Limitation: decoded bytes that are not UTF-8 are replaced with
        // U+FFFD, so binary payloads cannot be matched byte for byte.
        Transformer::B64 => map_strings(value, |s| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .ok()?;
            Some(Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()))
        }),
        Transformer::Len => Some(Value::U64(match &value {
            Value::Str(s) => s.len() as u64,
            Value::List(items) => items.len() as u64,
            Value::U64(n) => *n,
        })),
    }
}

fn compare_u64(op: Op, a: u64, b: u64) -> bool {
    match op {
        Op::Eq | Op::In | Op::Intersects => a == b,
        Op::Ne => a != b,
        Op::Lt => a < b,
        Op::Le => a <= b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
        _ => false,
    }
}

impl Test {
    fn matches<'e>(&self, ev: &'e Event, memo: &mut Memo<'e>) -> bool {
        if let TestKind::Field { op, rhs } = &self.kind {
            let lhs = memo.value(&self.lhs, ev).map(Cow::into_owned);
            let rhs = memo.value(rhs, ev);
            return match (lhs, rhs) {
                (Some(a), Some(b)) => compare_values(*op, &a, &b),
                _ => false,
            };
        }
        let Some(value) = memo.value(&self.lhs, ev) else {
            return false;
        };
        match (&self.kind, &*value) {
            (TestKind::Exists, _) => true,
            (TestKind::Text { op, literal }, Value::Str(s)) => compare_text(*op, c_str(s), literal),
            (TestKind::Regex(re), Value::Str(s)) => re.is_match(c_str(s)),
            (TestKind::Number { op, value }, Value::U64(n)) => compare_u64(*op, *n, *value),
            (TestKind::NumSet(set), Value::U64(n)) => set.contains(n),
            (TestKind::StrSet { set, .. }, Value::Str(s)) => set.contains(c_str(s)),
            (TestKind::StrSet { intersects, set }, Value::List(items)) => {
                // A list field with no values behaves like an absent one.
                let mut each = items.iter().map(|s| set.contains(c_str(s)));
                !items.is_empty()
                    && if *intersects {
                        each.any(|b| b)
                    } else {
                        each.all(|b| b)
                    }
            }
            (TestKind::PathMatch(paths), Value::Str(s)) => {
                paths.iter().any(|p| path_match(p, c_str(s)))
            }
            _ => false,
        }
    }
}

fn compare_values(op: Op, a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Str(a), Value::Str(b)) => compare_text(op, c_str(a), c_str(b)),
        (Value::U64(a), Value::U64(b)) => compare_u64(op, *a, *b),
        (Value::List(a), Value::List(b)) if !a.is_empty() => {
            let mut each = a.iter().map(|x| b.iter().any(|y| c_str(x) == c_str(y)));
            match op {
                Op::Intersects => each.any(|hit| hit),
                Op::In => each.all(|hit| hit),
                _ => false,
            }
        }
        _ => false,
    }
}
