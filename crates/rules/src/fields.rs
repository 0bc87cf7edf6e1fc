//! Fields that conditions and outputs read from a CloudTrail record.
//!
//! Every field of the Falco `cloudtrail` plugin, the `json` plugin fields
//! (with their `jevt.*` aliases) and the generic `evt.*` fields that Falco
//! offers to plugin sources. Values match the plugin's, including the
//! difference between an absent field, an empty string and the text `null`,
//! except for a few plugin bugs that are fixed here on purpose (each is
//! documented on the field that carries it).
//!
//! A field name is resolved once, when rules load ([`resolve`]); the
//! resulting [`FieldRef`] extracts values from any number of events and
//! borrows from the event wherever it can.

mod cloudtrail;
mod generic;
mod json;
mod raw;
mod services;
mod table;

use std::borrow::Cow;

use crate::event::Event;
use table::FieldId;

/// Type of a field's value, as seen by comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// Text.
    String,
    /// Unsigned 64-bit number.
    U64,
}

/// Whether a field takes an argument in brackets (`field[arg]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// No argument allowed.
    None,
    /// An optional decimal index into a list (`ec2.imageids[1]`).
    OptionalIndex,
    /// An argument is required (`json.value[/eventName]`).
    Required,
}

/// Static description of one field.
#[derive(Debug)]
pub struct FieldInfo {
    /// Name as written in rules, e.g. `ct.user`.
    pub name: &'static str,
    /// Type of the value (of each element, for a list field).
    pub ty: FieldType,
    /// Whether the value is a list of strings.
    pub is_list: bool,
    /// Which argument the field accepts.
    pub arg: ArgKind,
    /// Valid in rules, but left out of field listings (deprecated, aliases).
    pub hidden: bool,
    /// One-line explanation shown by field listings.
    pub description: &'static str,
}

/// Every supported field, aliases included, in listing order.
pub fn all_fields() -> &'static [FieldInfo] {
    &table::FIELDS
}

/// Why a field name or argument was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// No field has this name.
    #[error("unknown field '{0}'")]
    Unknown(String),
    /// The field exists, but the argument is missing, not allowed or malformed.
    #[error("invalid argument for field '{field}': {reason}")]
    BadArgument {
        /// Field name as written.
        field: String,
        /// What is wrong with the argument.
        reason: &'static str,
    },
}

