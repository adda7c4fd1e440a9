//! Bundles built in memory and attacked: every hostile input of the issue
//! is a test here (a clear problem, never a panic), plus proptests over
//! flipped bytes and arbitrary bytes (the fuzz target of the reader).
//! Longer than 700 lines because each attack needs its own bundle built
//! and taken apart; they share the helpers at the top, so one file.

use proptest::prelude::*;
use ssh_key::rand_core::OsRng;

use super::signers::AllowedSigners;
use super::verify::{Report, sequences, verify};
use super::*;

struct Fixture {
    key: ssh_key::PrivateKey,
    signers: AllowedSigners,
    built: Built,
    records: Vec<Outgoing>,
}

pub(super) fn record(id: &str, dm: &age::x25519::Recipient) -> Outgoing {
    let plain = format!("{{\"record_id\":\"{id}\",\"values\":{{\"site_name\":\"Ban Nong\"}}}}");
    Outgoing {
        record_id: id.into(),
        form_id: "dtm_site_assessment".into(),
        form_version: "2026.1".into(),
        form_sha256: sha256_hex(b"form"),
        finalized_at: "2026-11-22T10:00:00.000+07:00".into(),
        ciphertext: crate::crypt::encrypt_to(std::slice::from_ref(dm), plain.as_bytes())
            .expect("encrypt"),
    }
}

pub(super) fn forms() -> Vec<(String, String, String, Vec<u8>)> {
    vec![(
        "dtm_site_assessment".into(),
        "2026.1".into(),
        sha256_hex(b"form"),
        b"form".to_vec(),
    )]
}

fn fixture_with(sequence: u64, prev: &str, key: ssh_key::PrivateKey) -> Fixture {
    let dm = age::x25519::Identity::generate().to_public();
    let records = vec![
        record("01a00000-0000-7000-8000-000000000001", &dm),
        record("01a00000-0000-7000-8000-000000000002", &dm),
    ];
    let plan = Plan {
        enumerator_id: "enum-03",
        device_id: "01a00000-0000-7000-8000-00000000de01",
        sequence,
        prev_manifest_sha256: prev,
        records: &records,
        forms: &forms(),
    };
    let built = build(&plan, &key).expect("build");
    let public = key.public_key().to_openssh().expect("public");
    let signers = AllowedSigners::parse(&format!(
        "enum-03 namespaces=\"fieldkit-bundle\" {public}\n"
    ))
    .expect("signers");
    Fixture {
        key,
        signers,
        built,
        records,
    }
}

pub(super) fn new_key() -> ssh_key::PrivateKey {
    ssh_key::PrivateKey::random(&mut OsRng, ssh_key::Algorithm::Ed25519).expect("key")
}

/// Bundle 1 of enum-03's device holding `records`.
fn bundle_one(records: &[Outgoing], key: &ssh_key::PrivateKey) -> Built {
    let plan = Plan {
        enumerator_id: "enum-03",
        device_id: "01a00000-0000-7000-8000-00000000de01",
        sequence: 1,
        prev_manifest_sha256: NO_PREVIOUS,
        records,
        forms: &forms(),
    };
    build(&plan, key).expect("build")
}

/// `n` records with the bytes of `one` under ids of their own.
fn copies(one: &Outgoing, n: usize) -> Vec<Outgoing> {
    (0..n)
        .map(|i| Outgoing {
            record_id: format!("01a00000-0000-7000-8000-{i:012}"),
            ciphertext: one.ciphertext.clone(),
            form_id: one.form_id.clone(),
            form_version: one.form_version.clone(),
            form_sha256: one.form_sha256.clone(),
            finalized_at: one.finalized_at.clone(),
        })
        .collect()
}

fn fixture() -> Fixture {
    fixture_with(1, NO_PREVIOUS, new_key())
}

fn check(f: &Fixture, bytes: &[u8]) -> Report {
    verify("test.zip", bytes, &f.signers)
}

fn problems(r: &Report) -> String {
    r.problems.join(" | ")
}

