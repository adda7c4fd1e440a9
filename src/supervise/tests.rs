//! Opening bundles for review in memory: bundles built by the bundle
//! builder, a tampered one and one given twice refused by name, records
//! without review views listed, the carried form loaded; receipts signed,
//! written once, never overwritten, read back as genuine with their
//! verdicts.

use ssh_key::rand_core::OsRng;

use super::verdicts::{self, Pending, WriteError};
use super::*;
use crate::bundle::receipt::{self, Comment, Decision};
use crate::bundle::{FileRef, Outgoing, Plan, Readers, Streamed};
use crate::record::{REVIEW_FORMAT, ReviewView};

const FORM: &str = r#"[settings]
form_id = "t"
version = "1"
form_title = "T"
[[survey]]
type = "integer"
name = "hh_total"
label = "Households"
review = "yes"
"#;

fn new_key() -> ssh_key::PrivateKey {
    ssh_key::PrivateKey::random(&mut OsRng, ssh_key::Algorithm::Ed25519).expect("key")
}

fn id(n: u64) -> String {
    format!("01a00000-0000-7000-8000-{n:012x}")
}

/// A bundle of `n` records of form t by enum-03, and its signers line.
fn bundle(key: &ssh_key::PrivateKey, sequence: u64, prev: &str, n: u64) -> (Vec<u8>, String) {
    let dm = age::x25519::Identity::generate().to_public();
    let records: Vec<Outgoing> = (0..n)
        .map(|i| Outgoing {
            record_id: id(sequence * 100 + i),
            form_id: "t".into(),
            form_version: "1".into(),
            form_sha256: sha256_hex(FORM.as_bytes()),
            finalized_at: "2026-11-22T10:00:00+07:00".into(),
            ciphertext: crate::crypt::encrypt_to(std::slice::from_ref(&dm), b"{}")
                .expect("encrypt"),
        })
        .collect();
    let forms = vec![(
        "t".to_string(),
        "1".to_string(),
        sha256_hex(FORM.as_bytes()),
        FORM.as_bytes().to_vec(),
    )];
    let plan = Plan {
        enumerator_id: "enum-03",
        device_id: "01a00000-0000-7000-8000-00000000de01",
        sequence,
        prev_manifest_sha256: prev,
        records: &records,
        forms: &forms,
    };
    let built = crate::bundle::build(&plan, key).expect("build");
    let line = format!(
        "enum-03 namespaces=\"fieldkit-bundle\" {}\n",
        key.public_key().to_openssh().expect("public")
    );
    (built.zip, line)
}

fn given(name: &str, bytes: &[u8]) -> Given {
    Given {
        file: name.into(),
        bytes: bytes.to_vec(),
    }
}

#[test]
fn bundles_open_and_the_bad_ones_are_named() {
    let key = new_key();
    let (first, line) = bundle(&key, 1, crate::bundle::NO_PREVIOUS, 2);
    let (second, _) = bundle(&key, 2, &sha256_hex(b"x"), 1);
    let mut tampered = second.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 1;
    let signers = AllowedSigners::parse(&line).expect("signers");
    let supervisor = new_key();
    let identity = crate::crypt::ssh_identity(&supervisor).expect("identity");
    let opened = open(
        vec![
            given("first.zip", &first),
            given("tampered.zip", &tampered),
            given("again.zip", &first),
            given("second.zip", &second),
        ],
        &signers,
        &identity,
        &FormsAt::default(),
    );
    let failed: Vec<&str> = opened.failed.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(failed, ["tampered.zip", "again.zip"]);
    assert!(!opened.failed[0].problems.is_empty());
    assert!(opened.failed[1].problems[0].contains("given twice"));
    assert_eq!(opened.bundles.len(), 2);
    assert_eq!(opened.entries.len(), 3);
    assert!(
        opened
            .entries
            .iter()
            .all(|e| matches!(e.seen, Seen::NoView))
    );
    assert_eq!(opened.forms.len(), 1, "one form, loaded once");
    assert!(opened.entries.iter().all(|e| e.form == Some(0)));
    assert_eq!(opened.entries[2].bundle, 1);
}

#[test]
fn receipts_carry_the_verdicts_and_are_never_overwritten() {
    let key = new_key();
    let (first, line) = bundle(&key, 1, crate::bundle::NO_PREVIOUS, 3);
    let signers = AllowedSigners::parse(&line).expect("signers");
    let supervisor = new_key();
    let identity = crate::crypt::ssh_identity(&supervisor).expect("identity");
    let opened = open(
        vec![given("first.zip", &first)],
        &signers,
        &identity,
        &FormsAt::default(),
    );
    let mut pending = vec![Pending::default(); 3];
    pending[0].decision = Some(Decision::Approved);
    pending[1].decision = Some(Decision::Returned);
    // Returned without a word: refused, nothing signed.
    let dir = tempfile::tempdir().expect("dir");
    let out = dir.path().join("receipts");
    let now = "2026-11-22T12:00:00+07:00";
    assert!(matches!(
        verdicts::sign_all(&opened, &pending, &supervisor, now, &out),
        Err(WriteError::Verdict(_))
    ));
    pending[1].set_comment("hh_total", "  twelve households? ");
    let signed = verdicts::sign_all(&opened, &pending, &supervisor, now, &out).expect("sign");
    verdicts::write_all(&out, &signed).expect("write");
    let path = out.join(format!("{}.receipt.json", opened.bundles[0].bundle_id));
    let (r, signer) = receipt::genuine(&std::fs::read(&path).expect("read")).expect("genuine");
    assert_eq!(&signer, supervisor.public_key());
    assert_eq!(r.format, receipt::FORMAT_V2);
    assert_eq!(r.verdicts.len(), 2, "the third record has none");
    assert_eq!(r.verdicts[0].decision, Decision::Approved);
    assert_eq!(
        r.verdicts[1].comments,
        [Comment {
            field: "hh_total".into(),
            text: "twelve households?".into()
        }]
    );
    assert_eq!(r.manifest_sha256, opened.bundles[0].manifest_sha256);
    // Again: refused, the receipt as it was.
    let before = std::fs::read(&path).expect("read");
    assert!(matches!(
        verdicts::sign_all(&opened, &pending, &supervisor, now, &out),
        Err(WriteError::Exists(_))
    ));
    assert!(matches!(
        verdicts::write_all(&out, &signed),
        Err(WriteError::Exists(_))
    ));
    assert_eq!(std::fs::read(&path).expect("read"), before);
    // Without verdicts: format 1, as `fieldkit receipt` writes.
    let out = dir.path().join("plain");
    let signed = verdicts::sign_all(
        &opened,
        &[Pending::default(), Pending::default(), Pending::default()],
        &supervisor,
        now,
        &out,
    )
    .expect("sign");
    verdicts::write_all(&out, &signed).expect("write");
    let (r, _) = receipt::genuine(&signed[0].bytes).expect("genuine");
    assert_eq!(r.format, receipt::FORMAT);
}

