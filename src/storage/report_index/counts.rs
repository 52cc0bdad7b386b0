//! The breach count rows (`docs/reports.md`, issue 14): per system, what a breach summary counts
//! (records and distinct subjects in all, per data category and per third-country transfer),
//! kept by the commits in the [`columns::REPORTS`] family, so that the summary of whole systems
//! over all time reads a few rows instead of every entry.
//!
//! | tag | key | value |
//! |---|---|---|
//! | `0x08` | `system 0x00 group` | `u64 records \|\| u64 subjects` ([`Counts`]) |
//! | `0x09` | `system 0x00 group 0x00 u64 first index` | empty (a member row) |
//!
//! A group ([`CountGroup`]) is `a` (every record of the system), `c category` or
//! `t recipient 0x00 country 0x00 transfer basis` (a third-country transfer). A member row says
//! that the subject whose first entry is at `first index` has a record in the group: it names the
//! subject by that index (8 bytes, and consecutive in key order, so RocksDB's key prefix
//! compression leaves a few bytes of it) rather than by its 32-byte token; a token's chain begins
//! at one entry, so the two are one to one. A member row is written once, by the entry that makes
//! the subject a member, and the group's `subjects` count moves with it: the commit knows that a
//! subject whose first entry is in its own group is new everywhere, remembers the member rows it
//! read or wrote (`known_members`: no commit deletes one), and asks the store (one batched read)
//! about the others.
//!
//! The rows count **original** entries: corrections are applied by the reader
//! (`crate::reports::breach`), which is exact because corrections are few and a corrected
//! entry's system and time never change. Like the other report rows they are written in the
//! commit's batch, under their own mark in `meta` ([`META_BREACH_COUNTS`]), and backfilled at
//! start for data dirs made before them.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use rustc_hash::{FxHashMap, FxHashSet};

use rocksdb::{DB, ReadOptions, SnapshotWithThreadMode, WriteBatch};

use super::{TAG_SYSTEM, is_processing_kind, named_prefix};
use crate::proto::v1::{Entry, Event};
use crate::storage::{LedgerStore, StorageError, SubjectHead, columns};
use crate::validation::is_third_country;

/// Tag of the count rows.
pub const TAG_BREACH_COUNT: u8 = 0x08;
/// Tag of the member rows.
pub const TAG_BREACH_MEMBER: u8 = 0x09;
/// Key in `meta` of the next index the breach count rows do not cover yet.
pub const META_BREACH_COUNTS: &[u8] = b"breach_counts_next";

/// What a breach summary counts, within one system.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CountGroup {
    /// Every record of the system.
    All,
    /// The records naming a data category.
    Category(String),
    /// The records shared with a recipient outside the EEA (`validation::is_third_country`).
    Transfer {
        /// The recipient's name.
        recipient: String,
        /// Its country.
        country: String,
        /// The transfer basis, as its enum number.
        transfer_basis: i32,
    },
}

impl CountGroup {
    /// The group's bytes in a row key.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            CountGroup::All => b"a".to_vec(),
            CountGroup::Category(category) => {
                let mut out = b"c".to_vec();
                out.extend_from_slice(category.as_bytes());
                out
            }
            CountGroup::Transfer {
                recipient,
                country,
                transfer_basis,
            } => {
                let mut out = b"t".to_vec();
                out.extend_from_slice(recipient.as_bytes());
                out.push(0);
                out.extend_from_slice(country.as_bytes());
                out.push(0);
                out.extend_from_slice(transfer_basis.to_string().as_bytes());
                out
            }
        }
    }

    /// The group of `bytes` (as [`CountGroup::to_bytes`] wrote them).
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).ok();
        match bytes.split_first()? {
            (b'a', []) => Some(CountGroup::All),
            (b'c', category) if !category.contains(&0) => {
                Some(CountGroup::Category(text(category)?))
            }
            (b't', rest) => {
                let mut parts = rest.split(|b| *b == 0);
                let (recipient, country, basis) = (parts.next()?, parts.next()?, parts.next()?);
                if parts.next().is_some() {
                    return None;
                }
                let transfer_basis: i32 = text(basis)?.parse().ok()?;
                // One encoding per group: the number as `to_string` writes it.
                if transfer_basis.to_string().as_bytes() != basis {
                    return None;
                }
                Some(CountGroup::Transfer {
                    recipient: text(recipient)?,
                    country: text(country)?,
                    transfer_basis,
                })
            }
            _ => None,
        }
    }
}

/// The groups an event counts in within its system: [`CountGroup::All`], each of its categories
/// once, and its recipient if that is a third-country transfer. None for an event of a kind that
/// records no processing (`is_processing_kind`) or without a system.
pub fn count_groups(event: &Event) -> Vec<CountGroup> {
    let mut groups = Vec::new();
    group_refs(event, &mut groups);
    groups.into_iter().map(GroupRef::to_group).collect()
}

