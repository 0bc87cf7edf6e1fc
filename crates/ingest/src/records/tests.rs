use std::io::{self, Read, Write};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;

use super::*;

/// Records with the shapes that trip up typed parsers: null parameters, an
/// assumed role without userName, an Insights event, a root login without
/// userName, and `requestParameters.policy` as an object in one record and a
/// string in another.
const VARIED: &str = r#"{"Records": [
  {"eventVersion":"1.08","eventName":"DescribeInstances","requestParameters":null,
   "userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/s",
     "sessionContext":{"sessionIssuer":{"type":"Role","userName":"r"}}}},
  {"eventVersion":"1.07","eventType":"AwsCloudTrailInsight","eventCategory":"Insight",
   "insightDetails":{"state":"Start","insightType":"ApiCallRateInsight"}},
  {"eventName":"ConsoleLogin","userIdentity":{"type":"Root","arn":"arn:aws:iam::1:root"},
   "responseElements":{"ConsoleLogin":"Success"},"note":"caf\u00e9 \"quoted\" \\ / é"},
  {"eventName":"PutBucketPolicy","requestParameters":{"policy":{"Version":"2012-10-17"}}},
  {"eventName":"PutBucketPolicy","requestParameters":{"policy":"{\"Version\":\"2012\"}"},
   "numbers":[0,-1,2.5,3e10,-4.25E-3,1E+2],"flags":[true,false,null]}
]}"#;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn collect<R: Read>(reader: R, limits: Limits) -> (Vec<RawRecord>, Vec<RecordError>) {
    let mut records = Vec::new();
    let mut errors = Vec::new();
    for item in open_records(reader, limits) {
        match item {
            Ok(record) => records.push(record),
            Err(error) => errors.push(error),
        }
    }
    (records, errors)
}

/// The records serde_json sees, re-serialised, for comparison.
fn expected(json: &str) -> Vec<Value> {
    let value: Value = serde_json::from_str(json).unwrap();
    value["Records"].as_array().unwrap().clone()
}

/// Hands out at most one byte per read, so every chunk boundary is hit.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some((first, rest)) = self.0.split_first() else {
            return Ok(0);
        };
        if buf.is_empty() {
            return Ok(0);
        }
        buf[0] = *first;
        self.0 = rest;
        Ok(1)
    }
}

/// Serves `data`, then fails as a dropped connection would.
struct FailingAfter(io::Cursor<Vec<u8>>);

impl Read for FailingAfter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.read(buf)? {
            0 => Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset")),
            n => Ok(n),
        }
    }
}

#[test]
fn varied_records_come_out_exact_and_in_order() {
    let (records, errors) = collect(VARIED.as_bytes(), Limits::default());
    assert!(errors.is_empty(), "{errors:?}");
    let want = expected(VARIED);
    assert_eq!(records.len(), 5);
    for (i, record) in records.iter().enumerate() {
        assert_eq!(record.index, i);
        assert!(VARIED.contains(&record.text), "not exact: {}", record.text);
        assert!(record.text.starts_with('{') && record.text.ends_with('}'));
        let parsed: Value = serde_json::from_str(&record.text).unwrap();
        assert_eq!(parsed, want[i]);
    }
    assert_eq!(
        records[0]
            .text
            .matches("\"requestParameters\":null")
            .count(),
        1
    );
    assert!(
        records[2]
            .text
            .ends_with(r#""note":"caf\u00e9 \"quoted\" \\ / é"}"#)
    );
}

#[test]
fn chunk_boundaries_do_not_change_the_records() {
    let whole = collect(VARIED.as_bytes(), Limits::default()).0;
    let trickled = collect(Trickle(VARIED.as_bytes()), Limits::default()).0;
    assert_eq!(whole, trickled);
    let compressed = gzip(VARIED.as_bytes());
    let from_gzip = collect(Trickle(&compressed), Limits::default()).0;
    assert_eq!(whole, from_gzip);
}

#[test]
fn scalar_and_array_elements_end_where_they_end() {
    let json = r#"{"Records":[1, -2.5e3 ,"x,]",true,null,[1,{"a":[]}],0]}"#;
    for (records, errors) in [
        collect(json.as_bytes(), Limits::default()),
        collect(Trickle(json.as_bytes()), Limits::default()),
    ] {
        assert!(errors.is_empty(), "{errors:?}");
        let texts: Vec<_> = records.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "1",
                "-2.5e3",
                "\"x,]\"",
                "true",
                "null",
                r#"[1,{"a":[]}]"#,
                "0"
            ]
        );
    }
}

