//! `trailwatch scan`: the daemon's engine and sinks over local files.
//!
//! A reader thread decompresses, splits and evaluates records, and hands
//! alerts over a bounded channel to the async side, which delivers them to
//! the sinks; a slow sink therefore slows reading instead of filling memory.

use std::fs::File;
use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use tokio::sync::mpsc;
use trailwatch_ingest::{Input, Limits, RecordError, expand_inputs, open_records};
use trailwatch_sinks::{Alert, Fanout};

use crate::cli::ScanArgs;
use crate::engine::Evaluator;
use crate::metric_names as m;
use crate::{report_diagnostics, sinks};

/// Alerts handed to the sinks at once.
const CHUNK: usize = 512;
/// Chunks that may wait between the reader and the sinks.
const CHANNEL_CAPACITY: usize = 8;

enum Progress {
    Alerts(Vec<Alert>),
    InputDone(InputSummary),
}

struct InputSummary {
    input: String,
    records: u64,
    errors: Vec<String>,
    broken: bool,
}

/// Runs the scan; exit code 0 when every input was read, alerts or not.
pub async fn run(args: ScanArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let Some(ruleset) = report_diagnostics(crate::engine::load_rules_from_args(&args.rules)) else {
        return Ok(ExitCode::from(2));
    };
    let evaluator = Evaluator::new(Arc::new(ruleset), args.rule_matching, &crate::hostname());
    let fanout = Fanout::new(
        sinks::build(&sinks::from_specs(&args.sinks)?).await?,
        CHANNEL_CAPACITY,
    );

    let (tx, mut rx) = mpsc::channel(CHANNEL_CAPACITY);
    let paths = args.paths.clone();
    let reader = std::thread::spawn(move || read_inputs(&paths, &evaluator, &tx));

    let mut totals = Totals::default();
    let mut chunk_no = 0u64;
    while let Some(progress) = rx.recv().await {
        match progress {
            Progress::Alerts(alerts) => {
                chunk_no += 1;
                totals.alerts += alerts.len() as u64;
                if let Err(e) = fanout
                    .deliver(&format!("scan/{chunk_no}"), Arc::new(alerts))
                    .await
                {
                    eprintln!("error: delivering alerts: {e}");
                    totals.delivery_failed = true;
                }
            }
            Progress::InputDone(summary) => totals.add(summary),
        }
    }
    if reader.join().is_err() {
        anyhow::bail!("the reader thread panicked");
    }
    fanout.shutdown().await;

    eprintln!(
        "scanned {} inputs, {} records, {} alerts, {} errors in {:.2}s",
        totals.inputs,
        totals.records,
        totals.alerts,
        totals.errors,
        started.elapsed().as_secs_f64()
    );
    Ok(if totals.broken_inputs > 0 || totals.delivery_failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(Default)]
struct Totals {
    inputs: u64,
    records: u64,
    alerts: u64,
    errors: u64,
    broken_inputs: u64,
    delivery_failed: bool,
}

impl Totals {
    fn add(&mut self, summary: InputSummary) {
        self.inputs += 1;
        self.records += summary.records;
        self.errors += summary.errors.len() as u64;
        self.broken_inputs += u64::from(summary.broken);
        for error in &summary.errors {
            eprintln!("error: {}: {error}", summary.input);
        }
    }
}

fn read_inputs(paths: &[std::path::PathBuf], evaluator: &Evaluator, tx: &mpsc::Sender<Progress>) {
    for input in expand_inputs(paths) {
        let summary = match input {
            Ok(input) => read_input(&input, evaluator, tx),
            Err(e) => InputSummary {
                input: e.to_string(),
                records: 0,
                errors: vec![e.to_string()],
                broken: true,
            },
        };
        if tx.blocking_send(Progress::InputDone(summary)).is_err() {
            return;
        }
    }
}

fn read_input(input: &Input, evaluator: &Evaluator, tx: &mpsc::Sender<Progress>) -> InputSummary {
    let mut summary = InputSummary {
        input: input.to_string(),
        records: 0,
        errors: Vec::new(),
        broken: false,
    };
    let reader: Box<dyn Read + Send> = match input {
        Input::Stdin => Box::new(std::io::stdin()),
        Input::File(path) => match File::open(path) {
            Ok(file) => Box::new(file),
            Err(e) => {
                summary.errors.push(format!("cannot open: {e}"));
                summary.broken = true;
                return summary;
            }
        },
    };
    let mut alerts = Vec::new();
    for item in open_records(reader, Limits::default()) {
        match item {
            Ok(record) => {
                summary.records += 1;
                if let Err(e) = evaluator.evaluate(&record.text, summary.records, &mut alerts) {
                    metrics::counter!(m::RECORD_ERRORS, "reason" => "json").increment(1);
                    summary.errors.push(format!("record {}: {e}", record.index));
                }
            }
            Err(e) => {
                metrics::counter!(m::RECORD_ERRORS, "reason" => e.reason()).increment(1);
                summary.broken |= is_broken(&e);
                summary.errors.push(e.to_string());
            }
        }
        if alerts.len() >= CHUNK
            && tx
                .blocking_send(Progress::Alerts(std::mem::take(&mut alerts)))
                .is_err()
        {
            return summary;
        }
    }
    if !alerts.is_empty() {
        let _ = tx.blocking_send(Progress::Alerts(alerts));
    }
    summary
}

/// A fatal error breaks the input; a skipped oversized record does too,
/// since a record went unevaluated.
fn is_broken(e: &RecordError) -> bool {
    e.is_fatal() || e.reason() == "too_large"
}