/// A field value extracted from one event.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// A string, borrowed from the event where possible.
    Str(Cow<'a, str>),
    /// A number.
    U64(u64),
    /// A list of strings (`ec2.imageids`).
    List(Vec<Cow<'a, str>>),
}

impl<'a> Value<'a> {
    /// A borrowed string value.
    fn borrowed(text: &'a str) -> Self {
        Value::Str(Cow::Borrowed(text))
    }

    /// An owned string value.
    fn owned(text: String) -> Self {
        Value::Str(Cow::Owned(text))
    }
}

/// The argument of a resolved field, parsed once at load time.
#[derive(Clone, Debug)]
enum Arg {
    None,
    Index(usize),
    /// Unescaped JSON pointer steps.
    Pointer(Box<[String]>),
}

/// A field and its argument, resolved when rules load.
#[derive(Clone, Debug)]
pub struct FieldRef {
    id: FieldId,
    arg: Arg,
    /// The argument exactly as written, for [`FieldRef::display_name`].
    arg_text: Option<Box<str>>,
}

/// Resolves a field name and optional bracketed argument.
///
/// `arg` is the text between `[` and `]` (without them), or `None` when the
/// field was written without brackets.
///
/// # Errors
///
/// [`FieldError::Unknown`] for an unknown name; [`FieldError::BadArgument`]
/// when an argument is given to a field that takes none, is missing for a
/// field that requires one, is not a decimal index for `ec2.imageids`, or
/// contains `]`.
pub fn resolve(name: &str, arg: Option<&str>) -> Result<FieldRef, FieldError> {
    let id = table::lookup(name).ok_or_else(|| FieldError::Unknown(name.to_owned()))?;
    let info = id.info();
    let bad = |reason| FieldError::BadArgument {
        field: name.to_owned(),
        reason,
    };
    if arg.is_some_and(|a| a.contains(']')) {
        return Err(bad("an argument cannot contain ']'"));
    }

    let parsed = match (info.arg, arg) {
        (ArgKind::None, None) | (ArgKind::OptionalIndex, None) => Arg::None,
        (ArgKind::None, Some(_)) => return Err(bad("this field takes no argument")),
        (ArgKind::OptionalIndex, Some(text)) => {
            Arg::Index(parse_index(text).ok_or_else(|| bad("expected a decimal index"))?)
        }
        (ArgKind::Required, None) => return Err(bad("this field requires an argument")),
        (ArgKind::Required, Some(text)) => Arg::Pointer(json::parse_pointer(text)),
    };
    Ok(FieldRef {
        id,
        arg: parsed,
        arg_text: arg.map(Into::into),
    })
}

/// Parses a list index: decimal digits only.
fn parse_index(text: &str) -> Option<usize> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl FieldRef {
    /// Static description of the field.
    pub fn info(&self) -> &'static FieldInfo {
        self.id.info()
    }

    /// The field as written in the rule, argument included
    /// (`json.value[/a/b]`).
    pub fn display_name(&self) -> String {
        match &self.arg_text {
            Some(arg) => format!("{}[{arg}]", self.info().name),
            None => self.info().name.to_owned(),
        }
    }

    /// Extracts the field from `ev`; `None` means the field is absent.
    pub fn extract<'e>(&self, ev: &'e Event) -> Option<Value<'e>> {
        match self.id {
            FieldId::JsonValue | FieldId::JevtValue => match &self.arg {
                Arg::Pointer(steps) => json::value(ev, steps),
                // `resolve` always gives these fields a pointer.
                Arg::None | Arg::Index(_) => None,
            },
            FieldId::Ec2ImageIds => match self.arg {
                Arg::Index(n) => services::image_id(ev, n).map(|id| Value::List(vec![id])),
                Arg::None | Arg::Pointer(_) => services::image_ids(ev),
            },
            id => extract_plain(id, ev),
        }
    }
}

