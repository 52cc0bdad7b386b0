//! The report indexes (`docs/reports.md`): secondary indexes by system and recipient, the
//! correction rows, and the article 30 aggregates, all in the [`columns::REPORTS`] column family
//! and written in the same atomic batch as the entries they describe.
//!
//! Key layout (integers big-endian; a time is `u64(seconds) ^ 2^63 || u32(nanos)`, 12 bytes, so
//! byte order is time order; strings cannot hold NUL, which validation refuses):
//!
//! | tag | key | value |
//! |---|---|---|
//! | `0x01` | `system 0x00 occurred index` | empty |
//! | `0x02` | `recipient name 0x00 occurred index` | empty |
//! | `0x03`-`0x05` | retired ([`RETIRED_TAGS`]) | |
//! | `0x06` | `target index, correction index` | action (1 retract, 2 amend) |
//! | `0x07` | `system 0 category 0 purpose 0 basis 0 recipient 0 country 0 transfer basis` | [`Aggregate`] |
//! | `0x08` | `system 0 group` | breach counts ([`counts`]) |
//! | `0x09` | `system 0 group 0 first index` | empty: a breach member row ([`counts`]) |
//! | `0x0a` | `breach_ref 0 index` | empty: a breach case row ([`cases`]) |
//! | `0x0b` | `index` | empty: a controller declaration row ([`cases`]) |
//!
//! An amended entry gets rows under its amended recipient too (same occurred time, same index),
//! so a scan finds it under both; readers re-check every candidate against its
//! effective event (`crate::reports`). Aggregates count original entries only; the report reader
//! recomputes exactly the systems that corrections touch.
//!
//! `meta` key `reports_indexed` holds the next index to index. Commits write index rows only when
//! it equals the group's first index, and advance it in the same batch; otherwise (an older data
//! dir) [`LedgerStore::backfill_report_index`] catches up, resumably, in chunks that advance it.
//! The breach count rows (tags `0x08` and `0x09`, [`counts`]) came later and have a mark of their
//! own, `breach_counts_next`, so that a data dir indexed before them gets them by a backfill too;
//! so do the breach case rows (tag `0x0a`, [`cases`], mark `breach_cases_next`).

pub mod cases;
pub mod counts;
pub(super) mod known_members;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use prost_types::Timestamp;
use rocksdb::{DB, DBRawIteratorWithThreadMode, Direction, IteratorMode, ReadOptions, WriteBatch};
use rustc_hash::FxHashMap;

pub use counts::{
    CountGroup, CountView, Counts, META_BREACH_COUNTS, TAG_BREACH_COUNT, TAG_BREACH_MEMBER,
    count_groups,
};

use super::{LedgerStore, NewEntry, StorageError, columns, synced};
use crate::core::entry::decode_entry;
use crate::proto::v1::{CorrectionAction, Entry, Event, EventKind};

/// Tag of the by-system rows.
pub const TAG_SYSTEM: u8 = 0x01;
/// Tag of the by-recipient rows.
pub const TAG_RECIPIENT: u8 = 0x02;
/// The tags of rows that schema 4 and earlier wrote for every entry and schema 5 does not
/// (deleted by the upgrade, `storage::check_identity`): by data category (`0x03`) and by
/// occurred time (`0x04`), which no reader used, and by received time (`0x05`), whose one reader
/// ([`LedgerStore::entries_received_by`]) searches the entries instead. Four keys an entry (for
/// an event of two categories) fewer in every commit's batch.
pub const RETIRED_TAGS: std::ops::Range<u8> = 0x03..0x06;
/// Tag of the correction rows.
pub const TAG_CORRECTION: u8 = 0x06;
/// Tag of the article 30 aggregates.
pub const TAG_AGGREGATE: u8 = 0x07;

/// Key in `meta` of the next index the report indexes have not covered yet.
pub const META_REPORTS_INDEXED: &[u8] = b"reports_indexed";

/// The kinds that record processing of personal data: what reports count as records.
pub use crate::core::data_map::is_processing_kind;

/// The 12-byte order-preserving encoding of a time.
pub fn time_key(time: &Timestamp) -> [u8; 12] {
    let mut key = [0u8; 12];
    key[..8].copy_from_slice(&((time.seconds as u64) ^ (1 << 63)).to_be_bytes());
    key[8..].copy_from_slice(&(time.nanos.max(0) as u32).to_be_bytes());
    key
}

/// Nanoseconds since the epoch, saturating (for aggregates).
pub fn time_nanos(time: &Timestamp) -> i64 {
    time.seconds
        .saturating_mul(1_000_000_000)
        .saturating_add(i64::from(time.nanos))
}

/// The prefix of the rows of one named value (`tag || name || 0x00`).
pub fn named_prefix(tag: u8, name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 2);
    key.push(tag);
    key.extend_from_slice(name.as_bytes());
    key.push(0);
    key
}

