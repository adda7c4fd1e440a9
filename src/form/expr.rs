//! The ODK XPath subset that XLSForms use: the syntax tree, the parser and
//! the printer. Parsing knows nothing of a form; `${name}` references are
//! resolved to survey nodes by the loader, and evaluation lives in `eval`.
//! Relative paths (`../name`, `current()/../name`) are kept as references
//! named by their path, `./column` as a choice column (paths, and paths
//! into data instances, are parsed in `path`); tokens come from `lex`.

use std::fmt;

mod lex;
mod path;
use lex::{Tok, lex};

/// Longest expression accepted, in characters: a guard for fuzzed input, far
/// above anything a form designer writes.
pub const MAX_LEN: usize = 20_000;
/// Deepest nesting of parentheses, calls and operators accepted.
pub const MAX_DEPTH: usize = 64;
/// Deepest syntax tree accepted (chains of operators count), so that
/// evaluating and printing stay far from the stack's limit.
pub const MAX_TREE_DEPTH: usize = 256;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    Str(String),
    /// `${name}`; `node` is filled in by the loader.
    Ref(Ref),
    /// `.`: the answer being checked (constraints) or the current question.
    Current,
    /// `..`: the enclosing repeat instance, as in `position(..)`.
    Parent,
    /// A bare name: a column of the choice being filtered (choice_filter).
    Column(String),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
    /// `instance('id')/root/item[filter]/prop`: items of a data instance.
    Instance(Box<InstancePath>),
}

/// A path into a data instance (a CSV list beside the form, an entity
/// list, or a choice list of the form): `instance('sites')/root/item[name =
/// ${site}]/last_total`. Bare names in the filter are the item's columns.
#[derive(Debug, Clone, PartialEq)]
pub struct InstancePath {
    /// The instance: a CSV's file name without `.csv`, or a list name.
    pub id: String,
    /// The predicate in `[...]`, if any.
    pub filter: Option<Expr>,
    /// The column read (`name`, `label`, or a property); None reads the
    /// items themselves (their names), as `count(...)` does.
    pub prop: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ref {
    pub name: String,
    /// The survey node named, once resolved: a `model::NodeId` (an index
    /// into `Form::nodes`), spelled `usize` so that expressions do not
    /// import the model that holds them.
    pub node: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Eq => "=",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "div",
            BinOp::Mod => "mod",
        }
    }

    /// Left and right binding power, XPath 1.0 precedence.
    fn binding(self) -> (u8, u8) {
        match self {
            BinOp::Or => (1, 2),
            BinOp::And => (3, 4),
            BinOp::Eq | BinOp::Ne => (5, 6),
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => (7, 8),
            BinOp::Add | BinOp::Sub => (9, 10),
            BinOp::Mul | BinOp::Div | BinOp::Mod => (11, 12),
        }
    }
}

macro_rules! functions {
    ($($variant:ident = $name:literal ($min:literal, $max:expr)),* $(,)?) => {
        /// Every function the engine knows; anything else is a load-time error.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Func { $($variant),* }

        impl Func {
            pub const ALL: &'static [Func] = &[$(Func::$variant),*];

            pub fn name(self) -> &'static str {
                match self { $(Func::$variant => $name),* }
            }

            pub fn from_name(name: &str) -> Option<Func> {
                match name { $($name => Some(Func::$variant),)* _ => None }
            }

            /// Smallest and largest number of arguments.
            pub fn arity(self) -> (usize, usize) {
                match self { $(Func::$variant => ($min, $max)),* }
            }
        }
    };
}

const MANY: usize = usize::MAX;

