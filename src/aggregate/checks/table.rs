//! One form's table checked: the columns the checks read (found by field
//! name or HXL tag), the first pass (durations, site and phone groups,
//! kept as hashes) and the second (the findings, one method a check).
//! What each check is, and the memory it takes, is said in `checks`.

use std::collections::HashMap;

use super::super::entities::Lists;
use super::super::error::AggregateError;
use super::super::written::{FormTable, Row, Written};
use super::{Check, EntityRule, Finding, Keyed, MIN_TIMED, SITE_FIELDS, SUMS, Settings, Sink};

/// The columns one table's checks read.
struct Columns {
    record_id: Option<usize>,
    enumerator: Option<usize>,
    start: Option<usize>,
    end: Option<usize>,
    /// The round: the form's own round field, else the round pack's the
    /// record was made in.
    round: [Option<usize>; 2],
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
            round: [
                t.find("#round+code", &["m0489_meta_survey_round"]),
                t.column("round"),
            ],
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

/// Both passes over one form's table.
pub(super) fn check_table(
    table: &FormTable,
    last_round: &Lists,
    settings: Settings,
    keyed: &Keyed,
    sink: &mut Sink,
) -> Result<(), AggregateError> {
    let mut t = Written::open(&table.path)?;
    let cols = Columns::of(&t, table.entity.as_ref());
    let groups = Groups::gather(&mut t, &cols, keyed, settings)?;
    // Pass 2: the findings, in row order.
    let mut t = Written::open(&table.path)?;
    let mut pass = Pass {
        form_id: &table.form_id,
        headers: std::mem::take(&mut t.headers),
        cols,
        groups,
        keyed,
        settings,
        last_round,
        first_ids: HashMap::new(),
    };
    let mut n: u32 = 0;
    while let Some(row) = t.next_row()? {
        pass.short(&row, sink)?;
        pass.site(&row, n, sink)?;
        pass.phone(&row, n, sink)?;
        pass.moved(&row, sink)?;
        pass.sums(&row, sink)?;
        n = n.saturating_add(1);
    }
    Ok(())
}

/// What the first pass keeps for the second: the short interviews'
/// bound, and the site and phone groups of more than one record.
struct Groups {
    /// (median, under): an interview under `under` seconds is short.
    short: Option<(u32, f64)>,
    sites: HashMap<u128, SiteGroup>,
    phones: HashMap<u128, PhoneGroup>,
}

impl Groups {
    /// Pass 1: durations, site groups, phone groups.
    fn gather(
        t: &mut Written,
        cols: &Columns,
        keyed: &Keyed,
        settings: Settings,
    ) -> Result<Groups, AggregateError> {
        let mut durations: Vec<u32> = Vec::new();
        let mut sites: HashMap<u128, SiteGroup> = HashMap::new();
        let mut phones: HashMap<u128, PhoneGroup> = HashMap::new();
        let mut n: u32 = 0;
        while let Some(row) = t.next_row()? {
            if let Some(d) = duration(&row, cols) {
                durations.push(d);
            }
            if let Some((c, site)) = cols.site(&row) {
                let key = keyed.hash(&[row.first(&cols.round), t.name_of(c), site]);
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
        Ok(Groups {
            short: median
                .filter(|&m| m >= 60)
                .map(|m| (m, f64::from(m) * settings.short_share)),
            sites,
            phones,
        })
    }
}

/// The second pass over one table: one method a check, each adding its
/// findings of a row.
struct Pass<'a> {
    form_id: &'a str,
    headers: Vec<String>,
    cols: Columns,
    groups: Groups,
    keyed: &'a Keyed,
    settings: Settings,
    last_round: &'a Lists,
    /// The record id of the first row of each group named so far.
    first_ids: HashMap<u32, String>,
}

impl Pass<'_> {
    fn finding(&self, row: &Row, column: usize, value: String, why: String) -> Finding {
        Finding {
            check: "",
            record_id: row.get(self.cols.record_id).to_string(),
            form_id: self.form_id.to_string(),
            field: self.headers.get(column).cloned().unwrap_or_default(),
            value,
            why,
        }
    }

    /// The field name of column `c` (its header's last path part).
    fn name(&self, c: usize) -> &str {
        let h = self.headers.get(c).map(String::as_str).unwrap_or("");
        h.rsplit_once('/').map_or(h, |(_, last)| last)
    }

