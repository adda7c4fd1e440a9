//! `begin_loop over LIST` ... `end_loop`, expanded as pyxform expands it:
//! a group named like the loop, holding one group per choice of the list
//! (named and labelled like the choice), each holding the loop's rows with
//! `%(name)s` and `%(label)s` replaced by the choice's name and label. The
//! rows inside keep their names, shared between the choices' groups: the
//! loader stores each under its group path (`loop/choice/name`). Each row
//! written keeps the spreadsheet row it came from, so that errors and
//! warnings point at the workbook.

use super::cells::{Reading, Sheet};

/// What a `type` cell says about loops.
enum LoopRow {
    Begin(String),
    End,
    Other,
}

fn loop_row(t: &str) -> LoopRow {
    let lower = t.trim().to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let rest = match words.as_slice() {
        ["begin", "loop", rest @ ..] | ["begin_loop", rest @ ..] => rest,
        ["end", "loop"] | ["end_loop"] => return LoopRow::End,
        _ => return LoopRow::Other,
    };
    let list = match rest {
        ["over", list] | [list] => list,
        _ => "",
    };
    // The list's name as written (choices are matched case-sensitively).
    let original = t
        .split_whitespace()
        .find(|w| w.to_lowercase() == list)
        .unwrap_or(list);
    LoopRow::Begin(original.to_string())
}

/// Whether the survey has a loop at all (most workbooks do not).
pub(super) fn has_loops(sheet: &Sheet) -> bool {
    sheet.rows.iter().any(|(_, cells)| {
        !matches!(
            loop_row(&sheet.get(cells, "type").unwrap_or_default()),
            LoopRow::Other
        )
    })
}

/// The survey sheet with its loops expanded; a loop that cannot be (no
/// list, no such list, never closed) is refused at its row.
pub(super) fn expand(r: &mut Reading, sheet: &Sheet, choices: Option<&Sheet>) -> Sheet {
    let col = |name: &str| {
        sheet
            .columns
            .iter()
            .position(|c| matches!(c, Some((n, None)) if n == name))
    };
    let (Some(type_col), Some(name_col)) = (col("type"), col("name")) else {
        return clone(sheet, sheet.rows.clone());
    };
    let mut out = Vec::new();
    let rows = &sheet.rows[..];
    let mut at = 0;
    while at < rows.len() {
        at = expand_from(r, sheet, choices, rows, at, (type_col, name_col), &mut out);
    }
    clone(sheet, out)
}

fn clone(sheet: &Sheet, rows: Vec<(usize, Vec<String>)>) -> Sheet {
    Sheet {
        name: sheet.name,
        header_row: sheet.header_row,
        first_col: sheet.first_col,
        columns: sheet.columns.clone(),
        rows,
    }
}

