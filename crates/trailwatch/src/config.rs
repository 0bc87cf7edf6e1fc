//! The daemon's settings: defaults, then the YAML file, then `TRAILWATCH_*`
//! environment variables, then flags; each layer overrides the one before.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cli::{LogFormat, RuleMatching, RunArgs};

/// Prefix of every environment variable that sets a setting.
pub const ENV_PREFIX: &str = "TRAILWATCH_";

/// Every daemon setting, with its default in [`Settings::default`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// SQS queue receiving the S3 (or CloudTrail) notifications.
    pub queue_url: Option<String>,
    /// Dead-letter queue whose depth is exported as a metric.
    pub dead_letter_queue_url: Option<String>,
    /// Messages processed at once.
    pub max_in_flight: usize,
    /// The queue's visibility timeout; the heartbeat extends it at half.
    pub visibility_timeout_secs: u64,
    /// Seconds in-flight work may take to finish after SIGTERM.
    pub shutdown_grace_secs: u64,
    /// Cap on the decompressed size of one object.
    pub max_object_bytes: u64,
    /// Cap on the size of one record.
    pub max_record_bytes: usize,
    /// Rules files or folders loaded after the default ruleset.
    pub rules: Vec<PathBuf>,
    /// Whether the bundled default ruleset is loaded.
    pub default_rules: bool,
    /// Every matching rule alerts, or only the first.
    pub rule_matching: RuleMatching,
    /// Where alerts go: spec strings (`webhook:URL`) or maps with options.
    pub sinks: Vec<Value>,
    /// Address for /metrics, /healthz and /readyz.
    pub metrics_addr: SocketAddr,
    /// Log format.
    pub log_format: LogFormat,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            queue_url: None,
            dead_letter_queue_url: None,
            max_in_flight: 8,
            visibility_timeout_secs: 300,
            shutdown_grace_secs: 20,
            max_object_bytes: 2 << 30,
            max_record_bytes: 8 << 20,
            rules: Vec::new(),
            default_rules: true,
            rule_matching: RuleMatching::All,
            sinks: vec![Value::from("stdout")],
            metrics_addr: SocketAddr::from(([0, 0, 0, 0], 9090)),
            log_format: LogFormat::Json,
        }
    }
}

/// Keys whose environment value is a comma-separated list.
const LIST_KEYS: [&str; 2] = ["rules", "sinks"];

impl Settings {
    /// Builds the effective settings from the file named by `--config`, the
    /// environment `env` and the flags.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or parsed, a key is unknown, or a value
    /// has the wrong type; the message names the file or variable.
    pub fn resolve(args: &RunArgs, env: &BTreeMap<String, String>) -> Result<Settings> {
        let mut layered = match serde_json::to_value(Settings::default())? {
            Value::Object(map) => map,
            _ => unreachable!("Settings serializes to a map"),
        };
        if let Some(path) = &args.config {
            overlay(&mut layered, read_file(path)?);
        }
        let from_env = from_env(env, &layered)?;
        overlay(&mut layered, from_env);
        overlay(&mut layered, from_flags(args)?);
        let bad_key = first_invalid_key(&layered);
        let settings: Settings =
            serde_json::from_value(Value::Object(layered)).with_context(|| match bad_key {
                Some(key) => format!("invalid setting {key}"),
                None => "invalid settings".to_string(),
            })?;
        settings.check_ranges()?;
        Ok(settings)
    }

    /// Rejects values that parse but cannot work.
    fn check_ranges(&self) -> Result<()> {
        // SQS accepts visibility timeouts up to 12 hours.
        const MAX_VISIBILITY_SECS: u64 = 43_200;
        if self.max_in_flight == 0 {
            bail!("invalid setting max_in_flight: must be at least 1");
        }
        if !(1..=MAX_VISIBILITY_SECS).contains(&self.visibility_timeout_secs) {
            bail!("invalid setting visibility_timeout_secs: must be 1 to {MAX_VISIBILITY_SECS}");
        }
        if self.shutdown_grace_secs > MAX_VISIBILITY_SECS {
            bail!("invalid setting shutdown_grace_secs: must be at most {MAX_VISIBILITY_SECS}");
        }
        // A CloudTrail record of several hundred KB is normal; below 64 KiB
        // ordinary records would be refused.
        if self.max_record_bytes < 64 << 10 {
            bail!("invalid setting max_record_bytes: must be at least 65536");
        }
        if self.max_object_bytes < self.max_record_bytes as u64 {
            bail!("invalid setting max_object_bytes: must be at least max_record_bytes");
        }
        if let Some(url) = &self.queue_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            bail!("invalid setting queue_url: {url:?} is not an http(s) URL");
        }
        Ok(())
    }

    /// The settings as YAML-like text for `config check`, with webhook
    /// header values and URL credentials masked.
    pub fn to_masked_json(&self) -> Result<String> {
        let mut value = serde_json::to_value(self)?;
        if let Some(sinks) = value.get_mut("sinks").and_then(Value::as_array_mut) {
            sinks.iter_mut().for_each(mask_sink);
        }
        Ok(serde_json::to_string_pretty(&value)?)
    }
}

