//! Turns a parsed condition into an evaluable tree.
//!
//! Everything that can be decided once is decided here: fields are resolved,
//! operators are checked against field types, numbers are parsed, regexes
//! compiled and `in` lists turned into hash sets. Evaluation then only
//! extracts values and compares.

pub(crate) mod matcher;

use std::collections::HashSet;

use regex::Regex;

use crate::ast::{Check, Expr, Op, OpKind, Operand, Rhs, Transformer};
use crate::fields::{self, FieldError, FieldRef, FieldType};
use crate::lexer::MAX_LITERAL_BYTES;

/// Why a condition could not be compiled.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct CompileError {
    pub message: String,
    /// Set when the cause is an unknown field name, which
    /// `skip-if-unknown-filter` turns into a warning.
    pub unknown_field: bool,
}

impl CompileError {
    fn new(message: impl Into<String>) -> Self {
        CompileError {
            message: message.into(),
            unknown_field: false,
        }
    }
}

impl From<FieldError> for CompileError {
    fn from(e: FieldError) -> Self {
        CompileError {
            unknown_field: matches!(e, FieldError::Unknown(_)),
            message: e.to_string(),
        }
    }
}

/// A compiled boolean expression.
#[derive(Debug)]
pub(crate) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Check(Box<Test>),
}

/// A field with the transformers applied to it, innermost first.
#[derive(Clone, Debug)]
pub(crate) struct Accessor {
    pub field: FieldRef,
    pub transforms: Vec<Transformer>,
    /// Type of the value after the transformers.
    pub ty: FieldType,
    pub is_list: bool,
    /// Where an event's value of this accessor is kept while the event is
    /// evaluated (see `eval::Memo`); every accessor of a rule set that reads
    /// the same field the same way shares a slot. Conditions get theirs when
    /// the rule set is built; [`NO_SLOT`] until then, and in outputs.
    pub slot: usize,
}

/// The slot of an accessor whose values are not kept.
pub(crate) const NO_SLOT: usize = usize::MAX;

/// One compiled comparison.
#[derive(Debug)]
pub(crate) struct Test {
    pub lhs: Accessor,
    pub kind: TestKind,
}

/// The comparison part of a [`Test`], specialised by operand types.
#[derive(Debug)]
pub(crate) enum TestKind {
    Exists,
    /// A string operator against one literal.
    Text {
        op: Op,
        literal: String,
    },
    Regex(Regex),
    Number {
        op: Op,
        value: u64,
    },
    /// `in` / `intersects` against literal strings.
    StrSet {
        intersects: bool,
        set: HashSet<String>,
    },
    NumSet(HashSet<u64>),
    PathMatch(Vec<String>),
    /// Field-to-field comparison (`val(f)` or a transformer on the right).
    Field {
        op: Op,
        rhs: Accessor,
    },
}

/// Replaces macro references by the macros' trees.
///
/// `lookup` gives a macro's already expanded tree, or `None` when the name is
/// not a macro usable here. `Err` carries the undefined name.
pub(crate) fn expand_macros<'m>(
    expr: &Expr,
    lookup: &mut dyn FnMut(&str) -> Option<&'m Expr>,
) -> Result<Expr, String> {
    Ok(match expr {
        Expr::And(children) => Expr::And(expand_all(children, lookup)?),
        Expr::Or(children) => Expr::Or(expand_all(children, lookup)?),
        Expr::Not(child) => Expr::Not(Box::new(expand_macros(child, lookup)?)),
        Expr::Macro { name, .. } => lookup(name).ok_or_else(|| name.clone())?.clone(),
        Expr::Check(check) => Expr::Check(check.clone()),
    })
}

fn expand_all<'m>(
    children: &[Expr],
    lookup: &mut dyn FnMut(&str) -> Option<&'m Expr>,
) -> Result<Vec<Expr>, String> {
    children.iter().map(|c| expand_macros(c, lookup)).collect()
}

/// Compiles a macro-free expression.
pub(crate) fn compile(expr: &Expr) -> Result<Node, CompileError> {
    Ok(match expr {
        Expr::And(children) => Node::And(children.iter().map(compile).collect::<Result<_, _>>()?),
        Expr::Or(children) => Node::Or(children.iter().map(compile).collect::<Result<_, _>>()?),
        Expr::Not(child) => Node::Not(Box::new(compile(child)?)),
        Expr::Macro { name, .. } => {
            return Err(CompileError::new(format!(
                "Undefined macro '{name}' used in filter."
            )));
        }
        Expr::Check(check) => Node::Check(Box::new(compile_check(check)?)),
    })
}

impl Node {
    /// Calls `f` with every accessor of the expression, right sides of
    /// field comparisons included.
    pub(crate) fn for_each_accessor(&mut self, f: &mut impl FnMut(&mut Accessor)) {
        match self {
            Node::And(children) | Node::Or(children) => {
                children.iter_mut().for_each(|c| c.for_each_accessor(f));
            }
            Node::Not(child) => child.for_each_accessor(f),
            Node::Check(test) => {
                f(&mut test.lhs);
                if let TestKind::Field { rhs, .. } = &mut test.kind {
                    f(rhs);
                }
            }
        }
    }
}

