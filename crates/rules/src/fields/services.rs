//! Service-specific fields: `s3.*` and `ec2.*` (`ecr.*` and `iam.*` are plain
//! lookups).

use std::borrow::Cow;

use super::Value;
use super::cloudtrail::{lookup, text};
use crate::event::Event;
use crate::event::tape::{JsonRef, Kind};

/// `s3.uri`: `s3://<bucket>/<key>`, present only when both
/// `requestParameters.bucketName` and `requestParameters.key` are strings.
pub(super) fn s3_uri(ev: &Event) -> Option<Value<'_>> {
    let request = ev.root().get("requestParameters")?;
    let bucket = request.get("bucketName")?.as_str()?;
    let key = request.get("key")?.as_str()?;
    Some(Value::owned(format!("s3://{bucket}/{key}")))
}

/// `s3.bytes`, `s3.bytes.in`, `s3.bytes.out`: the sum of the selected
/// `additionalEventData.bytesTransferredIn`/`Out`, present if any selected
/// key exists.
pub(super) fn s3_bytes(ev: &Event, inbound: bool, outbound: bool) -> Option<Value<'_>> {
    let data = ev.root().get("additionalEventData")?;
    let values = [
        inbound.then(|| data.get("bytesTransferredIn")).flatten(),
        outbound.then(|| data.get("bytesTransferredOut")).flatten(),
    ];
    if values.iter().all(Option::is_none) {
        return None;
    }
    let total = values
        .iter()
        .flatten()
        .fold(0u64, |sum, v| sum.saturating_add(byte_count(*v)));
    Some(Value::U64(total))
}

/// A byte count as the plugin reads it: numbers truncated toward zero
/// (`33.9` is 33; negative values are 0), anything else 0.
fn byte_count(v: JsonRef<'_>) -> u64 {
    if v.kind() != Kind::Number {
        return 0;
    }
    // serde_json reads the number as the record's tree holds it.
    let Ok(n) = serde_json::from_str::<serde_json::Number>(v.text()) else {
        return 0;
    };
    match n.as_u64() {
        Some(n) => n,
        // `as` saturates, and maps negative values to 0.
        None => n.as_f64().map_or(0, |f| f as u64),
    }
}

/// Which `s3.cnt.*` field to compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum S3Count {
    /// `s3.cnt.get`: GetObject calls.
    Get,
    /// `s3.cnt.put`: PutObject calls.
    Put,
    /// `s3.cnt.other`: every other event.
    Other,
}

/// `s3.cnt.*`: 1 when the event is of the selected kind, else absent (the
/// plugin returns nothing rather than 0).
pub(super) fn s3_count(ev: &Event, which: S3Count) -> Option<Value<'_>> {
    let name = ev.root().get("eventName");
    let kind = match name.as_ref().and_then(JsonRef::as_str).as_deref() {
        Some("GetObject") => S3Count::Get,
        Some("PutObject") => S3Count::Put,
        _ => S3Count::Other,
    };
    (kind == which).then_some(Value::U64(1))
}

/// `ec2.name`: the `Name` tag of the last `instance` tag specification in
/// `requestParameters.tagSpecificationSet.items`; absent if none or empty.
pub(super) fn ec2_name(ev: &Event) -> Option<Value<'_>> {
    let items = lookup(
        ev.root(),
        &["requestParameters", "tagSpecificationSet", "items"],
    )?;
    let items: Vec<JsonRef<'_>> = items.elements()?.collect();
    // The last matching specification wins, as in the plugin.
    let name = items
        .into_iter()
        .rev()
        .filter(|item| {
            item.get("resourceType")
                .is_some_and(|t| t.is_str("instance"))
        })
        .filter_map(|item| {
            item.get("tags")?
                .elements()?
                .find(|tag| tag.get("key").is_some_and(|k| k.is_str("Name")))
                .and_then(|tag| tag.get("value"))
                .map(text)
        })
        .next()?;
    (!name.is_empty()).then_some(Value::Str(name))
}

/// `responseElements.instancesSet.items`, where instance launches list
/// what they started.
fn response_items(ev: &Event) -> Option<JsonRef<'_>> {
    lookup(ev.root(), &["responseElements", "instancesSet", "items"])
}

/// The image ID of a call when there is no list of launched instances.
fn request_image_id(ev: &Event) -> Option<Cow<'_, str>> {
    const PATHS: [&[&str]; 3] = [
        &["requestParameters", "imageId"],
        &[
            "requestParameters",
            "DescribeFastLaunchImagesRequest",
            "ImageId",
            "content",
        ],
        &["requestParameters", "launchSpecification", "imageId"],
    ];
    PATHS
        .iter()
        .find_map(|path| lookup(ev.root(), path))
        .map(text)
}

/// `ec2.imageids[n]` (and `ec2.imageid` for n = 0).
///
/// With launched instances in the response, the `imageId` of item `n`.
/// Without, only index 0 exists: the image ID named in the request.
pub(super) fn image_id(ev: &Event, n: usize) -> Option<Cow<'_, str>> {
    match response_items(ev) {
        Some(items) => items.elements()?.nth(n)?.get("imageId").map(text),
        None if n == 0 => request_image_id(ev),
        None => None,
    }
}

/// `ec2.imageids` without an index: every non-empty `imageId` of the
/// launched instances, or the request's image ID.
///
/// Limitation: RunInstances requests name their image under
/// `requestParameters.instancesSet.items`, which the plugin does not read,
/// so a failed launch (no response) has no image IDs; we keep that.
pub(super) fn image_ids(ev: &Event) -> Option<Value<'_>> {
    let ids: Vec<Cow<'_, str>> = match response_items(ev) {
        Some(items) => items
            .elements()?
            .filter_map(|item| item.get("imageId").map(text))
            .filter(|id| !id.is_empty())
            .collect(),
        None => vec![request_image_id(ev)?],
    };
    (!ids.is_empty()).then_some(Value::List(ids))
}
