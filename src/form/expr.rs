//! The ODK XPath subset that XLSForms use: the syntax tree, the parser and
//! the printer. Parsing knows nothing of a form; `${name}` references are
//! resolved to survey nodes by the loader, and evaluation lives in `eval`.

use std::fmt;

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
}

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
    #[error("{name}() takes {expected}, not {got}")]
    Arity {
        name: &'static str,
        expected: String,
        got: usize,
    },
    #[error(
        "path expressions like '{path}' are not supported at character {pos}: refer to fields as ${{name}}"
    )]
    Path { pos: usize, path: String },
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Ref(String),
    Name(String),
    Dot,
    DotDot,
    LParen,
    RParen,
    Comma,
    Plus,
    Minus,
    Star,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Slash,
    Pipe,
    End,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Num(n) => format!("the number {n}"),
            Tok::Str(s) => format!("the string '{s}'"),
            Tok::Ref(r) => format!("${{{r}}}"),
            Tok::Name(n) => format!("'{n}'"),
            Tok::End => "the end of the expression".to_string(),
            other => format!("'{}'", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Tok::Dot => ".",
            Tok::DotDot => "..",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::Comma => ",",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Eq => "=",
            Tok::Ne => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::Slash => "/",
            Tok::Pipe => "|",
            _ => "",
        }
    }
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// Tokens with their 1-based character positions.
fn lex(src: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pos = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let (tok, len) = match c {
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            ',' => (Tok::Comma, 1),
            '+' => (Tok::Plus, 1),
            '-' => (Tok::Minus, 1),
            '*' => (Tok::Star, 1),
            '=' => (Tok::Eq, 1),
            '/' => (Tok::Slash, 1),
            '|' => (Tok::Pipe, 1),
            '!' if chars.get(i + 1) == Some(&'=') => (Tok::Ne, 2),
            '<' if chars.get(i + 1) == Some(&'=') => (Tok::Le, 2),
            '<' => (Tok::Lt, 1),
            '>' if chars.get(i + 1) == Some(&'=') => (Tok::Ge, 2),
            '>' => (Tok::Gt, 1),
            '\'' | '"' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&q| q == c)
                    .ok_or(ParseError::UnclosedString { pos })?;
                let s: String = chars[i + 1..i + 1 + end].iter().collect();
                (Tok::Str(s), end + 2)
            }
            '$' => {
                if chars.get(i + 1) != Some(&'{') {
                    return Err(ParseError::UnexpectedChar { pos, ch: c });
                }
                let end = chars[i + 2..]
                    .iter()
                    .position(|&q| q == '}')
                    .ok_or(ParseError::BadReference { pos })?;
                let name: String = chars[i + 2..i + 2 + end].iter().collect();
                let mut it = name.chars();
                let valid = it.next().is_some_and(is_name_start) && it.all(is_name_char);
                if !valid {
                    return Err(ParseError::BadReference { pos });
                }
                (Tok::Ref(name), end + 3)
            }
            '.' if chars.get(i + 1) == Some(&'.') => (Tok::DotDot, 2),
            '.' if !chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()) => (Tok::Dot, 1),
            c if c.is_ascii_digit() || c == '.' => {
                let mut j = i;
                while j < chars.len() && chars[j].is_ascii_digit() {
                    j += 1;
                }
                if j < chars.len() && chars[j] == '.' {
                    j += 1;
                    while j < chars.len() && chars[j].is_ascii_digit() {
                        j += 1;
                    }
                }
                let text: String = chars[i..j].iter().collect();
                let n = text
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .ok_or(ParseError::UnexpectedChar { pos, ch: c })?;
                (Tok::Num(n), j - i)
            }
            c if is_name_start(c) => {
                let mut j = i + 1;
                while j < chars.len() && is_name_char(chars[j]) {
                    j += 1;
                }
                // One namespace prefix, as in jr:choice-name.
                if j + 1 < chars.len() && chars[j] == ':' && is_name_start(chars[j + 1]) {
                    j += 2;
                    while j < chars.len() && is_name_char(chars[j]) {
                        j += 1;
                    }
                }
                let name: String = chars[i..j].iter().collect();
                (Tok::Name(name), j - i)
            }
            _ => return Err(ParseError::UnexpectedChar { pos, ch: c }),
        };
        out.push((pos, tok));
        i += len;
    }
    out.push((chars.len() + 1, Tok::End));
    Ok(out)
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
            Tok::Dot => Expr::Current,
            Tok::DotDot => Expr::Parent,
            Tok::LParen => {
                let inner = self.expr(0)?;
                self.expect(Tok::RParen, "')'")?;
                inner
            }
            Tok::Name(name) if *self.peek() == Tok::LParen => {
                self.bump();
                let func =
                    Func::from_name(&name).ok_or(ParseError::UnknownFunction { pos, name })?;
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
            _ => {}
        }
    }
    deepest
}

impl Expr {
    /// Calls `f` on this expression and every sub-expression.
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

    /// The `${name}` references, in order of appearance.
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
