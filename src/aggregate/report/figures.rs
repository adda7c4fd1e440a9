//! The report's figures that the rest of the summary does not already
//! have, worked out from the written tables (streamed back, a row at a
//! time) and the shipped Lao admin lists: admin names beside p-codes, the
//! displaced population by sex and age band, needs, and records and IDPs
//! by round. They go into summary.json (`report`), so every number the
//! page shows is there too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::super::error::AggregateError;
use super::super::summary::{AdminName, Band, Figures, RoundFigures, Summary};
use super::super::written::{FormTable, Written};

/// The needs fields (select_multiple, or a calculate joining the choices
/// with spaces), and whose needs they are.
pub const NEEDS: [(&str, &str); 2] = [
    ("s2878_loc_top_3_priority_need_idp", "IDPs"),
    ("m2694_loc_top_3_priority_need_returnee", "returnees"),
];

/// The age bands of the shipped forms (fieldkit's choice: DTM publishes
/// none), as field names end and as shown.
pub const BANDS: [(&[&str], &str); 4] = [
    (&["0_5"], "0-5"),
    (&["6_17"], "6-17"),
    (&["18_59"], "18-59"),
    (&["60_plus", "60plus"], "60+"),
];

/// The band and sex of an IDP count field, by its name.
fn band_of(name: &str) -> Option<(usize, bool)> {
    let rest = name.strip_prefix("num_").unwrap_or(name);
    let rest = rest.strip_prefix("idp_")?;
    let (sex, band) = rest.split_once('_')?;
    let female = match sex {
        "girls" | "women" => true,
        "boys" | "men" => false,
        _ => return None,
    };
    let at = BANDS.iter().position(|(ends, _)| ends.contains(&band))?;
    Some((at, female))
}

/// The Lao admin lists (`lao_adm1.csv`, `lao_adm2.csv`): the first of
/// `dirs` holding them.
fn admin_names(dirs: &[PathBuf], wanted: &[&String]) -> BTreeMap<String, AdminName> {
    let mut names = BTreeMap::new();
    for file in ["lao_adm1.csv", "lao_adm2.csv"] {
        let Some(path) = dirs.iter().map(|d| d.join(file)).find(|p| p.is_file()) else {
            continue;
        };
        let Ok(mut r) = csv::Reader::from_path(&path) else {
            continue;
        };
        let Ok(head) = r.headers().cloned() else {
            continue;
        };
        let col = |n: &str| {
            head.iter()
                .position(|h| h.trim_start_matches('\u{FEFF}') == n)
        };
        let (name, en, lo) = (
            col("name"),
            col("label::English (en)"),
            col("label::Lao (lo)"),
        );
        for rec in r.records().flatten() {
            let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).unwrap_or("").to_string();
            let code = get(name);
            if wanted.iter().any(|w| **w == code) {
                names.insert(
                    code,
                    AdminName {
                        en: get(en),
                        lo: get(lo),
                    },
                );
            }
        }
    }
    names
}

/// The figures of `tables`; admin names from the lists in `dirs` for the
/// codes `summary` counts.
pub fn compute(
    tables: &[FormTable],
    dirs: &[PathBuf],
    summary: &Summary,
) -> Result<Figures, AggregateError> {
    let wanted: Vec<&String> = summary
        .by_province
        .keys()
        .chain(summary.by_district.keys())
        .collect();
    let mut figures = Figures {
        admin_names: admin_names(dirs, &wanted),
        ..Figures::default()
    };
    for table in tables.iter().filter(|t| t.path.is_file()) {
        of_table(table, &table.path, &mut figures)?;
    }
    Ok(figures)
}

