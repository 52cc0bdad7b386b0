//! The ledger's RocksDB store: entries, signatures, tree nodes, checkpoints and the indexes, one
//! column family each (see [`columns`]).
//!
//! The store knows bytes and keys, not policy: the sequencer decides what a commit group writes
//! ([`CommitGroup`]) and the store writes it as one atomic, WAL-synced batch. Memory is bounded by
//! one shared block cache and one write-buffer manager across all column families.

mod backup;
pub mod columns;
#[cfg(test)]
mod conformance;
mod derived_rows;
mod entry_rows;
mod erasure;
mod first_entries;
mod memory;
pub mod report_index;
mod subject_index;
mod tail;
mod tree_cache;
pub mod tree_chunks;

pub use backup::{BackupError, BackupSummary, make_private, restore_backup};
pub use entry_rows::EntryRow;
pub use erasure::{
    ErasureClosing, ErasureRecord, ErasureRow, OpenErasureSummary, PurgeScope, StoredKey,
};
pub use memory::MemoryStore;
pub use subject_index::PruneSummary;
pub use tail::TailStore;

use std::path::Path;

use rocksdb::{
    BlockBasedIndexType, BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, DBCompactionStyle,
    DBCompressionType, Direction, FlushOptions, IteratorMode, Options, ReadOptions, WriteBatch,
    WriteBufferManager, WriteOptions, statistics::Ticker,
};

use crate::core::hash::NodeHash;
use crate::core::merkle::{HashStore, NodeId};
use crate::core::subject_index::IndexCommit;

/// The schema this code reads and writes; a data dir of another version is refused, but for
/// [`UPGRADABLE_SCHEMAS`].
pub const SCHEMA_VERSION: &str = "7";

/// The schemas a writable open upgrades to [`SCHEMA_VERSION`] (a read-only open opens them, for a
/// backup's summary; `audit` asks for the upgrade first). Older binaries refuse a newer data dir
/// rather than misread it.
/// - Version 2 also stored the tree's levels below [`CHUNK_LEVELS`] as `tree` rows, which later
///   versions keep only in the chunk rows; the upgrade deletes them (one range deletion).
/// - Versions 2 and 3 stored the subject index one node per row
///   ([`columns::LEGACY_SUBJECT_INDEX`]); version 4 stores it one page per row. The upgrade
///   rewrites the latest version as pages, so lifecycles at earlier checkpoints are refused as
///   if pruned (`storage::subject_index`).
/// - Versions 2 to 4 also wrote report rows by data category, by occurred time and by received
///   time ([`report_index::RETIRED_TAGS`]); the upgrade deletes them (one range deletion). An
///   older binary must refuse a data dir without them: it would read the missing received-time
///   rows as "nothing received later".
/// - Versions 2 to 5 wrote a subject-index page's references to other pages with their version
///   in eight bytes; version 6 writes how many versions back it is, in a varint
///   (`core::subject_index::page`). Pages written before are read as they are (nothing is
///   rewritten); an older binary must refuse a data dir with pages it cannot decode.
/// - Versions 2 to 6 kept each entry's signature in a row of its own ([`columns::SIGNATURES`]);
///   version 7 writes it at the front of the entry's row (`storage::entry_rows`). The upgrade
///   records the log's size ([`columns::META_SIGNATURES_INLINE_FROM`]) and rewrites nothing: the
///   entries below it keep the old layout. An older binary must refuse a data dir whose entry
///   rows start with a signature.
pub const UPGRADABLE_SCHEMAS: [&str; 5] = ["2", "3", "4", "5", "6"];

/// The schema that still kept the tree's lower levels as `tree` rows.
const SCHEMA_WITH_LOWER_TREE_ROWS: &str = "2";

/// Memory and tuning of the store.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// The block cache shared by every column family (data, index and filter blocks), in MiB.
    pub block_cache_mib: usize,
    /// The budget of all memtables together, in MiB (8 at least; below 16 the families' empty
    /// memtables, about 9 MiB, take most of it and memtables are flushed at nearly every write).
    /// A write-buffer manager keeps
    /// to it (it flushes the largest memtable when the budget is reached) and charges it to the
    /// same cache, whose capacity is the sum of both budgets: RocksDB's memory stays about
    /// `block_cache_mib + write_buffer_mib` (plus small per-file overheads, and the memtables
    /// being flushed at that moment). Writes are never stalled for memory (see `open_with`).
    pub write_buffer_mib: usize,
    /// Background threads for flushes and compactions.
    pub background_jobs: i32,
    /// Subject-index history to keep, in entries (`docs/subject-index.md` section 8): versions
    /// older than the newest one at or below `tree size - subject_index_keep_entries` are pruned,
    /// and lifecycles can no longer be proved at their checkpoints. 0 keeps every version.
    /// Default: [`DEFAULT_SUBJECT_INDEX_KEEP_ENTRIES`].
    pub subject_index_keep_entries: u64,
    /// Memory for the log tree's upper nodes (levels 6 and up; the lower ones come from each
    /// 64-leaf chunk's row), which every inclusion proof reads, in MiB (about 2 bytes of cache
    /// per entry of the log covers them all).
    pub tree_cache_mib: usize,
}

/// The subject-index history kept by default, in entries: every version of the last million
/// entries (the latest version is always whole), so that the index's history stops growing with
/// the log's length.
pub const DEFAULT_SUBJECT_INDEX_KEEP_ENTRIES: u64 = 1_000_000;

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            block_cache_mib: 128,
            write_buffer_mib: 128,
            background_jobs: 2,
            subject_index_keep_entries: DEFAULT_SUBJECT_INDEX_KEEP_ENTRIES,
            tree_cache_mib: 128,
        }
    }
}

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// RocksDB failed (I/O, corruption, ...).
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// The data dir was written by another schema version.
    #[error("the data dir has schema version {found:?}; this build reads version {SCHEMA_VERSION}")]
    UnknownSchema {
        /// The version found.
        found: String,
    },
    /// The data dir belongs to a log with another origin.
    #[error("the data dir holds the log {stored:?}, not {configured:?}")]
    OriginMismatch {
        /// Origin recorded in the data dir.
        stored: String,
        /// Origin in the configuration.
        configured: String,
    },
    /// A row that must exist does not, cannot be decoded, or contradicts another: the data dir
    /// is damaged.
    #[error("damaged store: {0}")]
    Damaged(#[from] Damage),
    /// A commit failed on purpose (`fail_next_commit`, for the fail-stop tests).
    #[error("injected write failure")]
    Injected,
    /// A thread panicked holding the in-memory store's lock.
    #[error("the memory store's lock is poisoned")]
    Poisoned,
    /// The sequencer's thread could not be started.
    #[error("cannot start the sequencer thread: {0}")]
    Thread(std::io::Error),
    /// The recovered checkpoint could not be signed again.
    #[error("cannot sign the checkpoint: {0}")]
    Signing(String),
    /// A file of the data dir could not be read or removed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: std::path::PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

/// What is damaged in a data dir: a missing row, a row that does not decode, or rows that
/// contradict each other. Each names the family and the row concerned.
#[derive(Debug, thiserror::Error)]
pub enum Damage {
    /// A row that must exist does not.
    #[error("{family}: {key} is missing")]
    Missing {
        /// The column family.
        family: &'static str,
        /// The row, in words (`entry 12`, `the origin`).
        key: String,
    },
    /// A row that exists but does not decode.
    #[error("{family}: {key}: {reason}")]
    Undecodable {
        /// The column family.
        family: &'static str,
        /// The row, in words.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Rows that each decode but contradict each other, or the log (a head counting more
    /// entries than its rows, leaves that do not hash to their chunk's root...).
    #[error("{0}")]
    Inconsistent(String),
}

impl StorageError {
    /// The row `key` of `family` is missing.
    pub fn missing(family: &'static str, key: impl Into<String>) -> Self {
        Damage::Missing {
            family,
            key: key.into(),
        }
        .into()
    }

    /// The row `key` of `family` does not decode, for `reason`.
    pub fn undecodable(
        family: &'static str,
        key: impl Into<String>,
        reason: impl std::fmt::Display,
    ) -> Self {
        Damage::Undecodable {
            family,
            key: key.into(),
            reason: reason.to_string(),
        }
        .into()
    }

    /// The entry at `index` is missing.
    pub fn missing_entry(index: u64) -> Self {
        Self::missing(columns::ENTRIES, format!("entry {index}"))
    }

    /// The signature of the entry at `index` is missing.
    pub fn missing_signature(index: u64) -> Self {
        Self::missing(
            columns::SIGNATURES,
            format!("the signature of entry {index}"),
        )
    }

    /// The entry at `index` does not decode.
    pub fn undecodable_entry(index: u64, error: impl std::fmt::Display) -> Self {
        Self::undecodable(
            columns::ENTRIES,
            format!("entry {index}"),
            format!("does not decode: {error}"),
        )
    }

    /// Rows that contradict each other, or the log, as `what` says.
    pub fn inconsistent(what: impl std::fmt::Display) -> Self {
        Damage::Inconsistent(what.to_string()).into()
    }
}

/// A raw row: key and value bytes.
pub type Row = (Box<[u8]>, Box<[u8]>);

/// An entry's signature as stored: which key made it and the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredSignature {
    /// SPEC.md section 5 key id of the signing key.
    pub key_id: [u8; 4],
    /// Ed25519 signature (SPEC.md section 4).
    pub signature: [u8; 64],
}

/// The event-id index row: where an event id was appended, and a digest of what was submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventIdRecord {
    /// Index of the entry.
    pub index: u64,
    /// Keyed digest of the submission, to tell a retry from a conflicting reuse of the id.
    pub content_digest: [u8; 32],
}

