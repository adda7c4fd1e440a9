//! Shared helpers: temporary form folders, the shipped forms, a fixed clock.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fieldkit::form::dates::parse_datetime;
use fieldkit::form::{self, Env, Form, Session};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn shipped(name: &str) -> PathBuf {
    repo().join("forms").join(name)
}

pub fn env() -> Env {
    Env {
        now: parse_datetime("2026-11-22T09:00:00+07:00", 0).expect("fixed clock"),
        device_id: "test-device".into(),
        username: "enum-01".into(),
    }
}

/// A temporary folder with `form.toml` holding `toml`, plus the Lao admin CSVs.
pub fn form_dir(toml: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    for csv in ["lao_adm1.csv", "lao_adm2.csv", "lao_villages.csv"] {
        std::fs::copy(shipped(csv), dir.path().join(csv)).expect("copy csv");
    }
    let path = dir.path().join("form.toml");
    std::fs::write(&path, toml).expect("write form");
    (dir, path)
}

pub fn load_ok(path: &Path) -> Arc<Form> {
    match form::load(path) {
        Ok(f) => Arc::new(f),
        Err(errors) => {
            let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            panic!("{} does not load:\n{}", path.display(), lines.join("\n"))
        }
    }
}

/// Loads a form from text (with the CSVs beside it) and starts a session.
pub fn session(toml: &str) -> Session {
    let (_dir, path) = form_dir(toml);
    Session::new(load_ok(&path), env())
}

pub fn shipped_session(name: &str) -> Session {
    Session::new(load_ok(&shipped(name)), env())
}

/// Runs the real binary with a fixed clock.
pub fn fieldkit(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_fieldkit"))
        .args(args)
        .env("FIELDKIT_NOW", "2026-11-22T09:00:00+07:00")
        .env_remove("FIELDKIT_HOME")
        // Never the real profile of whoever runs the tests.
        .env("XDG_DATA_HOME", "/nonexistent/fieldkit-tests")
        .env("LOCALAPPDATA", "/nonexistent/fieldkit-tests")
        .env_remove("FIELDKIT_FORMS")
        .current_dir(repo())
        .output()
        .expect("run fieldkit")
}
