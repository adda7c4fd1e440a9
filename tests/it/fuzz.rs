//! Fuzzing the loader: arbitrary text and mutations of the shipped forms
//! must give a form or errors, never a panic.

use proptest::prelude::*;

use crate::support::shipped;

fn load_text(text: &str) {
    let dir = tempfile::tempdir().unwrap();
    for csv in ["lao_adm1.csv", "lao_adm2.csv"] {
        std::fs::copy(shipped(csv), dir.path().join(csv)).unwrap();
    }
    let _ = fieldkit::form::load_str(text, &dir.path().join("fuzz.toml"));
}

fn seed() -> String {
    std::fs::read_to_string(shipped("migrant_health_poe.toml")).expect("shipped form")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        load_text(&text);
    }

    #[test]
    fn toml_shaped_text_never_panics(
        text in "(\\[\\[(survey|choices)\\]\\]\n|\\[settings\\]\n|(type|name|label|relevant|constraint|calculation|choice_filter|repeat_count|list_name) = \"[a-z_ ${}().=<>0-9']{0,30}\"\n){0,40}"
    ) {
        load_text(&text);
    }

    #[test]
    fn mutated_shipped_form_never_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4, "[\\PC]{0,3}"), 1..8)
    ) {
        let mut text = seed();
        for (at, op, insert) in edits {
            if text.is_empty() { break; }
            let mut i = at.index(text.len());
            while !text.is_char_boundary(i) { i -= 1; }
            match op {
                0 => text.insert_str(i, &insert),
                1 => { let end = (i + 8).min(text.len()); let mut e = end; while !text.is_char_boundary(e) { e -= 1; } text.replace_range(i..e, ""); }
                2 => { text.insert_str(i, "${"); }
                _ => { text.insert_str(i, "\n[[survey]]\ntype = \"end_repeat\"\n"); }
            }
        }
        load_text(&text);
    }
}
