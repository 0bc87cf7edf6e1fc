//! Compiling the final definitions: macros, then rules, then the unused
//! list and macro warnings.

use super::exceptions;
use super::lists;
use super::overrides::{Origin, RuleDef, State};
use crate::ast::Expr;
use crate::compile::{self, expand_macros};
use crate::diagnostic::Sink;
use crate::fields;
use crate::output;
use crate::parser;
use crate::ruleset::{CompiledRule, RuleInfo};

/// The only event source this crate evaluates.
pub(super) const SOURCE: &str = "aws_cloudtrail";

/// Reports diagnostics against origin indexes.
struct Reporter<'a> {
    files: &'a [String],
    sink: &'a mut Sink,
}

impl Reporter<'_> {
    fn error(&mut self, at: Origin, message: impl Into<String>) {
        self.sink.error(&self.files[at.file], Some(at.pos), message);
    }

    fn warning(&mut self, at: Origin, message: impl Into<String>) {
        self.sink
            .warning(&self.files[at.file], Some(at.pos), message);
    }
}

/// The most comparisons and operators a condition may hold once its macros
/// are expanded. Macros that each use the previous one twice double in size
/// at every step, so without a bound a rules file of a few lines could take
/// all the memory of the daemon; real conditions stay in the hundreds.
const MAX_EXPANDED_NODES: usize = 100_000;

/// The longest condition text after list expansion, for the same reason.
const MAX_EXPANDED_CONDITION_BYTES: usize = 1 << 20;

/// Macros with their own macro references expanded, in definition order.
/// A `None` tree marks a macro that failed (its error is already reported).
#[derive(Default)]
struct Macros {
    names: Vec<String>,
    trees: Vec<Option<Expr>>,
    /// Node count of each expanded tree (0 for a failed macro).
    sizes: Vec<usize>,
    used: Vec<bool>,
}

/// Node count of `expr` once macros are expanded, from the sizes of the
/// macros' own expanded trees, computed without building the tree.
fn expanded_size(expr: &Expr, size_of: &dyn Fn(&str) -> usize) -> usize {
    match expr {
        Expr::And(children) | Expr::Or(children) => children.iter().fold(1, |total, c| {
            total.saturating_add(expanded_size(c, size_of))
        }),
        Expr::Not(child) => expanded_size(child, size_of).saturating_add(1),
        Expr::Macro { name, .. } => size_of(name),
        Expr::Check(_) => 1,
    }
}

/// Parses a condition after list expansion, reporting syntax errors.
fn parse(
    text: &str,
    state: &mut State,
    what: &str,
    at: Origin,
    rep: &mut Reporter<'_>,
) -> Option<Expr> {
    let expanded = match lists::expand(text, &mut state.lists, MAX_EXPANDED_CONDITION_BYTES) {
        Ok(expanded) => expanded,
        Err(length) => {
            let message = format!(
                "{what}: condition would be {length} bytes after list expansion, over the \
                 limit of {MAX_EXPANDED_CONDITION_BYTES}"
            );
            rep.error(at, message);
            return None;
        }
    };
    match parser::parse(&expanded) {
        Ok(expr) => Some(expr),
        Err(e) => {
            let message = format!(
                "{what}: {} at offset {} of condition: {expanded}",
                e.message, e.at
            );
            rep.error(at, message);
            None
        }
    }
}

impl Macros {
    fn mark_used(&mut self, expr: &Expr) {
        match expr {
            Expr::And(children) | Expr::Or(children) => {
                children.iter().for_each(|c| self.mark_used(c));
            }
            Expr::Not(child) => self.mark_used(child),
            Expr::Macro { name, .. } => {
                if let Some(i) = self.names.iter().position(|n| n == name) {
                    self.used[i] = true;
                }
            }
            Expr::Check(_) => {}
        }
    }

    /// Expands macro references in `expr` using the macros defined so far.
    ///
    /// `Err(None)` means a referenced macro had failed already, so there is
    /// nothing new to report.
    fn expand(&mut self, expr: &Expr) -> Result<Expr, Option<String>> {
        let size_of = |name: &str| {
            let i = self.names.iter().position(|n| n == name);
            i.map_or(1, |i| self.sizes[i])
        };
        let size = expanded_size(expr, &size_of);
        if size > MAX_EXPANDED_NODES {
            // The references are real even though the expansion is refused;
            // an "unused macro" warning would mislead.
            self.mark_used(expr);
            return Err(Some(format!(
                "condition has {size} nodes once its macros are expanded, over the limit of \
                 {MAX_EXPANDED_NODES}"
            )));
        }
        let mut failed = false;
        let (names, trees, used) = (&self.names, &self.trees, &mut self.used);
        let mut lookup = |name: &str| {
            let i = names.iter().position(|n| n == name)?;
            used[i] = true;
            failed |= trees[i].is_none();
            trees[i].as_ref()
        };
        match expand_macros(expr, &mut lookup) {
            Ok(expanded) => Ok(expanded),
            Err(_) if failed => Err(None),
            Err(name) => Err(Some(format!("Undefined macro '{name}' used in filter."))),
        }
    }
}

