//! Verifying bundles, as a supervisor does: the archive (strictly read,
//! see `archive`), the manifest, the signature and its signer, every
//! entry's hash and size, the age header of every record and attachment
//! (capped before age parses it), every attachment's record, and, across the bundles given, each device's sequence
//! and hash chain: gaps, forks and replays, named. Returns reports; the
//! command prints them and picks the exit code.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use ssh_key::PublicKey;

use super::archive::{self, Entry};
use super::signers::{self, AllowedSigners, Refusal};
use super::{
    FORMAT, FORMAT_V2, FormRef, MANIFEST, Manifest, NAMESPACE, NO_PREVIOUS, SIGNATURE, form_path,
    media_path, record_path, review_path, sha256_hex,
};

/// An age header longer than this is refused before age reads it (age's
/// header parser slows down with the square of its size).
pub const MAX_AGE_HEADER: usize = 16 * 1024;
/// A record is encrypted to a few data managers: more stanzas than this
/// are refused.
pub const MAX_AGE_STANZAS: usize = 64;

/// What was found in one bundle.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub file: String,
    pub ok: bool,
    pub problems: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enumerator_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev_manifest_sha256: Option<String>,
    pub records: usize,
    #[serde(skip)]
    pub manifest: Option<Manifest>,
}

impl Report {
    /// The report of a file not read at all, and why.
    pub fn refused(file: &str, why: &str) -> Self {
        let mut report = Report::new(file);
        report.problems.push(why.into());
        report
    }

    /// An empty report of `file`, not yet ok.
    pub fn new(file: &str) -> Self {
        Report {
            file: file.into(),
            ok: false,
            problems: Vec::new(),
            bundle_id: None,
            enumerator_id: None,
            device_id: None,
            sequence: None,
            manifest_sha256: None,
            prev_manifest_sha256: None,
            records: 0,
            manifest: None,
        }
    }
}

/// Checks an age file's header without decrypting it: size and stanza
/// caps first, then its shape line by line (the intro, `-> ` stanzas with
/// base64 bodies, the `--- ` MAC line), as age's format defines it. Age's
/// own parser is left for decryption, which only the data managers do.
pub fn check_age_header(data: &[u8]) -> Result<(), String> {
    let head = &data[..data.len().min(MAX_AGE_HEADER + 1)];
    if !head.starts_with(b"age-encryption.org/v1\n") {
        return Err("not an age file".into());
    }
    let end = head
        .windows(4)
        .position(|w| w == b"\n---")
        .ok_or_else(|| format!("its age header is longer than {MAX_AGE_HEADER} bytes"))?;
    let stanzas = head[..end].windows(4).filter(|w| w == b"\n-> ").count();
    if stanzas > MAX_AGE_STANZAS {
        return Err(format!(
            "its age header has {stanzas} stanzas (at most {MAX_AGE_STANZAS})"
        ));
    }
    let bad = || "unreadable age header".to_string();
    let b64 = |s: &[u8]| {
        s.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
    };
    // Stanzas: "-> args" then body lines of 64 base64 characters ending
    // with a shorter one, possibly empty (age adds random "grease" stanzas
    // whose bodies can be any length).
    if stanzas == 0 || end < 22 {
        return Err(bad());
    }
    let body = &head[22..end];
    let mut lines = body.split(|&c| c == b'\n').peekable();
    while let Some(line) = lines.next() {
        let args = line.strip_prefix(b"-> ").ok_or_else(bad)?;
        if args.is_empty() || args.split(|&c| c == b' ').any(|a| a.is_empty()) {
            return Err(bad());
        }
        // Body lines: full lines of 64 base64 characters, then a shorter one.
        loop {
            let body = lines.next().ok_or_else(bad)?;
            if body.len() > 64 || !b64(body) {
                return Err(bad());
            }
            if body.len() < 64 {
                break;
            }
        }
        if lines.peek().is_none() {
            break;
        }
    }
    let mac = &data[end + 1..];
    let mac_line = mac.split(|&c| c == b'\n').next().ok_or_else(bad)?;
    let mac = mac_line.strip_prefix(b"--- ").ok_or_else(bad)?;
    if mac.len() != 43 || !b64(mac) {
        return Err(bad());
    }
    Ok(())
}

/// Whether `id` is a UUID written the one way fieldkit writes it:
/// lowercase and hyphenated, 8-4-4-4-12. Braces, `urn:uuid:`, capitals or
/// no hyphens are other spellings of the same id, so they are refused.
pub fn canonical_uuid(id: &str) -> bool {
    // Written into a stack buffer: this runs for every entry of a bundle.
    let mut buf = uuid::Uuid::encode_buffer();
    uuid::Uuid::parse_str(id).is_ok_and(|u| u.hyphenated().encode_lower(&mut buf) == id)
}

