//! Replaying a log from index 0: the checks a monitor, a regulator or a test runs over every
//! entry. Fed entries in order, [`LogAuditor`] recomputes the hash chain, the Merkle tree, every
//! entry signature and every subject's chain (`subject_seq`, `subject_prev_index`), and then
//! checks signed checkpoints against the tree and the subject index it rebuilt
//! (`docs/subject-index.md`). The first divergence is reported with its index.

use std::collections::HashMap;

use crate::core::checkpoint::{Checkpoint, CheckpointError, VerifiedCheckpoint};
use crate::core::directory::SubjectToken;
use crate::core::entry::SequencedEntry;
use crate::core::hash::{LeafHash, NodeHash, RootHash, leaf_hash};
use crate::core::merkle::{CompactRange, NodeId};
use crate::core::signature::{EntrySignature, KeyId, VerifierKey, verify_entry_signature};
use crate::core::subject_index::{
    IndexCommit, MemorySubjectStore, SubjectHead, apply_updates, empty_index_root,
    find_subject_index_root,
};

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
    /// An entry's subject fields do not continue its subject's chain: `subject_seq` is not the
    /// number of earlier entries of the token, or `subject_prev_index` not the latest of them.
    #[error(
        "entry {index}: subject_seq {seq} / subject_prev_index {prev} do not continue the subject's chain (expected {expected_seq} / {expected_prev})"
    )]
    SubjectChain {
        /// Position in the replay.
        index: u64,
        /// What the entry says.
        seq: u64,
        /// What the entry says.
        prev: u64,
        /// The number of earlier entries of the token.
        expected_seq: u64,
        /// The index of the latest of them (0 for none).
        expected_prev: u64,
    },
    /// A checkpoint carries no subject-index line, or a malformed one.
    #[error("checkpoint at size {size}: subject index: {reason}")]
    SubjectIndexLine {
        /// Tree size.
        size: u64,
        /// Why.
        reason: String,
    },
    /// A checkpoint's subject-index root is not the root of the index rebuilt from the entries.
    #[error(
        "checkpoint at size {size}: subject-index root {claimed} differs from the replayed root {replayed}"
    )]
    SubjectIndexMismatch {
        /// Tree size.
        size: u64,
        /// Signed root.
        claimed: RootHash,
        /// Recomputed root.
        replayed: RootHash,
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

/// The verdict on one entry's signature, made by [`CheckedSignature::check`] apart from the
/// replay (so that a replay can verify signatures on other threads) and consumed by
/// [`LogAuditor::push_checked`]. It names the leaf it was made for: a verdict on other bytes
/// counts as a bad signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckedSignature {
    leaf: LeafHash,
    valid: bool,
}

impl CheckedSignature {
    /// Verifies the log's signature over the entry `bytes` under `keys` (only the key named
    /// `key_id` when the store names one; otherwise any of them).
    pub fn check(
        keys: &[VerifierKey],
        bytes: &[u8],
        signature: &EntrySignature,
        key_id: Option<KeyId>,
    ) -> Self {
        let leaf = leaf_hash(bytes);
        let valid = keys
            .iter()
            .filter(|key| key_id.is_none_or(|id| key.key_id() == id))
            .any(|key| verify_entry_signature(key, &leaf, signature).is_ok());
        Self { leaf, valid }
    }
}

/// Replays a log entry by entry.
#[derive(Debug, Clone)]
pub struct LogAuditor {
    keys: Vec<VerifierKey>,
    last_leaf: LeafHash,
    tree: CompactRange,
    scratch: Vec<(NodeId, NodeHash)>,
    /// Every subject's head, as the entries replayed so far make it.
    heads: HashMap<SubjectToken, SubjectHead>,
    /// Heads that moved since the subject index's last rebuilt version.
    pending: Vec<(SubjectToken, SubjectHead)>,
    /// The rebuilt subject index: its latest version only (older ones are pruned).
    index: MemorySubjectStore,
    /// The rebuilt index's latest version and root.
    index_version: Option<u64>,
    index_root: RootHash,
    /// The nodes the last rebuilt version wrote.
    last_index_commit: Option<IndexCommit>,
}

