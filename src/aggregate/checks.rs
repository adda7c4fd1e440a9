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
//!   `m0489_meta_survey_round`; a form without one is one round) by more
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

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::entities::Lists;
use super::error::AggregateError;
use super::output::{csv_line, under};
pub use super::written::FormTable;
use super::written::{Row, Written};
use crate::form::Form;

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

/// The entity a form's records create or update, and the answers it saves
/// to the entity's properties: what `moved_from_last_round` compares.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityRule {
    pub list: String,
    /// The field the entity id is (`entity_id = "${field}"`).
    pub id_field: Option<String>,
    /// (field, property) of every `save_to`.
    pub saves: Vec<(String, String)>,
}

impl EntityRule {
    pub fn of(form: &Form) -> Option<EntityRule> {
        let decl = form.entity.as_ref()?;
        let id_field = decl
            .entity_id
            .as_ref()
            .and_then(|e| e.refs().first().map(|r| r.name.clone()));
        let saves = decl
            .saves
            .iter()
            .filter_map(|(node, prop)| Some((form.nodes.get(*node)?.name.clone(), prop.clone())))
            .collect();
        Some(EntityRule {
            list: decl.list.clone(),
            id_field,
            saves,
        })
    }
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

/// The columns one table's checks read.
struct Columns {
    record_id: Option<usize>,
    enumerator: Option<usize>,
    start: Option<usize>,
    end: Option<usize>,
    round: Option<usize>,
    sites: Vec<usize>,
    phones: Vec<usize>,
    sums: Vec<(usize, Vec<usize>)>,
    entity: Option<EntityColumns>,
}

/// The entity rule's columns: its list, the id column, and (field
/// column, property) of every answer saved.
type EntityColumns = (String, usize, Vec<(usize, String)>);

impl Columns {
    fn of(t: &Written, entity: Option<&EntityRule>) -> Columns {
        let pair = |a: &str, b: &str| match (t.field(a), t.field(b)) {
            (Some(x), Some(y)) => Some((x, y)),
            _ => None,
        };
        let (start, end) = pair("start", "end")
            .or_else(|| pair("m1658_meta_assessment_start", "m1844_meta_assessment_end"))
            .or_else(|| pair("started", "finalized_at"))
            .map_or((None, None), |(a, b)| (Some(a), Some(b)));
        let mut sites: Vec<usize> = Vec::new();
        let id_field = entity.and_then(|e| e.id_field.as_deref());
        for name in id_field.into_iter().chain(SITE_FIELDS) {
            if let Some(c) = t.field(name)
                && !sites.contains(&c)
            {
                sites.push(c);
            }
        }
        let phones = (0..t.headers.len())
            .filter(|&c| {
                let h = &t.headers[c];
                !h.contains(':') && t.field(t.name_of(c)) == Some(c)
            })
            .filter(|&c| t.name_of(c).to_ascii_lowercase().contains("phone"))
            .collect();
        let sums = SUMS
            .iter()
            .filter_map(|(total, parts)| {
                let parts: Option<Vec<usize>> = parts.iter().map(|p| t.field(p)).collect();
                Some((t.field(total)?, parts?))
            })
            .collect();
        let entity = entity.and_then(|e| {
            let id = t.field(e.id_field.as_deref()?)?;
            let saves = e
                .saves
                .iter()
                .filter_map(|(f, p)| Some((t.field(f)?, p.clone())))
                .collect();
            Some((e.list.clone(), id, saves))
        });
        Columns {
            record_id: t.field("record_id"),
            enumerator: t.field("enumerator_id"),
            start,
            end,
            round: t.find("#round+code", &["m0489_meta_survey_round"]),
            sites,
            phones,
            sums,
            entity,
        }
    }

    /// The site column and value of a row: the first site column answered.
    fn site<'r>(&self, row: &'r Row) -> Option<(usize, &'r str)> {
        self.sites.iter().find_map(|&c| {
            let v = row.get(Some(c)).trim();
            (!v.is_empty()).then_some((c, v))
        })
    }
}

