//! The stable codes of the checks a verifier makes (docs/SPEC.md section 9 and
//! docs/subject-index.md section 11, the normative tables).
//!
//! Every verification error of the core names the check that failed with one [`Check`]; its
//! [`Check::code`] is the text both verifiers (this crate and the independent one in `web/`)
//! report, so that two verdicts on one input can be compared code for code. The table below is
//! the only place a code is spelled in the crate.

use std::fmt;

/// One check of the normative tables. The variants follow the tables' order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Check {
    /// The bundle text is not JSON.
    JsonSyntax,
    /// A JSON object holds a key twice.
    JsonDuplicateKey,
    /// A verifier key is not `<name>+<8 hex>+<base64 of 33 bytes>`.
    VerifierKeyMalformed,
    /// A verifier key's algorithm byte is not Ed25519's.
    VerifierKeyAlgorithm,
    /// A verifier key's ID is not the one its name and key give.
    VerifierKeyIdMismatch,
    /// A verifier key is not a canonical point encoding, or has small order.
    VerifierKeyWeak,
    /// A note is not UTF-8.
    NoteNotUtf8,
    /// A note holds a control character other than `\n`.
    NoteControlCharacter,
    /// A note's framing is wrong (final newline, blank line before the signatures).
    NoteMalformed,
    /// A signature line has the wrong form.
    NoteSignatureLineMalformed,
    /// A note carries more signature lines than a verifier reads.
    NoteTooManySignatures,
    /// A signature by a known key does not verify (strict Ed25519).
    NoteSignatureInvalid,
    /// No signature is by a known key.
    NoteNoKnownSignature,
    /// The checkpoint body lacks a line, or its origin is not a valid name.
    CheckpointMalformed,
    /// The tree size is not canonical decimal or does not fit 64 bits.
    CheckpointSizeInvalid,
    /// The root is not strict base64 of 32 bytes.
    CheckpointRootInvalid,
    /// An extension line is empty.
    CheckpointExtensionEmpty,
    /// The origin line is not the name of a key whose signature verified.
    CheckpointOriginMismatch,
    /// Signing only (never a verification verdict): the body cannot be signed by that signer.
    CheckpointNotSignable,
    /// More than one subject-index extension line.
    SubjectIndexLineDuplicate,
    /// A subject-index line is not three fields separated by single spaces.
    SubjectIndexLineMalformed,
    /// A subject-index line of a version other than `v1`.
    SubjectIndexLineUnsupportedVersion,
    /// A subject-index line whose root is not strict base64 of 32 bytes.
    SubjectIndexLineRoot,
    /// A SPEC 7 bundle's JSON shape is wrong (field missing, unknown, of the wrong type, bad
    /// base64 or length).
    BundleMalformed,
    /// The entry bytes are not a protobuf `Entry`.
    EntryMalformed,
    /// (optional refinement) The entry bytes are not in the canonical encoding.
    EntryNotCanonical,
    /// (optional refinement) A field the envelope always has is missing.
    EntryFieldMissing,
    /// (optional refinement) A field has an impossible value.
    EntryFieldInvalid,
    /// The entry's key ID names no known key of the origin (or the origin has none).
    EntryKeyUnknown,
    /// The entry signature does not verify.
    EntrySignatureInvalid,
    /// The index inside the entry bytes is not the bundle's.
    EntryIndexMismatch,
    /// `prev_hash` is not the predecessor's leaf hash (or entry 0's is not zero).
    EntryChainMismatch,
    /// Inclusion: the index is not below the tree size.
    InclusionIndexOutOfRange,
    /// Inclusion: the path has the wrong length.
    InclusionProofLength,
    /// Inclusion: the path does not lead to the root.
    InclusionProofMismatch,
    /// Consistency: the first size is above the second.
    ConsistencyOrder,
    /// Consistency: a proof where the sizes call for none.
    ConsistencyProofNotEmpty,
    /// Consistency: the proof has the wrong length.
    ConsistencyProofLength,
    /// Consistency: the proof does not lead to both roots (or equal sizes, different roots).
    ConsistencyProofMismatch,
    /// The earlier checkpoint is of another origin.
    ConsistencyOriginMismatch,
    /// A subject-index proof does not decode.
    SubjectProofDecode,
    /// A subject-index proof has more than 256 siblings.
    SubjectProofTooManySiblings,
    /// A leaf of another token is not on the token's path.
    SubjectProofLeafOffPath,
    /// The proof does not fold to the subject-index root.
    SubjectProofRootMismatch,
    /// A lifecycle bundle's JSON shape is wrong.
    LifecycleMalformed,
    /// The checkpoint carries no subject-index line.
    LifecycleNoSubjectIndex,
    /// A token proved absent comes with entries.
    LifecycleAbsentWithEntries,
    /// A proved head has count 0.
    LifecycleHeadInvalid,
    /// An entry of the chain is missing.
    LifecycleMissingEntry,
    /// A chain entry carries another token.
    LifecycleOtherSubject,
    /// A chain entry's `subject_seq` is not its place.
    LifecycleSeqMismatch,
    /// The latest entry is not the head's.
    LifecycleNotHead,
    /// More entries than the head's count.
    LifecycleEntriesAdded,
    /// The chain's entries are not oldest first.
    LifecycleOutOfOrder,
}