/// The head of a subject's chain of entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubjectHead {
    /// How many entries carry the token.
    pub count: u64,
    /// Index of the latest of them.
    pub last_index: u64,
    /// Index of the first of them (the entry of `subject_seq` 0), when the head row records it.
    /// The sequencer sets it on a subject's first entry and carries it forward, so that the
    /// commit's breach count rows, which name a subject by its first entry, need no read of the
    /// token's chain row of seq 0. Head rows written before it was recorded have none until the
    /// first start of this version completes them (`storage::first_entries`); the commit reads
    /// that chain row for a head without it.
    pub first_index: Option<u64>,
}

/// A head row: `u64_be(count) || u64_be(last_index)`, then `u64_be(first_index)` when known;
/// the bytes and how many of them are the row.
fn encode_subject_head(head: &SubjectHead) -> ([u8; 24], usize) {
    let mut value = [0u8; 24];
    value[..8].copy_from_slice(&head.count.to_be_bytes());
    value[8..16].copy_from_slice(&head.last_index.to_be_bytes());
    match head.first_index {
        Some(first) => {
            value[16..].copy_from_slice(&first.to_be_bytes());
            (value, 24)
        }
        None => (value, 16),
    }
}

/// One entry a commit group writes.
#[derive(Debug, Clone)]
pub struct NewEntry {
    /// The entry's index.
    pub index: u64,
    /// The entry bytes.
    pub bytes: Vec<u8>,
    /// Its signature.
    pub signature: StoredSignature,
}

/// Everything one commit group writes, atomically.
#[derive(Debug, Default, Clone)]
pub struct CommitGroup {
    /// New entries, in index order.
    pub entries: Vec<NewEntry>,
    /// The messages `entries` encode, in the same order, as the planner built them: the rows
    /// derived from the entries (report indexes, breach counts) are made from these, not by
    /// decoding the bytes again. Empty when only the bytes are at hand: they are decoded then.
    pub decoded: Vec<crate::proto::v1::Entry>,
    /// Newly completed perfect subtrees.
    pub tree_nodes: Vec<(NodeId, NodeHash)>,
    /// New event-id rows: `(producer, event id, record)`.
    pub event_ids: Vec<(String, String, EventIdRecord)>,
    /// Updated subject heads.
    pub subject_heads: Vec<([u8; 32], SubjectHead)>,
    /// New subject entry rows: `(token, seq, index)`.
    pub subject_entries: Vec<([u8; 32], u64, u64)>,
    /// New directory rows: `(row key, token)`.
    pub directory_rows: Vec<([u8; 32], [u8; 32])>,
    /// The subject index's new version: its nodes and root record.
    pub subject_index: Option<IndexCommit>,
    /// New subjects' data keys, wrapped by the master key: `(token, wrapped key)`.
    pub data_keys: Vec<([u8; 32], Vec<u8>)>,
    /// Sealed details of new entries: `(token, index, sealed)`.
    pub sealed_details: Vec<([u8; 32], u64, Vec<u8>)>,
    /// Subjects' sealed identifier lists, replacing the stored ones: `(token, sealed)`.
    pub sealed_identifiers: Vec<([u8; 32], Vec<u8>)>,
    /// Subjects whose erasure opens in this group: their data key, identifiers and details are
    /// destroyed in the same batch as the erasure-request entry: `(token, erasure record)`.
    pub shreds: Vec<([u8; 32], Vec<u8>)>,
    /// A replica's last applied message of the input log (`docs/replication.md` section 5),
    /// written with the entries it made, so that it is exactly as durable as they are.
    pub applied_input: Option<u64>,
    /// A replica's latest applied close of a transit epoch (`docs/replication.md` section 3),
    /// written with `applied_input` in a group that may hold no entry: which epochs a restarted
    /// replica refuses unopened must be as durable as the close itself.
    pub closed_epoch: Option<ClosedEpoch>,
    /// The signed checkpoint of the log after the group, `(size, note)`: written in the same
    /// batch as the entries it covers, so that the checkpoint of every durable size is durable
    /// with it (the sequencer signs it before the write and publishes it only after).
    pub checkpoint: Option<(u64, String)>,
}

/// A replica's latest applied close of a transit epoch: every request of an epoch up to `epoch`
/// that the input log holds after the close is refused unopened. With it, the oldest epoch whose
/// transit key the replica keeps once the close is applied, and that key's check value
/// (`replication::transit::check_value`), so that a restarted replica whose ratchet is past the
/// stream's genesis epoch can still show that it holds the deployment's ratchet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosedEpoch {
    /// The epoch closed (every earlier one is closed too).
    pub epoch: u64,
    /// The oldest epoch whose transit key is kept after the close.
    pub oldest_kept: u64,
    /// The check value of that epoch's transit key.
    pub oldest_kept_check: [u8; 32],
}

impl ClosedEpoch {
    /// Length of [`ClosedEpoch::to_bytes`].
    pub const LEN: usize = 8 + 8 + 32;

    /// `u64_be(epoch) || u64_be(oldest_kept) || oldest_kept_check`.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut bytes = [0u8; Self::LEN];
        bytes[..8].copy_from_slice(&self.epoch.to_be_bytes());
        bytes[8..16].copy_from_slice(&self.oldest_kept.to_be_bytes());
        bytes[16..].copy_from_slice(&self.oldest_kept_check);
        bytes
    }

    /// The inverse of [`ClosedEpoch::to_bytes`]: `None` for any other length.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; Self::LEN] = bytes.try_into().ok()?;
        let (epoch, rest) = bytes.split_first_chunk::<8>()?;
        let (oldest_kept, check) = rest.split_first_chunk::<8>()?;
        Some(Self {
            epoch: u64::from_be_bytes(*epoch),
            oldest_kept: u64::from_be_bytes(*oldest_kept),
            oldest_kept_check: check.try_into().ok()?,
        })
    }
}

/// The ledger's RocksDB database.
pub struct LedgerStore {
    db: DB,
    /// Test hook: the next commit fails as a disk error would.
    #[cfg(test)]
    pub(crate) fail_next_commit: std::sync::atomic::AtomicBool,
    options: Options,
    tree_cache: tree_cache::TreeNodeCache,
    /// The open erasure cases, for the metrics ([`LedgerStore::open_erasure_summary`]).
    open_erasures: std::sync::Mutex<erasure::OpenErasures>,
    /// The indexes of the `consent_policy_declared` entries whose rows the reports family holds,
    /// in log order: `None` until first read, then extended by each commit that writes one
    /// ([`LedgerStore::consent_policy_declarations`]; every receipt's consent warning asks).
    consent_declarations: std::sync::Mutex<Option<Vec<u64>>>,
    /// The breach member rows known to be stored, so that the commit need not read them again
    /// ([`report_index::known_members`]).
    known_members: std::sync::Mutex<report_index::known_members::KnownMembers>,
    /// The derived-rows marks as the commit left them ([`derived_rows::CommitMarks`]).
    commit_marks: derived_rows::CommitMarks,
    /// The bytes per entry of the last commit's write batch, a little over: the next batch is
    /// made that large at once, rather than grown (and copied) by doubling as rows are added.
    batch_bytes_per_entry: std::sync::atomic::AtomicUsize,
    /// The first entry whose signature is in its `entries` row ([`entry_rows`]): read at open.
    signatures_inline_from: u64,
    // Kept alive for the database's lifetime: the column families share them.
    _cache: Cache,
    _write_buffers: WriteBufferManager,
}

