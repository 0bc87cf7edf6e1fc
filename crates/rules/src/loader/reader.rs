//! Reading YAML documents into [`Item`]s, checking the shape of every key.

use super::items::{
    ExValue, ExceptionItem, Item, ListItem, Located, MacroItem, OverrideOp, Overrides,
    PluginRequirement, RuleItem, Shape,
};
use super::yaml::{self, Node};
use crate::diagnostic::{Pos, Sink};

/// Reads items from one YAML document, reporting malformed ones.
pub(super) fn read_document(doc: &Node<'_>, file: &str, sink: &mut Sink, out: &mut Vec<Item>) {
    if yaml::is_null(doc) {
        return;
    }
    let Some(elements) = yaml::seq(doc) else {
        let message = "Rules content is not yaml array of objects";
        sink.error(file, Some(yaml::pos(doc)), message);
        return;
    };
    for element in elements {
        let mut reader = Reader { file, sink };
        if let Some(item) = reader.item(element) {
            out.push(item);
        }
    }
}

struct Reader<'s> {
    file: &'s str,
    sink: &'s mut Sink,
}

impl Reader<'_> {
    fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.sink.error(self.file, Some(pos), message);
    }

    fn warning(&mut self, pos: Pos, message: impl Into<String>) {
        self.sink.warning(self.file, Some(pos), message);
    }

    fn item(&mut self, node: &Node<'_>) -> Option<Item> {
        let Some(entries) = yaml::entries(node) else {
            let message =
                "Unexpected element type. Each element should be a yaml associative array.";
            self.error(yaml::pos(node), message);
            return None;
        };
        let has = |key: &str| entries.iter().any(|(k, _, _)| k == key);
        let pos = yaml::pos(node);
        if has("required_engine_version") {
            let value = entries
                .iter()
                .find(|(k, _, _)| k == "required_engine_version")?
                .2;
            let Some(text) = yaml::text(value) else {
                self.error(
                    yaml::pos(value),
                    "Value of required_engine_version must be a number or a version string",
                );
                return None;
            };
            Some(Item::EngineVersion(Located {
                value: text,
                pos: yaml::pos(value),
            }))
        } else if has("required_plugin_versions") {
            let value = entries
                .iter()
                .find(|(k, _, _)| k == "required_plugin_versions")?
                .2;
            self.plugins(value).map(Item::PluginVersions)
        } else if has("list") {
            self.list(&entries, pos).map(Item::List)
        } else if has("macro") {
            self.macro_item(&entries, pos).map(Item::Macro)
        } else if has("rule") {
            self.rule(&entries, pos).map(|r| Item::Rule(Box::new(r)))
        } else {
            self.warning(pos, "Unknown top level item");
            None
        }
    }

    fn name(&mut self, key: &str, value: &Node<'_>) -> Option<String> {
        match yaml::text(value) {
            Some(name) if !name.is_empty() => Some(name),
            _ => {
                self.error(
                    yaml::pos(value),
                    format!("Mapping for key '{key}' is empty"),
                );
                None
            }
        }
    }

    fn string(&mut self, key: &str, value: &Node<'_>) -> Option<Located<String>> {
        let pos = yaml::pos(value);
        match yaml::text(value) {
            Some(text) => Some(Located { value: text, pos }),
            None if yaml::is_null(value) => Some(Located {
                value: String::new(),
                pos,
            }),
            None => {
                self.error(pos, format!("Value of key '{key}' must be a string"));
                None
            }
        }
    }

    fn boolean(&mut self, key: &str, value: &Node<'_>) -> Option<Located<bool>> {
        let pos = yaml::pos(value);
        match yaml::boolean(value) {
            Some(b) => Some(Located { value: b, pos }),
            None => {
                self.error(pos, format!("Value of key '{key}' must be a boolean"));
                None
            }
        }
    }

    fn strings(&mut self, key: &str, value: &Node<'_>) -> Option<Located<Vec<String>>> {
        let pos = yaml::pos(value);
        if yaml::is_null(value) {
            return Some(Located {
                value: Vec::new(),
                pos,
            });
        }
        let Some(elements) = yaml::seq(value) else {
            self.error(pos, format!("Value of key '{key}' must be a sequence"));
            return None;
        };
        let mut out = Vec::new();
        for element in elements {
            match yaml::text(element) {
                Some(text) => out.push(text),
                None => {
                    let message = format!("Elements of key '{key}' must be strings");
                    self.error(yaml::pos(element), message);
                    return None;
                }
            }
        }
        Some(Located { value: out, pos })
    }

    fn overrides(&mut self, value: &Node<'_>) -> Option<Overrides> {
        let Some(entries) = yaml::entries(value) else {
            self.error(
                yaml::pos(value),
                "Value of key 'override' must be a mapping",
            );
            return None;
        };
        let mut out = Vec::new();
        for (key, key_node, op) in entries {
            let op = match yaml::text(op).as_deref() {
                Some("append") => OverrideOp::Append,
                Some("replace") => OverrideOp::Replace,
                _ => {
                    let message = format!(
                        "Invalid override operation for key '{key}': must be 'append' or 'replace'"
                    );
                    self.error(yaml::pos(op), message);
                    return None;
                }
            };
            out.push((
                Located {
                    value: key,
                    pos: yaml::pos(key_node),
                },
                op,
            ));
        }
        Some(Overrides { entries: out })
    }

    fn unknown_key(&mut self, kind: &str, key: &str, key_node: &Node<'_>) {
        self.warning(
            yaml::pos(key_node),
            format!("Unknown key '{key}' in {kind} item"),
        );
    }

    fn plugins(&mut self, value: &Node<'_>) -> Option<Vec<PluginRequirement>> {
        let Some(elements) = yaml::seq(value) else {
            self.error(
                yaml::pos(value),
                "Value of required_plugin_versions must be a sequence",
            );
            return None;
        };
        let mut out = Vec::new();
        for element in elements {
            let mut choices = vec![self.plugin(element)?];
            let entries = yaml::entries(element).unwrap_or_default();
            if let Some((_, _, alts)) = entries.iter().find(|(k, _, _)| k == "alternatives") {
                let Some(alts) = yaml::seq(alts) else {
                    self.error(
                        yaml::pos(alts),
                        "Value of key 'alternatives' must be a sequence",
                    );
                    return None;
                };
                for alt in alts {
                    choices.push(self.plugin(alt)?);
                }
            }
            out.push(PluginRequirement {
                choices,
                pos: yaml::pos(element),
            });
        }
        Some(out)
    }

    fn plugin(&mut self, node: &Node<'_>) -> Option<(String, String)> {
        let entries = yaml::entries(node).unwrap_or_default();
        let get = |key: &str| {
            entries
                .iter()
                .find(|(k, _, _)| k == key)
                .and_then(|e| yaml::text(e.2))
        };
        match (get("name"), get("version")) {
            (Some(name), Some(version)) => Some((name, version)),
            (None, _) => {
                self.error(yaml::pos(node), "Item has no mapping for key 'name'");
                None
            }
            (Some(_), None) => {
                self.error(yaml::pos(node), "Item has no mapping for key 'version'");
                None
            }
        }
    }

    fn list(&mut self, entries: &[(String, &Node<'_>, &Node<'_>)], pos: Pos) -> Option<ListItem> {
        let mut item = ListItem {
            name: String::new(),
            pos,
            items: None,
            append: false,
            overrides: None,
        };
        let mut ok = true;
        for (key, key_node, value) in entries {
            match key.as_str() {
                "list" => item.name = self.name(key, value).unwrap_or_default(),
                "items" => item.items = self.strings(key, value),
                "append" => item.append = self.boolean(key, value).is_some_and(|b| b.value),
                "override" => item.overrides = self.overrides(value),
                _ => self.unknown_key("list", key, key_node),
            }
            ok &= !(key == "override" && item.overrides.is_none());
        }
        (ok && !item.name.is_empty()).then_some(item)
    }

    fn macro_item(
        &mut self,
        entries: &[(String, &Node<'_>, &Node<'_>)],
        pos: Pos,
    ) -> Option<MacroItem> {
        let mut item = MacroItem {
            name: String::new(),
            pos,
            condition: None,
            append: false,
            overrides: None,
        };
        let mut ok = true;
        for (key, key_node, value) in entries {
            match key.as_str() {
                "macro" => item.name = self.name(key, value).unwrap_or_default(),
                "condition" => {
                    item.condition = self.string(key, value);
                    ok &= item.condition.is_some();
                }
                "append" => item.append = self.boolean(key, value).is_some_and(|b| b.value),
                "override" => {
                    item.overrides = self.overrides(value);
                    ok &= item.overrides.is_some();
                }
                // Macros are not bound to a source: any rule may use them.
                "source" => {}
                _ => self.unknown_key("macro", key, key_node),
            }
        }
        (ok && !item.name.is_empty()).then_some(item)
    }

    fn rule(&mut self, entries: &[(String, &Node<'_>, &Node<'_>)], pos: Pos) -> Option<RuleItem> {
        let mut item = RuleItem {
            pos,
            ..RuleItem::default()
        };
        let mut ok = true;
        for (key, key_node, value) in entries {
            let key_pos = yaml::pos(key_node);
            match key.as_str() {
                "rule" => item.name = self.name(key, value).unwrap_or_default(),
                "condition" => ok &= set(&mut item.condition, self.string(key, value)),
                "output" => ok &= set(&mut item.output, self.string(key, value)),
                "desc" => ok &= set(&mut item.desc, self.string(key, value)),
                "priority" => ok &= set(&mut item.priority, self.string(key, value)),
                "source" => ok &= set(&mut item.source, self.string(key, value)),
                "enabled" => ok &= set(&mut item.enabled, self.boolean(key, value)),
                "skip-if-unknown-filter" => {
                    ok &= set(&mut item.skip_unknown, self.boolean(key, value))
                }
                "tags" => ok &= set(&mut item.tags, self.strings(key, value)),
                "exceptions" => ok &= set(&mut item.exceptions, self.exceptions(value)),
                "append" => item.append = self.boolean(key, value).is_some_and(|b| b.value),
                "override" => {
                    item.overrides = self.overrides(value);
                    ok &= item.overrides.is_some();
                }
                "capture" | "capture_duration" | "warn_evttypes" => {
                    item.inert.push(Located {
                        value: key.clone(),
                        pos: key_pos,
                    });
                }
                _ => self.unknown_key("rule", key, key_node),
            }
        }
        (ok && !item.name.is_empty()).then_some(item)
    }

    fn exceptions(&mut self, value: &Node<'_>) -> Option<Located<Vec<ExceptionItem>>> {
        let pos = yaml::pos(value);
        if yaml::is_null(value) {
            return Some(Located {
                value: Vec::new(),
                pos,
            });
        }
        let Some(elements) = yaml::seq(value) else {
            self.error(pos, "Value of key 'exceptions' must be a sequence");
            return None;
        };
        let mut out = Vec::new();
        for element in elements {
            out.push(self.exception(element)?);
        }
        Some(Located { value: out, pos })
    }

    fn exception(&mut self, node: &Node<'_>) -> Option<ExceptionItem> {
        let pos = yaml::pos(node);
        let Some(entries) = yaml::entries(node) else {
            self.error(pos, "Each exception must be a mapping");
            return None;
        };
        let mut item = ExceptionItem {
            name: String::new(),
            pos,
            fields: None,
            comps: None,
            values: None,
        };
        for (key, key_node, value) in &entries {
            match key.as_str() {
                "name" => item.name = self.name(key, value)?,
                "fields" => item.fields = Some(self.shape(key, value)?),
                "comps" => item.comps = Some(self.shape(key, value)?),
                "values" => item.values = Some(self.values(value)?),
                _ => self.unknown_key("exception", key, key_node),
            }
        }
        if item.name.is_empty() {
            self.error(pos, "Item has no mapping for key 'name'");
            return None;
        }
        Some(item)
    }

    fn shape(&mut self, key: &str, value: &Node<'_>) -> Option<Shape> {
        if let Some(text) = yaml::text(value) {
            return Some(Shape::One(text));
        }
        self.strings(key, value).map(|l| Shape::Tuple(l.value))
    }

    fn values(&mut self, value: &Node<'_>) -> Option<Vec<ExValue>> {
        match self.ex_value(value)? {
            ExValue::List(items) => Some(items),
            ExValue::Scalar(_) => {
                self.error(yaml::pos(value), "Value of key 'values' must be a sequence");
                None
            }
        }
    }

    fn ex_value(&mut self, node: &Node<'_>) -> Option<ExValue> {
        if let Some(text) = yaml::text(node) {
            return Some(ExValue::Scalar(text));
        }
        if yaml::is_null(node) {
            return Some(ExValue::List(Vec::new()));
        }
        let Some(elements) = yaml::seq(node) else {
            self.error(
                yaml::pos(node),
                "Exception values must be strings or sequences",
            );
            return None;
        };
        let items = elements
            .iter()
            .map(|e| self.ex_value(e))
            .collect::<Option<Vec<_>>>()?;
        Some(ExValue::List(items))
    }
}

/// Stores a parsed value; reports whether parsing succeeded.
fn set<T>(slot: &mut Option<T>, value: Option<T>) -> bool {
    let ok = value.is_some();
    *slot = value;
    ok
}
