//! `fieldkit fill FORM --answers FILE [--dry-run] [--finalize]`: enter
//! records without the TUI, one JSON object or JSON Lines (one record per
//! line), each run through the form engine and reported as a JSON line.
//! On a laptop with a round pack installed, FORM is one of the pack's.
//! A file question (image, audio, video, file) is answered with the path
//! of the file: read once, checked, kept encrypted, answered by its name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

use super::{Globals, Outcome, print_json};
use crate::files::Picked;
use crate::form::limits::{self, MAX_RECORD_BYTES};
use crate::form::{Env, Form, Kind, Session};

use crate::store::{Draft, State, Store};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A form_id of a shipped form, or the path of a form file.
    #[arg(value_name = "FORM")]
    pub form: String,
    /// JSON answers: one object, or JSON Lines with one record per line ('-' reads stdin).
    #[arg(long, value_name = "FILE")]
    pub answers: PathBuf,
    /// Check and compute only; save nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Finalize valid records (send them to the outbox) instead of keeping drafts.
    #[arg(long)]
    pub finalize: bool,
    /// Language for messages and labels, e.g. "Lao (lo)" (default: the form's).
    #[arg(long, value_name = "LANG")]
    pub language: Option<String>,
}

/// One record of an answers file: the line it starts on, and the object
/// or why it could not be read.
type Line = (usize, Result<Map<String, Value>, String>);

/// Reads records as they come: JSON Lines (one object per line) or one
/// object spread over several lines. Each record is handed on as soon as
/// its last line is read, so a long stdin stream is saved as it arrives.
/// Never holds more than [`MAX_RECORD_BYTES`] of input: a longer line is
/// skipped, a longer record spread over lines ends the reading.
struct Records<R> {
    input: R,
    line: usize,
    done: bool,
}

/// Where a record's JSON stands after the bytes read so far: it is parsed
/// once its brackets close (or a string runs past the end of a line), so
/// a record spread over many lines is parsed once, not once per line.
#[derive(Default)]
struct Brackets {
    depth: i64,
    in_string: bool,
    escaped: bool,
}

impl Brackets {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.in_string {
                match b {
                    _ if self.escaped => self.escaped = false,
                    b'\\' => self.escaped = true,
                    b'"' => self.in_string = false,
                    _ => {}
                }
            } else {
                match b {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => self.depth -= 1,
                    _ => {}
                }
            }
        }
    }

    fn complete(&self) -> bool {
        self.depth <= 0 || self.in_string
    }
}

/// Reads one line (with its newline) into `out`, at most `cap` bytes of
/// it; a longer line is read to its end without being kept, and gives
/// false.
fn read_line_capped<R: std::io::BufRead>(
    input: &mut R,
    out: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<bool> {
    use std::io::{BufRead as _, Read as _};
    let start = out.len();
    input.by_ref().take(cap as u64 + 1).read_until(b'\n', out)?;
    if out.len() - start <= cap {
        return Ok(true);
    }
    let ended = out.last() == Some(&b'\n');
    out.truncate(start);
    if ended {
        return Ok(false);
    }
    loop {
        let buf = input.fill_buf()?;
        let (used, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), buf.is_empty()),
        };
        input.consume(used);
        if done {
            return Ok(false);
        }
    }
}

impl<R: std::io::BufRead> Iterator for Records<R> {
    type Item = Line;