impl std::fmt::Debug for LedgerStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerStore")
            .field("path", &self.db.path())
            .finish_non_exhaustive()
    }
}

impl LedgerStore {
    /// Opens (or creates) the store in `path` for the log `origin`. Refuses a data dir of another
    /// schema version or another origin.
    pub fn open(path: &Path, origin: &str, config: &StorageConfig) -> Result<Self, StorageError> {
        let mut store = Self::open_with(path, config, false)?;
        store.check_identity(origin)?;
        store.signatures_inline_from = entry_rows::read_inline_from(&store)?;
        store.drop_legacy_subject_index()?;
        Ok(store)
    }

    /// A store of the log `origin` in a new temporary directory, with the default settings (for
    /// tests; the directory is removed when the returned guard is dropped).
    #[cfg(test)]
    pub(crate) fn temporary(origin: &str) -> (tempfile::TempDir, Self) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Self::open(dir.path(), origin, &StorageConfig::default()).expect("open");
        (dir, store)
    }

    /// Opens an existing store read-only (for `gdpr-ledger audit`), without taking the writer's
    /// lock: it sees the state at the moment it is opened. Refuses another schema version.
    pub fn open_read_only(path: &Path, config: &StorageConfig) -> Result<Self, StorageError> {
        let mut store = Self::open_with(path, config, true)?;
        let meta = store.cf(columns::META)?;
        match store.db.get_cf(meta, columns::META_SCHEMA_VERSION)? {
            Some(found)
                if found == SCHEMA_VERSION.as_bytes()
                    || UPGRADABLE_SCHEMAS.iter().any(|s| found == s.as_bytes()) =>
            {
                store.signatures_inline_from = entry_rows::read_inline_from(&store)?;
                Ok(store)
            }
            found => Err(StorageError::UnknownSchema {
                found: found
                    .map(|f| String::from_utf8_lossy(&f).into_owned())
                    .unwrap_or_else(|| "none".into()),
            }),
        }
    }

    /// The log's origin, as recorded at creation.
    pub fn origin(&self) -> Result<String, StorageError> {
        let meta = self.cf(columns::META)?;
        let stored = self
            .db
            .get_cf(meta, columns::META_ORIGIN)?
            .ok_or_else(|| StorageError::missing(columns::META, "the origin"))?;
        String::from_utf8(stored)
            .map_err(|_| StorageError::undecodable(columns::META, "the origin", "is not UTF-8"))
    }

    /// Every row of a column family in key order, for audits and scans.
    pub fn rows<'a>(
        &'a self,
        family: &str,
    ) -> Result<impl Iterator<Item = Result<Row, StorageError>> + 'a, StorageError> {
        let cf = self.cf(family)?;
        Ok(self
            .db
            .iterator_cf(cf, IteratorMode::Start)
            .map(|row| row.map_err(StorageError::from)))
    }

    fn open_with(
        path: &Path,
        config: &StorageConfig,
        read_only: bool,
    ) -> Result<Self, StorageError> {
        // The memtables are charged to the block cache, so the cache holds both budgets: without
        // the extra room, full memtables would evict every data block and each lookup on the
        // append path would read and checksum a block from disk.
        let cache = Cache::new_lru_cache(
            (config.block_cache_mib.max(8) + config.write_buffer_mib.max(8)) << 20,
        );
        // The manager flushes the largest memtable once the budget is reached. It must not stall
        // writes (`allow_stall`): a stall ends only when a flush frees memory, and RocksDB
        // schedules no flush for memory held by empty or immutable memtables or by families
        // that receive no write, so the stall can last forever (facebook/rocksdb#11780, #11010).
        // It did here: at `write_buffer_mib = 8` the empty memtables of the families fill the
        // budget and the first write never returned; at the default, once, under the load
        // generator. Memory stays bounded by the flushes.
        let write_buffers = WriteBufferManager::new_write_buffer_manager_with_cache(
            config.write_buffer_mib.max(8) << 20,
            false,
            cache.clone(),
        );
        let mut options = Options::default();
        options.create_if_missing(!read_only);
        options.create_missing_column_families(true);
        options.set_max_background_jobs(config.background_jobs.max(1));
        options.set_write_buffer_manager(&write_buffers);
        options.enable_statistics();
        options.set_bytes_per_sync(1 << 20);
        // The MANIFEST rolls at every edit (flush, compaction), so that the key boundaries of
        // files a purge compacted away do not outlive them there (`erasure.rs`). A roll writes a
        // snapshot of the live files: tens of KiB for a log of millions of entries.
        options.set_max_manifest_file_size(1);
        // The info log (`LOG`) only from warnings up: at the info level RocksDB writes the key
        // bounds of manual compactions in hex, and the purge compacts the ranges of the erased
        // subjects' rows, directory row keys included (issue 13). The old logs are deleted by
        // each purge (`erasure.rs`).
        options.set_log_level(rocksdb::LogLevel::Warn);
        let options = options.get_options_from_string("max_manifest_space_amp_pct=0")?;
        // A data dir made before the report indexes has no `reports` family: a writer creates it
        // (and the server backfills it); a reader opens the families that exist.
        let existing = DB::list_cf(&options, path).unwrap_or_default();
        // A retired family still on disk must be opened by a writer (RocksDB refuses to open a
        // data dir without all its families), which then drops it.
        let retired: Vec<&str> = columns::RETIRED
            .into_iter()
            .filter(|name| !read_only && existing.iter().any(|e| e == name))
            .collect();
        // The node-per-row subject index is read by the upgrade, which then drops it.
        let legacy: Vec<&str> = [columns::LEGACY_SUBJECT_INDEX]
            .into_iter()
            .filter(|name| existing.iter().any(|e| e == name))
            .collect();
        let descriptors = columns::ALL
            .iter()
            .filter(|name| !read_only || existing.iter().any(|e| e == *name))
            .chain(&retired)
            .chain(&legacy)
            .map(|name| {
                ColumnFamilyDescriptor::new(*name, column_options(name, &cache, &write_buffers))
            });
        let db = if read_only {
            DB::open_cf_descriptors_read_only(&options, path, descriptors, false)?
        } else {
            DB::open_cf_descriptors(&options, path, descriptors)?
        };
        let mut store = Self {
            db,
            #[cfg(test)]
            fail_next_commit: std::sync::atomic::AtomicBool::new(false),
            options,
            tree_cache: tree_cache::TreeNodeCache::new(config.tree_cache_mib),
            open_erasures: std::sync::Mutex::default(),
            consent_declarations: std::sync::Mutex::default(),
            known_members: std::sync::Mutex::default(),
            commit_marks: derived_rows::CommitMarks::default(),
            batch_bytes_per_entry: std::sync::atomic::AtomicUsize::new(0),
            // Until read (`open`, `open_read_only`): every signature in its own row.
            signatures_inline_from: u64::MAX,
            _cache: cache,
            _write_buffers: write_buffers,
        };
        for name in retired {
            store.db.drop_cf(name)?;
            tracing::info!(
                family = name,
                "dropped a column family this version no longer keeps"
            );
        }
        if !read_only {
            let meta = store.cf(columns::META)?;
            for key in columns::RETIRED_META {
                store.db.delete_cf(meta, key)?;
            }
        }
        Ok(store)
    }

    fn check_identity(&self, origin: &str) -> Result<(), StorageError> {
        let meta = self.cf(columns::META)?;
        match self.db.get_cf(meta, columns::META_SCHEMA_VERSION)? {
            Some(found) if UPGRADABLE_SCHEMAS.iter().any(|s| found == s.as_bytes()) => {
                let from = String::from_utf8_lossy(&found).into_owned();
                // The pages first: until the schema moves, a crash leaves a data dir that the
                // next open upgrades again from the start.
                self.rewrite_legacy_subject_index()?;
                let mut batch = WriteBatch::default();
                if from == SCHEMA_WITH_LOWER_TREE_ROWS {
                    batch.delete_range_cf(
                        self.cf(columns::TREE)?,
                        [0u8].as_slice(),
                        [CHUNK_LEVELS].as_slice(),
                    );
                }
                let retired = report_index::RETIRED_TAGS;
                batch.delete_range_cf(
                    self.cf(columns::REPORTS)?,
                    [retired.start].as_slice(),
                    [retired.end].as_slice(),
                );
                // The entries from here on carry their signature in their row.
                if self
                    .db
                    .get_cf(meta, columns::META_SIGNATURES_INLINE_FROM)?
                    .is_none()
                {
                    batch.put_cf(
                        meta,
                        columns::META_SIGNATURES_INLINE_FROM,
                        self.tree_size()?.to_be_bytes(),
                    );
                }
                batch.put_cf(meta, columns::META_SCHEMA_VERSION, SCHEMA_VERSION);
                self.db.write_opt(batch, &synced())?;
                tracing::info!(
                    from,
                    to = SCHEMA_VERSION,
                    "upgraded the data dir: the subject index is kept one page per row (new \
                     pages name the pages below by how many versions back they are), the \
                     tree's levels below 6 in the chunk rows only, the report rows by \
                     category, occurred time and received time are deleted, and new entries \
                     carry their signature in their row"
                );
            }
            Some(found) if found != SCHEMA_VERSION.as_bytes() => {
                return Err(StorageError::UnknownSchema {
                    found: String::from_utf8_lossy(&found).into_owned(),
                });
            }
            Some(_) => {}
            None => {
                let mut batch = WriteBatch::default();
                batch.put_cf(meta, columns::META_SCHEMA_VERSION, SCHEMA_VERSION);
                batch.put_cf(meta, columns::META_ORIGIN, origin);
                batch.put_cf(
                    meta,
                    columns::META_SIGNATURES_INLINE_FROM,
                    0u64.to_be_bytes(),
                );
                self.db.write_opt(batch, &synced())?;
            }
        }
        match self.db.get_cf(meta, columns::META_ORIGIN)? {
            Some(stored) if stored == origin.as_bytes() => Ok(()),
            Some(stored) => Err(StorageError::OriginMismatch {
                stored: String::from_utf8_lossy(&stored).into_owned(),
                configured: origin.to_owned(),
            }),
            None => Err(StorageError::missing(columns::META, "the origin")),
        }
    }

    /// Writes every column family's memtable to SST files and waits for it: the WAL files
    /// holding those rows are then obsolete, and RocksDB deletes them. The erasure purge needs it
    /// (`docs/erasure.md`), and a clean stop does it, so that the next open (a restart, or
    /// `audit --data-dir`) has no WAL to replay.
    pub fn flush_all(&self) -> Result<(), StorageError> {
        let mut flush = FlushOptions::default();
        flush.set_wait(true);
        let families = columns::ALL
            .iter()
            .map(|name| self.cf(name))
            .collect::<Result<Vec<_>, _>>()?;
        self.db.flush_cfs_opt(&families, &flush)?;
        Ok(())
    }

    /// The data dir's schema version (`meta`).
    pub fn schema_version(&self) -> Result<String, StorageError> {
        let meta = self.cf(columns::META)?;
        let found = self
            .db
            .get_cf(meta, columns::META_SCHEMA_VERSION)?
            .ok_or_else(|| StorageError::missing(columns::META, "the schema version"))?;
        Ok(String::from_utf8_lossy(&found).into_owned())
    }

    /// Whether the store has column family `name` (a read-only open of a data dir made by an
    /// earlier version may lack the families added since).
    pub fn has_column_family(&self, name: &str) -> bool {
        self.db.cf_handle(name).is_some()
    }

    fn cf(&self, name: &str) -> Result<&rocksdb::ColumnFamily, StorageError> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| StorageError::inconsistent(format!("column family {name} is missing")))
    }

    /// Writes a commit group as one atomic batch and returns only once its WAL is synced: after
    /// this returns `Ok`, every row of the group survives a crash.
    pub fn commit(&self, group: &CommitGroup) -> Result<(), StorageError> {
        self.commit_signalling(group, &|| {})
    }

    /// [`Self::commit`], calling `writing` once the batch is made, before its write.
    pub fn commit_signalling(
        &self,
        group: &CommitGroup,
        writing: &dyn Fn(),
    ) -> Result<(), StorageError> {
        #[cfg(test)]
        if self
            .fail_next_commit
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return Err(StorageError::Injected);
        }
        let per_entry = self
            .batch_bytes_per_entry
            .load(std::sync::atomic::Ordering::Relaxed);
        let mut batch = WriteBatch::with_capacity_bytes(
            group
                .entries
                .len()
                .saturating_mul(per_entry)
                .min(MAX_BATCH_RESERVE),
        );
        let entries = self.cf(columns::ENTRIES)?;
        let mut row = Vec::new();
        for entry in &group.entries {
            // A writable open leaves the mark at most at the log's size, so every new entry is
            // at or above it; one below would overwrite an entry of the old layout.
            if !self.signature_inline(entry.index) {
                return Err(StorageError::inconsistent(format!(
                    "entry {} is below signatures_inline_from {}",
                    entry.index, self.signatures_inline_from
                )));
            }
            row.clear();
            entry_rows::encode_entry_row(&entry.signature, &entry.bytes, &mut row);
            batch.put_cf(entries, columns::index_key(entry.index), &row);
        }
        // The levels below CHUNK_LEVELS are stored once, in the rows of the chunks
        // (`tree_chunks`); at the growing edge they are computed from the entries.
        let tree = self.cf(columns::TREE)?;
        for (id, hash) in &group.tree_nodes {
            if id.level() >= CHUNK_LEVELS {
                batch.put_cf(tree, id.to_key_bytes(), hash.as_bytes());
            }
        }
        let event_ids = self.cf(columns::EVENT_IDS)?;
        for (producer, event_id, record) in &group.event_ids {
            let mut value = [0u8; 40];
            value[..8].copy_from_slice(&record.index.to_be_bytes());
            value[8..].copy_from_slice(&record.content_digest);
            batch.put_cf(event_ids, columns::event_id_key(producer, event_id), value);
        }
        let subjects = self.cf(columns::SUBJECTS)?;
        // Both kinds of subject row in key order, as the report rows (`IndexRows::write`).
        let mut heads: Vec<_> = group.subject_heads.iter().collect();
        heads.sort_unstable_by_key(|(token, _)| *token);
        for (token, head) in heads {
            let (value, length) = encode_subject_head(head);
            batch.put_cf(subjects, token, &value[..length]);
        }
        let mut subject_entries: Vec<_> = group.subject_entries.iter().collect();
        subject_entries.sort_unstable_by_key(|(token, seq, _)| (*token, *seq));
        for (token, seq, index) in subject_entries {
            batch.put_cf(
                subjects,
                columns::subject_entry_key(token, *seq),
                index.to_be_bytes(),
            );
        }
        let directory = self.cf(columns::DIRECTORY)?;
        for (row_key, token) in &group.directory_rows {
            batch.put_cf(directory, row_key, token);
        }
        if let Some(index) = &group.subject_index {
            self.put_subject_index(&mut batch, index)?;
        }
        let data_keys = self.cf(columns::DATA_KEYS)?;
        for (token, wrapped) in &group.data_keys {
            batch.put_cf(data_keys, token, wrapped);
        }
        let details = self.cf(columns::DETAILS)?;
        for (token, index, sealed) in &group.sealed_details {
            batch.put_cf(details, columns::details_key(token, *index), sealed);
        }
        let identifiers = self.cf(columns::IDENTIFIERS)?;
        for (token, sealed) in &group.sealed_identifiers {
            batch.put_cf(identifiers, token, sealed);
        }
        // Last: a subject erased in this group loses what earlier jobs of the group sealed for it.
        let erasures = self.cf(columns::ERASURES)?;
        for (token, record) in &group.shreds {
            self.shred_into(&mut batch, token)?;
            batch.put_cf(erasures, token, record);
        }
        if let Some(seq) = group.applied_input {
            batch.put_cf(
                self.cf(columns::META)?,
                columns::META_APPLIED_INPUT,
                seq.to_be_bytes(),
            );
        }
        if let Some(closed) = &group.closed_epoch {
            batch.put_cf(
                self.cf(columns::META)?,
                columns::META_CLOSED_EPOCH,
                closed.to_bytes(),
            );
        }
        if let Some((size, note)) = &group.checkpoint {
            batch.put_cf(
                self.cf(columns::CHECKPOINTS)?,
                columns::index_key(*size),
                note,
            );
        }
        let report_rows = self.add_report_rows(
            &mut batch,
            &group.entries,
            &group.decoded,
            &group.subject_heads,
        )?;
        let mut chunk_marks = derived_rows::MarkAdvances::default();
        self.add_tree_chunk_rows(&mut batch, group, &mut chunk_marks)?;
        if let Some(per_entry) = batch.size_in_bytes().checked_div(group.entries.len()) {
            self.batch_bytes_per_entry.store(
                per_entry + per_entry / 8,
                std::sync::atomic::Ordering::Relaxed,
            );
        }
        writing();
        if group.shreds.is_empty() {
            self.db.write_opt(batch, &synced())?;
        } else {
            self.writing_erasure_records(&group.shreds, || {
                Ok(self.db.write_opt(batch, &synced())?)
            })?;
        }
        self.report_rows_written(&report_rows);
        self.marks_written(&chunk_marks);
        Ok(())
    }

    /// The last message of the input log a replica applied durably (`None`: none, or not a
    /// replica).
    pub fn applied_input(&self) -> Result<Option<u64>, StorageError> {
        let meta = self.cf(columns::META)?;
        self.db
            .get_cf(meta, columns::META_APPLIED_INPUT)?
            .map(|bytes| {
                <[u8; 8]>::try_from(bytes.as_slice())
                    .map(u64::from_be_bytes)
                    .map_err(|_| {
                        StorageError::undecodable(
                            columns::META,
                            "the applied input sequence",
                            format!("{} bytes, not 8", bytes.len()),
                        )
                    })
            })
            .transpose()
    }

    /// A replica's latest applied close of a transit epoch (`None`: none, or not a replica).
    pub fn closed_epoch(&self) -> Result<Option<ClosedEpoch>, StorageError> {
        let meta = self.cf(columns::META)?;
        self.db
            .get_cf(meta, columns::META_CLOSED_EPOCH)?
            .map(|bytes| {
                ClosedEpoch::from_bytes(&bytes).ok_or_else(|| {
                    StorageError::undecodable(
                        columns::META,
                        "the closed transit epoch",
                        format!("{} bytes, not {}", bytes.len(), ClosedEpoch::LEN),
                    )
                })
            })
            .transpose()
    }

    /// Stores a signed checkpoint. Not synced: a checkpoint is derived from durable rows and is
    /// signed again, byte for byte (Ed25519 is deterministic), if a crash loses it.
    pub fn put_checkpoint(&self, size: u64, note: &str) -> Result<(), StorageError> {
        let cf = self.cf(columns::CHECKPOINTS)?;
        self.db.put_cf(cf, columns::index_key(size), note)?;
        Ok(())
    }

    /// The number of entries in the log (the durable tree size).
    pub fn tree_size(&self) -> Result<u64, StorageError> {
        let cf = self.cf(columns::ENTRIES)?;
        let mut iter = self.db.iterator_cf(cf, IteratorMode::End);
        match iter.next() {
            None => Ok(0),
            Some(row) => {
                let (key, _) = row?;
                let last = columns::decode_u64(&key).ok_or_else(|| {
                    StorageError::undecodable(columns::ENTRIES, "the last key", "is not 8 bytes")
                })?;
                Ok(last + 1)
            }
        }
    }

    /// The entry bytes at `index`.
    pub fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StorageError> {
        let cf = self.cf(columns::ENTRIES)?;
        self.db
            .get_pinned_cf(cf, columns::index_key(index))?
            .map(|value| Ok(self.split_entry_row(index, &value)?.0.to_vec()))
            .transpose()
    }

    /// How many entries of the first `size` were received at or before `as_of`. Received times
    /// never go back along the log (the sequencer raises each to the one before it), so those
    /// entries are a prefix of the log, found by a binary search over the entries: about
    /// `log2 size` point reads, each entry decoded. An entry without a received time counts as
    /// received before any time.
    pub fn entries_received_by(
        &self,
        as_of: &prost_types::Timestamp,
        size: u64,
    ) -> Result<u64, StorageError> {
        use report_index::time_key;
        let as_of = time_key(as_of);
        // Entries below `received` were received by `as_of`; entries from `later` on were not.
        let (mut received, mut later) = (0, size);
        while received < later {
            let probe = received + (later - received) / 2;
            let entry = self.decoded_entries(&[probe])?.pop();
            if entry
                .and_then(|entry| entry.received_at)
                .is_none_or(|at| time_key(&at) <= as_of)
            {
                received = probe + 1;
            } else {
                later = probe;
            }
        }
        Ok(received)
    }

    /// The signature of the entry at `index`.
    pub fn signature(&self, index: u64) -> Result<Option<StoredSignature>, StorageError> {
        if self.signature_inline(index) {
            let cf = self.cf(columns::ENTRIES)?;
            return match self.db.get_pinned_cf(cf, columns::index_key(index))? {
                Some(value) => self.split_entry_row(index, &value).map(|(_, s)| s),
                None => Ok(None),
            };
        }
        let cf = self.cf(columns::SIGNATURES)?;
        self.db
            .get_pinned_cf(cf, columns::index_key(index))?
            .map(|value| decode_signature(index, &value))
            .transpose()
    }

    /// The signatures of the entries at `indexes`, in that order, from one batched read; each
    /// row's failure (a read error, a malformed row) stays with its index.
    pub fn signatures(
        &self,
        indexes: &[u64],
    ) -> Result<Vec<Result<Option<StoredSignature>, StorageError>>, StorageError> {
        // Each index is read from the family that holds its signature (a list may straddle the
        // upgrade's mark): one batched read per family that some index needs.
        let (inline, apart): (Vec<u64>, Vec<u64>) =
            indexes.iter().partition(|i| self.signature_inline(**i));
        let read = |family: &str, list: &[u64]| -> Result<Vec<_>, StorageError> {
            if list.is_empty() {
                return Ok(Vec::new());
            }
            let keys: Vec<[u8; 8]> = list.iter().map(|i| columns::index_key(*i)).collect();
            Ok(self.db.batched_multi_get_cf(self.cf(family)?, &keys, false))
        };
        let mut inline = read(columns::ENTRIES, &inline)?.into_iter();
        let mut apart = read(columns::SIGNATURES, &apart)?.into_iter();
        Ok(indexes
            .iter()
            .map(|&index| {
                if self.signature_inline(index) {
                    match inline.next().transpose()?.flatten() {
                        Some(row) => Ok(self.split_entry_row(index, &row)?.1),
                        None => Ok(None),
                    }
                } else {
                    apart
                        .next()
                        .transpose()?
                        .flatten()
                        .map(|value| decode_signature(index, &value))
                        .transpose()
                }
            })
            .collect())
    }

    /// The entries and signatures at `indexes`, in that order, from one batched read (and a
    /// second of the `signatures` family for entries appended before schema 7).
    pub fn entries_with_signatures(
        &self,
        indexes: &[u64],
    ) -> Result<Vec<Option<SignedEntryRow>>, StorageError> {
        let keys: Vec<[u8; 8]> = indexes.iter().map(|i| columns::index_key(*i)).collect();
        let entries = self
            .db
            .batched_multi_get_cf(self.cf(columns::ENTRIES)?, &keys, false);
        let older: Vec<u64> = indexes
            .iter()
            .copied()
            .filter(|i| !self.signature_inline(*i))
            .collect();
        let mut older_signatures = if older.is_empty() {
            Vec::new()
        } else {
            self.signatures(&older)?
        }
        .into_iter();
        indexes
            .iter()
            .zip(entries)
            .map(|(&index, entry)| {
                let apart = if self.signature_inline(index) {
                    None
                } else {
                    Some(older_signatures.next().transpose()?.flatten())
                };
                let Some(entry) = entry? else {
                    return Ok(None);
                };
                let (bytes, inline) = self.split_entry_row(index, &entry)?;
                match inline.or(apart.flatten()) {
                    Some(signature) => Ok(Some((bytes.to_vec(), signature))),
                    None => Err(StorageError::missing_signature(index)),
                }
            })
            .collect()
    }

    /// The checkpoint signed at exactly `size`.
    pub fn checkpoint_at(&self, size: u64) -> Result<Option<String>, StorageError> {
        let cf = self.cf(columns::CHECKPOINTS)?;
        self.db
            .get_cf(cf, columns::index_key(size))?
            .map(|bytes| {
                String::from_utf8(bytes).map_err(|_| {
                    StorageError::undecodable(
                        columns::CHECKPOINTS,
                        format!("checkpoint {size}"),
                        "is not UTF-8",
                    )
                })
            })
            .transpose()
    }

    /// The latest stored checkpoint: `(size, note)`.
    pub fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StorageError> {
        let cf = self.cf(columns::CHECKPOINTS)?;
        let mut iter = self.db.iterator_cf(cf, IteratorMode::End);
        match iter.next() {
            None => Ok(None),
            Some(row) => {
                let (key, value) = row?;
                let size = columns::decode_u64(&key).ok_or_else(|| {
                    StorageError::undecodable(
                        columns::CHECKPOINTS,
                        "the last key",
                        "is not 8 bytes",
                    )
                })?;
                let note = String::from_utf8(value.into_vec()).map_err(|_| {
                    StorageError::undecodable(
                        columns::CHECKPOINTS,
                        format!("checkpoint {size}"),
                        "is not UTF-8",
                    )
                })?;
                Ok(Some((size, note)))
            }
        }
    }

    /// The event-id row of `(producer, event_id)`.
    pub fn event_id(
        &self,
        producer: &str,
        event_id: &str,
    ) -> Result<Option<EventIdRecord>, StorageError> {
        let cf = self.cf(columns::EVENT_IDS)?;
        let Some(value) = self
            .db
            .get_pinned_cf(cf, columns::event_id_key(producer, event_id))?
        else {
            return Ok(None);
        };
        decode_event_id_record(&value).map(Some)
    }

    /// The event-id rows of `keys` (`(producer, event id)`), in order: one batched read.
    pub fn event_ids(
        &self,
        keys: &[(&str, &str)],
    ) -> Result<Vec<Option<EventIdRecord>>, StorageError> {
        let raw: Vec<Vec<u8>> = keys
            .iter()
            .map(|(producer, event_id)| columns::event_id_key(producer, event_id))
            .collect();
        self.multi_get(columns::EVENT_IDS, &raw, decode_event_id_record)
    }

    /// The heads of `tokens`' chains, in order: one batched read.
    pub fn subject_heads(
        &self,
        tokens: &[[u8; 32]],
    ) -> Result<Vec<Option<SubjectHead>>, StorageError> {
        self.multi_get(columns::SUBJECTS, tokens, decode_subject_head)
    }

    /// The tokens the directory rows `row_keys` point to, in order: one batched read.
    pub fn directory_tokens(
        &self,
        row_keys: &[[u8; 32]],
    ) -> Result<Vec<Option<[u8; 32]>>, StorageError> {
        self.multi_get(columns::DIRECTORY, row_keys, decode_directory_token)
    }

    /// The data key rows of `tokens`, in order: one batched read.
    pub fn data_key_rows(&self, tokens: &[[u8; 32]]) -> Result<Vec<Option<Vec<u8>>>, StorageError> {
        self.multi_get(columns::DATA_KEYS, tokens, |value| Ok(value.to_vec()))
    }

    /// One batched point read of `keys` in `family`, each value decoded.
    pub(super) fn multi_get<K: AsRef<[u8]>, T>(
        &self,
        family: &str,
        keys: &[K],
        decode: impl Fn(&[u8]) -> Result<T, StorageError>,
    ) -> Result<Vec<Option<T>>, StorageError> {
        let cf = self.cf(family)?;
        self.db
            .batched_multi_get_cf(cf, keys, false)
            .into_iter()
            .map(|value| value?.map(|value| decode(&value)).transpose())
            .collect()
    }

    /// The head of a subject's chain.
    pub fn subject_head(&self, token: &[u8; 32]) -> Result<Option<SubjectHead>, StorageError> {
        let cf = self.cf(columns::SUBJECTS)?;
        let Some(value) = self.db.get_pinned_cf(cf, token)? else {
            return Ok(None);
        };
        decode_subject_head(&value).map(Some)
    }

    /// The indexes of a subject's entries, oldest first (`subject_seq` 0, 1, ...).
    pub fn subject_entries(&self, token: &[u8; 32]) -> Result<Vec<u64>, StorageError> {
        let cf = self.cf(columns::SUBJECTS)?;
        let start = columns::subject_entry_key(token, 0);
        let mut read = ReadOptions::default();
        let mut upper = token.to_vec();
        upper.extend_from_slice(&[0xff; 9]);
        read.set_iterate_upper_bound(upper);
        let mut indexes = Vec::new();
        for row in self
            .db
            .iterator_cf_opt(cf, read, IteratorMode::From(&start, Direction::Forward))
        {
            let (key, value) = row?;
            if key.len() != 40 {
                continue;
            }
            indexes.push(columns::decode_u64(&value).ok_or_else(|| {
                StorageError::undecodable(columns::SUBJECTS, "a subject entry row", "is too short")
            })?);
        }
        Ok(indexes)
    }

    /// The tokens of the subject index's heads after `after` (exclusive), in byte order, at most
    /// `limit`: one seek per subject, past its entry rows, whatever their number.
    pub fn subject_tokens_after(
        &self,
        after: Option<&[u8; 32]>,
        limit: usize,
    ) -> Result<Vec<[u8; 32]>, StorageError> {
        let cf = self.cf(columns::SUBJECTS)?;
        let mut rows = self.db.raw_iterator_cf(cf);
        // Past a token's head and its entry rows (`token || u64 seq`): the token, then 0xff x 9.
        let past = |token: &[u8; 32]| {
            let mut key = token.to_vec();
            key.extend_from_slice(&[0xff; 9]);
            key
        };
        match after {
            Some(token) => rows.seek(past(token)),
            None => rows.seek_to_first(),
        }
        let mut tokens = Vec::new();
        while tokens.len() < limit && rows.valid() {
            let Some(key) = rows.key() else { break };
            let token: [u8; 32] = key
                .get(..32)
                .and_then(|head| head.try_into().ok())
                .ok_or_else(|| {
                    StorageError::undecodable(columns::SUBJECTS, "a subject row", "is too short")
                })?;
            if key.len() == 32 {
                tokens.push(token);
            }
            rows.seek(past(&token));
        }
        rows.status()?;
        Ok(tokens)
    }

    /// The token a directory row points to.
    pub fn directory_token(&self, row_key: &[u8; 32]) -> Result<Option<[u8; 32]>, StorageError> {
        let cf = self.cf(columns::DIRECTORY)?;
        let Some(value) = self.db.get_pinned_cf(cf, row_key)? else {
            return Ok(None);
        };
        decode_directory_token(&value).map(Some)
    }

    /// How many times RocksDB has synced a WAL file since the store was opened.
    pub fn wal_syncs(&self) -> u64 {
        self.options.get_ticker_count(Ticker::WalFileSynced)
    }

    /// A selection of RocksDB's statistics, one `name value...` line each: what matters when
    /// judging durable append throughput (WAL syncs and bytes, keys written, write latency,
    /// stalls, flushes).
    pub fn statistics_summary(&self) -> String {
        const WANTED: [&str; 10] = [
            "rocksdb.number.keys.written ",
            "rocksdb.wal.synced ",
            "rocksdb.wal.bytes ",
            "rocksdb.write.wal ",
            "rocksdb.write.self ",
            "rocksdb.bytes.written ",
            "rocksdb.stall.micros ",
            "rocksdb.db.write.micros ",
            "rocksdb.wal.file.sync.micros ",
            "rocksdb.compact.write.bytes ",
        ];
        self.options
            .get_statistics()
            .unwrap_or_default()
            .lines()
            .filter(|line| WANTED.iter().any(|wanted| line.starts_with(wanted)))
            .collect::<Vec<_>>()
            .join("\n")
            + &self.compaction_by_family()
    }

    /// Each column family's flushes and compactions since the store was opened, from RocksDB's own
    /// summary (`rocksdb.cfstats`, whose "compaction" counts the flushes into level 0 too): a line
    /// per family that wrote files, bytes written and read and seconds.
    /// On a log of millions of entries compaction is a large share of the server's CPU, and which
    /// family causes it decides the cure (`column_options`).
    fn compaction_by_family(&self) -> String {
        columns::ALL
            .iter()
            .filter_map(|name| {
                let cf = self.db.cf_handle(name)?;
                let stats = self
                    .db
                    .property_value_cf(cf, "rocksdb.cfstats-no-file-histogram")
                    .ok()??;
                let line = stats
                    .lines()
                    .find_map(|line| line.strip_prefix("Cumulative compaction: "))?;
                (!line.starts_with("0.00 GB write"))
                    .then(|| format!("\nflush and compaction of {name}: {line}"))
            })
            .collect()
    }

    /// An integer RocksDB property (e.g. `rocksdb.total-sst-files-size`) summed over every column
    /// family; a family that does not report it counts 0.
    pub fn property_total(&self, property: &str) -> Result<u64, StorageError> {
        let mut total = 0u64;
        for name in columns::ALL {
            // A read-only store of an older data dir may lack a family.
            let Some(cf) = self.db.cf_handle(name) else {
                continue;
            };
            let value = self.db.property_int_value_cf(cf, property)?;
            total = total.saturating_add(value.unwrap_or(0));
        }
        Ok(total)
    }
}