/// An interview's length in seconds, when both times are readable and in
/// order.
fn duration(row: &Row, cols: &Columns) -> Option<u32> {
    let start: jiff::Timestamp = row.get(cols.start).parse().ok()?;
    let end: jiff::Timestamp = row.get(cols.end).parse().ok()?;
    let secs = end.as_second() - start.as_second();
    u32::try_from(secs).ok()
}

/// A phone as digits (and a leading `+`), so that spaces and dashes do not
/// hide a match; None when it has fewer than 6 digits (no phone number:
/// a choice code of a column such as `phone_type`, or nothing).
fn phone_digits(text: &str) -> Option<String> {
    let t = text.trim();
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 6 {
        return None;
    }
    Some(if t.starts_with('+') {
        format!("+{digits}")
    } else {
        digits
    })
}

/// A site group: its first record (row number) and enumerator, and
/// whether another enumerator assessed it too.
struct SiteGroup {
    first: u32,
    enumerator: u64,
    others: bool,
}

/// A phone group: its first record (row number and id hash) and how many
/// records (rows of another record id than the first's: a record's
/// versions are not two records).
struct PhoneGroup {
    first: u32,
    n: u32,
    record: u64,
}

fn minutes(secs: u32) -> String {
    if secs < 120 {
        format!("{secs} s")
    } else {
        format!("{} min", secs / 60)
    }
}

/// A number as people write it (no `.0`).
fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
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
            check_table(table, last_round, settings, &keyed, &mut sink)?;
        }
    }
    sink.file
        .flush()
        .map_err(|e| AggregateError::write(&path, e))?;
    Ok(sink.checked)
}

