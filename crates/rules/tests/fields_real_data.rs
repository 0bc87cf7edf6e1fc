//! Every field over every record of the shared CloudTrail data set.
//!
//! The data is read in place (plain and gzipped files); nothing is copied
//! into the repository. Besides "no panic", the test checks invariants that
//! must hold for any record, counts that were established independently of
//! this code, and exact values on a few real records.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flate2::read::GzDecoder;
use serde_json::value::RawValue;
use trailwatch_rules::fields::{self, ArgKind, FieldRef, FieldType, Value};
use trailwatch_rules::{Event, EventMeta};

const DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/cloudtrail"
);

/// Pointers used for `json.value` and `jevt.value`.
const POINTERS: &[&str] = &[
    "/eventName",
    "userIdentity",
    "/userIdentity/sessionContext/sessionIssuer/userName",
    "/responseElements/ConsoleLogin",
    "/additionalEventData/MFAUsed",
    "/requestParameters/PublicAccessBlockConfiguration/BlockPublicAcls",
    "/responseElements/instancesSet/items/0/instanceId",
    "/resources/0",
    "/readOnly",
];

/// All data files (`.json` and `.json.gz`), sorted.
fn data_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).expect("data directory is readable") {
            let path = entry.expect("directory entry").path();
            let name = path.to_string_lossy().into_owned();
            if path.is_dir() {
                walk(&path, out);
            } else if name.ends_with(".json") || name.ends_with(".json.gz") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(Path::new(DATA), &mut files);
    files.sort();
    files
}

fn read_text(path: &Path) -> String {
    let bytes = fs::read(path).expect("data file is readable");
    if !path.to_string_lossy().ends_with(".gz") {
        return String::from_utf8(bytes).expect("data is UTF-8");
    }
    let mut text = String::new();
    GzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .expect("data file gunzips");
    text
}

/// The record texts of a file: the `Records` array of a CloudTrail log, or
/// the elements of a top-level array (test-harness files). `None` if the
/// file is not JSON.
fn record_texts(text: &str) -> Option<(bool, Vec<&str>)> {
    #[derive(serde::Deserialize)]
    struct Log<'a> {
        #[serde(rename = "Records", borrow)]
        records: Vec<&'a RawValue>,
    }
    if let Ok(log) = serde_json::from_str::<Log<'_>>(text) {
        return Some((true, log.records.iter().map(|r| r.get()).collect()));
    }
    let items: Vec<&RawValue> = serde_json::from_str(text).ok()?;
    let objects = items.iter().map(|r| r.get()).filter(|r| r.starts_with('{'));
    Some((false, objects.collect()))
}

/// Every field, resolved with a representative set of arguments.
fn all_refs() -> Vec<FieldRef> {
    let mut refs = Vec::new();
    for info in fields::all_fields() {
        let args: Vec<Option<&str>> = match info.arg {
            ArgKind::None => vec![None],
            ArgKind::OptionalIndex => vec![None, Some("0"), Some("1")],
            ArgKind::Required => POINTERS.iter().map(|p| Some(*p)).collect(),
        };
        for arg in args {
            refs.push(fields::resolve(info.name, arg).expect("listed field resolves"));
        }
    }
    refs
}

/// Checks that hold for any record; returns the values by display name.
fn extract_all(ev: &Event, refs: &[FieldRef]) -> HashMap<String, String> {
    let mut values = HashMap::new();
    for r in refs {
        let info = r.info();
        let Some(value) = r.extract(ev) else { continue };
        let text = match value {
            Value::Str(s) => {
                assert!(
                    !info.is_list && info.ty == FieldType::String,
                    "{}",
                    info.name
                );
                s.into_owned()
            }
            Value::U64(n) => {
                assert_eq!(info.ty, FieldType::U64, "{}", info.name);
                n.to_string()
            }
            Value::List(items) => {
                assert!(info.is_list, "{}", info.name);
                items.join(",")
            }
        };
        values.insert(r.display_name(), text);
    }
    values
}

/// JSON-valued fields re-parse to the member they render.
fn check_json_fields(ev: &Event, values: &HashMap<String, String>) {
    for (field, key) in [
        ("ct.request", "requestParameters"),
        ("ct.response", "responseElements"),
        ("ct.additionaleventdata", "additionalEventData"),
    ] {
        let member = ev.json().get(key);
        let text = values.get(field);
        assert_eq!(member.is_some(), text.is_some(), "{field} in {}", ev.raw());
        if let (Some(member), Some(text)) = (member, text) {
            let reparsed: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
            assert_eq!(&reparsed, member, "{field}");
        }
    }
    let obj: serde_json::Value = serde_json::from_str(&values["json.obj"]).expect("json.obj");
    assert_eq!(&obj, ev.json());
    assert!(values.contains_key("ct.info"), "ct.info is always present");
}

