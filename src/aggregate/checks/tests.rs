//! Each check on small hand-written tables, written as aggregate writes
//! them (byte-order mark, group paths, the `'` guard), read back from disk.

use std::path::Path;

use super::*;
use crate::aggregate::entities;

const HEAD: &str = "\u{FEFF}record_id,enumerator_id,started,finalized_at,start,end,\
grp/m0489_meta_survey_round,grp/m0306_meta_adm4_pcode,grp/ki_phone,\
grp_idp/m0310_loc_num_idp_ind,grp_idp/m2968_loc_num_men_idp,\
grp_idp/m2969_loc_num_women_idp,grp_idp/m2970_loc_num_children_idp,\
grp_idp/m1537_loc_num_arrivals_hh\n";

/// A row: id, enumerator, interview minutes, round, village, phone,
/// total, men, women, children, households.
#[allow(clippy::too_many_arguments)]
fn row(
    id: &str,
    who: &str,
    minutes: u32,
    round: &str,
    village: &str,
    phone: &str,
    counts: [&str; 4],
    hh: &str,
) -> String {
    let end = format!(
        "2026-11-20T{:02}:{:02}:00+07:00",
        9 + minutes / 60,
        minutes % 60
    );
    let [total, men, women, children] = counts;
    format!(
        "{id},{who},2026-11-20T09:00:00+07:00,{end},2026-11-20T09:00:00+07:00,{end},\
         {round},{village},{phone},{total},{men},{women},{children},{hh}\n"
    )
}

fn table(dir: &Path, rows: &[String]) -> FormTable {
    let path = dir.join("dtm_baseline.csv");
    std::fs::write(&path, format!("{HEAD}{}", rows.concat())).unwrap();
    FormTable {
        form_id: "dtm_baseline".into(),
        path,
        entity: Some(EntityRule {
            list: "villages".into(),
            id_field: Some("m0306_meta_adm4_pcode".into()),
            saves: vec![
                ("m1537_loc_num_arrivals_hh".into(), "last_idp_hh".into()),
                ("m0310_loc_num_idp_ind".into(), "last_idp_ind".into()),
            ],
        }),
        labels: Default::default(),
    }
}

fn no_lists() -> Lists {
    entities::last_round(None).unwrap()
}

/// checks.csv read back with the csv crate: (check, record, field, value, why).
fn findings(dir: &Path) -> Vec<[String; 5]> {
    let mut r = csv::Reader::from_path(dir.join("checks.csv")).unwrap();
    let head: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        head.iter()
            .map(|h| h.trim_start_matches('\u{FEFF}'))
            .collect::<Vec<_>>(),
        ["check", "record_id", "form_id", "field", "value", "why"]
    );
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            [0, 1, 3, 4, 5].map(|i| rec[i].to_string())
        })
        .collect()
}

fn of(all: &[[String; 5]], check: Check) -> Vec<[String; 5]> {
    all.iter()
        .filter(|f| f[0] == check.name())
        .cloned()
        .collect()
}

/// Every check with default settings and no last round over `rows`
/// (written by [`table`] in `dir`), `checks.csv` written in `dir`.
fn run_rows(dir: &Path, rows: &[String]) -> Checked {
    run(dir, &[table(dir, rows)], &no_lists(), Settings::default()).unwrap()
}

const OK: [&str; 4] = ["50", "15", "17", "18"];

#[test]
fn a_short_interview_is_named_against_the_forms_median() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows: Vec<String> = (0..6)
        .map(|i| {
            row(
                &format!("r{i}"),
                "e1",
                30 + i,
                "R1",
                &format!("v{i}"),
                "",
                OK,
                "12",
            )
        })
        .collect();
    // 9 minutes: under a third of the median (32 min, of all eight).
    rows.push(row("quick", "e1", 9, "R1", "v9", "", OK, "12"));
    // 12 minutes: over a third; not named.
    rows.push(row("brisk", "e1", 12, "R1", "v10", "", OK, "12"));
    let got = run_rows(dir.path(), &rows);
    assert_eq!(got.counts["short_interview"], 1);
    let all = findings(dir.path());
    let short = of(&all, Check::ShortInterview);
    assert_eq!(short.len(), 1, "{all:?}");
    assert_eq!(short[0][1], "quick");
    assert_eq!(short[0][2], "end");
    assert_eq!(short[0][3], "540");
    assert!(
        short[0][4].contains("9 min") && short[0][4].contains("32 min"),
        "{short:?}"
    );
    assert_eq!(got.shown[0].check, "short_interview");
}