pub use crate::form::load::{MAX_NAME_BYTES, unsafe_component};

/// Every name of a signed manifest that anything downstream turns into a
/// path or a table, checked to a strict pattern: a bundle with one bad
/// name fails verification, so nothing later ever sees it.
fn check_names(m: &Manifest, problems: &mut Vec<String>) {
    let mut bad = |what: &str, value: &str, rule: &str| {
        problems.push(format!("malformed manifest: {what} {value:?} {rule}"));
    };
    if !super::is_enumerator_id(&m.enumerator_id) {
        bad(
            "enumerator_id",
            &m.enumerator_id,
            "is not an enumerator id (1 to 64 letters, digits, '.', '_', '-' or '@')",
        );
    }
    if !canonical_uuid(&m.device_id) {
        bad(
            "device_id",
            &m.device_id,
            "is not a device id (a lowercase hyphenated UUID)",
        );
    }
    let hex64 =
        |s: &str| s.len() == 64 && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
    if !hex64(&m.prev_manifest_sha256) {
        bad(
            "prev_manifest_sha256",
            &m.prev_manifest_sha256,
            "is not a SHA-256 in lowercase hex",
        );
    }
    let derived = super::bundle_id(
        &m.enumerator_id,
        &m.device_id,
        m.sequence,
        &m.prev_manifest_sha256,
        &m.entries,
    );
    if m.bundle_id != derived {
        bad(
            "bundle_id",
            &m.bundle_id,
            &format!("is not this bundle's id (fieldkit names it {derived})"),
        );
    }
    for f in &m.forms {
        if !crate::form::load::valid_name(&f.form_id)
            || unsafe_component(&f.form_id, MAX_NAME_BYTES).is_some()
        {
            bad(
                "form_id",
                &f.form_id,
                "is not a form id (a letter, then letters, digits, '_', '-' or '.'; at most 64 bytes)",
            );
        }
        if let Some(why) = unsafe_component(&f.version, MAX_NAME_BYTES) {
            bad(
                "form version",
                &f.version,
                &format!("{why} (a version is one file name of at most 64 bytes)"),
            );
        }
    }
    let carried: HashSet<(&str, &str)> = m
        .forms
        .iter()
        .map(|f| (f.form_id.as_str(), f.version.as_str()))
        .collect();
    for e in &m.entries {
        if !canonical_uuid(&e.record_id) {
            bad(
                "record id",
                &e.record_id,
                "is not written as fieldkit writes ids (a lowercase hyphenated UUID)",
            );
        }
        let sound = match (e.version, e.supersedes) {
            (0, _) => false,
            (1, None) => true,
            (v, Some(s)) => v > 1 && s == v - 1,
            (_, None) => false,
        };
        if !sound {
            bad(
                "entry",
                &e.path,
                &format!(
                    "says version {} superseding {:?}: a record's first version is 1, and a \
                     correction supersedes the version before it",
                    e.version, e.supersedes
                ),
            );
        }
        if !carried.contains(&(e.form_id.as_str(), e.form_version.as_str())) {
            bad(
                "entry",
                &e.path,
                &format!(
                    "names the form {:?} {:?}, which the bundle does not carry",
                    e.form_id, e.form_version
                ),
            );
        }
    }
}

/// Verifies one bundle's bytes against the signers file.
pub fn verify(file: &str, bytes: &[u8], signers: &AllowedSigners) -> Report {
    verify_counted(file, bytes, signers).0
}

/// A bundle verified for reading (aggregate): the report, and when it
/// verified, the text of every form it carries as its manifest names it
/// and where each manifest entry's file lies in the bundle's bytes, in
/// manifest order; all from the same read of the archive (a second read
/// of a large bundle costs as much as the first).
pub struct ForReading<'a> {
    pub report: Report,
    pub forms: Vec<(FormRef, &'a [u8])>,
    pub records: Vec<std::ops::Range<usize>>,
}

