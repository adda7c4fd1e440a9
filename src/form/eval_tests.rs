//! Unit tests of every operator and function, with the XPath 1.0 / ODK
//! coercions, evaluated over a small in-memory `Scope`. Over 700 lines on
//! purpose: one table of cases per function, kept beside each other so a
//! missing case shows.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use proptest::prelude::*;

use super::*;
use crate::form::expr::parse;

// ---------------------------------------------------------------------------
// The test scope
// ---------------------------------------------------------------------------

/// Fields by name; a field's `NodeId` is its index in `names`.
struct TestScope {
    names: Vec<String>,
    fields: HashMap<String, XVal>,
    current: XVal,
    position: Option<usize>,
    columns: HashMap<String, XVal>,
    now: DateTime,
    labels: HashMap<(String, String), String>,
    /// `indexed-repeat()` answers: (field, [(repeat, 1-based index)]) -> value.
    instances: HashMap<(String, Vec<(String, usize)>), XVal>,
    /// Names of the fields read, in order, to observe short-circuiting.
    reads: RefCell<Vec<String>>,
    /// Times a string over MAX_TEXT_BYTES was refused.
    too_long: std::cell::Cell<usize>,
}

fn str_val(s: &str) -> XVal {
    XVal::Str(s.to_string())
}

fn set_val(items: &[&str]) -> XVal {
    XVal::Set(items.iter().map(|s| s.to_string()).collect())
}

fn datetime(s: &str) -> DateTime {
    dates::parse_datetime(s, 0).unwrap_or_else(|| panic!("bad test date-time {s}"))
}

impl TestScope {
    fn empty() -> Self {
        TestScope {
            names: Vec::new(),
            fields: HashMap::new(),
            current: str_val(""),
            position: None,
            columns: HashMap::new(),
            now: datetime("2026-11-22T09:00:00+07:00"),
            labels: HashMap::new(),
            instances: HashMap::new(),
            reads: RefCell::new(Vec::new()),
            too_long: std::cell::Cell::new(0),
        }
    }

    fn with(mut self, name: &str, value: XVal) -> Self {
        if !self.names.iter().any(|n| n == name) {
            self.names.push(name.to_string());
        }
        self.fields.insert(name.to_string(), value);
        self
    }

    fn current(mut self, value: XVal) -> Self {
        self.current = value;
        self
    }

    fn position(mut self, position: Option<usize>) -> Self {
        self.position = position;
        self
    }

    fn column(mut self, name: &str, value: &str) -> Self {
        self.columns.insert(name.to_string(), str_val(value));
        self
    }

    fn now(mut self, now: &str) -> Self {
        self.now = datetime(now);
        self
    }

    fn label(mut self, field: &str, value: &str, label: &str) -> Self {
        self.labels
            .insert((field.to_string(), value.to_string()), label.to_string());
        self
    }

    fn instance(mut self, field: &str, at: &[(&str, usize)], value: &str) -> Self {
        let at = at.iter().map(|&(r, i)| (r.to_string(), i)).collect();
        self.instances
            .insert((field.to_string(), at), str_val(value));
        self
    }

    fn id(&self, name: &str) -> Option<NodeId> {
        self.names.iter().position(|n| n == name)
    }

    /// Parses `src` and resolves its `${name}` references to this scope's ids.
    fn compile(&self, src: &str) -> Expr {
        let mut e = parse(src).unwrap_or_else(|err| panic!("{src}: {err}"));
        e.walk_mut(&mut |x| {
            if let Expr::Ref(r) = x {
                r.node = self.id(&r.name);
            }
        });
        e
    }

    fn eval(&self, src: &str) -> XVal {
        eval(&self.compile(src), self)
    }

    fn take_reads(&self) -> Vec<String> {
        std::mem::take(&mut *self.reads.borrow_mut())
    }
}

impl Scope for TestScope {
    fn field(&self, node: NodeId) -> XVal {
        let name = &self.names[node];
        self.reads.borrow_mut().push(name.clone());
        self.fields[name].clone()
    }

    fn current(&self) -> XVal {
        self.current.clone()
    }

    fn position(&self) -> Option<usize> {
        self.position
    }

    fn column(&self, name: &str) -> XVal {
        self.columns
            .get(name)
            .cloned()
            .unwrap_or_else(|| str_val(""))
    }

    fn choice_label(&self, field: &str, value: &str) -> String {
        self.labels
            .get(&(field.to_string(), value.to_string()))
            .cloned()
            .unwrap_or_default()
    }

    fn now(&self) -> DateTime {
        self.now
    }

    fn indexed_repeat(&self, field: NodeId, at: &[(NodeId, usize)]) -> XVal {
        let at = at
            .iter()
            .map(|&(r, i)| (self.names[r].clone(), i))
            .collect();
        self.instances
            .get(&(self.names[field].clone(), at))
            .cloned()
            .unwrap_or_else(|| str_val(""))
    }

    fn regex_match(&self, text: &str, pattern: &str) -> bool {
        regex::Regex::new(pattern).is_ok_and(|r| r.is_match(text))
    }

    fn too_long(&self) {
        self.too_long.set(self.too_long.get() + 1);
    }
}