    fn next(&mut self) -> Option<Line> {
        let mut buffer: Vec<u8> = Vec::new();
        let mut brackets = Brackets::default();
        let mut first = 0;
        let too_long = || {
            format!(
                "the record is longer than {}, fieldkit's cap for one record; split it or \
                 shorten its answers",
                limits::bytes(MAX_RECORD_BYTES as u64)
            )
        };
        while !self.done {
            let blank = buffer.iter().all(u8::is_ascii_whitespace);
            if blank {
                buffer.clear();
                brackets = Brackets::default();
            }
            let room = MAX_RECORD_BYTES - buffer.len();
            let start = buffer.len();
            match read_line_capped(&mut self.input, &mut buffer, room) {
                Ok(true) if buffer.len() == start => self.done = true,
                Ok(fits) => {
                    self.line += 1;
                    if self.line == 1 && buffer.starts_with("\u{FEFF}".as_bytes()) {
                        buffer.drain(..3);
                    }
                    if blank {
                        first = self.line;
                    }
                    if !fits {
                        // A record spread over lines: what follows is its
                        // middle, not a record.
                        self.done = !blank;
                        let also = if blank {
                            ""
                        } else {
                            "; the rest of the file is not read"
                        };
                        return Some((first, Err(format!("{}{also}", too_long()))));
                    }
                    if buffer.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    brackets.feed(&buffer[start..]);
                    if !brackets.complete() {
                        continue;
                    }
                    return Some((
                        first,
                        match serde_json::from_slice::<Value>(&buffer) {
                            Ok(Value::Object(map)) => Ok(map),
                            Ok(_) => Err("this is not a JSON object {\"name\": value, ...}".into()),
                            Err(e) => Err(format!("this line is not JSON: {e}")),
                        },
                    ));
                }
                Err(e) => {
                    self.done = true;
                    return Some((self.line + 1, Err(format!("cannot read: {e}"))));
                }
            }
        }
        if buffer.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            Some((
                first,
                Err("the JSON ends before the object is closed".into()),
            ))
        }
    }
}

fn open_answers(path: &Path) -> Result<Box<dyn std::io::BufRead>> {
    if path == Path::new("-") {
        return Ok(Box::new(std::io::stdin().lock()));
    }
    let file = std::fs::File::open(path).with_context(|| {
        format!(
            "cannot read the answers file {}; check the path (it must be UTF-8 JSON)",
            path.display()
        )
    })?;
    Ok(Box::new(std::io::BufReader::new(file)))
}

/// Runs one record through the engine: the JSON report, and the session
/// holding the record.
pub fn fill_one(
    form: &Arc<Form>,
    env: Env,
    language: Option<&str>,
    answers: &Map<String, Value>,
) -> (Value, Session) {
    let mut session = Session::new(Arc::clone(form), env);
    if let Some(lang) = language {
        session.set_language(Some(lang.to_string()));
    }
    let mut violations = session.load_answers(answers);
    // A refused answer is already reported; don't report it again as missing.
    let refused: Vec<String> = violations.iter().map(|v| v.path.clone()).collect();
    violations.extend(
        session
            .violations()
            .into_iter()
            .filter(|v| !refused.contains(&v.path)),
    );
    let report = json!({
        "valid": violations.is_empty(),
        "record_id": Value::Null,
        "instance_name": session.instance_name(),
        "values": session.record(),
        "violations": violations,
    });
    (report, session)
}

pub fn run(args: Args, globals: &Globals) -> Result<Outcome> {
    let store = if args.dry_run {
        None
    } else {
        Some(globals.open_store()?)
    };
    // A laptop with a round pack installed takes its forms from the pack
    // only; a dry run (no profile) reads the forms folders.
    let pack_forms = match &store {
        Some(s) => s.pack_forms_dir()?,
        None => None,
    };
    let form = match &pack_forms {
        Some(dir) => {
            if Path::new(&args.form).is_file() {
                bail!(
                    "this laptop takes its forms from its round pack only; give the form_id of \
                     one of the pack's forms ('fieldkit status' names the pack)"
                );
            }
            crate::catalog::resolve(&args.form, Some(dir))?
        }
        None => crate::catalog::resolve(&args.form, globals.forms.as_deref())?,
    };
    if let Some(lang) = &args.language
        && !form.languages.contains(lang)
    {
        bail!(
            "the form has no language '{lang}'; it has: {}",
            form.languages.join(", ")
        );
    }
    let input = open_answers(&args.answers)?;
    let env = match &store {
        Some(s) => Env {
            now: crate::clock::now(),
            seed: crate::clock::seed(),
            device_id: s.profile().public.device_id.clone(),
            username: s.profile().public.enumerator_id.clone(),
        },
        None => Env {
            now: crate::clock::now(),
            seed: crate::clock::seed(),
            device_id: "dry-run".into(),
            username: String::new(),
        },
    };
    let source = if args.answers == Path::new("-") {
        "standard input".to_string()
    } else {
        args.answers.display().to_string()
    };
    let mut unreadable = 0;
    let mut invalid = 0;
    let records = Records {
        input,
        line: 0,
        done: false,
    };
    for (line, record) in records {
        match record {
            Ok(mut answers) => {
                let mut picked = Vec::new();
                let mut problems = Vec::new();
                take_files(
                    &form,
                    &mut answers,
                    globals.max_attachment_mb,
                    "",
                    &mut picked,
                    &mut problems,
                );
                // Each record its own random bits: two records of one run
                // must not draw the same uuid() or new entity id.
                let env = Env {
                    seed: crate::clock::seed(),
                    ..env.clone()
                };
                let (mut report, session) =
                    fill_one(&form, env, args.language.as_deref(), &answers);
                if !problems.is_empty()
                    && let Some(v) = report["violations"].as_array_mut()
                {
                    v.splice(0..0, problems);
                    report["valid"] = json!(false);
                }
                let valid = report["valid"] == json!(true);
                if !valid {
                    invalid += 1;
                }
                if let Some(store) = &store {
                    let (id, state) = save(store, &session, valid && args.finalize, &picked)
                        .with_context(|| {
                            format!(
                                "the record on line {line} of {source} was NOT saved (records \
                                 reported above it were)"
                            )
                        })?;
                    report["record_id"] = json!(id);
                    report["saved"] = json!(state);
                }
                print_json(&report, false)?;
            }
            Err(message) => {
                unreadable += 1;
                crate::say!("{source}:{line}: {message}");
            }
        }
    }
    if unreadable > 0 {
        bail!(
            "{unreadable} line(s) of {source} could not be read (see above); fix them and run again"
        );
    }
    Ok(if invalid > 0 {
        Outcome::Invalid
    } else {
        Outcome::Done
    })
}

