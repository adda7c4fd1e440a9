//! Parser tests, printer tests and property tests. Over 700 lines on
//! purpose: every grammar rule has its cases here, in the grammar's order.

use proptest::prelude::*;

use super::*;

// ---------------------------------------------------------------------------
// Tree builders
// ---------------------------------------------------------------------------

#[track_caller]
fn p(src: &str) -> Expr {
    parse(src).unwrap_or_else(|e| panic!("{src:?} should parse: {e}"))
}

#[track_caller]
fn err(src: &str) -> ParseError {
    match parse(src) {
        Ok(e) => panic!("{src:?} should not parse, got {e:?}"),
        Err(e) => e,
    }
}

fn num(n: f64) -> Expr {
    Expr::Num(n)
}

fn s(text: &str) -> Expr {
    Expr::Str(text.to_string())
}

fn r(name: &str) -> Expr {
    Expr::Ref(Ref {
        name: name.to_string(),
        node: None,
    })
}

fn col(name: &str) -> Expr {
    Expr::Column(name.to_string())
}

fn neg(e: Expr) -> Expr {
    Expr::Neg(Box::new(e))
}

fn bin(op: BinOp, a: Expr, b: Expr) -> Expr {
    Expr::Binary(op, Box::new(a), Box::new(b))
}

fn call(f: Func, args: Vec<Expr>) -> Expr {
    Expr::Call(f, args)
}

fn nested(open: &str, inner: &str, close: &str, n: usize) -> String {
    format!("{}{inner}{}", open.repeat(n), close.repeat(n))
}

// ---------------------------------------------------------------------------
// Literals and references
// ---------------------------------------------------------------------------

#[test]
fn numbers() {
    assert_eq!(p("0"), num(0.0));
    assert_eq!(p("42"), num(42.0));
    assert_eq!(p("3.25"), num(3.25));
    assert_eq!(p(".5"), num(0.5));
    assert_eq!(p("5."), num(5.0));
    assert_eq!(p("007"), num(7.0));
    assert_eq!(p("  12  "), num(12.0));
    assert_eq!(p("-1"), neg(num(1.0)));
}

#[test]
fn strings_in_both_quote_styles() {
    assert_eq!(p("'abc'"), s("abc"));
    assert_eq!(p("\"abc\""), s("abc"));
    assert_eq!(p("''"), s(""));
    assert_eq!(p("\"\""), s(""));
    assert_eq!(p("\"it's\""), s("it's"));
    assert_eq!(p("'say \"hi\"'"), s("say \"hi\""));
    assert_eq!(p("'ບ້ານ ນາ'"), s("ບ້ານ ນາ"));
    // No escapes, and nothing inside a string is syntax.
    assert_eq!(p("'a\\b ${x} ( ,'"), s("a\\b ${x} ( ,"));
    assert_eq!(p("' spaced '"), s(" spaced "));
}

#[test]
fn references() {
    assert_eq!(p("${age}"), r("age"));
    assert_eq!(p("${hh_size}"), r("hh_size"));
    assert_eq!(p("${a.b-c_1}"), r("a.b-c_1"));
    assert_eq!(p("${_x}"), r("_x"));
    assert_eq!(p("${nom_é}"), r("nom_é"));
    assert_eq!(p("${a} + ${b}"), bin(BinOp::Add, r("a"), r("b")));
    // The loader fills in the node.
    let Expr::Ref(reference) = p("${age}") else {
        panic!("not a reference");
    };
    assert_eq!(reference.node, None);
}

#[test]
fn current_and_parent() {
    assert_eq!(p("."), Expr::Current);
    assert_eq!(p(".."), Expr::Parent);
    assert_eq!(p(". >= 18"), bin(BinOp::Ge, Expr::Current, num(18.0)));
    assert_eq!(p("position(..)"), call(Func::Position, vec![Expr::Parent]));
    assert_eq!(p("position()"), call(Func::Position, vec![]));
    assert_eq!(
        p("string-length(.)"),
        call(Func::StringLength, vec![Expr::Current])
    );
    assert_eq!(p("-."), neg(Expr::Current));
}

#[test]
fn namespaced_function() {
    assert_eq!(
        p("jr:choice-name(${crop}, '${crop}')"),
        call(Func::ChoiceName, vec![r("crop"), s("${crop}")])
    );
    assert_eq!(
        p("jr:choice-name( . ,\"${crop}\" )"),
        call(Func::ChoiceName, vec![Expr::Current, s("${crop}")])
    );
}

