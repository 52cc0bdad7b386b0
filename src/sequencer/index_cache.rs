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
//!
//! The pages it keeps are also bounded in memory: a level of pages holds up to 16 times the one
//! above it, and how full the deep levels are depends on how many subjects there are (with a
//! million, the pages at depth 16 took about 120 MB). When the kept pages pass the budget, the
//! cache stops keeping its deepest level, for good: tokens are never removed, so the level
//! would only fill again.

use rustc_hash::FxHashMap;

use crate::core::subject_index::{
    IndexCommit, IndexPage, NodeKey, PAGE_LEVELS, SubjectNodeStore, SubtreeRef,
};
use crate::storage::{StorageError, TailStore};

/// Pages of the latest version, down to a depth.
#[derive(Debug, Default)]
pub(crate) struct IndexNodeCache {
    pages: FxHashMap<NodeKey, IndexPage>,
    latest: Option<(u64, SubtreeRef)>,
    max_depth: u16,
    /// What the pages at depths `0..=max_depth` may take, in bytes ([`page_bytes`]).
    budget: usize,
    /// What they take now.
    bytes: usize,
    /// The pages below `max_depth` of the last two versions recorded, oldest first: the newer
    /// one may still be in flight to the store, and the older one until the writer has taken
    /// the newer (the store shows a version only once its write has returned).
    deep: std::collections::VecDeque<Vec<NodeKey>>,
}

impl IndexNodeCache {
    /// An empty cache that will keep the pages whose top is at depths `0..=max_depth`, in about
    /// `budget` bytes at most (fewer levels when they take more).
    pub(crate) fn new(max_depth: u16, budget: usize) -> Self {
        Self {
            max_depth,
            budget,
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
            if let Some(page) = self.pages.remove(&stale.key)
                && stale.key.path.depth() <= self.max_depth
            {
                self.bytes = self.bytes.saturating_sub(page_bytes(&page));
            }
        }
        let mut deep = Vec::new();
        for (key, page) in &commit.pages {
            if key.path.depth() > self.max_depth {
                deep.push(*key);
            } else {
                self.bytes += page_bytes(page);
            }
            self.pages.insert(*key, page.clone());
        }
        self.deep.push_back(deep);
        self.latest = Some((commit.version, commit.root));
        while self.bytes > self.budget && self.max_depth >= PAGE_LEVELS {
            self.drop_deepest_level();
        }
    }

    /// Stops keeping the deepest level of pages: they go with the pages of the version just
    /// recorded (two versions later), since some of them may be that version's, still in
    /// flight to the store.
    fn drop_deepest_level(&mut self) {
        let deepest_top = self.max_depth - self.max_depth % PAGE_LEVELS;
        let before = self.bytes;
        self.max_depth = deepest_top - 1;
        let mut dropped = Vec::new();
        for (key, page) in &self.pages {
            if key.path.depth() == deepest_top {
                self.bytes = self.bytes.saturating_sub(page_bytes(page));
                dropped.push(*key);
            }
        }
        if let Some(newest) = self.deep.back_mut() {
            newest.extend(dropped);
        }
        tracing::info!(
            depth = deepest_top,
            budget_bytes = self.budget,
            kept_bytes = before,
            "the subject-index cache no longer keeps the pages at this depth: they took it over budget (sequencer.subject_index_cache_mib)"
        );
    }

    /// A node store that answers from this cache first and from `store` for the rest.
    pub(crate) fn over<'a>(&'a self, store: &'a dyn TailStore) -> CachedIndexStore<'a> {
        CachedIndexStore { cache: self, store }
    }
}