/// What one column family holds: rows, their logical bytes, and the bytes of its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyFootprint {
    /// The family's name.
    pub name: &'static str,
    /// Rows (a full scan).
    pub rows: u64,
    /// Bytes of the rows' keys.
    pub key_bytes: u64,
    /// Bytes of the rows' values.
    pub value_bytes: u64,
    /// Bytes of the family's SST files (after compression), `rocksdb.total-sst-files-size`.
    pub sst_bytes: u64,
}

impl LedgerStore {
    /// Every column family's footprint, from a full scan of each (`gdpr-ledger footprint`): what
    /// the bytes per entry are made of.
    pub fn footprint(&self) -> Result<Vec<FamilyFootprint>, StorageError> {
        let mut families = Vec::with_capacity(columns::ALL.len());
        for name in columns::ALL {
            let Some(cf) = self.db.cf_handle(name) else {
                continue;
            };
            let (rows, key_bytes, value_bytes) = self
                .footprint_by(name, |_| Ok(()))?
                .remove(&())
                .unwrap_or_default();
            families.push(FamilyFootprint {
                name,
                rows,
                key_bytes,
                value_bytes,
                sst_bytes: self
                    .db
                    .property_int_value_cf(cf, "rocksdb.total-sst-files-size")?
                    .unwrap_or(0),
            });
        }
        Ok(families)
    }

