//! Recursive-descent parser for Falco conditions.
//!
//! Precedence, loosest first: `or`, `and`, `not`; parentheses group. The
//! error texts follow libsinsp's, so messages read the same as Falco's.

use crate::ast::{Check, Expr, Op, OpKind, Operand, Rhs, Transformer};
use crate::lexer::{LexError, Lexer};

/// Deepest nesting accepted, as in libsinsp; keeps hostile input from
/// exhausting the stack.
const MAX_DEPTH: usize = 100;

/// A syntax error at a byte offset of the condition.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct ParseError {
    pub message: String,
    pub at: usize,
}

/// Parses a whole condition.
pub(crate) fn parse(text: &str) -> Result<Expr, ParseError> {
    let mut p = Parser {
        lex: Lexer::new(text),
        depth: 0,
        last: String::new(),
    };
    if text.is_empty() {
        return Err(p.error("filter input string is empty"));
    }
    let expr = p.or()?;
    if !p.lex.at_end() {
        let message = format!("unexpected token after '{}', expecting 'or', 'and'", p.last);
        return Err(p.error(message));
    }
    Ok(expr)
}

struct Parser<'a> {
    lex: Lexer<'a>,
    depth: usize,
    /// The last token read, quoted in "unexpected token" errors.
    last: String,
}

fn transformer_names() -> String {
    let mut names = vec!["'val'".to_owned()];
    names.extend(Transformer::ALL.iter().map(|(n, _)| format!("'{n}'")));
    names.join(", ")
}

