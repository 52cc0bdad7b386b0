//! The stored nodes of the compressed tree and their byte encoding (docs/subject-index.md,
//! "Storage").
//!
//! Compression rule: a subtree holding no token is [`SubtreeRef::Empty`] and is not stored; a
//! subtree holding exactly one token is that token's [`IndexNode::Leaf`], placed at the top of the
//! subtree; only a subtree holding two or more tokens is an [`IndexNode::Interior`]. A tree of `n`
//! random tokens thus has `n` leaves and about `1.44 n` interior nodes.

use super::hashing::{EMPTY_SUBTREE_HASH, subject_interior_hash, subject_leaf_hash};
use super::head::{SUBJECT_HEAD_LEN, SubjectHead};
use crate::core::directory::SubjectToken;
use crate::core::hash::{HASH_LEN, NodeHash};

/// Tag of a leaf in [`IndexNode::to_bytes`].
const LEAF_TAG: u8 = 0x00;
/// Tag of an interior node in [`IndexNode::to_bytes`].
const INTERIOR_TAG: u8 = 0x01;
/// Tag of an empty child.
const EMPTY_CHILD_TAG: u8 = 0x00;
/// Tag of a stored child.
const STORED_CHILD_TAG: u8 = 0x01;
/// Length of an encoded leaf: tag, token, head.
const LEAF_LEN: usize = 1 + 32 + SUBJECT_HEAD_LEN;

/// A subtree as its parent (or a version's root record) refers to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubtreeRef {
    /// No token below: hashes to [`EMPTY_SUBTREE_HASH`], nothing is stored.
    Empty,
    /// A stored node, written by `version` at the subtree's position, whose hash is `hash`.
    Stored {
        /// The version that wrote the node (the first half of its [`super::NodeKey`]).
        version: u64,
        /// The node's hash, kept in the parent so that proofs read siblings from their parents.
        hash: NodeHash,
    },
}

impl SubtreeRef {
    /// The subtree's hash.
    pub fn hash(&self) -> NodeHash {
        match self {
            Self::Empty => EMPTY_SUBTREE_HASH,
            Self::Stored { hash, .. } => *hash,
        }
    }
}

/// A stored node. Immutable once written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexNode {
    /// The only token of its subtree, with its head.
    Leaf {
        /// The subject token (the key).
        token: SubjectToken,
        /// Its head (the value).
        head: SubjectHead,
    },
    /// A subtree of two or more tokens: the children for bit 0 and bit 1 at this depth.
    Interior {
        /// The subtree of tokens whose next bit is 0.
        left: SubtreeRef,
        /// The subtree of tokens whose next bit is 1.
        right: SubtreeRef,
    },
}

/// Bytes that are not an [`IndexNode`] encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NodeDecodeError {
    /// The first byte is neither the leaf nor the interior tag.
    #[error("unknown node tag {0:#04x}")]
    UnknownTag(u8),
    /// A child's tag is neither empty nor stored.
    #[error("unknown child tag {0:#04x}")]
    UnknownChildTag(u8),
    /// The bytes end early or go on after the node.
    #[error("a node encoding has the wrong length {0}")]
    Length(usize),
    /// Both children of an interior node are empty, which the compression rule never writes.
    #[error("an interior node has two empty children")]
    EmptyInterior,
    /// An interior node at the greatest depth, where only leaves can be.
    #[error("an interior node at the greatest depth")]
    InteriorTooDeep,
    /// A page's reference to another page names its version as a difference that is not a
    /// shortest varint or goes back before version 0.
    #[error("a reference to another page has a malformed version")]
    ChildVersion,
}

impl IndexNode {
    /// The node's hash: the leaf hash, or the interior hash of its children's hashes.
    pub fn hash(&self) -> NodeHash {
        match self {
            Self::Leaf { token, head } => subject_leaf_hash(token, head),
            Self::Interior { left, right } => subject_interior_hash(&left.hash(), &right.hash()),
        }
    }

