//! Review views through the real binary: a finalized record's answers that
//! the form marks `review` are encrypted, in addition, to the deployment's
//! supervisors; bundles carry them as `review/<id>.age`; the supervisor's
//! own OpenSSH key opens them with the reference age CLI, and opens
//! nothing else (never the record itself).

use serde_json::Value;

use crate::bundle::{export, unzip, with_records};
use crate::support::{age_decrypt, fieldkit, have, repo, stderr};

#[test]
fn a_supervisor_reads_the_marked_answers_and_nothing_else() {
    let test = "a_supervisor_reads_the_marked_answers_and_nothing_else";
    let (e, signers) = with_records(2);
    let usb = e.dir.path().join("usb");
    let bundle = export(&e, &usb);
    let manifest: Value = serde_json::from_slice(&unzip(&bundle, "manifest.json")).unwrap();
    assert_eq!(manifest["format"], "fieldkit-bundle/2");
    let entries = manifest["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    for entry in entries {
        let id = entry["record_id"].as_str().unwrap();
        assert_eq!(entry["review"]["path"], format!("review/{id}.age"));
        assert!(entry.get("version").is_none(), "first versions say none");
    }
    let out = fieldkit(&[
        "verify",
        bundle.to_str().unwrap(),
        "--signers",
        signers.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    if !have("age", test) {
        return;
    }
    let supervisor = repo().join("keys/demo/supervisor");
    let data_manager = repo().join("keys/demo/data-manager.key");
    // age refuses a private key file others may read.
    let key = e.dir.path().join("supervisor");
    std::fs::copy(&supervisor, &key).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let form = std::fs::read_to_string(repo().join("forms/dtm_flow_monitoring.toml")).unwrap();
    let form: toml::Value = toml::from_str(&form).unwrap();
    let marked: Vec<&str> = form["survey"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.get("review").and_then(|v| v.as_str()) == Some("yes"))
        .filter_map(|r| r.get("name").and_then(|v| v.as_str()))
        .collect();
    for entry in entries {
        let id = entry["record_id"].as_str().unwrap();
        let review = unzip(&bundle, &format!("review/{id}.age"));
        let record = unzip(&bundle, entry["path"].as_str().unwrap());
        let view = age_decrypt(e.dir.path(), &key, &review).expect("the supervisor opens it");
        let view: Value = serde_json::from_slice(&view).unwrap();
        assert_eq!(view["format"], "fieldkit-review/1");
        assert_eq!(view["record_id"], id);
        assert_eq!(view["version"], 1);
        assert_eq!(view["enumerator_id"], "enum-03");
        let values = view["values"].as_object().unwrap();
        assert!(!values.is_empty());
        for name in values.keys() {
            assert!(
                marked.contains(&name.as_str()),
                "{name} is not marked review"
            );
        }
        // The record has free text the view must not: the place typed.
        let full = age_decrypt(e.dir.path(), &data_manager, &record).unwrap();
        let full: Value = serde_json::from_slice(&full).unwrap();
        let place = full["values"]["destination_place"].as_str().unwrap();
        assert!(place.starts_with("place "));
        let plain = serde_json::to_string(&view).unwrap();
        assert!(!plain.contains(place), "{plain}");
        assert!(view.get("instance_name").is_none());
        // The supervisor cannot open the record; the data manager can
        // not open the view (it is not theirs).
        assert!(age_decrypt(e.dir.path(), &key, &record).is_none());
        assert!(age_decrypt(e.dir.path(), &data_manager, &review).is_none());
    }
}

#[test]
fn a_changed_or_moved_review_view_fails_verification() {
    let (e, signers) = with_records(1);
    let usb = e.dir.path().join("usb");
    let bundle = export(&e, &usb);
    let manifest: Value = serde_json::from_slice(&unzip(&bundle, "manifest.json")).unwrap();
    let id = manifest["entries"][0]["record_id"].as_str().unwrap();
    let name = format!("review/{id}.age");
    // The zip rewritten with one byte of the review view flipped.
    let src = std::fs::File::open(&bundle).unwrap();
    let mut zip = zip::ZipArchive::new(src).unwrap();
    let changed = e.dir.path().join("changed.zip");
    let mut out = zip::ZipWriter::new(std::fs::File::create(&changed).unwrap());
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let file_name = f.name().unwrap().to_string();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut bytes).unwrap();
        if file_name == name {
            let at = bytes.len() - 5;
            bytes[at] ^= 1;
        }
        out.start_file(
            file_name.as_str(),
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored),
        )
        .unwrap();
        std::io::Write::write_all(&mut out, &bytes).unwrap();
    }
    out.finish().unwrap();
    let out = fieldkit(&[
        "verify",
        changed.to_str().unwrap(),
        "--signers",
        signers.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!("entry hash mismatch: {name} was changed")),
        "{said}"
    );
}
