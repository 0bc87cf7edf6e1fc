//! trailwatch: watches AWS CloudTrail in near real time and raises
//! Falco-compatible alerts.
//!
//! `scan` runs the engine over local files; `run` is the daemon consuming
//! S3 notifications from SQS. Both share [`engine`] and the sinks.

mod cli;
mod config;
mod daemon;
mod engine;
mod http;
mod metric_names;
mod reload;
mod rules_cmd;
mod ruletest;
mod scan;
mod sinks;
mod telemetry;

use std::process::ExitCode;

use clap::Parser;
use trailwatch_rules::{LoadResult, RuleSet, Severity};

use crate::cli::{Cli, Command, ConfigCommand, LogFormat};

/// How long blocking work may run on after the command finished.
const EXIT_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    };
    // A blocking reader still busy with an object whose message was already
    // released must not hold the exit back; its work is redone elsewhere.
    runtime.shutdown_timeout(EXIT_GRACE);
    code
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Scan(args) => {
            // Scans report on stderr themselves; logs only for problems.
            telemetry::init_logging(cli.log_format.unwrap_or(LogFormat::Text), "warn");
            scan::run(args).await
        }
        Command::Run(args) => daemon::run(*args, cli.log_format).await,
        Command::Rules(command) => rules_cmd::run(command),
        Command::Fields(args) => rules_cmd::fields(&args),
        Command::Config(ConfigCommand::Check(args)) => daemon::check_config(&args),
    }
}

/// Prints every diagnostic of a rules load to stderr and returns the ruleset
/// when there was no error.
pub(crate) fn report_diagnostics(result: LoadResult) -> Option<RuleSet> {
    for diagnostic in &result.diagnostics {
        eprintln!("{diagnostic}");
    }
    let errors = result
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    if errors > 0 {
        eprintln!("error: rules did not load: {errors} error(s)");
    }
    result.ruleset
}

/// The pod or host name alerts carry: `HOSTNAME` when set (Kubernetes sets
/// it to the pod name), else the system host name.
pub(crate) fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| hostname::get().ok().and_then(|h| h.into_string().ok()))
        .unwrap_or_else(|| "trailwatch".to_string())
}
