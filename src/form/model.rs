//! The loaded form: survey nodes as a tree in an arena, choice lists, and the
//! evaluation order the loader worked out. A `Form` is immutable once
//! loaded and shared (`Arc`) by every session that fills it.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use regex::Regex;

use super::dates::DatePrecision;
use super::expr::Expr;
pub use super::media::Media;
use super::search::{SearchIndex, Searchable};

/// Index of a survey node in `Form::nodes`, in document order.
pub type NodeId = usize;

/// A translatable text: `(language, text)` pairs; language "" is untranslated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Text(pub Vec<(String, String)>);

impl Text {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The text in `lang`, else the untranslated text, else the form's
    /// default language, else any translation.
    pub fn get(&self, lang: Option<&str>, default: Option<&str>) -> Option<&str> {
        let find = |l: &str| {
            self.0
                .iter()
                .find(|(k, v)| k == l && !v.is_empty())
                .map(|(_, v)| v.as_str())
        };
        lang.and_then(find)
            .or_else(|| find(""))
            .or_else(|| default.and_then(find))
            .or_else(|| {
                self.0
                    .iter()
                    .find(|(_, v)| !v.is_empty())
                    .map(|(_, v)| v.as_str())
            })
    }

    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Text,
    Integer,
    Decimal,
    /// A select; `list` names a `[[choices]]` list or a CSV beside the form.
    SelectOne {
        list: String,
    },
    SelectMultiple {
        list: String,
    },
    Date,
    Time,
    DateTime,
    Geopoint,
    /// Points of a line, `lat lon [alt [acc]]` separated by `;` (at least 2).
    Geotrace,
    /// Points of a closed shape, the first repeated last (at least 3 apart).
    Geoshape,
    /// A file attached: a photo, a recording, a video, any file or a
    /// signature (see `media`). The answer is the attachment's name.
    File {
        media: Media,
    },
    Note,
    Acknowledge,
    Calculate,
    Hidden,
    Group,
    Repeat,
    Start,
    End,
    Today,
    DeviceId,
    Username,
}

impl Kind {
    /// Shown to the enumerator as a question (or a note).
    pub fn is_visible(&self) -> bool {
        !matches!(
            self,
            Kind::Calculate
                | Kind::Hidden
                | Kind::Group
                | Kind::Repeat
                | Kind::Start
                | Kind::End
                | Kind::Today
                | Kind::DeviceId
                | Kind::Username
        )
    }

    /// Takes an answer typed by the enumerator.
    pub fn is_input(&self) -> bool {
        self.is_visible() && *self != Kind::Note
    }

    pub fn is_meta(&self) -> bool {
        matches!(
            self,
            Kind::Start | Kind::End | Kind::Today | Kind::DeviceId | Kind::Username
        )
    }

    /// The media a file question takes.
    pub fn media(&self) -> Option<Media> {
        match self {
            Kind::File { media } => Some(*media),
            _ => None,
        }
    }

    pub fn list(&self) -> Option<&str> {
        match self {
            Kind::SelectOne { list } | Kind::SelectMultiple { list } => Some(list),
            _ => None,
        }
    }
}

/// Whether an answer is required: XLSForm allows yes/no or an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Required {
    No,
    Yes,
    When(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Default {
    Literal(String),
    /// An expression evaluated once, when the question's instance is created.
    Dynamic(Expr),
}

/// A `choice_filter`, with the equality shortcut the loader found, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceFilter {
    pub expr: Expr,
    /// `column = expr`: filter through an index instead of evaluating per choice.
    pub equals: Option<(usize, Expr)>,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub kind: Kind,
    pub label: Text,
    pub hint: Text,
    pub required: Required,
    pub required_message: Text,
    pub relevant: Option<Expr>,
    pub constraint: Option<Expr>,
    pub constraint_message: Text,
    /// A soft check (fieldkit's `soft_constraint` column): when it does
    /// not hold, the answer is kept but must be confirmed, and the
    /// confirmation goes in the record.
    pub soft_constraint: Option<Expr>,
    pub soft_constraint_message: Text,
    pub calculation: Option<Expr>,
    pub default: Option<Default>,
    pub read_only: bool,
    /// fieldkit's `review` column: a supervisor may read this answer (it
    /// goes in the record's review view, encrypted to the supervisors as
    /// well). On a group or repeat, every field inside it. Answers that
    /// identify someone (names, phones, exact places) must not be marked.
    pub review: bool,
    pub appearance: Vec<String>,
    pub choice_filter: Option<ChoiceFilter>,
    pub repeat_count: Option<Expr>,
    /// `parameters` `randomize=true`: the choices in a shuffled order,
    /// the same for the same `seed` (when given).
    pub randomize: bool,
    pub seed: Option<Expr>,
    pub hxl: Option<String>,
    /// A file question's `accept` column: the extensions it narrows the
    /// media's to (lowercase, no dot); empty keeps the media's own.
    pub accept: Vec<String>,
    pub parent: Option<NodeId>,
    pub children: Vec<NodeId>,
    /// Repeat ancestors, outermost first (a repeat is not its own ancestor).
    pub repeats: Vec<NodeId>,
    /// Index of this node's value in the instance of its innermost repeat (or the root).
    pub slot: usize,
    /// 1-based row among the `[[survey]]` rows.
    pub row: usize,
}

