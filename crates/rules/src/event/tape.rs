//! A flat index of where each JSON value of a record starts and ends.
//!
//! Rules read a handful of fields out of records that hold dozens, so a
//! record is not turned into a tree of allocated values. One pass over the
//! text checks the syntax and writes a [`Node`] per value (and per object
//! key) into one vector; lookups then walk that vector and borrow strings
//! from the text, decoding escapes only for the strings a rule reads.
//!
//! The pass accepts exactly what `serde_json` accepts, or defers: it reports
//! [`Scan::Unusual`] for the rare constructs whose validity `serde_json`
//! decides in its own way (number range, UTF-16 surrogate pairs, nesting
//! depth), and the caller then asks `serde_json` itself.

mod view;

pub(crate) use view::JsonRef;

/// Nesting beyond this is left to `serde_json`, which stops at 128 levels.
const MAX_PLAIN_DEPTH: usize = 100;

/// Integer parts this long may overflow an `f64`; `serde_json` decides.
const MAX_PLAIN_INT_DIGITS: usize = 300;

/// What a [`Node`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Object,
    Array,
    String,
    Number,
    True,
    False,
    Null,
}

/// One value, or one object key, of the text.
///
/// An object's nodes are followed by its keys and values, alternating; an
/// array's by its elements. `next` is the index just past a node's subtree,
/// so siblings are found without looking inside each other.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    start: u32,
    end: u32,
    next: u32,
    kind: Kind,
    /// For strings: whether the text holds a backslash escape.
    escaped: bool,
}

/// How the pass over a text ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// Valid JSON, indexed.
    Plain,
    /// Indexed if valid, but `serde_json` must decide whether it is.
    Unusual,
    /// Not valid JSON (or too large to index).
    Invalid,
}

/// Indexes `text` into `nodes` (cleared first).
pub(crate) fn scan(text: &str, nodes: &mut Vec<Node>) -> Scan {
    nodes.clear();
    if u32::try_from(text.len()).is_err() {
        return Scan::Invalid;
    }
    let mut builder = Builder {
        b: text.as_bytes(),
        nodes,
        unusual: false,
    };
    match builder.document() {
        Some(()) if builder.unusual => Scan::Unusual,
        Some(()) => Scan::Plain,
        None => Scan::Invalid,
    }
}

struct Builder<'a> {
    b: &'a [u8],
    nodes: &'a mut Vec<Node>,
    unusual: bool,
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// Offsets are below `u32::MAX`: [`scan`] rejects longer texts first.
fn offset(i: usize) -> u32 {
    i as u32
}

