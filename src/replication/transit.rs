//! The transit layer of the replicated input log (`docs/replication.md` sections 2 and 3): the
//! ratchet of short-lived transit keys, the sealed body of a request message, and its
//! `Nats-Msg-Id`. Pure: no I/O, no clock (callers pass the epoch).
//!
//! - Ratchet: `R_{e+1} = BLAKE3-derive_key("gdpr-ledger transit ratchet v1", R_e)`, and the key of
//!   epoch `e` is `T_e = BLAKE3-derive_key("gdpr-ledger transit key v1", R_e)`. A replica keeps
//!   `e_min || R_{e_min}` and can derive every later key, never an earlier one.
//! - Body: `nonce (24) || XChaCha20-Poly1305(T_e, request, aad)`, with `aad =
//!   "gdpr-ledger:transit:v1\n" || format || "\n" || epoch || "\n" || msg_id` (decimal numbers).
//! - `Nats-Msg-Id`: `hex(BLAKE3-keyed(K, "gdpr-ledger:replication:msg-id:v1\n" || u32_be(len) ||
//!   producer || u32_be(len) || kind || digest...)) "." epoch`, with `K = BLAKE3-derive_key(
//!   "gdpr-ledger 2026 replication msg id v1", directory_secret)`: the same request gets the same
//!   id on any node within an epoch, and the id reveals nothing without the deployment's secret.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::core::directory::DirectorySecret;

/// The format of request messages (the `Ledger-Format` header). An upgrade that changes how
/// replicas apply requests bumps it.
pub const LEDGER_FORMAT: u32 = 1;
/// Length of a transit ratchet file: `u64_be(e_min) || R_{e_min}`.
pub const RATCHET_FILE_LEN: usize = 8 + 32;
/// The most epochs a key is derived ahead of the ratchet's oldest: an epoch beyond it is refused
/// rather than derived (a forged `Ledger-Epoch` header must not cost unbounded work). At the
/// default 600 s epoch, 100,000 epochs are about 694 days.
pub const MAX_EPOCHS_AHEAD: u64 = 100_000;

/// The message a replica check value is keyed over (`docs/replication.md` section 5):
/// `BLAKE3-keyed(secret, "gdpr-ledger:replica-check:v1")`.
pub const REPLICA_CHECK: &[u8] = b"gdpr-ledger:replica-check:v1";

const RATCHET_CONTEXT: &str = "gdpr-ledger transit ratchet v1";
const KEY_CONTEXT: &str = "gdpr-ledger transit key v1";
const MSG_ID_KEY_CONTEXT: &str = "gdpr-ledger 2026 replication msg id v1";
const MSG_ID_DOMAIN: &[u8] = b"gdpr-ledger:replication:msg-id:v1\n";
const TRANSIT_AAD: &[u8] = b"gdpr-ledger:transit:v1\n";
const CLOSE_DOMAIN: &[u8] = b"gdpr-ledger:close:v1";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Why a transit operation failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TransitError {
    /// The epoch is older than the ratchet's oldest: its key was destroyed.
    #[error("transit epoch {epoch}: its key is destroyed (the oldest kept is epoch {oldest})")]
    EpochDestroyed {
        /// The epoch asked for.
        epoch: u64,
        /// The ratchet's oldest epoch.
        oldest: u64,
    },
    /// The epoch is further ahead of the ratchet than [`MAX_EPOCHS_AHEAD`].
    #[error(
        "transit epoch {epoch} is more than {MAX_EPOCHS_AHEAD} epochs ahead of the ratchet's epoch {oldest}"
    )]
    EpochTooFar {
        /// The epoch asked for.
        epoch: u64,
        /// The ratchet's oldest epoch.
        oldest: u64,
    },
    /// The body does not open under the epoch's key with these headers.
    #[error(
        "the message does not open under the transit key of epoch {epoch} (altered, misnamed, or of another deployment)"
    )]
    DoesNotOpen {
        /// The epoch whose key was tried.
        epoch: u64,
    },
    /// Bytes that are not what they should be (a ratchet file, a header).
    #[error("{0}")]
    Malformed(String),
    /// The operating system's random source failed.
    #[error("no randomness available: {0}")]
    Random(String),
}