/// Saves a filled session as a new draft, and finalizes it when asked (and
/// valid): the record id and where it went.
fn save(
    store: &Store,
    session: &Session,
    finalize: bool,
    picked: &[Picked],
) -> Result<(String, State)> {
    let form = session.form();
    let now = crate::clock::now().to_string();
    let mut draft = Draft::start(form, &now);
    draft.take(session, &now);
    // The files first: the record that names them is written after.
    for p in picked {
        store.attach(&draft.id, &p.name, &p.bytes, &now)?;
    }
    if finalize {
        let values = session.record();
        store.check_attachments(&draft.id, &crate::form::media::file_answers(form, &values))?;
        let review = crate::form::review::part(form, &values);
        store.save_final_with_review(
            &draft,
            &values,
            &now,
            form.text().as_bytes(),
            Some(&review),
        )?;
        return Ok((draft.id, State::Outbox));
    }
    store.keep_form(form)?;
    store.save_draft(&draft, "")?;
    Ok((draft.id, State::Draft))
}

/// Answers to file questions are paths of files (relative to the folder
/// fill runs in): each is read once, checked against its question and the
/// cap, and its answer becomes the attachment's name. A file that cannot
/// be taken is a violation of its question, as a refused answer is.
fn take_files(
    form: &Form,
    answers: &mut Map<String, Value>,
    cap_mb: u64,
    prefix: &str,
    picked: &mut Vec<Picked>,
    problems: &mut Vec<Value>,
) {
    for (key, value) in answers.iter_mut() {
        let Some(node) = form.find(key).map(|id| form.node(id)) else {
            continue;
        };
        match (&node.kind, value) {
            (Kind::File { .. }, Value::String(path)) if !path.is_empty() => {
                match crate::files::attachment(Path::new(path.as_str()), node, cap_mb) {
                    Ok(p) => {
                        *path = p.name.clone();
                        picked.push(p);
                    }
                    Err(message) => {
                        problems.push(json!({
                            "name": key,
                            "path": format!("{prefix}{key}"),
                            "kind": "type",
                            "message": message,
                        }));
                        path.clear();
                    }
                }
            }
            (Kind::Repeat, Value::Array(items)) => {
                for (i, item) in items.iter_mut().enumerate() {
                    if let Value::Object(inner) = item {
                        let prefix = format!("{prefix}{key}[{}]/", i + 1);
                        take_files(form, inner, cap_mb, &prefix, picked, problems);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    //! The answers reader on its own: what a line or a record spread over
    //! lines gives, where it says it starts, and what it refuses.

    use super::*;
    use std::io::Cursor;

    fn read(input: &[u8]) -> Vec<(usize, Result<Value, String>)> {
        Records {
            input: Cursor::new(input.to_vec()),
            line: 0,
            done: false,
        }
        .map(|(line, r)| (line, r.map(Value::Object)))
        .collect()
    }

    fn ok(line: usize, v: Value) -> (usize, Result<Value, String>) {
        (line, Ok(v))
    }

    fn err_at(got: &[(usize, Result<Value, String>)], i: usize) -> (usize, &str) {
        let (line, r) = &got[i];
        (*line, r.as_ref().expect_err("an error"))
    }

    #[test]
    fn json_lines_give_one_record_a_line_with_its_line_number() {
        let got = read(b"{\"a\": 1}\n{\"a\": 2}\n{\"a\": 3}");
        assert_eq!(
            got,
            vec![
                ok(1, json!({"a": 1})),
                ok(2, json!({"a": 2})),
                ok(3, json!({"a": 3}))
            ]
        );
    }

    #[test]
    fn nothing_gives_no_record() {
        assert!(read(b"").is_empty());
        assert!(read(b"\n\n  \n\t\n").is_empty());
        assert!(read("\u{FEFF}".as_bytes()).is_empty());
    }

    #[test]
    fn blank_lines_are_skipped_and_counted() {
        let got = read(b"\n\n{\"a\": 1}\n\n\n{\"a\": 2}\n");
        assert_eq!(got, vec![ok(3, json!({"a": 1})), ok(6, json!({"a": 2}))]);
    }

    #[test]
    fn windows_line_ends_read_as_unix_ones() {
        let got = read(b"{\"a\": 1}\r\n\r\n{\"a\": \"x\"}\r\n");
        assert_eq!(got, vec![ok(1, json!({"a": 1})), ok(3, json!({"a": "x"}))]);
    }

    #[test]
    fn a_byte_order_mark_on_the_first_line_is_dropped() {
        let mut input = "\u{FEFF}".as_bytes().to_vec();
        input.extend(b"{\"a\": 1}\n");
        assert_eq!(read(&input), vec![ok(1, json!({"a": 1}))]);
    }

    #[test]
    fn one_object_spread_over_lines_is_one_record_starting_where_it_starts() {
        let got = read(b"\n{\n  \"a\": 1,\n  \"b\": [1,\n 2]\n}\n{\"c\": 3}\n");
        assert_eq!(
            got,
            vec![ok(2, json!({"a": 1, "b": [1, 2]})), ok(7, json!({"c": 3}))]
        );
    }

    #[test]
    fn brackets_and_quotes_inside_strings_do_not_end_or_open_a_record() {
        let got = read(b"{\"a\": \"}{\\\"]\",\n \"b\": \"[\"}\n{\"c\": \"\\\\\"}\n");
        assert_eq!(
            got,
            vec![
                ok(1, json!({"a": "}{\"]", "b": "["})),
                ok(3, json!({"c": "\\"}))
            ]
        );
    }

    #[test]
    fn lao_text_reads_as_given() {
        let got = read("{\"village\": \"ບ້ານ ໜອງບົວ\"}\n".as_bytes());
        assert_eq!(got, vec![ok(1, json!({"village": "ບ້ານ ໜອງບົວ"}))]);
    }

    #[test]
    fn a_line_that_is_not_json_is_said_and_the_next_line_still_read() {
        let got = read(b"{\"a\": 1}\n{\"a\": 1,,}\n{\"a\": 3}\n");
        assert_eq!(got.len(), 3);
        let (line, why) = err_at(&got, 1);
        assert_eq!(line, 2);
        assert!(why.starts_with("this line is not JSON"), "{why}");
        assert_eq!(got[2], ok(3, json!({"a": 3})));
    }

    #[test]
    fn json_that_is_not_an_object_is_refused() {
        for input in [
            &b"[1, 2]\n"[..],
            b"42\n",
            b"\"text\"\n",
            b"null\n",
            b"true\n",
        ] {
            let got = read(input);
            assert_eq!(got.len(), 1, "{input:?}");
            let (line, why) = err_at(&got, 0);
            assert_eq!(line, 1);
            assert!(why.contains("not a JSON object"), "{input:?}: {why}");
        }
    }

    #[test]
    fn an_object_left_open_at_the_end_is_said() {
        let got = read(b"{\"a\": 1}\n{\"b\": 2,\n \"c\": 3\n");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], ok(1, json!({"a": 1})));
        assert_eq!(
            err_at(&got, 1),
            (2, "the JSON ends before the object is closed")
        );
    }

    #[test]
    fn an_unclosed_string_ends_the_record_at_its_line_instead_of_swallowing_the_file() {
        let got = read(b"{\"a\": \"open\n{\"b\": 2}\n");
        assert_eq!(got.len(), 2);
        assert_eq!(err_at(&got, 0).0, 1);
        assert_eq!(got[1], ok(2, json!({"b": 2})));
    }

    #[test]
    fn a_closing_bracket_too_many_is_not_json() {
        let got = read(b"{\"a\": 1}}\n{\"b\": 2}\n");
        assert_eq!(got.len(), 2);
        assert!(err_at(&got, 0).1.starts_with("this line is not JSON"));
        assert_eq!(got[1], ok(2, json!({"b": 2})));
    }

    #[test]
    fn a_line_over_the_cap_is_skipped_and_the_next_read() {
        let long = format!("{{\"a\": \"{}\"}}\n", "x".repeat(MAX_RECORD_BYTES));
        let mut input = long.into_bytes();
        input.extend(b"{\"b\": 2}\n");
        let got = read(&input);
        assert_eq!(got.len(), 2);
        let (line, why) = err_at(&got, 0);
        assert_eq!(line, 1);
        assert!(why.contains("longer than"), "{why}");
        assert!(!why.contains("the rest of the file"), "{why}");
        assert_eq!(got[1], ok(2, json!({"b": 2})));
    }

    #[test]
    fn a_line_over_the_cap_without_a_line_end_is_the_last() {
        let long = format!("{{\"a\": \"{}\"}}", "x".repeat(MAX_RECORD_BYTES));
        let got = read(long.as_bytes());
        assert_eq!(got.len(), 1);
        assert!(err_at(&got, 0).1.contains("longer than"));
    }

    #[test]
    fn a_record_over_the_cap_spread_over_lines_ends_the_reading() {
        let mut input = b"{\n".to_vec();
        let line = format!("\"{}\": 1,\n", "k".repeat(1000));
        while input.len() <= MAX_RECORD_BYTES {
            input.extend(line.as_bytes());
        }
        input.extend(b"\"end\": 1}\n{\"b\": 2}\n");
        let got = read(&input);
        assert_eq!(got.len(), 1, "nothing after the cut is read as a record");
        let (line, why) = err_at(&got, 0);
        assert_eq!(line, 1);
        assert!(why.contains("the rest of the file is not read"), "{why}");
    }

    #[test]
    fn a_record_just_under_the_cap_is_read_whole() {
        let filler = MAX_RECORD_BYTES - "{\"a\": \"\"}\n".len();
        let text = format!("{{\"a\": \"{}\"}}\n", "y".repeat(filler));
        assert_eq!(text.len(), MAX_RECORD_BYTES);
        let got = read(text.as_bytes());
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].1.as_ref().unwrap()["a"].as_str().unwrap().len(),
            filler
        );
    }

    #[test]
    fn a_read_error_is_said_once_and_ends_the_reading() {
        struct Broken(usize);
        impl std::io::Read for Broken {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let line = b"{\"a\": 1}\n";
                if self.0 == 0 {
                    self.0 = 1;
                    buf[..line.len()].copy_from_slice(line);
                    return Ok(line.len());
                }
                Err(std::io::Error::other("the stick was pulled out"))
            }
        }
        let got: Vec<_> = Records {
            input: std::io::BufReader::new(Broken(0)),
            line: 0,
            done: false,
        }
        .collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1.as_ref().unwrap()["a"], json!(1));
        let (line, why) = (&got[1].0, got[1].1.as_ref().unwrap_err());
        assert_eq!(*line, 2);
        assert!(
            why.contains("cannot read") && why.contains("stick"),
            "{why}"
        );
    }

    #[test]
    fn read_line_capped_keeps_lines_within_the_cap_and_drops_longer_ones() {
        let mut input = Cursor::new(b"abc\nabcdefgh\nxy".to_vec());
        let mut out = Vec::new();
        assert!(read_line_capped(&mut input, &mut out, 4).unwrap());
        assert_eq!(out, b"abc\n");
        out.clear();
        assert!(!read_line_capped(&mut input, &mut out, 4).unwrap());
        assert!(out.is_empty(), "a dropped line leaves nothing behind");
        assert!(read_line_capped(&mut input, &mut out, 4).unwrap());
        assert_eq!(out, b"xy");
        out.clear();
        assert!(read_line_capped(&mut input, &mut out, 4).unwrap());
        assert!(out.is_empty(), "the end of the input reads nothing");
    }
}
