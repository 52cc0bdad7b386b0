//! An in-memory cache of the log tree's upper nodes, for proofs.
//!
//! Every inclusion proof needs one sibling per level. Below [`super::CHUNK_LEVELS`] they come
//! from the row of the proof's 64-leaf chunk (one point read); the levels above are
//! few (1/32nd of the tree's nodes) and shared by every proof. A perfect subtree's hash never
//! changes once written, so caching it can never serve a stale hash. Nodes at level
//! [`MIN_CACHED_LEVEL`] and above are kept, up to a bound in nodes; past the bound the cache
//! simply stops growing. A warm proof in a tree of `n` leaves then reads one chunk row from
//! RocksDB instead of `log2 n` nodes.

use std::sync::RwLock;

use rustc_hash::FxHashMap;

use crate::core::hash::NodeHash;
use crate::core::merkle::NodeId;

/// The lowest level kept: the first one that is read node by node rather than with its chunk
/// (subtrees of 64 leaves and more).
pub const MIN_CACHED_LEVEL: u8 = super::CHUNK_LEVELS;

/// Bytes a cached node costs, roughly (key, hash, map overhead).
const BYTES_PER_NODE: usize = 64;

/// Upper tree nodes by id.
#[derive(Debug)]
pub(super) struct TreeNodeCache {
    nodes: RwLock<FxHashMap<NodeId, NodeHash>>,
    max_nodes: usize,
}

impl TreeNodeCache {
    /// A cache of at most `mib` MiB.
    pub(super) fn new(mib: usize) -> Self {
        Self {
            nodes: RwLock::new(FxHashMap::default()),
            max_nodes: mib.saturating_mul(1 << 20) / BYTES_PER_NODE,
        }
    }

    /// Whether `id` is a node this cache keeps.
    pub(super) fn keeps(id: &NodeId) -> bool {
        id.level() >= MIN_CACHED_LEVEL
    }

    /// The cached hashes of `ids`, `None` where absent.
    pub(super) fn get_many(&self, ids: &[NodeId]) -> Vec<Option<NodeHash>> {
        match self.nodes.read() {
            Ok(nodes) => ids.iter().map(|id| nodes.get(id).copied()).collect(),
            Err(_) => vec![None; ids.len()],
        }
    }

    /// Remembers nodes read from the store (only those it keeps, while there is room).
    pub(super) fn insert_many(&self, found: impl IntoIterator<Item = (NodeId, NodeHash)>) {
        if let Ok(mut nodes) = self.nodes.write() {
            for (id, hash) in found {
                if nodes.len() >= self.max_nodes {
                    break;
                }
                if Self::keeps(&id) {
                    nodes.insert(id, hash);
                }
            }
        }
    }
}
