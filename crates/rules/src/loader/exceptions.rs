//! Rule exceptions: validation, merging on append, and the rewrite of the
//! condition that makes them take effect.
//!
//! Falco applies exceptions by editing the condition text:
//! `(<condition>) and not (<exception 1>) and not (<exception 2>)`, where a
//! tuple exception is `(f1 op1 v1 and f2 op2 v2) or (...)`, one group per value
//! tuple, and a single-field exception is `f op (v1, v2)`. Values holding a
//! space are double-quoted unless already quoted; nothing else is escaped.

use super::items::{ExValue, ExceptionItem, Shape};
use super::lists::quote_if_spaced;
use crate::ast::{Op, OpKind};

/// A validated exception of a rule.
#[derive(Clone, Debug)]
pub(super) struct Exception {
    pub name: String,
    pub fields: Shape,
    pub comps: Shape,
    pub values: Vec<ExValue>,
}

fn operator(text: &str) -> Option<Op> {
    Op::SPELLINGS
        .iter()
        .find(|(s, _)| *s == text)
        .map(|(_, op)| *op)
}

/// Validates an exception that defines its fields (a new one).
pub(super) fn validate(item: &ExceptionItem) -> Result<Exception, String> {
    let name = &item.name;
    let Some(fields) = item.fields.clone() else {
        return Err(format!("Rule exception '{name}' must have property fields"));
    };
    let comps = match (&fields, item.comps.clone()) {
        (Shape::One(_), None) => Shape::One("in".into()),
        (Shape::Tuple(f), None) => Shape::Tuple(vec!["=".into(); f.len()]),
        (Shape::One(_), Some(Shape::One(c))) => Shape::One(c),
        (Shape::Tuple(f), Some(Shape::Tuple(c))) if f.len() == c.len() => Shape::Tuple(c),
        _ => {
            return Err(format!(
                "Rule exception '{name}': fields and comps lists must have equal length"
            ));
        }
    };
    match &comps {
        Shape::One(c) if !operator(c).is_some_and(|op| op.kind() == OpKind::List) => {
            return Err(format!(
                "Rule exception '{name}': comps '{c}' must be one of in, pmatch, intersects"
            ));
        }
        Shape::Tuple(cs) => {
            if let Some(bad) = cs.iter().find(|c| operator(c).is_none()) {
                return Err(format!(
                    "Rule exception '{name}': '{bad}' is not a valid operator"
                ));
            }
        }
        Shape::One(_) => {}
    }
    let values = item.values.clone().unwrap_or_default();
    check_values(name, &fields, &values)?;
    Ok(Exception {
        name: name.clone(),
        fields,
        comps,
        values,
    })
}

fn check_values(name: &str, fields: &Shape, values: &[ExValue]) -> Result<(), String> {
    for value in values {
        match (fields, value) {
            (Shape::Tuple(f), ExValue::List(tuple)) if tuple.len() == f.len() => {}
            (Shape::Tuple(f), _) => {
                return Err(format!(
                    "Rule exception '{name}': each value must be a list of {} items, like fields",
                    f.len()
                ));
            }
            (Shape::One(_), ExValue::Scalar(_)) => {}
            (Shape::One(_), ExValue::List(_)) => {
                return Err(format!(
                    "Rule exception '{name}': values of a single-field exception must be strings"
                ));
            }
        }
    }
    Ok(())
}

/// Adds exceptions to a rule: values are appended to an exception of the
/// same name (which must then not redefine fields or comps); a new name must
/// be a complete exception. An error comes with the offending item.
pub(super) fn merge<'a>(
    existing: &mut Vec<Exception>,
    added: &'a [ExceptionItem],
) -> Result<(), (&'a ExceptionItem, String)> {
    for item in added {
        merge_one(existing, item).map_err(|message| (item, message))?;
    }
    Ok(())
}

