//! Round packs through the real binary: a deployment signer's key from
//! `keygen`, `pack build` of the shipped forms and keys, `pack verify`,
//! the standard tools (`unzip -t`, `ssh-keygen -Y verify`) on the same
//! pack, the next pack chained with `--previous`, and what is refused.

use std::path::{Path, PathBuf};

use crate::support::{fieldkit, have, repo, stderr};

struct Deployment {
    dir: tempfile::TempDir,
    key: PathBuf,
    signers: PathBuf,
    usb: PathBuf,
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A deployment signer made by `keygen`, its signers file from the line
/// keygen prints, and an empty stick.
fn deployment() -> Deployment {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("office.key");
    let out = fieldkit(&[
        "keygen",
        "--role",
        "deployment",
        "--id",
        "dtm-office",
        "--out",
        s(&key),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let line = stderr(&out)
        .lines()
        .find(|l| l.starts_with("dtm-office namespaces=\"fieldkit-pack\" ssh-ed25519 "))
        .expect("the deployment_signers line")
        .to_string();
    let signers = dir.path().join("deployment_signers");
    std::fs::write(&signers, format!("{line}\n")).unwrap();
    let usb = dir.path().join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    Deployment {
        dir,
        key,
        signers,
        usb,
    }
}

fn build(d: &Deployment, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["pack", "build", "--key", s(&d.key), "--out", s(&d.usb)];
    args.extend_from_slice(extra);
    fieldkit(&args)
}

fn built(out: &std::process::Output) -> PathBuf {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn round_one(d: &Deployment) -> PathBuf {
    let keys = repo().join("keys");
    built(&build(
        d,
        &[
            "--deployment",
            "dtm-lao",
            "--round",
            "R1-2026",
            "--forms",
            s(&repo().join("forms")),
            "--recipients",
            s(&keys.join("recipients.txt")),
            "--signers",
            s(&keys.join("allowed_signers")),
            "--supervisors",
            s(&keys.join("supervisors")),
        ],
    ))
}

fn verify(d: &Deployment, pack: &Path) -> (Option<i32>, serde_json::Value) {
    let out = fieldkit(&[
        "pack",
        "verify",
        "--json",
        "--signers",
        s(&d.signers),
        s(pack),
    ]);
    let report =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    (out.status.code(), report)
}

fn unzip(pack: &Path, entry: &str) -> Vec<u8> {
    crate::bundle::unzip(pack, entry)
}

#[test]
fn a_pack_is_built_verified_and_chained_and_standard_tools_agree() {
    let d = deployment();
    let one = round_one(&d);
    assert_eq!(one.file_name().unwrap(), "fieldkit-pack-dtm-lao-000001.zip");
    let (code, report) = verify(&d, &one);
    assert_eq!(code, Some(0), "{report:#}");
    let p = &report["packs"][0];
    assert_eq!(p["signed_by"], "dtm-office");
    assert_eq!(p["round"], "R1-2026");
    assert_eq!(p["sequence"], 1);
    // Every shipped form and list, and the three keys files.
    let shipped = std::fs::read_dir(repo().join("forms"))
        .unwrap()
        .filter(|e| {
            let p = e.as_ref().unwrap().path();
            p.extension().is_some_and(|x| x == "toml" || x == "csv")
        })
        .count();
    assert_eq!(p["files"], shipped + 3, "{p:#}");
    assert_eq!(
        unzip(&one, "forms/lao_villages.csv"),
        std::fs::read(repo().join("forms/lao_villages.csv")).unwrap()
    );

    // The standard tools, as the README says.
    if have("unzip", "pack::standard_tools") {
        let out = std::process::Command::new("unzip")
            .args(["-tq", s(&one)])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    if have("ssh-keygen", "pack::standard_tools") {
        let out = crate::bundle::ssh_keygen_verify_as(
            &one,
            &d.signers,
            "dtm-office",
            "fieldkit-pack",
            d.dir.path(),
            &[],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        // And every file's hash is the manifest's.
        let manifest: serde_json::Value =
            serde_json::from_slice(&unzip(&one, "manifest.json")).unwrap();
        for e in manifest["entries"].as_array().unwrap() {
            let data = unzip(&one, e["path"].as_str().unwrap());
            assert_eq!(
                fieldkit::crypt::sha256_hex(&data),
                e["sha256"].as_str().unwrap()
            );
        }
    }

    // The next round: chained to the first by --previous.
    let two = built(&build(
        &d,
        &[
            "--previous",
            s(&one),
            "--round",
            "R2-2026",
            "--forms",
            s(&repo().join("forms")),
        ],
    ));
    assert_eq!(two.file_name().unwrap(), "fieldkit-pack-dtm-lao-000002.zip");
    assert_eq!(verify(&d, &two).0, Some(0));
    let m1 = unzip(&one, "manifest.json");
    let m2: serde_json::Value = serde_json::from_slice(&unzip(&two, "manifest.json")).unwrap();
    assert_eq!(m2["sequence"], 2);
    assert_eq!(m2["prev_pack_sha256"], fieldkit::crypt::sha256_hex(&m1));
    assert_eq!(m2["deployment"], "dtm-lao");
}

#[test]
fn bad_packs_and_bad_inputs_are_refused_and_nothing_is_written() {
    let d = deployment();
    let one = round_one(&d);
    let first = std::fs::read(&one).unwrap();
    // A changed byte in a form.
    let mut bytes = std::fs::read(&one).unwrap();
    let name = b"forms/dtm_baseline.toml";
    let at = bytes.windows(name.len()).position(|w| w == name).unwrap();
    bytes[at + name.len() + 200] ^= 0x20;
    let changed = d.dir.path().join("changed.zip");
    std::fs::write(&changed, &bytes).unwrap();
    let (code, report) = verify(&d, &changed);
    assert_eq!(code, Some(1), "{report:#}");
    // A pack signed with a key that is not a deployment signer (the demo
    // supervisor's): refused by name.
    let sup = Deployment {
        key: repo().join("keys/demo/supervisor"),
        usb: d.dir.path().join("usb2"),
        dir: tempfile::tempdir().unwrap(),
        signers: d.signers.clone(),
    };
    std::fs::create_dir_all(&sup.usb).unwrap();
    let other = built(&build(
        &sup,
        &[
            "--deployment",
            "dtm-lao",
            "--forms",
            s(&repo().join("forms")),
        ],
    ));
    let (code, report) = verify(&d, &other);
    assert_eq!(code, Some(1));
    assert!(
        report["packs"][0]["problems"][0]
            .as_str()
            .unwrap()
            .starts_with("unknown signer"),
        "{report:#}"
    );

    // Build refuses, writing nothing: a form that does not load, a
    // recipients file that is not one, no deployment, an age key as key.
    let broken = d.dir.path().join("broken-forms");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(
        broken.join("x.toml"),
        "[settings]\nform_id = \"x\"\nversion = \"1\"\n\n[[survey]]\ntype = \"integer\"\nname = \"a\"\nlabel = \"A\"\nrelevant = \"${nope} > 1\"\n",
    )
    .unwrap();
    let empty = d.dir.path().join("empty-usb");
    std::fs::create_dir_all(&empty).unwrap();
    let d2 = Deployment {
        usb: empty.clone(),
        key: d.key.clone(),
        signers: d.signers.clone(),
        dir: tempfile::tempdir().unwrap(),
    };
    let (forms, signers_file) = (repo().join("forms"), repo().join("keys/allowed_signers"));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--deployment", "dtm-lao", "--forms", s(&broken)],
            "does not load",
        ),
        (
            vec!["--deployment", "dtm-lao", "--recipients", s(&signers_file)],
            "recipients",
        ),
        (vec!["--forms", s(&forms)], "--deployment"),
        (
            vec!["--deployment", "dtm-lao"],
            "nothing to put in the pack",
        ),
        (
            vec!["--deployment", "dtm/lao", "--forms", s(&forms)],
            "deployment id",
        ),
    ];
    for (args, said) in cases {
        let out = build(&d2, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(said), "{args:?}: {}", stderr(&out));
    }
    let out = fieldkit(&[
        "pack",
        "build",
        "--key",
        s(&repo().join("keys/demo/data-manager.key")),
        "--out",
        s(&empty),
        "--deployment",
        "dtm-lao",
        "--forms",
        s(&repo().join("forms")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("an age identity"), "{}", stderr(&out));
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
    // The same pack twice: never overwritten.
    let out = build(
        &d,
        &[
            "--deployment",
            "dtm-lao",
            "--forms",
            s(&repo().join("forms")),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(&one).unwrap(),
        first,
        "the first pack is as it was"
    );
}

/// The DEMO deployment signer (pinned by `init` from the repository's
/// keys/deployment_signers) building packs of the shipped forms.
fn demo_office() -> Deployment {
    let dir = tempfile::tempdir().unwrap();
    let usb = dir.path().join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    Deployment {
        key: repo().join("keys/demo/deployment"),
        signers: repo().join("keys/deployment_signers"),
        usb,
        dir,
    }
}

/// Packs 1..=n of `dtm-lao`, each chained to the one before.
fn chain(d: &Deployment, n: usize) -> Vec<PathBuf> {
    let forms = repo().join("forms");
    let mut packs: Vec<PathBuf> = Vec::new();
    for i in 0..n {
        let round = format!("R{}-2026", i + 1);
        let mut args = vec!["--round", round.as_str(), "--forms", s(&forms)];
        let prev;
        if let Some(last) = packs.last() {
            prev = last.clone();
            args.extend(["--previous", s(&prev)]);
        } else {
            args.extend(["--deployment", "dtm-lao"]);
        }
        packs.push(built(&build(d, &args)));
    }
    packs
}

fn import(e: &crate::support::Enumerator, pack: &Path) -> std::process::Output {
    e.run(&["pack", "import", s(pack)])
}

#[test]
fn a_laptop_imports_packs_in_order_and_refuses_the_rest_with_nothing_installed() {
    let e = crate::support::Enumerator::init("enum-04");
    let store = e.open();
    assert!(
        store
            .pinned_signers()
            .unwrap()
            .unwrap()
            .contains("demo-deployment"),
        "init pinned keys/deployment_signers"
    );
    assert_eq!(store.installed_pack().unwrap(), None);
    drop(store);
    let office = demo_office();
    let packs = chain(&office, 3);

    let out = import(&e, &packs[0]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("added forms/dtm_baseline.toml"), "{said}");
    assert!(stderr(&out).contains("pack 1 of 'dtm-lao' (round R1-2026) installed"));
    let store = e.open();
    let installed = store.installed_pack().unwrap().unwrap();
    assert_eq!(
        (installed.sequence, installed.round.as_str()),
        (1, "R1-2026")
    );
    assert_eq!(
        store.pack_file("forms/lao_villages.csv").unwrap().unwrap(),
        std::fs::read(repo().join("forms/lao_villages.csv")).unwrap()
    );
    drop(store);

    // Refused, each by name, the installed pack as it was.
    let stranger = deployment();
    let foreign = built(&build(
        &stranger,
        &[
            "--deployment",
            "dtm-lao",
            "--forms",
            s(&repo().join("forms")),
        ],
    ));
    let mut flipped = std::fs::read(&packs[1]).unwrap();
    let at = flipped.len() / 3;
    flipped[at] ^= 0x04;
    let flipped_file = e.dir.path().join("flipped.zip");
    std::fs::write(&flipped_file, flipped).unwrap();
    for (pack, said) in [
        (&packs[0], "a replay"),
        (&foreign, "unknown signer"),
        (&flipped_file, ""),
    ] {
        let out = import(&e, pack);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).contains(said), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("nothing installed"),
            "{}",
            stderr(&out)
        );
        assert_eq!(e.open().installed_pack().unwrap().unwrap().sequence, 1);
    }

    // Pack 3 after pack 1 (pack 2 missed): taken; then pack 2 is older.
    let out = import(&e, &packs[2]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("0 changed, 0 removed"),
        "{}",
        stderr(&out)
    );
    let out = import(&e, &packs[1]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("an older pack"), "{}", stderr(&out));
    let store = e.open();
    assert_eq!(store.installed_pack().unwrap().unwrap().sequence, 3);
    let events: Vec<String> = store
        .audit()
        .unwrap()
        .into_iter()
        .map(|ev| ev.event)
        .collect();
    assert_eq!(
        events.iter().filter(|ev| *ev == "pack installed").count(),
        2,
        "{events:?}"
    );
}

#[test]
fn signers_are_pinned_once_and_a_laptop_without_them_takes_no_pack() {
    let e = crate::support::Enumerator::init("enum-05");
    let office = demo_office();
    let pack = chain(&office, 1).remove(0);
    // Pinned at init: pinning again is refused.
    let out = e.run(&[
        "pack",
        "import",
        s(&pack),
        "--pin-signers",
        s(&repo().join("keys/deployment_signers")),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("pinned already"), "{}", stderr(&out));
    assert_eq!(e.open().installed_pack().unwrap(), None);

    // A profile made where no deployment signers were pinned (an empty
    // signers file given): no pack until an administrator pins them.
    let dir = tempfile::tempdir().unwrap();
    let none = dir.path().join("none");
    std::fs::write(&none, "# no signers yet\n").unwrap();
    let home = dir.path().join("home");
    let pass = dir.path().join("pass");
    std::fs::write(&pass, format!("{}\n", crate::support::PASSPHRASE)).unwrap();
    let run = |args: &[&str]| {
        let mut all = vec!["--home", s(&home), "--passphrase-file", s(&pass)];
        all.extend_from_slice(args);
        fieldkit(&all)
    };
    let out = run(&[
        "init",
        "--enumerator",
        "enum-06",
        "--deployment-signers",
        s(&none),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // An empty file pins an empty list: nobody's pack verifies.
    let out = run(&["pack", "import", s(&pack)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("unknown signer"), "{}", stderr(&out));
}

#[test]
fn a_laptop_killed_mid_import_is_on_the_old_pack_or_the_new_one() {
    const ROUNDS: usize = 20;
    let e = crate::support::Enumerator::init("enum-07");
    let office = demo_office();
    let packs = chain(&office, ROUNDS);
    let seed = crate::crash::seed();
    let mut rng = crate::crash::Rng(seed);
    let mut at = 0u64;
    for (round, pack) in packs.iter().enumerate() {
        let mut child = e
            .command(&["pack", "import", s(pack)])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // An import takes about half a second here (debug build): kills
        // land from before the unlock to after the install.
        std::thread::sleep(std::time::Duration::from_micros(rng.below(800_000)));
        let _ = child.kill();
        let status = child.wait().unwrap();
        // Whatever the moment: the pack before or this one, whole.
        let store = e.open();
        let installed = store.installed_pack().unwrap();
        let now = installed.as_ref().map_or(0, |p| p.sequence);
        assert!(
            now == at || now == round as u64 + 1,
            "round {round} (seed {seed}, {status}): pack {now} installed, was {at}"
        );
        if let Some(p) = &installed {
            for entry in &p.entries {
                assert!(
                    store.pack_file(&entry.path).unwrap().is_some(),
                    "round {round} (seed {seed}): {} is not whole",
                    entry.path
                );
            }
        }
        at = now;
        drop(store);
        // A pack killed before it was installed is taken by the next try
        // (once sled's threads let go of the store opened here: they may
        // hold it a moment after the drop, and the import says "in use").
        if at != round as u64 + 1 {
            let mut out = import(&e, pack);
            for _ in 0..200 {
                if !stderr(&out).contains("in use by another fieldkit") {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(25));
                out = import(&e, pack);
            }
            assert_eq!(out.status.code(), Some(0), "seed {seed}: {}", stderr(&out));
            at = round as u64 + 1;
        }
    }
}

#[test]
fn records_finalized_after_an_import_go_to_the_packs_recipients_and_earlier_ones_stay() {
    let e = crate::support::Enumerator::init("enum-08");
    let office = demo_office();
    // Round 1: finalized before any pack, to the profile's (demo) recipient.
    let record = crate::cli::readme_fill_example() + "\n";
    let out = e.fill("dtm_flow_monitoring", &record, &["--finalize"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A new data manager: the round-2 pack carries only their key.
    let dm = age::x25519::Identity::generate();
    let recipients = office.dir.path().join("recipients.txt");
    std::fs::write(&recipients, format!("# round 2\n{}\n", dm.to_public())).unwrap();
    let pack = built(&build(
        &office,
        &["--deployment", "dtm-lao", "--recipients", s(&recipients)],
    ));
    let out = import(&e, &pack);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = e.fill("dtm_flow_monitoring", &record, &["--finalize"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let demo: age::x25519::Identity =
        std::fs::read_to_string(repo().join("keys/demo/data-manager.key"))
            .unwrap()
            .lines()
            .find(|l| l.starts_with("AGE-SECRET-KEY-"))
            .unwrap()
            .parse()
            .unwrap();
    let store = e.open();
    let outbox = store.records(fieldkit::store::State::Outbox).unwrap();
    assert_eq!(outbox.len(), 2);
    // Ids are UUIDv7: the older record first.
    let opens = |id: &age::x25519::Identity, data: &[u8]| age::decrypt(id, data).is_ok();
    assert!(opens(&demo, &outbox[0].1) && !opens(&dm, &outbox[0].1));
    assert!(opens(&dm, &outbox[1].1) && !opens(&demo, &outbox[1].1));

    // A pack whose recipients file lists nobody is refused, nothing installed.
    let entries = vec![("keys/recipients.txt".to_string(), b"# nobody\n".to_vec())];
    let key = ssh_key::PrivateKey::from_openssh(
        std::fs::read_to_string(repo().join("keys/demo/deployment")).unwrap(),
    )
    .unwrap();
    let installed = store.installed_pack().unwrap().unwrap();
    drop(store);
    let empty = fieldkit::pack::build(
        fieldkit::pack::Plan {
            deployment: "dtm-lao",
            sequence: 2,
            prev_pack_sha256: &installed.manifest_sha256,
            round: "",
            created_at: "2026-12-01T09:00:00+07:00",
            files: entries,
        },
        &key,
    )
    .unwrap();
    let file = office.dir.path().join("empty.zip");
    std::fs::write(&file, &empty.zip).unwrap();
    let out = import(&e, &file);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("no recipients"), "{}", stderr(&out));
    assert_eq!(e.open().installed_pack().unwrap().unwrap().sequence, 1);
    // status (no passphrase) names the pack and whose recipients are used.
    let status = e.status();
    assert_eq!(status["pack"]["sequence"], 1);
    assert_eq!(status["pack"]["recipients_from_pack"], true);
    let out = fieldkit(&["--home", s(&e.home), "status"]);
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("round pack: 1 of 'dtm-lao', installed 2026-11-22T09:00:00"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Round 2's forms: the flow monitoring form with a new version and title
/// and the lists it reads (and no other form), in a folder of its own.
fn round_two_forms(dir: &Path) -> PathBuf {
    let forms = dir.join("r2-forms");
    std::fs::create_dir_all(&forms).unwrap();
    let text = std::fs::read_to_string(repo().join("forms/dtm_flow_monitoring.toml"))
        .unwrap()
        .replace("version = \"2026.1\"", "version = \"2026.2\"")
        .replace(
            "\"DTM Flow Monitoring Survey (travellers)\"",
            "\"DTM Flow Monitoring Survey R2\"",
        );
    assert!(text.contains("2026.2") && text.contains("Survey R2"));
    std::fs::write(forms.join("dtm_flow_monitoring.toml"), text).unwrap();
    for list in ["lao_adm1.csv", "lao_adm2.csv"] {
        std::fs::copy(repo().join("forms").join(list), forms.join(list)).unwrap();
    }
    forms
}

/// The first pack of `dtm-lao`, for round R2, with [`round_two_forms`].
fn round_two_pack(office: &Deployment) -> PathBuf {
    let forms = round_two_forms(office.dir.path());
    built(&build(
        office,
        &[
            "--deployment",
            "dtm-lao",
            "--round",
            "R2",
            "--forms",
            s(&forms),
        ],
    ))
}

#[test]
fn a_laptop_with_a_pack_offers_the_packs_forms_and_only_them() {
    let e = crate::support::Enumerator::init("enum-09");
    let office = demo_office();
    let pack = round_two_pack(&office);
    let record = crate::cli::readme_fill_example() + "\n";
    // Before the pack: the shipped form, version 2026.1.
    let version = |out: &std::process::Output| {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let id = report["record_id"].as_str().unwrap().to_string();
        e.open().load_draft(&id).unwrap().form_version
    };
    assert_eq!(
        version(&e.fill("dtm_flow_monitoring", &record, &[])),
        "2026.1"
    );
    let out = import(&e, &pack);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        version(&e.fill("dtm_flow_monitoring", &record, &[])),
        "2026.2"
    );
    // Forms the pack does not carry, or a form file beside it: refused.
    let out = e.fill("dtm_baseline", "{}\n", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let path = repo().join("forms/dtm_flow_monitoring.toml");
    let out = e.fill(s(&path), &record, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("round pack only"), "{}", stderr(&out));
    // The copy the loader reads is put back when edited.
    let copy = e.home.join("pack/1/dtm_flow_monitoring.toml");
    std::fs::write(&copy, "tampered").unwrap();
    assert_eq!(
        version(&e.fill("dtm_flow_monitoring", &record, &[])),
        "2026.2"
    );

    // The screen offers the pack's form, by its new title, and not the others.
    if !have("tmux", "pack::screen") {
        return;
    }
    let term = screen(&e, "pack-forms");
    assert!(term.wait_for("Survey R2"), "{}", term.screen());
    let screen = term.screen();
    assert!(
        !screen.contains("Baseline") && !screen.contains("Site Assessment"),
        "{screen}"
    );
}

#[test]
fn a_pack_is_taken_from_the_home_page_in_a_real_terminal() {
    let test = "pack::a_pack_is_taken_from_the_home_page_in_a_real_terminal";
    if !have("tmux", test) {
        return;
    }
    let e = crate::support::Enumerator::init("enum-10");
    let office = demo_office();
    let pack = round_two_pack(&office);
    let term = screen(&e, "pack-import");
    assert!(term.wait_for("Site Assessment"), "{}", term.screen());
    // The top bar says which keys records go to: setup's, no pack yet.
    assert!(
        term.wait_for("no pack · keys: setup (1)"),
        "{}",
        term.screen()
    );
    term.send("p", &[]);
    assert!(term.wait_for("Pack file"), "{}", term.screen());
    term.send(s(&pack), &["Enter"]);
    assert!(
        term.wait_for("pack 1 of 'dtm-lao' (round R2) installed"),
        "{}",
        term.screen()
    );
    // The home page now offers the pack's form only, and the top bar
    // names the pack (which brings no keys: setup's stay).
    assert!(term.wait_for("Survey R2"), "{}", term.screen());
    assert!(
        term.wait_for("pack 1 (R2) · keys: setup (1)"),
        "{}",
        term.screen()
    );
    assert!(
        !term.screen().contains("Site Assessment"),
        "{}",
        term.screen()
    );
    term.send("q", &[]);
    drop(term);
    assert!(crate::support::wait_until(|| {
        std::panic::catch_unwind(|| e.open()).is_ok()
    }));
    assert_eq!(e.open().installed_pack().unwrap().unwrap().sequence, 1);
}

/// The enumerator's screen on `e`'s profile, unlocked, in an 80x24 tmux.
fn screen(e: &crate::support::Enumerator, name: &str) -> crate::support::Tmux {
    let cmd = format!(
        "cd '{}' && unset FIELDKIT_HOME FIELDKIT_FORMS; exec '{}' --home '{}' --passphrase-file '{}' 2>/dev/null",
        repo().display(),
        env!("CARGO_BIN_EXE_fieldkit"),
        e.home.display(),
        e.passphrase_file.display(),
    );
    crate::support::Tmux::start(name, &cmd, 80, 24)
}

/// The round loop as the issue tells it: round 1's records under pack 1,
/// aggregated; round 2's pack adds a question, extends a choice list and
/// brings a new data manager, taken on the home page; a round-1 draft
/// keeps its form; round 2's record goes to the new key; both bundles
/// verify as one chain and aggregate into one table with both versions.
#[test]
fn two_rounds_through_packs_bundles_and_tables() {
    let test = "pack::two_rounds_through_packs_bundles_and_tables";
    let e = crate::support::Enumerator::init("enum-11");
    let office = demo_office();
    let d = office.dir.path();
    let one = built(&build(
        &office,
        &[
            "--deployment",
            "dtm-lao",
            "--round",
            "R1",
            "--forms",
            s(&repo().join("forms")),
        ],
    ));
    assert_eq!(import(&e, &one).status.code(), Some(0));

    // Round 1: a record finalized, another left as a draft; exported.
    let record = crate::cli::readme_fill_example() + "\n";
    assert_eq!(
        e.fill("dtm_flow_monitoring", &record, &["--finalize"])
            .status
            .code(),
        Some(0)
    );
    let out = e.fill("dtm_flow_monitoring", &record, &[]);
    let draft: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let draft_id = draft["record_id"].as_str().unwrap().to_string();
    let usb = d.join("stick");
    std::fs::create_dir_all(&usb).unwrap();
    let out = e.run(&["export", "--out", s(&usb)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // Round 2's forms: a question added, a choice list extended; and a
    // new data manager, the only recipient.
    let forms = round_two_forms(d);
    let path = forms.join("dtm_flow_monitoring.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let question = "[[survey]]\ntype = \"integer\"\nname = \"nights_away\"\nlabel = \
                    { \"English (en)\" = \"Nights away\", \"Lao (lo)\" = \"ຈຳນວນຄືນ\" }\n\n\
                    [[survey]]\ntype = \"select_one transport\"";
    let choice = "[[choices]]\nlist_name = \"transport\"\nname = \"motorbike_taxi\"\nlabel = \
                  { \"English (en)\" = \"Motorbike taxi\", \"Lao (lo)\" = \"ລົດຈັກຮັບຈ້າງ\" }\n\n\
                  [[choices]]\nlist_name = \"transport\"\nname = \"bus\"";
    let text = text
        .replacen("[[survey]]\ntype = \"select_one transport\"", question, 1)
        .replacen(
            "[[choices]]\nlist_name = \"transport\"\nname = \"bus\"",
            choice,
            1,
        );
    assert!(text.contains("nights_away") && text.contains("motorbike_taxi"));
    std::fs::write(&path, text).unwrap();
    let dm2 = age::x25519::Identity::generate();
    let recipients = d.join("r2-recipients.txt");
    std::fs::write(&recipients, format!("{}\n", dm2.to_public())).unwrap();
    let two = built(&build(
        &office,
        &[
            "--previous",
            s(&one),
            "--round",
            "R2",
            "--forms",
            s(&forms),
            "--recipients",
            s(&recipients),
        ],
    ));
    // Taken on the home page when tmux is here, else with the command.
    if have("tmux", test) {
        let term = screen(&e, "two-rounds");
        assert!(term.wait_for("Drafts (1)"), "{}", term.screen());
        term.send("p", &[]);
        assert!(term.wait_for("Pack file"), "{}", term.screen());
        term.send(s(&two), &["Enter"]);
        assert!(
            term.wait_for("pack 2 of 'dtm-lao' (round R2) installed"),
            "{}",
            term.screen()
        );
        term.send("q", &[]);
        drop(term);
        assert!(crate::support::wait_until(|| e
            .run(&["status"])
            .status
            .success()));
    } else {
        assert_eq!(import(&e, &two).status.code(), Some(0));
    }
    assert_eq!(e.open().installed_pack().unwrap().unwrap().sequence, 2);

    // The round-1 draft keeps its version and the form text it was made with.
    let store = e.open();
    let kept = store.load_draft(&draft_id).unwrap();
    assert_eq!(kept.form_version, "2026.1");
    drop(store);
    // Round 2's record: the new question and the new choice.
    let mut r2: serde_json::Value =
        serde_json::from_str(&crate::cli::readme_fill_example()).unwrap();
    r2["nights_away"] = serde_json::json!(3);
    r2["transport_mode"] = serde_json::json!("motorbike_taxi");
    let out = e.fill("dtm_flow_monitoring", &format!("{r2}\n"), &["--finalize"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = e.run(&["export", "--out", s(&usb)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // The supervisor: both bundles, one chain.
    let signers = d.join("allowed_signers");
    std::fs::write(&signers, format!("{}\n", e.signers_line)).unwrap();
    let out = fieldkit(&["verify", "--signers", s(&signers), s(&usb)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The data manager, with both keys: one table, both versions, the new
    // column filled for round 2 only.
    let demo = std::fs::read_to_string(repo().join("keys/demo/data-manager.key")).unwrap();
    let keys = d.join("both.key");
    std::fs::write(
        &keys,
        format!(
            "{demo}\n{}\n",
            age::secrecy::ExposeSecret::expose_secret(&dm2.to_string())
        ),
    )
    .unwrap();
    let tables = d.join("tables");
    let out = fieldkit(&[
        "aggregate",
        "--identity",
        s(&keys),
        "--out",
        s(&tables),
        "--signers",
        s(&signers),
        s(&usb),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut csv = csv::Reader::from_path(tables.join("dtm_flow_monitoring.csv")).unwrap();
    let head: Vec<String> = csv.headers().unwrap().iter().map(String::from).collect();
    let col = |name: &str| {
        head.iter()
            .position(|h| h.trim_start_matches('\u{feff}') == name)
    };
    let (version, nights, transport) = (
        col("form_version").expect("form_version column"),
        col("grp_journey/nights_away")
            .unwrap_or_else(|| panic!("the new question's column: {head:?}")),
        col("grp_journey/transport_mode").unwrap(),
    );
    let rows: Vec<csv::StringRecord> = csv.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 2);
    let by_version = |v: &str| rows.iter().find(|r| &r[version] == v).expect(v).clone();
    let (r1, r2) = (by_version("2026.1"), by_version("2026.2"));
    assert_eq!((&r1[nights], &r1[transport]), ("", "bus"));
    assert_eq!((&r2[nights], &r2[transport]), ("3", "motorbike_taxi"));
    // Round 2's record opens with the new key only.
    let bundle2 = std::fs::read_dir(&usb)
        .unwrap()
        .map(|x| x.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("-000002.zip"))
        .unwrap();
    let bytes = std::fs::read(&bundle2).unwrap();
    let entries = fieldkit::bundle::archive::read(&bytes).unwrap();
    let rec = entries
        .iter()
        .find(|x| x.name.starts_with("records/"))
        .unwrap();
    assert!(age::decrypt(&dm2, rec.data).is_ok());
}
