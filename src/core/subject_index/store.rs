//! How the index reaches storage: one small synchronous trait, what a commit hands back to be
//! persisted, the pruning rule, and an in-memory store (docs/subject-index.md, "Storage").

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::node::{IndexNode, SubtreeRef};
use super::node_key::{NODE_KEY_LEN, NodeKey, NodeKeyError};
use super::page::IndexPage;
use crate::core::hash::RootHash;

/// Where the index's pages and per-version roots are kept (RocksDB in the server, maps in tests).
///
/// A page ([`IndexPage`]) is written once, under the [`NodeKey`] of the version that wrote it and
/// of its top, and never changes; every node of a page has the page's version, so the node at
/// `(version, path)` is in the page at `(version, path.page_top())`. A version's root record says
/// which page holds its root. The server persists an [`IndexCommit`] in the same atomic write as
/// the entries of its commit group.
pub trait SubjectNodeStore {
    /// The store's own failure (I/O, corruption, ...).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The pages under `keys` (each a page top's key), in the same order and as many: `None` for
    /// a key the store does not hold. Callers ask for every page of one level at once, so that a
    /// key-value store can answer with one batched read.
    fn read_pages(&self, keys: &[NodeKey]) -> Result<Vec<Option<IndexPage>>, Self::Error>;

    /// The root record of `version`, or `None` if the version was never committed or is pruned.
    fn read_root(&self, version: u64) -> Result<Option<SubtreeRef>, Self::Error>;
}

/// Why an update or a proof could not be made from a [`SubjectNodeStore`].
#[derive(Debug, thiserror::Error)]
pub enum SubjectIndexStoreError<E: std::error::Error + 'static> {
    /// The store failed.
    #[error("subject-index store failed")]
    Store(#[source] E),
    /// The store holds no root record for the version.
    #[error("the subject index has no root for version {0}")]
    MissingRoot(u64),
    /// A node that a retained version refers to is not stored (its page, or the node in it).
    #[error("the subject-index store has no {0}")]
    MissingNode(NodeKey),
    /// The store answered with a different number of pages than it was asked for.
    #[error("asked the subject-index store for {asked} pages, got {got}")]
    StoreAnswerLength {
        /// How many pages were asked for.
        asked: usize,
        /// How many answers came back.
        got: usize,
    },
    /// A stored node does not hash to what its parent (or root record) says.
    #[error("{0} does not hash to the hash its parent holds")]
    NodeHashMismatch(NodeKey),
    /// A stored leaf's token does not start with the leaf's path.
    #[error("{0} is a leaf whose token is not below its path")]
    LeafOffPath(NodeKey),
    /// An interior node at depth 256, where only leaves can be.
    #[error("{0} is an interior node at the greatest depth")]
    InteriorTooDeep(NodeKey),
    /// The new version is not above the version it is built on.
    #[error("version {new} is not above the base version {base}")]
    VersionNotIncreasing {
        /// The version the update starts from.
        base: u64,
        /// The version asked for.
        new: u64,
    },
}

/// A page that a version no longer refers to (`key` is its top's key): `since` is the version
/// that replaced it. Once no version below `H` is needed, every stale page with `since <= H` can
/// be deleted (see [`is_prunable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StaleNode {
    /// The first version that does not refer to the page.
    pub since: u64,
    /// The page's key.
    pub key: NodeKey,
}

/// Length of [`StaleNode::to_key_bytes`].
pub const STALE_KEY_LEN: usize = 8 + NODE_KEY_LEN;

impl StaleNode {
    /// `u64_be(since) || node key` (50 bytes): a range scan up to a horizon finds everything that
    /// pruning may delete.
    pub fn to_key_bytes(&self) -> [u8; STALE_KEY_LEN] {
        let mut key = [0u8; STALE_KEY_LEN];
        key[..8].copy_from_slice(&self.since.to_be_bytes());
        key[8..].copy_from_slice(&self.key.to_key_bytes());
        key
    }

    /// The inverse of [`StaleNode::to_key_bytes`].
    pub fn from_key_bytes(key: &[u8]) -> Result<Self, NodeKeyError> {
        if key.len() != STALE_KEY_LEN {
            return Err(NodeKeyError::KeyLength(key.len()));
        }
        let mut since = [0u8; 8];
        since.copy_from_slice(&key[..8]);
        Ok(Self {
            since: u64::from_be_bytes(since),
            key: NodeKey::from_key_bytes(&key[8..])?,
        })
    }
}

/// Whether `stale` may be deleted once only versions `>= horizon` are kept. A version derives
/// from the one before it and never refers again to a node it dropped, so a node dropped at or
/// before the horizon is unreachable from every retained version.
pub const fn is_prunable(stale: &StaleNode, horizon: u64) -> bool {
    stale.since <= horizon
}

/// What one commit group changes in the index, for the caller to persist in the same atomic write
/// as the group's entries: the new pages, the version's root record, and the stale records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexCommit {
    /// The new version.
    pub version: u64,
    /// Its root record (the root of the base version when nothing changed).
    pub root: SubtreeRef,
    /// Pages to write, each under its key (this version and the page's top), sorted by key.
    pub pages: Vec<(NodeKey, IndexPage)>,
    /// Pages of earlier versions that this version no longer refers to, all with
    /// `since == version`.
    pub stale: Vec<StaleNode>,
}

