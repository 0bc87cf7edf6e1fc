//! Rules-file items (lists, macros, rules, version requirements) as plain
//! structs that remember where each value was written.

use crate::diagnostic::Pos;

/// A value and the position of its YAML node.
#[derive(Clone, Debug)]
pub(super) struct Located<T> {
    pub value: T,
    pub pos: Pos,
}

/// One top-level item of a rules file.
#[derive(Debug)]
pub(super) enum Item {
    EngineVersion(Located<String>),
    PluginVersions(Vec<PluginRequirement>),
    List(ListItem),
    Macro(MacroItem),
    Rule(Box<RuleItem>),
}

/// One `required_plugin_versions` entry: the plugin and its alternatives,
/// each as `(name, version)`.
#[derive(Debug)]
pub(super) struct PluginRequirement {
    pub choices: Vec<(String, String)>,
    pub pos: Pos,
}

/// `append` or `replace` under `override:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OverrideOp {
    Append,
    Replace,
}

/// The `override:` mapping of an item.
#[derive(Debug)]
pub(super) struct Overrides {
    pub entries: Vec<(Located<String>, OverrideOp)>,
}

impl Overrides {
    pub fn op(&self, key: &str) -> Option<OverrideOp> {
        self.entries
            .iter()
            .find(|(k, _)| k.value == key)
            .map(|(_, op)| *op)
    }
}

#[derive(Debug)]
pub(super) struct ListItem {
    pub name: String,
    pub pos: Pos,
    pub items: Option<Located<Vec<String>>>,
    pub append: bool,
    pub overrides: Option<Overrides>,
}

#[derive(Debug)]
pub(super) struct MacroItem {
    pub name: String,
    pub pos: Pos,
    pub condition: Option<Located<String>>,
    pub append: bool,
    pub overrides: Option<Overrides>,
}

/// `fields` or `comps` of an exception: one name, or a tuple of them.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Shape {
    One(String),
    Tuple(Vec<String>),
}

/// A value of an exception: a scalar, or a list of values.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum ExValue {
    Scalar(String),
    List(Vec<ExValue>),
}

#[derive(Clone, Debug)]
pub(super) struct ExceptionItem {
    pub name: String,
    pub pos: Pos,
    pub fields: Option<Shape>,
    pub comps: Option<Shape>,
    pub values: Option<Vec<ExValue>>,
}

#[derive(Debug, Default)]
pub(super) struct RuleItem {
    pub name: String,
    pub pos: Pos,
    pub condition: Option<Located<String>>,
    pub output: Option<Located<String>>,
    pub desc: Option<Located<String>>,
    pub priority: Option<Located<String>>,
    pub source: Option<Located<String>>,
    pub enabled: Option<Located<bool>>,
    pub tags: Option<Located<Vec<String>>>,
    pub exceptions: Option<Located<Vec<ExceptionItem>>>,
    pub skip_unknown: Option<Located<bool>>,
    /// Keys accepted for compatibility but without effect here
    /// (`capture`, `capture_duration`, `warn_evttypes`).
    pub inert: Vec<Located<String>>,
    pub append: bool,
    pub overrides: Option<Overrides>,
}

/// Rule keys that `override:` may name.
pub(super) const RULE_OVERRIDABLE: [&str; 11] = [
    "condition",
    "output",
    "desc",
    "tags",
    "exceptions",
    "priority",
    "enabled",
    "capture",
    "capture_duration",
    "warn_evttypes",
    "skip-if-unknown-filter",
];

impl RuleItem {
    /// The overridable keys this item defines, with their positions.
    pub fn present_keys(&self) -> Vec<(&'static str, Pos)> {
        let mut keys = Vec::new();
        let mut add = |key: &'static str, pos: Option<Pos>| {
            if let Some(pos) = pos {
                keys.push((key, pos));
            }
        };
        add("condition", self.condition.as_ref().map(|l| l.pos));
        add("output", self.output.as_ref().map(|l| l.pos));
        add("desc", self.desc.as_ref().map(|l| l.pos));
        add("tags", self.tags.as_ref().map(|l| l.pos));
        add("exceptions", self.exceptions.as_ref().map(|l| l.pos));
        add("priority", self.priority.as_ref().map(|l| l.pos));
        add("enabled", self.enabled.as_ref().map(|l| l.pos));
        add(
            "skip-if-unknown-filter",
            self.skip_unknown.as_ref().map(|l| l.pos),
        );
        for inert in &self.inert {
            if let Some(key) = RULE_OVERRIDABLE.iter().find(|k| **k == inert.value) {
                keys.push((key, inert.pos));
            }
        }
        keys
    }
}