fn named_row(tag: u8, name: &str, occurred: &[u8; 12], index: u64) -> Vec<u8> {
    let mut key = named_prefix(tag, name);
    key.extend_from_slice(occurred);
    key.extend_from_slice(&index.to_be_bytes());
    key
}

/// One tuple of the article 30 record: where, what, why, on which basis, to whom.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
pub struct AggregateKey {
    /// The system.
    pub system: String,
    /// The data category.
    pub category: String,
    /// The purpose ("" when the entry names none).
    pub purpose: String,
    /// The legal basis ("" when the entry names none).
    pub legal_basis: String,
    /// The recipient's name ("" without a recipient).
    pub recipient: String,
    /// The recipient's country ("" without a recipient).
    pub country: String,
    /// The transfer basis as its enum number ("" without one).
    pub transfer_basis: String,
}

impl AggregateKey {
    fn from_key(key: &[u8]) -> Option<Self> {
        let body = key.strip_prefix(&[TAG_AGGREGATE])?;
        let parts: Vec<String> = body
            .split(|b| *b == 0)
            .map(|p| String::from_utf8(p.to_vec()).ok())
            .collect::<Option<_>>()?;
        let [
            system,
            category,
            purpose,
            legal_basis,
            recipient,
            country,
            transfer_basis,
        ]: [String; 7] = parts.try_into().ok()?;
        Some(Self {
            system,
            category,
            purpose,
            legal_basis,
            recipient,
            country,
            transfer_basis,
        })
    }
}

/// The article 30 tuples an event contributes to (none for other kinds or without categories).
pub fn aggregate_keys(event: &Event) -> Vec<AggregateKey> {
    let mut keys = Vec::new();
    aggregate_refs(event, |key| keys.push(key.to_owned()));
    keys
}

/// An [`AggregateKey`] borrowed from its event: what the commit counts without copying strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct AggregateRef<'a> {
    system: &'a str,
    category: &'a str,
    purpose: &'a str,
    legal_basis: &'a str,
    recipient: &'a str,
    country: &'a str,
    /// The enum number, 0 without one.
    transfer_basis: i32,
}

impl AggregateRef<'_> {
    fn transfer_basis_text(&self) -> String {
        if self.transfer_basis == 0 {
            String::new()
        } else {
            self.transfer_basis.to_string()
        }
    }

    fn to_owned(self) -> AggregateKey {
        AggregateKey {
            system: self.system.to_owned(),
            category: self.category.to_owned(),
            purpose: self.purpose.to_owned(),
            legal_basis: self.legal_basis.to_owned(),
            recipient: self.recipient.to_owned(),
            country: self.country.to_owned(),
            transfer_basis: self.transfer_basis_text(),
        }
    }

    fn to_key(self) -> Vec<u8> {
        aggregate_row_key([
            self.system,
            self.category,
            self.purpose,
            self.legal_basis,
            self.recipient,
            self.country,
            &self.transfer_basis_text(),
        ])
    }
}

/// The row key of an aggregate: its tag, then its parts separated by `0x00`.
fn aggregate_row_key(parts: [&str; 7]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + parts.iter().map(|p| p.len() + 1).sum::<usize>());
    key.push(TAG_AGGREGATE);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            key.push(0);
        }
        key.extend_from_slice(part.as_bytes());
    }
    key
}

/// Calls `each` with every tuple `event` counts in (the rule of [`aggregate_keys`]): each data
/// category with each purpose (or none) and each legal basis (or none), with its system and
/// recipient; nothing for an event of a kind that records no processing or without a system.
fn aggregate_refs<'a>(event: &'a Event, mut each: impl FnMut(AggregateRef<'a>)) {
    if !is_processing_kind(event.kind()) || event.system.is_empty() {
        return;
    }
    let or_blank = |terms: &'a [String]| {
        let blank = terms.is_empty().then_some("");
        terms.iter().map(String::as_str).chain(blank)
    };
    let (recipient, country, transfer_basis) = match &event.recipient {
        Some(r) => (r.name.as_str(), r.country.as_str(), r.transfer_basis),
        None => ("", "", 0),
    };
    for category in &event.data_categories {
        for purpose in or_blank(&event.purposes) {
            for legal_basis in or_blank(&event.legal_bases) {
                each(AggregateRef {
                    system: &event.system,
                    category,
                    purpose,
                    legal_basis,
                    recipient,
                    country,
                    transfer_basis,
                });
            }
        }
    }
}

/// How often a tuple was seen, and when first and last (nanoseconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Aggregate {
    /// Entries (records) contributing.
    pub count: i64,
    /// Earliest `occurred_at`.
    pub first: i64,
    /// Latest `occurred_at`.
    pub last: i64,
}

impl Aggregate {
    /// One entry at `at`.
    pub fn one(at: i64) -> Self {
        Self {
            count: 1,
            first: at,
            last: at,
        }
    }

