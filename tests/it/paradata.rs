//! Paradata through the real binary, on a real clock (no FIELDKIT_NOW on
//! the screen): a small form filled in tmux with waits, one answer
//! changed twice, a repeat entry, a quit and a resume; the store holds no
//! paradata and no answer in the clear; the finalized record, exported and
//! opened with the `age` CLI and the demo data manager key, carries the
//! paradata; `aggregate` writes the paradata table. Times are checked
//! only from below (at least the waits), never from above.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::bundle::{export, unzip};
use crate::support::{
    Enumerator, Tmux, age_decrypt, canary, csv_rows, demo_data_manager, have, repo, stderr,
    wait_until,
};
use crate::tui_e2e::focused_on;

const FORM: &str = r#"
[settings]
form_id = "pd_check"
version = "1"
form_title = "Timing check"

[[survey]]
type = "text"
name = "site"
label = "Site name"

[[survey]]
type = "integer"
name = "households"
label = "Households counted"

[[survey]]
type = "begin_repeat"
name = "members"
label = "Member"

[[survey]]
type = "integer"
name = "age"
label = "Age of the member"

[[survey]]
type = "end_repeat"
name = "members"
"#;

/// The screen, on the machine's clock.
struct Live {
    term: Tmux,
    log: std::path::PathBuf,
}

impl Live {
    fn start(e: &Enumerator, forms: &Path, name: &str) -> Live {
        let log = e.dir.path().join(format!("{name}.stderr"));
        let cmd = format!(
            "cd '{}' && unset FIELDKIT_HOME FIELDKIT_FORMS FIELDKIT_NOW; \
             XDG_DATA_HOME=/nonexistent/fieldkit-tests \
             exec '{}' --home '{}' --passphrase-file '{}' --forms '{}' 2>'{}'",
            repo().display(),
            env!("CARGO_BIN_EXE_fieldkit"),
            e.home.display(),
            e.passphrase_file.display(),
            forms.display(),
            log.display()
        );
        Live {
            term: Tmux::start(name, &cmd, 80, 24),
            log,
        }
    }

    fn shows(&self) -> String {
        format!(
            "the screen shows:\n{}\n--- stderr:\n{}",
            self.term.screen(),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        )
    }

    fn see(&self, text: &str) {
        assert!(
            self.term.wait_for(text),
            "waited for '{text}'; {}",
            self.shows()
        );
    }

    fn at(&self, label: &str) {
        assert!(
            wait_until(|| focused_on(&self.term.screen(), label)),
            "waited for the focus on '{label}'; {}",
            self.shows()
        );
    }

    fn keys(&self, text: &str, keys: &[&str]) {
        self.term.send(text, keys);
    }

    fn gone(&self) {
        assert!(
            wait_until(|| {
                !std::process::Command::new("tmux")
                    .args(["has-session", "-t", &self.term.session])
                    .output()
                    .is_ok_and(|o| o.status.success())
            }),
            "fieldkit did not quit; {}",
            self.shows()
        );
    }
}

fn wait(seconds: u64) {
    std::thread::sleep(Duration::from_secs(seconds));
}

fn number(row: &[String], header: &[String], name: &str) -> u64 {
    let at = header.iter().position(|h| h == name).unwrap();
    row[at]
        .parse()
        .unwrap_or_else(|_| panic!("{name}: {:?}", row[at]))
}

