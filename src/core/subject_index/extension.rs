//! The checkpoint extension line that carries the subject-index root (SPEC.md sections 5 and 8;
//! docs/subject-index.md, "Checkpoint extension line"):
//!
//! ```text
//! gdpr-ledger/subject-index v1 <base64 root>
//! ```

use crate::core::checkpoint::Checkpoint;
use crate::core::hash::{HashDecodeError, RootHash};

/// The line's first field, which names it among a checkpoint's extension lines.
pub const SUBJECT_INDEX_KEYWORD: &str = "gdpr-ledger/subject-index";
/// The format version this code writes and reads.
pub const SUBJECT_INDEX_VERSION: &str = "v1";

/// An extension line that names the subject index but cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionLineError {
    /// The line's first field is not [`SUBJECT_INDEX_KEYWORD`]: it is another extension.
    #[error("not a subject-index extension line")]
    NotSubjectIndex,
    /// The line has a version other than `v1`: a later format this verifier does not know.
    #[error("subject-index format {0:?} is not supported (this verifier knows v1)")]
    UnsupportedVersion(String),
    /// The line is not exactly the keyword, the version and the root, separated by single spaces.
    #[error("the subject-index line is not `{SUBJECT_INDEX_KEYWORD} v1 <base64 root>`")]
    Malformed,
    /// The root is not canonical base64 of 32 bytes.
    #[error("the subject-index root is invalid: {0}")]
    Root(HashDecodeError),
    /// The checkpoint has more than one subject-index line.
    #[error("the checkpoint has {0} subject-index lines")]
    Duplicate(usize),
}

impl ExtensionLineError {
    /// The failed check (docs/subject-index.md section 11).
    pub fn check(&self) -> crate::core::checks::Check {
        use crate::core::checks::Check;
        match self {
            Self::NotSubjectIndex | Self::Malformed => Check::SubjectIndexLineMalformed,
            Self::UnsupportedVersion(_) => Check::SubjectIndexLineUnsupportedVersion,
            Self::Root(_) => Check::SubjectIndexLineRoot,
            Self::Duplicate(_) => Check::SubjectIndexLineDuplicate,
        }
    }

    /// The failed check's stable code (docs/SPEC.md section 9).
    pub fn code(&self) -> &'static str {
        self.check().code()
    }
}

/// The extension line for `root`: `gdpr-ledger/subject-index v1 <base64 root>` (no newline).
pub fn format_extension_line(root: &RootHash) -> String {
    format!(
        "{SUBJECT_INDEX_KEYWORD} {SUBJECT_INDEX_VERSION} {}",
        root.to_base64()
    )
}

/// Parses a subject-index extension line: exactly three fields separated by single spaces, the
/// keyword, `v1`, and canonical base64 of 32 bytes. A line whose second field is another version
/// is [`ExtensionLineError::UnsupportedVersion`], whatever follows.
pub fn parse_extension_line(line: &str) -> Result<RootHash, ExtensionLineError> {
    let mut fields = line.split(' ');
    if fields.next() != Some(SUBJECT_INDEX_KEYWORD) {
        return Err(ExtensionLineError::NotSubjectIndex);
    }
    // The version comes first: a later version may lay out the rest of its line differently.
    match fields.next() {
        None | Some("") => return Err(ExtensionLineError::Malformed),
        Some(SUBJECT_INDEX_VERSION) => {}
        Some(other) => return Err(ExtensionLineError::UnsupportedVersion(other.to_owned())),
    }
    let (Some(root), None) = (fields.next(), fields.next()) else {
        return Err(ExtensionLineError::Malformed);
    };
    RootHash::from_base64(root).map_err(ExtensionLineError::Root)
}

/// The subject-index root a checkpoint carries: `Ok(None)` when it has no subject-index line
/// (other extension lines are ignored), an error when a line names the subject index but does not
/// parse or when there are several.
pub fn find_subject_index_root(
    checkpoint: &Checkpoint,
) -> Result<Option<RootHash>, ExtensionLineError> {
    let ours: Vec<&String> = checkpoint
        .extensions
        .iter()
        .filter(|line| line.split(' ').next() == Some(SUBJECT_INDEX_KEYWORD))
        .collect();
    match ours.as_slice() {
        [] => Ok(None),
        [line] => parse_extension_line(line).map(Some),
        more => Err(ExtensionLineError::Duplicate(more.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::hash::leaf_hash;

    fn root() -> RootHash {
        RootHash::from_bytes(*leaf_hash(b"root").as_bytes())
    }

    fn checkpoint(extensions: &[String]) -> Checkpoint {
        Checkpoint {
            origin: "log.example".into(),
            size: 1,
            root: root(),
            extensions: extensions.to_vec(),
        }
    }

    #[test]
    fn line_round_trips() {
        let line = format_extension_line(&root());
        assert_eq!(
            line,
            format!("gdpr-ledger/subject-index v1 {}", root().to_base64())
        );
        assert_eq!(parse_extension_line(&line), Ok(root()));
    }

    #[test]
    fn parsing_is_strict() {
        let b64 = root().to_base64();
        let cases = [
            (format!("gdpr-ledger/subject-index v2 {b64}"), "version"),
            ("gdpr-ledger/subject-index v2".to_owned(), "version"),
            ("gdpr-ledger/subject-index ".to_owned(), "malformed"),
            (format!("gdpr-ledger/subject-index  v1 {b64}"), "malformed"),
            (format!("gdpr-ledger/subject-index v1 {b64} "), "malformed"),
            (format!("gdpr-ledger/subject-index v1 {b64} x"), "malformed"),
            ("gdpr-ledger/subject-index".to_owned(), "malformed"),
            ("gdpr-ledger/subject-index v1".to_owned(), "malformed"),
            ("gdpr-ledger/subject-index v1 AAAA".to_owned(), "root"),
            (
                format!("gdpr-ledger/subject-index v1 {}", b64.trim_end_matches('=')),
                "root",
            ),
            (format!("gdpr-ledger/subject-indexes v1 {b64}"), "other"),
            (format!("other v1 {b64}"), "other"),
        ];
        for (line, expected) in cases {
            let kind = match parse_extension_line(&line) {
                Err(ExtensionLineError::UnsupportedVersion(_)) => "version",
                Err(ExtensionLineError::Malformed) => "malformed",
                Err(ExtensionLineError::Root(_)) => "root",
                Err(ExtensionLineError::NotSubjectIndex) => "other",
                other => panic!("{line:?}: {other:?}"),
            };
            assert_eq!(kind, expected, "{line:?}");
        }
    }

    #[test]
    fn found_among_other_extensions() {
        let line = format_extension_line(&root());
        assert_eq!(find_subject_index_root(&checkpoint(&[])), Ok(None));
        assert_eq!(
            find_subject_index_root(&checkpoint(&["witness-time 5".into()])),
            Ok(None)
        );
        assert_eq!(
            find_subject_index_root(&checkpoint(&["a".into(), line.clone(), "b".into()])),
            Ok(Some(root()))
        );
        assert_eq!(
            find_subject_index_root(&checkpoint(&[line.clone(), line])),
            Err(ExtensionLineError::Duplicate(2))
        );
        assert_eq!(
            find_subject_index_root(&checkpoint(&["gdpr-ledger/subject-index v9 x".into()])),
            Err(ExtensionLineError::UnsupportedVersion("v9".into()))
        );
    }
}
