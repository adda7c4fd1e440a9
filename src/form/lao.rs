//! Lao as it is typed, for search: spellings that look the same folded to
//! one ([`fold`]), and a Latin search key for Lao text ([`romanize`],
//! [`loose`]) so that a laptop without a Lao keyboard finds Lao-only names.
//!
//! The romanization follows the BGN/PCGN 1966 system for Lao (US Board on
//! Geographic Names and the UK Permanent Committee on Geographical Names,
//! "Romanization of Lao: BGN/PCGN 1966 System"; the tables as given in
//! Wikipedia's "Romanization of Lao" and in the Perl module
//! Lingua::LO::Romanize, which implements the same system), written
//! without its accents (é, è, ô give e, e, o: a Latin query is folded
//! without accents anyway). It is a search aid, never shown and never the
//! official name of a place. The Lao examples and the syllable rules below
//! are to be reviewed by a Lao speaker.

use unicode_normalization::UnicodeNormalization;

/// Invisible characters that pasted or typed Lao carries between syllables
/// (the zero-width space is how Lao text marks word breaks; the soft hyphen
/// is in the village list): never part of what is searched.
fn is_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}'
    )
}

fn is_tone(c: char) -> bool {
    matches!(c, '\u{0EC8}'..='\u{0ECB}')
}

/// Vowel and other marks written above or below a consonant.
fn is_mark(c: char) -> bool {
    matches!(c, '\u{0EB1}' | '\u{0EB4}'..='\u{0EBC}' | '\u{0EC8}'..='\u{0ECD}')
}

const AA: char = 'າ';
const NIGGAHITA: char = 'ໍ';

/// One spelling for Lao text that looks the same however it was typed:
/// NFKC (ໜ is ຫນ, ໝ is ຫມ, ຳ is ໍ + າ), invisible characters dropped, the
/// subscript ຼ as the ລ it stands for (ຫຼວງ and the older ຫລວງ), and the
/// marks over one consonant in one order (vowel marks, then the tone mark,
/// whichever was typed first; a tone typed after ຳ goes before its າ).
/// Review by a Lao speaker: whether ຫລ = ຫຼ should hold in every list.
pub fn fold(text: &str) -> String {
    let chars: Vec<char> = text
        .nfkc()
        .filter(|c| !is_ignorable(*c))
        .map(|c| if c == '\u{0EBC}' { 'ລ' } else { c })
        .collect();
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        if is_mark(chars[i]) {
            let start = i;
            while i < chars.len() && is_mark(chars[i]) {
                i += 1;
            }
            let mut run = chars[start..i].to_vec();
            // Stable: vowel marks keep their order, tones go last.
            run.sort_by_key(|c| is_tone(*c));
            // ໍ + າ + tone (ຳ then the tone) is ໍ + tone + າ.
            if run.last() == Some(&NIGGAHITA)
                && chars.get(i) == Some(&AA)
                && chars.get(i + 1).is_some_and(|c| is_tone(*c))
            {
                run.push(chars[i + 1]);
                run.push(AA);
                i += 2;
            }
            out.extend(run);
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out.into_iter().collect()
}

/// Whether `text` has a Lao letter (so a romanized key is worth making).
pub fn has_lao(text: &str) -> bool {
    text.chars().any(|c| is_consonant(c) || is_pre_vowel(c))
}

fn is_consonant(c: char) -> bool {
    matches!(
        c,
        'ກ' | 'ຂ'
            | 'ຄ'
            | 'ງ'
            | 'ຈ'
            | 'ສ'
            | 'ຊ'
            | 'ຍ'
            | 'ດ'
            | 'ຕ'
            | 'ຖ'
            | 'ທ'
            | 'ນ'
            | 'ບ'
            | 'ປ'
            | 'ຜ'
            | 'ຝ'
            | 'ພ'
            | 'ຟ'
            | 'ມ'
            | 'ຢ'
            | 'ຣ'
            | 'ລ'
            | 'ວ'
            | 'ຫ'
            | 'ອ'
            | 'ຮ'
    )
}

fn is_pre_vowel(c: char) -> bool {
    matches!(c, 'ເ' | 'ແ' | 'ໂ' | 'ໃ' | 'ໄ')
}

/// A vowel sign that attaches to the consonant before it: after a
/// consonant, it makes that consonant the start of a syllable.
fn attaches(c: char) -> bool {
    is_mark(c) || matches!(c, 'ະ' | 'າ' | 'ຽ' | '\u{0ECC}')
}

/// BGN/PCGN value of a consonant starting a syllable.
fn initial(c: char) -> &'static str {
    match c {
        'ກ' => "k",
        'ຂ' | 'ຄ' => "kh",
        'ງ' => "ng",
        'ຈ' => "ch",
        'ສ' => "s",
        'ຊ' => "x",
        'ຍ' => "gn",
        'ດ' => "d",
        'ຕ' => "t",
        'ຖ' | 'ທ' => "th",
        'ນ' => "n",
        'ບ' => "b",
        'ປ' => "p",
        'ຜ' | 'ພ' => "ph",
        'ຝ' | 'ຟ' => "f",
        'ມ' => "m",
        'ຢ' => "y",
        'ຣ' => "r",
        'ລ' => "l",
        'ວ' => "v",
        'ຫ' | 'ຮ' => "h",
        // ອ carries a vowel that starts the syllable: not written.
        _ => "",
    }
}

