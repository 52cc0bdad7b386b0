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
//! million, the pages at depth 16 took about 120 MB). The deepest level kept is kept in part:
//! its pages are taken in while they fit 15/16 of the budget, and when the levels above grow
//! past the budget, some of its pages are let go (down to 15/16 again, so that this is rare); a level
//! with none left is not kept any more, for good: tokens are never removed, so it would only
//! fill again. Keeping part of a level rather than none: at 16 clients x 100 events over 100k
//! subjects, the pages at depth 16 take a little more than the default budget leaves them, and
//! dropping them whole had every update read its page at that depth from RocksDB.

use rustc_hash::FxHashMap;

use crate::core::subject_index::{
    IndexCommit, IndexPage, NodeKey, PAGE_LEVELS, SubjectNodeStore, SubtreeRef,
};
use crate::storage::{StorageError, TailStore};

/// Pages of the latest version, down to a depth.
#[derive(Debug, Default)]
pub(crate) struct IndexNodeCache {
    pages: FxHashMap<NodeKey, Kept>,
    latest: Option<(u64, SubtreeRef)>,
    /// The version recorded before the latest: it may still be in flight too.
    previous: Option<u64>,
    max_depth: u16,
    /// What the pages counted may take, in bytes ([`page_bytes`]).
    budget: usize,
    /// What they take now.
    bytes: usize,
    /// How many times pages were let go to bring them back within the budget.
    sheds: u64,
    /// The pages not counted of the last two versions recorded (below `max_depth`, or at the
    /// deepest level kept when they did not fit, or let go from it), oldest first: the newer
    /// one may still be in flight to the store, and the older one until the writer has taken
    /// the newer (the store shows a version only once its write has returned).
    deep: std::collections::VecDeque<Vec<NodeKey>>,
}

/// A page in the cache, and whether it is kept as the latest version's (counted in the budget)
/// or only until its version is durable (in `deep`).
#[derive(Debug)]
struct Kept {
    page: IndexPage,
    counted: bool,
}

impl IndexNodeCache {
    /// An empty cache that will keep the pages whose top is at depths `0..=max_depth`, in about
    /// `budget` bytes at most (fewer when they take more).
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
    /// above the deepest level kept, and those of that level that fit the budget, stay as long
    /// as they are the latest version's.
    pub(crate) fn record(&mut self, commit: &IndexCommit) {
        if self.deep.len() >= 2
            && let Some(durable) = self.deep.pop_front()
        {
            for key in durable {
                self.pages.remove(&key);
            }
        }
        for stale in &commit.stale {
            if let Some(kept) = self.pages.remove(&stale.key)
                && kept.counted
            {
                self.bytes = self.bytes.saturating_sub(page_bytes(&kept.page));
            }
        }
        // The root's level is always kept; the deepest level kept, as far as it fits below the
        // shedding's target, so that the levels above have room to grow before the next shedding
        // (without it, a stream of new subjects would have every version scan the pages).
        let partial = (self.max_depth - self.max_depth % PAGE_LEVELS).max(PAGE_LEVELS);
        let room = self.shed_target();
        let mut deep = Vec::new();
        for (key, page) in &commit.pages {
            let depth = key.path.depth();
            let size = page_bytes(page);
            let counted = depth < partial || (depth <= self.max_depth && self.bytes + size <= room);
            if counted {
                self.bytes += size;
            } else {
                deep.push(*key);
            }
            let page = page.clone();
            self.pages.insert(*key, Kept { page, counted });
        }
        self.deep.push_back(deep);
        self.previous = self.latest.map(|(version, _)| version);
        self.latest = Some((commit.version, commit.root));
        if self.bytes > self.budget {
            self.shed();
        }
    }

    /// Lets pages of the deepest level kept go until the kept ones take at most 15/16 of the
    /// budget; a level with none left is not kept any more (logged). The pages let go of the
    /// last two versions recorded stay with the latest's (two versions more), since they may
    /// still be in flight to the store; older ones go at once.
    fn shed(&mut self) {
        let target = self.shed_target();
        let before = self.bytes;
        let in_flight = [self.latest.map(|(version, _)| version), self.previous];
        self.sheds += 1;
        let mut let_go = Vec::new();
        let mut durable = Vec::new();
        while self.bytes > target && self.max_depth >= PAGE_LEVELS {
            let deepest_top = self.max_depth - self.max_depth % PAGE_LEVELS;
            for (key, kept) in &mut self.pages {
                if self.bytes <= target {
                    break;
                }
                if kept.counted && key.path.depth() == deepest_top {
                    kept.counted = false;
                    self.bytes = self.bytes.saturating_sub(page_bytes(&kept.page));
                    if in_flight.contains(&Some(key.version)) {
                        let_go.push(*key);
                    } else {
                        durable.push(*key);
                    }
                }
            }
            if self.bytes > target {
                self.max_depth = deepest_top - 1;
                tracing::info!(
                    depth = deepest_top,
                    budget_bytes = self.budget,
                    kept_bytes = before,
                    "the subject-index cache no longer keeps the pages at this depth: the levels above take its budget (sequencer.subject_index_cache_mib)"
                );
            }
        }
        for key in durable {
            self.pages.remove(&key);
        }
        if let Some(newest) = self.deep.back_mut() {
            newest.extend(let_go);
        }
    }