impl Node {
    pub fn has_appearance(&self, word: &str) -> bool {
        self.appearance.iter().any(|a| a == word)
    }

    /// What a date question asks for: a day, or with the `month-year` or
    /// `year` appearance only a month or a year. `Day` for other questions.
    pub fn date_precision(&self) -> DatePrecision {
        if self.kind != Kind::Date {
            DatePrecision::Day
        } else if self.has_appearance("year") {
            DatePrecision::Year
        } else if self.has_appearance("month-year") {
            DatePrecision::MonthYear
        } else {
            DatePrecision::Day
        }
    }

    /// Whether the node keeps the value it was first worked out to: a
    /// calculation in `once()` (random() and uuid() are put in one when
    /// the form loads). Drafts save such values, so that resuming keeps them.
    pub fn keeps_value(&self) -> bool {
        matches!(
            self.calculation,
            Some(Expr::Call(crate::form::expr::Func::Once, _))
        )
    }

    /// The repeat whose instances hold this node's value; `None` is the root.
    pub fn scope(&self) -> Option<NodeId> {
        self.repeats.last().copied()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub name: String,
    pub label: Text,
    /// Values of the list's extra columns, in `ChoiceList::columns` order.
    pub columns: Vec<String>,
}

/// Choices (indexes) by the value of one extra column.
pub type ColumnIndex = HashMap<String, Vec<usize>>;

impl Searchable for Choice {
    fn name(&self) -> &str {
        &self.name
    }
    fn labels(&self) -> impl Iterator<Item = &str> {
        self.label.texts()
    }
}

#[derive(Debug)]
pub struct ChoiceList {
    pub name: String,
    pub choices: Vec<Choice>,
    /// Extra column names, usable by bare name in `choice_filter`.
    pub columns: Vec<String>,
    /// The CSV it came from, for `select_*_from_file`.
    pub file: Option<PathBuf>,
    by_name: HashMap<String, usize>,
    search: OnceLock<SearchIndex>,
    by_column: Mutex<HashMap<usize, std::sync::Arc<ColumnIndex>>>,
    /// Lookups (`pulldata()`, `instance()` filters): choices by the value
    /// of a column named as expressions name it, built once per column.
    by_key: Mutex<HashMap<String, std::sync::Arc<ColumnIndex>>>,
}

impl ChoiceList {
    pub fn new(
        name: String,
        choices: Vec<Choice>,
        columns: Vec<String>,
        file: Option<PathBuf>,
    ) -> Self {
        let by_name = choices
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
        ChoiceList {
            name,
            choices,
            columns,
            file,
            by_name,
            search: OnceLock::new(),
            by_column: Mutex::new(HashMap::new()),
            by_key: Mutex::new(HashMap::new()),
        }
    }

    /// Whether an expression can read `column` of this list's items:
    /// `name`, `label`, `label::Language`, or one of its columns.
    pub fn has(&self, column: &str) -> bool {
        matches!(column, "name" | "label")
            || column.starts_with("label::")
            || self.column(column).is_some()
    }

    /// The value of `column` for choice `i`, as a lookup reads it: its
    /// name, its label (the untranslated text, else the first given),
    /// `label::Language`, or an extra column; None for a column the list
    /// lacks.
    pub fn value_of(&self, i: usize, column: &str) -> Option<&str> {
        let choice = self.choices.get(i)?;
        match column {
            "name" => Some(&choice.name),
            "label" => Some(choice.label.get(None, None).unwrap_or("")),
            _ => match column.strip_prefix("label::") {
                Some(lang) => Some(choice.label.get(Some(lang), None).unwrap_or("")),
                None => Some(
                    choice
                        .columns
                        .get(self.column(column)?)
                        .map_or("", String::as_str),
                ),
            },
        }
    }

    /// Choices (indexes, in list order) by the value of `column`, built on
    /// first use and shared by every later lookup: a lookup in a list of
    /// 10,000 items is one hash probe. None for a column the list lacks.
    pub fn by_key(&self, column: &str) -> Option<std::sync::Arc<ColumnIndex>> {
        if !self.has(column) {
            return None;
        }
        let mut cache = self
            .by_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(index) = cache.get(column) {
            return Some(index.clone());
        }
        let mut map = ColumnIndex::new();
        for i in 0..self.choices.len() {
            let value = self.value_of(i, column).unwrap_or("");
            map.entry(value.to_string()).or_default().push(i);
        }
        let index = std::sync::Arc::new(map);
        cache.insert(column.to_string(), index.clone());
        Some(index)
    }