#[test]
fn bare_names_are_columns() {
    assert_eq!(p("district"), col("district"));
    assert_eq!(
        p("name = ${district}"),
        bin(BinOp::Eq, col("name"), r("district"))
    );
    // XPath names may contain '-' and '.'.
    assert_eq!(p("a-1"), col("a-1"));
    assert_eq!(p("a.b"), col("a.b"));
    assert_eq!(p("a - 1"), bin(BinOp::Sub, col("a"), num(1.0)));
    // A function name without parentheses is just a name.
    assert_eq!(p("if"), col("if"));
}

#[test]
fn whitespace_is_insignificant() {
    assert_eq!(p("\t1\n+\r\n2 "), bin(BinOp::Add, num(1.0), num(2.0)));
    assert_eq!(p("1+2"), p("1 + 2"));
    assert_eq!(p("${a}-1"), bin(BinOp::Sub, r("a"), num(1.0)));
    assert_eq!(p("5-3"), bin(BinOp::Sub, num(5.0), num(3.0)));
    assert_eq!(
        p("concat( 'a' , 'b' )"),
        call(Func::Concat, vec![s("a"), s("b")])
    );
}

// ---------------------------------------------------------------------------
// Precedence and associativity
// ---------------------------------------------------------------------------

#[test]
fn multiplication_binds_tighter_than_addition() {
    use BinOp::*;
    assert_eq!(
        p("1 + 2 * 3"),
        bin(Add, num(1.0), bin(Mul, num(2.0), num(3.0)))
    );
    assert_eq!(
        p("1 * 2 + 3"),
        bin(Add, bin(Mul, num(1.0), num(2.0)), num(3.0))
    );
    assert_eq!(
        p("(1 + 2) * 3"),
        bin(Mul, bin(Add, num(1.0), num(2.0)), num(3.0))
    );
    assert_eq!(
        p("10 - 4 div 2"),
        bin(Sub, num(10.0), bin(Div, num(4.0), num(2.0)))
    );
    assert_eq!(
        p("1 + 7 mod 3"),
        bin(Add, num(1.0), bin(Mod, num(7.0), num(3.0)))
    );
}

#[test]
fn operators_are_left_associative() {
    use BinOp::*;
    assert_eq!(
        p("1 - 2 - 3"),
        bin(Sub, bin(Sub, num(1.0), num(2.0)), num(3.0))
    );
    assert_eq!(
        p("8 div 4 div 2"),
        bin(Div, bin(Div, num(8.0), num(4.0)), num(2.0))
    );
    assert_eq!(
        p("7 mod 3 * 2"),
        bin(Mul, bin(Mod, num(7.0), num(3.0)), num(2.0))
    );
    assert_eq!(
        p("1 < 2 < 3"),
        bin(Lt, bin(Lt, num(1.0), num(2.0)), num(3.0))
    );
    assert_eq!(
        p("a or b or c"),
        bin(Or, bin(Or, col("a"), col("b")), col("c"))
    );
}

#[test]
fn and_binds_tighter_than_or() {
    use BinOp::*;
    assert_eq!(
        p("a or b and c"),
        bin(Or, col("a"), bin(And, col("b"), col("c")))
    );
    assert_eq!(
        p("a and b or c"),
        bin(Or, bin(And, col("a"), col("b")), col("c"))
    );
    assert_eq!(
        p("(a or b) and c"),
        bin(And, bin(Or, col("a"), col("b")), col("c"))
    );
}

#[test]
fn comparison_binds_looser_than_arithmetic() {
    use BinOp::*;
    assert_eq!(
        p("1 + 2 = 3"),
        bin(Eq, bin(Add, num(1.0), num(2.0)), num(3.0))
    );
    assert_eq!(
        p("${a} * 2 >= ${b} - 1"),
        bin(Ge, bin(Mul, r("a"), num(2.0)), bin(Sub, r("b"), num(1.0)))
    );
    // Relational binds tighter than equality.
    assert_eq!(
        p("1 < 2 = 2 > 1"),
        bin(Eq, bin(Lt, num(1.0), num(2.0)), bin(Gt, num(2.0), num(1.0)))
    );
    assert_eq!(
        p("${a} = 1 and ${b} != 2"),
        bin(And, bin(Eq, r("a"), num(1.0)), bin(Ne, r("b"), num(2.0)))
    );
    assert_eq!(
        p(". <= 5 or . > 10"),
        bin(
            Or,
            bin(Le, Expr::Current, num(5.0)),
            bin(Gt, Expr::Current, num(10.0))
        )
    );
}