    /// Adds `other` in.
    pub fn add(&mut self, other: &Aggregate) {
        self.count = self.count.saturating_add(other.count);
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
    }

    fn to_bytes(self) -> [u8; 24] {
        let mut out = [0u8; 24];
        out[..8].copy_from_slice(&self.count.to_be_bytes());
        out[8..16].copy_from_slice(&self.first.to_be_bytes());
        out[16..].copy_from_slice(&self.last.to_be_bytes());
        out
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let read = |range: std::ops::Range<usize>| -> Option<i64> {
            Some(i64::from_be_bytes(bytes.get(range)?.try_into().ok()?))
        };
        if bytes.len() != 24 {
            return None;
        }
        Some(Self {
            count: read(0..8)?,
            first: read(8..16)?,
            last: read(16..24)?,
        })
    }
}

/// A correction as recorded: which entry made it and what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorrectionRow {
    /// Index of the corrected entry.
    pub target: u64,
    /// Index of the correction entry.
    pub correction: u64,
    /// Retract or amend.
    pub action: CorrectionAction,
}

pub use crate::core::correction::apply_amendment;

/// What an entry adds to the index: collected, then written to a batch.
#[derive(Default)]
struct IndexRows<'a> {
    rows: Vec<Vec<u8>>,
    corrections: Vec<(Vec<u8>, u8)>,
    aggregates: FxHashMap<AggregateRef<'a>, Aggregate>,
}

impl<'a> IndexRows<'a> {
    /// The rows of one decoded entry. `amended` gives the amended event of a correction's target
    /// (the caller reads the target).
    fn add_entry(&mut self, entry: &'a Entry) {
        let Some(event) = &entry.event else { return };
        let index = entry.index;
        let occurred = event.occurred_at.as_ref().map(time_key).unwrap_or([0; 12]);
        if event.kind() == EventKind::Correction {
            if let Some(correction) = &event.correction {
                let mut key = vec![TAG_CORRECTION];
                key.extend_from_slice(&correction.target_index.to_be_bytes());
                key.extend_from_slice(&index.to_be_bytes());
                self.corrections.push((key, correction.action as u8));
            }
            return;
        }
        self.add_descriptive(event, &occurred, index);
        let at = event.occurred_at.as_ref().map(time_nanos).unwrap_or(0);
        aggregate_refs(event, |key| {
            self.aggregates
                .entry(key)
                .and_modify(|a| a.add(&Aggregate::one(at)))
                .or_insert(Aggregate::one(at));
        });
    }

    /// The by-system and by-recipient rows of `event` at `index`.
    fn add_descriptive(&mut self, event: &Event, occurred: &[u8; 12], index: u64) {
        if !event.system.is_empty() {
            self.rows
                .push(named_row(TAG_SYSTEM, &event.system, occurred, index));
        }
        if let Some(recipient) = &event.recipient
            && !recipient.name.is_empty()
        {
            self.rows
                .push(named_row(TAG_RECIPIENT, &recipient.name, occurred, index));
        }
    }

    fn write(self, store: &LedgerStore, batch: &mut WriteBatch) -> Result<(), StorageError> {
        let cf = store.cf(columns::REPORTS)?;
        // In key order. The memtable's skip list skips its search only for a row that falls right
        // after the one inserted before it (RocksDB's `InlineSkipList::Insert` keeps where its
        // last insert went, but searches from the top for any row not next to it), so the order
        // saves searches only where rows are adjacent in the family: new entries, a new version's
        // index pages. Sorting the event-id, directory, data-key and identifier rows of a group,
        // which land far apart, measured no change (`perf` at 16 x 100: FindSpliceForLevel 3.7%
        // of the server's samples before, 3.5% after), nor did RocksDB's per-batch insert hints
        // (`unordered_write` with `memtable_insert_hint_per_batch`: 16 x 1 and 16 x 100 alike).
        let mut rows = self.rows;
        rows.sort_unstable();
        for key in rows {
            batch.put_cf(cf, key, []);
        }
        for (key, action) in self.corrections {
            batch.put_cf(cf, key, [action]);
        }
        // Read-modify-write: the sequencer is the only writer (and the backfill runs before it
        // starts), so the rows read here cannot change before the batch is written.
        let keys: Vec<(Vec<u8>, Aggregate)> = self
            .aggregates
            .into_iter()
            .map(|(key, aggregate)| (key.to_key(), aggregate))
            .collect();
        let stored = store
            .db
            .batched_multi_get_cf(cf, keys.iter().map(|(key, _)| key), false);
        for ((key, mut aggregate), old) in keys.into_iter().zip(stored) {
            if let Some(old) = old? {
                let old = Aggregate::from_bytes(&old).ok_or_else(|| {
                    StorageError::undecodable(columns::REPORTS, "an aggregate row", "is malformed")
                })?;
                aggregate.add(&old);
            }
            batch.put_cf(cf, key, aggregate.to_bytes());
        }
        Ok(())
    }
}