#[test]
fn every_field_of_every_record() {
    let refs = all_refs();
    let host: Arc<str> = Arc::from("test-host");
    let mut num = 0u64;
    let mut log_records = 0;
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut unparsable_files = Vec::new();

    for path in data_files() {
        let text = read_text(&path);
        let Some((is_log, records)) = record_texts(&text) else {
            unparsable_files.push(path.file_name().unwrap().to_string_lossy().into_owned());
            continue;
        };
        for record in records {
            num += 1;
            let meta = EventMeta {
                num,
                hostname: host.clone(),
            };
            let ev = Event::parse(record, meta).expect("every record is an object");
            let values = extract_all(&ev, &refs);
            check_json_fields(&ev, &values);
            if !is_log {
                continue;
            }

            log_records += 1;
            let mut count = |name: &'static str, hit: bool| {
                *counts.entry(name).or_default() += usize::from(hit);
            };
            count(
                "request null",
                values.get("ct.request").map(String::as_str) == Some("null"),
            );
            count("readonly absent", !values.contains_key("ct.readonly"));
            count("user absent", !values.contains_key("ct.user"));
            count("error present", values.contains_key("ct.error"));
            let console = values.get("ct.sessioncredentialfromconsole");
            let console = console.map(String::as_str) == Some("true");
            count("console credentials", console);
            let as_text = ev.json()["sessionCredentialFromConsole"] == "true";
            count("console credentials as text", console && as_text);
        }
    }

    // Established with an independent script over the same files.
    assert_eq!(log_records, 2486);
    assert_eq!(counts["request null"], 289);
    assert_eq!(counts["readonly absent"], 172);
    assert_eq!(counts["user absent"], 130);
    assert_eq!(counts["error present"], 311);
    assert_eq!(counts["console credentials"], 212);
    // Written as the string "true" (all of the real logs): the plugin would
    // report "false" for these.
    assert_eq!(counts["console credentials as text"], 192);
    assert_eq!(unparsable_files, ["SerializerTestFileBadJsonFormat.json"]);
}

/// Record `index` of the data file `file` (relative to the data folder).
fn record(file: &str, index: usize) -> Event {
    let text = read_text(&Path::new(DATA).join(file));
    let (_, records) = record_texts(&text).expect("file has records");
    let meta = EventMeta {
        num: 1,
        hostname: Arc::from("h"),
    };
    Event::parse(records[index], meta).expect("record parses")
}

/// The value of `field[arg]` in `ev`, as text; `None` when absent.
fn get(ev: &Event, field: &str, arg: Option<&str>) -> Option<String> {
    let r = fields::resolve(field, arg).expect("field resolves");
    r.extract(ev).map(|v| match v {
        Value::Str(s) => s.into_owned(),
        Value::U64(n) => n.to_string(),
        Value::List(items) => format!("({})", items.join(",")),
    })
}

const INVICTUS: &str = "invictus-ir-aws_dataset/218007301253_CloudTrail_us-east-1_20230710T";

#[test]
fn s3_control_read_by_iam_user() {
    let ev = record(&format!("{INVICTUS}1145Z_7xgocspSowgK0Gto.json.gz"), 0);
    let s = |f| get(&ev, f, None);
    assert_eq!(
        s("ct.id").as_deref(),
        Some("293ba626-3be5-4a26-ab1b-0f4c54f49959")
    );
    assert_eq!(s("ct.user").as_deref(), Some("benjamin"));
    assert_eq!(s("ct.shortsrc").as_deref(), Some("s3"));
    assert_eq!(s("s3.bytes").as_deref(), Some("375"));
    assert_eq!(s("s3.cnt.other").as_deref(), Some("1"));
    assert_eq!(s("ct.response").as_deref(), Some("null"));
    assert_eq!(
        s("ct.info").as_deref(),
        Some(
            "benjamin via AWS Internal ← GetStorageLensConfiguration Size=375 \
             Host=123837392027.s3-control.us-east-1.amazonaws.com"
        )
    );
    assert_eq!(
        s("evt.time.iso8601").as_deref(),
        Some("2023-07-10T11:42:36.000000000Z")
    );
    assert_eq!(s("ct.readonly").as_deref(), Some("true"));
}

