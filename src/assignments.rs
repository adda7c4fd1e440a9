//! Assignments: who visits what this round (issue 20 part 4). A CSV that a
//! round pack carries (`pack build --assignments FILE`) and `aggregate
//! --assignments FILE` measures coverage against: one row an entity to
//! visit, `enumerator_id,list,name` (the entity list and the entity's
//! `name` in it), in any column order, other columns ignored. Read here,
//! the same way for every use; checked before a pack is signed. Also the
//! labels of an entity list, which the home page shows beside the names.

use std::collections::HashSet;

/// One entity to visit, and who is to visit it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub enumerator_id: String,
    pub list: String,
    pub name: String,
}

/// Largest assignments file read (bytes): 100,000 rows are a few MB.
pub const MAX_BYTES: usize = 32 * 1024 * 1024;

/// Reads an assignments CSV (`file` names it in messages). Every row must
/// name a valid enumerator id, a list and an entity; the same entity
/// twice for one enumerator is refused (a copy-paste slip).
pub fn parse(file: &str, bytes: &[u8]) -> Result<Vec<Assignment>, String> {
    if bytes.len() > MAX_BYTES {
        return Err(format!(
            "{file} is {} bytes, over the {MAX_BYTES} bytes an assignments file may have",
            bytes.len()
        ));
    }
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| format!("{file}: {e}"))?
        .clone();
    let at = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| {
                format!("{file} has no '{name}' column (it needs enumerator_id, list and name)")
            })
    };
    let (who, list, name) = (at("enumerator_id")?, at("list")?, at("name")?);
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (line, row) in reader.records().enumerate() {
        let here = format!("{file}, row {}", line + 2);
        let row = row.map_err(|e| format!("{here}: {e}"))?;
        let cell = |i: usize| row.get(i).unwrap_or_default().trim().to_string();
        let a = Assignment {
            enumerator_id: cell(who),
            list: cell(list),
            name: cell(name),
        };
        if !crate::bundle::is_enumerator_id(&a.enumerator_id) {
            return Err(format!(
                "{here}: {:?} is not an enumerator id (1 to 64 letters, digits, '.', '_', \
                 '-' or '@', as given to init)",
                a.enumerator_id
            ));
        }
        if a.list.is_empty() || a.name.is_empty() {
            return Err(format!(
                "{here}: the list and the entity's name are both needed"
            ));
        }
        if !seen.insert((a.enumerator_id.clone(), a.list.clone(), a.name.clone())) {
            return Err(format!(
                "{here}: {} is assigned {} of list {} twice",
                a.enumerator_id, a.name, a.list
            ));
        }
        out.push(a);
    }
    Ok(out)
}

/// The labels of an entity list's entities, by name (`name` and `label`
/// columns; an unreadable list gives none: the names are shown instead).
pub fn labels(csv: &[u8]) -> std::collections::HashMap<String, String> {
    let csv = csv.strip_prefix("\u{feff}".as_bytes()).unwrap_or(csv);
    let mut reader = csv::ReaderBuilder::new().from_reader(csv);
    let Ok(headers) = reader.headers().cloned() else {
        return Default::default();
    };
    let at = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (Some(name), Some(label)) = (at("name"), at("label")) else {
        return Default::default();
    };
    reader
        .records()
        .flatten()
        .filter_map(|r| Some((r.get(name)?.to_string(), r.get(label)?.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_in_any_column_order_and_slips_are_refused() {
        let got = parse(
            "a.csv",
            "\u{feff}name,note,list,enumerator_id\nsite-a,,sites,enum-03\nsite-b,x,sites,enum-04\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(
            got[1],
            Assignment {
                enumerator_id: "enum-04".into(),
                list: "sites".into(),
                name: "site-b".into()
            }
        );
        for (text, why) in [
            ("enumerator_id,name\nenum-03,a\n", "no 'list' column"),
            (
                "enumerator_id,list,name\nenum 03,sites,a\n",
                "is not an enumerator id",
            ),
            ("enumerator_id,list,name\nenum-03,sites,\n", "both needed"),
            (
                "enumerator_id,list,name\nenum-03,sites,a\nenum-03,sites,a\n",
                "row 3: enum-03 is assigned a of list sites twice",
            ),
        ] {
            let e = parse("a.csv", text.as_bytes()).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
    }
}