impl<'a> Parser<'a> {
    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            message: message.into(),
            at: self.lex.pos(),
        }
    }

    fn lex_error(&self, e: LexError) -> ParseError {
        self.error(e.to_string())
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth >= MAX_DEPTH {
            return Err(self.error(format!("exceeded max depth limit of {MAX_DEPTH}")));
        }
        Ok(())
    }

    fn eat(&mut self, s: &str) -> bool {
        let ok = self.lex.eat(s);
        if ok {
            self.last = s.to_owned();
        }
        ok
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        self.lex.blank();
        let mut children = vec![self.and()?];
        self.lex.blank();
        while self.eat("or") {
            let child = if self.lex.blank() {
                self.and()?
            } else if self.eat("(") {
                self.embedded()?
            } else {
                return Err(self.error("expected blank or '(' after 'or'"));
            };
            children.push(child);
            self.lex.blank();
        }
        self.depth -= 1;
        Ok(flatten(children, Expr::Or))
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        self.lex.blank();
        let mut children = vec![self.not()?];
        self.lex.blank();
        while self.eat("and") {
            let child = if self.lex.blank() {
                self.not()?
            } else if self.eat("(") {
                self.embedded()?
            } else {
                return Err(self.error("expected blank or '(' after 'and'"));
            };
            children.push(child);
            self.lex.blank();
        }
        self.depth -= 1;
        Ok(flatten(children, Expr::And))
    }

    fn not(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        self.lex.blank();
        let mut negate = false;
        while self.lex.keyword_blank("not") {
            negate = !negate;
        }
        let child = if self.eat("not(") {
            negate = !negate;
            self.embedded()?
        } else {
            self.check()?
        };
        self.depth -= 1;
        Ok(if negate {
            Expr::Not(Box::new(child))
        } else {
            child
        })
    }

    /// The rest of a parenthesised expression, after its `(`.
    fn embedded(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        self.lex.blank();
        let child = self.or()?;
        self.lex.blank();
        if !self.eat(")") {
            return Err(self.error("expected a ')' token"));
        }
        self.depth -= 1;
        Ok(child)
    }

    fn check(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        self.lex.blank();
        let at = self.lex.pos();
        let expr = if self.eat("(") {
            self.embedded()?
        } else if let Some(lhs) = self.operand_start()? {
            Expr::Check(Box::new(self.condition(lhs, at)?))
        } else if let Some(name) = self.lex.identifier() {
            self.last = name.to_owned();
            Expr::Macro {
                name: name.to_owned(),
                at,
            }
        } else {
            return Err(self.error("expected a '(' token, a field check, or an identifier"));
        };
        self.depth -= 1;
        Ok(expr)
    }

    /// A field or a transformer applied to one, if the text starts with
    /// either.
    fn operand_start(&mut self) -> Result<Option<Operand>, ParseError> {
        let at = self.lex.pos();
        if let Some(name) = self.lex.field_name() {
            self.last = name.to_owned();
            return self.field_rest(name, at).map(Some);
        }
        match self.transformer() {
            Some(kind) => self.transformer_rest(kind).map(Some),
            None => Ok(None),
        }
    }

    fn transformer(&mut self) -> Option<Transformer> {
        let (name, kind) = Transformer::ALL
            .into_iter()
            .find(|(name, _)| self.lex.peek_is(&format!("{name}(")))?;
        self.eat(&format!("{name}("));
        Some(kind)
    }

    /// The optional `[arg]` after a field name.
    fn field_rest(&mut self, name: &str, at: usize) -> Result<Operand, ParseError> {
        self.enter()?;
        let mut arg = None;
        if self.eat("[") {
            let value = match self.lex.quoted_str().map_err(|e| self.lex_error(e))? {
                Some(quoted) => quoted,
                None => match self.lex.field_arg_bare() {
                    Some(bare) => bare.to_owned(),
                    None => {
                        return Err(self.error(
                            "expected a valid field argument: a quoted string or a bare string",
                        ));
                    }
                },
            };
            if !self.eat("]") {
                return Err(self.error("expected a ']' token"));
            }
            arg = Some(value);
        }
        self.depth -= 1;
        Ok(Operand::Field {
            name: name.to_owned(),
            arg,
            at,
        })
    }

    /// The rest of `kind(...)` after its `(`.
    fn transformer_rest(&mut self, kind: Transformer) -> Result<Operand, ParseError> {
        self.enter()?;
        self.lex.blank();
        let Some(inner) = self.operand_start()? else {
            let message = format!(
                "expected a field or a nested valid transformer: {}",
                transformer_names()
            );
            return Err(self.error(message));
        };
        self.lex.blank();
        if !self.eat(")") {
            return Err(self.error("expected a ')' token closing the transformer"));
        }
        self.depth -= 1;
        Ok(Operand::Transform {
            kind,
            inner: Box::new(inner),
        })
    }

    fn operator(&mut self) -> Option<Op> {
        for (spelling, op) in Op::SPELLINGS {
            let wordy = spelling.bytes().all(|b| b.is_ascii_alphabetic());
            if !self.lex.peek_is(spelling) {
                continue;
            }
            // Word operators of the string family need a blank after them,
            // so `globals` is not read as `glob`.
            let mut probe = self.lex.clone();
            probe.eat(spelling);
            if wordy && op.kind() == OpKind::Text && !probe.at_blank_or_end() {
                continue;
            }
            self.eat(spelling);
            return Some(op);
        }
        None
    }

    fn condition(&mut self, lhs: Operand, at: usize) -> Result<Check, ParseError> {
        self.enter()?;
        self.lex.blank();
        let Some(op) = self.operator() else {
            let ops: Vec<String> = Op::SPELLINGS
                .iter()
                .map(|(s, _)| format!("'{s}'"))
                .collect();
            let message = format!("expected a valid check operator: one of {}", ops.join(", "));
            return Err(self.error(message));
        };
        let rhs = match op.kind() {
            OpKind::Unary => Rhs::None,
            OpKind::Numeric => self.num_value()?,
            OpKind::Text => self.str_value()?,
            OpKind::List => self.list_value()?,
        };
        self.depth -= 1;
        Ok(Check { lhs, op, rhs, at })
    }

    /// `val(field)` or a transformer, as the right side of a comparison.
    fn field_value(&mut self) -> Result<Option<Rhs>, ParseError> {
        self.lex.blank();
        if self.eat("val(") {
            self.lex.blank();
            let at = self.lex.pos();
            let Some(name) = self.lex.field_name() else {
                return Err(self.error("expected a field within 'val' transformer"));
            };
            self.last = name.to_owned();
            let field = self.field_rest(name, at)?;
            self.lex.blank();
            if !self.eat(")") {
                return Err(self.error("expected a ')' token closing the transformer"));
            }
            return Ok(Some(Rhs::Operand(field)));
        }
        match self.transformer() {
            Some(kind) => Ok(Some(Rhs::Operand(self.transformer_rest(kind)?))),
            None => Ok(None),
        }
    }

    fn num_value(&mut self) -> Result<Rhs, ParseError> {
        if let Some(rhs) = self.field_value()? {
            return Ok(rhs);
        }
        match self.lex.number() {
            Some(n) => {
                self.last = n.to_owned();
                Ok(Rhs::Value(n.to_owned()))
            }
            None => Err(self.error(format!(
                "expected a number value or a field with a valid transformer: {}",
                transformer_names()
            ))),
        }
    }

    fn plain_value(&mut self) -> Result<Option<String>, ParseError> {
        self.lex.blank();
        if let Some(quoted) = self.lex.quoted_str().map_err(|e| self.lex_error(e))? {
            self.last = quoted.clone();
            return Ok(Some(quoted));
        }
        Ok(self.lex.bare_str().map(|bare| {
            self.last = bare.to_owned();
            bare.to_owned()
        }))
    }

    fn str_value(&mut self) -> Result<Rhs, ParseError> {
        if let Some(rhs) = self.field_value()? {
            return Ok(rhs);
        }
        match self.plain_value()? {
            Some(value) => Ok(Rhs::Value(value)),
            None => Err(self.error(format!(
                "expected a string value or a field with a valid transformer: {}",
                transformer_names()
            ))),
        }
    }

    fn list_value(&mut self) -> Result<Rhs, ParseError> {
        self.lex.blank();
        if self.eat("(") {
            let mut values = Vec::new();
            if let Some(first) = self.plain_value()? {
                values.push(first);
                self.lex.blank();
                while self.eat(",") {
                    match self.plain_value()? {
                        Some(value) => values.push(value),
                        None => return Err(self.error("expected a string value")),
                    }
                    self.lex.blank();
                }
            }
            if !self.eat(")") {
                return Err(self.error("expected a ')' token"));
            }
            return Ok(Rhs::List(values));
        }
        if let Some(rhs) = self.field_value()? {
            return Ok(rhs);
        }
        match self.lex.identifier() {
            Some(name) => {
                self.last = name.to_owned();
                Ok(Rhs::List(vec![name.to_owned()]))
            }
            None => Err(self.error(format!(
                "expected a list, an identifier, or a field with a valid transformer: {}",
                transformer_names()
            ))),
        }
    }
}

