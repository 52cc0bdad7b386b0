//! Proofs and roots read from a [`HashStore`]: each is one [`ProofPlan`] and one batched read.

use super::node_id::NodeId;
use super::proof_plan::{
    ProofPlan, ProofRequestError, consistency_proof_plan, inclusion_proof_plan, root_plan,
};
use super::store::{HashStore, MerkleError, read_all};
use crate::core::hash::{NodeHash, RootHash, empty_root};

impl<E: std::error::Error + 'static> From<ProofRequestError> for MerkleError<E> {
    fn from(error: ProofRequestError) -> Self {
        match error {
            ProofRequestError::IndexBeyondSize { index, size } => {
                Self::IndexBeyondSize { index, size }
            }
            ProofRequestError::FirstBeyondSecond { first, second } => {
                Self::FirstBeyondSecond { first, second }
            }
        }
    }
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves, RFC 9162's
/// `PATH(index, D[0:size])` (section 2.1.3.1), with one `read_hashes` call of at most
/// `2 * ceil(log2(size)) - 1` nodes (none for a tree of one leaf).
pub fn inclusion_proof<S: HashStore>(
    store: &S,
    index: u64,
    size: u64,
) -> Result<Vec<NodeHash>, MerkleError<S::Error>> {
    read_plan(store, &inclusion_proof_plan(index, size)?)
}

/// The inclusion proofs of several leaves in the tree of `size` leaves, in the order of
/// `indexes`, from one `read_hashes` call: the nodes the proofs share (the upper levels, for
/// leaves of one subject spread over the log) are read once. What a lifecycle query uses.
pub fn inclusion_proofs<S: HashStore>(
    store: &S,
    indexes: &[u64],
    size: u64,
) -> Result<Vec<Vec<NodeHash>>, MerkleError<S::Error>> {
    let plans = indexes
        .iter()
        .map(|&index| inclusion_proof_plan(index, size))
        .collect::<Result<Vec<_>, _>>()?;
    let mut wanted: Vec<NodeId> = plans
        .iter()
        .flat_map(|plan| plan.nodes())
        .copied()
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let hashes = read_all(store, &wanted)?;
    plans
        .iter()
        .map(|plan| {
            let mine: Vec<NodeHash> = plan
                .nodes()
                .iter()
                .map(|id| {
                    // Every node of the plan is in `wanted`, sorted: found by binary search.
                    wanted.binary_search(id).map(|at| hashes[at]).map_err(|_| {
                        MerkleError::StoreAnswerLength {
                            asked: wanted.len(),
                            got: hashes.len(),
                        }
                    })
                })
                .collect::<Result<_, _>>()?;
            plan.assemble(&mine)
                .map_err(|e| MerkleError::StoreAnswerLength {
                    asked: e.expected,
                    got: e.actual,
                })
        })
        .collect()
}

/// The consistency proof from the tree of `first` leaves to the tree of `second` leaves, RFC
/// 9162's `PROOF(first, D[0:second])` (section 2.1.4.1); empty when `first == 0` or
/// `first == second` (SPEC.md section 2). One `read_hashes` call of at most
/// `2 * ceil(log2(second)) - 1` nodes.
pub fn consistency_proof<S: HashStore>(
    store: &S,
    first: u64,
    second: u64,
) -> Result<Vec<NodeHash>, MerkleError<S::Error>> {
    read_plan(store, &consistency_proof_plan(first, second)?)
}

/// The root of the tree of `size` leaves (any size up to the store's), from one `read_hashes`
/// call of at most 64 nodes (one per set bit of `size`); the empty root for size 0.
pub fn root_at<S: HashStore>(store: &S, size: u64) -> Result<RootHash, MerkleError<S::Error>> {
    let mut hashes = read_plan(store, &root_plan(size))?;
    Ok(hashes.pop().map_or_else(empty_root, RootHash::from))
}

/// Reads a plan's nodes in one call and assembles its hashes.
fn read_plan<S: HashStore>(
    store: &S,
    plan: &ProofPlan,
) -> Result<Vec<NodeHash>, MerkleError<S::Error>> {
    let hashes = read_all(store, plan.nodes())?;
    plan.assemble(&hashes)
        .map_err(|e| MerkleError::StoreAnswerLength {
            asked: e.expected,
            got: e.actual,
        })
}
