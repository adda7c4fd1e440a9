//! Type-to-filter over long choice lists (8,916 villages): every label and
//! the choice name folded once (lower case, Latin accents dropped), then a
//! substring test per keystroke. Lao text is matched as it is: its vowel
//! and tone marks are letters, not accents.

use unicode_normalization::UnicodeNormalization;

use super::model::Choice;

/// Combining marks that decorate Latin (and Greek, Cyrillic) letters.
fn is_latin_accent(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}')
}

/// Lower case without Latin accents: "Xé Bang Fai" and "xe bang fai" fold alike.
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !is_latin_accent(*c))
        .flat_map(char::to_lowercase)
        .nfc()
        .collect()
}

#[derive(Debug)]
pub struct SearchIndex {
    /// One folded haystack per choice: name and every label, joined.
    keys: Vec<String>,
}

impl SearchIndex {
    pub fn new(choices: &[Choice]) -> Self {
        let keys = choices
            .iter()
            .map(|c| {
                let mut key = fold(&c.name);
                for text in c.label.texts() {
                    key.push('\u{1F}');
                    key.push_str(&fold(text));
                }
                key
            })
            .collect();
        SearchIndex { keys }
    }

    /// The candidates (indexes into the list) whose name or a label contains
    /// every word of `query`, in the candidates' order.
    pub fn filter(&self, candidates: &[usize], query: &str) -> Vec<usize> {
        let folded = fold(query);
        let words: Vec<&str> = folded.split_whitespace().collect();
        if words.is_empty() {
            return candidates.to_vec();
        }
        candidates
            .iter()
            .copied()
            .filter(|&i| {
                self.keys
                    .get(i)
                    .is_some_and(|k| words.iter().all(|w| k.contains(w)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::model::Text;

    fn choice(name: &str, en: &str, lo: &str) -> Choice {
        Choice {
            name: name.into(),
            label: Text(vec![
                ("English (en)".into(), en.into()),
                ("Lao (lo)".into(), lo.into()),
            ]),
            columns: vec![],
        }
    }

    #[test]
    fn latin_is_case_and_accent_insensitive() {
        assert_eq!(fold("Xé BANG Fài"), "xe bang fai");
        let idx = SearchIndex::new(&[
            choice("1", "Nongping", "ໜອງປິງ"),
            choice("2", "Phonsavang", "ໂພນສະຫວ່າງ"),
            choice("3", "Ban Nông", "ບ້ານໜອງ"),
        ]);
        assert_eq!(idx.filter(&[0, 1, 2], "NONG"), vec![0, 2]);
        assert_eq!(idx.filter(&[0, 1, 2], "savang"), vec![1]);
        assert_eq!(idx.filter(&[0, 1, 2], "ban nong"), vec![2]);
        assert_eq!(idx.filter(&[0, 2], ""), vec![0, 2]);
    }

    #[test]
    fn lao_marks_are_kept() {
        // ໂພນ without the tone mark of ຫວ່າງ must not match ຫວາງ.
        assert_eq!(fold("ໂພນສະຫວ່າງ"), "ໂພນສະຫວ່າງ");
        let idx = SearchIndex::new(&[choice("2", "", "ໂພນສະຫວ່າງ"), choice("4", "", "ຫວາງ")]);
        assert_eq!(idx.filter(&[0, 1], "ຫວ່າງ"), vec![0]);
        assert_eq!(idx.filter(&[0, 1], "ຫວາງ"), vec![1]);
    }
}