#[test]
fn console_session_flag_is_a_string_in_real_logs() {
    let ev = record(&format!("{INVICTUS}1145Z_s7dpHbl38neqZbm2.json.gz"), 20);
    assert_eq!(
        get(&ev, "ct.id", None).as_deref(),
        Some("21c87313-5709-46b6-9a83-c7096a761200")
    );
    assert_eq!(ev.json()["sessionCredentialFromConsole"], "true");
    let flag = get(&ev, "ct.sessioncredentialfromconsole", None);
    assert_eq!(flag.as_deref(), Some("true"));
    assert_eq!(
        get(&ev, "ct.request", None).as_deref(),
        Some(concat!(
            r#"{"filter":{"startTimes":[{"from":"Jul 3, 2023, 11:42:38 AM"}],"#,
            r#""eventStatusCodes":["open","upcoming"]},"aggregateField":"eventTypeCategory"}"#
        ))
    );
}

#[test]
fn assumed_role_denied_call() {
    let ev = record(&format!("{INVICTUS}1200Z_iLj9fb7yyUG9X4Bf.json.gz"), 11);
    let role = "stratus-red-team-ec2-get-password-data-role";
    assert_eq!(get(&ev, "ct.user", None).as_deref(), Some(role));
    assert_eq!(
        get(&ev, "ct.originaluser", None).as_deref(),
        Some("aws-go-sdk-1688990082523310002")
    );
    assert_eq!(
        get(&ev, "ct.error", None).as_deref(),
        Some("Client.UnauthorizedOperation")
    );
    assert_eq!(
        get(&ev, "ct.info", None),
        Some(format!("{role} via 192.168.10.20 !← GetPasswordData"))
    );
    assert_eq!(
        get(&ev, "ct.tlsdetails.clientprovidedhostheader", None).as_deref(),
        Some("ec2.us-east-1.amazonaws.com")
    );
}

#[test]
fn console_login_without_mfa() {
    let ev = record(&format!("{INVICTUS}1225Z_4iD2boYSOwmb6sWd.json.gz"), 10);
    let ptr = |p| get(&ev, "json.value", Some(p));
    assert_eq!(
        ptr("/responseElements/ConsoleLogin").as_deref(),
        Some("Success")
    );
    assert_eq!(ptr("/additionalEventData/MFAUsed").as_deref(), Some("No"));
    assert_eq!(get(&ev, "ct.request", None).as_deref(), Some("null"));
    assert_eq!(
        get(&ev, "ct.user.identitytype", None).as_deref(),
        Some("IAMUser")
    );
    assert_eq!(get(&ev, "ct.readonly", None).as_deref(), Some("false"));
}

#[test]
fn run_instances_image_ids() {
    let file = "panther-analysis/panther_cloudtrail_rule_tests.json.gz";
    let ev = record(file, 59);
    assert_eq!(
        get(&ev, "ct.id", None).as_deref(),
        Some("41fab871-150b-43ad-b42a-39fff3f2ca4e")
    );
    assert_eq!(
        get(&ev, "ec2.imageids", None).as_deref(),
        Some("(ami-013e7d3a6659f358d)")
    );
    assert_eq!(
        get(&ev, "ec2.imageid", None).as_deref(),
        Some("ami-013e7d3a6659f358d")
    );
    assert_eq!(get(&ev, "ec2.imageids", Some("1")), None);
    // The subnet of a launch sits inside the instance items.
    assert_eq!(get(&ev, "ct.response.subnetid", None), None);
}

#[test]
fn all_null_record_and_resources() {
    let file = "aws-cloudtrail-processing-library/SerializerAllFieldsNull.json";
    let nulls = record(file, 0);
    assert_eq!(get(&nulls, "ct.name", None).as_deref(), Some(""));
    assert_eq!(get(&nulls, "ct.user", None), None);
    assert_eq!(get(&nulls, "ct.resources", None), None);
    assert_eq!(get(&nulls, "evt.time", None).as_deref(), Some("0"));
    assert_eq!(get(&nulls, "evt.plugininfo", None), None);

    let other = record(file, 1);
    assert_eq!(
        get(&other, "ct.resources", None).as_deref(),
        Some(concat!(
            r#"{"ARN":"arn:aws:iam:sample1","accountId":"acccountId1"},"#,
            r#"{"ARN":"arn:aws:iam:sample2","accountId":"acccountId2"},"#,
            r#"{"ARN":"arn:aws:iam:sample3","accountId":"acccountId3"}"#
        ))
    );
    assert_eq!(get(&other, "ct.user", None), None);
}
