//! BLAKE3 hashes of the Merkle tree (SPEC.md section 2, RFC 9162 section 2.1 with BLAKE3).
//!
//! Three newtypes over 32 bytes keep the roles apart: a [`LeafHash`] is what an entry hashes to, a
//! [`NodeHash`] is any subtree's hash inside a proof or the store, and a [`RootHash`] is the hash a
//! checkpoint commits to. Conversions between them are explicit.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Domain-separation byte of a leaf hash: `BLAKE3(0x00 || entry_bytes)`.
pub const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation byte of an interior node: `BLAKE3(0x01 || left || right)`.
pub const NODE_PREFIX: u8 = 0x01;
/// Length of every hash, in bytes.
pub const HASH_LEN: usize = 32;

/// A hash that could not be decoded from text or bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashDecodeError {
    /// Not strict standard base64 (RFC 4648 section 4, canonical padding and trailing bits).
    #[error("not canonical base64: {0}")]
    Base64(String),
    /// Decoded to the wrong number of bytes.
    #[error("a hash is {HASH_LEN} bytes, got {0}")]
    Length(usize),
}

macro_rules! hash_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; HASH_LEN]);

        impl $name {
            /// Wraps 32 raw bytes.
            pub const fn from_bytes(bytes: [u8; HASH_LEN]) -> Self {
                Self(bytes)
            }

            /// Wraps a slice that must be exactly 32 bytes long.
            pub fn from_slice(bytes: &[u8]) -> Result<Self, HashDecodeError> {
                let array: [u8; HASH_LEN] = bytes
                    .try_into()
                    .map_err(|_| HashDecodeError::Length(bytes.len()))?;
                Ok(Self(array))
            }

            /// The 32 raw bytes.
            pub const fn as_bytes(&self) -> &[u8; HASH_LEN] {
                &self.0
            }

            /// Standard base64 with padding, as hashes appear in text (SPEC.md conventions).
            pub fn to_base64(&self) -> String {
                STANDARD.encode(self.0)
            }

            /// Decodes strict standard base64 of exactly 32 bytes.
            pub fn from_base64(text: &str) -> Result<Self, HashDecodeError> {
                let bytes = STANDARD
                    .decode(text)
                    .map_err(|e| HashDecodeError::Base64(e.to_string()))?;
                Self::from_slice(&bytes)
            }

            /// Lowercase hex, for logs and keys.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_base64())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.to_base64())
            }
        }
    };
}

hash_newtype!(
    /// The hash of one entry: `BLAKE3(0x00 || entry_bytes)`.
    LeafHash
);
hash_newtype!(
    /// The hash of a subtree (a leaf, or `BLAKE3(0x01 || left || right)`), as stored and in proofs.
    NodeHash
);
hash_newtype!(
    /// The hash of a whole tree of some size: what a checkpoint signs.
    RootHash
);

impl From<LeafHash> for NodeHash {
    /// A leaf is the subtree of size one.
    fn from(leaf: LeafHash) -> Self {
        NodeHash(leaf.0)
    }
}

impl From<NodeHash> for RootHash {
    /// The hash of the subtree that spans the whole tree.
    fn from(node: NodeHash) -> Self {
        RootHash(node.0)
    }
}

/// The digest an entry's `event.details_digest` holds: `BLAKE3(sealed details)`, the plain hash of
/// the details' ciphertext (`docs/erasure.md`). Proofs never depend on the ciphertext or its key,
/// which erasure destroys; while the ciphertext exists, anyone can check it against the entry.
pub fn details_digest(sealed_details: &[u8]) -> [u8; 32] {
    *blake3::hash(sealed_details).as_bytes()
}

/// `BLAKE3(0x00 || entry_bytes)`.
pub fn leaf_hash(entry_bytes: &[u8]) -> LeafHash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[LEAF_PREFIX]);
    hasher.update(entry_bytes);
    LeafHash(*hasher.finalize().as_bytes())
}

/// `BLAKE3(0x01 || left || right)`.
pub fn node_hash(left: &NodeHash, right: &NodeHash) -> NodeHash {
    let mut buf = [0u8; 1 + 2 * HASH_LEN];
    buf[0] = NODE_PREFIX;
    buf[1..1 + HASH_LEN].copy_from_slice(&left.0);
    buf[1 + HASH_LEN..].copy_from_slice(&right.0);
    NodeHash(*blake3::hash(&buf).as_bytes())
}

/// The root of the empty tree: `BLAKE3("")`, with no prefix.
pub fn empty_root() -> RootHash {
    RootHash(*blake3::hash(b"").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_and_strictness() {
        let h = leaf_hash(b"entry-0");
        assert_eq!(LeafHash::from_base64(&h.to_base64()), Ok(h));
        // 32 bytes are 43 base64 digits and one '='; the last digit carries 2 unused bits. Setting
        // one of them gives the same bytes to a lenient decoder; a strict one refuses it.
        let text = h.to_base64();
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let last = text.as_bytes()[42];
        let value = alphabet
            .iter()
            .position(|&c| c == last)
            .expect("base64 digit");
        let mut lenient = text.clone().into_bytes();
        lenient[42] = alphabet[value ^ 1];
        let lenient = String::from_utf8(lenient).expect("ascii");
        assert!(matches!(
            LeafHash::from_base64(&lenient),
            Err(HashDecodeError::Base64(_))
        ));
        assert!(LeafHash::from_base64(text.trim_end_matches('=')).is_err());
        assert!(matches!(
            LeafHash::from_base64("AAAA"),
            Err(HashDecodeError::Length(3))
        ));
        assert!(matches!(
            LeafHash::from_base64("not base64!"),
            Err(HashDecodeError::Base64(_))
        ));
    }

    #[test]
    fn hashing_is_domain_separated() {
        let left = NodeHash::from(leaf_hash(b"a"));
        let right = NodeHash::from(leaf_hash(b"b"));
        let mut concatenated = vec![NODE_PREFIX];
        concatenated.extend_from_slice(left.as_bytes());
        concatenated.extend_from_slice(right.as_bytes());
        assert_eq!(
            node_hash(&left, &right).as_bytes(),
            blake3::hash(&concatenated).as_bytes()
        );
        // A leaf whose bytes look like a node is still a leaf: the prefixes differ.
        assert_ne!(
            leaf_hash(&concatenated[1..]).as_bytes(),
            node_hash(&left, &right).as_bytes()
        );
        assert_eq!(empty_root().as_bytes(), blake3::hash(b"").as_bytes());
    }
}
