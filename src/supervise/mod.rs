//! What a supervisor reviews (`fieldkit review`), without a terminal:
//! the bundles given, each verified exactly as `verify` and `receipt` do
//! (one that fails is named with its problems and never reviewed), every
//! record's review view (`review/<id>.age`) decrypted with the
//! supervisor's OpenSSH key and checked to name its manifest entry's
//! record and version, and the forms the bundles carry, loaded for the
//! questions' labels. Verifying is shared out over the bundles, and
//! decrypting over the records, on every core. `verdicts` holds what the
//! supervisor decides and turns it into signed receipts; the screen is
//! `tui::supervisor`. Nothing here reads a record file (`records/`): those
//! are for the data managers.

pub mod key;
pub mod labels;
pub mod verdicts;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::bundle::archive;
use crate::bundle::signers::AllowedSigners;
use crate::bundle::verify;
use crate::bundle::{Manifest, sha256_hex};
use crate::form::Form;
use crate::record::ReviewView;

/// A bundle that verified.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub file: String,
    pub bundle_id: String,
    pub enumerator_id: String,
    pub device_id: String,
    pub sequence: u64,
    pub manifest_sha256: String,
    pub records: usize,
}

/// A bundle given that is not reviewed, and why.
#[derive(Debug, Clone)]
pub struct Failed {
    pub file: String,
    pub problems: Vec<String>,
}

/// What the supervisor can see of a record.
#[derive(Debug, Clone)]
pub enum Seen {
    /// Its review view, decrypted and checked.
    View(Box<ReviewView>),
    /// The laptop had no supervisor key to encrypt one to.
    NoView,
    /// It has one that cannot be shown, and why.
    Problem(String),
}

/// One record of a bundle that verified, as its manifest entry names it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Index into [`Opened::bundles`].
    pub bundle: usize,
    pub record_id: String,
    pub version: u32,
    pub supersedes: Option<u32>,
    pub form_id: String,
    pub form_version: String,
    pub finalized_at: String,
    /// Index into [`Opened::forms`], when the carried form loaded.
    pub form: Option<usize>,
    pub seen: Seen,
}

impl Entry {
    pub fn view(&self) -> Option<&ReviewView> {
        match &self.seen {
            Seen::View(v) => Some(v),
            _ => None,
        }
    }

    /// The engine's checks the review view names.
    pub fn checks(&self) -> usize {
        self.view().map_or(0, |v| v.checks.len())
    }
}

/// The bundles opened for review.
#[derive(Debug, Default)]
pub struct Opened {
    pub bundles: Vec<Bundle>,
    pub failed: Vec<Failed>,
    /// Every record of the bundles that verified, bundle by bundle in
    /// manifest order.
    pub entries: Vec<Entry>,
    /// The forms carried, loaded once per (form_id, version, text).
    pub forms: Vec<Arc<Form>>,
}

/// A bundle file as read: its name and bytes.
pub struct Given {
    pub file: String,
    pub bytes: Vec<u8>,
}

/// Where carried forms look for their CSVs (choices from a file).
#[derive(Debug, Clone, Default)]
pub struct FormsAt {
    pub dir: Option<PathBuf>,
}

/// One bundle verified, with what reviewing it needs from its archive.
struct Checked {
    bundle: Bundle,
    manifest: Manifest,
    /// (form_id, version, sha256, text) of each form it carries.
    forms: Vec<(String, String, String, Vec<u8>)>,
    /// Each manifest entry's review view ciphertext: Ok(None) when it has
    /// none, Err when the file is not as the manifest says.
    reviews: Vec<Result<Option<Vec<u8>>, String>>,
}

/// Verifies the bundles, decrypts their review views with `identity`
/// (the supervisor's key: [`key::SupervisorIdentity`], or age's own)
/// and loads the forms they carry. A bundle that does not verify, or
/// that repeats a bundle already given, is in `failed`.
pub fn open<I: age::Identity + Sync>(
    given: Vec<Given>,
    signers: &AllowedSigners,
    identity: &I,
    forms_at: &FormsAt,
) -> Opened {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let checked = in_parallel(given.len(), threads, |i| check_bundle(&given[i], signers));
    drop(given);
    let mut opened = Opened::default();
    let mut cipher: Vec<Option<Vec<u8>>> = Vec::new();
    let mut form_at: HashMap<(String, String, String), Option<usize>> = HashMap::new();
    let mut seen_bundles = std::collections::HashSet::new();
    for result in checked {
        let checked = match result {
            Ok(c) => c,
            Err(failed) => {
                opened.failed.push(failed);
                continue;
            }
        };
        if !seen_bundles.insert(checked.bundle.bundle_id.clone()) {
            opened.failed.push(Failed {
                file: checked.bundle.file.clone(),
                problems: vec![format!(
                    "bundle {} was given twice; it is reviewed once",
                    checked.bundle.bundle_id
                )],
            });
            continue;
        }
        let at = opened.bundles.len();
        let mut loaded: HashMap<(String, String), Option<usize>> = HashMap::new();
        for (form_id, version, sha, text) in &checked.forms {
            let key = (form_id.clone(), version.clone(), sha.clone());
            let index = *form_at.entry(key).or_insert_with(|| {
                let form = labels::load_carried(text, form_id, version, forms_at)?;
                opened.forms.push(Arc::new(form));
                Some(opened.forms.len() - 1)
            });
            loaded.insert((form_id.clone(), version.clone()), index);
        }
        for (e, review) in checked.manifest.entries.into_iter().zip(checked.reviews) {
            let (seen, bytes) = match review {
                Ok(Some(bytes)) => (Seen::NoView, Some(bytes)),
                Ok(None) => (Seen::NoView, None),
                Err(why) => (Seen::Problem(why), None),
            };
            cipher.push(bytes);
            opened.entries.push(Entry {
                bundle: at,
                form: loaded
                    .get(&(e.form_id.clone(), e.form_version.clone()))
                    .copied()
                    .flatten(),
                record_id: e.record_id,
                version: e.version,
                supersedes: e.supersedes,
                form_id: e.form_id,
                form_version: e.form_version,
                finalized_at: e.finalized_at,
                seen,
            });
        }
        opened.bundles.push(checked.bundle);
    }
    let seen = in_parallel(cipher.len(), threads, |i| {
        cipher[i]
            .as_deref()
            .map(|c| read_view(c, identity, &opened.entries[i]))
    });
    for (entry, seen) in opened.entries.iter_mut().zip(seen) {
        if let Some(seen) = seen {
            entry.seen = seen;
        }
    }
    opened
}

