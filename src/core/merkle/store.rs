//! How the tree's math reaches storage: one small synchronous trait, and an in-memory store.

use std::collections::HashMap;

use super::node_id::NodeId;
use crate::core::hash::NodeHash;

/// Where the hashes of perfect subtrees are kept (RocksDB in the server, a map in tests).
///
/// Only perfect subtrees ([`NodeId`]) are ever stored; a node is written once, when its last leaf
/// is appended, and never changes. Proof construction asks for all the hashes it needs in one
/// call, so that a key-value store can answer with one batched read.
pub trait HashStore {
    /// The store's own failure (I/O, corruption, a node it does not hold, ...).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The hashes of `ids`, in the same order and as many. The core only asks for nodes of
    /// trees the store holds, so a node the store does not hold is the store's error (for
    /// [`MemoryHashStore`], [`MissingNodeError`]).
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<NodeHash>, Self::Error>;
}

/// A [`MemoryHashStore`] was asked for a node it does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the hash store has no {0}")]
pub struct MissingNodeError(pub NodeId);

/// Why a proof or a root could not be built from a [`HashStore`].
#[derive(Debug, thiserror::Error)]
pub enum MerkleError<E: std::error::Error + 'static> {
    /// The store failed.
    #[error("hash store failed")]
    Store(#[source] E),
    /// The store answered with a different number of hashes than it was asked for.
    #[error("asked the hash store for {asked} hashes, got {got}")]
    StoreAnswerLength {
        /// How many nodes were asked for.
        asked: usize,
        /// How many answers came back.
        got: usize,
    },
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

/// Reads `ids` from `store` in one call, checking that it answered each.
pub(crate) fn read_all<S: HashStore + ?Sized>(
    store: &S,
    ids: &[NodeId],
) -> Result<Vec<NodeHash>, MerkleError<S::Error>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = store.read_hashes(ids).map_err(MerkleError::Store)?;
    if hashes.len() != ids.len() {
        return Err(MerkleError::StoreAnswerLength {
            asked: ids.len(),
            got: hashes.len(),
        });
    }
    Ok(hashes)
}

/// A [`HashStore`] in a map: for tests, benchmarks and tools that hold a whole tree in memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryHashStore {
    nodes: HashMap<NodeId, NodeHash>,
}

impl MemoryHashStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores (or overwrites) the hash of one perfect subtree.
    pub fn insert(&mut self, id: NodeId, hash: NodeHash) {
        self.nodes.insert(id, hash);
    }

    /// The hash of one perfect subtree, if stored.
    pub fn get(&self, id: &NodeId) -> Option<NodeHash> {
        self.nodes.get(id).copied()
    }

    /// How many nodes are stored.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no node is stored.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

impl Extend<(NodeId, NodeHash)> for MemoryHashStore {
    /// Stores every node, as [`super::CompactRange::append`] emits them.
    fn extend<I: IntoIterator<Item = (NodeId, NodeHash)>>(&mut self, nodes: I) {
        self.nodes.extend(nodes);
    }
}

impl HashStore for MemoryHashStore {
    type Error = MissingNodeError;

    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<NodeHash>, Self::Error> {
        ids.iter()
            .map(|id| self.get(id).ok_or(MissingNodeError(*id)))
            .collect()
    }
}