/// The bundle's entries, to change and zip again.
pub(super) fn entries(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    archive::read(bytes)
        .expect("readable")
        .into_iter()
        .map(|e| (e.name, e.data.to_vec()))
        .collect()
}

/// Replaces the manifest (re-signed with `key`: the signature is good, the
/// content lies) and zips again.
fn with_manifest(
    f: &Fixture,
    key: &ssh_key::PrivateKey,
    change: impl Fn(&mut Manifest),
) -> Vec<u8> {
    resigned(&f.built, key, change)
}

/// [`with_manifest`] for any bundle built.
fn resigned(built: &Built, key: &ssh_key::PrivateKey, change: impl Fn(&mut Manifest)) -> Vec<u8> {
    let mut manifest = built.manifest.clone();
    change(&mut manifest);
    let text = serde_json::to_vec_pretty(&manifest).expect("json");
    let sig = signers::sign(key, NAMESPACE, &text).expect("sign");
    let mut files = entries(&built.zip);
    for (name, data) in &mut files {
        if name == MANIFEST {
            *data = text.clone();
        }
        if name == SIGNATURE {
            *data = sig.clone().into_bytes();
        }
    }
    archive::write(&mut files).expect("zip")
}

/// Replaces occurrences of `from` in the archive bytes by `to` (same
/// length): raw header surgery. `nth`: only that occurrence; else all but
/// the first, which is inside manifest.json (it lists every path).
fn patch(bytes: &[u8], from: &[u8], to: &[u8], nth: Option<usize>) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = bytes.to_vec();
    let mut found = 0;
    let mut i = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            if nth.map_or(found > 0, |n| n == found) {
                out[i..i + from.len()].copy_from_slice(to);
            }
            found += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert!(found > 0, "pattern not found");
    out
}

#[test]
fn a_built_bundle_verifies_and_is_deterministic() {
    let f = fixture();
    let r = check(&f, &f.built.zip);
    assert!(r.ok, "{}", problems(&r));
    assert_eq!(r.records, 2);
    assert_eq!(r.sequence, Some(1));
    assert_eq!(
        r.manifest_sha256.as_deref(),
        Some(f.built.manifest_sha256.as_str())
    );
    let again = bundle_one(&f.records, &f.key);
    assert_eq!(again.zip, f.built.zip, "same content, same bytes");
}

#[test]
fn zip_slip_absolute_and_backslash_names_are_refused() {
    let f = fixture();
    let name = b"records/01a00000-0000-7000-8000-000000000001.age";
    for evil in [
        &b"../../../../../../../../../../../../../../evil.age"[..],
        &b"/etc/00000000-0000-7000-8000-000000000001.age.txt"[..],
        &b"records\\01a00000-0000-7000-8000-000000000001.age"[..],
    ] {
        let bytes = patch(&f.built.zip, name, &evil[..name.len()], None);
        let r = check(&f, &bytes);
        assert!(!r.ok);
        assert!(
            problems(&r).contains("path outside the archive"),
            "{}",
            problems(&r)
        );
    }
}

#[test]
fn symlinks_duplicates_and_disagreeing_headers_are_refused() {
    let f = fixture();
    // A symlink entry, written by the zip crate.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.add_symlink("records/x.age", "/etc/passwd", options)
        .unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    assert!(problems(&check(&f, &bytes)).contains("symlink"));

    // The second record renamed to the first, in both headers.
    let one = b"records/01a00000-0000-7000-8000-000000000001.age";
    let two = b"records/01a00000-0000-7000-8000-000000000002.age";
    let bytes = patch(&f.built.zip, two, one, None);
    assert!(problems(&check(&f, &bytes)).contains("duplicate entry"));

    // Only the local header renamed (after the manifest's mention of it).
    let bytes = patch(
        &f.built.zip,
        two,
        b"records/01a00000-0000-7000-8000-000000000009.age",
        Some(1),
    );
    assert!(
        problems(&check(&f, &bytes)).contains("disagree"),
        "{}",
        problems(&check(&f, &bytes))
    );
}

