//! Service-specific fields: `s3.*` and `ec2.*` (`ecr.*` and `iam.*` are plain
//! lookups).

use std::borrow::Cow;

use serde_json::Value as Json;

use super::Value;
use super::cloudtrail::{lookup, text};
use crate::event::Event;

/// `s3.uri`: `s3://<bucket>/<key>`, present only when both
/// `requestParameters.bucketName` and `requestParameters.key` are strings.
pub(super) fn s3_uri(ev: &Event) -> Option<Value<'_>> {
    let request = ev.json().get("requestParameters")?;
    let bucket = request.get("bucketName")?.as_str()?;
    let key = request.get("key")?.as_str()?;
    Some(Value::owned(format!("s3://{bucket}/{key}")))
}

/// `s3.bytes`, `s3.bytes.in`, `s3.bytes.out`: the sum of the selected
/// `additionalEventData.bytesTransferredIn`/`Out`, present if any selected
/// key exists.
pub(super) fn s3_bytes(ev: &Event, inbound: bool, outbound: bool) -> Option<Value<'_>> {
    let data = ev.json().get("additionalEventData")?;
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
        .fold(0u64, |sum, v| sum.saturating_add(byte_count(v)));
    Some(Value::U64(total))
}

/// A byte count as the plugin reads it: numbers truncated toward zero
/// (`33.9` is 33; negative values are 0), anything else 0.
fn byte_count(v: &Json) -> u64 {
    match v.as_u64() {
        Some(n) => n,
        // `as` saturates, and maps negative values to 0.
        None => v.as_f64().map_or(0, |f| f as u64),
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
    let kind = match ev.json().get("eventName").and_then(Json::as_str) {
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
        ev.json(),
        &["requestParameters", "tagSpecificationSet", "items"],
    )?;
    // The last matching specification wins, as in the plugin.
    let name = items
        .as_array()?
        .iter()
        .rev()
        .filter(|item| item.get("resourceType").and_then(Json::as_str) == Some("instance"))
        .filter_map(|item| {
            let tags = item.get("tags")?.as_array()?;
            tags.iter()
                .find(|tag| tag.get("key").and_then(Json::as_str) == Some("Name"))
                .and_then(|tag| tag.get("value"))
                .map(text)
        })
        .next()?;
    (!name.is_empty()).then_some(Value::borrowed(name))
}

/// `responseElements.instancesSet.items`, where instance launches list
/// what they started.
fn response_items(ev: &Event) -> Option<&Json> {
    lookup(ev.json(), &["responseElements", "instancesSet", "items"])
}

/// The image ID of a call when there is no list of launched instances.
fn request_image_id(ev: &Event) -> Option<&str> {
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
        .find_map(|path| lookup(ev.json(), path))
        .map(text)
}

/// `ec2.imageids[n]` (and `ec2.imageid` for n = 0).
///
/// With launched instances in the response, the `imageId` of item `n`.
/// Without, only index 0 exists: the image ID named in the request.
pub(super) fn image_id(ev: &Event, n: usize) -> Option<Cow<'_, str>> {
    match response_items(ev) {
        Some(items) => items
            .as_array()?
            .get(n)?
            .get("imageId")
            .map(|id| Cow::Borrowed(text(id))),
        None if n == 0 => request_image_id(ev).map(Cow::Borrowed),
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
            .as_array()?
            .iter()
            .filter_map(|item| item.get("imageId").map(text))
            .filter(|id| !id.is_empty())
            .map(Cow::Borrowed)
            .collect(),
        None => vec![Cow::Borrowed(request_image_id(ev)?)],
    };
    (!ids.is_empty()).then_some(Value::List(ids))
}