functions! {
    If = "if"(3, 3),
    Not = "not"(1, 1),
    True = "true"(0, 0),
    False = "false"(0, 0),
    Boolean = "boolean"(1, 1),
    Selected = "selected"(2, 2),
    CountSelected = "count-selected"(1, 1),
    SelectedAt = "selected-at"(2, 2),
    ChoiceName = "jr:choice-name"(2, 2),
    StringLength = "string-length"(0, 1),
    Concat = "concat"(0, MANY),
    Join = "join"(2, 2),
    Substr = "substr"(2, 3),
    Contains = "contains"(2, 2),
    StartsWith = "starts-with"(2, 2),
    EndsWith = "ends-with"(2, 2),
    NormalizeSpace = "normalize-space"(0, 1),
    Regex = "regex"(2, 2),
    Coalesce = "coalesce"(2, 2),
    String = "string"(0, 1),
    Number = "number"(0, 1),
    Int = "int"(1, 1),
    Round = "round"(1, 2),
    Floor = "floor"(1, 1),
    Ceiling = "ceiling"(1, 1),
    Abs = "abs"(1, 1),
    Pow = "pow"(2, 2),
    Min = "min"(1, MANY),
    Max = "max"(1, MANY),
    Sum = "sum"(1, 1),
    Count = "count"(1, 1),
    CountNonEmpty = "count-non-empty"(1, 1),
    Position = "position"(0, 1),
    IndexedRepeat = "indexed-repeat"(3, 7),
    Today = "today"(0, 0),
    Now = "now"(0, 0),
    Date = "date"(1, 1),
    DecimalDateTime = "decimal-date-time"(1, 1),
    FormatDate = "format-date"(2, 2),
    // ODK's further functions (issue 18), worked out in `eval::odk`.
    Once = "once"(1, 1),
    Random = "random"(0, 0),
    Uuid = "uuid"(0, 1),
    SubstringBefore = "substring-before"(2, 2),
    SubstringAfter = "substring-after"(2, 2),
    Translate = "translate"(3, 3),
    BooleanFromString = "boolean-from-string"(1, 1),
    Base64Decode = "base64-decode"(1, 1),
    Digest = "digest"(2, 3),
    Log = "log"(1, 1),
    Log10 = "log10"(1, 1),
    Exp = "exp"(1, 1),
    Exp10 = "exp10"(1, 1),
    Sqrt = "sqrt"(1, 1),
    Sin = "sin"(1, 1),
    Cos = "cos"(1, 1),
    Tan = "tan"(1, 1),
    Asin = "asin"(1, 1),
    Acos = "acos"(1, 1),
    Atan = "atan"(1, 1),
    Atan2 = "atan2"(2, 2),
    Pi = "pi"(0, 0),
    DecimalTime = "decimal-time"(1, 1),
    FormatDateTime = "format-date-time"(2, 2),
    DateTime = "date-time"(1, 1),
    Checklist = "checklist"(2, MANY),
    WeightedChecklist = "weighted-checklist"(2, MANY),
    Area = "area"(1, 1),
    Distance = "distance"(1, MANY),
    // Data instances (issue 18 part 5, issue 20): `eval::lookup`.
    Pulldata = "pulldata"(4, 4),
}