/// Copies the row at `at` (a whole loop, expanded, when it begins one)
/// into `out`; returns the index of the next row to read.
fn expand_from(
    r: &mut Reading,
    sheet: &Sheet,
    choices: Option<&Sheet>,
    rows: &[(usize, Vec<String>)],
    at: usize,
    (type_col, name_col): (usize, usize),
    out: &mut Vec<(usize, Vec<String>)>,
) -> usize {
    let (row, cells) = &rows[at];
    let t = cells.get(type_col).cloned().unwrap_or_default();
    let list = match loop_row(&t) {
        LoopRow::Other => {
            out.push((*row, cells.clone()));
            return at + 1;
        }
        LoopRow::End => {
            r.refuse(
                "survey",
                Some(*row),
                Some("type"),
                "'end_loop' closes nothing: there is no open loop; remove the row or add the \
                 begin_loop row"
                    .into(),
            );
            return at + 1;
        }
        LoopRow::Begin(list) => list,
    };
    // The loop's body: up to its own end_loop.
    let mut depth = 0;
    let mut end = None;
    for (i, (_, c)) in rows.iter().enumerate().skip(at + 1) {
        match loop_row(c.get(type_col).map_or("", String::as_str)) {
            LoopRow::Begin(_) => depth += 1,
            LoopRow::End if depth == 0 => {
                end = Some(i);
                break;
            }
            LoopRow::End => depth -= 1,
            LoopRow::Other => {}
        }
    }
    let Some(end) = end else {
        r.refuse(
            "survey",
            Some(*row),
            Some("type"),
            format!("the loop over '{list}' is never closed; add an end_loop row after its last question"),
        );
        return rows.len();
    };
    let items = list_items(choices, &list);
    if list.is_empty() || items.is_empty() {
        r.refuse(
            "survey",
            Some(*row),
            Some("type"),
            format!(
                "the loop '{t}' goes over no choices: write 'begin_loop over LIST' with a list of \
                 the choices sheet"
            ),
        );
        return end + 1;
    }
    let width = sheet.columns.len();
    let group = |row: usize, cells: &[String], t: &str| {
        let mut c = cells.to_vec();
        c.resize(width.max(c.len()), String::new());
        c[type_col] = t.to_string();
        (row, c)
    };
    out.push(group(*row, cells, "begin_group"));
    let body = &rows[at + 1..end];
    for item in &items {
        // A group per choice: its name and label.
        let mut c = vec![String::new(); width];
        c[type_col] = "begin_group".into();
        c[name_col] = item.name.clone();
        for (i, column) in sheet.columns.iter().enumerate() {
            if let Some(("label", lang)) = column.as_ref().map(|(n, l)| (n.as_str(), l)) {
                c[i] = item.label(lang.as_deref());
            }
        }
        out.push((*row, c));
        let mut inner = Vec::new();
        let mut i = 0;
        while i < body.len() {
            i = expand_from(r, sheet, choices, body, i, (type_col, name_col), &mut inner);
        }
        for (row, mut cells) in inner {
            for (i, column) in sheet.columns.iter().enumerate() {
                if i == type_col || i == name_col {
                    continue;
                }
                let lang = column.as_ref().and_then(|(_, l)| l.as_deref());
                if let Some(v) = cells.get_mut(i)
                    && v.contains("%(")
                {
                    *v = v
                        .replace("%(name)s", &item.name)
                        .replace("%(label)s", &item.label(lang));
                }
            }
            out.push((row, cells));
        }
        out.push(group(rows[end].0, &[], "end_group"));
    }
    out.push(group(rows[end].0, &[], "end_group"));
    end + 1
}

/// One choice of the list a loop goes over.
struct Item {
    name: String,
    /// Labels by language (None: the untranslated `label` column).
    labels: Vec<(Option<String>, String)>,
}

impl Item {
    /// The label in `lang`, else the untranslated one, else any, else the name.
    fn label(&self, lang: Option<&str>) -> String {
        let find = |want: Option<&str>| {
            self.labels
                .iter()
                .find(|(l, _)| l.as_deref().map(str::to_lowercase) == want.map(str::to_lowercase))
                .map(|(_, v)| v.clone())
        };
        find(lang)
            .or_else(|| find(None))
            .or_else(|| self.labels.first().map(|(_, v)| v.clone()))
            .unwrap_or_else(|| self.name.clone())
    }
}

fn list_items(choices: Option<&Sheet>, list: &str) -> Vec<Item> {
    let Some(sheet) = choices else {
        return Vec::new();
    };
    sheet
        .rows
        .iter()
        .filter(|(_, c)| sheet.get(c, "list_name").as_deref() == Some(list))
        .filter_map(|(_, c)| {
            let name = sheet.get(c, "name")?;
            let labels = sheet
                .columns
                .iter()
                .enumerate()
                .filter_map(|(i, col)| match col {
                    Some((n, lang)) if n == "label" => c
                        .get(i)
                        .filter(|v| !v.is_empty())
                        .map(|v| (lang.clone(), v.clone())),
                    _ => None,
                })
                .collect();
            Some(Item { name, labels })
        })
        .collect()
}
