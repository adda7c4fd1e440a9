//! The answers file of `fill`, read as it comes: JSON Lines (one record a
//! line) or one object spread over lines, never more than one record's cap
//! held, each record with the line it starts on.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Map, Value};

use crate::form::limits::{self, MAX_RECORD_BYTES};

/// One record of an answers file: the line it starts on, and the object
/// or why it could not be read.
type Line = (usize, Result<Map<String, Value>, String>);

/// Reads records as they come: JSON Lines (one object per line) or one
/// object spread over several lines. Each record is handed on as soon as
/// its last line is read, so a long stdin stream is saved as it arrives.
/// Never holds more than [`MAX_RECORD_BYTES`] of input: a longer line is
/// skipped, a longer record spread over lines ends the reading.
pub(super) struct Records<R> {
    pub(super) input: R,
    pub(super) line: usize,
    pub(super) done: bool,
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

pub(super) fn open_answers(path: &Path) -> Result<Box<dyn std::io::BufRead>> {
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

#[cfg(test)]
mod tests {
    //! The answers reader on its own: what a line or a record spread over
    //! lines gives, where it says it starts, and what it refuses.

    use super::*;
    use serde_json::json;
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
