//! Each subject's entries side by side, for lifecycle answers ([`columns::LIFECYCLE_ROWS`]):
//! `token || u64 seq -> u64 index || key_id (4) || signature (64) || entry bytes`.
//!
//! A subject's entries lie scattered over the log, so reading them from [`columns::ENTRIES`] and
//! [`columns::SIGNATURES`] costs two random reads each. These rows repeat both, ordered by
//! subject, so a lifecycle's entries come from one short range read. They are a copy: the
//! entries stay the record, a proof's bytes are checked against the tree by every verifier, and
//! `audit` compares every row with the entry it copies. Entries carry pseudonyms and digests
//! only, so the copy holds no more personal data than the log.
//!
//! They are derived rows ([`super::derived_rows`]) under the `meta` mark `lifecycle_rows_next`:
//! written in the commit's batch, backfilled at start for a data dir made before them. A reader
//! that finds a range incomplete (a backfill not done yet, or a read-only open of such a dir)
//! falls back to the entries.

use std::ops::Range;

use rocksdb::{Direction, IteratorMode, ReadOptions, WriteBatch};

use super::{
    CommitGroup, LedgerStore, NewEntry, SignedEntryRow, StorageError, StoredSignature, columns,
    damaged_entry, decode_signature, synced,
};

/// Key in `meta` of the next index the lifecycle rows do not cover yet.
pub const META_LIFECYCLE_ROWS_NEXT: &[u8] = b"lifecycle_rows_next";

/// Bytes of a lifecycle row before the entry bytes: index, key id, signature.
const ROW_HEADER: usize = 8 + 68;

/// One of a subject's entries, as its lifecycle row holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleRow {
    /// The entry's index in the log.
    pub index: u64,
    /// The entry bytes.
    pub bytes: Vec<u8>,
    /// Its signature.
    pub signature: StoredSignature,
}

impl LifecycleRow {
    /// The row's value: `u64 index || key_id || signature || entry bytes`.
    pub fn to_value(&self) -> Vec<u8> {
        encode_row(self.index, &self.signature, &self.bytes)
    }

    /// Decodes a row's value.
    pub fn from_value(value: &[u8]) -> Result<Self, StorageError> {
        let index = columns::decode_u64(value)
            .filter(|_| value.len() >= ROW_HEADER)
            .ok_or_else(|| {
                StorageError::Damaged(format!("a lifecycle row has {} bytes", value.len()))
            })?;
        Ok(Self {
            index,
            signature: decode_signature(index, &value[8..ROW_HEADER])?,
            bytes: value[ROW_HEADER..].to_vec(),
        })
    }

    /// The entry with its signature.
    pub fn into_signed_entry(self) -> SignedEntryRow {
        (self.bytes, self.signature)
    }
}

fn encode_row(index: u64, signature: &StoredSignature, bytes: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(ROW_HEADER + bytes.len());
    value.extend_from_slice(&index.to_be_bytes());
    value.extend_from_slice(&signature.key_id);
    value.extend_from_slice(&signature.signature);
    value.extend_from_slice(bytes);
    value
}

impl LedgerStore {
    /// The next index the lifecycle rows do not cover (0 for a store that never had them).
    pub fn lifecycle_rows_next(&self) -> Result<u64, StorageError> {
        self.derived_rows_next(META_LIFECYCLE_ROWS_NEXT)
    }

    /// Adds the lifecycle rows of a commit group's subject entries to its batch, if the rows are
    /// up to date (otherwise the backfill will cover them). Called by [`LedgerStore::commit`].
    pub(super) fn add_lifecycle_rows(
        &self,
        batch: &mut WriteBatch,
        group: &CommitGroup,
    ) -> Result<(), StorageError> {
        let Some(first) = group.entries.first() else {
            return Ok(());
        };
        if !self.derived_rows_due(META_LIFECYCLE_ROWS_NEXT, first.index)? {
            return Ok(());
        }
        let cf = self.cf(columns::LIFECYCLE_ROWS)?;
        for (token, seq, index) in &group.subject_entries {
            let entry = index
                .checked_sub(first.index)
                .and_then(|offset| usize::try_from(offset).ok())
                .and_then(|offset| group.entries.get(offset))
                .filter(|entry| entry.index == *index)
                .ok_or_else(|| {
                    StorageError::Damaged(format!(
                        "subject entry {index} is not among the group's entries"
                    ))
                })?;
            batch.put_cf(
                cf,
                columns::subject_entry_key(token, *seq),
                encode_row(entry.index, &entry.signature, &entry.bytes),
            );
        }
        self.advance_derived_rows(batch, META_LIFECYCLE_ROWS_NEXT, &group.entries)
    }

