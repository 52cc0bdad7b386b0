//! Which hashes a proof needs, computed from sizes and indexes alone (no store): the caller
//! fetches the nodes, then the plan assembles the proof. RFC 9162 sections 2.1.3.1 and 2.1.4.1.

use super::compact_range::fold_from_right;
use super::node_id::NodeId;
use super::subtree::SubtreeRange;
use crate::core::hash::NodeHash;

/// A proof asked for something the tree sizes make impossible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofRequestError {
    /// The leaf index of an inclusion proof is not below the tree size.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexBeyondSize {
        /// The leaf index asked for.
        index: u64,
        /// The tree size asked for.
        size: u64,
    },
    /// The first size of a consistency proof is larger than the second.
    #[error("first tree size {first} is larger than second tree size {second}")]
    FirstBeyondSecond {
        /// The first (older) tree size.
        first: u64,
        /// The second (newer) tree size.
        second: u64,
    },
}

/// [`ProofPlan::assemble`] was given a different number of hashes than [`ProofPlan::nodes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the proof plan needs {expected} node hashes, got {actual}")]
pub struct PlanHashCountError {
    /// How many nodes the plan names.
    pub expected: usize,
    /// How many hashes were given.
    pub actual: usize,
}

/// The subtrees whose hashes make up a proof (or a root), in proof order, and the perfect nodes
/// to read to compute them.
///
/// Every element is one [`SubtreeRange`]; a perfect one is one node, and the at most one element
/// on the right edge of the tree that is not perfect is the fold of its decomposition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofPlan {
    elements: Vec<SubtreeRange>,
    nodes: Vec<NodeId>,
}

impl ProofPlan {
    fn from_elements(elements: Vec<SubtreeRange>) -> Self {
        let nodes = elements
            .iter()
            .flat_map(SubtreeRange::perfect_subtrees)
            .collect();
        Self { elements, nodes }
    }

    /// The subtrees whose hashes form the proof, in order.
    pub fn elements(&self) -> &[SubtreeRange] {
        &self.elements
    }

    /// The perfect nodes to read, in the order [`ProofPlan::assemble`] expects their hashes.
    pub fn nodes(&self) -> &[NodeId] {
        &self.nodes
    }

    /// The proof, given the hashes of [`ProofPlan::nodes`] in that order: one hash per element,
    /// each the fold of its perfect subtrees' hashes.
    pub fn assemble(&self, hashes: &[NodeHash]) -> Result<Vec<NodeHash>, PlanHashCountError> {
        if hashes.len() != self.nodes.len() {
            return Err(PlanHashCountError {
                expected: self.nodes.len(),
                actual: hashes.len(),
            });
        }
        let mut rest = hashes;
        let mut proof = Vec::with_capacity(self.elements.len());
        for element in &self.elements {
            // The lengths were checked above, and every element has at least one part.
            let count_error = PlanHashCountError {
                expected: self.nodes.len(),
                actual: hashes.len(),
            };
            let (parts, tail) = rest
                .split_at_checked(element.perfect_subtrees().len())
                .ok_or(count_error)?;
            rest = tail;
            proof.push(fold_from_right(parts).ok_or(count_error)?);
        }
        Ok(proof)
    }
}

/// The subtrees of RFC 9162's `PATH(index, D[0:size])` (section 2.1.3.1), from the leaf's
/// sibling up to the root's child.
pub fn inclusion_proof_plan(index: u64, size: u64) -> Result<ProofPlan, ProofRequestError> {
    if index >= size {
        return Err(ProofRequestError::IndexBeyondSize { index, size });
    }
    let mut elements = Vec::with_capacity(u64::BITS as usize);
    push_path(&mut elements, 0, index, size);
    Ok(ProofPlan::from_elements(elements))
}

/// The subtrees of RFC 9162's `PROOF(first, D[0:second])` (section 2.1.4.1) for
/// `0 < first < second`, and the empty plan for SPEC.md's edge cases (`first == 0` or
/// `first == second`).
///
/// The proof is the largest perfect subtree ending at leaf `first - 1` (left out when it is the
/// whole first tree, which the verifier already has), then that subtree's inclusion path in the
/// tree of `second`.
pub fn consistency_proof_plan(first: u64, second: u64) -> Result<ProofPlan, ProofRequestError> {
    if first > second {
        return Err(ProofRequestError::FirstBeyondSecond { first, second });
    }
    if first == 0 || first == second {
        return Ok(ProofPlan::from_elements(Vec::new()));
    }
    let level = first.trailing_zeros();
    let index = (first - 1) >> level;
    let mut elements = Vec::with_capacity(u64::BITS as usize + 1);
    if index != 0 {
        elements.push(SubtreeRange::new_unchecked(index << level, first));
    }
    push_path(&mut elements, level, index, second);
    Ok(ProofPlan::from_elements(elements))
}

/// The plan of the root of the tree of `size` leaves: one element, `[0, size)`, or none for the
/// empty tree (whose root, `BLAKE3("")`, needs no node).
pub fn root_plan(size: u64) -> ProofPlan {
    if size == 0 {
        ProofPlan::from_elements(Vec::new())
    } else {
        ProofPlan::from_elements(vec![SubtreeRange::new_unchecked(0, size)])
    }
}

/// Pushes the siblings on the way from the perfect node `(level, index)` up to the root of the
/// tree of `size` leaves, lowest first. A sibling exists at a level unless it would start at or
/// beyond `size`; it is cut at `size` on the right edge.
fn push_path(elements: &mut Vec<SubtreeRange>, mut level: u32, mut index: u64, size: u64) {
    // Stop once the node covers the whole tree: it is the leftmost and at least `size` wide.
    while !(index == 0 && u128::from(size) <= 1u128 << level) {
        let sibling_start = u128::from(index ^ 1) << level;
        if let Ok(start) = u64::try_from(sibling_start)
            && start < size
        {
            // `level` is at most 63 here: a node of level 64 would cover every u64 size.
            let width = 1u64 << level;
            let end = start + width.min(size - start);
            elements.push(SubtreeRange::new_unchecked(start, end));
        }
        index >>= 1;
        level += 1;
    }
}