/// What [`LedgerStore::add_report_rows`] put in a commit's batch that the store remembers once
/// the batch is durable ([`LedgerStore::report_rows_written`]), and not before.
#[derive(Debug, Default)]
pub(super) struct ReportRowsAdded {
    /// The indexes of the `consent_policy_declared` entries whose rows it added, in log order.
    consent_declared: Vec<u64>,
    /// The keys of the breach member rows it added.
    new_members: Vec<Vec<u8>>,
    /// The marks it advanced.
    marks: super::derived_rows::MarkAdvances,
}

impl LedgerStore {
    /// The next index the report indexes have not covered (0 for a store that never had them).
    pub fn report_index_next(&self) -> Result<u64, StorageError> {
        self.derived_rows_next(META_REPORTS_INDEXED)
    }

    /// Adds the report rows of a commit group's entries to its batch, each kind if its rows are up
    /// to date (otherwise the backfill will cover them): the report indexes and article 30
    /// aggregates, the breach count rows ([`counts`]) and the case and declaration rows. Returns
    /// what the store learns once the batch is durable ([`ReportRowsAdded`], for
    /// [`LedgerStore::report_rows_written`]). Called by [`LedgerStore::commit`].
    pub(super) fn add_report_rows(
        &self,
        batch: &mut WriteBatch,
        entries: &[NewEntry],
        decoded: &[Entry],
        heads: &[([u8; 32], super::SubjectHead)],
    ) -> Result<ReportRowsAdded, StorageError> {
        let mut added = ReportRowsAdded::default();
        let Some(first) = entries.first() else {
            return Ok(added);
        };
        let indexes_due = self.derived_rows_due(META_REPORTS_INDEXED, first.index)?;
        let counts_due = self.derived_rows_due(META_BREACH_COUNTS, first.index)?;
        let cases_due = self.derived_rows_due(cases::META_BREACH_CASES, first.index)?;
        if !indexes_due && !counts_due && !cases_due {
            return Ok(added);
        }
        let planned = decoded.len() == entries.len()
            && decoded.iter().zip(entries).all(|(d, e)| d.index == e.index);
        let decoded = if planned {
            std::borrow::Cow::Borrowed(decoded)
        } else {
            std::borrow::Cow::Owned(decode_new_entries(entries)?)
        };
        let next = entries.last().map_or(first.index, |last| last.index + 1);
        if indexes_due {
            self.index_entries(batch, &decoded)?;
            self.advance_commit_mark(batch, &mut added.marks, META_REPORTS_INDEXED, next)?;
        }
        if counts_due {
            added.new_members = self.add_breach_count_rows(batch, &decoded, heads)?;
            self.advance_commit_mark(batch, &mut added.marks, META_BREACH_COUNTS, next)?;
        }
        if cases_due {
            added.consent_declared = self.add_breach_case_rows(batch, &decoded)?;
            self.advance_commit_mark(batch, &mut added.marks, cases::META_BREACH_CASES, next)?;
        }
        Ok(added)
    }

    /// What a commit's batch added that the store keeps in memory, once the batch is durable.
    pub(super) fn report_rows_written(&self, added: &ReportRowsAdded) {
        self.consent_policies_written(&added.consent_declared);
        self.known_members().insert_keys(&added.new_members);
        self.marks_written(&added.marks);
    }

    /// The rows of new (or backfilled) entries, in index order.
    fn index_new_entries(
        &self,
        batch: &mut WriteBatch,
        entries: &[NewEntry],
    ) -> Result<(), StorageError> {
        self.index_entries(batch, &decode_new_entries(entries)?)
    }

    /// The rows of `entries` (in index order), including the amended rows of correction targets
    /// (read from the store or from `entries` themselves).
    fn index_entries(&self, batch: &mut WriteBatch, entries: &[Entry]) -> Result<(), StorageError> {
        let mut rows = IndexRows::default();
        let in_batch: HashMap<u64, &Entry> = entries.iter().map(|e| (e.index, e)).collect();
        for entry in entries {
            rows.add_entry(entry);
            let Some(event) = &entry.event else { continue };
            let Some(correction) = &event.correction else {
                continue;
            };
            if event.kind() != EventKind::Correction
                || correction.action != CorrectionAction::Amend as i32
            {
                continue;
            }
            let target = correction.target_index;
            let target_entry = match in_batch.get(&target) {
                Some(entry) => (*entry).clone(),
                None => {
                    let bytes = self.entry(target)?.ok_or_else(|| {
                        StorageError::missing(columns::ENTRIES, format!("corrected entry {target}"))
                    })?;
                    decode_entry(&bytes).map_err(|e| StorageError::undecodable_entry(target, e))?
                }
            };
            if let Some(mut amended) = target_entry.event {
                let occurred = amended
                    .occurred_at
                    .as_ref()
                    .map(time_key)
                    .unwrap_or([0; 12]);
                apply_amendment(&mut amended, event);
                rows.add_descriptive(&amended, &occurred, target);
            }
        }
        rows.write(self, batch)
    }