/// A [`CountGroup`] borrowed from its event: what the commit counts without copying strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum GroupRef<'a> {
    All,
    Category(&'a str),
    Transfer {
        recipient: &'a str,
        country: &'a str,
        transfer_basis: i32,
    },
}

impl GroupRef<'_> {
    fn to_group(self) -> CountGroup {
        match self {
            GroupRef::All => CountGroup::All,
            GroupRef::Category(category) => CountGroup::Category(category.to_owned()),
            GroupRef::Transfer {
                recipient,
                country,
                transfer_basis,
            } => CountGroup::Transfer {
                recipient: recipient.to_owned(),
                country: country.to_owned(),
                transfer_basis,
            },
        }
    }
}

/// Replaces `out` with the groups of `event` ([`count_groups`], the rule's one definition), in
/// the same order: all, the categories sorted and each once, the transfer.
fn group_refs<'a>(event: &'a Event, out: &mut Vec<GroupRef<'a>>) {
    out.clear();
    if !is_processing_kind(event.kind()) || event.system.is_empty() {
        return;
    }
    out.push(GroupRef::All);
    out.extend(
        event
            .data_categories
            .iter()
            .map(|category| GroupRef::Category(category)),
    );
    out[1..].sort_unstable();
    out.dedup();
    if let Some(recipient) = &event.recipient
        && is_third_country(&recipient.country)
    {
        out.push(GroupRef::Transfer {
            recipient: &recipient.name,
            country: &recipient.country,
            transfer_basis: recipient.transfer_basis,
        });
    }
}

/// One (system, group) pair a commit counts in: its row keys and what the commit adds to it.
struct CountPair {
    count_key: Vec<u8>,
    member_prefix: Vec<u8>,
    counts: Counts,
}

/// A count row's value: records and distinct subjects of original entries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Entries.
    pub records: u64,
    /// Distinct subjects among them.
    pub subjects: u64,
}

impl Counts {
    fn to_bytes(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.records.to_be_bytes());
        out[8..].copy_from_slice(&self.subjects.to_be_bytes());
        out
    }

    /// The value of a count row.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != 16 {
            return None;
        }
        Some(Self {
            records: columns::decode_u64(bytes)?,
            subjects: columns::decode_u64(&bytes[8..])?,
        })
    }

    fn add(&mut self, other: Counts) {
        self.records = self.records.saturating_add(other.records);
        self.subjects = self.subjects.saturating_add(other.subjects);
    }
}

/// Key of the count row of `group` in `system`.
pub fn count_key(system: &str, group: &CountGroup) -> Vec<u8> {
    let mut key = named_prefix(TAG_BREACH_COUNT, system);
    key.extend_from_slice(&group.to_bytes());
    key
}

/// The prefix of the member rows of `group` in `system` (it ends in `0x00`).
pub fn member_prefix(system: &str, group: &CountGroup) -> Vec<u8> {
    let mut key = named_prefix(TAG_BREACH_MEMBER, system);
    key.extend_from_slice(&group.to_bytes());
    key.push(0);
    key
}

/// Key of the member row of the subject whose first entry is `first`, in `group` of `system`.
pub fn member_key(system: &str, group: &CountGroup, first: u64) -> Vec<u8> {
    member_key_under(&member_prefix(system, group), first)
}

/// Key of the member row of the subject whose first entry is `first`, under a group's
/// [`member_prefix`] (made once per commit for each group it counts in).
fn member_key_under(prefix: &[u8], first: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(prefix.len() + 8);
    key.extend_from_slice(prefix);
    key.extend_from_slice(&first.to_be_bytes());
    key
}

/// The system and group of a count row's key.
pub fn parse_count_key(key: &[u8]) -> Option<(String, CountGroup)> {
    let body = key.strip_prefix(&[TAG_BREACH_COUNT])?;
    let split = body.iter().position(|b| *b == 0)?;
    let system = String::from_utf8(body[..split].to_vec()).ok()?;
    Some((system, CountGroup::from_bytes(&body[split + 1..])?))
}

/// The system, group and subject (first entry) of a member row's key.
pub fn parse_member_key(key: &[u8]) -> Option<(String, CountGroup, u64)> {
    let body = key.strip_prefix(&[TAG_BREACH_MEMBER])?;
    let at = body.len().checked_sub(9)?;
    if body[at] != 0 {
        return None;
    }
    let first = columns::decode_u64(&body[at + 1..])?;
    let body = &body[..at];
    let split = body.iter().position(|b| *b == 0)?;
    let system = String::from_utf8(body[..split].to_vec()).ok()?;
    Some((system, CountGroup::from_bytes(&body[split + 1..])?, first))
}