fn of_table(table: &FormTable, path: &Path, figures: &mut Figures) -> Result<(), AggregateError> {
    let mut t = Written::open(path)?;
    let bands: Vec<(usize, usize, bool)> = (0..t.headers.len())
        .filter(|&c| t.field(t.name_of(c)) == Some(c))
        .filter_map(|c| band_of(t.name_of(c)).map(|(b, f)| (c, b, f)))
        .collect();
    let needs: Vec<(usize, &str)> = NEEDS
        .iter()
        .filter_map(|(f, _)| Some((t.field(f)?, *f)))
        .collect();
    // The form's own round field, else the round pack's the record was
    // made in, else the form version.
    let round = [
        t.find("#round+code", &["m0489_meta_survey_round"]),
        t.column("round"),
        t.field("form_version"),
    ];
    let idps = t.find("#affected+idps", &["m0310_loc_num_idp_ind"]);
    let mut pyramid: Vec<Band> = BANDS
        .iter()
        .map(|(_, shown)| Band {
            band: shown.to_string(),
            ..Band::default()
        })
        .collect();
    let mut counted: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut rounds: BTreeMap<String, RoundFigures> = BTreeMap::new();
    while let Some(row) = t.next_row()? {
        for &(c, b, female) in &bands {
            if let Some(n) = row.number(Some(c)) {
                let band = &mut pyramid[b];
                *(if female {
                    &mut band.female
                } else {
                    &mut band.male
                }) += n;
            }
        }
        for &(c, field) in &needs {
            for choice in row.get(Some(c)).split_whitespace() {
                *counted
                    .entry(field.to_string())
                    .or_default()
                    .entry(choice.to_string())
                    .or_default() += 1;
            }
        }
        let r = rounds.entry(row.first(&round).to_string()).or_default();
        r.records += 1;
        r.idps += row.number(idps).unwrap_or(0.0);
    }
    if !bands.is_empty() {
        figures.pyramid.insert(table.form_id.clone(), pyramid);
    }
    for choices in counted.values() {
        for code in choices.keys() {
            if let Some(label) = table.labels.get(code) {
                figures
                    .need_labels
                    .entry(code.clone())
                    .or_insert_with(|| label.clone());
            }
        }
    }
    if !counted.is_empty() {
        figures.needs.insert(table.form_id.clone(), counted);
    }
    if !rounds.is_empty() {
        figures.rounds.insert(table.form_id.clone(), rounds);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_fields_of_both_dtm_forms() {
        assert_eq!(band_of("idp_girls_0_5"), Some((0, true)));
        assert_eq!(band_of("idp_men_60_plus"), Some((3, false)));
        assert_eq!(band_of("num_idp_women_60plus"), Some((3, true)));
        assert_eq!(band_of("num_idp_boys_6_17"), Some((1, false)));
        assert_eq!(band_of("idp_total_female"), None);
        assert_eq!(band_of("m2968_loc_num_men_idp"), None);
    }

    #[test]
    fn figures_from_a_written_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dtm_baseline.csv");
        std::fs::write(
            &path,
            "\u{FEFF}record_id,form_version,grp/m0489_meta_survey_round,grp_idp/m0310_loc_num_idp_ind,\
             grp_idp/idp_girls_0_5,grp_idp/idp_men_60_plus,grp_idp/s2878_loc_top_3_priority_need_idp,\
             grp_idp/s2878_loc_top_3_priority_need_idp/food\n\
             a,1,R1,10,4,6,food shelter,1\nb,1,R2,7,,7,food,1\nc,1,R2,,,,,\n",
        )
        .unwrap();
        let table = FormTable {
            form_id: "dtm_baseline".into(),
            path,
            entity: None,
            labels: [("food".to_string(), "Food".to_string())].into(),
        };
        let mut summary = Summary::default();
        summary.by_province.insert("LA01".into(), 3);
        let dirs = vec![crate::paths::forms_dirs(None)[0].clone()];
        let dirs: Vec<PathBuf> = dirs.into_iter().filter(|d| d.is_dir()).collect();
        let f = compute(&[table], &dirs, &summary).unwrap();
        let p = &f.pyramid["dtm_baseline"];
        assert_eq!((p[0].female, p[0].male), (4.0, 0.0));
        assert_eq!((p[3].female, p[3].male), (0.0, 13.0));
        let needs = &f.needs["dtm_baseline"]["s2878_loc_top_3_priority_need_idp"];
        assert_eq!(needs["food"], 2);
        assert_eq!(needs["shelter"], 1);
        assert_eq!(f.need_labels["food"], "Food");
        let rounds = &f.rounds["dtm_baseline"];
        assert_eq!(rounds["R1"].idps, 10.0);
        assert_eq!(rounds["R2"].records, 2);
        assert_eq!(rounds["R2"].idps, 7.0);
        if !dirs.is_empty() {
            assert_eq!(f.admin_names["LA01"].en, "Vientiane Capital");
            assert_eq!(f.admin_names["LA01"].lo, "ນະຄອນຫຼວງວຽງຈັນ");
        }
    }

    /// Without a round field in the form, the round pack's round the
    /// record was made in; without either, the form version.
    #[test]
    fn rounds_come_from_the_pack_when_the_form_has_no_round_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dtm_flow_monitoring.csv");
        std::fs::write(
            &path,
            "\u{FEFF}record_id,form_version,round,grp/age\na,1,R1-2026,30\nb,1,R2-2026,\nc,2,,41\n",
        )
        .unwrap();
        let table = FormTable {
            form_id: "dtm_flow_monitoring".into(),
            path,
            entity: None,
            labels: Default::default(),
        };
        let f = compute(&[table], &[], &Summary::default()).unwrap();
        let rounds = &f.rounds["dtm_flow_monitoring"];
        let counted: Vec<(&str, usize)> = rounds
            .iter()
            .map(|(r, f)| (r.as_str(), f.records))
            .collect();
        assert_eq!(counted, [("2", 1), ("R1-2026", 1), ("R2-2026", 1)]);
    }
}
