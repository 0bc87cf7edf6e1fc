//! Parse and evaluate cost per CloudTrail record.
//!
//! The records are the project's samples and the benchmark's high-volume
//! records (`bench/records/`); the rule sets are the bundled default rules
//! (`rules/`), the upstream Falco CloudTrail rules (read from
//! `../shared/compat/falco/` beside the checkout) and both together, as
//! `trailwatch scan --rules` loads them. Each iteration parses every record
//! once and evaluates it with every matching rule (`Matching::All`, the
//! costlier mode); criterion reports records per second.

use std::hint::black_box;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trailwatch_rules::{Event, EventMeta, Loader, Matching, RuleSet};

/// The checkout's root folder.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The text of every record of the log files in `folder`.
fn records_in(folder: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .expect("record folder")
        .map(|entry| entry.expect("folder entry").path())
        .filter(|path| path.to_string_lossy().contains(".json"))
        .collect();
    files.sort();
    let mut records = Vec::new();
    for path in files {
        let bytes = std::fs::read(&path).expect("log file");
        let mut text = String::new();
        if bytes.starts_with(&[0x1f, 0x8b]) {
            flate2::read::MultiGzDecoder::new(&bytes[..])
                .read_to_string(&mut text)
                .expect("gzip log");
        } else {
            text = String::from_utf8(bytes).expect("UTF-8 log");
        }
        let log: serde_json::Value = serde_json::from_str(&text).expect("JSON log");
        let items = log["Records"].as_array().expect("a Records array");
        records.extend(items.iter().map(|r| r.to_string()));
    }
    records
}

/// Loads rules files (folders: every `*.yaml` but test cases).
fn load(paths: &[PathBuf]) -> RuleSet {
    let mut loader = Loader::new();
    for path in paths {
        let mut files = vec![path.clone()];
        if path.is_dir() {
            files = std::fs::read_dir(path)
                .expect("rules folder")
                .map(|entry| entry.expect("folder entry").path())
                .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
                .filter(|p| !p.to_string_lossy().ends_with(".test.yaml"))
                .collect();
            files.sort();
        }
        for file in files {
            loader.add_path(&file);
        }
    }
    loader.finish().ruleset.expect("rules load")
}

fn engine(c: &mut Criterion) {
    let root = root();
    let mut records = records_in(&root.join("samples"));
    records.extend(records_in(&root.join("bench/records")));
    let default_rules = root.join("rules");
    let upstream = root.join("../shared/compat/falco/aws_cloudtrail_rules.yaml");
    let sets = [
        ("default", load(std::slice::from_ref(&default_rules))),
        ("upstream", load(std::slice::from_ref(&upstream))),
        ("default+upstream", load(&[default_rules, upstream])),
    ];
    let host: Arc<str> = Arc::from("bench");
    let meta = |num| EventMeta {
        num,
        hostname: Arc::clone(&host),
    };

    let mut group = c.benchmark_group("record");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("parse", |b| {
        b.iter(|| {
            for (num, text) in records.iter().enumerate() {
                black_box(Event::parse(text, meta(num as u64)).expect("record"));
            }
        })
    });
    for (name, rules) in &sets {
        group.bench_function(format!("parse+evaluate/{name}"), |b| {
            let mut detections = Vec::new();
            b.iter(|| {
                for (num, text) in records.iter().enumerate() {
                    let event = Event::parse(text, meta(num as u64)).expect("record");
                    rules.evaluate(&event, Matching::All, &mut detections);
                    detections.clear();
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