/// The exclusive upper bound of the keys that start with `prefix` (whose last byte is below
/// 0xff, as every prefix here ends in a tag or a `0x00` separator).
fn prefix_end(prefix: &[u8]) -> Result<Vec<u8>, StorageError> {
    let mut end = prefix.to_vec();
    match end.last_mut() {
        Some(last) if *last < 0xff => *last += 1,
        _ => {
            return Err(StorageError::inconsistent(
                "a report prefix of bytes 0xff cannot be bounded",
            ));
        }
    }
    Ok(end)
}

impl LedgerStore {
    /// The next index the breach count rows have not covered (0 for a store that never had them).
    pub fn breach_counts_next(&self) -> Result<u64, StorageError> {
        self.derived_rows_next(META_BREACH_COUNTS)
    }

    /// Adds the count and member rows of `entries` (decoded, in index order, the first one the
    /// mark's) to `batch`. Reads the stored rows it adds to: the sequencer is the only writer,
    /// and the backfill runs before it starts, so nothing changes them before the batch lands.
    /// `heads` are the heads the batch writes (the commit's; none for a backfill): a subject's
    /// first entry is taken from its head when the head records it, and read otherwise. A member
    /// row is read only when the subject is not new and the row is not known to be stored
    /// ([`super::known_members`]). Returns the keys of the member rows it added, for the caller to
    /// remember once the batch is durable.
    pub(super) fn add_breach_count_rows(
        &self,
        batch: &mut WriteBatch,
        entries: &[Entry],
        heads: &[([u8; 32], SubjectHead)],
    ) -> Result<Vec<Vec<u8>>, StorageError> {
        let Some(batch_first) = entries.first().map(|entry| entry.index) else {
            return Ok(Vec::new());
        };
        // The batch's distinct (system, group) pairs, each with its keys made once, and the
        // counted entries as (pair, token) references to them.
        let mut pairs: Vec<CountPair> = Vec::new();
        let mut pair_of: FxHashMap<(&str, GroupRef<'_>), u32> = FxHashMap::default();
        let mut counted: Vec<(u32, Option<[u8; 32]>)> = Vec::new();
        // A subject's first entry: its own index for a subject whose chain begins here, its head
        // for one whose head records it, a stored subject row for the others.
        let mut firsts: FxHashMap<[u8; 32], u64> = heads
            .iter()
            .filter_map(|(token, head)| Some((*token, head.first_index?)))
            .collect();
        let mut groups = Vec::new();
        for entry in entries {
            let Some(event) = &entry.event else { continue };
            group_refs(event, &mut groups);
            if groups.is_empty() {
                continue;
            }
            let token = <[u8; 32]>::try_from(entry.subject_token.as_slice()).ok();
            if let Some(token) = token
                && entry.subject_seq == 0
            {
                firsts.insert(token, entry.index);
            }
            for group in &groups {
                let next = u32::try_from(pairs.len()).map_err(|_| {
                    StorageError::inconsistent("more than 2^32 breach count groups in one commit")
                })?;
                let pair = *pair_of.entry((&event.system, *group)).or_insert_with(|| {
                    let owned = group.to_group();
                    pairs.push(CountPair {
                        count_key: count_key(&event.system, &owned),
                        member_prefix: member_prefix(&event.system, &owned),
                        counts: Counts::default(),
                    });
                    next
                });
                pairs[pair as usize].counts.records += 1;
                counted.push((pair, token));
            }
        }
        let unknown: BTreeSet<[u8; 32]> = counted
            .iter()
            .filter_map(|(_, token)| *token)
            .filter(|token| !firsts.contains_key(token))
            .collect();
        firsts.extend(self.first_entries(&unknown)?);

        // (pair, first entry), once each, and whether the subject is known to be new.
        let mut members: Vec<(u32, u64, bool)> = Vec::new();
        let mut seen: FxHashSet<(u32, u64)> = FxHashSet::default();
        for (pair, token) in &counted {
            if let Some(first) = token.and_then(|token| firsts.get(&token).copied())
                && seen.insert((*pair, first))
            {
                members.push((*pair, first, first >= batch_first));
            }
        }
        let cf = self.cf(columns::REPORTS)?;
        let mut known = self.known_members();
        // Each pair's group looked up once; every lookup before the first insert below.
        let groups: Vec<Option<u32>> = pairs
            .iter()
            .map(|pair| known.group(&pair.member_prefix))
            .collect();
        // A member's row is read unless the subject is new or the row is known to be stored.
        let members: Vec<(u32, u64, Option<bool>)> = members
            .into_iter()
            .map(|(pair, first, new)| {
                let known_stored = known.contains(groups[pair as usize], first);
                let stored = (new || known_stored).then_some(known_stored);
                (pair, first, stored)
            })
            .collect();
        let unsure: Vec<Vec<u8>> = members
            .iter()
            .filter(|(_, _, stored)| stored.is_none())
            .map(|(pair, first, _)| member_key_under(&pairs[*pair as usize].member_prefix, *first))
            .collect();
        let read = self.db.batched_multi_get_cf(cf, &unsure, false);
        let mut read = read.into_iter();
        let mut new_members = Vec::new();
        for (pair, first, stored) in members {
            let prefix = &pairs[pair as usize].member_prefix;
            let stored = match stored {
                Some(stored) => stored,
                None => {
                    let found = read
                        .next()
                        .ok_or_else(|| {
                            StorageError::inconsistent(
                                "a multi-get of breach member rows returned fewer values than keys",
                            )
                        })??
                        .is_some();
                    if found {
                        known.insert(prefix, first);
                    }
                    found
                }
            };
            if !stored {
                new_members.push(member_key_under(prefix, first));
                pairs[pair as usize].counts.subjects += 1;
            }
        }
        drop(known);
        // In key order, as the other report rows (`IndexRows::write`).
        new_members.sort_unstable();
        for member in &new_members {
            batch.put_cf(cf, member, []);
        }
        let stored =
            self.db
                .batched_multi_get_cf(cf, pairs.iter().map(|pair| &pair.count_key), false);
        for (pair, old) in pairs.into_iter().zip(stored) {
            let mut counts = pair.counts;
            if let Some(old) = old? {
                counts.add(Counts::from_bytes(&old).ok_or_else(|| {
                    StorageError::undecodable(
                        columns::REPORTS,
                        "a breach count row",
                        "is malformed",
                    )
                })?);
            }
            batch.put_cf(cf, pair.count_key, counts.to_bytes());
        }
        Ok(new_members)
    }

    /// The member rows known to be stored, locked. A panic while it was held leaves at worst a
    /// row unknown, which is read again.
    pub(in crate::storage) fn known_members(
        &self,
    ) -> std::sync::MutexGuard<'_, super::known_members::KnownMembers> {
        self.known_members.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The index of the first entry of each token (its subject row of seq 0), one batched read.
    fn first_entries(
        &self,
        tokens: &BTreeSet<[u8; 32]>,
    ) -> Result<Vec<([u8; 32], u64)>, StorageError> {
        let keys: Vec<[u8; 40]> = tokens
            .iter()
            .map(|token| columns::subject_entry_key(token, 0))
            .collect();
        let values = self.multi_get(columns::SUBJECTS, &keys, |v| Ok(columns::decode_u64(v)))?;
        tokens
            .iter()
            .zip(values)
            .map(|(token, value)| {
                let index = value.flatten().ok_or_else(|| {
                    StorageError::missing(
                        columns::SUBJECTS,
                        format!("the first entry row of subject {}", hex::encode(token)),
                    )
                })?;
                Ok((*token, index))
            })
            .collect()
    }

    /// The index of the first entry of `token`, from its subject row of seq 0.
    pub fn first_entry(&self, token: &[u8; 32]) -> Result<Option<u64>, StorageError> {
        let value = self.db.get_pinned_cf(
            self.cf(columns::SUBJECTS)?,
            columns::subject_entry_key(token, 0),
        )?;
        Ok(value.and_then(|v| columns::decode_u64(&v)))
    }

    /// Builds the breach count rows of every entry not covered yet, in chunks that each advance
    /// the mark (`storage::derived_rows`). Must run before the sequencer starts.
    pub fn backfill_breach_counts(
        &self,
        progress: impl FnMut(u64, u64),
    ) -> Result<u64, StorageError> {
        self.backfill_derived_rows(
            META_BREACH_COUNTS,
            |batch, entries| {
                let decoded = super::decode_new_entries(entries)?;
                // The rows it adds are not remembered: the backfill's batch is written later.
                self.add_breach_count_rows(batch, &decoded, &[])?;
                Ok(())
            },
            progress,
        )
    }

    /// The indexes of `token`'s entries, oldest first, read lazily from its subject rows.
    pub fn subject_entry_indexes(
        &self,
        token: &[u8; 32],
    ) -> Result<impl Iterator<Item = Result<u64, StorageError>> + '_, StorageError> {
        let mut read = ReadOptions::default();
        read.set_iterate_lower_bound(columns::subject_entry_key(token, 0).to_vec());
        let mut end = token.to_vec();
        end.extend_from_slice(&[0xff; 9]);
        read.set_iterate_upper_bound(end);
        Ok(self
            .db
            .iterator_cf_opt(
                self.cf(columns::SUBJECTS)?,
                read,
                rocksdb::IteratorMode::Start,
            )
            .filter_map(|row| match row {
                Ok((key, value)) if key.len() == 40 => {
                    Some(columns::decode_u64(&value).ok_or_else(|| {
                        StorageError::undecodable(
                            columns::SUBJECTS,
                            "a subject entry row",
                            "is too short",
                        )
                    }))
                }
                Ok(_) => None,
                Err(e) => Some(Err(e.into())),
            }))
    }