#[test]
fn unary_minus_binds_tightest() {
    use BinOp::*;
    assert_eq!(p("-2 * 3"), bin(Mul, neg(num(2.0)), num(3.0)));
    assert_eq!(p("- 2 + 3"), bin(Add, neg(num(2.0)), num(3.0)));
    assert_eq!(p("1 - -2"), bin(Sub, num(1.0), neg(num(2.0))));
    assert_eq!(p("1--2"), bin(Sub, num(1.0), neg(num(2.0))));
    assert_eq!(p("--1"), neg(neg(num(1.0))));
    assert_eq!(p("-${a} < 0"), bin(Lt, neg(r("a")), num(0.0)));
    assert_eq!(p("-(1 + 2)"), neg(bin(Add, num(1.0), num(2.0))));
    assert_eq!(p("-abs(2)"), neg(call(Func::Abs, vec![num(2.0)])));
}

#[test]
fn div_and_mod_are_operators_only_after_an_operand() {
    use BinOp::*;
    assert_eq!(p("div = 1"), bin(Eq, col("div"), num(1.0)));
    assert_eq!(p("mod != ''"), bin(Ne, col("mod"), s("")));
    assert_eq!(p("div div div"), bin(Div, col("div"), col("div")));
    assert_eq!(p("mod mod 2"), bin(Mod, col("mod"), num(2.0)));
    assert_eq!(p("and and or"), bin(And, col("and"), col("or")));
    assert_eq!(p("10 div 2"), bin(Div, num(10.0), num(2.0)));
    assert_eq!(p("1div 2"), bin(Div, num(1.0), num(2.0)));
    assert_eq!(
        p("${a} mod 2 = 0"),
        bin(Eq, bin(Mod, r("a"), num(2.0)), num(0.0))
    );
    assert_eq!(
        p("district = ${district} and div = 1"),
        bin(
            And,
            bin(Eq, col("district"), r("district")),
            bin(Eq, col("div"), num(1.0))
        )
    );
    // As a function name, div is unknown.
    assert!(matches!(err("div(1)"), ParseError::UnknownFunction { .. }));
}

#[test]
fn calls() {
    assert_eq!(p("true()"), call(Func::True, vec![]));
    assert_eq!(
        p("if(${a} > 1, 'y', 'n')"),
        call(
            Func::If,
            vec![bin(BinOp::Gt, r("a"), num(1.0)), s("y"), s("n")]
        )
    );
    assert_eq!(
        p("concat(substr(${a}, 0, 1), \"-\", string(1 + 2))"),
        call(
            Func::Concat,
            vec![
                call(Func::Substr, vec![r("a"), num(0.0), num(1.0)]),
                s("-"),
                call(Func::String, vec![bin(BinOp::Add, num(1.0), num(2.0))]),
            ]
        )
    );
    assert_eq!(
        p("indexed-repeat(${x}, ${rep}, 2, ${inner}, position(..))"),
        call(
            Func::IndexedRepeat,
            vec![
                r("x"),
                r("rep"),
                num(2.0),
                r("inner"),
                call(Func::Position, vec![Expr::Parent]),
            ]
        )
    );
}