    /// Builds the report indexes of every entry not covered yet, in chunks that each advance the
    /// `reports_indexed` mark in the same batch: an interrupted backfill resumes where it stopped.
    /// Must run before the sequencer starts. `progress(done, total)` is called after each chunk.
    /// Returns how many entries it indexed.
    pub fn backfill_report_index(
        &self,
        progress: impl FnMut(u64, u64),
    ) -> Result<u64, StorageError> {
        self.backfill_derived_rows(
            META_REPORTS_INDEXED,
            |batch, entries| self.index_new_entries(batch, entries),
            progress,
        )
    }

    /// Drops every report row (the breach count rows too) and their marks, so that the next start
    /// rebuilds them from the entries (what a data dir made before them goes through). Only with
    /// the server stopped.
    pub fn reset_report_index(&self) -> Result<(), StorageError> {
        let cf = self.cf(columns::REPORTS)?;
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(cf, [0x00u8].as_slice(), [0xffu8; 64].as_slice());
        batch.delete_cf(self.cf(columns::META)?, META_REPORTS_INDEXED);
        batch.delete_cf(self.cf(columns::META)?, META_BREACH_COUNTS);
        batch.delete_cf(self.cf(columns::META)?, cases::META_BREACH_CASES);
        self.db.write_opt(batch, &synced())?;
        self.known_members().forget();
        self.forget_commit_marks();
        Ok(())
    }

