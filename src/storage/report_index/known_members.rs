//! The breach member rows the commit knows to be stored, kept in memory so that a subject who is a
//! member already costs the commit no read (`counts`: one member row per subject and group).
//!
//! Sound because a member row, once durable, stays: no commit deletes one, and only
//! [`LedgerStore::reset_report_index`](crate::storage::LedgerStore::reset_report_index), with the
//! server stopped, drops them all (and forgets these). A row is remembered when a read found it or
//! once the batch that writes it is durable, never before: a commit that fails leaves nothing
//! here that the store does not hold. Whatever is not remembered is read, as before.
//!
//! Bounded: members are kept in two generations of at most [`GENERATION`] each; when the newer
//! one fills, the older one is dropped, so the members of recent groups stay known. A row is named
//! by its group's id here (an index into the group prefixes seen, at most [`MAX_GROUPS`] before
//! everything is forgotten) and the subject's first entry: 16 bytes, not its key.

use rustc_hash::{FxHashMap, FxHashSet};

/// Members per generation: 7/8 of 2^20, what a table of 2^20 buckets holds (17 bytes each), so
/// that the two take at most about 36 MB and remember the last 0.9 to 1.8 million members.
const GENERATION: usize = (1 << 20) / 8 * 7;
/// Distinct groups (a system and a category or transfer) before the whole memory is dropped.
const MAX_GROUPS: usize = 1 << 16;

#[derive(Debug, Default)]
pub(in crate::storage) struct KnownMembers {
    /// Each group's member prefix (`counts::member_prefix`) and its id.
    groups: FxHashMap<Box<[u8]>, u32>,
    newer: FxHashSet<(u32, u64)>,
    older: FxHashSet<(u32, u64)>,
}

impl KnownMembers {
    /// The id of the group of `prefix`, if any of its members is known: looked up once per group
    /// a commit counts in, for [`Self::contains`]. Valid until the next [`Self::insert`] (which
    /// may forget every group).
    pub(in crate::storage) fn group(&self, prefix: &[u8]) -> Option<u32> {
        self.groups.get(prefix).copied()
    }

    /// Whether the member row of `first` in `group` ([`Self::group`]) is known to be stored.
    pub(in crate::storage) fn contains(&self, group: Option<u32>, first: u64) -> bool {
        group.is_some_and(|group| {
            self.newer.contains(&(group, first)) || self.older.contains(&(group, first))
        })
    }

    /// Remembers that the member row of `first` under the group of `prefix` is stored (durably).
    pub(in crate::storage) fn insert(&mut self, prefix: &[u8], first: u64) {
        let group = match self.groups.get(prefix) {
            Some(group) => *group,
            None => {
                if self.groups.len() >= MAX_GROUPS {
                    self.forget();
                }
                // Below MAX_GROUPS, so it fits.
                let group = u32::try_from(self.groups.len()).unwrap_or(u32::MAX);
                self.groups.insert(prefix.into(), group);
                group
            }
        };
        if self.newer.len() >= GENERATION {
            self.older = std::mem::take(&mut self.newer);
        }
        self.newer.insert((group, first));
    }

    /// Remembers member rows by their keys (`counts::member_key`: a group's prefix, then the
    /// first entry's index in 8 bytes), once their batch is durable.
    pub(in crate::storage) fn insert_keys(&mut self, keys: &[Vec<u8>]) {
        for key in keys {
            if let Some(at) = key.len().checked_sub(8)
                && let Ok(first) = <[u8; 8]>::try_from(&key[at..])
            {
                self.insert(&key[..at], u64::from_be_bytes(first));
            }
        }
    }

    /// Forgets every member.
    pub(in crate::storage) fn forget(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_is_known_by_its_group_and_first_entry() {
        let mut known = KnownMembers::default();
        let knows =
            |known: &KnownMembers, prefix: &[u8], first| known.contains(known.group(prefix), first);
        known.insert(b"crm\0a\0", 7);
        assert!(knows(&known, b"crm\0a\0", 7));
        assert!(!knows(&known, b"crm\0a\0", 8));
        assert!(!knows(&known, b"crm\0c email\0", 7));
        let mut key = b"crm\0c email\0".to_vec();
        key.extend_from_slice(&9u64.to_be_bytes());
        known.insert_keys(&[key]);
        assert!(knows(&known, b"crm\0c email\0", 9));
        assert!(!knows(&known, b"crm\0c email\0", 7));
        known.forget();
        assert!(!knows(&known, b"crm\0a\0", 7));
    }

    #[test]
    fn a_full_generation_pushes_out_the_older_one_only() {
        let mut known = KnownMembers::default();
        for first in 0..GENERATION as u64 {
            known.insert(b"g", first);
        }
        // The newer generation is full: the next member starts a new one, the old stays known.
        known.insert(b"g", u64::MAX);
        let group = known.group(b"g");
        assert!(known.contains(group, 0) && known.contains(group, u64::MAX));
        assert_eq!(known.newer.len(), 1);
        assert_eq!(known.older.len(), GENERATION);
    }
}
