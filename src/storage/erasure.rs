//! The rows that erasure destroys (wrapped data keys, sealed details and identifiers, directory
//! rows) and the physical purge that makes their destruction real on disk.
//!
//! RocksDB deletes logically: a deleted value stays in the write-ahead log, in memtables and in
//! SST files until compaction drops it, and the MANIFEST remembers each file's smallest and largest
//! key. [`LedgerStore::purge_erased`] therefore flushes every column family (so that no WAL file
//! needs the old rows and RocksDB deletes them), compacts the affected key ranges down to the
//! bottommost level (so that tombstones and values both go), and then makes one more small write
//! and flush: the MANIFEST rolls at every edit (`max_manifest_space_amp_pct` 0), so it is then
//! rewritten from the live files only.

use std::collections::{BTreeSet, HashMap};

use rocksdb::{BottommostLevelCompaction, CompactOptions, WriteBatch};

use super::{LedgerStore, StorageError, columns, synced};

/// The content digest of an event-id row whose digest was withdrawn
/// ([`LedgerStore::withdraw_legacy_event_id_digests`]).
pub const WITHDRAWN_DIGEST: [u8; 32] = [0; 32];

/// The `meta` mark set once no event-id row keeps a digest made with the identifiers.
pub const META_EVENT_ID_DIGESTS_V2: &[u8] = b"event_id_digests_v2";

/// A subject's erasure record as stored: `(token, record bytes)`.
pub type ErasureRow = TokenRow;

/// A row of a secret family keyed by subject token: (token, value).
pub type TokenRow = ([u8; 32], Vec<u8>);

/// What a purge covers: subjects whose rows were destroyed, and the directory row keys deleted
/// with them (when known; otherwise the whole directory is compacted).
#[derive(Debug, Default, Clone)]
pub struct PurgeScope {
    /// Subject tokens whose data key, details and identifiers were destroyed.
    pub tokens: Vec<[u8; 32]>,
    /// Directory row keys deleted; `None` compacts the whole directory.
    pub directory_rows: Option<Vec<[u8; 32]>>,
}

/// A subject's data key as stored: none yet, wrapped by the master key, or destroyed by the
/// subject's erasure (the row holds [`columns::SHREDDED_KEY`]). The one reading of a data key row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredKey {
    /// The subject has no data key yet.
    Absent,
    /// The wrapped key.
    Wrapped(Vec<u8>),
    /// The subject's erasure destroyed the key.
    Shredded,
}

impl StoredKey {
    /// What a data key row (or its absence) says.
    pub fn from_row(row: Option<Vec<u8>>) -> Self {
        match row {
            None => StoredKey::Absent,
            Some(row) if row == columns::SHREDDED_KEY => StoredKey::Shredded,
            Some(wrapped) => StoredKey::Wrapped(wrapped),
        }
    }
}

/// The open erasure cases: how many, and when the oldest was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenErasureSummary {
    /// Cases opened and not closed.
    pub count: usize,
    /// When the oldest of them was opened (Unix seconds); `None` when none is open.
    pub oldest_requested_at: Option<i64>,
}

/// The open erasure cases in memory, so that the metrics read their number and the oldest at
/// each scrape without scanning the `erasures` family: loaded by one scan at the first read, then
/// kept up to date by every write of erasure records (a commit that opens cases, closing, the
/// purge marks, a restore's re-application), under the same lock as the write, so that it never
/// disagrees with the rows. An open case costs an entry here until it closes.
#[derive(Debug, Default)]
pub(super) struct OpenErasures {
    /// `None` until the first read (or after a record this store wrote did not decode).
    cases: Option<OpenCases>,
}

#[derive(Debug, Default)]
struct OpenCases {
    requested_at: HashMap<[u8; 32], i64>,
    by_age: BTreeSet<(i64, [u8; 32])>,
}

impl OpenCases {
    /// Takes in a subject's record as now stored.
    fn note(&mut self, token: [u8; 32], record: &ErasureRecord) {
        if let Some(at) = self.requested_at.remove(&token) {
            self.by_age.remove(&(at, token));
        }
        if record.closed.is_none() {
            self.requested_at.insert(token, record.requested_at);
            self.by_age.insert((record.requested_at, token));
        }
    }

    fn summary(&self) -> OpenErasureSummary {
        OpenErasureSummary {
            count: self.by_age.len(),
            oldest_requested_at: self.by_age.first().map(|(at, _)| *at),
        }
    }
}