impl Accessor {
    /// What makes two accessors read the same value: the field as written
    /// and the transformers.
    pub(crate) fn memo_key(&self) -> String {
        format!("{}{:?}", self.field.display_name(), self.transforms)
    }
}

/// Resolves a field (and its transformers) and works out its value type.
pub(crate) fn accessor(operand: &Operand) -> Result<Accessor, CompileError> {
    match operand {
        Operand::Field { name, arg, .. } => {
            let field = fields::resolve(name, arg.as_deref())?;
            let info = field.info();
            Ok(Accessor {
                field,
                transforms: Vec::new(),
                ty: info.ty,
                is_list: info.is_list,
                slot: NO_SLOT,
            })
        }
        Operand::Transform { kind, inner } => {
            let mut acc = accessor(inner)?;
            match kind {
                Transformer::Len if acc.ty == FieldType::String || acc.is_list => {
                    acc.ty = FieldType::U64;
                    acc.is_list = false;
                }
                Transformer::Len => {
                    return Err(CompileError::new(format!(
                        "transformer 'len' needs a string or list field, got '{}'",
                        inner.display()
                    )));
                }
                _ if acc.ty != FieldType::String => {
                    return Err(CompileError::new(format!(
                        "transformer '{}' needs a string field, got '{}'",
                        kind.as_str(),
                        inner.display()
                    )));
                }
                _ => {}
            }
            acc.transforms.push(*kind);
            Ok(acc)
        }
    }
}

fn op_name(op: Op) -> &'static str {
    if op == Op::Eq { "=" } else { op.as_str() }
}

fn type_name(acc: &Accessor) -> &'static str {
    match (acc.is_list, acc.ty) {
        (true, _) => "list",
        (false, FieldType::String) => "string",
        (false, FieldType::U64) => "uint64",
    }
}

fn compile_check(check: &Check) -> Result<Test, CompileError> {
    let lhs = accessor(&check.lhs)?;
    let op = check.op;
    let unsupported = || {
        CompileError::new(format!(
            "operator '{}' is not supported on {} field '{}'",
            op_name(op),
            type_name(&lhs),
            check.lhs.display()
        ))
    };
    if matches!(op, Op::BContains | Op::BStartsWith) {
        return Err(unsupported());
    }
    if lhs.is_list && !matches!(op, Op::Exists | Op::In | Op::Intersects) {
        return Err(unsupported());
    }
    let numeric_ok = matches!(op.kind(), OpKind::Unary | OpKind::Numeric)
        || matches!(op, Op::Eq | Op::Ne | Op::In | Op::Intersects);
    if lhs.ty == FieldType::U64 && !numeric_ok {
        return Err(unsupported());
    }

    let literals: &[String] = match &check.rhs {
        Rhs::Value(v) => std::slice::from_ref(v),
        Rhs::List(items) => items,
        Rhs::None | Rhs::Operand(_) => &[],
    };
    if literals.iter().any(|v| v.len() > MAX_LITERAL_BYTES) {
        return Err(CompileError::new("filter parameter too long"));
    }

    let kind = match &check.rhs {
        Rhs::None => TestKind::Exists,
        Rhs::Operand(operand) => field_test(&lhs, op, operand)?,
        Rhs::Value(v) if lhs.ty == FieldType::U64 => TestKind::Number {
            op,
            value: parse_u64(v)?,
        },
        Rhs::List(items) if lhs.ty == FieldType::U64 => TestKind::NumSet(
            items
                .iter()
                .map(|v| parse_u64(v))
                .collect::<Result<_, _>>()?,
        ),
        Rhs::Value(v) if op == Op::Regex => {
            let re = Regex::new(&format!(r"\A(?:{v})\z"))
                .map_err(|e| CompileError::new(format!("invalid regex '{v}': {e}")))?;
            TestKind::Regex(re)
        }
        Rhs::Value(v) => TestKind::Text {
            op,
            literal: v.clone(),
        },
        Rhs::List(items) if op == Op::PMatch => TestKind::PathMatch(items.clone()),
        Rhs::List(items) => TestKind::StrSet {
            intersects: op == Op::Intersects,
            set: items.iter().cloned().collect(),
        },
    };
    Ok(Test { lhs, kind })
}

fn field_test(lhs: &Accessor, op: Op, operand: &Operand) -> Result<TestKind, CompileError> {
    if matches!(op, Op::Regex | Op::PMatch) {
        return Err(CompileError::new(format!(
            "operator '{}' cannot compare two fields",
            op_name(op)
        )));
    }
    let rhs = accessor(operand)?;
    if rhs.ty != lhs.ty || rhs.is_list != lhs.is_list {
        return Err(CompileError::new(format!(
            "cannot compare a {} field with the {} field '{}'",
            type_name(lhs),
            type_name(&rhs),
            operand.display()
        )));
    }
    Ok(TestKind::Field { op, rhs })
}

/// Parses a numeric literal for a `uint64` field: decimal or `0x` hex.
fn parse_u64(text: &str) -> Result<u64, CompileError> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    };
    parsed.ok_or_else(|| CompileError::new(format!("could not parse '{text}' as a number")))
}
