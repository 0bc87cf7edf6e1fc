//! Rule priorities, in Falco's order and spelling.

use std::fmt;
use std::str::FromStr;

/// How urgent a rule's alerts are, from most to least severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// System is unusable.
    Emergency,
    /// Action must be taken immediately.
    Alert,
    /// Critical conditions.
    Critical,
    /// Error conditions.
    Error,
    /// Warning conditions.
    Warning,
    /// Normal but significant condition.
    Notice,
    /// Informational messages (`INFO` is accepted as an alias).
    Informational,
    /// Debug-level messages.
    Debug,
}

/// A priority name that is none of Falco's levels.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid priority level '{0}'")]
pub struct ParsePriorityError(pub String);

impl Priority {
    /// Every level, most severe first.
    pub const ALL: [Priority; 8] = [
        Priority::Emergency,
        Priority::Alert,
        Priority::Critical,
        Priority::Error,
        Priority::Warning,
        Priority::Notice,
        Priority::Informational,
        Priority::Debug,
    ];

    /// Falco's spelling, as printed in alerts (`Critical`, `Informational`).
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Emergency => "Emergency",
            Priority::Alert => "Alert",
            Priority::Critical => "Critical",
            Priority::Error => "Error",
            Priority::Warning => "Warning",
            Priority::Notice => "Notice",
            Priority::Informational => "Informational",
            Priority::Debug => "Debug",
        }
    }
}

impl FromStr for Priority {
    type Err = ParsePriorityError;

    /// Parses a level ignoring ASCII case; `info` means `Informational`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("info") {
            return Ok(Priority::Informational);
        }
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParsePriorityError(s.to_owned()))
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_any_case_and_the_info_alias() {
        assert_eq!("WARNING".parse(), Ok(Priority::Warning));
        assert_eq!("critical".parse(), Ok(Priority::Critical));
        assert_eq!("Info".parse(), Ok(Priority::Informational));
        assert_eq!("INFORMATIONAL".parse(), Ok(Priority::Informational));
        assert_eq!(
            "loud".parse::<Priority>(),
            Err(ParsePriorityError("loud".into()))
        );
    }

    #[test]
    fn orders_from_most_severe() {
        assert!(Priority::Emergency < Priority::Debug);
        assert_eq!(Priority::Notice.to_string(), "Notice");
    }
}