#[test]
fn too_few_timed_records_give_no_median() {
    let dir = tempfile::tempdir().unwrap();
    let rows = vec![
        row("a", "e1", 40, "R1", "v1", "", OK, "12"),
        row("b", "e1", 40, "R1", "v2", "", OK, "12"),
        row("c", "e1", 1, "R1", "v3", "", OK, "12"),
    ];
    let got = run_rows(dir.path(), &rows);
    assert_eq!(got.counts["short_interview"], 0);
}

#[test]
fn one_village_twice_in_a_round_by_two_enumerators() {
    let dir = tempfile::tempdir().unwrap();
    let rows = vec![
        row("a", "e1", 30, "R1", "10101", "", OK, "12"),
        // The same village, same round, another enumerator: both named.
        row("b", "e2", 30, "R1", "10101", "", OK, "12"),
        // Next round: not a duplicate.
        row("c", "e2", 30, "R2", "10101", "", OK, "12"),
        // One enumerator twice (a correction): not named.
        row("d", "e3", 30, "R1", "10102", "", OK, "12"),
        row("e", "e3", 30, "R1", "10102", "", OK, "12"),
    ];
    run_rows(dir.path(), &rows);
    let same = of(&findings(dir.path()), Check::SameSiteTwice);
    let ids: Vec<&str> = same.iter().map(|f| f[1].as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(same[0][2], "grp/m0306_meta_adm4_pcode");
    assert_eq!(same[0][3], "10101");
    assert!(same[1][4].contains("also in record a"), "{same:?}");
    assert!(same[1][4].contains("round R1"), "{same:?}");
}

#[test]
fn one_phone_in_two_records_is_named_without_the_phone() {
    let dir = tempfile::tempdir().unwrap();
    let rows = vec![
        row("a", "e1", 30, "R1", "v1", "'+856 20 555 1234", OK, "12"),
        row("b", "e2", 30, "R1", "v2", "020 555 999", OK, "12"),
        row("c", "e2", 30, "R1", "v3", "+85620-555-1234", OK, "12"),
        // Too short for a phone (a code): never compared.
        row("d", "e2", 30, "R1", "v4", "2", OK, "12"),
        row("e", "e2", 30, "R1", "v5", "2", OK, "12"),
        // Two rows of one record (its versions): one record, not named.
        row("f", "e2", 30, "R1", "v6", "020 777 888", OK, "12"),
        row("f", "e2", 30, "R1", "v6", "020 777 888", OK, "12"),
    ];
    run_rows(dir.path(), &rows);
    let text = std::fs::read_to_string(dir.path().join("checks.csv")).unwrap();
    assert!(
        !text.contains("555"),
        "no phone digits in checks.csv: {text}"
    );
    let same = of(&findings(dir.path()), Check::SamePhone);
    let ids: Vec<&str> = same.iter().map(|f| f[1].as_str()).collect();
    assert_eq!(ids, ["a", "c"]);
    assert_eq!(same[0][2], "grp/ki_phone");
    assert_eq!(same[0][3], "");
    assert!(same[1][4].contains("record a"), "{same:?}");
}

#[test]
fn a_value_that_moved_more_than_half_from_last_round() {
    let dir = tempfile::tempdir().unwrap();
    let lists = dir.path().join("last");
    std::fs::create_dir_all(&lists).unwrap();
    std::fs::write(
        lists.join("villages.csv"),
        "name,label,__version,last_idp_hh,last_idp_ind\n\
         10101,Nongping,1,10,40\n10102,Bornangoua,1,10,0\n",
    )
    .unwrap();
    let lists = entities::last_round(Some(&lists)).unwrap();
    let rows = vec![
        // 50 vs 40: +25%, households 12 vs 10: +20%: not named.
        row("a", "e1", 30, "R2", "10101", "", OK, "12"),
        // 16 households vs 10: +60%: named; 50 vs 0: no share, not named.
        row("b", "e1", 30, "R2", "10102", "", OK, "16"),
        // Not in last round's list: nothing to compare.
        row("c", "e1", 30, "R2", "10199", "", OK, "99"),
    ];
    let got = run(
        dir.path(),
        &[table(dir.path(), &rows)],
        &lists,
        Settings::default(),
    )
    .unwrap();
    let moved = of(&findings(dir.path()), Check::MovedFromLastRound);
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(moved[0][1], "b");
    assert_eq!(moved[0][2], "grp_idp/m1537_loc_num_arrivals_hh");
    assert_eq!(moved[0][3], "16");
    assert!(moved[0][4].contains("+60%"), "{moved:?}");
    assert_eq!(got.counts["moved_from_last_round"], 1);
    // A stricter share names the 25% too.
    let strict = Settings {
        move_share: 0.2,
        ..Settings::default()
    };
    let got = run(dir.path(), &[table(dir.path(), &rows)], &lists, strict).unwrap();
    assert_eq!(got.counts["moved_from_last_round"], 2);
}

#[test]
fn counts_that_do_not_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let rows = vec![
        row("a", "e1", 30, "R1", "v1", "", OK, "12"),
        // 15 + 17 + 19 = 51, not 50.
        row(
            "b",
            "e1",
            30,
            "R1",
            "v2",
            "",
            ["50", "15", "17", "19"],
            "12",
        ),
        // A blank part counts 0: 15 + 35 = 50.
        row("c", "e1", 30, "R1", "v3", "", ["50", "15", "", "35"], "12"),
        // Nothing answered (the group was skipped): not checked.
        row("d", "e1", 30, "R1", "v4", "", ["", "", "", ""], "12"),
    ];
    run_rows(dir.path(), &rows);
    let bad = of(&findings(dir.path()), Check::CountsDoNotAddUp);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(bad[0][1], "b");
    assert_eq!(bad[0][2], "grp_idp/m0310_loc_num_idp_ind");
    assert_eq!(bad[0][3], "50");
    assert!(
        bad[0][4].contains("m2968_loc_num_men_idp + m2969_loc_num_women_idp")
            && bad[0][4].contains("51"),
        "{bad:?}"
    );
}

