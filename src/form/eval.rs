//! Evaluation of expressions with XPath 1.0 / ODK coercions: empty strings
//! are NaN in arithmetic, dates compare as days since the epoch, a
//! select_multiple answer is a space-separated string. The values of fields
//! come from a `Scope`, so evaluation does no I/O and knows no storage
//! (random bits too: `Scope::random_bits`; data instances: `Scope::instance`,
//! looked up in `lookup`). ODK's further functions (math,
//! strings, digests, checklists, geometry, once/random/uuid) are `odk`'s.

mod lookup;
mod odk;

pub(crate) use lookup::indexed;

pub(crate) use odk::DIGESTS;

use super::dates::{self, DateTime};
use super::expr::{BinOp, Expr, Func};
use super::limits::MAX_TEXT_BYTES;
use super::model::{ChoiceList, NodeId};

/// The value of an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum XVal {
    Str(String),
    Num(f64),
    Bool(bool),
    /// Days since 1970-01-01.
    Date(i64),
    DateTime(DateTime),
    /// The values of one field across repeat instances.
    Set(Vec<String>),
}

/// Where an expression is evaluated: the answers it can see.
pub trait Scope {
    /// `${name}`: one value, or a `Set` when the field repeats beyond the context.
    fn field(&self, node: NodeId) -> XVal;
    /// `.`
    fn current(&self) -> XVal;
    /// 1-based position of the innermost repeat instance, if any.
    fn position(&self) -> Option<usize>;
    /// A bare name: a column of the choice being filtered.
    fn column(&self, name: &str) -> XVal;
    /// The label of `value` in the choice list of the select named `field`.
    fn choice_label(&self, field: &str, value: &str) -> String;
    fn now(&self) -> DateTime;
    /// `indexed-repeat()`: `field` with the given repeats at 1-based instances.
    fn indexed_repeat(&self, field: NodeId, at: &[(NodeId, usize)]) -> XVal;
    fn regex_match(&self, text: &str, pattern: &str) -> bool;
    /// Told when a string would be longer than [`MAX_TEXT_BYTES`]: the
    /// evaluation gives an empty string instead, and the scope reports it.
    fn too_long(&self) {}
    /// 64 random bits for `random()` and `uuid()`: each call in one
    /// evaluation gets new bits; the same question in the same record
    /// instance of the same session gets the same ones again.
    fn random_bits(&self) -> u64 {
        0
    }
    /// The data instance `id` (`instance('id')`, `pulldata('id', ...)`).
    fn instance(&self, _id: &str) -> Option<&ChoiceList> {
        None
    }
}

