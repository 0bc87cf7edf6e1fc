//! Output templates: `%field` placeholders inside literal text.
//!
//! After `%` come an optional width (`%20ct.user` pads or cuts to 20
//! characters), then a transformer call (`%tolower(ct.user)`) or the longest
//! known field name that prefixes the text (so `user=%ct.user.` reads field
//! `ct.user` followed by a literal dot), then `[arg]` for fields that take one.
//! A missing value prints `<NA>`; list values print as `(a,b)`.

use serde_json::{Map, Value as Json};

use crate::ast::{Operand, Transformer};
use crate::compile::{Accessor, accessor};
use crate::event::Event;
use crate::fields::{self, ArgKind, Value};

/// What Falco prints for a field that has no value.
const ABSENT: &str = "<NA>";

/// A compiled output template.
#[derive(Debug)]
pub(crate) struct Template {
    segments: Vec<Segment>,
}

#[derive(Debug)]
enum Segment {
    Text(String),
    Field {
        /// The placeholder as written, without `%` and width: the key in
        /// `output_fields`.
        key: String,
        accessor: Accessor,
        width: Option<usize>,
    },
}

/// Parses a template; the text is trimmed first, as Falco does.
pub(crate) fn parse(text: &str) -> Result<Template, String> {
    let text = text.trim();
    let mut segments = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('%') {
        literal.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if rest.is_empty() {
            return Err("invalid formatting syntax: formatting cannot end with a %".into());
        }
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let width = match digits {
            0 => None,
            _ => Some(
                rest[..digits]
                    .parse()
                    .ok()
                    .filter(|w| *w <= MAX_WIDTH)
                    .ok_or_else(|| format!("invalid field width: at most {MAX_WIDTH}"))?,
            ),
        };
        rest = &rest[digits..];
        if rest.is_empty() {
            return Err("invalid formatting syntax: formatting cannot end with a number".into());
        }

        let (operand, len) = operand_at(rest)?;
        let accessor = accessor(&operand).map_err(|e| e.message)?;
        if !literal.is_empty() {
            segments.push(Segment::Text(std::mem::take(&mut literal)));
        }
        segments.push(Segment::Field {
            key: rest[..len].to_owned(),
            accessor,
            width,
        });
        rest = &rest[len..];
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        segments.push(Segment::Text(literal));
    }
    Ok(Template { segments })
}

/// Reads a placeholder at the start of `s`; returns it and its length.
fn operand_at(s: &str) -> Result<(Operand, usize), String> {
    for (name, kind) in Transformer::ALL {
        let Some(inner) = s.strip_prefix(name).and_then(|r| r.strip_prefix('(')) else {
            continue;
        };
        let (operand, len) = operand_at(inner)?;
        if !inner[len..].starts_with(')') {
            return Err(format!("expected ')' after '{name}(' in output: {s}"));
        }
        let total = name.len() + 1 + len + 1;
        let operand = Operand::Transform {
            kind,
            inner: Box::new(operand),
        };
        return Ok((operand, total));
    }

    let field = fields::all_fields()
        .iter()
        .filter(|f| s.starts_with(f.name))
        .max_by_key(|f| f.name.len())
        .ok_or_else(|| format!("invalid formatting token {s}"))?;
    let mut len = field.name.len();
    let mut arg = None;
    if field.arg != ArgKind::None && s[len..].starts_with('[') {
        let close = s[len..]
            .find(']')
            .ok_or_else(|| format!("missing ']' in output field: {s}"))?;
        arg = Some(s[len + 1..len + close].to_owned());
        len += close + 1;
    }
    let operand = Operand::Field {
        name: field.name.to_owned(),
        arg,
        at: 0,
    };
    Ok((operand, len))
}

/// A value as Falco prints it in text output.
fn to_text(value: Option<&Value<'_>>) -> String {
    match value {
        None => ABSENT.to_owned(),
        Some(Value::Str(s)) => s.to_string(),
        Some(Value::U64(n)) => n.to_string(),
        Some(Value::List(items)) => format!("({})", items.join(",")),
    }
}

/// A value as typed JSON: strings, numbers, arrays, `null` when absent.
pub(crate) fn to_json(value: Option<&Value<'_>>) -> Json {
    match value {
        None => Json::Null,
        Some(Value::Str(s)) => Json::String(s.to_string()),
        Some(Value::U64(n)) => Json::from(*n),
        Some(Value::List(items)) => items.iter().map(|s| Json::String(s.to_string())).collect(),
    }
}

/// The widest `%<N>field` accepted: wide enough for any column layout, small
/// enough that one placeholder cannot make every alert megabytes long.
const MAX_WIDTH: usize = 4096;

impl Template {
    /// Renders the text and records each placeholder's typed value.
    pub(crate) fn render(&self, ev: &Event, fields: &mut Map<String, Json>) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Text(text) => out.push_str(text),
                Segment::Field {
                    key,
                    accessor,
                    width,
                } => {
                    let value = accessor.value(ev);
                    let text = to_text(value.as_ref());
                    match width {
                        Some(w) => {
                            let kept = text.chars().take(*w);
                            let shown = kept.clone().count();
                            out.extend(kept);
                            out.extend(std::iter::repeat_n(' ', w - shown));
                        }
                        None => out.push_str(&text),
                    }
                    fields.insert(key.clone(), to_json(value.as_ref()));
                }
            }
        }
        out
    }
}
