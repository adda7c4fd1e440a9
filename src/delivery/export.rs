//! Export: the outbox as the laptop's next signed bundles, with the forms
//! their records were made with (`fieldkit export --out DIR` and the
//! home page's 'e'); and a bundle already exported and not yet covered by a
//! receipt, written again byte for byte (`--again SEQ|all`).
//!
//! The outbox is split so that every bundle passes the supervisor's
//! strict reader (`bundle::archive`): at most [`MAX_RECORDS`] records and
//! [`MAX_RECORD_BYTES`] of records per bundle, consecutive sequences, each
//! chained to the one before. Of a bundle's records only what its
//! manifest says is held while it is planned; their bytes are read again
//! from the store one at a time as its zip is written, so the zip holds
//! them once. A record too large for any bundle is named and left in the
//! outbox; the others still go.
//!
//! Each bundle is recorded in the store first (the chain moves on, the
//! bundle is marked unwritten: one write; then its records move to "sent"
//! in bounded writes, finished when the store next opens if a stop comes
//! in between: `Store::record_export`), then its file is written under a
//! temporary name, synced and renamed, then the store notes it written.
//! Bundles are deterministic (ids and times come from the content, the
//! signature is deterministic Ed25519), so a failure between the steps
//! never forks the chain: the next export first writes any unwritten
//! bundle again, the same bytes, before making new ones.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::bundle::{self, Built, ManifestEntry, MediaEntry, NO_PREVIOUS, Streamed, archive};

use super::limits::ENTRY_OVERHEAD;
pub use super::limits::{
    Limits, MAX_BYTES_ENV, MAX_RECORD_BYTES, MAX_RECORDS, MAX_RECORDS_ENV, PAUSE_ENV,
    STEP_RECORDS_ENV, Steps,
};
use super::stick::{Cleaned, clean_partials, write_bundle};
use crate::store::{BundleFacts, Listing, State, Store};

/// Which bundles `--again` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Again {
    All,
    Sequence(u64),
}

/// What an export did.
#[derive(Debug, Default)]
pub struct Exported {
    /// The bundle files written, in sequence order.
    pub paths: Vec<PathBuf>,
    /// How many of them an earlier export had recorded but not written.
    pub rewritten: usize,
    /// Records left in the outbox, each with why.
    pub refused: Vec<String>,
    /// Unfinished files of an interrupted export of this laptop, removed.
    pub removed: Vec<PathBuf>,
    /// Other unfinished fieldkit files, left as they are, with why.
    pub left: Vec<String>,
    /// What stopped the export after `paths` were written.
    pub stopped: Option<anyhow::Error>,
}