#[test]
fn zip_bombs_are_refused_before_anything_is_inflated() {
    let f = fixture();
    let entries = archive::read(&f.built.zip).unwrap();
    let first = &entries[0];
    let size = (first.data.len() as u32).to_le_bytes();
    // Declared sizes of 2 GB in the central directory.
    let mut huge = Vec::new();
    huge.extend_from_slice(&size);
    huge.extend_from_slice(&size);
    let mut bomb = Vec::new();
    bomb.extend_from_slice(&0x7fff_0000u32.to_le_bytes());
    bomb.extend_from_slice(&0x7fff_0000u32.to_le_bytes());
    let bytes = patch(&f.built.zip, &huge, &bomb, None);
    let r = check(&f, &bytes);
    assert!(!r.ok);
    assert!(
        problems(&r).contains("oversized") || problems(&r).contains("truncated"),
        "{}",
        problems(&r)
    );
    // A deflated entry (method 8): refused, never inflated.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("manifest.json", options).unwrap();
    std::io::Write::write_all(&mut zip, b"{}").unwrap();
    let stored = zip.finish().unwrap().into_inner();
    // method is at offset 8 of the local header and 10 of the central one.
    let mut deflated = stored.clone();
    deflated[8] = 8;
    let central = stored.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    deflated[central + 10] = 8;
    assert!(problems(&check(&f, &deflated)).contains("compressed"));
}

#[test]
fn truncated_archives_are_refused() {
    let f = fixture();
    for cut in [
        0,
        1,
        30,
        f.built.zip.len() / 3,
        f.built.zip.len() - 22,
        f.built.zip.len() - 1,
    ] {
        let r = check(&f, &f.built.zip[..cut]);
        assert!(!r.ok, "cut at {cut}");
    }
}

#[test]
fn age_headers_with_thousands_of_stanzas_or_megabytes_are_capped() {
    let f = fixture();
    let mut many = b"age-encryption.org/v1\n".to_vec();
    for _ in 0..5000 {
        many.extend_from_slice(b"-> X25519 AAAA\nAAAA\n");
    }
    many.extend_from_slice(b"--- AAAA\npayload");
    let mut long = b"age-encryption.org/v1\n-> X25519 ".to_vec();
    long.extend(std::iter::repeat_n(b'A', 2 * 1024 * 1024));
    long.extend_from_slice(b"\n--- AAAA\n");
    for (data, expect) in [(many, "longer than"), (long, "longer than")] {
        let mut records = f.records.clone_records();
        records[0].ciphertext = data;
        let built = bundle_one(&records, &f.key);
        let r = check(&f, &built.zip);
        assert!(!r.ok);
        assert!(problems(&r).contains(expect), "{}", problems(&r));
    }
    // Fewer stanzas than the size cap, but more than the stanza cap.
    let mut stanzas = b"age-encryption.org/v1\n".to_vec();
    for _ in 0..100 {
        stanzas.extend_from_slice(b"-> X\nA\n");
    }
    stanzas.extend_from_slice(b"--- AAAA\n");
    assert!(
        verify::check_age_header(&stanzas)
            .unwrap_err()
            .contains("stanzas")
    );
}

trait CloneRecords {
    fn clone_records(&self) -> Vec<Outgoing>;
}

impl CloneRecords for Vec<Outgoing> {
    fn clone_records(&self) -> Vec<Outgoing> {
        self.iter()
            .map(|r| Outgoing {
                record_id: r.record_id.clone(),
                form_id: r.form_id.clone(),
                form_version: r.form_version.clone(),
                form_sha256: r.form_sha256.clone(),
                finalized_at: r.finalized_at.clone(),
                ciphertext: r.ciphertext.clone(),
            })
            .collect()
    }
}