/// Extraction for every field that takes no argument.
fn extract_plain(id: FieldId, ev: &Event) -> Option<Value<'_>> {
    use cloudtrail::plain;

    match id {
        FieldId::CtId => plain(ev, &["eventID"]),
        FieldId::CtError => plain(ev, &["errorCode"]),
        FieldId::CtErrorMessage => plain(ev, &["errorMessage"]),
        FieldId::CtTime => plain(ev, &["eventTime"]),
        FieldId::CtSrc => plain(ev, &["eventSource"]),
        FieldId::CtShortSrc => cloudtrail::short_src(ev),
        FieldId::CtName => plain(ev, &["eventName"]),
        FieldId::CtUser => cloudtrail::user(ev),
        FieldId::CtOriginalUser => cloudtrail::original_user(ev),
        FieldId::CtUserAccountId => cloudtrail::account_id(ev),
        FieldId::CtUserIdentityType => plain(ev, &["userIdentity", "type"]),
        FieldId::CtUserPrincipalId => plain(ev, &["userIdentity", "principalId"]),
        FieldId::CtUserArn => plain(ev, &["userIdentity", "arn"]),
        FieldId::CtRegion => plain(ev, &["awsRegion"]),
        FieldId::CtResponseSubnetId => plain(ev, &["responseElements", "subnetId"]),
        FieldId::CtResponseReservationId => plain(ev, &["responseElements", "reservationId"]),
        FieldId::CtResponse => cloudtrail::member_json(ev, "responseElements"),
        FieldId::CtRequestAvailabilityZone => request(ev, "availabilityZone"),
        FieldId::CtRequestCluster => request(ev, "cluster"),
        FieldId::CtRequestFunctionName => request(ev, "functionName"),
        FieldId::CtRequestGroupName => request(ev, "groupName"),
        FieldId::CtRequestHost => request(ev, "Host"),
        FieldId::CtRequestName => request(ev, "name"),
        FieldId::CtRequestPolicy => request(ev, "policy"),
        FieldId::CtRequestReason => request(ev, "reason"),
        FieldId::CtRequestTarget => request(ev, "target"),
        // Deviation: the plugin never extracts this field (its extraction
        // switch still matches an older, mixed-case field name).
        FieldId::CtRequestDocumentName => request(ev, "documentName"),
        FieldId::CtRequestSerialNumber => request(ev, "serialNumber"),
        FieldId::CtRequestServiceName => request(ev, "serviceName"),
        FieldId::CtRequestSubnetId => request(ev, "subnetId"),
        FieldId::CtRequestTaskDefinition => request(ev, "taskDefinition"),
        FieldId::CtRequestUserName => request(ev, "userName"),
        FieldId::CtRequest => cloudtrail::member_json(ev, "requestParameters"),
        FieldId::CtSrcIp => plain(ev, &["sourceIPAddress"]),
        FieldId::CtUserAgent => plain(ev, &["userAgent"]),
        FieldId::CtInfo => Some(Value::owned(cloudtrail::info(ev))),
        FieldId::CtManagementEvent => cloudtrail::flag(ev, "managementEvent"),
        FieldId::CtReadOnly => cloudtrail::flag(ev, "readOnly"),
        FieldId::CtRequestId => plain(ev, &["requestID"]),
        FieldId::CtEventType => plain(ev, &["eventType"]),
        FieldId::CtApiVersion => plain(ev, &["apiVersion"]),
        FieldId::CtResources => cloudtrail::resources(ev),
        FieldId::CtRecipientAccountId => plain(ev, &["recipientAccountId"]),
        FieldId::CtServiceEventDetails => plain(ev, &["serviceEventDetails"]),
        FieldId::CtSharedEventId => plain(ev, &["sharedEventID"]),
        FieldId::CtVpcEndpointId => plain(ev, &["vpcEndpointId"]),
        FieldId::CtEventCategory => plain(ev, &["eventCategory"]),
        FieldId::CtAddendumReason => plain(ev, &["addendum", "reason"]),
        FieldId::CtAddendumUpdatedFields => plain(ev, &["addendum", "updatedFields"]),
        FieldId::CtAddendumOriginalRequestId => plain(ev, &["addendum", "originalRequestID"]),
        FieldId::CtAddendumOriginalEventId => plain(ev, &["addendum", "originalEventID"]),
        FieldId::CtSessionCredentialFromConsole => {
            cloudtrail::flag(ev, "sessionCredentialFromConsole")
        }
        FieldId::CtEdgeDeviceDetails => plain(ev, &["edgeDeviceDetails"]),
        FieldId::CtTlsVersion => plain(ev, &["tlsDetails", "tlsVersion"]),
        FieldId::CtTlsCipherSuite => plain(ev, &["tlsDetails", "cipherSuite"]),
        FieldId::CtTlsHostHeader => plain(ev, &["tlsDetails", "clientProvidedHostHeader"]),
        FieldId::CtAdditionalEventData => cloudtrail::member_json(ev, "additionalEventData"),

        FieldId::S3Uri => services::s3_uri(ev),
        FieldId::S3Bucket => request(ev, "bucketName"),
        FieldId::S3Key => request(ev, "key"),
        FieldId::S3Bytes => services::s3_bytes(ev, true, true),
        FieldId::S3BytesIn => services::s3_bytes(ev, true, false),
        FieldId::S3BytesOut => services::s3_bytes(ev, false, true),
        FieldId::S3CntGet => services::s3_count(ev, services::S3Count::Get),
        FieldId::S3CntPut => services::s3_count(ev, services::S3Count::Put),
        FieldId::S3CntOther => services::s3_count(ev, services::S3Count::Other),
        FieldId::Ec2Name => services::ec2_name(ev),
        FieldId::Ec2ImageId => services::image_id(ev, 0).map(Value::Str),
        // Reached only without an argument: `FieldRef::extract` handles `[N]`.
        FieldId::Ec2ImageIds => services::image_ids(ev),
        FieldId::EcrRepository => request(ev, "repositoryName"),
        FieldId::EcrImageTag => request(ev, "imageTag"),
        FieldId::IamRole => request(ev, "roleName"),
        FieldId::IamPolicy => request(ev, "policyName"),

        // Reached only without a pointer, which `resolve` rejects.
        FieldId::JsonValue | FieldId::JevtValue => None,
        FieldId::JsonObj | FieldId::JevtObj => Some(Value::owned(json::obj(ev))),
        FieldId::JsonRawTime | FieldId::JevtRawTime => {
            Some(Value::owned(generic::time_u64(ev).to_string()))
        }

        FieldId::EvtNum => Some(Value::U64(ev.num())),
        FieldId::EvtTime | FieldId::EvtRawTime => Some(Value::U64(generic::time_u64(ev))),
        FieldId::EvtTimeS => Some(Value::owned(generic::format_time(ev, "%H:%M:%S"))),
        FieldId::EvtTimeIso8601 => Some(Value::owned(generic::format_time(
            ev,
            "%Y-%m-%dT%H:%M:%S%.9fZ",
        ))),
        FieldId::EvtDatetime => Some(Value::owned(generic::format_time(
            ev,
            "%Y-%m-%d %H:%M:%S%.9f",
        ))),
        FieldId::EvtDatetimeS => Some(Value::owned(generic::format_time(ev, "%Y-%m-%d %H:%M:%S"))),
        FieldId::EvtRawTimeS => Some(Value::U64(generic::time_u64(ev) / generic::NS_PER_SEC)),
        FieldId::EvtRawTimeNs => Some(Value::U64(generic::time_u64(ev) % generic::NS_PER_SEC)),
        // A record is evaluated on its own, with no capture start to be
        // relative to.
        FieldId::EvtRelTime | FieldId::EvtRelTimeS | FieldId::EvtRelTimeNs => Some(Value::U64(0)),
        FieldId::EvtPluginName => Some(Value::borrowed("cloudtrail")),
        FieldId::EvtPluginInfo => cloudtrail::plugin_info(ev).map(Value::owned),
        FieldId::EvtSource => Some(Value::borrowed("aws_cloudtrail")),
        FieldId::EvtIsAsync => Some(Value::borrowed("false")),
        FieldId::EvtAsyncType => None,
        FieldId::EvtHostname => Some(Value::borrowed(ev.hostname())),
    }
}

