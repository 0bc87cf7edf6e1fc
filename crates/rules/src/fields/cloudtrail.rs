//! `ct.*` fields that need more than a plain lookup.
//!
//! A plain lookup follows the plugin: a missing path makes the field absent,
//! a string gives its text, and any other JSON value (including `null`, an
//! object or a number) gives the empty string.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::{Value, raw, services};
use crate::event::Event;
use crate::event::tape::{JsonRef, Kind};

/// The value at `path` (object keys only) below `from`.
pub(super) fn lookup<'e>(from: JsonRef<'e>, path: &[&str]) -> Option<JsonRef<'e>> {
    path.iter().try_fold(from, |v, key| v.get(key))
}

/// The plugin's string reading of a present value: its text if it is a
/// string, else `""`.
pub(super) fn text(v: JsonRef<'_>) -> Cow<'_, str> {
    v.as_str().unwrap_or(Cow::Borrowed(""))
}

/// Plain lookup of `path` from the record root.
pub(super) fn plain<'e>(ev: &'e Event, path: &[&str]) -> Option<Value<'e>> {
    lookup(ev.root(), path).map(|v| Value::Str(text(v)))
}

/// The part of `s` that `f` selects, borrowed when `s` is.
fn narrow<'e>(s: Cow<'e, str>, f: impl for<'a> Fn(&'a str) -> &'a str) -> Cow<'e, str> {
    match s {
        Cow::Borrowed(b) => Cow::Borrowed(f(b)),
        Cow::Owned(o) => Cow::Owned(f(&o).to_owned()),
    }
}

/// `ct.shortsrc`: eventSource without a trailing `.amazonaws.com`.
pub(super) fn short_src(ev: &Event) -> Option<Value<'_>> {
    const SUFFIX: &str = ".amazonaws.com";
    let src = text(ev.root().get("eventSource")?);
    // A value that is only the suffix stays whole, like in the plugin.
    let short = narrow(src, |s| match s.strip_suffix(SUFFIX) {
        Some(head) if !head.is_empty() => head,
        _ => s,
    });
    Some(Value::Str(short))
}

/// `ct.user`, derived from the identity type.
pub(super) fn user(ev: &Event) -> Option<Value<'_>> {
    user_text(ev).map(Value::Str)
}

/// The text of `ct.user`, if present.
fn user_text(ev: &Event) -> Option<Cow<'_, str>> {
    let identity = ev.root().get("userIdentity")?;
    match &*identity.get("type")?.as_str()? {
        "Root" | "IAMUser" => identity.get("userName").map(text),
        "AWSService" => identity.get("invokedBy").map(text),
        "AssumedRole" => Some(
            lookup(identity, &["sessionContext", "sessionIssuer", "userName"])
                .map_or(Cow::Borrowed("AssumedRole"), text),
        ),
        "AWSAccount" => Some(Cow::Borrowed("AWSAccount")),
        "FederatedUser" => Some(Cow::Borrowed("FederatedUser")),
        _ => None,
    }
}

/// `ct.originaluser`: the session name of an assumed role, else the user
/// name of the identity.
pub(super) fn original_user(ev: &Event) -> Option<Value<'_>> {
    let identity = ev.root().get("userIdentity")?;
    if !identity
        .get("type")
        .is_some_and(|t| t.is_str("AssumedRole"))
    {
        return identity.get("userName").map(|v| Value::Str(text(v)));
    }

    // arn:aws:sts::<account>:assumed-role/<role>/<session>
    let arn = identity.get("arn").map_or(Cow::Borrowed(""), text);
    let mut parts = arn.split('/');
    if let (Some(_), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    {
        return Some(Value::Str(narrow(arn, |a| {
            a.rsplit('/').next().unwrap_or(a)
        })));
    }
    // <role id>:<session>
    let principal = identity.get("principalId").map_or(Cow::Borrowed(""), text);
    match principal.split_once(':') {
        Some((_, session)) if !session.contains(':') => Some(Value::Str(narrow(principal, |p| {
            p.split_once(':').map_or(p, |(_, session)| session)
        }))),
        _ => None,
    }
}

