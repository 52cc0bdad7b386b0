//! Per-subject encryption: what makes erasure real in an append-only log (crypto-shredding).
//!
//! Every data subject has its own random 256-bit data key. It seals (XChaCha20-Poly1305) the
//! subject's free-form event details and the list of the subject's identifiers; it is itself kept
//! wrapped (sealed) by the deployment's master key, which never lives in the data dir. Destroying a
//! subject's wrapped key makes everything it sealed unreadable forever, while the log, which holds
//! only the BLAKE3 digest of each details ciphertext, keeps verifying.
//!
//! Each sealed value is `nonce (24 bytes) || ciphertext || tag (16 bytes)`, with a fresh random
//! nonce, and is bound to its purpose and its subject by the associated data:
//! - wrapped data key: `"gdpr-ledger:data-key:v1\n" || token`, sealed by the master key;
//! - details: `"gdpr-ledger:details:v1\n" || token || u64_be(index)`, sealed by the data key, so
//!   that a ciphertext cannot be moved to another subject or entry;
//! - identifiers: `"gdpr-ledger:identifiers:v1\n" || token`, sealed by the data key.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::{Zeroize, Zeroizing};

/// Length of a nonce.
const NONCE_LEN: usize = 24;
/// Length of the authentication tag.
const TAG_LEN: usize = 16;

/// Why sealing or opening failed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The value was not sealed by this key for this purpose and subject, or was altered.
    #[error("{0}: does not open with this key (altered, or sealed for another subject or key)")]
    DoesNotOpen(&'static str),
    /// The operating system's random source failed.
    #[error("no randomness available: {0}")]
    Random(String),
    /// An identifier list that opened but does not decode.
    #[error("the sealed identifier list does not decode: {0}")]
    BadIdentifiers(String),
}

fn random<const N: usize>() -> Result<[u8; N], VaultError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| VaultError::Random(e.to_string()))?;
    Ok(bytes)
}