#[test]
fn every_function_parses_at_both_ends_of_its_arity() {
    for &f in Func::ALL {
        assert_eq!(Func::from_name(f.name()), Some(f));
        let (min, max) = f.arity();
        for n in [min, max.min(min + 4)] {
            if f == Func::IndexedRepeat && n % 2 == 0 || f == Func::WeightedChecklist && n % 2 == 1
            {
                continue;
            }
            let args = vec!["1"; n].join(", ");
            let src = format!("{}({args})", f.name());
            match parse(&src) {
                Ok(Expr::Call(g, a)) => {
                    assert_eq!(g, f, "{src}");
                    assert_eq!(a.len(), n, "{src}");
                }
                other => panic!("{src}: {other:?}"),
            }
        }
        if min > 0 {
            let src = format!("{}({})", f.name(), vec!["1"; min - 1].join(", "));
            assert!(matches!(err(&src), ParseError::Arity { .. }), "{src}");
        }
        if max != usize::MAX {
            let src = format!("{}({})", f.name(), vec!["1"; max + 1].join(", "));
            assert!(matches!(err(&src), ParseError::Arity { .. }), "{src}");
        }
    }
    assert_eq!(Func::ALL.len(), 69);
    assert_eq!(Func::from_name("choice-name"), None);
    assert_eq!(Func::from_name("IF"), None);
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

#[test]
fn empty() {
    assert_eq!(err(""), ParseError::Empty);
    assert_eq!(err("   \n\t"), ParseError::Empty);
}

#[test]
fn too_long() {
    assert_eq!(err(&" ".repeat(MAX_LEN + 1)), ParseError::TooLong);
    assert_eq!(err(&"1".repeat(MAX_LEN + 1)), ParseError::TooLong);
    // Exactly at the limit is fine.
    assert_eq!(p(&format!("1{}", " ".repeat(MAX_LEN - 1))), num(1.0));
    // The limit counts characters, not bytes.
    let lao = format!("'{}'", "ບ".repeat(MAX_LEN - 2));
    assert!(lao.len() > MAX_LEN);
    assert_eq!(p(&lao), Expr::Str("ບ".repeat(MAX_LEN - 2)));
    let lao = format!("'{}'", "ບ".repeat(MAX_LEN - 1));
    assert_eq!(err(&lao), ParseError::TooLong);
}

#[test]
fn too_deep() {
    // 63 parentheses are the most accepted.
    assert_eq!(p(&nested("(", "1", ")", MAX_DEPTH - 1)), num(1.0));
    assert_eq!(err(&nested("(", "1", ")", MAX_DEPTH)), ParseError::TooDeep);
    assert_eq!(err(&nested("(", "1", ")", 100)), ParseError::TooDeep);
    assert_eq!(err(&format!("{}1", "-".repeat(100))), ParseError::TooDeep);
    assert_eq!(
        err(&nested("not(", "true()", ")", 100)),
        ParseError::TooDeep
    );
    assert_eq!(err(&nested("1 + (", "1", ")", 100)), ParseError::TooDeep);
    assert_eq!(
        err(&nested("concat('a', ", "1", ")", 100)),
        ParseError::TooDeep
    );
    // Far deeper input fails cleanly rather than overflowing the stack.
    assert_eq!(err(&nested("(", "1", ")", 9_999)), ParseError::TooDeep);
    assert_eq!(
        err(&format!("{}1", "-".repeat(19_000))),
        ParseError::TooDeep
    );
    // Unclosed nesting is also too deep before it is unclosed.
    assert_eq!(err(&"(".repeat(10_000)), ParseError::TooDeep);
}

#[test]
fn long_chains_parse_up_to_the_tree_limit() {
    // A sum of many fields nests on the left: accepted up to MAX_TREE_DEPTH.
    let src = ["${a}"; MAX_TREE_DEPTH].join(" + ");
    let e = p(&src);
    assert_eq!(e.refs().len(), MAX_TREE_DEPTH);
    let src = ["1"; 3_000].join(" + ");
    assert_eq!(err(&src), ParseError::TooDeep);
}

#[test]
fn unexpected_character() {
    assert_eq!(err("1 # 2"), ParseError::UnexpectedChar { pos: 3, ch: '#' });
    assert_eq!(err("$x"), ParseError::UnexpectedChar { pos: 1, ch: '$' });
    assert_eq!(err("1 + $"), ParseError::UnexpectedChar { pos: 5, ch: '$' });
    assert_eq!(err("1 ! 2"), ParseError::UnexpectedChar { pos: 3, ch: '!' });
    assert!(matches!(err("[1]"), ParseError::Unexpected { pos: 1, .. }));
    assert_eq!(err("a:"), ParseError::UnexpectedChar { pos: 2, ch: ':' });
    assert_eq!(err("${a}}"), ParseError::UnexpectedChar { pos: 5, ch: '}' });
    assert_eq!(err("@x"), ParseError::UnexpectedChar { pos: 1, ch: '@' });
    // Positions count characters, not bytes.
    assert_eq!(
        err("'ບ້ານ' @"),
        ParseError::UnexpectedChar { pos: 8, ch: '@' }
    );
    // A number too large for a double.
    assert!(matches!(
        err(&"9".repeat(400)),
        ParseError::UnexpectedChar { pos: 1, ch: '9' }
    ));
}

#[test]
fn unclosed_string() {
    assert_eq!(err("'abc"), ParseError::UnclosedString { pos: 1 });
    assert_eq!(err("\"abc'"), ParseError::UnclosedString { pos: 1 });
    assert_eq!(
        err("concat('a', \"b)"),
        ParseError::UnclosedString { pos: 13 }
    );
    assert_eq!(err("'"), ParseError::UnclosedString { pos: 1 });
}

#[test]
fn bad_reference() {
    assert_eq!(err("${ x}"), ParseError::BadReference { pos: 1 });
    assert_eq!(err("${x }"), ParseError::BadReference { pos: 1 });
    assert_eq!(err("${}"), ParseError::BadReference { pos: 1 });
    assert_eq!(err("${a"), ParseError::BadReference { pos: 1 });
    assert_eq!(err("${"), ParseError::BadReference { pos: 1 });
    assert_eq!(err("${1a}"), ParseError::BadReference { pos: 1 });
    assert_eq!(err("${a b}"), ParseError::BadReference { pos: 1 });
    assert_eq!(err("${a/b}"), ParseError::BadReference { pos: 1 });
    assert_eq!(err("1 + ${a b}"), ParseError::BadReference { pos: 5 });
}

#[test]
fn unexpected_token() {
    const VALUE: &str = "a value, a ${field} or a function call";
    const END: &str = "an operator or the end of the expression";
    let unexpected = |pos: usize, found: &str, expected: &'static str| ParseError::Unexpected {
        pos,
        found: found.to_string(),
        expected,
    };
    assert_eq!(
        err("1 +"),
        unexpected(4, "the end of the expression", VALUE)
    );
    assert_eq!(err("1 2"), unexpected(3, "the number 2", END));
    assert_eq!(err("'a' 'b'"), unexpected(5, "the string 'b'", END));
    assert_eq!(err("${a} ${b}"), unexpected(6, "${b}", END));
    assert_eq!(err("a b"), unexpected(3, "'b'", END));
    assert_eq!(err("(1"), unexpected(3, "the end of the expression", "')'"));
    assert_eq!(err("(1 2)"), unexpected(4, "the number 2", "')'"));
    assert_eq!(err(")"), unexpected(1, "')'", VALUE));
    assert_eq!(err("1 = = 2"), unexpected(5, "'='", VALUE));
    assert_eq!(err("1 | 2"), unexpected(3, "'|'", END));
    assert_eq!(err("*"), unexpected(1, "'*'", VALUE));
    assert_eq!(err("()"), unexpected(2, "')'", VALUE));
    assert_eq!(
        err("concat('a' 'b')"),
        unexpected(12, "the string 'b'", "',' or ')'")
    );
    assert_eq!(err("concat(,)"), unexpected(8, "','", VALUE));
    assert_eq!(err("concat('a',)"), unexpected(12, "')'", VALUE));
    assert_eq!(
        err("concat('a'"),
        unexpected(11, "the end of the expression", "',' or ')'")
    );
    assert_eq!(
        err("1 and"),
        unexpected(6, "the end of the expression", VALUE)
    );
}