/// `ct.user.accountid`: userIdentity.accountId, or recipientAccountId when
/// that key is missing (a present non-string accountId gives `""`).
pub(super) fn account_id(ev: &Event) -> Option<Value<'_>> {
    match lookup(ev.root(), &["userIdentity", "accountId"]) {
        Some(v) => Some(Value::Str(text(v))),
        None => plain(ev, &["recipientAccountId"]),
    }
}

/// A top-level member rendered as compact JSON text (`ct.request`,
/// `ct.response`, `ct.additionaleventdata`); JSON `null` gives `null`.
pub(super) fn member_json<'e>(ev: &'e Event, key: &str) -> Option<Value<'e>> {
    let member = ev.root().get(key)?;
    Some(Value::Str(raw::minify(member.text())))
}

/// `ct.managementevent`, `ct.readonly`, `ct.sessioncredentialfromconsole`:
/// `"true"` or `"false"`, absent when the key is missing.
///
/// Deviation: the plugin only accepts JSON `true`, so the string `"true"`,
/// which real CloudTrail writes for `sessionCredentialFromConsole`, reads as
/// false there. Both spellings count as true here.
pub(super) fn flag<'e>(ev: &'e Event, key: &str) -> Option<Value<'e>> {
    let set = is_true(ev.root().get(key)?);
    Some(Value::borrowed(if set { "true" } else { "false" }))
}

/// Whether a JSON value means true: boolean `true` or the string `"true"`.
fn is_true(v: JsonRef<'_>) -> bool {
    v.kind() == Kind::True || v.is_str("true")
}

/// `ct.resources`: each element of the `resources` array as compact JSON,
/// joined by commas; absent when missing, not an array, or empty.
pub(super) fn resources(ev: &Event) -> Option<Value<'_>> {
    let mut items = ev.root().get("resources")?.elements()?.peekable();
    items.peek()?;
    let mut out = String::new();
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&raw::minify(item.text()));
    }
    Some(Value::owned(out))
}

/// `ct.info`: a one-line summary of the event, or a text naming what is
/// missing for it. Never absent.
pub(super) fn info(ev: &Event) -> String {
    let root = ev.root();
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
    out.push_str(&user);
    if user != src_ip {
        out.push_str(" via ");
        out.push_str(&src_ip);
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
    out.push_str(&name);

    if name == "PutBucketPublicAccessBlock" {
        let config = lookup(
            root,
            &["requestParameters", "PublicAccessBlockConfiguration"],
        );
        if let Some(config) = config.filter(|c| c.kind() == Kind::Object) {
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
fn append_access_block(out: &mut String, config: JsonRef<'_>) {
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
    let request = ev.root().get("requestParameters");
    for (label, key) in [
        (" Bucket=", "bucketName"),
        (" Key=", "key"),
        (" Host=", "Host"),
    ] {
        if let Some(v) = request.and_then(|r| r.get(key)) {
            out.push_str(label);
            out.push_str(&text(v));
            return;
        }
    }
}

/// `evt.plugininfo`: `<region>[ <user>] <shortsrc> <name> <ct.info>`;
/// absent unless eventSource, awsRegion and eventName are strings.
pub(super) fn plugin_info(ev: &Event) -> Option<String> {
    let root = ev.root();
    root.get("eventSource")?.as_str()?;
    let region = root.get("awsRegion")?.as_str()?;
    let name = root.get("eventName")?.as_str()?;
    let Some(Value::Str(short)) = short_src(ev) else {
        return None;
    };

    let mut out = String::with_capacity(160);
    out.push_str(&region);
    if let Some(user) = user_text(ev) {
        out.push(' ');
        out.push_str(&user);
    }
    let _ = write!(out, " {short} {name} {}", info(ev));
    Some(out)
}
