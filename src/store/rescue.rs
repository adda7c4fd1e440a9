//! Rescue: copy every record that can still be read out of a store that
//! will not open, without changing it. Two sources: sled opened on a
//! throw-away copy of the store (sled's recovery writes to its files, so
//! never on the original), and a raw scan of the original files for the
//! envelopes every draft and record is stored in. Drafts that decrypt are
//! written re-encrypted to the profile and the deployment's recipients;
//! finalized records are copied as they are (age files only the data
//! managers can read). Nothing is ever deleted.
//!
//! Attachments (files answered to file questions) follow their record
//! when sled opens the copy: a finalized record's are copied as they are,
//! a rescued draft's re-encrypted like the draft, to
//! `media/<record id>/<name>.age` (without the profile, their names are
//! sealed: a finalized record's are named by their tag). The raw scan does not rescue them
//! (their names are in the store's keys, not in what it finds).
//!
//! Finalized records need no profile: when the profile cannot be unlocked
//! (its secrets file damaged or missing, the passphrase lost), the outbox
//! and sent records are still copied and the drafts are counted, not
//! copied (only the profile can read them).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::backend::{Backend, SledBackend, Tree};
use super::envelope;
use super::profile::STORE_COPY;
use super::profile::{Home, Profile, Sealed};
use super::{Draft, display_key};
use crate::crypt;

