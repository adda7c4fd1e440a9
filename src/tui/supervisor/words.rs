//! The supervisor's screen's own words, in English and Lao, in one table
//! so that a translator reviews them in one place. Added for issue 21
//! (Lao to review): the Lao column is a draft that a Lao speaker must
//! review before fielding (README, "Lao text to review"), as the
//! enumerator's words in `tui::words` are. {0}, {1}... are facts filled in.

use crate::tui::words::Lang;

macro_rules! words {
    ($($name:ident => $en:literal, $lo:literal;)*) => {
        /// Every word of the supervisor's screen.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum W { $($name),* }

        impl W {
            pub fn text(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((W::$name, Lang::En) => $en, (W::$name, Lang::Lo) => $lo,)*
                }
            }

            /// Every word, for the test that each has both languages.
            #[cfg(test)]
            pub const ALL: &'static [W] = &[$(W::$name),*];
        }
    };
}

words! {
    Title => "fieldkit review", "fieldkit ກວດຂໍ້ມູນ";
    Counts => "{0} bundle(s) · {1} record(s) · {2} verdict(s)", "{0} ຊຸດ · {1} ລາຍການ · {2} ການຕັດສິນ";
    NotReviewed => "{0} bundle(s) did not verify and are not reviewed (listed when you quit)", "{0} ຊຸດກວດສອບບໍ່ຜ່ານ ແລະ ບໍ່ໄດ້ກວດ (ສະແດງເມື່ອອອກ)";
    Language => "Language", "ພາສາ";
    HeadBundle => "Bundle", "ຊຸດ";
    HeadForm => "Form", "ແບບຟອມ";
    HeadTimes => "Started-finalized", "ເລີ່ມ-ສຳເລັດ";
    HeadChecks => "Checks", "ກວດ";
    HeadVerdict => "Verdict", "ຕັດສິນ";
    Approved => "approved", "ອະນຸມັດ";
    Returned => "returned", "ສົ່ງຄືນ";
    NoVerdict => "-", "-";
    NoView => "no review view (laptop had no supervisor key)", "ບໍ່ມີຂໍ້ມູນໃຫ້ກວດ (ຄອມບໍ່ມີກະແຈຫົວໜ້າ)";
    Problem => "cannot be shown", "ສະແດງບໍ່ໄດ້";
    Record => "Record", "ລາຍການ";
    Version => "version", "ສະບັບ";
    Started => "started", "ເລີ່ມ";
    Finalized => "finalized", "ສຳເລັດ";
    By => "by", "ໂດຍ";
    Verdict => "Verdict", "ການຕັດສິນ";
    NotYet => "none yet", "ຍັງບໍ່ມີ";
    Note => "note", "ໝາຍເຫດ";
    Answers => "Answers marked for review", "ຄຳຕອບທີ່ໃຫ້ກວດ";
    NoAnswers => "(no answer of this record is marked for review)", "(ບໍ່ມີຄຳຕອບທີ່ໃຫ້ກວດ)";
    Check => "check", "ກວດ";
    Comment => "comment", "ຄຳເຫັນ";
    ListKeys => "↑↓ move · Enter open · a approve · r return · u undo · w write · q quit · F1", "↑↓ ເລື່ອນ · Enter ເປີດ · a ອະນຸມັດ · r ສົ່ງຄືນ · u ຍົກເລີກ · w ຂຽນ · q ອອກ · F1 ຊ່ວຍ";
    RecordKeys => "↑↓ · a approve · r return · c comment · u undo · n/p record · Esc back · F1 help", "↑↓ ຄຳຖາມ · a ອະນຸມັດ · r ສົ່ງຄືນ · c ຄຳເຫັນ · u ຍົກເລີກ · n/p ລາຍການ · Esc ກັບ · F1";
    InputKeys => "Enter: save · Esc: cancel", "Enter: ບັນທຶກ · Esc: ຍົກເລີກ";
    CommentOn => "Comment on {0}", "ຄຳເຫັນກ່ຽວກັບ {0}";
    CommentEmpty => "(an empty comment removes it)", "(ຄຳເຫັນຫວ່າງ ຈະລຶບມັນ)";
    ReturnNote => "Return record {0}: what should the enumerator correct? (a note; may be empty when comments say it)", "ສົ່ງຄືນລາຍການ {0}: ພະນັກງານຄວນແກ້ຫຍັງ? (ໝາຍເຫດ; ຫວ່າງໄດ້ ຖ້າມີຄຳເຫັນແລ້ວ)";
    NeedsWhy => "A returned record needs a note or a comment on a question (c): say what to correct.", "ລາຍການທີ່ສົ່ງຄືນ ຕ້ອງມີໝາຍເຫດ ຫຼື ຄຳເຫັນ (c): ບອກວ່າຈະແກ້ຫຍັງ.";
    DidApprove => "Record {0} approved.", "ອະນຸມັດລາຍການ {0} ແລ້ວ.";
    DidReturn => "Record {0} returned.", "ສົ່ງຄືນລາຍການ {0} ແລ້ວ.";
    DidUndo => "Verdict on record {0} undone.", "ຍົກເລີກການຕັດສິນລາຍການ {0} ແລ້ວ.";
    NothingToUndo => "Record {0} has no verdict to undo.", "ລາຍການ {0} ບໍ່ມີການຕັດສິນ.";
    FieldPrompt => "Comment on which question? Its name as the record names it (age, members[2]/age); also one not shown", "ໃຫ້ຄຳເຫັນຕໍ່ຄຳຖາມໃດ? ຊື່ຂອງມັນ (age, members[2]/age); ລວມທັງຄຳຖາມທີ່ບໍ່ໄດ້ສະແດງ";
    NotAField => "{0} is not a question of this record's form", "{0} ບໍ່ແມ່ນຄຳຖາມຂອງແບບຟອມນີ້";
    HelpField => "f: comment on a question by its name, also one not shown (a record's page)", "f: ໃຫ້ຄຳເຫັນຕໍ່ຄຳຖາມຕາມຊື່ ລວມທັງທີ່ບໍ່ໄດ້ສະແດງ (ໃນໜ້າລາຍການ)";
    NoQuestion => "No question selected to comment on.", "ບໍ່ໄດ້ເລືອກຄຳຖາມ.";
    AskQuit => "Write the receipts before quitting? y: write · n: quit without writing · Esc: stay", "ຂຽນໃບຮັບກ່ອນອອກບໍ? y: ຂຽນ · n: ອອກໂດຍບໍ່ຂຽນ · Esc: ຢູ່ຕໍ່";
    NotWritten => "Receipts not written", "ບໍ່ໄດ້ຂຽນໃບຮັບ";
    Writing => "Writing the receipts...", "ກຳລັງຂຽນໃບຮັບ...";
    HelpTitle => "Keys (any key closes)", "ປຸ່ມ (ກົດປຸ່ມໃດກໍໄດ້ເພື່ອປິດ)";
    HelpMove => "↑↓ PgUp PgDn Home End: move", "↑↓ PgUp PgDn Home End: ເລື່ອນ";
    HelpOpen => "Enter: open the record · Esc or q: back to the list", "Enter: ເປີດລາຍການ · Esc ຫຼື q: ກັບຄືນລາຍການ";
    HelpApprove => "a: approve the record as it is", "a: ອະນຸມັດລາຍການຕາມທີ່ມີ";
    HelpReturn => "r: return it to the enumerator to correct (asks a note)", "r: ສົ່ງຄືນໃຫ້ພະນັກງານແກ້ (ຖາມໝາຍເຫດ)";
    HelpComment => "c: comment on the selected question (on a record's page)", "c: ໃຫ້ຄຳເຫັນຕໍ່ຄຳຖາມທີ່ເລືອກ (ໃນໜ້າລາຍການ)";
    HelpUndo => "u: undo the verdict on the record", "u: ຍົກເລີກການຕັດສິນ";
    HelpNext => "n / p: next / previous record (on a record's page)", "n / p: ລາຍການຕໍ່ໄປ / ກ່ອນໜ້າ";
    HelpWrite => "w: write one signed receipt per bundle and quit", "w: ຂຽນໃບຮັບທີ່ລົງລາຍເຊັນ ຊຸດລະໃບ ແລ້ວອອກ";
    HelpQuit => "q: quit (asks to write first) · F2: switch language", "q: ອອກ (ຖາມກ່ອນວ່າຈະຂຽນບໍ) · F2: ປ່ຽນພາສາ";
    HelpSeen => "Only answers the form marks for review are shown: never who was interviewed.", "ສະແດງສະເພາະຄຳຕອບທີ່ແບບຟອມໃຫ້ກວດ: ບໍ່ເຄີຍສະແດງວ່າແມ່ນໃຜ.";
}

