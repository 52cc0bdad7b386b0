//! The subject index's hashing (docs/subject-index.md, "Hashing"): its own domain-separation
//! bytes, distinct from the log tree's `0x00`/`0x01` (SPEC.md section 2), and one constant for
//! every empty subtree.

use super::head::{SUBJECT_HEAD_LEN, SubjectHead};
use crate::core::directory::SubjectToken;
use crate::core::hash::{HASH_LEN, NodeHash, RootHash};

/// Domain-separation byte of a leaf: `BLAKE3(0x10 || token || head)`.
pub const SUBJECT_LEAF_PREFIX: u8 = 0x10;
/// Domain-separation byte of an interior node: `BLAKE3(0x11 || left || right)`.
pub const SUBJECT_INTERIOR_PREFIX: u8 = 0x11;
/// The number of bits of a token, hence the greatest depth of the tree.
pub const TOKEN_BITS: u16 = 256;

/// The hash of every empty subtree, at any depth, and so the root of the empty index: 32 zero
/// bytes. One constant suffices because the compression rule makes a subtree's hash depend only
/// on the keys below it (a leaf binds its whole token), never on its depth; and no proof can be
/// built on it, since a node or leaf hashing to zero would be a BLAKE3 preimage.
pub const EMPTY_SUBTREE_HASH: NodeHash = NodeHash::from_bytes([0u8; HASH_LEN]);

/// `BLAKE3(0x10 || token || u64_be(count) || u64_be(last_index) || last_leaf)`: 81 bytes hashed.
pub fn subject_leaf_hash(token: &SubjectToken, head: &SubjectHead) -> NodeHash {
    let mut buf = [0u8; 1 + HASH_LEN + SUBJECT_HEAD_LEN];
    buf[0] = SUBJECT_LEAF_PREFIX;
    buf[1..1 + HASH_LEN].copy_from_slice(token.as_bytes());
    buf[1 + HASH_LEN..].copy_from_slice(&head.to_bytes());
    NodeHash::from_bytes(*blake3::hash(&buf).as_bytes())
}

/// `BLAKE3(0x11 || left || right)`: the children's hashes, the empty constant included as is.
pub fn subject_interior_hash(left: &NodeHash, right: &NodeHash) -> NodeHash {
    let mut buf = [0u8; 1 + 2 * HASH_LEN];
    buf[0] = SUBJECT_INTERIOR_PREFIX;
    buf[1..1 + HASH_LEN].copy_from_slice(left.as_bytes());
    buf[1 + HASH_LEN..].copy_from_slice(right.as_bytes());
    NodeHash::from_bytes(*blake3::hash(&buf).as_bytes())
}

/// The root of the index that holds no token: [`EMPTY_SUBTREE_HASH`].
pub const fn empty_index_root() -> RootHash {
    RootHash::from_bytes(*EMPTY_SUBTREE_HASH.as_bytes())
}

/// Bit `i` of a token, most significant bit of byte 0 first: 0 goes left, 1 goes right.
/// `i` must be below [`TOKEN_BITS`].
pub(crate) fn token_bit(token: &SubjectToken, i: u16) -> u8 {
    let i = usize::from(i);
    (token.as_bytes()[i / 8] >> (7 - i % 8)) & 1
}

/// How many leading bits two tokens share (256 when they are equal).
pub(crate) fn common_prefix_bits(a: &SubjectToken, b: &SubjectToken) -> u16 {
    for (i, (x, y)) in a.as_bytes().iter().zip(b.as_bytes()).enumerate() {
        let differ = x ^ y;
        if differ != 0 {
            // At most 31 * 8 + 7 = 255: fits in a u16.
            return (i * 8) as u16 + differ.leading_zeros() as u16;
        }
    }
    TOKEN_BITS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::hash::{LEAF_PREFIX, NODE_PREFIX, leaf_hash};

    #[test]
    fn prefixes_differ_from_the_log_tree() {
        for prefix in [SUBJECT_LEAF_PREFIX, SUBJECT_INTERIOR_PREFIX] {
            assert_ne!(prefix, LEAF_PREFIX);
            assert_ne!(prefix, NODE_PREFIX);
        }
        assert_ne!(SUBJECT_LEAF_PREFIX, SUBJECT_INTERIOR_PREFIX);
    }

    #[test]
    fn leaf_hash_covers_token_and_head_bytes() {
        let token = SubjectToken::from_bytes([7; 32]);
        let head = SubjectHead {
            count: 2,
            last_index: 40,
            last_leaf: leaf_hash(b"entry-40"),
        };
        let mut input = vec![0x10];
        input.extend_from_slice(token.as_bytes());
        input.extend_from_slice(&2u64.to_be_bytes());
        input.extend_from_slice(&40u64.to_be_bytes());
        input.extend_from_slice(head.last_leaf.as_bytes());
        assert_eq!(input.len(), 81);
        assert_eq!(
            subject_leaf_hash(&token, &head).as_bytes(),
            blake3::hash(&input).as_bytes()
        );
        let other = SubjectHead { count: 3, ..head };
        assert_ne!(
            subject_leaf_hash(&token, &head),
            subject_leaf_hash(&token, &other)
        );
    }

    #[test]
    fn bits_are_most_significant_first() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0b1000_0001;
        bytes[31] = 0b0000_0001;
        let token = SubjectToken::from_bytes(bytes);
        assert_eq!(token_bit(&token, 0), 1);
        assert_eq!(token_bit(&token, 1), 0);
        assert_eq!(token_bit(&token, 7), 1);
        assert_eq!(token_bit(&token, 254), 0);
        assert_eq!(token_bit(&token, 255), 1);
        let zero = SubjectToken::from_bytes([0; 32]);
        assert_eq!(common_prefix_bits(&token, &zero), 0);
        assert_eq!(common_prefix_bits(&zero, &zero), 256);
        let mut last = [0u8; 32];
        last[31] = 1;
        assert_eq!(
            common_prefix_bits(&zero, &SubjectToken::from_bytes(last)),
            255
        );
    }
}
