//! Checkpoints: C2SP `tlog-checkpoint` bodies signed as C2SP `signed-note`s (SPEC.md section 5).
//!
//! ```text
//! <origin>\n
//! <tree size, decimal>\n
//! <root hash, base64>\n
//! [extension lines, each non-empty and ending in \n]
//! ```
//!
//! Unknown extension lines are kept and never rejected: section 8 adds one, later versions may
//! add more.

use crate::core::hash::{HashDecodeError, RootHash};
use crate::core::note::{NoteError, NoteSignError, UnknownSignature, open_note, sign_note};
use crate::core::signature::{KeyNameError, LogSigner, VerifierKey, validate_key_name};

/// A checkpoint that cannot be parsed, signed or opened. Each variant names the check that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The signed note does not open (framing or signatures).
    #[error("the checkpoint's note does not open: {0}")]
    Note(#[from] NoteError),
    /// The body does not end in `\n`.
    #[error("the checkpoint body does not end in a newline")]
    BodyNotTerminated,
    /// The body lacks one of its three fixed lines.
    #[error("the checkpoint body has no {0} line")]
    MissingLine(&'static str),
    /// The origin line is not a valid key name (SPEC.md section 1).
    #[error("the origin line is not a valid name: {0}")]
    InvalidOrigin(KeyNameError),
    /// The tree size is not a decimal number.
    #[error("the tree size {0:?} is not a decimal number")]
    SizeNotDecimal(String),
    /// The tree size has a leading zero.
    #[error("the tree size {0:?} has a leading zero")]
    SizeLeadingZero(String),
    /// The tree size does not fit in 64 bits.
    #[error("the tree size {0:?} does not fit in 64 bits")]
    SizeOverflow(String),
    /// The root hash is not canonical base64 of exactly 32 bytes.
    #[error("the root hash is invalid: {0}")]
    Root(HashDecodeError),
    /// An extension line is empty.
    #[error("extension line {0} is empty")]
    EmptyExtensionLine(usize),
    /// An extension line holds a newline or another control character.
    #[error("extension line {0} holds a control character")]
    ExtensionControlCharacter(usize),
    /// No key that verified the note is named as the origin line says.
    #[error("the origin line {origin:?} is not the name of a key that signed: {signed_by:?}")]
    OriginMismatch {
        /// The origin line.
        origin: String,
        /// The names of the known keys whose signatures verified.
        signed_by: Vec<String>,
    },
    /// Signing a checkpoint of another origin than the signer's.
    #[error("the checkpoint's origin {origin:?} is not the signer's {signer:?}")]
    SignerOrigin {
        /// The checkpoint's origin.
        origin: String,
        /// The signer's origin.
        signer: String,
    },
    /// The note could not be framed.
    #[error("the checkpoint could not be signed: {0}")]
    Sign(#[from] NoteSignError),
}

impl CheckpointError {
    /// The failed check (docs/SPEC.md section 9).
    pub fn check(&self) -> crate::core::checks::Check {
        use crate::core::checks::Check;
        match self {
            Self::Note(e) => e.check(),
            Self::BodyNotTerminated | Self::MissingLine(_) | Self::InvalidOrigin(_) => {
                Check::CheckpointMalformed
            }
            Self::SizeNotDecimal(_) | Self::SizeLeadingZero(_) | Self::SizeOverflow(_) => {
                Check::CheckpointSizeInvalid
            }
            Self::Root(_) => Check::CheckpointRootInvalid,
            Self::EmptyExtensionLine(_) => Check::CheckpointExtensionEmpty,
            // The note's own check refuses control characters before the body is read.
            Self::ExtensionControlCharacter(_) => Check::NoteControlCharacter,
            Self::OriginMismatch { .. } => Check::CheckpointOriginMismatch,
            Self::SignerOrigin { .. } | Self::Sign(_) => Check::CheckpointNotSignable,
        }
    }

    /// The failed check's stable code (docs/SPEC.md section 9).
    pub fn code(&self) -> &'static str {
        self.check().code()
    }
}

/// A tree head: the tree of `size` leaves of log `origin` has root `root` (SPEC.md section 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin (SPEC.md section 1).
    pub origin: String,
    /// The number of entries in the tree.
    pub size: u64,
    /// The tree's root hash.
    pub root: RootHash,
    /// Extension lines, in order, without their `\n`.
    pub extensions: Vec<String>,
}

