//! Keys as data: one table of which key does what where, from which the
//! update takes its commands and the help page and the hint line take
//! their text (as atuin's keymap does). A key not in the table for where
//! it is pressed is typed into the field in focus, if there is one.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::words::{Lang, Msg};

/// Where a key is pressed. A key is looked up in a chain of these, the
/// first binding found wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Anywhere, even over an overlay.
    Always,
    /// Any page with no overlay open.
    Everywhere,
    Setup,
    Unlock,
    Home,
    /// A record page, before its question's own keys.
    Record,
    /// The "add one / add another" page of a repeat.
    AddRepeat,
    /// A question on a record page, whatever its editor.
    Question,
    /// A question typed into a line of text.
    Text,
    /// A date, time or date-time question (a text editor too).
    Date,
    /// A list of choices to pick one from.
    List,
    /// A list of choices to tick.
    Ticks,
    /// An "acknowledge" question.
    Ack,
    /// A file question (image, audio, video, file, signature).
    File,
    Help,
    Confirm,
    Dialog,
    Jump,
    Review,
}

/// What a key asks for; the update decides what it means where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Quit,
    Help,
    Language,
    Submit,
    Close,
    NextField,
    PreviousField,
    SwitchPane,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Export,
    Receipt,
    Pack,
    Delete,
    Home,
    Jump,
    Review,
    RemoveEntry,
    AddEntry,
    NextPage,
    PreviousPage,
    Clear,
    Today,
    Pick,
    /// Typing into a list's filter: named in the help, never looked up.
    Filter,
    Yes,
}

/// A key as the table names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// The key, with or without modifiers.
    Any(KeyCode),
    /// The key with Ctrl held.
    Ctrl(KeyCode),
    /// Letters typed: for the help page only.
    Letters,
}

impl Key {
    fn matches(self, key: &KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match self {
            Key::Any(code) => key.code == code,
            Key::Ctrl(code) => ctrl && key.code == code,
            Key::Letters => false,
        }
    }

    /// Its name on the help page.
    fn name(self) -> String {
        match self {
            Key::Any(code) => code_name(code),
            Key::Ctrl(code) => format!("Ctrl-{}", code_name(code).to_uppercase()),
            Key::Letters => "letters".into(),
        }
    }
}

fn code_name(code: KeyCode) -> String {
    match code {
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "Shift-Tab".into(),
        KeyCode::PageDown => "PgDn".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::Up => "Up".into(),
        KeyCode::Down => "Down".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::Delete => "Del".into(),
        KeyCode::Backspace => "Backspace".into(),
        KeyCode::Char(' ') => "Space".into(),
        KeyCode::F(n) => format!("F{n}"),
        KeyCode::Char(c) => c.to_string(),
        other => format!("{other:?}"),
    }
}