impl LedgerStore {
    /// The open erasure cases (records without a closing). The first call scans the `erasures`
    /// family; later ones cost a lock and no read (see `OpenErasures`).
    pub fn open_erasure_summary(&self) -> Result<OpenErasureSummary, StorageError> {
        let mut open = self.open_erasures.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(cases) = &open.cases {
            return Ok(cases.summary());
        }
        let mut cases = OpenCases::default();
        for (token, bytes) in self.erasure_records()? {
            cases.note(token, &ErasureRecord::from_bytes(&bytes)?);
        }
        let summary = cases.summary();
        open.cases = Some(cases);
        Ok(summary)
    }

    /// Runs `write`, which stores `records`, and takes them into the open cases, under their lock.
    pub(super) fn writing_erasure_records<T>(
        &self,
        records: &[ErasureRow],
        write: impl FnOnce() -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let mut open = self.open_erasures.lock().unwrap_or_else(|p| p.into_inner());
        let written = write()?;
        if let Some(cases) = &mut open.cases {
            let undecodable = records.iter().any(|(token, bytes)| {
                ErasureRecord::from_bytes(bytes)
                    .map(|record| cases.note(*token, &record))
                    .is_err()
            });
            if undecodable {
                // Read them again from the rows at the next read (which reports the record).
                open.cases = None;
            }
        }
        Ok(written)
    }

    /// The subject's data key: absent, wrapped or shredded.
    pub fn data_key(&self, token: &[u8; 32]) -> Result<StoredKey, StorageError> {
        self.data_key_row(token).map(StoredKey::from_row)
    }

    /// The subject's stored data key row: the wrapped key, [`columns::SHREDDED_KEY`], or none.
    pub fn data_key_row(&self, token: &[u8; 32]) -> Result<Option<Vec<u8>>, StorageError> {
        let cf = self.cf(columns::DATA_KEYS)?;
        Ok(self.db.get_cf(cf, token)?)
    }

    /// The sealed details of the entry at `index` of the subject `token`.
    pub fn sealed_details(
        &self,
        token: &[u8; 32],
        index: u64,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        let cf = self.cf(columns::DETAILS)?;
        Ok(self.db.get_cf(cf, columns::details_key(token, index))?)
    }

    /// The subject's sealed identifier list.
    pub fn sealed_identifiers(&self, token: &[u8; 32]) -> Result<Option<Vec<u8>>, StorageError> {
        let cf = self.cf(columns::IDENTIFIERS)?;
        Ok(self.db.get_cf(cf, token)?)
    }

    /// The erasure record of a subject (JSON, owned by `crate::erasure`).
    pub fn erasure_record(&self, token: &[u8; 32]) -> Result<Option<Vec<u8>>, StorageError> {
        let cf = self.cf(columns::ERASURES)?;
        Ok(self.db.get_cf(cf, token)?)
    }

    /// Every erasure record, by token.
    pub fn erasure_records(&self) -> Result<Vec<ErasureRow>, StorageError> {
        let mut records = Vec::new();
        for row in self.rows(columns::ERASURES)? {
            let (key, value) = row?;
            let token: [u8; 32] = key.as_ref().try_into().map_err(|_| {
                StorageError::undecodable(
                    columns::ERASURES,
                    "a key",
                    format!("has {} bytes", key.len()),
                )
            })?;
            records.push((token, value.into_vec()));
        }
        Ok(records)
    }

    /// Every subject's sealed identifier list, by token.
    pub fn sealed_identifier_rows(&self) -> Result<Vec<TokenRow>, StorageError> {
        let mut rows = Vec::new();
        for row in self.rows(columns::IDENTIFIERS)? {
            let (key, value) = row?;
            let token: [u8; 32] = key.as_ref().try_into().map_err(|_| {
                StorageError::undecodable(
                    columns::IDENTIFIERS,
                    "a key",
                    format!("has {} bytes", key.len()),
                )
            })?;
            rows.push((token, value.into_vec()));
        }
        Ok(rows)
    }

    /// Replaces sealed identifier lists and sets `mark` in `meta`, in one synced batch.
    pub fn rewrite_sealed_identifiers(
        &self,
        rows: &[TokenRow],
        mark: &[u8],
    ) -> Result<(), StorageError> {
        let cf = self.cf(columns::IDENTIFIERS)?;
        let mut batch = WriteBatch::default();
        for (token, sealed) in rows {
            batch.put_cf(cf, token, sealed);
        }
        batch.put_cf(self.cf(columns::META)?, mark, b"");
        self.db.write_opt(batch, &synced())?;
        Ok(())
    }

    /// Whether `mark` is set in `meta`.
    pub fn has_meta_mark(&self, mark: &[u8]) -> Result<bool, StorageError> {
        Ok(self.db.get_cf(self.cf(columns::META)?, mark)?.is_some())
    }

