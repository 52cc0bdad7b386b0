//! Applying one commit group's head updates: read every stored node on the updated paths, level
//! by level, then rebuild those paths in memory and return what to persist.
//!
//! Cost: for `k` updates in a tree of `n` random tokens, about `k log2 n` nodes are read, checked
//! (one hash each) and rewritten (one hash each), with one `read_nodes` call per tree level.

use rustc_hash::FxHashMap as HashMap;
use std::ops::Range;

use super::hashing::{TOKEN_BITS, token_bit};
use super::head::SubjectHead;
use super::node::{IndexNode, SubtreeRef};
use super::node_key::{NodeKey, NodePath};
use super::store::{
    IndexCommit, StaleNode, SubjectIndexStoreError, SubjectNodeStore, read_all, read_root,
};
use crate::core::directory::SubjectToken;

/// One update: the token's new head.
type Update = (SubjectToken, SubjectHead);

/// Builds version `new_version` from `base_version` (`None` for the empty index) by setting the
/// head of every token in `updates`, and returns the [`IndexCommit`] to persist.
///
/// `updates` may be in any order; when a token appears more than once, its last update wins (as
/// when one commit group holds several entries of the same subject). Tokens are never removed:
/// a subject's head only moves forward. The caller guarantees that `base_version` is the latest
/// committed version (the index is linear, one version per commit group), and `new_version` must
/// be above it. An empty `updates` still makes a version, whose root record is the base's root.
pub fn apply_updates<S: SubjectNodeStore>(
    store: &S,
    base_version: Option<u64>,
    new_version: u64,
    updates: &[Update],
) -> Result<IndexCommit, SubjectIndexStoreError<S::Error>> {
    let base_root = match base_version {
        Some(base) if new_version <= base => {
            return Err(SubjectIndexStoreError::VersionNotIncreasing {
                base,
                new: new_version,
            });
        }
        Some(base) => read_root(store, base)?,
        None => SubtreeRef::Empty,
    };
    let updates = last_update_per_token(updates);
    let loaded = read_update_paths(store, base_root, &updates)?;
    let mut rebuild = Rebuild {
        version: new_version,
        loaded: &loaded,
        nodes: Vec::new(),
        stale: Vec::new(),
    };
    let root = rebuild.subtree(base_root, NodePath::ROOT, &updates)?;
    Ok(IndexCommit {
        version: new_version,
        root,
        nodes: rebuild.nodes,
        stale: rebuild.stale,
    })
}

/// The updates sorted by token, keeping the last one given for each token.
fn last_update_per_token(updates: &[Update]) -> Vec<Update> {
    let mut sorted: Vec<(usize, Update)> = updates.iter().copied().enumerate().collect();
    sorted.sort_by(|(i, (a, _)), (j, (b, _))| a.cmp(b).then(j.cmp(i)));
    sorted.dedup_by(|later, earlier| later.1.0 == earlier.1.0);
    sorted.into_iter().map(|(_, update)| update).collect()
}

/// Where `updates` (sorted by token, all below `path`) split at `path`'s next bit.
fn split_point(updates: &[Update], depth: u16) -> usize {
    updates.partition_point(|(token, _)| token_bit(token, depth) == 0)
}

/// Reads every stored node that an updated token's path crosses, one tree level per
/// `read_nodes` call, and checks each against the hash its parent holds.
fn read_update_paths<S: SubjectNodeStore>(
    store: &S,
    root: SubtreeRef,
    updates: &[Update],
) -> Result<HashMap<NodeKey, IndexNode>, SubjectIndexStoreError<S::Error>> {
    let mut loaded = HashMap::default();
    let mut level: Vec<(NodeKey, SubtreeRef, Range<usize>)> = Vec::new();
    if let (SubtreeRef::Stored { version, .. }, false) = (root, updates.is_empty()) {
        let key = NodeKey {
            version,
            path: NodePath::ROOT,
        };
        level.push((key, root, 0..updates.len()));
    }
    while !level.is_empty() {
        let keys: Vec<NodeKey> = level.iter().map(|(key, _, _)| *key).collect();
        let nodes = read_all(store, &keys)?;
        let mut next = Vec::new();
        for ((key, reference, range), node) in level.into_iter().zip(nodes) {
            check_node(&key, &reference, &node)?;
            if let IndexNode::Interior { left, right } = node {
                let depth = key.path.depth();
                let split = range.start + split_point(&updates[range.clone()], depth);
                for (child, bit, below) in
                    [(left, 0, range.start..split), (right, 1, split..range.end)]
                {
                    if let (SubtreeRef::Stored { version, .. }, false) = (child, below.is_empty()) {
                        let path = key.path.child(bit);
                        next.push((NodeKey { version, path }, child, below));
                    }
                }
            }
            loaded.insert(key, node);
        }
        level = next;
    }
    Ok(loaded)
}

