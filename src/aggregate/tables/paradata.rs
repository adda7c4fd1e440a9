//! The paradata table of a form (`<form_id>__paradata.csv`, last of its
//! tables): its columns, and a record's lines in it, one per question of
//! the record's `paradata` (`record::Paradata`), the numbers as recorded.
//! A file of its own: `tables.rs` holds the form's own tables.

use super::{Cell, Column, Line, Source, Table};
use crate::record::Paradata;

/// Key columns of the paradata table (the round, as in every table, so
/// that Parquet partitions it by round as it streams).
pub const KEYS: [&str; 3] = ["record_id", "version", "round"];
/// The paradata table's columns: the question's line, then its record's
/// `start`, `end` and `duration_s` on every line (the seconds counted in
/// all, which neither `started` nor `finalized_at` gives).
const COLUMNS: [(&str, Cell); 7] = [
    ("field", Cell::Text),
    ("seconds", Cell::Integer),
    ("changes", Cell::Integer),
    ("visits", Cell::Integer),
    ("start", Cell::Text),
    ("end", Cell::Text),
    ("duration_s", Cell::Integer),
];

impl Table {
    /// The paradata table: its lines are made by [`paradata_rows`].
    pub(super) fn paradata() -> Table {
        Table {
            repeat: Some("paradata".into()),
            path: Vec::new(),
            columns: COLUMNS
                .iter()
                .map(|&(header, cell)| Column {
                    header: header.into(),
                    source: Source::Paradata(header),
                    hxl: String::new(),
                    cell,
                })
                .collect(),
            paradata: true,
        }
    }
}

/// A record's lines in the paradata table, one per question, the numbers
/// as the record holds them; none without paradata.
pub fn paradata_rows(
    record_id: &str,
    version: &str,
    round: &str,
    paradata: &Paradata,
) -> Vec<Vec<u8>> {
    let duration = paradata.duration_s.to_string();
    paradata
        .questions
        .iter()
        .map(|q| {
            let mut line = Line::with_capacity(256);
            let numbers = [
                q.seconds.to_string(),
                q.changes.to_string(),
                q.visits.to_string(),
            ];
            line.field(record_id);
            line.field(version);
            line.field(round);
            line.field(&q.field);
            for n in &numbers {
                line.field(n);
            }
            for text in [&paradata.start, &paradata.end, &duration] {
                line.field(text);
            }
            line.end()
        })
        .collect()
}
