//! The merge: decrypted runs taken in their order, each record once. The
//! same record twice (the same content) is counted once; the same id with
//! other content is a conflict, both versions kept aside and written to
//! `conflicts/` at the end. A record with versions goes where the plan
//! says (`versions`). Owns the rows' order and what is remembered of
//! each record taken; decryption is `decrypt`'s, files `output`'s.

mod held;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::mpsc::Receiver;

use serde_json::Value;

use super::entities;
use super::error::{AggregateError, RecordProblem};
use super::forms::FormTables;
use super::media::Wanted;
use super::output::{TableFile, under};
use super::read::{changed, open_again};
use super::review::Reviews;
use super::runs::{Prepared, RunDone, Taken};
use super::summary::Summary;
use super::versions::Plan;
use super::{Good, Options, WorkCount, progress};
use crate::crypt;
pub(super) use held::Held;

/// What we remember of a record already taken, to find duplicates and
/// conflicts: its content hash, and where it came from.
pub(super) struct Seen {
    /// The first 8 bytes of the content's SHA-256: only records with the
    /// same id are compared, so this is plenty to tell them apart.
    pub(super) sha: [u8; 8],
    pub(super) bundle: u32,
    pub(super) entry: u32,
}

/// The merge: runs taken in order, each record once.
pub(super) struct Merge<'a> {
    pub(super) opts: &'a Options,
    pub(super) good: &'a [Good],
    /// Both versions of every conflict, written at the end.
    pub(super) aside: &'a mut Vec<Aside>,
    /// Every form's table files.
    pub(super) files: &'a mut [Vec<TableFile>],
    pub(super) seen: &'a mut HashMap<u128, Seen>,
    pub(super) summary: &'a mut Summary,
    /// The entity operations of the records taken into the tables.
    pub(super) entities: &'a mut Vec<entities::Change>,
    /// The merged records' attachments, written at the end.
    pub(super) media: &'a mut Vec<Wanted>,
    /// The forms (their tables' layouts, for `versions/`).
    pub(super) forms: &'a [FormTables],
    /// What becomes of each version of the records that have versions.
    pub(super) plan: &'a Plan,
    pub(super) reviews: &'a Reviews,
    /// The versions of records with versions, held until the merge ends.
    pub(super) held: HashMap<u128, Vec<Held>>,
}

