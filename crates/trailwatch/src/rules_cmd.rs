//! `trailwatch rules ...` and `trailwatch fields`.

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
            for rule in ruleset.rules() {
                if json {
                    let line = json!({
                        "name": rule.name,
                        "priority": rule.priority.as_str(),
                        "source": rule.source,
                        "enabled": rule.enabled,
                        "tags": rule.tags,
                    });
                    println!("{line}");
                } else {
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        rule.name,
                        rule.priority.as_str(),
                        rule.source,
                        if rule.enabled { "enabled" } else { "disabled" },
                        rule.tags.join(",")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
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
pub fn fields(args: &FieldsArgs) -> ExitCode {
    for field in all_fields() {
        let ty = match (field.ty, field.is_list) {
            (FieldType::String, false) => "string",
            (FieldType::String, true) => "list",
            (FieldType::U64, _) => "uint64",
        };
        if args.json {
            let line = json!({
                "name": field.name,
                "type": ty,
                "hidden": field.hidden,
                "description": field.description,
            });
            println!("{line}");
        } else {
            println!("{:<40} {:<7} {}", field.name, ty, field.description);
        }
    }
    ExitCode::SUCCESS
}
