//! A loaded set of rules and its evaluation against events.
//!
//! Rules are indexed by the `ct.name` values they require (from `ct.name =
//! X` or `ct.name in (...)` checks that every match must pass), so a record
//! only meets the rules that can match its event name, plus the rules whose
//! condition does not pin the name. When the pinning check is one term of
//! the rule's top-level `and`, the index lookup has decided it already and it
//! is not evaluated again.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value as Json};

use crate::ast::Op;
use crate::compile::{Node, TestKind};
use crate::eval::{Memo, c_str};
use crate::event::Event;
use crate::fields::{self, FieldRef, Value};
use crate::output::{Template, to_json};
use crate::priority::Priority;

/// Which rules produce alerts for one event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Matching {
    /// Every enabled rule that matches.
    #[default]
    All,
    /// Only the first enabled matching rule in definition order (Falco's
    /// `rule_matching: first`).
    First,
}

/// Public facts about one loaded rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleInfo {
    /// The rule name.
    pub name: String,
    /// Alert priority.
    pub priority: Priority,
    /// Event source; always `aws_cloudtrail` for loaded rules.
    pub source: String,
    /// Whether the rule is evaluated.
    pub enabled: bool,
    /// Tags, without duplicates, in first-seen order.
    pub tags: Vec<String>,
    /// The `desc` text.
    pub description: String,
}

/// One alert: a rule that matched an event.
#[derive(Clone, Debug, PartialEq)]
pub struct Detection {
    /// Name of the rule that matched.
    pub rule: String,
    /// The rule's priority.
    pub priority: Priority,
    /// The rule's tags.
    pub tags: Vec<String>,
    /// The rendered output text.
    pub output: String,
    /// Every field of the output template exactly as written, mapped to its
    /// typed value (`null` when absent), plus `ct.id` and `evt.time`
    /// (nanoseconds since the epoch, as an integer).
    pub output_fields: Map<String, Json>,
}

/// The compiled form of one rule.
#[derive(Debug)]
pub(crate) struct CompiledRule {
    pub condition: Node,
    pub output: Template,
}

/// Loaded, compiled rules, ready to evaluate events.
#[derive(Debug)]
pub struct RuleSet {
    infos: Vec<RuleInfo>,
    compiled: Vec<CompiledRule>,
    name_field: Option<FieldRef>,
    id_field: Option<FieldRef>,
    /// Rules that require one of a few event names, by name.
    by_name: HashMap<String, Vec<usize>>,
    /// Rules that may match any event name, ascending.
    unindexed: Vec<usize>,
    /// Per rule: the term of its top-level `and` that the name index
    /// decides, when it is reached through the index.
    decided: Vec<Option<usize>>,
    /// How many distinct field reads the conditions make (memo slots).
    slots: usize,
}

/// The event names a node can only match, if it pins them.
fn required_names(node: &Node) -> Option<HashSet<String>> {
    match node {
        Node::Check(test) => {
            let lhs = &test.lhs;
            if lhs.field.info().name != "ct.name" || !lhs.transforms.is_empty() {
                return None;
            }
            match &test.kind {
                TestKind::Text {
                    op: Op::Eq,
                    literal,
                } => Some(HashSet::from([literal.clone()])),
                TestKind::StrSet { set, .. } => Some(set.clone()),
                _ => None,
            }
        }
        Node::And(children) => pinning_term(children).map(|(names, _)| names),
        Node::Or(children) => {
            let mut all = HashSet::new();
            for child in children {
                all.extend(required_names(child)?);
            }
            Some(all)
        }
        Node::Not(_) => None,
    }
}

/// The term of an `and` whose event names index the rule (the one that
/// pins the fewest names), with its position.
fn pinning_term(children: &[Node]) -> Option<(HashSet<String>, usize)> {
    children
        .iter()
        .enumerate()
        .filter_map(|(i, child)| Some((required_names(child)?, i)))
        .min_by_key(|(names, _)| names.len())
}