#[test]
fn unknown_function() {
    assert_eq!(
        err("foo(1)"),
        ParseError::UnknownFunction {
            pos: 1,
            name: "foo".into()
        }
    );
    assert_eq!(
        err("1 + lower()"),
        ParseError::UnknownFunction {
            pos: 5,
            name: "lower".into()
        }
    );
    assert!(
        err("last-saved(1)")
            .to_string()
            .contains("reads the last record saved"),
    );
    assert_eq!(
        err("jr:foo()"),
        ParseError::UnknownFunction {
            pos: 1,
            name: "jr:foo".into()
        }
    );
    assert!(matches!(
        err("format-datetime(now(), '%H')"),
        ParseError::UnknownFunction { .. }
    ));
    assert!(matches!(
        err("If(1, 2, 3)"),
        ParseError::UnknownFunction { .. }
    ));
}

#[test]
fn arity() {
    let arity = |name: &'static str, expected: &str, got: usize| ParseError::Arity {
        name,
        expected: expected.to_string(),
        got,
    };
    assert_eq!(err("if(1, 2)"), arity("if", "3 arguments", 2));
    assert_eq!(err("not()"), arity("not", "1 argument", 0));
    assert_eq!(err("not(1, 2)"), arity("not", "1 argument", 2));
    assert_eq!(err("true(1)"), arity("true", "0 arguments", 1));
    assert_eq!(err("min()"), arity("min", "at least 1 argument", 0));
    assert_eq!(err("substr('a')"), arity("substr", "2 to 3 arguments", 1));
    assert_eq!(
        err("indexed-repeat(${a}, ${r})"),
        arity(
            "indexed-repeat",
            "3, 5 or 7 arguments (a field, then repeat and position pairs)",
            2
        )
    );
    assert_eq!(
        err("jr:choice-name(${a})"),
        arity("jr:choice-name", "2 arguments", 1)
    );
    // Arity is checked after the arguments parse.
    assert!(matches!(err("if(1, 2 +)"), ParseError::Unexpected { .. }));
    assert_eq!(p("concat()"), call(Func::Concat, vec![]));
}

#[test]
fn indexed_repeat_takes_whole_pairs() {
    // Expected Err(Arity), actual Ok(Call(IndexedRepeat, ..)).
    assert!(matches!(
        parse("indexed-repeat(${a}, ${r}, 1, ${r2})"),
        Err(ParseError::Arity { .. })
    ));
    assert!(matches!(
        parse("indexed-repeat(${a}, ${r}, 1, ${r2}, 1, ${r3})"),
        Err(ParseError::Arity { .. })
    ));
}

