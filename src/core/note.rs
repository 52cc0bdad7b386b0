//! C2SP `signed-note`: a text body followed by a blank line and signature lines (SPEC.md
//! section 5). Opening follows Go's `golang.org/x/mod/sumdb/note.Open`, made stricter where
//! SPEC.md says so: base64 must be canonical, signatures are checked with `verify_strict`, and
//! every signature line by a known key is checked (Go skips repeated ones).
//!
//! ```text
//! <body lines, each ending in \n>
//! \n
//! — <name> <base64(key_id || signature)>\n      (one or more)
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::core::signature::{
    KEY_ID_LEN, KeyId, KeyNameError, LogSigner, VerifierKey, validate_key_name,
};

/// What opens every signature line: U+2014 (em dash) and one space.
pub const SIGNATURE_LINE_PREFIX: &str = "\u{2014} ";
/// The most signature lines a note may carry; more is refused before any is checked (as Go does),
/// so a hostile note cannot make a verifier spend long.
pub const MAX_SIGNATURES: usize = 100;

/// Why a signature line is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureLineFault {
    /// The line does not start with U+2014 and one space.
    #[error("it does not start with an em dash (U+2014) and one space")]
    Prefix,
    /// No space separates the name from the signature.
    #[error("no space separates the key name from the signature")]
    NoSpace,
    /// More than one space follows the name.
    #[error("more than one space follows the key name")]
    ExtraSpace,
    /// The signature part is empty.
    #[error("the signature is empty")]
    EmptySignature,
    /// The signature decodes to fewer than 5 bytes (a key ID and at least one byte).
    #[error("the signature is shorter than a key ID and one byte")]
    ShortSignature,
}

/// A note that does not open (SPEC.md section 5). Each variant names the check that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The text is not valid UTF-8.
    #[error("the note is not valid UTF-8 (at byte {offset})")]
    NotUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// The text holds a control character other than `\n`.
    #[error("the note holds control character {character:?} at byte {offset}")]
    ControlCharacter {
        /// Byte offset of the character.
        offset: usize,
        /// The character.
        character: char,
    },
    /// The text does not end in `\n`.
    #[error("the note does not end in a newline")]
    MissingFinalNewline,
    /// There is no blank line separating the body from the signatures.
    #[error("the note has no blank line before a signature block")]
    MissingSignatureBlock,
    /// A line of the signature block has the wrong form.
    #[error("signature line {line} is malformed: {fault}")]
    MalformedSignatureLine {
        /// 1-based number of the line within the signature block.
        line: usize,
        /// What is wrong with it.
        fault: SignatureLineFault,
    },
    /// A signature line names an invalid key name.
    #[error("signature line {line} has an invalid key name: {fault}")]
    InvalidKeyName {
        /// 1-based number of the line within the signature block.
        line: usize,
        /// What is wrong with the name.
        fault: KeyNameError,
    },
    /// A signature is not canonical standard base64.
    #[error("signature line {line} is not canonical base64: {reason}")]
    SignatureBase64 {
        /// 1-based number of the line within the signature block.
        line: usize,
        /// The decoder's complaint.
        reason: String,
    },
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("the note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// A signature by a known key does not verify.
    #[error("the signature by known key {name}+{key_id} does not verify")]
    SignatureFailed {
        /// The key's name.
        name: String,
        /// The key's ID.
        key_id: KeyId,
    },
    /// No known key signed, but a key of a known name with an unknown key ID did: another key
    /// (a rotated one the verifier was not given, or a forger's).
    #[error("signed as {name} by key ID {key_id}, which is not among the known keys of that name")]
    UnknownKeyId {
        /// The known name.
        name: String,
        /// The unknown key ID.
        key_id: KeyId,
    },
    /// No signature is by a known key.
    #[error("no signature is by a known key")]
    NoKnownSignature,
}