#[test]
fn a_manifest_that_lies_is_caught_even_when_signed() {
    let f = fixture();
    let r = check(&f, &with_manifest(&f, &f.key, |m| m.entries[0].size += 1));
    assert!(
        problems(&r).contains("the manifest says"),
        "{}",
        problems(&r)
    );
    let r = check(
        &f,
        &with_manifest(&f, &f.key, |m| m.entries[1].sha256 = sha256_hex(b"x")),
    );
    assert!(
        problems(&r).contains("entry hash mismatch"),
        "{}",
        problems(&r)
    );
    let r = check(
        &f,
        &with_manifest(&f, &f.key, |m| {
            let e = m.entries[0].clone();
            m.entries.push(e);
        }),
    );
    assert!(
        problems(&r).contains("duplicated entry"),
        "{}",
        problems(&r)
    );
    let r = check(
        &f,
        &with_manifest(&f, &f.key, |m| {
            m.entries.pop();
        }),
    );
    assert!(problems(&r).contains("extra entry"), "{}", problems(&r));
    let r = check(
        &f,
        &with_manifest(&f, &f.key, |m| m.format = "other/9".into()),
    );
    assert!(
        problems(&r).contains("malformed manifest"),
        "{}",
        problems(&r)
    );
    // Not JSON at all.
    let mut files = entries(&f.built.zip);
    files.retain(|(n, _)| n != MANIFEST);
    files.push((MANIFEST.into(), b"{not json".to_vec()));
    let r = check(&f, &archive::write(&mut files).unwrap());
    assert!(
        problems(&r).contains("malformed manifest"),
        "{}",
        problems(&r)
    );
    // A record missing.
    let mut files = entries(&f.built.zip);
    files.retain(|(n, _)| !n.ends_with("0001.age"));
    let r = check(&f, &archive::write(&mut files).unwrap());
    assert!(problems(&r).contains("missing entry"), "{}", problems(&r));
}

#[test]
fn signatures_must_be_good_and_from_a_listed_signer() {
    let f = fixture();
    // Signed by a key that is not in the signers file.
    let stranger = new_key();
    let r = check(
        &f,
        &with_manifest(&f, &stranger, |m| {
            m.signer = stranger.public_key().to_openssh().unwrap();
        }),
    );
    assert!(problems(&r).contains("unknown signer"), "{}", problems(&r));
    // The manifest changed after signing.
    let mut files = entries(&f.built.zip);
    for (name, data) in &mut files {
        if name == MANIFEST {
            let text = String::from_utf8(data.clone())
                .unwrap()
                .replace("enum-03", "enum-04");
            *data = text.into_bytes();
        }
    }
    let r = check(&f, &archive::write(&mut files).unwrap());
    assert!(problems(&r).contains("bad signature"), "{}", problems(&r));
    // No signature at all.
    let mut files = entries(&f.built.zip);
    files.retain(|(n, _)| n != SIGNATURE);
    let r = check(&f, &archive::write(&mut files).unwrap());
    assert!(problems(&r).contains("not signed"), "{}", problems(&r));
    // A signers file that lists the key for another enumerator.
    let other = AllowedSigners::parse(&format!(
        "enum-99 {}\n",
        f.key.public_key().to_openssh().unwrap()
    ))
    .unwrap();
    let r = verify("t.zip", &f.built.zip, &other);
    assert!(problems(&r).contains("unknown signer"), "{}", problems(&r));
}