/// ODK functions fieldkit does not compute, and why: named when a form
/// uses one, instead of "unknown function".
pub const REFUSED_FUNCTIONS: &[(&str, &str)] = &[
    (
        "extract-signed",
        "checks a signature with a key fieldkit does not hold",
    ),
    (
        "last-saved",
        "reads the last record saved on the device, which fieldkit does not keep readable",
    ),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the expression is empty")]
    Empty,
    #[error("the expression is longer than {MAX_LEN} characters")]
    TooLong,
    #[error(
        "the expression is nested too deeply (over {MAX_DEPTH} parentheses or calls, or a chain of \
         over {MAX_TREE_DEPTH} operations); split it into calculate rows"
    )]
    TooDeep,
    #[error("unexpected character '{ch}' at character {pos}")]
    UnexpectedChar { pos: usize, ch: char },
    #[error("the string starting at character {pos} is never closed")]
    UnclosedString { pos: usize },
    #[error("'${{' at character {pos} is not closed by '}}' around a field name")]
    BadReference { pos: usize },
    #[error("{found} at character {pos}, where {expected} was expected")]
    Unexpected {
        pos: usize,
        found: String,
        expected: &'static str,
    },
    #[error("unknown function '{name}()' at character {pos}")]
    UnknownFunction { pos: usize, name: String },
    #[error("{name}() at character {pos} {why}; remove it or work its value out another way")]
    RefusedFunction {
        pos: usize,
        name: String,
        why: &'static str,
    },
    #[error("{name}() takes {expected}, not {got}")]
    Arity {
        name: &'static str,
        expected: String,
        got: usize,
    },
    #[error(
        "'{path}' at character {pos} is not a path fieldkit follows into a data instance: write \
         instance('list')/root/item[column = ${{field}}]/property, as XLSForm does"
    )]
    InstancePath { pos: usize, path: String },
    #[error(
        "the path '{path}' at character {pos} is not one fieldkit follows: refer to fields as \
         ${{name}}, or relative to the row as ../name (current()/../name in a choice filter), and \
         to a choice's column as ./column"
    )]
    Path { pos: usize, path: String },
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.at].1
    }

    fn pos(&self) -> usize {
        self.toks[self.at].0
    }

    fn bump(&mut self) -> Tok {
        let tok = self.toks[self.at].1.clone();
        if self.at + 1 < self.toks.len() {
            self.at += 1;
        }
        tok
    }

    fn unexpected(&self, expected: &'static str) -> ParseError {
        ParseError::Unexpected {
            pos: self.pos(),
            found: self.peek().describe(),
            expected,
        }
    }

    fn expect(&mut self, tok: Tok, expected: &'static str) -> Result<(), ParseError> {
        if *self.peek() == tok {
            self.bump();
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            Err(ParseError::TooDeep)
        } else {
            Ok(())
        }
    }

    /// The operator at the cursor, if the cursor is where an operator goes.
    fn infix(&self) -> Option<BinOp> {
        Some(match self.peek() {
            Tok::Plus => BinOp::Add,
            Tok::Minus => BinOp::Sub,
            Tok::Star => BinOp::Mul,
            Tok::Eq => BinOp::Eq,
            Tok::Ne => BinOp::Ne,
            Tok::Lt => BinOp::Lt,
            Tok::Le => BinOp::Le,
            Tok::Gt => BinOp::Gt,
            Tok::Ge => BinOp::Ge,
            Tok::Name(n) => match n.as_str() {
                "and" => BinOp::And,
                "or" => BinOp::Or,
                "div" => BinOp::Div,
                "mod" => BinOp::Mod,
                _ => return None,
            },
            _ => return None,
        })
    }

    fn expr(&mut self, min_bp: u8) -> Result<Expr, ParseError> {
        self.enter()?;
        let mut lhs = self.unary()?;
        while let Some(op) = self.infix() {
            let (l_bp, r_bp) = op.binding();
            if l_bp < min_bp {
                break;
            }
            self.bump();
            let rhs = self.expr(r_bp)?;
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        self.depth -= 1;
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if *self.peek() == Tok::Minus {
            self.bump();
            self.enter()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Neg(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let pos = self.pos();
        let expr = match self.bump() {
            Tok::Num(n) => Expr::Num(n),
            Tok::Str(s) => Expr::Str(s),
            Tok::Ref(name) => Expr::Ref(Ref { name, node: None }),
            Tok::Dot if *self.peek() == Tok::Slash => return self.path(pos, 0, true),
            Tok::DotDot if *self.peek() == Tok::Slash => return self.path(pos, 1, false),
            Tok::Dot => Expr::Current,
            Tok::DotDot => Expr::Parent,
            Tok::Name(name)
                if name == "current"
                    && *self.peek() == Tok::LParen
                    && self.toks.get(self.at + 1).map(|t| &t.1) == Some(&Tok::RParen) =>
            {
                self.bump();
                self.bump();
                if *self.peek() == Tok::Slash {
                    return self.path(pos, 0, false);
                }
                Expr::Current
            }
            Tok::LParen => {
                let inner = self.expr(0)?;
                self.expect(Tok::RParen, "')'")?;
                inner
            }
            Tok::Name(name) if name == "instance" && *self.peek() == Tok::LParen => {
                return self.instance(pos);
            }
            Tok::Name(name) if *self.peek() == Tok::LParen => {
                self.bump();
                let func = match Func::from_name(&name) {
                    Some(f) => f,
                    None => {
                        return Err(match REFUSED_FUNCTIONS.iter().find(|(n, _)| *n == name) {
                            Some((_, why)) => ParseError::RefusedFunction { pos, name, why },
                            None => ParseError::UnknownFunction { pos, name },
                        });
                    }
                };
                let mut args = Vec::new();
                if *self.peek() != Tok::RParen {
                    loop {
                        args.push(self.expr(0)?);
                        if *self.peek() == Tok::Comma {
                            self.bump();
                        } else {
                            break;
                        }
                    }
                }
                self.expect(Tok::RParen, "',' or ')'")?;
                check_arity(func, args.len())?;
                Expr::Call(func, args)
            }
            Tok::Name(name) => Expr::Column(name),
            Tok::Slash => {
                return Err(ParseError::Path {
                    pos,
                    path: "/...".into(),
                });
            }
            found => {
                return Err(ParseError::Unexpected {
                    pos,
                    found: found.describe(),
                    expected: "a value, a ${field} or a function call",
                });
            }
        };
        if matches!(self.peek(), Tok::Slash) {
            return Err(ParseError::Path {
                pos,
                path: format!("{expr}/..."),
            });
        }
        Ok(expr)
    }
}

fn check_arity(func: Func, got: usize) -> Result<(), ParseError> {
    let (min, max) = func.arity();
    if func == Func::IndexedRepeat && got.is_multiple_of(2) {
        return Err(ParseError::Arity {
            name: func.name(),
            expected: "3, 5 or 7 arguments (a field, then repeat and position pairs)".into(),
            got,
        });
    }
    if func == Func::WeightedChecklist && !got.is_multiple_of(2) {
        return Err(ParseError::Arity {
            name: func.name(),
            expected: "a minimum, a maximum, then pairs of a value and its weight".into(),
            got,
        });
    }
    if got >= min && got <= max {
        return Ok(());
    }
    let expected = match (min, max) {
        (a, b) if a == b => format!("{a} argument{}", if a == 1 { "" } else { "s" }),
        (a, MANY) => format!("at least {a} argument{}", if a == 1 { "" } else { "s" }),
        (a, b) => format!("{a} to {b} arguments"),
    };
    Err(ParseError::Arity {
        name: func.name(),
        expected,
        got,
    })
}

/// Parses one expression. Never panics, whatever the input.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    if src.chars().count() > MAX_LEN {
        return Err(ParseError::TooLong);
    }
    let toks = lex(src)?;
    if toks.len() == 1 {
        return Err(ParseError::Empty);
    }
    let mut p = Parser {
        toks,
        at: 0,
        depth: 0,
    };
    let expr = p.expr(0)?;
    if *p.peek() != Tok::End {
        return Err(p.unexpected("an operator or the end of the expression"));
    }
    if tree_depth(&expr) > MAX_TREE_DEPTH {
        return Err(ParseError::TooDeep);
    }
    Ok(expr)
}

