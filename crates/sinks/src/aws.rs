//! Shared handling of AWS SDK clients and errors for the AWS sinks.

use std::time::Duration;

use aws_sdk_securityhub::config::http::HttpResponse;
use aws_sdk_securityhub::config::retry::RetryConfig;
use aws_sdk_securityhub::config::timeout::TimeoutConfig;
use aws_sdk_securityhub::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::error::{FailureKind, SinkError};

/// Error codes that mean "slow down or try again", across the services we
/// call. Security Hub throttles with `LimitExceededException` (HTTP 429).
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "LimitExceededException",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalException",
    "InternalFailure",
    "InternalServerError",
];

/// Applies the sink's per-attempt timeout and turns the SDK's own retries
/// off: the sink retries itself, so that it can resend only the failed
/// part of a batch and count every attempt in its metrics.
pub(crate) fn sink_timeouts(timeout: Duration) -> (TimeoutConfig, RetryConfig) {
    let timeouts = TimeoutConfig::builder()
        .operation_attempt_timeout(timeout)
        .connect_timeout(timeout)
        .build();
    (timeouts, RetryConfig::disabled())
}

/// Whether retrying the call could help.
pub(crate) fn classify<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> FailureKind {
    match err {
        SdkError::ConstructionFailure(_) => FailureKind::Permanent,
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().unwrap_or_default();
            if status == 429 || status >= 500 || TRANSIENT_CODES.contains(&code) {
                FailureKind::Transient
            } else {
                FailureKind::Permanent
            }
        }
        // Timeouts, dispatch failures, unreadable responses and any variant
        // added later: the request may not have reached the service.
        _ => FailureKind::Transient,
    }
}

/// Wraps an SDK error with the sink and operation it came from.
pub(crate) fn sink_error<E>(
    sink: &str,
    operation: &'static str,
    err: SdkError<E, HttpResponse>,
) -> SinkError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let kind = classify(&err);
    tracing::debug!(sink, operation, error = %DisplayErrorContext(&err), "aws call failed");
    SinkError::Aws {
        sink: sink.to_string(),
        operation,
        kind,
        source: Box::new(err),
    }
}
