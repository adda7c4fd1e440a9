//! The summary of an aggregation (`summary.json` and `summary.md`): records
//! by form, enumerator, day and admin area, DTM totals from the fields a
//! form tags with `#affected...` HXL, and every problem found.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::error::AggregateError;
use super::tables::{RecordRef, cell};
use serde::Serialize;

use crate::form::{Form, Kind};

#[derive(Debug, Clone, Serialize)]
pub struct FailedBundle {
    pub file: String,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Conflict {
    pub record_id: String,
    pub bundles: Vec<String>,
}

/// Two bundles carrying different texts under one form_id and version.
#[derive(Debug, Clone, Serialize)]
pub struct FormConflict {
    pub form_id: String,
    pub version: String,
    /// The bundle whose text is used: the first in (device, sequence)
    /// order.
    pub used: String,
    pub used_sha256: String,
    pub other: String,
    pub other_sha256: String,
}

/// A record whose body says another enumerator or device than the signed
/// manifest: kept, credited to the manifest's.
#[derive(Debug, Clone, Serialize)]
pub struct Disagreement {
    pub bundle_id: String,
    pub record_id: String,
    pub problem: String,
}

/// A record version kept aside, not merged: a correction that does not
/// follow from the version before, or two different claims of one
/// version (`versions`).
#[derive(Debug, Clone, Serialize)]
pub struct VersionConflict {
    pub record_id: String,
    pub version: u32,
    pub bundles: Vec<String>,
    pub problem: String,
}

/// Review and corrections: the records in the tables by review status
/// (`review`), those corrected (version over 1), earlier versions written
/// to `versions/`, rows of `changes.csv` (None: not written), receipts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReviewCounts {
    pub approved: usize,
    pub returned: usize,
    pub received: usize,
    pub pending: usize,
    pub corrected: usize,
    pub earlier_versions: usize,
    pub changes: Option<usize>,
    pub receipts_used: usize,
    /// Receipts for bundles not among those given (not a problem).
    pub receipts_for_other_bundles: usize,
}