/// XPath's string form of a number: integers without a fraction.
pub fn number_to_string(n: f64) -> String {
    if n.is_nan() {
        "NaN".into()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if n == n.trunc() && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// XPath's number(): decimal notation only; dates and date-times as days.
pub fn string_to_number(s: &str) -> f64 {
    let t = s.trim();
    let unsigned = t.strip_prefix('-').unwrap_or(t);
    let mut dots = 0;
    let plain = !unsigned.is_empty()
        && unsigned != "."
        && unsigned.bytes().all(|b| {
            dots += usize::from(b == b'.');
            b.is_ascii_digit() || b == b'.'
        })
        && dots <= 1;
    if plain {
        return t.parse().unwrap_or(f64::NAN);
    }
    if let Some(days) = dates::parse_date(t) {
        return days as f64;
    }
    if let Some(dt) = dates::parse_datetime(t, 0) {
        return dt.decimal_days();
    }
    f64::NAN
}

impl XVal {
    pub fn to_num(&self) -> f64 {
        match self {
            XVal::Str(s) => string_to_number(s),
            XVal::Num(n) => *n,
            XVal::Bool(b) => f64::from(u8::from(*b)),
            XVal::Date(d) => *d as f64,
            XVal::DateTime(dt) => dt.decimal_days(),
            XVal::Set(v) => v.first().map_or(f64::NAN, |s| string_to_number(s)),
        }
    }

    pub fn to_bool(&self) -> bool {
        match self {
            XVal::Str(s) => !s.is_empty(),
            XVal::Num(n) => *n != 0.0 && !n.is_nan(),
            XVal::Bool(b) => *b,
            XVal::Date(_) | XVal::DateTime(_) => true,
            XVal::Set(v) => !v.is_empty(),
        }
    }

    pub fn into_string(self) -> String {
        match self {
            XVal::Str(s) => s,
            XVal::Set(mut v) => {
                if v.is_empty() {
                    String::new()
                } else {
                    v.swap_remove(0)
                }
            }
            other => other.to_string(),
        }
    }

    /// The string values: each member of a set, or the one value.
    pub(crate) fn strings(self) -> Vec<String> {
        match self {
            XVal::Set(v) => v,
            other => vec![other.into_string()],
        }
    }

    pub(crate) fn to_date(&self) -> Option<i64> {
        match self {
            XVal::Date(d) => Some(*d),
            XVal::DateTime(dt) => Some(dt.local_date()),
            // Beyond ±100 million days (±270,000 years) is no date.
            XVal::Num(n) if n.abs() < 1e8 => Some(n.floor() as i64),
            XVal::Str(_) | XVal::Set(_) => {
                let s = self.clone().into_string();
                let s = s.trim();
                dates::parse_date(s)
                    .or_else(|| dates::parse_datetime(s, 0).map(|dt| dt.local_date()))
                    .or_else(|| {
                        let n = string_to_number(s);
                        (n.abs() < 1e8).then(|| n.floor() as i64)
                    })
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for XVal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            XVal::Str(s) => f.write_str(s),
            XVal::Num(n) => f.write_str(&number_to_string(*n)),
            XVal::Bool(b) => f.write_str(if *b { "true" } else { "false" }),
            XVal::Date(d) => f.write_str(&dates::format_date(*d)),
            XVal::DateTime(dt) => write!(f, "{dt}"),
            XVal::Set(v) => f.write_str(v.first().map_or("", String::as_str)),
        }
    }
}

fn compare(op: BinOp, a: &XVal, b: &XVal) -> bool {
    use XVal::*;
    match (a, b) {
        // XPath 1.0: a node-set against a boolean compares boolean(node-set).
        (Set(_), Bool(_)) | (Bool(_), Set(_)) if matches!(op, BinOp::Eq | BinOp::Ne) => {
            (a.to_bool() == b.to_bool()) == (op == BinOp::Eq)
        }
        (Set(xs), Set(ys)) => xs.iter().any(|x| {
            ys.iter()
                .any(|y| compare(op, &Str(x.clone()), &Str(y.clone())))
        }),
        (Set(xs), other) => xs.iter().any(|x| compare(op, &Str(x.clone()), other)),
        (other, Set(ys)) => ys.iter().any(|y| compare(op, other, &Str(y.clone()))),
        _ => match op {
            BinOp::Eq | BinOp::Ne => {
                let equal = match (a, b) {
                    (Bool(_), _) | (_, Bool(_)) => a.to_bool() == b.to_bool(),
                    (Str(x), Str(y)) => x == y,
                    _ => a.to_num() == b.to_num(),
                };
                equal == (op == BinOp::Eq)
            }
            _ => {
                let (x, y) = (a.to_num(), b.to_num());
                match op {
                    BinOp::Lt => x < y,
                    BinOp::Le => x <= y,
                    BinOp::Gt => x > y,
                    _ => x >= y,
                }
            }
        },
    }
}

fn arith(op: BinOp, x: f64, y: f64) -> f64 {
    match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div => x / y,
        _ => x % y,
    }
}

/// XPath round(): the closest integer, halves toward positive infinity.
fn round_xpath(x: f64) -> f64 {
    if x.is_finite() && x - x.floor() == 0.5 {
        x.ceil()
    } else {
        x.round()
    }
}

/// round(x, digits) on the decimal form of `x` (as JavaRosa and Excel do,
/// so round(1.005, 2) is 1.01), halves toward positive infinity.
fn round_digits(x: f64, digits: f64) -> f64 {
    if !digits.is_finite() {
        return f64::NAN;
    }
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    let d = digits.trunc().clamp(-400.0, 400.0) as i64;
    let sci = format!("{:e}", x.abs());
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return f64::NAN;
    };
    let Ok(exp) = exp.parse::<i64>() else {
        return f64::NAN;
    };
    let digits: Vec<u8> = mantissa
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    // Digits kept: those whose place value is at least 10^-d.
    let keep = exp + d + 1;
    if keep >= digits.len() as i64 {
        return x;
    }
    if keep < 0 {
        return 0.0;
    }
    let keep = keep as usize;
    let kept = digits[..keep]
        .iter()
        .fold(0u64, |n, &g| n * 10 + u64::from(g));
    let dropped = digits[keep];
    let rest_nonzero = digits[keep + 1..].iter().any(|&g| g != 0);
    let up = dropped > 5 || (dropped == 5 && (x > 0.0 || rest_nonzero));
    let magnitude: f64 = format!("{}e{}", kept + u64::from(up), -d)
        .parse()
        .unwrap_or(f64::NAN);
    if magnitude == 0.0 {
        0.0
    } else {
        magnitude.copysign(x)
    }
}

/// The date written by `pattern`; None when that is longer than
/// [`MAX_TEXT_BYTES`].
fn format_date(date: &XVal, pattern: &str) -> Option<String> {
    let as_datetime = match date {
        XVal::DateTime(dt) => Some(*dt),
        XVal::Str(text) => dates::parse_datetime(text.trim(), 0),
        _ => None,
    };
    let (days, ms) = match as_datetime {
        Some(dt) => dt.local(),
        None => match date.to_date() {
            Some(d) => (d, 0),
            None => return Some(String::new()),
        },
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let (y, m, d) = dates::civil_from_days(days);
    let (h, mi, s) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60);
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if out.len() > MAX_TEXT_BYTES {
            return None;
        }
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(&format!("{y:04}")),
            Some('y') => out.push_str(&format!("{:02}", y.rem_euclid(100))),
            Some('m') => out.push_str(&format!("{m:02}")),
            Some('n') => out.push_str(&m.to_string()),
            Some('b') => out.push_str(MONTHS[(m - 1) as usize]),
            Some('d') => out.push_str(&format!("{d:02}")),
            Some('e') => out.push_str(&d.to_string()),
            Some('a') => out.push_str(WEEKDAYS[days.rem_euclid(7) as usize]),
            Some('H') => out.push_str(&format!("{h:02}")),
            Some('h') => out.push_str(&h.to_string()),
            Some('M') => out.push_str(&format!("{mi:02}")),
            Some('S') => out.push_str(&format!("{s:02}")),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    (out.len() <= MAX_TEXT_BYTES).then_some(out)
}

/// Evaluates `expr` in `scope`. Never panics; bad arithmetic gives NaN and
/// bad dates give an empty string, as in ODK.
pub fn eval(expr: &Expr, scope: &impl Scope) -> XVal {
    use XVal::*;
    match expr {
        Expr::Num(n) => Num(*n),
        Expr::Str(s) => Str(s.clone()),
        Expr::Ref(r) => match r.node {
            Some(node) => scope.field(node),
            None => Str(String::new()),
        },
        Expr::Current => scope.current(),
        Expr::Parent => Str(String::new()),
        Expr::Column(name) => scope.column(name),
        Expr::Neg(e) => Num(-eval(e, scope).to_num()),
        Expr::Binary(op, a, b) => match op {
            BinOp::And => Bool(eval(a, scope).to_bool() && eval(b, scope).to_bool()),
            BinOp::Or => Bool(eval(a, scope).to_bool() || eval(b, scope).to_bool()),
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                Bool(compare(*op, &eval(a, scope), &eval(b, scope)))
            }
            _ => Num(arith(*op, eval(a, scope).to_num(), eval(b, scope).to_num())),
        },
        Expr::Call(func, args) => call(*func, args, scope),
        Expr::Instance(path) => lookup::instance_path(path, scope),
    }
}