/// Depth of the syntax tree, measured without recursion (a long chain like
/// `a + b + c + ...` nests on the left without any parenthesis).
fn tree_depth(expr: &Expr) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(expr, 1)];
    while let Some((e, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        match e {
            Expr::Neg(inner) => stack.push((inner, depth + 1)),
            Expr::Binary(_, a, b) => {
                stack.push((a, depth + 1));
                stack.push((b, depth + 1));
            }
            Expr::Call(_, args) => stack.extend(args.iter().map(|a| (a, depth + 1))),
            Expr::Instance(p) => stack.extend(p.filter.iter().map(|f| (f, depth + 1))),
            _ => {}
        }
    }
    deepest
}

impl Expr {
    /// Calls `f` on this expression and every sub-expression, except
    /// those inside an instance path's filter (where bare names are the
    /// item's columns, not the choice's): `refs` and the loader go there.
    pub fn walk(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Neg(e) => e.walk(f),
            Expr::Binary(_, a, b) => {
                a.walk(f);
                b.walk(f);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.walk(f)),
            _ => {}
        }
    }

    pub fn walk_mut(&mut self, f: &mut impl FnMut(&mut Expr)) {
        f(self);
        match self {
            Expr::Neg(e) => e.walk_mut(f),
            Expr::Binary(_, a, b) => {
                a.walk_mut(f);
                b.walk_mut(f);
            }
            Expr::Call(_, args) => args.iter_mut().for_each(|a| a.walk_mut(f)),
            _ => {}
        }
    }

    /// The `${name}` references, in order of appearance (those in
    /// instance filters included).
    pub fn refs(&self) -> Vec<&Ref> {
        let mut refs = Vec::new();
        collect_refs(self, &mut refs);
        refs
    }
}