/// BGN/PCGN value of a consonant closing a syllable (the loan-word finals
/// as the table gives them).
fn final_value(c: char) -> &'static str {
    match c {
        'ກ' | 'ຂ' | 'ຄ' => "k",
        'ງ' => "ng",
        'ຍ' => "y",
        'ດ' | 'ຈ' | 'ສ' | 'ຊ' | 'ຕ' | 'ຖ' | 'ທ' => "t",
        'ນ' | 'ຣ' | 'ລ' => "n",
        'ບ' | 'ປ' | 'ພ' | 'ຟ' | 'ຝ' | 'ຜ' => "p",
        'ມ' => "m",
        'ວ' => "o",
        _ => "",
    }
}

/// The letters ຫ silently goes before (ຫນ, ຫມ, ຫລ, ຫວ ...: one initial).
fn is_sonorant(c: char) -> bool {
    matches!(c, 'ງ' | 'ຍ' | 'ນ' | 'ມ' | 'ລ' | 'ວ' | 'ຣ')
}

/// The BGN/PCGN vowel for a nucleus: the vowel written before the
/// consonant, the marks above and below it (tones left out), and the
/// vowel letters after it.
fn nucleus(pre: Option<char>, marks: &str, post: &str, closed: bool) -> &'static str {
    match (pre, marks, post) {
        (None, "", "ະ" | "າ") | (None, "ັ", "") => "a",
        (None, "ໍ", "າ") => "am",
        (None, "ິ" | "ີ", "") => "i",
        (None, "ຶ" | "ື", "") => "u",
        (None, "ຸ" | "ູ", "") => "ou",
        (Some('ເ'), "", "" | "ະ") | (Some('ເ'), "ັ", "") => "e",
        (Some('ແ'), "", "" | "ະ") | (Some('ແ'), "ັ", "") => "e",
        (Some('ໂ'), "", "" | "ະ") | (None, "ົ", "") => "o",
        (Some('ເ'), "", "າະ") | (None, "ັ", "ອ") | (None, "ໍ", "") | (None, "", "ອ") => {
            "o"
        }
        (Some('ເ'), "ິ" | "ີ", "") => "eu",
        (Some('ເ'), "ັ" | "", "ຽ" | "ຽະ" | "ຍ") | (None, "ັ" | "", "ຽ") => "ia",
        (Some('ເ'), "ຶ" | "ື", "ອ" | "ອະ") => "ua",
        (None, "ົ" | "ັ" | "", "ວ" | "ວະ") => "oua",
        (Some('ໄ' | 'ໃ'), "", "") | (None, "ັ", "ຍ") => "ai",
        (Some('ເ'), "ົ", "າ") => "ao",
        // No vowel written: the inherent o of a closed syllable (older
        // spellings), a of an open one.
        (None, "", "") => {
            if closed {
                "o"
            } else {
                "a"
            }
        }
        _ => "",
    }
}

/// The BGN/PCGN romanization of `text` (folded first), lower case, ASCII,
/// syllables run together as the official names write them ("ໜອງຄຳ" is
/// "nongkham"); anything not Lao is kept, Lao digits become 0-9.
pub fn romanize(text: &str) -> String {
    syllables(text).concat()
}

