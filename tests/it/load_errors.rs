//! Load-time errors: every kind names the file, the row and the column,
//! and says what to do; no input makes the loader panic.

use fieldkit::form::{self, FormError};

use crate::support::form_dir;

fn errors_of(toml: &str) -> Vec<FormError> {
    let (_dir, path) = form_dir(toml);
    match form::load(&path) {
        Ok(_) => panic!("the form loaded, but an error was expected:\n{toml}"),
        Err(errors) => errors,
    }
}

/// Asserts one error at `row`/`column` whose text contains `needle`.
fn expect_error(toml: &str, sheet: &str, row: Option<usize>, column: &str, needle: &str) {
    let errors = errors_of(toml);
    let found = errors.iter().any(|e| {
        e.sheet == sheet
            && e.row == row
            && e.column.as_deref() == Some(column)
            && e.message.contains(needle)
    });
    let shown: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert!(
        found,
        "expected {sheet} row {row:?} column {column} containing {needle:?}; got:\n{}",
        shown.join("\n")
    );
    for line in &shown {
        assert!(
            line.contains("form.toml:"),
            "error does not name the file: {line}"
        );
    }
}

const Q: &str = "[[survey]]\ntype = \"integer\"\nname = \"n\"\nlabel = \"Count\"\n";

#[test]
fn bad_toml_names_the_line() {
    let errors = errors_of("[settings]\nform_id = \"x\"\n\n[[survey]\ntype = \"text\"\n");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].sheet, "file");
    assert_eq!(errors[0].line, Some(4));
    assert!(
        errors[0].to_string().contains("form.toml:line 4:"),
        "{}",
        errors[0]
    );
    assert!(errors[0].message.contains("not a valid form file"));
}

#[test]
fn unknown_type_suggests_the_near_one() {
    expect_error(
        "[[survey]]\ntype = \"integr\"\nname = \"n\"\nlabel = \"N\"\n",
        "survey",
        Some(1),
        "type",
        "did you mean 'integer'",
    );
    expect_error(
        "[[survey]]\ntype = \"select_one yn or_other\"\nname = \"n\"\nlabel = \"N\"\n",
        "survey",
        Some(1),
        "type",
        "or_other",
    );
    expect_error(
        "[[survey]]\ntype = \"select_one\"\nname = \"n\"\nlabel = \"N\"\n",
        "survey",
        Some(1),
        "type",
        "needs the name of its choice list",
    );
}

#[test]
fn unknown_column_and_column_values() {
    expect_error(
        &format!("{Q}relevent = \"1\"\n"),
        "survey",
        Some(1),
        "relevent",
        "did you mean 'relevant'",
    );
    expect_error(
        &format!("{Q}appearance = \"feild-list\"\n"),
        "survey",
        Some(1),
        "appearance",
        "unknown appearance 'feild-list'",
    );
    expect_error(
        &format!("{Q}read_only = \"maybe\"\n"),
        "survey",
        Some(1),
        "read_only",
        "\"yes\" or \"no\"",
    );
    expect_error(
        &format!("{Q}hxl = \"affected\"\n"),
        "survey",
        Some(1),
        "hxl",
        "not an HXL hashtag",
    );
    expect_error(
        &format!("{Q}choice_filter = \"a = 1\"\n"),
        "survey",
        Some(1),
        "choice_filter",
        "only applies to select",
    );
    expect_error(
        "[[survey]]\ntype = \"integer\"\nname = \"n\"\nlabel = [\"a\"]\n",
        "survey",
        Some(1),
        "label",
        "not a list",
    );
    expect_error(
        &format!("[settings]\nform_idd = \"x\"\n\n{Q}"),
        "settings",
        None,
        "form_idd",
        "did you mean 'form_id'",
    );
}

#[test]
fn duplicate_names() {
    expect_error(
        &format!("{Q}\n{Q}"),
        "survey",
        Some(2),
        "name",
        "already used by survey row 1",
    );
    expect_error(
        "[[survey]]\ntype = \"select_one yn\"\nname = \"q\"\nlabel = \"Q\"\n\n[[choices]]\nlist_name = \"yn\"\nname = \"yes\"\nlabel = \"Y\"\n\n[[choices]]\nlist_name = \"yn\"\nname = \"yes\"\nlabel = \"Y2\"\n",
        "choices",
        Some(2),
        "name",
        "already has a choice named 'yes'",
    );
}

#[test]
fn unclosed_and_mismatched_groups() {
    expect_error(
        &format!("[[survey]]\ntype = \"begin_group\"\nname = \"g\"\n\n{Q}"),
        "survey",
        Some(1),
        "type",
        "never closed",
    );
    expect_error(
        &format!("[[survey]]\ntype = \"begin_repeat\"\nname = \"r\"\n\n{Q}"),
        "survey",
        Some(1),
        "type",
        "end_repeat",
    );
    expect_error(
        &format!(
            "[[survey]]\ntype = \"begin_repeat\"\nname = \"r\"\n\n{Q}\n[[survey]]\ntype = \"end_group\"\n"
        ),
        "survey",
        Some(3),
        "type",
        "innermost open one is the repeat 'r'",
    );
    expect_error(
        &format!("{Q}\n[[survey]]\ntype = \"end_group\"\n"),
        "survey",
        Some(2),
        "type",
        "closes nothing",
    );
}

