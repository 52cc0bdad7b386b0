//! Names of the perfect subtrees that the tree stores.

/// The key length of a [`NodeId`]: one level byte and a big-endian 64-bit index.
pub const NODE_KEY_LEN: usize = 9;

/// The highest level a perfect subtree can have: a tree size is a `u64`, so the largest perfect
/// subtree that fits holds `2^63` leaves.
pub const MAX_LEVEL: u8 = 63;

/// A perfect (complete) subtree of the log: the `2^level` leaves
/// `[index << level, (index + 1) << level)`. Level 0 is a single leaf, whose `index` is the leaf
/// index.
///
/// Only perfect subtrees are ever stored: their hash never changes once their last leaf is
/// appended. The hash of any other subtree of RFC 9162's tree (on the right edge of a tree whose
/// size is not a power of two) is folded from perfect ones when needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    level: u8,
    index: u64,
}

/// A [`NodeId`] that names no subtree of a tree whose size fits in a `u64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NodeIdError {
    /// The level is above [`MAX_LEVEL`].
    #[error("node level {level} is above the maximum {MAX_LEVEL}")]
    LevelTooHigh {
        /// The level given.
        level: u8,
    },
    /// The subtree's last leaf would be beyond the largest leaf index a `u64` size allows.
    #[error("node {index} at level {level} ends beyond the largest possible tree")]
    IndexTooHigh {
        /// The level given.
        level: u8,
        /// The index given.
        index: u64,
    },
    /// A key was not [`NODE_KEY_LEN`] bytes long.
    #[error("a node key is {NODE_KEY_LEN} bytes, got {0}")]
    KeyLength(usize),
}

impl NodeId {
    /// The subtree of `2^level` leaves starting at leaf `index << level`, if it fits in a tree
    /// whose size is a `u64` (its end, `(index + 1) << level`, is at most `u64::MAX`).
    pub fn new(level: u8, index: u64) -> Result<Self, NodeIdError> {
        if level > MAX_LEVEL {
            return Err(NodeIdError::LevelTooHigh { level });
        }
        let end = (u128::from(index) + 1) << level;
        if end > u128::from(u64::MAX) {
            return Err(NodeIdError::IndexTooHigh { level, index });
        }
        Ok(Self { level, index })
    }

    /// The leaf at `index`. Leaf `u64::MAX` cannot exist (the tree would need `2^64` leaves), so
    /// this returns the same errors as [`NodeId::new`].
    pub fn leaf(index: u64) -> Result<Self, NodeIdError> {
        Self::new(0, index)
    }

    /// For callers that have already established the invariant of [`NodeId::new`].
    pub(crate) const fn new_unchecked(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// The height of the subtree: it holds `2^level` leaves.
    pub const fn level(&self) -> u8 {
        self.level
    }

    /// The position of the subtree among those of its level, from the left.
    pub const fn index(&self) -> u64 {
        self.index
    }

    /// The index of the subtree's first leaf.
    pub const fn first_leaf(&self) -> u64 {
        self.index << self.level
    }

    /// One past the index of the subtree's last leaf: the smallest tree size that contains it.
    pub const fn end_leaf(&self) -> u64 {
        (self.index + 1) << self.level
    }

    /// The number of leaves under the subtree, `2^level`.
    pub const fn leaf_count(&self) -> u64 {
        1 << self.level
    }

    /// The storage key: the level byte, then the index big-endian, so that a key-value store
    /// keeps each level's nodes together and in leaf order.
    pub fn to_key_bytes(&self) -> [u8; NODE_KEY_LEN] {
        let mut key = [0u8; NODE_KEY_LEN];
        key[0] = self.level;
        key[1..].copy_from_slice(&self.index.to_be_bytes());
        key
    }

    /// The inverse of [`NodeId::to_key_bytes`]; rejects keys of the wrong length and ids that
    /// [`NodeId::new`] rejects.
    pub fn from_key_bytes(key: &[u8]) -> Result<Self, NodeIdError> {
        let key: &[u8; NODE_KEY_LEN] = key
            .try_into()
            .map_err(|_| NodeIdError::KeyLength(key.len()))?;
        let mut index = [0u8; 8];
        index.copy_from_slice(&key[1..]);
        Self::new(key[0], u64::from_be_bytes(index))
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "node {}@{}", self.index, self.level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_bytes_round_trip_and_sort_by_level_then_index() {
        let ids = [
            NodeId::new(0, 0),
            NodeId::new(0, 1),
            NodeId::new(0, 256),
            NodeId::new(1, 0),
            NodeId::new(40, 3),
            NodeId::new(63, 0),
        ]
        .map(|id| id.unwrap_or_else(|e| panic!("{e}")));
        for pair in ids.windows(2) {
            assert!(pair[0].to_key_bytes() < pair[1].to_key_bytes());
        }
        for id in ids {
            assert_eq!(NodeId::from_key_bytes(&id.to_key_bytes()), Ok(id));
        }
        assert_eq!(NodeId::new(40, 3).map(|n| n.to_key_bytes()[0]), Ok(40));
    }

    #[test]
    fn rejects_nodes_beyond_a_u64_tree() {
        assert_eq!(
            NodeId::new(64, 0),
            Err(NodeIdError::LevelTooHigh { level: 64 })
        );
        assert_eq!(
            NodeId::new(63, 1),
            Err(NodeIdError::IndexTooHigh {
                level: 63,
                index: 1
            })
        );
        assert_eq!(
            NodeId::leaf(u64::MAX),
            Err(NodeIdError::IndexTooHigh {
                level: 0,
                index: u64::MAX
            })
        );
        assert!(NodeId::leaf(u64::MAX - 1).is_ok());
        assert_eq!(
            NodeId::from_key_bytes(&[0; 8]),
            Err(NodeIdError::KeyLength(8))
        );
        let mut key = [0u8; NODE_KEY_LEN];
        key[0] = 64;
        assert_eq!(
            NodeId::from_key_bytes(&key),
            Err(NodeIdError::LevelTooHigh { level: 64 })
        );
    }
}