/// The ratchet of transit keys, as one replica keeps it: its oldest epoch and that epoch's
/// ratchet secret.
pub struct TransitRatchet {
    epoch: u64,
    secret: Zeroizing<[u8; 32]>,
}

impl TransitRatchet {
    /// The ratchet at `epoch` from its secret (the provisioning seed, or a file's).
    pub fn new(epoch: u64, secret: [u8; 32]) -> Self {
        Self {
            epoch,
            secret: Zeroizing::new(secret),
        }
    }

    /// The oldest epoch whose key this ratchet can still make.
    pub fn oldest_epoch(&self) -> u64 {
        self.epoch
    }

    /// The ratchet secret `epochs` steps ahead of the oldest.
    fn secret_ahead(&self, epochs: u64) -> Zeroizing<[u8; 32]> {
        let mut secret = self.secret.clone();
        for _ in 0..epochs {
            *secret = blake3::derive_key(RATCHET_CONTEXT, &*secret);
        }
        secret
    }

    fn steps_to(&self, epoch: u64) -> Result<u64, TransitError> {
        let steps = epoch
            .checked_sub(self.epoch)
            .ok_or(TransitError::EpochDestroyed {
                epoch,
                oldest: self.epoch,
            })?;
        if steps > MAX_EPOCHS_AHEAD {
            return Err(TransitError::EpochTooFar {
                epoch,
                oldest: self.epoch,
            });
        }
        Ok(steps)
    }

    /// The transit key of `epoch`, derived forward; an earlier epoch's is gone for good.
    pub fn key(&self, epoch: u64) -> Result<TransitKey, TransitError> {
        let secret = self.secret_ahead(self.steps_to(epoch)?);
        Ok(TransitKey {
            epoch,
            key: Zeroizing::new(blake3::derive_key(KEY_CONTEXT, &*secret)),
        })
    }

    /// The check value of the transit key of `epoch` (as a genesis message carries it): shows
    /// that two ratchets make the same keys without showing a key.
    pub fn check_value(&self, epoch: u64) -> Result<[u8; 32], TransitError> {
        Ok(check_value(&self.key(epoch)?.key))
    }

    /// Forgets every epoch before `epoch` (no-op if it is not later than the oldest): what a
    /// replica does once `close(epoch - 1 - keep)` is applied. The caller writes the new file
    /// before it relies on the old secret being gone.
    pub fn advance_to(&mut self, epoch: u64) -> Result<(), TransitError> {
        if epoch <= self.epoch {
            return Ok(());
        }
        self.secret = self.secret_ahead(self.steps_to(epoch)?);
        self.epoch = epoch;
        Ok(())
    }

    /// The file form: `u64_be(oldest epoch) || secret`.
    pub fn to_file_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut bytes = Zeroizing::new(Vec::with_capacity(RATCHET_FILE_LEN));
        bytes.extend_from_slice(&self.epoch.to_be_bytes());
        bytes.extend_from_slice(&*self.secret);
        bytes
    }

    /// Reads the file form; anything but exactly [`RATCHET_FILE_LEN`] bytes is refused.
    pub fn from_file_bytes(bytes: &[u8]) -> Result<Self, TransitError> {
        let (epoch, secret) = bytes
            .split_first_chunk::<8>()
            .filter(|(_, secret)| secret.len() == 32)
            .ok_or_else(|| {
                TransitError::Malformed(format!(
                    "a transit ratchet file has {RATCHET_FILE_LEN} bytes, not {}",
                    bytes.len()
                ))
            })?;
        let mut key = [0u8; 32];
        key.copy_from_slice(secret);
        Ok(Self::new(u64::from_be_bytes(*epoch), key))
    }
}

impl std::fmt::Debug for TransitRatchet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TransitRatchet(epoch {}, ..)", self.epoch)
    }
}

/// The transit key of one epoch.
pub struct TransitKey {
    epoch: u64,
    key: Zeroizing<[u8; 32]>,
}

