//! Where a stored node sits: its position in the tree ([`NodePath`]) and the version that wrote it
//! ([`NodeKey`]). Nodes are immutable: a version that changes a node writes a new one under its
//! own version, so every retained version stays readable until it is pruned.

use super::hashing::{TOKEN_BITS, token_bit};
use crate::core::directory::SubjectToken;

/// Length of [`NodeKey::to_key_bytes`]: version (8), depth (2), path bits (32).
pub const NODE_KEY_LEN: usize = 8 + 2 + 32;

/// Binary levels one stored page holds (docs/subject-index.md section 8): a page is the nodes of
/// one version from a depth that is a multiple of this down to, not including, the next such
/// depth, stored as one row.
pub const PAGE_LEVELS: u16 = 4;
/// Length of the bit field of a [`NodePath`].
const PATH_BYTES: usize = 32;

/// A storage key that names no node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NodeKeyError {
    /// The key is not [`NODE_KEY_LEN`] bytes long.
    #[error("a subject-index node key is {NODE_KEY_LEN} bytes, got {0}")]
    KeyLength(usize),
    /// The depth is above 256.
    #[error("depth {0} is above {TOKEN_BITS}")]
    DepthTooLarge(u16),
    /// A bit beyond the depth is set, so the same node would have two keys.
    #[error("a path bit beyond depth {0} is set")]
    BitsBeyondDepth(u16),
}

/// A position in the tree: the first `depth` bits of every token below it (most significant bit
/// of byte 0 first). The root is depth 0; a leaf can sit as deep as 256. Bits beyond `depth` are
/// always zero.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodePath {
    depth: u16,
    bits: [u8; PATH_BYTES],
}

impl NodePath {
    /// The root of the tree.
    pub const ROOT: Self = Self {
        depth: 0,
        bits: [0; PATH_BYTES],
    };

    /// The path of `depth` bits given in `bits` (most significant first); the bits beyond `depth`
    /// must be zero.
    pub fn new(depth: u16, bits: [u8; PATH_BYTES]) -> Result<Self, NodeKeyError> {
        if depth > TOKEN_BITS {
            return Err(NodeKeyError::DepthTooLarge(depth));
        }
        let path = Self::prefix_of(&SubjectToken::from_bytes(bits), depth);
        if path.bits != bits {
            return Err(NodeKeyError::BitsBeyondDepth(depth));
        }
        Ok(path)
    }

    /// The first `depth` bits of `token`, `depth` at most 256.
    pub(crate) fn prefix_of(token: &SubjectToken, depth: u16) -> Self {
        let depth = depth.min(TOKEN_BITS);
        let mut bits = *token.as_bytes();
        let whole = usize::from(depth / 8);
        let rest = depth % 8;
        if whole < PATH_BYTES {
            // Keep the top `rest` bits of the partial byte, clear everything after it.
            bits[whole] &= !(0xffu8.checked_shr(u32::from(rest)).unwrap_or(0));
            bits[whole + 1..].fill(0);
        }
        Self { depth, bits }
    }

    /// How many bits the path fixes.
    pub const fn depth(&self) -> u16 {
        self.depth
    }

    /// The path's bits, zero beyond [`NodePath::depth`].
    pub const fn bits(&self) -> &[u8; PATH_BYTES] {
        &self.bits
    }

    /// The child on side `bit` (0 left, 1 right). The caller guarantees `depth < 256`.
    pub(crate) fn child(&self, bit: u8) -> Self {
        let i = usize::from(self.depth);
        let mut bits = self.bits;
        if bit == 1 {
            bits[i / 8] |= 0x80 >> (i % 8);
        }
        Self {
            depth: self.depth + 1,
            bits,
        }
    }

    /// Whether `token`'s first `depth` bits are this path: the token belongs below it.
    pub fn holds(&self, token: &SubjectToken) -> bool {
        Self::prefix_of(token, self.depth) == *self
    }

    /// Whether a page starts here: the depth is a multiple of [`PAGE_LEVELS`] (the root, 4, 8,
    /// ..., 256).
    pub const fn is_page_top(&self) -> bool {
        self.depth.is_multiple_of(PAGE_LEVELS)
    }

    /// The top of the page that holds this position: the prefix at the multiple of
    /// [`PAGE_LEVELS`] at or above the depth.
    pub fn page_top(&self) -> Self {
        Self::prefix_of(
            &SubjectToken::from_bytes(self.bits),
            self.depth - self.depth % PAGE_LEVELS,
        )
    }
}

