//! `ct.*` fields that need more than a plain lookup.
//!
//! A plain lookup follows the plugin: a missing path makes the field absent,
//! a string gives its text, and any other JSON value (including `null`, an
//! object or a number) gives the empty string.

use std::fmt::Write as _;

use serde_json::Value as Json;

use super::{Value, raw, services};
use crate::event::Event;

/// The JSON value at `path` (object keys only) below `from`.
pub(super) fn lookup<'e>(from: &'e Json, path: &[&str]) -> Option<&'e Json> {
    path.iter().try_fold(from, |v, key| v.get(*key))
}

/// The plugin's string reading of a present value: its text if it is a
/// string, else `""`.
pub(super) fn text(v: &Json) -> &str {
    v.as_str().unwrap_or("")
}

/// Plain lookup of `path` from the record root.
pub(super) fn plain<'e>(ev: &'e Event, path: &[&str]) -> Option<Value<'e>> {
    lookup(ev.json(), path).map(|v| Value::borrowed(text(v)))
}

/// `ct.shortsrc`: eventSource without a trailing `.amazonaws.com`.
pub(super) fn short_src(ev: &Event) -> Option<Value<'_>> {
    const SUFFIX: &str = ".amazonaws.com";
    let src = text(ev.json().get("eventSource")?);
    // A value that is only the suffix stays whole, like in the plugin.
    let short = match src.strip_suffix(SUFFIX) {
        Some(head) if !head.is_empty() => head,
        _ => src,
    };
    Some(Value::borrowed(short))
}

/// `ct.user`, derived from the identity type.
pub(super) fn user(ev: &Event) -> Option<Value<'_>> {
    user_text(ev).map(Value::borrowed)
}

/// The text of `ct.user`, if present.
fn user_text(ev: &Event) -> Option<&str> {
    let identity = ev.json().get("userIdentity")?;
    match identity.get("type")?.as_str()? {
        "Root" | "IAMUser" => identity.get("userName").map(text),
        "AWSService" => identity.get("invokedBy").map(text),
        "AssumedRole" => Some(
            lookup(identity, &["sessionContext", "sessionIssuer", "userName"])
                .map_or("AssumedRole", text),
        ),
        "AWSAccount" => Some("AWSAccount"),
        "FederatedUser" => Some("FederatedUser"),
        _ => None,
    }
}

/// `ct.originaluser`: the session name of an assumed role, else the user
/// name of the identity.
pub(super) fn original_user(ev: &Event) -> Option<Value<'_>> {
    let identity = ev.json().get("userIdentity")?;
    if identity.get("type").and_then(Json::as_str) != Some("AssumedRole") {
        return identity.get("userName").map(|v| Value::borrowed(text(v)));
    }

    // arn:aws:sts::<account>:assumed-role/<role>/<session>
    let arn = identity.get("arn").map_or("", text);
    let mut parts = arn.split('/');
    if let (Some(_), Some(_), Some(session), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    {
        return Some(Value::borrowed(session));
    }
    // <role id>:<session>
    let principal = identity.get("principalId").map_or("", text);
    match principal.split_once(':') {
        Some((_, session)) if !session.contains(':') => Some(Value::borrowed(session)),
        _ => None,
    }
}

/// `ct.user.accountid`: userIdentity.accountId, or recipientAccountId when
/// that key is missing (a present non-string accountId gives `""`).
pub(super) fn account_id(ev: &Event) -> Option<Value<'_>> {
    match lookup(ev.json(), &["userIdentity", "accountId"]) {
        Some(v) => Some(Value::borrowed(text(v))),
        None => plain(ev, &["recipientAccountId"]),
    }
}

/// A top-level member rendered as compact JSON text (`ct.request`,
/// `ct.response`, `ct.additionaleventdata`); JSON `null` gives `null`.
pub(super) fn member_json<'e>(ev: &'e Event, key: &str) -> Option<Value<'e>> {
    let parsed = ev.json().get(key)?;
    Some(Value::Str(compact(
        ev.raw(),
        &[raw::Step::Key(key)],
        parsed,
    )))
}

/// The text at `path` in `source`, made compact; falls back to serializing
/// `parsed` (the same value, from the tree) if the text cannot be walked.
pub(super) fn compact<'e>(
    source: &'e str,
    path: &[raw::Step<'_>],
    parsed: &Json,
) -> std::borrow::Cow<'e, str> {
    match raw::find(source, path) {
        Some(text) => raw::minify(text),
        None => parsed.to_string().into(),
    }
}