fn seal(
    key: &[u8; 32],
    context: &[u8],
    token: &[u8; 32],
    suffix: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, VaultError> {
    let nonce = random::<NONCE_LEN>()?;
    let aad = [context, token.as_slice(), suffix].concat();
    let cipher = XChaCha20Poly1305::new(key.into());
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        // Encryption fails only for messages beyond the cipher's 256 GiB limit.
        .map_err(|_| VaultError::DoesNotOpen("plaintext too long"))?;
    let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

fn open(
    key: &[u8; 32],
    context: &[u8],
    token: &[u8; 32],
    suffix: &[u8],
    sealed: &[u8],
    what: &'static str,
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(VaultError::DoesNotOpen(what));
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let aad = [context, token.as_slice(), suffix].concat();
    XChaCha20Poly1305::new(key.into())
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: body,
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| VaultError::DoesNotOpen(what))
}

const DATA_KEY_CONTEXT: &[u8] = b"gdpr-ledger:data-key:v1\n";
const DETAILS_CONTEXT: &[u8] = b"gdpr-ledger:details:v1\n";
const DETAILS_V2_CONTEXT: &[u8] = b"gdpr-ledger:details:v2\n";
const DETAILS_KEY_CONTEXT: &[u8] = b"gdpr-ledger:details-key:v1\n";
/// First byte of a v2 details row (`docs/erasure.md` section 2).
pub const DETAILS_ROW_V2: u8 = 0x02;
/// Length of a wrapped details key: nonce, the 32-byte key, tag.
const WRAPPED_DETAILS_KEY_LEN: usize = NONCE_LEN + 32 + TAG_LEN;
/// No token or index binds a v2 details ciphertext: its key is used for nothing else.
const NO_TOKEN: [u8; 32] = [0; 32];
const IDENTIFIERS_CONTEXT: &[u8] = b"gdpr-ledger:identifiers:v1\n";

/// The deployment's master key: wraps every subject's data key. Supplied by the operator (a file
/// or an environment variable), never stored in the data dir, so that a copy of the data dir alone
/// cannot undo shredding.
pub struct MasterKey([u8; 32]);

impl MasterKey {
    /// The key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// `BLAKE3-keyed(key, message)`: a value that shows whether two replicas hold the same master
    /// key without showing it (the genesis message's check, `replication::genesis`).
    pub fn keyed_check(&self, message: &[u8]) -> [u8; 32] {
        blake3::keyed_hash(&self.0, message).into()
    }

    /// Wraps a subject's data key for storage.
    pub fn wrap(&self, token: &[u8; 32], key: &DataKey) -> Result<Vec<u8>, VaultError> {
        seal(&self.0, DATA_KEY_CONTEXT, token, &[], &key.0)
    }

    /// Unwraps a subject's stored data key.
    pub fn unwrap_key(&self, token: &[u8; 32], wrapped: &[u8]) -> Result<DataKey, VaultError> {
        let opened = open(
            &self.0,
            DATA_KEY_CONTEXT,
            token,
            &[],
            wrapped,
            "wrapped data key",
        )?;
        let bytes: [u8; 32] = opened
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::DoesNotOpen("wrapped data key"))?;
        Ok(DataKey(bytes))
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

/// One subject's data key (unwrapped, in memory only).
#[derive(Clone)]
pub struct DataKey([u8; 32]);

impl DataKey {
    /// A new random key.
    pub fn generate() -> Result<Self, VaultError> {
        random::<32>().map(Self)
    }

    /// Seals the free-form details of the entry at `index`.
    pub fn seal_details(
        &self,
        token: &[u8; 32],
        index: u64,
        details: &[u8],
    ) -> Result<Vec<u8>, VaultError> {
        seal(
            &self.0,
            DETAILS_CONTEXT,
            token,
            &index.to_be_bytes(),
            details,
        )
    }

    /// Opens the details of the entry at `index`.
    pub fn open_details(
        &self,
        token: &[u8; 32],
        index: u64,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        open(
            &self.0,
            DETAILS_CONTEXT,
            token,
            &index.to_be_bytes(),
            sealed,
            "details",
        )
    }

    /// The v2 details row of the entry at `index` (`docs/erasure.md` section 2): `0x02 ||
    /// wrap(this key, details key) || sealed`, where `sealed` was made by [`DetailsKey::seal`]
    /// (by the node that received the request) and is what the entry's `details_digest` covers.
    pub fn details_row_v2(
        &self,
        token: &[u8; 32],
        index: u64,
        details_key: &DetailsKey,
        sealed: &[u8],
    ) -> Result<Vec<u8>, VaultError> {
        let wrapped = seal(
            &self.0,
            DETAILS_KEY_CONTEXT,
            token,
            &index.to_be_bytes(),
            &details_key.0,
        )?;
        let mut row = Vec::with_capacity(1 + wrapped.len() + sealed.len());
        row.push(DETAILS_ROW_V2);
        row.extend_from_slice(&wrapped);
        row.extend_from_slice(sealed);
        Ok(row)
    }

    /// Opens a stored details row of the entry at `index`, in whichever form
    /// [`DetailsRow::recognise`] found it.
    pub fn open_details_row(
        &self,
        token: &[u8; 32],
        index: u64,
        row: DetailsRow<'_>,
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        match row {
            DetailsRow::V1(sealed) => self.open_details(token, index, sealed),
            DetailsRow::V2 {
                wrapped_key,
                sealed,
            } => {
                let opened = open(
                    &self.0,
                    DETAILS_KEY_CONTEXT,
                    token,
                    &index.to_be_bytes(),
                    wrapped_key,
                    "details key",
                )?;
                let bytes: [u8; 32] = opened
                    .as_slice()
                    .try_into()
                    .map_err(|_| VaultError::DoesNotOpen("details key"))?;
                DetailsKey(bytes).open(sealed)
            }
        }
    }

    /// Seals the subject's identifiers (`kind:normalized value` each), length-prefixed
    /// ([`encode_identifier_list`]).
    pub fn seal_identifiers(
        &self,
        token: &[u8; 32],
        identifiers: &[String],
    ) -> Result<Vec<u8>, VaultError> {
        let encoded = Zeroizing::new(encode_identifier_list(identifiers)?);
        seal(&self.0, IDENTIFIERS_CONTEXT, token, &[], &encoded)
    }

    /// Opens the subject's identifiers. A list in the legacy form (one per line) is refused:
    /// the server rewrites those at start ([`crate::identifier_lists`]), since only the
    /// directory can tell which lines were one identifier.
    pub fn open_identifiers(
        &self,
        token: &[u8; 32],
        sealed: &[u8],
    ) -> Result<Vec<String>, VaultError> {
        match decode_identifier_list(&self.open_identifier_bytes(token, sealed)?)? {
            IdentifierList::Current(list) => Ok(list),
            IdentifierList::Legacy(_) => Err(VaultError::BadIdentifiers(
                "a legacy list (one per line); restart the server to rewrite it".into(),
            )),
        }
    }

    /// Opens the subject's identifier list in whichever form it was sealed.
    pub fn open_identifier_list(
        &self,
        token: &[u8; 32],
        sealed: &[u8],
    ) -> Result<IdentifierList, VaultError> {
        decode_identifier_list(&self.open_identifier_bytes(token, sealed)?)
    }

    fn open_identifier_bytes(
        &self,
        token: &[u8; 32],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        open(
            &self.0,
            IDENTIFIERS_CONTEXT,
            token,
            &[],
            sealed,
            "identifiers",
        )
    }
}

/// A fresh key for one event's details, made by the node that received the request, so that the
/// sealed bytes (which the entry commits to) are the same on every replica whatever each one's
/// subject data key is (`docs/replication.md` section 2). Stored only wrapped by the subject's
/// data key, so shredding that key makes these details unreadable too.
#[derive(Clone)]
pub struct DetailsKey([u8; 32]);

impl DetailsKey {
    /// A new random key.
    pub fn generate() -> Result<Self, VaultError> {
        random::<32>().map(Self)
    }

    /// The key from its 32 bytes (as a replicated request carries it).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key's bytes (to carry it, sealed, in a replicated request).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Seals details: `nonce || ciphertext || tag`, associated data `"gdpr-ledger:details:v2\n"`.
    /// Nothing else binds them: this key seals these details only, and its wrapping binds it to
    /// the subject and the entry.
    pub fn seal(&self, details: &[u8]) -> Result<Vec<u8>, VaultError> {
        seal(&self.0, DETAILS_V2_CONTEXT, &NO_TOKEN, &[], details)
    }

    fn open(&self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        open(
            &self.0,
            DETAILS_V2_CONTEXT,
            &NO_TOKEN,
            &[],
            sealed,
            "details",
        )
    }
}

impl Drop for DetailsKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for DetailsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DetailsKey(..)")
    }
}

