//! `trailwatch rules ...` and `trailwatch fields`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use trailwatch_rules::fields::{FieldType, all_fields};

use crate::cli::{FieldsArgs, RulesCommand};
use crate::engine::load_rules_from_args;
use crate::{report_diagnostics, ruletest};

/// Runs a `rules` subcommand.
pub fn run(command: RulesCommand) -> Result<ExitCode> {
    match command {
        RulesCommand::Validate(args) => {
            let Some(ruleset) = report_diagnostics(load_rules_from_args(&args)) else {
                return Ok(ExitCode::FAILURE);
            };
            eprintln!(
                "rules ok: {} rules, {} enabled",
                ruleset.rules().len(),
                ruleset.enabled_count()
            );
            Ok(ExitCode::SUCCESS)
        }
        RulesCommand::List { rules, json } => {
            let Some(ruleset) = report_diagnostics(load_rules_from_args(&rules)) else {
                return Ok(ExitCode::FAILURE);
            };
            let lines = ruleset.rules().iter().map(|rule| {
                if json {
                    json!({
                        "name": rule.name,
                        "priority": rule.priority.as_str(),
                        "source": rule.source,
                        "enabled": rule.enabled,
                        "tags": rule.tags,
                    })
                    .to_string()
                } else {
                    let state = if rule.enabled { "enabled" } else { "disabled" };
                    let (priority, tags) = (rule.priority.as_str(), rule.tags.join(","));
                    format!(
                        "{}\t{priority}\t{}\t{state}\t{tags}",
                        rule.name, rule.source
                    )
                }
            });
            print_lines(lines)
        }
        RulesCommand::Test { rules, paths } => {
            let Some(ruleset) = report_diagnostics(load_rules_from_args(&rules)) else {
                return Ok(ExitCode::FAILURE);
            };
            let paths = if paths.is_empty() {
                vec![PathBuf::from("rules")]
            } else {
                paths
            };
            let files = ruletest::find_case_files(&paths);
            if files.is_empty() {
                eprintln!("error: no *.test.yaml case files under {paths:?}");
                return Ok(ExitCode::FAILURE);
            }
            let report = ruletest::run_case_files(&ruleset, &files)?;
            if report.cases == 0 {
                eprintln!("error: the case files under {paths:?} hold no cases");
                return Ok(ExitCode::FAILURE);
            }
            print!("{report}");
            let failed = report.failures.len();
            println!("{} passed, {failed} failed", report.cases - failed);
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// Prints the supported fields.
pub fn fields(args: &FieldsArgs) -> Result<ExitCode> {
    let lines = all_fields().iter().map(|field| {
        let ty = match (field.ty, field.is_list) {
            (FieldType::String, false) => "string",
            (FieldType::String, true) => "list",
            (FieldType::U64, _) => "uint64",
        };
        if args.json {
            json!({
                "name": field.name,
                "type": ty,
                "hidden": field.hidden,
                "description": field.description,
            })
            .to_string()
        } else {
            format!("{:<40} {ty:<7} {}", field.name, field.description)
        }
    });
    print_lines(lines)
}

/// Writes lines to stdout; a reader that went away (`| head`) ends the
/// listing quietly instead of failing.
fn print_lines(lines: impl Iterator<Item = String>) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    for line in lines {
        match writeln!(out, "{line}") {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(ExitCode::SUCCESS)
}
