//! The log's Ed25519 key (RFC 8032): entry signatures (SPEC.md section 4), verifier keys and key
//! IDs (SPEC.md section 5, as in Go's sumdb `note` package and C2SP `signed-note`).
//!
//! [`LogSigner`] holds the private key and the origin it signs for; [`VerifierKey`] is what an
//! auditor holds: the origin as the key's name, the 4-byte [`KeyId`] and the public key. Every
//! verification uses ed25519-dalek's `verify_strict`, which rejects non-canonical signatures and
//! small-order keys, so one message has one valid signature encoding per key.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::signature::Ed25519KeyPair;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

use crate::core::hash::{HASH_LEN, LeafHash};

/// Domain-separation prefix of an entry signature (SPEC.md section 4).
pub const ENTRY_SIGNATURE_CONTEXT: &[u8] = b"gdpr-ledger:entry:v1\n";
/// The algorithm byte of an Ed25519 key in a key ID and a verifier key (C2SP signed-note).
pub const ED25519_ALGORITHM: u8 = 0x01;
/// Length of a key ID: the first 4 bytes of a SHA-256 (SPEC.md section 5).
pub const KEY_ID_LEN: usize = 4;
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Length of an Ed25519 seed (the private key as RFC 8032 defines it).
pub const SEED_LEN: usize = 32;

/// A key name (the origin) that SPEC.md section 1 does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyNameError {
    /// The name is empty.
    #[error("the name is empty")]
    Empty,
    /// The name holds white space (Unicode `White_Space`, as Go's `unicode.IsSpace`).
    #[error("the name holds white space")]
    WhiteSpace,
    /// The name holds a `+`, which separates the parts of a verifier key.
    #[error("the name holds a '+'")]
    Plus,
    /// The name holds a control character, which no note may carry (SPEC.md section 5).
    #[error("the name holds a control character")]
    ControlCharacter,
}

/// Checks a key name (a log's origin): non-empty, no white space, no `+` (SPEC.md section 1), and
/// no control character (it could never appear in a note).
pub fn validate_key_name(name: &str) -> Result<(), KeyNameError> {
    if name.is_empty() {
        return Err(KeyNameError::Empty);
    }
    for c in name.chars() {
        if c.is_whitespace() {
            return Err(KeyNameError::WhiteSpace);
        }
        if c == '+' {
            return Err(KeyNameError::Plus);
        }
        if c.is_control() {
            return Err(KeyNameError::ControlCharacter);
        }
    }
    Ok(())
}

/// The ID of a key: the first 4 bytes of `SHA-256(name || "\n" || 0x01 || public_key)`
/// (SPEC.md section 5). It appears in hex in verifier keys and bundles, and raw in note signatures.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; KEY_ID_LEN]);

/// A key ID that is not 8 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a key ID is 8 lowercase hex digits, got {0:?}")]
pub struct KeyIdFormatError(pub String);

impl KeyId {
    /// Computes the key ID of an Ed25519 public key under `name`.
    pub fn compute(name: &str, key: &VerifyingKey) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(name.as_bytes());
        hasher.update(b"\n");
        hasher.update([ED25519_ALGORITHM]);
        hasher.update(key.as_bytes());
        let digest = hasher.finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        Self(id)
    }

    /// Wraps 4 raw bytes (as they open a note signature).
    pub const fn from_bytes(bytes: [u8; KEY_ID_LEN]) -> Self {
        Self(bytes)
    }

    /// The 4 raw bytes.
    pub const fn as_bytes(&self) -> &[u8; KEY_ID_LEN] {
        &self.0
    }
}

impl FromStr for KeyId {
    type Err = KeyIdFormatError;

    /// Parses exactly 8 lowercase hex digits (SPEC.md conventions: one value, one text).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let well_formed = text.len() == 2 * KEY_ID_LEN
            && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let mut id = [0u8; KEY_ID_LEN];
        if !well_formed || hex::decode_to_slice(text, &mut id).is_err() {
            return Err(KeyIdFormatError(text.to_owned()));
        }
        Ok(Self(id))
    }
}

