//! Applying items in order: definitions, redefinitions, legacy `append`,
//! `override`, and enabled-only toggles.
//!
//! A redefinition replaces the earlier item but keeps its position, which
//! matters for first-match evaluation and for which macros a macro may use.

use super::exceptions::{self, Exception};
use super::items::{ListItem, MacroItem, OverrideOp, Overrides, RuleItem};
use super::lists::ListDef;
use crate::diagnostic::{Pos, Sink};
use crate::priority::Priority;

/// The source a rule belongs to when it does not say: Falco's default.
pub(super) const DEFAULT_SOURCE: &str = "syscall";

/// Where a definition came from: origin index and position.
#[derive(Clone, Copy, Debug)]
pub(super) struct Origin {
    pub file: usize,
    pub pos: Pos,
}

#[derive(Debug)]
pub(super) struct MacroDef {
    pub name: String,
    pub condition: String,
    pub origin: Origin,
}

#[derive(Debug)]
pub(super) struct RuleDef {
    pub name: String,
    pub origin: Origin,
    pub condition: String,
    pub output: String,
    pub desc: String,
    pub priority: Priority,
    pub source: String,
    pub enabled: bool,
    pub tags: Vec<String>,
    pub exceptions: Vec<Exception>,
    pub skip_unknown: bool,
}

/// Everything defined so far, in definition order.
#[derive(Debug, Default)]
pub(super) struct State {
    pub lists: Vec<ListDef>,
    pub list_origins: Vec<Origin>,
    pub macros: Vec<MacroDef>,
    pub rules: Vec<RuleDef>,
}

/// Reports errors for one item.
pub(super) struct Ctx<'a> {
    pub file: usize,
    pub name: &'a str,
    pub sink: &'a mut Sink,
}

impl Ctx<'_> {
    fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.sink.error(self.name, Some(pos), message);
    }

    fn deprecated(&mut self, pos: Pos, what: &str) {
        let message = format!("{what} is deprecated; use 'override' instead");
        self.sink.warning(self.name, Some(pos), message);
    }

    fn origin(&self, pos: Pos) -> Origin {
        Origin {
            file: self.file,
            pos,
        }
    }
}

/// Checks an `override:` mapping against the item's keys. `present` are the
/// overridable keys the item defines.
fn check_overrides(
    ctx: &mut Ctx<'_>,
    overrides: &Overrides,
    present: &[(&str, Pos)],
    appendable: &[&str],
    replaceable: &[&str],
) -> bool {
    let errors_before = ctx.sink.diagnostics.len();
    for (key, op) in &overrides.entries {
        let allowed = match op {
            OverrideOp::Append => appendable,
            OverrideOp::Replace => replaceable,
        };
        let k = key.value.as_str();
        if !allowed.contains(&k) {
            let message = match op {
                OverrideOp::Append if replaceable.contains(&k) => {
                    format!("Key '{k}' cannot be appended to, use 'replace' instead")
                }
                OverrideOp::Append => format!("Key '{k}' cannot be appended to"),
                OverrideOp::Replace => format!("Key '{k}' cannot be replaced"),
            };
            ctx.error(key.pos, message);
        } else if !present.iter().any(|(p, _)| *p == k) {
            let message =
                format!("An override is defined for '{k}' but the item does not define it");
            ctx.error(key.pos, message);
        }
    }
    for (key, pos) in present {
        if overrides.op(key).is_none() {
            let message = format!("Key '{key}' is defined but has no entry under 'override'");
            ctx.error(*pos, message);
        }
    }
    ctx.sink.diagnostics.len() == errors_before
}

fn append_text(to: &mut String, more: &str) {
    to.push(' ');
    to.push_str(more);
}

/// The most items a list may hold after flattening the lists it names:
/// lists of lists double at each step, and an unbounded list would let a few
/// lines of YAML exhaust memory. Real lists hold at most a few thousand.
const MAX_LIST_ITEMS: usize = 100_000;

impl State {
    fn flatten(&mut self, items: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        for item in items {
            match self.lists.iter_mut().find(|l| l.name == *item) {
                Some(list) => {
                    list.used = true;
                    out.extend(list.items.iter().cloned());
                }
                None => out.push(item.clone()),
            }
        }
        out
    }

