//! Splitting a CloudTrail log object into its records, streaming.
//!
//! A log file is one JSON object, `{"Records":[{..},{..},..]}`, up to
//! gigabytes once decompressed. [`open_records`] reads it in small chunks,
//! validates the JSON as it goes and yields each element of the top-level
//! `Records` array as its exact text, so memory is bounded by the chunk size
//! plus the largest record allowed by [`Limits::max_record_bytes`].
//!
//! Outcomes, as the iterator reports them:
//! - each record: `Ok(RawRecord)`, in order, as soon as its last byte is read;
//! - a record over the record limit: a non-fatal [`RecordError::TooLarge`],
//!   then the next records;
//! - broken JSON, a corrupt or truncated gzip stream, a failed read, the
//!   object limit, or no `Records` array: one fatal error after the records
//!   that came before it, then the end;
//! - a CloudTrail digest file (no `Records`, a `digestStartTime`): no items
//!   and no error; [`RecordReader::is_digest`] then returns `true`.

mod scanner;
mod source;

use std::io::Read;

use crate::error::RecordError;
use scanner::{Event, Outcome, ScanError, Scanner};
use source::{Source, SourceError};

/// Bytes read from the decompressed stream at a time.
const CHUNK: usize = 64 * 1024;

/// Size caps that protect the process from hostile or broken objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Decompressed bytes per object; beyond it the object fails. Default
    /// 2 GiB, far above CloudTrail's own files, which it splits at a few
    /// hundred MB.
    pub max_object_bytes: u64,
    /// Bytes per record; a larger record is skipped. Default 8 MiB.
    pub max_record_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_object_bytes: 2 * 1024 * 1024 * 1024,
            max_record_bytes: 8 * 1024 * 1024,
        }
    }
}

/// One element of the top-level `Records` array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// Position in the `Records` array, counting skipped records too.
    pub index: usize,
    /// The element's text exactly as in the file, except that invalid UTF-8
    /// sequences are replaced with U+FFFD so the record still reaches the
    /// rules rather than being lost.
    pub text: String,
}

/// Streaming iterator over the records of one object; see the module docs
/// for what it yields. Create it with [`open_records`].
pub struct RecordReader<R> {
    source: Source<R>,
    limits: Limits,
    scanner: Scanner,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// Decompressed offset of `buf[0]`.
    base: u64,
    capture: Option<Capture>,
    next_index: usize,
    digest: bool,
    finished: bool,
}

/// The record being copied out of the chunks.
struct Capture {
    /// Where the rest of the record starts in the current chunk.
    from: usize,
    offset: u64,
    index: usize,
    size: u64,
    text: Vec<u8>,
}

/// Starts reading records from `reader`, gzip-compressed or plain.
///
/// Compression is detected from the first two bytes (the gzip magic), never
/// from a file name, and concatenated gzip members are read as one stream.
/// Nothing is read until the first call to `next`.
pub fn open_records<R: Read>(reader: R, limits: Limits) -> RecordReader<R> {
    RecordReader {
        source: Source::new(reader),
        limits,
        scanner: Scanner::new(),
        buf: Vec::new(),
        pos: 0,
        len: 0,
        base: 0,
        capture: None,
        next_index: 0,
        digest: false,
        finished: false,
    }
}

impl<R> RecordReader<R> {
    /// Decompressed bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.base + self.len as u64
    }

    /// Whether the object turned out to be a CloudTrail digest file. Only
    /// meaningful once the iterator has ended.
    pub fn is_digest(&self) -> bool {
        self.digest
    }
}

