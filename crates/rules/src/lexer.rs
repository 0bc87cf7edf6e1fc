//! Character-level scanning of condition text.
//!
//! Falco's condition grammar is context sensitive: `a.b` is a field before an
//! operator but a bare string after `=`, and `in` only counts as an operator
//! right after a field. So instead of producing a token stream up front, the
//! [`Lexer`] offers one method per token kind and the parser asks for the kind
//! it expects at each point. Each method consumes input only on success.

/// Longest literal string value accepted in a condition, in bytes (Falco's
/// limit for filter parameters).
pub(crate) const MAX_LITERAL_BYTES: usize = 255;

/// A scanning failure inside a quoted string.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LexError {
    /// A quote with no matching closing quote.
    #[error("unterminated quoted string")]
    Unterminated,
    /// `\"` inside single quotes.
    #[error("invalid \\\" escape in '-quoted string")]
    DoubleQuoteEscape,
    /// `\'` inside double quotes.
    #[error("invalid \\' escape in \"-quoted string")]
    SingleQuoteEscape,
    /// An escape Falco does not define, such as `\q`.
    #[error("unsupported string escape sequence: \\{0}")]
    UnknownEscape(char),
    /// `\x` not followed by two hex digits, or bytes that are not UTF-8.
    #[error("invalid \\x escape sequence")]
    BadHex,
}

/// A cursor over condition text.
#[derive(Clone, Debug)]
pub(crate) struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x08)
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic()
}