impl TransitKey {
    /// Its epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    fn aad(&self, format: u32, msg_id: &str) -> Vec<u8> {
        let mut aad = TRANSIT_AAD.to_vec();
        aad.extend_from_slice(format!("{format}\n{}\n{msg_id}", self.epoch).as_bytes());
        aad
    }

    /// Seals a request's bytes for the message named `msg_id`, with a fresh random nonce.
    pub fn seal(&self, msg_id: &str, request: &[u8]) -> Result<Vec<u8>, TransitError> {
        self.seal_as(LEDGER_FORMAT, msg_id, request)
    }

    /// Seals the bytes of a message whose `Ledger-Format` header says `format`.
    pub fn seal_as(
        &self,
        format: u32,
        msg_id: &str,
        request: &[u8],
    ) -> Result<Vec<u8>, TransitError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| TransitError::Random(e.to_string()))?;
        self.seal_with_nonce(format, msg_id, request, nonce)
    }

    fn seal_with_nonce(
        &self,
        format: u32,
        msg_id: &str,
        request: &[u8],
        nonce: [u8; NONCE_LEN],
    ) -> Result<Vec<u8>, TransitError> {
        let aad = self.aad(format, msg_id);
        let sealed = XChaCha20Poly1305::new((&*self.key).into())
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: request,
                    aad: &aad,
                },
            )
            .map_err(|_| TransitError::Malformed("a request beyond the cipher's limit".into()))?;
        let mut body = Vec::with_capacity(NONCE_LEN + sealed.len());
        body.extend_from_slice(&nonce);
        body.extend_from_slice(&sealed);
        Ok(body)
    }

    /// Opens the body of the message named `msg_id`: the request's bytes, or
    /// [`TransitError::DoesNotOpen`] for any body, name or epoch that was not sealed together.
    pub fn open(&self, msg_id: &str, body: &[u8]) -> Result<Zeroizing<Vec<u8>>, TransitError> {
        self.open_as(LEDGER_FORMAT, msg_id, body)
    }

    /// Opens a body whose `Ledger-Format` header says `format`: every format keeps this
    /// envelope (the format is in the associated data), so that a replica can tell a request of a
    /// later format, which opens, from a forged one, which does not.
    pub fn open_as(
        &self,
        format: u32,
        msg_id: &str,
        body: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, TransitError> {
        let refused = TransitError::DoesNotOpen { epoch: self.epoch };
        if body.len() < NONCE_LEN + TAG_LEN {
            return Err(refused);
        }
        let (nonce, sealed) = body.split_at(NONCE_LEN);
        let aad = self.aad(format, msg_id);
        XChaCha20Poly1305::new((&*self.key).into())
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| refused)
    }
}

impl TransitKey {
    /// The tag of `close(e)` for this key's epoch `e`: `BLAKE3-keyed(T_e, "gdpr-ledger:close:v1"
    /// || u64_be(e))`. Only a holder of `T_e` can make it, and every replica makes the same, so
    /// that the replicas' copies of one close deduplicate in the stream.
    pub fn close_tag(&self) -> blake3::Hash {
        let mut hasher = blake3::Hasher::new_keyed(&self.key);
        hasher.update(CLOSE_DOMAIN);
        hasher.update(&self.epoch.to_be_bytes());
        hasher.finalize()
    }
}

impl std::fmt::Debug for TransitKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TransitKey(epoch {}, ..)", self.epoch)
    }
}

/// `BLAKE3-keyed(secret, "gdpr-ledger:replica-check:v1")`: what a genesis message carries for
/// each shared secret, so that a replica can tell whether it holds the same ones.
pub fn check_value(secret: &[u8; 32]) -> [u8; 32] {
    blake3::keyed_hash(secret, REPLICA_CHECK).into()
}

/// The transit epoch of a Unix time: whole periods of `epoch_secs` since the epoch (times before
/// 1970 are epoch 0).
pub fn epoch_of(unix_seconds: i64, epoch_secs: u64) -> u64 {
    u64::try_from(unix_seconds).unwrap_or(0) / epoch_secs.max(1)
}

/// The deployment's key of message ids.
pub struct MsgIdKey(Zeroizing<[u8; 32]>);

impl MsgIdKey {
    /// Derived from the directory secret, which every replica shares.
    pub fn derive(directory: &DirectorySecret) -> Self {
        Self(directory.derive_key(MSG_ID_KEY_CONTEXT))
    }

