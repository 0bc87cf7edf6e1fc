//! Fetching an object from S3 and handing its body over for blocking reads.

use std::io::Read;
use std::time::SystemTime;

use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use tokio::runtime::Handle;
use tokio_util::io::SyncIoBridge;

use crate::notification::ObjectRef;

/// The streaming body of a fetched S3 object.
///
/// It is not read into memory: [`ObjectBody::into_blocking_reader`] pulls it
/// from the connection as the reader asks for bytes.
pub struct ObjectBody {
    stream: ByteStream,
    last_modified: Option<SystemTime>,
    content_length: Option<u64>,
    runtime: Handle,
}

impl ObjectBody {
    /// A body over bytes already in memory, for testing handlers.
    ///
    /// # Panics
    ///
    /// When called outside a Tokio runtime, whose handle the blocking reader
    /// needs.
    pub fn from_bytes(bytes: impl Into<bytes::Bytes>, last_modified: Option<SystemTime>) -> Self {
        let bytes = bytes.into();
        ObjectBody {
            content_length: Some(bytes.len() as u64),
            stream: ByteStream::from(bytes),
            last_modified,
            runtime: Handle::current(),
        }
    }

    /// The object's S3 LastModified time.
    pub fn last_modified(&self) -> Option<SystemTime> {
        self.last_modified
    }

    /// The stored (compressed) size in bytes, from Content-Length.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// A blocking reader over the body, for [`crate::open_records`].
    ///
    /// Read it only inside `tokio::task::spawn_blocking` (or another thread
    /// outside the runtime's workers): each read waits for the network on
    /// the runtime this body came from.
    pub fn into_blocking_reader(self) -> impl Read + Send + 'static {
        let stream = Box::pin(self.stream.into_async_read());
        SyncIoBridge::new_with_handle(stream, self.runtime)
    }
}

/// The result of a GetObject.
pub(super) enum Fetched {
    Found(ObjectBody),
    /// NoSuchKey or HTTP 404: the object was deleted or expired before we
    /// read it, so retrying cannot help.
    NotFound,
}

/// Starts downloading `object`.
///
/// # Errors
///
/// The SDK error for anything but not-found (access denied, throttling,
/// server errors), all of which may heal with time.
pub(super) async fn fetch(
    s3: &aws_sdk_s3::Client,
    object: &ObjectRef,
) -> Result<Fetched, SdkError<GetObjectError>> {
    let result = s3
        .get_object()
        .bucket(&object.bucket)
        .key(&object.key)
        .send()
        .await;
    match result {
        Ok(output) => Ok(Fetched::Found(ObjectBody {
            last_modified: output
                .last_modified()
                .and_then(|at| SystemTime::try_from(*at).ok()),
            content_length: output.content_length().and_then(|n| u64::try_from(n).ok()),
            stream: output.body,
            runtime: Handle::current(),
        })),
        Err(error) if is_not_found(&error) => Ok(Fetched::NotFound),
        Err(error) => Err(error),
    }
}

fn is_not_found(error: &SdkError<GetObjectError>) -> bool {
    let no_such_key = error
        .as_service_error()
        .is_some_and(GetObjectError::is_no_such_key);
    let status_404 = error
        .raw_response()
        .is_some_and(|response| response.status().as_u16() == 404);
    no_such_key || status_404
}