impl ReviewCounts {
    /// Counts a record version taken into the tables.
    pub fn count(&mut self, status: Status, version: u32) {
        *match status {
            Status::Approved => &mut self.approved,
            Status::Returned => &mut self.returned,
            Status::Received => &mut self.received,
            Status::Pending => &mut self.pending,
        } += 1;
        if version > 1 {
            self.corrected += 1;
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Unreadable {
    pub bundle_id: String,
    pub record_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub bundles_read: usize,
    /// Bundles given more than once, read once.
    pub duplicate_bundles: usize,
    pub records: usize,
    pub duplicates: usize,
    pub by_form: BTreeMap<String, usize>,
    pub by_enumerator: BTreeMap<String, usize>,
    pub by_day: BTreeMap<String, usize>,
    pub by_province: BTreeMap<String, usize>,
    pub by_district: BTreeMap<String, usize>,
    /// form -> "tag (field)" -> sum.
    pub totals: BTreeMap<String, BTreeMap<String, f64>>,
    pub failed_bundles: Vec<FailedBundle>,
    pub sequence_problems: Vec<String>,
    pub conflicts: Vec<Conflict>,
    /// Where each record id is in `conflicts`.
    #[serde(skip)]
    conflict_at: HashMap<String, usize>,
    pub form_conflicts: Vec<FormConflict>,
    pub disagreements: Vec<Disagreement>,
    pub undecryptable: Vec<Unreadable>,
    pub review: ReviewCounts,
    /// Receipts (or verdicts) not used.
    pub receipt_problems: Vec<String>,
    pub version_conflicts: Vec<VersionConflict>,
    /// Corrections taken without their earlier version (not problems).
    pub version_notes: Vec<String>,
    /// What could not be put in a workbook (the CSV tables have it all).
    pub workbook_problems: Vec<String>,
    /// Attachments written under `media/`.
    pub media_files: usize,
    /// Attachments a record names that are missing or altered.
    pub media_problems: Vec<String>,
    /// (file, rows) of every table written.
    pub tables: Vec<(String, usize)>,
    /// (file under the `--parquet` folder, rows) of every Parquet table.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parquet_tables: Vec<(String, usize)>,
    /// What the warehouse took in and holds (`--db`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warehouse: Option<Ingested>,
    /// Every entity list written (`entities/<list>.csv`).
    pub entity_lists: Vec<super::entities::ListWritten>,
    /// Entity operations that were not applied, or conflict.
    pub entity_problems: Vec<String>,
    /// Coverage against the assignments, when they were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<super::coverage::Coverage>,
    /// Quality checks: findings by check (every check, 0 included); each
    /// is a row of checks.csv.
    pub checks: BTreeMap<String, usize>,
    pub checks_total: usize,
    /// What summary.html shows besides the above.
    pub report: Figures,
    /// How much reading and decrypting it took (not in summary.json).
    #[serde(skip)]
    pub work: Work,
}

/// How much an aggregation read, parsed and decrypted: a test checks each
/// bundle is read and parsed a fixed number of times however many
/// records or conflicts it holds, and each record decrypted once (a
/// conflict's versions once more, to write them aside).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    /// Bundle files read from disk.
    pub bundle_reads: usize,
    /// Archives parsed (their entries and manifest read).
    pub archive_parses: usize,
    /// Record files decrypted.
    pub decryptions: usize,
}

impl Summary {
    pub fn failed_bundle(&mut self, file: &str, problems: &[String]) {
        self.failed_bundles.push(FailedBundle {
            file: file.into(),
            problems: problems.to_vec(),
        });
    }

    pub fn undecryptable(&mut self, bundle_id: &str, record_id: &str, reason: &str) {
        self.undecryptable.push(Unreadable {
            bundle_id: bundle_id.into(),
            record_id: record_id.into(),
            reason: reason.into(),
        });
    }

    pub fn conflict(&mut self, record_id: &str, first: &str, other: &str) {
        match self.conflict_at.get(record_id) {
            Some(&at) => self.conflicts[at].bundles.push(other.into()),
            None => {
                self.conflict_at
                    .insert(record_id.into(), self.conflicts.len());
                self.conflicts.push(Conflict {
                    record_id: record_id.into(),
                    bundles: vec![first.into(), other.into()],
                })
            }
        }
    }

    pub fn disagreement(&mut self, bundle_id: &str, record_id: &str, problem: &str) {
        self.disagreements.push(Disagreement {
            bundle_id: bundle_id.into(),
            record_id: record_id.into(),
            problem: problem.into(),
        });
    }

    pub fn problems(&self) -> usize {
        self.failed_bundles.len()
            + self.sequence_problems.len()
            + self.conflicts.len()
            + self.form_conflicts.len()
            + self.disagreements.len()
            + self.undecryptable.len()
            + self.workbook_problems.len()
            + self.entity_problems.len()
            + self.media_problems.len()
            + self.receipt_problems.len()
            + self.version_conflicts.len()
    }

    /// Every problem, one line each, as the summary and the terminal say
    /// them.
    pub fn problem_lines(&self) -> Vec<String> {
        let mut lines = Vec::with_capacity(self.problems());
        for f in &self.failed_bundles {
            lines.push(format!(
                "bundle left out, {}: {}",
                f.file,
                f.problems.join("; ")
            ));
        }
        for s in &self.sequence_problems {
            lines.push(format!("sequence: {s}"));
        }
        for m in &self.media_problems {
            lines.push(format!("media: {m}"));
        }
        for c in &self.conflicts {
            lines.push(format!(
                "conflict: record {} differs between bundles {} (versions in conflicts/{}/)",
                c.record_id,
                c.bundles.join(" and "),
                c.record_id
            ));
        }
        for v in &self.version_conflicts {
            lines.push(format!(
                "version conflict: record {} version {} in {}: {}",
                v.record_id,
                v.version,
                v.bundles.join(" and "),
                v.problem
            ));
        }
        for r in &self.receipt_problems {
            lines.push(r.clone());
        }
        for f in &self.form_conflicts {
            lines.push(format!(
                "form conflict: {} {} in bundle {} (SHA-256 {}) is another text than in \
                 bundle {} (SHA-256 {}); the text of {} is used, the first in device and \
                 sequence order: give each changed form a new version",
                f.form_id, f.version, f.other, f.other_sha256, f.used, f.used_sha256, f.used
            ));
        }
        for d in &self.disagreements {
            lines.push(format!(
                "record {} in {}: {}",
                d.record_id, d.bundle_id, d.problem
            ));
        }
        for u in &self.undecryptable {
            lines.push(format!(
                "record {} in {} not read: {}",
                u.record_id, u.bundle_id, u.reason
            ));
        }
        for w in &self.workbook_problems {
            lines.push(format!("workbook: {w}"));
        }
        for e in &self.entity_problems {
            lines.push(format!("entities: {e}"));
        }
        lines
    }

    /// Counts a record taken into the tables.
    pub fn add(&mut self, facts: Facts) {
        self.records += 1;
        *self.by_form.entry(facts.form_id.clone()).or_default() += 1;
        *self.by_enumerator.entry(facts.enumerator).or_default() += 1;
        *self.by_day.entry(facts.day).or_default() += 1;
        if let Some(p) = facts.province {
            *self.by_province.entry(p).or_default() += 1;
        }
        if let Some(d) = facts.district {
            *self.by_district.entry(d).or_default() += 1;
        }
        for (tag, n) in facts.totals {
            *self
                .totals
                .entry(facts.form_id.clone())
                .or_default()
                .entry(tag)
                .or_default() += n;
        }
    }

    pub fn write(&self, out: &Path) -> Result<(), AggregateError> {
        // Plain data: serializing cannot fail.
        let json = serde_json::to_vec_pretty(self).unwrap_or_default();
        for (name, bytes) in [
            ("summary.json", json),
            ("summary.md", self.markdown().into()),
        ] {
            let path = out.join(name);
            std::fs::write(&path, bytes).map_err(|e| AggregateError::write(path, e))?;
        }
        Ok(())
    }

    pub fn markdown(&self) -> String {
        let mut md = String::from("# fieldkit aggregation summary\n\n");
        md.push_str(&format!(
            "{} record(s) from {} bundle(s) ({} bundle(s) given more than once, read once); \
             {} duplicate record(s) counted once; {} problem(s).\n",
            self.records,
            self.bundles_read,
            self.duplicate_bundles,
            self.duplicates,
            self.problems()
        ));
        let table = |md: &mut String, title: &str, map: &BTreeMap<String, usize>| {
            if map.is_empty() {
                return;
            }
            md.push_str(&format!(
                "\n## Records by {title}\n\n| {title} | records |\n|---|---:|\n"
            ));
            for (k, v) in map {
                let k = if k.is_empty() { "(none)" } else { k };
                md.push_str(&format!("| {k} | {v} |\n"));
            }
        };
        table(&mut md, "form", &self.by_form);
        table(&mut md, "enumerator", &self.by_enumerator);
        table(&mut md, "day", &self.by_day);
        table(&mut md, "province", &self.by_province);
        table(&mut md, "district", &self.by_district);
        if !self.totals.is_empty() {
            md.push_str("\n## DTM totals (fields tagged #affected)\n\n| form | indicator | total |\n|---|---|---:|\n");
            for (form, totals) in &self.totals {
                for (k, v) in totals {
                    md.push_str(&format!("| {form} | {k} | {v} |\n"));
                }
            }
        }
        if self.checks_total > 0 {
            md.push_str(&format!(
                "\n## Quality checks\n\n{} finding(s) to look at, in checks.csv (nothing was \
                 changed):\n\n| check | records |\n|---|---:|\n",
                self.checks_total
            ));
            for (k, v) in &self.checks {
                md.push_str(&format!("| {k} | {v} |\n"));
            }
        }
        let r = &self.review;
        md.push_str(&format!(
            "\n## Review\n\n{} approved, {} returned, {} received (not reviewed), {} pending \
             (no receipt); {} corrected (version over 1); {} earlier version(s) in versions/; \
             {} receipt(s) used, {} for bundles not given.\n",
            r.approved,
            r.returned,
            r.received,
            r.pending,
            r.corrected,
            r.earlier_versions,
            r.receipts_used,
            r.receipts_for_other_bundles
        ));
        if let Some(n) = r.changes {
            md.push_str(&format!("{n} changed answer(s) in changes.csv.\n"));
        }
        for note in &self.version_notes {
            md.push_str(&format!("- {note}\n"));
        }
        md.push_str("\n## Problems\n\n");
        if self.problems() == 0 {
            md.push_str("None.\n");
        }
        for line in self.problem_lines() {
            md.push_str(&format!("- {line}\n"));
        }
        if !self.tables.is_empty() {
            md.push_str("\n## Tables\n\n| file | rows |\n|---|---:|\n");
            for (file, rows) in &self.tables {
                md.push_str(&format!("| {file} | {rows} |\n"));
            }
        }
        if let Some(c) = &self.coverage {
            md.push_str(&format!(
                "\n## Coverage against the assignments\n\n{} visit(s) to entities nobody was \
                 assigned.\n",
                c.unassigned_visits
            ));
            for (title, map) in [("enumerator", &c.by_enumerator), ("area", &c.by_area)] {
                md.push_str(&format!(
                    "\n| {title} | assigned | visited | by another | not visited |\n\
                     |---|---:|---:|---:|---:|\n"
                ));
                for (k, n) in map {
                    md.push_str(&format!(
                        "| {k} | {} | {} | {} | {} |\n",
                        n.assigned, n.visited, n.visited_by_another, n.not_visited
                    ));
                }
            }
        }
        if !self.entity_lists.is_empty() {
            md.push_str(
                "\n## Entity lists for the next round\n\n| file | entities | from last round \
                 | created | updated |\n|---|---:|---:|---:|---:|\n",
            );
            for l in &self.entity_lists {
                md.push_str(&format!(
                    "| {} | {} | {} | {} | {} |\n",
                    l.file, l.entities, l.from_last_round, l.created, l.updated
                ));
            }
        }
        md
    }
}

/// What the summary counts of one record (worked out where the record is
/// decrypted, so the record itself need not travel further).
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub form_id: String,
    pub enumerator: String,
    pub day: String,
    pub province: Option<String>,
    pub district: Option<String>,
    /// "tag (field)" and value of every `#affected...` number.
    pub totals: Vec<(String, f64)>,
}

impl Facts {
    pub fn of(record: &RecordRef, form: Option<&Form>) -> Facts {
        let mut facts = Facts {
            form_id: record.form_id.to_string(),
            enumerator: record.enumerator_id.to_string(),
            day: record.finalized_at.get(..10).unwrap_or("").to_string(),
            ..Facts::default()
        };
        let Some(form) = form else { return facts };
        for node in &form.nodes {
            let Some(tag) = node.hxl.as_deref() else {
                continue;
            };
            if !node.repeats.is_empty() {
                continue;
            }
            let value = cell(&record.values, &node.name);
            match tag {
                "#adm1+code" => facts.province = Some(value.into_owned()),
                "#adm2+code" => facts.district = Some(value.into_owned()),
                t if t.starts_with("#affected")
                    && matches!(node.kind, Kind::Integer | Kind::Decimal | Kind::Calculate) =>
                {
                    if let Ok(n) = value.trim().parse::<f64>() {
                        facts.totals.push((format!("{t} ({})", node.name), n));
                    }
                }
                _ => {}
            }
        }
        facts
    }
}

/// The report's own figures (`report::figures` works them out), kept in
/// summary.json under `report`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct AdminName {
    pub en: String,
    /// The Lao name, when the list has one.
    pub lo: String,
}