/// A checkpoint whose note opened with known keys and whose origin is the name of a signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The log's keys (named as the origin) whose signatures verified.
    pub log_keys: Vec<VerifierKey>,
    /// Other known keys whose signatures verified (cosigners).
    pub cosigners: Vec<VerifierKey>,
    /// Signatures by keys not given to the verifier, ignored.
    pub unknown: Vec<UnknownSignature>,
}

impl Checkpoint {
    /// The body text: origin, size, root and extension lines, each ending in `\n`. It does not
    /// validate; [`Checkpoint::sign`] does.
    pub fn to_body(&self) -> String {
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for line in &self.extensions {
            body.push_str(line);
            body.push('\n');
        }
        body
    }

    /// Parses a body (SPEC.md section 5): the origin, the size in canonical decimal, the root
    /// (exactly 32 bytes), then non-empty extension lines.
    pub fn parse_body(body: &str) -> Result<Self, CheckpointError> {
        let lines = body
            .strip_suffix('\n')
            .ok_or(CheckpointError::BodyNotTerminated)?;
        let mut lines = lines.split('\n');
        let origin = lines.next().ok_or(CheckpointError::MissingLine("origin"))?;
        validate_key_name(origin).map_err(CheckpointError::InvalidOrigin)?;
        let size = parse_size(
            lines
                .next()
                .ok_or(CheckpointError::MissingLine("tree size"))?,
        )?;
        let root = lines
            .next()
            .ok_or(CheckpointError::MissingLine("root hash"))?;
        let root = RootHash::from_base64(root).map_err(CheckpointError::Root)?;
        let extensions = lines.map(str::to_owned).collect::<Vec<_>>();
        validate_extensions(&extensions)?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// Signs the checkpoint with the log key and returns the note text. The signer's origin must
    /// be the checkpoint's, and every line must be one a verifier accepts.
    pub fn sign(&self, signer: &LogSigner) -> Result<String, CheckpointError> {
        self.sign_by(&[signer])
    }

    /// Signs the checkpoint with several keys of its origin, one signature line each, in the
    /// order given: during a key rotation the old and the new log key both sign, so that a
    /// verifier that knows either key accepts it (SPEC.md section 5 allows several lines).
    pub fn sign_by(&self, signers: &[&LogSigner]) -> Result<String, CheckpointError> {
        validate_key_name(&self.origin).map_err(CheckpointError::InvalidOrigin)?;
        validate_extensions(&self.extensions)?;
        if let Some(signer) = signers.iter().find(|s| s.origin() != self.origin) {
            return Err(CheckpointError::SignerOrigin {
                origin: self.origin.clone(),
                signer: signer.origin().to_owned(),
            });
        }
        Ok(sign_note(&self.to_body(), signers)?)
    }

    /// Opens a signed checkpoint against the `known` keys (several keys of the origin for key
    /// rotation, and possibly witnesses' keys): the note must open (SPEC.md section 5), the body
    /// must parse, and the origin line must be the name of a key that verified.
    pub fn open(
        note: impl AsRef<[u8]>,
        known: &[VerifierKey],
    ) -> Result<VerifiedCheckpoint, CheckpointError> {
        let opened = open_note(note.as_ref(), known)?;
        let checkpoint = Self::parse_body(&opened.body)?;
        let (log_keys, cosigners): (Vec<_>, Vec<_>) = opened
            .verified_by
            .into_iter()
            .partition(|k| k.name() == checkpoint.origin);
        if log_keys.is_empty() {
            return Err(CheckpointError::OriginMismatch {
                origin: checkpoint.origin,
                signed_by: cosigners.iter().map(|k| k.name().to_owned()).collect(),
            });
        }
        Ok(VerifiedCheckpoint {
            checkpoint,
            log_keys,
            cosigners,
            unknown: opened.unknown,
        })
    }
}

/// Parses a decimal tree size with no sign and no leading zero.
fn parse_size(text: &str) -> Result<u64, CheckpointError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CheckpointError::SizeNotDecimal(text.to_owned()));
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(CheckpointError::SizeLeadingZero(text.to_owned()));
    }
    text.parse()
        .map_err(|_| CheckpointError::SizeOverflow(text.to_owned()))
}

