//! The lexer of expressions: characters to tokens with their positions.
//! Its own file so that the parser and printer in `expr` stay readable.

use super::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
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
    LBracket,
    RBracket,
    End,
}

impl Tok {
    pub(super) fn describe(&self) -> String {
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
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            _ => "",
        }
    }
}

pub(super) fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

pub(super) fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// Tokens with their 1-based character positions.
pub(super) fn lex(src: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
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
            '[' => (Tok::LBracket, 1),
            ']' => (Tok::RBracket, 1),
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
                // A language after `::`, as in label::English (a choice
                // filter reading a translated label).
                if j + 2 < chars.len()
                    && chars[j] == ':'
                    && chars[j + 1] == ':'
                    && is_name_start(chars[j + 2])
                {
                    j += 3;
                    while j < chars.len() && is_name_char(chars[j]) {
                        j += 1;
                    }
                }
                // One namespace prefix, as in jr:choice-name.
                else if j + 1 < chars.len() && chars[j] == ':' && is_name_start(chars[j + 1]) {
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
