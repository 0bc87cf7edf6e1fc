//! Rule hot reload: the rules files are polled for changes; a change that
//! loads cleanly replaces the rules for the next object, one that does not
//! keeps the previous rules and counts a reload failure.
//!
//! Polling file metadata rather than subscribing to file-system events is
//! deliberate: Kubernetes updates a mounted ConfigMap by swapping a symlink,
//! which event watchers report inconsistently, while a fresh `stat` through
//! the link always sees the new file.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::cli::RuleMatching;
use crate::engine::{Evaluator, load_rules, rules_files};
use crate::metric_names as m;

/// The evaluator in use; readers take a clone of the `Arc` per object, so a
/// swap never disturbs work in flight.
pub type SharedEvaluator = Arc<RwLock<Arc<Evaluator>>>;

/// What is needed to rebuild the evaluator.
pub struct Reloader {
    /// Rules paths given by the settings.
    pub paths: Vec<PathBuf>,
    /// Whether the bundled defaults are loaded first.
    pub default_rules: bool,
    /// Matching mode.
    pub matching: RuleMatching,
    /// Host name for alerts.
    pub hostname: String,
    /// The evaluator to replace.
    pub shared: SharedEvaluator,
}

type Fingerprint = Vec<(PathBuf, Option<SystemTime>, u64)>;

impl Reloader {
    /// Polls every `interval` until `shutdown`.
    pub async fn watch(self, interval: Duration, shutdown: CancellationToken) {
        let mut last = self.fingerprint();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
            let now = self.fingerprint();
            if now != last {
                last = now;
                self.reload();
            }
        }
    }

    fn fingerprint(&self) -> Fingerprint {
        self.paths
            .iter()
            .flat_map(|p| rules_files(p))
            .map(|file| {
                let meta = std::fs::metadata(&file).ok();
                let modified = meta.as_ref().and_then(|m| m.modified().ok());
                let len = meta.map_or(0, |m| m.len());
                (file, modified, len)
            })
            .collect()
    }

    /// Loads the rules again and swaps them in when they load cleanly.
    /// Returns whether the new rules are in use.
    pub fn reload(&self) -> bool {
        let result = load_rules(&self.paths, self.default_rules);
        let errors: Vec<String> = result
            .diagnostics
            .iter()
            .filter(|d| d.severity == trailwatch_rules::Severity::Error)
            .map(ToString::to_string)
            .collect();
        let Some(ruleset) = result.ruleset.filter(|_| errors.is_empty()) else {
            metrics::counter!(m::RULES_RELOAD_FAILURES).increment(1);
            tracing::error!(errors = ?errors, "Changed rules did not load; keeping the previous rules.");
            return false;
        };
        let enabled = ruleset.enabled_count();
        let evaluator = Evaluator::new(Arc::new(ruleset), self.matching, &self.hostname);
        match self.shared.write() {
            Ok(mut current) => *current = Arc::new(evaluator),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(evaluator),
        }
        metrics::gauge!(m::RULES_LOADED).set(enabled as f64);
        tracing::info!(enabled, "Rules reloaded.");
        true
    }
}

/// The evaluator currently in use.
pub fn current(shared: &SharedEvaluator) -> Arc<Evaluator> {
    match shared.read() {
        Ok(guard) => Arc::clone(&guard),
        Err(poisoned) => Arc::clone(&poisoned.into_inner()),
    }
}
