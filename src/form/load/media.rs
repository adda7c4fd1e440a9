//! File questions' own columns: `accept` (the file types a question
//! takes, narrowing its media's) and the `signature` appearance on an
//! image question (a signature attached as an image file, with a warning:
//! a terminal cannot draw one).

use super::{Loader, RowSource};
use crate::form::error::FormError;
use crate::form::model::{Kind, Media, Node};

impl Loader {
    /// A file question's `accept` column: the extensions it narrows its
    /// media's to.
    pub(super) fn accept(&mut self, n: usize, line: Option<usize>, node: &mut Node, cell: &str) {
        match crate::form::media::parse_accept(cell) {
            Ok(exts) => node.accept = exts,
            Err(word) => self.err(
                "survey",
                Some(n),
                Some("accept"),
                line,
                format!(
                    "{}: '{word}' in accept is not a file type; write extensions like \
                     \".pdf, .docx\" or types like image/*",
                    node.name
                ),
            ),
        }
    }

    /// An image question with the `signature` appearance takes a
    /// signature as an image file (a terminal cannot draw one): said in a
    /// warning. The appearance on any other question is ignored.
    pub(super) fn signature(&mut self, node: &mut Node, source: &RowSource) {
        if !node.has_appearance("signature") {
            return;
        }
        let image = node.kind
            == Kind::File {
                media: Media::Image,
            };
        if image {
            node.kind = Kind::File {
                media: Media::Signature,
            };
        }
        self.warnings.push(FormError {
            path: self.path.clone(),
            sheet: "survey",
            row: Some(node.row),
            column: Some("appearance".into()),
            line: source.lines.get("appearance").copied(),
            message: if image {
                format!(
                    "{}: a signature cannot be drawn in a terminal; the enumerator attaches an \
                     image file of it (a photo or scan of the signature)",
                    node.name
                )
            } else {
                format!(
                    "{}: the appearance 'signature' only applies to image questions; ignored",
                    node.name
                )
            },
        });
    }
}