#[test]
fn undefined_references() {
    expect_error(
        &format!("{Q}relevant = \"${{nope}} = 1\"\n"),
        "survey",
        Some(1),
        "relevant",
        "${nope} does not name any field",
    );
    expect_error(
        &format!("{Q}hint = \"Seen ${{ghost}}\"\n"),
        "survey",
        Some(1),
        "hint",
        "no field is named 'ghost'",
    );
    expect_error(
        &format!("[settings]\ninstance_name = \"${{nobody}}\"\n\n{Q}"),
        "settings",
        None,
        "instance_name",
        "${nobody}",
    );
}

#[test]
fn expressions_that_do_not_parse() {
    expect_error(
        &format!("{Q}constraint = \". >= (1\"\n"),
        "survey",
        Some(1),
        "constraint",
        "does not parse",
    );
    expect_error(
        &format!("{Q}constraint = \"pulldata('x', 'y')\"\n"),
        "survey",
        Some(1),
        "constraint",
        "pulldata() takes 4 arguments, not 2",
    );
    expect_error(
        &format!("{Q}constraint = \"if(. > 1, 2)\"\n"),
        "survey",
        Some(1),
        "constraint",
        "if() takes 3 arguments",
    );
    expect_error(
        &format!("{Q}relevant = \"other_q = 1\"\n"),
        "survey",
        Some(1),
        "relevant",
        "bare name",
    );
    expect_error(
        &format!("{Q}constraint = \"regex(., '[')\"\n"),
        "survey",
        Some(1),
        "constraint",
        "not a valid regular expression",
    );
}

#[test]
fn selects_from_undefined_lists_and_files() {
    expect_error(
        "[[survey]]\ntype = \"select_one colours\"\nname = \"c\"\nlabel = \"C\"\n",
        "survey",
        Some(1),
        "type",
        "no choice list 'colours'",
    );
    expect_error(
        "[[survey]]\ntype = \"select_one_from_file missing.csv\"\nname = \"c\"\nlabel = \"C\"\n",
        "survey",
        Some(1),
        "type",
        "the choices file missing.csv is not found",
    );
    // A filter on a column the list lacks loads as ODK runs it (no choice
    // matches), with a warning at its cell (issue 18).
    let (_dir, path) = form_dir(
        "[[survey]]\ntype = \"select_one_from_file lao_adm2.csv\"\nname = \"d\"\nlabel = \"D\"\nchoice_filter = \"province = 'LA01'\"\n",
    );
    let f = form::load(&path).unwrap();
    assert!(
        f.warnings.iter().any(|w| w.row == Some(1)
            && w.column.as_deref() == Some("choice_filter")
            && w.message.contains("no column 'province'")),
        "{:#?}",
        f.warnings
    );
}

#[test]
fn calculation_cycles() {
    let toml = "[[survey]]\ntype = \"calculate\"\nname = \"a\"\ncalculation = \"${b} + 1\"\n\n[[survey]]\ntype = \"calculate\"\nname = \"b\"\ncalculation = \"${c} * 2\"\n\n[[survey]]\ntype = \"calculate\"\nname = \"c\"\ncalculation = \"${a}\"\n";
    let errors = errors_of(toml);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].message.contains("cycle"), "{}", errors[0]);
    for name in ["a", "b", "c"] {
        assert!(errors[0].message.contains(name));
    }
    expect_error(
        &format!("{Q}relevant = \"${{n}} > 1\"\n"),
        "survey",
        Some(1),
        "relevant",
        "cycle: n -> n",
    );
}

#[test]
fn rows_that_lack_what_they_need() {
    expect_error(
        "[[survey]]\ntype = \"calculate\"\nname = \"c\"\n",
        "survey",
        Some(1),
        "calculation",
        "needs a calculation",
    );
    expect_error(
        "[[survey]]\ntype = \"text\"\nname = \"t\"\n",
        "survey",
        Some(1),
        "label",
        "no label",
    );
    expect_error(
        "[[survey]]\ntype = \"text\"\nlabel = \"T\"\n",
        "survey",
        Some(1),
        "name",
        "no name",
    );
    expect_error(
        "[[survey]]\nname = \"t\"\nlabel = \"T\"\n",
        "survey",
        Some(1),
        "type",
        "no type",
    );
    expect_error(
        "[[survey]]\ntype = \"text\"\nname = \"1st\"\nlabel = \"T\"\n",
        "survey",
        Some(1),
        "name",
        "not a valid name",
    );
}

#[test]
fn all_errors_are_reported_at_once() {
    let toml = "[[survey]]\ntype = \"textt\"\nname = \"a\"\nlabel = \"A\"\n\n[[survey]]\ntype = \"integer\"\nname = \"b\"\nlabel = \"B\"\nconstraint = \". >\"\n";
    let errors = errors_of(toml);
    assert_eq!(errors.len(), 2, "{errors:?}");
}

#[test]
fn not_utf8_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, b"[settings]\nform_id = \"\xff\"\n").unwrap();
    let errors = form::load(&path).unwrap_err();
    assert!(errors[0].message.contains("not UTF-8"), "{}", errors[0]);
    let errors = form::load(&dir.path().join("absent.toml")).unwrap_err();
    assert!(errors[0].message.contains("cannot read the form"));
}
