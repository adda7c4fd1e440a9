//! The records' attachments, once every record is merged: each file a
//! record names (its `attachments`) is taken from the record's bundle
//! (`media/<record_id>/<name>.age`), decrypted, checked against the size
//! and SHA-256 the record gives, and written to
//! `<out>/media/<record_id>/<name>`, the relative path the tables hold.
//! An attachment missing from the bundle, or whose bytes are not the ones
//! the record names, is a named problem, never dropped in silence. Each
//! bundle holding wanted attachments is read once.

use std::collections::BTreeMap;
use std::path::Path;

use super::output::under;
use super::read::{changed, open_again};
use super::summary::Summary;
use super::{Good, WorkCount};
use crate::crypt;
use crate::record::AttachmentFacts;

/// A merged record's attachments: its bundle and what its body names.
pub(super) struct Wanted {
    pub(super) bundle: u32,
    pub(super) record_id: String,
    pub(super) files: Vec<AttachmentFacts>,
}

pub(super) fn write_media(
    out: &Path,
    good: &[Good],
    wanted: Vec<Wanted>,
    identities: &[crypt::X25519Identity],
    count: &WorkCount,
    summary: &mut Summary,
) -> Result<(), super::AggregateError> {
    let mut by_bundle: BTreeMap<u32, Vec<Wanted>> = BTreeMap::new();
    for w in wanted {
        by_bundle.entry(w.bundle).or_default().push(w);
    }
    for (bundle, records) in by_bundle {
        let this = &good[bundle as usize];
        let opened = open_again(this, count)?;
        for record in records {
            for file in &record.files {
                let problem = |why: String| {
                    format!(
                        "record {} (bundle {}): its attachment {}: {why}; left out",
                        record.record_id, this.bundle_id, file.name
                    )
                };
                let entry = opened
                    .manifest
                    .media
                    .iter()
                    .find(|m| m.record_id == record.record_id && m.name == file.name);
                let Some(entry) = entry else {
                    summary
                        .media_problems
                        .push(problem("the bundle does not carry it".into()));
                    continue;
                };
                let (data, plain) = opened.get(&entry.path).ok_or_else(|| changed(this))?;
                // A bundle read again must be the one verified; the
                // warehouse's files were checked when they were taken in.
                if !plain && crypt::sha256_hex(data) != entry.sha256 {
                    return Err(changed(this));
                }
                let plain = match opened
                    .plaintext(&entry.path, identities, count)
                    .ok_or_else(|| changed(this))?
                {
                    Ok(p) => p,
                    Err(e) => {
                        summary
                            .media_problems
                            .push(problem(format!("it does not decrypt ({e})")));
                        continue;
                    }
                };
                if plain.len() as u64 != file.size || crypt::sha256_hex(&plain) != file.sha256 {
                    summary.media_problems.push(problem(
                        "its bytes are not the ones the record names (size or SHA-256 differ)"
                            .into(),
                    ));
                    continue;
                }
                let dir = under(out, &["media", &record.record_id])?;
                let path = under(&dir, &[&file.name])?;
                std::fs::create_dir_all(&dir).map_err(|e| super::AggregateError::write(&dir, e))?;
                std::fs::write(&path, &plain[..])
                    .map_err(|e| super::AggregateError::write(&path, e))?;
                summary.media_files += 1;
            }
        }
    }
    Ok(())
}