    pub fn find(&self, name: &str) -> Option<&Choice> {
        self.by_name.get(name).map(|&i| &self.choices[i])
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The folded labels for type-to-filter, built on first use.
    pub fn search(&self) -> &SearchIndex {
        self.search.get_or_init(|| SearchIndex::new(&self.choices))
    }

    /// Choices by the value of extra column `column`, built on first use.
    pub fn by_column(&self, column: usize) -> std::sync::Arc<ColumnIndex> {
        let mut cache = self
            .by_column
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .entry(column)
            .or_insert_with(|| {
                let mut map = ColumnIndex::new();
                for (i, c) in self.choices.iter().enumerate() {
                    let value = c.columns.get(column).cloned().unwrap_or_default();
                    map.entry(value).or_default().push(i);
                }
                std::sync::Arc::new(map)
            })
            .clone()
    }
}

#[derive(Debug)]
pub struct Form {
    pub id: String,
    pub version: String,
    pub title: Text,
    pub default_language: Option<String>,
    /// Every language any text of the form is given in, default first.
    pub languages: Vec<String>,
    /// Languages whose text a native speaker still has to review.
    pub needs_review: Vec<String>,
    pub instance_name: Option<Expr>,
    pub nodes: Vec<Node>,
    /// The top-level survey nodes.
    pub top: Vec<NodeId>,
    pub lists: BTreeMap<String, ChoiceList>,
    /// The form's data instances, by id (what `instance('id')` and
    /// `pulldata('id', ...)` name): the key of the list in `lists`. A CSV
    /// list's id is its file name without `.csv`; a choice list's its name.
    pub instances: BTreeMap<String, String>,
    /// What the `entities` sheet declares: the entity a record creates or
    /// updates, and the answers saved to its properties.
    pub entity: Option<super::entities::Declaration>,
    /// Every node, each after everything its relevance, calculation and
    /// repeat count read.
    pub order: Vec<NodeId>,
    /// Number of value slots in a root instance.
    pub root_slots: usize,
    /// Number of value slots in an instance of each repeat.
    pub repeat_slots: HashMap<NodeId, usize>,
    pub source: PathBuf,
    /// The TOML text this form was parsed from (for a workbook, the TOML
    /// it was turned into): what bundles carry.
    pub(crate) text: std::sync::Arc<str>,
    /// The SHA-256 of `text`, lowercase hex.
    pub(crate) sha256: String,
    /// What loading left out, with where (workbook columns and questions
    /// fieldkit does not use).
    pub warnings: Vec<super::error::FormError>,
    pub(crate) by_name: HashMap<String, NodeId>,
    pub(crate) regexes: HashMap<String, Regex>,
}

impl Form {
    /// Whether a supervisor may read this node's answers: it, or a group
    /// or repeat around it, is marked `review`.
    pub fn reviewed(&self, id: NodeId) -> bool {
        let mut at = Some(id);
        while let Some(n) = at {
            let Some(node) = self.nodes.get(n) else {
                return false;
            };
            if node.review {
                return true;
            }
            at = node.parent;
        }
        false
    }

    /// The form's text as bundles carry it: exactly the TOML text it was
    /// parsed from (for a workbook, the TOML form it was turned into),
    /// whatever happened to the file since.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The SHA-256 of [`Form::text`], lowercase hex: the form's hash in
    /// drafts, records and bundle manifests.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    pub fn find(&self, name: &str) -> Option<NodeId> {
        self.by_name.get(name).copied()
    }

    /// The data instance `id` (`instance('id')`), if the form has it.
    pub fn instance(&self, id: &str) -> Option<&ChoiceList> {
        self.instances.get(id).and_then(|key| self.lists.get(key))
    }

    pub fn list_of(&self, id: NodeId) -> Option<&ChoiceList> {
        self.nodes[id].kind.list().and_then(|l| self.lists.get(l))
    }

    pub fn title_in(&self, lang: Option<&str>) -> &str {
        self.title
            .get(lang, self.default_language.as_deref())
            .unwrap_or(&self.id)
    }

    pub fn slots(&self, scope: Option<NodeId>) -> usize {
        match scope {
            None => self.root_slots,
            Some(r) => self.repeat_slots.get(&r).copied().unwrap_or(0),
        }
    }

    /// Questions the enumerator answers or reads (not calculations or metadata).
    pub fn question_count(&self) -> usize {
        self.nodes.iter().filter(|n| n.kind.is_visible()).count()
    }

    pub(crate) fn regex(&self, pattern: &str) -> Option<Regex> {
        if let Some(r) = self.regexes.get(pattern) {
            return Some(r.clone());
        }
        regex::RegexBuilder::new(pattern)
            .size_limit(1 << 20)
            .build()
            .ok()
    }
}

/// SHA-256 of `bytes` as lowercase hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    use std::fmt::Write as _;
    let mut hex = String::with_capacity(64);
    for b in sha2::Sha256::digest(bytes) {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}
