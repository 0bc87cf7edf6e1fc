//! Loading Falco rules files into a [`RuleSet`].
//!
//! Loading runs in three passes over every source added, in order:
//! 1. read each YAML document into items (`reader`), checking their shape;
//! 2. apply the items in order (`overrides`): definitions, redefinitions,
//!    `append`, `override`, enabled toggles, version requirements;
//! 3. compile (`build`): expand lists as text, fold exceptions into
//!    conditions, parse, substitute macros, resolve fields, compile outputs.
//!
//! Every pass reports all the problems it finds; a rule set is produced only
//! when there was no error.

mod build;
mod exceptions;
mod items;
mod lists;
mod overrides;
mod reader;
mod versions;
mod yaml;

use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Sink};
use crate::ruleset::RuleSet;
use items::Item;
use overrides::{Ctx, State};

/// Collects rules sources, then loads them all at once.
#[derive(Debug, Default)]
pub struct Loader {
    sources: Vec<(String, String)>,
    sink: Sink,
}

/// The outcome of [`Loader::finish`].
#[derive(Debug)]
pub struct LoadResult {
    /// The rules, or `None` if any diagnostic is an error.
    pub ruleset: Option<RuleSet>,
    /// Every error and warning, in the order found.
    pub diagnostics: Vec<Diagnostic>,
}

impl Loader {
    /// An empty loader.
    pub fn new() -> Self {
        Loader::default()
    }

    /// Adds rules text; `origin` names it in diagnostics (usually a path).
    pub fn add_source(&mut self, origin: &str, text: &str) {
        self.sources.push((origin.to_owned(), text.to_owned()));
    }

    /// Adds a rules file, or every `*.yaml`/`*.yml` file under a folder
    /// (recursively, sorted by path). Read errors become diagnostics.
    pub fn add_path(&mut self, path: &Path) {
        if path.is_dir() {
            let mut files = Vec::new();
            self.collect(path, &mut files);
            files.sort();
            for file in files {
                self.add_file(&file);
            }
        } else {
            self.add_file(path);
        }
    }

    fn collect(&mut self, dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                let message = format!("cannot read rules folder: {e}");
                return self.sink.error(&dir.display().to_string(), None, message);
            }
        };
        for entry in entries {
            let path = match entry {
                Ok(entry) => entry.path(),
                Err(e) => {
                    let message = format!("cannot read rules folder: {e}");
                    self.sink.error(&dir.display().to_string(), None, message);
                    continue;
                }
            };
            let is_yaml = path
                .extension()
                .is_some_and(|ext| ext == "yaml" || ext == "yml");
            if path.is_dir() {
                self.collect(&path, out);
            } else if is_yaml {
                out.push(path);
            }
        }
    }

    fn add_file(&mut self, path: &Path) {
        let origin = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => self.sources.push((origin, text)),
            Err(e) => {
                let message = format!("cannot read rules file: {e}");
                self.sink.error(&origin, None, message);
            }
        }
    }

    /// Loads everything added, collecting every error and warning.
    pub fn finish(self) -> LoadResult {
        let Loader { sources, mut sink } = self;
        let files: Vec<String> = sources.iter().map(|(origin, _)| origin.clone()).collect();
        let mut state = State::default();

        for (file, (origin, text)) in sources.iter().enumerate() {
            let docs = match yaml::load(text) {
                Ok(docs) => docs,
                Err(e) => {
                    let at = Some(yaml::error_pos(&e));
                    sink.error(origin, at, format!("invalid YAML: {}", e.info()));
                    continue;
                }
            };
            let mut found = Vec::new();
            for doc in &docs {
                reader::read_document(doc, origin, &mut sink, &mut found);
            }
            let mut ctx = Ctx {
                file,
                name: origin,
                sink: &mut sink,
            };
            for item in found {
                apply(&mut state, &mut ctx, item);
            }
        }

        let rules = build::build(&mut state, &files, &mut sink);
        let ruleset = (!sink.has_errors()).then(|| RuleSet::new(rules));
        LoadResult {
            ruleset,
            diagnostics: sink.diagnostics,
        }
    }
}

fn apply(state: &mut State, ctx: &mut Ctx<'_>, item: Item) {
    match item {
        Item::EngineVersion(v) => {
            if let Err(message) = versions::check_engine(&v.value) {
                ctx.sink.error(ctx.name, Some(v.pos), message);
            }
        }
        Item::PluginVersions(requirements) => {
            for r in requirements {
                if let Err(message) = versions::check_plugin(&r.choices) {
                    ctx.sink.error(ctx.name, Some(r.pos), message);
                }
            }
        }
        Item::List(list) => state.apply_list(ctx, list),
        Item::Macro(m) => state.apply_macro(ctx, m),
        Item::Rule(rule) => state.apply_rule(ctx, *rule),
    }
}