/// Compiles everything; returns the rules that loaded.
pub(super) fn build(
    state: &mut State,
    files: &[String],
    sink: &mut Sink,
) -> Vec<(RuleInfo, CompiledRule)> {
    let mut rep = Reporter { files, sink };
    // A macro may only use macros defined before it, which also rules out
    // recursion: each one is expanded against those already done.
    let mut macros = Macros::default();
    for i in 0..state.macros.len() {
        let (name, text, origin) = {
            let m = &state.macros[i];
            (m.name.clone(), m.condition.clone(), m.origin)
        };
        let what = format!("macro '{name}'");
        let tree = match parse(&text, state, &what, origin, &mut rep).map(|e| macros.expand(&e)) {
            Some(Ok(tree)) => Some(tree),
            Some(Err(Some(message))) => {
                rep.error(origin, format!("{what}: {message}"));
                None
            }
            Some(Err(None)) | None => None,
        };
        let size = tree.as_ref().map_or(0, |t| expanded_size(t, &|_| 1));
        macros.names.push(name);
        macros.trees.push(tree);
        macros.sizes.push(size);
        macros.used.push(false);
    }

    let mut loaded = Vec::new();
    let rules = std::mem::take(&mut state.rules);
    for rule in &rules {
        if rule.source != SOURCE {
            rep.warning(
                rule.origin,
                format!("Unknown source {}, skipping", rule.source),
            );
            continue;
        }
        if let Some(compiled) = compile_rule(rule, state, &mut macros, &mut rep) {
            loaded.push(compiled);
        }
    }
    state.rules = rules;

    for (list, origin) in state.lists.iter().zip(&state.list_origins) {
        if !list.used {
            rep.warning(
                *origin,
                format!(
                    "List '{}' not referred to by any other rule/macro/list",
                    list.name
                ),
            );
        }
    }
    for (def, used) in state.macros.iter().zip(&macros.used) {
        if !used {
            rep.warning(
                def.origin,
                format!(
                    "Macro '{}' not referred to by any other rule/macro",
                    def.name
                ),
            );
        }
    }
    loaded
}

/// Splits `name[arg]` into the field name and its argument.
fn split_field(text: &str) -> (&str, Option<&str>) {
    match text.split_once('[') {
        Some((name, rest)) => (name, Some(rest.strip_suffix(']').unwrap_or(rest))),
        None => (text, None),
    }
}

fn compile_rule(
    rule: &RuleDef,
    state: &mut State,
    macros: &mut Macros,
    rep: &mut Reporter<'_>,
) -> Option<(RuleInfo, CompiledRule)> {
    let what = format!("rule '{}'", rule.name);
    let unknown_field = |rep: &mut Reporter<'_>, message: String| {
        if rule.skip_unknown {
            rep.warning(rule.origin, format!("{what}: {message}; skipping the rule"));
        } else {
            rep.error(rule.origin, format!("{what}: {message}"));
        }
    };

    for exception in &rule.exceptions {
        let names: Vec<&String> = match &exception.fields {
            super::items::Shape::One(f) => vec![f],
            super::items::Shape::Tuple(fs) => fs.iter().collect(),
        };
        for name in names {
            let (field, arg) = split_field(name);
            if let Err(e) = fields::resolve(field, arg) {
                let message = format!("exception '{}': {e}", exception.name);
                unknown_field(rep, message);
                return None;
            }
        }
    }

    let text = exceptions::rewrite(&rule.condition, &rule.exceptions);
    let expr = parse(&text, state, &what, rule.origin, rep)?;
    let expr = match macros.expand(&expr) {
        Ok(expr) => expr,
        Err(message) => {
            if let Some(m) = message {
                rep.error(rule.origin, format!("{what}: {m}"));
            }
            return None;
        }
    };
    let condition = match compile::compile(&expr) {
        Ok(node) => node,
        Err(e) if e.unknown_field => {
            unknown_field(rep, e.message);
            return None;
        }
        Err(e) => {
            rep.error(rule.origin, format!("{what}: {}", e.message));
            return None;
        }
    };
    let output = match output::parse(&rule.output) {
        Ok(template) => template,
        Err(message) => {
            rep.error(rule.origin, format!("{what}: invalid output: {message}"));
            return None;
        }
    };
    let info = RuleInfo {
        name: rule.name.clone(),
        priority: rule.priority,
        source: rule.source.clone(),
        enabled: rule.enabled,
        tags: rule.tags.clone(),
        description: rule.desc.clone(),
    };
    Some((info, CompiledRule { condition, output }))
}