    /// Writes erasure records (synced).
    pub fn put_erasure_records(&self, records: &[ErasureRow]) -> Result<(), StorageError> {
        let cf = self.cf(columns::ERASURES)?;
        let mut batch = WriteBatch::default();
        for (token, record) in records {
            batch.put_cf(cf, token, record);
        }
        self.writing_erasure_records(records, || Ok(self.db.write_opt(batch, &synced())?))
    }

    /// Destroys what a subject's data key protects, in `batch`: the key becomes
    /// [`columns::SHREDDED_KEY`], the sealed identifiers and every sealed details row go.
    pub(super) fn shred_into(
        &self,
        batch: &mut WriteBatch,
        token: &[u8; 32],
    ) -> Result<(), StorageError> {
        batch.put_cf(self.cf(columns::DATA_KEYS)?, token, columns::SHREDDED_KEY);
        batch.delete_cf(self.cf(columns::IDENTIFIERS)?, token);
        let (from, to) = token_range(token);
        batch.delete_range_cf(self.cf(columns::DETAILS)?, from, to);
        Ok(())
    }

    /// Re-applies the shredding of subjects (a restore that brings back rows an erasure had
    /// destroyed), with their records, as one synced batch.
    pub fn shred_subjects(&self, records: &[ErasureRow]) -> Result<(), StorageError> {
        let mut batch = WriteBatch::default();
        let erasures = self.cf(columns::ERASURES)?;
        for (token, record) in records {
            self.shred_into(&mut batch, token)?;
            batch.put_cf(erasures, token, record);
        }
        self.writing_erasure_records(records, || Ok(self.db.write_opt(batch, &synced())?))
    }

    /// Closes erasure cases: deletes every directory row that points at one of `records`' tokens
    /// and writes the records, in one synced batch. The directory is keyed by a keyed hash of the
    /// identifier, so its rows of a subject are found by one scan of the directory (shared by every
    /// case closed together). Returns the row keys deleted.
    pub fn close_erasures(&self, records: &[ErasureRow]) -> Result<Vec<[u8; 32]>, StorageError> {
        let tokens: std::collections::HashSet<[u8; 32]> =
            records.iter().map(|(token, _)| *token).collect();
        let mut deleted = Vec::new();
        for row in self.rows(columns::DIRECTORY)? {
            let (key, value) = row?;
            if value.len() == 32 && tokens.contains(value.as_ref()) {
                let key: [u8; 32] = key.as_ref().try_into().map_err(|_| {
                    StorageError::undecodable(
                        columns::DIRECTORY,
                        "a key",
                        format!("has {} bytes", key.len()),
                    )
                })?;
                deleted.push(key);
            }
        }
        let directory = self.cf(columns::DIRECTORY)?;
        let erasures = self.cf(columns::ERASURES)?;
        let mut batch = WriteBatch::default();
        for key in &deleted {
            batch.delete_cf(directory, key);
        }
        for (token, record) in records {
            batch.put_cf(erasures, token, record);
        }
        self.writing_erasure_records(records, || Ok(self.db.write_opt(batch, &synced())?))?;
        Ok(deleted)
    }

    /// Withdraws, once, the content digests of the event-id rows written before digests left the
    /// identifiers out (`service::submission_digest`): each row keeps its index and gets
    /// [`WITHDRAWN_DIGEST`] (a retry of such an event is a conflict), then the family is compacted
    /// whole and the MANIFEST rolled, so that no file keeps a digest an identifier could be
    /// matched against. Marked in `meta`; a data dir made by this version only sets the mark.
    /// Returns how many rows were withdrawn.
    pub fn withdraw_legacy_event_id_digests(&self) -> Result<usize, StorageError> {
        let meta = self.cf(columns::META)?;
        if self.db.get_cf(meta, META_EVENT_ID_DIGESTS_V2)?.is_some() {
            return Ok(0);
        }
        let event_ids = self.cf(columns::EVENT_IDS)?;
        let mut withdrawn = 0;
        let mut batch = WriteBatch::default();
        for row in self.rows(columns::EVENT_IDS)? {
            let (key, value) = row?;
            let index = value.get(..8).ok_or_else(|| {
                StorageError::undecodable(columns::EVENT_IDS, "an event id row", "is too short")
            })?;
            let mut withdrawn_row = [0u8; 40];
            withdrawn_row[..8].copy_from_slice(index);
            withdrawn_row[8..].copy_from_slice(&WITHDRAWN_DIGEST);
            batch.put_cf(event_ids, key, withdrawn_row);
            withdrawn += 1;
            if batch.len() >= 10_000 {
                self.db.write_opt(std::mem::take(&mut batch), &synced())?;
            }
        }
        self.db.write_opt(batch, &synced())?;
        if withdrawn > 0 {
            self.flush_all()?;
            let mut compact = CompactOptions::default();
            compact.set_bottommost_level_compaction(BottommostLevelCompaction::Force);
            self.db
                .compact_range_cf_opt(event_ids, None::<&[u8]>, None::<&[u8]>, &compact);
        }
        self.db
            .put_cf_opt(meta, META_EVENT_ID_DIGESTS_V2, b"", &synced())?;
        self.flush_all()?;
        self.remove_old_info_logs()?;
        Ok(withdrawn)
    }

