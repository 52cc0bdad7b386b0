//! Rows derived from the entries and kept beside them: the report indexes
//! ([`super::report_index`]) and the breach count rows ([`super::report_index::counts`]).
//!
//! Each kind has a mark in `meta`: the next index its rows do not cover yet. A commit writes a
//! kind's rows only when its mark equals the group's first index, and advances the mark in the
//! same batch; otherwise (a data dir made before the kind existed, or one whose backfill was
//! interrupted) [`LedgerStore::backfill_derived_rows`] catches up first, resumably, in chunks that
//! each advance the mark. Rows are written only in those two ways, so every row that exists is
//! right; while a mark lags the log, the report readers refuse to answer and the breach summary
//! reads the entries instead of the count rows.

use rocksdb::{Direction, IteratorMode, ReadOptions, WriteBatch};

use super::{LedgerStore, NewEntry, StorageError, columns, decode_signature, synced};

/// Entries covered per write batch during a backfill.
pub(super) const BACKFILL_CHUNK: usize = 20_000;

impl LedgerStore {
    /// The next index the rows marked by `mark` do not cover (0 for a store that never had them).
    pub(super) fn derived_rows_next(&self, mark: &[u8]) -> Result<u64, StorageError> {
        let meta = self.cf(columns::META)?;
        Ok(self
            .db
            .get_cf(meta, mark)?
            .and_then(|v| columns::decode_u64(&v))
            .unwrap_or(0))
    }

    /// Whether a commit group whose entries start at `first` must write the rows of `mark` (and
    /// advance it): only when the rows cover everything before it.
    pub(super) fn derived_rows_due(&self, mark: &[u8], first: u64) -> Result<bool, StorageError> {
        Ok(self.derived_rows_next(mark)? == first)
    }

    /// Adds to `batch` the advance of `mark` past `entries`.
    pub(super) fn advance_derived_rows(
        &self,
        batch: &mut WriteBatch,
        mark: &[u8],
        entries: &[NewEntry],
    ) -> Result<(), StorageError> {
        if let Some(last) = entries.last() {
            batch.put_cf(
                self.cf(columns::META)?,
                mark,
                (last.index + 1).to_be_bytes(),
            );
        }
        Ok(())
    }

    /// Derives the rows of `mark` for every entry it does not cover yet: `add_rows` adds the rows
    /// of a chunk of entries (with their signatures, in index order) to a batch, which also
    /// advances the mark, so an interrupted backfill resumes where it stopped. Must run before
    /// the sequencer starts. `progress(done, total)` is called after each chunk. Returns how many
    /// entries it covered.
    pub(super) fn backfill_derived_rows(
        &self,
        mark: &[u8],
        mut add_rows: impl FnMut(&mut WriteBatch, &[NewEntry]) -> Result<(), StorageError>,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<u64, StorageError> {
        let size = self.tree_size()?;
        let start = self.derived_rows_next(mark)?;
        if start >= size {
            return Ok(0);
        }
        let from = columns::index_key(start);
        let scan = |family| -> Result<_, StorageError> {
            let mut read = ReadOptions::default();
            read.fill_cache(false);
            Ok(self.db.iterator_cf_opt(
                self.cf(family)?,
                read,
                IteratorMode::From(&from, Direction::Forward),
            ))
        };
        let mut chunk: Vec<NewEntry> = Vec::with_capacity(BACKFILL_CHUNK);
        let mut done = 0u64;
        let mut flush = |chunk: &mut Vec<NewEntry>| -> Result<(), StorageError> {
            if chunk.is_empty() {
                return Ok(());
            }
            let mut batch = WriteBatch::default();
            add_rows(&mut batch, chunk)?;
            self.advance_derived_rows(&mut batch, mark, chunk)?;
            self.db.write(batch)?;
            done += chunk.len() as u64;
            progress(done, size - start);
            chunk.clear();
            Ok(())
        };
        for (expected, (entry, signature)) in
            (start..size).zip(scan(columns::ENTRIES)?.zip(scan(columns::SIGNATURES)?))
        {
            let (key, bytes) = entry?;
            let (signature_key, signature) = signature?;
            let index = columns::decode_u64(&key).ok_or_else(|| {
                StorageError::undecodable(columns::ENTRIES, "a key", "is not 8 bytes")
            })?;
            if index != expected || signature_key != key {
                return Err(StorageError::inconsistent(format!(
                    "entry {expected} or its signature is missing (found entry {index})"
                )));
            }
            chunk.push(NewEntry {
                index,
                bytes: bytes.into_vec(),
                signature: decode_signature(index, &signature)?,
            });
            if chunk.len() >= BACKFILL_CHUNK {
                flush(&mut chunk)?;
            }
        }
        flush(&mut chunk)?;
        self.db.write_opt(WriteBatch::default(), &synced())?;
        Ok(done)
    }
}