/// [`verify`], with what reading the bundle's records needs (nothing but
/// the report when it fails).
pub fn verify_for_reading<'a>(
    file: &str,
    bytes: &'a [u8],
    signers: &AllowedSigners,
) -> ForReading<'a> {
    let (report, _, entries) = verify_entries(file, bytes, signers);
    let mut forms = Vec::new();
    let mut records = Vec::new();
    if let Some(manifest) = report.manifest.as_ref().filter(|_| report.ok) {
        let by_name: HashMap<&str, &'a [u8]> =
            entries.iter().map(|e| (e.name.as_str(), e.data)).collect();
        for f in &manifest.forms {
            if let Some(data) = by_name.get(form_path(&f.form_id, &f.version).as_str()) {
                forms.push((f.clone(), *data));
            }
        }
        // Every entry was found by `verify`: an offset into `bytes`.
        let base = bytes.as_ptr() as usize;
        records = manifest
            .entries
            .iter()
            .filter_map(|e| by_name.get(e.path.as_str()))
            .map(|data| {
                let start = data.as_ptr() as usize - base;
                start..start + data.len()
            })
            .collect();
    }
    ForReading {
        report,
        forms,
        records,
    }
}

/// [`verify`], and how many entry names it compared to find entries: a
/// test checks it stays linear in the number of entries.
pub(crate) fn verify_counted(
    file: &str,
    bytes: &[u8],
    signers: &AllowedSigners,
) -> (Report, usize) {
    let (report, compared, _) = verify_entries(file, bytes, signers);
    (report, compared)
}

/// The report, the names compared, and the archive's entries (none when
/// the archive cannot be read).
fn verify_entries<'a>(
    file: &str,
    bytes: &'a [u8],
    signers: &AllowedSigners,
) -> (Report, usize, Vec<Entry<'a>>) {
    let mut report = Report::new(file);
    let entries = match archive::read(bytes) {
        Ok(e) => e,
        Err(problem) => {
            report.problems.push(problem.to_string());
            return (report, 0, Vec::new());
        }
    };
    let index = Index::new(&entries);
    check_entries(&index, signers, &mut report);
    report.ok = report.problems.is_empty();
    let compared = index.compared.get();
    drop(index);
    (report, compared, entries)
}

/// The archive's entries by name, each found in one step (a search along
/// the entries for each manifest entry took 110 s for 65,000 entries).
struct Index<'e, 'a> {
    entries: &'e [Entry<'a>],
    by_name: HashMap<&'e str, &'e Entry<'a>>,
    /// Names compared so far, for the test that keeps this linear.
    compared: Cell<usize>,
}

impl<'e, 'a> Index<'e, 'a> {
    fn new(entries: &'e [Entry<'a>]) -> Self {
        Index {
            entries,
            by_name: entries.iter().map(|e| (e.name.as_str(), e)).collect(),
            compared: Cell::new(0),
        }
    }

    fn find(&self, name: &str) -> Option<&'e Entry<'a>> {
        self.compared.set(self.compared.get() + 1);
        self.by_name.get(name).copied()
    }
}

