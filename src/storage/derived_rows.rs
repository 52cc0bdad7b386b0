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
//!
//! The commit reads no mark back: it keeps them as its own durable writes left them
//! ([`CommitMarks`]), since it is their only writer while the server runs. Readers of the reports
//! read them from the store.

use rocksdb::{Direction, IteratorMode, ReadOptions, WriteBatch};

use super::{LedgerStore, NewEntry, StorageError, columns, decode_signature, synced};

/// Entries covered per write batch during a backfill.
pub(super) const BACKFILL_CHUNK: usize = 20_000;

/// The marks as the commit last read or durably wrote them, so that a commit group reads none of
/// them back (four point reads of `meta` per group otherwise, on the path of every reply). Only
/// the commit path consults it: a mark is remembered when the commit first reads it and when a
/// commit's batch that advanced it has been written; a failed write leaves store and memory at
/// the value before it. Any other writer of a mark (a backfill, a reset) forgets them all.
#[derive(Debug, Default)]
pub(super) struct CommitMarks(std::sync::Mutex<Vec<(&'static [u8], u64)>>);

impl CommitMarks {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(&'static [u8], u64)>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, mark: &[u8]) -> Option<u64> {
        self.lock()
            .iter()
            .find(|(known, _)| *known == mark)
            .map(|(_, next)| *next)
    }

    fn set(&self, mark: &'static [u8], next: u64) {
        let mut marks = self.lock();
        match marks.iter_mut().find(|(known, _)| *known == mark) {
            Some((_, known_next)) => *known_next = next,
            None => marks.push((mark, next)),
        }
    }

    fn forget(&self) {
        self.lock().clear();
    }
}

/// The marks a commit's batch advances, remembered once the batch is durable
/// ([`LedgerStore::marks_written`]).
#[derive(Debug, Default)]
pub(super) struct MarkAdvances(Vec<(&'static [u8], u64)>);

impl LedgerStore {
    /// The mark as the commit path knows it: remembered, or read once.
    pub(super) fn commit_mark(&self, mark: &'static [u8]) -> Result<u64, StorageError> {
        if let Some(next) = self.commit_marks.get(mark) {
            return Ok(next);
        }
        let next = self.derived_rows_next(mark)?;
        self.commit_marks.set(mark, next);
        Ok(next)
    }

    /// Remembers the marks a commit's batch advanced, once the batch is durable.
    pub(super) fn marks_written(&self, advances: &MarkAdvances) {
        for (mark, next) in &advances.0 {
            self.commit_marks.set(mark, *next);
        }
    }

    /// Forgets the marks the commit path remembers: called by every other writer of a mark.
    pub(super) fn forget_commit_marks(&self) {
        self.commit_marks.forget();
    }

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
    pub(super) fn derived_rows_due(
        &self,
        mark: &'static [u8],
        first: u64,
    ) -> Result<bool, StorageError> {
        Ok(self.commit_mark(mark)? == first)
    }

    /// Adds to `batch` the write of `mark` at `next`: the one encoding of a mark, which
    /// [`Self::derived_rows_next`] reads.
    pub(super) fn put_mark(
        &self,
        batch: &mut WriteBatch,
        mark: &[u8],
        next: u64,
    ) -> Result<(), StorageError> {
        batch.put_cf(self.cf(columns::META)?, mark, next.to_be_bytes());
        Ok(())
    }

    /// Adds to a commit's `batch` the advance of `mark` to `next`, and to `advances`.
    pub(super) fn advance_commit_mark(
        &self,
        batch: &mut WriteBatch,
        advances: &mut MarkAdvances,
        mark: &'static [u8],
        next: u64,
    ) -> Result<(), StorageError> {
        self.put_mark(batch, mark, next)?;
        advances.0.push((mark, next));
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
        self.forget_commit_marks();
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
            if let Some(last) = chunk.last() {
                self.put_mark(&mut batch, mark, last.index + 1)?;
            }
            self.db.write(batch)?;
            done += chunk.len() as u64;
            progress(done, size - start);
            chunk.clear();
            Ok(())
        };
        // The entries appended before schema 7 (a prefix of the log) have their signatures in a
        // family of their own, read alongside; the later ones in their rows.
        let mut signatures = scan(columns::SIGNATURES)?;
        for (expected, entry) in (start..size).zip(scan(columns::ENTRIES)?) {
            let (key, value) = entry?;
            let index = columns::decode_u64(&key).ok_or_else(|| {
                StorageError::undecodable(columns::ENTRIES, "a key", "is not 8 bytes")
            })?;
            if index != expected {
                return Err(StorageError::inconsistent(format!(
                    "entry {expected} is missing (found entry {index})"
                )));
            }
            let (bytes, inline) = self.split_entry_row(index, &value)?;
            let signature = match inline {
                Some(signature) => signature,
                None => match signatures.next().transpose()? {
                    Some((signature_key, signature)) if signature_key == key => {
                        decode_signature(index, &signature)?
                    }
                    _ => return Err(StorageError::missing_signature(index)),
                },
            };
            chunk.push(NewEntry {
                index,
                bytes: bytes.to_vec(),
                signature,
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
