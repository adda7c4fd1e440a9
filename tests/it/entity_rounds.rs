//! Issue 20 part 3: the loop closes at the data manager. Records that
//! create and update sites go through the real binary (fill, export,
//! aggregate); `aggregate --entities` applies them to last round's list and
//! writes the list for the next round, which `pack build --entities` takes
//! as it is, and which the follow-up form reads back.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::{Enumerator, fieldkit, repo, stderr};
use crate::xlsform_pyxform::{workbook, write};

/// Last round's sites, with the versions last round's aggregate gave them.
const SITES: &str = "name,label,__version,adm1,last_ind_total\n\
site-a,Ban Nong camp,2,LA13,180\n\
site-b,Ban Phon school,1,LA13,95\n";

/// The soft check of the visit form: within half and double of last
/// round's total (nothing to compare with for a site new last round).
const UNUSUAL: &str = "${last} = '' or (. <= ${last} * 2 and . * 2 >= ${last})";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A registration form creating sites and a visit form updating them.
fn forms(dir: &Path) -> (PathBuf, PathBuf) {
    let registration = write(
        dir,
        "site_registration.xlsx",
        workbook(&[
            (
                "survey",
                &[
                    &["type", "name", "label", "save_to"],
                    &["text", "site_name", "Site name", ""],
                    &["text", "adm1", "Province code", "adm1"],
                    &["integer", "ind_total", "Individuals", "last_ind_total"],
                ],
            ),
            (
                "settings",
                &[
                    &["form_id", "version", "form_title"],
                    &["site_registration", "1", "Site registration"],
                ],
            ),
            (
                "entities",
                &[&["list_name", "label"], &["sites", "${site_name}"]],
            ),
        ]),
    );
    let visit = write(
        dir,
        "site_visit.xlsx",
        workbook(&[
            (
                "survey",
                &[
                    &[
                        "type",
                        "name",
                        "label",
                        "save_to",
                        "calculation",
                        "soft_constraint",
                        "soft_constraint_message",
                    ],
                    &[
                        "select_one_from_file sites.csv",
                        "site",
                        "Site",
                        "",
                        "",
                        "",
                        "",
                    ],
                    &[
                        "calculate",
                        "last",
                        "",
                        "",
                        "pulldata('sites', 'last_ind_total', 'name', ${site})",
                        "",
                        "",
                    ],
                    &[
                        "integer",
                        "ind_total",
                        "Individuals (last round: ${last})",
                        "last_ind_total",
                        "",
                        UNUSUAL,
                        "More than double or under half of last round's ${last}",
                    ],
                ],
            ),
            (
                "settings",
                &[
                    &["form_id", "version", "form_title"],
                    &["site_visit", "1", "Site visit"],
                ],
            ),
            (
                "entities",
                &[&["list_name", "entity_id"], &["sites", "${site}"]],
            ),
        ]),
    );
    (registration, visit)
}

