//! Command-line interface.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Watches AWS CloudTrail and raises Falco-compatible alerts.
#[derive(Debug, Parser)]
#[command(name = "trailwatch", version, about)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, env = "TRAILWATCH_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable text.
    Text,
}

/// Which matching rules raise an alert for one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleMatching {
    /// Every matching rule alerts.
    All,
    /// Only the first matching rule in definition order alerts, as Falco does by default.
    First,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate local CloudTrail log files and folders (plain JSON or gzip; `-` is stdin).
    Scan(ScanArgs),
    /// Run the daemon: consume S3 notifications from an SQS queue.
    Run(Box<RunArgs>),
    /// Work with rules files.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// List the fields rules can use.
    Fields(FieldsArgs),
    /// Work with the daemon's configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// Which rules to load.
#[derive(Debug, Clone, Default, Args)]
pub struct RuleArgs {
    /// A rules file or folder (`*.yaml`, `*.yml`, recursively); repeatable, loaded in order
    /// after the bundled default ruleset.
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,

    /// Do not load the bundled default ruleset.
    #[arg(long)]
    pub no_default_rules: bool,
}

/// Options of `trailwatch scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Rules to load.
    #[command(flatten)]
    pub rules: RuleArgs,

    /// Where alerts go; repeatable: stdout, file:PATH, webhook:URL, securityhub,
    /// cloudwatch:GROUP[/STREAM].
    #[arg(long = "sink", value_name = "SPEC")]
    pub sinks: Vec<String>,

    /// Every matching rule alerts (`all`), or only the first (`first`, Falco's default).
    #[arg(long, value_enum, default_value_t = RuleMatching::All)]
    pub rule_matching: RuleMatching,

    /// Files or folders of CloudTrail logs, or `-` for stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// Options of `trailwatch run`; each may also come from the config file or
/// a `TRAILWATCH_*` environment variable (flags win over both).
#[derive(Debug, Default, Args)]
pub struct RunArgs {
    /// YAML configuration file.
    #[arg(long, env = "TRAILWATCH_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// URL of the SQS queue that receives the S3 notifications.
    #[arg(long, value_name = "URL")]
    pub queue_url: Option<String>,

    /// Rules to load.
    #[command(flatten)]
    pub rules: RuleArgs,

    /// Where alerts go; repeatable (see `scan --help`).
    #[arg(long = "sink", value_name = "SPEC")]
    pub sinks: Vec<String>,

    /// Every matching rule alerts (`all`), or only the first (`first`).
    #[arg(long, value_enum)]
    pub rule_matching: Option<RuleMatching>,

    /// Address for /metrics, /healthz and /readyz.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,

    /// Messages processed at once.
    #[arg(long, value_name = "N")]
    pub max_in_flight: Option<usize>,

    /// Seconds in-flight work may take to finish after SIGTERM.
    #[arg(long, value_name = "SECS")]
    pub shutdown_grace_secs: Option<u64>,
}

/// `trailwatch rules ...`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Load rules and report every error and warning; exit non-zero on any error.
    Validate(RuleArgs),
    /// List the loaded rules.
    List {
        /// Rules to load.
        #[command(flatten)]
        rules: RuleArgs,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Run rule test cases (`*.test.yaml`) against the loaded rules.
    Test {
        /// Rules to load.
        #[command(flatten)]
        rules: RuleArgs,
        /// Test case files or folders (default: `rules`).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
}

/// Options of `trailwatch fields`.
#[derive(Debug, Args)]
pub struct FieldsArgs {
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
}

/// `trailwatch config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and print the effective settings, secrets masked.
    Check(Box<RunArgs>),
}
