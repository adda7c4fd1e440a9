//! Parquet partitions: folder names of rounds, every round its file
//! however many, stale files of an earlier run removed.

use super::{NO_ROUND, folders, partition};
use crate::bundle::verify::unsafe_component;

#[test]
fn a_round_is_one_safe_folder_name_that_reads_back_as_typed() {
    for (round, folder) in [
        ("R2-2026", "round=R2-2026"),
        ("", "round=__HIVE_DEFAULT_PARTITION__"),
        ("R2 2026/b.c", "round=R2%202026%2Fb%2Ec"),
        ("..", "round=%2E%2E"),
        ("a\\b:c%d=e", "round=a%5Cb%3Ac%25d%3De"),
        ("ຮອບ 2", "round=ຮອບ%202"),
        ("tab\u{85}x", "round=tab%C2%85x"),
        // A round named like the null partition keeps a folder of
        // its own (pyarrow still reads it as null: the README says).
        (NO_ROUND, "round=%5F%5FHIVE%5FDEFAULT%5FPARTITION%5F%5F"),
    ] {
        let got = partition(round);
        assert_eq!(got, folder, "{round:?}");
        assert_eq!(unsafe_component(&got, 255), None, "{got}");
    }
}

#[test]
fn rounds_differing_only_in_case_get_folders_of_their_own() {
    let got: Vec<String> = folders(["AB", "Ab", "R1", "ab", "r1"].into_iter())
        .into_iter()
        .map(|(f, cut)| {
            assert!(!cut);
            f
        })
        .collect();
    assert_eq!(
        got,
        [
            "round=AB",
            "round=%41%62",
            "round=R1",
            "round=%61%62",
            "round=%721"
        ]
    );
    let lower: std::collections::HashSet<String> = got.iter().map(|f| f.to_lowercase()).collect();
    assert_eq!(lower.len(), got.len());
}

/// A table of more rounds than are written at once: every round its
/// own file, each holding its rows and no round column, in two passes.
#[test]
fn every_round_gets_its_file_however_many_there_are() {
    use parquet::file::reader::{FileReader, SerializedFileReader};

    use super::super::tables::{Layout, META};
    let form = crate::form::load_str(
        "[settings]\nform_id = \"t\"\nversion = \"1\"\n\n[[survey]]\ntype = \"integer\"\n\
         name = \"n\"\nlabel = \"N\"\n",
        std::path::Path::new("t.toml"),
    )
    .unwrap();
    let mut layout = Layout::default();
    layout.add_version(&form, None);
    let table = &layout.tables[0];
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("t.csv");
    let mut text = format!("{},n\n", META.join(","));
    let round = |i: usize| match i % 71 {
        70 => String::new(),
        r => format!("R{r}"),
    };
    for i in 0..213 {
        let mut cells = vec![format!("rec{i}")];
        cells.extend(std::iter::repeat_n(String::new(), 8));
        cells.push(round(i));
        cells.push(i.to_string());
        text.push_str(&(cells.join(",") + "\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let pq = dir.path().join("pq");
    // 400 bytes of cells at most: the fullest partition goes to disk
    // again and again, its rows in order.
    let written = super::write_buffering(&pq, "t", table, &csv, false, 400).unwrap();
    assert_eq!(written.files.len(), 71);
    assert!(written.as_text.is_empty() && written.shortened.is_empty());
    let mut groups = 0;
    for r in 0..71 {
        let folder = super::partition(&round(r));
        let path = pq.join("form_id=t").join(&folder).join("t.parquet");
        assert!(written.files.contains(&(path.clone(), 3)), "{folder}");
        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        groups += reader.metadata().num_row_groups();
        let rows: Vec<String> = reader
            .get_row_iter(None)
            .unwrap()
            .map(|row| {
                let row = row.unwrap();
                assert!(row.get_column_iter().all(|(name, _)| name != "round"));
                row.get_column_iter().next().unwrap().1.to_string()
            })
            .collect();
        let want: Vec<String> = (0..3).map(|k| format!("\"rec{}\"", r + 71 * k)).collect();
        assert_eq!(rows, want, "{folder}");
    }
    assert!(groups > 71, "a partition flushed before its end: {groups}");

    // Again with fewer rounds, into the same folder (and an earlier
    // fieldkit's unpartitioned file, and another table's file in a
    // round folder): this table's stale files go, nothing else.
    let old_layout = pq.join("form_id=t/t.parquet");
    std::fs::write(&old_layout, b"old").unwrap();
    let other = pq.join("form_id=t/round=R5/t__other.parquet");
    std::fs::write(&other, b"other").unwrap();
    let mut text = format!("{},n\n", META.join(","));
    text.push_str(&format!("rec0{},R1,1\n", ",".repeat(8)));
    std::fs::write(&csv, text).unwrap();
    let again = super::write_table(&pq, "t", table, &csv, false).unwrap();
    assert_eq!(again.files.len(), 1);
    let mut left: Vec<String> = walk(&pq.join("form_id=t"));
    left.sort();
    assert_eq!(left, ["round=R1/t.parquet", "round=R5/t__other.parquet"]);
}

/// Files under `dir`, as paths relative to it.
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            out.extend(walk(&path).into_iter().map(|f| format!("{name}/{f}")));
        } else {
            out.push(name);
        }
    }
    out
}

#[test]
fn a_round_too_long_for_a_folder_is_cut_and_given_its_hash() {
    let emoji = "🌊".repeat(64);
    let spaces = format!("R{}", " ".repeat(90));
    let got = folders([emoji.as_str(), spaces.as_str()].into_iter());
    for ((folder, cut), round) in got.iter().zip([&emoji, &spaces]) {
        assert!(cut, "{folder}");
        assert_eq!(unsafe_component(folder, 255), None, "{folder}");
        let hash = crate::crypt::sha256_hex(round.as_bytes());
        assert!(folder.ends_with(&format!("~{}", &hash[..16])), "{folder}");
        // Cut between characters, never inside a %XX.
        let kept = folder.rsplit_once('~').unwrap().0;
        assert!(partition(round).starts_with(kept), "{folder}");
        let b = kept.as_bytes();
        assert!(b[b.len() - 1] != b'%' && b[b.len() - 2] != b'%', "{folder}");
    }
    // 64 Lao characters (3 bytes each) still fit whole.
    let lao = "ກ".repeat(64);
    assert_eq!(
        folders([lao.as_str()].into_iter()),
        [(partition(&lao), false)]
    );
}
