//! The decompressed byte stream under the record reader: plain or gzip,
//! decided by the first two bytes, with failures of the underlying reader
//! told apart from failures of the decoder.

use std::io::{self, Chain, Cursor, Read};

use flate2::read::MultiGzDecoder;

/// The two bytes every gzip member starts with (RFC 1952, section 2.3.1).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A read failure, by origin.
#[derive(Debug)]
pub(super) enum SourceError {
    /// The underlying reader failed (network, disk): worth a retry.
    Source(io::Error),
    /// The gzip decoder rejected the data: the object itself is bad.
    Gzip(io::Error),
}

type Prefixed<R> = Chain<Cursor<Vec<u8>>, Tracked<R>>;

pub(super) enum Source<R> {
    /// Nothing read yet; compression unknown.
    Pending(Option<Tracked<R>>),
    Plain(Prefixed<R>),
    Gzip(Box<MultiGzDecoder<Prefixed<R>>>),
}

impl<R> Source<R> {
    pub(super) fn new(reader: R) -> Self {
        Source::Pending(Some(Tracked {
            inner: reader,
            failed: false,
        }))
    }
}

impl<R: Read> Source<R> {
    /// Reads decompressed bytes; `Ok(0)` only at the end.
    pub(super) fn read(&mut self, buf: &mut [u8]) -> Result<usize, SourceError> {
        if let Source::Pending(reader) = self {
            *self = match reader.take() {
                Some(reader) => detect(reader)?,
                None => return Ok(0),
            };
        }
        loop {
            let result = match self {
                Source::Pending(_) => return Ok(0),
                Source::Plain(reader) => reader.read(buf),
                Source::Gzip(decoder) => decoder.read(buf),
            };
            match result {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.classify(e)),
            }
        }
    }

    fn classify(&self, error: io::Error) -> SourceError {
        match self {
            Source::Gzip(decoder) if !decoder.get_ref().get_ref().1.failed => {
                SourceError::Gzip(error)
            }
            _ => SourceError::Source(error),
        }
    }
}

/// Reads the first two bytes and chooses the decoder.
fn detect<R: Read>(mut reader: Tracked<R>) -> Result<Source<R>, SourceError> {
    let mut prefix = Vec::with_capacity(GZIP_MAGIC.len());
    let mut byte = [0u8; 1];
    while prefix.len() < GZIP_MAGIC.len() {
        match reader.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => prefix.push(byte[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(SourceError::Source(e)),
        }
    }
    let gzip = prefix == GZIP_MAGIC;
    let stream = Cursor::new(prefix).chain(reader);
    Ok(if gzip {
        Source::Gzip(Box::new(MultiGzDecoder::new(stream)))
    } else {
        Source::Plain(stream)
    })
}

/// Remembers whether the wrapped reader itself failed, because the decoder
/// passes such errors on unchanged and they must not be blamed on the data.
pub(super) struct Tracked<R> {
    inner: R,
    failed: bool,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = self.inner.read(buf);
        if let Err(e) = &result {
            self.failed |= e.kind() != io::ErrorKind::Interrupted;
        }
        result
    }
}
