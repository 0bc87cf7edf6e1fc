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
    /// Polls every `interval` until `shutdown`. The files' state is taken
    /// when this is called, not when the future first runs, so a change made
    /// in between is not missed.
    pub fn watch(
        self,
        interval: Duration,
        shutdown: CancellationToken,
    ) -> impl Future<Output = ()> + Send + 'static {
        let mut last = self.fingerprint();
        async move {
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

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{"eventName":"CreateUser","eventID":"e1","eventTime":"2026-03-01T12:00:00Z","eventSource":"iam.amazonaws.com"}"#;

    fn rule(name: &str) -> String {
        format!(
            "- rule: {name}\n  desc: d\n  condition: ct.name = CreateUser\n  output: o %ct.id\n  priority: WARNING\n  source: aws_cloudtrail\n"
        )
    }

    fn fired(shared: &SharedEvaluator) -> Vec<String> {
        let mut alerts = Vec::new();
        current(shared).evaluate(RECORD, 1, &mut alerts).unwrap();
        alerts.into_iter().map(|a| a.rule).collect()
    }

    fn reloader(dir: &std::path::Path) -> Reloader {
        let ruleset = load_rules(&[dir.to_path_buf()], false)
            .ruleset
            .expect("initial rules load");
        let evaluator = Evaluator::new(Arc::new(ruleset), RuleMatching::All, "test");
        Reloader {
            paths: vec![dir.to_path_buf()],
            default_rules: false,
            matching: RuleMatching::All,
            hostname: "test".into(),
            shared: Arc::new(RwLock::new(Arc::new(evaluator))),
        }
    }

    #[test]
    fn a_valid_change_is_swapped_in_and_an_invalid_one_keeps_the_old_rules() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("custom.yaml");
        std::fs::write(&file, rule("First")).unwrap();
        let reloader = reloader(dir.path());
        assert_eq!(fired(&reloader.shared), ["First"]);

        std::fs::write(&file, rule("Second")).unwrap();
        assert!(reloader.reload());
        assert_eq!(fired(&reloader.shared), ["Second"]);

        std::fs::write(&file, "- rule: Broken\n  condition: ct.name = (\n").unwrap();
        assert!(!reloader.reload());
        assert_eq!(fired(&reloader.shared), ["Second"]);
    }

    #[tokio::test]
    async fn the_watcher_notices_a_changed_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("custom.yaml");
        std::fs::write(&file, rule("Before")).unwrap();
        let reloader = reloader(dir.path());
        let shared = Arc::clone(&reloader.shared);
        let stop = CancellationToken::new();
        let watcher = tokio::spawn(reloader.watch(Duration::from_millis(20), stop.clone()));

        // A different length guarantees a new fingerprint even where the
        // file system's timestamps are coarse.
        std::fs::write(&file, rule("After, with a longer name")).unwrap();
        let mut seen = Vec::new();
        for _ in 0..250 {
            seen = fired(&shared);
            if seen == ["After, with a longer name"] {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.cancel();
        watcher.await.unwrap();
        assert_eq!(seen, ["After, with a longer name"]);
    }
}
