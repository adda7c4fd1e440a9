//! Media and file questions (`image`, `audio`, `video`, `file`, and a
//! signature: `image` with the `signature` appearance): which files each
//! accepts (by extension, narrowed by the `accept` column, XLSForm's
//! `body::accept`), the safe name an attachment is stored under (what
//! ODK stores as the answer: a name, never a path), and the check of a
//! picked file against the question and the size cap. Pure: the bytes
//! are read and hashed by the caller (the screen's picker, `fill`).

/// What a file question takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Media {
    Image,
    Audio,
    Video,
    /// Any file (`file`).
    File,
    /// A signature: an image file attached (a terminal cannot draw one).
    Signature,
}

/// Attachments larger than this are refused unless the cap is raised
/// (`--max-attachment-mb`).
pub const DEFAULT_MAX_ATTACHMENT_MB: u64 = 10;
/// The highest cap that may be set: an attachment is read whole into
/// memory and stored in one write, and a bundle entry holds 64 MiB.
pub const MAX_ATTACHMENT_MB: u64 = 60;

const IMAGE: &[&str] = &["jpg", "jpeg", "png", "gif", "webp", "heic", "bmp"];
const AUDIO: &[&str] = &["mp3", "m4a", "ogg", "wav", "amr", "aac", "opus"];
const VIDEO: &[&str] = &["mp4", "3gp", "mov", "mkv", "webm", "avi"];

impl Media {
    /// The XLSForm type this media question is written with.
    pub fn type_name(self) -> &'static str {
        match self {
            Media::Image | Media::Signature => "image",
            Media::Audio => "audio",
            Media::Video => "video",
            Media::File => "file",
        }
    }

    /// The extensions a question of this kind takes when its `accept`
    /// column does not narrow them; empty for `file` (any).
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Media::Image | Media::Signature => IMAGE,
            Media::Audio => AUDIO,
            Media::Video => VIDEO,
            Media::File => &[],
        }
    }

    /// The media a MIME family names (`image/*`).
    fn of_family(family: &str) -> Option<Media> {
        match family {
            "image" => Some(Media::Image),
            "audio" => Some(Media::Audio),
            "video" => Some(Media::Video),
            _ => None,
        }
    }
}

/// The extensions an `accept` cell names (`.pdf, .docx`, `image/*`,
/// `application/pdf`), lowercase without the dot; `Err` names a word it
/// cannot read.
pub fn parse_accept(cell: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for word in cell
        .split([',', ' ', ';'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        let word = word.to_ascii_lowercase();
        let found: Vec<String> = if let Some(ext) = word.strip_prefix('.') {
            vec![ext.to_string()]
        } else if let Some((family, sub)) = word.split_once('/') {
            match (Media::of_family(family), sub) {
                (Some(m), "*") => m.extensions().iter().map(|e| e.to_string()).collect(),
                (_, "jpeg") => vec!["jpg".into(), "jpeg".into()],
                (_, "*") => return Err(word),
                (_, sub) => match sub.rsplit(['.', '-', '+']).next() {
                    Some(s) if !s.is_empty() => vec![s.to_string()],
                    _ => return Err(word),
                },
            }
        } else {
            vec![word.clone()]
        };
        for ext in found {
            if ext.is_empty() || !ext.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(word);
            }
            if !out.contains(&ext) {
                out.push(ext);
            }
        }
    }
    Ok(out)
}

/// The extensions a question takes: its `accept` list when it has one,
/// else its media's; empty means any file.
pub fn accepted(media: Media, accept: &[String]) -> Vec<&str> {
    if accept.is_empty() {
        media.extensions().to_vec()
    } else {
        accept.iter().map(String::as_str).collect()
    }
}

/// The lowercase extension of a file name, if it has one.
pub fn extension(file_name: &str) -> Option<String> {
    let (stem, ext) = file_name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty() && ext.chars().all(|c| c.is_ascii_alphanumeric()))
        .then(|| ext.to_ascii_lowercase())
}

/// Why a picked file is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    #[error(
        "'{file}' is {size}, over the {cap_mb} MB an attachment may be; pick a smaller file \
         (or ask the supervisor to raise the cap with --max-attachment-mb)"
    )]
    TooLarge {
        file: String,
        size: String,
        cap_mb: u64,
    },
    #[error("'{file}' is not a file this question takes; it takes {accepted}")]
    WrongType { file: String, accepted: String },
    #[error("'{0}' is empty; pick the file that holds the attachment")]
    Empty(String),
}