fn flatten(mut children: Vec<Expr>, make: fn(Vec<Expr>) -> Expr) -> Expr {
    if children.len() == 1 {
        children.remove(0)
    } else {
        make(children)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, at: usize) -> Operand {
        Operand::Field {
            name: name.into(),
            arg: None,
            at,
        }
    }

    #[test]
    fn not_binds_tighter_than_and_tighter_than_or() {
        let e = parse("a or not b and c").unwrap();
        let m = |name: &str, at| Expr::Macro {
            name: name.into(),
            at,
        };
        let expected = Expr::Or(vec![
            m("a", 0),
            Expr::And(vec![Expr::Not(Box::new(m("b", 9))), m("c", 15)]),
        ]);
        assert_eq!(e, expected);
    }

    #[test]
    fn checks_with_every_right_side() {
        let e = parse("ct.name in (a, 'b c') and json.value[/x] exists").unwrap();
        let Expr::And(parts) = e else {
            panic!("not an and")
        };
        let Expr::Check(first) = &parts[0] else {
            panic!("not a check")
        };
        assert_eq!(first.lhs, field("ct.name", 0));
        assert_eq!(first.rhs, Rhs::List(vec!["a".into(), "b c".into()]));
        let Expr::Check(second) = &parts[1] else {
            panic!("not a check")
        };
        assert_eq!(second.lhs.display(), "json.value[/x]");
        assert_eq!(second.op, Op::Exists);

        let e = parse("tolower(ct.user) = val(ct.name)").unwrap();
        let Expr::Check(c) = e else {
            panic!("not a check")
        };
        assert_eq!(c.lhs.display(), "tolower(ct.user)");
        assert_eq!(c.rhs, Rhs::Operand(field("ct.name", 23)));
    }

    #[test]
    fn errors_name_the_problem() {
        let err = |s: &str| parse(s).unwrap_err().message;
        assert_eq!(err("(ct.name=a"), "expected a ')' token");
        assert_eq!(
            err("ct.name=a b"),
            "unexpected token after 'a', expecting 'or', 'and'"
        );
        assert!(err("ct.name ~ a").starts_with("expected a valid check operator"));
        assert_eq!(err(""), "filter input string is empty");
        let deep = format!("{}a{}", "(".repeat(200), ")".repeat(200));
        assert_eq!(err(&deep), "exceeded max depth limit of 100");
    }
}