impl<R: Read> RecordReader<R> {
    /// Reads the next chunk, carrying a record in progress over. Returns
    /// `false` at the end of the input.
    fn refill(&mut self) -> Result<bool, RecordError> {
        if let Some(capture) = &mut self.capture {
            append(capture, &self.buf[capture.from..self.len], &self.limits);
            capture.from = 0;
        }
        if self.buf.is_empty() {
            self.buf = vec![0; CHUNK];
        }
        self.base += self.len as u64;
        self.pos = 0;
        self.len = 0;
        let n = self
            .source
            .read(&mut self.buf)
            .map_err(|error| match error {
                SourceError::Source(source) => RecordError::Read {
                    offset: self.base,
                    source,
                },
                SourceError::Gzip(source) => RecordError::Gzip {
                    offset: self.base,
                    source,
                },
            })?;
        self.len = n;
        if self.base + n as u64 > self.limits.max_object_bytes {
            return Err(RecordError::ObjectTooLarge {
                limit: self.limits.max_object_bytes,
            });
        }
        Ok(n > 0)
    }

    /// What the end of the input means, once every byte was scanned.
    fn end(&mut self) -> Option<RecordError> {
        match self.scanner.finish() {
            Ok(Outcome::Records) => None,
            Ok(Outcome::Digest) => {
                self.digest = true;
                None
            }
            Ok(Outcome::Neither) | Err(ScanError::NotObject) => Some(RecordError::NoRecords),
            Err(ScanError::Json(detail)) => Some(RecordError::Json {
                offset: self.bytes_read(),
                detail,
            }),
        }
    }

    /// Turns the record that just ended at `end` (an index in the chunk) into
    /// the iterator's item.
    fn take_record(&mut self, end: usize) -> Option<Result<RawRecord, RecordError>> {
        let mut capture = self.capture.take()?;
        let from = capture.from;
        append(&mut capture, &self.buf[from..end], &self.limits);
        if capture.size > self.limits.max_record_bytes as u64 {
            return Some(Err(RecordError::TooLarge {
                index: capture.index,
                offset: capture.offset,
                size: capture.size,
                limit: self.limits.max_record_bytes,
            }));
        }
        let text = match String::from_utf8(capture.text) {
            Ok(text) => text,
            Err(invalid) => String::from_utf8_lossy(invalid.as_bytes()).into_owned(),
        };
        Some(Ok(RawRecord {
            index: capture.index,
            text,
        }))
    }

    fn fail(&mut self, error: RecordError) -> Option<Result<RawRecord, RecordError>> {
        self.finished = true;
        self.capture = None;
        Some(Err(error))
    }
}

/// Adds `bytes` to the record, dropping its text once it is over the limit so
/// that an oversized record costs no more memory than the limit.
fn append(capture: &mut Capture, bytes: &[u8], limits: &Limits) {
    capture.size += bytes.len() as u64;
    if capture.size > limits.max_record_bytes as u64 {
        capture.text = Vec::new();
    } else {
        capture.text.extend_from_slice(bytes);
    }
}

impl<R: Read> Iterator for RecordReader<R> {
    type Item = Result<RawRecord, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        loop {
            if self.pos == self.len {
                match self.refill() {
                    Ok(true) => {}
                    Ok(false) => {
                        self.finished = true;
                        return self.end().map(Err);
                    }
                    Err(error) => return self.fail(error),
                }
            }
            let start = self.pos;
            match self.scanner.scan(&self.buf[start..self.len]) {
                Ok((consumed, event)) => {
                    self.pos += consumed;
                    match event {
                        None => {}
                        Some(Event::Start(at)) => {
                            self.capture = Some(Capture {
                                from: start + at,
                                offset: self.base + (start + at) as u64,
                                index: self.next_index,
                                size: 0,
                                text: Vec::new(),
                            });
                            self.next_index += 1;
                        }
                        Some(Event::End(end)) => {
                            if let Some(item) = self.take_record(start + end) {
                                return Some(item);
                            }
                        }
                    }
                }
                Err((at, error)) => {
                    let error = match error {
                        ScanError::Json(detail) => RecordError::Json {
                            offset: self.base + (start + at) as u64,
                            detail,
                        },
                        ScanError::NotObject => RecordError::NoRecords,
                    };
                    return self.fail(error);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