fn check_entries(index: &Index, signers: &AllowedSigners, report: &mut Report) {
    let find = |name: &str| index.find(name);
    let Some(manifest_entry) = find(MANIFEST) else {
        report.problems.push("no manifest.json".into());
        return;
    };
    // A manifest lists one entry a file besides itself and its signature:
    // a longer one is refused before it is parsed, so what it costs is
    // bounded by the archive, not by what the manifest claims.
    let most = (index.entries.len().saturating_sub(2) + 1) * MANIFEST_BYTES_PER_ENTRY;
    if manifest_entry.data.len() > most {
        report.problems.push(format!(
            "malformed manifest: {} bytes for an archive of {} files (at most {most})",
            manifest_entry.data.len(),
            index.entries.len()
        ));
        return;
    }
    let manifest: Manifest = match serde_json::from_slice(manifest_entry.data) {
        Ok(m) => m,
        Err(e) => {
            report.problems.push(format!("malformed manifest ({e})"));
            return;
        }
    };
    report.bundle_id = Some(manifest.bundle_id.clone());
    report.enumerator_id = Some(manifest.enumerator_id.clone());
    report.device_id = Some(manifest.device_id.clone());
    report.sequence = Some(manifest.sequence);
    report.manifest_sha256 = Some(sha256_hex(manifest_entry.data));
    report.prev_manifest_sha256 = Some(manifest.prev_manifest_sha256.clone());
    report.records = manifest.entries.len();
    if manifest.format != FORMAT && manifest.format != FORMAT_V2 {
        report.problems.push(format!(
            "malformed manifest: format '{}', not '{FORMAT}' or '{FORMAT_V2}' (a later fieldkit \
             made it? upgrade fieldkit on this computer)",
            manifest.format
        ));
    }
    check_names(&manifest, &mut report.problems);

    // The signature, and whether its signer may sign for this enumerator.
    match (PublicKey::from_openssh(&manifest.signer), find(SIGNATURE)) {
        (Err(_), _) => report
            .problems
            .push("malformed manifest: the signer is not an OpenSSH public key".into()),
        (_, None) => report
            .problems
            .push("no manifest.sig: the bundle is not signed".into()),
        (Ok(key), Some(sig)) => {
            if let Err(e) = signers::check(&key, NAMESPACE, manifest_entry.data, sig.data) {
                report.problems.push(e.to_string());
            } else {
                match signers.check_signer(Some(&manifest.enumerator_id), &key, NAMESPACE) {
                    Ok(_) => {}
                    Err(Refusal::NotListed) => report.problems.push(format!(
                        "unknown signer: {0}'s key is not in the signers file for '{0}' (add the \
                         line that 'fieldkit status' prints on {0}'s laptop to \
                         keys/allowed_signers, or give another file with --signers)",
                        manifest.enumerator_id
                    )),
                    Err(why) => report.problems.push(format!(
                        "signer not valid now: {}: {why}",
                        manifest.enumerator_id
                    )),
                }
            }
        }
    }

    // Every listed entry present, once, with its hash and size. Names
    // first, in order; then the files' bytes, on every core.
    let mut listed = HashSet::new();
    let mut files: Vec<(Facts, &Entry)> = Vec::with_capacity(manifest.entries.len());
    for e in &manifest.entries {
        if !listed.insert(e.path.clone()) {
            report.problems.push(format!("duplicated entry {}", e.path));
            continue;
        }
        if e.path != record_path(&e.record_id) {
            report.problems.push(format!(
                "malformed manifest: entry {} is not named by its record id",
                e.path
            ));
        }
        match find(&e.path) {
            None => report.problems.push(format!("missing entry {}", e.path)),
            Some(file) => files.push(((&e.path, e.size, &e.sha256), file)),
        }
        // Its review view, when it names one: named by the record, once.
        let Some(r) = &e.review else { continue };
        if r.path != review_path(&e.record_id) {
            report.problems.push(format!(
                "malformed manifest: review view {:?} of {} is not named by its record id",
                r.path, e.record_id
            ));
            continue;
        }
        if !listed.insert(r.path.clone()) {
            report.problems.push(format!("duplicated entry {}", r.path));
            continue;
        }
        match find(&r.path) {
            None => report.problems.push(format!("missing entry {}", r.path)),
            Some(file) => files.push(((&r.path, r.size, &r.sha256), file)),
        }
    }
    report.problems.extend(check_record_files(&files));
    check_media(&manifest, &find, &mut listed, &mut report.problems);
    for f in &manifest.forms {
        let path = form_path(&f.form_id, &f.version);
        if !listed.insert(path.clone()) {
            report.problems.push(format!("duplicated entry {path}"));
            continue;
        }
        match find(&path) {
            None => report.problems.push(format!("missing entry {path}")),
            Some(file) if sha256_hex(file.data) != f.sha256 => report
                .problems
                .push(format!("entry hash mismatch: {path} was changed")),
            Some(_) => {}
        }
    }
    for e in index.entries {
        if e.name != MANIFEST && e.name != SIGNATURE && !listed.contains(&e.name) {
            report
                .problems
                .push(format!("extra entry {} (not in the manifest)", e.name));
        }
    }
    report.manifest = Some(manifest);
}

/// Each attachment the manifest lists: named as fieldkit names it, of a
/// record of the bundle, present once with its hash and size, an age file.
fn check_media<'e, 'a: 'e>(
    manifest: &Manifest,
    find: &dyn Fn(&str) -> Option<&'e Entry<'a>>,
    listed: &mut HashSet<String>,
    problems: &mut Vec<String>,
) {
    let records: HashSet<&str> = manifest
        .entries
        .iter()
        .map(|e| e.record_id.as_str())
        .collect();
    for m in &manifest.media {
        if !listed.insert(m.path.clone()) {
            problems.push(format!("duplicated entry {}", m.path));
            continue;
        }
        if !crate::form::media::is_attachment_name(&m.name)
            || m.path != media_path(&m.record_id, &m.name)
        {
            problems.push(format!(
                "malformed manifest: media entry {:?} is not named by its record id and a safe \
                 attachment name",
                m.path
            ));
            continue;
        }
        if !records.contains(m.record_id.as_str()) {
            problems.push(format!(
                "media entry {} belongs to record {}, which is not in the bundle",
                m.path, m.record_id
            ));
        }
        match find(&m.path) {
            None => problems.push(format!("missing entry {}", m.path)),
            Some(file) if file.data.len() as u64 != m.size => problems.push(format!(
                "{}: the manifest says {} bytes, the file has {}",
                m.path,
                m.size,
                file.data.len()
            )),
            Some(file) if sha256_hex(file.data) != m.sha256 => {
                problems.push(format!("entry hash mismatch: {} was changed", m.path))
            }
            Some(file) => {
                if let Err(why) = check_age_header(file.data) {
                    problems.push(format!("{}: {why}", m.path));
                }
            }
        }
    }
}