impl fmt::Display for KeyId {
    /// 8 lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// The log key's Ed25519 signature over one entry (SPEC.md section 4).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EntrySignature([u8; SIGNATURE_LEN]);

/// An entry signature that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntrySignatureDecodeError {
    /// Not strict standard base64 (RFC 4648 section 4, canonical padding and trailing bits).
    #[error("not canonical base64: {0}")]
    Base64(String),
    /// Decoded to the wrong number of bytes.
    #[error("an entry signature is {SIGNATURE_LEN} bytes, got {0}")]
    Length(usize),
}

impl EntrySignature {
    /// Wraps 64 raw bytes.
    pub const fn from_bytes(bytes: [u8; SIGNATURE_LEN]) -> Self {
        Self(bytes)
    }

    /// Wraps a slice that must be exactly 64 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, EntrySignatureDecodeError> {
        let array: [u8; SIGNATURE_LEN] = bytes
            .try_into()
            .map_err(|_| EntrySignatureDecodeError::Length(bytes.len()))?;
        Ok(Self(array))
    }

    /// The 64 raw bytes.
    pub const fn as_bytes(&self) -> &[u8; SIGNATURE_LEN] {
        &self.0
    }

    /// The 64 raw bytes, by value (for storage).
    pub const fn to_bytes(self) -> [u8; SIGNATURE_LEN] {
        self.0
    }

    /// Standard base64 with padding, as in a proof bundle (SPEC.md section 7).
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Decodes strict standard base64 of exactly 64 bytes.
    pub fn from_base64(text: &str) -> Result<Self, EntrySignatureDecodeError> {
        let bytes = STANDARD
            .decode(text)
            .map_err(|e| EntrySignatureDecodeError::Base64(e.to_string()))?;
        Self::from_slice(&bytes)
    }
}

impl fmt::Debug for EntrySignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntrySignature({})", self.to_base64())
    }
}

/// The bytes an entry signature covers:
/// `"gdpr-ledger:entry:v1\n" || origin || "\n" || leaf_hash` (SPEC.md section 4).
pub fn entry_signed_message(origin: &str, leaf: &LeafHash) -> Vec<u8> {
    let mut message =
        Vec::with_capacity(ENTRY_SIGNATURE_CONTEXT.len() + origin.len() + 1 + HASH_LEN);
    message.extend_from_slice(ENTRY_SIGNATURE_CONTEXT);
    message.extend_from_slice(origin.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(leaf.as_bytes());
    message
}

/// The log's private key and the origin it signs for.
///
/// Signing takes `&self` and the type is `Send + Sync`, so one signer serves many threads. The
/// secret is held once, by AWS-LC, which clears the memory it frees when the signer is dropped
/// (ed25519-dalek's copy, made to derive the public key, is zeroized as `from_seed` returns), and
/// is never printed by `Debug`.
///
/// The signatures are made by AWS-LC (`aws-lc-rs`), twice as fast here as ed25519-dalek; RFC 8032
/// signatures are deterministic, so they are the bytes ed25519-dalek would make
/// (`signatures_are_ed25519_dalek_s`), and every verification is ed25519-dalek's.
pub struct LogSigner {
    /// The public half, as ed25519-dalek derives it from the seed.
    key: VerifyingKey,
    /// The private key, in AWS-LC, which signs.
    signing: Ed25519KeyPair,
    origin: String,
    key_id: KeyId,
}

/// A signer that cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignerError {
    /// The origin is not a valid key name.
    #[error(transparent)]
    Name(#[from] KeyNameError),
    /// AWS-LC refused the key (it checks that the seed gives ed25519-dalek's public key).
    #[error("the signing library refused the key: {0}")]
    Key(String),
}

impl LogSigner {
    /// Builds the signer of `origin` from a 32-byte Ed25519 seed (RFC 8032 section 5.1.5).
    /// Randomness is the caller's: the core never draws it.
    pub fn from_seed(origin: &str, seed: &[u8; SEED_LEN]) -> Result<Self, SignerError> {
        validate_key_name(origin)?;
        let key = SigningKey::from_bytes(seed).verifying_key();
        let signing = Ed25519KeyPair::from_seed_and_public_key(seed, key.as_bytes())
            .map_err(|rejected| SignerError::Key(rejected.to_string()))?;
        let key_id = KeyId::compute(origin, &key);
        Ok(Self {
            key,
            signing,
            origin: origin.to_owned(),
            key_id,
        })
    }

    /// The origin, which is also the key's name.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The key's ID (SPEC.md section 5).
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The public half, to hand to auditors out of band.
    pub fn verifier_key(&self) -> VerifierKey {
        VerifierKey {
            name: self.origin.clone(),
            key_id: self.key_id,
            key: self.key,
        }
    }

    /// Signs the entry whose leaf hash is `leaf` (SPEC.md section 4).
    pub fn sign_entry(&self, leaf: &LeafHash) -> EntrySignature {
        EntrySignature(self.sign(&entry_signed_message(&self.origin, leaf)))
    }

    /// Signs the entries whose leaf hashes are `leaves`, in order: [`Self::sign_entry`] on each,
    /// with one message buffer for all of them.
    pub fn sign_entries(&self, leaves: &[LeafHash]) -> Vec<EntrySignature> {
        let Some(first) = leaves.first() else {
            return Vec::new();
        };
        let mut message = entry_signed_message(&self.origin, first);
        let leaf_at = message.len() - HASH_LEN;
        leaves
            .iter()
            .map(|leaf| {
                message[leaf_at..].copy_from_slice(leaf.as_bytes());
                EntrySignature(self.sign(&message))
            })
            .collect()
    }

    /// Signs a note body as it stands (SPEC.md section 5); [`crate::core::note`] frames it.
    pub fn sign_note_body(&self, body: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.sign(body)
    }

    fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        let mut signature = [0u8; SIGNATURE_LEN];
        // An Ed25519 signature is always 64 bytes.
        signature.copy_from_slice(self.signing.sign(message).as_ref());
        signature
    }
}

