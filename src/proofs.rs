//! Reads what proofs are made of from the store and assembles them with the core: entries with
//! their signatures, inclusion and consistency proofs, and SPEC.md section 7 bundles.

use crate::core::bundle::{Bundle, BundleEntry, ConsistencyLink};
use crate::core::hash::{LeafHash, NodeHash, leaf_hash};
use crate::core::merkle::{self, MerkleError};
use crate::core::signature::{EntrySignature, KeyId};
use crate::sequencer::SignedCheckpoint;
use crate::storage::{LedgerStore, StorageError, StoredSignature};

/// Why a proof could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// No entry at that index.
    #[error("index: no entry {0}")]
    NoEntry(u64),
    /// The request does not describe a proof of this log (index beyond size, first > second...).
    #[error("{0}")]
    Request(String),
    /// The store failed or is damaged.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl ProofError {
    /// The gRPC status for this error.
    pub fn into_status(self) -> tonic::Status {
        match self {
            ProofError::NoEntry(_) => tonic::Status::not_found(self.to_string()),
            ProofError::Request(_) => tonic::Status::invalid_argument(self.to_string()),
            ProofError::Storage(error) => crate::service::status::storage(error),
        }
    }
}

impl From<MerkleError<StorageError>> for ProofError {
    fn from(error: MerkleError<StorageError>) -> Self {
        match error {
            MerkleError::Store(error) => ProofError::Storage(error),
            other => ProofError::Request(other.to_string()),
        }
    }
}

/// An entry as stored, with its leaf hash and signature.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    /// The entry bytes, verbatim.
    pub bytes: Vec<u8>,
    /// Their leaf hash.
    pub leaf: LeafHash,
    /// The signature and the key that made it.
    pub signature: StoredSignature,
}

/// The entry at `index` with its signature.
pub fn stored_entry(store: &LedgerStore, index: u64) -> Result<StoredEntry, ProofError> {
    let bytes = store.entry(index)?.ok_or(ProofError::NoEntry(index))?;
    let signature = store
        .signature(index)?
        .ok_or_else(|| StorageError::Damaged(format!("entry {index} has no signature")))?;
    Ok(StoredEntry {
        leaf: leaf_hash(&bytes),
        bytes,
        signature,
    })
}

/// The checkpoint the log signed at `size`, if it did.
pub fn checkpoint_at(
    store: &LedgerStore,
    size: u64,
) -> Result<Option<SignedCheckpoint>, StorageError> {
    let Some(note) = store.checkpoint_at(size)? else {
        return Ok(None);
    };
    let root = merkle::root_at(store, size).map_err(|e| match e {
        MerkleError::Store(error) => error,
        other => StorageError::Damaged(other.to_string()),
    })?;
    Ok(Some(SignedCheckpoint { size, root, note }))
}

/// A consistency proof between two sizes.
pub fn consistency(
    store: &LedgerStore,
    first: u64,
    second: u64,
) -> Result<Vec<NodeHash>, ProofError> {
    Ok(merkle::consistency_proof(store, first, second)?)
}

/// The SPEC.md section 7 bundle proving entry `index` in `checkpoint`, optionally linked by a
/// consistency proof from the earlier checkpoint `from`.
pub fn inclusion_bundle(
    store: &LedgerStore,
    index: u64,
    checkpoint: &SignedCheckpoint,
    from: Option<&SignedCheckpoint>,
) -> Result<String, ProofError> {
    let entry = stored_entry(store, index)?;
    let proof = merkle::inclusion_proof(store, index, checkpoint.size)?;
    let consistency = match from {
        None => None,
        Some(from) => Some(ConsistencyLink {
            from_checkpoint: from.note.clone(),
            proof: merkle::consistency_proof(store, from.size, checkpoint.size)?,
        }),
    };
    let bundle = Bundle {
        checkpoint: checkpoint.note.clone(),
        entries: vec![BundleEntry {
            index,
            entry: entry.bytes,
            signature: EntrySignature::from_bytes(entry.signature.signature),
            inclusion_proof: proof,
            key_id: Some(KeyId::from_bytes(entry.signature.key_id)),
        }],
        consistency,
    };
    Ok(bundle.to_json())
}
