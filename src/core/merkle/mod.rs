//! The Merkle tree of SPEC.md section 2: RFC 9162 section 2.1 with BLAKE3.
//!
//! - Verification ([`verify_inclusion`], [`verify_consistency`]) is pure and needs nothing but the
//!   hashes it is given: what an auditor runs.
//! - The tree is stored as the hashes of its perfect subtrees ([`NodeId`]), behind the
//!   [`HashStore`] trait. [`CompactRange`] appends leaves and returns the nodes to persist.
//! - Proofs are planned from sizes alone ([`inclusion_proof_plan`], [`consistency_proof_plan`]),
//!   then read from the store in one batch ([`inclusion_proof`], [`consistency_proof`],
//!   [`root_at`]).

mod compact_range;
mod node_id;
mod proof;
mod proof_plan;
mod store;
mod subtree;
mod verify;

pub use compact_range::{CompactRange, TreeFullError};
pub use node_id::{MAX_LEVEL, NODE_KEY_LEN, NodeId, NodeIdError};
pub use proof::{consistency_proof, inclusion_proof, inclusion_proofs, root_at};
pub use proof_plan::{
    PlanHashCountError, ProofPlan, ProofRequestError, consistency_proof_plan, inclusion_proof_plan,
    root_plan,
};
pub use store::{HashStore, MemoryHashStore, MerkleError, MissingNodeError};
pub use subtree::{SubtreeRange, UnalignedRunError, aligned_subtrees};
pub use verify::{
    ConsistencyError, InclusionError, consistency_proof_len, inclusion_proof_len,
    verify_consistency, verify_inclusion,
};