impl NoteError {
    /// The failed check (docs/SPEC.md section 9).
    pub fn check(&self) -> crate::core::checks::Check {
        use crate::core::checks::Check;
        match self {
            Self::NotUtf8 { .. } => Check::NoteNotUtf8,
            Self::ControlCharacter { .. } => Check::NoteControlCharacter,
            Self::MissingFinalNewline | Self::MissingSignatureBlock => Check::NoteMalformed,
            Self::MalformedSignatureLine { .. }
            | Self::InvalidKeyName { .. }
            | Self::SignatureBase64 { .. } => Check::NoteSignatureLineMalformed,
            Self::TooManySignatures => Check::NoteTooManySignatures,
            Self::SignatureFailed { .. } => Check::NoteSignatureInvalid,
            // A key of a known name but an unknown ID is not a known key (SPEC.md section 5).
            Self::UnknownKeyId { .. } | Self::NoKnownSignature => Check::NoteNoKnownSignature,
        }
    }

    /// The failed check's stable code (docs/SPEC.md section 9).
    pub fn code(&self) -> &'static str {
        self.check().code()
    }
}

/// A signature line of a key the verifier does not know: kept for the record, never trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSignature {
    /// The key name on the line.
    pub name: String,
    /// The key ID on the line.
    pub key_id: KeyId,
}

/// A note whose signatures were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedNote {
    /// The body: every line before the blank line, each with its `\n`.
    pub body: String,
    /// The known keys whose signatures verified, each once, in the order they signed.
    pub verified_by: Vec<VerifierKey>,
    /// Signatures by keys not known, ignored.
    pub unknown: Vec<UnknownSignature>,
}

/// One parsed signature line.
struct SignatureLine<'a> {
    name: &'a str,
    key_id: KeyId,
    signature: Vec<u8>,
}

/// Opens a signed note against the `known` keys (several keys of one name: key rotation).
///
/// Succeeds when the text is well formed, every signature by a known key (same name and key ID)
/// verifies, and at least one does; signatures by unknown keys are ignored.
pub fn open_note(text: &[u8], known: &[VerifierKey]) -> Result<OpenedNote, NoteError> {
    let text = std::str::from_utf8(text).map_err(|e| NoteError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    if let Some((offset, character)) = text
        .char_indices()
        .find(|&(_, c)| c.is_control() && c != '\n')
    {
        return Err(NoteError::ControlCharacter { offset, character });
    }
    if !text.ends_with('\n') {
        return Err(NoteError::MissingFinalNewline);
    }
    let split = text.rfind("\n\n").ok_or(NoteError::MissingSignatureBlock)?;
    let (body, block) = (&text[..split + 1], &text[split + 2..]);
    if block.is_empty() {
        return Err(NoteError::MissingSignatureBlock);
    }
    let lines: Vec<&str> = block
        .strip_suffix('\n')
        .unwrap_or(block)
        .split('\n')
        .collect();
    if lines.len() > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures);
    }
    let parsed = lines
        .iter()
        .enumerate()
        .map(|(i, line)| parse_signature_line(i + 1, line))
        .collect::<Result<Vec<_>, _>>()?;

    let mut verified_by: Vec<VerifierKey> = Vec::new();
    let mut unknown = Vec::new();
    for line in parsed {
        match known
            .iter()
            .find(|k| k.name() == line.name && k.key_id() == line.key_id)
        {
            Some(key) => {
                key.verify(body.as_bytes(), &line.signature).map_err(|_| {
                    NoteError::SignatureFailed {
                        name: key.name().to_owned(),
                        key_id: key.key_id(),
                    }
                })?;
                if !verified_by.contains(key) {
                    verified_by.push(key.clone());
                }
            }
            None => unknown.push(UnknownSignature {
                name: line.name.to_owned(),
                key_id: line.key_id,
            }),
        }
    }
    if verified_by.is_empty() {
        let known_name = unknown
            .iter()
            .find(|u| known.iter().any(|k| k.name() == u.name));
        return Err(match known_name {
            Some(u) => NoteError::UnknownKeyId {
                name: u.name.clone(),
                key_id: u.key_id,
            },
            None => NoteError::NoKnownSignature,
        });
    }
    Ok(OpenedNote {
        body: body.to_owned(),
        verified_by,
        unknown,
    })
}

