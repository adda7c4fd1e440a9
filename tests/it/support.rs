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
        seed: 7,
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
    command(args).output().expect("run fieldkit")
}

/// The real binary, ready to run: fixed clock, no profile of the person
/// running the tests, started in the repository.
pub fn command(args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fieldkit"));
    cmd.args(args)
        .env("FIELDKIT_NOW", "2026-11-22T09:00:00+07:00")
        .env_remove("FIELDKIT_HOME")
        // Never the real profile of whoever runs the tests.
        .env("XDG_DATA_HOME", "/nonexistent/fieldkit-tests")
        .env("LOCALAPPDATA", "/nonexistent/fieldkit-tests")
        .env_remove("FIELDKIT_FORMS")
        .current_dir(repo());
    cmd
}

pub const PASSPHRASE: &str = "correct horse battery";

/// An enumerator profile made by the real `fieldkit init` in a temp folder.
pub struct Enumerator {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub passphrase_file: PathBuf,
    /// What `init` printed: the allowed_signers line.
    pub signers_line: String,
}

impl Enumerator {
    pub fn init(id: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let passphrase_file = dir.path().join("pass");
        std::fs::write(&passphrase_file, format!("{PASSPHRASE}\n")).unwrap();
        let me = Enumerator {
            home,
            passphrase_file,
            dir,
            signers_line: String::new(),
        };
        let out = me.run(&["init", "--enumerator", id, "--name", "Somchai Canary"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        Enumerator {
            signers_line: String::from_utf8_lossy(&out.stdout).trim().to_string(),
            ..me
        }
    }

    /// The real binary with this profile's home and passphrase file.
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = command(&[]);
        cmd.arg("--home")
            .arg(&self.home)
            .arg("--passphrase-file")
            .arg(&self.passphrase_file)
            .args(args);
        cmd
    }

    pub fn run(&self, args: &[&str]) -> std::process::Output {
        self.command(args).output().expect("run fieldkit")
    }

    /// Runs `fill FORM --answers - ...` with `answers` on stdin.
    pub fn fill(&self, form: &str, answers: &str, extra: &[&str]) -> std::process::Output {
        use std::io::Write;
        let mut args = vec!["fill", form, "--answers", "-"];
        args.extend_from_slice(extra);
        let mut child = self
            .command(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // fieldkit may stop before it reads its input (a wrong passphrase,
        // a store in use): a closed pipe here is its answer, not an error.
        let written = child.stdin.take().unwrap().write_all(answers.as_bytes());
        if let Err(e) = written {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
        child.wait_with_output().unwrap()
    }

    /// The store, opened in this process through the library.
    pub fn open(&self) -> fieldkit::store::Store {
        fieldkit::store::Store::open(
            fieldkit::store::profile::Home::new(self.home.clone()),
            &fieldkit::crypt::passphrase(PASSPHRASE),
        )
        .unwrap()
    }

    pub fn status(&self) -> serde_json::Value {
        let out = self.run(&["status", "--json"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Whether an external tool runs here; says so on stderr when it does not,
/// so a skipped interop check is visible in the test output.
pub fn have(tool: &str, test: &str) -> bool {
    let found = std::process::Command::new(tool)
        .arg("--help")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok();
    if !found {
        skip(
            test,
            &format!("'{tool}' is not installed (.ci/run installs it)"),
        );
    }
    found
}

/// An interpreter a test hands a script to: its program and the flag
/// that takes the script's text.
pub enum Interpreter {
    Python,
    R,
}

/// The demo data manager's age key (`keys/demo/data-manager.key`).
pub fn demo_data_manager() -> age::x25519::Identity {
    std::fs::read_to_string(repo().join("keys/demo/data-manager.key"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY"))
        .unwrap()
        .parse()
        .unwrap()
}

/// What the Parquet tests' scripts need, and how to get it.
#[cfg(feature = "parquet")]
pub const PYARROW: (&str, &str) = (
    "import pyarrow.dataset",
    "pyarrow is not installed (pip install pyarrow)",
);

/// Runs `script` (with `args`, in `dir`) when its interpreter runs here and
/// `needs` (code importing what the script uses) succeeds; else says why
/// not, with `install` (how to get it), and gives None. Gives the script's
/// standard output, once it succeeded.
pub fn run_script(
    test: &str,
    interpreter: Interpreter,
    (needs, install): (&str, &str),
    script: &str,
    args: &[&std::ffi::OsStr],
    dir: &std::path::Path,
) -> Option<String> {
    let (program, flag) = match interpreter {
        Interpreter::Python => ("python3", "-c"),
        Interpreter::R => ("Rscript", "-e"),
    };
    if !have(program, test) {
        return None;
    }
    let found = std::process::Command::new(program)
        .args([flag, needs])
        .output()
        .unwrap();
    if !found.status.success() {
        skip(test, install);
        return None;
    }
    let run = std::process::Command::new(program)
        .args([flag, script])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr(&run));
    Some(String::from_utf8_lossy(&run.stdout).into_owned())
}

/// Says that a test skipped a check, past the test harness's capture (it
/// captures `eprintln!`, not direct writes), so it shows in every run and
/// .ci/run counts it.
pub fn skip(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIP {test}: {why}");
}

/// A program running in a real terminal (a detached tmux session), for
/// tests that type like a person. The session is killed on drop.
pub struct Tmux {
    pub session: String,
}

impl Tmux {
    /// Starts `command` (a shell command line) in a `width` x `height`
    /// terminal.
    pub fn start(name: &str, command: &str, width: u16, height: u16) -> Tmux {
        let session = format!("fk-{name}-{}", std::process::id());
        let out = std::process::Command::new("tmux")
            .args(["new-session", "-d", "-s", &session, "-x"])
            .arg(width.to_string())
            .arg("-y")
            .arg(height.to_string())
            .arg(command)
            .output()
            .expect("run tmux");
        assert!(out.status.success(), "tmux: {}", stderr(&out));
        Tmux { session }
    }

    /// What the terminal shows now (empty once the program has ended).
    pub fn screen(&self) -> String {
        let out = std::process::Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types text (literally) and then the named keys (e.g. "Enter").
    pub fn send(&self, text: &str, keys: &[&str]) {
        if !text.is_empty() {
            let _ = std::process::Command::new("tmux")
                .args(["send-keys", "-l", "-t", &self.session, text])
                .status();
        }
        for key in keys {
            let _ = std::process::Command::new("tmux")
                .args(["send-keys", "-t", &self.session, key])
                .status();
        }
    }

    /// Waits up to ten seconds for `text` on the screen.
    pub fn wait_for(&self, text: &str) -> bool {
        wait_until(|| self.screen().contains(text))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .output();
    }
}

/// Polls `what` every 50 ms for up to ten seconds.
pub fn wait_until(what: impl Fn() -> bool) -> bool {
    for _ in 0..200 {
        if what() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

/// A CSV file's rows, the header first (the csv crate drops the BOM).
pub fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// Fails the test when any file under `dir` holds one of `needles` in
/// plain text (`step` says when).
pub fn canary(dir: &Path, step: &str, needles: &[&str]) {
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            for n in needles {
                assert!(
                    !bytes.windows(n.len()).any(|w| w == n.as_bytes()),
                    "{step}: {} holds {n:?} in plain text",
                    path.display()
                );
            }
        }
    }
}

/// `age -d -i KEY` of `bytes` (written to a file in `dir`): the
/// plaintext, or None when age refuses.
pub fn age_decrypt(dir: &Path, key: &Path, bytes: &[u8]) -> Option<Vec<u8>> {
    let file = dir.join("in.age");
    std::fs::write(&file, bytes).unwrap();
    let out = std::process::Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(key)
        .arg(&file)
        .output()
        .unwrap();
    out.status.success().then_some(out.stdout)
}

/// The options of an in-process `aggregate` with the demo data manager's
/// key, the signers file given, and everything else left out.
pub fn aggregate_options(
    signers: &Path,
    out: &Path,
    keep_bytes: usize,
) -> fieldkit::aggregate::Options {
    let key = std::fs::read_to_string(repo().join("keys/demo/data-manager.key")).unwrap();
    fieldkit::aggregate::Options {
        identities: fieldkit::crypt::parse_identities(&key).unwrap(),
        signers: fieldkit::bundle::signers::AllowedSigners::parse(
            &std::fs::read_to_string(signers).unwrap(),
        )
        .unwrap(),
        out: out.to_path_buf(),
        forms_dir: None,
        labels: None,
        hxl: false,
        xlsx: false,
        progress: false,
        threads: 2,
        keep_bytes,
        entities: None,
        assignments: None,
        receipts: Vec::new(),
        supervisors: None,
        parquet: None,
        db: None,
        checks: Default::default(),
    }
}

/// Everything `e` has finalized exported to `dir/usb`, and a signers
/// file naming `e` beside it; then `aggregate` of that stick into
/// `dir/tables` with the demo data manager's key and `extra` arguments,
/// which must succeed. The tables folder.
pub fn export_and_aggregate(e: &Enumerator, dir: &Path, extra: &[&str]) -> PathBuf {
    let usb = dir.join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    let out = e.run(&["export", "--out", usb.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let signers = dir.join("allowed_signers");
    std::fs::write(&signers, format!("{}\n", e.signers_line)).unwrap();
    let tables = dir.join("tables");
    let key = repo().join("keys/demo/data-manager.key");
    let mut args = vec![
        "aggregate",
        "--identity",
        key.to_str().unwrap(),
        "--signers",
        signers.to_str().unwrap(),
        "--out",
        tables.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.push(usb.to_str().unwrap());
    let out = fieldkit(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    tables
}

/// `e.fill(form, input, extra)`, which must succeed: the record it prints.
pub fn fill_ok(e: &Enumerator, form: &str, input: &str, extra: &[&str]) -> serde_json::Value {
    let out = e.fill(form, input, extra);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}