    /// The `Nats-Msg-Id` of a request: the same producer, kind and submission digests in the same
    /// epoch give the same id (the stream's duplicate window then drops a retry).
    pub fn msg_id(&self, producer: &str, kind: &str, digests: &[[u8; 32]], epoch: u64) -> String {
        let mut hasher = blake3::Hasher::new_keyed(&self.0);
        hasher.update(MSG_ID_DOMAIN);
        for part in [producer, kind] {
            // Lengths first, so that no producer name can spell the start of a kind.
            let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
            hasher.update(&len.to_be_bytes());
            hasher.update(part.as_bytes());
        }
        for digest in digests {
            hasher.update(digest);
        }
        format!("{}.{epoch}", hasher.finalize().to_hex())
    }
}

impl std::fmt::Debug for MsgIdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MsgIdKey(..)")
    }
}

/// The headers of a request message, parsed strictly: the format this binary applies, a decimal
/// epoch without sign or leading zero, and a message id that names the same epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeaders {
    /// `Ledger-Epoch`.
    pub epoch: u64,
    /// `Nats-Msg-Id`.
    pub msg_id: String,
}

impl RequestHeaders {
    /// Parses the `Ledger-Format`, `Ledger-Epoch` and `Nats-Msg-Id` headers.
    pub fn parse(format: &str, epoch: &str, msg_id: &str) -> Result<Self, TransitError> {
        let (value, headers) = Self::parse_any_format(format, epoch, msg_id)?;
        if value != LEDGER_FORMAT {
            return Err(TransitError::Malformed(format!(
                "Ledger-Format {format:?}: this replica applies format {LEDGER_FORMAT} only"
            )));
        }
        Ok(headers)
    }