#[test]
fn sequences_name_gaps_forks_and_replays_by_device() {
    let key = new_key();
    let one = fixture_with(1, NO_PREVIOUS, key.clone());
    let two = fixture_with(2, &one.built.manifest_sha256, key.clone());
    let three = fixture_with(3, &two.built.manifest_sha256, key.clone());
    let r = |f: &Fixture, name: &str| verify(name, &f.built.zip, &one.signers);
    let (r1, r2, r3) = (r(&one, "b1.zip"), r(&two, "b2.zip"), r(&three, "b3.zip"));
    assert!(r1.ok && r2.ok && r3.ok);
    assert!(sequences(&[r1.clone(), r2.clone(), r3.clone()]).is_empty());
    let gap = sequences(&[r1.clone(), r3.clone()]);
    assert_eq!(gap, ["enum-03: bundle 2 missing between 1 and 3"]);
    let replay = sequences(&[r1.clone(), r2.clone(), r(&two, "copy.zip")]);
    assert!(
        replay[0].contains("bundle 2 given twice") && replay[0].contains("replay"),
        "{replay:?}"
    );
    let forked = fixture_with(2, NO_PREVIOUS, key);
    let fork = sequences(&[r1, r2, r(&forked, "fork.zip")]);
    assert!(
        fork[0].contains("fork: two different bundles numbered 2"),
        "{fork:?}"
    );
    let chain = sequences(&[r(&one, "b1.zip"), r(&forked, "fork.zip")]);
    assert!(chain[0].contains("does not follow"), "{chain:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any single flipped byte anywhere in the archive fails verification.
    #[test]
    fn any_flipped_byte_fails(at in any::<prop::sample::Index>(), mask in 1u8..=255) {
        let f = shared();
        let mut bytes = f.built.zip.clone();
        let i = at.index(bytes.len());
        bytes[i] ^= mask;
        let r = check(f, &bytes);
        prop_assert!(!r.ok, "flipping byte {} with {:#04x} went unnoticed", i, mask);
    }

    /// The reader never panics on arbitrary bytes, nor on a real bundle
    /// with arbitrary bytes spliced in (the fuzz target).
    #[test]
    fn the_reader_never_panics(junk in prop::collection::vec(any::<u8>(), 0..2048), at in any::<prop::sample::Index>()) {
        let f = shared();
        let _ = check(f, &junk);
        let mut bytes = f.built.zip.clone();
        let i = at.index(bytes.len());
        bytes.splice(i..i, junk.iter().copied());
        let _ = check(f, &bytes);
        let _ = check(f, &bytes[..i]);
    }
}

fn shared() -> &'static Fixture {
    static F: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    F.get_or_init(fixture)
}

#[test]
fn real_age_headers_pass_the_shape_check_grease_and_all() {
    // age adds random "grease" stanzas; some have bodies of exactly 64
    // characters, followed by an empty line. Many files cover them.
    let dm = age::x25519::Identity::generate().to_public();
    for i in 0..500 {
        let ct =
            crate::crypt::encrypt_to(std::slice::from_ref(&dm), format!("{i}").as_bytes()).unwrap();
        assert_eq!(verify::check_age_header(&ct), Ok(()), "file {i}");
    }
    assert!(verify::check_age_header(b"age-encryption.org/v1\n--- AAAA\n").is_err());
    assert!(verify::check_age_header(b"age-encryption.org/v1\n-> X\nAAAA\n--- short\n").is_err());
}

proptest! {
    /// The age header check never panics, whatever the bytes.
    #[test]
    fn the_age_header_check_never_panics(tail in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut data = b"age-encryption.org/v1\n".to_vec();
        data.extend_from_slice(&tail);
        let _ = verify::check_age_header(&data);
        let _ = verify::check_age_header(&tail);
    }
}

#[test]
fn every_single_byte_flip_of_a_bundle_fails() {
    // All positions, not a sample: the reader must read or pin every byte.
    let f = shared();
    for i in 0..f.built.zip.len() {
        for mask in [0x01, 0x80] {
            let mut bytes = f.built.zip.clone();
            bytes[i] ^= mask;
            assert!(
                !check(f, &bytes).ok,
                "flipping byte {i} with {mask:#04x} went unnoticed"
            );
        }
    }
}

#[test]
fn names_are_single_safe_file_names() {
    for ok in ["2026.1", "v2", "dtm_site_assessment", "ວຽງຈັນ", "a-b_c.d"] {
        assert_eq!(verify::unsafe_component(ok, 64), None, "{ok}");
    }
    for bad in [
        "",
        "..",
        ".hidden",
        "../../x",
        "/tmp/x",
        "a\\b",
        "C:x",
        "a\nb",
        "a\u{1b}[2J",
        "trailing.",
        "space ",
        "con",
        "NUL.txt",
        "com1",
        "Lpt9.csv",
        "a|b",
        "a*b",
    ] {
        assert!(verify::unsafe_component(bad, 64).is_some(), "{bad:?}");
    }
    assert!(verify::unsafe_component(&"a".repeat(65), 64).is_some());
    assert!(verify::canonical_uuid(
        "01a00000-0000-7000-8000-000000000001"
    ));
    for other in [
        "01A00000-0000-7000-8000-000000000001",
        "{01a00000-0000-7000-8000-000000000001}",
        "urn:uuid:01a00000-0000-7000-8000-000000000001",
        "01a0000000007000800000000000000001",
        "01a00000000070008000000000000001",
        "not a uuid",
    ] {
        assert!(!verify::canonical_uuid(other), "{other}");
    }
}

