//! Media questions end to end with the real binary: a form with a photo,
//! a PDF and a recording in a repeat filled by `fill` with the files'
//! paths, finalized, exported, verified (also `unzip -t`), aggregated:
//! the files under `media/` are byte for byte the originals and the
//! tables point to them; a tampered attachment in a bundle is refused by
//! verify; a file over the cap or of another type is refused by fill.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{Enumerator, demo_data_manager, fill_ok, have, repo, stderr};

pub(crate) const FORM: &str = r#"
[settings]
form_id = "media_check"
version = "1"
form_title = "Media check"

[[survey]]
type = "text"
name = "site"
label = "Site"

[[survey]]
type = "image"
name = "photo"
label = "Photo of the site"
required = "yes"

[[survey]]
type = "file"
name = "report"
label = "Report"
accept = ".pdf"

[[survey]]
type = "begin_repeat"
name = "talks"
label = "Talks"

[[survey]]
type = "audio"
name = "voice"
label = "Recording"

[[survey]]
type = "end_repeat"
"#;

/// A file of `len` bytes, the same for the same seed.
fn bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32 * 31 + seed as u32) as u8)
        .collect()
}

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&bytes[3..]);
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn attachments_go_from_fill_to_the_bundle_and_out_of_aggregate_unchanged() {
    let e = Enumerator::init("enum-07");
    let dir = tempfile::tempdir().unwrap();
    let form = dir.path().join("media_check.toml");
    std::fs::write(&form, FORM).unwrap();
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let photo = files.join("Site Photo.JPG");
    let report = files.join("report.pdf");
    let voice = files.join("talk.m4a");
    std::fs::write(&photo, bytes(1, 300_000)).unwrap();
    std::fs::write(&report, bytes(2, 5_000)).unwrap();
    std::fs::write(&voice, bytes(3, 70_000)).unwrap();
    let big = files.join("big.jpg");
    std::fs::write(&big, bytes(4, 2 * 1024 * 1024 + 1)).unwrap();
    let path = |p: &Path| p.to_str().unwrap().to_string();

    // Refused: over the cap (set to 2 MB here), and a type the question
    // does not take; nothing is saved of either.
    let refused = e
        .command(&["--max-attachment-mb", "2", "fill", form.to_str().unwrap()])
        .args(["--answers", "-", "--dry-run"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            let line = json!({"site": "A", "photo": path(&big), "report": path(&voice)});
            c.stdin
                .take()
                .unwrap()
                .write_all(format!("{line}\n").as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    let report_line: Value = serde_json::from_slice(&refused.stdout).unwrap();
    let messages: Vec<&str> = report_line["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["message"].as_str().unwrap())
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("over the 2 MB")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("it takes .pdf")),
        "{messages:?}"
    );

    let line = json!({
        "site": "Ban Nong",
        "photo": path(&photo),
        "report": path(&report),
        "talks": [{"voice": path(&voice)}],
    });
    let filled = fill_ok(
        &e,
        form.to_str().unwrap(),
        &format!("{line}\n"),
        &["--finalize"],
    );
    let record_id = filled["record_id"].as_str().unwrap().to_string();
    let photo_name = filled["values"]["photo"].as_str().unwrap().to_string();
    assert!(
        photo_name.starts_with("photo-") && photo_name.ends_with(".jpg"),
        "{photo_name}"
    );
    assert!(!filled.to_string().contains("files/"), "no path is kept");
    // Neither the files' bytes nor their paths are on disk in plain text.
    let photo_bytes = std::fs::read(&photo).unwrap();
    for needle in [&photo_bytes[1000..1064], b"Site Photo".as_slice()] {
        let mut stack = vec![e.home.clone()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap().flatten() {
                let p = entry.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let held = std::fs::read(&p).unwrap();
                    assert!(
                        !held.windows(needle.len()).any(|w| w == needle),
                        "{} holds an attachment's bytes or path in plain text",
                        p.display()
                    );
                }
            }
        }
    }

    let usb = dir.path().join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    let exported = e.run(&["export", "--out", usb.to_str().unwrap()]);
    assert_eq!(exported.status.code(), Some(0), "{}", stderr(&exported));
    let bundle = String::from_utf8_lossy(&exported.stdout).trim().to_string();
    // Written again byte for byte, attachments and all.
    let again = dir.path().join("again");
    std::fs::create_dir_all(&again).unwrap();
    let rewritten = e.run(&["export", "--again", "1", "--out", again.to_str().unwrap()]);
    assert_eq!(rewritten.status.code(), Some(0), "{}", stderr(&rewritten));
    let copy = String::from_utf8_lossy(&rewritten.stdout)
        .trim()
        .to_string();
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        std::fs::read(&bundle).unwrap()
    );
    let signers = dir.path().join("allowed_signers");
    std::fs::write(&signers, format!("{}\n", e.signers_line)).unwrap();
    let verified =
        crate::support::fieldkit(&["verify", "--signers", signers.to_str().unwrap(), &bundle]);
    assert_eq!(verified.status.code(), Some(0), "{}", stderr(&verified));
    if have("unzip", "attachments_go_from_fill_to_the_bundle") {
        let t = std::process::Command::new("unzip")
            .args(["-t", &bundle])
            .output()
            .unwrap();
        assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stdout));
        let listed = std::process::Command::new("unzip")
            .args(["-l", &bundle])
            .output()
            .unwrap();
        let listed = String::from_utf8_lossy(&listed.stdout);
        assert!(
            listed.contains(&format!("media/{record_id}/{photo_name}.age")),
            "{listed}"
        );
    }

    let tables = dir.path().join("tables");
    let run = crate::support::fieldkit(&[
        "aggregate",
        "--identity",
        repo().join("keys/demo/data-manager.key").to_str().unwrap(),
        "--out",
        tables.to_str().unwrap(),
        "--signers",
        signers.to_str().unwrap(),
        &bundle,
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let media = tables.join("media").join(&record_id);
    assert_eq!(
        std::fs::read(media.join(&photo_name)).unwrap(),
        std::fs::read(&photo).unwrap()
    );
    let mut written: Vec<String> = std::fs::read_dir(&media)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(written.len(), 3, "{written:?}");
    for (name, original) in written.iter().zip([&photo, &report, &voice]) {
        assert_eq!(
            std::fs::read(media.join(name)).unwrap(),
            std::fs::read(original).unwrap(),
            "{name}"
        );
    }
    let main = read_csv(&tables.join("media_check.csv"));
    let col = main[0].iter().position(|h| h == "photo").unwrap();
    assert_eq!(main[1][col], format!("media/{record_id}/{photo_name}"));
    let talks = read_csv(&tables.join("media_check__talks.csv"));
    let col = talks[0].iter().position(|h| h == "voice").unwrap();
    assert!(talks[1][col].starts_with(&format!("media/{record_id}/voice-")));

    // A flipped byte in an attachment: verify refuses the bundle.
    let mut zip = std::fs::read(&bundle).unwrap();
    let name = format!("media/{record_id}/{photo_name}.age");
    // The name is in the manifest, then the entry's own header.
    let at = zip
        .windows(name.len())
        .enumerate()
        .filter(|(_, w)| *w == name.as_bytes())
        .map(|(i, _)| i)
        .nth(1)
        .unwrap();
    zip[at + name.len() + 1000] ^= 1;
    let tampered = dir.path().join("tampered.zip");
    std::fs::write(&tampered, &zip).unwrap();
    let refused = crate::support::fieldkit(&[
        "verify",
        "--signers",
        signers.to_str().unwrap(),
        tampered.to_str().unwrap(),
    ]);
    assert_ne!(refused.status.code(), Some(0));
    let said = String::from_utf8_lossy(&refused.stdout).to_string() + &stderr(&refused);
    assert!(said.contains(&photo_name), "{said}");
}

/// The picker in a real terminal (tmux, 80x24): a file question opens it
/// in the home folder; typing filters; a folder opens; a file over the cap
/// is refused with its message; a file is picked, the record finalized,
/// and its attachment is in the store, encrypted to the data managers.
#[test]
fn the_picker_browses_refuses_an_oversized_file_and_attaches_one() {
    if !have("tmux", "the_picker_browses_refuses_an_oversized_file") {
        return;
    }
    let e = Enumerator::init("enum-08");
    let forms = e.dir.path().join("forms");
    std::fs::create_dir_all(&forms).unwrap();
    std::fs::write(
        forms.join("media_check.toml"),
        "[settings]\nform_id = \"media_check\"\nversion = \"1\"\nform_title = \"Media check\"\n\n\
         [[survey]]\ntype = \"text\"\nname = \"site\"\nlabel = \"Site name\"\n\n\
         [[survey]]\ntype = \"image\"\nname = \"photo\"\nlabel = \"Photo of the site\"\n\
         required = \"yes\"\n",
    )
    .unwrap();
    // The person's home folder, where the picker starts.
    let user = e.dir.path().join("user");
    let photos = user.join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    std::fs::write(user.join("readme.txt"), "notes").unwrap();
    std::fs::write(photos.join("big.jpg"), bytes(5, 11 * 1024 * 1024)).unwrap();
    let site = bytes(6, 40_000);
    std::fs::write(photos.join("site.jpg"), &site).unwrap();
    let log = e.dir.path().join("picker.stderr");
    let cmd = format!(
        "cd '{}' && unset FIELDKIT_HOME FIELDKIT_FORMS FIELDKIT_MAX_ATTACHMENT_MB; \
         HOME='{}' FIELDKIT_NOW='2026-11-22T09:00:00+07:00' \
         XDG_DATA_HOME=/nonexistent/fieldkit-tests \
         exec '{}' --home '{}' --passphrase-file '{}' --forms '{}' 2>'{}'",
        repo().display(),
        user.display(),
        env!("CARGO_BIN_EXE_fieldkit"),
        e.home.display(),
        e.passphrase_file.display(),
        forms.display(),
        log.display()
    );
    let term = crate::support::Tmux::start("picker", &cmd, 80, 24);
    let see = |text: &str| {
        assert!(
            term.wait_for(text),
            "waited for '{text}'; the screen shows:\n{}\n--- stderr:\n{}",
            term.screen(),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    };
    see("Media check");
    term.send("", &["Enter"]);
    see("Site name");
    term.send("Ban Nong", &["Enter"]);
    see("no file attached");
    see("Space attach");
    term.send(" ", &[]);
    see("Attach a file");
    see("readme.txt");
    see("photos/");
    // Typing filters; Enter opens the folder.
    term.send("pho", &[]);
    assert!(wait_gone(&term, "readme.txt"), "{}", term.screen());
    term.send("", &["Enter"]);
    see("site.jpg");
    see("big.jpg");
    // ../, big.jpg, site.jpg: the big one is refused with its size.
    term.send("", &["Down", "Enter"]);
    see("over the 10 MB");
    term.send("", &["Down", "Enter"]);
    // Its name and size on the question (the status line then says saved).
    see(".jpg (39.1 KB)");
    assert!(term.screen().contains("= photo-"), "{}", term.screen());
    term.send("", &["Enter"]);
    see("Finalize (Enter)");
    term.send("", &["Enter"]);
    see("Record finalized");
    term.send("q", &[]);
    assert!(
        crate::support::wait_until(
            || term.screen().trim().is_empty() || !term.screen().contains("fieldkit")
        ),
        "{}",
        term.screen()
    );
    drop(term);
    // The record and its photo, encrypted to the data managers (once the
    // program has let go of the store).
    assert!(crate::support::wait_until(|| {
        std::panic::catch_unwind(|| e.open()).is_ok()
    }));
    let store = e.open();
    let ids = store.outbox_ids().unwrap();
    assert_eq!(ids.len(), 1);
    let kept = store.record_attachments(&ids[0]).unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let dm = demo_data_manager();
    assert_eq!(
        *fieldkit::crypt::decrypt_with(&dm, &kept[0].1).unwrap(),
        site
    );
}

/// Waits up to ten seconds for `text` to leave the screen.
fn wait_gone(term: &crate::support::Tmux, text: &str) -> bool {
    crate::support::wait_until(|| !term.screen().contains(text))
}

/// A record whose attachments are missing from its bundle or altered
/// (signed by its laptop, so the bundle verifies): aggregate names each
/// as a problem and writes neither.
#[test]
fn a_missing_or_altered_attachment_is_a_named_problem_in_aggregate() {
    use std::borrow::Cow;
    let e = Enumerator::init("enum-09");
    let dir = tempfile::tempdir().unwrap();
    let store = e.open();
    let key = std::fs::read_to_string(repo().join("keys/recipients.txt")).unwrap();
    let recipients = fieldkit::crypt::parse_recipients(&key).unwrap();
    let id = "01a00000-0000-7000-8000-0000000000a1";
    let sha = fieldkit::crypt::sha256_hex;
    let public = store.profile().public.clone();
    let plain = json!({
        "format": "fieldkit-record/1",
        "record_id": id,
        "form_id": "media_check",
        "form_version": "1",
        "enumerator_id": public.enumerator_id,
        "device_id": public.device_id,
        "finalized_at": "2026-11-22T11:00:00.000+07:00",
        "values": {
            "site": "Ban Nong",
            "photo": "photo-aaaaaaaaaaaa.jpg",
            "report": "report-bbbbbbbbbbbb.pdf"
        },
        "attachments": [
            {"name": "photo-aaaaaaaaaaaa.jpg", "size": 5, "sha256": sha(b"hello")},
            {"name": "report-bbbbbbbbbbbb.pdf", "size": 3, "sha256": sha(b"pdf")}
        ]
    });
    let record = fieldkit::crypt::encrypt_to(&recipients, plain.to_string().as_bytes()).unwrap();
    // The photo's bytes are not the ones the record names; the report is
    // not carried at all.
    let photo = fieldkit::crypt::encrypt_to(&recipients, b"HELLO").unwrap();
    let form = FORM.as_bytes().to_vec();
    let forms = vec![("media_check".to_string(), "1".to_string(), sha(&form), form)];
    let entry = fieldkit::bundle::entry_of(
        id,
        "media_check",
        "1",
        "2026-11-22T11:00:00.000+07:00",
        &record,
    );
    let plan = fieldkit::bundle::Streamed {
        enumerator_id: &public.enumerator_id,
        device_id: &public.device_id,
        sequence: 1,
        prev_manifest_sha256: fieldkit::bundle::NO_PREVIOUS,
        entries: vec![entry],
        forms: &forms,
        media: vec![fieldkit::bundle::media_entry_of(
            id,
            "photo-aaaaaaaaaaaa.jpg",
            &photo,
        )],
    };
    let built = fieldkit::bundle::build_with_media(
        plan,
        &store.profile().signing_key,
        &mut |_| Ok(Cow::Owned(record.clone())),
        &mut |_| Ok(Cow::Owned(photo.clone())),
    )
    .unwrap();
    drop(store);
    let usb = dir.path().join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    let bundle = usb.join(fieldkit::bundle::file_name(
        &public.enumerator_id,
        &public.device_id,
        1,
    ));
    std::fs::write(&bundle, &built.zip).unwrap();
    let signers = dir.path().join("allowed_signers");
    std::fs::write(&signers, format!("{}\n", e.signers_line)).unwrap();
    let tables = dir.path().join("tables");
    let run = crate::support::fieldkit(&[
        "aggregate",
        "--identity",
        repo().join("keys/demo/data-manager.key").to_str().unwrap(),
        "--out",
        tables.to_str().unwrap(),
        "--signers",
        signers.to_str().unwrap(),
        bundle.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let summary: Value =
        serde_json::from_slice(&std::fs::read(tables.join("summary.json")).unwrap()).unwrap();
    let problems = summary["media_problems"].to_string();
    assert!(
        problems.contains("photo-aaaaaaaaaaaa.jpg: its bytes are not the ones the record names"),
        "{problems}"
    );
    assert!(
        problems.contains("report-bbbbbbbbbbbb.pdf: the bundle does not carry it"),
        "{problems}"
    );
    assert!(stderr(&run).contains("media: record"), "{}", stderr(&run));
    assert!(
        !tables
            .join("media")
            .join(id)
            .join("photo-aaaaaaaaaaaa.jpg")
            .exists()
    );
    // The record itself is kept in the table.
    let main = read_csv(&tables.join("media_check.csv"));
    assert_eq!(main.len(), 2, "{main:?}");
}
