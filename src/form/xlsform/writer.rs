//! Writing the TOML form a workbook stands for: settings, survey and
//! choices rows as TOML entries, with where each came from, the
//! `or_other` choice added, and what fieldkit leaves out said as warnings.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::cells::{
    IGNORED_QUIETLY, Reading, SETTINGS_ALIASES, SURVEY_ALIASES, Sheet, TRANSLATED, Unsupported,
    canonical_type, column_letters, number, unsupported,
};

/// Columns that apply to some row types only.
pub(super) const NOT_EVERYWHERE: &[&str] = &[
    "required",
    "constraint",
    "soft_constraint",
    "calculation",
    "default",
    "choice_filter",
    "repeat_count",
];

/// The TOML being written, with where each entry came from.
#[derive(Default)]
pub(super) struct Writer {
    pub(super) out: String,
    /// external_choices lists written under another name, because the
    /// choices sheet has a list of the same name.
    pub(super) renamed: BTreeMap<String, String>,
    pub(super) survey_rows: Vec<usize>,
    pub(super) choice_rows: Vec<(&'static str, usize)>,
    /// The spreadsheet row of the `entities` sheet's declaration.
    pub(super) entities_row: Option<usize>,
}

/// A TOML string, as the toml crate writes it.
pub(super) fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A TOML key: bare when it can be.
pub(super) fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        quote(k)
    }
}

impl Writer {
    /// Writes a row's cells: plain columns as `k = "v"`, translated ones
    /// as `k = { "Language" = "v", ... }` (an untranslated cell next to
    /// translated ones is the language "default", as pyxform names it).
    pub(super) fn cells(
        &mut self,
        sheet: &Sheet,
        cells: &[String],
        skip: &[&str],
        extra: &[(String, String)],
    ) {
        let mut plain: Vec<(String, String)> = Vec::new();
        let mut texts: Vec<(String, Vec<(String, String)>)> = Vec::new();
        for (i, col) in sheet.columns.iter().enumerate() {
            let Some((name, lang)) = col else { continue };
            let Some(value) = cells.get(i).filter(|v| !v.is_empty()) else {
                continue;
            };
            if skip.contains(&name.as_str()) {
                continue;
            }
            let translated = lang.is_some() || TRANSLATED.contains(&name.as_str());
            if !translated {
                plain.push((name.clone(), value.clone()));
                continue;
            }
            let lang = lang.clone().unwrap_or_default();
            match texts.iter_mut().find(|(n, _)| n == name) {
                Some((_, v)) => v.push((lang, value.clone())),
                None => texts.push((name.clone(), vec![(lang, value.clone())])),
            }
        }
        for (k, v) in extra.iter().chain(&plain) {
            let _ = writeln!(self.out, "{} = {}", key(k), quote(v));
        }
        for (name, values) in texts {
            if let [(lang, v)] = values.as_slice()
                && lang.is_empty()
            {
                let _ = writeln!(self.out, "{} = {}", key(&name), quote(v));
                continue;
            }
            let inner: Vec<String> = values
                .iter()
                .map(|(lang, v)| {
                    let lang = if lang.is_empty() { "default" } else { lang };
                    format!("{} = {}", quote(lang), quote(v))
                })
                .collect();
            let _ = writeln!(self.out, "{} = {{ {} }}", key(&name), inner.join(", "));
        }
    }

    /// The `entities` sheet as an `[entities]` table: its one row, every
    /// filled cell (the loader checks the columns, as pyxform does).
    pub(super) fn entities(&mut self, r: &mut Reading, sheet: &Sheet) {
        let Some((row, cells)) = sheet.rows.first() else {
            return;
        };
        if let Some((second, _)) = sheet.rows.get(1) {
            r.refuse(
                "entities",
                Some(*second),
                None,
                "the entities sheet declares more than one entity; a form declares one (as \
                 pyxform requires): keep one row"
                    .into(),
            );
        }
        self.entities_row = Some(*row);
        self.out.push_str("\n[entities]\n");
        for (i, col) in sheet.columns.iter().enumerate() {
            let Some((name, _)) = col else { continue };
            if let Some(value) = cells.get(i).filter(|v| !v.is_empty()) {
                let _ = writeln!(self.out, "{} = {}", key(name), quote(value));
            }
        }
    }