/// Parses `— <name> <base64(key_id || signature)>` (without its `\n`).
fn parse_signature_line(number: usize, line: &str) -> Result<SignatureLine<'_>, NoteError> {
    let malformed = |fault| NoteError::MalformedSignatureLine {
        line: number,
        fault,
    };
    let rest = line
        .strip_prefix(SIGNATURE_LINE_PREFIX)
        .ok_or(malformed(SignatureLineFault::Prefix))?;
    let (name, encoded) = rest
        .split_once(' ')
        .ok_or(malformed(SignatureLineFault::NoSpace))?;
    validate_key_name(name).map_err(|fault| NoteError::InvalidKeyName {
        line: number,
        fault,
    })?;
    if encoded.is_empty() {
        return Err(malformed(SignatureLineFault::EmptySignature));
    }
    if encoded.contains(' ') {
        return Err(malformed(SignatureLineFault::ExtraSpace));
    }
    let raw = STANDARD
        .decode(encoded)
        .map_err(|e| NoteError::SignatureBase64 {
            line: number,
            reason: e.to_string(),
        })?;
    if raw.len() <= KEY_ID_LEN {
        return Err(malformed(SignatureLineFault::ShortSignature));
    }
    let (id, signature) = raw.split_at(KEY_ID_LEN);
    let mut key_id = [0u8; KEY_ID_LEN];
    key_id.copy_from_slice(id);
    Ok(SignatureLine {
        name,
        key_id: KeyId::from_bytes(key_id),
        signature: signature.to_vec(),
    })
}

/// A body that cannot be signed as a note.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteSignError {
    /// The body is empty or does not end in `\n`.
    #[error("a note body is non-empty and ends in a newline")]
    BodyNotTerminated,
    /// The body holds a control character other than `\n`.
    #[error("the body holds control character {0:?}")]
    ControlCharacter(char),
    /// No signer was given.
    #[error("a note needs at least one signature")]
    NoSigners,
}

