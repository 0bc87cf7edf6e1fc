//! The record splitter over every file of the shared CloudTrail data set,
//! checked against the counts in its INDEX.tsv and against serde_json.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use serde_json::Value;
use trailwatch_ingest::{Input, Limits, RecordError, expand_inputs, open_records};

fn data_dir() -> PathBuf {
    trailwatch_testkit::shared_dir().join("data/cloudtrail")
}

/// file (relative) -> record count, from INDEX.tsv.
fn index() -> BTreeMap<String, usize> {
    let text = std::fs::read_to_string(data_dir().join("INDEX.tsv")).expect("INDEX.tsv");
    text.lines()
        .skip(1)
        .map(|line| {
            let mut columns = line.split('\t');
            let file = columns.next().unwrap().to_owned();
            let records = columns.next().unwrap().parse().unwrap();
            (file, records)
        })
        .collect()
}

/// The file's `Records` elements as serde_json sees them, if it parses.
fn reference(path: &Path) -> Option<Vec<Value>> {
    let raw = std::fs::read(path).unwrap();
    let mut text = String::new();
    if raw.starts_with(&[0x1f, 0x8b]) {
        MultiGzDecoder::new(raw.as_slice())
            .read_to_string(&mut text)
            .unwrap();
    } else {
        text = String::from_utf8(raw).unwrap();
    }
    let value: Value = serde_json::from_str(&text).ok()?;
    value.get("Records")?.as_array().cloned()
}

/// The StreamAlert originals are lists of test cases, not CloudTrail files;
/// INDEX.tsv counts the records inside their cases, which the derived
/// `*.records.json` beside each holds as a real CloudTrail file.
fn is_test_harness_list(file: &str) -> bool {
    file.starts_with("streamalert/") && !file.ends_with(".records.json")
}

#[test]
fn every_shared_file_splits_into_the_indexed_records() {
    let index = index();
    let root = data_dir();
    let inputs = expand_inputs(std::slice::from_ref(&root));

    let mut seen = Vec::new();
    for input in inputs {
        let Input::File(path) = input.expect("shared files are readable") else {
            panic!("a folder walk never yields stdin");
        };
        let file = path.strip_prefix(&root).unwrap().display().to_string();
        let expected = *index
            .get(&file)
            .unwrap_or_else(|| panic!("{file} missing from INDEX.tsv"));
        seen.push(file.clone());

        let handle = std::fs::File::open(&path).unwrap();
        let mut records = Vec::new();
        let mut errors = Vec::new();
        for item in open_records(handle, Limits::default()) {
            match item {
                Ok(record) => records.push(record),
                Err(error) => errors.push(error),
            }
        }

        if file.ends_with("SerializerTestFileBadJsonFormat.json") {
            assert_eq!(records.len(), expected, "{file}");
            assert!(
                matches!(errors.as_slice(), [RecordError::Json { .. }]),
                "{file}: {errors:?}"
            );
            assert!(
                reference(&path).is_none(),
                "serde_json must reject {file} too"
            );
            continue;
        }
        if is_test_harness_list(&file) {
            assert!(records.is_empty(), "{file}");
            assert!(
                matches!(errors.as_slice(), [RecordError::NoRecords]),
                "{file}: {errors:?}"
            );
            let derived = file.replace(".json", ".records.json");
            assert_eq!(index.get(&derived), Some(&expected), "{file}");
            continue;
        }

        assert!(errors.is_empty(), "{file}: {errors:?}");
        assert_eq!(records.len(), expected, "{file}");
        let want = reference(&path).expect("serde_json parses it");
        for (record, want) in records.iter().zip(&want) {
            let got: Value = serde_json::from_str(&record.text).unwrap();
            assert_eq!(&got, want, "{file} record {}", record.index);
        }
    }

    let indexed: Vec<_> = index.keys().cloned().collect();
    seen.sort();
    assert_eq!(
        seen, indexed,
        "the folder walk finds exactly the indexed files"
    );
    assert_eq!(seen.len(), 66);
}