impl Check {
    /// Every check, in the tables' order.
    pub const ALL: &'static [Check] = &[
        Check::JsonSyntax,
        Check::JsonDuplicateKey,
        Check::VerifierKeyMalformed,
        Check::VerifierKeyAlgorithm,
        Check::VerifierKeyIdMismatch,
        Check::VerifierKeyWeak,
        Check::NoteNotUtf8,
        Check::NoteControlCharacter,
        Check::NoteMalformed,
        Check::NoteSignatureLineMalformed,
        Check::NoteTooManySignatures,
        Check::NoteSignatureInvalid,
        Check::NoteNoKnownSignature,
        Check::CheckpointMalformed,
        Check::CheckpointSizeInvalid,
        Check::CheckpointRootInvalid,
        Check::CheckpointExtensionEmpty,
        Check::CheckpointOriginMismatch,
        Check::CheckpointNotSignable,
        Check::SubjectIndexLineDuplicate,
        Check::SubjectIndexLineMalformed,
        Check::SubjectIndexLineUnsupportedVersion,
        Check::SubjectIndexLineRoot,
        Check::BundleMalformed,
        Check::EntryMalformed,
        Check::EntryNotCanonical,
        Check::EntryFieldMissing,
        Check::EntryFieldInvalid,
        Check::EntryKeyUnknown,
        Check::EntrySignatureInvalid,
        Check::EntryIndexMismatch,
        Check::EntryChainMismatch,
        Check::InclusionIndexOutOfRange,
        Check::InclusionProofLength,
        Check::InclusionProofMismatch,
        Check::ConsistencyOrder,
        Check::ConsistencyProofNotEmpty,
        Check::ConsistencyProofLength,
        Check::ConsistencyProofMismatch,
        Check::ConsistencyOriginMismatch,
        Check::SubjectProofDecode,
        Check::SubjectProofTooManySiblings,
        Check::SubjectProofLeafOffPath,
        Check::SubjectProofRootMismatch,
        Check::LifecycleMalformed,
        Check::LifecycleNoSubjectIndex,
        Check::LifecycleAbsentWithEntries,
        Check::LifecycleHeadInvalid,
        Check::LifecycleMissingEntry,
        Check::LifecycleOtherSubject,
        Check::LifecycleSeqMismatch,
        Check::LifecycleNotHead,
        Check::LifecycleEntriesAdded,
        Check::LifecycleOutOfOrder,
    ];

    /// The check's stable code, as the normative tables spell it.
    pub const fn code(self) -> &'static str {
        match self {
            Check::JsonSyntax => "json-syntax",
            Check::JsonDuplicateKey => "json-duplicate-key",
            Check::VerifierKeyMalformed => "verifier-key-malformed",
            Check::VerifierKeyAlgorithm => "verifier-key-algorithm",
            Check::VerifierKeyIdMismatch => "verifier-key-id-mismatch",
            Check::VerifierKeyWeak => "verifier-key-weak",
            Check::NoteNotUtf8 => "note-not-utf8",
            Check::NoteControlCharacter => "note-control-character",
            Check::NoteMalformed => "note-malformed",
            Check::NoteSignatureLineMalformed => "note-signature-line-malformed",
            Check::NoteTooManySignatures => "note-too-many-signatures",
            Check::NoteSignatureInvalid => "note-signature-invalid",
            Check::NoteNoKnownSignature => "note-no-known-signature",
            Check::CheckpointMalformed => "checkpoint-malformed",
            Check::CheckpointSizeInvalid => "checkpoint-size-invalid",
            Check::CheckpointRootInvalid => "checkpoint-root-invalid",
            Check::CheckpointExtensionEmpty => "checkpoint-extension-empty",
            Check::CheckpointOriginMismatch => "checkpoint-origin-mismatch",
            Check::CheckpointNotSignable => "checkpoint-not-signable",
            Check::SubjectIndexLineDuplicate => "subject-index-line-duplicate",
            Check::SubjectIndexLineMalformed => "subject-index-line-malformed",
            Check::SubjectIndexLineUnsupportedVersion => "subject-index-line-unsupported-version",
            Check::SubjectIndexLineRoot => "subject-index-line-root",
            Check::BundleMalformed => "bundle-malformed",
            Check::EntryMalformed => "entry-malformed",
            Check::EntryNotCanonical => "entry-not-canonical",
            Check::EntryFieldMissing => "entry-field-missing",
            Check::EntryFieldInvalid => "entry-field-invalid",
            Check::EntryKeyUnknown => "entry-key-unknown",
            Check::EntrySignatureInvalid => "entry-signature-invalid",
            Check::EntryIndexMismatch => "entry-index-mismatch",
            Check::EntryChainMismatch => "entry-chain-mismatch",
            Check::InclusionIndexOutOfRange => "inclusion-index-out-of-range",
            Check::InclusionProofLength => "inclusion-proof-length",
            Check::InclusionProofMismatch => "inclusion-proof-mismatch",
            Check::ConsistencyOrder => "consistency-order",
            Check::ConsistencyProofNotEmpty => "consistency-proof-not-empty",
            Check::ConsistencyProofLength => "consistency-proof-length",
            Check::ConsistencyProofMismatch => "consistency-proof-mismatch",
            Check::ConsistencyOriginMismatch => "consistency-origin-mismatch",
            Check::SubjectProofDecode => "subject-proof-decode",
            Check::SubjectProofTooManySiblings => "subject-proof-too-many-siblings",
            Check::SubjectProofLeafOffPath => "subject-proof-leaf-off-path",
            Check::SubjectProofRootMismatch => "subject-proof-root-mismatch",
            Check::LifecycleMalformed => "lifecycle-malformed",
            Check::LifecycleNoSubjectIndex => "lifecycle-no-subject-index",
            Check::LifecycleAbsentWithEntries => "lifecycle-absent-with-entries",
            Check::LifecycleHeadInvalid => "lifecycle-head-invalid",
            Check::LifecycleMissingEntry => "lifecycle-missing-entry",
            Check::LifecycleOtherSubject => "lifecycle-other-subject",
            Check::LifecycleSeqMismatch => "lifecycle-seq-mismatch",
            Check::LifecycleNotHead => "lifecycle-not-head",
            Check::LifecycleEntriesAdded => "lifecycle-entries-added",
            Check::LifecycleOutOfOrder => "lifecycle-out-of-order",
        }
    }

    /// The check whose code is `code`.
    pub fn from_code(code: &str) -> Option<Check> {
        Check::ALL
            .iter()
            .copied()
            .find(|check| check.code() == code)
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The JSON reader's complaint as a check: syntax (or a truncated text), a key twice, else the
/// bundle's shape (`shape`: [`Check::BundleMalformed`] or [`Check::LifecycleMalformed`]).
pub(crate) fn json_check(error: &serde_json::Error, shape: Check) -> Check {
    use serde_json::error::Category;
    match error.classify() {
        Category::Syntax | Category::Eof => Check::JsonSyntax,
        // serde's derived structs report a key seen twice as `duplicate field `name``.
        Category::Data if error.to_string().starts_with("duplicate field") => {
            Check::JsonDuplicateKey
        }
        _ => shape,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = include_str!("../../docs/SPEC.md");
    const SUBJECT_INDEX: &str = include_str!("../../docs/subject-index.md");

    /// A code is "in the table" when a row of a Markdown table starts with it in backquotes.
    fn in_a_table(code: &str) -> bool {
        let row = format!("| `{code}` |");
        SPEC.lines()
            .chain(SUBJECT_INDEX.lines())
            .any(|line| line.starts_with(&row))
    }

    #[test]
    fn every_code_is_a_row_of_the_normative_tables() {
        let missing: Vec<&str> = Check::ALL
            .iter()
            .map(|c| c.code())
            .filter(|code| !in_a_table(code))
            .collect();
        assert!(
            missing.is_empty(),
            "codes without a row in docs/SPEC.md or docs/subject-index.md: {missing:?}"
        );
    }

    #[test]
    fn every_row_of_the_normative_tables_is_a_code() {
        let mut unknown = Vec::new();
        for line in SPEC.lines().chain(SUBJECT_INDEX.lines()) {
            let Some(rest) = line.strip_prefix("| `") else {
                continue;
            };
            let Some((code, _)) = rest.split_once("` |") else {
                continue;
            };
            if code.contains(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
            {
                continue;
            }
            if Check::from_code(code).is_none() {
                unknown.push(code.to_owned());
            }
        }
        assert!(
            unknown.is_empty(),
            "table rows naming no check: {unknown:?}"
        );
    }

    #[test]
    fn codes_are_distinct_and_round_trip() {
        for check in Check::ALL {
            assert_eq!(Check::from_code(check.code()), Some(*check));
        }
        let mut codes: Vec<&str> = Check::ALL.iter().map(|c| c.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Check::ALL.len());
    }

    #[test]
    fn json_errors_are_told_apart() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Shape {
            a: u64,
        }
        let check = |text: &str| {
            serde_json::from_str::<Shape>(text)
                .map(|_| ())
                .map_err(|e| json_check(&e, Check::BundleMalformed))
        };
        assert_eq!(check(r#"{"a": 1"#), Err(Check::JsonSyntax));
        assert_eq!(check(r#"{"a": 1,}"#), Err(Check::JsonSyntax));
        assert_eq!(check(r#"{"a": 1, "a": 2}"#), Err(Check::JsonDuplicateKey));
        assert_eq!(check(r#"{"a": 1, "b": 2}"#), Err(Check::BundleMalformed));
        assert_eq!(check(r#"{"a": "1"}"#), Err(Check::BundleMalformed));
        assert_eq!(check(r#"{"a": 1}"#), Ok(()));
    }
}