/// Plain lookup of one member of `requestParameters`.
fn request<'e>(ev: &'e Event, key: &str) -> Option<Value<'e>> {
    cloudtrail::plain(ev, &["requestParameters", key])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(name: &str, arg: Option<&str>) -> String {
        resolve(name, arg).unwrap_err().to_string()
    }

    #[test]
    fn resolve_errors_name_the_field_and_the_problem() {
        assert_eq!(err("ct.nope", None), "unknown field 'ct.nope'");
        assert_eq!(
            err("json.value", None),
            "invalid argument for field 'json.value': this field requires an argument"
        );
        assert_eq!(
            err("ct.name", Some("1")),
            "invalid argument for field 'ct.name': this field takes no argument"
        );
        assert_eq!(
            err("ec2.imageids", Some("+1")),
            "invalid argument for field 'ec2.imageids': expected a decimal index"
        );
        assert_eq!(
            err("jevt.value", Some("a]")),
            "invalid argument for field 'jevt.value': an argument cannot contain ']'"
        );
    }

    #[test]
    fn display_name_keeps_the_argument_as_written() {
        let r = resolve("json.value", Some("responseElements/a~1b")).unwrap();
        assert_eq!(r.display_name(), "json.value[responseElements/a~1b]");
        assert_eq!(r.info().name, "json.value");
        let r = resolve("ec2.imageids", Some("007")).unwrap();
        assert_eq!(r.display_name(), "ec2.imageids[007]");
        assert_eq!(resolve("ct.user", None).unwrap().display_name(), "ct.user");
    }
}
