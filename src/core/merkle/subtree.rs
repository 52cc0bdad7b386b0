//! The subtrees of RFC 9162's tree, as ranges of leaves, and their decomposition into perfect
//! subtrees.

use super::node_id::NodeId;

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