impl fmt::Debug for LogSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogSigner")
            .field("origin", &self.origin)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// A verifier key text that could not be accepted (SPEC.md section 5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifierKeyError {
    /// The text is not `<name>+<key id>+<key>`.
    #[error("a verifier key is <name>+<key id>+<base64 key>, with two '+' after the name")]
    MissingSeparator,
    /// The name is not a valid key name.
    #[error("invalid key name: {0}")]
    Name(#[from] KeyNameError),
    /// The key ID part is not 8 lowercase hex digits.
    #[error(transparent)]
    KeyIdFormat(#[from] KeyIdFormatError),
    /// The key part is not strict standard base64.
    #[error("the key is not canonical base64: {0}")]
    KeyBase64(String),
    /// The key part decodes to the wrong length (1 algorithm byte and 32 key bytes expected).
    #[error("the key is 33 bytes (algorithm and Ed25519 key), got {0}")]
    KeyLength(usize),
    /// The algorithm byte is not Ed25519's.
    #[error("unknown key algorithm {0:#04x} (only Ed25519, 0x01, is known)")]
    UnknownAlgorithm(u8),
    /// The 32 bytes are not an Ed25519 point.
    #[error("the key is not a valid Ed25519 public key")]
    InvalidPoint,
    /// The key has small order: `verify_strict` would reject every signature under it.
    #[error("the key is a weak (small-order) Ed25519 key")]
    WeakKey,
    /// The stated key ID is not the one computed from the name and the key.
    #[error("key ID {stated} does not match the name and key, which give {computed}")]
    KeyIdMismatch {
        /// The ID written in the text.
        stated: KeyId,
        /// The ID computed from the name and key.
        computed: KeyId,
    },
}

impl VerifierKeyError {
    /// The failed check (docs/SPEC.md section 9).
    pub fn check(&self) -> crate::core::checks::Check {
        use crate::core::checks::Check;
        match self {
            Self::MissingSeparator
            | Self::Name(_)
            | Self::KeyIdFormat(_)
            | Self::KeyBase64(_)
            | Self::KeyLength(_) => Check::VerifierKeyMalformed,
            Self::UnknownAlgorithm(_) => Check::VerifierKeyAlgorithm,
            Self::InvalidPoint | Self::WeakKey => Check::VerifierKeyWeak,
            Self::KeyIdMismatch { .. } => Check::VerifierKeyIdMismatch,
        }
    }

    /// The failed check's stable code (docs/SPEC.md section 9).
    pub fn code(&self) -> &'static str {
        self.check().code()
    }
}