/// A stored details row, recognised against the digest its entry commits to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailsRow<'a> {
    /// Sealed by the subject's data key (single node): the row is the sealed bytes.
    V1(&'a [u8]),
    /// Sealed under a details key that the row holds wrapped by the subject's data key.
    V2 {
        /// The details key, wrapped.
        wrapped_key: &'a [u8],
        /// The sealed details: what the entry's digest covers.
        sealed: &'a [u8],
    },
}

impl<'a> DetailsRow<'a> {
    /// Which form `row` is in, told by the entry's `details_digest`: a v1 row hashes to it whole,
    /// a v2 row past its header. A v1 row's first byte is random and may be `0x02`, so the form is
    /// never guessed from that byte alone. `None`: the row does not match the entry.
    pub fn recognise(row: &'a [u8], digest: &[u8]) -> Option<Self> {
        if crate::core::hash::details_digest(row).as_slice() == digest {
            return Some(Self::V1(row));
        }
        let (&DETAILS_ROW_V2, rest) = row.split_first()? else {
            return None;
        };
        let (wrapped_key, sealed) = rest.split_at_checked(WRAPPED_DETAILS_KEY_LEN)?;
        (crate::core::hash::details_digest(sealed).as_slice() == digest).then_some(Self::V2 {
            wrapped_key,
            sealed,
        })
    }
}

/// The first byte of a length-prefixed identifier list. A legacy list is text that starts with
/// an identifier kind (`[a-z0-9_]`), never with this byte.
pub const IDENTIFIER_LIST_V2: u8 = 0x02;

/// An opened identifier list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentifierList {
    /// Length-prefixed: exactly the identifiers that were sealed.
    Current(Vec<String>),
    /// One per line, as sealed before the length-prefixed form: a value holding a line feed
    /// reads as two lines here, so the lines are not yet identifiers.
    Legacy(Vec<String>),
}

