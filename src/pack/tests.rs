//! Packs built and verified, and every way a hostile one is refused.

use ssh_key::rand_core::OsRng;

use super::verify::{Installed, check_chain, verify};
use super::*;
use crate::bundle::signers::AllowedSigners;

fn new_key() -> ssh_key::PrivateKey {
    ssh_key::PrivateKey::random(&mut OsRng, ssh_key::Algorithm::Ed25519).unwrap()
}

fn signers_for(key: &ssh_key::PrivateKey, namespaces: &str) -> AllowedSigners {
    AllowedSigners::parse(&format!(
        "dtm-office namespaces=\"{namespaces}\" {}\n",
        key.public_key().to_openssh().unwrap()
    ))
    .unwrap()
}

fn files() -> Vec<(String, Vec<u8>)> {
    vec![
        (
            "forms/site.toml".into(),
            b"[settings]\nform_id = \"site\"\nversion = \"2\"\n".to_vec(),
        ),
        (
            "lists/villages.csv".into(),
            "name,label\nv1,ບ້ານ ໜອງ\n".into(),
        ),
        ("keys/recipients.txt".into(), b"age1example\n".to_vec()),
        (
            "entities/sites.csv".into(),
            b"name,label\ns1,Site 1\n".to_vec(),
        ),
    ]
}

fn plan(sequence: u64, prev: &str) -> Plan<'_> {
    Plan {
        deployment: "dtm-lao",
        sequence,
        prev_pack_sha256: prev,
        round: "R2-2026",
        created_at: "2026-12-01T09:00:00+07:00",
        files: files(),
    }
}

fn problems(r: &verify::Report) -> String {
    r.problems.join("; ")
}

#[test]
fn a_built_pack_verifies_with_its_files_and_is_deterministic() {
    let key = new_key();
    let built = build(plan(1, NO_PREVIOUS), &key).unwrap();
    let again = build(plan(1, NO_PREVIOUS), &key).unwrap();
    assert_eq!(built.zip, again.zip, "the same pack twice: the same bytes");
    let signers = signers_for(&key, NAMESPACE);
    let (report, verified) = verify("p.zip", &built.zip, &signers, None);
    assert!(report.ok, "{}", problems(&report));
    assert_eq!(report.signed_by.as_deref(), Some("dtm-office"));
    assert_eq!(report.round.as_deref(), Some("R2-2026"));
    let verified = verified.unwrap();
    let mut expected = files();
    expected.sort();
    let got: Vec<(String, Vec<u8>)> = verified
        .files
        .iter()
        .map(|(p, d)| (p.clone(), d.to_vec()))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(verified.manifest_sha256, built.manifest_sha256);
}

#[test]
fn only_the_files_a_pack_carries_can_be_built_into_one() {
    let key = new_key();
    for path in [
        "../etc/passwd",
        "forms/../x.toml",
        "forms/sub/x.toml",
        "forms/x.exe",
        "lists/x.toml",
        "keys/other",
        "recipients.txt",
        "forms/con.toml",
        "forms/.hidden.csv",
        "scripts/run.sh",
    ] {
        let mut p = plan(1, NO_PREVIOUS);
        p.files.push((path.into(), b"x".to_vec()));
        let err = build(p, &key).unwrap_err();
        assert!(matches!(err, BuildError::Path(_)), "{path}: {err}");
    }
    let mut p = plan(1, NO_PREVIOUS);
    p.files.push(("forms/site.toml".into(), b"again".to_vec()));
    assert!(build(p, &key).unwrap_err().to_string().contains("twice"));
    let mut p = plan(1, NO_PREVIOUS);
    p.deployment = "dtm/lao";
    assert!(matches!(
        build(p, &key).unwrap_err(),
        BuildError::Deployment { .. }
    ));
    let mut p = plan(1, NO_PREVIOUS);
    p.round = "R2\u{1b}[2J";
    assert!(matches!(
        build(p, &key).unwrap_err(),
        BuildError::Round { .. }
    ));
}