#[derive(Debug, Clone, Serialize)]
pub struct Rescued {
    pub id: String,
    /// "draft", "outbox" or "sent".
    pub state: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub form_id: String,
    pub file: String,
    /// "store" (sled could read it) or "scan" (found in the raw files).
    pub found_by: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RescueReport {
    pub store: String,
    /// Whether sled could open (a copy of) the store.
    pub opened: bool,
    pub open_error: Option<String>,
    pub drafts: usize,
    pub outbox: usize,
    pub sent: usize,
    /// Draft versions found that no longer decrypt (torn or damaged).
    pub unreadable: usize,
    /// Why the profile was not used (drafts then stay in the store).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub without_profile: Option<String>,
    /// Drafts found but not copied: they need the profile.
    pub drafts_left: usize,
    pub records: Vec<Rescued>,
    /// The attachments copied with their records (files under `media/`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
}

struct Candidate {
    kind: u8,
    number: u64,
    state: &'static str,
    payload: Vec<u8>,
    from_store: bool,
}

/// Rescues the store of `home` into `out` (created; must be empty). With
/// `profile` an `Err` (why it cannot be used), only finalized records are
/// copied.
pub fn rescue(
    home: &Home,
    profile: Result<&Profile, String>,
    out: &Path,
) -> Result<RescueReport, String> {
    if out.exists()
        && fs::read_dir(out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(format!(
            "{} is not empty; give a new or empty folder for the rescued records",
            out.display()
        ));
    }
    let store = home.store_path();
    // A compaction a crash stopped may have left the store beside its
    // folder; what settling it said is the answer when there is none.
    let settled = super::compact::settle(&store);
    if !store.is_dir() {
        return Err(match settled {
            Err(e) => e.to_string(),
            Ok(()) => format!("there is no store in {}", store.display()),
        });
    }
    fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;

    let mut found: BTreeMap<[u8; 16], Vec<Candidate>> = BTreeMap::new();
    // 1. sled, on a copy in the laptop's temp folder (best effort: a file
    //    that cannot be read is left out of the copy, not fatal).
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let copy = std::env::temp_dir().join(format!("fieldkit-rescue-{}-{stamp}", std::process::id()));
    let mut open_error = None;
    let mut store_copy = None;
    // (record id, name, envelope kind, payload) of every attachment.
    let mut attached: Vec<([u8; 16], String, u8, Vec<u8>)> = Vec::new();
    copy_dir(&store, &copy);
    match SledBackend::open(&copy) {
        Ok(db) => {
            store_copy = db.get(Tree::Meta, STORE_COPY).ok().flatten();
            for (tree, state) in [
                (Tree::Drafts, "draft"),
                (Tree::Outbox, "outbox"),
                (Tree::Sent, "sent"),
            ] {
                let _ = db.visit(tree, &mut |k, v| {
                    // An exported record stays where it was finalized; its
                    // state says it was sent.
                    let sent = tree == Tree::Outbox
                        && db.get(Tree::States, k).ok().flatten().as_deref() == Some(b"s");
                    add(&mut found, v, if sent { "sent" } else { state }, true);
                    true
                });
            }
            // Chunks come in key order: each attachment's one after
            // another. Their names are in the sealed index entries (with
            // no profile, a finalized record's attachment is named by its
            // tag).
            let mut parts: Vec<([u8; 16], [u8; 16], Vec<u8>)> = Vec::new();
            let mut names: BTreeMap<([u8; 16], [u8; 16]), String> = BTreeMap::new();
            let _ = db.visit(Tree::Attachments, &mut |k, v| {
                if let Some((id, tag)) = super::attachments::chunk_of(k) {
                    match parts.last_mut() {
                        Some((i, t, bytes)) if *i == id && *t == tag => bytes.extend_from_slice(v),
                        _ => parts.push((id, tag, v.to_vec())),
                    }
                } else if let (Some(at), Ok(p)) = (super::attachments::index_of(k), &profile)
                    && let Ok(entry) = super::unseal::<super::attachments::Indexed>(
                        &p.seal_key,
                        Tree::Attachments,
                        k,
                        v,
                    )
                {
                    names.insert(at, entry.name);
                }
                true
            });
            for (id, tag, value) in parts {
                let name = names
                    .get(&(id, tag))
                    .cloned()
                    .unwrap_or_else(|| crypt::to_hex(&tag));
                if let Some((kind, _, _, payload)) = envelope::unwrap(&value)
                    && crate::form::media::is_attachment_name(&name)
                {
                    attached.push((id, name, kind, payload.to_vec()));
                }
            }
        }
        Err(e) => open_error = Some(e.to_string()),
    }
    let _ = fs::remove_dir_all(&copy);
    // 2. When sled cannot open it: a raw scan of the original files. It
    //    may find drafts deleted or finalized since (sled's log keeps old
    //    versions until it compacts), so it is not used when sled opens:
    //    a draft deleted because the person withdrew must stay deleted.
    let scan = if open_error.is_some() {
        files_under(&store)
    } else {
        Vec::new()
    };
    for file in scan {
        if let Ok(bytes) = fs::read(&file) {
            let mut at = 0;
            while let Some(i) = find(&bytes[at..], envelope::MAGIC) {
                let start = at + i;
                let state = "scan";
                add(&mut found, &bytes[start..], state, false);
                at = start + 1;
            }
        }
    }

    let mut report = RescueReport {
        store: store.display().to_string(),
        opened: open_error.is_none(),
        open_error,
        drafts: 0,
        outbox: 0,
        sent: 0,
        unreadable: 0,
        without_profile: profile.as_ref().err().cloned(),
        drafts_left: 0,
        records: Vec::new(),
        attachments: Vec::new(),
    };
    let recipients = match profile {
        Ok(p) => {
            let mut all = vec![p.identity.to_public()];
            all.extend(draft_recipients(p, store_copy.as_deref()));
            all
        }
        Err(_) => Vec::new(),
    };
    for (id, mut candidates) in found {
        let id = display_key(&id);
        // Newest first; a finalized record supersedes any draft of it.
        candidates.sort_by_key(|c| std::cmp::Reverse((c.from_store, c.number)));
        let record = candidates.iter().find(|c| {
            c.kind == envelope::RECORD && age::Decryptor::new_buffered(c.payload.as_slice()).is_ok()
        });
        if let Some(c) = record {
            let state = if c.state == "sent" { "sent" } else { "outbox" };
            let file = format!("{state}/{id}.age");
            write(out, &file, &c.payload)?;
            if state == "sent" {
                report.sent += 1;
            } else {
                report.outbox += 1;
            }
            report.records.push(Rescued {
                id,
                state: state.into(),
                form_id: String::new(),
                file,
                found_by: if c.from_store { "store" } else { "scan" }.into(),
            });
            continue;
        }
        let Ok(profile) = profile else {
            if candidates.iter().any(|c| c.kind == envelope::DRAFT) {
                report.drafts_left += 1;
            }
            continue;
        };
        let mut rescued = None;
        for c in candidates.iter().filter(|c| c.kind == envelope::DRAFT) {
            let draft = crypt::decrypt_with(&profile.identity, &c.payload)
                .ok()
                .and_then(|plain| serde_json::from_slice::<Draft>(&plain).ok());
            match draft {
                Some(d) => {
                    rescued = Some((d, c.from_store));
                    break;
                }
                None => report.unreadable += 1,
            }
        }
        if let Some((draft, from_store)) = rescued {
            let plain = crypt::secret_json(&draft);
            let ct = crypt::encrypt_to(&recipients, &plain).map_err(|e| e.to_string())?;
            let file = format!("drafts/{id}.age");
            write(out, &file, &ct)?;
            report.drafts += 1;
            report.records.push(Rescued {
                id,
                state: "draft".into(),
                form_id: draft.form_id.clone(),
                file,
                found_by: if from_store { "store" } else { "scan" }.into(),
            });
        }
    }
    for (id, name, kind, payload) in attached {
        let id = display_key(&id);
        let Some(r) = report.records.iter().find(|r| r.id == id) else {
            continue;
        };
        let bytes = match (kind, r.state.as_str(), &profile) {
            (super::attachments::RECORD_ATTACHMENT, "outbox" | "sent", _) => payload,
            (super::attachments::DRAFT_ATTACHMENT, "draft", Ok(p)) => {
                let Ok(plain) = crypt::decrypt_with(&p.identity, &payload) else {
                    continue;
                };
                crypt::encrypt_to(&recipients, &plain).map_err(|e| e.to_string())?
            }
            _ => continue,
        };
        let file = format!("media/{id}/{name}.age");
        write(out, &file, &bytes)?;
        report.attachments.push(file);
    }
    let json = serde_json::to_string_pretty(&report).unwrap_or_default();
    write(out, "rescue.json", json.as_bytes())?;
    Ok(report)
}

/// Who rescued drafts are encrypted to besides the profile: its sealed
/// recipients, or for a profile of an earlier fieldkit not sealed yet, the
/// store's own copy of them when it has one (`recipients.txt` is not
/// trusted for that when the store says otherwise).
fn draft_recipients(profile: &Profile, store_copy: Option<&[u8]>) -> Vec<age::x25519::Recipient> {
    if profile.is_unsealed() {
        let stored = store_copy
            .and_then(|v| {
                super::unseal::<Sealed>(&profile.seal_key, Tree::Meta, STORE_COPY, v).ok()
            })
            .and_then(|facts| crypt::parse_recipients(&facts.recipients).ok());
        if let Some(keys) = stored {
            return keys;
        }
    }
    profile.recipients.clone()
}

fn add(
    found: &mut BTreeMap<[u8; 16], Vec<Candidate>>,
    bytes: &[u8],
    state: &'static str,
    from_store: bool,
) {
    if let Some((kind, id, number, payload)) = envelope::unwrap(bytes) {
        if kind != envelope::DRAFT && kind != envelope::RECORD {
            return;
        }
        let list = found.entry(id).or_default();
        if list.iter().any(|c| {
            c.number == number
                && c.kind == kind
                && c.payload == payload
                && c.from_store >= from_store
        }) {
            return;
        }
        list.push(Candidate {
            kind,
            number,
            state,
            payload: payload.to_vec(),
            from_store,
        });
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = fs::read_dir(&d) {
            for e in rd.flatten() {
                let p = e.path();
                match e.file_type() {
                    Ok(t) if t.is_dir() => stack.push(p),
                    Ok(t) if t.is_file() => out.push(p),
                    _ => {}
                }
            }
        }
    }
    out.sort();
    out
}

/// Copies what can be read; unreadable files are left out.
fn copy_dir(from: &Path, to: &Path) {
    if fs::create_dir_all(to).is_err() {
        return;
    }
    let Ok(entries) = fs::read_dir(from) else {
        return;
    };
    for e in entries.flatten() {
        let target = to.join(e.file_name());
        match e.file_type() {
            Ok(t) if t.is_dir() => copy_dir(&e.path(), &target),
            Ok(t) if t.is_file() => {
                let _ = fs::copy(e.path(), target);
            }
            _ => {}
        }
    }
}

fn write(out: &Path, rel: &str, bytes: &[u8]) -> Result<(), String> {
    let path = out.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let mut f =
        fs::File::create(&path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    std::io::Write::write_all(&mut f, bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