fn fill(e: &Enumerator, form: &Path, records: &[Value]) {
    let lines: Vec<String> = records.iter().map(Value::to_string).collect();
    let out = e.fill(s(form), &(lines.join("\n") + "\n"), &["--finalize"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

fn read_list(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut csv = csv::Reader::from_path(path).unwrap();
    let head = csv.headers().unwrap().iter().map(String::from).collect();
    let rows = csv
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (head, rows)
}

#[test]
fn a_rounds_creates_and_updates_make_the_next_rounds_list() {
    let e = Enumerator::init("enum-20");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let round1 = d.join("round1");
    std::fs::create_dir_all(&round1).unwrap();
    std::fs::write(round1.join("sites.csv"), SITES).unwrap();
    let (registration, visit) = forms(&round1);

    // A new site, and both of last round's sites visited; site-b twice,
    // by two visits made from the same version (the later one wins, and
    // the conflict is named).
    fill(
        &e,
        &registration,
        &[json!({"site_name": "Ban Dong market", "adm1": "LA13", "ind_total": 40})],
    );
    fill(
        &e,
        &visit,
        &[
            json!({"site": "site-a", "ind_total": 1800, "meta/confirmed": ["ind_total"]}),
            json!({"site": "site-b", "ind_total": 97}),
            json!({"site": "site-b", "ind_total": 99}),
        ],
    );
    let usb = d.join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    let out = e.run(&["export", "--out", s(&usb)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let signers = d.join("allowed_signers");
    std::fs::write(&signers, format!("{}\n", e.signers_line)).unwrap();
    let last_round = d.join("last-round-entities");
    std::fs::create_dir_all(&last_round).unwrap();
    std::fs::write(last_round.join("sites.csv"), SITES).unwrap();
    // Who was to visit what: enum-20 both sites, enum-21 site-b and a
    // site nobody reached.
    let assignments = d.join("assignments.csv");
    std::fs::write(
        &assignments,
        "enumerator_id,list,name\nenum-20,sites,site-a\nenum-20,sites,site-b\n\
         enum-21,sites,site-b\nenum-21,sites,site-c\n",
    )
    .unwrap();
    let tables = d.join("tables");
    let out = fieldkit(&[
        "aggregate",
        "--identity",
        s(&repo().join("keys/demo/data-manager.key")),
        "--signers",
        s(&signers),
        "--assignments",
        s(&assignments),
        "--entities",
        s(&last_round),
        "--out",
        s(&tables),
        s(&usb),
    ]);
    // The conflict is a problem said: exit 1, everything written.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("entity site-b of list sites") && said.contains("version 1"),
        "{said}"
    );

    let (head, rows) = read_list(&tables.join("entities/sites.csv"));
    assert_eq!(
        head,
        [
            "name",
            "label",
            "__version",
            "__updatedAt",
            "adm1",
            "last_ind_total"
        ],
        "last round's columns, in their order"
    );
    // Each changed when its record was finalized (the clock is fixed).
    assert!(
        rows.iter().all(|r| r[3].starts_with("2026-11-22T09:00")),
        "{rows:?}"
    );
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|mut r| {
            r.remove(3);
            r
        })
        .collect();
    let row = |name: &str| rows.iter().find(|r| r[0] == name).expect(name).clone();
    assert_eq!(
        row("site-a"),
        ["site-a", "Ban Nong camp", "3", "LA13", "1800"]
    );
    assert_eq!(
        row("site-b"),
        ["site-b", "Ban Phon school", "3", "LA13", "99"]
    );
    let new: Vec<&Vec<String>> = rows.iter().filter(|r| r[0].len() == 36).collect();
    assert_eq!(new.len(), 1, "{rows:?}");
    assert_eq!(new[0][1..], ["Ban Dong market", "1", "LA13", "40"]);
    assert_eq!(rows.len(), 3);
    let summary: Value =
        serde_json::from_slice(&std::fs::read(tables.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        summary["entity_lists"],
        json!([{"list": "sites", "file": "entities/sites.csv", "entities": 3,
                "from_last_round": 2, "created": 1, "updated": 3}])
    );

    // Coverage: row by row, and counted per enumerator and area.
    let (head, rows) = read_list(&tables.join("coverage.csv"));
    assert_eq!(
        head,
        [
            "enumerator_id",
            "list",
            "name",
            "label",
            "area",
            "status",
            "visited_by"
        ]
    );
    assert_eq!(
        rows,
        [
            [
                "enum-20",
                "sites",
                "site-a",
                "Ban Nong camp",
                "LA13",
                "visited",
                "enum-20"
            ],
            [
                "enum-20",
                "sites",
                "site-b",
                "Ban Phon school",
                "LA13",
                "visited",
                "enum-20"
            ],
            [
                "enum-21",
                "sites",
                "site-b",
                "Ban Phon school",
                "LA13",
                "visited by another",
                "enum-20"
            ],
            [
                "enum-21",
                "sites",
                "site-c",
                "",
                "(none)",
                "not visited",
                ""
            ],
        ]
    );
    assert_eq!(
        summary["coverage"]["by_enumerator"]["enum-21"],
        json!({"assigned": 2, "visited": 0, "visited_by_another": 1, "not_visited": 1})
    );
    assert_eq!(summary["coverage"]["by_area"]["LA13"]["visited"], json!(2));
    assert_eq!(
        summary["coverage"]["unassigned_visits"],
        json!(1),
        "the new site"
    );

    // Round 2: the office builds the pack from the output as it is...
    let packs = d.join("packs");
    std::fs::create_dir_all(&packs).unwrap();
    let key = repo().join("keys/demo/deployment");
    let build = |extra: &[&str]| {
        let mut args = vec!["pack", "build", "--key", s(&key), "--out", s(&packs)];
        args.extend_from_slice(&["--deployment", "dtm-lao"]);
        args.extend_from_slice(extra);
        fieldkit(&args)
    };
    // The visit form as TOML (a pack carries TOML forms), beside nothing:
    // its list comes from the pack's entity lists.
    let pack_forms = d.join("pack-forms");
    std::fs::create_dir_all(&pack_forms).unwrap();
    let toml = pack_forms.join("site_visit.toml");
    let out = fieldkit(&["forms", "import", s(&visit), "--out", s(&toml)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let entities = tables.join("entities");
    let out = build(&[
        "--round",
        "R2",
        "--forms",
        s(&pack_forms),
        "--entities",
        s(&entities),
        "--assignments",
        s(&assignments),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let pack = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // An assignments file with a slip is refused before anything is signed.
    let slip = d.join("slip.csv");
    std::fs::write(&slip, "enumerator_id,list,name\nenum 20,sites,site-a\n").unwrap();
    let out = build(&["--assignments", s(&slip)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("row 2: \"enum 20\" is not an enumerator id"));

    // ...the laptop takes it, and its visit form reads this round's
    // totals as last round's, from the pack's entity list.
    let out = e.run(&["pack", "import", &pack]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let visit = json!({"site": "site-a", "ind_total": 1750}).to_string() + "\n";
    let out = e.fill("site_visit", &visit, &["--finalize"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let record: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["values"]["last"], json!("1800"));
    assert_eq!(record["values"]["meta/entity"]["base_version"], json!("3"));

    // The supervisor: the bundle of round 2 names the assigned site its
    // record visited, and verify tells coverage from the signed manifest.
    let usb2 = d.join("usb2");
    std::fs::create_dir_all(&usb2).unwrap();
    let out = e.run(&["export", "--out", s(&usb2)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = fieldkit(&[
        "verify",
        "--signers",
        s(&signers),
        "--assignments",
        s(&assignments),
        "--entities",
        s(&entities),
        s(&usb2),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    for line in [
        "COVERAGE enum-20: 2 assigned, 1 visited, 0 visited by another, 1 not visited",
        "COVERAGE enum-21: 2 assigned, 0 visited, 0 visited by another, 2 not visited",
        "COVERAGE area LA13: 3 assigned, 1 visited, 2 not visited",
        "NOT VISITED enum-20: sites/site-b (Ban Phon school)",
        "NOT VISITED enum-21: sites/site-c",
    ] {
        assert!(said.contains(line), "{line}: {said}");
    }

    // The home page: one of enum-20's two sites is done; Enter on the
    // other starts its visit with the site chosen.
    let test = "entity_rounds::a_rounds_creates_and_updates_make_the_next_rounds_list";
    if !crate::support::have("tmux", test) {
        return;
    }
    let s = crate::tui_e2e::Screen::start(&e, "entity-visits");
    s.see("To visit this round: 1 of 2 done");
    s.see("Ban Phon school · site-b");
    let home = s.screen();
    assert!(!home.contains("Ban Nong camp ·"), "{}", s.shows());
    s.keys(&["Tab"]);
    s.wait("the visit selected", |sc| {
        sc.lines()
            .any(|l| l.starts_with("▸ Ban Phon school · site-b"))
    });
    s.keys(&["Enter"]);
    s.see("(•) Ban Phon school");
    s.keys(&["C-c"]);
    s.wait_gone();
}

/// A list of last round that cannot be read stops the run before anything
/// is written for the next round, and says which file.
#[test]
fn a_broken_list_of_last_round_stops_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let last_round = dir.path().join("entities");
    std::fs::create_dir_all(&last_round).unwrap();
    std::fs::write(last_round.join("sites.csv"), "label,adm1\nBan Nong,LA13\n").unwrap();
    let usb = dir.path().join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    // Any bundle: the lists are read before bundles are.
    std::fs::write(usb.join("fieldkit-x.zip"), b"not read").unwrap();
    let out = fieldkit(&[
        "aggregate",
        "--identity",
        s(&repo().join("keys/demo/data-manager.key")),
        "--entities",
        s(&last_round),
        "--out",
        s(&dir.path().join("tables")),
        s(&usb),
    ]);
    let said = stderr(&out);
    assert!(matches!(out.status.code(), Some(1 | 2)), "{said}");
    assert!(said.contains("sites.csv has no 'name' column"), "{said}");
    assert!(!dir.path().join("tables/entities").exists());
    assert!(!dir.path().join("tables/summary.json").exists());
}

/// The visit form on the enumerator's screen: the question that updates a
/// site shows what the list holds for it, and when it was given.
#[test]
fn the_screen_shows_last_rounds_value_beside_the_question() {
    let test = "entity_rounds::the_screen_shows_last_rounds_value_beside_the_question";
    if !crate::support::have("tmux", test) {
        return;
    }
    let e = Enumerator::init("enum-22");
    let dir = tempfile::tempdir().unwrap();
    let forms_dir = dir.path().join("forms");
    std::fs::create_dir_all(&forms_dir).unwrap();
    std::fs::write(
        forms_dir.join("sites.csv"),
        "name,label,__version,__updatedAt,adm1,last_ind_total\n\
         site-a,Ban Nong camp,2,2026-08-14T10:00:00.000+07:00,LA13,180\n",
    )
    .unwrap();
    forms(&forms_dir);
    let s = crate::tui_e2e::Screen::start_with(
        &e,
        "entity-last-round",
        &format!("--forms '{}'", forms_dir.display()),
    );
    open_visit(&s);
    s.choose("Site", "Ban Nong", "Ban Nong camp");
    s.at("Individuals (last round: 180)");
    s.see("last round: 180, 2026-08");
}

/// A soft check: an answer far from last round's is kept but must be
/// confirmed, in an answers file as on the screen, and the confirmation
/// is in the record; a changed answer is checked again.
#[test]
fn an_unusual_answer_is_confirmed_and_the_confirmation_recorded() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sites.csv"), SITES).unwrap();
    let (_, visit) = forms(dir.path());
    let answers = dir.path().join("answers.jsonl");
    let run = |records: &[Value]| {
        let lines: Vec<String> = records.iter().map(Value::to_string).collect();
        std::fs::write(&answers, lines.join("\n") + "\n").unwrap();
        crate::xlsform::dry_run(&visit, &answers)
    };
    let (code, records) = run(&[
        json!({"site": "site-a", "ind_total": 1800}),
        json!({"site": "site-a", "ind_total": 1800, "meta/confirmed": ["ind_total"]}),
        json!({"site": "site-a", "ind_total": 200}),
    ]);
    assert_eq!(code, Some(1), "{records:?}");
    let warning = &records[0]["violations"][0];
    assert_eq!(warning["kind"], json!("warning"), "{records:?}");
    assert_eq!(
        warning["message"],
        json!("More than double or under half of last round's 180")
    );
    assert_eq!(records[1]["valid"], json!(true), "{records:?}");
    assert_eq!(
        records[1]["values"]["meta/confirmed"],
        json!([{"field": "ind_total", "value": "1800",
                "message": "More than double or under half of last round's 180"}])
    );
    assert_eq!(records[2]["valid"], json!(true));
    assert!(records[2]["values"].get("meta/confirmed").is_none());
}

/// On the screen: the warning, then Enter again keeps the answer, and
/// the confirmation is saved with the draft.
#[test]
fn the_screen_asks_to_confirm_an_unusual_answer() {
    let test = "entity_rounds::the_screen_asks_to_confirm_an_unusual_answer";
    if !crate::support::have("tmux", test) {
        return;
    }
    let e = Enumerator::init("enum-23");
    let dir = tempfile::tempdir().unwrap();
    let forms_dir = dir.path().join("forms");
    std::fs::create_dir_all(&forms_dir).unwrap();
    std::fs::write(forms_dir.join("sites.csv"), SITES).unwrap();
    forms(&forms_dir);
    let s = crate::tui_e2e::Screen::start_with(
        &e,
        "entity-confirm",
        &format!("--forms '{}'", forms_dir.display()),
    );
    open_visit(&s);
    s.choose("Site", "Ban Nong", "Ban Nong camp");
    s.answer("Individuals (last round: 180)", "1800");
    s.see("More than double or under half of last round's 180 Check it;");
    s.keys(&["Enter"]);
    s.wait("the warning gone", |sc| !sc.contains("Check it;"));
    s.keys(&["C-c"]);
    s.wait_gone();
    assert!(crate::support::wait_until(|| {
        std::panic::catch_unwind(|| e.open()).is_ok()
    }));
    let store = e.open();
    let (drafts, _) = store.drafts().unwrap();
    assert_eq!(drafts.len(), 1);
    assert_eq!(drafts[0].answers["ind_total"], json!(1800));
    assert_eq!(drafts[0].answers["meta/confirmed"], json!(["ind_total"]));
}

/// From the home page, a new record of the visit form.
fn open_visit(s: &crate::tui_e2e::Screen) {
    let home = s.see("No drafts.");
    let below = home
        .lines()
        .skip_while(|l| !l.contains("Forms"))
        .skip(1)
        .position(|l| l.contains("Site visit"))
        .unwrap_or_else(|| panic!("the form is not listed; {}", s.shows()));
    for _ in 0..below {
        s.keys(&["Down"]);
    }
    s.wait("the form selected", |sc| {
        sc.lines().any(|l| l.starts_with("▸ Site visit"))
    });
    s.keys(&["Enter"]);
}