/// Relative paths as pyxform's users write them: a choice's column, a
/// field of the row's own section, one further up; printed back as written.
#[test]
fn relative_paths_are_columns_and_fields() {
    let rel = |name: &str| {
        Expr::Ref(Ref {
            name: name.to_string(),
            node: None,
        })
    };
    assert_eq!(parse("./source").unwrap(), Expr::Column("source".into()));
    assert_eq!(parse("../age").unwrap(), rel("../age"));
    assert_eq!(parse("current()/../age").unwrap(), rel("../age"));
    assert_eq!(parse("../../g/age").unwrap(), rel("../../g/age"));
    assert_eq!(parse("current()/../../age").unwrap(), rel("../../age"));
    assert_eq!(parse("current()").unwrap(), Expr::Current);
    for text in ["../age > 3", "../../g/age = ./source", "count(..) + 1"] {
        let e = parse(text).unwrap();
        assert_eq!(parse(&e.to_string()).unwrap(), e, "{text}");
    }
}

#[test]
fn paths_are_rejected() {
    let path = |pos: usize, path: &str| ParseError::Path {
        pos,
        path: path.to_string(),
    };
    assert_eq!(err("/data/x"), path(1, "/..."));
    assert_eq!(err("a/b"), path(1, "a/..."));
    assert_eq!(err("${a}/b"), path(1, "${a}/..."));
    assert_eq!(err("./x/y"), path(1, "./x/y"));
    assert_eq!(err("current()/x"), path(1, "current()/x"));
    assert_eq!(err("../.."), path(1, "../.."));
    assert_eq!(err("1 + ../(x)"), path(5, "../..."));
    assert_eq!(err("count(/data/rep)"), path(7, "/..."));
    assert_eq!(err("1 = /"), path(5, "/..."));
    assert_eq!(err("a//b"), path(1, "a/..."));
}

#[test]
fn error_messages() {
    assert_eq!(ParseError::Empty.to_string(), "the expression is empty");
    assert_eq!(
        ParseError::TooDeep.to_string(),
        "the expression is nested too deeply (over 64 parentheses or calls, or a chain of over 256 \
         operations); split it into calculate rows"
    );
    assert_eq!(
        ParseError::TooLong.to_string(),
        "the expression is longer than 20000 characters"
    );
    assert_eq!(err("if(1, 2)").to_string(), "if() takes 3 arguments, not 2");
    assert_eq!(
        err("${ x}").to_string(),
        "'${' at character 1 is not closed by '}' around a field name"
    );
    assert_eq!(
        err("1 2").to_string(),
        "the number 2 at character 3, where an operator or the end of the expression was expected"
    );
    assert_eq!(
        err("/data/x").to_string(),
        "the path '/...' at character 1 is not one fieldkit follows: refer to fields as ${name}, \
         or relative to the row as ../name (current()/../name in a choice filter), and to a \
         choice's column as ./column"
    );
    assert_eq!(
        err("foo()").to_string(),
        "unknown function 'foo()' at character 1"
    );
}

// ---------------------------------------------------------------------------
// Printing and walking
// ---------------------------------------------------------------------------

#[test]
fn display() {
    let shown = |src: &str| p(src).to_string();
    assert_eq!(shown("1 + 2 * 3"), "1 + 2 * 3");
    assert_eq!(shown("(1 + 2) * 3"), "(1 + 2) * 3");
    assert_eq!(shown("1 - (2 - 3)"), "1 - (2 - 3)");
    assert_eq!(shown("(1 - 2) - 3"), "1 - 2 - 3");
    assert_eq!(shown("-${a} div 2"), "-${a} div 2");
    assert_eq!(shown("-(1 - 2)"), "-(1 - 2)");
    assert_eq!(shown("--1"), "--1");
    assert_eq!(shown(". >= 18 and . <= 99"), ". >= 18 and . <= 99");
    assert_eq!(shown("a or b and c"), "a or b and c");
    assert_eq!(shown("(a or b) and c"), "(a or b) and c");
    assert_eq!(shown("x != 1 mod 2"), "x != 1 mod 2");
    assert_eq!(
        shown("concat(\"it's\", 'x', ${a})"),
        "concat(\"it's\", 'x', ${a})"
    );
    assert_eq!(shown("\"plain\""), "'plain'");
    assert_eq!(shown("position(..)"), "position(..)");
    assert_eq!(shown("true()"), "true()");
    assert_eq!(
        shown("jr:choice-name(${crop},'${crop}')"),
        "jr:choice-name(${crop}, '${crop}')"
    );
    assert_eq!(shown("2.50"), "2.5");
    assert_eq!(shown(".5"), "0.5");
    assert_eq!(shown("1000000"), "1000000");
    assert_eq!(shown("div = 1"), "div = 1");
    assert_eq!(shown("'ບ້ານ'"), "'ບ້ານ'");
    assert_eq!(BinOp::Ne.symbol(), "!=");
    assert_eq!(BinOp::Div.symbol(), "div");
}

