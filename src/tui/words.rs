//! The program's own words on screen (as opposed to the form's), in English and Lao, in
//! one table so that a translator reviews them in one place. The form's
//! own text comes from the form. The Lao column is a draft: a Lao speaker
//! must review it before fielding (README, "Lao text to review").

pub use crate::lang::Lang;

macro_rules! messages {
    ($($name:ident => $en:literal, $lo:literal;)*) => {
        /// Every message of the program.
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
    PassphrasesDiffer => "The two passphrases differ; type them again.", "ລະຫັດຜ່ານທັງສອງບໍ່ຄືກັນ; ກະລຸນາພິມໃໝ່.";
    UnlockTitle => "Unlock your profile", "ເປີດໂປຣໄຟລ໌ຂອງທ່ານ";
    Working => "Working...", "ກຳລັງດຳເນີນການ...";
    Forms => "Forms", "ແບບຟອມ";
    Drafts => "Drafts", "ຮ່າງ";
    Finalized => "finalized", "ສຳເລັດແລ້ວ";
    Exported => "exported", "ສົ່ງອອກແລ້ວ";
    NoDrafts => "No drafts.", "ບໍ່ມີຮ່າງ.";
    Untitled => "(no name yet)", "(ຍັງບໍ່ມີຊື່)";
    ListFiltering => "Typing filters. ↓ goes into the list, then Space picks.", "ການພິມແມ່ນຄົ້ນຫາ. ກົດ ↓ ເພື່ອເຂົ້າລາຍການ, ແລ້ວ Space ເພື່ອເລືອກ.";
    NothingPicked => "Nothing is chosen: press ↓ then Space to pick, or ^U to clear the filter and go on.", "ຍັງບໍ່ໄດ້ເລືອກ: ກົດ ↓ ແລ້ວ Space ເພື່ອເລືອກ, ຫຼື ^U ເພື່ອລຶບຄຳຄົ້ນຫາ ແລ້ວໄປຕໍ່.";
    ReviewAnswers => "Every question and its answer (Enter on one goes to it):", "ທຸກຄຳຖາມ ແລະ ຄຳຕອບ (Enter ເພື່ອໄປຫາຄຳຖາມ):";
    NoAnswer => "(no answer)", "(ບໍ່ມີຄຳຕອບ)";
    // Added for issue 15 (Lao to review): words, not a number.
    WholeNumber => "(a whole number)", "(ຈຳນວນຖ້ວນ)";
    Number => "(a number)", "(ຕົວເລກ)";
    Question => "Question", "ຄຳຖາມ";
    Of => "of", "ຈາກ";
    Required => "required", "ຈຳເປັນ";
    Saved => "Saved {0}", "ບັນທຶກແລ້ວ {0}";
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
    // Added for issue 15 point 8 (Lao to review): confirmations name
    // what they delete; {0}, {1}... are the facts filled in.
    ConfirmDelete => "Delete the draft \"{0}\" of {1}, started {2}? Its answers are lost. y: delete   n: keep", "ລຶບຮ່າງ \"{0}\" ຂອງ {1}, ເລີ່ມ {2} ບໍ? ຄຳຕອບຈະເສຍໄປ. y: ລຶບ   n: ເກັບໄວ້";
    ConfirmRemove => "Remove entry {0} of \"{1}\" and its answers? y: remove   n: keep", "ລຶບລາຍການທີ {0} ຂອງ \"{1}\" ແລະ ຄຳຕອບບໍ? y: ລຶບ   n: ເກັບໄວ້";
    Deleted => "Draft \"{0}\" deleted.", "ລຶບຮ່າງ \"{0}\" ແລ້ວ.";
    HelpTitle => "Keys", "ປຸ່ມ";
    Close => "Esc: close", "Esc: ປິດ";
    Outbox => "outbox", "ລໍຖ້າສົ່ງ";
    Language => "Language", "ພາສາ";
    ExportTitle => "Export the finalized records to a bundle", "ສົ່ງອອກຂໍ້ມູນທີ່ສຳເລັດແລ້ວເປັນຊຸດ";
    ExportPrompt => "Folder on the USB stick (e.g. /media/usb or E:\\)", "ໂຟນເດີໃນ USB (ເຊັ່ນ /media/usb ຫຼື E:\\)";
    ExportDone => "Bundle written: {0} (in {1})", "ຂຽນຊຸດຂໍ້ມູນແລ້ວ: {0} (ໃນ {1})";
    OutboxEmpty => "The outbox is empty: nothing to export.", "ບໍ່ມີຂໍ້ມູນລໍຖ້າສົ່ງ.";
    Exporting => "Exporting", "ກຳລັງສົ່ງອອກ";
    AckTitle => "Import a supervisor's receipt", "ນຳເຂົ້າໃບຮັບຈາກຫົວໜ້າ";
    ReceiptFile => "Receipt file", "ໄຟລ໌ໃບຮັບ";
    // Added for issue 19 (Lao to review): taking a round pack.
    PackTitle => "Take the round pack (forms, lists, keys for the round)", "ນຳເຂົ້າຊຸດຂໍ້ມູນຮອບ (ແບບຟອມ, ລາຍການ, ກະແຈ)";
    PackFile => "Pack file (fieldkit-pack-....zip)", "ໄຟລ໌ຊຸດ (fieldkit-pack-....zip)";
    PackInstalled => "{0} installed: {1}", "ຕິດຕັ້ງ {0} ແລ້ວ: {1}";
    PackFailed => "Nothing was installed", "ບໍ່ໄດ້ຕິດຕັ້ງຫຍັງ";
    KeyPack => "pack", "ຊຸດຮອບ";
    // The top bar: the round pack installed, and whose keys (and how
    // many) new records are encrypted to.
    InForcePack => "pack {0}{1} · keys: pack ({2})", "ຊຸດຮອບ {0}{1} · ກະແຈ: ຊຸດຮອບ ({2})";
    InForcePackSetup => "pack {0}{1} · keys: setup ({2})", "ຊຸດຮອບ {0}{1} · ກະແຈ: ການຕັ້ງຄ່າ ({2})";
    InForceSetup => "no pack · keys: setup ({2})", "ບໍ່ມີຊຸດຮອບ · ກະແຈ: ການຕັ້ງຄ່າ ({2})";
    NoForms => "No forms to fill: take the round pack (p), or start fieldkit with --forms DIR", "ບໍ່ມີແບບຟອມ: ນຳເຂົ້າຊຸດຮອບ (p), ຫຼື ເປີດ fieldkit ດ້ວຍ --forms DIR";
    // Added for issue 20 (Lao to review): the entity list's value of a
    // question that updates it.
    LastRound => "last round: {0}{1}", "ຮອບກ່ອນ: {0}{1}";
    // Added for issue 20 (Lao to review): the round's assignments.
    VisitsTitle => "To visit this round: {0} of {1} done", "ຕ້ອງໄປຮອບນີ້: ສຳເລັດ {0} ຈາກ {1}";
    NoFormForVisit => "No form here updates the list '{0}': take the round pack with its form", "ບໍ່ມີແບບຟອມທີ່ປັບປຸງລາຍການ '{0}': ນຳເຂົ້າຊຸດຮອບທີ່ມີແບບຟອມ";
    ConfirmUnusual => "Check it; Enter again keeps this answer (the confirmation is recorded).", "ກະລຸນາກວດ; ກົດ Enter ອີກເທື່ອໜຶ່ງເພື່ອຢືນຢັນຄຳຕອບນີ້ (ການຢືນຢັນຈະຖືກບັນທຶກ).";
    DialogKeys => "Enter: go · Esc: cancel", "Enter: ຕົກລົງ · Esc: ຍົກເລີກ";
    // Added for issue 15 point 8 (Lao to review): what the status line
    // and the setup and unlock pages say, worded when drawn. A `Failed`
    // line is followed by the detail the store gave (in English).
    Receipted => "Receipt by {0} accepted: {1} record(s) of {2} purged from this laptop", "ຮັບໃບຮັບຈາກ {0} ແລ້ວ: {1} ລາຍການຂອງ {2} ຖືກລຶບອອກຈາກຄອມພິວເຕີນີ້ແລ້ວ";
    ExportFailed => "The export did not finish", "ການສົ່ງອອກບໍ່ສຳເລັດ";
    ReceiptFailed => "The receipt was not taken", "ບໍ່ໄດ້ຮັບໃບຮັບ";
    OpenFailed => "The profile did not open", "ເປີດໂປຣໄຟລ໌ບໍ່ໄດ້";
    CreateFailed => "The profile was not made", "ສ້າງໂປຣໄຟລ໌ບໍ່ໄດ້";
    LoadFailed => "The draft did not open", "ເປີດຮ່າງບໍ່ໄດ້";
    FinalizeFailed => "The record was not finalized", "ຂໍ້ມູນຍັງບໍ່ສຳເລັດ";
    DeleteFailed => "The draft was not deleted", "ຮ່າງຍັງບໍ່ຖືກລຶບ";
    WrongPassphrase => "wrong passphrase for profile '{0}'. Type it again; there is no recovery without it", "ລະຫັດຜ່ານຂອງໂປຣໄຟລ໌ '{0}' ບໍ່ຖືກ. ກະລຸນາພິມໃໝ່; ຖ້າລືມ ຈະກູ້ຄືນບໍ່ໄດ້";
    FormMissing => "The form '{0}' of this draft is not installed; ask your supervisor", "ແບບຟອມ '{0}' ຂອງຮ່າງນີ້ບໍ່ໄດ້ຕິດຕັ້ງ; ກະລຸນາຖາມຫົວໜ້າ";
    // Added for issue 16 point 1 (Lao to review): a draft resumes on the
    // form text it was started on.
    KeptVersion => "This draft continues on version {0} of the form, the one it was started on (this laptop now offers version {1})", "ຮ່າງນີ້ສືບຕໍ່ໃນແບບຟອມສະບັບ {0}, ສະບັບທີ່ເລີ່ມຕົ້ນ (ຄອມພິວເຕີນີ້ມີສະບັບ {1} ແລ້ວ)";
    MovedVersion => "The form text this draft was started on is no longer on this laptop: it continues on version {0}; check its answers", "ແບບຟອມທີ່ຮ່າງນີ້ເລີ່ມຕົ້ນບໍ່ມີໃນຄອມພິວເຕີນີ້ແລ້ວ: ສືບຕໍ່ໃນສະບັບ {0}; ກະລຸນາກວດຄຳຕອບ";
    AnswersMisfit => "{0} answer(s) of this draft no longer fit the form: {1}", "{0} ຄຳຕອບຂອງຮ່າງນີ້ບໍ່ເຂົ້າກັບແບບຟອມແລ້ວ: {1}";
    BadEnumeratorId => "Enumerator id '{0}' cannot be used: use 1 to 64 letters, digits, '.', '_', '-' or '@' (no spaces), e.g. enum-03", "ໃຊ້ລະຫັດພະນັກງານ '{0}' ບໍ່ໄດ້: ໃຊ້ຕົວອັກສອນລາຕິນ, ຕົວເລກ, '.', '_', '-' ຫຼື '@' 1 ຫາ 64 ຕົວ (ບໍ່ມີຍະຫວ່າງ), ເຊັ່ນ enum-03";
    ShortPassphrase => "The passphrase is too short: use at least {0} characters", "ລະຫັດຜ່ານສັ້ນເກີນໄປ: ໃຊ້ຢ່າງໜ້ອຍ {0} ຕົວອັກສອນ";
    // Added for issue 15 point 11 (Lao to review): a form's history.
    History => "sent {0}, last {1} · receipted {2}, last {3}", "ສົ່ງແລ້ວ {0}, ຫຼ້າສຸດ {1} · ໄດ້ໃບຮັບ {2}, ຫຼ້າສຸດ {3}";
    RecipientsMissing => "Give the file of the data managers' keys (keys/recipients.txt)", "ກະລຸນາໃສ່ໄຟລ໌ກະແຈຂອງຜູ້ຈັດການຂໍ້ມູນ (keys/recipients.txt)";
    // The words of the keys (issue 16 point 7): the hint line's words,
    // then the help page's lines, put together by `keymap.rs`. Moved
    // from the hand-kept hint lines and help list; the Lao is the same
    // draft to review.
    KeyNext => "next", "ຕໍ່";
    KeyPage => "page", "ໜ້າ";
    KeyMove => "move", "ເລື່ອນ";
    KeyPick => "pick", "ເລືອກ";
    KeyTick => "tick", "ໝາຍ";
    KeyClear => "clear", "ລຶບ";
    KeyToday => "today", "ມື້ນີ້";
    KeyJump => "jump", "ໄປຫາ";
    KeyFinish => "finish", "ສຳເລັດ";
    KeyRemoveLast => "remove the last", "ລຶບອັນສຸດທ້າຍ";
    KeyAddOne => "add one", "ເພີ່ມ";
    KeyGoOn => "go on", "ໄປຕໍ່";
    KeyBack => "back", "ກັບ";
    KeyOpen => "open", "ເປີດ";
    KeySwitch => "switch", "ສະຫຼັບ";
    KeyExport => "export", "ສົ່ງອອກ";
    KeyReceipt => "receipt", "ໃບຮັບ";
    KeyDelete => "delete", "ລຶບ";
    KeyHelp => "help", "ຊ່ວຍ";
    KeyHome => "home", "ໜ້າຫຼັກ";
    KeyQuit => "quit", "ອອກ";
    KeyNextField => "next field", "ຊ່ອງຕໍ່ໄປ";
    KeyCreate => "create the profile", "ສ້າງໂປຣໄຟລ໌";
    KeyUnlock => "unlock", "ເປີດ";
    KeyScroll => "scroll", "ເລື່ອນ";
    KeyGoTo => "go to the question (or finalize)", "ໄປຫາຄຳຖາມ (ຫຼື ສຳເລັດ)";
    HelpEnter => "answer what is typed and go on (never picks a choice)", "ຕອບສິ່ງທີ່ພິມ ແລະ ໄປຕໍ່ (ບໍ່ເລືອກໃຫ້)";
    HelpNextPage => "next page", "ໜ້າຕໍ່ໄປ";
    HelpPreviousPage => "previous page", "ໜ້າກ່ອນ";
    HelpFields => "next / previous field on a page", "ຊ່ອງຕໍ່ໄປ / ກ່ອນ";
    HelpMove => "move in a list of choices", "ເລື່ອນໃນລາຍການ";
    HelpPick => "pick, or tick a choice", "ເລືອກ ຫຼື ໝາຍ";
    HelpFilter => "filter a list (then Down, Space picks)", "ຄົ້ນຫາໃນລາຍການ (ແລ້ວ ↓, Space ເລືອກ)";
    HelpClearToday => "clear the answer (Del too, in lists) / today's date", "ລຶບຄຳຕອບ (Del ໃນລາຍການ) / ວັນທີມື້ນີ້";
    HelpJump => "jump to any question", "ໄປຫາຄຳຖາມໃດໜຶ່ງ";
    HelpReview => "review and finalize", "ກວດ ແລະ ສຳເລັດ";
    HelpRemove => "remove this repeat entry", "ລຶບລາຍການທີ່ຊ້ຳນີ້";
    HelpExport => "export finalized records to a USB stick (home page)", "ສົ່ງອອກຂໍ້ມູນໄປ USB (ໜ້າຫຼັກ)";
    HelpReceipt => "import a receipt (a) or a round pack (p) (home page)", "ນຳເຂົ້າໃບຮັບ (a) ຫຼື ຊຸດຮອບ (p) ຈາກ USB (ໜ້າຫຼັກ)";
    HelpLanguage => "switch language", "ປ່ຽນພາສາ";
    HelpHelp => "this help", "ການຊ່ວຍເຫຼືອນີ້";
    HelpEsc => "back to the home screen (answers are saved)", "ກັບໜ້າຫຼັກ (ບັນທຶກແລ້ວ)";
    HelpQuit => "quit (answers are saved)", "ອອກ (ບັນທຶກແລ້ວ)";
    // Added for issue 18 (Lao to review): file questions and the file picker.
    NoFile => "no file attached", "ບໍ່ມີໄຟລ໌ແນບ";
    AttachHint => "Space: attach a file · ^U: remove it", "Space: ແນບໄຟລ໌ · ^U: ເອົາອອກ";
    KeyAttach => "attach", "ແນບ";
    PickerTitle => "Attach a file", "ແນບໄຟລ໌";
    PickerKeys => "↑↓: move · Enter: open or pick · type: filter · Esc: cancel", "↑↓: ເລື່ອນ · Enter: ເປີດ ຫຼື ເລືອກ · ພິມ: ຄົ້ນຫາ · Esc: ຍົກເລີກ";
    PickerTakes => "Takes: {0} · at most {1} MB", "ຮັບ: {0} · ບໍ່ເກີນ {1} MB";
    PickerAnyFile => "any file", "ທຸກໄຟລ໌";
    PickerEmpty => "(nothing here)", "(ບໍ່ມີຫຍັງຢູ່ນີ້)";
    PickerFolder => "folder", "ໂຟນເດີ";
    PickerCannot => "Cannot open that folder: {0}", "ເປີດໂຟນເດີນັ້ນບໍ່ໄດ້: {0}";
    AttachFailed => "The file was not attached", "ບໍ່ໄດ້ແນບໄຟລ໌";
    Attached => "Attached {0} ({1})", "ແນບ {0} ແລ້ວ ({1})";
    // Added for issue 21 (Lao to review): records a supervisor returned.
    ReturnedToCorrect => "returned: to correct", "ສົ່ງຄືນ: ໃຫ້ແກ້ໄຂ";
    SupervisorNote => "Supervisor: {0}", "ຫົວໜ້າ: {0}";
    ReturnedOpened => "Returned to correct (version {0}): {1}", "ສົ່ງຄືນໃຫ້ແກ້ໄຂ (ສະບັບ {0}): {1}";
    ReceiptedVerdicts => "Receipt by {0} taken: {1} approved, {2} returned: to correct, {3} received", "ຮັບໃບຮັບຈາກ {0} ແລ້ວ: ອະນຸມັດ {1}, ສົ່ງຄືນໃຫ້ແກ້ໄຂ {2}, ໄດ້ຮັບ {3}";
}

impl Msg {
    /// The text with its facts in place of {0}, {1}...: one pass, so a
    /// fact that holds "{1}" stays as it is.
    pub fn fill(self, lang: Lang, facts: &[String]) -> String {
        let template = self.text(lang);
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let fact = after.find('}').and_then(|close| {
                let n: usize = after[..close].parse().ok()?;
                Some((facts.get(n)?, close))
            });
            match fact {
                Some((fact, close)) => {
                    out.push_str(fact);
                    rest = &after[close + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// A message for the status line or a page: the facts, kept as they
/// are, and the words, chosen when drawn, so F2 changes them too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub words: Msg,
    pub facts: Vec<String>,
    /// What a lower layer said (the store, the export), after the words.
    pub detail: Option<String>,
    pub problem: bool,
}

impl Notice {
    pub fn good(words: Msg, facts: &[&str]) -> Notice {
        Notice {
            words,
            facts: facts.iter().map(|f| f.to_string()).collect(),
            detail: None,
            problem: false,
        }
    }

    pub fn problem(words: Msg, facts: &[&str]) -> Notice {
        Notice {
            problem: true,
            ..Notice::good(words, facts)
        }
    }

    /// Something failed: what (worded), then why (as the layer said it).
    pub fn failed(words: Msg, detail: impl Into<String>) -> Notice {
        Notice {
            detail: Some(detail.into()),
            ..Notice::problem(words, &[])
        }
    }

    pub fn text(&self, lang: Lang) -> String {
        let words = self.words.fill(lang, &self.facts);
        match &self.detail {
            Some(d) => format!("{words}: {d}"),
            None => words,
        }
    }
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
        assert_eq!(Lang::of_form_language(Some("Lao (lo)")), Lang::Lo);
        assert_eq!(Lang::of_form_language(Some("English (en)")), Lang::En);
    }

    #[test]
    fn facts_fill_their_places_once() {
        let facts = ["a {1}".to_string(), "b".to_string()];
        assert_eq!(
            Msg::ConfirmRemove.fill(Lang::En, &facts),
            "Remove entry a {1} of \"b\" and its answers? y: remove   n: keep"
        );
        assert_eq!(Msg::Saved.fill(Lang::En, &[]), "Saved {0}");
        let n = Notice::failed(Msg::ExportFailed, "disk full");
        assert_eq!(n.text(Lang::En), "The export did not finish: disk full");
        assert!(n.problem);
    }
}
