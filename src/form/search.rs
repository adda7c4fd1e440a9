//! Type-to-filter over long choice lists (8,916 villages): every label and
//! the choice name folded once (lower case, Latin accents dropped, Lao
//! look-alike spellings made one: see [`lao::fold`]), then a substring test
//! per keystroke. Lao vowel and tone marks are letters, not accents: they
//! are kept. Every label with Lao letters also gets a Latin search key, its
//! BGN/PCGN romanization ([`lao::romanize`], loosely spelled by
//! [`lao::loose`]), so that "nong kham" finds ໜອງຄຳ on a laptop without a
//! Lao keyboard. The key is only searched, never shown.

use unicode_normalization::UnicodeNormalization;

use super::lao;

/// Between the parts of one choice's haystack.
const SEP: char = '\u{1F}';
/// Before the romanized keys: what follows is searched with loose Latin.
const ROMAN: char = '\u{1E}';

/// The word for "village" before a village's name, in Latin and in Lao:
/// optional in a query ("ban na" finds ນາຄຳ), since the names in the
/// lists mostly leave it out. Review by a Lao speaker.
const VILLAGE: [&str; 2] = ["ban", "ບ້ານ"];

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
    lao::fold(text)
        .nfd()
        .filter(|c| !is_latin_accent(*c))
        .flat_map(char::to_lowercase)
        .nfc()
        .collect()
}

#[derive(Debug)]
pub struct SearchIndex {
    /// One folded haystack per choice: name and every label, joined, then
    /// the loose romanization of the labels with Lao letters.
    keys: Vec<String>,
}

/// What a search index is built from: a choice's name and its labels in
/// every language (the form model's `Choice` is one).
pub trait Searchable {
    fn name(&self) -> &str;
    fn labels(&self) -> impl Iterator<Item = &str>;
}

impl SearchIndex {
    pub fn new<C: Searchable>(choices: &[C]) -> Self {
        let keys = choices
            .iter()
            .map(|c| {
                let mut key = fold(c.name());
                for text in c.labels() {
                    key.push(SEP);
                    key.push_str(&fold(text));
                }
                let mut roman = c.labels().filter(|t| lao::has_lao(t)).peekable();
                if roman.peek().is_some() {
                    key.push(ROMAN);
                    for text in roman {
                        for reading in lao::latin_keys(text) {
                            key.push_str(&reading);
                            key.push(SEP);
                        }
                    }
                }
                key.shrink_to_fit();
                key
            })
            .collect();
        SearchIndex { keys }
    }

    /// Bytes held by the haystacks (for the benchmark's figures).
    pub fn key_bytes(&self) -> usize {
        self.keys.iter().map(String::capacity).sum()
    }

    /// The candidates (indexes into the list) whose name or a label
    /// contains every word of `query`, or whose romanized Lao label does
    /// (Latin words, loosely spelled), in the candidates' order. A leading
    /// "ban" ("village") followed by other words is optional.
    pub fn filter(&self, candidates: &[usize], query: &str) -> Vec<usize> {
        let folded = fold(query);
        let mut words: Vec<&str> = folded.split_whitespace().collect();
        if words.len() > 1 && VILLAGE.iter().any(|v| fold(v) == words[0]) {
            words.remove(0);
        }
        if words.is_empty() {
            return candidates.to_vec();
        }
        // Each word, and its loose Latin spellings when it is Latin.
        let words: Vec<(&str, Vec<String>)> = words
            .into_iter()
            .map(|w| {
                let readings = if w.is_ascii() {
                    lao::loose_readings(w)
                } else {
                    Vec::new()
                };
                // A reading much shorter than the word (one letter left)
                // would match almost anything.
                let shortest = w.chars().count().min(2);
                (
                    w,
                    readings
                        .into_iter()
                        .filter(|l| l.len() >= shortest)
                        .collect(),
                )
            })
            .collect();
        // The romanized part is looked for only when a word has loose
        // Latin readings (never for a Lao query).
        let latin = words.iter().any(|(_, loose)| !loose.is_empty());
        candidates
            .iter()
            .copied()
            .filter(|&i| {
                self.keys.get(i).is_some_and(|k| {
                    let r = if latin { roman(k) } else { "" };
                    words.iter().all(|(w, loose)| {
                        k.contains(w) || loose.iter().any(|l| r.contains(l.as_str()))
                    })
                })
            })
            .collect()
    }
}