#[test]
fn every_flipped_byte_is_refused_and_gives_no_files() {
    let key = new_key();
    let built = build(plan(1, NO_PREVIOUS), &key).unwrap();
    let signers = signers_for(&key, NAMESPACE);
    for i in 0..built.zip.len() {
        for bit in [0x01u8, 0x80] {
            let mut bytes = built.zip.clone();
            bytes[i] ^= bit;
            let (report, files) = verify("p.zip", &bytes, &signers, None);
            // A flip in the signature's base64 padding or armor line
            // breaks the armor; anywhere else the CRC, the hash or the
            // signature. Every one is refused, with nothing to install.
            assert!(!report.ok, "byte {i} bit {bit:#x} passed");
            assert!(files.is_none(), "byte {i}");
        }
    }
}

#[test]
fn signatures_from_unpinned_keys_or_for_another_purpose_are_refused() {
    let key = new_key();
    let built = build(plan(1, NO_PREVIOUS), &key).unwrap();
    // Not pinned at all.
    let stranger = signers_for(&new_key(), NAMESPACE);
    let (r, files) = verify("p.zip", &built.zip, &stranger, None);
    assert!(problems(&r).contains("unknown signer"), "{}", problems(&r));
    assert!(files.is_none());
    // The key is pinned, but only to sign bundles or receipts.
    for other in ["fieldkit-bundle", "fieldkit-receipt"] {
        let (r, _) = verify("p.zip", &built.zip, &signers_for(&key, other), None);
        assert!(problems(&r).contains("unknown signer"), "{}", problems(&r));
    }
    // A manifest signed for bundles by a pinned key: wrong namespace.
    let mut entries: Vec<(String, Vec<u8>)> = archive::read(&built.zip)
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.data.to_vec()))
        .collect();
    let manifest = entries
        .iter()
        .find(|(n, _)| n == MANIFEST)
        .unwrap()
        .1
        .clone();
    let bundle_sig = signers::sign(&key, "fieldkit-bundle", &manifest).unwrap();
    for (name, data) in &mut entries {
        if name == SIGNATURE {
            *data = bundle_sig.clone().into_bytes();
        }
    }
    let forged = archive::write(&mut entries).unwrap();
    let (r, _) = verify("p.zip", &forged, &signers_for(&key, "*"), None);
    assert!(
        problems(&r).contains("not 'fieldkit-pack'"),
        "{}",
        problems(&r)
    );
    // No signature at all.
    entries.retain(|(n, _)| n != SIGNATURE);
    let unsigned = archive::write(&mut entries).unwrap();
    let (r, _) = verify("p.zip", &unsigned, &signers_for(&key, NAMESPACE), None);
    assert!(problems(&r).contains("not signed"), "{}", problems(&r));
}

/// Rewrites a pack's manifest (signed again by `key`: the signature is
/// good, the content lies) and its files.
fn tampered(
    built: &Built,
    key: &ssh_key::PrivateKey,
    change: impl Fn(&mut Manifest, &mut Vec<(String, Vec<u8>)>),
) -> Vec<u8> {
    let mut manifest = built.manifest.clone();
    let mut files: Vec<(String, Vec<u8>)> = archive::read(&built.zip)
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.data.to_vec()))
        .filter(|(n, _)| n != MANIFEST && n != SIGNATURE)
        .collect();
    change(&mut manifest, &mut files);
    let text = serde_json::to_vec_pretty(&manifest).unwrap();
    let sig = signers::sign(key, NAMESPACE, &text).unwrap();
    files.push((MANIFEST.into(), text));
    files.push((SIGNATURE.into(), sig.into_bytes()));
    archive::write(&mut files).unwrap()
}