#[test]
fn names_that_could_become_paths_are_refused_even_when_signed() {
    let f = fixture();
    type Change = Box<dyn Fn(&mut Manifest)>;
    let cases: Vec<(Change, &str)> = vec![
        (Box::new(|m| m.bundle_id = "../../../x".into()), "bundle_id"),
        (
            Box::new(|m| m.bundle_id = "/tmp/planted".into()),
            "bundle_id",
        ),
        (
            // The right shape, but not this bundle's.
            Box::new(|m| m.bundle_id = "enum-03-000001-000000000000".into()),
            "bundle_id",
        ),
        (
            Box::new(|m| m.enumerator_id = "../enum".into()),
            "enumerator_id",
        ),
        (
            Box::new(|m| m.device_id = "01A00000-0000-7000-8000-00000000DE01".into()),
            "device_id",
        ),
        (Box::new(|m| m.device_id = "../../dev".into()), "device_id"),
        (
            Box::new(|m| m.forms[0].version = "../x".into()),
            "form version",
        ),
        (Box::new(|m| m.forms[0].form_id = "con".into()), "form_id"),
        (Box::new(|m| m.forms[0].form_id = "a:b".into()), "form_id"),
        (
            Box::new(|m| m.prev_manifest_sha256 = "../".repeat(21) + "x"),
            "prev_manifest_sha256",
        ),
        (
            Box::new(|m| m.entries[0].form_version = "9".into()),
            "which the bundle does not carry",
        ),
    ];
    for (change, expect) in cases {
        let r = check(&f, &with_manifest(&f, &f.key, change));
        assert!(!r.ok);
        assert!(problems(&r).contains(expect), "{expect}: {}", problems(&r));
    }
}

#[test]
fn a_record_id_is_accepted_in_one_spelling_only() {
    let f = fixture();
    let dm = age::x25519::Identity::generate().to_public();
    let ids = [
        "01a00000-0000-7000-8000-000000000001",
        "01A00000-0000-7000-8000-000000000001",
        "{01a00000-0000-7000-8000-000000000001}",
        "urn:uuid:01a00000-0000-7000-8000-000000000001",
        "01a00000000070008000000000000001",
    ];
    let records: Vec<Outgoing> = ids.iter().map(|id| record(id, &dm)).collect();
    let built = bundle_one(&records, &f.key);
    let r = check(&f, &built.zip);
    assert!(!r.ok);
    let refused: Vec<&String> = r
        .problems
        .iter()
        .filter(|p| p.contains("record id"))
        .collect();
    assert_eq!(refused.len(), 4, "{}", problems(&r));
    for id in &ids[1..] {
        assert!(problems(&r).contains(&format!("{id:?}")), "{id}");
    }
}

#[test]
fn verification_looks_each_entry_up_once() {
    let key = new_key();
    let dm = age::x25519::Identity::generate().to_public();
    let one = record("01a00000-0000-7000-8000-000000000001", &dm);
    let signers = fixture_with(1, NO_PREVIOUS, key.clone()).signers;
    // Name comparisons made to find entries, for n records: linear, not
    // the n * n of a search along the entries for each manifest entry.
    let compared = |n: usize| {
        let built = bundle_one(&copies(&one, n), &key);
        let (report, compared) = verify::verify_counted("big.zip", &built.zip, &signers);
        assert!(report.ok, "{}", problems(&report));
        compared
    };
    for n in [10, 300, 3000] {
        let c = compared(n);
        // The manifest, its signature, each record, each form.
        assert!(c <= n + 4, "{n} entries: {c} names compared");
    }
}