/// The Latin search keys of `text`: its romanization loosely spelled
/// ([`loose`], as a query is), and, when it differs, each syllable loosely
/// spelled on its own (so that "na" still finds "ນາແອະ", whose "nae" is
/// "ne" as a whole).
pub fn latin_keys(text: &str) -> Vec<String> {
    let syllables = syllables(text);
    // BGN's gn is y where the syllables are still known: in "nongnok" the
    // gn is ng + n.
    let gn = |s: &String| match s.strip_prefix("gn") {
        Some(rest) => format!("y{rest}"),
        None => s.clone(),
    };
    let whole = loose(&syllables.iter().map(gn).collect::<String>());
    let each = undouble(&syllables.iter().map(|s| sounds(&gn(s))).collect::<String>());
    if each == whole {
        vec![whole]
    } else {
        vec![whole, each]
    }
}

/// The loose spellings of a query word: [`loose`], and when the word has
/// "ngn" (ng + n, or n + gn), the second reading too.
pub fn loose_readings(word: &str) -> Vec<String> {
    let mut readings = vec![loose(word)];
    let lower = word.to_ascii_lowercase();
    if lower.contains("ngn") {
        readings.push(loose(&lower.replace("ngn", "ny")));
    }
    readings
}

/// The romanized syllables of `text`, and what is not Lao as it is.
fn syllables(text: &str) -> Vec<String> {
    let chars: Vec<char> = fold(text).chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some(d) = lao_digit(c) {
            out.push(d.to_string());
            i += 1;
            continue;
        }
        if !(is_consonant(c) || is_pre_vowel(c) || is_mark(c) || attaches(c)) {
            if !('\u{0E80}'..='\u{0EFF}').contains(&c) {
                out.push(c.to_lowercase().collect());
            }
            i += 1;
            continue;
        }
        let mut one = String::new();
        // Every syllable takes at least one character.
        i = syllable(&chars, i, &mut one).max(i + 1);
        out.push(one);
    }
    out
}

fn lao_digit(c: char) -> Option<char> {
    let d = (c as u32).checked_sub(0x0ED0)?;
    if d < 10 {
        char::from_digit(d, 10)
    } else {
        None
    }
}

/// Romanizes the syllable starting at `i`; returns where the next starts.
fn syllable(chars: &[char], mut i: usize, out: &mut String) -> usize {
    let at = |j: usize| chars.get(j).copied();
    let pre = at(i).filter(|c| is_pre_vowel(*c));
    if pre.is_some() {
        i += 1;
    }
    // The initial: a consonant, ຫ before a sonorant, or a cluster with ວ
    // (ຂວາ: "khoua") when a vowel follows the ວ.
    let mut init = String::new();
    if let Some(c) = at(i).filter(|c| is_consonant(*c)) {
        i += 1;
        let cluster = at(i).is_some_and(is_sonorant)
            && (starts_here(chars, i) || (pre.is_some() && at(i + 1).is_some_and(is_consonant)));
        if c == 'ຫ' && cluster {
            init.push_str(initial(chars[i]));
            i += 1;
        } else {
            init.push_str(initial(c));
            if at(i) == Some('ວ') && c != 'ອ' && pre.is_none() && starts_here(chars, i) {
                init.push_str("ou");
                i += 1;
            } else if at(i) == Some('ລ') && at(i + 1).is_some_and(attaches) && c != 'ອ' {
                // A cluster with ລ (the subscript ຼ, folded).
                init.push('l');
                i += 1;
            }
        }
    }
    let mut marks = String::new();
    while let Some(c) = at(i).filter(|c| is_mark(*c)) {
        if !is_tone(c) && c != '\u{0ECC}' {
            marks.push(c);
        }
        i += 1;
    }
    // The vowel letters after the consonant.
    let mut post = String::new();
    while let Some(c) = at(i) {
        let next_attaches = at(i + 1).is_some_and(attaches);
        let takes = match c {
            'າ' => post.is_empty() || post == "ຽ",
            'ະ' => true,
            'ຽ' => post.is_empty(),
            'ອ' => {
                post.is_empty()
                    && !next_attaches
                    && ((marks.is_empty() && pre.is_none())
                        || (pre == Some('ເ') && matches!(marks.as_str(), "ຶ" | "ື"))
                        || marks == "ັ")
            }
            'ວ' => {
                post.is_empty()
                    && pre.is_none()
                    && !next_attaches
                    && matches!(marks.as_str(), "" | "ົ" | "ັ")
                    // ກວ + a final consonant, or ົວ / ັວ + anything.
                    && (!marks.is_empty() || at(i + 1).is_some_and(is_consonant))
            }
            'ຍ' => post.is_empty() && pre == Some('ເ') && marks.is_empty() && !next_attaches,
            _ => false,
        };
        if !takes {
            break;
        }
        post.push(c);
        i += 1;
        if c == 'ະ' {
            // ະ ends its syllable.
            out.push_str(&init);
            out.push_str(nucleus(pre, &marks, &post, false));
            return i;
        }
    }
    // A final consonant: one not starting the next syllable, or the one a
    // vowel that is never open must have (ັ, ົ; ອ, ວ, ຽ as vowel letters).
    let needs_final = matches!(
        (pre, marks.as_str(), post.as_str()),
        (_, "ັ" | "ົ", "") | (None, "" | "ັ", "ອ" | "ວ" | "ຽ")
    );
    let mut fin = "";
    if let Some(c) = at(i)
        && is_consonant(c)
        && (!starts_here(chars, i) || (needs_final && !at(i + 1).is_some_and(attaches)))
    {
        fin = final_value(c);
        i += 1;
    }
    let vowel = nucleus(pre, &marks, &post, !fin.is_empty());
    out.push_str(&init);
    if vowel.is_empty() {
        // A combination the table does not have: its parts, as written.
        out.push_str(pre_value(pre));
        out.extend(marks.chars().map(mark_value));
        out.extend(post.chars().map(mark_value));
    } else {
        out.push_str(vowel);
    }
    // Final ວ after i is "u" (ິວ: "iu").
    if fin == "o" && out.ends_with('i') && !out.ends_with("ai") {
        fin = "u";
    }
    out.push_str(fin);
    i
}

