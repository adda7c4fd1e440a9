//! The program's own words on screen (the chrome), in English and Lao, in
//! one table so that a translator reviews them in one place. The form's
//! own text comes from the form. The Lao column is a draft: a Lao speaker
//! must review it before fielding (README, "Lao text to review").

/// The language of the chrome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Lo,
}

impl Lang {
    /// Lao for a form language named like "Lao (lo)", English otherwise.
    pub fn of_form_language(language: Option<&str>) -> Lang {
        match language {
            Some(l) if l.contains("(lo)") || l.starts_with("Lao") => Lang::Lo,
            _ => Lang::En,
        }
    }
}

macro_rules! messages {
    ($($name:ident => $en:literal, $lo:literal;)*) => {
        /// Every message of the chrome.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Msg { $($name),* }

        impl Msg {
            pub fn text(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((Msg::$name, Lang::En) => $en, (Msg::$name, Lang::Lo) => $lo,)*
                }
            }
        }
    };
}

messages! {
    SetupTitle => "Welcome to fieldkit: set up this laptop", "ຍິນດີຕ້ອນຮັບສູ່ fieldkit: ຕັ້ງຄ່າຄອມພິວເຕີນີ້";
    SetupIntro => "Your answers are encrypted with a passphrase only you know. There is no recovery without it.", "ຄຳຕອບຂອງທ່ານຖືກເຂົ້າລະຫັດດ້ວຍລະຫັດຜ່ານທີ່ທ່ານຮູ້ຄົນດຽວ. ຖ້າລືມ ຈະກູ້ຄືນບໍ່ໄດ້.";
    EnumeratorId => "Enumerator id", "ລະຫັດພະນັກງານເກັບຂໍ້ມູນ";
    FullName => "Full name", "ຊື່ ແລະ ນາມສະກຸນ";
    Passphrase => "Passphrase", "ລະຫັດຜ່ານ";
    PassphraseAgain => "Passphrase again", "ລະຫັດຜ່ານອີກຄັ້ງ";
    Recipients => "Data managers' keys file", "ໄຟລ໌ກະແຈຂອງຜູ້ຈັດການຂໍ້ມູນ";
    SetupKeys => "Tab next field · Enter create the profile · Esc quit", "Tab ຊ່ອງຕໍ່ໄປ · Enter ສ້າງໂປຣໄຟລ໌ · Esc ອອກ";
    PassphrasesDiffer => "The two passphrases differ; type them again.", "ລະຫັດຜ່ານທັງສອງບໍ່ຄືກັນ; ກະລຸນາພິມໃໝ່.";
    UnlockTitle => "Unlock your profile", "ເປີດໂປຣໄຟລ໌ຂອງທ່ານ";
    UnlockKeys => "Enter unlock · Esc quit", "Enter ເປີດ · Esc ອອກ";
    Working => "Working...", "ກຳລັງດຳເນີນການ...";
    Forms => "Forms", "ແບບຟອມ";
    Drafts => "Drafts", "ຮ່າງ";
    Finalized => "finalized", "ສຳເລັດແລ້ວ";
    Exported => "exported", "ສົ່ງອອກແລ້ວ";
    NoDrafts => "No drafts.", "ບໍ່ມີຮ່າງ.";
    Untitled => "(no name yet)", "(ຍັງບໍ່ມີຊື່)";
    HomeKeys => "Enter open · Tab switch · e export · a receipt · Del delete · F1 help · q quit", "Enter ເປີດ · Tab ສະຫຼັບ · e ສົ່ງອອກ · a ໃບຮັບ · Del ລຶບ · F1 ຊ່ວຍ · q ອອກ";
    FormKeys => "Enter next · ^U clear · PgUp/Dn page · ^J jump · ^F finish · F1 help · Esc home", "Enter ຕໍ່ · ^U ລຶບ · PgUp/PgDn ໜ້າ · ^J ໄປຫາ · ^F ສຳເລັດ · F1 ຊ່ວຍ · Esc ໜ້າຫຼັກ";
    // Added for issue 15: the Lao of these is a draft to review too.
    DateKeys => "Enter next · ^T today · ^U clear · PgUp/Dn page · ^J jump · ^F finish · F1 help", "Enter ຕໍ່ · ^T ມື້ນີ້ · ^U ລຶບ · PgUp/PgDn ໜ້າ · ^J ໄປຫາ · ^F ສຳເລັດ · F1 ຊ່ວຍ";
    ListKeys => "Space pick · ↑↓ move · Enter next · ^U clear · ^J jump · ^F finish · F1 help", "Space ເລືອກ · ↑↓ ເລື່ອນ · Enter ຕໍ່ · ^U ລຶບ · ^J ໄປຫາ · ^F ສຳເລັດ · F1 ຊ່ວຍ";
    TickKeys => "Space tick · ↑↓ move · Enter next · ^U clear · ^J jump · ^F finish · F1 help", "Space ໝາຍ · ↑↓ ເລື່ອນ · Enter ຕໍ່ · ^U ລຶບ · ^J ໄປຫາ · ^F ສຳເລັດ · F1 ຊ່ວຍ";
    AckKeys => "Space tick · Enter next · ^U clear · ^J jump · ^F finish · F1 help · Esc home", "Space ໝາຍ · Enter ຕໍ່ · ^U ລຶບ · ^J ໄປຫາ · ^F ສຳເລັດ · F1 ຊ່ວຍ · Esc ໜ້າຫຼັກ";
    ListFiltering => "Typing filters. ↓ goes into the list, then Space picks.", "ການພິມແມ່ນຄົ້ນຫາ. ກົດ ↓ ເພື່ອເຂົ້າລາຍການ, ແລ້ວ Space ເພື່ອເລືອກ.";
    NothingPicked => "Nothing is chosen: press ↓ then Space to pick, or ^U to clear the filter and go on.", "ຍັງບໍ່ໄດ້ເລືອກ: ກົດ ↓ ແລ້ວ Space ເພື່ອເລືອກ, ຫຼື ^U ເພື່ອລຶບຄຳຄົ້ນຫາ ແລ້ວໄປຕໍ່.";
    ReviewAnswers => "Every question and its answer (Enter on one goes to it):", "ທຸກຄຳຖາມ ແລະ ຄຳຕອບ (Enter ເພື່ອໄປຫາຄຳຖາມ):";
    ReviewKeys => "↑↓/PgUp/PgDn scroll · Enter go to the question (or finalize) · Esc back", "↑↓/PgUp/PgDn ເລື່ອນ · Enter ໄປຫາຄຳຖາມ (ຫຼື ສຳເລັດ) · Esc ກັບ";
    NoAnswer => "(no answer)", "(ບໍ່ມີຄຳຕອບ)";
    // Added for issue 15 (Lao to review): words, not a number.
    WholeNumber => "(a whole number)", "(ຈຳນວນຖ້ວນ)";
    Number => "(a number)", "(ຕົວເລກ)";
    Question => "Question", "ຄຳຖາມ";
    Of => "of", "ຈາກ";
    Required => "required", "ຈຳເປັນ";
    Saved => "Saved", "ບັນທຶກແລ້ວ";
    NotSaved => "NOT SAVED", "ບໍ່ໄດ້ບັນທຶກ";
    TypeToFilter => "type to filter", "ພິມເພື່ອຄົ້ນຫາ";
    Showing => "showing", "ສະແດງ";
    NoMatch => "Nothing matches; Backspace to widen.", "ບໍ່ພົບ; ກົດ Backspace ເພື່ອຂະຫຍາຍ.";
    SpaceToggles => "Space: tick or untick   Enter: next", "Space: ໝາຍ ຫຼື ຍົກເລີກ   Enter: ຕໍ່ໄປ";
    // Added for issue 15 (Lao to review).
    SpacePicks => "Space: pick   Enter: next (Enter never picks)", "Space: ເລືອກ   Enter: ຕໍ່ໄປ (Enter ບໍ່ເລືອກ)";
    AckPrompt => "Space: mark as acknowledged", "Space: ໝາຍວ່າຮັບຊາບ";
    Acknowledged => "Acknowledged", "ຮັບຊາບແລ້ວ";
    NoteHint => "Enter: continue", "Enter: ສືບຕໍ່";
    AddFirst => "Add one", "ເພີ່ມ";
    AddAnother => "Add another", "ເພີ່ມອີກ";
    Entries => "Entries so far", "ຈຳນວນລາຍການແລ້ວ";
    AddKeys => "Enter/y add one · n/PgDn go on · PgUp back · ^D remove the last", "Enter/y ເພີ່ມ · n/PgDn ໄປຕໍ່ · PgUp ກັບ · ^D ລຶບອັນສຸດທ້າຍ";
    Yes => "Yes", "ແມ່ນ";
    No => "No", "ບໍ່";
    JumpTitle => "Jump to a question", "ໄປຫາຄຳຖາມ";
    Answered => "answered", "ຕອບແລ້ວ";
    Missing => "missing", "ຍັງຂາດ";
    Violated => "check", "ກວດຄືນ";
    ReviewTitle => "Review before finalizing", "ກວດກ່ອນສຳເລັດ";
    ReviewClean => "Every required question is answered and every answer passes its checks.", "ຕອບຄຳຖາມທີ່ຈຳເປັນຄົບ ແລະ ທຸກຄຳຕອບຜ່ານການກວດ.";
    ReviewFinalize => "Finalize (Enter). The record is then encrypted for the data managers and can no longer be opened here.", "ສຳເລັດ (Enter). ຂໍ້ມູນຈະຖືກເຂົ້າລະຫັດໃຫ້ຜູ້ຈັດການຂໍ້ມູນ ແລະ ເປີດຢູ່ນີ້ບໍ່ໄດ້ອີກ.";
    ReviewProblems => "Fix these before finalizing (Enter goes to the question):", "ແກ້ໄຂສິ່ງເຫຼົ່ານີ້ກ່ອນ (Enter ເພື່ອໄປຫາຄຳຖາມ):";
    FinalizedStatus => "Record finalized and encrypted for the data managers.", "ສຳເລັດ ແລະ ເຂົ້າລະຫັດໃຫ້ຜູ້ຈັດການຂໍ້ມູນແລ້ວ.";
    ConfirmDelete => "Delete this draft? Its answers are lost. y: delete   n: keep", "ລຶບຮ່າງນີ້ບໍ? ຄຳຕອບຈະເສຍໄປ. y: ລຶບ   n: ເກັບໄວ້";
    ConfirmRemove => "Remove this entry and its answers? y: remove   n: keep", "ລຶບລາຍການນີ້ ແລະ ຄຳຕອບບໍ? y: ລຶບ   n: ເກັບໄວ້";
    Deleted => "Draft deleted.", "ລຶບຮ່າງແລ້ວ.";
    HelpTitle => "Keys", "ປຸ່ມ";
    Close => "Esc: close", "Esc: ປິດ";
    Outbox => "outbox", "ລໍຖ້າສົ່ງ";
    Language => "Language", "ພາສາ";
    ExportTitle => "Export the finalized records to a bundle", "ສົ່ງອອກຂໍ້ມູນທີ່ສຳເລັດແລ້ວເປັນຊຸດ";
    ExportPrompt => "Folder on the USB stick (e.g. /media/usb or E:\\)", "ໂຟນເດີໃນ USB (ເຊັ່ນ /media/usb ຫຼື E:\\)";
    ExportDone => "Bundle written", "ຂຽນຊຸດຂໍ້ມູນແລ້ວ";
    OutboxEmpty => "The outbox is empty: nothing to export.", "ບໍ່ມີຂໍ້ມູນລໍຖ້າສົ່ງ.";
    Exporting => "Exporting", "ກຳລັງສົ່ງອອກ";
    AckTitle => "Import a supervisor's receipt", "ນຳເຂົ້າໃບຮັບຈາກຫົວໜ້າ";
    ReceiptFile => "Receipt file", "ໄຟລ໌ໃບຮັບ";
    DialogKeys => "Enter: go · Esc: cancel", "Enter: ຕົກລົງ · Esc: ຍົກເລີກ";
}