    /// The entries of the rows of several `prefixes` (each a [`named_prefix`]) whose time lies in
    /// `[from, to)`, merged in the order of their `occurred_at` then index, each entry once (an
    /// amended entry has rows under several names, all at its time and index), read lazily: one
    /// iterator per prefix, one row of each in memory.
    pub fn report_rows_merged(
        &self,
        prefixes: &[Vec<u8>],
        from: &Timestamp,
        to: &Timestamp,
    ) -> Result<MergedRows<'_>, StorageError> {
        let cf = self.cf(columns::REPORTS)?;
        let mut merged = MergedRows {
            iterators: Vec::with_capacity(prefixes.len()),
            prefix_lens: Vec::with_capacity(prefixes.len()),
            heap: BinaryHeap::with_capacity(prefixes.len()),
            last: None,
        };
        for prefix in prefixes {
            let mut start = prefix.clone();
            start.extend_from_slice(&time_key(from));
            let mut end = prefix.clone();
            end.extend_from_slice(&time_key(to));
            let mut read = ReadOptions::default();
            read.set_iterate_lower_bound(start.clone());
            read.set_iterate_upper_bound(end);
            let mut rows = self.db.raw_iterator_cf_opt(cf, read);
            rows.seek(&start);
            let at = merged.iterators.len();
            merged.prefix_lens.push(prefix.len());
            merged.iterators.push(rows);
            merged.push_head(at)?;
        }
        Ok(merged)
    }

    /// The indexes of the rows under `prefix`, in time order (`reverse`: latest first), read
    /// lazily: a caller that stops early reads little.
    pub fn report_rows(
        &self,
        prefix: &[u8],
        reverse: bool,
    ) -> Result<impl Iterator<Item = Result<u64, StorageError>> + '_, StorageError> {
        let cf = self.cf(columns::REPORTS)?;
        let mut end = prefix.to_vec();
        // The prefix ends in the NUL separator (or a tag): the next byte value bounds it.
        match end.last_mut() {
            Some(last) if *last < 0xff => *last += 1,
            _ => {
                return Err(StorageError::inconsistent(
                    "a report prefix of bytes 0xff cannot be bounded",
                ));
            }
        }
        let mut read = ReadOptions::default();
        read.set_iterate_lower_bound(prefix.to_vec());
        read.set_iterate_upper_bound(end);
        let mode = if reverse {
            IteratorMode::End
        } else {
            IteratorMode::Start
        };
        Ok(self.db.iterator_cf_opt(cf, read, mode).map(|row| {
            let (key, _) = row?;
            key.len()
                .checked_sub(8)
                .and_then(|at| columns::decode_u64(&key[at..]))
                .ok_or_else(|| {
                    StorageError::undecodable(columns::REPORTS, "a report row", "is too short")
                })
        }))
    }

    /// Every correction row, by target, in correction order.
    pub fn report_corrections(&self) -> Result<BTreeMap<u64, Vec<CorrectionRow>>, StorageError> {
        self.correction_rows(vec![TAG_CORRECTION], vec![TAG_CORRECTION + 1])
    }

    /// The correction rows of the entries `targets` only, by target, in correction order: one
    /// seek per target, for readers that need a few entries as corrected (the declarations) and
    /// not every correction of the log.
    pub fn report_corrections_of(
        &self,
        targets: &[u64],
    ) -> Result<BTreeMap<u64, Vec<CorrectionRow>>, StorageError> {
        let mut out = BTreeMap::new();
        for target in targets {
            let mut from = vec![TAG_CORRECTION];
            from.extend_from_slice(&columns::index_key(*target));
            let mut to = from.clone();
            to.push(0xff);
            out.append(&mut self.correction_rows(from, to)?);
        }
        Ok(out)
    }

    /// The correction rows whose keys are in `[from, to)`, by target.
    fn correction_rows(
        &self,
        from: Vec<u8>,
        to: Vec<u8>,
    ) -> Result<BTreeMap<u64, Vec<CorrectionRow>>, StorageError> {
        let cf = self.cf(columns::REPORTS)?;
        let mut read = ReadOptions::default();
        read.set_iterate_upper_bound(to);
        let mut out: BTreeMap<u64, Vec<CorrectionRow>> = BTreeMap::new();
        for row in self
            .db
            .iterator_cf_opt(cf, read, IteratorMode::From(&from, Direction::Forward))
        {
            let (key, value) = row?;
            let target = key.get(1..9).and_then(columns::decode_u64);
            let correction = key.get(9..17).and_then(columns::decode_u64);
            let action = value
                .first()
                .and_then(|a| CorrectionAction::try_from(i32::from(*a)).ok());
            match (target, correction, action) {
                (Some(target), Some(correction), Some(action)) => {
                    out.entry(target).or_default().push(CorrectionRow {
                        target,
                        correction,
                        action,
                    })
                }
                _ => {
                    return Err(StorageError::undecodable(
                        columns::REPORTS,
                        "a correction row",
                        "is malformed",
                    ));
                }
            }
        }
        Ok(out)
    }

    /// Every article 30 aggregate (original entries only; see the module documentation).
    pub fn report_aggregates(&self) -> Result<Vec<(AggregateKey, Aggregate)>, StorageError> {
        let cf = self.cf(columns::REPORTS)?;
        let mut read = ReadOptions::default();
        read.set_iterate_upper_bound(vec![TAG_AGGREGATE + 1]);
        let mut out = Vec::new();
        for row in self.db.iterator_cf_opt(
            cf,
            read,
            IteratorMode::From(&[TAG_AGGREGATE], Direction::Forward),
        ) {
            let (key, value) = row?;
            let parsed = AggregateKey::from_key(&key).zip(Aggregate::from_bytes(&value));
            out.push(parsed.ok_or_else(|| {
                StorageError::undecodable(columns::REPORTS, "an aggregate row", "is malformed")
            })?);
        }
        Ok(out)
    }

    /// The entries at `indexes`, decoded, in that order (one batched read); a missing entry is
    /// damage.
    pub fn decoded_entries(&self, indexes: &[u64]) -> Result<Vec<Entry>, StorageError> {
        let keys: Vec<[u8; 8]> = indexes.iter().map(|i| columns::index_key(*i)).collect();
        let values = self
            .db
            .batched_multi_get_cf(self.cf(columns::ENTRIES)?, &keys, false);
        indexes
            .iter()
            .zip(values)
            .map(|(index, value)| {
                let value = value?.ok_or_else(|| StorageError::missing_entry(*index))?;
                let (bytes, _) = self.split_entry_row(*index, &value)?;
                decode_entry(bytes).map_err(|e| StorageError::undecodable_entry(*index, e))
            })
            .collect()
    }
}

/// The decoded entries of a commit group or backfill chunk, naming one that does not decode.
fn decode_new_entries(entries: &[NewEntry]) -> Result<Vec<Entry>, StorageError> {
    entries
        .iter()
        .map(|e| {
            decode_entry(&e.bytes).map_err(|err| StorageError::undecodable_entry(e.index, err))
        })
        .collect()
}

/// The rows of [`LedgerStore::report_rows_merged`]: entry indexes in `(occurred_at, index)`
/// order, each once.
pub struct MergedRows<'a> {
    iterators: Vec<DBRawIteratorWithThreadMode<'a, DB>>,
    prefix_lens: Vec<usize>,
    /// The next `time || index` of each iterator that has one.
    heap: BinaryHeap<Reverse<([u8; 20], usize)>>,
    last: Option<[u8; 20]>,
}

impl std::fmt::Debug for MergedRows<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MergedRows")
            .field("prefixes", &self.iterators.len())
            .finish_non_exhaustive()
    }
}