/// One line of the table.
pub struct Binding {
    pub context: Context,
    pub keys: &'static [Key],
    pub command: Command,
    /// In the hint line: the keys as it shows them, and the word.
    pub hint: Option<(&'static str, Msg)>,
    /// On the help page. Lines next to each other with the same words
    /// are one line there ("Tab / Shift-Tab").
    pub help: Option<Msg>,
}

const fn bind(context: Context, keys: &'static [Key], command: Command) -> Binding {
    Binding {
        context,
        keys,
        command,
        hint: None,
        help: None,
    }
}

const fn hinted(
    context: Context,
    keys: &'static [Key],
    command: Command,
    label: &'static str,
    word: Msg,
) -> Binding {
    Binding {
        hint: Some((label, word)),
        ..bind(context, keys, command)
    }
}

const fn helped(binding: Binding, help: Msg) -> Binding {
    Binding {
        help: Some(help),
        ..binding
    }
}

use Command as C;
use Context as X;
use KeyCode as K;

const fn any(c: char) -> Key {
    Key::Any(K::Char(c))
}

const fn ctrl(c: char) -> Key {
    Key::Ctrl(K::Char(c))
}

/// Every key binding. The rows with help come in the help page's order.
pub const KEYMAP: &[Binding] = &[
    // A record's questions.
    helped(
        hinted(
            X::Question,
            &[Key::Any(K::Enter)],
            C::Submit,
            "Enter",
            Msg::KeyNext,
        ),
        Msg::HelpEnter,
    ),
    helped(
        hinted(
            X::Question,
            &[Key::Any(K::PageDown), ctrl('n')],
            C::NextPage,
            "PgUp/Dn",
            Msg::KeyPage,
        ),
        Msg::HelpNextPage,
    ),
    helped(
        bind(
            X::Question,
            &[Key::Any(K::PageUp), ctrl('p')],
            C::PreviousPage,
        ),
        Msg::HelpPreviousPage,
    ),
    helped(
        bind(X::Question, &[Key::Any(K::Tab)], C::NextField),
        Msg::HelpFields,
    ),
    helped(
        bind(X::Question, &[Key::Any(K::BackTab)], C::PreviousField),
        Msg::HelpFields,
    ),
    helped(
        hinted(X::List, &[Key::Any(K::Up)], C::Up, "↑↓", Msg::KeyMove),
        Msg::HelpMove,
    ),
    helped(bind(X::List, &[Key::Any(K::Down)], C::Down), Msg::HelpMove),
    helped(
        hinted(X::List, &[any(' ')], C::Pick, "Space", Msg::KeyPick),
        Msg::HelpPick,
    ),
    helped(bind(X::List, &[Key::Letters], C::Filter), Msg::HelpFilter),
    helped(
        hinted(X::Question, &[ctrl('u')], C::Clear, "^U", Msg::KeyClear),
        Msg::HelpClearToday,
    ),
    helped(
        hinted(X::Date, &[ctrl('t')], C::Today, "^T", Msg::KeyToday),
        Msg::HelpClearToday,
    ),
    bind(X::Text, &[Key::Any(K::Up)], C::PreviousField),
    bind(X::Text, &[Key::Any(K::Down)], C::NextField),
    bind(X::List, &[Key::Ctrl(K::Home)], C::Top),
    bind(X::List, &[Key::Any(K::Delete)], C::Clear),
    hinted(X::Ticks, &[Key::Any(K::Up)], C::Up, "↑↓", Msg::KeyMove),
    bind(X::Ticks, &[Key::Any(K::Down)], C::Down),
    hinted(X::Ticks, &[any(' ')], C::Pick, "Space", Msg::KeyTick),
    bind(X::Ticks, &[Key::Ctrl(K::Home)], C::Top),
    bind(X::Ticks, &[Key::Any(K::Delete)], C::Clear),
    hinted(X::Ack, &[any(' ')], C::Pick, "Space", Msg::KeyTick),
    hinted(X::File, &[any(' ')], C::Pick, "Space", Msg::KeyAttach),
    bind(
        X::File,
        &[Key::Any(K::Delete), Key::Any(K::Backspace)],
        C::Clear,
    ),
    bind(
        X::Ack,
        &[Key::Any(K::Delete), Key::Any(K::Backspace)],
        C::Clear,
    ),
    // A record, whatever is in focus.
    helped(
        hinted(X::Record, &[ctrl('j')], C::Jump, "^J", Msg::KeyJump),
        Msg::HelpJump,
    ),
    helped(
        hinted(X::Record, &[ctrl('f')], C::Review, "^F", Msg::KeyFinish),
        Msg::HelpReview,
    ),
    helped(
        hinted(
            X::Record,
            &[ctrl('d')],
            C::RemoveEntry,
            "^D",
            Msg::KeyRemoveLast,
        ),
        Msg::HelpRemove,
    ),
    // A repeat's "add one / add another" page.
    hinted(
        X::AddRepeat,
        &[Key::Any(K::Enter), any('y'), any('Y')],
        C::AddEntry,
        "Enter/y",
        Msg::KeyAddOne,
    ),
    hinted(
        X::AddRepeat,
        &[any('n'), any('N'), Key::Any(K::PageDown)],
        C::NextPage,
        "n/PgDn",
        Msg::KeyGoOn,
    ),
    hinted(
        X::AddRepeat,
        &[Key::Any(K::PageUp), ctrl('p')],
        C::PreviousPage,
        "PgUp",
        Msg::KeyBack,
    ),
    // The home page.
    hinted(
        X::Home,
        &[Key::Any(K::Enter)],
        C::Submit,
        "Enter",
        Msg::KeyOpen,
    ),
    hinted(
        X::Home,
        &[Key::Any(K::Tab), Key::Any(K::BackTab)],
        C::SwitchPane,
        "Tab",
        Msg::KeySwitch,
    ),
    bind(X::Home, &[Key::Any(K::Up)], C::Up),
    bind(X::Home, &[Key::Any(K::Down)], C::Down),
    helped(
        hinted(X::Home, &[any('e')], C::Export, "e", Msg::KeyExport),
        Msg::HelpExport,
    ),
    helped(
        hinted(X::Home, &[any('a')], C::Receipt, "a", Msg::KeyReceipt),
        Msg::HelpReceipt,
    ),
    // One help line with the receipt's (the hint line has no room at 80
    // columns): both bring something from the stick.
    helped(
        hinted(X::Home, &[any('p')], C::Pack, "p", Msg::KeyPack),
        Msg::HelpReceipt,
    ),
    hinted(
        X::Home,
        &[Key::Any(K::Delete), any('d')],
        C::Delete,
        "Del",
        Msg::KeyDelete,
    ),
    // Everywhere.
    helped(
        bind(X::Everywhere, &[Key::Any(K::F(2))], C::Language),
        Msg::HelpLanguage,
    ),
    helped(
        hinted(
            X::Everywhere,
            &[Key::Any(K::F(1))],
            C::Help,
            "F1",
            Msg::KeyHelp,
        ),
        Msg::HelpHelp,
    ),
    helped(
        hinted(X::Record, &[Key::Any(K::Esc)], C::Home, "Esc", Msg::KeyHome),
        Msg::HelpEsc,
    ),
    helped(bind(X::Always, &[ctrl('c')], C::Quit), Msg::HelpQuit),
    helped(
        hinted(
            X::Home,
            &[any('q'), Key::Any(K::Esc)],
            C::Quit,
            "q",
            Msg::KeyQuit,
        ),
        Msg::HelpQuit,
    ),
    // Setup and unlock.
    hinted(
        X::Setup,
        &[Key::Any(K::Tab), Key::Any(K::Down)],
        C::NextField,
        "Tab",
        Msg::KeyNextField,
    ),
    bind(
        X::Setup,
        &[Key::Any(K::BackTab), Key::Any(K::Up)],
        C::PreviousField,
    ),
    hinted(
        X::Setup,
        &[Key::Any(K::Enter)],
        C::Submit,
        "Enter",
        Msg::KeyCreate,
    ),
    hinted(X::Setup, &[Key::Any(K::Esc)], C::Quit, "Esc", Msg::KeyQuit),
    hinted(
        X::Unlock,
        &[Key::Any(K::Enter)],
        C::Submit,
        "Enter",
        Msg::KeyUnlock,
    ),
    hinted(X::Unlock, &[Key::Any(K::Esc)], C::Quit, "Esc", Msg::KeyQuit),
    // Overlays.
    bind(
        X::Help,
        &[Key::Any(K::Esc), Key::Any(K::F(1)), Key::Any(K::Enter)],
        C::Close,
    ),
    bind(X::Confirm, &[any('y'), any('Y')], C::Yes),
    bind(X::Dialog, &[Key::Any(K::Esc)], C::Close),
    bind(X::Dialog, &[Key::Any(K::Enter)], C::Submit),
    bind(X::Jump, &[Key::Any(K::Esc)], C::Close),
    bind(X::Jump, &[Key::Any(K::Up)], C::Up),
    bind(X::Jump, &[Key::Any(K::Down)], C::Down),
    bind(X::Jump, &[Key::Any(K::PageUp)], C::PageUp),
    bind(X::Jump, &[Key::Any(K::PageDown)], C::PageDown),
    bind(X::Jump, &[Key::Any(K::Enter)], C::Submit),
    hinted(
        X::Review,
        &[Key::Any(K::Up)],
        C::Up,
        "↑↓/PgUp/PgDn",
        Msg::KeyScroll,
    ),
    bind(X::Review, &[Key::Any(K::Down)], C::Down),
    bind(X::Review, &[Key::Any(K::PageUp)], C::PageUp),
    bind(X::Review, &[Key::Any(K::PageDown)], C::PageDown),
    bind(X::Review, &[Key::Any(K::Home)], C::Top),
    bind(X::Review, &[Key::Any(K::End)], C::Bottom),
    hinted(
        X::Review,
        &[Key::Any(K::Enter)],
        C::Submit,
        "Enter",
        Msg::KeyGoTo,
    ),
    hinted(
        X::Review,
        &[Key::Any(K::Esc)],
        C::Close,
        "Esc",
        Msg::KeyBack,
    ),
];

/// The command of a key pressed where `chain` says, first context first.
pub fn command(chain: &[Context], key: &KeyEvent) -> Option<Command> {
    chain.iter().find_map(|&context| {
        KEYMAP
            .iter()
            .filter(|b| b.context == context)
            .find(|b| b.keys.iter().any(|k| k.matches(key)))
            .map(|b| b.command)
    })
}

/// What the hint line shows where: the commands, in order, whose keys and
/// words come from the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hints {
    Setup,
    Unlock,
    Home,
    Text,
    Date,
    List,
    Ticks,
    Ack,
    File,
    AddRepeat,
    Review,
}