/// The first key whose value alone makes the settings fail to deserialize,
/// so that an error names the setting and not only the expected type.
fn first_invalid_key(layered: &Map<String, Value>) -> Option<String> {
    let defaults = match serde_json::to_value(Settings::default()) {
        Ok(Value::Object(map)) => map,
        _ => return None,
    };
    layered.iter().find_map(|(key, value)| {
        let mut probe = defaults.clone();
        probe.insert(key.clone(), value.clone());
        serde_json::from_value::<Settings>(Value::Object(probe))
            .err()
            .map(|_| key.clone())
    })
}

fn read_file(path: &Path) -> Result<Map<String, Value>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    let value: Value = serde_saphyr::from_str(&text)
        .with_context(|| format!("config file {} is not valid YAML", path.display()))?;
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        _ => bail!("config file {} must be a YAML mapping", path.display()),
    }
}

/// Reads `TRAILWATCH_<KEY>` for every known key; scalars are parsed as JSON
/// when they look like numbers or booleans, lists are comma-separated.
fn from_env(
    env: &BTreeMap<String, String>,
    known: &Map<String, Value>,
) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for key in known.keys() {
        let var = format!("{ENV_PREFIX}{}", key.to_ascii_uppercase());
        let Some(raw) = env.get(&var) else { continue };
        let value = if key == "sinks" {
            Value::Array(
                split_sink_specs(raw)
                    .into_iter()
                    .map(Value::String)
                    .collect(),
            )
        } else if LIST_KEYS.contains(&key.as_str()) {
            Value::Array(
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_string()))
                    .collect(),
            )
        } else {
            scalar(raw)
        };
        out.insert(key.clone(), value);
    }
    Ok(out)
}

/// Splits a comma-separated list of sink specs; a comma inside a spec (in
/// a webhook URL's query, say) stays there, since only a piece that starts
/// with a sink type begins a new spec.
fn split_sink_specs(raw: &str) -> Vec<String> {
    const STARTS: [&str; 5] = ["stdout", "file:", "webhook:", "securityhub", "cloudwatch:"];
    let mut specs: Vec<String> = Vec::new();
    for piece in raw.split(',') {
        let trimmed = piece.trim();
        let starts_spec = STARTS
            .iter()
            .any(|s| trimmed.to_ascii_lowercase().starts_with(s));
        match specs.last_mut() {
            Some(last) if !starts_spec => {
                last.push(',');
                last.push_str(piece);
            }
            _ if trimmed.is_empty() => {}
            _ => specs.push(trimmed.to_string()),
        }
    }
    specs
}

fn scalar(raw: &str) -> Value {
    match raw {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => raw
            .parse::<u64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(raw.to_string())),
    }
}

fn from_flags(args: &RunArgs) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    let mut set = |key: &str, value: Value| {
        out.insert(key.to_string(), value);
    };
    if let Some(url) = &args.queue_url {
        set("queue_url", Value::String(url.clone()));
    }
    if !args.rules.rules.is_empty() {
        set("rules", serde_json::to_value(&args.rules.rules)?);
    }
    if args.rules.no_default_rules {
        set("default_rules", Value::Bool(false));
    }
    if !args.sinks.is_empty() {
        set("sinks", serde_json::to_value(&args.sinks)?);
    }
    if let Some(matching) = args.rule_matching {
        set("rule_matching", serde_json::to_value(matching)?);
    }
    if let Some(addr) = args.metrics_addr {
        set("metrics_addr", Value::String(addr.to_string()));
    }
    if let Some(n) = args.max_in_flight {
        set("max_in_flight", Value::from(n));
    }
    if let Some(secs) = args.shutdown_grace_secs {
        set("shutdown_grace_secs", Value::from(secs));
    }
    Ok(out)
}

fn overlay(base: &mut Map<String, Value>, top: Map<String, Value>) {
    base.extend(top);
}

const MASK: &str = "***";

fn mask_sink(sink: &mut Value) {
    match sink {
        Value::String(spec) => *spec = mask_url_credentials(spec),
        Value::Object(map) => {
            if let Some(Value::Object(headers)) = map.get_mut("headers") {
                headers
                    .values_mut()
                    .for_each(|v| *v = Value::String(MASK.into()));
            }
            for key in ["url", "spec"] {
                if let Some(Value::String(url)) = map.get_mut(key) {
                    *url = mask_url_credentials(url);
                }
            }
        }
        _ => {}
    }
}