    pub fn apply_list(&mut self, ctx: &mut Ctx<'_>, item: ListItem) {
        let existing = self.lists.iter().position(|l| l.name == item.name);
        let modifies = item.append || item.overrides.is_some();
        if item.append && item.overrides.is_some() {
            ctx.error(
                item.pos,
                "Keys 'override' and 'append: true' cannot be used together.",
            );
            return;
        }
        if let Some(overrides) = &item.overrides {
            let present: Vec<(&str, Pos)> = item.items.iter().map(|l| ("items", l.pos)).collect();
            if !check_overrides(ctx, overrides, &present, &["items"], &["items"]) {
                return;
            }
        }
        let Some(items) = item.items else {
            ctx.error(item.pos, "Item has no mapping for key 'items'");
            return;
        };
        if item.append {
            ctx.deprecated(item.pos, "The 'append' key");
        }
        let flat = self.flatten(&items.value);
        let total = flat.len()
            + existing
                .filter(|_| modifies)
                .map_or(0, |i| self.lists[i].items.len());
        if total > MAX_LIST_ITEMS {
            let message = format!(
                "List '{}' has {total} items once the lists it names are expanded, over the \
                 limit of {MAX_LIST_ITEMS}",
                item.name
            );
            ctx.error(item.pos, message);
            return;
        }
        match (existing, modifies) {
            (None, true) => {
                let key = if item.append { "append" } else { "override" };
                let message =
                    format!("List has '{key}' key but no list by that name already exists");
                ctx.error(item.pos, message);
            }
            (Some(i), true)
                if item.overrides.as_ref().and_then(|o| o.op("items"))
                    == Some(OverrideOp::Replace) =>
            {
                self.lists[i].items = flat;
            }
            (Some(i), true) => self.lists[i].items.extend(flat),
            (found, false) => {
                let def = ListDef {
                    name: item.name,
                    items: flat,
                    used: false,
                };
                match found {
                    Some(i) => {
                        self.lists[i] = def;
                        self.list_origins[i] = ctx.origin(item.pos);
                    }
                    None => {
                        self.lists.push(def);
                        self.list_origins.push(ctx.origin(item.pos));
                    }
                }
            }
        }
    }

    pub fn apply_macro(&mut self, ctx: &mut Ctx<'_>, item: MacroItem) {
        let existing = self.macros.iter().position(|m| m.name == item.name);
        if item.append && item.overrides.is_some() {
            ctx.error(
                item.pos,
                "Keys 'override' and 'append: true' cannot be used together.",
            );
            return;
        }
        if let Some(overrides) = &item.overrides {
            let present: Vec<(&str, Pos)> = item
                .condition
                .iter()
                .map(|c| ("condition", c.pos))
                .collect();
            if !check_overrides(ctx, overrides, &present, &["condition"], &["condition"]) {
                return;
            }
        }
        let Some(condition) = item.condition else {
            ctx.error(item.pos, "Item has no mapping for key 'condition'");
            return;
        };
        if item.append {
            ctx.deprecated(item.pos, "The 'append' key");
        }
        let replace =
            item.overrides.as_ref().and_then(|o| o.op("condition")) == Some(OverrideOp::Replace);
        match existing {
            None if item.append || item.overrides.is_some() => {
                let key = if item.append { "append" } else { "override" };
                let message =
                    format!("Macro has '{key}' key but no macro by that name already exists");
                ctx.error(item.pos, message);
            }
            Some(i) if (item.append || item.overrides.is_some()) && !replace => {
                append_text(&mut self.macros[i].condition, &condition.value);
            }
            found => {
                let def = MacroDef {
                    name: item.name,
                    condition: condition.value,
                    origin: ctx.origin(condition.pos),
                };
                match found {
                    Some(i) => self.macros[i] = def,
                    None => self.macros.push(def),
                }
            }
        }
    }

    pub fn apply_rule(&mut self, ctx: &mut Ctx<'_>, item: RuleItem) {
        let existing = self.rules.iter().position(|r| r.name == item.name);
        if let (Some(i), Some(source)) = (existing, &item.source)
            && self.rules[i].source != source.value
        {
            let message = format!(
                "Rule '{}' has been re-defined with a different source: {} (was {})",
                item.name, source.value, self.rules[i].source
            );
            ctx.error(source.pos, message);
            return;
        }
        if item.append && item.overrides.is_some() {
            ctx.error(
                item.pos,
                "Keys 'override' and 'append: true' cannot be used together.",
            );
            return;
        }
        if item.overrides.is_some() {
            self.override_rule(ctx, existing, item);
        } else if item.append {
            self.append_rule(ctx, existing, item);
        } else if item.enabled.is_some() && is_enable_only(&item) {
            ctx.deprecated(item.pos, "A rule item with only 'enabled'");
            match existing {
                Some(i) => self.rules[i].enabled = item.enabled.is_some_and(|e| e.value),
                None => {
                    let message = "Rule has 'enabled' key but no rule by that name already exists";
                    ctx.error(item.pos, message);
                }
            }
        } else {
            self.define_rule(ctx, existing, item);
        }
    }