#[test]
fn time_on_each_question_reaches_the_record_and_the_paradata_table() {
    let test = "time_on_each_question_reaches_the_record_and_the_paradata_table";
    if !have("tmux", test) {
        return;
    }
    let e = Enumerator::init("enum-09");
    let forms = e.dir.path().join("forms");
    std::fs::create_dir_all(&forms).unwrap();
    std::fs::write(forms.join("pd_check.toml"), FORM).unwrap();

    // ---- First sitting: the site (after a wait), households changed twice.
    let s = Live::start(&e, &forms, "paradata-1");
    s.see("Timing check");
    s.keys("", &["Enter"]);
    s.at("Site name");
    wait(2);
    s.keys("PDCANARY Ban Nong", &["Enter"]);
    s.at("Households counted");
    s.keys("12", &["Enter"]);
    for again in ["13", "14"] {
        s.see("Member");
        s.keys("", &["PageUp"]);
        s.at("Households counted");
        s.keys("", &["C-u"]);
        s.keys(again, &["Enter"]);
    }
    s.see("Member");
    // The draft as stored now: nothing of it in the clear.
    canary(
        &e.home,
        "a draft with paradata",
        &["PDCANARY", "households", "paradata", "visits", "members"],
    );
    s.keys("", &["C-c"]);
    s.gone();

    // ---- Second sitting: the draft resumed, a member added.
    let s = Live::start(&e, &forms, "paradata-2");
    s.see("Timing check");
    s.see("(no name yet) · Timing check");
    s.keys("", &["Enter"]);
    s.see("Member");
    s.keys("", &["Enter"]);
    s.at("Age of the member");
    wait(1);
    s.keys("30", &["Enter"]);
    s.see("Member");
    s.keys("n", &[]);
    s.see("Finalize (Enter)");
    s.keys("", &["Enter"]);
    s.see("Record finalized");
    s.keys("", &["C-c"]);
    s.gone();
    canary(
        &e.home,
        "a finalized record with paradata",
        &["PDCANARY", "households", "paradata", "visits"],
    );

    // ---- The bundle: the record, opened with the age CLI, carries it.
    let bundle = export(&e, &e.dir.path().join("usb"));
    let manifest: Value = serde_json::from_slice(&unzip(&bundle, "manifest.json")).unwrap();
    let entry = &manifest["entries"][0];
    let names: Vec<String> = fieldkit::bundle::archive::read(&std::fs::read(&bundle).unwrap())
        .unwrap()
        .iter()
        .map(|e| e.name.clone())
        .collect();
    assert!(
        names.iter().all(|n| !n.contains("paradata")),
        "no new bundle file: {names:?}"
    );
    let record: Value = if have("age", test) {
        let plain = age_decrypt(
            e.dir.path(),
            &repo().join("keys/demo/data-manager.key"),
            &unzip(&bundle, entry["path"].as_str().unwrap()),
        )
        .expect("the data manager opens the record");
        serde_json::from_slice(&plain).unwrap()
    } else {
        let dm = demo_data_manager();
        let ct = unzip(&bundle, entry["path"].as_str().unwrap());
        serde_json::from_slice(&fieldkit::crypt::decrypt_with(&dm, &ct).unwrap()).unwrap()
    };
    let p = &record["paradata"];
    assert_eq!(p["end"], record["finalized_at"], "{p}");
    assert!(!p["start"].as_str().unwrap().is_empty(), "{p}");
    let q = |field: &str| -> &Value {
        p["questions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["field"] == field)
            .unwrap_or_else(|| panic!("no {field} in {p}"))
    };
    let seconds = |field: &str| q(field)["seconds"].as_u64().unwrap();
    assert!(seconds("site") >= 2, "{p}");
    assert_eq!(q("site")["changes"], 0, "{p}");
    assert_eq!(q("site")["visits"], 1, "{p}");
    assert_eq!(q("households")["changes"], 2, "{p}");
    assert_eq!(q("households")["visits"], 3, "{p}");
    assert!(seconds("members[1]/age") >= 1, "{p}");
    let total: u64 = p["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["seconds"].as_u64().unwrap())
        .sum();
    // The whole counts every question's time (each rounded on its own).
    let duration = p["duration_s"].as_u64().unwrap();
    let lines = p["questions"].as_array().unwrap().len() as u64;
    assert!(duration + lines >= total && duration >= 3, "{p}");

    // ---- aggregate: the paradata table, exactly as recorded.
    let signers = e.dir.path().join("allowed_signers");
    std::fs::write(&signers, format!("{}\n", e.signers_line)).unwrap();
    let tables = e.dir.path().join("tables");
    let pq = e.dir.path().join("pq");
    let mut extra = vec!["--xlsx"];
    if cfg!(feature = "parquet") {
        extra.extend(["--parquet", pq.to_str().unwrap()]);
    }
    let run = crate::aggregate::aggregate(&tables, &[&bundle], &signers, &extra);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let rows = csv_rows(&tables.join("pd_check__paradata.csv"));
    let header = &rows[0];
    assert_eq!(
        header,
        &[
            "record_id",
            "version",
            "round",
            "field",
            "seconds",
            "changes",
            "visits",
            "start",
            "end",
            "duration_s"
        ]
    );
    assert_eq!(rows.len() - 1, p["questions"].as_array().unwrap().len());
    for (row, q) in rows[1..].iter().zip(p["questions"].as_array().unwrap()) {
        assert_eq!(row[0], record["record_id"].as_str().unwrap());
        assert_eq!(row[1], "1");
        assert_eq!(row[2], "", "no pack: no round");
        assert_eq!(row[3], q["field"].as_str().unwrap());
        for name in ["seconds", "changes", "visits"] {
            assert_eq!(
                number(row, header, name),
                q[name].as_u64().unwrap(),
                "{name}"
            );
        }
        assert_eq!(row[7], p["start"].as_str().unwrap());
        assert_eq!(row[8], p["end"].as_str().unwrap());
        assert_eq!(number(row, header, "duration_s"), duration);
    }
    // The workbook's sheet holds the numbers as numbers.
    {
        use calamine::{Data, Reader};
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook(tables.join("pd_check.xlsx")).unwrap();
        let sheet = book.worksheet_range("paradata").unwrap();
        let row: Vec<&Data> = sheet.rows().nth(1).unwrap().iter().collect();
        assert!(matches!(row[1], Data::Float(v) if *v == 1.0), "{row:?}");
        assert!(matches!(row[4], Data::Float(_)), "{row:?}");
        assert!(matches!(row[3], Data::String(s) if s == "site"), "{row:?}");
    }
    #[cfg(feature = "parquet")]
    {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let file =
            pq.join("form_id=pd_check/round=__HIVE_DEFAULT_PARTITION__/pd_check__paradata.parquet");
        let reader = SerializedFileReader::new(std::fs::File::open(&file).unwrap()).unwrap();
        let meta = reader.metadata();
        let schema = meta.file_metadata().schema_descr();
        let types: Vec<(String, String)> = schema
            .columns()
            .iter()
            .map(|c| (c.name().to_string(), c.physical_type().to_string()))
            .collect();
        for (name, kind) in &types {
            let want = match name.as_str() {
                "version" | "seconds" | "changes" | "visits" | "duration_s" => "INT64",
                _ => "BYTE_ARRAY",
            };
            assert_eq!(kind, want, "{name}: {types:?}");
        }
        assert_eq!(types.len(), 9, "{types:?}");
        assert_eq!(meta.file_metadata().num_rows() as usize, rows.len() - 1);
    }
    // The main table is as before: no paradata column.
    let main = csv_rows(&tables.join("pd_check.csv"));
    assert!(
        !main[0].iter().any(|h| h.contains("duration")),
        "{:?}",
        main[0]
    );
    let summary: Value =
        serde_json::from_slice(&std::fs::read(tables.join("summary.json")).unwrap()).unwrap();
    assert!(
        summary["tables"]
            .to_string()
            .contains("pd_check__paradata.csv"),
        "{}",
        summary["tables"]
    );
}