impl IndexCommit {
    /// The root hash of the new version: what the checkpoint's extension line carries.
    pub fn root_hash(&self) -> RootHash {
        RootHash::from(self.root.hash())
    }
}

/// A [`SubjectNodeStore`] in maps: for tests, benchmarks and tools that hold an index in memory.
#[derive(Debug, Clone, Default)]
pub struct MemorySubjectStore {
    pages: HashMap<NodeKey, IndexPage>,
    roots: BTreeMap<u64, SubtreeRef>,
    stale: BTreeSet<StaleNode>,
}

impl MemorySubjectStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Persists a commit: its pages, its root record and its stale records.
    pub fn commit(&mut self, commit: IndexCommit) {
        self.pages.extend(commit.pages);
        self.roots.insert(commit.version, commit.root);
        self.stale.extend(commit.stale);
    }

    /// Keeps only versions `>= horizon`: deletes the root records below it and every stale page
    /// that [`is_prunable`] allows. Returns how many pages were deleted.
    pub fn prune(&mut self, horizon: u64) -> usize {
        self.roots.retain(|&version, _| version >= horizon);
        let mut deleted = 0;
        while let Some(first) = self.stale.first().copied() {
            if !is_prunable(&first, horizon) {
                break;
            }
            self.stale.remove(&first);
            if self.pages.remove(&first.key).is_some() {
                deleted += 1;
            }
        }
        deleted
    }

    /// The most recent committed version, if any.
    pub fn latest_version(&self) -> Option<u64> {
        self.roots.keys().next_back().copied()
    }

    /// How many pages are stored (live and stale).
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Every stored page's key, for tests that check what pruning kept.
    pub fn page_keys(&self) -> impl Iterator<Item = &NodeKey> {
        self.pages.keys()
    }
}

impl SubjectNodeStore for MemorySubjectStore {
    type Error = std::convert::Infallible;

    fn read_pages(&self, keys: &[NodeKey]) -> Result<Vec<Option<IndexPage>>, Self::Error> {
        Ok(keys.iter().map(|k| self.pages.get(k).cloned()).collect())
    }

    fn read_root(&self, version: u64) -> Result<Option<SubtreeRef>, Self::Error> {
        Ok(self.roots.get(&version).copied())
    }
}

/// Reads the pages of `keys` in one call; an absent page is
/// [`SubjectIndexStoreError::MissingNode`].
pub(crate) fn read_all<S: SubjectNodeStore>(
    store: &S,
    keys: &[NodeKey],
) -> Result<Vec<IndexPage>, SubjectIndexStoreError<S::Error>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let answers = store
        .read_pages(keys)
        .map_err(SubjectIndexStoreError::Store)?;
    if answers.len() != keys.len() {
        return Err(SubjectIndexStoreError::StoreAnswerLength {
            asked: keys.len(),
            got: answers.len(),
        });
    }
    keys.iter()
        .zip(answers)
        .map(|(key, page)| page.ok_or(SubjectIndexStoreError::MissingNode(*key)))
        .collect()
}

/// The node at `key`, read with its page: for tools and tests that walk a version node by node.
pub fn read_node<S: SubjectNodeStore>(
    store: &S,
    key: NodeKey,
) -> Result<IndexNode, SubjectIndexStoreError<S::Error>> {
    let page_key = NodeKey {
        version: key.version,
        path: key.path.page_top(),
    };
    read_all(store, &[page_key])?
        .pop()
        .and_then(|page| page.node(&key.path))
        .ok_or(SubjectIndexStoreError::MissingNode(key))
}

/// The root record of `version`; absent is [`SubjectIndexStoreError::MissingRoot`].
pub(crate) fn read_root<S: SubjectNodeStore>(
    store: &S,
    version: u64,
) -> Result<SubtreeRef, SubjectIndexStoreError<S::Error>> {
    store
        .read_root(version)
        .map_err(SubjectIndexStoreError::Store)?
        .ok_or(SubjectIndexStoreError::MissingRoot(version))
}

/// The root hash of `version`: what the checkpoint of that version carries.
pub fn root_at<S: SubjectNodeStore>(
    store: &S,
    version: u64,
) -> Result<RootHash, SubjectIndexStoreError<S::Error>> {
    Ok(RootHash::from(read_root(store, version)?.hash()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::directory::SubjectToken;
    use crate::core::subject_index::node_key::NodePath;

    #[test]
    fn stale_keys_sort_by_version_first_and_round_trip() {
        let a = StaleNode {
            since: 2,
            key: NodeKey {
                version: 9,
                path: NodePath::ROOT,
            },
        };
        let b = StaleNode {
            since: 3,
            key: NodeKey {
                version: 1,
                path: NodePath::prefix_of(&SubjectToken::from_bytes([0xff; 32]), 200),
            },
        };
        assert!(a.to_key_bytes() < b.to_key_bytes());
        assert!(a < b);
        for s in [a, b] {
            assert_eq!(StaleNode::from_key_bytes(&s.to_key_bytes()), Ok(s));
        }
        assert_eq!(
            StaleNode::from_key_bytes(&[0; 49]),
            Err(NodeKeyError::KeyLength(49))
        );
        assert!(is_prunable(&a, 2));
        assert!(!is_prunable(&b, 2));
    }
}
