//! The streaming splitter agrees with serde_json on what is valid JSON and
//! on what the `Records` elements are, for generated and damaged documents.

use proptest::prelude::*;
use serde_json::{Map, Value};
use trailwatch_ingest::{Limits, RecordError, open_records};

/// JSON values up to a few levels deep. Strings avoid `u` so that damage
/// cannot forge a `\u` escape of a lone surrogate, which serde_json rejects
/// and the splitter leaves for the record parser (a documented gap).
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1.0e12f64..1.0e12).prop_map(Value::from),
        "[a-tv-z0-9 é\"\\\\/\t]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-zR]{1,7}", inner, 0..5)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A top-level object that usually holds a `Records` array.
fn document() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(value(), 0..6),
        prop::collection::btree_map("[a-z]{1,5}", value(), 0..3),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(records, extra, with_records, pretty)| {
            let mut top = Map::new();
            for (key, value) in extra {
                top.insert(key, value);
            }
            if with_records {
                top.insert("Records".to_owned(), Value::Array(records));
            }
            let top = Value::Object(top);
            if pretty {
                serde_json::to_string_pretty(&top).unwrap()
            } else {
                top.to_string()
            }
        })
}

/// Overwrites one byte with a character that matters to JSON, or cuts the
/// document short.
fn damage(doc: &str, position: usize, choice: usize) -> String {
    const BYTES: &[u8] = b"{}[],:\"\\-0.etnx ";
    let mut bytes = doc.as_bytes().to_vec();
    let at = position % bytes.len().max(1);
    if choice == BYTES.len() {
        bytes.truncate(at);
    } else if at < bytes.len() && bytes[at].is_ascii() {
        bytes[at] = BYTES[choice];
    }
    String::from_utf8(bytes).unwrap_or_else(|_| doc.to_owned())
}

fn split(doc: &str) -> (Vec<String>, Vec<RecordError>) {
    let mut records = Vec::new();
    let mut errors = Vec::new();
    for item in open_records(doc.as_bytes(), Limits::default()) {
        match item {
            Ok(record) => records.push(record.text),
            Err(error) => errors.push(error),
        }
    }
    (records, errors)
}

fn check(doc: &str) -> Result<(), TestCaseError> {
    let reference = serde_json::from_str::<Value>(doc);
    // Damage can turn a number into `1e0000299`: valid JSON grammar that
    // serde_json refuses as out of range. Such cases say nothing here.
    prop_assume!(!matches!(&reference, Err(e) if e.to_string().contains("out of range")));
    let (texts, errors) = split(doc);
    let records: Vec<Value> = texts
        .iter()
        .map(|text| serde_json::from_str(text).unwrap())
        .collect();
    match reference {
        Ok(Value::Object(top)) => match top.get("Records") {
            Some(Value::Array(want)) => {
                prop_assert!(errors.is_empty(), "{doc}: {errors:?}");
                prop_assert_eq!(&records, want);
            }
            Some(_) => {
                prop_assert!(
                    matches!(errors.as_slice(), [RecordError::Json { .. }]),
                    "{doc}"
                );
            }
            None => {
                prop_assert!(records.is_empty());
                prop_assert!(
                    matches!(errors.as_slice(), [RecordError::NoRecords]),
                    "{doc}"
                );
            }
        },
        Ok(_) => {
            prop_assert!(
                matches!(errors.as_slice(), [RecordError::NoRecords]),
                "{doc}"
            );
        }
        Err(_) => {
            // Invalid JSON: the records before the damage may come out, but
            // the reader must end with exactly one fatal error.
            prop_assert_eq!(errors.len(), 1, "{}", doc);
            prop_assert!(errors[0].is_fatal());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn intact_documents_split_like_serde(doc in document()) {
        check(&doc)?;
    }

    #[test]
    fn damaged_documents_fail_like_serde(
        doc in document(),
        position in any::<usize>(),
        choice in 0usize..17,
    ) {
        check(&damage(&doc, position, choice))?;
    }
}