impl LogAuditor {
    /// Starts a replay at index 0, trusting `keys` (the log's keys, out of band).
    pub fn new(keys: Vec<VerifierKey>) -> Self {
        Self {
            keys,
            last_leaf: LeafHash::from_bytes([0u8; 32]),
            tree: CompactRange::default(),
            scratch: Vec::new(),
            heads: HashMap::new(),
            pending: Vec::new(),
            index: MemorySubjectStore::new(),
            index_version: None,
            index_root: empty_index_root(),
            last_index_commit: None,
        }
    }

    /// Every subject's head after the entries replayed so far.
    pub fn subject_heads(&self) -> &HashMap<SubjectToken, SubjectHead> {
        &self.heads
    }

    /// The subject-index version the last [`LogAuditor::check_checkpoint`] rebuilt (named by its
    /// tree size, as the server names them): its root record and the nodes it wrote. `None`
    /// when that checkpoint added nothing to the index.
    pub fn last_index_commit(&self) -> Option<&IndexCommit> {
        self.last_index_commit.as_ref()
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
        let checked = CheckedSignature::check(&self.keys, bytes, signature, key_id);
        self.push_checked(bytes, checked)
    }

    /// The keys this replay trusts: what [`CheckedSignature::check`] needs on another thread.
    pub fn keys(&self) -> &[VerifierKey] {
        &self.keys
    }

    /// [`LogAuditor::push`] with the signature checked beforehand (the costly half of a
    /// replay, which a caller may run on other threads, ahead of the replay). The checks are the
    /// same and fail in the same order: the signature's verdict counts only after the entry's
    /// position and chain, and only for exactly these bytes.
    pub fn push_checked(
        &mut self,
        bytes: &[u8],
        checked: CheckedSignature,
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
        if !checked.valid || checked.leaf != leaf {
            return Err(AuditError::BadSignature { index });
        }
        if let Some(token) = entry.subject_token() {
            let fields = entry.entry();
            let (expected_seq, expected_prev) = self
                .heads
                .get(&token)
                .map_or((0, 0), |head| (head.count, head.last_index));
            if fields.subject_seq != expected_seq || fields.subject_prev_index != expected_prev {
                return Err(AuditError::SubjectChain {
                    index,
                    seq: fields.subject_seq,
                    prev: fields.subject_prev_index,
                    expected_seq,
                    expected_prev,
                });
            }
            let head = SubjectHead {
                count: expected_seq + 1,
                last_index: index,
                last_leaf: leaf,
            };
            self.heads.insert(token, head);
            self.pending.push((token, head));
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

    /// Opens a signed checkpoint and checks that it commits to exactly the replayed tree and to
    /// the subject index of the replayed entries (its extension line, `docs/subject-index.md`).
    /// The index is rebuilt one version per checked checkpoint, as the server builds it per
    /// commit group.
    pub fn check_checkpoint(&mut self, note: &str) -> Result<VerifiedCheckpoint, AuditError> {
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
        let claimed = find_subject_index_root(checkpoint)
            .map_err(|e| AuditError::SubjectIndexLine {
                size,
                reason: e.to_string(),
            })?
            .ok_or_else(|| AuditError::SubjectIndexLine {
                size,
                reason: "the checkpoint carries no subject-index line".into(),
            })?;
        let replayed = self.rebuild_subject_index(size)?;
        if claimed != replayed {
            return Err(AuditError::SubjectIndexMismatch {
                size,
                claimed,
                replayed,
            });
        }
        Ok(verified)
    }

    /// Applies the heads that moved since the last version as version `size`.
    fn rebuild_subject_index(&mut self, size: u64) -> Result<RootHash, AuditError> {
        if self.pending.is_empty() {
            self.last_index_commit = None;
            return Ok(self.index_root);
        }
        let commit =
            apply_updates(&self.index, self.index_version, size, &self.pending).map_err(|e| {
                AuditError::SubjectIndexLine {
                    size,
                    reason: format!("rebuilding the index: {e}"),
                }
            })?;
        self.pending.clear();
        self.index_version = Some(size);
        self.index_root = commit.root_hash();
        self.index.commit(commit.clone());
        self.index.prune(size);
        self.last_index_commit = Some(commit);
        Ok(self.index_root)
    }
}
