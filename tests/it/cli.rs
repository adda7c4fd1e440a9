//! The real binary: `forms check`, `forms list`, `fill --dry-run`, exit codes.

use std::path::Path;

use serde_json::Value;

use crate::support::{fieldkit, form_dir};

fn stdout_json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn forms_check_passes_on_every_shipped_form() {
    let out = fieldkit(&["forms", "check", "forms"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    let report = stdout_json(&out);
    assert_eq!(report["ok"], Value::Bool(true));
    let ids: Vec<&str> = report["forms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["form_id"].as_str().unwrap())
        .collect();
    for id in [
        "dtm_baseline",
        "dtm_flow_monitoring",
        "dtm_site_assessment",
        "migrant_health_poe",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
}

#[test]
fn forms_check_reports_errors_with_exit_1() {
    let (_dir, path) = form_dir(
        "[[survey]]\ntype = \"integer\"\nname = \"n\"\nlabel = \"N\"\nconstraint = \". >\"\n",
    );
    let out = fieldkit(&["forms", "check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("form.toml:survey row 1:constraint: n: the expression '. >' does not parse"),
        "{stderr}"
    );
    let report = stdout_json(&out);
    assert_eq!(report["forms"][0]["errors"][0]["row"], Value::from(1));
    assert_eq!(
        report["forms"][0]["errors"][0]["column"],
        Value::from("constraint")
    );
}

#[test]
fn forms_check_on_a_missing_path_exits_2() {
    let out = fieldkit(&["forms", "check", "no/such/form.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

#[test]
fn forms_list_finds_the_shipped_forms() {
    let out = fieldkit(&["forms", "list", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout_json(&out).as_array().unwrap().len(), 4);
}

#[test]
fn fill_dry_run_reports_values_and_violations() {
    let (dir, path) = form_dir(
        "[settings]\nform_id = \"t\"\n\n[[survey]]\ntype = \"integer\"\nname = \"n\"\nlabel = \"N\"\nrequired = \"yes\"\nconstraint = \". < 10\"\n\n[[survey]]\ntype = \"calculate\"\nname = \"twice\"\ncalculation = \"${n} * 2\"\n",
    );
    let answers = dir.path().join("a.jsonl");
    std::fs::write(
        &answers,
        "{\"n\": 4}\n\n{\"n\": 12}\n{}\n{\"n\": \"x\", \"zz\": 1}\n",
    )
    .unwrap();
    let out = fieldkit(&[
        "fill",
        path.to_str().unwrap(),
        "--answers",
        answers.to_str().unwrap(),
        "--dry-run",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["valid"], Value::Bool(true));
    assert_eq!(lines[0]["record_id"], Value::Null);
    assert_eq!(lines[0]["values"]["twice"], Value::from("8"));
    assert_eq!(lines[1]["violations"][0]["kind"], Value::from("constraint"));
    assert_eq!(lines[2]["violations"][0]["kind"], Value::from("required"));
    let kinds: Vec<&str> = lines[3]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"type") && kinds.contains(&"unknown"),
        "{kinds:?}"
    );

    std::fs::write(&answers, "{\"n\": 4}").unwrap();
    let out = fieldkit(&[
        "fill",
        path.to_str().unwrap(),
        "--answers",
        answers.to_str().unwrap(),
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn fill_by_form_id_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let answers = dir.path().join("a.json");
    std::fs::write(&answers, "{\"consent\": \"no\"}\nnot json\n").unwrap();
    let out = fieldkit(&[
        "fill",
        "dtm_flow_monitoring",
        "--answers",
        answers.to_str().unwrap(),
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(2), "an unreadable line is exit 2");
    assert!(String::from_utf8_lossy(&out.stderr).contains(":2: this line is not JSON"));

    let out = fieldkit(&[
        "fill",
        "no_such_form",
        "--answers",
        answers.to_str().unwrap(),
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no form with form_id 'no_such_form'"));

    let out = fieldkit(&[
        "fill",
        "dtm_baseline",
        "--answers",
        "/no/such.json",
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(2));

    let out = fieldkit(&[
        "fill",
        "dtm_baseline",
        "--answers",
        answers.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "saving needs a profile");
    assert!(String::from_utf8_lossy(&out.stderr).contains("fieldkit init"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(fieldkit(&["fill"]).status.code(), Some(2));
    assert_eq!(fieldkit(&["no-such-command"]).status.code(), Some(2));
    assert_eq!(fieldkit(&["--help"]).status.code(), Some(0));
}

/// The fenced block after `marker` in README.md.
pub fn readme_block(marker: &str, fence: &str) -> String {
    let readme = std::fs::read_to_string(crate::support::repo().join("README.md")).unwrap();
    let start = readme
        .find(marker)
        .unwrap_or_else(|| panic!("README lacks {marker}"));
    let after = &readme[start..];
    let open = after.find(fence).unwrap() + fence.len();
    let body = &after[open..];
    body[..body.find("\n```").unwrap()]
        .trim_start_matches('\n')
        .to_string()
}

#[test]
fn readme_form_example_loads() {
    let toml = readme_block("## Writing forms", "```toml");
    let (_dir, path) = form_dir(&toml);
    let out = fieldkit(&["forms", "check", path.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The README's `fill` example record (one JSON line).
pub fn readme_fill_example() -> String {
    let block = readme_block("cat > flow-record.json", "<<'EOF'");
    block.lines().next().unwrap().to_string()
}

#[test]
fn readme_fill_example_is_valid() {
    let json = readme_fill_example();
    let json = json.as_str();
    let dir = tempfile::tempdir().unwrap();
    let answers = dir.path().join("a.json");
    std::fs::write(&answers, json).unwrap();
    let out = fieldkit(&[
        "fill",
        "dtm_flow_monitoring",
        "--dry-run",
        "--answers",
        answers.to_str().unwrap(),
    ]);
    let report = stdout_json(&out);
    assert_eq!(report["valid"], Value::Bool(true), "{report:#}");
    assert_eq!(report["values"]["risk_score"], Value::from("2"));
    assert_eq!(out.status.code(), Some(0));
}

/// `--version` says where the forms and keys were found and where the
/// profile lives: in the repository, and for a copy unpacked anywhere
/// (the tarball, the Windows zip) from beside the executable.
#[test]
fn version_reports_where_forms_keys_and_profile_are() {
    let out = fieldkit(&["--version", "--home", "/tmp/fk-home"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let repo = crate::support::repo().canonicalize().unwrap();
    assert!(
        text.starts_with(&format!("fieldkit {}\n", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "forms:   {} (4 form files)",
            repo.join("forms").display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("keys:    {}", repo.join("keys").display())),
        "{text}"
    );
    assert!(text.contains("profile: /tmp/fk-home (none yet"), "{text}");

    // An unpacked release: the binary with forms/ and keys/ beside it, run
    // from another folder.
    let dir = tempfile::tempdir().unwrap();
    let unpacked = dir.path().join("fieldkit-release");
    std::fs::create_dir_all(unpacked.join("forms")).unwrap();
    std::fs::create_dir_all(unpacked.join("keys")).unwrap();
    let exe = unpacked.join("fieldkit");
    std::fs::copy(env!("CARGO_BIN_EXE_fieldkit"), &exe).unwrap();
    std::fs::copy(
        repo.join("forms/dtm_site_assessment.toml"),
        unpacked.join("forms/site.toml"),
    )
    .unwrap();
    for f in ["lao_adm1.csv", "lao_adm2.csv", "lao_villages.csv"] {
        std::fs::copy(repo.join("forms").join(f), unpacked.join("forms").join(f)).unwrap();
    }
    std::fs::copy(
        repo.join("keys/recipients.txt"),
        unpacked.join("keys/recipients.txt"),
    )
    .unwrap();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let out = std::process::Command::new(&exe)
        .arg("--version")
        .current_dir(&elsewhere)
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env_remove("FIELDKIT_HOME")
        .env_remove("FIELDKIT_FORMS")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let unpacked = unpacked.canonicalize().unwrap();
    assert!(
        text.contains(&format!(
            "forms:   {} (1 form file)",
            unpacked.join("forms").display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("keys:    {}", unpacked.join("keys").display())),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "profile: {}",
            dir.path().join("data/fieldkit").display()
        )),
        "{text}"
    );
}

/// Runs `cmd` with standard output, standard error or both connected to a
/// pipe whose reading end is already closed (`fieldkit ... | head -0`), and
/// checks that it ends without a panic. Returns the exit code.
fn run_with_closed(mut cmd: std::process::Command, closed: &str, what: &str) -> Option<i32> {
    use std::process::Stdio;
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let log = tempfile::NamedTempFile::new().unwrap();
    let (out, err): (Stdio, Stdio) = match closed {
        "stdout" => (writer.into(), log.reopen().unwrap().into()),
        "stderr" => (log.reopen().unwrap().into(), writer.into()),
        _ => (writer.try_clone().unwrap().into(), writer.into()),
    };
    let status = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .unwrap();
    let said = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        !said.contains("panicked") && status.code() != Some(101),
        "{what} with {closed} closed: {status}\n{said}"
    );
    status.code()
}

/// No command panics when the reader of its output has gone away (`| head
/// -1`), on standard output, standard error or both, and the exit code
/// stays the one the command would give with its output read.
#[test]
fn closed_pipes_never_panic() {
    let (e, signers) = crate::bundle::with_records(2);
    let d = e.dir.path().to_path_buf();
    let s = signers.to_str().unwrap().to_string();
    std::fs::write(d.join("answers.json"), readme_fill_example()).unwrap();
    let answers = d.join("answers.json").to_str().unwrap().to_string();
    let xlsx = crate::support::repo()
        .join("tests/fixtures/xlsform/pyxform__specify_other.xlsx")
        .to_str()
        .unwrap()
        .to_string();
    let dm_key = crate::support::repo().join("keys/demo/data-manager.key");
    let sup_key = crate::support::repo().join("keys/demo/supervisor");
    let (dm_key, sup_key) = (dm_key.to_str().unwrap(), sup_key.to_str().unwrap());
    let modes = ["stdout", "stderr", "both"];

    // Commands that change nothing: every mode, same exit code each time.
    let read_only: Vec<(Vec<String>, i32)> = vec![
        (vec!["--help".into()], 0),
        (vec!["--version".into()], 0),
        (vec!["no-such-command".into()], 2),
        (vec!["forms".into()], 2),
        (vec!["forms".into(), "list".into()], 0),
        (vec!["forms".into(), "list".into(), "--json".into()], 0),
        (vec!["forms".into(), "check".into(), "forms".into()], 0),
        (vec!["forms".into(), "import".into(), xlsx.clone()], 0),
        (vec!["status".into()], 0),
        (vec!["status".into(), "--json".into()], 0),
        (
            vec![
                "fill".into(),
                "dtm_flow_monitoring".into(),
                "--dry-run".into(),
                "--answers".into(),
                answers.clone(),
            ],
            0,
        ),
        (
            vec!["init".into(), "--enumerator".into(), "enum-03".into()],
            2,
        ),
    ];
    for (args, code) in &read_only {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        for mode in modes {
            let got = run_with_closed(e.command(&args), mode, &args.join(" "));
            assert_eq!(got, Some(*code), "{args:?} with {mode} closed");
        }
    }

    // The whole chain, each step once per mode where it can run again.
    for (i, mode) in modes.iter().enumerate() {
        let out = |name: &str| d.join(format!("{name}-{i}")).to_str().unwrap().to_string();
        let import = out("imported.toml");
        let got = run_with_closed(
            e.command(&["forms", "import", &xlsx, "--out", &import]),
            mode,
            "forms import --out",
        );
        assert_eq!(got, Some(0));
        assert!(Path::new(&import).is_file());
        let got = run_with_closed(
            e.command(&[
                "fill",
                "dtm_flow_monitoring",
                "--finalize",
                "--answers",
                &answers,
            ]),
            mode,
            "fill --finalize",
        );
        assert_eq!(got, Some(0));
        let usb = out("usb");
        std::fs::create_dir_all(&usb).unwrap();
        let got = run_with_closed(e.command(&["export", "--out", &usb]), mode, "export");
        assert_eq!(got, Some(0));
        let bundle = std::fs::read_dir(&usb)
            .unwrap()
            .map(|f| f.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "zip"))
            .expect("a bundle on the stick");
        let bundle = bundle.to_str().unwrap();
        for args in [
            vec!["verify", bundle, "--signers", &s],
            vec!["verify", bundle, "--signers", &s, "--json"],
        ] {
            let got = run_with_closed(e.command(&args), mode, "verify");
            assert_eq!(got, Some(0), "{args:?}");
        }
        let receipt = out("receipt.json");
        let args = [
            "receipt",
            bundle,
            "--signers",
            &s,
            "--key",
            sup_key,
            "--out",
            &receipt,
        ];
        assert_eq!(run_with_closed(e.command(&args), mode, "receipt"), Some(0));
        let args = ["ack", &receipt];
        assert_eq!(run_with_closed(e.command(&args), mode, "ack"), Some(0));
        let tables = out("tables");
        let args = [
            "aggregate",
            "--identity",
            dm_key,
            "--signers",
            &s,
            "--out",
            &tables,
            &usb,
        ];
        let got = run_with_closed(e.command(&args), mode, "aggregate");
        assert_eq!(got, Some(0));
        let key = out("sup-key");
        let args = [
            "keygen",
            "--role",
            "supervisor",
            "--id",
            "sup-x",
            "--out",
            &key,
        ];
        assert_eq!(run_with_closed(e.command(&args), mode, "keygen"), Some(0));
        let rescued = out("rescued");
        let args = ["rescue", "--out", &rescued];
        assert_eq!(run_with_closed(e.command(&args), mode, "rescue"), Some(0));
    }
}

/// Two forms with one form_id in a folder: `forms check` names both and
/// exits 1 (fieldkit would use only the first by name).
#[test]
fn forms_check_refuses_one_form_id_twice_in_a_folder() {
    let toml = "[settings]\nform_id = \"twice\"\n\n[[survey]]\ntype = \"text\"\nname = \"t\"\nlabel = \"T\"\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.toml"), toml).unwrap();
    std::fs::write(dir.path().join("b.toml"), toml).unwrap();
    let out = fieldkit(&["forms", "check", dir.path().to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("b.toml:settings:form_id: the form_id 'twice' is also")
            && stderr.contains("a.toml"),
        "{stderr}"
    );
    let report = stdout_json(&out);
    assert_eq!(report["ok"], Value::Bool(false));
    assert_eq!(report["forms"][0]["ok"], Value::Bool(true));
    assert_eq!(report["forms"][1]["ok"], Value::Bool(false));
}

/// `receipt --key` given the data manager's age key (or anything but an
/// OpenSSH private key) says once what it needs and where it comes from.
#[test]
fn receipt_with_an_age_key_says_which_key_it_needs() {
    let dm_key = crate::support::repo().join("keys/demo/data-manager.key");
    let out = fieldkit(&[
        "receipt",
        "no-bundle.zip",
        "--key",
        dm_key.to_str().unwrap(),
        "--out",
        "/nonexistent/r.json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("is an age identity")
            && stderr.contains("fieldkit keygen --role supervisor")
            && !stderr.contains("PEM"),
        "{stderr}"
    );
}

/// The shipped forms' hints say what the form does: every answer is saved
/// (so no "do not save"), and the site form's list has its own choice for
/// a dam collapse, which the hint names.
#[test]
fn shipped_hints_match_what_the_forms_do() {
    let read = |name: &str| -> toml::Value {
        toml::from_str(&std::fs::read_to_string(crate::support::shipped(name)).unwrap()).unwrap()
    };
    let english_hint = |form: &toml::Value, name: &str| -> String {
        let row = form["survey"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r.get("name").and_then(|n| n.as_str()) == Some(name))
            .unwrap_or_else(|| panic!("no question {name}"));
        row["hint"]["English (en)"].as_str().unwrap().to_string()
    };
    let baseline = read("dtm_baseline.toml");
    let hint = english_hint(&baseline, "ki_consent");
    assert!(!hint.to_lowercase().contains("save"), "{hint}");

    let site = read("dtm_site_assessment.toml");
    let hint = english_hint(&site, "m0329_loc_reason_disp_idp");
    let dam = site["choices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["list_name"].as_str() == Some("reason_disp")
                && c["name"].as_str() == Some("dam_collapse")
        })
        .expect("the dam choice");
    let label = dam["label"]["English (en)"].as_str().unwrap();
    let short = label.split(" (").next().unwrap();
    assert!(
        hint.contains(&format!("'{short}'")),
        "{hint} does not name '{short}'"
    );
    assert!(!hint.contains("non-climate"), "{hint}");
}