/// A bundle large enough that its record files are checked on several
/// threads: every changed file is found, each once, in manifest order,
/// whichever thread checked it.
#[test]
fn a_large_bundle_checked_on_every_core_misses_no_changed_file() {
    let key = new_key();
    let dm = age::x25519::Identity::generate().to_public();
    let one = record("01a00000-0000-7000-8000-000000000001", &dm);
    let signers = fixture_with(1, NO_PREVIOUS, key.clone()).signers;
    let n = 3 * super::verify::PARALLEL_FROM;
    let built = bundle_one(&copies(&one, n), &key);
    assert!(verify::verify("big.zip", &built.zip, &signers).ok);
    // Lie about three files in the signed manifest: the first, one in the
    // middle and the last, so that each thread's part has to say it.
    let changed = [0, n / 2 + 1, n - 1];
    let lying = resigned(&built, &key, |m| {
        for &i in &changed {
            m.entries[i].sha256 = sha256_hex(b"another file");
        }
    });
    let report = verify::verify("big.zip", &lying, &signers);
    assert!(!report.ok);
    let expected: Vec<String> = changed
        .iter()
        .map(|&i| {
            format!(
                "entry hash mismatch: {} was changed",
                built.manifest.entries[i].path
            )
        })
        .collect();
    // (The bundle id, derived from the manifest, is said wrong too.)
    let files_said: Vec<String> = report
        .problems
        .iter()
        .filter(|p| !p.contains("bundle_id"))
        .cloned()
        .collect();
    assert_eq!(files_said, expected);
}

/// A manifest far longer than its archive could need (a hostile one that
/// lists 100,000 records in a bundle of a few files) is refused before it
/// is parsed.
#[test]
fn a_manifest_longer_than_its_archive_needs_is_refused_unparsed() {
    let f = fixture();
    let files_in_archive = entries(&f.built.zip).len();
    let r = check(
        &f,
        &with_manifest(&f, &f.key, |m| {
            let e = m.entries[0].clone();
            m.entries = (0..100_000)
                .map(|i| ManifestEntry {
                    record_id: format!("01a00000-0000-7000-8000-{i:012}"),
                    path: format!("records/01a00000-0000-7000-8000-{i:012}.age"),
                    ..e.clone()
                })
                .collect();
        }),
    );
    assert!(!r.ok);
    assert_eq!(r.problems.len(), 1, "{}", problems(&r));
    assert!(
        problems(&r).contains(&format!("for an archive of {files_in_archive} files")),
        "{}",
        problems(&r)
    );
    assert_eq!(r.records, 0, "the manifest was not read");
}

#[test]
fn review_views_and_versions_are_checked_by_the_manifest() {
    let f = fixture();
    let id = f.records[0].record_id.clone();
    // A version the chain cannot have.
    for (version, supersedes, sound) in [
        (2, Some(1), true),
        (2, None, false),
        (3, Some(1), false),
        (0, None, false),
        (1, Some(0), false),
    ] {
        let r = check(
            &f,
            &with_manifest(&f, &f.key, |m| {
                m.entries[0].version = version;
                m.entries[0].supersedes = supersedes;
            }),
        );
        assert_eq!(r.ok, sound, "{version} {supersedes:?}: {}", problems(&r));
        if !sound {
            assert!(problems(&r).contains("a correction supersedes the version before it"));
        }
    }
    // A review view named for another record, or listed and missing.
    let r = check(
        &f,
        &with_manifest(&f, &f.key, |m| {
            m.entries[0].review = Some(FileRef::of("review/other.age".into(), b"x"));
        }),
    );
    assert!(
        problems(&r).contains("is not named by its record id"),
        "{}",
        problems(&r)
    );
    let r = check(
        &f,
        &with_manifest(&f, &f.key, |m| {
            m.entries[0].review = Some(FileRef::of(review_path(&id), b"x"));
        }),
    );
    assert!(
        problems(&r).contains(&format!("missing entry review/{id}.age")),
        "{}",
        problems(&r)
    );
    // A format this fieldkit does not know is refused by name.
    let r = check(
        &f,
        &with_manifest(&f, &f.key, |m| m.format = "fieldkit-bundle/3".into()),
    );
    assert!(
        problems(&r).contains("upgrade fieldkit"),
        "{}",
        problems(&r)
    );
}