/// The most bytes a manifest takes for one file it lists, with room to
/// spare: fieldkit writes about 400 (the fixed fields, and ids, form ids and
/// versions within their caps).
const MANIFEST_BYTES_PER_ENTRY: usize = 2048;

/// Records from which checking a bundle's files is shared out between
/// threads: below it, starting threads costs more than it saves.
pub(crate) const PARALLEL_FROM: usize = 2_048;

/// What the manifest says of a file: its path, size and SHA-256.
type Facts<'m> = (&'m String, u64, &'m String);

/// Each record file against its manifest entry (size, SHA-256, an age
/// header within the caps): the problems in manifest order. The files of
/// a large bundle are checked on every core, so that one big bundle is
/// not verified on one core while the others wait.
fn check_record_files(files: &[(Facts, &Entry)]) -> Vec<String> {
    let check = |part: &[(Facts, &Entry)]| -> Vec<String> {
        let mut problems = Vec::new();
        for ((path, size, sha256), file) in part {
            if file.data.len() as u64 != *size {
                problems.push(format!(
                    "{path}: the manifest says {size} bytes, the file has {}",
                    file.data.len()
                ));
            } else if sha256_hex(file.data) != **sha256 {
                problems.push(format!("entry hash mismatch: {path} was changed"));
            } else if let Err(why) = check_age_header(file.data) {
                problems.push(format!("{path}: {why}"));
            }
        }
        problems
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if files.len() < PARALLEL_FROM || threads < 2 {
        return check(files);
    }
    let chunk = files.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = files
            .chunks(chunk)
            .map(|part| scope.spawn(move || check(part)))
            .collect();
        parts
            .into_iter()
            .flat_map(|part| {
                // A check never panics; if one did, its part is not
                // passed as checked.
                part.join().unwrap_or_else(|_| {
                    vec!["the check of a part of the records stopped; verify again".into()]
                })
            })
            .collect()
    })
}

/// Across the bundles given: per device, in sequence order, every gap,
/// fork and replay, in words.
pub fn sequences(reports: &[Report]) -> Vec<String> {
    let mut by_device: BTreeMap<(String, String), Vec<&Report>> = BTreeMap::new();
    for r in reports {
        if let (Some(device), Some(_), Some(_)) = (&r.device_id, r.sequence, &r.manifest_sha256) {
            let who = r.enumerator_id.clone().unwrap_or_default();
            by_device.entry((who, device.clone())).or_default().push(r);
        }
    }
    // How many devices each enumerator signed from, counted once.
    let mut devices: HashMap<&str, usize> = HashMap::new();
    for (who, _) in by_device.keys() {
        *devices.entry(who.as_str()).or_default() += 1;
    }
    let devices: HashMap<String, usize> = devices
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let mut problems = Vec::new();
    for ((who, device), mut list) in by_device {
        let name = if devices.get(&who).copied().unwrap_or(0) > 1 {
            format!("{who} (device {device})")
        } else {
            who.clone()
        };
        list.sort_by_key(|r| r.sequence);
        for pair in list.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let (sa, sb) = (a.sequence.unwrap_or(0), b.sequence.unwrap_or(0));
            if sa == sb {
                if a.manifest_sha256 == b.manifest_sha256 {
                    problems.push(format!(
                        "{name}: bundle {sa} given twice ({} and {}): a replay",
                        a.file, b.file
                    ));
                } else {
                    problems.push(format!(
                        "{name}: fork: two different bundles numbered {sa} ({} and {})",
                        a.file, b.file
                    ));
                }
            } else if sb > sa + 1 {
                let missing = if sb == sa + 2 {
                    format!("bundle {}", sa + 1)
                } else {
                    format!("bundles {}-{}", sa + 1, sb - 1)
                };
                problems.push(format!("{name}: {missing} missing between {sa} and {sb}"));
            } else if b.prev_manifest_sha256 != a.manifest_sha256 {
                problems.push(format!(
                    "{name}: fork: bundle {sb} does not follow bundle {sa} (its hash chain points elsewhere)"
                ));
            }
        }
        if let Some(first) = list.first()
            && first.sequence == Some(1)
            && first.prev_manifest_sha256.as_deref() != Some(NO_PREVIOUS)
        {
            problems.push(format!("{name}: bundle 1 claims a previous bundle"));
        }
    }
    problems
}
