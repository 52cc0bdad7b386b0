//! Subject tokens and the subject directory's row keys (SPEC.md section 6).
//!
//! The log never holds a subject's raw identifier. The server's directory maps
//! `BLAKE3-keyed(directory_secret, "<kind>:<normalized value>")` to the subject's pseudonym
//! ([`SubjectToken`]); deleting those rows is what makes an erased subject's entries anonymous.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Domain-separation prefix of a deterministic pseudonym (SPEC.md section 6).
pub const PSEUDONYM_CONTEXT: &[u8] = b"gdpr-ledger:subject:v1\n";
/// Length of secrets, row keys and subject tokens.
pub const KEY_LEN: usize = 32;
/// The longest identifier kind (`[a-z0-9_]{1,32}`, as `SubjectIdentifier.kind` documents).
pub const MAX_KIND_LEN: usize = 32;

macro_rules! secret_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Zeroized on drop; `Debug` does not print it.
        pub struct $name([u8; KEY_LEN]);

        impl $name {
            /// Wraps 32 secret bytes.
            pub const fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
                Self(bytes)
            }

            fn expose(&self) -> &[u8; KEY_LEN] {
                &self.0
            }

            /// A key for another purpose derived from this one
            /// (`BLAKE3-derive_key(context, secret)`), so that no secret serves two purposes.
            pub fn derive_key(&self, context: &str) -> zeroize::Zeroizing<[u8; KEY_LEN]> {
                zeroize::Zeroizing::new(blake3::derive_key(context, self.expose()))
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                self.0.zeroize();
            }
        }

        impl ZeroizeOnDrop for $name {}

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

secret_newtype!(
    /// The deployment's 32-byte key of the subject directory's row keys.
    DirectorySecret
);
secret_newtype!(
    /// The deployment's 32-byte key of deterministic pseudonyms, shared by replicas that must agree.
    PseudonymSecret
);

/// A data subject's 32-byte pseudonym, as `Entry.subject_token` carries it. Opaque to verifiers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubjectToken([u8; KEY_LEN]);

/// A subject token of the wrong length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a subject token is {KEY_LEN} bytes, got {0}")]
pub struct SubjectTokenLengthError(pub usize);

impl SubjectToken {
    /// Wraps 32 bytes (random ones, or a [`deterministic_pseudonym`]).
    pub const fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// Wraps a slice that must be exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, SubjectTokenLengthError> {
        bytes
            .try_into()
            .map(Self)
            .map_err(|_| SubjectTokenLengthError(bytes.len()))
    }

    /// The 32 raw bytes.
    pub const fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for SubjectToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubjectToken({})", self.to_hex())
    }
}

impl fmt::Display for SubjectToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// An identifier that cannot be normalized (SPEC.md section 6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    /// The kind is not 1 to 32 characters of `[a-z0-9_]`. A `:` in it would let two different
    /// (kind, value) pairs share a row key.
    #[error("identifier kind {0:?} is not 1 to 32 characters of [a-z0-9_]")]
    InvalidKind(String),
    /// Nothing is left once the value is normalized.
    #[error("the {kind} identifier is empty once normalized")]
    EmptyValue {
        /// The identifier's kind.
        kind: String,
    },
    /// A phone number without a single ASCII digit.
    #[error("the phone number holds no digit")]
    PhoneWithoutDigits,
    /// A control or other non-printing character inside the value (after trimming). A line feed
    /// could make one identifier read as two; an invisible character makes two look alike.
    #[error(
        "the {kind} identifier holds U+{code:04X}, a control or non-printing character, at character {position}"
    )]
    NonPrinting {
        /// The identifier's kind.
        kind: String,
        /// The character's code point.
        code: u32,
        /// Its position in the trimmed value, from 0.
        position: usize,
    },
}

/// Whether `c` is a control character (Unicode Cc), a format character (Cf: zero-width spaces
/// and joiners, bidirectional controls, the byte order mark, soft hyphen...), or a line or
/// paragraph separator (Zl, Zp): none prints, so none belongs in an identifier.
pub fn is_non_printing(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0001}'
                | '\u{E0020}'..='\u{E007F}'
        )
}

/// Normalizes an identifier to `<kind>:<normalized value>` (SPEC.md section 6): trim ASCII space,
/// tab, CR and LF at both ends; refuse a value that still holds a control or non-printing
/// character ([`is_non_printing`]); `email` is lower-cased (Unicode, as `str::to_lowercase`);
/// `phone` keeps a leading `+` and the ASCII digits, at least one; other kinds keep the trimmed
/// value.
pub fn normalize_identifier(kind: &str, value: &str) -> Result<String, IdentifierError> {
    let kind_is_valid = !kind.is_empty()
        && kind.len() <= MAX_KIND_LEN
        && kind
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'));
    if !kind_is_valid {
        return Err(IdentifierError::InvalidKind(kind.to_owned()));
    }
    let trimmed = value.trim_matches([' ', '\t', '\r', '\n']);
    if trimmed.is_empty() {
        return Err(IdentifierError::EmptyValue {
            kind: kind.to_owned(),
        });
    }
    if let Some((position, c)) = trimmed
        .chars()
        .enumerate()
        .find(|(_, c)| is_non_printing(*c))
    {
        return Err(IdentifierError::NonPrinting {
            kind: kind.to_owned(),
            code: u32::from(c),
            position,
        });
    }
    let normalized = match kind {
        "email" => trimmed.to_lowercase(),
        "phone" => {
            let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
            if digits.is_empty() {
                return Err(IdentifierError::PhoneWithoutDigits);
            }
            let plus = if trimmed.starts_with('+') { "+" } else { "" };
            format!("{plus}{digits}")
        }
        _ => trimmed.to_owned(),
    };
    Ok(format!("{kind}:{normalized}"))
}