impl MergedRows<'_> {
    /// Puts the row iterator `at` stands on into the heap (or checks that it ended cleanly).
    fn push_head(&mut self, at: usize) -> Result<(), StorageError> {
        let rows = &self.iterators[at];
        match rows.key() {
            Some(key) => {
                let suffix: [u8; 20] = key
                    .get(self.prefix_lens[at]..)
                    .and_then(|s| s.try_into().ok())
                    .ok_or_else(|| {
                        StorageError::undecodable(columns::REPORTS, "a report row", "is malformed")
                    })?;
                self.heap.push(Reverse((suffix, at)));
                Ok(())
            }
            None => Ok(rows.status()?),
        }
    }
}

impl Iterator for MergedRows<'_> {
    type Item = Result<u64, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let Reverse((suffix, at)) = self.heap.pop()?;
            self.iterators[at].next();
            if let Err(e) = self.push_head(at) {
                self.heap.clear();
                return Some(Err(e));
            }
            if self.last == Some(suffix) {
                continue;
            }
            self.last = Some(suffix);
            return columns::decode_u64(&suffix[12..]).map(Ok);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::report_index::counts::tests::{entry, group, head};

    /// Entries of one subject, the `i`th received at `received[i]` (seconds, nanos), of two data
    /// categories, shared with a recipient, committed as one group.
    fn commit_received(store: &LedgerStore, received: &[(i64, i32)]) {
        let token = [0x5A; 32];
        let entries = received
            .iter()
            .enumerate()
            .map(|(i, &(seconds, nanos))| {
                let mut entry = entry(i as u64, token, i as u64, "crm");
                entry.received_at = Some(Timestamp { seconds, nanos });
                if let Some(event) = entry.event.as_mut() {
                    event.occurred_at = Some(Timestamp {
                        seconds: 5,
                        nanos: 0,
                    });
                    event.data_categories = vec!["pd:Name".into(), "pd:Health".into()];
                    event.recipient = Some(crate::proto::v1::Recipient {
                        name: "mailer-eu".into(),
                        country: "DE".into(),
                        ..Default::default()
                    });
                }
                entry
            })
            .collect();
        let last = received.len() as u64 - 1;
        let heads = vec![(token, head(last + 1, last, Some(0)))];
        store.commit(&group(entries, heads)).expect("commit");
    }

    /// How many entries were received by a time is found by a search of the entries: the
    /// answer is the brute-force count for times before, between, equal to and after the
    /// entries' (equal times, nanos apart, runs of one time), over the whole log and a prefix.
    #[test]
    fn the_entries_received_by_a_time_are_found_by_a_search_of_the_entries() {
        let (_dir, store) = LedgerStore::temporary("ledger.test/received");
        let received = [
            (10, 0),
            (10, 0),
            (20, 0),
            (20, 5),
            (30, 0),
            (30, 0),
            (30, 0),
            (40, 0),
        ];
        commit_received(&store, &received);
        let times = [
            (0, 0),
            (9, 999_999_999),
            (10, 0),
            (15, 0),
            (20, 0),
            (20, 4),
            (20, 5),
            (29, 0),
            (30, 0),
            (30, 1),
            (40, 0),
            (50, 0),
        ];
        for size in [0, 1, 3, 5, received.len() as u64] {
            for (seconds, nanos) in times {
                let as_of = Timestamp { seconds, nanos };
                let expected = received[..size as usize]
                    .iter()
                    .filter(|&&at| at <= (seconds, nanos))
                    .count() as u64;
                assert_eq!(
                    store.entries_received_by(&as_of, size).expect("search"),
                    expected,
                    "received by {seconds}.{nanos} of the first {size}"
                );
            }
        }
    }

    /// A commit writes the by-system and by-recipient rows of its entries and none of the
    /// retired kinds (by category, occurred time, received time).
    #[test]
    fn a_commit_writes_no_retired_report_rows() {
        let (_dir, store) = LedgerStore::temporary("ledger.test/retired");
        commit_received(&store, &[(10, 0), (20, 0)]);
        let tags = report_tags_without_retired(&store);
        assert_eq!(
            tags.iter().filter(|tag| **tag == TAG_SYSTEM).count(),
            2,
            "{tags:?}"
        );
        assert_eq!(
            tags.iter().filter(|tag| **tag == TAG_RECIPIENT).count(),
            2,
            "{tags:?}"
        );
    }

    /// The tag of each report row, checked to be of no retired kind.
    fn report_tags_without_retired(store: &LedgerStore) -> Vec<u8> {
        let tags: Vec<u8> = store
            .rows(columns::REPORTS)
            .expect("rows")
            .map(|row| row.expect("row").0[0])
            .collect();
        assert!(
            !tags.iter().any(|tag| RETIRED_TAGS.contains(tag)),
            "{tags:?}"
        );
        tags
    }

    /// A data dir of schema 4 opens, loses its retired rows (and nothing else) and moves to
    /// the current schema; its received-time answers are the same.
    #[test]
    fn the_upgrade_from_schema_4_deletes_the_retired_rows_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = crate::storage::StorageConfig::default();
        let origin = "ledger.test/upgrade";
        let kept = {
            let store = LedgerStore::open(dir.path(), origin, &config).expect("open");
            commit_received(&store, &[(10, 0), (20, 0), (30, 0)]);
            let reports = store.cf(columns::REPORTS).expect("family");
            for tag in RETIRED_TAGS {
                let mut key = vec![tag];
                key.extend_from_slice(&time_key(&Timestamp {
                    seconds: 20,
                    nanos: 0,
                }));
                key.extend_from_slice(&1u64.to_be_bytes());
                store.db.put_cf(reports, key, []).expect("put");
            }
            let meta = store.cf(columns::META).expect("family");
            store
                .db
                .put_cf(meta, columns::META_SCHEMA_VERSION, b"4")
                .expect("put");
            store.rows(columns::REPORTS).expect("rows").count()
        };
        let store = LedgerStore::open(dir.path(), origin, &config).expect("upgrades");
        assert_eq!(
            store.schema_version().expect("schema"),
            crate::storage::SCHEMA_VERSION
        );
        let tags = report_tags_without_retired(&store);
        assert_eq!(tags.len(), kept - RETIRED_TAGS.len());
        let as_of = Timestamp {
            seconds: 25,
            nanos: 0,
        };
        assert_eq!(store.entries_received_by(&as_of, 3).expect("search"), 2);
    }

    #[test]
    fn time_keys_sort_as_times_do_including_before_1970() {
        let times = [
            (-5_000_000_000, 0),
            (-1, 999_999_999),
            (0, 0),
            (0, 1),
            (1, 0),
            (1_741_944_413, 500),
            (i64::MAX / 2, 0),
        ];
        let keys: Vec<[u8; 12]> = times
            .iter()
            .map(|(seconds, nanos)| {
                time_key(&Timestamp {
                    seconds: *seconds,
                    nanos: *nanos,
                })
            })
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn aggregate_keys_round_trip_and_cover_the_cross_product() {
        let event = Event {
            kind: EventKind::Share as i32,
            system: "crm".into(),
            data_categories: vec!["pd:Name".into(), "pd:Health".into()],
            purposes: vec!["dpv:Marketing".into()],
            legal_bases: vec!["eu-gdpr:A6-1-a".into(), "eu-gdpr:A9-2-a".into()],
            recipient: Some(crate::proto::v1::Recipient {
                name: "cloud-us".into(),
                role: 1,
                country: "US".into(),
                transfer_basis: 2,
            }),
            ..Event::default()
        };
        let keys = aggregate_keys(&event);
        assert_eq!(keys.len(), 4);
        let mut rows = Vec::new();
        aggregate_refs(&event, |key| rows.push(key.to_key()));
        assert_eq!(rows.len(), 4);
        for (key, row) in keys.into_iter().zip(rows) {
            assert_eq!(AggregateKey::from_key(&row), Some(key.clone()));
            assert_eq!(key.transfer_basis, "2");
        }
        let mut unshared = event.clone();
        unshared.recipient = None;
        unshared.purposes.clear();
        let keys = aggregate_keys(&unshared);
        assert_eq!(
            keys.len(),
            4,
            "one blank purpose, two bases, two categories"
        );
        assert!(
            keys.iter()
                .all(|key| key.purpose.is_empty() && key.transfer_basis.is_empty())
        );
        let consent = Event {
            kind: EventKind::ConsentGiven as i32,
            ..event
        };
        assert!(aggregate_keys(&consent).is_empty());
    }

    #[test]
    fn aggregates_add_counts_and_widen_the_seen_range() {
        let mut total = Aggregate::one(50);
        total.add(&Aggregate::one(10));
        total.add(&Aggregate::one(90));
        assert_eq!(
            total,
            Aggregate {
                count: 3,
                first: 10,
                last: 90
            }
        );
        assert_eq!(Aggregate::from_bytes(&total.to_bytes()), Some(total));
        assert_eq!(Aggregate::from_bytes(&[0; 23]), None);
    }

    #[test]
    fn an_amendment_replaces_only_the_fields_it_carries() {
        let mut target = Event {
            system: "crm".into(),
            data_categories: vec!["pd:Name".into()],
            purposes: vec!["dpv:Marketing".into()],
            consent_ref: "cmp-1".into(),
            ..Event::default()
        };
        let amendment = Event {
            system: "data-quality".into(),
            data_categories: vec!["pd:EmailAddress".into()],
            ..Event::default()
        };
        apply_amendment(&mut target, &amendment);
        assert_eq!(target.system, "crm");
        assert_eq!(target.data_categories, vec!["pd:EmailAddress".to_owned()]);
        assert_eq!(target.purposes, vec!["dpv:Marketing".to_owned()]);
        assert_eq!(target.consent_ref, "cmp-1");
    }
}
