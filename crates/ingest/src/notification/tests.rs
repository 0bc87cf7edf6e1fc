use serde_json::json;

use super::s3_event::decode_key;
use super::*;

fn s3_event(version: &str, name: &str, key: &str) -> Value {
    json!({"Records": [{
        "eventVersion": version,
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2024-05-01T12:00:00.123456",
        "eventName": name,
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": "trail-bucket", "arn": "arn:aws:s3:::trail-bucket"},
            "object": {"key": key, "size": 1234, "eTag": "abc"}
        }
    }]})
}

fn sns(message: &str) -> String {
    json!({
        "Type": "Notification",
        "MessageId": "0d2c7b1e-1111-2222-3333-444455556666",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:trail",
        "Message": message,
        "Timestamp": "2024-05-01T12:00:01.000Z",
        "SignatureVersion": "1",
        "Signature": "ZmFrZQ==",
    })
    .to_string()
}

fn objects(notification: Notification) -> Vec<ObjectRef> {
    match notification {
        Notification::Objects(objects) => objects,
        other => panic!("expected objects, got {other:?}"),
    }
}

#[test]
fn raw_s3_event_with_emulator_encoding_and_zoneless_time() {
    let body = s3_event(
        "2.6",
        "ObjectCreated:Put",
        "AWSLogs%2F123456789012%2FCloudTrail%2Fus-east-1%2F2024%2F05%2F01%2Ffile.json.gz",
    );
    let found = objects(parse_body(&body.to_string()).unwrap());
    assert_eq!(
        found,
        vec![ObjectRef {
            bucket: "trail-bucket".into(),
            key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/05/01/file.json.gz".into(),
            size: Some(1234),
        }]
    );
}

#[test]
fn sns_wrapped_s3_event_decodes_plus_and_percent() {
    let event = s3_event(
        "2.1",
        "ObjectCreated:CompleteMultipartUpload",
        "my+prefix/AWSLogs/o-abc123/111122223333/CloudTrail/x%2By%C3%A9.json.gz",
    );
    let found = objects(parse_body(&sns(&event.to_string())).unwrap());
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].key,
        "my prefix/AWSLogs/o-abc123/111122223333/CloudTrail/x+yé.json.gz"
    );
    assert_eq!(found[0].kind(), ObjectKind::Log);
}

#[test]
fn events_other_than_creation_name_no_objects() {
    let event = s3_event("2.2", "ObjectRemoved:Delete", "a.json.gz");
    assert_eq!(
        parse_body(&event.to_string()).unwrap(),
        Notification::Objects(vec![])
    );
}

#[test]
fn s3_event_version_must_be_two() {
    let event = s3_event("1.0", "ObjectCreated:Put", "a.json.gz");
    let err = parse_body(&event.to_string()).unwrap_err();
    assert!(
        matches!(&err, NotificationError::UnsupportedEventVersion { version } if version == "1.0"),
        "{err:?}"
    );
}

#[test]
fn s3_event_record_without_object_is_malformed() {
    let body = json!({"Records": [{"eventVersion": "2.1", "s3": {"bucket": {"name": "b"}}}]});
    let err = parse_body(&body.to_string()).unwrap_err();
    assert!(
        matches!(err, NotificationError::MalformedS3Record { index: 0, .. }),
        "{err:?}"
    );
}

#[test]
fn cloudtrail_notification_keys_are_not_decoded() {
    let message = json!({
        "s3Bucket": "org-trail",
        "s3ObjectKey": [
            "AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2024/05/01/a+b%41.json.gz",
            "AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2024/05/01/second.json.gz"
        ]
    })
    .to_string();
    for body in [message.clone(), sns(&message)] {
        let found = objects(parse_body(&body).unwrap());
        let keys: Vec<_> = found.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2024/05/01/a+b%41.json.gz",
                "AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2024/05/01/second.json.gz"
            ]
        );
        assert!(
            found
                .iter()
                .all(|o| o.bucket == "org-trail" && o.size.is_none())
        );
    }
}

#[test]
fn test_events_and_validation_messages_are_recognised() {
    let test_event = json!({
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2024-05-01T12:00:00.000Z",
        "Bucket": "trail-bucket",
        "RequestId": "r",
        "HostId": "h"
    })
    .to_string();
    assert_eq!(parse_body(&test_event).unwrap(), Notification::TestEvent);
    assert_eq!(
        parse_body(&sns(&test_event)).unwrap(),
        Notification::TestEvent
    );
    assert_eq!(
        parse_body(&sns("CloudTrail validation message.")).unwrap(),
        Notification::ValidationMessage
    );
    // Raw message delivery: the text alone, not JSON.
    assert_eq!(
        parse_body("CloudTrail validation message.").unwrap(),
        Notification::ValidationMessage
    );
}

#[test]
fn unknown_bodies_are_errors() {
    assert!(matches!(
        parse_body("hello, queue").unwrap_err(),
        NotificationError::NotJson(_)
    ));
    assert!(matches!(
        parse_body(r#"{"detail-type":"Object Created"}"#).unwrap_err(),
        NotificationError::UnknownShape
    ));
    assert!(matches!(
        parse_body("[1,2]").unwrap_err(),
        NotificationError::UnknownShape
    ));
    assert!(matches!(
        parse_body(&sns("not json either")).unwrap_err(),
        NotificationError::NotJson(_)
    ));
    assert!(matches!(
        parse_body(r#"{"s3Bucket":"b","s3ObjectKey":[1]}"#).unwrap_err(),
        NotificationError::UnknownShape
    ));
}

#[test]
fn kinds_follow_the_folder_not_the_file_name() {
    let object = |key: &str| ObjectRef {
        bucket: "b".into(),
        key: key.into(),
        size: None,
    };
    let digest = "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/05/01/d.json.gz";
    let insight = "p/AWSLogs/o-x1/123456789012/CloudTrail-Insight/us-east-1/2024/05/01/i.json.gz";
    let log = "AWSLogs/123456789012/CloudTrail/us-east-1/2024/05/01/CloudTrail-Digest";
    assert_eq!(object(digest).kind(), ObjectKind::Digest);
    assert_eq!(object(insight).kind(), ObjectKind::Insight);
    assert_eq!(object(log).kind(), ObjectKind::Log);
}

#[test]
fn key_decoding_edge_cases() {
    assert_eq!(decode_key("a+b%20c%2fd").unwrap(), "a b c/d");
    assert_eq!(decode_key("100%").unwrap(), "100%");
    assert_eq!(decode_key("%zz%4").unwrap(), "%zz%4");
    assert!(matches!(
        decode_key("bad%FF").unwrap_err(),
        NotificationError::InvalidKey { key } if key == "bad%FF"
    ));
}