fn merge_one(existing: &mut Vec<Exception>, item: &ExceptionItem) -> Result<(), String> {
    let Some(current) = existing.iter_mut().find(|e| e.name == item.name) else {
        existing.push(validate(item)?);
        return Ok(());
    };
    if item.fields.is_some() || item.comps.is_some() {
        return Err(format!(
            "Rule exception '{}' already exists: an appended exception may only add values",
            item.name
        ));
    }
    let values = item.values.clone().unwrap_or_default();
    check_values(&item.name, &current.fields, &values)?;
    current.values.extend(values);
    Ok(())
}

/// A value as it appears in the rewritten condition.
fn render_value(value: &ExValue, comp: &str) -> String {
    let list_op = operator(comp).is_some_and(|op| op.kind() == OpKind::List);
    match value {
        ExValue::List(items) => {
            let items: Vec<String> = items.iter().map(|v| render_value(v, "=")).collect();
            format!("({})", items.join(", "))
        }
        ExValue::Scalar(s) if list_op => format!("({})", quote_if_spaced(s)),
        ExValue::Scalar(s) => quote_if_spaced(s),
    }
}

fn clause(exception: &Exception) -> Option<String> {
    if exception.values.is_empty() {
        return None;
    }
    match (&exception.fields, &exception.comps) {
        (Shape::One(field), Shape::One(comp)) => {
            let values: Vec<String> = exception
                .values
                .iter()
                .map(|v| render_value(v, "="))
                .collect();
            Some(format!("{field} {comp} ({})", values.join(", ")))
        }
        (Shape::Tuple(fields), Shape::Tuple(comps)) => {
            let groups: Vec<String> = exception
                .values
                .iter()
                .filter_map(|tuple| match tuple {
                    ExValue::List(parts) => Some(parts),
                    ExValue::Scalar(_) => None,
                })
                .map(|parts| {
                    let checks: Vec<String> = fields
                        .iter()
                        .zip(comps)
                        .zip(parts)
                        .map(|((f, c), v)| format!("{f} {c} {}", render_value(v, c)))
                        .collect();
                    format!("({})", checks.join(" and "))
                })
                .collect();
            Some(groups.join(" or "))
        }
        // `validate` gives fields and comps the same shape.
        _ => None,
    }
}

/// The condition with every exception that has values folded in.
pub(super) fn rewrite(condition: &str, exceptions: &[Exception]) -> String {
    let clauses: Vec<String> = exceptions.iter().filter_map(clause).collect();
    if clauses.is_empty() {
        return condition.to_owned();
    }
    let mut out = format!("({condition})");
    for c in clauses {
        out.push_str(&format!(" and not ({c})"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(s: &str) -> ExValue {
        ExValue::Scalar(s.into())
    }

    #[test]
    fn rewrites_both_forms() {
        let tuple = Exception {
            name: "t".into(),
            fields: Shape::Tuple(vec!["ct.user".into(), "ct.srcip".into()]),
            comps: Shape::Tuple(vec!["=".into(), "in".into()]),
            values: vec![
                ExValue::List(vec![
                    scalar("alice"),
                    ExValue::List(vec![scalar("1.1.1.1"), scalar("2.2.2.2")]),
                ]),
                ExValue::List(vec![scalar("bob smith"), scalar("trusted")]),
            ],
        };
        let single = Exception {
            name: "s".into(),
            fields: Shape::One("ct.name".into()),
            comps: Shape::One("in".into()),
            values: vec![scalar("ListBuckets"), scalar("Get Object")],
        };
        assert_eq!(
            rewrite("ct.name=x", &[tuple, single]),
            "(ct.name=x) and not ((ct.user = alice and ct.srcip in (1.1.1.1, 2.2.2.2)) or \
             (ct.user = \"bob smith\" and ct.srcip in (trusted))) \
             and not (ct.name in (ListBuckets, \"Get Object\"))"
        );
    }

    #[test]
    fn exceptions_without_values_change_nothing() {
        let empty = Exception {
            name: "e".into(),
            fields: Shape::One("ct.name".into()),
            comps: Shape::One("in".into()),
            values: vec![],
        };
        assert_eq!(rewrite("a", &[empty]), "a");
    }
}