impl MediaError {
    /// The same message in Lao (draft text, to be reviewed by a Lao
    /// speaker, as the rest of the program's Lao).
    pub fn in_lao(&self) -> String {
        // Added for issue 18 (Lao to review): file questions.
        match self {
            MediaError::TooLarge { file, size, cap_mb } => format!(
                "'{file}' ມີຂະໜາດ {size}, ເກີນ {cap_mb} MB ທີ່ແນບໄດ້; ເລືອກໄຟລ໌ທີ່ນ້ອຍກວ່າ \
                 (ຫຼື ຂໍໃຫ້ຫົວໜ້າເພີ່ມຂີດຈຳກັດດ້ວຍ --max-attachment-mb)"
            ),
            MediaError::WrongType { file, accepted } => {
                format!("'{file}' ບໍ່ແມ່ນໄຟລ໌ທີ່ຄຳຖາມນີ້ຮັບ; ຮັບສະເພາະ {accepted}")
            }
            MediaError::Empty(file) => format!("'{file}' ຫວ່າງເປົ່າ; ເລືອກໄຟລ໌ທີ່ມີຂໍ້ມູນ"),
        }
    }
}

/// Checks a picked file (its name as on disk and its size) against the
/// question's accepted types and the cap.
pub fn check(
    media: Media,
    accept: &[String],
    file_name: &str,
    size: u64,
    cap_mb: u64,
) -> Result<(), MediaError> {
    let ok = accepted(media, accept);
    let ext = extension(file_name);
    if !ok.is_empty() && !ext.as_deref().is_some_and(|e| ok.contains(&e)) {
        return Err(MediaError::WrongType {
            file: file_name.to_string(),
            accepted: ok
                .iter()
                .map(|e| format!(".{e}"))
                .collect::<Vec<_>>()
                .join(" "),
        });
    }
    if size > cap_mb.saturating_mul(1024 * 1024) {
        return Err(MediaError::TooLarge {
            file: file_name.to_string(),
            size: human_size(size),
            cap_mb,
        });
    }
    if size == 0 {
        return Err(MediaError::Empty(file_name.to_string()));
    }
    Ok(())
}

/// The name an attachment is stored and answered under:
/// `<question>-<12 hex>.<ext>`, the hex random (given by the caller): not
/// the file's hash, which the bundle's manifest would show to anyone with
/// the stick, nor its original name, which may name a person. No path,
/// only letters, digits, `-`, `_` and `.`.
pub fn attachment_name(question: &str, hex: &str, file_name: &str) -> String {
    let safe: String = question
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let short: String = hex.chars().take(12).collect();
    match extension(file_name) {
        Some(ext) => format!("{safe}-{short}.{ext}"),
        None => format!("{safe}-{short}"),
    }
}

/// Whether `name` is a name [`attachment_name`] could have given: what an
/// answer to a file question, a bundle's media entry and an aggregate's
/// output file may be called (never a path).
pub fn is_attachment_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !name.contains("..")
}