/// The fixture most tests use.
fn scope() -> TestScope {
    TestScope::empty()
        .with("n", str_val(""))
        .with("zero", str_val("0"))
        .with("ten", str_val("10"))
        .with("x", str_val("abc"))
        .with("multi", str_val(" a b  c "))
        .with("fruit", str_val("mango"))
        .with("village", str_val("ບ້ານ"))
        .with("day", str_val("2026-11-22"))
        .with("stamp", str_val("2026-11-22T09:05:03+07:00"))
        .with("ages", set_val(&["34", "7", "19"]))
        .with("ages_gap", set_val(&["34", "", "19"]))
        .with("names", set_val(&["Ana", "Bia"]))
        .with("none", set_val(&[]))
        .with("blanks", set_val(&["", ""]))
        // A repeat's own value is one empty string per instance.
        .with("rep", set_val(&["", "", ""]))
        .with("inner", set_val(&["", ""]))
        .with("member", set_val(&["first", "second", "third"]))
        .with("deep", set_val(&["d11", "d12", "d21", "d22"]))
        .with("a", str_val("A"))
        .with("b", str_val("B"))
        .current(str_val("  hello   world "))
        .position(Some(3))
        .column("div", "1")
        .column("district", "xay")
        .column("price", "12")
        .label("fruit", "mango", "Mango")
        .label("crop", "rice", "ເຂົ້າ")
        .instance("member", &[("rep", 2)], "second")
        .instance("deep", &[("rep", 2), ("inner", 1)], "d21")
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn ev(src: &str) -> XVal {
    scope().eval(src)
}

/// The value as a string, as it would be stored.
fn text(src: &str) -> String {
    ev(src).into_string()
}

/// A `Num` result.
#[track_caller]
fn num(src: &str) -> f64 {
    match ev(src) {
        XVal::Num(n) => n,
        other => panic!("{src}: expected a number, got {other:?}"),
    }
}

/// A `Bool` result.
#[track_caller]
fn truth(src: &str) -> bool {
    match ev(src) {
        XVal::Bool(b) => b,
        other => panic!("{src}: expected a boolean, got {other:?}"),
    }
}

#[track_caller]
fn check_num(src: &str, want: f64) {
    let got = num(src);
    if want.is_nan() {
        assert!(got.is_nan(), "{src}: expected NaN, got {got}");
    } else {
        assert!(
            got == want || (got - want).abs() < 1e-9 * want.abs().max(1.0),
            "{src}: expected {want}, got {got}"
        );
    }
}

#[track_caller]
fn check_true(src: &str) {
    assert!(truth(src), "{src} should be true");
}

#[track_caller]
fn check_false(src: &str) {
    assert!(!truth(src), "{src} should be false");
}

#[track_caller]
fn check_text(src: &str, want: &str) {
    assert_eq!(text(src), want, "{src}");
}

// ---------------------------------------------------------------------------
// The fixture itself
// ---------------------------------------------------------------------------

#[test]
fn fixture_resolves_references() {
    let s = scope();
    let e = s.compile("${ten} + ${missing}");
    let nodes: Vec<Option<NodeId>> = e.refs().iter().map(|r| r.node).collect();
    assert_eq!(nodes, vec![s.id("ten"), None]);
    assert!(s.id("ten").is_some());
    // An unresolved reference evaluates to the empty string.
    assert_eq!(s.eval("${missing}"), str_val(""));
    assert_eq!(s.eval("${ten}"), str_val("10"));
}

// ---------------------------------------------------------------------------
// Arithmetic
// ---------------------------------------------------------------------------

#[test]
fn addition() {
    check_num("1 + 2", 3.0);
    check_num("0.1 + 0.2", 0.1 + 0.2);
    check_num("'3' + 2", 5.0);
    check_num("${ten} + 1", 11.0);
    check_num("' 4 ' + 1", 5.0);
    check_num("true() + 1", 2.0);
    check_num("false() + 1", 1.0);
}

#[test]
fn empty_answers_are_nan_in_arithmetic() {
    check_num("${n} + 1", f64::NAN);
    check_num("${n} - 1", f64::NAN);
    check_num("${n} * 0", f64::NAN);
    check_num("${n} div 1", f64::NAN);
    check_num("${n} mod 2", f64::NAN);
    check_num("-${n}", f64::NAN);
    check_num("'abc' + 1", f64::NAN);
    check_num("${missing} + 1", f64::NAN);
    check_text("${n} + 1", "NaN");
    check_text("concat('x', ${n} * 2)", "xNaN");
}

#[test]
fn subtraction() {
    check_num("5 - 7", -2.0);
    check_num("1 - 2 - 3", -4.0);
    check_num("${ten} - '2.5'", 7.5);
    check_num("1 - -1", 2.0);
}

#[test]
fn multiplication() {
    check_num("2 * 3.5", 7.0);
    check_num("-2 * 3", -6.0);
    check_num("${ten} * ${ten}", 100.0);
    check_num("'2' * '4'", 8.0);
}

#[test]
fn division() {
    check_num("7 div 2", 3.5);
    check_num("8 div 4 div 2", 1.0);
    check_num("1 div 0", f64::INFINITY);
    check_num("-1 div 0", f64::NEG_INFINITY);
    check_num("0 div 0", f64::NAN);
    check_text("1 div 0", "Infinity");
    check_text("-1 div 0", "-Infinity");
    check_text("0 div 0", "NaN");
    check_text("1 div 3", "0.3333333333333333");
}

#[test]
fn modulo_truncates_like_xpath() {
    check_num("7 mod 3", 1.0);
    check_num("-7 mod 3", -1.0);
    check_num("7 mod -3", 1.0);
    check_num("5.5 mod 2", 1.5);
    check_num("5 mod 0", f64::NAN);
    check_num("${ten} mod 4", 2.0);
}

#[test]
fn unary_minus() {
    check_num("-5", -5.0);
    check_num("--5", 5.0);
    check_num("-'3'", -3.0);
    check_num("-(2 + 3)", -5.0);
    check_num("-${ten} + 1", -9.0);
    check_num("-true()", -1.0);
    check_num("-'abc'", f64::NAN);
    check_text("-0", "0");
}

#[test]
fn arithmetic_precedence() {
    check_num("1 + 2 * 3", 7.0);
    check_num("(1 + 2) * 3", 9.0);
    check_num("10 - 4 div 2", 8.0);
    check_num("10 mod 4 * 3", 6.0);
    check_num("2 * -3 + 1", -5.0);
}

#[test]
fn integers_print_without_a_fraction() {
    check_text("2.0 * 3", "6");
    check_text("6 div 2", "3");
    check_text("7 div 2", "3.5");
    check_text("-1.5 * 2", "-3");
    check_text("concat(2.50, '|', 100)", "2.5|100");
    check_text("123456789012 + 0", "123456789012");
    assert_eq!(XVal::Num(6.0).to_string(), "6");
    assert_eq!(XVal::Num(-0.0).to_string(), "0");
    assert_eq!(XVal::Num(0.5).to_string(), "0.5");
}

// ---------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------

#[test]
fn equality_of_strings_is_textual() {
    check_true("'abc' = 'abc'");
    check_false("'abc' = 'ABC'");
    check_false("'1.0' = '1'");
    check_true("${x} = 'abc'");
    check_true("'a' != 'b'");
    check_false("'a' != 'a'");
    check_true("${n} = ${n}");
}

#[test]
fn equality_with_a_number_is_numeric() {
    check_true("'10' = 10.0");
    check_true("${ten} = 10");
    check_true("10 = ${ten}");
    check_true("'1.0' = 1");
    check_true("1 = 1.0");
    check_true("' 10 ' = 10");
    check_false("'10' = 11");
    check_true("'10' != 11");
    check_false("${x} = 0");
}

#[test]
fn empty_is_not_zero() {
    check_false("${n} = 0");
    check_true("${n} = ''");
    check_false("${zero} = ''");
    check_true("${zero} = 0");
    check_true("${n} != 0");
    check_false("${n} != ''");
    check_false("${n} < 1");
    check_false("${n} >= 0");
    check_false("number('') = 0");
}

#[test]
fn nan_comparisons_are_false_except_not_equal() {
    for op in ["=", "<", "<=", ">", ">="] {
        check_false(&format!("number('') {op} number('')"));
        check_false(&format!("0 div 0 {op} 1"));
        check_false(&format!("1 {op} 0 div 0"));
    }
    check_true("number('') != number('')");
    check_true("0 div 0 != 1");
    check_text("number('')", "NaN");
    check_text("string(0 div 0)", "NaN");
}

#[test]
fn relational_operators_compare_numbers() {
    check_true("1 < 2");
    check_false("2 < 1");
    check_true("2 <= 2");
    check_false("3 <= 2");
    check_true("3 > 2");
    check_false("2 > 2");
    check_true("2 >= 2");
    check_false("1 >= 2");
    // Strings are converted to numbers: not lexicographic.
    check_true("'2' < '10'");
    check_true("${ten} > 9");
    check_true("${ten} >= '10'");
    // Non-numeric strings are NaN, so even equal strings are not >=.
    check_false("'abc' < 'abd'");
    check_false("'abc' >= 'abc'");
    check_true("1 div 0 > 99999999");
}

#[test]
fn booleans_compare_as_booleans() {
    check_true("${x} = true()");
    check_false("${n} = true()");
    check_true("${n} = false()");
    check_true("true() = 5");
    check_true("false() = 0");
    check_true("false() = ''");
    check_true("true() = 'false'");
    check_true("true() != false()");
    check_true("(1 < 2) = true()");
    check_true("true() > false()");
    check_true("true() >= 1");
}

#[test]
fn comparison_and_arithmetic_precedence() {
    check_true("1 + 2 = 3");
    check_true("1 < 2 = 2 > 1");
    check_true("1 < 2 < 3");
    // (3 > 2) > 1 is true() > 1, that is 1 > 1.
    check_false("3 > 2 > 1");
    check_true("${ten} - 10 = ${zero}");
}

#[test]
fn dates_compare_as_days() {
    check_true("'2026-11-22' < '2026-12-01'");
    check_false("'2026-11-22' > '2026-12-01'");
    check_true("'2026-11-22' <= '2026-11-22'");
    check_true("${day} >= '2026-01-01'");
    check_true("date('2026-11-22') = '2026-11-22'");
    check_true("'2026-11-22' = date('2026-11-22')");
    check_true("date('2026-11-22') < date('2026-11-23')");
    check_true("today() = '2026-11-22'");
    check_true("today() = ${day}");
    check_true("today() < '2026-12-01'");
    check_true("today() > date('2026-11-21')");
    check_true("now() > today()");
    check_true("date('2026-11-22') = 20779");
    // Two strings are compared as strings by '=', so the format matters.
    check_false("'2026-11-22' = '2026-11-22T00:00:00'");
}

#[test]
fn sets_compare_existentially() {
    check_true("${ages} = 7");
    check_true("${ages} = '7'");
    check_true("7 = ${ages}");
    check_false("${ages} = 8");
    check_true("${ages} != 34");
    check_true("${ages} > 30");
    check_false("${ages} > 40");
    check_true("${ages} < 10");
    check_true("10 > ${ages}");
    check_true("${names} = 'Bia'");
    check_false("${names} = 'Caio'");
    // Set against set: some pair satisfies the comparison.
    check_true("${ages} = ${ages_gap}");
    check_false("${ages} = ${names}");
    check_true("${ages} < ${ages}");
    // An empty set satisfies nothing.
    check_false("${none} = ''");
    check_false("${none} != ''");
    check_false("${none} < 1");
    check_true("${ages_gap} = ''");
}

#[test]
fn sets_compare_with_booleans_as_their_emptiness() {
    // Expected true, actual false: the empty set is boolean() false.
    check_true("${none} = false()");
    // Expected true, actual false: two (empty) nodes make a non-empty set.
    check_true("${blanks} = true()");
    check_false("${blanks} = false()");
}

// ---------------------------------------------------------------------------
// Logic
// ---------------------------------------------------------------------------

#[test]
fn and_or_truth_tables() {
    check_true("true() and true()");
    check_false("true() and false()");
    check_false("false() and true()");
    check_false("false() and false()");
    check_true("true() or false()");
    check_true("false() or true()");
    check_false("false() or false()");
    check_true("${x} and 1");
    check_false("${n} or 0");
    check_false("${x} and number('')");
    check_true("'false' and 'false'");
    // and binds tighter than or.
    check_true("true() or false() and false()");
    check_false("(true() or false()) and false()");
}

#[test]
fn and_or_short_circuit() {
    let s = scope();
    assert_eq!(s.eval("false() and ${a}"), XVal::Bool(false));
    assert!(s.take_reads().is_empty());
    assert_eq!(s.eval("true() or ${a}"), XVal::Bool(true));
    assert!(s.take_reads().is_empty());
    assert_eq!(s.eval("${n} and ${a}"), XVal::Bool(false));
    assert_eq!(s.take_reads(), ["n"]);
    assert_eq!(s.eval("${x} or ${a}"), XVal::Bool(true));
    assert_eq!(s.take_reads(), ["x"]);
    assert_eq!(s.eval("true() and ${a}"), XVal::Bool(true));
    assert_eq!(s.take_reads(), ["a"]);
    assert_eq!(s.eval("false() or ${n}"), XVal::Bool(false));
    assert_eq!(s.take_reads(), ["n"]);
}

// ---------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------

#[test]
fn string_to_number_is_decimal_only() {
    assert_eq!(string_to_number("12"), 12.0);
    assert_eq!(string_to_number(" 12 "), 12.0);
    assert_eq!(string_to_number("-3.5"), -3.5);
    assert_eq!(string_to_number(".5"), 0.5);
    assert_eq!(string_to_number("5."), 5.0);
    assert_eq!(string_to_number("007"), 7.0);
    for bad in [
        "", " ", ".", "-", "--1", "+5", "1e3", "abc", "1 2", "1.2.3", "NaN", "Infinity",
    ] {
        assert!(string_to_number(bad).is_nan(), "{bad:?}");
    }
    // Dates and date-times are days since the epoch.
    assert_eq!(string_to_number("2026-11-22"), 20_779.0);
    assert_eq!(string_to_number("1970-01-02T00:00:00Z"), 1.0);
    assert_eq!(string_to_number("1970-01-01T12:00:00Z"), 0.5);
}

#[test]
fn number_to_string_has_no_exponent() {
    assert_eq!(number_to_string(0.0), "0");
    assert_eq!(number_to_string(-0.0), "0");
    assert_eq!(number_to_string(42.0), "42");
    assert_eq!(number_to_string(-42.0), "-42");
    assert_eq!(number_to_string(2.5), "2.5");
    assert_eq!(number_to_string(0.1 + 0.2), "0.30000000000000004");
    assert_eq!(number_to_string(1e15), "1000000000000000");
    assert_eq!(number_to_string(1e21), "1000000000000000000000");
    assert_eq!(number_to_string(1e-7), "0.0000001");
    assert_eq!(number_to_string(f64::NAN), "NaN");
    assert_eq!(number_to_string(f64::INFINITY), "Infinity");
    assert_eq!(number_to_string(f64::NEG_INFINITY), "-Infinity");
}

#[test]
fn value_conversions() {
    assert_eq!(XVal::Bool(true).to_num(), 1.0);
    assert_eq!(XVal::Date(20_779).to_num(), 20_779.0);
    assert!(XVal::Set(vec![]).to_num().is_nan());
    assert_eq!(set_val(&["4", "5"]).to_num(), 4.0);

    assert!(!str_val("").to_bool());
    assert!(str_val("0").to_bool());
    assert!(!XVal::Num(0.0).to_bool());
    assert!(!XVal::Num(f64::NAN).to_bool());
    assert!(XVal::Num(-0.5).to_bool());
    assert!(XVal::Date(0).to_bool());
    assert!(!XVal::Set(vec![]).to_bool());
    assert!(set_val(&[""]).to_bool());

    assert_eq!(XVal::Bool(false).into_string(), "false");
    assert_eq!(XVal::Date(20_779).into_string(), "2026-11-22");
    assert_eq!(XVal::Date(-1).into_string(), "1969-12-31");
    assert_eq!(
        XVal::DateTime(datetime("2026-11-22T09:00:00+07:00")).into_string(),
        "2026-11-22T09:00:00.000+07:00"
    );
    assert_eq!(set_val(&["a", "b"]).into_string(), "a");
    assert_eq!(XVal::Set(vec![]).into_string(), "");
    assert_eq!(set_val(&["a", "b"]).to_string(), "a");
}

// ---------------------------------------------------------------------------
// References, the current value, columns
// ---------------------------------------------------------------------------

#[test]
fn current_value() {
    let s = scope().current(str_val("42"));
    assert_eq!(s.eval("."), str_val("42"));
    assert_eq!(s.eval(". > 18"), XVal::Bool(true));
    assert_eq!(s.eval(". = 42"), XVal::Bool(true));
    assert_eq!(s.eval(". + 1"), XVal::Num(43.0));
    let empty = scope().current(str_val(""));
    assert_eq!(empty.eval(". = ''"), XVal::Bool(true));
    assert_eq!(empty.eval(". >= 0"), XVal::Bool(false));
}

#[test]
fn parent_alone_is_empty() {
    assert_eq!(ev(".."), str_val(""));
}

#[test]
fn choice_filter_columns() {
    // `div` is a column name here, not the operator.
    check_true("div = 1");
    check_true("district = 'xay'");
    check_true("price > 10");
    check_true("price div 4 = 3");
    check_true("div div div = 1");
    // Unknown columns are empty.
    check_true("nonexistent = ''");
    check_false("nonexistent = 0");
}

// ---------------------------------------------------------------------------
// Every function
// ---------------------------------------------------------------------------

/// One call per function with its result as a string: fails when a function
/// is added to the table without a line here.
#[test]
fn every_function_is_covered() {
    let cases: &[(&str, &str)] = &[
        ("if(true(), 'y', 'n')", "y"),
        ("not(${n})", "true"),
        ("true()", "true"),
        ("false()", "false"),
        ("boolean(${x})", "true"),
        ("selected(${multi}, 'b')", "true"),
        ("count-selected(${multi})", "3"),
        ("selected-at(${multi}, 2)", "c"),
        ("jr:choice-name(${fruit}, '${fruit}')", "Mango"),
        ("string-length(${village})", "4"),
        ("concat('a', 1, true())", "a1true"),
        ("join(', ', ${names})", "Ana, Bia"),
        ("substr('hello', 1, 3)", "el"),
        ("contains('banana', 'nan')", "true"),
        ("starts-with('banana', 'ban')", "true"),
        ("ends-with('banana', 'na')", "true"),
        ("normalize-space('  a   b ')", "a b"),
        ("regex('abc123', '^[a-z]+[0-9]+$')", "true"),
        ("coalesce(${n}, 'fallback')", "fallback"),
        ("string(2.50)", "2.5"),
        ("number('12')", "12"),
        ("int(3.7)", "3"),
        ("round(2.5)", "3"),
        ("floor(-1.5)", "-2"),
        ("ceiling(-1.5)", "-1"),
        ("abs(-3)", "3"),
        ("pow(2, 10)", "1024"),
        ("min(3, 1, 2)", "1"),
        ("max(${ages})", "34"),
        ("sum(${ages})", "60"),
        ("count(${ages})", "3"),
        ("count-non-empty(${ages_gap})", "2"),
        ("position()", "3"),
        ("indexed-repeat(${member}, ${rep}, 2)", "second"),
        ("today()", "2026-11-22"),
        ("now()", "2026-11-22T09:00:00.000+07:00"),
        ("date('2026-11-22')", "2026-11-22"),
        ("decimal-date-time('1970-01-02T00:00:00Z')", "1"),
        ("format-date('2026-11-22', '%d/%m/%Y')", "22/11/2026"),
        // ODK's further functions (eval::odk); the test scope's random
        // bits are 0, and its current value is kept by once().
        ("once('first')", "  hello   world "),
        ("random()", "0"),
        ("uuid()", "00000000-0000-4000-8000-000000000000"),
        ("substring-before('a-b', '-')", "a"),
        ("substring-after('a-b', '-')", "b"),
        ("translate('abc', 'abc', 'AB')", "AB"),
        ("boolean-from-string('1')", "true"),
        ("base64-decode('aGk=')", "hi"),
        (
            "digest('', 'SHA-384', 'hex')",
            "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b",
        ),
        ("log(1)", "0"),
        ("log10(100)", "2"),
        ("exp(0)", "1"),
        ("exp10(3)", "1000"),
        ("sqrt(81)", "9"),
        ("sin(0)", "0"),
        ("cos(0)", "1"),
        ("tan(0)", "0"),
        ("asin(0)", "0"),
        ("acos(1)", "0"),
        ("atan(0)", "0"),
        ("atan2(0, 1)", "0"),
        ("pi()", "3.141592653589793"),
        ("decimal-time('06:00:00')", "0.25"),
        (
            "format-date-time('2026-11-22T09:05:00', '%Y %H:%M')",
            "2026 09:05",
        ),
        ("date-time(0.5)", "1970-01-01T12:00:00.000+00:00"),
        ("checklist(-1, 1, 'a', '')", "true"),
        ("weighted-checklist(1, 2, 'a', 3)", "false"),
        ("distance('0 0', '0 0')", "0"),
        // No data instance in this scope: an empty string, as in ODK.
        ("pulldata('sites', 'label', 'name', 'x')", ""),
        ("area('0 0;0 1')", "0"),
    ];
    let mut covered = HashSet::new();
    for &(src, want) in cases {
        match parse(src) {
            Ok(Expr::Call(f, _)) => {
                covered.insert(f);
            }
            other => panic!("{src}: not a call: {other:?}"),
        }
        check_text(src, want);
    }
    let missing: Vec<&str> = Func::ALL
        .iter()
        .filter(|f| !covered.contains(f))
        .map(|f| f.name())
        .collect();
    assert!(missing.is_empty(), "functions without a case: {missing:?}");
}

#[test]
fn if_evaluates_only_the_branch_taken() {
    check_text("if(${x}, 'y', 'n')", "y");
    check_text("if(${n}, 'y', 'n')", "n");
    check_text("if('false', 'y', 'n')", "y");
    check_text("if(0, 'y', 'n')", "n");
    check_text("if(number(''), 'y', 'n')", "n");
    check_text("if(${none}, 'y', 'n')", "n");
    check_text("if(${blanks}, 'y', 'n')", "y");
    // The value keeps its type.
    assert_eq!(ev("if(true(), 1, 'x')"), XVal::Num(1.0));
    assert_eq!(ev("if(false(), 1, today())"), XVal::Date(20_779));
    let s = scope();
    assert_eq!(s.eval("if(true(), ${a}, ${b})"), str_val("A"));
    assert_eq!(s.take_reads(), ["a"]);
    assert_eq!(s.eval("if(false(), ${a}, ${b})"), str_val("B"));
    assert_eq!(s.take_reads(), ["b"]);
}

#[test]
fn not_true_false_boolean() {
    check_true("not(false())");
    check_false("not(true())");
    check_true("not('')");
    check_false("not('x')");
    check_true("not(0)");
    check_true("not(number(''))");
    check_false("not(today())");
    check_true("not(${none})");
    check_true("true()");
    check_false("false()");
    check_true("boolean('false')");
    check_true("boolean('0')");
    check_false("boolean(0)");
    check_true("boolean(-1)");
    check_false("boolean(${n})");
    check_false("boolean(0 div 0)");
    check_true("boolean(1 div 0)");
    check_true("boolean(date('2026-11-22'))");
    check_true("boolean(${ages})");
    check_false("boolean(${none})");
}

#[test]
fn selected_matches_whole_values() {
    check_true("selected(${multi}, 'a')");
    check_true("selected(${multi}, 'c')");
    check_false("selected(${multi}, 'd')");
    check_false("selected('ab c', 'a')");
    check_false("selected('ab c', 'b')");
    check_true("selected('ab c', 'ab')");
    check_true("selected('a  b', 'b')");
    check_true("selected('a b', ' a ')");
    check_false("selected('a b', '')");
    check_false("selected('', 'a')");
    check_false("selected(${n}, 'a')");
    check_true("selected('1 2 3', 2)");
}

#[test]
fn count_selected() {
    check_num("count-selected(${multi})", 3.0);
    check_num("count-selected('a')", 1.0);
    check_num("count-selected('')", 0.0);
    check_num("count-selected('   ')", 0.0);
    check_num("count-selected(${n})", 0.0);
    check_num("count-selected('a  b c')", 3.0);
}

#[test]
fn selected_at_is_zero_based() {
    check_text("selected-at(${multi}, 0)", "a");
    check_text("selected-at(${multi}, 1)", "b");
    check_text("selected-at(${multi}, 2)", "c");
    check_text("selected-at(${multi}, 3)", "");
    check_text("selected-at(${multi}, -1)", "");
    check_text("selected-at(${multi}, '1')", "b");
    check_text("selected-at(${multi}, 1.9)", "b");
    check_text("selected-at(${multi}, number(''))", "");
    check_text("selected-at('', 0)", "");
}

#[test]
fn choice_name_looks_up_labels() {
    check_text("jr:choice-name(${fruit}, '${fruit}')", "Mango");
    check_text("jr:choice-name('mango', 'fruit')", "Mango");
    check_text("jr:choice-name(' mango ', ' ${fruit} ')", "Mango");
    check_text("jr:choice-name('rice', '${crop}')", "ເຂົ້າ");
    check_text("jr:choice-name('apple', '${fruit}')", "");
    check_text("jr:choice-name(${n}, '${fruit}')", "");
}

#[test]
fn string_length_counts_characters() {
    check_num("string-length('ບ້ານ')", 4.0);
    check_num("string-length(${village})", 4.0);
    check_num("string-length('hello')", 5.0);
    check_num("string-length('')", 0.0);
    check_num("string-length(${n})", 0.0);
    check_num("string-length(12.50)", 4.0);
    check_num("string-length('é')", 1.0);
    // Without an argument: the current value.
    check_num("string-length()", 16.0);
    assert_eq!(
        scope().current(str_val("ບ້ານ")).eval("string-length()"),
        XVal::Num(4.0)
    );
}

#[test]
fn concat_joins_string_values() {
    check_text("concat('a', 'b', 'c')", "abc");
    check_text("concat()", "");
    check_text("concat('x')", "x");
    check_text("concat('a', 1, true(), ${n}, 2.50)", "a1true2.5");
    check_text("concat(${x}, '-', ${ten})", "abc-10");
    check_text("concat(date('2026-11-22'), 'T')", "2026-11-22T");
    check_text("concat(${names}, '!')", "AnaBia!");
    check_text("concat('ບ້ານ', ' ', 'ນາ')", "ບ້ານ ນາ");
    check_text("concat(1 div 3)", "0.3333333333333333");
}

#[test]
fn join_uses_the_separator_between_members() {
    check_text("join(', ', ${names})", "Ana, Bia");
    check_text("join(' ', ${ages})", "34 7 19");
    check_text("join('-', ${ages_gap})", "34--19");
    check_text("join('-', 'x')", "x");
    check_text("join('-', ${none})", "");
    check_text("join('', ${names})", "AnaBia");
}

#[test]
fn substr_is_zero_based_with_exclusive_end() {
    check_text("substr('hello', 0)", "hello");
    check_text("substr('hello', 1)", "ello");
    check_text("substr('hello', 1, 3)", "el");
    check_text("substr('hello', 0, 1)", "h");
    check_text("substr('hello', 4, 5)", "o");
    check_text("substr('hello', 2, 2)", "");
    check_text("substr('hello', 3, 1)", "");
    check_text("substr('hello', 0, 99)", "hello");
    check_text("substr('hello', 5)", "");
    check_text("substr('hello', 99)", "");
    check_text("substr('hello', '1', '3')", "el");
    check_text("substr('hello', 1.9, 3.9)", "el");
    check_text("substr('ບ້ານ', 1, 3)", "້າ");
    check_text("substr('ບ້ານ', 3)", "ນ");
    check_text("substr(12345, 1, 3)", "23");
    check_text("substr(${n}, 0, 2)", "");
}

#[test]
fn substr_negative_indices_count_from_the_end() {
    // Expected 'llo', actual 'hello'.
    check_text("substr('hello', -3)", "llo");
    // Expected 'hell', actual ''.
    check_text("substr('hello', 0, -1)", "hell");
}

#[test]
fn contains_starts_with_ends_with() {
    check_true("contains('banana', 'nan')");
    check_false("contains('banana', 'nab')");
    check_true("contains('banana', '')");
    check_false("contains(${n}, 'a')");
    check_true("contains(${village}, 'າ')");
    check_true("contains(12345, 234)");
    check_false("contains('Banana', 'b')");
    check_true("starts-with('banana', 'ban')");
    check_false("starts-with('banana', 'nan')");
    check_true("starts-with('banana', '')");
    check_true("starts-with('ບ້ານ', 'ບ')");
    check_true("starts-with(12345, 12)");
    check_true("ends-with('file.csv', '.csv')");
    check_false("ends-with('file.csv', '.xls')");
    check_true("ends-with(${x}, 'bc')");
    check_true("ends-with('', '')");
}

#[test]
fn normalize_space_collapses_whitespace() {
    check_text("normalize-space('  a   b  ')", "a b");
    check_text("normalize-space('a\tb\nc')", "a b c");
    check_text("normalize-space('')", "");
    check_text("normalize-space('   ')", "");
    check_text("normalize-space(' ບ້ານ   ນາ ')", "ບ້ານ ນາ");
    // Without an argument: the current value.
    check_text("normalize-space()", "hello world");
}

#[test]
fn regex_goes_through_the_scope() {
    check_true("regex('abc123', '[0-9]+')");
    check_true("regex('abc123', '^[a-z]+[0-9]+$')");
    check_false("regex('abc', '^[0-9]+$')");
    check_true("regex(${ten}, '^\\d{2}$')");
    check_true("regex(${n}, '^$')");
    check_true("regex('ບ້ານ', '^\\p{Lao}+$')");
    // An invalid pattern matches nothing.
    check_false("regex('a', '(')");
}

#[test]
fn coalesce_takes_the_first_non_empty() {
    check_text("coalesce(${n}, 'fallback')", "fallback");
    check_text("coalesce('a', 'fallback')", "a");
    check_text("coalesce(${n}, ${n})", "");
    check_text("coalesce(${x}, ${ten})", "abc");
    check_text("coalesce(${none}, 'd')", "d");
    check_text("coalesce(0, 5)", "0");
    assert_eq!(ev("coalesce(${n}, 5)"), XVal::Num(5.0));
    let s = scope();
    s.eval("coalesce(${x}, ${a})");
    assert_eq!(s.take_reads(), ["x"]);
}

#[test]
fn coalesce_skips_nan() {
    // Expected 'fallback', actual 'NaN'.
    check_text("coalesce(number(''), 'fallback')", "fallback");
    check_text("coalesce(${n} + 1, 0)", "0");
}

#[test]
fn string_function() {
    check_text("string(12.0)", "12");
    check_text("string(0.5)", "0.5");
    check_text("string(-1.5)", "-1.5");
    check_text("string(-0)", "0");
    check_text("string(true())", "true");
    check_text("string(false())", "false");
    check_text("string(number(''))", "NaN");
    check_text("string(${ages})", "34");
    check_text("string(${none})", "");
    check_text("string(today())", "2026-11-22");
    check_text("string(now())", "2026-11-22T09:00:00.000+07:00");
    check_text("string()", "  hello   world ");
    assert_eq!(ev("string(1)"), str_val("1"));
}

#[test]
fn number_function() {
    check_num("number('12')", 12.0);
    check_num("number(' 12 ')", 12.0);
    check_num("number('-3.5')", -3.5);
    check_num("number('.5')", 0.5);
    check_num("number('')", f64::NAN);
    check_num("number('abc')", f64::NAN);
    check_num("number('1e3')", f64::NAN);
    check_num("number('+5')", f64::NAN);
    check_num("number(true())", 1.0);
    check_num("number(false())", 0.0);
    check_num("number('2026-11-22')", 20_779.0);
    check_num("number(date('2026-11-23'))", 20_780.0);
    check_num("number(${ages})", 34.0);
    check_num("number(${none})", f64::NAN);
    let s = scope().current(str_val("42"));
    assert_eq!(s.eval("number()"), XVal::Num(42.0));
    assert!(scope().eval("number()").to_num().is_nan());
}

#[test]
fn int_truncates_toward_zero() {
    check_num("int(3.7)", 3.0);
    check_num("int(-3.7)", -3.0);
    check_num("int('12.9')", 12.0);
    check_num("int(5)", 5.0);
    check_num("int(${n})", f64::NAN);
    check_num("int(1 div 0)", f64::INFINITY);
}

#[test]
fn round_one_argument_halves_go_up() {
    check_num("round(2.5)", 3.0);
    check_num("round(3.5)", 4.0);
    check_num("round(2.4)", 2.0);
    check_num("round(2.6)", 3.0);
    check_num("round(-2.5)", -2.0);
    check_num("round(-2.6)", -3.0);
    check_num("round(-2.4)", -2.0);
    check_num("round(-1.5)", -1.0);
    check_num("round(-0.5)", 0.0);
    check_text("round(-0.5)", "0");
    check_num("round(0)", 0.0);
    check_num("round('7.5')", 8.0);
    check_num("round(${n})", f64::NAN);
    check_num("round(1 div 0)", f64::INFINITY);
}

#[test]
fn round_two_arguments() {
    check_num("round(1.2345, 2)", 1.23);
    check_num("round(1.235, 2)", 1.24);
    check_num("round(1.25, 1)", 1.3);
    check_num("round(2.5, 0)", 3.0);
    check_num("round(2.4, 0)", 2.0);
    check_num("round(-2.6, 0)", -3.0);
    check_num("round(-2.4, 0)", -2.0);
    check_num("round(-1.26, 1)", -1.3);
    check_num("round(1234.5678, -2)", 1200.0);
    check_num("round(1250, -2)", 1300.0);
    check_num("round(5, 3)", 5.0);
    check_text("round(2.675, 1)", "2.7");
    check_num("round(${n}, 2)", f64::NAN);
    check_num("round(1.5, ${n})", f64::NAN);
}

#[test]
fn round_two_arguments_negative_halves() {
    // Expected -2, actual -3 (while round(-2.5) gives -2).
    check_num("round(-2.5, 0)", -2.0);
    // Expected -1.2, actual -1.3.
    check_num("round(-1.25, 1)", -1.2);
    // Expected -1200, actual -1300.
    check_num("round(-1250, -2)", -1200.0);
}

#[test]
fn round_two_arguments_uses_the_decimal_digits() {
    // Expected 1.01, actual 1 (1.005 * 100 = 100.49999999999999).
    check_num("round(1.005, 2)", 1.01);
}

#[test]
fn round_the_largest_double_below_a_half() {
    // Expected 0, actual 1.
    check_num("round(0.49999999999999994)", 0.0);
}

#[test]
fn floor_ceiling_abs() {
    check_num("floor(1.5)", 1.0);
    check_num("floor(-1.5)", -2.0);
    check_num("floor(2)", 2.0);
    check_num("floor('3.9')", 3.0);
    check_num("floor(${n})", f64::NAN);
    check_num("ceiling(1.2)", 2.0);
    check_num("ceiling(-1.5)", -1.0);
    check_num("ceiling(2)", 2.0);
    check_num("ceiling(${n})", f64::NAN);
    check_num("abs(-3)", 3.0);
    check_num("abs(3)", 3.0);
    check_num("abs('-2.5')", 2.5);
    check_num("abs(${n})", f64::NAN);
    check_text("abs(-0)", "0");
}

#[test]
fn pow() {
    check_num("pow(2, 10)", 1024.0);
    check_num("pow(2, 0.5)", std::f64::consts::SQRT_2);
    check_num("pow(2, -1)", 0.5);
    check_num("pow(${ten}, 2)", 100.0);
    check_num("pow(5, 0)", 1.0);
    check_num("pow(${n}, 2)", f64::NAN);
    check_num("pow(-8, 1 div 3)", f64::NAN);
}

#[test]
fn min_and_max() {
    check_num("min(3, 1, 2)", 1.0);
    check_num("max(3, 1, 2)", 3.0);
    check_num("min(-1, -5)", -5.0);
    check_num("max(-1, -5)", -1.0);
    check_num("min('5', 10)", 5.0);
    check_num("max(7)", 7.0);
    check_num("max(${ages})", 34.0);
    check_num("min(${ages})", 7.0);
    check_num("max(${ages}, 50)", 50.0);
    check_num("min(${ages}, ${ten})", 7.0);
    check_num("max(date('2026-11-22'), 3)", 20_779.0);
    check_num("max(0.5, 0.25)", 0.5);
    // Empty or non-numeric values make the result NaN (XForms 1.0).
    check_num("max(${ages_gap})", f64::NAN);
    check_num("min(${ages_gap})", f64::NAN);
    check_num("max(${none})", f64::NAN);
    check_num("min(1, ${n})", f64::NAN);
    check_num("max(1, 'abc')", f64::NAN);
}

#[test]
fn min_and_max_convert_arguments_as_numbers() {
    // Expected 1, actual NaN.
    check_num("max(true(), 0)", 1.0);
    // Expected Infinity, actual NaN.
    check_num("max(1 div 0, 2)", f64::INFINITY);
    check_num("min(-1 div 0, 2)", f64::NEG_INFINITY);
}

#[test]
fn sum() {
    check_num("sum(${ages})", 60.0);
    check_num("sum(${ages_gap})", f64::NAN);
    check_num("sum(${none})", 0.0);
    check_num("sum(${ten})", 10.0);
    check_num("sum('2.5')", 2.5);
    check_num("sum(${x})", f64::NAN);
    check_num("sum(${n})", f64::NAN);
}

#[test]
fn count_and_count_non_empty() {
    check_num("count(${ages})", 3.0);
    check_num("count(${ages_gap})", 3.0);
    check_num("count(${none})", 0.0);
    check_num("count(${rep})", 3.0);
    check_num("count(${x})", 1.0);
    check_num("count(${n})", 1.0);
    check_num("count-non-empty(${ages})", 3.0);
    check_num("count-non-empty(${ages_gap})", 2.0);
    check_num("count-non-empty(${blanks})", 0.0);
    check_num("count-non-empty(${none})", 0.0);
    check_num("count-non-empty(${x})", 1.0);
    check_num("count-non-empty(${n})", 0.0);
}

#[test]
fn sets_in_other_positions() {
    // Arithmetic and string conversions use the first member.
    check_num("${ages} + 1", 35.0);
    check_num("-${ages}", -34.0);
    check_num("${none} + 1", f64::NAN);
    check_text("substr(${names}, 0, 1)", "A");
    check_num("string-length(${names})", 3.0);
}

#[test]
fn position() {
    check_num("position()", 3.0);
    check_num("position(..)", 3.0);
    check_num("position() - 1", 2.0);
    let top = scope().position(None);
    assert!(top.eval("position()").to_num().is_nan());
    assert!(top.eval("position(..)").to_num().is_nan());
}

#[test]
fn indexed_repeat_through_the_scope() {
    check_text("indexed-repeat(${member}, ${rep}, 2)", "second");
    check_text("indexed-repeat(${member}, ${rep}, '2')", "second");
    check_text("indexed-repeat(${member}, ${rep}, 1 + 1)", "second");
    check_text(
        "indexed-repeat(${member}, ${rep}, position() - 1)",
        "second",
    );
    check_text("indexed-repeat(${member}, ${rep}, 2.9)", "second");
    check_text("indexed-repeat(${deep}, ${rep}, 2, ${inner}, 1)", "d21");
    // An instance the scope does not have.
    check_text("indexed-repeat(${member}, ${rep}, 9)", "");
    // Bad indexes and bad arguments give the empty string.
    check_text("indexed-repeat(${member}, ${rep}, 0)", "");
    check_text("indexed-repeat(${member}, ${rep}, -1)", "");
    check_text("indexed-repeat(${member}, ${rep}, ${n})", "");
    check_text("indexed-repeat('member', ${rep}, 2)", "");
    check_text("indexed-repeat(${member}, 'rep', 2)", "");
    check_text("indexed-repeat(${missing}, ${rep}, 2)", "");
    check_text("indexed-repeat(${member}, ${missing}, 2)", "");
    check_text("indexed-repeat(${member}, ${rep}, 2, ${inner}, 9)", "");
}

#[test]
fn today_is_the_local_date() {
    assert_eq!(ev("today()"), XVal::Date(20_779));
    check_true("today() = '2026-11-22'");
    check_text("today()", "2026-11-22");
    check_num("today() + 0", 20_779.0);
    // 05:00 at +07:00 is still the 21st in UTC.
    let early = scope().now("2026-11-22T05:00:00+07:00");
    assert_eq!(early.eval("today()"), XVal::Date(20_779));
    let late = scope().now("2026-11-22T23:30:00-05:00");
    assert_eq!(late.eval("today()"), XVal::Date(20_779));
}

#[test]
fn now_is_a_date_time() {
    assert_eq!(
        ev("now()"),
        XVal::DateTime(datetime("2026-11-22T09:00:00+07:00"))
    );
    check_text("now()", "2026-11-22T09:00:00.000+07:00");
    // 09:00 at +07:00 is 02:00 UTC.
    check_num("decimal-date-time(now())", 20_779.0 + 2.0 / 24.0);
    check_num("now() + 0", 20_779.0 + 2.0 / 24.0);
    check_true("now() > '2026-11-22'");
    check_true("now() < '2026-11-23'");
    check_true("boolean(now())");
}

#[test]
fn date_function() {
    assert_eq!(ev("date('2026-11-22')"), XVal::Date(20_779));
    check_num("date('2026-11-22') + 1", 20_780.0);
    check_text("date(date('2026-11-22') + 1)", "2026-11-23");
    check_text("date(today() + 10)", "2026-12-02");
    check_text("date(20780)", "2026-11-23");
    check_text("date(20780.9)", "2026-11-23");
    check_text("date('20780')", "2026-11-23");
    check_text("date(0)", "1970-01-01");
    check_text("date(-1)", "1969-12-31");
    check_text("date(${day})", "2026-11-22");
    check_text("date(' 2026-11-22 ')", "2026-11-22");
    check_text("date(${stamp})", "2026-11-22");
    check_text("date('2026-11-22T23:30:00-05:00')", "2026-11-22");
    check_text("date(now())", "2026-11-22");
    check_text("date(date('2024-02-29'))", "2024-02-29");
    check_num("date('2026-12-01') - today()", 9.0);
    check_num("today() - date('2026-01-01')", 325.0);
    // Bad dates are empty.
    check_text("date('')", "");
    check_text("date(${n})", "");
    check_text("date('2026-02-29')", "");
    check_text("date('2026-13-01')", "");
    check_text("date('garbage')", "");
    check_text("date(1 div 0)", "");
    check_text("date(true())", "");
}

#[test]
fn date_of_a_huge_number_is_no_date() {
    // Once a panic ('attempt to add with overflow' in dates::civil_from_days).
    check_text("string(date(10000000000000000000000))", "");
    check_text("format-date(10000000000000000000000, '%Y')", "");
    check_text("date('10000000000000000000000')", "");
    check_text("date(-10000000000000000000000)", "");
    check_text("date(2932896)", "9999-12-31");
}

#[test]
fn decimal_date_time() {
    check_num("decimal-date-time('1970-01-02T00:00:00Z')", 1.0);
    check_num("decimal-date-time('1970-01-01T12:00:00Z')", 0.5);
    check_num("decimal-date-time('1970-01-01T07:00:00+07:00')", 0.0);
    check_num("decimal-date-time('1970-01-01')", 0.0);
    check_num("decimal-date-time('2026-11-22')", 20_779.0);
    check_num(
        "decimal-date-time(${stamp})",
        20_779.0 + (2.0 * 3600.0 + 5.0 * 60.0 + 3.0) / 86_400.0,
    );
    check_num("decimal-date-time(date('2026-11-22'))", 20_779.0);
    check_num("decimal-date-time(2.5)", 2.5);
    check_num("decimal-date-time('')", f64::NAN);
    check_num("decimal-date-time('garbage')", f64::NAN);
}

#[test]
fn format_date_patterns() {
    check_text("format-date('2026-11-22', '%Y-%m-%d')", "2026-11-22");
    check_text("format-date(date('2026-03-05'), '%d/%m/%Y')", "05/03/2026");
    check_text("format-date(date('2026-03-05'), '%e/%n/%y')", "5/3/26");
    check_text("format-date('2026-11-22', '%b %e, %Y')", "Nov 22, 2026");
    check_text("format-date('2026-11-22', '%a')", "Sun");
    check_text("format-date('1970-01-01', '%a %b')", "Thu Jan");
    check_text("format-date(date(-1), '%a %Y-%m-%d')", "Wed 1969-12-31");
    check_text("format-date('2009-01-05', '%y')", "09");
    check_text("format-date(today(), 'day %d of %m')", "day 22 of 11");
    check_text("format-date(${day}, '%Y')", "2026");
    check_text("format-date(20779, '%Y-%m-%d')", "2026-11-22");
    // Time fields of a date-time value, in its own offset.
    check_text(
        "format-date(now(), '%Y-%m-%d %H:%M:%S')",
        "2026-11-22 09:00:00",
    );
    check_text("format-date(now(), '%h:%M')", "9:00");
    // A date has midnight for its time.
    check_text("format-date(today(), '%H:%M:%S')", "00:00:00");
    check_text("format-date(today(), '')", "");
    // Bad dates give the empty string.
    check_text("format-date('', '%Y')", "");
    check_text("format-date(${n}, '%Y')", "");
    check_text("format-date('garbage', '%Y')", "");
}

#[test]
fn format_date_keeps_the_time_of_a_date_time_string() {
    // Expected '09:05:03', actual '00:00:00'.
    check_text("format-date(${stamp}, '%H:%M:%S')", "09:05:03");
}

#[test]
fn long_sums_evaluate() {
    // A form summing many fields: a long left-nested chain.
    let s = scope();
    let src = ["${ten}"; 250].join(" + ");
    assert_eq!(s.eval(&src), XVal::Num(2_500.0));
}

// ---------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------

/// Token soup biased to expressions that parse: every function, fields of
/// each kind, and every operator.
fn expression_tokens() -> impl Strategy<Value = String> {
    const TOKENS: &[&str] = &[
        "1",
        "0",
        "2.5",
        "-",
        "+",
        "*",
        "div",
        "mod",
        "=",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "and",
        "or",
        "(",
        ")",
        ",",
        ".",
        "..",
        "${n}",
        "${ten}",
        "${x}",
        "${multi}",
        "${ages}",
        "${ages_gap}",
        "${none}",
        "${rep}",
        "${member}",
        "${day}",
        "${stamp}",
        "${missing}",
        "'2026-11-22'",
        "''",
        "'a b'",
        "'%Y %a %H'",
        "district",
        "if(",
        "not(",
        "true()",
        "false()",
        "today()",
        "now()",
        "date(",
        "format-date(",
        "round(",
        "substr(",
        "concat(",
        "selected(",
        "sum(",
        "count(",
        "max(",
        "min(",
        "indexed-repeat(",
        "position(",
        "string-length(",
        "decimal-date-time(",
        "coalesce(",
        "jr:choice-name(",
        "regex(",
        "int(",
        "number(",
        "string(",
        "selected-at(",
    ];
    prop::collection::vec(prop::sample::select(TOKENS), 0..24).prop_map(|t| t.join(" "))
}

proptest! {
    /// Whatever parses evaluates without panicking, and its string form is
    /// the string form of its value.
    #[test]
    fn eval_never_panics(src in expression_tokens()) {
        let s = scope();
        if parse(&src).is_ok() {
            let value = s.eval(&src);
            let shown = value.to_string();
            prop_assert_eq!(value.into_string(), shown);
        }
    }
}

#[test]
fn texts_over_the_cap_are_refused_before_they_are_built() {
    use crate::form::limits::MAX_TEXT_BYTES;
    let half = "a".repeat(MAX_TEXT_BYTES / 2);
    let over = "a".repeat(MAX_TEXT_BYTES / 2 + 1);
    let s = scope()
        .with("half", str_val(&half))
        .with("over", str_val(&over))
        .with("overs", XVal::Set(vec![over.clone(), over.clone()]))
        .with("pattern", str_val(&"%Y".repeat(MAX_TEXT_BYTES / 4 + 1)));
    // At the cap: built.
    assert_eq!(
        s.eval("concat(${half}, ${half})").into_string().len(),
        MAX_TEXT_BYTES
    );
    assert_eq!(s.too_long.get(), 0);
    // Over it: an empty string, and the scope is told.
    for (i, src) in [
        "concat(${over}, ${over})",
        "concat(${overs})",
        "join('', ${overs})",
        "join(${half}, ${overs})",
        "format-date('2026-11-22', ${pattern})",
        "string-length(concat(${over}, ${over}))",
    ]
    .into_iter()
    .enumerate()
    {
        let value = s.eval(src).into_string();
        assert!(
            value.is_empty() || value == "0",
            "{src}: {} bytes",
            value.len()
        );
        assert_eq!(s.too_long.get(), i + 1, "{src}");
    }
}
