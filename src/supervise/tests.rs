//! Opening bundles for review in memory: bundles built by the bundle
//! builder, a tampered one and one given twice refused by name, records
//! without review views listed, the carried form loaded; receipts signed,
//! written once, never overwritten, read back as genuine with their
//! verdicts.

use ssh_key::rand_core::OsRng;

use super::verdicts::{self, Pending, WriteError};
use super::*;
use crate::bundle::receipt::{self, Comment, Decision};
use crate::bundle::{Outgoing, Plan};

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