impl Hints {
    /// The contexts its commands are found in, and the commands.
    fn commands(self) -> (&'static [Context], &'static [Command]) {
        const ON_QUESTION: &[Context] = &[X::Question, X::Record, X::Everywhere];
        const ON_LIST: &[Command] = &[
            C::Pick,
            C::Up,
            C::Submit,
            C::Clear,
            C::Jump,
            C::Review,
            C::Help,
        ];
        match self {
            Hints::Setup => (&[X::Setup], &[C::NextField, C::Submit, C::Quit]),
            Hints::Unlock => (&[X::Unlock], &[C::Submit, C::Quit]),
            Hints::Home => (
                &[X::Home, X::Everywhere],
                &[
                    C::Submit,
                    C::SwitchPane,
                    C::Export,
                    C::Receipt,
                    C::Delete,
                    C::Help,
                    C::Quit,
                ],
            ),
            Hints::Text => (
                ON_QUESTION,
                &[
                    C::Submit,
                    C::Clear,
                    C::NextPage,
                    C::Jump,
                    C::Review,
                    C::Help,
                    C::Home,
                ],
            ),
            Hints::Date => (
                &[X::Date, X::Question, X::Record, X::Everywhere],
                &[
                    C::Submit,
                    C::Today,
                    C::Clear,
                    C::NextPage,
                    C::Jump,
                    C::Review,
                    C::Help,
                ],
            ),
            Hints::List => (&[X::List, X::Question, X::Record, X::Everywhere], ON_LIST),
            Hints::Ticks => (&[X::Ticks, X::Question, X::Record, X::Everywhere], ON_LIST),
            Hints::Ack => (
                &[X::Ack, X::Question, X::Record, X::Everywhere],
                &[
                    C::Pick,
                    C::Submit,
                    C::Clear,
                    C::Jump,
                    C::Review,
                    C::Help,
                    C::Home,
                ],
            ),
            Hints::File => (
                &[X::File, X::Question, X::Record, X::Everywhere],
                &[
                    C::Pick,
                    C::Submit,
                    C::Clear,
                    C::Jump,
                    C::Review,
                    C::Help,
                    C::Home,
                ],
            ),
            Hints::AddRepeat => (
                &[X::AddRepeat, X::Record],
                &[C::AddEntry, C::NextPage, C::PreviousPage, C::RemoveEntry],
            ),
            Hints::Review => (&[X::Review], &[C::Up, C::Submit, C::Close]),
        }
    }