    /// Every row of the `reports` family with tag `tag`, in key order (for `audit`).
    pub fn report_rows_of_tag(
        &self,
        tag: u8,
    ) -> Result<impl Iterator<Item = Result<super::super::Row, StorageError>> + '_, StorageError>
    {
        let mut read = ReadOptions::default();
        read.set_iterate_lower_bound(vec![tag]);
        read.set_iterate_upper_bound(prefix_end(&[tag])?);
        Ok(self
            .db
            .iterator_cf_opt(
                self.cf(columns::REPORTS)?,
                read,
                rocksdb::IteratorMode::Start,
            )
            .map(|row| row.map_err(StorageError::from)))
    }

    /// Rows, key bytes and value bytes of the `reports` family per tag (`gdpr-ledger
    /// footprint`).
    pub fn report_footprint(&self) -> Result<BTreeMap<u8, (u64, u64, u64)>, StorageError> {
        self.footprint_by(columns::REPORTS, |key| {
            Ok(key.first().copied().unwrap_or(0))
        })
    }

    /// A consistent view of the count rows: a snapshot of the store.
    pub fn breach_count_view(&self) -> CountView<'_> {
        CountView {
            store: self,
            snapshot: self.db.snapshot(),
        }
    }
}

/// The earliest and latest `occurred_at` keys (`time_key`) of a system's rows.
pub type TimeSpan = ([u8; 12], [u8; 12]);