/// Both passes over one form's table.
fn check_table(
    table: &FormTable,
    last_round: &Lists,
    settings: Settings,
    keyed: &Keyed,
    sink: &mut Sink,
) -> Result<(), AggregateError> {
    // Pass 1: durations, site groups, phone groups.
    let mut t = Written::open(&table.path)?;
    let cols = Columns::of(&t, table.entity.as_ref());
    let mut durations: Vec<u32> = Vec::new();
    let mut sites: HashMap<u128, SiteGroup> = HashMap::new();
    let mut phones: HashMap<u128, PhoneGroup> = HashMap::new();
    let mut n: u32 = 0;
    while let Some(row) = t.next_row()? {
        if let Some(d) = duration(&row, &cols) {
            durations.push(d);
        }
        if let Some((c, site)) = cols.site(&row) {
            let key = keyed.hash(&[row.get(cols.round), t.name_of(c), site]);
            let who = keyed.hash(&[row.get(cols.enumerator)]) as u64;
            sites
                .entry(key)
                .and_modify(|g| g.others |= g.enumerator != who)
                .or_insert(SiteGroup {
                    first: n,
                    enumerator: who,
                    others: false,
                });
        }
        for &c in &cols.phones {
            if let Some(p) = phone_digits(row.get(Some(c))) {
                let record = keyed.hash(&[row.get(cols.record_id)]) as u64;
                phones
                    .entry(keyed.hash(&[&p]))
                    .and_modify(|g| g.n += u32::from(g.record != record))
                    .or_insert(PhoneGroup {
                        first: n,
                        n: 1,
                        record,
                    });
            }
        }
        n = n.saturating_add(1);
    }
    sites.retain(|_, g| g.others);
    sites.shrink_to_fit();
    phones.retain(|_, g| g.n > 1);
    phones.shrink_to_fit();
    let median = (durations.len() >= MIN_TIMED).then(|| {
        let mid = durations.len() / 2;
        *durations.select_nth_unstable(mid).1
    });
    drop(durations);
    let short_under = median
        .filter(|&m| m >= 60)
        .map(|m| (m, f64::from(m) * settings.short_share));

    // Pass 2: the findings, in row order.
    let mut t = Written::open(&table.path)?;
    let mut first_ids: HashMap<u32, String> = HashMap::new();
    let mut n: u32 = 0;
    while let Some(row) = t.next_row()? {
        let finding = |field: &str, value: String, why: String| Finding {
            check: "",
            record_id: row.get(cols.record_id).to_string(),
            form_id: table.form_id.clone(),
            field: field.to_string(),
            value,
            why,
        };
        if let (Some((median, under)), Some(d)) = (short_under, duration(&row, &cols))
            && f64::from(d) < under
        {
            let field = cols.end.map_or("", |c| t.headers[c].as_str());
            let why = format!(
                "the interview took {}, under {:.0}% of the form's median {}",
                minutes(d),
                settings.short_share * 100.0,
                minutes(median)
            );
            sink.add(Check::ShortInterview, finding(field, d.to_string(), why))?;
        }
        if let Some((c, site)) = cols.site(&row) {
            let key = keyed.hash(&[row.get(cols.round), t.name_of(c), site]);
            if let Some(g) = sites.get(&key) {
                let round = row.get(cols.round);
                let round = if round.is_empty() {
                    String::new()
                } else {
                    format!(" in round {round}")
                };
                let why = if g.first == n {
                    first_ids.insert(n, row.get(cols.record_id).to_string());
                    format!(
                        "{} {site} assessed more than once{round} by different enumerators \
                         (the other records follow)",
                        t.name_of(c)
                    )
                } else {
                    let first = first_ids.get(&g.first).map_or("", String::as_str);
                    format!(
                        "{} {site} assessed{round} also in record {first}, by different \
                         enumerators",
                        t.name_of(c)
                    )
                };
                sink.add(
                    Check::SameSiteTwice,
                    finding(&t.headers[c], site.to_string(), why),
                )?;
            }
        }
        for &c in &cols.phones {
            let Some(p) = phone_digits(row.get(Some(c))) else {
                continue;
            };
            if let Some(g) = phones.get(&keyed.hash(&[&p])) {
                let why = if g.first == n {
                    first_ids.insert(n, row.get(cols.record_id).to_string());
                    format!(
                        "the same key-informant phone is in {} records (the others follow)",
                        g.n
                    )
                } else {
                    let first = first_ids.get(&g.first).map_or("", String::as_str);
                    format!("the same key-informant phone as record {first}")
                };
                // Never the phone itself: it identifies the informant.
                sink.add(Check::SamePhone, finding(&t.headers[c], String::new(), why))?;
            }
        }
        if let Some((list, id_col, saves)) = &cols.entity {
            let id = row.get(Some(*id_col)).trim();
            let props = (!id.is_empty())
                .then(|| last_round.entity(list, id))
                .flatten()
                .map(|(_, p)| p);
            for (c, prop) in saves.iter().filter(|_| props.is_some()) {
                let last = props
                    .and_then(|p| p.get(prop))
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .filter(|v| v.is_finite() && *v > 0.0);
                let (Some(last), Some(now)) = (last, row.number(Some(*c))) else {
                    continue;
                };
                let moved = (now - last) / last;
                if moved.abs() > settings.move_share {
                    let why = format!(
                        "{} last round ({list} {id}, {prop}), now {}: {}{:.0}%, more than \
                         {:.0}%",
                        number(last),
                        number(now),
                        if moved > 0.0 { "+" } else { "" },
                        moved * 100.0,
                        settings.move_share * 100.0
                    );
                    sink.add(
                        Check::MovedFromLastRound,
                        finding(&t.headers[*c], number(now), why),
                    )?;
                }
            }
        }
        for (total, parts) in &cols.sums {
            let Some(want) = row.number(Some(*total)) else {
                continue;
            };
            let mut sum = 0.0;
            let mut answered = false;
            let mut readable = true;
            for &p in parts {
                let text = row.get(Some(p)).trim();
                if text.is_empty() {
                    continue;
                }
                match row.number(Some(p)) {
                    Some(v) => {
                        sum += v;
                        answered = true;
                    }
                    None => readable = false,
                }
            }
            if answered && readable && (sum - want).abs() > 1e-9 {
                let names: Vec<&str> = parts.iter().map(|&p| t.name_of(p)).collect();
                let why = format!(
                    "{} is {} but {} add up to {}",
                    t.name_of(*total),
                    number(want),
                    names.join(" + "),
                    number(sum)
                );
                sink.add(
                    Check::CountsDoNotAddUp,
                    finding(&t.headers[*total], number(want), why),
                )?;
            }
        }
        n = n.saturating_add(1);
    }
    Ok(())
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