    /// The record id of a group's first row (this row, when it is it).
    fn first_of(&mut self, first: u32, n: u32, row: &Row) -> Option<String> {
        if first == n {
            self.first_ids
                .insert(n, row.get(self.cols.record_id).to_string());
            None
        } else {
            Some(self.first_ids.get(&first).cloned().unwrap_or_default())
        }
    }

    fn short(&self, row: &Row, sink: &mut Sink) -> Result<(), AggregateError> {
        let (Some((median, under)), Some(d), Some(end)) =
            (self.groups.short, duration(row, &self.cols), self.cols.end)
        else {
            return Ok(());
        };
        if f64::from(d) >= under {
            return Ok(());
        }
        let why = format!(
            "the interview took {}, under {:.0}% of the form's median {}",
            minutes(d),
            self.settings.short_share * 100.0,
            minutes(median)
        );
        sink.add(
            Check::ShortInterview,
            self.finding(row, end, d.to_string(), why),
        )
    }

    fn site(&mut self, row: &Row, n: u32, sink: &mut Sink) -> Result<(), AggregateError> {
        let Some((c, site)) = self.cols.site(row) else {
            return Ok(());
        };
        let key = self
            .keyed
            .hash(&[row.first(&self.cols.round), self.name(c), site]);
        let Some(first) = self.groups.sites.get(&key).map(|g| g.first) else {
            return Ok(());
        };
        let round = row.first(&self.cols.round);
        let round = if round.is_empty() {
            String::new()
        } else {
            format!(" in round {round}")
        };
        let name = self.name(c).to_string();
        let why = match self.first_of(first, n, row) {
            None => format!(
                "{name} {site} assessed more than once{round} by different enumerators (the \
                 other records follow)"
            ),
            Some(first) => format!(
                "{name} {site} assessed{round} also in record {first}, by different enumerators"
            ),
        };
        sink.add(
            Check::SameSiteTwice,
            self.finding(row, c, site.to_string(), why),
        )
    }

    fn phone(&mut self, row: &Row, n: u32, sink: &mut Sink) -> Result<(), AggregateError> {
        for c in self.cols.phones.clone() {
            let Some(p) = phone_digits(row.get(Some(c))) else {
                continue;
            };
            let Some((first, records)) = self
                .groups
                .phones
                .get(&self.keyed.hash(&[&p]))
                .map(|g| (g.first, g.n))
            else {
                continue;
            };
            let why = match self.first_of(first, n, row) {
                None => format!(
                    "the same key-informant phone is in {records} records (the others follow)"
                ),
                Some(first) => format!("the same key-informant phone as record {first}"),
            };
            // Never the phone itself: it identifies the informant.
            sink.add(Check::SamePhone, self.finding(row, c, String::new(), why))?;
        }
        Ok(())
    }

    fn moved(&self, row: &Row, sink: &mut Sink) -> Result<(), AggregateError> {
        let Some((list, id_col, saves)) = &self.cols.entity else {
            return Ok(());
        };
        let id = row.get(Some(*id_col)).trim();
        if id.is_empty() {
            return Ok(());
        }
        let Some((_, props)) = self.last_round.entity(list, id) else {
            return Ok(());
        };
        for (c, prop) in saves {
            let last = props
                .get(prop)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v > 0.0);
            let (Some(last), Some(now)) = (last, row.number(Some(*c))) else {
                continue;
            };
            let moved = (now - last) / last;
            if moved.abs() > self.settings.move_share {
                let why = format!(
                    "{} last round ({list} {id}, {prop}), now {}: {}{:.0}%, more than {:.0}%",
                    number(last),
                    number(now),
                    if moved > 0.0 { "+" } else { "" },
                    moved * 100.0,
                    self.settings.move_share * 100.0
                );
                sink.add(
                    Check::MovedFromLastRound,
                    self.finding(row, *c, number(now), why),
                )?;
            }
        }
        Ok(())
    }

    fn sums(&self, row: &Row, sink: &mut Sink) -> Result<(), AggregateError> {
        for (total, parts) in &self.cols.sums {
            let Some(want) = row.number(Some(*total)) else {
                continue;
            };
            let mut sum = 0.0;
            let mut answered = false;
            let mut readable = true;
            for &p in parts {
                if row.get(Some(p)).trim().is_empty() {
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
                let names: Vec<&str> = parts.iter().map(|&p| self.name(p)).collect();
                let why = format!(
                    "{} is {} but {} add up to {}",
                    self.name(*total),
                    number(want),
                    names.join(" + "),
                    number(sum)
                );
                sink.add(
                    Check::CountsDoNotAddUp,
                    self.finding(row, *total, number(want), why),
                )?;
            }
        }
        Ok(())
    }
}
