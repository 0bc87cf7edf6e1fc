//! A byte-at-a-time JSON validator that reports where the elements of the
//! top-level `Records` array begin and end.
//!
//! It keeps only a stack of open containers and a few flags, so its memory
//! does not depend on the input size. It does not build values: the reader
//! copies each element's bytes between the reported positions. Runs of bytes
//! that cannot change its state (string contents, whitespace, digits) are
//! skipped in tight loops (see `runs`).
//!
//! Limitation: `\u` escapes are checked for four hex digits but not for
//! paired surrogates; a lone surrogate passes here and fails later, when the
//! record itself is parsed.

mod runs;

use runs::{plain_run, skip_digits, skip_space};

/// Deeper nesting is rejected; it bounds the stack and no CloudTrail record
/// comes close (real ones nest fewer than 20 levels).
const MAX_DEPTH: usize = 512;

/// Top-level keys longer than this are never ones we look for.
const MAX_KEY: usize = 32;

/// A position reported by [`Scanner::scan`], relative to the chunk scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Event {
    /// An element of `Records` starts at this index.
    Start(usize),
    /// An element of `Records` ends just before this index (exclusive end).
    End(usize),
}

/// Why scanning stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ScanError {
    /// Invalid JSON; the text says what was wrong.
    Json(&'static str),
    /// Valid so far, but the top level is not an object.
    NotObject,
}

/// What a complete document turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// A top-level object with a `Records` array.
    Records,
    /// A top-level object without `Records` but with `digestStartTime`.
    Digest,
    /// A top-level object with neither.
    Neither,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Bom(u8),
    Value,
    ValueOrEnd,
    KeyOrEnd,
    Key,
    Colon,
    CommaOrEnd,
    String { role: Role, escape: Escape },
    Number(Number),
    Literal { word: &'static [u8], at: usize },
    Done,
}

/// What a string being scanned is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Value,
    Key,
    /// A key of the top-level object, collected to spot `Records`.
    TopKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    None,
    Backslash,
    Unicode(u8),
}

/// Positions in the grammar `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Number {
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    Exp,
    ExpSign,
    ExpDigits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TopKey {
    Records,
    DigestStart,
    Other,
}

/// The validator's state between chunks.
#[derive(Debug)]
pub(super) struct Scanner {
    state: State,
    /// `true` for an object, `false` for an array.
    stack: Vec<bool>,
    key: Vec<u8>,
    pending: TopKey,
    in_records: bool,
    saw_records: bool,
    saw_digest: bool,
}

impl Scanner {
    pub(super) fn new() -> Self {
        Scanner {
            state: State::Start,
            stack: Vec::new(),
            key: Vec::with_capacity(MAX_KEY),
            pending: TopKey::Other,
            in_records: false,
            saw_records: false,
            saw_digest: false,
        }
    }

    /// Scans `chunk` until an event or its end. Returns the bytes consumed
    /// (the event's byte included) and the event, if any.
    ///
    /// # Errors
    ///
    /// The index of the offending byte and the reason.
    pub(super) fn scan(
        &mut self,
        chunk: &[u8],
    ) -> Result<(usize, Option<Event>), (usize, ScanError)> {
        let mut i = 0;
        while i < chunk.len() {
            // Runs of bytes that cannot change the state are skipped in
            // tight loops; the state machine sees only the byte that ends
            // each run.
            i = match self.state {
                // Most bytes of a log are inside strings, unless a top-level
                // key is being collected.
                State::String {
                    role: Role::Value | Role::Key,
                    escape: Escape::None,
                } => plain_run(chunk, i),
                State::Value
                | State::ValueOrEnd
                | State::KeyOrEnd
                | State::Key
                | State::Colon
                | State::CommaOrEnd => skip_space(chunk, i),
                State::Number(Number::Int | Number::Frac | Number::ExpDigits) => {
                    skip_digits(chunk, i)
                }
                _ => i,
            };
            if i == chunk.len() {
                break;
            }
            let event = self.byte(chunk[i], i).map_err(|e| (i, e))?;
            i += 1;
            if event.is_some() {
                return Ok((i, event));
            }
        }
        Ok((i, None))
    }

