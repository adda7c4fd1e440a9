//! Paths in expressions: the steps after `.`, `..` or `current()` (a
//! field relative to the row, or a choice's column), and paths into a
//! data instance, `instance('id')/root/item[filter]/prop`. Its own file
//! so that the parser in `expr` stays readable.

use super::lex::Tok;
use super::{Expr, InstancePath, ParseError, Parser, Ref};

impl Parser {
    /// `instance('id')/root/item[filter]/prop`, the cursor on `(`. The
    /// item's columns in the filter are bare names, as in a choice filter.
    pub(super) fn instance(&mut self, pos: usize) -> Result<Expr, ParseError> {
        self.bump();
        let id = match self.bump() {
            Tok::Str(id) => id,
            _ => {
                return Err(ParseError::InstancePath {
                    pos,
                    path: "instance(...)".into(),
                });
            }
        };
        let mut written = format!("instance('{id}')");
        let bad = |written: &str| ParseError::InstancePath {
            pos,
            path: format!("{written}..."),
        };
        if self.bump() != Tok::RParen {
            return Err(bad(&written));
        }
        for step in ["root", "item"] {
            if self.bump() != Tok::Slash || self.bump() != Tok::Name(step.into()) {
                return Err(bad(&written));
            }
            written.push('/');
            written.push_str(step);
        }
        let mut filter = None;
        if *self.peek() == Tok::LBracket {
            self.bump();
            self.enter()?;
            filter = Some(self.expr(0)?);
            self.depth -= 1;
            if self.bump() != Tok::RBracket {
                return Err(bad(&format!("{written}[")));
            }
            written.push_str("[...]");
        }
        let mut prop = None;
        if *self.peek() == Tok::Slash {
            self.bump();
            match self.bump() {
                Tok::Name(p) => prop = Some(p),
                _ => return Err(bad(&format!("{written}/"))),
            }
        }
        if matches!(self.peek(), Tok::Slash | Tok::LBracket) {
            return Err(bad(&written));
        }
        Ok(Expr::Instance(Box::new(InstancePath { id, filter, prop })))
    }

    /// The steps after `.`, `..` or `current()`: `./col` is a column of
    /// the choice being filtered, `../name` (`current()/../name`,
    /// `../../group/name`) a field found from the row's own section. The
    /// field is kept as a `Ref` named by the path, resolved by the loader.
    pub(super) fn path(
        &mut self,
        pos: usize,
        mut ups: usize,
        from_dot: bool,
    ) -> Result<Expr, ParseError> {
        let mut names: Vec<String> = Vec::new();
        let mut written = String::from(match (ups, from_dot) {
            (_, true) => ".",
            (0, false) => "current()",
            _ => "..",
        });
        while *self.peek() == Tok::Slash {
            self.bump();
            written.push('/');
            match self.bump() {
                Tok::DotDot if names.is_empty() => {
                    ups += 1;
                    written.push_str("..");
                }
                Tok::Dot => written.push('.'),
                Tok::Name(n) => {
                    written.push_str(&n);
                    names.push(n);
                }
                _ => {
                    written.push_str("...");
                    return Err(ParseError::Path { pos, path: written });
                }
            }
        }
        match (ups, names.as_slice()) {
            (0, [column]) if from_dot => Ok(Expr::Column(column.clone())),
            (1.., [_, ..]) if !from_dot => Ok(Expr::Ref(Ref {
                name: format!("{}{}", "../".repeat(ups), names.join("/")),
                node: None,
            })),
            _ => Err(ParseError::Path { pos, path: written }),
        }
    }
}