/// A signature that does not verify under a key (`verify_strict`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the signature does not verify under key {name}+{key_id}")]
pub struct SignatureMismatch {
    /// The key's name.
    pub name: String,
    /// The key's ID.
    pub key_id: KeyId,
}

/// What an auditor holds: a log's (or witness's) name, key ID and Ed25519 public key.
///
/// Its text form is `<name>+<hex key_id>+<base64(0x01 || public_key)>`, as in Go's sumdb note
/// and C2SP `signed-note`.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    key_id: KeyId,
    key: VerifyingKey,
}

impl VerifierKey {
    /// Builds the verifier key of `key` under `name`, computing its key ID.
    pub fn from_public_key(name: &str, key: VerifyingKey) -> Result<Self, VerifierKeyError> {
        validate_key_name(name)?;
        if key.is_weak() {
            return Err(VerifierKeyError::WeakKey);
        }
        Ok(Self {
            name: name.to_owned(),
            key_id: KeyId::compute(name, &key),
            key,
        })
    }

    /// Parses `<name>+<hex key_id>+<base64(0x01 || public_key)>`, split at the first two `+` only
    /// (base64 may hold `+`), and rejects it when the key ID does not match (SPEC.md section 5).
    pub fn parse(text: &str) -> Result<Self, VerifierKeyError> {
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(key_id_hex), Some(key_b64)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(VerifierKeyError::MissingSeparator);
        };
        validate_key_name(name)?;
        let stated: KeyId = key_id_hex.parse()?;
        let raw = STANDARD
            .decode(key_b64)
            .map_err(|e| VerifierKeyError::KeyBase64(e.to_string()))?;
        let (&algorithm, key_bytes) = raw.split_first().ok_or(VerifierKeyError::KeyLength(0))?;
        if raw.len() != 1 + ed25519_dalek::PUBLIC_KEY_LENGTH {
            return Err(VerifierKeyError::KeyLength(raw.len()));
        }
        if algorithm != ED25519_ALGORITHM {
            return Err(VerifierKeyError::UnknownAlgorithm(algorithm));
        }
        let key_bytes: &[u8; ed25519_dalek::PUBLIC_KEY_LENGTH] = key_bytes
            .try_into()
            .map_err(|_| VerifierKeyError::KeyLength(raw.len()))?;
        let key =
            VerifyingKey::from_bytes(key_bytes).map_err(|_| VerifierKeyError::InvalidPoint)?;
        // Strict Ed25519 (SPEC.md section 9): only the canonical encoding of a point is a key.
        // The decoder reduces y modulo p and ignores the sign of x = 0, so y + p or a negative
        // zero would otherwise name the same point as its canonical bytes.
        if key.to_edwards().compress().as_bytes() != key_bytes {
            return Err(VerifierKeyError::InvalidPoint);
        }
        let parsed = Self::from_public_key(name, key)?;
        if parsed.key_id != stated {
            return Err(VerifierKeyError::KeyIdMismatch {
                stated,
                computed: parsed.key_id,
            });
        }
        Ok(parsed)
    }

    /// The key's name: the origin of the log it verifies.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key's ID.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The Ed25519 public key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Checks an Ed25519 signature over `message` with `verify_strict`. A signature of the wrong
    /// length does not verify.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureMismatch> {
        let mismatch = || SignatureMismatch {
            name: self.name.clone(),
            key_id: self.key_id,
        };
        let signature = Signature::from_slice(signature).map_err(|_| mismatch())?;
        self.key
            .verify_strict(message, &signature)
            .map_err(|_| mismatch())
    }
}