/// Whether the consonant at `i` starts a syllable: a vowel sign attaches
/// to it, or it is ຫ/a consonant followed by ວ, ລ or a sonorant that does.
fn starts_here(chars: &[char], i: usize) -> bool {
    let at = |j: usize| chars.get(j).copied();
    if at(i + 1).is_some_and(attaches) {
        return true;
    }
    let Some(c) = at(i) else { return false };
    let Some(next) = at(i + 1) else { return false };
    // ຫ + sonorant + vowel sign (ຫວ່າງ), or C + ວ + vowel sign (ຂວາງ);
    // but a consonant that can close a syllable, before ວ + vowel, closes
    // it (ບ້ານວັງ is ບ້ານ + ວັງ).
    if is_consonant(next) && at(i + 2).is_some_and(attaches) {
        return (c == 'ຫ' && is_sonorant(next))
            || (next == 'ວ' && !matches!(c, 'ງ' | 'ຍ' | 'ດ' | 'ນ' | 'ບ' | 'ມ' | 'ວ'));
    }
    // C + ອ/ວ + final consonant (ກອງ, ກວນ): ອ, ວ are its vowel.
    if matches!(next, 'ອ' | 'ວ') && at(i + 2).is_some_and(is_consonant) {
        return true;
    }
    // C + ອ at the end (ກໍ written ກອ) and ຫ + sonorant + ອ/ວ (ໜອງ).
    if next == 'ອ' && at(i + 2).is_none_or(|c| !is_consonant(c) && !attaches(c)) {
        return true;
    }
    c == 'ຫ'
        && is_sonorant(next)
        && matches!(at(i + 2), Some('ອ' | 'ວ'))
        && at(i + 3).is_some_and(is_consonant)
}

fn pre_value(pre: Option<char>) -> &'static str {
    match pre {
        Some('ເ' | 'ແ') => "e",
        Some('ໂ') => "o",
        Some('ໃ' | 'ໄ') => "ai",
        _ => "",
    }
}

fn mark_value(c: char) -> &'static str {
    match c {
        'ະ' | 'ັ' | 'າ' => "a",
        'ິ' | 'ີ' => "i",
        'ຶ' | 'ື' => "u",
        'ຸ' | 'ູ' => "ou",
        'ົ' | 'ອ' | 'ໍ' => "o",
        'ຽ' => "ia",
        'ວ' => "oua",
        'ຍ' => "y",
        _ => "",
    }
}

/// Latin spellings of Lao sounds folded to one, on both the romanized key
/// and the query: official and everyday spellings differ from BGN/PCGN
/// ("Meexay" and "mixai", "Sibounheuang" and "sibounhuang", "Donedeng"
/// and "dondeng", "Phonsavanh" and "phonsavan(g)" meet). Lower-case ASCII
/// in, a looser ASCII string out.
pub fn loose(text: &str) -> String {
    undouble(&sounds(text))
}