impl std::fmt::Debug for NodePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl std::fmt::Display for NodePath {
    /// `depth:bits`, the bits as binary digits (the root is `0:`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:", self.depth)?;
        let token = SubjectToken::from_bytes(self.bits);
        for i in 0..self.depth {
            write!(f, "{}", token_bit(&token, i))?;
        }
        Ok(())
    }
}

/// The storage key of one node: the version that wrote it and its position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeKey {
    /// The version (commit) that wrote the node; it never changes afterwards.
    pub version: u64,
    /// The node's position.
    pub path: NodePath,
}

impl NodeKey {
    /// `u64_be(version) || u16_be(depth) || bits` (42 bytes): a key-value store keeps each
    /// version's nodes together, in the order they were written.
    pub fn to_key_bytes(&self) -> [u8; NODE_KEY_LEN] {
        let mut key = [0u8; NODE_KEY_LEN];
        key[..8].copy_from_slice(&self.version.to_be_bytes());
        key[8..10].copy_from_slice(&self.path.depth.to_be_bytes());
        key[10..].copy_from_slice(&self.path.bits);
        key
    }

    /// The inverse of [`NodeKey::to_key_bytes`]; rejects a wrong length, a depth above 256 and
    /// set bits beyond the depth.
    pub fn from_key_bytes(key: &[u8]) -> Result<Self, NodeKeyError> {
        let key: &[u8; NODE_KEY_LEN] = key
            .try_into()
            .map_err(|_| NodeKeyError::KeyLength(key.len()))?;
        let mut version = [0u8; 8];
        version.copy_from_slice(&key[..8]);
        let depth = u16::from_be_bytes([key[8], key[9]]);
        let mut bits = [0u8; PATH_BYTES];
        bits.copy_from_slice(&key[10..]);
        Ok(Self {
            version: u64::from_be_bytes(version),
            path: NodePath::new(depth, bits)?,
        })
    }
}

impl std::fmt::Display for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "subject-index node {} of version {}",
            self.path, self.version
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_clear_bits_beyond_depth() {
        let token = SubjectToken::from_bytes([0xff; 32]);
        let path = NodePath::prefix_of(&token, 10);
        assert_eq!(path.bits()[0], 0xff);
        assert_eq!(path.bits()[1], 0b1100_0000);
        assert!(path.bits()[2..].iter().all(|&b| b == 0));
        assert_eq!(NodePath::prefix_of(&token, 256).bits(), &[0xff; 32]);
        assert_eq!(NodePath::prefix_of(&token, 0), NodePath::ROOT);
        assert!(path.holds(&token));
        assert!(!path.holds(&SubjectToken::from_bytes([0; 32])));
        assert_eq!(path.to_string(), "10:1111111111");
    }

    #[test]
    fn children_extend_the_path() {
        let token = SubjectToken::from_bytes([0b1010_0000; 32]);
        let mut path = NodePath::ROOT;
        for depth in 0..256 {
            path = path.child(token_bit(&token, depth));
            assert_eq!(path, NodePath::prefix_of(&token, depth + 1));
        }
        assert_eq!(path.depth(), 256);
    }

    #[test]
    fn key_bytes_round_trip_and_are_strict() {
        let key = NodeKey {
            version: 77,
            path: NodePath::prefix_of(&SubjectToken::from_bytes([0xa5; 32]), 13),
        };
        let bytes = key.to_key_bytes();
        assert_eq!(&bytes[..8], &77u64.to_be_bytes());
        assert_eq!(&bytes[8..10], &[0, 13]);
        assert_eq!(NodeKey::from_key_bytes(&bytes), Ok(key));
        assert_eq!(
            NodeKey::from_key_bytes(&bytes[1..]),
            Err(NodeKeyError::KeyLength(41))
        );
        let mut beyond = bytes;
        beyond[41] = 1;
        assert_eq!(
            NodeKey::from_key_bytes(&beyond),
            Err(NodeKeyError::BitsBeyondDepth(13))
        );
        let mut deep = bytes;
        deep[8..10].copy_from_slice(&257u16.to_be_bytes());
        assert_eq!(
            NodeKey::from_key_bytes(&deep),
            Err(NodeKeyError::DepthTooLarge(257))
        );
    }
}