/// A node read from the store must hash to what its parent says and sit where it may.
fn check_node<E: std::error::Error + 'static>(
    key: &NodeKey,
    reference: &SubtreeRef,
    node: &IndexNode,
) -> Result<(), SubjectIndexStoreError<E>> {
    match node {
        IndexNode::Leaf { token, .. } if !key.path.holds(token) => {
            return Err(SubjectIndexStoreError::LeafOffPath(*key));
        }
        IndexNode::Interior { .. } if key.path.depth() >= TOKEN_BITS => {
            return Err(SubjectIndexStoreError::InteriorTooDeep(*key));
        }
        _ => {}
    }
    if node.hash() != reference.hash() {
        return Err(SubjectIndexStoreError::NodeHashMismatch(*key));
    }
    Ok(())
}

/// The in-memory rebuild of the updated paths.
struct Rebuild<'a> {
    version: u64,
    loaded: &'a HashMap<NodeKey, IndexNode>,
    nodes: Vec<(NodeKey, IndexNode)>,
    stale: Vec<StaleNode>,
}

impl Rebuild<'_> {
    /// The new version of the subtree `current` at `path` after `updates` (sorted, all below
    /// `path`).
    fn subtree<E: std::error::Error + 'static>(
        &mut self,
        current: SubtreeRef,
        path: NodePath,
        updates: &[Update],
    ) -> Result<SubtreeRef, SubjectIndexStoreError<E>> {
        let version = match current {
            _ if updates.is_empty() => return Ok(current),
            SubtreeRef::Empty => return Ok(self.fresh(path, updates)),
            SubtreeRef::Stored { version, .. } => version,
        };
        let key = NodeKey { version, path };
        let node = self
            .loaded
            .get(&key)
            .copied()
            .ok_or(SubjectIndexStoreError::MissingNode(key))?;
        self.stale.push(StaleNode {
            since: self.version,
            key,
        });
        match node {
            IndexNode::Leaf { token, head } => {
                // The leaf goes down with the new tokens, unless one of the updates replaces it.
                match updates.binary_search_by(|(t, _)| t.cmp(&token)) {
                    Ok(_) => Ok(self.fresh(path, updates)),
                    Err(at) => {
                        let mut merged = Vec::with_capacity(updates.len() + 1);
                        merged.extend_from_slice(&updates[..at]);
                        merged.push((token, head));
                        merged.extend_from_slice(&updates[at..]);
                        Ok(self.fresh(path, &merged))
                    }
                }
            }
            IndexNode::Interior { left, right } => {
                let split = split_point(updates, path.depth());
                let left = self.subtree(left, path.child(0), &updates[..split])?;
                let right = self.subtree(right, path.child(1), &updates[split..])?;
                Ok(self.write(path, IndexNode::Interior { left, right }))
            }
        }
    }

    /// A new subtree at `path` holding exactly `entries` (sorted, non-empty, distinct tokens, all
    /// below `path`), by the compression rule.
    fn fresh(&mut self, path: NodePath, entries: &[Update]) -> SubtreeRef {
        match entries {
            [] => SubtreeRef::Empty,
            [(token, head)] => self.write(
                path,
                IndexNode::Leaf {
                    token: *token,
                    head: *head,
                },
            ),
            _ => {
                // Two distinct tokens below `path` differ at some bit at or after its depth, so
                // `path.depth() < 256` here.
                let split = split_point(entries, path.depth());
                let left = self.fresh(path.child(0), &entries[..split]);
                let right = self.fresh(path.child(1), &entries[split..]);
                self.write(path, IndexNode::Interior { left, right })
            }
        }
    }

    /// Records a new node under this version and returns the reference to it.
    fn write(&mut self, path: NodePath, node: IndexNode) -> SubtreeRef {
        let hash = node.hash();
        self.nodes.push((
            NodeKey {
                version: self.version,
                path,
            },
            node,
        ));
        SubtreeRef::Stored {
            version: self.version,
            hash,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::hash::leaf_hash;

    fn head(n: u64) -> SubjectHead {
        SubjectHead {
            count: n,
            last_index: n,
            last_leaf: leaf_hash(&n.to_be_bytes()),
        }
    }

    #[test]
    fn last_update_for_a_token_wins() {
        let a = SubjectToken::from_bytes([1; 32]);
        let b = SubjectToken::from_bytes([0; 32]);
        let updates = [(a, head(1)), (b, head(2)), (a, head(3)), (a, head(4))];
        assert_eq!(
            last_update_per_token(&updates),
            vec![(b, head(2)), (a, head(4))]
        );
    }
}