/// The help overlay: (keys, what they do) per line.
pub fn help(lang: Lang) -> Vec<(&'static str, &'static str)> {
    let en = lang == Lang::En;
    let pick = |e: &'static str, l: &'static str| if en { e } else { l };
    vec![
        (
            "Enter",
            pick(
                "answer what is typed and go on (never picks a choice)",
                "ຕອບສິ່ງທີ່ພິມ ແລະ ໄປຕໍ່ (ບໍ່ເລືອກໃຫ້)",
            ),
        ),
        ("PgDn / Ctrl-N", pick("next page", "ໜ້າຕໍ່ໄປ")),
        ("PgUp / Ctrl-P", pick("previous page", "ໜ້າກ່ອນ")),
        (
            "Tab / Shift-Tab",
            pick("next / previous field on a page", "ຊ່ອງຕໍ່ໄປ / ກ່ອນ"),
        ),
        (
            "Up / Down",
            pick("move in a list of choices", "ເລື່ອນໃນລາຍການ"),
        ),
        ("Space", pick("pick, or tick a choice", "ເລືອກ ຫຼື ໝາຍ")),
        (
            "letters",
            pick(
                "filter a list (then Down, Space picks)",
                "ຄົ້ນຫາໃນລາຍການ (ແລ້ວ ↓, Space ເລືອກ)",
            ),
        ),
        // Added for issue 15 (Lao to review).
        (
            "Ctrl-U / Ctrl-T",
            pick(
                "clear the answer (Del too, in lists) / today's date",
                "ລຶບຄຳຕອບ (Del ໃນລາຍການ) / ວັນທີມື້ນີ້",
            ),
        ),
        ("Ctrl-J", pick("jump to any question", "ໄປຫາຄຳຖາມໃດໜຶ່ງ")),
        ("Ctrl-F", pick("review and finalize", "ກວດ ແລະ ສຳເລັດ")),
        ("Ctrl-D", pick("remove this repeat entry", "ລຶບລາຍການທີ່ຊ້ຳນີ້")),
        (
            "e",
            pick(
                "export finalized records to a USB stick (home page)",
                "ສົ່ງອອກຂໍ້ມູນໄປ USB (ໜ້າຫຼັກ)",
            ),
        ),
        (
            "a",
            pick(
                "import a supervisor's receipt (home page)",
                "ນຳເຂົ້າໃບຮັບ (ໜ້າຫຼັກ)",
            ),
        ),
        ("F2", pick("switch language", "ປ່ຽນພາສາ")),
        ("F1", pick("this help", "ການຊ່ວຍເຫຼືອນີ້")),
        (
            "Esc",
            pick(
                "back to the home screen (answers are saved)",
                "ກັບໜ້າຫຼັກ (ບັນທຶກແລ້ວ)",
            ),
        ),
        (
            "Ctrl-C / q",
            pick("quit (answers are saved)", "ອອກ (ບັນທຶກແລ້ວ)"),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_has_both_languages() {
        for m in [
            Msg::SetupTitle,
            Msg::Saved,
            Msg::Language,
            Msg::ReviewFinalize,
        ] {
            assert!(!m.text(Lang::En).is_empty());
            assert_ne!(m.text(Lang::En), m.text(Lang::Lo));
        }
        assert_eq!(help(Lang::En).len(), help(Lang::Lo).len());
        assert_eq!(Lang::of_form_language(Some("Lao (lo)")), Lang::Lo);
        assert_eq!(Lang::of_form_language(Some("English (en)")), Lang::En);
    }
}
