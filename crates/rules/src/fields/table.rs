//! The table of field names, types and descriptions.
//!
//! One macro row per field produces both the internal [`FieldId`] and the public
//! [`FieldInfo`], so the two cannot drift apart: `FIELDS[id as usize]` is
//! always the description of `id`.

use super::{ArgKind, FieldInfo, FieldType};

/// A string field without argument, listed.
const fn string(name: &'static str, description: &'static str) -> FieldInfo {
    FieldInfo {
        name,
        ty: FieldType::String,
        is_list: false,
        arg: ArgKind::None,
        hidden: false,
        description,
    }
}

/// A number field without argument, listed.
const fn number(name: &'static str, description: &'static str) -> FieldInfo {
    FieldInfo {
        ty: FieldType::U64,
        ..string(name, description)
    }
}

/// The same field, left out of listings.
const fn hidden(info: FieldInfo) -> FieldInfo {
    FieldInfo {
        hidden: true,
        ..info
    }
}

/// The same field, taking the given argument.
const fn with_arg(arg: ArgKind, info: FieldInfo) -> FieldInfo {
    FieldInfo { arg, ..info }
}

macro_rules! field_table {
    ($($id:ident => $info:expr,)*) => {
        /// Internal identity of a field; its discriminant indexes [`FIELDS`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(super) enum FieldId {
            $($id,)*
        }

        /// Every [`FieldId`], in declaration order.
        const IDS: &[FieldId] = &[$(FieldId::$id,)*];

        /// Every field, in the order of [`FieldId`].
        pub(super) static FIELDS: [FieldInfo; IDS.len()] = [$($info,)*];
    };
}

