//! The syntax tree of a condition, as written (before macro substitution and
//! field resolution).

/// A boolean expression.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// A bare identifier: the name of a macro.
    Macro {
        name: String,
        at: usize,
    },
    Check(Box<Check>),
}

/// One comparison: `lhs op rhs`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Check {
    pub lhs: Operand,
    pub op: Op,
    pub rhs: Rhs,
    /// Byte offset of the check in the condition text.
    pub at: usize,
}

/// A field, possibly wrapped in transformers.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Operand {
    Field {
        name: String,
        arg: Option<String>,
        at: usize,
    },
    Transform {
        kind: Transformer,
        inner: Box<Operand>,
    },
}

impl Operand {
    /// The text this operand was written as, for messages and output keys.
    pub fn display(&self) -> String {
        match self {
            Operand::Field {
                name, arg: None, ..
            } => name.clone(),
            Operand::Field {
                name,
                arg: Some(arg),
                ..
            } => format!("{name}[{arg}]"),
            Operand::Transform { kind, inner } => {
                format!("{}({})", kind.as_str(), inner.display())
            }
        }
    }
}

/// A function applied to a field value before comparing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transformer {
    ToLower,
    ToUpper,
    B64,
    Basename,
    Len,
}

impl Transformer {
    /// Every transformer with its name as written before `(`.
    pub const ALL: [(&'static str, Transformer); 5] = [
        ("tolower", Transformer::ToLower),
        ("toupper", Transformer::ToUpper),
        ("b64", Transformer::B64),
        ("basename", Transformer::Basename),
        ("len", Transformer::Len),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Transformer::ToLower => "tolower",
            Transformer::ToUpper => "toupper",
            Transformer::B64 => "b64",
            Transformer::Basename => "basename",
            Transformer::Len => "len",
        }
    }
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Exists,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    IContains,
    BContains,
    StartsWith,
    BStartsWith,
    EndsWith,
    Glob,
    IGlob,
    Regex,
    In,
    Intersects,
    PMatch,
}

/// The kind of right side an operator takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpKind {
    Unary,
    Numeric,
    Text,
    List,
}

impl Op {
    /// Operators with how they are spelled, in the order the parser tries
    /// them (longer spellings before their prefixes).
    pub const SPELLINGS: [(&'static str, Op); 20] = [
        ("exists", Op::Exists),
        ("<=", Op::Le),
        ("<", Op::Lt),
        (">=", Op::Ge),
        (">", Op::Gt),
        ("==", Op::Eq),
        ("=", Op::Eq),
        ("!=", Op::Ne),
        ("glob", Op::Glob),
        ("iglob", Op::IGlob),
        ("contains", Op::Contains),
        ("icontains", Op::IContains),
        ("bcontains", Op::BContains),
        ("startswith", Op::StartsWith),
        ("bstartswith", Op::BStartsWith),
        ("endswith", Op::EndsWith),
        ("regex", Op::Regex),
        ("intersects", Op::Intersects),
        ("in", Op::In),
        ("pmatch", Op::PMatch),
    ];

    pub fn kind(self) -> OpKind {
        match self {
            Op::Exists => OpKind::Unary,
            Op::Lt | Op::Le | Op::Gt | Op::Ge => OpKind::Numeric,
            Op::In | Op::Intersects | Op::PMatch => OpKind::List,
            _ => OpKind::Text,
        }
    }

    pub fn as_str(self) -> &'static str {
        Op::SPELLINGS
            .iter()
            .find(|(_, op)| *op == self)
            .map_or("?", |(s, _)| s)
    }
}

/// What follows the operator.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Rhs {
    /// Nothing (`exists`).
    None,
    /// One literal value.
    Value(String),
    /// A parenthesised list, or a bare identifier after a list operator.
    List(Vec<String>),
    /// Another field: `val(f)` or a transformer.
    Operand(Operand),
}