#[test]
fn printed_trees_parse_back() {
    for src in [
        "1 + 2 * 3 - 4 div 5 mod 6",
        "-(-${a}) < --2 or not(. = '') and ${b} != \"it's\"",
        "if(selected(${m}, 'a'), concat(${x}, ' ', jr:choice-name(${c}, '${c}')), '')",
        "indexed-repeat(${x}, ${rep}, position(..) - 1)",
        "div div div = mod and and or or",
        "format-date(today(), '%Y-%m-%d') = string(date(decimal-date-time(now())))",
    ] {
        let e = p(src);
        assert_eq!(p(&e.to_string()), e, "{src} printed as {e}");
    }
}

#[test]
fn printed_long_chains_parse_back() {
    let src = ["${a}"; 70].join(" + ");
    let e = p(&src);
    // Expected Ok(e), actual Err(TooDeep).
    assert_eq!(parse(&e.to_string()), Ok(e));
}

#[test]
fn refs_in_order() {
    let e = p("${a} + ${b} * if(${a}, ${c}, 1)");
    let names: Vec<&str> = e.refs().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "a", "c"]);
    assert!(p("1 + district").refs().is_empty());
}

#[test]
fn walk_visits_every_node() {
    let e = p("-${a} + f_col * concat('x', .)");
    let mut count = 0;
    e.walk(&mut |_| count += 1);
    // Binary(+), Neg, Ref, Binary(*), Column, Call, Str, Current.
    assert_eq!(count, 8);

    let mut e = p("${a} + ${b}");
    e.walk_mut(&mut |x| {
        if let Expr::Ref(r) = x {
            r.node = Some(r.name.len() * 10);
        }
    });
    let nodes: Vec<Option<usize>> = e.refs().iter().map(|r| r.node).collect();
    assert_eq!(nodes, [Some(10), Some(10)]);
}

// ---------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------

/// Tokens joined by spaces: mostly well-formed pieces, so that much of what
/// this generates parses.
fn token_soup() -> impl Strategy<Value = String> {
    const TOKENS: &[&str] = &[
        "1",
        "0",
        "2.5",
        ".5",
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
        "${a}",
        "${b_2}",
        "'x'",
        "\"it's\"",
        "''",
        "col",
        "div",
        "jr:choice-name(",
        "if(",
        "not(",
        "true()",
        "concat(",
        "substr(",
        "position(",
        "count(",
        "round(",
        "/",
        "|",
        "${",
        "'",
        "foo(",
    ];
    prop::collection::vec(prop::sample::select(TOKENS), 0..30).prop_map(|t| t.join(" "))
}

/// Source text built from the grammar, with varied spelling: spacing, number
/// forms, both quote kinds, redundant parentheses, names that are operator
/// words. Most of it parses.
fn source() -> impl Strategy<Value = String> {
    const OPERATORS: &[&str] = &[
        "or", "and", "=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "div", "mod",
    ];
    const SPACES: &[&str] = &[" ", "  ", "\t", "\n", ""];
    let leaf = prop_oneof![
        "[0-9]{1,4}(\\.[0-9]{0,3})?",
        "\\.[0-9]{1,3}",
        "'[^']{0,5}'",
        "\"[^\"]{0,5}\"",
        "\\$\\{[a-z_][a-z0-9_.-]{0,5}\\}",
        "[a-z_][a-z0-9_.-]{0,5}",
        prop::sample::select(vec![
            "and", "or", "div", "mod", ".", "..", "true()", "today()"
        ])
        .prop_map(str::to_string),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        let args = inner.clone();
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(SPACES),
                prop::sample::select(OPERATORS),
                prop::sample::select(SPACES),
                inner.clone(),
            )
                .prop_map(|(a, w1, op, w2, b)| format!("{a}{w1}{op}{w2}{b}")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner
                .clone()
                .prop_map(|a| format!("instance('sites')/root/item[{a}]/last_total")),
            inner.prop_map(|a| format!("-{a}")),
            prop::sample::select(Func::ALL).prop_flat_map(move |f| {
                let (min, max) = f.arity();
                prop::collection::vec(args.clone(), min..=max.min(min + 2))
                    .prop_filter(
                        "indexed-repeat and weighted-checklist take whole pairs",
                        move |a| {
                            (f != Func::IndexedRepeat || a.len() % 2 == 1)
                                && (f != Func::WeightedChecklist || a.len() % 2 == 0)
                        },
                    )
                    .prop_map(move |a| format!("{}({})", f.name(), a.join(", ")))
            }),
        ]
    })
}