/// A bundle whose records carry review views encrypted to `supervisor`:
/// the view of record i names record `names(i)`.
fn with_views(
    key: &ssh_key::PrivateKey,
    supervisor: &ssh_key::PublicKey,
    names: impl Fn(u64) -> String,
) -> Vec<u8> {
    let dm = age::x25519::Identity::generate().to_public();
    let forms = vec![(
        "t".to_string(),
        "1".to_string(),
        sha256_hex(FORM.as_bytes()),
        FORM.as_bytes().to_vec(),
    )];
    let mut entries = Vec::new();
    let mut files = HashMap::new();
    for i in 0..3 {
        let cipher = crate::crypt::encrypt_to(std::slice::from_ref(&dm), b"{}").expect("encrypt");
        let view = ReviewView {
            format: REVIEW_FORMAT.into(),
            record_id: names(i),
            version: 1,
            supersedes: None,
            form_id: "t".into(),
            form_version: "1".into(),
            form_sha256: sha256_hex(FORM.as_bytes()),
            enumerator_id: "enum-03".into(),
            device_id: "dev".into(),
            started: "2026-11-22T09:40:00+07:00".into(),
            finalized_at: "2026-11-22T10:00:00+07:00".into(),
            values: serde_json::json!({"hh_total": i})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            checks: Vec::new(),
        };
        let review = crate::crypt::encrypt_to_ssh(
            std::slice::from_ref(supervisor),
            &serde_json::to_vec(&view).expect("json"),
        )
        .expect("encrypt");
        let mut entry =
            crate::bundle::entry_of(&id(i), "t", "1", "2026-11-22T10:00:00+07:00", &cipher);
        entry.review = Some(FileRef::of(crate::bundle::review_path(&id(i)), &review));
        entries.push(entry);
        files.insert(id(i), (cipher, review));
    }
    let plan = Streamed {
        enumerator_id: "enum-03",
        device_id: "01a00000-0000-7000-8000-00000000de01",
        sequence: 1,
        prev_manifest_sha256: crate::bundle::NO_PREVIOUS,
        entries,
        forms: &forms,
        media: Vec::new(),
    };
    crate::bundle::build_from(
        plan,
        key,
        Readers {
            record: &mut |e| Ok(std::borrow::Cow::Owned(files[&e.record_id].0.clone())),
            review: &mut |e| Ok(std::borrow::Cow::Owned(files[&e.record_id].1.clone())),
            media: &mut |m| Err(m.path.clone()),
        },
    )
    .expect("build")
    .zip
}

#[test]
fn review_views_are_read_with_the_supervisor_key_and_checked() {
    let key = new_key();
    let line = format!(
        "enum-03 namespaces=\"fieldkit-bundle\" {}\n",
        key.public_key().to_openssh().expect("public")
    );
    let signers = AllowedSigners::parse(&line).expect("signers");
    let supervisor = new_key();
    let identity = key::SupervisorIdentity::new(&supervisor).expect("identity");
    // The views of records 0 and 2 name another record.
    let zip = with_views(&key, supervisor.public_key(), |i| {
        id(if i == 1 { 1 } else { 9 })
    });
    let opened = open(
        vec![given("b.zip", &zip)],
        &signers,
        &identity,
        &FormsAt::default(),
    );
    assert!(opened.failed.is_empty(), "{:?}", opened.failed);
    let seen: Vec<&Seen> = opened.entries.iter().map(|e| &e.seen).collect();
    assert!(matches!(seen[1], Seen::View(v) if v.values["hh_total"] == 1));
    for i in [0, 2] {
        assert!(
            matches!(seen[i], Seen::Problem(why) if why.contains("names record")),
            "{:?}",
            seen[i]
        );
    }
    // Another supervisor's key reads none of them, and says why.
    let other = crate::crypt::ssh_identity(&new_key()).expect("identity");
    let opened = open(
        vec![given("b.zip", &zip)],
        &signers,
        &other,
        &FormsAt::default(),
    );
    assert!(opened.entries.iter().all(|e| matches!(
        &e.seen,
        Seen::Problem(why) if why.contains("not encrypted to this supervisor key")
    )));
}