    pub(super) fn settings(
        &mut self,
        r: &mut Reading,
        sheet: Option<&Sheet>,
        allow_duplicates: bool,
        stem: &str,
    ) {
        let empty = (0, Vec::new());
        let no_sheet = Sheet {
            name: "settings",
            header_row: 1,
            first_col: 0,
            columns: Vec::new(),
            rows: Vec::new(),
        };
        let sheet = sheet.unwrap_or(&no_sheet);
        let (row, cells) = sheet.rows.first().unwrap_or(&empty);
        let mut left_out = Vec::new();
        for (i, col) in sheet.columns.iter().enumerate() {
            let Some((name, _)) = col else { continue };
            if cells.get(i).is_none_or(|v| v.is_empty()) {
                continue;
            }
            if SETTINGS_ALIASES.iter().any(|(c, _)| c == name) {
                continue;
            }
            left_out.push(name.clone());
            r.warn(
                "settings",
                Some(*row),
                Some(name),
                format!(
                    "the setting '{name}' is for servers and other tools; fieldkit leaves it out"
                ),
            );
        }
        self.out.push_str("[settings]\n");
        let mut skip: Vec<&str> = left_out.iter().map(String::as_str).collect();
        skip.push("needs_review");
        let mut extra = Vec::new();
        // The form keeps its id whatever its TOML twin is called.
        let id = sheet
            .get(cells, "form_id")
            .unwrap_or_else(|| stem.to_string());
        let clean = if crate::form::load::valid_name(&id) {
            id.clone()
        } else {
            let mut clean: String = id
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || matches!(c, '_' | '-' | '.') {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            if !clean.starts_with(|c: char| c.is_alphabetic() || c == '_') {
                clean.insert_str(0, "form_");
            }
            r.warn(
                "settings",
                (*row > 0).then_some(*row),
                Some("form_id"),
                format!("the form_id '{id}' is used as '{clean}' (letters, digits, '_', '-', '.')"),
            );
            clean
        };
        skip.push("form_id");
        extra.push(("form_id".to_string(), clean));
        if allow_duplicates && sheet.get(cells, "allow_choice_duplicates").is_none() {
            r.warn(
                "external_choices",
                None,
                Some("name"),
                "external_choices repeats choice names (a cascade): allow_choice_duplicates is \
                 set, for the choices sheet too"
                    .into(),
            );
            extra.push(("allow_choice_duplicates".into(), "yes".into()));
        }
        self.cells(sheet, cells, &skip, &extra);
        // fieldkit's own setting: languages still to be reviewed, comma-separated.
        if let Some(langs) = sheet.get(cells, "needs_review") {
            let list: Vec<String> = langs
                .split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(quote)
                .collect();
            let _ = writeln!(self.out, "needs_review = [{}]", list.join(", "));
        }
        if sheet.rows.len() > 1 {
            r.warn(
                "settings",
                Some(sheet.rows[1].0),
                None,
                "only the first row of settings counts; the rows below it are left out".into(),
            );
        }
    }

    pub(super) fn survey(
        &mut self,
        r: &mut Reading,
        sheet: &Sheet,
        other_lists: &mut BTreeMap<String, usize>,
        languages: &mut BTreeSet<String>,
        root: &str,
        others: &[&Sheet],
    ) {
        // Columns fieldkit does not use: one warning per column.
        let mut unused = Vec::new();
        for (i, col) in sheet.columns.iter().enumerate() {
            let Some((name, lang)) = col else {
                if sheet
                    .rows
                    .iter()
                    .any(|(_, c)| c.get(i).is_some_and(|v| !v.is_empty()))
                {
                    r.warn(
                        "survey",
                        Some(sheet.header_row),
                        Some(&column_letters(sheet.first_col + i)),
                        "a column without a header holds values; it is left out".into(),
                    );
                }
                continue;
            };
            if let Some(l) = lang {
                languages.insert(l.clone());
            }
            if !SURVEY_ALIASES.iter().any(|(c, _)| c == name) && !unused.contains(name) {
                unused.push(name.clone());
                let why = if IGNORED_QUIETLY.iter().any(|m| name.starts_with(m)) {
                    "media are not shown in a terminal"
                } else {
                    "fieldkit does not use it"
                };
                r.warn(
                    "survey",
                    Some(sheet.header_row),
                    Some(name),
                    format!("the column '{name}' is left out: {why}"),
                );
            }
        }
        let skip: Vec<&str> = unused.iter().map(String::as_str).collect();
        // Names that other rows refer to: a question they need cannot be
        // left out.
        // (Also what the settings and the choice labels show.)
        let referenced: BTreeSet<String> = sheet
            .rows
            .iter()
            .chain(others.iter().flat_map(|s| s.rows.iter()))
            .flat_map(|(_, cells)| cells.iter())
            .flat_map(|c| refs(c))
            .collect();
        for (row, cells) in &sheet.rows {
            let raw_type = sheet.get(cells, "type").unwrap_or_default();
            let name = sheet.get(cells, "name").unwrap_or_default();
            let mut t = canonical_type(&raw_type);
            let mut or_other = false;
            if let Some(stripped) = t
                .len()
                .checked_sub(" or_other".len())
                .filter(|&at| t.is_char_boundary(at) && t[at..].eq_ignore_ascii_case(" or_other"))
                .map(|at| &t[..at])
            {
                t = stripped.trim().to_string();
                or_other = true;
            }
            if let Some(rest) = t.strip_prefix("select_one_external ") {
                let list = rest.trim();
                t = format!("select_one {}", self.renamed.get(list).map_or(list, |l| l));
            }
            // rank: every choice ticked in order of rank, stored as ODK
            // stores a rank (the names, first ranked first).
            let mut rank_of = None;
            if let Some(list) = t.strip_prefix("rank ").map(|l| l.trim().to_string()) {
                let names: Vec<String> = others
                    .iter()
                    .filter(|s| s.name == "choices")
                    .flat_map(|s| {
                        s.rows
                            .iter()
                            .filter(|(_, c)| s.get(c, "list_name").as_deref() == Some(&list))
                            .filter_map(|(_, c)| s.get(c, "name"))
                    })
                    .collect();
                let count =
                    names.len() + usize::from(or_other && !names.iter().any(|n| n == "other"));
                r.warn(
                    "survey",
                    Some(*row),
                    Some("type"),
                    format!(
                        "'{name}' is a rank: asked as ticking every choice in order of rank \
                         (the first ticked is ranked first), stored as ODK stores a rank"
                    ),
                );
                t = format!("select_multiple {list}");
                rank_of = Some(count);
            }
            if t == "csv-external" {
                // A data instance, not a question: only its name is kept.
                self.out.push_str("\n[[survey]]\n");
                self.survey_rows.push(*row);
                let _ = writeln!(self.out, "type = \"csv-external\"\nname = {}", quote(&name));
                continue;
            }
            if t.is_empty() && name.is_empty() {
                // Notes to the designer in other columns: pyxform skips
                // rows without a type and a name too.
                r.warn(
                    "survey",
                    Some(*row),
                    None,
                    "a row with neither type nor name is left out".into(),
                );
                continue;
            }
            if name == root {
                r.refuse(
                    "survey",
                    Some(*row),
                    Some("name"),
                    format!(
                        "'{name}' is the name of the form's root (XLSForm's default 'data', or \
                         the settings' name); give the row another name"
                    ),
                );
                continue;
            }
            if let Some(u) = unsupported(&t) {
                let required = sheet.get(cells, "required").is_some_and(|v| {
                    matches!(v.to_lowercase().as_str(), "yes" | "true" | "true()")
                });
                match u {
                    Unsupported::Metadata if referenced.contains(&name) => {
                        // Other rows show it: kept, always empty.
                        r.warn(
                            "survey",
                            Some(*row),
                            Some("type"),
                            format!(
                                "'{t}' ({name}) is metadata fieldkit does not collect; it stays \
                                 empty"
                            ),
                        );
                        self.out.push_str("\n[[survey]]\n");
                        self.survey_rows.push(*row);
                        let _ = writeln!(
                            self.out,
                            "type = \"calculate\"\nname = {}\ncalculation = \"''\"",
                            quote(&name)
                        );
                    }
                    Unsupported::Metadata => r.warn(
                        "survey",
                        Some(*row),
                        Some("type"),
                        format!("'{t}' ({name}) is metadata fieldkit does not collect; left out"),
                    ),
                    Unsupported::Question(what) if !required && !referenced.contains(&name) => r
                        .warn(
                            "survey",
                            Some(*row),
                            Some("type"),
                            format!(
                                "'{name}' asks for {what}, which fieldkit does not support; the \
                                 question is left out (nothing else in the form needs it)"
                            ),
                        ),
                    Unsupported::Question(what) => r.refuse(
                        "survey",
                        Some(*row),
                        Some("type"),
                        format!(
                            "'{}' uses {what}, which fieldkit does not support{}; change or \
                             remove the question",
                            if name.is_empty() { &raw_type } else { &name },
                            if required || referenced.contains(&name) {
                                ", and the form needs it (it is required or other rows refer to it)"
                            } else {
                                ""
                            }
                        ),
                    ),
                }
                continue;
            }
            let mut extra = Vec::new();
            let mut skip_here = skip.clone();
            if t == "range" {
                // ODK's defaults: start=1 end=10 step=1. The bounds become
                // a constraint, so what can be typed is what the slider offers.
                let params = sheet.get(cells, "parameters").unwrap_or_default();
                let param = |key: &str, default: f64| {
                    params
                        .split_whitespace()
                        .filter_map(|p| p.split_once('='))
                        .find(|(k, _)| k.trim().eq_ignore_ascii_case(key))
                        .and_then(|(_, v)| v.trim().parse::<f64>().ok())
                        .unwrap_or(default)
                };
                let (start, end, step) =
                    (param("start", 1.0), param("end", 10.0), param("step", 1.0));
                let (low, high) = (start.min(end), start.max(end));
                let whole = [start, end, step].iter().all(|x| x.fract() == 0.0);
                t = if whole { "integer" } else { "decimal" }.into();
                let bounds = format!(". >= {} and . <= {}", number(low), number(high));
                let constraint = match sheet.get(cells, "constraint") {
                    Some(c) => format!("({c}) and {bounds}"),
                    None => bounds,
                };
                skip_here.push("constraint");
                skip_here.push("parameters");
                extra.push(("constraint".to_string(), constraint));
                r.warn(
                    "survey",
                    Some(*row),
                    Some("type"),
                    format!(
                        "'{name}' is a range: asked as {} typed in, from {} to {}",
                        if whole { "a whole number" } else { "a number" },
                        number(low),
                        number(high)
                    ),
                );
            }
            if let Some(count) = rank_of
                && sheet.get(cells, "choice_filter").is_none()
            {
                let all = format!("count-selected(.) = {count}");
                let constraint = match sheet.get(cells, "constraint") {
                    Some(c) => format!("({c}) and {all}"),
                    None => all,
                };
                skip_here.push("constraint");
                extra.push(("constraint".to_string(), constraint));
            }
            if t == "barcode" {
                t = "text".into();
                r.warn(
                    "survey",
                    Some(*row),
                    Some("type"),
                    format!("'{name}' is a barcode: asked as text typed in (there is no camera)"),
                );
            }
            if or_other {
                match t
                    .strip_prefix("select_one ")
                    .or(t.strip_prefix("select_multiple "))
                {
                    Some(list) => {
                        other_lists.entry(list.trim().to_string()).or_insert(*row);
                    }
                    None => r.refuse(
                        "survey",
                        Some(*row),
                        Some("type"),
                        format!("or_other works with select_one and select_multiple, not '{t}'"),
                    ),
                }
            }
            if !t.is_empty() {
                extra.push(("type".to_string(), t.clone()));
            }
            skip_here.push("type");
            self.lenient(r, sheet, *row, cells, &t, &name, &mut skip_here, &mut extra);
            self.out.push_str("\n[[survey]]\n");
            self.survey_rows.push(*row);
            self.cells(sheet, cells, &skip_here, &extra);
            if or_other && !name.is_empty() {
                // As pyxform does: a text question for the other answer.
                self.out.push_str("\n[[survey]]\n");
                self.survey_rows.push(*row);
                let _ = writeln!(
                    self.out,
                    "type = \"text\"\nname = {}\nlabel = {}\nrelevant = {}",
                    quote(&format!("{name}_other")),
                    in_every(languages, "Specify other."),
                    // Relative, as pyxform's XPath is: the select of this
                    // row's own group even when its name is shared.
                    quote(&format!("selected(../{name}, 'other')"))
                );
            }
        }
    }

    pub(super) fn choices(
        &mut self,
        r: &mut Reading,
        sheet: &Sheet,
        other_lists: &mut BTreeMap<String, usize>,
    ) {
        let mut media = Vec::new();
        for col in sheet.columns.iter().flatten() {
            if IGNORED_QUIETLY.iter().any(|m| col.0.starts_with(m)) && !media.contains(&col.0) {
                media.push(col.0.clone());
                r.warn(
                    sheet.name,
                    Some(sheet.header_row),
                    Some(&col.0),
                    format!(
                        "the column '{}' is left out: media are not shown in a terminal",
                        col.0
                    ),
                );
            }
        }
        let mut skip: Vec<&str> = media.iter().map(String::as_str).collect();
        skip.push("list_name");
        for (row, cells) in &sheet.rows {
            let (Some(list), Some(name)) =
                (sheet.get(cells, "list_name"), sheet.get(cells, "name"))
            else {
                r.warn(
                    sheet.name,
                    Some(*row),
                    None,
                    "a choice without list_name or name is left out".into(),
                );
                continue;
            };
            let list = match self.renamed.get(&list) {
                Some(other) if sheet.name == "external_choices" => other.clone(),
                _ => list,
            };
            if name == "other" {
                // The list has its own 'other': or_other adds nothing.
                other_lists.remove(&list);
            }
            self.out.push_str("\n[[choices]]\n");
            self.choice_rows.push((sheet.name, *row));
            self.cells(sheet, cells, &skip, &[("list_name".into(), list)]);
        }
    }

    /// The 'other' choice or_other adds to a list (located at the first
    /// select that asked for it).
    pub(super) fn other_choice(&mut self, list: &str, row: usize, languages: &BTreeSet<String>) {
        self.out.push_str("\n[[choices]]\n");
        self.choice_rows.push(("survey", row));
        let label = in_every(languages, "Other");
        let _ = writeln!(
            self.out,
            "list_name = {}\nname = \"other\"\nlabel = {label}",
            quote(list)
        );
    }
}

/// A text in every language of the form (pyxform's English words).
pub(super) fn in_every(languages: &BTreeSet<String>, text: &str) -> String {
    if languages.is_empty() {
        return quote(text);
    }
    let inner: Vec<String> = languages
        .iter()
        .map(|l| format!("{} = {}", quote(l), quote(text)))
        .collect();
    format!("{{ {} }}", inner.join(", "))
}

/// The `${name}` references in a cell, and the last step of each
/// relative path (`../name`, `current()/../group/name`).
pub(super) fn refs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices("../") {
        let step: String = text[at + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
            .collect();
        if let Some(last) = step
            .rsplit('/')
            .next()
            .filter(|s| !s.is_empty() && *s != "..")
        {
            out.push(last.to_string());
        }
    }
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        rest = &rest[at + 2..];
        if let Some(end) = rest.find('}') {
            out.push(rest[..end].trim().to_string());
            rest = &rest[end..];
        }
    }
    out
}