/// The term of the rule's top-level `and` that is exactly a test of the
/// event name against the names it is indexed by.
fn decided_term(condition: &Node) -> Option<usize> {
    let Node::And(children) = condition else {
        return None;
    };
    let (_, i) = pinning_term(children)?;
    matches!(children[i], Node::Check(_)).then_some(i)
}

impl RuleSet {
    pub(crate) fn new(rules: Vec<(RuleInfo, CompiledRule)>) -> Self {
        let name_field = fields::resolve("ct.name", None).ok();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        let mut unindexed = Vec::new();
        let mut decided = Vec::with_capacity(rules.len());
        let (infos, mut compiled): (Vec<_>, Vec<_>) = rules.into_iter().unzip();
        for (i, rule) in compiled.iter().enumerate() {
            match required_names(&rule.condition).filter(|_| name_field.is_some()) {
                Some(names) => {
                    names
                        .into_iter()
                        .for_each(|n| by_name.entry(n).or_default().push(i));
                    decided.push(decided_term(&rule.condition));
                }
                None => {
                    unindexed.push(i);
                    decided.push(None);
                }
            }
        }

        // Accessors that read the same field the same way share a slot.
        let mut slots: HashMap<String, usize> = HashMap::new();
        for rule in &mut compiled {
            rule.condition.for_each_accessor(&mut |acc| {
                let next = slots.len();
                acc.slot = *slots.entry(acc.memo_key()).or_insert(next);
            });
        }
        RuleSet {
            infos,
            compiled,
            name_field,
            id_field: fields::resolve("ct.id", None).ok(),
            by_name,
            unindexed,
            decided,
            slots: slots.len(),
        }
    }

    /// The loaded `aws_cloudtrail` rules, in definition order.
    pub fn rules(&self) -> &[RuleInfo] {
        &self.infos
    }

    /// How many rules are enabled.
    pub fn enabled_count(&self) -> usize {
        self.infos.iter().filter(|r| r.enabled).count()
    }

    /// Enables every rule, including those disabled in the rules files.
    pub fn set_all_enabled(&mut self) {
        self.infos.iter_mut().for_each(|r| r.enabled = true);
    }

    /// Evaluates the event and appends a [`Detection`] per matching rule.
    pub fn evaluate(&self, ev: &Event, matching: Matching, out: &mut Vec<Detection>) {
        let name = self.name_field.as_ref().and_then(|f| f.extract(ev));
        let indexed: &[usize] = match &name {
            Some(Value::Str(s)) => self.by_name.get(c_str(s)).map_or(&[], Vec::as_slice),
            _ => &[],
        };

        // Both candidate lists are ascending: merge them to keep definition
        // order, which first-match depends on.
        let mut memo = Memo::new(self.slots);
        let (mut a, mut b) = (indexed.iter().peekable(), self.unindexed.iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x < y => a.next(),
                (Some(_), Some(_)) | (None, Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, None) => break,
            };
            let Some(&i) = next else { break };
            if !self.infos[i].enabled {
                continue;
            }
            let condition = &self.compiled[i].condition;
            let matched = match self.decided[i] {
                Some(term) => condition.matches_except(term, ev, &mut memo),
                None => condition.matches(ev, &mut memo),
            };
            if !matched {
                continue;
            }
            out.push(self.detection(i, ev));
            if matching == Matching::First {
                break;
            }
        }
    }

    fn detection(&self, i: usize, ev: &Event) -> Detection {
        let info = &self.infos[i];
        let mut output_fields = Map::new();
        let output = self.compiled[i].output.render(ev, &mut output_fields);
        let id = self.id_field.as_ref().and_then(|f| f.extract(ev));
        output_fields.insert("ct.id".into(), to_json(id.as_ref()));
        output_fields.insert("evt.time".into(), Json::from(ev.time_ns()));
        Detection {
            rule: info.name.clone(),
            priority: info.priority,
            tags: info.tags.clone(),
            output,
            output_fields,
        }
    }
}