field_table! {
    CtId => string("ct.id", "Unique identifier of the event (eventID)."),
    CtError => string("ct.error", "Error code of a failed call (errorCode)."),
    CtErrorMessage => string("ct.errormessage", "Error message of a failed call (errorMessage)."),
    CtTime => hidden(string("ct.time", "Event time as written in the record (eventTime).")),
    CtSrc => string(
        "ct.src",
        "Service that received the call (eventSource), e.g. iam.amazonaws.com.",
    ),
    CtShortSrc => string("ct.shortsrc", "eventSource without its .amazonaws.com suffix, e.g. iam."),
    CtName => string("ct.name", "Name of the API call or event (eventName)."),
    CtUser => string(
        "ct.user",
        "Caller: user name, role name, invoking service, or the account/federated type.",
    ),
    CtOriginalUser => string(
        "ct.originaluser",
        "For an assumed role, the session name; otherwise userIdentity.userName.",
    ),
    CtUserAccountId => string(
        "ct.user.accountid",
        "Account of the caller (userIdentity.accountId, else recipientAccountId).",
    ),
    CtUserIdentityType => string(
        "ct.user.identitytype",
        "Kind of caller identity (userIdentity.type), e.g. IAMUser, AssumedRole, Root.",
    ),
    CtUserPrincipalId => string(
        "ct.user.principalid",
        "Principal ID of the caller (userIdentity.principalId).",
    ),
    CtUserArn => string("ct.user.arn", "ARN of the caller (userIdentity.arn)."),
    CtRegion => string("ct.region", "Region the call was made to (awsRegion)."),
    CtResponseSubnetId => string("ct.response.subnetid", "responseElements.subnetId."),
    CtResponseReservationId => string(
        "ct.response.reservationid",
        "responseElements.reservationId.",
    ),
    CtResponse => string(
        "ct.response",
        "responseElements as compact JSON text; the text null when it is JSON null.",
    ),
    CtRequestAvailabilityZone => string(
        "ct.request.availabilityzone",
        "requestParameters.availabilityZone.",
    ),
    CtRequestCluster => string("ct.request.cluster", "requestParameters.cluster (ECS)."),
    CtRequestFunctionName => string(
        "ct.request.functionname",
        "requestParameters.functionName (Lambda).",
    ),
    CtRequestGroupName => string("ct.request.groupname", "requestParameters.groupName."),
    CtRequestHost => string(
        "ct.request.host",
        "requestParameters.Host (capital H, as S3 writes it).",
    ),
    CtRequestName => string("ct.request.name", "requestParameters.name."),
    CtRequestPolicy => string("ct.request.policy", "requestParameters.policy."),
    CtRequestReason => string("ct.request.reason", "requestParameters.reason (SSM sessions)."),
    CtRequestTarget => string("ct.request.target", "requestParameters.target (SSM sessions)."),
    CtRequestDocumentName => string(
        "ct.request.documentname",
        "requestParameters.documentName (SSM).",
    ),
    CtRequestSerialNumber => string(
        "ct.request.serialnumber",
        "requestParameters.serialNumber (MFA devices).",
    ),
    CtRequestServiceName => string(
        "ct.request.servicename",
        "requestParameters.serviceName (ECS).",
    ),
    CtRequestSubnetId => string("ct.request.subnetid", "requestParameters.subnetId."),
    CtRequestTaskDefinition => string(
        "ct.request.taskdefinition",
        "requestParameters.taskDefinition (ECS).",
    ),
    CtRequestUserName => string("ct.request.username", "requestParameters.userName (IAM)."),
    CtRequest => string(
        "ct.request",
        "requestParameters as compact JSON text; the text null when it is JSON null.",
    ),
    CtSrcIp => string(
        "ct.srcip",
        "Address the call came from (sourceIPAddress); may be a service name.",
    ),
    CtUserAgent => string("ct.useragent", "Client that made the call (userAgent)."),
    CtInfo => string(
        "ct.info",
        "One-line summary: caller, source, direction, event name, S3 details. Always present.",
    ),
    CtManagementEvent => string(
        "ct.managementevent",
        "true if managementEvent is true (boolean or the string \"true\"), else false.",
    ),
    CtReadOnly => string(
        "ct.readonly",
        "true if readOnly is true (boolean or the string \"true\"), else false.",
    ),
    CtRequestId => string("ct.requestid", "Identifier of the request (requestID)."),
    CtEventType => string(
        "ct.eventtype",
        "Kind of event (eventType), e.g. AwsApiCall, AwsServiceEvent.",
    ),
    CtApiVersion => string("ct.apiversion", "API version of the call (apiVersion)."),
    CtResources => string("ct.resources", "Each element of resources as JSON, joined by commas."),
    CtRecipientAccountId => string(
        "ct.recipientaccountid",
        "Account that received the event (recipientAccountId).",
    ),
    CtServiceEventDetails => string(
        "ct.serviceeventdetails",
        "serviceEventDetails when it is a string; empty when it is an object.",
    ),
    CtSharedEventId => string(
        "ct.sharedeventid",
        "Identifier shared by copies of a cross-account event (sharedEventID).",
    ),
    CtVpcEndpointId => string(
        "ct.vpcendpointid",
        "VPC endpoint the call went through (vpcEndpointId).",
    ),
    CtEventCategory => string(
        "ct.eventcategory",
        "Category of the event (eventCategory), e.g. Management, Data.",
    ),
    CtAddendumReason => string(
        "ct.addendum.reason",
        "Why the event was delivered late or changed (addendum.reason).",
    ),
    CtAddendumUpdatedFields => string(
        "ct.addendum.updatedfields",
        "Fields changed by the addendum (addendum.updatedFields).",
    ),
    CtAddendumOriginalRequestId => string(
        "ct.addendum.originalrequestid",
        "Request ID of the original event (addendum.originalRequestID).",
    ),
    CtAddendumOriginalEventId => string(
        "ct.addendum.originaleventid",
        "Event ID of the original event (addendum.originalEventID).",
    ),
    CtSessionCredentialFromConsole => string(
        "ct.sessioncredentialfromconsole",
        "true if the credentials came from a console session (true or \"true\"), else false.",
    ),
    CtEdgeDeviceDetails => string(
        "ct.edgedevicedetails",
        "edgeDeviceDetails when it is a string; empty when it is an object.",
    ),
    CtTlsVersion => string(
        "ct.tlsdetails.tlsversion",
        "TLS version of the call (tlsDetails.tlsVersion).",
    ),
    CtTlsCipherSuite => string(
        "ct.tlsdetails.ciphersuite",
        "TLS cipher suite of the call (tlsDetails.cipherSuite).",
    ),
    CtTlsHostHeader => string(
        "ct.tlsdetails.clientprovidedhostheader",
        "Host name the client asked for (tlsDetails.clientProvidedHostHeader).",
    ),
    CtAdditionalEventData => string(
        "ct.additionaleventdata",
        "additionalEventData as compact JSON text; the text null when it is JSON null.",
    ),

    S3Uri => string(
        "s3.uri",
        "s3://bucket/key when both requestParameters.bucketName and key are strings.",
    ),
    S3Bucket => string("s3.bucket", "Bucket of an S3 call (requestParameters.bucketName)."),
    S3Key => string("s3.key", "Object key of an S3 call (requestParameters.key)."),
    S3Bytes => number(
        "s3.bytes",
        "Bytes transferred in plus out (additionalEventData.bytesTransferredIn/Out).",
    ),
    S3BytesIn => hidden(number(
        "s3.bytes.in",
        "Bytes uploaded (additionalEventData.bytesTransferredIn).",
    )),
    S3BytesOut => hidden(number(
        "s3.bytes.out",
        "Bytes downloaded (additionalEventData.bytesTransferredOut).",
    )),
    S3CntGet => hidden(number("s3.cnt.get", "1 for a GetObject call; absent otherwise.")),
    S3CntPut => hidden(number("s3.cnt.put", "1 for a PutObject call; absent otherwise.")),
    S3CntOther => hidden(number(
        "s3.cnt.other",
        "1 for any call but GetObject and PutObject; absent for those two.",
    )),
    Ec2Name => string("ec2.name", "Name tag requested for a new instance (tagSpecificationSet)."),
    Ec2ImageId => string("ec2.imageid", "First image ID of the call; same as ec2.imageids[0]."),
    Ec2ImageIds => with_arg(ArgKind::OptionalIndex, FieldInfo {
        is_list: true,
        ..string(
            "ec2.imageids",
            "Image IDs of launched instances, or of the request; [N] selects one.",
        )
    }),
    EcrRepository => string(
        "ecr.repository",
        "ECR repository of the call (requestParameters.repositoryName).",
    ),
    EcrImageTag => string(
        "ecr.imagetag",
        "ECR image tag of the call (requestParameters.imageTag).",
    ),
    IamRole => string("iam.role", "IAM role of the call (requestParameters.roleName)."),
    IamPolicy => string("iam.policy", "IAM policy of the call (requestParameters.policyName)."),

    JsonValue => with_arg(ArgKind::Required, string(
        "json.value",
        "Value at a JSON pointer: a string's text, anything else as compact JSON.",
    )),
    JsonObj => string("json.obj", "The whole record as JSON indented by two spaces."),
    JsonRawTime => string(
        "json.rawtime",
        "Event time in nanoseconds since the epoch, as decimal text.",
    ),
    JevtValue => hidden(with_arg(ArgKind::Required, string("jevt.value", "Alias of json.value."))),
    JevtObj => hidden(string("jevt.obj", "Alias of json.obj.")),
    JevtRawTime => hidden(string("jevt.rawtime", "Alias of json.rawtime.")),

    EvtNum => number("evt.num", "Sequence number of the record in this process, from 1."),
    EvtTime => number("evt.time", "Event time (eventTime) in nanoseconds since the epoch."),
    EvtTimeS => string("evt.time.s", "Time of day of the event, HH:MM:SS, UTC."),
    EvtTimeIso8601 => string("evt.time.iso8601", "Event time in ISO 8601 with nanoseconds, UTC."),
    EvtDatetime => string("evt.datetime", "Date and time of the event with nanoseconds, UTC."),
    EvtDatetimeS => string("evt.datetime.s", "Date and time of the event to the second, UTC."),
    EvtRawTime => number("evt.rawtime", "Event time in nanoseconds since the epoch."),
    EvtRawTimeS => number("evt.rawtime.s", "Whole seconds of the event time since the epoch."),
    EvtRawTimeNs => number("evt.rawtime.ns", "Nanosecond part of the event time."),
    EvtRelTime => number(
        "evt.reltime",
        "Time since capture start; always 0, as each record is evaluated on its own.",
    ),
    EvtRelTimeS => number("evt.reltime.s", "Seconds part of evt.reltime; always 0."),
    EvtRelTimeNs => number("evt.reltime.ns", "Nanoseconds part of evt.reltime; always 0."),
    EvtPluginName => string("evt.pluginname", "Name of the event source plugin: cloudtrail."),
    EvtPluginInfo => string(
        "evt.plugininfo",
        "Region, user, service, event name and ct.info on one line.",
    ),
    EvtSource => string("evt.source", "Event source name: aws_cloudtrail."),
    EvtIsAsync => string(
        "evt.is_async",
        "Whether the event is asynchronous; always false for records.",
    ),
    EvtAsyncType => string(
        "evt.asynctype",
        "Type of an asynchronous event; always absent for records.",
    ),
    EvtHostname => string("evt.hostname", "Name of the host running the engine."),
}

