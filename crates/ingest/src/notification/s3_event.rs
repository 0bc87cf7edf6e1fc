//! The S3 event notification shape and its key encoding.
//!
//! Only the fields needed to find the object are read; everything else
//! (`userIdentity`, `responseElements`, `sequencer`, `eventTime`) is optional
//! in practice and ignored, so emulators that omit them and future versions
//! that add fields both parse.

use serde::Deserialize;
use serde_json::Value;

use super::ObjectRef;
use crate::error::NotificationError;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventRecord {
    event_version: String,
    event_name: Option<String>,
    s3: S3Entity,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: Bucket,
    object: Object,
}

#[derive(Deserialize)]
struct Bucket {
    name: String,
}

#[derive(Deserialize)]
struct Object {
    key: String,
    size: Option<u64>,
}

/// Object references of the created objects an S3 event names.
///
/// Events about anything other than object creation (removals, restores)
/// name nothing to evaluate and are left out.
pub(super) fn objects(records: &[Value]) -> Result<Vec<ObjectRef>, NotificationError> {
    let mut objects = Vec::with_capacity(records.len());
    for (index, record) in records.iter().enumerate() {
        let record = EventRecord::deserialize(record)
            .map_err(|source| NotificationError::MalformedS3Record { index, source })?;
        // S3 has moved through 2.0 to 2.3 and now bumps the minor version on
        // every schema change; only the major version promises the layout.
        if !record.event_version.starts_with("2.") {
            return Err(NotificationError::UnsupportedEventVersion {
                version: record.event_version,
            });
        }
        let created = record
            .event_name
            .as_deref()
            .is_none_or(|name| name.starts_with("ObjectCreated:"));
        if !created {
            continue;
        }
        objects.push(ObjectRef {
            bucket: record.s3.bucket.name,
            key: decode_key(&record.s3.object.key)?,
            size: record.s3.object.size,
        });
    }
    Ok(objects)
}

/// Decodes an S3 event key: `+` is a space and `%XX` a byte.
///
/// AWS leaves `/` alone while some emulators write `%2F`; both decode the
/// same. A `%` not followed by two hex digits is kept as it is, since such a
/// key can only have come from a producer that did not encode it.
///
/// # Errors
///
/// [`NotificationError::InvalidKey`] when the decoded bytes are not UTF-8.
pub(super) fn decode_key(encoded: &str) -> Result<String, NotificationError> {
    let bytes = encoded.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => decoded.push(b' '),
            b'%' => match (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
                (Some(high), Some(low)) => {
                    decoded.push(high << 4 | low);
                    i += 2;
                }
                _ => decoded.push(b'%'),
            },
            other => decoded.push(other),
        }
        i += 1;
    }
    String::from_utf8(decoded).map_err(|_| NotificationError::InvalidKey {
        key: encoded.to_owned(),
    })
}

fn hex(byte: Option<&u8>) -> Option<u8> {
    let digit = char::from(*byte?).to_digit(16)?;
    u8::try_from(digit).ok()
}