fn collect_refs<'a>(e: &'a Expr, out: &mut Vec<&'a Ref>) {
    match e {
        Expr::Ref(r) => out.push(r),
        Expr::Neg(inner) => collect_refs(inner, out),
        Expr::Binary(_, a, b) => {
            collect_refs(a, out);
            collect_refs(b, out);
        }
        Expr::Call(_, args) => args.iter().for_each(|a| collect_refs(a, out)),
        Expr::Instance(p) => p.filter.iter().for_each(|f| collect_refs(f, out)),
        _ => {}
    }
}

impl Expr {
    /// Writes the expression, with parentheses only where the operators'
    /// precedence needs them, so that it parses back to the same tree.
    fn write(&self, f: &mut fmt::Formatter<'_>, parens: bool) -> fmt::Result {
        if parens {
            f.write_str("(")?;
            self.write(f, false)?;
            return f.write_str(")");
        }
        let precedence = |e: &Expr| match e {
            Expr::Binary(op, ..) => Some(op.binding().0),
            _ => None,
        };
        match self {
            Expr::Num(n) => write!(f, "{n}"),
            Expr::Str(s) if s.contains('\'') => write!(f, "\"{s}\""),
            Expr::Str(s) => write!(f, "'{s}'"),
            // A relative path (`../name`) is written as it was.
            Expr::Ref(r) if r.name.starts_with('.') => f.write_str(&r.name),
            Expr::Ref(r) => write!(f, "${{{}}}", r.name),
            Expr::Current => f.write_str("."),
            Expr::Parent => f.write_str(".."),
            Expr::Column(c) => f.write_str(c),
            Expr::Neg(e) => {
                f.write_str("-")?;
                e.write(f, precedence(e).is_some())
            }
            Expr::Binary(op, a, b) => {
                let mine = op.binding().0;
                a.write(f, precedence(a).is_some_and(|p| p < mine))?;
                write!(f, " {} ", op.symbol())?;
                b.write(f, precedence(b).is_some_and(|p| p <= mine))
            }
            Expr::Call(func, args) => {
                write!(f, "{}(", func.name())?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    a.write(f, false)?;
                }
                f.write_str(")")
            }
            Expr::Instance(p) => {
                if p.id.contains('\'') {
                    write!(f, "instance(\"{}\")/root/item", p.id)?;
                } else {
                    write!(f, "instance('{}')/root/item", p.id)?;
                }
                if let Some(filter) = &p.filter {
                    f.write_str("[")?;
                    filter.write(f, false)?;
                    f.write_str("]")?;
                }
                match &p.prop {
                    Some(prop) => write!(f, "/{prop}"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl fmt::Display for Expr {
    /// Prints an expression that parses back to the same tree.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, false)
    }
}

#[cfg(test)]
#[path = "expr_tests.rs"]
mod tests;
