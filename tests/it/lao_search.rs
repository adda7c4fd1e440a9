//! Issue 15, "Lao as it is typed": searching the real village list
//! (forms/lao_villages.csv, 8,916 villages) the way it is typed, with a Lao
//! keyboard (ໜ, ໝ, ຳ as one key) or without one (romanized Latin).

use fieldkit::form::lao;
use fieldkit::form::model::ChoiceList;

use crate::support::{form_dir, load_ok};

const FORM: &str = r#"[settings]
form_id = "villages"
version = "1"
form_title = "Villages"
[[survey]]
type = "select_one_from_file lao_villages.csv"
name = "village"
label = "Village"
appearance = "search"
"#;

fn with_villages(check: impl FnOnce(&ChoiceList)) {
    let (_dir, path) = form_dir(FORM);
    let form = load_ok(&path);
    let list = form
        .lists
        .values()
        .find(|l| l.choices.len() > 8000)
        .expect("the village list");
    check(list);
}

/// The villages of district `adm2`, as indexes into the list.
fn district(list: &ChoiceList, adm2: &str) -> Vec<usize> {
    let col = list.column("adm2").expect("adm2 column");
    list.choices
        .iter()
        .enumerate()
        .filter(|(_, c)| c.columns.get(col).is_some_and(|v| v == adm2))
        .map(|(i, _)| i)
        .collect()
}

fn lao_label(list: &ChoiceList, i: usize) -> &str {
    list.choices[i]
        .label
        .texts()
        .find(|t| lao::has_lao(t))
        .unwrap_or("")
}

#[test]
fn lao_lookalike_spellings_find_the_same_villages() {
    with_villages(|list| {
        let search = list.search();
        // Savannakhet/Songkhone spells ຫນອງ, Vientiane/Xaythany ໜອງ:
        // either key finds both (before: 14 and 0, then 0 and 7).
        for (adm2, at_least) in [("LA1308", 14), ("LA0106", 7)] {
            let villages = district(list, adm2);
            let typed = search.filter(&villages, "ໜອງ");
            let spelled = search.filter(&villages, "ຫນອງ");
            assert_eq!(typed, spelled, "{adm2}");
            assert!(typed.len() >= at_least, "{adm2}: {}", typed.len());
        }
        let songkhone = district(list, "LA1308");
        let am = search.filter(&songkhone, "ຄຳ");
        assert!(am.len() >= 5, "{}", am.len());
        assert_eq!(search.filter(&songkhone, "ຄໍາ"), am);
    });
}

#[test]
fn latin_finds_lao_only_villages() {
    with_villages(|list| {
        let search = list.search();
        let songkhone = district(list, "LA1308");
        // None of Songkhone's villages has a Latin name.
        assert!(songkhone.iter().all(|&i| {
            list.choices[i]
                .label
                .texts()
                .all(|t| t.is_empty() || lao::has_lao(t))
        }));
        let nong = search.filter(&songkhone, "ໜອງ");
        let latin = search.filter(&songkhone, "nong");
        assert!(
            nong.iter().all(|i| latin.contains(i)),
            "nong found {} of the {} ໜອງ villages",
            latin.len(),
            nong.len()
        );
        // Over the whole list: every ໜອງ ຄຳ village is found by "nong
        // kham", Lao-only ones included; "ban na" finds those named ນາ...
        let all: Vec<usize> = (0..list.choices.len()).collect();
        let lao_only = |i: &usize| {
            list.choices[*i]
                .label
                .texts()
                .all(|t| t.is_empty() || lao::has_lao(t))
        };
        let in_lao = search.filter(&all, "ໜອງ ຄຳ");
        let nong_kham = search.filter(&all, "nong kham");
        assert!(in_lao.iter().filter(|i| lao_only(i)).count() > 10);
        let missed: Vec<&str> = in_lao
            .iter()
            .filter(|i| !nong_kham.contains(i))
            .map(|&i| lao_label(list, i))
            .collect();
        assert!(missed.is_empty(), "nong kham missed {missed:?}");
        let named_na: Vec<usize> = all
            .iter()
            .copied()
            .filter(|i| lao_only(i) && lao_label(list, *i).starts_with("ນາ"))
            .collect();
        assert!(named_na.len() > 50, "{}", named_na.len());
        let ban_na = search.filter(&all, "ban na");
        let missed: Vec<&str> = named_na
            .iter()
            .filter(|i| !ban_na.contains(i))
            .map(|&i| lao_label(list, i))
            .collect();
        assert!(missed.is_empty(), "ban na missed {missed:?}");
    });
}

/// A fixed-seed sample of Lao-only villages: the romanization of each name,
/// typed as a query, finds that village among all 8,916.
#[test]
fn romanized_names_find_a_sample_of_lao_only_villages() {
    with_villages(|list| {
        let search = list.search();
        let all: Vec<usize> = (0..list.choices.len()).collect();
        let lao_only: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&i| {
                list.choices[i]
                    .label
                    .texts()
                    .all(|t| t.is_empty() || lao::has_lao(t))
            })
            .collect();
        assert!(lao_only.len() > 8000, "{}", lao_only.len());
        let mut seed: u64 = 0x15_1a0;
        let mut missed = Vec::new();
        for _ in 0..300 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let i = lao_only[(seed % lao_only.len() as u64) as usize];
            let query = lao::romanize(lao_label(list, i));
            if !search.filter(&all, &query).contains(&i) {
                missed.push(format!("{} {query}", lao_label(list, i)));
            }
        }
        assert!(missed.is_empty(), "not found: {missed:?}");
    });
}
