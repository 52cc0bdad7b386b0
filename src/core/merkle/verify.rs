//! Proof verification: pure functions an auditor runs without the server (SPEC.md section 2).
//!
//! Inclusion is RFC 9162 section 2.1.3.2 and consistency is RFC 9162 section 2.1.4.2, with
//! SPEC.md's rules for the cases RFC 9162 leaves open. Before running the RFC's loop, both
//! functions check the proof's length against the exact length the sizes imply, so that a wrong
//! length is reported as such rather than as a root mismatch.

use crate::core::hash::{LeafHash, NodeHash, RootHash, node_hash};

/// Why an inclusion proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InclusionError {
    /// The leaf index is not below the tree size, so the leaf is not in the tree.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexBeyondSize {
        /// The claimed leaf index.
        index: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// The proof does not have the length that the index and size imply.
    #[error(
        "an inclusion proof of index {index} in size {size} has {expected} hashes, got {actual}"
    )]
    ProofLength {
        /// The claimed leaf index.
        index: u64,
        /// The claimed tree size.
        size: u64,
        /// The length RFC 9162's `PATH` has for this index and size.
        expected: usize,
        /// The length of the proof given.
        actual: usize,
    },
    /// The root recomputed from the leaf and the proof is not the root given.
    #[error("the root recomputed from the inclusion proof does not match")]
    RootMismatch,
}

impl InclusionError {
    /// The failed check (docs/SPEC.md section 9).
    pub fn check(&self) -> crate::core::checks::Check {
        use crate::core::checks::Check;
        match self {
            Self::IndexBeyondSize { .. } => Check::InclusionIndexOutOfRange,
            Self::ProofLength { .. } => Check::InclusionProofLength,
            Self::RootMismatch => Check::InclusionProofMismatch,
        }
    }

    /// The failed check's stable code (docs/SPEC.md section 9).
    pub fn code(&self) -> &'static str {
        self.check().code()
    }
}

/// Why a consistency proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsistencyError {
    /// The first tree is larger than the second: a log never shrinks (SPEC.md section 2).
    #[error("first tree size {first} is larger than second tree size {second}")]
    FirstBeyondSecond {
        /// The first (older) tree size.
        first: u64,
        /// The second (newer) tree size.
        second: u64,
    },
    /// The proof does not have the length that the two sizes imply (for equal sizes or a first
    /// size of 0, SPEC.md requires an empty proof).
    #[error(
        "a consistency proof from size {first} to {second} has {expected} hashes, got {actual}"
    )]
    ProofLength {
        /// The first (older) tree size.
        first: u64,
        /// The second (newer) tree size.
        second: u64,
        /// The length RFC 9162's `PROOF` has for these sizes (0 for SPEC.md's edge cases).
        expected: usize,
        /// The length of the proof given.
        actual: usize,
    },
    /// The two sizes are equal but the two roots differ (SPEC.md section 2).
    #[error("equal tree sizes {size} with different roots")]
    EqualSizesDifferentRoots {
        /// The tree size of both.
        size: u64,
    },
    /// The root of the first tree recomputed from the proof is not the first root given.
    #[error("the first root recomputed from the consistency proof does not match")]
    FirstRootMismatch,
    /// The root of the second tree recomputed from the proof is not the second root given.
    #[error("the second root recomputed from the consistency proof does not match")]
    SecondRootMismatch,
}

impl ConsistencyError {
    /// The failed check (docs/SPEC.md section 9).
    pub fn check(&self) -> crate::core::checks::Check {
        use crate::core::checks::Check;
        match self {
            Self::FirstBeyondSecond { .. } => Check::ConsistencyOrder,
            Self::ProofLength { expected: 0, .. } => Check::ConsistencyProofNotEmpty,
            Self::ProofLength { .. } => Check::ConsistencyProofLength,
            Self::EqualSizesDifferentRoots { .. }
            | Self::FirstRootMismatch
            | Self::SecondRootMismatch => Check::ConsistencyProofMismatch,
        }
    }

    /// The failed check's stable code (docs/SPEC.md section 9).
    pub fn code(&self) -> &'static str {
        self.check().code()
    }
}

/// Checks that `leaf` is the leaf at `index` of the tree of `size` leaves whose root is `root`,
/// given the inclusion proof `proof` (RFC 9162 section 2.1.3.2).
pub fn verify_inclusion(
    leaf: &LeafHash,
    index: u64,
    size: u64,
    proof: &[NodeHash],
    root: &RootHash,
) -> Result<(), InclusionError> {
    if index >= size {
        return Err(InclusionError::IndexBeyondSize { index, size });
    }
    let expected = inclusion_proof_len(index, size);
    if proof.len() != expected {
        return Err(InclusionError::ProofLength {
            index,
            size,
            expected,
            actual: proof.len(),
        });
    }
    let mut path = PathWalk::new(index, size - 1);
    let mut r = NodeHash::from(*leaf);
    for p in proof {
        // The length check above makes `sn` reach 0 exactly at the end of the proof.
        match path.step() {
            Some(Side::SiblingOnLeft) => r = node_hash(p, &r),
            Some(Side::SiblingOnRight) => r = node_hash(&r, p),
            None => return Err(InclusionError::RootMismatch),
        }
    }
    if path.sn == 0 && RootHash::from(r) == *root {
        Ok(())
    } else {
        Err(InclusionError::RootMismatch)
    }
}

