//! The compact range (frontier) of the log: what the sequencer keeps in memory to append leaves
//! and compute roots without reading the store.

use super::node_id::NodeId;
use super::store::{HashStore, MemoryHashStore, MerkleError, read_all};
use super::subtree::perfect_subtrees;
use crate::core::hash::{LeafHash, NodeHash, RootHash, empty_root, node_hash};

/// The most perfect subtrees a compact range can hold: one per bit of a `u64` size.
const MAX_SUBTREES: usize = 64;

/// The tree already holds `u64::MAX` leaves, the most a `u64` size can count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the tree is full: it already holds u64::MAX leaves")]
pub struct TreeFullError;

/// The hashes of the perfect subtrees of the binary decomposition of the tree size, from the
/// largest (leftmost) to the smallest: enough to append leaves and compute the root (RFC 9162
/// section 2.1.1's `MTH` folded over them) without reading anything else.
///
/// Appending `n` leaves computes fewer than `n` node hashes in total (each emitted parent is
/// computed once) and allocates nothing after construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    /// One hash per set bit of `size`, highest bit first.
    hashes: Vec<NodeHash>,
}

impl Default for CompactRange {
    fn default() -> Self {
        Self::new()
    }
}

impl CompactRange {
    /// The compact range of the empty tree.
    pub fn new() -> Self {
        Self {
            size: 0,
            hashes: Vec::with_capacity(MAX_SUBTREES),
        }
    }

    /// Rebuilds the compact range of the tree of `size` leaves from `store` (at server restart),
    /// with one batched read of at most 64 nodes (one per set bit of `size`).
    pub fn load<S: HashStore + ?Sized>(
        store: &S,
        size: u64,
    ) -> Result<Self, MerkleError<S::Error>> {
        let ids: Vec<NodeId> = perfect_subtrees(0, size).collect();
        let mut hashes = read_all(store, &ids)?;
        hashes.reserve(MAX_SUBTREES - hashes.len());
        Ok(Self { size, hashes })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect subtrees of the decomposition, largest first, with their hashes.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, NodeHash)> + '_ {
        perfect_subtrees(0, self.size).zip(self.hashes.iter().copied())
    }

    /// The root of the tree: the empty root for size 0, otherwise the subtrees' hashes folded
    /// from the right, `node(h_0, node(h_1, ... node(h_{k-2}, h_{k-1})))`.
    pub fn root(&self) -> RootHash {
        match fold_from_right(&self.hashes) {
            Some(root) => RootHash::from(root),
            None => empty_root(),
        }
    }

    /// Appends `leaf` and pushes onto `out` every perfect subtree this completes: the leaf itself
    /// (level 0) and each parent that now has both children. Those are exactly the nodes the
    /// caller must persist. Returns the leaf's index.
    pub fn append(
        &mut self,
        leaf: LeafHash,
        out: &mut Vec<(NodeId, NodeHash)>,
    ) -> Result<u64, TreeFullError> {
        let index = self.size;
        let new_size = index.checked_add(1).ok_or(TreeFullError)?;
        let mut hash = NodeHash::from(leaf);
        out.push((NodeId::new_unchecked(0, index), hash));
        // Each trailing one bit of the old size is a subtree of the same level as the one being
        // carried, directly to its left: merge them, as in binary addition.
        for level in 1..=index.trailing_ones() {
            let Some(left) = self.hashes.pop() else {
                // `hashes` has one entry per set bit of `index`, so this cannot happen.
                break;
            };
            hash = node_hash(&left, &hash);
            out.push((NodeId::new_unchecked(level as u8, index >> level), hash));
        }
        self.hashes.push(hash);
        self.size = new_size;
        Ok(index)
    }
}

impl MemoryHashStore {
    /// A store holding every perfect subtree of the tree of `leaves`, and that tree's compact
    /// range.
    pub fn from_leaves(
        leaves: impl IntoIterator<Item = LeafHash>,
    ) -> Result<(Self, CompactRange), TreeFullError> {
        let mut store = Self::new();
        let mut range = CompactRange::new();
        let mut completed = Vec::with_capacity(MAX_SUBTREES);
        for leaf in leaves {
            completed.clear();
            range.append(leaf, &mut completed)?;
            store.extend(completed.iter().copied());
        }
        Ok((store, range))
    }
}

/// `node(h_0, node(h_1, ... node(h_{k-2}, h_{k-1})))`: the hash of adjacent subtrees whose sizes
/// decrease from left to right, as RFC 9162's `MTH` combines the right edge. `None` for no hash.
pub(crate) fn fold_from_right(hashes: &[NodeHash]) -> Option<NodeHash> {
    let (last, rest) = hashes.split_last()?;
    Some(
        rest.iter()
            .rev()
            .fold(*last, |right, left| node_hash(left, &right)),
    )
}