fn is_vowel(c: u8) -> bool {
    matches!(c, b'a' | b'e' | b'i' | b'o' | b'u')
}

/// The spelling rules of [`loose`] but the doubled letters.
fn sounds(text: &str) -> String {
    let mut s: String = gn_to_y(&text.to_ascii_lowercase());
    for (from, to) in [
        ("x", "s"),
        ("z", "s"),
        ("j", "ch"),
        ("w", "v"),
        ("ck", "k"),
        ("ee", "i"),
        ("ie", "ia"),
        ("eua", "ua"),
        ("uea", "ua"),
        ("oua", "ua"),
        ("eu", "u"),
        ("ue", "u"),
        ("ou", "u"),
        ("ae", "e"),
    ] {
        if s.contains(from) {
            s = s.replace(from, to);
        }
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        let after_vowel = out.as_bytes().last().is_some_and(|c| is_vowel(*c));
        let closes = |j: usize| b.get(j).is_none_or(|n| !is_vowel(*n));
        match c {
            // y after a vowel or before a consonant is i ("xay", "xai";
            // "Phosy", "phosi").
            b'y' if after_vowel || closes(i + 1) => out.push('i'),
            // The French "-ne", "-me" of a final n, m ("Done", "Sihome").
            b'e' if i >= 2
                && matches!(b[i - 1], b'n' | b'm')
                && is_vowel(b[i - 2])
                && closes(i + 1) => {}
            // The French r after a vowel is not said ("Akard", "Bor"); ຣ is l.
            b'r' if after_vowel && closes(i + 1) => {}
            b'r' => out.push('l'),
            // A final w (v) is the o of BGN ("Kaoliew", "kaoliao").
            b'v' if after_vowel && closes(i + 1) => out.push('o'),
            // A final d or th is t ("Sisavath", "Hadsadi"), a final b p.
            b'd' if after_vowel && closes(i + 1) => out.push('t'),
            b'b' if after_vowel && closes(i + 1) => out.push('p'),
            b't' if next == Some(b'h') && after_vowel && closes(i + 2) => {
                out.push('t');
                i += 1;
            }
            // A final nh is n ("Phonsavanh").
            b'n' if next == Some(b'h') && after_vowel && closes(i + 2) => {
                out.push('n');
                i += 1;
            }
            _ => out.push(c as char),
        }
        i += 1;
    }
    out
}