    /// Rows, key bytes and value bytes of `family`, summed by the class `class` gives each key
    /// (a full scan; none for a family the data dir lacks).
    pub(crate) fn footprint_by<K: Ord>(
        &self,
        family: &str,
        class: impl Fn(&[u8]) -> Result<K, StorageError>,
    ) -> Result<std::collections::BTreeMap<K, (u64, u64, u64)>, StorageError> {
        let mut out = std::collections::BTreeMap::new();
        let Some(cf) = self.db.cf_handle(family) else {
            return Ok(out);
        };
        let mut rows = self.db.raw_iterator_cf(cf);
        rows.seek_to_first();
        while let (Some(key), Some(value)) = (rows.key(), rows.value()) {
            let slot: &mut (u64, u64, u64) = out.entry(class(key)?).or_default();
            slot.0 += 1;
            slot.1 += key.len() as u64;
            slot.2 += value.len() as u64;
            rows.next();
        }
        rows.status()?;
        Ok(out)
    }
}

impl HashStore for LedgerStore {
    type Error = StorageError;

    /// Upper nodes come from the cache or one batched point read; every node below
    /// [`CHUNK_LEVELS`] comes from its 64-leaf chunk's row (`tree_chunks`), or is computed from
    /// the chunk's leaves, read as one short key range, where the chunk has no row (the growing
    /// edge): one read per chunk instead of one per level.
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<NodeHash>, StorageError> {
        let mut found = self.tree_cache.get_many(ids);
        let (low, high): (Vec<usize>, Vec<usize>) = (0..ids.len())
            .filter(|&i| found[i].is_none())
            .partition(|&i| ids[i].level() < CHUNK_LEVELS);
        if !high.is_empty() {
            let high_ids: Vec<NodeId> = high.iter().map(|&i| ids[i]).collect();
            let stored = self.stored_tree_nodes(&high_ids)?;
            let mut read = Vec::with_capacity(high.len());
            for ((&i, id), hash) in high.iter().zip(high_ids).zip(stored) {
                let hash =
                    hash.ok_or_else(|| StorageError::missing(columns::TREE, format!("{id:?}")))?;
                found[i] = Some(hash);
                read.push((id, hash));
            }
            self.tree_cache.insert_many(read);
        }
        if !low.is_empty() {
            let mut chunks: Vec<u64> = low
                .iter()
                .map(|&i| ids[i].first_leaf() >> CHUNK_LEVELS)
                .collect();
            chunks.sort_unstable();
            chunks.dedup();
            let computed = self.chunk_subtrees(&chunks)?;
            for i in low {
                let id = ids[i];
                let chunk = id.first_leaf() >> CHUNK_LEVELS;
                let hash = chunks
                    .binary_search(&chunk)
                    .ok()
                    .and_then(|at| computed[at].get(id))
                    .ok_or_else(|| {
                        StorageError::missing(
                            columns::ENTRIES,
                            format!("a leaf under the tree node {id:?}"),
                        )
                    })?;
                found[i] = Some(hash);
            }
        }
        Ok(found.into_iter().flatten().collect())
    }
}