impl Builder<'_> {
    fn push(&mut self, kind: Kind, start: usize, end: usize, escaped: bool) -> usize {
        let index = self.nodes.len();
        self.nodes.push(Node {
            start: offset(start),
            end: offset(end),
            next: offset(index + 1),
            kind,
            escaped,
        });
        index
    }

    /// The whole text: one value between optional whitespace.
    fn document(&mut self) -> Option<()> {
        // Open containers, innermost last.
        let mut open: Vec<usize> = Vec::with_capacity(16);
        let mut i = skip_ws(self.b, 0);
        'value: loop {
            // A value starts at `i`.
            match *self.b.get(i)? {
                b'{' => {
                    let at = self.push(Kind::Object, i, i, false);
                    open.push(at);
                    self.unusual |= open.len() > MAX_PLAIN_DEPTH;
                    i = skip_ws(self.b, i + 1);
                    if self.b.get(i) != Some(&b'}') {
                        i = self.key(i)?;
                        continue 'value;
                    }
                }
                b'[' => {
                    let at = self.push(Kind::Array, i, i, false);
                    open.push(at);
                    self.unusual |= open.len() > MAX_PLAIN_DEPTH;
                    i = skip_ws(self.b, i + 1);
                    if self.b.get(i) != Some(&b']') {
                        continue 'value;
                    }
                }
                b'"' => {
                    let (end, escaped) = self.string(i)?;
                    self.push(Kind::String, i, end, escaped);
                    i = skip_ws(self.b, end);
                }
                b'-' | b'0'..=b'9' => {
                    let end = self.number(i)?;
                    self.push(Kind::Number, i, end, false);
                    i = skip_ws(self.b, end);
                }
                b't' => i = self.literal(i, b"true", Kind::True)?,
                b'f' => i = self.literal(i, b"false", Kind::False)?,
                b'n' => i = self.literal(i, b"null", Kind::Null)?,
                _ => return None,
            }

            // A value ended before `i`, which is past any whitespace: close
            // containers until one continues.
            loop {
                let Some(&top) = open.last() else {
                    return (i == self.b.len()).then_some(());
                };
                let object = self.nodes[top].kind == Kind::Object;
                match (*self.b.get(i)?, object) {
                    (b',', true) => {
                        i = self.key(skip_ws(self.b, i + 1))?;
                        continue 'value;
                    }
                    (b',', false) => {
                        i = skip_ws(self.b, i + 1);
                        continue 'value;
                    }
                    (b'}', true) | (b']', false) => {
                        let next = offset(self.nodes.len());
                        let node = &mut self.nodes[top];
                        node.end = offset(i + 1);
                        node.next = next;
                        open.pop();
                        i = skip_ws(self.b, i + 1);
                    }
                    _ => return None,
                }
            }
        }
    }

    /// An object key at `i`, then its colon; returns where the value starts.
    fn key(&mut self, i: usize) -> Option<usize> {
        if self.b.get(i) != Some(&b'"') {
            return None;
        }
        let (end, escaped) = self.string(i)?;
        self.push(Kind::String, i, end, escaped);
        let colon = skip_ws(self.b, end);
        (self.b.get(colon) == Some(&b':')).then(|| skip_ws(self.b, colon + 1))
    }

    /// The string whose quote is at `i`: the index past its closing quote,
    /// and whether it holds escapes.
    fn string(&mut self, i: usize) -> Option<(usize, bool)> {
        let b = self.b;
        let mut j = i + 1;
        let mut escaped = false;
        loop {
            j = plain_run(b, j);
            match *b.get(j)? {
                b'"' => return Some((j + 1, escaped)),
                b'\\' => {
                    escaped = true;
                    j = self.escape(j + 1)?;
                }
                // A control character (the only other byte `plain_run`
                // stops at) is not allowed in a string.
                _ => return None,
            }
        }
    }

    /// The escape whose letter is at `i`; returns the index after it.
    fn escape(&mut self, i: usize) -> Option<usize> {
        match *self.b.get(i)? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(i + 1),
            b'u' => {
                let hex = self.b.get(i + 1..i + 5)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                // Surrogates must pair up; serde_json checks how.
                self.unusual |= matches!(hex[0], b'd' | b'D')
                    && matches!(hex[1], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F');
                Some(i + 5)
            }
            _ => None,
        }
    }

    /// The number at `i`; returns the index after it.
    fn number(&mut self, i: usize) -> Option<usize> {
        let b = self.b;
        let digits =
            |from: usize| from + b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
        let mut j = i + usize::from(b[i] == b'-');
        match *b.get(j)? {
            b'0' => j += 1,
            b'1'..=b'9' => {
                let end = digits(j);
                self.unusual |= end - j > MAX_PLAIN_INT_DIGITS;
                j = end;
            }
            _ => return None,
        }
        if b.get(j) == Some(&b'.') {
            let end = digits(j + 1);
            if end == j + 1 {
                return None;
            }
            j = end;
        }
        if let Some(b'e' | b'E') = b.get(j) {
            // The exponent decides whether the value fits an `f64`.
            self.unusual = true;
            j += 1;
            if let Some(b'+' | b'-') = b.get(j) {
                j += 1;
            }
            let end = digits(j);
            if end == j {
                return None;
            }
            j = end;
        }
        Some(j)
    }

    fn literal(&mut self, i: usize, word: &[u8], kind: Kind) -> Option<usize> {
        let end = i + word.len();
        if self.b.get(i..end)? != word {
            return None;
        }
        self.push(kind, i, end, false);
        Some(skip_ws(self.b, end))
    }
}

/// Index of the first byte at or after `i` that is a quote, a backslash or
/// a control character (or `b.len()`).
///
/// Strings are most of a record's bytes, so this looks at eight bytes at a
/// time: a word has such a byte iff one of three bit tricks flags it.
fn plain_run(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let zero_in = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
        let quote = zero_in(w ^ (ONES * u64::from(b'"')));
        let backslash = zero_in(w ^ (ONES * u64::from(b'\\')));
        let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
        if quote | backslash | control != 0 {
            break;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            break;
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests;
