//! README.md runs as written: every ```sh block, in order, in one bash
//! (later blocks use what earlier ones made), with the binary under test
//! first on PATH as `fieldkit`, in a scratch HOME and a scratch copy of
//! the clone's `forms/` and `keys/`. A block that cannot run here says why
//! in an HTML comment on the line before it (`<!-- not run: why -->`); one
//! that needs tools says which (`<!-- needs: unzip age -->`) and is skipped,
//! visibly, where they are missing.

use std::path::{Path, PathBuf};

use crate::support::{have, repo, skip, stderr};

/// One ```sh block: its first line's number in README.md, the comment on
/// the line before its fence (if any), and its text.
struct Block {
    line: usize,
    marker: Option<String>,
    body: String,
}

fn sh_blocks(readme: &str) -> Vec<Block> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_end() == "```sh" {
            let marker = i
                .checked_sub(1)
                .map(|j| lines[j].trim())
                .filter(|l| l.starts_with("<!--"))
                .map(str::to_string);
            let start = i + 1;
            let mut end = start;
            while end < lines.len() && lines[end].trim_end() != "```" {
                end += 1;
            }
            assert!(end < lines.len(), "README.md line {start}: unclosed ```sh");
            blocks.push(Block {
                line: start + 1,
                marker,
                body: lines[start..end].join("\n"),
            });
            i = end;
        }
        i += 1;
    }
    blocks
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The folders `mktemp -d` made under `tmp` (the README's `$demo`).
fn scratch_dirs(tmp: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect()
}

#[test]
fn readme_runs_as_written() {
    let test = "readme_runs_as_written";
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let blocks = sh_blocks(&readme);
    let mut script = String::from("set -e -o pipefail\n");
    let mut ran = 0;
    let mut tools_block_ran = false;
    for b in &blocks {
        match b.marker.as_deref() {
            Some(m) if m.starts_with("<!-- not run:") => {
                let why = m
                    .trim_start_matches("<!-- not run:")
                    .trim_end_matches("-->");
                assert!(
                    !why.trim().is_empty(),
                    "README.md line {}: say why the block is not run",
                    b.line
                );
                continue;
            }
            Some(m) if m.starts_with("<!-- needs:") => {
                let tools = m.trim_start_matches("<!-- needs:").trim_end_matches("-->");
                if !tools.split_whitespace().all(|t| have(t, test)) {
                    skip(
                        test,
                        &format!("README.md line {}: a tool is missing", b.line),
                    );
                    continue;
                }
                tools_block_ran = true;
            }
            Some(m) => panic!(
                "README.md line {}: the comment before a ```sh block is '<!-- not run: WHY -->' \
                 or '<!-- needs: TOOLS -->', not {m}",
                b.line
            ),
            None => {}
        }
        ran += 1;
        script.push_str(&format!("echo '== README.md line {}' >&2\n", b.line));
        script.push_str(&b.body);
        script.push('\n');
    }
    assert!(ran >= 5, "only {ran} README blocks run");

    // A scratch world: HOME, TMPDIR, the clone's forms and keys, and the
    // binary under test as `fieldkit`, first on PATH.
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let tmp = dir.path().join("tmp");
    let clone = dir.path().join("clone");
    let bin = dir.path().join("bin");
    for d in [&home, &tmp, &clone, &bin] {
        std::fs::create_dir_all(d).unwrap();
    }
    copy_dir(&repo().join("forms"), &clone.join("forms"));
    copy_dir(&repo().join("keys"), &clone.join("keys"));
    #[cfg(unix)]
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_fieldkit"), bin.join("fieldkit")).unwrap();
    #[cfg(not(unix))]
    std::fs::copy(env!("CARGO_BIN_EXE_fieldkit"), bin.join("fieldkit.exe")).unwrap();
    let path = std::env::join_paths(std::iter::once(bin.clone()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&clone)
        .env("PATH", path)
        .env("HOME", &home)
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("TMPDIR", &tmp)
        .env("FIELDKIT_NOW", "2026-11-22T09:00:00+07:00")
        .env_remove("FIELDKIT_HOME")
        .env_remove("FIELDKIT_FORMS")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let said = stderr(&out);
    assert!(
        out.status.success() && !said.contains("panicked"),
        "the README's commands failed ({}); the last '== README.md line' names the \
         block:\n{stdout}\n{said}",
        out.status
    );

    // What the README says they do.
    assert!(
        stdout.contains(r#"{"drafts":1,"outbox":0,"sent":0,"bundles":0}"#),
        "{stdout}"
    );
    assert!(stdout.contains("exit 1: kept as a draft"), "{stdout}");
    assert!(
        !home.join(".local/share/fieldkit").exists(),
        "the examples made a real profile"
    );
    let demo = scratch_dirs(&tmp);
    assert_eq!(demo.len(), 1, "{demo:?}");
    let demo = &demo[0];
    assert!(demo.join("home/profile.age").is_file());
    assert!(demo.join("receipt-enum-03-1.json").is_file());
    assert!(demo.join("tables/dtm_flow_monitoring.csv").is_file());
    assert!(demo.join("tables/summary.md").is_file());
    if tools_block_ran {
        assert!(
            stdout.contains("Good \"fieldkit-bundle\" signature for enum-03"),
            "{stdout}"
        );
        assert!(stdout.contains("\"destination_place\""), "{stdout}");
    }

    // The installed copy (what `cargo install` puts in ~/.cargo/bin) finds
    // the forms and keys the README copied to ~/.cargo/share/fieldkit,
    // from any folder.
    let cargo_bin = home.join(".cargo/bin");
    std::fs::create_dir_all(&cargo_bin).unwrap();
    let installed = cargo_bin.join(if cfg!(windows) {
        "fieldkit.exe"
    } else {
        "fieldkit"
    });
    std::fs::copy(env!("CARGO_BIN_EXE_fieldkit"), &installed).unwrap();
    let out = std::process::Command::new(&installed)
        .arg("--version")
        .current_dir(&tmp)
        .env("HOME", &home)
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env_remove("FIELDKIT_HOME")
        .env_remove("FIELDKIT_FORMS")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let share = home.join(".cargo/share/fieldkit").canonicalize().unwrap();
    assert!(
        text.contains(&format!(
            "forms:   {} (4 form files)",
            share.join("forms").display()
        )),
        "{text}"
    );
    if !Path::new("/etc/fieldkit/keys").exists() {
        assert!(
            text.contains(&format!("keys:    {}", share.join("keys").display())),
            "{text}"
        );
    }
}