/// Signs `body` (complete lines, each ending in `\n`) with every signer, in order, and returns
/// the note text: the body, a blank line and one signature line per signer.
pub fn sign_note(body: &str, signers: &[&LogSigner]) -> Result<String, NoteSignError> {
    if !body.ends_with('\n') {
        return Err(NoteSignError::BodyNotTerminated);
    }
    if let Some(c) = body.chars().find(|&c| c.is_control() && c != '\n') {
        return Err(NoteSignError::ControlCharacter(c));
    }
    if signers.is_empty() {
        return Err(NoteSignError::NoSigners);
    }
    let mut note = String::with_capacity(body.len() + 1 + signers.len() * 128);
    note.push_str(body);
    note.push('\n');
    for signer in signers {
        let mut raw = Vec::with_capacity(KEY_ID_LEN + 64);
        raw.extend_from_slice(signer.key_id().as_bytes());
        raw.extend_from_slice(&signer.sign_note_body(body.as_bytes()));
        note.push_str(SIGNATURE_LINE_PREFIX);
        note.push_str(signer.origin());
        note.push(' ');
        note.push_str(&STANDARD.encode(raw));
        note.push('\n');
    }
    Ok(note)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(name: &str, seed: u8) -> LogSigner {
        LogSigner::from_seed(name, &[seed; 32]).unwrap()
    }

    #[test]
    fn signed_note_opens_with_its_key() {
        let log = signer("log.example", 1);
        let note = sign_note("hello\nworld\n", &[&log]).unwrap();
        let opened = open_note(note.as_bytes(), &[log.verifier_key()]).unwrap();
        assert_eq!(opened.body, "hello\nworld\n");
        assert_eq!(opened.verified_by, vec![log.verifier_key()]);
        assert!(opened.unknown.is_empty());
    }

    #[test]
    fn body_with_blank_lines_round_trips() {
        let log = signer("log.example", 1);
        for body in ["a\n\nb\n", "a\n\n", "\n"] {
            let note = sign_note(body, &[&log]).unwrap();
            let opened = open_note(note.as_bytes(), &[log.verifier_key()]).unwrap();
            assert_eq!(opened.body, body);
        }
    }

    #[test]
    fn rotation_any_known_key_suffices_and_unknown_ones_are_ignored() {
        let old = signer("log.example", 1);
        let new = signer("log.example", 2);
        let witness = signer("witness.example", 3);
        let note = sign_note("body\n", &[&new, &witness]).unwrap();
        let opened = open_note(note.as_bytes(), &[old.verifier_key(), new.verifier_key()]).unwrap();
        assert_eq!(opened.verified_by, vec![new.verifier_key()]);
        assert_eq!(
            opened.unknown,
            vec![UnknownSignature {
                name: "witness.example".into(),
                key_id: witness.key_id()
            }]
        );
        assert_eq!(
            open_note(note.as_bytes(), &[old.verifier_key()]),
            Err(NoteError::UnknownKeyId {
                name: "log.example".into(),
                key_id: new.key_id()
            })
        );
    }

    #[test]
    fn repeated_signature_by_a_known_key_is_checked_every_time() {
        let log = signer("log.example", 1);
        let note = sign_note("body\n", &[&log, &log]).unwrap();
        let opened = open_note(note.as_bytes(), &[log.verifier_key()]).unwrap();
        assert_eq!(opened.verified_by.len(), 1);
        // Corrupt only the second line's signature: Go would skip it as a repeat; we reject.
        // Byte 30 from the end lies inside the second signature's base64, away from its padding.
        let mut bytes = note.into_bytes();
        let at = bytes.len() - 30;
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert!(matches!(
            open_note(tampered.as_bytes(), &[log.verifier_key()]),
            Err(NoteError::SignatureFailed { .. })
        ));
    }

    #[test]
    fn too_many_signatures_are_refused() {
        let log = signer("log.example", 1);
        let signers: Vec<&LogSigner> = std::iter::repeat_n(&log, MAX_SIGNATURES + 1).collect();
        let note = sign_note("body\n", &signers).unwrap();
        assert_eq!(
            open_note(note.as_bytes(), &[log.verifier_key()]),
            Err(NoteError::TooManySignatures)
        );
    }

    #[test]
    fn framing_errors_are_named() {
        let keys = [signer("log.example", 1).verifier_key()];
        assert_eq!(
            open_note(b"body\n\xff\n\n", &keys),
            Err(NoteError::NotUtf8 { offset: 5 })
        );
        assert_eq!(
            open_note(b"body\n\n", &keys),
            Err(NoteError::MissingSignatureBlock)
        );
        assert_eq!(
            open_note(b"body\n", &keys),
            Err(NoteError::MissingSignatureBlock)
        );
        assert_eq!(
            open_note("body\n\n\u{2014} log.example\n".as_bytes(), &keys),
            Err(NoteError::MalformedSignatureLine {
                line: 1,
                fault: SignatureLineFault::NoSpace
            })
        );
        assert_eq!(
            open_note("body\n\n\u{2014} log.example  AAAAAAA=\n".as_bytes(), &keys),
            Err(NoteError::MalformedSignatureLine {
                line: 1,
                fault: SignatureLineFault::ExtraSpace
            })
        );
        assert_eq!(
            open_note("body\n\n\u{2014} log.example AAAA\n".as_bytes(), &keys),
            Err(NoteError::MalformedSignatureLine {
                line: 1,
                fault: SignatureLineFault::ShortSignature
            })
        );
        assert_eq!(
            open_note("body\n\n\u{2014} log+example AAAAAAA=\n".as_bytes(), &keys),
            Err(NoteError::InvalidKeyName {
                line: 1,
                fault: KeyNameError::Plus
            })
        );
    }

    #[test]
    fn sign_refuses_bodies_that_would_not_open() {
        let log = signer("log.example", 1);
        assert_eq!(
            sign_note("no newline", &[&log]),
            Err(NoteSignError::BodyNotTerminated)
        );
        assert_eq!(
            sign_note("", &[&log]),
            Err(NoteSignError::BodyNotTerminated)
        );
        assert_eq!(
            sign_note("a\tb\n", &[&log]),
            Err(NoteSignError::ControlCharacter('\t'))
        );
        assert_eq!(sign_note("a\n", &[]), Err(NoteSignError::NoSigners));
    }
}
