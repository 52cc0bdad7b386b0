//! The authenticated subject index (SPEC.md section 8; the format is `docs/subject-index.md`): a
//! sparse Merkle tree from each subject token (SPEC.md section 6) to the subject's head
//! ([`SubjectHead`]: how many entries carry the token, and the index and leaf hash of the latest),
//! whose root every checkpoint carries as an extension line. With a proved head, an auditor can
//! check that a subject's backward chain of entries is complete, the latest included.
//!
//! - Hashing: `BLAKE3(0x10 || token || head)` for a leaf ([`subject_leaf_hash`]),
//!   `BLAKE3(0x11 || left || right)` for an interior node ([`subject_interior_hash`]), 32 zero
//!   bytes for every empty subtree ([`EMPTY_SUBTREE_HASH`]).
//! - Compression: a subtree of one token is that token's leaf, so `n` random tokens make `O(n)`
//!   nodes and paths of about `log2 n` ([`IndexNode`]).
//! - Storage: immutable nodes under `(version, path)` ([`NodeKey`]) behind the
//!   [`SubjectNodeStore`] trait; [`apply_updates`] turns one commit group's heads into an
//!   [`IndexCommit`] (new nodes, root record, stale nodes) for the caller to persist atomically;
//!   stale nodes below a horizon can be pruned ([`is_prunable`]).
//! - Proofs: [`prove`] at any retained version; [`verify`] is pure and returns the proved head or
//!   the proved absence. Binary and JSON encodings ([`SubjectProof::to_bytes`], serde).
//! - The checkpoint line: [`format_extension_line`], [`parse_extension_line`],
//!   [`find_subject_index_root`].
//!
//! Completeness is for a token: the directory from identifiers to tokens is deliberately not
//! authenticated, since erasure must be able to delete it.

mod extension;
mod hashing;
mod head;
mod node;
mod node_key;
mod page;
mod proof;
mod proof_encoding;
mod store;
mod update;

pub use extension::{
    ExtensionLineError, SUBJECT_INDEX_KEYWORD, SUBJECT_INDEX_VERSION, find_subject_index_root,
    format_extension_line, parse_extension_line,
};
pub use hashing::{
    EMPTY_SUBTREE_HASH, SUBJECT_INTERIOR_PREFIX, SUBJECT_LEAF_PREFIX, TOKEN_BITS, empty_index_root,
    subject_interior_hash, subject_leaf_hash,
};
pub use head::{SUBJECT_HEAD_LEN, SubjectHead, SubjectHeadLengthError};
pub use node::{IndexNode, NodeDecodeError, SubtreeRef};
pub use node_key::{NODE_KEY_LEN, NodeKey, NodeKeyError, NodePath};
pub use page::{IndexPage, PAGE_LEVELS, PageEncodeError, PageNode};
pub use proof::{ProofTerminal, SubjectIndexError, SubjectProof, prove, verify};
pub use proof_encoding::ProofDecodeError;
pub use store::{
    IndexCommit, MemorySubjectStore, STALE_KEY_LEN, StaleNode, SubjectIndexStoreError,
    SubjectNodeStore, is_prunable, read_node, root_at,
};
pub use update::apply_updates;

/// Updates for tests (of the sequencer's cache and the store's pages): for each `n`, a token
/// hashed from it, with a head of one entry at index `n`.
#[cfg(all(test, feature = "server"))]
pub(crate) fn sample_updates(
    numbers: impl Iterator<Item = u64>,
) -> Vec<(crate::core::directory::SubjectToken, SubjectHead)> {
    numbers
        .map(|n| {
            let token = crate::core::directory::SubjectToken::from_bytes(
                *blake3::hash(&n.to_be_bytes()).as_bytes(),
            );
            let head = SubjectHead {
                count: 1,
                last_index: n,
                last_leaf: crate::core::hash::leaf_hash(&n.to_be_bytes()),
            };
            (token, head)
        })
        .collect()
}