    /// Parses the headers as [`RequestHeaders::parse`] does, but of any decimal format: the
    /// format, and the headers.
    pub fn parse_any_format(
        format: &str,
        epoch: &str,
        msg_id: &str,
    ) -> Result<(u32, Self), TransitError> {
        let malformed = |what: String| Err(TransitError::Malformed(what));
        let Some(format_value) = decimal(format).and_then(|f| u32::try_from(f).ok()) else {
            return malformed(format!("Ledger-Format {format:?} is not a decimal format"));
        };
        let Some(value) = decimal(epoch) else {
            return malformed(format!("Ledger-Epoch {epoch:?} is not a decimal epoch"));
        };
        let named = msg_id.rsplit_once('.').and_then(|(hash, e)| {
            (hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
                .then(|| decimal(e))
                .flatten()
        });
        if named != Some(value) {
            return malformed(format!(
                "Nats-Msg-Id {msg_id:?} does not name epoch {value} as `<64 hex>.<epoch>`"
            ));
        }
        Ok((
            format_value,
            Self {
                epoch: value,
                msg_id: msg_id.to_owned(),
            },
        ))
    }
}

/// The prefix of a close message's `Nats-Msg-Id`: `close.<epoch>.<hex close tag>`.
pub const CLOSE_MSG_ID_PREFIX: &str = "close.";

/// The `Nats-Msg-Id` of `close(e)` made with `T_e`.
pub fn close_msg_id(key: &TransitKey) -> String {
    format!(
        "{CLOSE_MSG_ID_PREFIX}{}.{}",
        key.epoch(),
        key.close_tag().to_hex()
    )
}

/// The epoch and tag a close message's id names, strictly (`close.<decimal epoch>.<64 hex>`);
/// `None` for anything else.
pub fn parse_close_msg_id(msg_id: &str) -> Option<(u64, blake3::Hash)> {
    let (epoch, tag) = msg_id.strip_prefix(CLOSE_MSG_ID_PREFIX)?.split_once('.')?;
    let lower_hex = tag.len() == 64 && tag.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    Some((
        decimal(epoch)?,
        lower_hex.then(|| blake3::Hash::from_hex(tag).ok())??,
    ))
}

/// A canonical decimal `u64`: digits only, no leading zero (but `0` itself).
fn decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.len() <= 20
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len() / 2)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex"))
            .collect()
    }

    fn hex32(text: &str) -> [u8; 32] {
        unhex(text).try_into().expect("32 bytes")
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// `tests/vectors/replication.json`: the ratchet, the message id and a sealed body, fixed so
    /// that any change of the format shows. The ratchet and the id were checked once against
    /// Python's `blake3` package (derive_key_context and keyed hashing), written from the text of
    /// the module docs, not from this code.
    #[test]
    fn the_vectors_hold() {
        let vectors: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/vectors/replication.json"))
                .expect("vectors parse");
        let text = |v: &serde_json::Value, k: &str| v[k].as_str().expect(k).to_owned();
        let ratchet_v = &vectors["ratchet"];
        let first = ratchet_v["epoch"].as_u64().expect("epoch");
        let ratchet = TransitRatchet::new(first, hex32(&text(ratchet_v, "seed")));
        for (i, step) in ratchet_v["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .enumerate()
        {
            let epoch = first + i as u64;
            let mut advanced = TransitRatchet::new(first, hex32(&text(ratchet_v, "seed")));
            advanced.advance_to(epoch).expect("advances");
            assert_eq!(hex(&advanced.to_file_bytes()[8..]), text(step, "ratchet"));
            assert_eq!(
                hex(&*ratchet.key(epoch).expect("key").key),
                text(step, "transit_key"),
                "epoch {epoch}"
            );
        }
        let id_v = &vectors["msg_id"];
        let key = MsgIdKey::derive(&DirectorySecret::from_bytes(hex32(&text(
            id_v,
            "directory_secret",
        ))));
        let digests: Vec<[u8; 32]> = id_v["digests"]
            .as_array()
            .expect("digests")
            .iter()
            .map(|d| hex32(d.as_str().expect("hex")))
            .collect();
        let epoch = id_v["epoch"].as_u64().expect("epoch");
        let msg_id = key.msg_id(
            &text(id_v, "producer"),
            &text(id_v, "kind"),
            &digests,
            epoch,
        );
        assert_eq!(msg_id, text(id_v, "msg_id"));

        let body_v = &vectors["body"];
        let transit = ratchet.key(epoch).expect("key");
        let nonce: [u8; NONCE_LEN] = unhex(&text(body_v, "nonce")).try_into().expect("24 bytes");
        let request = text(body_v, "request_utf8");
        let body = transit
            .seal_with_nonce(LEDGER_FORMAT, &msg_id, request.as_bytes(), nonce)
            .expect("seals");
        assert_eq!(hex(&body), text(body_v, "body"));
        assert_eq!(
            transit.open(&msg_id, &body).expect("opens").as_slice(),
            request.as_bytes()
        );
    }

    #[test]
    fn a_body_opens_only_under_its_epoch_name_and_bytes() {
        let ratchet = TransitRatchet::new(10, [7; 32]);
        let key = ratchet.key(12).expect("key");
        let id = format!("{}.12", "ab".repeat(32));
        let body = key.seal(&id, b"request").expect("seals");
        assert_eq!(key.open(&id, &body).expect("opens").as_slice(), b"request");
        let other_id = format!("{}.12", "cd".repeat(32));
        assert!(key.open(&other_id, &body).is_err(), "another name");
        assert!(
            ratchet.key(13).expect("key").open(&id, &body).is_err(),
            "another epoch"
        );
        assert!(
            TransitRatchet::new(10, [8; 32])
                .key(12)
                .expect("key")
                .open(&id, &body)
                .is_err(),
            "another deployment"
        );
        // Every single-bit change and every cut is refused, never a panic.
        for bit in 0..body.len() * 8 {
            let mut altered = body.clone();
            altered[bit / 8] ^= 1 << (bit % 8);
            assert!(matches!(
                key.open(&id, &altered),
                Err(TransitError::DoesNotOpen { epoch: 12 })
            ));
        }
        for cut in 0..body.len() {
            assert!(key.open(&id, &body[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn the_ratchet_goes_forward_only_and_its_file_round_trips() {
        let mut ratchet = TransitRatchet::new(100, [3; 32]);
        let key_105 = hex(&*ratchet.key(105).expect("key").key);
        ratchet.advance_to(103).expect("advances");
        assert_eq!(ratchet.oldest_epoch(), 103);
        assert_eq!(hex(&*ratchet.key(105).expect("key").key), key_105);
        assert_eq!(
            ratchet.key(102).map(|_| ()),
            Err(TransitError::EpochDestroyed {
                epoch: 102,
                oldest: 103
            })
        );
        ratchet.advance_to(50).expect("going back is a no-op");
        assert_eq!(ratchet.oldest_epoch(), 103);
        assert_eq!(
            ratchet.key(103 + MAX_EPOCHS_AHEAD + 1).map(|_| ()),
            Err(TransitError::EpochTooFar {
                epoch: 103 + MAX_EPOCHS_AHEAD + 1,
                oldest: 103
            })
        );
        let file = ratchet.to_file_bytes();
        let read = TransitRatchet::from_file_bytes(&file).expect("reads");
        assert_eq!(read.oldest_epoch(), 103);
        assert_eq!(hex(&*read.key(105).expect("key").key), key_105);
        for len in [0, 8, 39, 41] {
            let bytes = vec![1u8; len];
            assert!(
                TransitRatchet::from_file_bytes(&bytes).is_err(),
                "{len} bytes"
            );
        }
    }

    #[test]
    fn a_close_id_is_made_only_with_its_epochs_key_and_parses_strictly() {
        let ratchet = TransitRatchet::new(40, [7; 32]);
        let id = close_msg_id(&ratchet.key(41).expect("key"));
        let (epoch, tag) = parse_close_msg_id(&id).expect("parses");
        assert_eq!(epoch, 41);
        assert_eq!(tag, ratchet.key(41).expect("key").close_tag());
        // Another epoch's key, another deployment's ratchet: another tag.
        assert_ne!(tag, ratchet.key(42).expect("key").close_tag());
        assert_ne!(
            tag,
            TransitRatchet::new(40, [8; 32])
                .key(41)
                .expect("key")
                .close_tag()
        );
        let hex_tag = tag.to_hex();
        for bad in [
            format!("close.041.{hex_tag}"),
            format!("close.41.{}", hex_tag.to_uppercase()),
            format!("close.41.{}", &hex_tag[..63]),
            format!("close.41.{hex_tag}.1"),
            format!("close.-1.{hex_tag}"),
            format!("closed.41.{hex_tag}"),
            "close.41".to_owned(),
        ] {
            assert_eq!(parse_close_msg_id(&bad), None, "{bad}");
        }
    }

    #[test]
    fn message_ids_depend_on_every_part_and_headers_parse_strictly() {
        let key = MsgIdKey::derive(&DirectorySecret::from_bytes([1; 32]));
        let base = key.msg_id("crm", "append", &[[2; 32]], 7);
        assert!(base.ends_with(".7"));
        assert_eq!(key.msg_id("crm", "append", &[[2; 32]], 7), base);
        for other in [
            key.msg_id("crma", "ppend", &[[2; 32]], 7),
            key.msg_id("crm", "append", &[[3; 32]], 7),
            key.msg_id("crm", "append", &[[2; 32], [2; 32]], 7),
            key.msg_id("crm", "erase", &[[2; 32]], 7),
            key.msg_id("crm", "append", &[[2; 32]], 8),
            MsgIdKey::derive(&DirectorySecret::from_bytes([9; 32])).msg_id(
                "crm",
                "append",
                &[[2; 32]],
                7,
            ),
        ] {
            assert_ne!(other, base);
        }
        let parsed = RequestHeaders::parse("1", "7", &base).expect("parses");
        assert_eq!(parsed.epoch, 7);
        for (format, epoch, id) in [
            ("2", "7", base.as_str()),
            ("1", "07", base.as_str()),
            ("1", "+7", base.as_str()),
            ("1", "8", base.as_str()),
            ("1", "", base.as_str()),
            ("1", "7", "abc.7"),
            ("1", "7", &base[..base.len() - 2]),
            ("1", "99999999999999999999999", base.as_str()),
        ] {
            assert!(
                RequestHeaders::parse(format, epoch, id).is_err(),
                "{format} {epoch} {id}"
            );
        }
        assert_eq!(epoch_of(1_200, 600), 2);
        assert_eq!(epoch_of(-5, 600), 0);
        assert_eq!(epoch_of(5, 0), 5);
    }
}