    /// The hint line: "key word · key word ...".
    pub fn line(self, lang: Lang) -> String {
        let (chain, commands) = self.commands();
        commands
            .iter()
            .filter_map(|&command| {
                chain.iter().find_map(|&context| {
                    KEYMAP
                        .iter()
                        .filter(|b| b.context == context && b.command == command)
                        .find_map(|b| b.hint)
                })
            })
            .map(|(keys, word)| format!("{keys} {}", word.text(lang)))
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// The help page: (keys, what they do) per line, from the table.
pub fn help(lang: Lang) -> Vec<(String, &'static str)> {
    let mut lines: Vec<(Vec<String>, Msg)> = Vec::new();
    for b in KEYMAP {
        let Some(help) = b.help else { continue };
        let names = b.keys.iter().map(|k| k.name());
        match lines.last_mut() {
            Some((keys, last)) if *last == help => keys.extend(names),
            _ => lines.push((names.collect(), help)),
        }
    }
    lines
        .into_iter()
        .map(|(keys, help)| (keys.join(" / "), help.text(lang)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn no_key_does_two_things_in_one_context() {
        for (i, a) in KEYMAP.iter().enumerate() {
            for b in &KEYMAP[i + 1..] {
                if a.context == b.context {
                    for k in a.keys {
                        assert!(
                            !b.keys.contains(k) || *k == Key::Letters,
                            "{k:?} twice in {:?}",
                            a.context
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_first_context_of_the_chain_wins() {
        let ctrl_n = press(K::Char('n'), KeyModifiers::CONTROL);
        assert_eq!(command(&[X::AddRepeat], &ctrl_n), Some(C::NextPage));
        assert_eq!(command(&[X::Question], &ctrl_n), Some(C::NextPage));
        let n = press(K::Char('n'), KeyModifiers::NONE);
        assert_eq!(command(&[X::Question], &n), None, "typed");
        let esc = press(K::Esc, KeyModifiers::NONE);
        assert_eq!(command(&[X::Record, X::Question], &esc), Some(C::Home));
        assert_eq!(command(&[X::Home], &esc), Some(C::Quit));
    }

    #[test]
    fn every_hint_and_help_line_has_its_keys_and_words() {
        for hints in [
            Hints::Setup,
            Hints::Unlock,
            Hints::Home,
            Hints::Text,
            Hints::Date,
            Hints::List,
            Hints::Ticks,
            Hints::Ack,
            Hints::AddRepeat,
            Hints::Review,
        ] {
            let (_, commands) = hints.commands();
            for lang in [Lang::En, Lang::Lo] {
                let line = hints.line(lang);
                assert_eq!(
                    line.matches(" · ").count() + 1,
                    commands.len(),
                    "{hints:?}: {line}"
                );
            }
        }
        assert_eq!(
            Hints::Home.line(Lang::En),
            "Enter open · Tab switch · e export · a receipt · Del delete · F1 help · q quit"
        );
        let help = help(Lang::En);
        assert!(help.contains(&("Tab / Shift-Tab".into(), Msg::HelpFields.text(Lang::En))));
        assert!(help.contains(&("Ctrl-U / Ctrl-T".into(), Msg::HelpClearToday.text(Lang::En))));
        assert_eq!(help.len(), super::help(Lang::Lo).len());
    }
}