/// Characters of expressions, without the spacing `token_soup` adds.
const EXPRESSION_CHARS: &str = "[-+*/()$.{}a-z0-9 ,'=<>!\"|:_\\[\\]]{0,60}";

fn assert_round_trip(src: &str) -> Result<(), TestCaseError> {
    if let Ok(e) = parse(src) {
        let printed = e.to_string();
        prop_assert_eq!(parse(&printed), Ok(e), "{:?} printed as {:?}", src, printed);
    }
    Ok(())
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        (0u32..1000).prop_map(f64::from),
        0.0f64..1e6,
        // Any finite magnitude, including subnormals and values near MAX.
        any::<f64>()
            .prop_filter("finite", |n| n.is_finite())
            .prop_map(f64::abs),
    ]
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z_é][a-zA-Z0-9_.é-]{0,8}"
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        number().prop_map(Expr::Num),
        // Either quote kind may appear, but not both.
        prop_oneof!["[^']{0,8}", "[^\"]{0,8}"].prop_map(Expr::Str),
        name().prop_map(|name| Expr::Ref(Ref { name, node: None })),
        name()
            .prop_filter("an operator name", |n| {
                !matches!(n.as_str(), "and" | "or" | "div" | "mod")
            })
            .prop_map(Expr::Column),
        Just(Expr::Current),
        Just(Expr::Parent),
    ]
}

fn binop() -> impl Strategy<Value = BinOp> {
    prop::sample::select(vec![
        BinOp::Or,
        BinOp::And,
        BinOp::Eq,
        BinOp::Ne,
        BinOp::Lt,
        BinOp::Le,
        BinOp::Gt,
        BinOp::Ge,
        BinOp::Add,
        BinOp::Sub,
        BinOp::Mul,
        BinOp::Div,
        BinOp::Mod,
    ])
}

fn tree() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(5, 48, 4, |inner| {
        let args = inner.clone();
        prop_oneof![
            inner.clone().prop_map(|e| Expr::Neg(Box::new(e))),
            (
                name(),
                prop::option::of(inner.clone()),
                prop::option::of(name())
            )
                .prop_map(|(id, filter, prop)| Expr::Instance(Box::new(
                    InstancePath { id, filter, prop }
                ))),
            (binop(), inner.clone(), inner).prop_map(|(op, a, b)| Expr::Binary(
                op,
                Box::new(a),
                Box::new(b)
            )),
            prop::sample::select(Func::ALL).prop_flat_map(move |f| {
                let (min, max) = f.arity();
                prop::collection::vec(args.clone(), min..=max.min(min + 3))
                    .prop_filter(
                        "indexed-repeat and weighted-checklist take whole pairs",
                        move |a| {
                            (f != Func::IndexedRepeat || a.len() % 2 == 1)
                                && (f != Func::WeightedChecklist || a.len() % 2 == 0)
                        },
                    )
                    .prop_map(move |a| Expr::Call(f, a))
            }),
        ]
    })
}

proptest! {
    #[test]
    fn parse_never_panics_on_any_string(src in any::<String>()) {
        let _ = parse(&src);
    }

    #[test]
    fn parse_never_panics_on_expression_characters(src in EXPRESSION_CHARS) {
        let _ = parse(&src);
    }

    #[test]
    fn parse_never_panics_on_token_soup(src in token_soup()) {
        let _ = parse(&src);
    }

    #[test]
    fn parse_never_panics_on_grammar_source(src in source()) {
        let _ = parse(&src);
    }

    #[test]
    fn what_parses_prints_back_from_grammar_source(src in source()) {
        assert_round_trip(&src)?;
    }

    #[test]
    fn what_parses_prints_back_from_characters(src in EXPRESSION_CHARS) {
        assert_round_trip(&src)?;
    }

    #[test]
    fn what_parses_prints_back_from_tokens(src in token_soup()) {
        assert_round_trip(&src)?;
    }

    #[test]
    fn generated_trees_print_back(e in tree()) {
        let printed = e.to_string();
        prop_assume!(printed.chars().count() <= MAX_LEN);
        prop_assert_eq!(parse(&printed), Ok(e), "printed as {:?}", printed);
    }
}
