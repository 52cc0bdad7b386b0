//! Replaying a log from index 0: the checks a monitor, a regulator or a test runs over every
//! entry. Fed entries in order, [`LogAuditor`] recomputes the hash chain, the Merkle tree and every
//! entry signature, and then checks signed checkpoints against the tree it rebuilt. The first
//! divergence is reported with its index.

use crate::core::checkpoint::{Checkpoint, CheckpointError, VerifiedCheckpoint};
use crate::core::entry::SequencedEntry;
use crate::core::hash::{LeafHash, NodeHash, RootHash};
use crate::core::merkle::{CompactRange, NodeId};
use crate::core::signature::{EntrySignature, KeyId, VerifierKey, verify_entry_signature};

/// The first divergence found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// The entry bytes do not decode as an `Entry`.
    #[error("entry {index}: the bytes do not decode: {reason}")]
    Undecodable {
        /// Position in the replay.
        index: u64,
        /// Decoder message.
        reason: String,
    },
    /// The entry's own `index` field is not its position.
    #[error("entry {index}: its index field says {found}")]
    IndexMismatch {
        /// Position in the replay.
        index: u64,
        /// What the entry says.
        found: u64,
    },
    /// `prev_hash` is not the previous entry's leaf hash (the hash chain is broken).
    #[error("entry {index}: prev_hash does not match the leaf hash of entry {}", index.wrapping_sub(1))]
    ChainBroken {
        /// Position in the replay.
        index: u64,
    },
    /// No known key verifies the entry signature.
    #[error("entry {index}: the signature does not verify under any known log key")]
    BadSignature {
        /// Position in the replay.
        index: u64,
    },
    /// A checkpoint does not open with the known keys.
    #[error("checkpoint at size {size}: {reason}")]
    CheckpointRejected {
        /// The size the checkpoint was expected at.
        size: u64,
        /// Why.
        reason: String,
    },
    /// A checkpoint's size is not the replayed size.
    #[error("checkpoint says size {claimed}, the replay is at size {replayed}")]
    CheckpointSize {
        /// What the checkpoint says.
        claimed: u64,
        /// Where the replay is.
        replayed: u64,
    },
    /// A checkpoint's root is not the root of the replayed tree.
    #[error("checkpoint at size {size}: root {claimed} differs from the replayed root {replayed}")]
    RootMismatch {
        /// Tree size.
        size: u64,
        /// Signed root.
        claimed: RootHash,
        /// Recomputed root.
        replayed: RootHash,
    },
}

/// Replays a log entry by entry.
#[derive(Debug, Clone)]
pub struct LogAuditor {
    keys: Vec<VerifierKey>,
    last_leaf: LeafHash,
    tree: CompactRange,
    scratch: Vec<(NodeId, NodeHash)>,
}

impl LogAuditor {
    /// Starts a replay at index 0, trusting `keys` (the log's keys, out of band).
    pub fn new(keys: Vec<VerifierKey>) -> Self {
        Self {
            keys,
            last_leaf: LeafHash::from_bytes([0u8; 32]),
            tree: CompactRange::default(),
            scratch: Vec::new(),
        }
    }

    /// How many entries have been replayed.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The root of the replayed tree.
    pub fn root(&self) -> RootHash {
        self.tree.root()
    }

    /// Checks the next entry (at index [`LogAuditor::size`]) and its signature, and adds it.
    /// `key_id`, when the store names it, selects the key; otherwise every known key is tried.
    pub fn push(
        &mut self,
        bytes: &[u8],
        signature: &EntrySignature,
        key_id: Option<KeyId>,
    ) -> Result<SequencedEntry, AuditError> {
        let index = self.size();
        let entry =
            SequencedEntry::from_bytes(bytes.to_vec()).map_err(|e| AuditError::Undecodable {
                index,
                reason: e.to_string(),
            })?;
        if entry.index() != index {
            return Err(AuditError::IndexMismatch {
                index,
                found: entry.index(),
            });
        }
        if entry.prev_hash() != Some(self.last_leaf) {
            return Err(AuditError::ChainBroken { index });
        }
        let leaf = entry.leaf_hash();
        let verified = self
            .keys
            .iter()
            .filter(|key| key_id.is_none_or(|id| key.key_id() == id))
            .any(|key| verify_entry_signature(key, &leaf, signature).is_ok());
        if !verified {
            return Err(AuditError::BadSignature { index });
        }
        self.scratch.clear();
        self.tree
            .append(leaf, &mut self.scratch)
            .map_err(|_| AuditError::IndexMismatch {
                index,
                found: index,
            })?;
        self.last_leaf = leaf;
        Ok(entry)
    }

    /// The perfect subtrees the last [`LogAuditor::push`] completed (its leaf first): what a store
    /// must hold for them.
    pub fn completed_nodes(&self) -> &[(NodeId, NodeHash)] {
        &self.scratch
    }

    /// Opens a signed checkpoint and checks that it commits to exactly the replayed tree.
    pub fn check_checkpoint(&self, note: &str) -> Result<VerifiedCheckpoint, AuditError> {
        let size = self.size();
        let verified = Checkpoint::open(note, &self.keys).map_err(|e: CheckpointError| {
            AuditError::CheckpointRejected {
                size,
                reason: e.to_string(),
            }
        })?;
        let checkpoint = &verified.checkpoint;
        if checkpoint.size != size {
            return Err(AuditError::CheckpointSize {
                claimed: checkpoint.size,
                replayed: size,
            });
        }
        if checkpoint.root != self.root() {
            return Err(AuditError::RootMismatch {
                size,
                claimed: checkpoint.root,
                replayed: self.root(),
            });
        }
        Ok(verified)
    }
}