    /// Forgets that the legacy digests were withdrawn (tests: a data dir of an earlier version).
    #[doc(hidden)]
    pub fn reset_event_id_digest_mark(&self) -> Result<(), StorageError> {
        let meta = self.cf(columns::META)?;
        self.db
            .delete_cf_opt(meta, META_EVENT_ID_DIGESTS_V2, &synced())?;
        Ok(())
    }

    /// Makes destroyed rows physically gone from the data dir: flushes every column family (the
    /// WAL files that held the rows become obsolete and are deleted), compacts the affected ranges
    /// to the bottommost level, then rolls the MANIFEST (see the module docs). Many erasures share
    /// one purge.
    pub fn purge_erased(&self, scope: &PurgeScope) -> Result<(), StorageError> {
        self.flush_all()?;
        let mut compact = CompactOptions::default();
        compact.set_bottommost_level_compaction(BottommostLevelCompaction::Force);
        compact.set_exclusive_manual_compaction(false);
        for family in [columns::DATA_KEYS, columns::IDENTIFIERS, columns::DETAILS] {
            let cf = self.cf(family)?;
            for token in &scope.tokens {
                let (from, to) = token_range(token);
                self.db
                    .compact_range_cf_opt(cf, Some(from), Some(to), &compact);
            }
        }
        let directory = self.cf(columns::DIRECTORY)?;
        match &scope.directory_rows {
            Some(rows) => {
                for row in rows {
                    let mut end = row.to_vec();
                    end.push(0);
                    self.db
                        .compact_range_cf_opt(directory, Some(row), Some(&end), &compact);
                }
            }
            None => self
                .db
                .compact_range_cf_opt(directory, None::<&[u8]>, None::<&[u8]>, &compact),
        }
        // One more edit: the MANIFEST, which rolls at every edit (see `open_with`), is rewritten
        // as a snapshot of the live files only (the compacted files' key boundaries were in the
        // old one, which RocksDB then deletes).
        let meta = self.cf(columns::META)?;
        self.db.put_cf_opt(meta, b"last_purge", b"", &synced())?;
        self.flush_all()?;
        self.remove_old_info_logs()
    }

    /// Deletes the info logs of earlier runs (`LOG.old.*`): a data dir written before the info
    /// log was kept at the warning level holds the key bounds of its purges there, and RocksDB
    /// keeps old logs for good. The running `LOG` holds no key (see `open_with`).
    fn remove_old_info_logs(&self) -> Result<(), StorageError> {
        let dir = self.db.path();
        let io = |path: &std::path::Path| {
            let path = path.to_path_buf();
            move |source| StorageError::Io { path, source }
        };
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let path = entry.map_err(io(dir))?.path();
            let is_old_log = path
                .file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("LOG.old."));
            if is_old_log {
                std::fs::remove_file(&path).map_err(io(&path))?;
            }
        }
        Ok(())
    }
}

/// The key range `[token, token + 1)`: every row whose key starts with `token`.
fn token_range(token: &[u8; 32]) -> (Vec<u8>, Vec<u8>) {
    let from = token.to_vec();
    let mut to = token.to_vec();
    // The successor of the 32-byte prefix: the token with a 0 byte appended sorts after the token
    // itself but before `token || u64`, so use the prefix's increment (with carry).
    for byte in to.iter_mut().rev() {
        if *byte == 0xff {
            *byte = 0;
        } else {
            *byte += 1;
            return (from, to);
        }
    }
    // All 0xff: no successor; the range runs to the end, which 33 0xff bytes reach.
    to = vec![0xff; 41];
    (from, to)
}

#[cfg(test)]
mod tests {
    use super::{ErasureClosing, ErasureRecord, OpenErasureSummary, PurgeScope, token_range};
    use crate::storage::{LedgerStore, StorageConfig};