#[test]
fn a_signed_manifest_that_lies_is_caught() {
    let key = new_key();
    let built = build(plan(1, NO_PREVIOUS), &key).unwrap();
    let signers = signers_for(&key, NAMESPACE);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "the manifest says",
            tampered(&built, &key, |m, _| m.entries[0].size += 1),
        ),
        (
            "entry hash mismatch",
            tampered(&built, &key, |_, f| {
                f.iter_mut()
                    .find(|(n, _)| n == "lists/villages.csv")
                    .unwrap()
                    .1 = "name,label\nv1,ບ້ານ ໝອງ\n".into();
            }),
        ),
        (
            "extra entry forms/extra.toml",
            tampered(&built, &key, |_, f| {
                f.push(("forms/extra.toml".into(), b"x".to_vec()));
            }),
        ),
        (
            "missing entry",
            tampered(&built, &key, |_, f| {
                f.retain(|(n, _)| n != "keys/recipients.txt")
            }),
        ),
        (
            "duplicated entry",
            tampered(&built, &key, |m, _| {
                let e = m.entries[0].clone();
                m.entries.push(e);
            }),
        ),
        (
            "is not a file a pack carries",
            tampered(&built, &key, |m, f| {
                m.entries.push(PackEntry {
                    path: "evil.sh".into(),
                    size: 1,
                    sha256: sha256_hex(b"x"),
                });
                f.push(("evil.sh".into(), b"x".to_vec()));
            }),
        ),
        (
            "format 'fieldkit-bundle/1'",
            tampered(&built, &key, |m, _| m.format = "fieldkit-bundle/1".into()),
        ),
        (
            "the deployment id",
            tampered(&built, &key, |m, _| m.deployment = "../x".into()),
        ),
        ("sequence 0", tampered(&built, &key, |m, _| m.sequence = 0)),
    ];
    for (said, bytes) in cases {
        let (r, files) = verify("p.zip", &bytes, &signers, None);
        assert!(problems(&r).contains(said), "{said}: {}", problems(&r));
        assert!(files.is_none(), "{said}");
    }
}

#[test]
fn a_manifest_longer_than_its_pack_needs_is_refused_unparsed() {
    let key = new_key();
    let built = build(plan(1, NO_PREVIOUS), &key).unwrap();
    let bytes = tampered(&built, &key, |m, _| {
        m.round = "r".repeat(20_000);
    });
    let (r, _) = verify("p.zip", &bytes, &signers_for(&key, NAMESPACE), None);
    assert_eq!(r.problems.len(), 1, "{}", problems(&r));
    assert!(
        problems(&r).contains("bytes for a pack of"),
        "{}",
        problems(&r)
    );
    assert_eq!(r.round, None, "the manifest was not read");
}

#[test]
fn older_replayed_forked_and_foreign_packs_are_refused_by_name() {
    let key = new_key();
    let signers = signers_for(&key, NAMESPACE);
    let one = build(plan(1, NO_PREVIOUS), &key).unwrap();
    let two = build(plan(2, &one.manifest_sha256), &key).unwrap();
    let installed = |b: &Built| Installed {
        deployment: "dtm-lao".into(),
        sequence: b.manifest.sequence,
        manifest_sha256: b.manifest_sha256.clone(),
    };
    let said = |bytes: &[u8], have: &Installed| {
        let (r, files) = verify("p.zip", bytes, &signers, Some(have));
        assert_eq!(r.ok, files.is_some());
        problems(&r)
    };
    // The next pack: taken.
    assert_eq!(said(&two.zip, &installed(&one)), "");
    // The same pack again, an older one.
    assert!(said(&two.zip, &installed(&two)).contains("a replay"));
    assert!(said(&one.zip, &installed(&two)).contains("an older pack"));
    // Another pack 2, and a pack 2 that does not follow pack 1.
    let mut other = plan(2, &one.manifest_sha256);
    other.round = "R2-2026b";
    let other_two = build(other, &key).unwrap();
    assert!(said(&other_two.zip, &installed(&two)).contains("a fork"));
    let stray = build(plan(2, &"0".repeat(64)), &key).unwrap();
    assert!(said(&stray.zip, &installed(&one)).contains("a fork"));
    // A laptop that missed pack 2 takes pack 3 (packs are whole).
    let three = build(plan(3, &two.manifest_sha256), &key).unwrap();
    assert_eq!(said(&three.zip, &installed(&one)), "");
    // Another deployment's pack, signed by the same office.
    let mut foreign = plan(3, &two.manifest_sha256);
    foreign.deployment = "dtm-other";
    let foreign = build(foreign, &key).unwrap();
    assert!(said(&foreign.zip, &installed(&two)).contains("another deployment"));
    // A first pack that names a previous one.
    assert!(
        check_chain(&build(plan(1, "abc"), &key).unwrap().manifest, "x", None)
            .unwrap_err()
            .contains("names a previous pack")
    );
}