/// `0x02`, then for each identifier `u32_be(byte length) || utf8`: no value can spell the start
/// of another, whatever characters it holds.
pub fn encode_identifier_list(identifiers: &[String]) -> Result<Vec<u8>, VaultError> {
    let mut out = Vec::with_capacity(1 + identifiers.iter().map(|i| 4 + i.len()).sum::<usize>());
    out.push(IDENTIFIER_LIST_V2);
    for identifier in identifiers {
        let len = u32::try_from(identifier.len())
            .map_err(|_| VaultError::BadIdentifiers("an identifier over 4 GiB".into()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(identifier.as_bytes());
    }
    Ok(out)
}

/// Decodes an opened identifier list in either form; the length-prefixed form must be exact
/// (no truncated or trailing bytes, UTF-8 values).
pub fn decode_identifier_list(bytes: &[u8]) -> Result<IdentifierList, VaultError> {
    let bad = |why: &str| VaultError::BadIdentifiers(why.to_owned());
    let Some((&IDENTIFIER_LIST_V2, mut rest)) = bytes.split_first() else {
        let text = std::str::from_utf8(bytes).map_err(|e| bad(&e.to_string()))?;
        return Ok(IdentifierList::Legacy(
            text.split('\n')
                .filter(|line| !line.is_empty())
                .map(str::to_owned)
                .collect(),
        ));
    };
    let mut list = Vec::new();
    while !rest.is_empty() {
        let (len, tail) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| bad("a truncated length"))?;
        let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|_| bad("a length"))?;
        if tail.len() < len {
            return Err(bad("a length beyond the list"));
        }
        let (value, tail) = tail.split_at(len);
        let value = std::str::from_utf8(value).map_err(|e| bad(&e.to_string()))?;
        list.push(value.to_owned());
        rest = tail;
    }
    Ok(IdentifierList::Current(list))
}