/// Tree levels stored per 64-leaf chunk rather than node by node: the perfect subtrees of each
/// aligned run of `2^CHUNK_LEVELS` = 64 leaves are the chunk's row in `tree_chunks` (one point
/// read), or are computed from its entries (64 leaf hashes and 63 node hashes) at the growing
/// edge, where it has none yet. Only the levels from `CHUNK_LEVELS` up are `tree` rows, read node
/// by node, and cached.
pub const CHUNK_LEVELS: u8 = 6;

impl LedgerStore {
    /// The `tree` rows of `ids` as stored (`None` where absent): one batched read, no cache and
    /// nothing computed. What `audit` compares with the replayed tree, row for row.
    pub fn stored_tree_nodes(&self, ids: &[NodeId]) -> Result<Vec<Option<NodeHash>>, StorageError> {
        let cf = self.cf(columns::TREE)?;
        let keys: Vec<[u8; 9]> = ids.iter().map(NodeId::to_key_bytes).collect();
        self.db
            .batched_multi_get_cf(cf, &keys, false)
            .into_iter()
            .zip(ids)
            .map(|(value, id)| match value? {
                Some(bytes) => decode_tree_node(*id, &bytes).map(Some),
                None => Ok(None),
            })
            .collect()
    }

    /// Every perfect subtree inside each of the given 64-leaf chunks (those of a chunk at the
    /// log's growing edge included, as far as its entries go), in the order of `chunks`, each
    /// sorted by node: one batched read of the chunks' rows (`tree_chunks`), and one range read
    /// of the entries of each chunk that has no row, hashed into its leaves.
    fn chunk_subtrees(&self, chunks: &[u64]) -> Result<Vec<tree_chunks::ChunkNodes>, StorageError> {
        let mut nodes = Vec::with_capacity(chunks.len());
        let mut iterator = None;
        for (&chunk, row) in chunks.iter().zip(self.tree_chunk_rows(chunks)?) {
            if let Some(row) = row {
                nodes.push(row);
                continue;
            }
            let iterator = match &mut iterator {
                Some(iterator) => iterator,
                None => iterator.insert(self.db.raw_iterator_cf(self.cf(columns::ENTRIES)?)),
            };
            let first = tree_chunks::first_leaf(chunk)?;
            let leaves = self.stored_leaves(iterator, first, 1 << CHUNK_LEVELS)?;
            let subtrees = crate::core::merkle::aligned_subtrees(first, &leaves)
                .map_err(|e| StorageError::inconsistent(format!("tree chunk {chunk}: {e}")))?;
            nodes.push(tree_chunks::ChunkNodes::Computed(subtrees));
        }
        Ok(nodes)
    }
}