    /// The lifecycle rows of `token`'s entries `seqs` (its `subject_seq` numbers), in order; `None`
    /// when the rows do not hold all of them (a log whose backfill has not run), so the caller
    /// reads the entries instead.
    pub fn subject_lifecycle_rows(
        &self,
        token: &[u8; 32],
        seqs: Range<u64>,
    ) -> Result<Option<Vec<LifecycleRow>>, StorageError> {
        // A read-only open of a data dir made before these rows has no such family.
        let Some(cf) = self.db.cf_handle(columns::LIFECYCLE_ROWS) else {
            return Ok(None);
        };
        if seqs.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let start = columns::subject_entry_key(token, seqs.start);
        let mut read = ReadOptions::default();
        read.set_iterate_upper_bound(columns::subject_entry_key(token, seqs.end));
        let mut rows = Vec::with_capacity(usize::try_from(seqs.end - seqs.start).unwrap_or(0));
        let mut expected = seqs.start;
        for row in self
            .db
            .iterator_cf_opt(cf, read, IteratorMode::From(&start, Direction::Forward))
        {
            let (key, value) = row?;
            if columns::decode_u64(key.get(32..).unwrap_or_default()) != Some(expected) {
                return Ok(None);
            }
            rows.push(LifecycleRow::from_value(&value)?);
            expected += 1;
        }
        Ok((expected == seqs.end).then_some(rows))
    }

    /// The lifecycle row stored for `(token, seq)`, as `audit` checks it.
    pub fn lifecycle_row(
        &self,
        token: &[u8; 32],
        seq: u64,
    ) -> Result<Option<LifecycleRow>, StorageError> {
        let cf = self.cf(columns::LIFECYCLE_ROWS)?;
        self.db
            .get_pinned_cf(cf, columns::subject_entry_key(token, seq))?
            .map(|value| LifecycleRow::from_value(&value))
            .transpose()
    }

    /// Writes the lifecycle rows of every entry not covered yet (a data dir made before them),
    /// resumably. Must run before the sequencer starts. `progress(done, total)` is called after
    /// each chunk. Returns how many entries it covered.
    pub fn backfill_lifecycle_rows(
        &self,
        progress: impl FnMut(u64, u64),
    ) -> Result<u64, StorageError> {
        let cf = self.cf(columns::LIFECYCLE_ROWS)?;
        self.backfill_derived_rows(
            META_LIFECYCLE_ROWS_NEXT,
            |batch, entries| {
                for entry in entries {
                    let (token, seq) = subject_of(entry)?;
                    if let Some(token) = token {
                        batch.put_cf(
                            cf,
                            columns::subject_entry_key(&token, seq),
                            encode_row(entry.index, &entry.signature, &entry.bytes),
                        );
                    }
                }
                Ok(())
            },
            progress,
        )
    }

    /// Drops every lifecycle row and the mark, so that the next start writes them again from the
    /// entries (what a data dir made before them goes through). Only with the server stopped.
    pub fn reset_lifecycle_rows(&self) -> Result<(), StorageError> {
        let cf = self.cf(columns::LIFECYCLE_ROWS)?;
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(cf, [0x00u8].as_slice(), [0xffu8; 41].as_slice());
        batch.delete_cf(self.cf(columns::META)?, META_LIFECYCLE_ROWS_NEXT);
        self.db.write_opt(batch, &synced())?;
        Ok(())
    }
}

/// The subject token (if any) and `subject_seq` of an entry.
fn subject_of(entry: &NewEntry) -> Result<(Option<[u8; 32]>, u64), StorageError> {
    let decoded = crate::core::entry::decode_entry(&entry.bytes)
        .map_err(|error| damaged_entry(entry.index, error))?;
    if decoded.subject_token.is_empty() {
        return Ok((None, 0));
    }
    let token = decoded.subject_token.as_slice().try_into().map_err(|_| {
        StorageError::Damaged(format!(
            "entry {} has a token of the wrong size",
            entry.index
        ))
    })?;
    Ok((Some(token), decoded.subject_seq))
}