#[test]
fn only_the_top_level_records_key_counts() {
    let json = r#"{"meta":{"Records":[9,9]},"Rec":[8],"Records":[{"n":1}],"tail":[{"Records":7}]}"#;
    let (records, errors) = collect(json.as_bytes(), Limits::default());
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].text, r#"{"n":1}"#);
}

#[test]
fn oversized_record_is_skipped_and_the_rest_continues() {
    let big = format!(
        r#"{{"eventName":"Big","blob":"{}"}}"#,
        "a".repeat(300 * 1024)
    );
    let json = format!(r#"{{"Records":[{{"n":0}},{big},{{"n":2}}]}}"#);

    let (records, errors) = collect(json.as_bytes(), Limits::default());
    assert!(errors.is_empty());
    assert_eq!(records[1].text, big);

    let limits = Limits {
        max_record_bytes: 100 * 1024,
        ..Limits::default()
    };
    let (records, errors) = collect(gzip(json.as_bytes()).as_slice(), limits);
    let texts: Vec<_> = records.iter().map(|r| (r.index, r.text.as_str())).collect();
    assert_eq!(texts, [(0, r#"{"n":0}"#), (2, r#"{"n":2}"#)]);
    assert_eq!(errors.len(), 1);
    assert!(!errors[0].is_fatal());
    assert_eq!(errors[0].reason(), "too_large");
    let offset = json.find(r#"{"eventName""#).unwrap() as u64;
    assert!(
        matches!(
            errors[0],
            RecordError::TooLarge { index: 1, offset: o, size: s, limit: 102400 }
                if o == offset && s == big.len() as u64
        ),
        "{:?}",
        errors[0]
    );
}

#[test]
fn empty_records_array_is_fine() {
    let (records, errors) = collect(&b" {\"Records\": [ ] } \n"[..], Limits::default());
    assert!(records.is_empty());
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn missing_records_is_fatal_but_a_digest_is_not_an_error() {
    for json in [r#"{"eventName":"x"}"#, r#"[{"Records":[]}]"#, "{}"] {
        let (records, errors) = collect(json.as_bytes(), Limits::default());
        assert!(records.is_empty());
        assert!(
            matches!(errors.as_slice(), [RecordError::NoRecords]),
            "{json}: {errors:?}"
        );
        assert!(errors[0].is_fatal());
        assert_eq!(errors[0].reason(), "no_records");
    }

    let digest = r#"{"awsAccountId":"111122223333","digestStartTime":"2024-05-01T11:00:00Z",
        "digestEndTime":"2024-05-01T12:00:00Z","logFiles":[{"s3Object":"k"}]}"#;
    let compressed = gzip(digest.as_bytes());
    let mut reader = open_records(compressed.as_slice(), Limits::default());
    assert!(reader.next().is_none());
    assert!(reader.is_digest());
    assert_eq!(reader.bytes_read(), digest.len() as u64);
}

#[test]
fn json_broken_mid_array_yields_the_records_before_it() {
    let json = r#"{"Records":[{"n":0},{"n":1},{"n":2 "oops":3},{"n":4}]}"#;
    let (records, errors) = collect(json.as_bytes(), Limits::default());
    assert_eq!(records.len(), 2);
    assert_eq!(records[1].text, r#"{"n":1}"#);
    let offset = json.find("\"oops").unwrap() as u64;
    assert!(
        matches!(errors.as_slice(), [RecordError::Json { offset: o, .. }] if *o == offset),
        "{errors:?}"
    );
    assert!(errors[0].is_fatal());
    assert_eq!(errors[0].reason(), "json");
}

#[test]
fn invalid_json_is_reported_with_its_offset() {
    let cases: [(&str, u64); 12] = [
        (r#"{"Records":[]} x"#, 15),
        (r#"{"Records":["\q"]}"#, 14),
        ("{\"Records\":[\"a\tb\"]}", 14),
        (r#"{"Records":[01]}"#, 13),
        (r#"{"Records":[1.]}"#, 14),
        (r#"{"Records":[-]}"#, 13),
        (r#"{"Records":[{"a":1]]}"#, 18),
        (r#"{"Records" []}"#, 11),
        (r#"{"Records":{}}"#, 11),
        (r#"{"Records":[tru]}"#, 15),
        (r#"{"Records":["\u12G4"]}"#, 17),
        (r#"{"Records":[{"a":1},]}"#, 20),
    ];
    for (json, offset) in cases {
        let (_, errors) = collect(json.as_bytes(), Limits::default());
        assert!(
            matches!(errors.as_slice(), [RecordError::Json { offset: o, .. }] if *o == offset),
            "{json}: {errors:?}"
        );
    }
    for json in ["", "  \n", r#"{"Records":[{"a":"#, "x"] {
        let (_, errors) = collect(json.as_bytes(), Limits::default());
        assert!(
            matches!(errors.as_slice(), [RecordError::Json { .. }]),
            "{json:?}: {errors:?}"
        );
    }
}

#[test]
fn truncated_gzip_yields_the_records_before_it() {
    let mut json = String::from(r#"{"Records":["#);
    for n in 0..2000 {
        json.push_str(&format!(r#"{{"n":{n},"pad":"{}"}},"#, "x".repeat(n % 50)));
    }
    json.push_str(r#"{"n":"last"}]}"#);
    let compressed = gzip(json.as_bytes());
    let cut = &compressed[..compressed.len() / 2];
    let (records, errors) = collect(cut, Limits::default());
    assert!(
        records.len() > 100 && records.len() < 2000,
        "{}",
        records.len()
    );
    for (n, record) in records.iter().enumerate() {
        assert!(record.text.starts_with(&format!(r#"{{"n":{n},"#)));
    }
    assert!(
        matches!(errors.as_slice(), [RecordError::Gzip { .. }]),
        "{errors:?}"
    );
    assert!(errors[0].is_fatal() && !errors[0].is_transient());
    assert_eq!(errors[0].reason(), "gzip");
}

#[test]
fn concatenated_gzip_members_are_one_stream() {
    let json = VARIED.as_bytes();
    let (head, tail) = json.split_at(json.len() / 3);
    let mut members = gzip(head);
    members.extend(gzip(tail));
    let (records, errors) = collect(members.as_slice(), Limits::default());
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(records, collect(json, Limits::default()).0);
}

#[test]
fn compression_follows_the_content_not_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let gz_in_json = dir.path().join("a.json");
    let json_in_gz = dir.path().join("b.json.gz");
    std::fs::write(&gz_in_json, gzip(VARIED.as_bytes())).unwrap();
    std::fs::write(&json_in_gz, VARIED).unwrap();
    for path in [gz_in_json, json_in_gz] {
        let file = std::fs::File::open(&path).unwrap();
        let (records, errors) = collect(file, Limits::default());
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        assert_eq!(records.len(), 5, "{}", path.display());
    }
}

#[test]
fn object_limit_stops_the_object() {
    let json = format!(
        r#"{{"Records":[{{"n":0}},{{"pad":"{}"}}]}}"#,
        "p".repeat(200_000)
    );
    let limits = Limits {
        max_object_bytes: 100_000,
        ..Limits::default()
    };
    let (records, errors) = collect(gzip(json.as_bytes()).as_slice(), limits);
    assert_eq!(records.len(), 1);
    assert!(matches!(
        errors.as_slice(),
        [RecordError::ObjectTooLarge { limit: 100_000 }]
    ));
    assert_eq!(errors[0].reason(), "object_too_large");
}

#[test]
fn source_failures_are_transient_not_gzip() {
    let json = r#"{"Records":[{"n":0},{"n":1}"#;
    for data in [json.as_bytes().to_vec(), gzip(json.as_bytes())] {
        let (records, errors) = collect(FailingAfter(io::Cursor::new(data)), Limits::default());
        assert_eq!(records.len(), 2);
        assert!(
            matches!(errors.as_slice(), [RecordError::Read { .. }]),
            "{errors:?}"
        );
        assert!(errors[0].is_transient());
    }
}

#[test]
fn byte_order_mark_and_invalid_utf8_are_tolerated() {
    let mut data = vec![0xEF, 0xBB, 0xBF];
    data.extend_from_slice(br#"{"Records":[{"name":"ok"},{"name":"bad"#);
    data.push(0xFF);
    data.extend_from_slice(br#""}]}"#);
    let (records, errors) = collect(data.as_slice(), Limits::default());
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(records[0].text, r#"{"name":"ok"}"#);
    assert_eq!(records[1].text, "{\"name\":\"bad\u{FFFD}\"}");
}
