//! Quality checks over the tables aggregation wrote, into `checks.csv`
//! (`check, record_id, form_id, field, value, why`) and counted in the
//! summary. Each finding names a record, a field and why; none changes
//! data. Run after the tables are written, from the tables alone (read
//! back with `written`) plus last round's entity lists, so the warehouse
//! can call it too.
//!
//! The checks:
//! - `short_interview`: a record whose interview took under
//!   [`Settings::short_share`] (a third) of its form's median, from the
//!   form's `start`/`end` columns (DTM's `m1658_meta_assessment_start` /
//!   `m1844_meta_assessment_end`), else the `started`/`finalized_at`
//!   metadata; only for forms with at least [`MIN_TIMED`] timed records
//!   and a median of a minute or more.
//! - `same_site_twice`: one site or village (the form's entity id field,
//!   else DTM's `m0445_loc_site_id_ssid`, else `m0306_meta_adm4_pcode`)
//!   assessed more than once in one round (`#round+code` /
//!   `m0489_meta_survey_round`, else the round pack's `round` the record
//!   was made in; a record with neither is in one round of its own) by more
//!   than one enumerator. Every record of such a group is named.
//! - `same_phone`: one key informant's phone (a column whose name holds
//!   `phone`, 6 digits or more) in two or more records. Phones are
//!   compared as keyed hashes (SHA-256 under a random key made for this
//!   run, cut to 16 bytes); checks.csv names the record and the column,
//!   never the number.
//! - `moved_from_last_round`: with `--entities`, an answer the form saves
//!   to its entity (`save_to`) that moved more than
//!   [`Settings::move_share`] (half) from last round's value of that
//!   entity's property (only when last round's value is above zero).
//! - `counts_do_not_add_up`: a total that is not the sum of its parts, by
//!   the rules in [`SUMS`] (the DTM forms' own: IDPs = men + women +
//!   children, each by age band, returnees, returned and foreign
//!   migrants by sex), for every rule whose columns the table has. A blank
//!   part counts 0 (as the forms' `coalesce`); a blank total is not checked.
//!
//! Memory: the checks read each form's table twice, a row at a time. What
//! is kept between the passes is per record of the form being read: its
//! duration (4 bytes), a 16-byte hash of its site and round with its group
//! (a 32-byte hash table entry), a 16-byte hash of its phone with its
//! group (32 bytes); with the hash tables' slack (1.1 to 2.3 times) 75 to
//! 150 bytes a record (groups of a single record are dropped before the
//! second pass), all freed before the next form (1M records of one form:
//! at most 150 MB). Last round's lists are held as the entity module
//! reads them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::entities::Lists;
use super::error::AggregateError;
use super::output::{csv_line, under};
pub use super::written::EntityRule;
use super::written::FormTable;

mod table;

/// A form's median is only worked out from this many timed records.
pub const MIN_TIMED: usize = 5;
/// Findings the summary's report shows (checks.csv has them all).
pub const SHOWN: usize = 100;

/// (total, parts): totals the shipped DTM forms make the sum of their
/// parts (their constraints and calculations say so; forms/*.toml).
pub const SUMS: &[(&str, &[&str])] = &[
    // dtm_baseline and dtm_site_assessment: IDPs by sex and age.
    (
        "m0310_loc_num_idp_ind",
        &[
            "m2968_loc_num_men_idp",
            "m2969_loc_num_women_idp",
            "m2970_loc_num_children_idp",
        ],
    ),
    (
        "m0310_loc_num_idp_ind",
        &["idp_total_female", "idp_total_male"],
    ),
    (
        "m0310_loc_num_idp_ind",
        &["num_idp_female_total", "num_idp_male_total"],
    ),
    // dtm_baseline: the age bands.
    (
        "m2970_loc_num_children_idp",
        &[
            "idp_girls_0_5",
            "idp_boys_0_5",
            "idp_girls_6_17",
            "idp_boys_6_17",
        ],
    ),
    (
        "m2969_loc_num_women_idp",
        &["idp_women_18_59", "idp_women_60_plus"],
    ),
    (
        "m2968_loc_num_men_idp",
        &["idp_men_18_59", "idp_men_60_plus"],
    ),
    // dtm_site_assessment: the age bands.
    (
        "m0310_loc_num_idp_ind",
        &[
            "num_idp_girls_0_5",
            "num_idp_girls_6_17",
            "num_idp_women_18_59",
            "num_idp_women_60plus",
            "num_idp_boys_0_5",
            "num_idp_boys_6_17",
            "num_idp_men_18_59",
            "num_idp_men_60plus",
        ],
    ),
    // dtm_baseline: returnees, returned migrants, foreign migrants.
    (
        "m0851_loc_num_return_idp_ind",
        &[
            "m2971_loc_num_men_return",
            "m2972_loc_num_women_return",
            "m2973_loc_num_children_return",
        ],
    ),
    ("num_retmig_ind", &["num_retmig_male", "num_retmig_female"]),
    ("num_formig_ind", &["num_formig_male", "num_formig_female"]),
];