/// `work(0..n)` on up to `threads` threads, the results in order. Each
/// thread takes the next index as it finishes one, so a slow item does
/// not hold back the rest.
fn in_parallel<T: Send>(n: usize, threads: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = threads.clamp(1, n.max(1));
    if threads == 1 {
        return (0..n).map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let mut parts: Vec<Vec<(usize, T)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        done.push((i, work(i)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut all: Vec<(usize, T)> = parts.iter_mut().flat_map(std::mem::take).collect();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, t)| t).collect()
}

/// Verifies one bundle as `verify` does, then takes its forms and review
/// views from the archive.
fn check_bundle(given: &Given, signers: &AllowedSigners) -> Result<Checked, Failed> {
    let failed = |problems: Vec<String>| Failed {
        file: given.file.clone(),
        problems,
    };
    let report = verify::verify(&given.file, &given.bytes, signers);
    let (true, Some(manifest)) = (report.ok, report.manifest) else {
        return Err(failed(report.problems));
    };
    // The archive was read strictly by `verify`: read it again for the
    // files it holds, without copying them.
    let files = archive::read_verified(&given.bytes).map_err(|e| failed(vec![e.to_string()]))?;
    let by_name: HashMap<&str, &[u8]> = files.iter().map(|f| (f.name.as_str(), f.data)).collect();
    let forms = manifest
        .forms
        .iter()
        .filter_map(|f| {
            let text = by_name.get(crate::bundle::form_path(&f.form_id, &f.version).as_str())?;
            Some((
                f.form_id.clone(),
                f.version.clone(),
                f.sha256.clone(),
                text.to_vec(),
            ))
        })
        .collect();
    let reviews = manifest
        .entries
        .iter()
        .map(|e| {
            let Some(file) = &e.review else {
                return Ok(None);
            };
            if file.path != crate::bundle::review_path(&e.record_id) {
                return Err(format!(
                    "its review view is named {:?}, not by its record id",
                    file.path
                ));
            }
            match by_name.get(file.path.as_str()) {
                None => Err(format!("its review view {} is missing", file.path)),
                Some(data) if data.len() as u64 != file.size || sha256_hex(data) != file.sha256 => {
                    Err(format!("its review view {} was changed", file.path))
                }
                Some(data) => Ok(Some(data.to_vec())),
            }
        })
        .collect();
    Ok(Checked {
        bundle: Bundle {
            file: given.file.clone(),
            bundle_id: manifest.bundle_id.clone(),
            enumerator_id: manifest.enumerator_id.clone(),
            device_id: manifest.device_id.clone(),
            sequence: manifest.sequence,
            manifest_sha256: report.manifest_sha256.unwrap_or_default(),
            records: manifest.entries.len(),
        },
        manifest,
        forms,
        reviews,
    })
}

/// The largest review view read: a record's marked answers and checks.
const MAX_VIEW_BYTES: usize = 4 * 1024 * 1024;

/// Decrypts and checks one review view against its manifest entry.
fn read_view<I: age::Identity>(cipher: &[u8], identity: &I, entry: &Entry) -> Seen {
    if cipher.len() > MAX_VIEW_BYTES {
        return Seen::Problem(format!(
            "its review view is {} bytes, over the cap of {MAX_VIEW_BYTES}",
            cipher.len()
        ));
    }
    let plain = match crate::crypt::decrypt_with_any(std::slice::from_ref(identity), cipher) {
        Ok(p) => zeroize::Zeroizing::new(p),
        Err(crate::crypt::CryptError::NotForTheseKeys) => {
            return Seen::Problem(
                "its review view is not encrypted to this supervisor key (give the key whose \
                 public half is in the laptop's keys/supervisors)"
                    .into(),
            );
        }
        Err(e) => return Seen::Problem(format!("its review view cannot be decrypted: {e}")),
    };
    let view: ReviewView = match serde_json::from_slice(&plain) {
        Ok(v) => v,
        Err(e) => return Seen::Problem(format!("its review view is not one ({e})")),
    };
    if view.format != crate::record::REVIEW_FORMAT {
        return Seen::Problem(format!(
            "its review view is of format {:?}, not {:?}",
            view.format,
            crate::record::REVIEW_FORMAT
        ));
    }
    if view.record_id != entry.record_id || view.version != entry.version {
        return Seen::Problem(format!(
            "its review view names record {} version {}, not the manifest's {} version {}",
            view.record_id, view.version, entry.record_id, entry.version
        ));
    }
    if view.form_id != entry.form_id || view.form_version != entry.form_version {
        return Seen::Problem(format!(
            "its review view names form {} {}, not the manifest's {} {}",
            view.form_id, view.form_version, entry.form_id, entry.form_version
        ));
    }
    Seen::View(Box::new(view))
}

#[cfg(test)]
mod tests;
