//! Problems found while loading rules, each pointing at a file position.
//!
//! Loading never stops at the first problem: every item is checked and every
//! error or warning becomes one [`Diagnostic`], so an operator fixes a broken
//! rules file in one pass.

use std::fmt;

/// How serious a [`Diagnostic`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The rules cannot be used; no rule set is built.
    Error,
    /// Something was ignored or is deprecated; loading goes on.
    Warning,
}

impl Severity {
    /// The lowercase word used in rendered messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One error or warning produced while loading rules.
///
/// Rendered as `file:line:col: error: message`; the line and column are left
/// out when unknown (for example for an unreadable file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The origin given to the loader, usually a file path.
    pub file: String,
    /// 1-based line, when the problem has a position.
    pub line: Option<usize>,
    /// 1-based column, when the problem has a position.
    pub column: Option<usize>,
    /// What is wrong, in Falco's wording where Falco has one.
    pub message: String,
}

impl Diagnostic {
    pub(crate) fn new(severity: Severity, file: &str, at: Option<Pos>, message: String) -> Self {
        Diagnostic {
            severity,
            file: file.to_owned(),
            line: at.map(|p| p.line),
            column: at.map(|p| p.column),
            message,
        }
    }

    /// Whether this diagnostic is an error (and so prevents a rule set).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.file)?;
        if let Some(line) = self.line {
            write!(f, "{line}:")?;
            if let Some(column) = self.column {
                write!(f, "{column}:")?;
            }
        }
        write!(f, " {}: {}", self.severity.as_str(), self.message)
    }
}

/// A 1-based line and column inside one source text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
}

/// Collects diagnostics for one origin at a time.
#[derive(Debug, Default)]
pub(crate) struct Sink {
    pub diagnostics: Vec<Diagnostic>,
}

impl Sink {
    pub fn error(&mut self, file: &str, at: Option<Pos>, message: impl Into<String>) {
        let d = Diagnostic::new(Severity::Error, file, at, message.into());
        self.diagnostics.push(d);
    }

    pub fn warning(&mut self, file: &str, at: Option<Pos>, message: impl Into<String>) {
        let d = Diagnostic::new(Severity::Warning, file, at, message.into());
        self.diagnostics.push(d);
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_omits_unknown_parts() {
        let full = Diagnostic::new(
            Severity::Error,
            "a.yaml",
            Some(Pos { line: 3, column: 7 }),
            "bad".into(),
        );
        assert_eq!(full.to_string(), "a.yaml:3:7: error: bad");

        let bare = Diagnostic::new(Severity::Warning, "dir", None, "unread".into());
        assert_eq!(bare.to_string(), "dir: warning: unread");

        let no_col = Diagnostic {
            column: None,
            line: Some(2),
            ..bare
        };
        assert_eq!(no_col.to_string(), "dir:2: warning: unread");
    }
}