/// Masks `user:password@` and query strings, where tokens often travel.
fn mask_url_credentials(text: &str) -> String {
    let mut out = text.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest = &out[scheme_end + 3..];
        if let Some(at) = rest.find('@').filter(|&at| !rest[..at].contains('/')) {
            out.replace_range(scheme_end + 3..scheme_end + 3 + at, MASK);
        }
    }
    if let Some(q) = out.find('?') {
        out.replace_range(q + 1.., MASK);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn config_file(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn defaults_apply_without_any_source() {
        let s = Settings::resolve(&RunArgs::default(), &env(&[])).unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.metrics_addr.to_string(), "0.0.0.0:9090");
        assert_eq!(s.shutdown_grace_secs, 20);
    }

    #[test]
    fn flags_override_env_which_overrides_file() {
        let file =
            config_file("queue_url: http://file/q\nmax_in_flight: 3\nshutdown_grace_secs: 7\n");
        let args = RunArgs {
            config: Some(file.path().to_path_buf()),
            queue_url: Some("http://flag/q".into()),
            ..RunArgs::default()
        };
        let vars = env(&[
            ("TRAILWATCH_QUEUE_URL", "http://env/q"),
            ("TRAILWATCH_MAX_IN_FLIGHT", "5"),
        ]);
        let s = Settings::resolve(&args, &vars).unwrap();
        assert_eq!(s.queue_url.as_deref(), Some("http://flag/q"));
        assert_eq!(s.max_in_flight, 5);
        assert_eq!(s.shutdown_grace_secs, 7);
    }

    #[test]
    fn env_lists_are_comma_separated() {
        let vars = env(&[("TRAILWATCH_SINKS", "stdout, webhook:http://127.0.0.1:1/x")]);
        let s = Settings::resolve(&RunArgs::default(), &vars).unwrap();
        assert_eq!(
            s.sinks,
            vec![
                Value::from("stdout"),
                Value::from("webhook:http://127.0.0.1:1/x")
            ]
        );
    }

    #[test]
    fn commas_inside_a_sink_spec_stay_in_it() {
        let vars = env(&[(
            "TRAILWATCH_SINKS",
            "webhook:http://127.0.0.1:1/a?x=1,2, file:/tmp/a,b.json,stdout",
        )]);
        let s = Settings::resolve(&RunArgs::default(), &vars).unwrap();
        let expected = [
            "webhook:http://127.0.0.1:1/a?x=1,2",
            "file:/tmp/a,b.json",
            "stdout",
        ];
        assert_eq!(s.sinks, expected.map(Value::from));
    }

    #[test]
    fn values_that_cannot_work_are_rejected() {
        for (var, value, setting) in [
            ("TRAILWATCH_MAX_IN_FLIGHT", "0", "max_in_flight"),
            (
                "TRAILWATCH_VISIBILITY_TIMEOUT_SECS",
                "0",
                "visibility_timeout_secs",
            ),
            (
                "TRAILWATCH_VISIBILITY_TIMEOUT_SECS",
                "43201",
                "visibility_timeout_secs",
            ),
            (
                "TRAILWATCH_SHUTDOWN_GRACE_SECS",
                "999999999",
                "shutdown_grace_secs",
            ),
            ("TRAILWATCH_MAX_RECORD_BYTES", "0", "max_record_bytes"),
            ("TRAILWATCH_MAX_OBJECT_BYTES", "1000", "max_object_bytes"),
            ("TRAILWATCH_QUEUE_URL", "not a url", "queue_url"),
        ] {
            let err = Settings::resolve(&RunArgs::default(), &env(&[(var, value)])).unwrap_err();
            assert!(
                format!("{err:#}").contains(setting),
                "{var}={value}: {err:#}"
            );
        }
    }

    #[test]
    fn unknown_key_and_bad_type_are_rejected_with_context() {
        let file = config_file("queue_ur: x\n");
        let args = RunArgs {
            config: Some(file.path().to_path_buf()),
            ..RunArgs::default()
        };
        let err = format!("{:#}", Settings::resolve(&args, &env(&[])).unwrap_err());
        assert!(err.contains("queue_ur"), "{err}");

        let vars = env(&[("TRAILWATCH_MAX_IN_FLIGHT", "many")]);
        assert!(Settings::resolve(&RunArgs::default(), &vars).is_err());
    }

    #[test]
    fn missing_file_is_named() {
        let args = RunArgs {
            config: Some("/nonexistent/trailwatch.yaml".into()),
            ..RunArgs::default()
        };
        let err = format!("{:#}", Settings::resolve(&args, &env(&[])).unwrap_err());
        assert!(err.contains("/nonexistent/trailwatch.yaml"), "{err}");
    }

    #[test]
    fn secrets_are_masked() {
        let file = config_file(
            "sinks:\n  - webhook:https://user:pw@example.test/hook?token=abc\n  - type: webhook\n    url: https://example.test/h\n    headers:\n      Authorization: Bearer s3cr3t\n",
        );
        let args = RunArgs {
            config: Some(file.path().to_path_buf()),
            ..RunArgs::default()
        };
        let text = Settings::resolve(&args, &env(&[]))
            .unwrap()
            .to_masked_json()
            .unwrap();
        assert!(
            !text.contains("s3cr3t") && !text.contains("pw@") && !text.contains("abc"),
            "{text}"
        );
        assert!(text.contains("Authorization"), "{text}");
    }
}