impl Merge<'_> {
    /// Merges every run as it arrives, in order (runs that come early
    /// wait, a handful at most).
    pub(super) fn all(&mut self, done: Receiver<RunDone>) -> Result<(), AggregateError> {
        let mut waiting: BTreeMap<usize, RunDone> = BTreeMap::new();
        let mut next = 0;
        let mut bundle_shown = None;
        for run in done {
            waiting.insert(run.seq, run);
            while let Some(RunDone {
                bundle, outcome, ..
            }) = waiting.remove(&next)
            {
                if bundle_shown != Some(bundle) {
                    bundle_shown = Some(bundle);
                    progress(
                        self.opts.progress,
                        "decrypting",
                        bundle as usize + 1,
                        self.good.len(),
                    );
                }
                for taken in outcome? {
                    self.one(bundle, taken)?;
                }
                next += 1;
            }
        }
        if !waiting.is_empty() {
            return Err(AggregateError::DecryptionStopped);
        }
        progress(
            self.opts.progress,
            "decrypting",
            self.good.len(),
            self.good.len(),
        );
        Ok(())
    }

    fn one(&mut self, bundle: u32, taken: Taken) -> Result<(), AggregateError> {
        let Taken {
            entry,
            record_id,
            version,
            result,
        } = taken;
        let record_id = record_id.as_str();
        let bundle_id = &self.good[bundle as usize].bundle_id;
        let unreadable = |summary: &mut Summary, why: RecordProblem| {
            summary.undecryptable(bundle_id, record_id, &why.to_string());
        };
        let p: Prepared = match result {
            Ok(p) => p,
            Err(why) => {
                unreadable(self.summary, why);
                return Ok(());
            }
        };
        // Verified: one spelling of a UUID.
        let Ok(id) = uuid::Uuid::parse_str(record_id).map(|u| u.as_u128()) else {
            unreadable(self.summary, RecordProblem::NotAUuid);
            return Ok(());
        };
        if let Some(role) = self.plan.role(id, bundle, entry) {
            if let Some(why) = &p.disagrees {
                self.summary.disagreement(bundle_id, record_id, why);
            }
            let held = Held {
                bundle,
                entry,
                version,
                in_table: false,
                p,
            };
            return self.versioned(id, role, record_id, held);
        }
        let seen = self.seen.get(&id);
        if seen.is_some_and(|first| first.sha == p.sha) {
            self.summary.duplicates += 1;
            return Ok(());
        }
        if let Some(why) = &p.disagrees {
            self.summary.disagreement(bundle_id, record_id, why);
        }
        if let Some(first) = seen {
            let first_bundle = &self.good[first.bundle as usize].bundle_id;
            self.aside.push(Aside {
                bundle: first.bundle,
                entry: first.entry,
            });
            self.aside.push(Aside { bundle, entry });
            self.summary.conflict(record_id, first_bundle, bundle_id);
            return Ok(());
        }
        let sha = p.sha;
        self.take(bundle, record_id, version, p)?;
        self.seen.insert(id, Seen { sha, bundle, entry });
        Ok(())
    }

    /// Takes a record (the version `version`) into the tables: its rows,
    /// its entity operation, its facts and review status in the summary,
    /// its attachments.
    pub(super) fn take(
        &mut self,
        bundle: u32,
        record_id: &str,
        version: u32,
        p: Prepared,
    ) -> Result<(), AggregateError> {
        let bundle_id = &self.good[bundle as usize].bundle_id;
        let files = &mut self.files[p.form];
        for row in &p.rows {
            files[row.table].row(&row.line)?;
        }
        match p.entity {
            Some(Ok((op, finalized_at))) => self.entities.push(entities::Change {
                op,
                record_id: record_id.to_string(),
                finalized_at,
                enumerator: self.good[bundle as usize].enumerator_id.clone(),
            }),
            Some(Err(why)) => self
                .summary
                .entity_problems
                .push(format!("record {record_id} in {bundle_id}: {why}")),
            None => {}
        }
        self.summary.add(p.facts);
        self.summary.review.count(p.status, version);
        if !p.attachments.is_empty() {
            self.media.push(Wanted {
                bundle,
                record_id: record_id.to_string(),
                files: p.attachments,
            });
        }
        Ok(())
    }
}

/// A record kept aside in a conflict: its bundle and its place in the
/// bundle's manifest.
pub(super) struct Aside {
    pub(super) bundle: u32,
    pub(super) entry: u32,
}

/// Writes both versions of every conflict to
/// `conflicts/<record_id>/<bundle_id>.json`, once all records are merged:
/// each bundle involved is read once and each version decrypted once
/// (reading both bundles again for each conflict made 2,000 conflicts take
/// 88 s). Every name comes from a verified manifest and is checked again
/// as a single file name before it touches a path.
pub(super) fn write_conflicts(
    out: &Path,
    good: &[Good],
    aside: &[Aside],
    identities: &[crypt::X25519Identity],
    count: &WorkCount,
) -> Result<(), AggregateError> {
    let mut by_bundle: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for a in aside {
        by_bundle.entry(a.bundle).or_default().push(a.entry);
    }
    for (bundle, mut wanted) in by_bundle {
        wanted.sort_unstable();
        wanted.dedup();
        let this = &good[bundle as usize];
        let opened = open_again(this, count)?;
        for entry in wanted {
            let e = opened
                .manifest
                .entries
                .get(entry as usize)
                .ok_or_else(|| changed(this))?;
            let dir = under(out, &["conflicts", &e.record_id])?;
            let file = under(&dir, &[&format!("{}.json", this.bundle_id)])?;
            if file.exists() {
                continue;
            }
            // Both versions were read in the merge: one that no longer
            // reads is no longer the bundle verified.
            let plain = opened
                .plaintext(&e.path, identities, count)
                .ok_or_else(|| changed(this))?
                .map_err(|_| changed(this))?;
            let record: Value = serde_json::from_slice(&plain).map_err(|_| changed(this))?;
            std::fs::create_dir_all(&dir).map_err(|e| AggregateError::write(&dir, e))?;
            std::fs::write(
                &file,
                serde_json::to_vec_pretty(&record).unwrap_or_default(),
            )
            .map_err(|e| AggregateError::write(&file, e))?;
        }
    }
    Ok(())
}