/// Checks that the tree of `second` leaves with root `second_root` extends the tree of `first`
/// leaves with root `first_root`, given the consistency proof `proof` (RFC 9162 section
/// 2.1.4.2, with SPEC.md section 2's edge cases: equal sizes need an empty proof and equal roots,
/// a first size of 0 needs an empty proof and is consistent with anything, a first size larger
/// than the second is an error).
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &RootHash,
    second_root: &RootHash,
    proof: &[NodeHash],
) -> Result<(), ConsistencyError> {
    if first > second {
        return Err(ConsistencyError::FirstBeyondSecond { first, second });
    }
    let expected = consistency_proof_len(first, second);
    if proof.len() != expected {
        return Err(ConsistencyError::ProofLength {
            first,
            second,
            expected,
            actual: proof.len(),
        });
    }
    if first == second {
        return if first_root == second_root {
            Ok(())
        } else {
            Err(ConsistencyError::EqualSizesDifferentRoots { size: first })
        };
    }
    if first == 0 {
        return Ok(());
    }
    // Now 0 < first < second and the proof is non-empty (its length is at least 1).
    // Step 2: when `first` is a power of two, the proof omits the first root, which is its seed.
    let (seed, rest) = if first.is_power_of_two() {
        (NodeHash::from_bytes(*first_root.as_bytes()), proof)
    } else {
        match proof.split_first() {
            Some((seed, rest)) => (*seed, rest),
            None => return Err(ConsistencyError::FirstRootMismatch),
        }
    };
    // Steps 3 and 4.
    let mut path = PathWalk::new(first - 1, second - 1);
    path.skip_right_edge_of_first();
    // Step 5.
    let mut fr = seed;
    let mut sr = seed;
    // Step 6.
    for c in rest {
        match path.step() {
            Some(Side::SiblingOnLeft) => {
                fr = node_hash(c, &fr);
                sr = node_hash(c, &sr);
            }
            Some(Side::SiblingOnRight) => sr = node_hash(&sr, c),
            None => return Err(ConsistencyError::SecondRootMismatch),
        }
    }
    // Step 7.
    if RootHash::from(fr) != *first_root {
        return Err(ConsistencyError::FirstRootMismatch);
    }
    if path.sn != 0 || RootHash::from(sr) != *second_root {
        return Err(ConsistencyError::SecondRootMismatch);
    }
    Ok(())
}

/// The number of hashes in RFC 9162's `PATH(index, D[0:size])`, for `index < size`.
///
/// Below level `inner` (the highest bit where `index` and `size - 1` differ) every level has a
/// sibling; above it, only the levels where `index` is a right child have one (the left sibling).
pub fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let last = size.saturating_sub(1);
    let inner = u64::BITS - (index ^ last).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// The number of hashes in a consistency proof from `first` to `second` leaves, for
/// `first <= second`: RFC 9162's `PROOF(first, D[0:second])` when `0 < first < second`, and 0
/// for SPEC.md's edge cases (equal sizes, or `first == 0`).
pub fn consistency_proof_len(first: u64, second: u64) -> usize {
    if first == 0 || first >= second {
        return 0;
    }
    // The proof is the inclusion path, in the tree of `second`, of the largest perfect subtree
    // ending at `first`, preceded by that subtree's hash unless it is the whole first tree.
    let level = first.trailing_zeros();
    let path = inclusion_proof_len((first - 1) >> level, ((second - 1) >> level) + 1);
    if first.is_power_of_two() {
        path
    } else {
        path + 1
    }
}

/// On which side of the running hash a proof element goes.
enum Side {
    SiblingOnLeft,
    SiblingOnRight,
}

/// The `fn`/`sn` bookkeeping shared by RFC 9162's two verification loops (sections 2.1.3.2 and
/// 2.1.4.2): `fn` is the position of the node being proved and `sn` the last position of the tree,
/// both at the current level.
struct PathWalk {
    fn_: u64,
    sn: u64,
}

impl PathWalk {
    fn new(fn_: u64, sn: u64) -> Self {
        Self { fn_, sn }
    }

    /// RFC 9162 2.1.4.2 step 4: "If LSB(fn) is set, then right-shift both fn and sn equally until
    /// LSB(fn) is not set."
    fn skip_right_edge_of_first(&mut self) {
        let shift = self.fn_.trailing_ones();
        self.fn_ = self.fn_.checked_shr(shift).unwrap_or(0);
        self.sn = self.sn.checked_shr(shift).unwrap_or(0);
    }

    /// One iteration of the RFC's loop: where the next proof element goes, or `None` when `sn` is
    /// already 0 (the proof is too long, which the RFC rejects).
    fn step(&mut self) -> Option<Side> {
        if self.sn == 0 {
            return None;
        }
        let side = if self.fn_ & 1 == 1 || self.fn_ == self.sn {
            if self.fn_ & 1 == 0 && self.fn_ != 0 {
                // Right-shift both until LSB(fn) is set (fn is not 0, since fn == sn != 0).
                let shift = self.fn_.trailing_zeros();
                self.fn_ >>= shift;
                self.sn >>= shift;
            }
            Side::SiblingOnLeft
        } else {
            Side::SiblingOnRight
        };
        self.fn_ >>= 1;
        self.sn >>= 1;
        Some(side)
    }
}