impl Drop for DataKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: [u8; 32] = [1; 32];
    const BOB: [u8; 32] = [2; 32];

    #[test]
    fn details_open_only_for_their_subject_and_entry() -> Result<(), VaultError> {
        let key = DataKey::generate()?;
        let sealed = key.seal_details(&ALICE, 7, b"called about invoice 12")?;
        assert_eq!(
            key.open_details(&ALICE, 7, &sealed)?.as_slice(),
            b"called about invoice 12"
        );
        assert!(key.open_details(&ALICE, 8, &sealed).is_err());
        assert!(key.open_details(&BOB, 7, &sealed).is_err());
        assert!(
            DataKey::generate()?
                .open_details(&ALICE, 7, &sealed)
                .is_err()
        );
        let mut altered = sealed.clone();
        altered[30] ^= 1;
        assert!(key.open_details(&ALICE, 7, &altered).is_err());
        assert!(key.open_details(&ALICE, 7, &sealed[..20]).is_err());
        Ok(())
    }

    #[test]
    fn v2_details_open_only_for_their_subject_and_entry() -> Result<(), VaultError> {
        let key = DataKey::generate()?;
        let details_key = DetailsKey::generate()?;
        let sealed = details_key.seal(b"called about invoice 12")?;
        let digest = crate::core::hash::details_digest(&sealed);
        let row = key.details_row_v2(&ALICE, 7, &details_key, &sealed)?;
        let recognised = DetailsRow::recognise(&row, &digest).expect("a v2 row");
        assert_eq!(
            recognised,
            DetailsRow::V2 {
                wrapped_key: &row[1..1 + WRAPPED_DETAILS_KEY_LEN],
                sealed: &sealed
            }
        );
        assert_eq!(
            key.open_details_row(&ALICE, 7, recognised)?.as_slice(),
            b"called about invoice 12"
        );
        // The wrapped details key is bound to the subject and the entry.
        assert!(key.open_details_row(&ALICE, 8, recognised).is_err());
        assert!(key.open_details_row(&BOB, 7, recognised).is_err());
        assert!(
            DataKey::generate()?
                .open_details_row(&ALICE, 7, recognised)
                .is_err()
        );
        // A row that does not match the entry's digest is not recognised at all.
        let mut altered = row.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert_eq!(DetailsRow::recognise(&altered, &digest), None);
        assert_eq!(DetailsRow::recognise(&row[..40], &digest), None);
        Ok(())
    }

    #[test]
    fn a_v1_row_starting_with_the_v2_byte_is_still_v1() -> Result<(), VaultError> {
        let key = DataKey::generate()?;
        // A random nonce starts with 0x02 once in 256 seals: find one.
        let sealed = (0..10_000)
            .map(|_| key.seal_details(&ALICE, 3, b"x".repeat(100).as_slice()))
            .find(|sealed| sealed.as_ref().is_ok_and(|s| s[0] == DETAILS_ROW_V2))
            .expect("a nonce starting with 0x02")?;
        let digest = crate::core::hash::details_digest(&sealed);
        let recognised = DetailsRow::recognise(&sealed, &digest).expect("recognised");
        assert_eq!(recognised, DetailsRow::V1(&sealed));
        assert_eq!(
            key.open_details_row(&ALICE, 3, recognised)?.as_slice(),
            b"x".repeat(100).as_slice()
        );
        Ok(())
    }

    #[test]
    fn a_wrapped_key_opens_only_with_its_master_key_and_subject() -> Result<(), VaultError> {
        let master = MasterKey::from_bytes([9; 32]);
        let key = DataKey::generate()?;
        let wrapped = master.wrap(&ALICE, &key)?;
        let unwrapped = master.unwrap_key(&ALICE, &wrapped)?;
        let sealed = key.seal_details(&ALICE, 1, b"x")?;
        assert_eq!(unwrapped.open_details(&ALICE, 1, &sealed)?.as_slice(), b"x");
        assert!(master.unwrap_key(&BOB, &wrapped).is_err());
        assert!(
            MasterKey::from_bytes([8; 32])
                .unwrap_key(&ALICE, &wrapped)
                .is_err()
        );
        // Sealing is randomised: the same key wraps differently each time.
        assert_ne!(master.wrap(&ALICE, &key)?, wrapped);
        Ok(())
    }

    #[test]
    fn identifiers_round_trip() -> Result<(), VaultError> {
        let key = DataKey::generate()?;
        let ids = vec!["email:jane@example.com".to_owned(), "customer_id:42".into()];
        let sealed = key.seal_identifiers(&ALICE, &ids)?;
        assert_eq!(key.open_identifiers(&ALICE, &sealed)?, ids);
        assert!(key.open_identifiers(&BOB, &sealed).is_err());
        Ok(())
    }

    #[test]
    fn no_identifier_can_spell_another_in_the_list() -> Result<(), VaultError> {
        // Even a value that holds a line feed (refused at the API since issue 13) stays one.
        let ids = vec!["customer_id:C-1\nemail:victim@example.com".to_owned()];
        let encoded = encode_identifier_list(&ids)?;
        assert_eq!(
            decode_identifier_list(&encoded)?,
            IdentifierList::Current(ids.clone())
        );
        let key = DataKey::generate()?;
        let sealed = key.seal_identifiers(&ALICE, &ids)?;
        assert_eq!(key.open_identifiers(&ALICE, &sealed)?, ids);
        Ok(())
    }

    #[test]
    fn a_legacy_list_is_recognised_and_not_taken_as_identifiers() -> Result<(), VaultError> {
        let legacy = b"customer_id:C-1\nemail:victim@example.com";
        assert_eq!(
            decode_identifier_list(legacy)?,
            IdentifierList::Legacy(vec![
                "customer_id:C-1".into(),
                "email:victim@example.com".into()
            ])
        );
        let key = DataKey::generate()?;
        let sealed = seal(&key.0, IDENTIFIERS_CONTEXT, &ALICE, &[], legacy)?;
        assert!(matches!(
            key.open_identifiers(&ALICE, &sealed),
            Err(VaultError::BadIdentifiers(_))
        ));
        assert!(matches!(
            key.open_identifier_list(&ALICE, &sealed)?,
            IdentifierList::Legacy(lines) if lines.len() == 2
        ));
        Ok(())
    }

    #[test]
    fn a_damaged_length_prefixed_list_is_an_error() {
        let encoded = encode_identifier_list(&["email:a@b".to_owned()]).expect("encodes");
        // [0x02] alone is the empty list; any other cut is short.
        for cut in 2..encoded.len() {
            assert!(
                decode_identifier_list(&encoded[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut longer = encoded.clone();
        longer.push(0);
        assert!(decode_identifier_list(&longer).is_err(), "trailing byte");
    }
}