/// An `event_ids` row: `u64 index || content digest`.
fn decode_event_id_record(value: &[u8]) -> Result<EventIdRecord, StorageError> {
    let short = || StorageError::undecodable(columns::EVENT_IDS, "an event id row", "is too short");
    let index = columns::decode_u64(value).ok_or_else(short)?;
    let content_digest: [u8; 32] = value
        .get(8..40)
        .and_then(|d| d.try_into().ok())
        .ok_or_else(short)?;
    Ok(EventIdRecord {
        index,
        content_digest,
    })
}

/// A subject head row ([`encode_subject_head`]): 16 bytes, or 24 with the first entry. The one
/// reading of the row (the store audit reads it here too).
pub fn decode_subject_head(value: &[u8]) -> Result<SubjectHead, StorageError> {
    let field = |at: usize| value.get(at..).and_then(columns::decode_u64);
    match (value.len(), field(0), field(8)) {
        (16, Some(count), Some(last_index)) => Ok(SubjectHead {
            count,
            last_index,
            first_index: None,
        }),
        (24, Some(count), Some(last_index)) => Ok(SubjectHead {
            count,
            last_index,
            first_index: field(16),
        }),
        (length, ..) => Err(StorageError::undecodable(
            columns::SUBJECTS,
            "a subject head row",
            format!("has {length} bytes, not 16 or 24"),
        )),
    }
}