/// The directory's row key of an identifier:
/// `BLAKE3-keyed(directory_secret, utf8("<kind>:<normalized value>"))` (SPEC.md section 6).
pub fn directory_row_key(
    secret: &DirectorySecret,
    kind: &str,
    value: &str,
) -> Result<[u8; KEY_LEN], IdentifierError> {
    let normalized = normalize_identifier(kind, value)?;
    Ok(row_key_of_normalized(secret, &normalized))
}

/// The directory's row key of an identifier already in its `<kind>:<normalized value>` form.
pub fn row_key_of_normalized(secret: &DirectorySecret, normalized: &str) -> [u8; KEY_LEN] {
    *blake3::keyed_hash(secret.expose(), normalized.as_bytes()).as_bytes()
}

/// The pseudonym replicas agree on for the subject whose first entry is at `first_index`:
/// `BLAKE3-keyed(pseudonym_secret, "gdpr-ledger:subject:v1\n" || u64_be(first_index))`.
pub fn deterministic_pseudonym(secret: &PseudonymSecret, first_index: u64) -> SubjectToken {
    let mut hasher = blake3::Hasher::new_keyed(secret.expose());
    hasher.update(PSEUDONYM_CONTEXT);
    hasher.update(&first_index.to_be_bytes());
    SubjectToken(*hasher.finalize().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_only_ascii_space_tab_cr_lf() {
        assert_eq!(
            normalize_identifier("customer_id", " \t\r\nC-1\n\r\t "),
            Ok("customer_id:C-1".into())
        );
        // No-break space is not trimmed (and prints).
        assert_eq!(
            normalize_identifier("customer_id", "C-1\u{a0}"),
            Ok("customer_id:C-1\u{a0}".into())
        );
        // Form feed is not trimmed either, and is refused: it does not print.
        assert!(matches!(
            normalize_identifier("customer_id", "\u{c}C-1"),
            Err(IdentifierError::NonPrinting {
                code: 0xC,
                position: 0,
                ..
            })
        ));
    }

    #[test]
    fn control_and_non_printing_characters_inside_a_value_are_refused() {
        // A line feed would make one sealed identifier read as two (issue 13).
        assert_eq!(
            normalize_identifier("customer_id", "C-1\nemail:victim@example.com"),
            Err(IdentifierError::NonPrinting {
                kind: "customer_id".into(),
                code: 0x0A,
                position: 3
            })
        );
        for value in [
            "a\u{0}b",
            "a\u{7f}b",
            "a\u{85}b",
            "jane\u{200B}@example.com",
            "\u{202E}moc.elpmaxe@enaj",
            "a\u{2028}b",
            "a\u{FEFF}b",
            "a\u{E0041}b",
        ] {
            for kind in ["email", "customer_id", "phone"] {
                assert!(
                    matches!(
                        normalize_identifier(kind, value),
                        Err(IdentifierError::NonPrinting { .. })
                    ),
                    "{kind} {value:?}"
                );
            }
        }
        // Printing characters of any script stay accepted.
        for value in ["Zoë@Example.com", "顧客-42", "a b", "مرحبا"] {
            assert!(
                normalize_identifier("customer_id", value).is_ok(),
                "{value:?}"
            );
        }
    }

    #[test]
    fn email_is_lower_cased_with_unicode_rules() {
        assert_eq!(
            normalize_identifier("email", " ÄBC@Example.COM "),
            Ok("email:äbc@example.com".into())
        );
    }

    #[test]
    fn phone_keeps_leading_plus_and_ascii_digits() {
        assert_eq!(
            normalize_identifier("phone", "+1 (555) 01-23"),
            Ok("phone:+15550123".into())
        );
        // A '+' elsewhere is dropped; non-ASCII digits are not digits here.
        assert_eq!(
            normalize_identifier("phone", "00+49 ٣"),
            Ok("phone:0049".into())
        );
        assert_eq!(
            normalize_identifier("phone", " + - "),
            Err(IdentifierError::PhoneWithoutDigits)
        );
    }

    #[test]
    fn empty_values_and_bad_kinds_are_errors() {
        for kind in ["email", "phone", "customer_id"] {
            assert_eq!(
                normalize_identifier(kind, " \t "),
                Err(IdentifierError::EmptyValue { kind: kind.into() })
            );
        }
        for kind in ["", "Email", "a:b", "e-mail", &"k".repeat(33)] {
            assert_eq!(
                normalize_identifier(kind, "x"),
                Err(IdentifierError::InvalidKind(kind.into()))
            );
        }
    }

    #[test]
    fn secrets_do_not_print() {
        let secret = DirectorySecret::from_bytes([0x42; KEY_LEN]);
        assert_eq!(format!("{secret:?}"), "DirectorySecret(<redacted>)");
    }

    #[test]
    fn pseudonyms_differ_by_index() {
        let secret = PseudonymSecret::from_bytes([9; KEY_LEN]);
        assert_ne!(
            deterministic_pseudonym(&secret, 1),
            deterministic_pseudonym(&secret, 2)
        );
    }
}