/// The site or village columns, after the form's entity id field.
const SITE_FIELDS: [&str; 2] = ["m0445_loc_site_id_ssid", "m0306_meta_adm4_pcode"];

/// How far a value may be from the norm before it is named.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// An interview under this share of its form's median is short.
    pub short_share: f64,
    /// A value that moved more than this share of last round's is named.
    pub move_share: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            short_share: 1.0 / 3.0,
            move_share: 0.5,
        }
    }
}

/// The checks, as named in checks.csv and the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    ShortInterview,
    SameSiteTwice,
    SamePhone,
    MovedFromLastRound,
    CountsDoNotAddUp,
}

impl Check {
    pub const ALL: [Check; 5] = [
        Check::ShortInterview,
        Check::SameSiteTwice,
        Check::SamePhone,
        Check::MovedFromLastRound,
        Check::CountsDoNotAddUp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Check::ShortInterview => "short_interview",
            Check::SameSiteTwice => "same_site_twice",
            Check::SamePhone => "same_phone",
            Check::MovedFromLastRound => "moved_from_last_round",
            Check::CountsDoNotAddUp => "counts_do_not_add_up",
        }
    }
}

/// One row of checks.csv.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub check: &'static str,
    pub record_id: String,
    pub form_id: String,
    pub field: String,
    pub value: String,
    pub why: String,
}

/// What the checks found: counts by check (every check, 0 included) and
/// the first [`SHOWN`] findings.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    pub counts: BTreeMap<String, usize>,
    pub shown: Vec<Finding>,
}

/// Hashes under one random key for the whole run: equal texts give equal
/// hashes, and nobody without the key (it is never written) can test a
/// guess against them.
struct Keyed([u8; 32]);

impl Keyed {
    fn new() -> Keyed {
        use ssh_key::rand_core::{OsRng, RngCore};
        let mut key = [0u8; 32];
        // No randomness: hashes still compare; only the keying is lost,
        // and the hashes never leave memory anyway.
        let _ = OsRng.try_fill_bytes(&mut key);
        Keyed(key)
    }

    fn hash(&self, parts: &[&str]) -> u128 {
        let mut h = Sha256::new();
        h.update(self.0);
        for p in parts {
            h.update((p.len() as u64).to_le_bytes());
            h.update(p.as_bytes());
        }
        let d = h.finalize();
        let mut first = [0u8; 16];
        first.copy_from_slice(&d[..16]);
        u128::from_le_bytes(first)
    }
}

/// Where findings go: checks.csv, the counts, the first few for the report.
struct Sink {
    path: PathBuf,
    file: std::io::BufWriter<std::fs::File>,
    checked: Checked,
}

impl Sink {
    fn add(&mut self, check: Check, mut f: Finding) -> Result<(), AggregateError> {
        use std::io::Write;
        f.check = check.name();
        let line = csv_line([
            check.name(),
            &f.record_id,
            &f.form_id,
            &f.field,
            &f.value,
            &f.why,
        ]);
        self.file
            .write_all(&line)
            .map_err(|e| AggregateError::write(&self.path, e))?;
        *self
            .checked
            .counts
            .entry(check.name().to_string())
            .or_default() += 1;
        if self.checked.shown.len() < SHOWN {
            self.checked.shown.push(f);
        }
        Ok(())
    }
}

/// Runs every check over `tables` and writes `checks.csv` in `out`.
pub fn run(
    out: &Path,
    tables: &[FormTable],
    last_round: &Lists,
    settings: Settings,
) -> Result<Checked, AggregateError> {
    use std::io::Write;
    let path = under(out, &["checks.csv"])?;
    let file = std::fs::File::create(&path).map_err(|e| AggregateError::write(&path, e))?;
    let mut sink = Sink {
        path: path.clone(),
        file: std::io::BufWriter::new(file),
        checked: Checked::default(),
    };
    let mut head = "\u{FEFF}".as_bytes().to_vec();
    head.extend(csv_line([
        "check",
        "record_id",
        "form_id",
        "field",
        "value",
        "why",
    ]));
    sink.file
        .write_all(&head)
        .map_err(|e| AggregateError::write(&path, e))?;
    for c in Check::ALL {
        sink.checked.counts.insert(c.name().to_string(), 0);
    }
    let keyed = Keyed::new();
    for table in tables {
        if table.path.is_file() {
            table::check_table(table, last_round, settings, &keyed, &mut sink)?;
        }
    }
    sink.file
        .flush()
        .map_err(|e| AggregateError::write(&path, e))?;
    Ok(sink.checked)
}

#[cfg(test)]
mod tests;