/// One age band of the displaced population.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Band {
    pub band: String,
    pub female: f64,
    pub male: f64,
}

/// One round of a form.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RoundFigures {
    pub records: usize,
    /// The sum of the form's `#affected+idps` field (`m0310_loc_num_idp_ind`).
    pub idps: f64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Figures {
    /// The names of every province and district code counted.
    pub admin_names: BTreeMap<String, AdminName>,
    /// form -> the displaced by age band and sex (IDP fields named
    /// `[num_]idp_{girls,boys,women,men}_<band>`).
    pub pyramid: BTreeMap<String, Vec<Band>>,
    /// form -> needs field -> choice -> records naming it.
    pub needs: BTreeMap<String, BTreeMap<String, BTreeMap<String, usize>>>,
    /// form -> round (`#round+code` / `m0489_meta_survey_round`, else the
    /// form version) -> records and IDPs.
    pub rounds: BTreeMap<String, BTreeMap<String, RoundFigures>>,
    /// English labels of the needs' choices, by code.
    pub need_labels: BTreeMap<String, String>,
}

/// A record version's review status, as the tables' `review_status`
/// column writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A supervisor approved it.
    Approved,
    /// A supervisor returned it to the enumerator to correct.
    Returned,
    /// A supervisor's receipt covers its bundle, without a verdict on it.
    Received,
    /// No receipt given covers its bundle.
    Pending,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Approved => "approved",
            Status::Returned => "returned",
            Status::Received => "received",
            Status::Pending => "pending",
        }
    }
}

/// What a run took into the warehouse.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Ingested {
    /// The warehouse file.
    pub file: String,
    /// Bundles taken in by this run.
    pub new_bundles: usize,
    /// Records and attachments taken in by this run.
    pub new_records: usize,
    pub new_attachments: usize,
    /// Of those, files no identity given could open (kept sealed).
    pub sealed: usize,
    /// Bundle files given that the warehouse already had (by path, size
    /// and time, or by their manifest).
    pub known_bundles: usize,
    /// Receipts given that the warehouse keeps from now on.
    pub new_receipts: usize,
    /// Receipts given that failed their check: not kept.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub receipts_not_kept: Vec<String>,
    /// What the warehouse holds after the run.
    pub bundles: usize,
    pub records: usize,
}
