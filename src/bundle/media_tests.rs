//! Bundles with attachments: built with `media/<record_id>/<name>.age`
//! entries the manifest lists, deterministic, and refused by verify when
//! an attachment is altered, missing, unlisted, of no record of the
//! bundle, or named as a path.

use std::borrow::Cow;

use super::signers::{self, AllowedSigners};
use super::tests::{entries, forms, new_key, record};
use super::verify::{Report, verify};
use super::*;

const DEVICE: &str = "01a00000-0000-7000-8000-00000000de01";
const R1: &str = "01a00000-0000-7000-8000-000000000001";
const R2: &str = "01a00000-0000-7000-8000-000000000002";

struct Made {
    key: ssh_key::PrivateKey,
    signers: AllowedSigners,
    built: Built,
}

fn made() -> Made {
    let key = new_key();
    let dm = age::x25519::Identity::generate().to_public();
    let records = [record(R1, &dm), record(R2, &dm)];
    let photo = crate::crypt::encrypt_to(std::slice::from_ref(&dm), b"the photo").expect("age");
    let media = vec![media_entry_of(R1, "photo-0123456789ab.jpg", &photo)];
    let plan = Streamed {
        enumerator_id: "enum-03",
        device_id: DEVICE,
        sequence: 1,
        prev_manifest_sha256: NO_PREVIOUS,
        entries: records
            .iter()
            .map(|r| {
                entry_of(
                    &r.record_id,
                    &r.form_id,
                    &r.form_version,
                    &r.finalized_at,
                    &r.ciphertext,
                )
            })
            .collect(),
        forms: &forms(),
        media,
    };
    let built = build_with_media(
        plan,
        &key,
        &mut |e| {
            records
                .iter()
                .find(|r| r.record_id == e.record_id)
                .map(|r| Cow::Owned(r.ciphertext.clone()))
                .ok_or_else(|| "no such record".to_string())
        },
        &mut |_| Ok(Cow::Owned(photo.clone())),
    )
    .expect("build");
    let public = key.public_key().to_openssh().expect("public");
    let signers = AllowedSigners::parse(&format!(
        "enum-03 namespaces=\"fieldkit-bundle\" {public}\n"
    ))
    .expect("signers");
    Made {
        key,
        signers,
        built,
    }
}

fn check(m: &Made, bytes: &[u8]) -> Report {
    verify("test.zip", bytes, &m.signers)
}

fn problems(r: &Report) -> String {
    r.problems.join(" | ")
}

const PATH: &str = "media/01a00000-0000-7000-8000-000000000001/photo-0123456789ab.jpg.age";

/// The bundle's entries changed by `change`, zipped again (the manifest
/// and its signature as they were).
fn rezipped(m: &Made, change: impl Fn(&mut Vec<(String, Vec<u8>)>)) -> Vec<u8> {
    let mut files = entries(&m.built.zip);
    change(&mut files);
    archive::write(&mut files).expect("zip")
}

/// The manifest changed and signed again (the signature is good, the
/// content lies).
fn resigned(m: &Made, change: impl Fn(&mut Manifest)) -> Vec<u8> {
    let mut manifest = m.built.manifest.clone();
    change(&mut manifest);
    let text = serde_json::to_vec_pretty(&manifest).expect("json");
    let sig = signers::sign(&m.key, NAMESPACE, &text).expect("sign");
    rezipped(m, |files| {
        for (name, data) in files.iter_mut() {
            if name == MANIFEST {
                *data = text.clone();
            }
            if name == SIGNATURE {
                *data = sig.clone().into_bytes();
            }
        }
    })
}

#[test]
fn a_bundle_with_media_lists_them_and_verifies() {
    let m = made();
    let r = check(&m, &m.built.zip);
    assert!(r.ok && r.problems.is_empty(), "{}", problems(&r));
    assert_eq!(m.built.manifest.media.len(), 1);
    assert_eq!(m.built.manifest.media[0].path, PATH);
    assert!(entries(&m.built.zip).iter().any(|(n, _)| n == PATH));
    let json = String::from_utf8_lossy(&m.built.manifest_bytes).to_string();
    assert!(json.contains("\"media\""), "{json}");
}

#[test]
fn a_bundle_without_media_has_no_media_key() {
    let dm = age::x25519::Identity::generate().to_public();
    let records = [record(R1, &dm)];
    let plan = Plan {
        enumerator_id: "enum-03",
        device_id: DEVICE,
        sequence: 1,
        prev_manifest_sha256: NO_PREVIOUS,
        records: &records,
        forms: &forms(),
    };
    let built = build(&plan, &new_key()).expect("build");
    let json = String::from_utf8_lossy(&built.manifest_bytes).to_string();
    assert!(!json.contains("\"media\""), "{json}");
}

#[test]
fn altered_missing_and_unlisted_media_are_refused() {
    let m = made();
    let altered = rezipped(&m, |files| {
        for (name, data) in files.iter_mut() {
            if name == PATH {
                let last = data.len() - 1;
                data[last] ^= 1;
            }
        }
    });
    let r = check(&m, &altered);
    assert!(
        problems(&r).contains(&format!("entry hash mismatch: {PATH} was changed")),
        "{}",
        problems(&r)
    );
    let missing = rezipped(&m, |files| files.retain(|(n, _)| n != PATH));
    let r = check(&m, &missing);
    assert!(
        problems(&r).contains(&format!("missing entry {PATH}")),
        "{}",
        problems(&r)
    );
    let extra = format!("media/{R2}/photo-ffffffffffff.jpg.age");
    let unlisted = rezipped(&m, |files| files.push((extra.clone(), b"x".to_vec())));
    let r = check(&m, &unlisted);
    assert!(
        problems(&r).contains(&format!("extra entry {extra}")),
        "{}",
        problems(&r)
    );
}

#[test]
fn media_of_no_record_or_named_as_a_path_are_refused_even_when_signed() {
    let m = made();
    let stranger = "01a00000-0000-7000-8000-0000000000ff";
    let orphan = resigned(&m, |man| {
        man.media[0].record_id = stranger.into();
        man.media[0].path = media_path(stranger, &man.media[0].name);
    });
    let r = check(&m, &orphan);
    assert!(
        problems(&r).contains("which is not in the bundle"),
        "{}",
        problems(&r)
    );
    let path = resigned(&m, |man| {
        man.media[0].name = "../../etc/x".into();
    });
    let r = check(&m, &path);
    assert!(
        problems(&r).contains("is not named by its record id and a safe attachment name"),
        "{}",
        problems(&r)
    );
}

#[test]
fn every_single_byte_flip_of_a_bundle_with_media_fails() {
    // All positions: the media entry's bytes are pinned as the records' are.
    let m = made();
    for i in 0..m.built.zip.len() {
        let mut bytes = m.built.zip.clone();
        bytes[i] ^= 0x01;
        assert!(!check(&m, &bytes).ok, "flipping byte {i} went unnoticed");
    }
}