    #[test]
    fn the_open_erasure_summary_follows_every_write_of_records() {
        let dir = tempfile::tempdir().expect("temp dir");
        let open = || {
            LedgerStore::open(dir.path(), "ledger.test/open", &StorageConfig::default())
                .expect("opens")
        };
        let record = |requested_at: i64, closed: bool| {
            ErasureRecord {
                request_index: 1,
                requested_at,
                requested_by: "dpo".into(),
                closed: closed.then(|| ErasureClosing {
                    at: requested_at + 1,
                    by: "dpo".into(),
                    reason: "test".into(),
                }),
                purged: false,
            }
            .to_bytes()
        };
        let summary = |count, oldest_requested_at| OpenErasureSummary {
            count,
            oldest_requested_at,
        };
        let store = open();
        // Written before the first read: the first read scans the rows.
        store
            .put_erasure_records(&[([1; 32], record(100, false))])
            .expect("written");
        assert_eq!(
            store.open_erasure_summary().ok(),
            Some(summary(1, Some(100)))
        );
        // Then every write keeps it: an older case re-applied by a restore, closings, purge marks.
        store
            .shred_subjects(&[([2; 32], record(50, false))])
            .expect("shredded");
        assert_eq!(
            store.open_erasure_summary().ok(),
            Some(summary(2, Some(50)))
        );
        store
            .close_erasures(&[([2; 32], record(50, true))])
            .expect("closed");
        assert_eq!(
            store.open_erasure_summary().ok(),
            Some(summary(1, Some(100)))
        );
        store
            .put_erasure_records(&[([2; 32], record(50, true))])
            .expect("purge mark");
        assert_eq!(
            store.open_erasure_summary().ok(),
            Some(summary(1, Some(100)))
        );
        store
            .close_erasures(&[([1; 32], record(100, true))])
            .expect("closed");
        assert_eq!(store.open_erasure_summary().ok(), Some(summary(0, None)));
        store
            .put_erasure_records(&[([3; 32], record(200, false))])
            .expect("written");
        drop(store);
        // A new open reads the rows again and finds the same.
        assert_eq!(
            open().open_erasure_summary().ok(),
            Some(summary(1, Some(200)))
        );
    }

    #[test]
    fn a_purge_runs_and_leaves_the_store_usable() {
        let (_dir, store) = LedgerStore::temporary("ledger.test/purge");
        let scope = PurgeScope {
            tokens: vec![[3; 32]],
            directory_rows: Some(vec![[4; 32]]),
        };
        store.purge_erased(&scope).expect("purges");
        store
            .purge_erased(&PurgeScope::default())
            .expect("purges the whole directory");
        assert_eq!(store.tree_size().expect("reads"), 0);
    }

    #[test]
    fn a_token_range_covers_exactly_the_rows_of_the_token() {
        let token = [7u8; 32];
        let (from, to) = token_range(&token);
        let mut row = token.to_vec();
        row.extend_from_slice(&u64::MAX.to_be_bytes());
        assert!(from.as_slice() <= row.as_slice() && row.as_slice() < to.as_slice());
        let mut next = [7u8; 32];
        next[31] = 8;
        assert!(next.as_slice() >= to.as_slice());
        let (_, to_max) = token_range(&[0xff; 32]);
        let mut last = vec![0xff; 32];
        last.extend_from_slice(&u64::MAX.to_be_bytes());
        assert!(last < to_max);
    }
}

/// The erasure case of one subject, as stored in [`columns::ERASURES`] (JSON; no personal data).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErasureRecord {
    /// Index of the erasure-request entry that opened the case (and destroyed the data key).
    pub request_index: u64,
    /// When the case opened, Unix seconds.
    pub requested_at: i64,
    /// Who asked for it (the caller's identity).
    pub requested_by: String,
    /// Set once the case is closed and the subject's directory rows are destroyed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<ErasureClosing>,
    /// Whether the latest destruction (shredding, or the directory rows at closing) has been
    /// purged from the files.
    pub purged: bool,
}

/// How an erasure case was closed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErasureClosing {
    /// When, Unix seconds.
    pub at: i64,
    /// Who closed it: an admin's identity, or `gdpr-ledger` when the last system confirmed.
    pub by: String,
    /// Why: "every system confirmed", or the admin's reason.
    pub reason: String,
}

impl ErasureRecord {
    /// The record as stored.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serializing plain strings and numbers cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a stored record.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StorageError> {
        serde_json::from_slice(bytes)
            .map_err(|e| StorageError::undecodable(columns::ERASURES, "an erasure record", e))
    }
}