    /// Ends the document.
    ///
    /// # Errors
    ///
    /// When the input stopped inside a value or before any value.
    pub(super) fn finish(&self) -> Result<Outcome, ScanError> {
        if self.state != State::Done {
            return Err(ScanError::Json("unexpected end of input"));
        }
        Ok(if self.saw_records {
            Outcome::Records
        } else if self.saw_digest {
            Outcome::Digest
        } else {
            Outcome::Neither
        })
    }

    fn byte(&mut self, b: u8, at: usize) -> Result<Option<Event>, ScanError> {
        let is_space = matches!(b, b' ' | b'\t' | b'\n' | b'\r');
        match self.state {
            State::Start if is_space => Ok(None),
            State::Start if b == 0xEF => {
                self.state = State::Bom(1);
                Ok(None)
            }
            State::Start => match b {
                b'{' => self.begin_value(b, at),
                b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => Err(ScanError::NotObject),
                _ => Err(ScanError::Json("expected a value")),
            },
            State::Bom(seen) => match (seen, b) {
                (1, 0xBB) => {
                    self.state = State::Bom(2);
                    Ok(None)
                }
                (2, 0xBF) => {
                    self.state = State::Start;
                    Ok(None)
                }
                _ => Err(ScanError::Json("expected a value")),
            },
            State::Value | State::ValueOrEnd | State::KeyOrEnd | State::Key | State::Colon
                if is_space =>
            {
                Ok(None)
            }
            State::Value => self.begin_value(b, at),
            State::ValueOrEnd if b == b']' => self.close(false, at),
            State::ValueOrEnd => self.begin_value(b, at),
            State::KeyOrEnd if b == b'}' => self.close(true, at),
            State::KeyOrEnd | State::Key if b == b'"' => {
                self.key.clear();
                let role = if self.stack.len() == 1 {
                    Role::TopKey
                } else {
                    Role::Key
                };
                self.state = State::String {
                    role,
                    escape: Escape::None,
                };
                Ok(None)
            }
            State::KeyOrEnd | State::Key => Err(ScanError::Json("expected a string key")),
            State::Colon if b == b':' => {
                self.state = State::Value;
                Ok(None)
            }
            State::Colon => Err(ScanError::Json("expected ':' after a key")),
            State::CommaOrEnd => self.after_value(b, at, is_space),
            State::String { role, escape } => self.string_byte(b, role, escape, at),
            State::Number(number) => self.number_byte(number, b, at),
            State::Literal { word, at: index } => {
                if b != word[index] {
                    return Err(ScanError::Json("invalid literal"));
                }
                if index + 1 < word.len() {
                    self.state = State::Literal {
                        word,
                        at: index + 1,
                    };
                    return Ok(None);
                }
                Ok(self.value_done(at + 1))
            }
            State::Done if is_space => Ok(None),
            State::Done => Err(ScanError::Json(
                "unexpected data after the top-level object",
            )),
        }
    }

    fn begin_value(&mut self, b: u8, at: usize) -> Result<Option<Event>, ScanError> {
        let top_key = std::mem::replace(&mut self.pending, TopKey::Other);
        if self.stack.len() == 1 {
            match top_key {
                TopKey::Records if b != b'[' => {
                    return Err(ScanError::Json("\"Records\" is not an array"));
                }
                TopKey::Records => {
                    self.in_records = true;
                    self.saw_records = true;
                }
                TopKey::DigestStart => self.saw_digest = true,
                TopKey::Other => {}
            }
        }
        let event = (self.in_records && self.stack.len() == 2).then_some(Event::Start(at));
        self.state = match b {
            b'{' | b'[' => {
                if self.stack.len() == MAX_DEPTH {
                    return Err(ScanError::Json("nesting is too deep"));
                }
                self.stack.push(b == b'{');
                if b == b'{' {
                    State::KeyOrEnd
                } else {
                    State::ValueOrEnd
                }
            }
            b'"' => State::String {
                role: Role::Value,
                escape: Escape::None,
            },
            b'-' => State::Number(Number::Minus),
            b'0' => State::Number(Number::Zero),
            b'1'..=b'9' => State::Number(Number::Int),
            b't' => literal(b"true"),
            b'f' => literal(b"false"),
            b'n' => literal(b"null"),
            _ => return Err(ScanError::Json("expected a value")),
        };
        Ok(event)
    }