/// The attachment names a record's values give to file questions (in
/// every repeat instance): what must be kept with the record.
pub fn file_answers(
    form: &crate::form::Form,
    values: &serde_json::Map<String, serde_json::Value>,
) -> Vec<String> {
    use serde_json::Value;
    let mut out = Vec::new();
    for (key, value) in values {
        let Some(id) = form.find(key) else { continue };
        match (&form.node(id).kind, value) {
            (crate::form::Kind::File { .. }, Value::String(name)) if !name.is_empty() => {
                out.push(name.clone())
            }
            (crate::form::Kind::Repeat, Value::Array(items)) => {
                for item in items {
                    if let Value::Object(inner) = item {
                        out.extend(file_answers(form, inner));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// A size as people read it: `812 B`, `4.2 KB`, `10.5 MB`.
pub fn human_size(bytes: u64) -> String {
    const K: f64 = 1024.0;
    let b = bytes as f64;
    if b < K {
        format!("{bytes} B")
    } else if b < K * K {
        format!("{:.1} KB", b / K)
    } else if b < K * K * K {
        format!("{:.1} MB", b / (K * K))
    } else {
        format!("{:.1} GB", b / (K * K * K))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::Kind;

    #[test]
    fn each_media_takes_its_own_extensions_and_file_takes_any() {
        assert!(check(Media::Image, &[], "a.JPG", 10, 10).is_ok());
        assert!(check(Media::Signature, &[], "sig.png", 10, 10).is_ok());
        assert!(check(Media::Audio, &[], "a.opus", 10, 10).is_ok());
        assert!(check(Media::Video, &[], "a.3gp", 10, 10).is_ok());
        assert!(check(Media::File, &[], "notes", 10, 10).is_ok());
        assert!(matches!(
            check(Media::Image, &[], "a.mp3", 10, 10),
            Err(MediaError::WrongType { .. })
        ));
        assert!(matches!(
            check(Media::Video, &[], "noext", 10, 10),
            Err(MediaError::WrongType { .. })
        ));
    }

    #[test]
    fn accept_narrows_and_reads_extensions_and_mime_types() {
        assert_eq!(
            parse_accept(".pdf, .DOCX").unwrap(),
            vec!["pdf".to_string(), "docx".to_string()]
        );
        assert_eq!(parse_accept("application/pdf").unwrap(), vec!["pdf"]);
        assert_eq!(parse_accept("image/jpeg").unwrap(), vec!["jpg", "jpeg"]);
        assert_eq!(parse_accept("audio/*").unwrap().len(), AUDIO.len());
        assert!(parse_accept("x/*").is_err());
        assert!(parse_accept(".p/f").is_err());
        let pdf = parse_accept(".pdf").unwrap();
        assert!(check(Media::File, &pdf, "r.pdf", 1, 10).is_ok());
        assert!(check(Media::File, &pdf, "r.doc", 1, 10).is_err());
    }

    #[test]
    fn the_cap_refuses_a_larger_file_with_its_size_and_an_empty_one() {
        let e = check(Media::Image, &[], "big.jpg", 11 * 1024 * 1024, 10).unwrap_err();
        assert_eq!(
            e.to_string(),
            "'big.jpg' is 11.0 MB, over the 10 MB an attachment may be; pick a smaller file \
             (or ask the supervisor to raise the cap with --max-attachment-mb)"
        );
        assert!(check(Media::Image, &[], "ok.jpg", 10 * 1024 * 1024, 10).is_ok());
        assert_eq!(
            check(Media::Image, &[], "e.jpg", 0, 10),
            Err(MediaError::Empty("e.jpg".into()))
        );
    }

    #[test]
    fn attachment_names_are_safe_and_keep_the_extension() {
        let n = attachment_name("photo", "abcdef0123456789", "/home/x/My Photo.JPG");
        assert_eq!(n, "photo-abcdef012345.jpg");
        assert!(is_attachment_name(&n));
        assert_eq!(attachment_name("a/b", "00", "x"), "a_b-00");
        for bad in ["", "../x", "a/b", ".hidden", "a\\b", "a b"] {
            assert!(!is_attachment_name(bad), "{bad}");
        }
    }

    const MEDIA_FORM: &str = r#"
[[survey]]
type = "image"
name = "photo"
label = "Photo of the site"

[[survey]]
type = "audio"
name = "voice"
label = "Voice"

[[survey]]
type = "video"
name = "walk"
label = "Walk"

[[survey]]
type = "file"
name = "doc"
label = "Document"
accept = ".pdf, application/msword"

[[survey]]
type = "image"
name = "sig"
label = "Signature"
appearance = "signature"
required = "yes"
"#;

    #[test]
    fn a_toml_form_loads_each_media_type_with_accept_and_a_signature_warning() {
        let form = crate::form::load_str(MEDIA_FORM, std::path::Path::new("m.toml"))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let kind = |n: &str| form.nodes[form.find(n).unwrap()].kind.media();
        assert_eq!(kind("photo"), Some(Media::Image));
        assert_eq!(kind("voice"), Some(Media::Audio));
        assert_eq!(kind("walk"), Some(Media::Video));
        assert_eq!(kind("doc"), Some(Media::File));
        assert_eq!(kind("sig"), Some(Media::Signature));
        assert_eq!(
            form.nodes[form.find("doc").unwrap()].accept,
            vec!["pdf", "msword"]
        );
        assert_eq!(form.warnings.len(), 1, "{:?}", form.warnings);
        assert!(form.warnings[0].message.contains("cannot be drawn"));
        assert_eq!(form.warnings[0].row, Some(5));
    }

    #[test]
    fn file_answers_are_found_at_the_top_and_in_repeats() {
        let toml = "[[survey]]\ntype = \"image\"\nname = \"p\"\nlabel = \"p\"\n\n\
                    [[survey]]\ntype = \"begin_repeat\"\nname = \"r\"\nlabel = \"r\"\n\n\
                    [[survey]]\ntype = \"audio\"\nname = \"a\"\nlabel = \"a\"\n\n\
                    [[survey]]\ntype = \"text\"\nname = \"t\"\nlabel = \"t\"\n\n\
                    [[survey]]\ntype = \"end_repeat\"\n";
        let form = crate::form::load_str(toml, std::path::Path::new("m.toml"))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let values = serde_json::json!({
            "p": "p-1.jpg",
            "r": [{"a": "a-1.mp3", "t": "a-2.mp3"}, {"a": "a-3.mp3"}]
        });
        assert_eq!(
            file_answers(&form, values.as_object().unwrap()),
            ["p-1.jpg", "a-1.mp3", "a-3.mp3"]
        );
    }

    #[test]
    fn accept_on_another_question_and_a_bad_accept_are_refused() {
        let bad = "[[survey]]\ntype = \"text\"\nname = \"t\"\nlabel = \"t\"\naccept = \".pdf\"\n\n\
                   [[survey]]\ntype = \"file\"\nname = \"f\"\nlabel = \"f\"\naccept = \"x/*\"\n";
        let errors = crate::form::load_str(bad, std::path::Path::new("m.toml")).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains("only applies to image"))
        );
        assert!(errors.iter().any(|e| e.message.contains("'x/*' in accept")));
    }

    #[test]
    fn an_answer_is_an_attachment_name_never_a_path() {
        let k = Kind::File {
            media: Media::Image,
        };
        assert_eq!(
            crate::form::answer::canonical(&k, "photo-0123.jpg", None, 0),
            Ok("photo-0123.jpg".into())
        );
        assert!(crate::form::answer::canonical(&k, "/etc/passwd", None, 0).is_err());
    }
}