#[test]
fn the_hxl_row_is_skipped_and_tags_find_the_round() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.csv");
    std::fs::write(
        &path,
        "\u{FEFF}record_id,enumerator_id,round_code,m0306_meta_adm4_pcode\n\
         #meta+id,,#round+code,\n\
         a,e1,R1,10101\nb,e2,R2,10101\nc,e3,R1,10101\n",
    )
    .unwrap();
    let t = FormTable {
        form_id: "f".into(),
        path,
        entity: None,
        labels: Default::default(),
    };
    run(dir.path(), &[t], &no_lists(), Settings::default()).unwrap();
    let same = of(&findings(dir.path()), Check::SameSiteTwice);
    let ids: Vec<&str> = same.iter().map(|f| f[1].as_str()).collect();
    assert_eq!(ids, ["a", "c"], "round from the tag, the HXL row no record");
}

/// A form without a round field: the round pack's round the record was
/// made in (the `round` column) tells rounds apart.
#[test]
fn the_round_packs_round_tells_rounds_apart_when_the_form_has_none() {
    let dir = tempfile::tempdir().unwrap();
    let rows = vec![
        row("a", "e1", 30, "R1-2026", "10101", "", OK, "12"),
        row("b", "e2", 30, "R1-2026", "10101", "", OK, "12"),
        row("c", "e2", 30, "R2-2026", "10101", "", OK, "12"),
    ];
    let t = table(dir.path(), &rows);
    let text = std::fs::read_to_string(&t.path).unwrap();
    std::fs::write(
        &t.path,
        text.replacen("grp/m0489_meta_survey_round", "round", 1),
    )
    .unwrap();
    run(dir.path(), &[t], &no_lists(), Settings::default()).unwrap();
    let same = of(&findings(dir.path()), Check::SameSiteTwice);
    let ids: Vec<&str> = same.iter().map(|f| f[1].as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    assert!(same[1][4].contains("round R1-2026"), "{same:?}");
}
