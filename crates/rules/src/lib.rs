//! A Falco-compatible rules engine for AWS CloudTrail records.
//!
//! [`Loader`] reads Falco rules files (lists, macros, rules, exceptions,
//! `append`/`override`, version requirements) and compiles them once into a
//! [`RuleSet`]; [`RuleSet::evaluate`] checks one [`Event`] (a parsed
//! CloudTrail record) against the rules and produces [`Detection`]s with
//! rendered output. Conditions use Falco's filter language over the
//! `cloudtrail` and `json` plugin fields (see [`fields`]).
//!
//! Only rules with `source: aws_cloudtrail` are loaded; as in Falco, a rule
//! without `source` belongs to `syscall` and is skipped with a warning.
//!
//! Limitation: the `oneof`/`anyof`/`allof` operator modifiers and the
//! `join`, `concat` and `getopt` transformers of the newest Falco releases are
//! not supported; conditions using them fail to load. See
//! [`UNSUPPORTED_FEATURES`].

mod ast;
mod compile;
mod diagnostic;
mod eval;
mod lexer;
mod loader;
mod output;
mod parser;
mod priority;
mod ruleset;

pub mod event;
pub mod fields;

pub use diagnostic::{Diagnostic, Severity};
pub use event::{Event, EventError, EventMeta};
pub use loader::{LoadResult, Loader};
pub use priority::{ParsePriorityError, Priority};
pub use ruleset::{Detection, Matching, RuleInfo, RuleSet};

/// Falco rules-language features this engine does not implement, each
/// with a condition that shows it. Loading such a condition fails.
pub const UNSUPPORTED_FEATURES: &[(&str, &str)] = &[
    (
        "operator modifiers",
        "ct.name startswith anyof (Create, Delete)",
    ),
    ("join transformer", "join(',', ec2.imageids) = a"),
    ("concat transformer", "concat(ct.user, ct.srcip) = a"),
    ("getopt transformer", "getopt(ec2.imageids, 'a') = b"),
];