    /// What the kept pages are brought down to when they pass the budget, and what the deepest
    /// level is filled up to: 15/16 of the budget.
    fn shed_target(&self) -> usize {
        self.budget - self.budget / 16
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
        + std::mem::size_of::<(NodeKey, Kept)>()
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
            .map(|key| self.cache.pages.get(key).map(|kept| kept.page.clone()))
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
        grow_by(store, cache, version, seed, 500);
    }

    /// [`grow`] with `tokens` new tokens.
    fn grow_by(
        store: &mut MemorySubjectStore,
        cache: &mut IndexNodeCache,
        version: u64,
        seed: u64,
        tokens: u64,
    ) {
        let updates = sample_updates((0..tokens).map(|i| seed * 1_000 + i));
        let commit = apply_updates(&*store, store.latest_version(), version, &updates)
            .expect("the update applies");
        cache.record(&commit);
        store.commit(commit);
    }

    /// What the pages counted take, counted from scratch.
    fn counted(cache: &IndexNodeCache) -> usize {
        cache
            .pages
            .values()
            .filter(|kept| kept.counted)
            .map(|kept| page_bytes(&kept.page))
            .sum()
    }

    /// How many pages whose top is at `depth` the cache counts, and how many the latest version
    /// has there (from the unbounded twin, which counts every one).
    fn at_depth(cache: &IndexNodeCache, depth: u16) -> usize {
        cache
            .pages
            .iter()
            .filter(|(key, kept)| kept.counted && key.path.depth() == depth)
            .count()
    }

    #[test]
    fn the_kept_pages_stay_within_the_budget_and_the_deepest_level_in_part() {
        // 2,000 tokens: pages at depths 0, 4 and 8 (about 270 of them) fit in 600 KB, the
        // ones at depth 12 do not all fit.
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
        // The levels above are whole, the one at depth 12 in part, the one at 16 gone.
        assert_eq!(cache.max_depth, 15, "the pages at depth 16 went");
        for depth in [0, 4, 8] {
            assert_eq!(
                at_depth(&cache, depth),
                at_depth(&unbounded, depth),
                "{depth}"
            );
        }
        let (kept, all) = (at_depth(&cache, 12), at_depth(&unbounded, 12));
        assert!(kept > 0 && kept < all, "{kept} of {all} pages at depth 12");
        assert!(
            cache.bytes > 600_000 / 2,
            "the budget is used: {}",
            cache.bytes
        );
        // Two versions on, the pages the cache holds but does not count are the last two
        // versions': theirs may be in flight.
        for version in 5..=6 {
            grow(&mut store, &mut cache, version, version);
            grow(&mut twin, &mut unbounded, version, version);
        }
        assert_eq!(cache.bytes, counted(&cache));
        assert!(cache.bytes <= 600_000);
        for (key, kept) in &cache.pages {
            assert!(kept.counted || key.version >= 5, "{key:?} kept");
        }
        // What the cache counts are pages of the latest version (which the unbounded twin has,
        // and only those).
        for (key, kept) in cache.pages.iter().filter(|(_, kept)| kept.counted) {
            let latest = unbounded.pages.get(key).filter(|twin| twin.counted);
            assert_eq!(latest.map(|twin| &twin.page), Some(&kept.page), "{key:?}");
        }
    }

    #[test]
    fn new_subjects_arriving_a_few_at_a_time_do_not_make_every_version_shed() {
        // The cache of the test above, then 40 versions of 20 new tokens each: the levels above
        // the deepest grow a little with each, and the deepest level is filled only to 15/16 of
        // the budget, so they take many versions to pass it (filled to the whole budget, the
        // same run shed 6 times and lost the level at depth 12 for good).
        let mut store = MemorySubjectStore::new();
        let mut cache = IndexNodeCache::new(18, 600_000);
        for version in 1..=4 {
            grow(&mut store, &mut cache, version, version);
        }
        let before = cache.sheds;
        for version in 5..=44 {
            grow_by(&mut store, &mut cache, version, version, 20);
            assert!(cache.bytes <= 600_000, "version {version}");
            assert_eq!(cache.bytes, counted(&cache), "version {version}");
        }
        let sheds = cache.sheds - before;
        assert!(sheds <= 3, "{sheds} sheddings in 40 versions");
        let (kept, all) = (at_depth(&cache, 12), cache.pages.len());
        assert!(kept > 0, "{kept} of {all} pages kept at depth 12");
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
                .map(|(key, stored)| {
                    let kept = self.0.pages.get(key).map(|kept| kept.page.clone());
                    kept.or(stored)
                })
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
