//! `trailwatch scan`: the daemon's engine and sinks over local files.
//!
//! Three stages, each handing its results to the next over a bounded
//! channel, so a slow stage slows the ones before it instead of filling
//! memory:
//! - a reader thread decompresses each input and splits it into records,
//!   passed on in batches;
//! - an evaluator thread parses and evaluates the records and collects the
//!   alerts;
//! - the async side delivers the alerts to the sinks.
//!
//! Decompression and evaluation cost about the same, so on a machine with
//! two cores or more they run side by side.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc as sync_mpsc;
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio::sync::mpsc;
use trailwatch_ingest::{
    Input, Limits, LocalError, RawRecord, RecordError, expand_inputs, open_records,
};
use trailwatch_sinks::{Alert, Fanout};

use crate::cli::ScanArgs;
use crate::engine::Evaluator;
use crate::metric_names as m;
use crate::{report_diagnostics, sinks};

/// Alerts handed to the sinks at once.
const CHUNK: usize = 512;
/// Chunks that may wait between the evaluator and the sinks.
const CHANNEL_CAPACITY: usize = 8;
/// A batch of records is sent on once it holds this many records...
const BATCH_RECORDS: usize = 256;
/// ... or this many bytes of record text.
const BATCH_BYTES: usize = 256 * 1024;
/// Batches that may wait between the reader and the evaluator. A batch
/// holds at most `BATCH_BYTES` plus one record, so about 1 MiB of typical
/// records waits here; with records near the record size limit, a few times
/// that limit.
const BATCHES_IN_FLIGHT: usize = 4;

/// What the reader hands to the evaluator.
enum Work {
    /// Records and record errors of the current input, in order.
    Batch(Vec<Result<RawRecord, RecordError>>),
    /// The current input ended; `failure` tells why when it could not be
    /// read at all.
    InputDone {
        input: String,
        failure: Option<String>,
    },
}

/// What the evaluator hands to the async side.
enum Progress {
    Alerts(Vec<Alert>),
    InputDone(InputSummary),
}

#[derive(Default)]
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
    let (work_tx, work_rx) = sync_mpsc::sync_channel(BATCHES_IN_FLIGHT);
    let paths = args.paths.clone();
    let reader = std::thread::spawn(move || read_inputs(&paths, &work_tx));
    let evaluating = std::thread::spawn(move || evaluate_inputs(&work_rx, &evaluator, &tx));

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
                    // Each later batch would wait out the same retries, so a
                    // scan stops at the first delivery that failed for good.
                    eprintln!("error: delivering alerts: {e}; scan stopped");
                    totals.delivery_failed = true;
                    break;
                }
            }
            Progress::InputDone(summary) => totals.add(summary),
        }
    }
    // Dropping the receiver stops both threads if the loop ended early.
    drop(rx);
    if reader.join().is_err() {
        anyhow::bail!("the reader thread panicked");
    }
    if evaluating.join().is_err() {
        anyhow::bail!("the evaluator thread panicked");
    }
    // Every delivery was awaited above, so the sinks are idle.
    fanout.shutdown(Duration::from_secs(5)).await;

    eprintln!(
        "scanned {} inputs, {} records, {} alerts, {} errors in {:.2}s",
        totals.inputs,
        totals.records,
        totals.alerts,
        totals.errors,
        started.elapsed().as_secs_f64()
    );
    if totals.inputs == 0 && !totals.delivery_failed {
        eprintln!(
            "error: no CloudTrail log files (*.json, *.json.gz) in {:?}",
            args.paths
        );
        return Ok(ExitCode::FAILURE);
    }
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

/// The reader stage: every input, split into batches of records.
fn read_inputs(paths: &[PathBuf], tx: &sync_mpsc::SyncSender<Work>) {
    for input in expand_inputs(paths) {
        let done = match input {
            Ok(input) => Work::InputDone {
                input: input.to_string(),
                failure: read_input(&input, tx).err(),
            },
            Err(e) => {
                let (what, path, source) = match &e {
                    LocalError::Access { path, source } => ("cannot read", path, source),
                    LocalError::ListFolder { path, source } => ("cannot list folder", path, source),
                };
                Work::InputDone {
                    input: path.display().to_string(),
                    failure: Some(format!("{what}: {source}")),
                }
            }
        };
        if tx.send(done).is_err() {
            return;
        }
    }
}

/// Sends the records of one input on; `Err` when it cannot be opened.
fn read_input(input: &Input, tx: &sync_mpsc::SyncSender<Work>) -> Result<(), String> {
    let reader: Box<dyn Read + Send> = match input {
        Input::Stdin => Box::new(std::io::stdin()),
        Input::File(path) => match File::open(path) {
            Ok(file) => Box::new(file),
            Err(e) => return Err(format!("cannot open: {e}")),
        },
    };
    let mut batch = Vec::with_capacity(BATCH_RECORDS);
    let mut bytes = 0;
    for item in open_records(reader, Limits::default()) {
        bytes += item.as_ref().map_or(0, |record| record.text.len());
        batch.push(item);
        if batch.len() >= BATCH_RECORDS || bytes >= BATCH_BYTES {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_RECORDS));
            bytes = 0;
            if tx.send(Work::Batch(full)).is_err() {
                // The evaluator stopped; there is nobody to report to.
                return Ok(());
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(Work::Batch(batch));
    }
    Ok(())
}

/// The evaluator stage: alerts and a summary per input, in input order.
fn evaluate_inputs(
    rx: &sync_mpsc::Receiver<Work>,
    evaluator: &Evaluator,
    tx: &mpsc::Sender<Progress>,
) {
    let mut summary = InputSummary::default();
    let mut alerts = Vec::new();
    for work in rx {
        match work {
            Work::Batch(items) => {
                for item in items {
                    summary.add(item, evaluator, &mut alerts);
                }
                if alerts.len() >= CHUNK
                    && tx
                        .blocking_send(Progress::Alerts(std::mem::take(&mut alerts)))
                        .is_err()
                {
                    return;
                }
            }
            Work::InputDone { input, failure } => {
                // An input's alerts go out before its summary.
                if !alerts.is_empty()
                    && tx
                        .blocking_send(Progress::Alerts(std::mem::take(&mut alerts)))
                        .is_err()
                {
                    return;
                }
                summary.input = input;
                if let Some(failure) = failure {
                    summary.errors.push(failure);
                    summary.broken = true;
                }
                let done = Progress::InputDone(std::mem::take(&mut summary));
                if tx.blocking_send(done).is_err() {
                    return;
                }
            }
        }
    }
}

impl InputSummary {
    /// Evaluates one item of the input, or records its error.
    fn add(
        &mut self,
        item: Result<RawRecord, RecordError>,
        evaluator: &Evaluator,
        alerts: &mut Vec<Alert>,
    ) {
        match item {
            Ok(record) => {
                self.records += 1;
                if let Err(e) = evaluator.evaluate(&record.text, self.records, alerts) {
                    metrics::counter!(m::RECORD_ERRORS, "reason" => "json").increment(1);
                    self.errors.push(format!("record {}: {e}", record.index));
                    self.broken = true;
                }
            }
            // Any record left unevaluated breaks the input, whether the
            // reader stopped or skipped one oversized record.
            Err(e) => {
                metrics::counter!(m::RECORD_ERRORS, "reason" => e.reason()).increment(1);
                self.errors.push(e.to_string());
                self.broken = true;
            }
        }
    }
}
