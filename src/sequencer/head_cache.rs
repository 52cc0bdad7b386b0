//! The subject heads the sequencer planned lately, kept in memory so that a group's planning
//! does not read them back from RocksDB.
//!
//! Every entry of a known subject needs the subject's head (how many entries carry its token,
//! and the latest one's index) to chain the entry, and the sequencer is the heads' only writer.
//! Without this cache each group read the heads of all its subjects from the `subjects` family
//! (one batched read, mostly from the memtable, where each group's heads are written again): at
//! 16 clients x 100 events over 100k subjects, the server's reads from RocksDB went from 15.7%
//! of its CPU samples to 11.5% with it (a profile of each build, 6 s).
//!
//! What the cache holds is always a head the sequencer planned, and the latest one it planned
//! for its token: each group's heads are recorded once the group is planned (a refused job's are
//! not, the group's journal has undone them by then), newer recordings are looked up first, and
//! a token's older value is never kept without its newer one. A head recorded here may still be
//! in flight to the store (the group in flight), which is what the planner builds on anyway
//! (`group::PendingGroup`). A write that fails stops the sequencer (fail-stop), so no head of a
//! failed write is ever planned on.
//!
//! Memory is bounded by a count of heads, in two generations: heads are recorded into the newer
//! one; when it is full it becomes the older one, and the older one is dropped. Subjects that
//! keep appearing are recorded again with each group, so they stay; a subject not seen for a
//! while is read from the store once more. Capacity 0 keeps nothing (every head is read).

use rustc_hash::FxHashMap;

use crate::storage::SubjectHead;

/// The latest planned heads of recent subjects, up to a number of heads.
#[derive(Debug, Default)]
pub(super) struct HeadCache {
    newer: FxHashMap<[u8; 32], SubjectHead>,
    older: FxHashMap<[u8; 32], SubjectHead>,
    /// Heads a generation holds before it is turned over: half the capacity.
    generation: usize,
}

impl HeadCache {
    /// A cache of up to about `capacity` heads (two generations of half as many each).
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            generation: capacity / 2,
            ..Self::default()
        }
    }

    /// The latest head planned for `token`, if the cache still has it.
    pub(super) fn get(&self, token: &[u8; 32]) -> Option<SubjectHead> {
        self.newer
            .get(token)
            .or_else(|| self.older.get(token))
            .copied()
    }

    /// Whether the cache has `token`'s head.
    pub(super) fn contains(&self, token: &[u8; 32]) -> bool {
        self.newer.contains_key(token) || self.older.contains_key(token)
    }

    /// Records a planned group's heads, which are the latest for their tokens.
    pub(super) fn record<'a>(
        &mut self,
        heads: impl IntoIterator<Item = (&'a [u8; 32], &'a SubjectHead)>,
    ) {
        if self.generation == 0 {
            return;
        }
        for (token, head) in heads {
            if self.newer.len() >= self.generation && !self.newer.contains_key(token) {
                self.older = std::mem::take(&mut self.newer);
                self.newer.reserve(self.generation);
            }
            self.newer.insert(*token, *head);
        }
    }

    /// How many heads the cache holds (a token in both generations counts twice).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.newer.len() + self.older.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(count: u64, last_index: u64) -> SubjectHead {
        SubjectHead {
            count,
            last_index,
            first_index: Some(0),
        }
    }

    fn token(n: u64) -> [u8; 32] {
        *blake3::hash(&n.to_be_bytes()).as_bytes()
    }

    #[test]
    fn the_latest_recorded_head_is_found_across_turnovers() {
        let mut cache = HeadCache::new(8);
        // Token 0 is recorded, its generation is turned over (token 4 does not fit), and it is
        // recorded again: the older generation still holds its first head, the newer its latest.
        for n in 0..5 {
            cache.record([(&token(n), &head(1, n))]);
        }
        cache.record([(&token(0), &head(2, 20))]);
        assert_eq!(cache.get(&token(0)), Some(head(2, 20)));
        // Heads recorded in one call, past a turnover in its middle, are all the latest.
        let many: Vec<_> = (10..16).map(|n| (token(n), head(3, n))).collect();
        cache.record(many.iter().map(|(t, h)| (t, h)));
        for (t, h) in &many {
            assert_eq!(cache.get(t), Some(*h));
        }
        assert_eq!(cache.get(&token(0)), Some(head(2, 20)));
        // One more turnover drops the generation that held token 0.
        for n in 20..25 {
            cache.record([(&token(n), &head(1, n))]);
        }
        assert_eq!(cache.get(&token(0)), None);
        assert!(cache.len() <= 8);
    }

    #[test]
    fn a_head_recorded_again_replaces_its_older_value_within_a_generation() {
        let mut cache = HeadCache::new(100);
        cache.record([(&token(1), &head(1, 5))]);
        cache.record([(&token(1), &head(2, 9))]);
        assert_eq!(cache.get(&token(1)), Some(head(2, 9)));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn memory_stays_within_the_capacity() {
        let mut cache = HeadCache::new(1000);
        for n in 0..10_000 {
            cache.record([(&token(n), &head(1, n))]);
            assert!(cache.len() <= 1000);
        }
        // The last half-capacity recorded are all there.
        assert!((9_500..10_000).all(|n| cache.contains(&token(n))));
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let mut cache = HeadCache::new(0);
        cache.record([(&token(1), &head(1, 5))]);
        assert_eq!(cache.get(&token(1)), None);
        assert!(!cache.contains(&token(1)));
    }
}