    fn define_rule(&mut self, ctx: &mut Ctx<'_>, existing: Option<usize>, item: RuleItem) {
        let mut missing = false;
        for (key, present) in [
            ("condition", item.condition.is_some()),
            ("output", item.output.is_some()),
            ("desc", item.desc.is_some()),
            ("priority", item.priority.is_some()),
        ] {
            if !present {
                ctx.error(item.pos, format!("Item has no mapping for key '{key}'"));
                missing = true;
            }
        }
        let (Some(condition), Some(output), Some(desc), Some(priority)) =
            (item.condition, item.output, item.desc, item.priority)
        else {
            return;
        };
        if missing {
            return;
        }
        let Some(priority) = parse_priority(ctx, &priority.value, priority.pos) else {
            return;
        };
        let mut exceptions = Vec::new();
        let items = item.exceptions.map(|e| e.value).unwrap_or_default();
        for ex in &items {
            match exceptions::validate(ex) {
                Ok(valid) => exceptions.push(valid),
                Err(message) => return ctx.error(ex.pos, message),
            }
        }
        let def = RuleDef {
            name: item.name,
            origin: ctx.origin(condition.pos),
            condition: condition.value,
            output: output.value,
            desc: desc.value,
            priority,
            source: item
                .source
                .map_or_else(|| DEFAULT_SOURCE.to_owned(), |s| s.value),
            enabled: item.enabled.is_none_or(|e| e.value),
            tags: dedup(item.tags.map(|t| t.value).unwrap_or_default()),
            exceptions,
            skip_unknown: item.skip_unknown.is_some_and(|s| s.value),
        };
        match existing {
            Some(i) => self.rules[i] = def,
            None => self.rules.push(def),
        }
    }

    fn append_rule(&mut self, ctx: &mut Ctx<'_>, existing: Option<usize>, item: RuleItem) {
        let Some(i) = existing else {
            let message = "Rule has 'append' key but no rule by that name already exists";
            return ctx.error(item.pos, message);
        };
        if item.condition.is_none() && item.exceptions.is_none() {
            let message = "Appended rule must have exceptions or condition property";
            return ctx.error(item.pos, message);
        }
        ctx.deprecated(item.pos, "The 'append' key");
        let rule = &mut self.rules[i];
        if let Some(condition) = &item.condition {
            append_text(&mut rule.condition, &condition.value);
        }
        if let Some(added) = &item.exceptions
            && let Err((bad, message)) = exceptions::merge(&mut rule.exceptions, &added.value)
        {
            ctx.error(bad.pos, message);
        }
    }

    fn override_rule(&mut self, ctx: &mut Ctx<'_>, existing: Option<usize>, item: RuleItem) {
        let Some(overrides) = &item.overrides else {
            return;
        };
        let present = item.present_keys();
        let appendable = ["condition", "output", "desc", "tags", "exceptions"];
        if !check_overrides(
            ctx,
            overrides,
            &present,
            &appendable,
            &super::items::RULE_OVERRIDABLE,
        ) {
            return;
        }
        let Some(i) = existing else {
            let message = "Rule has 'override' key but no rule by that name already exists";
            return ctx.error(item.pos, message);
        };
        let append = |key: &str| overrides.op(key) == Some(OverrideOp::Append);
        let rule = &mut self.rules[i];
        if let Some(c) = &item.condition {
            if append("condition") {
                append_text(&mut rule.condition, &c.value);
            } else {
                rule.condition.clone_from(&c.value);
            }
        }
        for (slot, value, key) in [
            (&mut rule.output, &item.output, "output"),
            (&mut rule.desc, &item.desc, "desc"),
        ] {
            match value {
                Some(v) if append(key) => append_text(slot, &v.value),
                Some(v) => slot.clone_from(&v.value),
                None => {}
            }
        }
        if let Some(tags) = &item.tags {
            if append("tags") {
                let mut all = std::mem::take(&mut rule.tags);
                all.extend(tags.value.iter().cloned());
                rule.tags = dedup(all);
            } else {
                rule.tags = dedup(tags.value.clone());
            }
        }
        if let Some(p) = &item.priority
            && let Some(priority) = parse_priority(ctx, &p.value, p.pos)
        {
            self.rules[i].priority = priority;
        }
        let rule = &mut self.rules[i];
        if let Some(e) = &item.enabled {
            rule.enabled = e.value;
        }
        if let Some(s) = &item.skip_unknown {
            rule.skip_unknown = s.value;
        }
        if let Some(added) = &item.exceptions {
            let result = if append("exceptions") {
                exceptions::merge(&mut rule.exceptions, &added.value)
            } else {
                let mut fresh = Vec::new();
                exceptions::merge(&mut fresh, &added.value).map(|()| rule.exceptions = fresh)
            };
            if let Err((bad, message)) = result {
                ctx.error(bad.pos, message);
            }
        }
    }
}

/// Whether a rule item only switches an existing rule on or off.
fn is_enable_only(item: &RuleItem) -> bool {
    item.condition.is_none()
        && item.output.is_none()
        && item.desc.is_none()
        && item.priority.is_none()
        && item.exceptions.is_none()
        && item.tags.is_none()
}

fn parse_priority(ctx: &mut Ctx<'_>, text: &str, pos: Pos) -> Option<Priority> {
    match text.parse() {
        Ok(p) => Some(p),
        Err(_) => {
            ctx.error(pos, format!("Invalid priority level: {text}"));
            None
        }
    }
}

/// Tags are a set: keep the first occurrence of each.
fn dedup(tags: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags {
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    out
}
