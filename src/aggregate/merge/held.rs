//! The merge's side of records with versions (`versions` decides, from
//! the manifests, what becomes of each version): a version held until the
//! merge ends, taken into the tables or `versions/`, or kept aside as a
//! conflict, and the changes between versions worked out for
//! `changes.csv`.

use std::collections::HashMap;

use super::{Aside, Merge};
use crate::aggregate::changes::{ChangeLog, Compared};
use crate::aggregate::error::AggregateError;
use crate::aggregate::media::Wanted;
use crate::aggregate::output::{TableFile, open_tables, under};
use crate::aggregate::runs::Prepared;
use crate::aggregate::summary::VersionConflict;
use crate::aggregate::versions::{Chain, Role};

/// A version of a record with versions, held by the merge until it ends.
pub(in crate::aggregate) struct Held {
    pub(in crate::aggregate) bundle: u32,
    pub(in crate::aggregate) entry: u32,
    pub(in crate::aggregate) version: u32,
    /// Its rows are in the tables already (only its answers are held).
    pub(in crate::aggregate) in_table: bool,
    pub(in crate::aggregate) p: Prepared,
}

impl Merge<'_> {
    /// Takes one version of a record that has versions (`held`, not yet
    /// in the tables), as the plan says.
    pub(in crate::aggregate) fn versioned(
        &mut self,
        id: u128,
        role: Role,
        record_id: &str,
        mut held: Held,
    ) -> Result<(), AggregateError> {
        match role {
            Role::Hostile => {
                self.aside.push(Aside {
                    bundle: held.bundle,
                    entry: held.entry,
                });
                return Ok(());
            }
            Role::Table => {
                let answers = held.p.answers.take();
                let shell = shell(&held.p);
                let p = std::mem::replace(&mut held.p, shell);
                self.take(held.bundle, record_id, held.version, p)?;
                held.p.answers = answers;
                held.in_table = true;
            }
            Role::Earlier | Role::Deferred => {
                // Held until the end: no room left over in its lines.
                for row in &mut held.p.rows {
                    row.line.shrink_to_fit();
                }
            }
        }
        self.held.entry(id).or_default().push(held);
        Ok(())
    }

    /// Once every record is merged: for each record with versions, the
    /// version for the tables when it is not there yet, the earlier ones
    /// to `versions/`, two different claims of one version aside, and the
    /// changes between consecutive versions to `changes.csv`.
    pub(in crate::aggregate) fn finish_versions(&mut self) -> Result<(), AggregateError> {
        if self.plan.chains.is_empty() {
            return Ok(());
        }
        let plan = self.plan;
        let mut order: Vec<(u32, u32, u128)> = plan
            .chains
            .iter()
            .filter_map(|(id, c)| c.claims.iter().map(|k| (k.bundle, k.entry, *id)).min())
            .collect();
        order.sort_unstable();
        let out = self.opts.out.clone();
        let mut earlier: HashMap<usize, Vec<TableFile>> = HashMap::new();
        let mut log = ChangeLog::new(&out)?;
        for (_, _, id) in order {
            let chain = &plan.chains[&id];
            let record_id = chain.record_id.as_str();
            let mut held = self.held.remove(&id).unwrap_or_default();
            held.sort_by_key(|h| (h.version, h.bundle, h.entry));
            // The same version with the same content (given twice): once.
            let mut kept: Vec<Held> = Vec::with_capacity(held.len());
            for h in held {
                match kept.last() {
                    Some(last) if last.version == h.version && last.p.sha == h.p.sha => {
                        self.summary.duplicates += 1;
                    }
                    _ => kept.push(h),
                }
            }
            // Two contents of one version: that version and all above it
            // aside; the tables keep the version they replace.
            let split = kept
                .windows(2)
                .find(|w| w[0].version == w[1].version)
                .map(|w| w[0].version);
            let mut chosen = Vec::with_capacity(kept.len());
            let mut apart = Vec::new();
            for h in kept {
                if split.is_some_and(|k| h.version >= k) {
                    apart.push(h);
                } else {
                    chosen.push(h);
                }
            }
            if let Some(k) = split {
                let problem = if k == 1 {
                    "different first versions of one record".to_string()
                } else {
                    format!("two different corrections of version {}", k - 1)
                };
                let kept_note = match chosen.last() {
                    Some(h) => format!("the tables keep version {}", h.version),
                    None => "the record is not in the tables".to_string(),
                };
                self.summary.version_conflicts.push(VersionConflict {
                    record_id: record_id.to_string(),
                    version: k,
                    bundles: apart
                        .iter()
                        .map(|h| self.good[h.bundle as usize].bundle_id.clone())
                        .collect(),
                    problem: format!("{problem}; all kept aside in conflicts/, {kept_note}"),
                });
                for h in &apart {
                    self.aside.push(Aside {
                        bundle: h.bundle,
                        entry: h.entry,
                    });
                }
            }
            let Some(last) = chosen.pop() else {
                continue;
            };
            let last = self.put_in_table(chain, last)?;
            for h in &chosen {
                let files = match earlier.entry(h.p.form) {
                    std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::hash_map::Entry::Vacant(v) => {
                        let dir = under(&out, &["versions"])?;
                        std::fs::create_dir_all(&dir)
                            .map_err(|e| AggregateError::write(&dir, e))?;
                        let ft = &self.forms[h.p.form];
                        v.insert(open_tables(
                            &ft.form_id,
                            &ft.layout,
                            &dir,
                            self.opts.hxl,
                            None,
                        )?)
                    }
                };
                for row in &h.p.rows {
                    files[row.table].row(&row.line)?;
                }
                // Its files too: a version kept aside in versions/ keeps
                // what it names (attachment names are random per file, so
                // they never meet another version's).
                if !h.p.attachments.is_empty() {
                    self.media.push(Wanted {
                        bundle: h.bundle,
                        record_id: record_id.to_string(),
                        files: h.p.attachments.clone(),
                    });
                }
                self.summary.review.earlier_versions += 1;
            }
            chosen.push(last);
            if chosen.len() > 1 {
                log.open()?;
            }
            for pair in chosen.windows(2) {
                let (a, b) = (&pair[0], &pair[1]);
                if b.version != a.version + 1 {
                    continue;
                }
                let (Some(old), Some(new)) = (&a.p.answers, &b.p.answers) else {
                    continue;
                };
                let what = Compared {
                    record_id,
                    version: b.version,
                    who: &self.good[b.bundle as usize].enumerator_id,
                    returned: self.reviews.returned(record_id, a.version),
                };
                log.write(&what, old, new)?;
            }
        }
        let mut forms: Vec<(usize, Vec<TableFile>)> = earlier.into_iter().collect();
        forms.sort_by_key(|(f, _)| *f);
        for (_, files) in forms.iter_mut() {
            for table in files.iter_mut() {
                use std::io::Write;
                table
                    .writer
                    .flush()
                    .map_err(|e| AggregateError::write(&table.path, e))?;
                let name = table
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                self.summary
                    .tables
                    .push((format!("versions/{name}"), table.rows));
            }
        }
        self.summary.review.changes = log.finish()?;
        Ok(())
    }

    /// The version for the tables: written now unless it was as it came.
    fn put_in_table(&mut self, chain: &Chain, mut h: Held) -> Result<Held, AggregateError> {
        if h.in_table {
            return Ok(h);
        }
        if !chain.deferred {
            let top = chain
                .claims
                .iter()
                .filter(|c| c.role == Role::Table)
                .map(|c| c.version)
                .max()
                .unwrap_or(h.version);
            self.summary.version_notes.push(format!(
                "record {}: version {} could not be read (see above); version {} is in the \
                 tables",
                chain.record_id, top, h.version
            ));
        }
        let answers = h.p.answers.take();
        let shell = shell(&h.p);
        let p = std::mem::replace(&mut h.p, shell);
        self.take(h.bundle, &chain.record_id, h.version, p)?;
        h.p.answers = answers;
        h.in_table = true;
        Ok(h)
    }
}

/// What is held of a version whose rows are in the tables: what tells it
/// apart, not its rows.
fn shell(p: &Prepared) -> Prepared {
    Prepared {
        sha: p.sha,
        form: p.form,
        status: p.status,
        answers: None,
        rows: Vec::new(),
        facts: Default::default(),
        disagrees: None,
        entity: None,
        attachments: Vec::new(),
    }
}