    /// Records that a value ended just before `end`, and reports it when the
    /// value was an element of `Records`.
    fn value_done(&mut self, end: usize) -> Option<Event> {
        if self.stack.is_empty() {
            self.state = State::Done;
            return None;
        }
        self.state = State::CommaOrEnd;
        (self.in_records && self.stack.len() == 2).then_some(Event::End(end))
    }

    fn after_value(
        &mut self,
        b: u8,
        at: usize,
        is_space: bool,
    ) -> Result<Option<Event>, ScanError> {
        let in_object = self.stack.last().copied().unwrap_or(false);
        match b {
            _ if is_space => Ok(None),
            b',' => {
                self.state = if in_object { State::Key } else { State::Value };
                Ok(None)
            }
            b'}' if in_object => self.close(true, at),
            b']' if !in_object => self.close(false, at),
            _ => Err(ScanError::Json("expected ',' or the end of the container")),
        }
    }

    fn close(&mut self, object: bool, at: usize) -> Result<Option<Event>, ScanError> {
        if self.stack.pop() != Some(object) {
            return Err(ScanError::Json("mismatched closing bracket"));
        }
        if !object && self.in_records && self.stack.len() == 1 {
            self.in_records = false;
        }
        Ok(self.value_done(at + 1))
    }

    fn string_byte(
        &mut self,
        b: u8,
        role: Role,
        escape: Escape,
        at: usize,
    ) -> Result<Option<Event>, ScanError> {
        let escape = match (escape, b) {
            (Escape::None, b'"') if role == Role::Value => return Ok(self.value_done(at + 1)),
            (Escape::None, b'"') => {
                if role == Role::TopKey {
                    self.pending = match self.key.as_slice() {
                        b"Records" => TopKey::Records,
                        b"digestStartTime" => TopKey::DigestStart,
                        _ => TopKey::Other,
                    };
                }
                self.state = State::Colon;
                return Ok(None);
            }
            (_, 0..=0x1f) => return Err(ScanError::Json("control character in a string")),
            (Escape::None, b'\\') => Escape::Backslash,
            (Escape::None, _) => Escape::None,
            (Escape::Backslash, b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                Escape::None
            }
            (Escape::Backslash, b'u') => Escape::Unicode(0),
            (Escape::Backslash, _) => return Err(ScanError::Json("invalid escape")),
            (Escape::Unicode(n), _) if b.is_ascii_hexdigit() => {
                if n == 3 {
                    Escape::None
                } else {
                    Escape::Unicode(n + 1)
                }
            }
            (Escape::Unicode(_), _) => return Err(ScanError::Json("invalid \\u escape")),
        };
        if role == Role::TopKey && self.key.len() <= MAX_KEY {
            // One byte past the limit marks the key as too long to match.
            self.key.push(b);
        }
        self.state = State::String { role, escape };
        Ok(None)
    }

    fn number_byte(
        &mut self,
        number: Number,
        b: u8,
        at: usize,
    ) -> Result<Option<Event>, ScanError> {
        let digit = b.is_ascii_digit();
        let next = match (number, b) {
            (Number::Minus, b'0') => Number::Zero,
            (Number::Minus, _) if digit => Number::Int,
            (Number::Int, _) if digit => Number::Int,
            (Number::Zero | Number::Int, b'.') => Number::Dot,
            (Number::Dot | Number::Frac, _) if digit => Number::Frac,
            (Number::Zero | Number::Int | Number::Frac, b'e' | b'E') => Number::Exp,
            (Number::Exp, b'+' | b'-') => Number::ExpSign,
            (Number::Exp | Number::ExpSign | Number::ExpDigits, _) if digit => Number::ExpDigits,
            (Number::Zero | Number::Int | Number::Frac | Number::ExpDigits, _) => {
                // The number ended at the previous byte; this byte belongs to
                // what follows. A number element of `Records` can only be
                // followed by ',' or ']' or space, none of which is an event
                // itself, so the two events never collide.
                let ended = self.value_done(at);
                let after = self.byte(b, at)?;
                return Ok(ended.or(after));
            }
            _ => return Err(ScanError::Json("invalid number")),
        };
        self.state = State::Number(next);
        Ok(None)
    }
}

fn literal(word: &'static [u8]) -> State {
    State::Literal { word, at: 1 }
}