/// The count rows as of one moment (a RocksDB snapshot), with the entries they cover.
pub struct CountView<'a> {
    store: &'a LedgerStore,
    snapshot: SnapshotWithThreadMode<'a, DB>,
}

impl std::fmt::Debug for CountView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountView").finish_non_exhaustive()
    }
}

impl CountView<'_> {
    fn read(&self) -> ReadOptions {
        let mut read = ReadOptions::default();
        read.set_snapshot(&self.snapshot);
        read
    }

    fn mark(&self, mark: &[u8]) -> Result<u64, StorageError> {
        let meta = self.store.cf(columns::META)?;
        Ok(self
            .store
            .db
            .get_cf_opt(meta, mark, &self.read())?
            .and_then(|v| columns::decode_u64(&v))
            .unwrap_or(0))
    }

    /// How many entries the view's count rows cover (those below it); the report rows cover at
    /// least as many.
    pub fn covered(&self) -> Result<u64, StorageError> {
        Ok(self
            .mark(META_BREACH_COUNTS)?
            .min(self.mark(super::META_REPORTS_INDEXED)?))
    }

    fn rows(
        &self,
        prefix: &[u8],
    ) -> Result<rocksdb::DBRawIteratorWithThreadMode<'_, DB>, StorageError> {
        let mut read = self.read();
        read.set_iterate_lower_bound(prefix.to_vec());
        read.set_iterate_upper_bound(prefix_end(prefix)?);
        Ok(self
            .store
            .db
            .raw_iterator_cf_opt(self.store.cf(columns::REPORTS)?, read))
    }

    /// The count rows of `system`: every group it has records in.
    pub fn counts(&self, system: &str) -> Result<Vec<(CountGroup, Counts)>, StorageError> {
        let prefix = named_prefix(TAG_BREACH_COUNT, system);
        let mut rows = self.rows(&prefix)?;
        rows.seek_to_first();
        let mut out = Vec::new();
        while let (Some(key), Some(value)) = (rows.key(), rows.value()) {
            let parsed = parse_count_key(key)
                .filter(|(s, _)| s == system)
                .zip(Counts::from_bytes(value))
                .ok_or_else(|| {
                    StorageError::undecodable(
                        columns::REPORTS,
                        "a breach count row",
                        "is malformed",
                    )
                })?;
            out.push((parsed.0.1, parsed.1));
            rows.next();
        }
        rows.status()?;
        Ok(out)
    }

    /// The `occurred_at` keys (`time_key`) of `system`'s earliest and latest by-system rows (of
    /// every kind, corrections aside), or `None` when it has none.
    pub fn time_span(&self, system: &str) -> Result<Option<TimeSpan>, StorageError> {
        let prefix = named_prefix(TAG_SYSTEM, system);
        let mut rows = self.rows(&prefix)?;
        let time = |key: Option<&[u8]>| -> Result<Option<[u8; 12]>, StorageError> {
            key.map(|key| {
                key.get(prefix.len()..prefix.len() + 12)
                    .and_then(|t| t.try_into().ok())
                    .ok_or_else(|| {
                        StorageError::undecodable(columns::REPORTS, "a report row", "is too short")
                    })
            })
            .transpose()
        };
        rows.seek_to_first();
        let first = time(rows.key())?;
        rows.seek_to_last();
        let last = time(rows.key())?;
        rows.status()?;
        Ok(first.zip(last))
    }

    /// How many distinct subjects are members of `group` in any of `systems`: a merge of their
    /// member rows (each system's in subject order), in the memory of one row per system.
    pub fn distinct_members(
        &self,
        systems: &[&str],
        group: &CountGroup,
    ) -> Result<u64, StorageError> {
        let prefixes: Vec<Vec<u8>> = systems.iter().map(|s| member_prefix(s, group)).collect();
        let mut iterators = Vec::with_capacity(prefixes.len());
        for prefix in &prefixes {
            let mut rows = self.rows(prefix)?;
            rows.seek_to_first();
            iterators.push(rows);
        }
        let subject = |rows: &rocksdb::DBRawIteratorWithThreadMode<'_, DB>| {
            rows.key()
                .map(|key| {
                    key.len()
                        .checked_sub(8)
                        .and_then(|at| columns::decode_u64(&key[at..]))
                        .ok_or_else(|| {
                            StorageError::undecodable(
                                columns::REPORTS,
                                "a breach member row",
                                "is too short",
                            )
                        })
                })
                .transpose()
        };
        let mut heap = BinaryHeap::new();
        for (at, rows) in iterators.iter().enumerate() {
            if let Some(first) = subject(rows)? {
                heap.push(std::cmp::Reverse((first, at)));
            }
        }
        let (mut distinct, mut last) = (0u64, None);
        while let Some(std::cmp::Reverse((first, at))) = heap.pop() {
            if last != Some(first) {
                distinct += 1;
                last = Some(first);
            }
            let rows = &mut iterators[at];
            rows.next();
            match subject(rows)? {
                Some(next) => heap.push(std::cmp::Reverse((next, at))),
                None => rows.status()?,
            }
        }
        Ok(distinct)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::proto::v1::{EventKind, Recipient};

    #[test]
    fn groups_and_keys_round_trip() {
        let groups = [
            CountGroup::All,
            CountGroup::Category("pd:Health".into()),
            CountGroup::Transfer {
                recipient: "cloud-us".into(),
                country: "US".into(),
                transfer_basis: 2,
            },
        ];
        for group in groups {
            assert_eq!(
                CountGroup::from_bytes(&group.to_bytes()),
                Some(group.clone())
            );
            assert_eq!(
                parse_count_key(&count_key("crm", &group)),
                Some(("crm".into(), group.clone()))
            );
            assert_eq!(
                parse_member_key(&member_key("crm", &group, 42)),
                Some(("crm".into(), group.clone(), 42))
            );
            assert!(member_key("crm", &group, 7).starts_with(&member_prefix("crm", &group)));
        }
        assert_eq!(CountGroup::from_bytes(b"t\x00US\x0002"), None);
        assert_eq!(CountGroup::from_bytes(b"x"), None);
    }

    #[test]
    fn an_event_counts_in_its_categories_once_and_in_third_country_transfers_only() {
        let mut event = Event {
            kind: EventKind::Share as i32,
            system: "crm".into(),
            data_categories: vec!["pd:Name".into(), "pd:Name".into(), "pd:Health".into()],
            recipient: Some(Recipient {
                name: "mailer-eu".into(),
                country: "DE".into(),
                ..Recipient::default()
            }),
            ..Event::default()
        };
        assert_eq!(
            count_groups(&event),
            vec![
                CountGroup::All,
                CountGroup::Category("pd:Health".into()),
                CountGroup::Category("pd:Name".into()),
            ]
        );
        event.recipient = Some(Recipient {
            name: "cloud-us".into(),
            country: "US".into(),
            transfer_basis: 2,
            ..Recipient::default()
        });
        assert_eq!(count_groups(&event).len(), 4);
        event.kind = EventKind::ConsentGiven as i32;
        assert!(count_groups(&event).is_empty());
    }

    /// The commit's question "is this subject already a member?" is mostly answered "no"; in a
    /// file of member rows, the family's bloom filter answers it without a data block.
    #[test]
    fn an_absent_member_row_is_ruled_out_by_the_filter() {
        use rocksdb::statistics::Ticker;
        let (_dir, store) = LedgerStore::temporary("ledger.test/members");
        let cf = store.cf(columns::REPORTS).expect("family");
        let group = CountGroup::Category("pd:Name".into());
        let prefix = member_prefix("crm", &group);
        let mut batch = WriteBatch::default();
        for first in (0..2_000u64).map(|n| n * 2) {
            batch.put_cf(cf, member_key_under(&prefix, first), []);
        }
        store.db.write(batch).expect("write");
        store.db.flush_cf(cf).expect("flush");
        let useful = || store.options.get_ticker_count(Ticker::BloomFilterUseful);
        let before = useful();
        // Odd first indexes: inside the file's key range, never written.
        let absent: Vec<Vec<u8>> = (0..200u64)
            .map(|n| member_key_under(&prefix, n * 2 + 1))
            .collect();
        for value in store.db.batched_multi_get_cf(cf, &absent, false) {
            assert!(value.expect("read").is_none());
        }
        assert!(
            useful() - before >= 190,
            "the filter ruled out {} of 200 absent member rows",
            useful() - before
        );
    }

    /// A collection entry of `token`'s (its `seq`-th) in `system`.
    pub(in crate::storage::report_index) fn entry(
        index: u64,
        token: [u8; 32],
        seq: u64,
        system: &str,
    ) -> Entry {
        Entry {
            index,
            producer: "crm".into(),
            subject_token: token.to_vec(),
            subject_seq: seq,
            event: Some(Event {
                system: system.into(),
                kind: EventKind::Collection as i32,
                ..Event::default()
            }),
            ..Entry::default()
        }
    }

    pub(in crate::storage::report_index) fn head(
        count: u64,
        last_index: u64,
        first_index: Option<u64>,
    ) -> SubjectHead {
        SubjectHead {
            count,
            last_index,
            first_index,
        }
    }

    /// A commit group of these entries and heads, with their subject rows.
    pub(in crate::storage::report_index) fn group(
        decoded: Vec<Entry>,
        heads: Vec<([u8; 32], SubjectHead)>,
    ) -> crate::storage::CommitGroup {
        use crate::storage::{CommitGroup, NewEntry, StoredSignature};
        use prost::Message as _;
        CommitGroup {
            entries: decoded
                .iter()
                .map(|entry| NewEntry {
                    index: entry.index,
                    bytes: entry.encode_to_vec(),
                    signature: StoredSignature {
                        key_id: [0; 4],
                        signature: [0; 64],
                    },
                })
                .collect(),
            subject_entries: decoded
                .iter()
                .map(|e| {
                    (
                        <[u8; 32]>::try_from(e.subject_token.as_slice()).expect("token"),
                        e.subject_seq,
                        e.index,
                    )
                })
                .collect(),
            decoded,
            subject_heads: heads,
            ..CommitGroup::default()
        }
    }

    /// The member rows name a subject by its first entry: the commit takes it from the subject's
    /// head in the group when the head records it (the sequencer sets it), without reading the
    /// subject's row of seq 0, and reads that row for a head that does not (a head row written
    /// before heads recorded it).
    #[test]
    fn a_member_is_named_by_the_first_entry_its_head_records() {
        let (_dir, store) = LedgerStore::temporary("ledger.test/firsts");
        let (alice, carol) = ([0xA1; 32], [0xCA; 32]);
        // Entries 0 and 1: Alice's and Carol's first, in crm; Carol's head row without it.
        store
            .commit(&group(
                vec![entry(0, alice, 0, "crm"), entry(1, carol, 0, "crm")],
                vec![(alice, head(1, 0, Some(0))), (carol, head(1, 1, None))],
            ))
            .expect("commit");
        // Alice's row of seq 0 made to say entry 7: a commit that read it would name her by 7.
        let subjects = store.cf(columns::SUBJECTS).expect("family");
        store
            .db
            .put_cf(
                subjects,
                columns::subject_entry_key(&alice, 0),
                7u64.to_be_bytes(),
            )
            .expect("put");
        // Entries 2 and 3: their second, in billing.
        store
            .commit(&group(
                vec![entry(2, alice, 1, "billing"), entry(3, carol, 1, "billing")],
                vec![(alice, head(2, 2, Some(0))), (carol, head(2, 3, None))],
            ))
            .expect("commit");
        let reports = store.cf(columns::REPORTS).expect("family");
        let billing = member_prefix("billing", &CountGroup::All);
        let member = |first: u64| {
            store
                .db
                .get_cf(reports, member_key_under(&billing, first))
                .expect("read")
                .is_some()
        };
        assert_eq!(
            (member(0), member(7), member(1)),
            (true, false, true),
            "billing's members: Alice by the first entry her head records (0, not the 7 of her \
             row), Carol by her row of seq 0 (1)"
        );
        assert_eq!(subjects_in(&store, "billing"), all(2, 2));
    }

    fn subjects_in(store: &LedgerStore, system: &str) -> Vec<(CountGroup, Counts)> {
        store.breach_count_view().counts(system).expect("counts")
    }

    /// The group of Alice's entry of `seq` in crm, at index `seq` (her first at 0), with her head.
    fn alices(seq: u64) -> crate::storage::CommitGroup {
        let alice = [0xA1; 32];
        group(
            vec![entry(seq, alice, seq, "crm")],
            vec![(alice, head(seq + 1, seq, Some(0)))],
        )
    }

    fn commit_alices(store: &LedgerStore, seq: u64) {
        store.commit(&alices(seq)).expect("commit");
    }

    /// Counts of a system over all its categories.
    fn all(records: u64, subjects: u64) -> Vec<(CountGroup, Counts)> {
        vec![(CountGroup::All, Counts { records, subjects })]
    }

    /// A subject who is a member already costs the commit no read: the commit remembers the
    /// member rows it wrote. Shown by removing Alice's row behind the store's back: a commit that
    /// read it would write it again and count her twice.
    #[test]
    fn a_member_row_the_commit_wrote_is_not_read_again() {
        let (_dir, store) = LedgerStore::temporary("ledger.test/known");
        commit_alices(&store, 0);
        let reports = store.cf(columns::REPORTS).expect("family");
        let key = member_key_under(&member_prefix("crm", &CountGroup::All), 0);
        store.db.delete_cf(reports, &key).expect("delete");
        commit_alices(&store, 1);
        assert!(store.db.get_cf(reports, &key).expect("read").is_none());
        assert_eq!(subjects_in(&store, "crm"), all(2, 1));
    }

    /// A member row is remembered once its batch is durable, not before: a commit whose batch was
    /// never written leaves the row unknown, so the next commit still counts the subject.
    #[test]
    fn a_member_row_of_a_batch_never_written_is_not_remembered() {
        let (_dir, store) = LedgerStore::temporary("ledger.test/unwritten");
        let first = alices(0);
        let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.commit_signalling(&first, &|| panic!("the disk fails before the write"))
        }));
        assert!(failed.is_err());
        let prefix = member_prefix("crm", &CountGroup::All);
        let known = || {
            let known = store.known_members();
            known.contains(known.group(&prefix), 0)
        };
        assert!(!known());
        store.commit(&first).expect("commit");
        assert!(known());
        assert_eq!(subjects_in(&store, "crm"), all(1, 1));
    }

    /// Dropping the report rows forgets the members known: the rebuild that follows, chunk by
    /// chunk, would otherwise take a row it has not written again yet for stored, and not count
    /// the subject. Alice's first entry is in the rebuild's first chunk, her entry in billing in
    /// its second.
    #[test]
    fn a_reset_report_index_forgets_the_members_known() {
        let (_dir, store) = LedgerStore::temporary("ledger.test/reset");
        let (alice, bob) = ([0xA1; 32], [0xB0; 32]);
        let chunk = crate::storage::derived_rows::BACKFILL_CHUNK as u64;
        let mut entries = vec![entry(0, alice, 0, "crm")];
        entries.extend((1..chunk).map(|index| entry(index, bob, index - 1, "crm")));
        entries.push(entry(chunk, alice, 1, "billing"));
        let heads = vec![
            (alice, head(2, chunk, Some(0))),
            (bob, head(chunk - 1, chunk - 1, Some(1))),
        ];
        store.commit(&group(entries, heads)).expect("commit");
        assert_eq!(subjects_in(&store, "billing"), all(1, 1));
        store.reset_report_index().expect("reset");
        store.backfill_breach_counts(|_, _| {}).expect("backfill");
        assert_eq!(subjects_in(&store, "billing"), all(1, 1));
        assert_eq!(subjects_in(&store, "crm"), all(chunk, 2));
    }

    /// The commit reads no derived-rows mark back: it remembers the marks its writes left. Shown
    /// by deleting the report index's mark behind the store's back: a commit that read it would
    /// find the rows lagging and write none.
    #[test]
    fn a_commit_remembers_the_marks_it_wrote() {
        let (_dir, store) = LedgerStore::temporary("ledger.test/marks");
        commit_alices(&store, 0);
        assert_eq!(store.report_index_next().expect("mark"), 1);
        let meta = store.cf(columns::META).expect("family");
        store
            .db
            .delete_cf(meta, super::super::META_REPORTS_INDEXED)
            .expect("delete");
        commit_alices(&store, 1);
        assert_eq!(
            store.report_index_next().expect("mark"),
            2,
            "the second commit wrote its rows and advanced the mark it remembered (1)"
        );
    }

    /// A reset of the report rows between two commits (the store open) leaves the second
    /// commit's rows to the backfill too, as the reset's marks say: the commit forgets the marks
    /// it remembered. Were it to go on from them, it would write the second entry's rows and
    /// advance the marks past both entries, and the backfill would never count the first.
    #[test]
    fn a_commit_after_a_reset_leaves_its_rows_to_the_backfill() {
        let (_dir, store) = LedgerStore::temporary("ledger.test/reset-marks");
        commit_alices(&store, 0);
        store.reset_report_index().expect("reset");
        commit_alices(&store, 1);
        assert_eq!(
            (
                store.report_index_next().expect("mark"),
                store.breach_counts_next().expect("mark")
            ),
            (0, 0),
            "the commit after the reset wrote no rows and advanced no mark"
        );
        store.backfill_report_index(|_, _| {}).expect("backfill");
        store.backfill_breach_counts(|_, _| {}).expect("backfill");
        assert_eq!(store.report_index_next().expect("mark"), 2);
        assert_eq!(subjects_in(&store, "crm"), all(2, 1));
    }
}