impl W {
    /// The text with its facts in place of {0}, {1}...
    pub fn fill(self, lang: Lang, facts: &[&str]) -> String {
        let mut out = self.text(lang).to_string();
        // Facts go in last to first, so that a fact holding "{1}" is
        // never taken for a place.
        for (i, fact) in facts.iter().enumerate().rev() {
            out = out.replacen(&format!("{{{i}}}"), &fact.replace('{', "{\u{200B}"), 1);
        }
        out.replace("{\u{200B}", "{")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_has_both_languages() {
        for w in W::ALL {
            assert!(!w.text(Lang::En).is_empty(), "{w:?}");
            assert!(!w.text(Lang::Lo).is_empty(), "{w:?}");
            let places = |s: &str| s.matches('{').count();
            assert_eq!(places(w.text(Lang::En)), places(w.text(Lang::Lo)), "{w:?}");
        }
    }

    #[test]
    fn key_lines_fit_80_columns() {
        for w in [W::ListKeys, W::RecordKeys, W::InputKeys] {
            for lang in [Lang::En, Lang::Lo] {
                let width = ratatui::text::Line::from(w.text(lang)).width();
                assert!(width <= 80, "{w:?} {lang:?}: {width}");
            }
        }
    }

    #[test]
    fn facts_fill_their_places_once() {
        assert_eq!(
            W::DidApprove.fill(Lang::En, &["{0}x"]),
            "Record {0}x approved."
        );
        assert_eq!(
            W::Counts.fill(Lang::En, &["2", "10", "{1}"]),
            "2 bundle(s) · 10 record(s) · {1} verdict(s)"
        );
    }
}