    /// The storage encoding: a leaf is `0x00 || token || head` (81 bytes); an interior node is
    /// `0x01 || child(left) || child(right)`, a child being `0x00` (empty) or
    /// `0x01 || u64_be(version) || hash` (stored).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(1 + 2 * (1 + 8 + HASH_LEN));
        self.write_to(&mut bytes);
        bytes
    }

    /// Appends the encoding of [`IndexNode::to_bytes`] to `bytes` (no allocation when it fits).
    pub fn write_to(&self, bytes: &mut Vec<u8>) {
        match self {
            Self::Leaf { token, head } => {
                bytes.push(LEAF_TAG);
                bytes.extend_from_slice(token.as_bytes());
                bytes.extend_from_slice(&head.to_bytes());
            }
            Self::Interior { left, right } => {
                bytes.push(INTERIOR_TAG);
                for child in [left, right] {
                    match child {
                        SubtreeRef::Empty => bytes.push(EMPTY_CHILD_TAG),
                        SubtreeRef::Stored { version, hash } => {
                            bytes.push(STORED_CHILD_TAG);
                            bytes.extend_from_slice(&version.to_be_bytes());
                            bytes.extend_from_slice(hash.as_bytes());
                        }
                    }
                }
            }
        }
    }

    /// The inverse of [`IndexNode::to_bytes`], strict: exact length, known tags, no interior node
    /// with two empty children.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, NodeDecodeError> {
        let length = NodeDecodeError::Length(bytes.len());
        let (&tag, rest) = bytes.split_first().ok_or(length)?;
        match tag {
            LEAF_TAG => {
                if bytes.len() != LEAF_LEN {
                    return Err(length);
                }
                let (token, head) = rest.split_at(32);
                Ok(Self::Leaf {
                    token: SubjectToken::from_slice(token).map_err(|_| length)?,
                    head: SubjectHead::from_bytes(head).map_err(|_| length)?,
                })
            }
            INTERIOR_TAG => {
                let (left, rest) = decode_child(rest).ok_or(length)??;
                let (right, rest) = decode_child(rest).ok_or(length)??;
                if !rest.is_empty() {
                    return Err(length);
                }
                if left == SubtreeRef::Empty && right == SubtreeRef::Empty {
                    return Err(NodeDecodeError::EmptyInterior);
                }
                Ok(Self::Interior { left, right })
            }
            other => Err(NodeDecodeError::UnknownTag(other)),
        }
    }
}

/// One child reference and the bytes after it; `None` when the bytes end early.
fn decode_child(bytes: &[u8]) -> Option<Result<(SubtreeRef, &[u8]), NodeDecodeError>> {
    let (&tag, rest) = bytes.split_first()?;
    match tag {
        EMPTY_CHILD_TAG => Some(Ok((SubtreeRef::Empty, rest))),
        STORED_CHILD_TAG => {
            if rest.len() < 8 + HASH_LEN {
                return None;
            }
            let (version, rest) = rest.split_at(8);
            let (hash, rest) = rest.split_at(HASH_LEN);
            let mut version_bytes = [0u8; 8];
            version_bytes.copy_from_slice(version);
            let hash = NodeHash::from_slice(hash).ok()?;
            Some(Ok((
                SubtreeRef::Stored {
                    version: u64::from_be_bytes(version_bytes),
                    hash,
                },
                rest,
            )))
        }
        other => Some(Err(NodeDecodeError::UnknownChildTag(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::hash::leaf_hash;

    fn stored(i: u8) -> SubtreeRef {
        SubtreeRef::Stored {
            version: u64::from(i) << 40,
            hash: NodeHash::from(leaf_hash(&[i])),
        }
    }

    #[test]
    fn encodings_round_trip() {
        let nodes = [
            IndexNode::Leaf {
                token: SubjectToken::from_bytes([3; 32]),
                head: SubjectHead {
                    count: 1,
                    last_index: 0,
                    last_leaf: leaf_hash(b"entry-0"),
                },
            },
            IndexNode::Interior {
                left: stored(1),
                right: stored(2),
            },
            IndexNode::Interior {
                left: SubtreeRef::Empty,
                right: stored(2),
            },
            IndexNode::Interior {
                left: stored(1),
                right: SubtreeRef::Empty,
            },
        ];
        for node in nodes {
            let bytes = node.to_bytes();
            assert_eq!(IndexNode::from_bytes(&bytes), Ok(node));
            for cut in 0..bytes.len() {
                assert!(IndexNode::from_bytes(&bytes[..cut]).is_err(), "cut {cut}");
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(IndexNode::from_bytes(&longer).is_err());
        }
        assert_eq!(
            IndexNode::from_bytes(&[1, 0, 0]),
            Err(NodeDecodeError::EmptyInterior)
        );
        assert_eq!(
            IndexNode::from_bytes(&[2]),
            Err(NodeDecodeError::UnknownTag(2))
        );
        assert_eq!(
            IndexNode::from_bytes(&[1, 2, 0]),
            Err(NodeDecodeError::UnknownChildTag(2))
        );
    }

    #[test]
    fn interior_hash_uses_the_empty_constant() {
        let node = IndexNode::Interior {
            left: SubtreeRef::Empty,
            right: stored(5),
        };
        assert_eq!(
            node.hash(),
            subject_interior_hash(&EMPTY_SUBTREE_HASH, &stored(5).hash())
        );
    }
}