/// `ct.managementevent`, `ct.readonly`, `ct.sessioncredentialfromconsole`:
/// `"true"` or `"false"`, absent when the key is missing.
///
/// Deviation: the plugin only accepts JSON `true`, so the string `"true"`,
/// which real CloudTrail writes for `sessionCredentialFromConsole`, reads as
/// false there. Both spellings count as true here.
pub(super) fn flag<'e>(ev: &'e Event, key: &str) -> Option<Value<'e>> {
    let set = is_true(ev.json().get(key)?);
    Some(Value::borrowed(if set { "true" } else { "false" }))
}

/// Whether a JSON value means true: boolean `true` or the string `"true"`.
fn is_true(v: &Json) -> bool {
    matches!(v, Json::Bool(true)) || v.as_str() == Some("true")
}

/// `ct.resources`: each element of the `resources` array as compact JSON,
/// joined by commas; absent when missing, not an array, or empty.
pub(super) fn resources(ev: &Event) -> Option<Value<'_>> {
    let items = ev.json().get("resources")?.as_array()?;
    if items.is_empty() {
        return None;
    }
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let path = [raw::Step::Key("resources"), raw::Step::Index(i)];
        out.push_str(&compact(ev.raw(), &path, item));
    }
    Some(Value::owned(out))
}

/// `ct.info`: a one-line summary of the event, or a text naming what is
/// missing for it. Never absent.
pub(super) fn info(ev: &Event) -> String {
    let root = ev.json();
    let Some(user) = user_text(ev) else {
        return "<invalid cloudtrail event: userIdentity field missing>".to_owned();
    };
    let Some(src_ip) = root.get("sourceIPAddress").map(text) else {
        // The plugin names the wrong key in this message; kept for parity.
        return "<invalid cloudtrail event: eventSource field missing>".to_owned();
    };
    let Some(name) = root.get("eventName").map(text) else {
        return "<invalid cloudtrail event: eventName field missing>".to_owned();
    };

    let mut out = String::with_capacity(96);
    out.push_str(user);
    if user != src_ip {
        out.push_str(" via ");
        out.push_str(src_ip);
    }
    out.push(' ');
    if root.get("errorCode").is_some() {
        out.push('!');
    }
    // Follows `ct.readonly`: a write only when readOnly is present and not
    // true, so the string "true" shows as a read here (the plugin shows a
    // write).
    let read_only = root.get("readOnly").map(is_true);
    out.push(if read_only == Some(false) {
        '→'
    } else {
        '←'
    });
    out.push(' ');
    out.push_str(name);

    if name == "PutBucketPublicAccessBlock" {
        let config = lookup(
            root,
            &["requestParameters", "PublicAccessBlockConfiguration"],
        );
        if let Some(config) = config.filter(|c| c.is_object()) {
            append_access_block(&mut out, config);
            return out;
        }
    }
    append_s3_details(&mut out, ev);
    out
}

/// The four public-access-block flags of a PutBucketPublicAccessBlock call.
///
/// Deviation: the plugin reads the flags from the record root, where they
/// never are, and so always prints `false`; the real values are printed
/// here.
fn append_access_block(out: &mut String, config: &Json) {
    for flag in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        let set = config.get(flag).is_some_and(is_true);
        // Writing to a String cannot fail.
        let _ = write!(out, " {flag}={set}");
    }
    out.push(' ');
}

/// ` Size=...` and the first of ` URI=`, ` Bucket=`, ` Key=`, ` Host=`.
fn append_s3_details(out: &mut String, ev: &Event) {
    if let Some(Value::U64(size)) = services::s3_bytes(ev, true, true) {
        let _ = write!(out, " Size={size}");
    }
    if let Some(Value::Str(uri)) = services::s3_uri(ev) {
        out.push_str(" URI=");
        out.push_str(&uri);
        return;
    }
    let request = ev.json().get("requestParameters");
    for (label, key) in [
        (" Bucket=", "bucketName"),
        (" Key=", "key"),
        (" Host=", "Host"),
    ] {
        if let Some(v) = request.and_then(|r| r.get(key)) {
            out.push_str(label);
            out.push_str(text(v));
            return;
        }
    }
}

/// `evt.plugininfo`: `<region>[ <user>] <shortsrc> <name> <ct.info>`;
/// absent unless eventSource, awsRegion and eventName are strings.
pub(super) fn plugin_info(ev: &Event) -> Option<String> {
    let root = ev.json();
    root.get("eventSource")?.as_str()?;
    let region = root.get("awsRegion")?.as_str()?;
    let name = root.get("eventName")?.as_str()?;
    let Some(Value::Str(short)) = short_src(ev) else {
        return None;
    };

    let mut out = String::with_capacity(160);
    out.push_str(region);
    if let Some(user) = user_text(ev) {
        out.push(' ');
        out.push_str(user);
    }
    let _ = write!(out, " {short} {name} {}", info(ev));
    Some(out)
}