/// A directory row: the token.
fn decode_directory_token(value: &[u8]) -> Result<[u8; 32], StorageError> {
    value
        .try_into()
        .map_err(|_| StorageError::undecodable(columns::DIRECTORY, "a row", "is not 32 bytes"))
}

/// A stored tree node's 32-byte hash.
fn decode_tree_node(id: NodeId, bytes: &[u8]) -> Result<NodeHash, StorageError> {
    NodeHash::from_slice(bytes)
        .map_err(|_| StorageError::undecodable(columns::TREE, format!("{id:?}"), "is not 32 bytes"))
}

fn synced() -> WriteOptions {
    let mut write = WriteOptions::default();
    write.set_sync(true);
    write
}

/// The most a commit's write batch is made with at once ([`LedgerStore::commit_signalling`]);
/// a bigger one grows as rows are added. A full group of 4,096 bench events takes about 6.6 MB
/// (1,624 bytes an entry); the cap bounds what one group of large events makes the next group
/// reserve.
const MAX_BATCH_RESERVE: usize = 16 << 20;

/// The memtables' arena block (RocksDB's default: 1 MiB for a 64 MiB write buffer).
const MEMTABLE_ARENA_BLOCK: usize = 256 << 10;
/// The memtable bloom filter's size, as a fraction of the 64 MiB write buffer (RocksDB takes it
/// from the arena when the memtable is made).
const MEMTABLE_BLOOM_RATIO: f64 = 0.02;

fn column_options(name: &str, cache: &Cache, write_buffers: &WriteBufferManager) -> Options {
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    // Index and filter blocks live in the (bounded) cache, partitioned so that a lookup loads a
    // few KiB of them rather than a whole file's megabytes; the top levels stay pinned.
    table.set_cache_index_and_filter_blocks(true);
    table.set_cache_index_and_filter_blocks_with_high_priority(true);
    table.set_index_type(BlockBasedIndexType::TwoLevelIndexSearch);
    table.set_partition_filters(true);
    table.set_pin_top_level_index_and_filter(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    let mut options = Options::default();
    options.set_write_buffer_manager(write_buffers);
    // What an empty memtable holds counts against the write-buffer budget, and there is one per
    // family: RocksDB's defaults (a 1 MiB arena block, and a memtable bloom filter of a tenth of
    // the 64 MiB write buffer) made 17 + 4 x 6.4 MiB before any row. Under a budget of 16 MiB
    // that is over the manager's limit, so it flushed a memtable at every write: 1.7-2.1 ms of
    // server CPU per lone append instead of 0.6 (README, "Memory"). With these, about 9 MiB.
    options.set_arena_block_size(MEMTABLE_ARENA_BLOCK);
    match name {
        // Point lookups on the append path: bloom filters, in the files and in the memtable,
        // make "not there" (a new event id, a new subject) cheap. The memtable's is 1.3 MiB,
        // about 13 bits per key at the write buffer's capacity.
        columns::EVENT_IDS | columns::DIRECTORY | columns::SUBJECTS | columns::DATA_KEYS => {
            table.set_bloom_filter(10.0, false);
            options.set_memtable_prefix_bloom_ratio(MEMTABLE_BLOOM_RATIO);
            options.set_memtable_whole_key_filtering(true);
        }
        // The commit asks, for every subject of a group, whether it is already a member of each
        // breach count group its entry names (`report_index::counts`): mostly "no", and without
        // a filter each "no" searched every sorted run of this tiered family. On a 23M-entry log
        // under `bench --varied` those reads were three quarters of the writer thread's time;
        // with the filter the appends went from 4.9-5.7k/s to 6.3-6.5k/s (its `reports` files
        // compacted once, so that both builds read the same files). Files written before have no
        // filter until compaction rewrites them. The filter takes 7.7 bytes per entry (1.54 MB for
        // 1.22M rows after 199,900 entries of `bench`).
        columns::REPORTS => {
            table.set_bloom_filter(10.0, false);
        }
        _ => {}
    }
    // Rows that may be shredded later are kept uncompressed so that a scan of the files can prove
    // they are gone.
    // Hashes and signatures are random bytes that no compressor shrinks: storing them plain
    // spares every proof read a decompression.
    if name == columns::DIRECTORY
        || name == columns::DATA_KEYS
        || name == columns::DETAILS
        || name == columns::IDENTIFIERS
        || name == columns::TREE
        || name == columns::TREE_CHUNKS
        || name == columns::SIGNATURES
        || name == columns::SUBJECT_INDEX_PAGES
        || name == columns::LEGACY_SUBJECT_INDEX
    {
        options.set_compression_type(DBCompressionType::None);
    } else {
        options.set_compression_type(DBCompressionType::Lz4);
    }
    // Tiered ("universal") compaction for the two families whose new rows land all over their
    // key space: report rows (`system || index`, `category || index`, ...: one ascending run per
    // system, category and day) and subject rows (random tokens). Levelled, each flush overlapped
    // the whole bottom level, which was rewritten again and again: on a 13M-entry log, 40 s of
    // `bench --varied` cost 12.3 s of flush and compaction CPU in `reports` (write amplification
    // 19.6) and 4.7 s in `subjects` (13.6); tiered, 2.0 s and 0.5 s (3.1 and 2.8), and the
    // server's CPU per entry fell from 277-345 to 234-245 us (`flush and compaction of ...` lines
    // of `bench`, the families' `rocksdb.cfstats`). Reads merge a few more sorted runs: report
    // and lifecycle timings were unchanged. A data dir switches either way when opened (each level
    // is one sorted run; tiered to levelled costs one burst of compaction).
    if name == columns::REPORTS || name == columns::SUBJECTS {
        options.set_compaction_style(DBCompactionStyle::Universal);
    }
    options.set_block_based_table_factory(&table);
    options
}

/// An entry's bytes and its signature, as stored.
pub type SignedEntryRow = (Vec<u8>, StoredSignature);

/// A signature row: `key_id (4) || signature (64)`.
fn decode_signature(index: u64, value: &[u8]) -> Result<StoredSignature, StorageError> {
    if value.len() != 68 {
        return Err(StorageError::undecodable(
            columns::SIGNATURES,
            format!("the signature of entry {index}"),
            format!("has {} bytes", value.len()),
        ));
    }
    let mut key_id = [0u8; 4];
    key_id.copy_from_slice(&value[..4]);
    let mut signature = [0u8; 64];
    signature.copy_from_slice(&value[4..]);
    Ok(StoredSignature { key_id, signature })
}
