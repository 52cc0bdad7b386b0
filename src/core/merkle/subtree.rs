//! The subtrees of RFC 9162's tree, as ranges of leaves, and their decomposition into perfect
//! subtrees.

use super::node_id::NodeId;
use crate::core::hash::{NodeHash, node_hash};

/// A subtree of RFC 9162's tree: the leaves `[start, end)`, whose hash is `MTH(D[start:end])`
/// (RFC 9162 section 2.1.1). Its start is a multiple of the smallest power of two not below its
/// length, as every subtree `MTH` recurses into is. It is perfect when its length is a power of
/// two; otherwise it lies on the right edge of the tree and its hash is folded from the perfect
/// subtrees of its decomposition ([`SubtreeRange::perfect_subtrees`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubtreeRange {
    start: u64,
    end: u64,
}

impl SubtreeRange {
    /// For callers that have established the alignment invariant and `start < end`.
    pub(crate) const fn new_unchecked(start: u64, end: u64) -> Self {
        Self { start, end }
    }

    /// The index of the first leaf.
    pub const fn start(&self) -> u64 {
        self.start
    }

    /// One past the index of the last leaf.
    pub const fn end(&self) -> u64 {
        self.end
    }

    /// The perfect subtrees that tile the range, largest (leftmost) first: one per set bit of
    /// its length. Their hashes folded from the right (`node(h_0, node(h_1, ...))`) give the
    /// range's `MTH`, since `MTH` splits off the largest power of two smaller than the length.
    pub fn perfect_subtrees(&self) -> impl ExactSizeIterator<Item = NodeId> + use<> {
        perfect_subtrees(self.start, self.end)
    }
}

/// The perfect subtrees tiling `[start, end)`, largest first; `start` must be a multiple of the
/// largest power of two not above `end - start` (true of `[0, size)` and of every
/// [`SubtreeRange`]).
pub(crate) fn perfect_subtrees(start: u64, end: u64) -> PerfectSubtrees {
    PerfectSubtrees { next: start, end }
}

/// The iterator of [`perfect_subtrees`].
pub(crate) struct PerfectSubtrees {
    next: u64,
    end: u64,
}

impl Iterator for PerfectSubtrees {
    type Item = NodeId;

    fn next(&mut self) -> Option<NodeId> {
        let remaining = self.end.checked_sub(self.next).filter(|r| *r > 0)?;
        let level = u64::BITS - 1 - remaining.leading_zeros();
        let id = NodeId::new_unchecked(level as u8, self.next >> level);
        self.next += 1 << level;
        Some(id)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let count = self.end.saturating_sub(self.next).count_ones() as usize;
        (count, Some(count))
    }
}

impl ExactSizeIterator for PerfectSubtrees {}

/// A run of leaves whose first index is not a multiple of the run's length rounded up to a power
/// of two, so its perfect subtrees are not those of the log's tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a run of {len} leaves from leaf {first_leaf} is not aligned to a subtree of the tree")]
pub struct UnalignedRunError {
    /// The run's first leaf index.
    pub first_leaf: u64,
    /// The run's length.
    pub len: usize,
}

/// Every perfect subtree of the tree that lies within `leaves`, the leaf hashes of the run that
/// starts at leaf `first_leaf`, with its hash: the leaves themselves, then each level up to the
/// highest the run fills, in `NodeId` order (by level, then index). What a store that keeps
/// only leaves for the lower levels computes
/// instead of reading each node. The run must start at a multiple of its length rounded up to
/// a power of two (as the 64-leaf chunks of storage do).
pub fn aligned_subtrees(
    first_leaf: u64,
    leaves: &[NodeHash],
) -> Result<Vec<(NodeId, NodeHash)>, UnalignedRunError> {
    let span = (leaves.len() as u64).next_power_of_two();
    let unaligned = UnalignedRunError {
        first_leaf,
        len: leaves.len(),
    };
    if !first_leaf.is_multiple_of(span) || first_leaf.checked_add(span).is_none() {
        return Err(unaligned);
    }
    let mut nodes = Vec::with_capacity(2 * leaves.len());
    let mut hashes = leaves.to_vec();
    let mut level = 0u8;
    loop {
        let first = first_leaf >> level;
        for (offset, hash) in (0u64..).zip(&hashes) {
            // `first + offset` covers leaves below `first_leaf + span`, which fits in a u64.
            nodes.push((NodeId::new_unchecked(level, first + offset), *hash));
        }
        if hashes.len() < 2 {
            return Ok(nodes);
        }
        hashes = hashes
            .chunks_exact(2)
            .map(|pair| node_hash(&pair[0], &pair[1]))
            .collect();
        level += 1;
    }
}

#[cfg(test)]
mod aligned_subtree_tests {
    use super::*;
    use crate::core::hash::{LeafHash, leaf_hash};
    use crate::core::merkle::{HashStore, MemoryHashStore};

    fn leaves(count: u64) -> Vec<LeafHash> {
        (0..count).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn aligned_runs_give_exactly_the_trees_perfect_subtrees() {
        let all = leaves(300);
        let (tree, _) = MemoryHashStore::from_leaves(all.iter().copied()).expect("append");
        for (first, len) in [
            (0u64, 64usize),
            (64, 64),
            (256, 44),
            (128, 1),
            (192, 64),
            (0, 0),
        ] {
            let run: Vec<NodeHash> = all[first as usize..first as usize + len]
                .iter()
                .map(|leaf| NodeHash::from(*leaf))
                .collect();
            let nodes = aligned_subtrees(first, &run).expect("aligned");
            assert!(nodes.is_sorted_by_key(|(id, _)| *id), "in NodeId order");
            // Every perfect subtree inside the run, and nothing else.
            let expected = (0..=6u8)
                .flat_map(|level| {
                    let lo = first >> level;
                    let hi = (first + len as u64) >> level;
                    (lo..hi).filter_map(move |index| {
                        let id = NodeId::new(level, index).ok()?;
                        (id.first_leaf() >= first && id.end_leaf() <= first + len as u64)
                            .then_some(id)
                    })
                })
                .count();
            assert_eq!(nodes.len(), expected, "run {first}+{len}");
            for (id, hash) in nodes {
                assert_eq!(
                    tree.read_hashes(&[id]).expect("stored"),
                    vec![hash],
                    "{id:?}"
                );
            }
        }
    }

    #[test]
    fn unaligned_runs_are_refused() {
        let run = vec![NodeHash::from(leaf_hash(b"x")); 5];
        assert!(aligned_subtrees(8, &run).is_ok());
        assert_eq!(
            aligned_subtrees(4, &run),
            Err(UnalignedRunError {
                first_leaf: 4,
                len: 5
            })
        );
    }
}