/// Every extension line is non-empty and holds no control character (a `\n` would split it).
fn validate_extensions(extensions: &[String]) -> Result<(), CheckpointError> {
    for (i, line) in extensions.iter().enumerate() {
        if line.is_empty() {
            return Err(CheckpointError::EmptyExtensionLine(i + 1));
        }
        if line.chars().any(char::is_control) {
            return Err(CheckpointError::ExtensionControlCharacter(i + 1));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::hash::leaf_hash;

    fn checkpoint(extensions: &[&str]) -> Checkpoint {
        Checkpoint {
            origin: "log.example".into(),
            size: 3,
            root: RootHash::from_bytes(*leaf_hash(b"x").as_bytes()),
            extensions: extensions.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn a_checkpoint_signed_by_the_old_and_the_new_key_opens_with_either() {
        let old = LogSigner::from_seed("log.example", &[1; 32]).unwrap();
        let new = LogSigner::from_seed("log.example", &[2; 32]).unwrap();
        let cp = checkpoint(&[]);
        let note = cp.sign_by(&[&old, &new]).unwrap();
        assert_eq!(note.matches("\u{2014} log.example ").count(), 2, "{note}");
        for keys in [
            vec![old.verifier_key()],
            vec![new.verifier_key()],
            vec![old.verifier_key(), new.verifier_key()],
        ] {
            let verified = Checkpoint::open(&note, &keys).unwrap();
            assert_eq!(verified.checkpoint, cp);
            assert_eq!(verified.log_keys, keys);
        }
        let stranger = LogSigner::from_seed("other.example", &[3; 32]).unwrap();
        assert!(matches!(
            cp.sign_by(&[&old, &stranger]),
            Err(CheckpointError::SignerOrigin { .. })
        ));
        assert!(cp.sign_by(&[]).is_err());
    }

    #[test]
    fn sign_then_open_round_trips_with_extensions() {
        let signer = LogSigner::from_seed("log.example", &[1; 32]).unwrap();
        let cp = checkpoint(&["future-extension 1 2", "another"]);
        let note = cp.sign(&signer).unwrap();
        let verified = Checkpoint::open(&note, &[signer.verifier_key()]).unwrap();
        assert_eq!(verified.checkpoint, cp);
        assert_eq!(verified.log_keys, vec![signer.verifier_key()]);
    }

    #[test]
    fn sign_refuses_what_open_would_reject() {
        let signer = LogSigner::from_seed("log.example", &[1; 32]).unwrap();
        assert_eq!(
            checkpoint(&[""]).sign(&signer),
            Err(CheckpointError::EmptyExtensionLine(1))
        );
        assert_eq!(
            checkpoint(&["a", "b\nc"]).sign(&signer),
            Err(CheckpointError::ExtensionControlCharacter(2))
        );
        let other = LogSigner::from_seed("other.example", &[1; 32]).unwrap();
        assert!(matches!(
            checkpoint(&[]).sign(&other),
            Err(CheckpointError::SignerOrigin { .. })
        ));
    }

    #[test]
    fn size_is_canonical_decimal() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
        assert!(matches!(
            parse_size("18446744073709551616"),
            Err(CheckpointError::SizeOverflow(_))
        ));
        assert!(matches!(
            parse_size("00"),
            Err(CheckpointError::SizeLeadingZero(_))
        ));
        for bad in ["", "+1", "-1", "1 ", "0x10", "１"] {
            assert!(
                matches!(parse_size(bad), Err(CheckpointError::SizeNotDecimal(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn body_needs_three_lines() {
        assert_eq!(
            Checkpoint::parse_body("log.example\n3\n"),
            Err(CheckpointError::MissingLine("root hash"))
        );
        assert_eq!(
            Checkpoint::parse_body("log.example\n"),
            Err(CheckpointError::MissingLine("tree size"))
        );
        assert_eq!(
            Checkpoint::parse_body("log.example"),
            Err(CheckpointError::BodyNotTerminated)
        );
        assert_eq!(
            Checkpoint::parse_body("\n"),
            Err(CheckpointError::InvalidOrigin(KeyNameError::Empty))
        );
    }
}