/// gn (BGN) and a leading ny are y; not the ng + n of "nongnok".
fn gn_to_y(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let pair = (b[i], b.get(i + 1).copied());
        if pair == (b'g', Some(b'n')) && (i == 0 || b[i - 1] != b'n')
            || pair == (b'n', Some(b'y')) && i == 0
        {
            out.push('y');
            i += 2;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// A doubled letter is one ("savannakhet", "savanakhet"); three or more
/// are left as typed ("zzz" is no name, and must not become "s").
fn undouble(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let run = chars[i..].iter().take_while(|&&d| d == c).count();
        let keep = if run == 2 && c.is_ascii_alphabetic() {
            1
        } else {
            run
        };
        out.extend(std::iter::repeat_n(c, keep));
        i += run;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookalike_spellings_fold_alike() {
        assert_eq!(fold("ໜອງ"), fold("ຫນອງ"));
        assert_eq!(fold("ໝາກ"), fold("ຫມາກ"));
        assert_eq!(fold("ຄຳ"), fold("ຄໍາ"));
        assert_eq!(fold("ຫຼວງ"), fold("ຫລວງ"));
        // The tone typed before or after the vowel mark.
        assert_eq!(fold("ກ\u{0EC9}\u{0EB4}"), fold("ກ\u{0EB4}\u{0EC9}"));
        // A tone typed after ຳ or before it.
        assert_eq!(fold("ນ\u{0EC9}ຳ"), fold("ນຳ\u{0EC9}"));
        assert_eq!(fold("ບ້ານ\u{00AD}ນາ\u{200B}"), "ບ້ານນາ");
        // Different words stay different.
        assert_ne!(fold("ຫວ່າງ"), fold("ຫວາງ"));
    }

    #[test]
    fn romanizes_village_names() {
        // The pairs: Lao label, BGN/PCGN without accents. To be reviewed
        // by a Lao speaker.
        for (lao, latin) in [
            ("ໜອງ", "nong"),
            ("ໜອງຄຳ", "nongkham"),
            ("ບ້ານນາ", "banna"),
            ("ນາຄຳ", "nakham"),
            ("ໜອງປິງ", "nongping"),
            ("ໂພນສະຫວ່າງ", "phonsavang"),
            ("ດອນແດງ", "dondeng"),
            ("ຫ້ວຍຫົງ", "houayhong"),
            ("ສີບຸນເຮືອງ", "sibounhuang"),
            ("ສະຫວັນນະເຂດ", "savannakhet"),
            ("ເມືອງ", "muang"),
            ("ໄຊ", "xai"),
            ("ສາຍລົມ", "saylom"),
            ("ເກົ້າລ້ຽວ", "kaoliao"),
            ("ຫຼວງ", "louang"),
            ("ພາສາລາວ", "phasalao"),
            ("ໃໝ່", "mai"),
            ("ແກ້ວ", "keo"),
            ("ຂວາງ", "khouang"),
            ("ເໜືອ", "nua"),
            ("ຕາດທອງ", "tatthong"),
            ("ຈອມມະນີ", "chommani"),
            ("ເຊຍ", "xia"),
            ("ທົ່ງ", "thong"),
            ("ໂນ້ນ", "non"),
            ("ຊຽງ", "xiang"),
            ("ບໍ່ນາງົວ", "bonangoua"),
            ("ໄກ່", "kai"),
            ("ເລີ່ມ", "leum"),
            ("ໝ້ຽງ", "miang"),
            ("ໜອງ 2", "nong 2"),
            ("ດອນວຽງ", "donviang"),
            ("ນາຂວາ", "nakhoua"),
            ("ບ້ານວັງ", "banvang"),
            ("ດົງປ່າແຫຼບ", "dongpalep"),
        ] {
            assert_eq!(romanize(lao), latin, "{lao}");
        }
    }

    #[test]
    fn official_spellings_meet_the_key_when_loose() {
        for (official, lao) in [
            ("Nongkham", "ໜອງຄຳ"),
            ("Meexay", "ມີໄຊ"),
            ("Sibounheuang", "ສີບຸນເຮືອງ"),
            ("Donedeng", "ດອນແດງ"),
            ("Sisavath", "ສີສະຫວາດ"),
            ("Hadsadineua", "ຫັດສະດີເໜືອ"),
            ("Jommani", "ຈອມມະນີ"),
            ("Bornangoua", "ບໍ່ນາງົວ"),
            ("Dongpalaep", "ດົງປ່າແຫຼບ"),
            ("Dongmieng", "ດົງໝ້ຽງ"),
            ("Sihome", "ສີຫອມ"),
            ("Sysaked", "ສີສະເກດ"),
            ("Akard", "ອາກາດ"),
            ("Kaoliew", "ເກົ້າລ້ຽວ"),
            ("Nonkhileck", "ໂນ້ນຂີ້ເຫຼັກ"),
            ("Viengsavanh", "ວຽງສະຫວັນ"),
        ] {
            let keys = latin_keys(lao);
            let query = loose(official);
            assert!(
                keys.iter().any(|k| k.contains(&query)),
                "{official}: {query} vs {keys:?}"
            );
        }
        assert_ne!(loose("nong"), loose("nam"));
        // Syllable by syllable: ng + n is not gn.
        assert_eq!(latin_keys("ໜອງນົກຂຽນ"), ["nongnokhian"]);
        assert_eq!(latin_keys("ໜອງຄັນຍູ"), ["nongkhanyu"]);
        assert_eq!(loose("nongnok"), "nongnok");
        assert_eq!(loose("Gnot"), loose("Nyot"));
        assert_eq!(loose("zzz"), "sss");
        assert_eq!(loose("savannakhet"), "savanakhet");
        assert!(loose_readings("dongneng").contains(&latin_keys("ດອນແຍງ")[0]));
        assert_eq!(loose("kongtayoun"), latin_keys("ກົງຕາຢູນ")[0]);
        assert_eq!(loose("kelegnai"), latin_keys("ແກແລໃຫຍ່")[0]);
        // A syllable's prefix is found even where the whole reads looser.
        assert_eq!(latin_keys("ນາແອະ"), ["ne", "nae"]);
    }
}