/// What a kept page takes in memory: its nodes, and its key and handle in the map (with the
/// map's control byte and the shared slice's two counts).
fn page_bytes(page: &IndexPage) -> usize {
    std::mem::size_of_val(page.nodes())
        + std::mem::size_of::<(NodeKey, IndexPage)>()
        + 1
        + 2 * std::mem::size_of::<usize>()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::directory::SubjectToken;
    use crate::core::hash::leaf_hash;
    use crate::core::subject_index::{
        MemorySubjectStore, SubjectHead, apply_updates, sample_updates,
    };

    /// Version `version` of an index over `store`, adding 500 tokens made from `seed`, recorded in
    /// the cache (the store has it too, as the writer would).
    fn grow(store: &mut MemorySubjectStore, cache: &mut IndexNodeCache, version: u64, seed: u64) {
        let updates = sample_updates((0..500u64).map(|i| seed * 1_000 + i));
        let commit = apply_updates(&*store, store.latest_version(), version, &updates)
            .expect("the update applies");
        cache.record(&commit);
        store.commit(commit);
    }

    /// What the pages kept at the cache's depths take, counted from scratch.
    fn counted(cache: &IndexNodeCache) -> usize {
        cache
            .pages
            .iter()
            .filter(|(key, _)| key.path.depth() <= cache.max_depth)
            .map(|(_, page)| page_bytes(page))
            .sum()
    }

    #[test]
    fn the_kept_pages_stay_within_the_budget_by_whole_levels() {
        // 2,000 tokens: pages at depths 0, 4 and 8 (about 270 of them) fit in 600 KB, the
        // ones at depth 12 do not.
        let mut store = MemorySubjectStore::new();
        let mut cache = IndexNodeCache::new(18, 600_000);
        let mut unbounded = IndexNodeCache::new(18, usize::MAX);
        let mut twin = MemorySubjectStore::new();
        for version in 1..=4 {
            grow(&mut store, &mut cache, version, version);
            grow(&mut twin, &mut unbounded, version, version);
            assert_eq!(cache.bytes, counted(&cache), "version {version}");
            assert!(cache.bytes <= 600_000, "version {version}");
        }
        assert_eq!(unbounded.max_depth, 18);
        assert!(unbounded.bytes > 600_000, "the budget is what limits");
        assert_eq!(cache.max_depth, 11, "the pages at depth 12 and below went");
        assert!(cache.bytes > 0);
        // Two versions after the level went, the pages the cache holds below its depth are the
        // last two versions': theirs may be in flight.
        for version in 5..=6 {
            grow(&mut store, &mut cache, version, version);
        }
        assert_eq!(cache.bytes, counted(&cache));
        for key in cache.pages.keys() {
            assert!(
                key.path.depth() <= cache.max_depth || key.version >= 5,
                "{key:?} kept"
            );
        }
    }

    /// A token of ones but for its last byte: tokens made so share 248 bits, a path of 62 pages.
    fn token_ending(last: u8) -> [u8; 32] {
        let mut token = [1; 32];
        token[31] = last;
        token
    }

    /// The cache over a memory store, as [`CachedIndexStore`] is over the server's.
    struct Over<'a>(&'a IndexNodeCache, &'a MemorySubjectStore);

    impl SubjectNodeStore for Over<'_> {
        type Error = std::convert::Infallible;

        fn read_pages(&self, keys: &[NodeKey]) -> Result<Vec<Option<IndexPage>>, Self::Error> {
            let stored = self.1.read_pages(keys)?;
            Ok(keys
                .iter()
                .zip(stored)
                .map(|(key, stored)| self.0.pages.get(key).cloned().or(stored))
                .collect())
        }

        fn read_root(&self, version: u64) -> Result<Option<SubtreeRef>, Self::Error> {
            match self.0.latest {
                Some((latest, root)) if latest == version => Ok(Some(root)),
                _ => self.1.read_root(version),
            }
        }
    }

    #[test]
    fn pages_in_flight_are_kept_when_their_level_goes() {
        // The version that takes the cache over budget may not be in the store yet: its pages
        // stay until two more versions are recorded, even at the depth no longer kept.
        let mut store = MemorySubjectStore::new();
        let mut cache = IndexNodeCache::new(18, 0);
        let updates = [
            (
                SubjectToken::from_bytes([1; 32]),
                SubjectHead {
                    count: 1,
                    last_index: 0,
                    last_leaf: leaf_hash(b"a"),
                },
            ),
            (
                SubjectToken::from_bytes(token_ending(3)),
                SubjectHead {
                    count: 1,
                    last_index: 1,
                    last_leaf: leaf_hash(b"b"),
                },
            ),
        ];
        let first = apply_updates(&store, None, 1, &updates).expect("applies");
        cache.record(&first);
        assert_eq!(
            cache.max_depth, 3,
            "nothing but the root's page fits in no memory"
        );
        // The first version is not in the store: the next is made from the cache alone.
        let more = [(
            SubjectToken::from_bytes(token_ending(7)),
            SubjectHead {
                count: 1,
                last_index: 2,
                last_leaf: leaf_hash(b"c"),
            },
        )];
        let second = apply_updates(&Over(&cache, &store), Some(1), 2, &more)
            .expect("made from the pages in flight");
        cache.record(&second);
        store.commit(first);
        store.commit(second);
        for version in 3..=4 {
            grow(&mut store, &mut cache, version, version);
        }
        assert!(
            cache
                .pages
                .keys()
                .all(|key| key.path.depth() < PAGE_LEVELS || key.version >= 3),
            "deeper pages of versions 1 and 2 are gone once two versions followed"
        );
    }
}