impl FromStr for VerifierKey {
    type Err = VerifierKeyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for VerifierKey {
    /// `<name>+<hex key_id>+<base64(0x01 || public_key)>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = [0u8; 1 + ed25519_dalek::PUBLIC_KEY_LENGTH];
        raw[0] = ED25519_ALGORITHM;
        raw[1..].copy_from_slice(self.key.as_bytes());
        write!(f, "{}+{}+{}", self.name, self.key_id, STANDARD.encode(raw))
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

/// Checks the log's signature over the entry whose leaf hash is `leaf`, under `key` (whose name
/// is the origin bound into the signed message; SPEC.md section 4).
pub fn verify_entry_signature(
    key: &VerifierKey,
    leaf: &LeafHash,
    signature: &EntrySignature,
) -> Result<(), SignatureMismatch> {
    key.verify(
        &entry_signed_message(key.name(), leaf),
        signature.as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "ledger.example.com/gdpr/test";

    fn signer() -> LogSigner {
        LogSigner::from_seed(ORIGIN, &[7u8; SEED_LEN]).unwrap()
    }

    #[test]
    fn signer_is_shareable_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<LogSigner>();
        assert_send_sync::<VerifierKey>();
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        let text = format!("{:?}", signer());
        assert!(text.contains(ORIGIN));
        assert!(!text.contains("key:"), "{text}");
    }

    #[test]
    fn verifier_key_round_trips_through_text() {
        let key = signer().verifier_key();
        assert_eq!(VerifierKey::parse(&key.to_string()), Ok(key));
    }

    #[test]
    fn verifier_key_with_another_key_id_is_rejected() {
        let text = signer().verifier_key().to_string();
        let mut parts: Vec<&str> = text.splitn(3, '+').collect();
        parts[1] = "00000000";
        assert!(matches!(
            VerifierKey::parse(&parts.join("+")),
            Err(VerifierKeyError::KeyIdMismatch { .. })
        ));
    }

    #[test]
    fn verifier_key_parts_are_checked() {
        let text = signer().verifier_key().to_string();
        let (_, rest) = text.split_once('+').unwrap();
        assert_eq!(
            VerifierKey::parse("no-separators"),
            Err(VerifierKeyError::MissingSeparator)
        );
        assert_eq!(
            VerifierKey::parse(&format!("bad name+{rest}")),
            Err(VerifierKeyError::Name(KeyNameError::WhiteSpace))
        );
        assert_eq!(
            VerifierKey::parse(&format!("+{rest}")),
            Err(VerifierKeyError::Name(KeyNameError::Empty))
        );
        let upper = text.replacen(&signer().key_id().to_string(), "5EB4026F", 1);
        assert!(matches!(
            VerifierKey::parse(&upper),
            Err(VerifierKeyError::KeyIdFormat(_))
        ));
        let short = format!("{ORIGIN}+{}+AQ==", signer().key_id());
        assert_eq!(
            VerifierKey::parse(&short),
            Err(VerifierKeyError::KeyLength(1))
        );
        let mut raw = vec![0x02];
        raw.extend_from_slice(signer().verifier_key().verifying_key().as_bytes());
        let other_alg = format!("{ORIGIN}+{}+{}", signer().key_id(), STANDARD.encode(raw));
        assert_eq!(
            VerifierKey::parse(&other_alg),
            Err(VerifierKeyError::UnknownAlgorithm(2))
        );
    }

    #[test]
    fn small_order_key_is_rejected() {
        // The identity point (y = 1) has order 1.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let key = VerifyingKey::from_bytes(&identity).unwrap();
        assert_eq!(
            VerifierKey::from_public_key(ORIGIN, key),
            Err(VerifierKeyError::WeakKey)
        );
    }

    #[test]
    fn non_canonical_key_encodings_are_rejected() {
        // y = 3 names a point of large order; y = 3 + p = 2^255 - 16 names the same point to a
        // decoder that reduces modulo p, which ed25519-dalek's does.
        let mut canonical = [0u8; 32];
        canonical[0] = 3;
        let mut plus_p = [0xffu8; 32];
        plus_p[0] = 0xf0;
        plus_p[31] = 0x7f;
        let point = VerifyingKey::from_bytes(&canonical).expect("y = 3 is a point");
        assert!(!point.is_weak());
        let decoded = VerifyingKey::from_bytes(&plus_p).expect("the decoder reduces y + p");
        assert_eq!(decoded.to_edwards(), point.to_edwards());
        let text = |bytes: &[u8; 32]| {
            let mut raw = vec![ED25519_ALGORITHM];
            raw.extend_from_slice(bytes);
            let key = VerifyingKey::from_bytes(bytes).expect("decodes");
            format!(
                "{ORIGIN}+{}+{}",
                KeyId::compute(ORIGIN, &key),
                STANDARD.encode(raw)
            )
        };
        assert!(VerifierKey::parse(&text(&canonical)).is_ok());
        let refused = VerifierKey::parse(&text(&plus_p));
        assert_eq!(refused, Err(VerifierKeyError::InvalidPoint));
        assert_eq!(
            refused.map_err(|e| e.code()),
            Err("verifier-key-weak"),
            "the code of docs/SPEC.md section 9"
        );
    }

    #[test]
    fn entry_signature_binds_origin_and_leaf() {
        let signer = signer();
        let leaf = crate::core::hash::leaf_hash(b"entry");
        let signature = signer.sign_entry(&leaf);
        let key = signer.verifier_key();
        assert_eq!(verify_entry_signature(&key, &leaf, &signature), Ok(()));
        let other_leaf = crate::core::hash::leaf_hash(b"entry2");
        assert!(verify_entry_signature(&key, &other_leaf, &signature).is_err());
        let other_origin = LogSigner::from_seed("other.example", &[7u8; SEED_LEN]).unwrap();
        assert!(verify_entry_signature(&other_origin.verifier_key(), &leaf, &signature).is_err());
    }

    /// AWS-LC signs; the signatures are the ones ed25519-dalek makes for the same key and
    /// message (RFC 8032 is deterministic, so there is one right answer), for entries alone and
    /// in groups of every size the sequencer makes, and for note bodies, with keys and origins of
    /// different lengths; and each verifies.
    #[test]
    fn signatures_are_ed25519_dalek_s() {
        use ed25519_dalek::Signer as _;
        for (origin, seed) in [
            (ORIGIN, [7u8; SEED_LEN]),
            ("l", [0u8; SEED_LEN]),
            (
                "log.example.org/a-much-longer-origin-than-most/v1",
                [0xff; SEED_LEN],
            ),
        ] {
            let signer = LogSigner::from_seed(origin, &seed).unwrap();
            let dalek = SigningKey::from_bytes(&seed);
            let key = signer.verifier_key();
            for entries in [0u64, 1, 2, 7, 64, 257] {
                let leaves: Vec<LeafHash> = (0..entries)
                    .map(|i| crate::core::hash::leaf_hash(&(i * 7919 + entries).to_be_bytes()))
                    .collect();
                let signed = signer.sign_entries(&leaves);
                assert_eq!(signed.len(), leaves.len());
                for (leaf, signature) in leaves.iter().zip(&signed) {
                    let expected = dalek.sign(&entry_signed_message(origin, leaf)).to_bytes();
                    assert_eq!(
                        signature.as_bytes(),
                        &expected,
                        "{origin}, {entries} entries"
                    );
                    assert_eq!(signer.sign_entry(leaf), *signature);
                    assert_eq!(verify_entry_signature(&key, leaf, signature), Ok(()));
                }
            }
            for body in [&b""[..], b"ledger.example.com/gdpr/test\n1\nAAAA\n"] {
                assert_eq!(signer.sign_note_body(body), dalek.sign(body).to_bytes());
            }
        }
    }

    #[test]
    fn key_id_text_is_strict() {
        assert!("5eb4026f".parse::<KeyId>().is_ok());
        for bad in ["5eb4026", "5eb4026f0", "5EB4026F", "5eb4026g", "+eb4026f"] {
            assert!(bad.parse::<KeyId>().is_err(), "{bad}");
        }
    }
}