fn call(func: Func, args: &[Expr], scope: &impl Scope) -> XVal {
    use XVal::*;
    if let Some(v) = odk::call(func, args, scope) {
        return v;
    }
    let arg = |i: usize| args.get(i).map_or(Str(String::new()), |a| eval(a, scope));
    let text = |i: usize| arg(i).into_string();
    let num = |i: usize| arg(i).to_num();
    let current_or = |i: usize| {
        if args.is_empty() {
            scope.current().into_string()
        } else {
            text(i)
        }
    };
    match func {
        Func::If => {
            if arg(0).to_bool() {
                arg(1)
            } else {
                arg(2)
            }
        }
        Func::Not => Bool(!arg(0).to_bool()),
        Func::True => Bool(true),
        Func::False => Bool(false),
        Func::Boolean => Bool(arg(0).to_bool()),
        Func::Selected => {
            let wanted = text(1);
            let wanted = wanted.trim();
            Bool(text(0).split_whitespace().any(|c| c == wanted))
        }
        Func::CountSelected => Num(text(0).split_whitespace().count() as f64),
        Func::SelectedAt => {
            let i = num(1);
            let picked = (i >= 0.0 && i.is_finite())
                .then(|| {
                    text(0)
                        .split_whitespace()
                        .nth(i as usize)
                        .map(str::to_string)
                })
                .flatten();
            Str(picked.unwrap_or_default())
        }
        Func::ChoiceName => {
            let field = text(1);
            let field = field.trim();
            let name = field
                .strip_prefix("${")
                .and_then(|f| f.strip_suffix('}'))
                .unwrap_or(field);
            Str(scope.choice_label(name, text(0).trim()))
        }
        Func::StringLength => Num(current_or(0).chars().count() as f64),
        Func::Concat => {
            let mut out = String::new();
            for a in args {
                for piece in eval(a, scope).strings() {
                    if out.len() + piece.len() > MAX_TEXT_BYTES {
                        scope.too_long();
                        return Str(String::new());
                    }
                    out.push_str(&piece);
                }
            }
            Str(out)
        }
        Func::Join => {
            let pieces = arg(1).strings();
            let separator = text(0);
            let total = pieces.iter().map(String::len).sum::<usize>()
                + separator.len() * pieces.len().saturating_sub(1);
            if total > MAX_TEXT_BYTES {
                scope.too_long();
                return Str(String::new());
            }
            Str(pieces.join(&separator))
        }
        Func::Substr => {
            let s: Vec<char> = text(0).chars().collect();
            let len = s.len() as f64;
            let start = num(1);
            let end = if args.len() > 2 { num(2) } else { len };
            if start.is_nan() || end.is_nan() {
                return Str(String::new());
            }
            // Negative positions count from the end, as in JavaRosa and Enketo.
            let from_end = |i: f64| if i < 0.0 { len + i } else { i };
            let start = from_end(start).clamp(0.0, len) as usize;
            let end = from_end(end).clamp(0.0, len) as usize;
            Str(s.get(start..end.max(start)).unwrap_or(&[]).iter().collect())
        }
        Func::Contains => Bool(text(0).contains(&text(1))),
        Func::StartsWith => Bool(text(0).starts_with(&text(1))),
        Func::EndsWith => Bool(text(0).ends_with(&text(1))),
        Func::NormalizeSpace => Str(current_or(0)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")),
        Func::Regex => Bool(scope.regex_match(&text(0), &text(1))),
        Func::Coalesce => match arg(0) {
            Num(n) if n.is_nan() => arg(1),
            first => {
                let first = first.into_string();
                if first.is_empty() { arg(1) } else { Str(first) }
            }
        },
        Func::String => Str(current_or(0)),
        Func::Number => {
            if args.is_empty() {
                Num(scope.current().to_num())
            } else {
                Num(num(0))
            }
        }
        Func::Int => Num(num(0).trunc()),
        Func::Round => {
            let x = num(0);
            if args.len() > 1 {
                Num(round_digits(x, num(1)))
            } else {
                Num(round_xpath(x))
            }
        }
        Func::Floor => Num(num(0).floor()),
        Func::Ceiling => Num(num(0).ceil()),
        Func::Abs => Num(num(0).abs()),
        Func::Pow => Num(num(0).powf(num(1))),
        Func::Min | Func::Max => {
            let values: Vec<f64> = args
                .iter()
                .flat_map(|a| match eval(a, scope) {
                    Set(members) => members.iter().map(|m| string_to_number(m)).collect(),
                    other => vec![other.to_num()],
                })
                .collect();
            if values.is_empty() || values.iter().any(|v| v.is_nan()) {
                return Num(f64::NAN);
            }
            let pick = if func == Func::Min {
                f64::min
            } else {
                f64::max
            };
            Num(values.into_iter().reduce(pick).unwrap_or(f64::NAN))
        }
        Func::Sum => Num(arg(0).strings().iter().map(|s| string_to_number(s)).sum()),
        Func::Count => Num(match arg(0) {
            Set(v) => v.len() as f64,
            _ => 1.0,
        }),
        Func::CountNonEmpty => {
            Num(arg(0).strings().iter().filter(|s| !s.is_empty()).count() as f64)
        }
        Func::Position => scope.position().map_or(Num(f64::NAN), |p| Num(p as f64)),
        Func::IndexedRepeat => {
            let Some(Expr::Ref(field)) = args.first() else {
                return Str(String::new());
            };
            let mut at = Vec::new();
            for pair in args[1..].chunks(2) {
                let (Expr::Ref(repeat), Some(index)) = (&pair[0], pair.get(1)) else {
                    return Str(String::new());
                };
                let i = eval(index, scope).to_num();
                let (Some(repeat), true) = (repeat.node, i >= 1.0 && i.is_finite()) else {
                    return Str(String::new());
                };
                at.push((repeat, i as usize));
            }
            match field.node {
                Some(node) => scope.indexed_repeat(node, &at),
                None => Str(String::new()),
            }
        }
        Func::Today => Date(scope.now().local_date()),
        Func::Now => DateTime(scope.now()),
        Func::Date => match arg(0) {
            DateTime(dt) => Date(dt.local_date()),
            other => other.to_date().map_or(Str(String::new()), Date),
        },
        Func::DecimalDateTime => match arg(0) {
            DateTime(dt) => Num(dt.decimal_days()),
            other => Num(other.to_num()),
        },
        Func::FormatDate | Func::FormatDateTime => match format_date(&arg(0), &text(1)) {
            Some(text) => Str(text),
            None => {
                scope.too_long();
                Str(String::new())
            }
        },
        Func::Pulldata => lookup::pulldata(args, scope),
        // The rest are `odk`'s, answered above.
        _ => Str(String::new()),
    }
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