/// Exports the outbox into `out` within the limits the environment sets
/// (see [`export_with`]). `progress` is told (done, total) as records
/// are read.
pub fn export(
    store: &Store,
    out: &Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Exported> {
    export_with(
        store,
        out,
        Limits::from_env()?,
        &mut Steps::from_env()?,
        progress,
    )
}

/// Writes any bundle recorded but not written by an earlier export, then
/// the outbox as new bundles within `limits`. `Err`: nothing was done;
/// otherwise `stopped` says what stopped it after the bundles in `paths`.
pub fn export_with(
    store: &Store,
    out: &Path,
    limits: Limits,
    steps: &mut Steps,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Exported> {
    check_folder(out)?;
    let limits = limits.within_caps();
    let mut done = Exported::default();
    clean(store, out, &mut done)?;
    let mut forms = Forms::default();
    let held = store.bundles()?;
    for facts in held.iter().filter(|f| !f.written) {
        let written = rebuild(store, facts, &held, &mut forms)
            .and_then(|built| write_recorded(store, out, facts, &built.zip, "written", steps));
        match written {
            Ok(path) => {
                done.paths.push(path);
                done.rewritten += 1;
            }
            Err(e) => {
                done.stopped = Some(e.context("nothing new was exported"));
                return Ok(done);
            }
        }
    }
    if let Err(e) = export_outbox(store, out, limits, &mut forms, &mut done, steps, progress) {
        done.stopped = Some(e);
    }
    Ok(done)
}

/// The outbox as new bundles, one bundle's records in memory at a time.
fn export_outbox(
    store: &Store,
    out: &Path,
    limits: Limits,
    forms: &mut Forms,
    done: &mut Exported,
    steps: &mut Steps,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<()> {
    let ids = store.outbox_ids()?;
    let total = ids.len();
    let mut batch = Batch::default();
    for (i, id) in ids.into_iter().enumerate() {
        let (listing, ciphertext, review) = store.finalized_parts(&id, State::Outbox)?;
        progress(i + 1, total);
        let form = forms.get(store, &listing)?;
        let form = match (too_large(&listing, ciphertext.len(), form), form) {
            (None, Some(form)) => form,
            (why, _) => {
                done.refused.extend(why);
                continue;
            }
        };
        // A record's attachments go in its bundle: they count with it.
        let media = media_of(store, &id)?;
        let size = ciphertext.len() + review.as_ref().map_or(0, Vec::len) + media_cost(&media);
        if !batch.fits(batch.cost(size, form), limits) {
            ship(store, out, std::mem::take(&mut batch), done, steps)?;
        }
        let cost = batch.cost(size, form);
        batch.add(entry(&listing, &ciphertext, review.as_deref()), form, cost);
        batch.media.extend(media);
    }
    if !batch.records.is_empty() {
        ship(store, out, batch, done, steps)?;
    }
    Ok(())
}

/// Removes this laptop's unfinished files in `out` (see `stick`).
fn clean(store: &Store, out: &Path, done: &mut Exported) -> Result<()> {
    let mut cleaned = Cleaned::default();
    clean_partials(store, out, &mut cleaned)?;
    done.removed = cleaned.removed;
    done.left = cleaned.left;
    Ok(())
}

fn check_folder(out: &Path) -> Result<()> {
    if !out.is_dir() {
        bail!(
            "{} is not a folder; plug in the USB stick or create the folder, then try again",
            out.display()
        );
    }
    Ok(())
}

/// (form_id, version, sha256, text) of a form, as a bundle carries it.
type FormText = (String, String, String, Vec<u8>);

/// The forms read from the store so far, by SHA-256 (None: missing).
#[derive(Default)]
struct Forms(HashMap<String, Option<FormText>>);

impl Forms {
    fn get(&mut self, store: &Store, listing: &Listing) -> Result<Option<&FormText>> {
        let sha = &listing.form_sha256;
        if !self.0.contains_key(sha) {
            let text = store.form_text(sha)?.map(|text| {
                (
                    listing.form_id.clone(),
                    listing.form_version.clone(),
                    sha.clone(),
                    text,
                )
            });
            self.0.insert(sha.clone(), text);
        }
        Ok(self.0.get(sha).and_then(Option::as_ref))
    }
}

/// Why a record can go in no bundle, if it cannot.
fn too_large(listing: &Listing, size: usize, form: Option<&FormText>) -> Option<String> {
    let mib = |n: usize| n.div_ceil(1024 * 1024);
    let cap = archive::MAX_ENTRY_BYTES;
    match form {
        None => Some(format!(
            "record {} was not exported: this laptop no longer has its form {} {}; it stays in \
             the outbox. Ask your supervisor",
            listing.id, listing.form_id, listing.form_version
        )),
        Some(_) if size > cap => Some(format!(
            "record {} ({} {}) was not exported: it is {} MiB encrypted, and a bundle entry \
             may hold {} MiB at most (a supervisor's fieldkit refuses larger ones); it stays in \
             the outbox. Ask your supervisor how to deliver it",
            listing.id,
            listing.form_id,
            listing.form_version,
            mib(size),
            mib(cap)
        )),
        Some(f) if f.3.len() > cap => Some(format!(
            "record {} was not exported: its form {} {} is {} MiB, and a bundle entry may hold \
             {} MiB at most; it stays in the outbox. Ask your supervisor",
            listing.id,
            listing.form_id,
            listing.form_version,
            mib(f.3.len()),
            mib(cap)
        )),
        Some(_) => None,
    }
}

/// What the manifest says of a record (its bytes are read again when the
/// bundle is written).
fn entry(listing: &Listing, ciphertext: &[u8], review: Option<&[u8]>) -> ManifestEntry {
    ManifestEntry {
        entity: listing.entity.clone(),
        review: review.map(|r| bundle::FileRef::of(bundle::review_path(&listing.id), r)),
        ..bundle::entry_of(
            &listing.id,
            &listing.form_id,
            &listing.form_version,
            listing.finalized.as_deref().unwrap_or_default(),
            ciphertext,
        )
    }
}

/// What the manifest says of a record's attachments (their bytes are read
/// again when the bundle is written); none for most records.
fn media_of(store: &Store, record_id: &str) -> Result<Vec<MediaEntry>> {
    Ok(store
        .record_attachments(record_id)?
        .iter()
        .map(|(name, ciphertext)| bundle::media_entry_of(record_id, name, ciphertext))
        .collect())
}

/// What attachments add to a bundle.
fn media_cost(media: &[MediaEntry]) -> usize {
    media
        .iter()
        .map(|m| usize::try_from(m.size).unwrap_or(usize::MAX) + ENTRY_OVERHEAD as usize)
        .fold(0, usize::saturating_add)
}

/// The records of the next bundle (their manifest entries), with the
/// forms they use and their attachments.
#[derive(Default)]
struct Batch {
    records: Vec<ManifestEntry>,
    media: Vec<MediaEntry>,
    forms: Vec<FormText>,
    /// Records, forms and what each adds to the archive, counted.
    bytes: u64,
}

impl Batch {
    /// What a record adds: itself, and its form if the batch lacks it.
    fn cost(&self, size: usize, form: &FormText) -> u64 {
        let form_cost = if self.forms.iter().any(|f| f.2 == form.2) {
            0
        } else {
            form.3.len() as u64 + ENTRY_OVERHEAD
        };
        size as u64 + ENTRY_OVERHEAD + form_cost
    }

    /// Whether a record costing `cost` may join: a bundle takes at least
    /// one record, however large (within the entry cap).
    fn fits(&self, cost: u64, limits: Limits) -> bool {
        self.records.is_empty()
            || (self.records.len() < limits.records && self.bytes + cost <= limits.bytes)
    }

    fn add(&mut self, record: ManifestEntry, form: &FormText, cost: u64) {
        if !self.forms.iter().any(|f| f.2 == form.2) {
            self.forms.push(form.clone());
        }
        self.records.push(record);
        self.bytes += cost;
    }
}

/// Builds and signs a bundle of the records `entries` name, read from the
/// store in `state` as the zip is written; checked with the supervisor's
/// own reader.
fn build(
    store: &Store,
    sequence: u64,
    prev: &str,
    entries: Vec<ManifestEntry>,
    media: Vec<MediaEntry>,
    forms: &[FormText],
    state: State,
) -> Result<Built> {
    let public = &store.profile().public;
    let plan = Streamed {
        enumerator_id: &public.enumerator_id,
        device_id: &public.device_id,
        sequence,
        prev_manifest_sha256: prev,
        entries,
        forms,
        media,
    };
    let built = bundle::build_from(
        plan,
        &store.profile().signing_key,
        bundle::Readers {
            record: &mut |e| {
                store
                    .finalized(&e.record_id, state)
                    .map(|(_, ciphertext)| std::borrow::Cow::Owned(ciphertext))
                    .map_err(|e| e.to_string())
            },
            review: &mut |e| {
                store
                    .finalized_parts(&e.record_id, state)
                    .map_err(|e| e.to_string())?
                    .2
                    .map(std::borrow::Cow::Owned)
                    .ok_or_else(|| format!("record {} has no review view here", e.record_id))
            },
            media: &mut |m| {
                let kept = store
                    .record_attachments(&m.record_id)
                    .map_err(|e| e.to_string())?;
                kept.into_iter()
                    .find(|(name, _)| *name == m.name)
                    .map(|(_, ciphertext)| std::borrow::Cow::Owned(ciphertext))
                    .ok_or_else(|| format!("{} is no longer on this laptop", m.path))
            },
        },
    )
    .map_err(anyhow::Error::msg)?;
    if let Err(why) = archive::read(&built.zip) {
        bail!(
            "bundle {sequence} would be refused by a supervisor's fieldkit ({why}); nothing was \
             written"
        );
    }
    Ok(built)
}

/// Makes the next bundle of `batch`: recorded in the store, then written.
fn ship(
    store: &Store,
    out: &Path,
    mut batch: Batch,
    done: &mut Exported,
    steps: &mut Steps,
) -> Result<()> {
    let (last, prev) = store.chain_head()?;
    let sequence = last + 1;
    let records = batch.records.iter().map(|r| r.record_id.clone()).collect();
    let built = build(
        store,
        sequence,
        &prev,
        std::mem::take(&mut batch.records),
        std::mem::take(&mut batch.media),
        &batch.forms,
        State::Outbox,
    )?;
    let public = &store.profile().public;
    let facts = BundleFacts {
        sequence,
        bundle_id: built.manifest.bundle_id.clone(),
        manifest_sha256: built.manifest_sha256.clone(),
        prev_manifest_sha256: prev,
        file: bundle::file_name(&public.enumerator_id, &public.device_id, sequence),
        exported_at: crate::clock::now().to_string(),
        written: false,
        records,
    };
    drop(batch);
    let moves = steps.moves();
    store
        .record_export(&facts, moves, &mut |n| {
            steps.step(if n == 1 { "recorded" } else { "records moved" })
        })
        .with_context(|| {
            format!(
                "bundle {sequence} could not be recorded on this laptop: nothing was written to \
                 {}; the next export finishes what was recorded, or leaves the records in the \
                 outbox",
                out.display()
            )
        })?;
    let path = write_recorded(store, out, &facts, &built.zip, "written", steps)?;
    done.paths.push(path);
    Ok(())
}

/// Writes a bundle the store holds, then notes it written.
fn write_recorded(
    store: &Store,
    out: &Path,
    facts: &BundleFacts,
    zip: &[u8],
    event: &str,
    steps: &mut Steps,
) -> Result<PathBuf> {
    let path = write_bundle(out, &facts.file, zip).with_context(|| {
        format!(
            "bundle {} is recorded on this laptop but its file could not be written; check the \
             stick (full? read-only?) and run 'fieldkit export --out DIR' again: it writes \
             the same bundle, byte for byte",
            facts.sequence
        )
    })?;
    steps.step("file written");
    store
        .mark_written(facts, event, &crate::clock::now().to_string())
        .with_context(|| {
            format!(
                "bundle {} was written to {}, but this laptop could not note it; the next \
                 export writes it again (the same bytes)",
                facts.sequence,
                path.display()
            )
        })?;
    steps.step("noted written");
    Ok(path)
}

/// A bundle the store holds, built again from its records in "sent", the
/// kept forms and its place in the chain; refused unless its manifest is
/// the one recorded (then the whole file is the same, byte for byte).
fn rebuild(
    store: &Store,
    facts: &BundleFacts,
    held: &[BundleFacts],
    forms: &mut Forms,
) -> Result<Built> {
    let prev = if !facts.prev_manifest_sha256.is_empty() {
        facts.prev_manifest_sha256.clone()
    } else if facts.sequence == 1 {
        NO_PREVIOUS.to_string()
    } else if let Some(before) = held.iter().find(|b| b.sequence + 1 == facts.sequence) {
        before.manifest_sha256.clone()
    } else {
        bail!(
            "bundle {} was exported by an older fieldkit that did not keep the bundle it \
             follows, and that one has been acknowledged since: it cannot be rebuilt. Copy \
             its file from the stick it was exported to, or ask your supervisor",
            facts.sequence
        );
    };
    let mut records = Vec::with_capacity(facts.records.len());
    let mut carried: Vec<FormText> = Vec::new();
    let mut media = Vec::new();
    for id in &facts.records {
        let (listing, ciphertext, review) = store
            .finalized_parts(id, State::Sent)
            .with_context(|| format!("bundle {} cannot be rebuilt", facts.sequence))?;
        let form = forms.get(store, &listing)?.with_context(|| {
            format!(
                "bundle {} cannot be rebuilt: this laptop no longer has the form {} {}",
                facts.sequence, listing.form_id, listing.form_version
            )
        })?;
        if !carried.iter().any(|f| f.2 == form.2) {
            carried.push(form.clone());
        }
        records.push(entry(&listing, &ciphertext, review.as_deref()));
        media.extend(media_of(store, id)?);
    }
    let built = build(
        store,
        facts.sequence,
        &prev,
        records,
        media,
        &carried,
        State::Sent,
    )?;
    if built.manifest_sha256 != facts.manifest_sha256 {
        bail!(
            "bundle {} cannot be rebuilt byte for byte (its manifest comes out different from \
             the one exported); nothing was written. Report this",
            facts.sequence
        );
    }
    Ok(built)
}

/// `--again`: the bundles chosen, rebuilt and written again, the same
/// bytes. Refused (nothing written) for a bundle this laptop does not hold.
pub fn again(store: &Store, out: &Path, which: Again) -> Result<Exported> {
    let mut steps = Steps::from_env()?;
    check_folder(out)?;
    let held = store.bundles()?;
    let chosen: Vec<&BundleFacts> = match which {
        Again::All => held.iter().collect(),
        Again::Sequence(n) => match held.iter().find(|f| f.sequence == n) {
            Some(f) => vec![f],
            None => bail!("{}", not_held(store, n, &held)?),
        },
    };
    let mut done = Exported::default();
    clean(store, out, &mut done)?;
    let mut forms = Forms::default();
    for facts in chosen {
        let written = rebuild(store, facts, &held, &mut forms).and_then(|built| {
            write_recorded(store, out, facts, &built.zip, "written again", &mut steps)
        });
        match written {
            Ok(path) => {
                done.paths.push(path);
                if !facts.written {
                    done.rewritten += 1;
                }
            }
            Err(e) => {
                done.stopped = Some(e);
                break;
            }
        }
    }
    Ok(done)
}

/// Why `--again N` writes nothing.
fn not_held(store: &Store, n: u64, held: &[BundleFacts]) -> Result<String> {
    let (last, _) = store.chain_head()?;
    let why = if n <= last {
        format!(
            "bundle {n} is no longer on this laptop: a supervisor's receipt covered it and its \
             records were purged"
        )
    } else {
        format!("there is no bundle {n}: this laptop has exported {last} bundle(s)")
    };
    let waiting = if held.is_empty() {
        "No bundle is waiting for a receipt".to_string()
    } else {
        let numbers: Vec<String> = held.iter().map(|f| f.sequence.to_string()).collect();
        format!("Bundles waiting for a receipt: {}", numbers.join(", "))
    };
    Ok(format!("{why}. {waiting}. Nothing was written"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(sha: &str, len: usize) -> FormText {
        ("f".into(), "1".into(), sha.into(), vec![b'x'; len])
    }

    fn record(id: &str, len: usize) -> ManifestEntry {
        bundle::entry_of(id, "f", "1", "", &vec![0; len])
    }

    #[test]
    fn a_batch_stops_at_either_limit_and_counts_each_form_once() {
        let limits = Limits {
            records: 3,
            bytes: 10_000,
        };
        let a = form("a", 100);
        let mut batch = Batch::default();
        let first = batch.cost(500, &a);
        assert_eq!(first, 500 + 100 + 2 * ENTRY_OVERHEAD);
        assert!(batch.fits(first, limits));
        batch.add(record("1", 500), &a, first);
        let second = batch.cost(500, &a);
        assert_eq!(second, 500 + ENTRY_OVERHEAD, "the form is in already");
        batch.add(record("2", 500), &a, second);
        assert!(batch.fits(second, limits));
        batch.add(record("3", 500), &a, second);
        assert!(
            !batch.fits(second, limits),
            "a fourth record is one too many"
        );
        let mut batch = Batch::default();
        let big = batch.cost(20_000, &a);
        assert!(batch.fits(big, limits), "one record always fits alone");
        batch.add(record("1", 20_000), &a, big);
        assert!(!batch.fits(batch.cost(1, &a), limits), "over the bytes");
    }

    #[test]
    fn a_record_over_the_entry_cap_is_named() {
        let listing = Listing {
            id: "0190-rec".into(),
            state: State::Outbox,
            form_id: "f".into(),
            form_version: "1".into(),
            form_sha256: "a".into(),
            instance_name: String::new(),
            started: String::new(),
            updated: String::new(),
            finalized: None,
            bundle: None,
            entity: None,
            size: 0,
        };
        let f = form("a", 10);
        assert_eq!(
            too_large(&listing, archive::MAX_ENTRY_BYTES, Some(&f)),
            None
        );
        let why = too_large(&listing, archive::MAX_ENTRY_BYTES + 1, Some(&f)).unwrap();
        assert!(
            why.contains("record 0190-rec") && why.contains("stays in the outbox"),
            "{why}"
        );
        assert!(
            too_large(&listing, 10, None)
                .unwrap()
                .contains("no longer has its form")
        );
    }

    #[test]
    fn bundle_facts_of_older_stores_still_read() {
        let old = r#"{"sequence": 2, "bundle_id": "enum-03-000002-abc", "manifest_sha256": "ff",
            "file": "f.zip", "exported_at": "2026-11-22T09:00:00+07:00", "records": ["r"]}"#;
        let facts: BundleFacts = serde_json::from_str(old).unwrap();
        assert!(
            facts.written,
            "bundles were written before they were recorded"
        );
        assert_eq!(facts.prev_manifest_sha256, "");
    }
}
