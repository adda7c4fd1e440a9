//! Nothing recorded that was not given (issue 15), through the real
//! binary in tmux at 80x24: a whole record typed pressing only Enter on
//! every optional question (lists included), then exported and
//! aggregated: the CSV has those columns empty. A required list refuses a
//! bare Enter and takes Space; a pick is cleared with Ctrl-U.

use crate::support::{Enumerator, have, repo, stderr};
use crate::tui_e2e::Screen;

const FORM: &str = r#"
[settings]
form_id = "entry_check"
version = "1"
form_title = { "English (en)" = "Entry check", "Lao (lo)" = "ກວດການປ້ອນ" }
default_language = "English (en)"

[[survey]]
type = "text"
name = "site_name"
label = { "English (en)" = "Site name", "Lao (lo)" = "ຊື່ສູນ" }
required = "yes"

[[survey]]
type = "select_one district"
name = "district_origin"
label = { "English (en)" = "District of origin", "Lao (lo)" = "ເມືອງເດີມ" }
hint = { "English (en)" = "Leave empty if unknown.", "Lao (lo)" = "ປະຫວ່າງໄວ້ຖ້າບໍ່ຮູ້." }

[[survey]]
type = "select_one yes_no"
name = "site_lit"
label = { "English (en)" = "Is the site lit at night?", "Lao (lo)" = "ມີໄຟບໍ?" }

[[survey]]
type = "integer"
name = "households"
label = { "English (en)" = "Households", "Lao (lo)" = "ຄົວເຮືອນ" }

[[survey]]
type = "date"
name = "arrived"
label = { "English (en)" = "Date of arrival", "Lao (lo)" = "ວັນທີມາຮອດ" }

[[survey]]
type = "select_multiple needs"
name = "needs"
label = { "English (en)" = "Needs", "Lao (lo)" = "ຄວາມຕ້ອງການ" }

[[survey]]
type = "text"
name = "remarks"
label = { "English (en)" = "Remarks", "Lao (lo)" = "ໝາຍເຫດ" }

[[survey]]
type = "select_one yes_no"
name = "consent"
label = { "English (en)" = "Consent given?", "Lao (lo)" = "ຍິນຍອມບໍ?" }
required = "yes"

[[choices]]
list_name = "district"
name = "LA1701"
label = { "English (en)" = "Xaysetha", "Lao (lo)" = "ໄຊເສດຖາ" }

[[choices]]
list_name = "district"
name = "LA1702"
label = { "English (en)" = "Samakkhixay", "Lao (lo)" = "ສາມັກຄີໄຊ" }

[[choices]]
list_name = "yes_no"
name = "yes"
label = { "English (en)" = "Yes", "Lao (lo)" = "ແມ່ນ" }

[[choices]]
list_name = "yes_no"
name = "no"
label = { "English (en)" = "No", "Lao (lo)" = "ບໍ່ແມ່ນ" }

[[choices]]
list_name = "needs"
name = "water"
label = { "English (en)" = "Water", "Lao (lo)" = "ນ້ຳ" }

[[choices]]
list_name = "needs"
name = "food"
label = { "English (en)" = "Food", "Lao (lo)" = "ອາຫານ" }
"#;

#[test]
fn enter_through_optional_questions_records_nothing_and_the_csv_shows_it() {
    let test = "enter_through_optional_questions_records_nothing_and_the_csv_shows_it";
    if !have("tmux", test) {
        return;
    }
    let e = Enumerator::init("enum-07");
    let forms = e.dir.path().join("forms");
    std::fs::create_dir_all(&forms).unwrap();
    std::fs::write(forms.join("entry_check.toml"), FORM).unwrap();
    let s = Screen::start_with(&e, "entry-1", &format!("--forms '{}'", forms.display()));
    s.see("Entry check");
    s.keys(&["Enter"]);
    s.answer("Site name", "Camp A");

    // An optional list: a pick, cleared with Ctrl-U (saved at once), then
    // Enter leaves it empty and goes on.
    s.at("District of origin");
    s.see("Space: pick");
    s.keys(&["Space"]);
    s.see("(•) Xaysetha");
    s.keys(&["C-u"]);
    s.wait("the pick cleared", |sc| !sc.contains("(•)"));
    s.keys(&["Enter"]);
    // The other optional questions: Enter only.
    for label in [
        "Is the site lit at night?",
        "Households",
        "Date of arrival",
        "Needs",
        "Remarks",
    ] {
        s.at(label);
        s.keys(&["Enter"]);
    }
    // A required list: Enter alone says so and stays; Space picks.
    s.at("Consent given?");
    s.keys(&["Enter"]);
    s.see("This question needs an answer.");
    s.at("Consent given?");
    s.keys(&["Space"]);
    s.see("(•) Yes");
    s.keys(&["Enter"]);
    // The review lists every question with its answer, then finalize.
    s.see("Review before finalizing");
    let review = s.see("Every question and its answer");
    assert!(review.contains("Site name: Camp A"), "{}", s.shows());
    assert!(
        review.contains("District of origin: (no answer)"),
        "{}",
        s.shows()
    );
    assert!(review.contains("Consent given?: Yes"), "{}", s.shows());
    s.keys(&["Enter"]);
    s.see("Record finalized");
    s.keys(&["q"]);
    s.wait_gone();

    // Exported and aggregated: the optional columns are empty.
    let usb = e.dir.path().join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    let out = e.run(&["export", "--out", usb.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let signers = e.dir.path().join("allowed_signers");
    std::fs::write(&signers, format!("{}\n", e.signers_line)).unwrap();
    let table = e.dir.path().join("table");
    let out = crate::support::fieldkit(&[
        "aggregate",
        "--identity",
        repo().join("keys/demo/data-manager.key").to_str().unwrap(),
        "--signers",
        signers.to_str().unwrap(),
        "--out",
        table.to_str().unwrap(),
        usb.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let csv = table.join("entry_check.csv");
    let mut reader = csv::Reader::from_path(&csv).unwrap();
    let headers = reader.headers().unwrap().clone();
    let row = reader.records().next().expect("one row").unwrap();
    let cell = |name: &str| {
        let at = headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {headers:?}"));
        row[at].to_string()
    };
    assert_eq!(cell("site_name"), "Camp A");
    assert_eq!(cell("consent"), "yes");
    for empty in [
        "district_origin",
        "site_lit",
        "households",
        "arrived",
        "needs",
        "remarks",
    ] {
        assert_eq!(
            cell(empty),
            "",
            "{empty} was never answered: {headers:?} {row:?}"
        );
    }
}
