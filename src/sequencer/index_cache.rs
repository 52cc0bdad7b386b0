//! The sequencer's in-memory view of the subject index's latest version.
//!
//! The sequencer is the index's only writer, so it can keep the nodes of the latest version near
//! the root in memory: every commit group rewrites the paths of the subjects it touches, and
//! without this cache each rewrite would first read those paths back from RocksDB, page level by
//! page level (about `k log2 n / 4` point reads per group of `k` subjects in an index of `n`).
//! Pages whose top is down to [`IndexNodeCache::max_depth`] are kept; deeper ones are read from the
//! store, but for the last two versions planned, whose writes may be in flight (all their pages
//! are kept until the store has them). The cache only ever holds pages of the latest planned
//! versions, which are immutable, so it cannot be stale: a version adds the pages it wrote and
//! drops the ones it replaced.

use rustc_hash::FxHashMap;

use crate::core::subject_index::{IndexCommit, IndexPage, NodeKey, SubjectNodeStore, SubtreeRef};
use crate::storage::{StorageError, TailStore};

/// Pages of the latest version, down to a depth.
#[derive(Debug, Default)]
pub(crate) struct IndexNodeCache {
    pages: FxHashMap<NodeKey, IndexPage>,
    latest: Option<(u64, SubtreeRef)>,
    max_depth: u16,
    /// The pages below `max_depth` of the last two versions recorded, oldest first: the newer
    /// one may still be in flight to the store, and the older one until the writer has taken
    /// the newer (the store shows a version only once its write has returned).
    deep: std::collections::VecDeque<Vec<NodeKey>>,
}

impl IndexNodeCache {
    /// An empty cache that will keep the pages whose top is at depths `0..=max_depth`.
    pub(crate) fn new(max_depth: u16) -> Self {
        Self {
            max_depth,
            ..Self::default()
        }
    }

    /// Takes in the version just planned, before its write: the next version is made from it.
    /// Its pages at every depth are kept until two more versions are recorded (by then the
    /// writer has made it durable: it takes a group only once the one before is written); those
    /// down to `max_depth` stay as long as they are the latest version's.
    pub(crate) fn record(&mut self, commit: &IndexCommit) {
        if self.deep.len() >= 2
            && let Some(durable) = self.deep.pop_front()
        {
            for key in durable {
                self.pages.remove(&key);
            }
        }
        for stale in &commit.stale {
            self.pages.remove(&stale.key);
        }
        let mut deep = Vec::new();
        for (key, page) in &commit.pages {
            if key.path.depth() > self.max_depth {
                deep.push(*key);
            }
            self.pages.insert(*key, page.clone());
        }
        self.deep.push_back(deep);
        self.latest = Some((commit.version, commit.root));
    }

    /// A node store that answers from this cache first and from `store` for the rest.
    pub(crate) fn over<'a>(&'a self, store: &'a dyn TailStore) -> CachedIndexStore<'a> {
        CachedIndexStore { cache: self, store }
    }
}

/// [`SubjectNodeStore`] over the cache and the store beneath it.
pub(crate) struct CachedIndexStore<'a> {
    cache: &'a IndexNodeCache,
    store: &'a dyn TailStore,
}

impl SubjectNodeStore for CachedIndexStore<'_> {
    type Error = StorageError;

    fn read_pages(&self, keys: &[NodeKey]) -> Result<Vec<Option<IndexPage>>, StorageError> {
        let mut found: Vec<Option<IndexPage>> = keys
            .iter()
            .map(|key| self.cache.pages.get(key).cloned())
            .collect();
        let missing: Vec<usize> = (0..keys.len()).filter(|&i| found[i].is_none()).collect();
        if missing.is_empty() {
            return Ok(found);
        }
        let wanted: Vec<NodeKey> = missing.iter().map(|&i| keys[i]).collect();
        let read = self.store.read_pages(&wanted)?;
        if read.len() != wanted.len() {
            return Err(StorageError::inconsistent(format!(
                "asked the store for {} subject-index pages, got {}",
                wanted.len(),
                read.len()
            )));
        }
        for (i, node) in missing.into_iter().zip(read) {
            found[i] = node;
        }
        Ok(found)
    }

    fn read_root(&self, version: u64) -> Result<Option<SubtreeRef>, StorageError> {
        match self.cache.latest {
            Some((latest, root)) if latest == version => Ok(Some(root)),
            _ => self.store.read_root(version),
        }
    }
}