fn is_ident_rest(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl<'a> Lexer<'a> {
    pub fn new(text: &'a str) -> Self {
        Lexer { text, pos: 0 }
    }

    /// Byte offset of the cursor.
    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn rest(&self) -> &'a [u8] {
        &self.text.as_bytes()[self.pos..]
    }

    fn take(&mut self, len: usize) -> &'a str {
        let start = self.pos;
        self.pos += len;
        &self.text[start..self.pos]
    }

    /// Skips blanks; reports whether there were any.
    pub fn blank(&mut self) -> bool {
        let n = self.rest().iter().take_while(|b| is_blank(**b)).count();
        self.pos += n;
        n > 0
    }

    /// Consumes `s` if the text continues with it.
    pub fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s.as_bytes()) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    /// Whether the text continues with `s`, without consuming it.
    pub fn peek_is(&self, s: &str) -> bool {
        self.rest().starts_with(s.as_bytes())
    }

    /// Whether the next character is a blank, or the text ends.
    pub fn at_blank_or_end(&self) -> bool {
        self.rest().first().is_none_or(|b| is_blank(*b))
    }

    /// Consumes a keyword `word` followed by at least one blank (`not `).
    pub fn keyword_blank(&mut self, word: &str) -> bool {
        let rest = self.rest();
        let followed = rest.get(word.len()).is_some_and(|b| is_blank(*b));
        if rest.starts_with(word.as_bytes()) && followed {
            self.pos += word.len();
            self.blank();
            true
        } else {
            false
        }
    }

    fn ident_len(bytes: &[u8]) -> usize {
        match bytes.first() {
            Some(b) if is_ident_start(*b) => {
                let letters = bytes.iter().take_while(|b| b.is_ascii_alphabetic()).count();
                letters
                    + bytes[letters..]
                        .iter()
                        .take_while(|b| is_ident_rest(**b))
                        .count()
            }
            _ => 0,
        }
    }

    /// `[a-zA-Z]+[a-zA-Z0-9_]*`
    pub fn identifier(&mut self) -> Option<&'a str> {
        match Self::ident_len(self.rest()) {
            0 => None,
            n => Some(self.take(n)),
        }
    }

    /// An identifier followed by one or more `.identifier` parts.
    pub fn field_name(&mut self) -> Option<&'a str> {
        let rest = self.rest();
        let mut len = Self::ident_len(rest);
        if len == 0 {
            return None;
        }
        let mut parts = 0;
        while rest.get(len) == Some(&b'.') {
            let part = Self::ident_len(&rest[len + 1..]);
            if part == 0 {
                break;
            }
            len += 1 + part;
            parts += 1;
        }
        (parts > 0).then(|| self.take(len))
    }

    /// A field argument without quotes: no blanks, brackets or quotes.
    pub fn field_arg_bare(&mut self) -> Option<&'a str> {
        let n = self
            .rest()
            .iter()
            .take_while(|b| !is_blank(**b) && !matches!(b, b'[' | b']' | b'"' | b'\''))
            .count();
        (n > 0).then(|| self.take(n))
    }

    /// A value without quotes: stops at blanks, parentheses, commas, `=`
    /// and quotes.
    pub fn bare_str(&mut self) -> Option<&'a str> {
        let n = self
            .rest()
            .iter()
            .take_while(|b| {
                !is_blank(**b) && !matches!(b, b'(' | b')' | b',' | b'=' | b'"' | b'\'')
            })
            .count();
        (n > 0).then(|| self.take(n))
    }

    /// A hexadecimal (`0x1F`) or decimal number (`-1`, `2.5`, `1e+3`).
    pub fn number(&mut self) -> Option<&'a str> {
        let rest = self.rest();
        let hex = rest.len() > 2
            && rest[0] == b'0'
            && matches!(rest[1], b'x' | b'X')
            && rest[2].is_ascii_alphanumeric();
        if hex {
            let n = 2 + rest[2..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
            return Some(self.take(n));
        }

        let digits = |from: usize| {
            rest[from..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
        };
        let mut n = usize::from(matches!(rest.first(), Some(b'+' | b'-')));
        let int = digits(n);
        if int == 0 {
            return None;
        }
        n += int;
        if rest.get(n) == Some(&b'.') {
            n += 1 + digits(n + 1);
        }
        let exp_sign = matches!(rest.get(n + 1), Some(b'+' | b'-'));
        if matches!(rest.get(n), Some(b'e' | b'E')) && exp_sign && digits(n + 2) > 0 {
            n += 2 + digits(n + 2);
        }
        Some(self.take(n))
    }

    /// A string in single or double quotes, with escapes decoded.
    ///
    /// Returns `Ok(None)` (consuming nothing) when the text does not start
    /// with a quote.
    pub fn quoted_str(&mut self) -> Result<Option<String>, LexError> {
        let Some(&quote) = self.rest().first().filter(|b| matches!(b, b'"' | b'\'')) else {
            return Ok(None);
        };
        let bytes = self.rest();
        let mut out = Vec::new();
        let mut i = 1;
        loop {
            let Some(&b) = bytes.get(i) else {
                return Err(LexError::Unterminated);
            };
            i += 1;
            if b == quote {
                break;
            }
            if b != b'\\' {
                out.push(b);
                continue;
            }
            let Some(&e) = bytes.get(i) else {
                return Err(LexError::Unterminated);
            };
            i += 1;
            match e {
                b'b' => out.push(0x08),
                b'f' => out.push(0x0c),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                // Falco tolerates `\ ` for old rules and turns it into a
                // single backslash.
                b'\\' | b' ' => out.push(b'\\'),
                b'/' => out.push(b'/'),
                b'"' if quote == b'"' => out.push(b'"'),
                b'"' => return Err(LexError::DoubleQuoteEscape),
                b'\'' if quote == b'\'' => out.push(b'\''),
                b'\'' => return Err(LexError::SingleQuoteEscape),
                b'x' => {
                    let hex = bytes.get(i..i + 2).ok_or(LexError::BadHex)?;
                    let hex = std::str::from_utf8(hex).map_err(|_| LexError::BadHex)?;
                    out.push(u8::from_str_radix(hex, 16).map_err(|_| LexError::BadHex)?);
                    i += 2;
                }
                other => {
                    let c = self.text[self.pos + i - 1..]
                        .chars()
                        .next()
                        .unwrap_or(other as char);
                    return Err(LexError::UnknownEscape(c));
                }
            }
        }
        let value = String::from_utf8(out).map_err(|_| LexError::BadHex)?;
        self.pos += i;
        Ok(Some(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_need_a_dot_part() {
        assert_eq!(Lexer::new("ct.name=x").field_name(), Some("ct.name"));
        assert_eq!(Lexer::new("ct.user.").field_name(), Some("ct.user"));
        assert_eq!(Lexer::new("macro_a and").field_name(), None);
        assert_eq!(
            Lexer::new("json.value[/a]").field_name(),
            Some("json.value")
        );
    }

    #[test]
    fn bare_strings_stop_at_delimiters() {
        assert_eq!(Lexer::new("a.b/c*d,e").bare_str(), Some("a.b/c*d"));
        assert_eq!(Lexer::new("x=y").bare_str(), Some("x"));
        assert_eq!(Lexer::new("(x)").bare_str(), None);
    }

    #[test]
    fn numbers_in_every_form() {
        assert_eq!(Lexer::new("0x1F ").number(), Some("0x1F"));
        assert_eq!(Lexer::new("-12.5e+3)").number(), Some("-12.5e+3"));
        assert_eq!(Lexer::new("7e5").number(), Some("7"));
        assert_eq!(Lexer::new("abc").number(), None);
    }

    #[test]
    fn quoted_strings_decode_escapes() {
        let q = |s: &str| Lexer::new(s).quoted_str();
        assert_eq!(q(r#""a\"b\\c\x41""#), Ok(Some("a\"b\\cA".into())));
        assert_eq!(q(r"'it\'s'"), Ok(Some("it's".into())));
        assert_eq!(q(r#"'a\"'"#), Err(LexError::DoubleQuoteEscape));
        assert_eq!(q(r#""a\'""#), Err(LexError::SingleQuoteEscape));
        assert_eq!(q(r#""a\q""#), Err(LexError::UnknownEscape('q')));
        assert_eq!(q(r#""a\ b""#), Ok(Some("a\\b".into())));
        assert_eq!(q(r#""open"#), Err(LexError::Unterminated));
        assert_eq!(q("bare"), Ok(None));
    }
}