/// The romanized part of a haystack (empty without one).
fn roman(key: &str) -> &str {
    key.find(ROMAN).map_or("", |at| &key[at..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::model::Choice;
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
        // "ban" (village) before other words is optional.
        assert_eq!(idx.filter(&[0, 1, 2], "ban nong"), vec![0, 2]);
        assert_eq!(idx.filter(&[0, 1, 2], "ban"), vec![2]);
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

    #[test]
    fn lao_lookalikes_find_each_other() {
        // Issue 15: ໜອງ (what a Lao keyboard types) found nothing spelled
        // ຫນອງ, and ຄໍາ nothing spelled ຄຳ; either way round.
        let idx = SearchIndex::new(&[
            choice("1", "", "ຫນອງບົວ"),
            choice("2", "", "ໜອງຄຳ"),
            choice("3", "", "ນາຄໍາ"),
            choice("4", "", "ໂພນສະຫວ່າງ"),
        ]);
        assert_eq!(idx.filter(&[0, 1, 2, 3], "ໜອງ"), vec![0, 1]);
        assert_eq!(idx.filter(&[0, 1, 2, 3], "ຫນອງ"), vec![0, 1]);
        assert_eq!(idx.filter(&[0, 1, 2, 3], "ຄຳ"), vec![1, 2]);
        assert_eq!(idx.filter(&[0, 1, 2, 3], "ຄໍາ"), vec![1, 2]);
        // Pasted with a zero-width space between the syllables.
        assert_eq!(idx.filter(&[0, 1, 2, 3], "ໜອງ\u{200B}ຄຳ"), vec![1]);
    }

    #[test]
    fn latin_finds_lao_only_names() {
        // Review by a Lao speaker: the Lao names and their romanization.
        let idx = SearchIndex::new(&[
            choice("1", "", "ໜອງບົວ"),
            choice("2", "", "ໜອງຄຳ"),
            choice("3", "", "ນາຄຳ"),
            choice("4", "", "ໂພນສະຫວ່າງ"),
            choice("5", "Bannakeo", "ບ້ານນາແກ້ວ"),
        ]);
        let all = [0, 1, 2, 3, 4];
        assert_eq!(idx.filter(&all, "nong"), vec![0, 1]);
        assert_eq!(idx.filter(&all, "nong kham"), vec![1]);
        assert_eq!(idx.filter(&all, "Nongkham"), vec![1]);
        assert_eq!(idx.filter(&all, "kham"), vec![1, 2]);
        assert_eq!(idx.filter(&all, "ban na"), vec![2, 4]);
        assert_eq!(idx.filter(&all, "ບ້ານ ນາ"), vec![2, 4]);
        assert_eq!(idx.filter(&all, "ban"), vec![4]);
        // Everyday spellings of the same sounds.
        assert_eq!(idx.filter(&all, "phonesavanh"), vec![3]);
        assert_eq!(idx.filter(&all, "phonxavang"), vec![3]);
        assert_eq!(idx.filter(&all, "nongbua"), vec![0]);
        // A word that is in no name, nor loosely ("zzz" is not "s").
        assert_eq!(idx.filter(&all, "nong xyz"), Vec::<usize>::new());
        assert_eq!(idx.filter(&all, "nong zzz"), Vec::<usize>::new());
        assert_eq!(idx.filter(&all, "nong hh"), Vec::<usize>::new());
    }
}