impl FieldId {
    /// Static description of this field.
    pub(super) fn info(self) -> &'static FieldInfo {
        &FIELDS[self as usize]
    }
}

/// Finds a field by its exact (case-sensitive) name.
pub(super) fn lookup(name: &str) -> Option<FieldId> {
    FIELDS.iter().position(|f| f.name == name).map(|i| IDS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_field_counts() {
        let count = |prefix: &str| FIELDS.iter().filter(|f| f.name.starts_with(prefix)).count();
        assert_eq!(count("ct."), 57);
        assert_eq!(count("s3."), 9);
        assert_eq!(count("ec2."), 3);
        assert_eq!(count("ecr."), 2);
        assert_eq!(count("iam."), 2);
        assert_eq!(count("json.") + count("jevt."), 6);
        assert_eq!(count("evt."), 18);
        assert_eq!(FIELDS.len(), 73 + 6 + 18);
    }

    #[test]
    fn names_are_unique_and_map_back_to_their_row() {
        for (i, info) in FIELDS.iter().enumerate() {
            let id = lookup(info.name).expect("listed name resolves");
            assert_eq!(id as usize, i, "{}", info.name);
            assert!(std::ptr::eq(id.info(), info));
        }
        assert_eq!(lookup("CT.NAME"), None);
    }

    #[test]
    fn only_the_plugin_numbers_are_numbers() {
        let numbers: Vec<&str> = FIELDS
            .iter()
            .filter(|f| f.ty == FieldType::U64 && !f.name.starts_with("evt."))
            .map(|f| f.name)
            .collect();
        assert_eq!(
            numbers,
            [
                "s3.bytes",
                "s3.bytes.in",
                "s3.bytes.out",
                "s3.cnt.get",
                "s3.cnt.put",
                "s3.cnt.other"
            ]
        );
        let lists: Vec<&str> = FIELDS
            .iter()
            .filter(|f| f.is_list)
            .map(|f| f.name)
            .collect();
        assert_eq!(lists, ["ec2.imageids"]);
        let with_args: Vec<&str> = FIELDS
            .iter()
            .filter(|f| f.arg != ArgKind::None)
            .map(|f| f.name)
            .collect();
        assert_eq!(with_args, ["ec2.imageids", "json.value", "jevt.value"]);
    }
}
