//! `gdpr-ledger audit` over a data dir: replays the whole log from index 0 with the core's
//! [`LogAuditor`] (hash chain, entry signatures, the tree) and checks every column family that is
//! derived from the entries against the replay: stored tree nodes, signed checkpoints, the
//! event-id index, the subject index, the report indexes, the breach count rows (recomputed
//! from the replayed entries: counts exactly, member rows one for one, in bounded memory), the
//! breach case and controller declaration rows (one for one) and the tree chunk rows. The first divergence is reported with its index.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::core::audit::{AuditError, CheckedSignature, LogAuditor};
use crate::core::directory::SubjectToken;
use crate::core::merkle::NodeId;
use crate::core::signature::{EntrySignature, KeyId, VerifierKey};
use crate::core::subject_index::{IndexPage, SubjectHead, SubjectNodeStore};
use crate::reports::distinct::{DistinctKeys, SpillConfig};
use crate::storage::report_index::cases::{
    TAG_BREACH_CASE, TAG_CONSENT_POLICY, TAG_CONTROLLER_DECLARED, TAG_REQUEST_CASE,
    TAG_REQUEST_POLICY, TAG_RETENTION_POLICY, TAG_SYSTEM_DECLARED, case_row_keys,
    describe_case_row,
};
use crate::storage::report_index::counts::{
    count_key, member_key, parse_count_key, parse_member_key,
};
use crate::storage::report_index::{Counts, TAG_BREACH_COUNT, TAG_BREACH_MEMBER, count_groups};
use crate::storage::{
    CHUNK_LEVELS, LedgerStore, SCHEMA_VERSION, StorageError, StoredSignature, columns,
    decode_subject_head,
};

/// What a clean audit covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSummary {
    /// Entries replayed.
    pub entries: u64,
    /// Signed checkpoints checked against the replayed tree.
    pub checkpoints: u64,
    /// Event-id rows checked.
    pub event_ids: u64,
    /// Subjects whose chain and head were checked.
    pub subjects: u64,
    /// Breach count and member rows checked.
    pub breach_count_rows: u64,
    /// Breach case and controller declaration rows checked.
    pub breach_case_rows: u64,
}

/// The first divergence between what the store holds and what the entries imply.
#[derive(Debug, thiserror::Error)]
pub enum StoreAuditError {
    /// The entries, their chain or their signatures do not verify.
    #[error("entries: {0}")]
    Entry(AuditError),
    /// An entry index is missing.
    #[error("entries: entry {expected} is missing (the next stored one is {found})")]
    Gap {
        /// The index expected next.
        expected: u64,
        /// The index found instead.
        found: u64,
    },
    /// An entry has no signature row.
    #[error("signatures: entry {0} has no signature")]
    MissingSignature(u64),
    /// A stored tree node differs from the one recomputed from the entries.
    #[error("tree: node {node} (completed by entry {index}) differs from the recomputed hash")]
    TreeNode {
        /// The node.
        node: String,
        /// The entry whose append completed it.
        index: u64,
    },
    /// The `tree` family holds rows that are no node of the replayed tree from level 6 up.
    #[error("tree: {0}")]
    TreeRows(String),
    /// The data dir has an earlier schema, which a writable open upgrades (docs/subject-index.md
    /// section 8).
    #[error(
        "the data dir has schema {0}: start the server on it once (it upgrades the data dir to \
         schema {SCHEMA_VERSION}), then audit it"
    )]
    NeedsUpgrade(String),
    /// A signed checkpoint does not commit to the replayed tree.
    #[error("checkpoints: {0}")]
    Checkpoint(AuditError),
    /// A checkpoint names a size beyond the log.
    #[error("checkpoints: a checkpoint of size {size} is beyond the log's {entries} entries")]
    CheckpointBeyondLog {
        /// Its size.
        size: u64,
        /// Entries in the log.
        entries: u64,
    },
    /// An event-id row points at an entry of another event.
    #[error(
        "event_ids: the row of {producer}/{event_id} points at entry {index}, which is not that event"
    )]
    EventId {
        /// The producer.
        producer: String,
        /// The event id.
        event_id: String,
        /// The index it names.
        index: u64,
    },
    /// A replayed entry's event-id row is missing.
    #[error("event_ids: the row of {key} (entry {index}) is missing")]
    EventIdMissing {
        /// The entry.
        index: u64,
        /// `producer/event_id`.
        key: String,
    },
    /// A breach count or member row (`storage::report_index::counts`) differs from the rows
    /// recomputed from the replayed entries, or is missing, or is one too many.
    #[error("reports: breach count rows: {0}")]
    BreachCount(String),
    /// A breach case or controller declaration row (`storage::report_index::cases`) is missing
    /// or one too many.
    #[error("reports: breach case rows: {0}")]
    BreachCase(String),
    /// A tree chunk row (`storage::tree_chunks`) differs from the chunk recomputed from the
    /// replayed leaves, or is missing, or is one too many.
    #[error("tree_chunks: {0}")]
    TreeChunk(String),
    /// The subject rows disagree with the entries' subject chains.
    #[error("subjects: {0}")]
    Subject(String),
    /// A stored version of the authenticated subject index differs from the version rebuilt from
    /// the entries (`docs/subject-index.md`).
    #[error("{family}: version {version}: {reason}")]
    SubjectIndex {
        /// Column family.
        family: &'static str,
        /// The version (tree size of its checkpoint).
        version: u64,
        /// What differs.
        reason: String,
    },
    /// A row cannot be decoded.
    #[error("{family}: malformed row: {reason}")]
    Malformed {
        /// Column family.
        family: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Reading failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A run file of the member rows' recomputation failed (`reports::distinct`, in the system's
    /// temporary directory).
    #[error("spill file: {0}")]
    Spill(#[from] std::io::Error),
}

/// How a replay spreads its work over threads. A reader thread reads the entries in key order,
/// `chunk_entries` at a time, each with the signature its row holds (or, for the entries appended
/// before schema 7, from one batched read of their signature rows); `verifiers` threads
/// check the signatures (about half of a replay's CPU), ahead of the replay, which takes the
/// chunks back in order and checks everything else. At most two chunks wait between two stages,
/// so memory stays bounded whatever the log's size. The replay's thread needs about as much CPU
/// as the signatures: with one verifier fewer than the cores, that verifier was the slowest stage
/// on two cores (10.4-10.5 s against 9.1-9.2 s with two, for 182,200 entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditThreads {
    /// Threads checking entry signatures (at least one).
    pub verifiers: usize,
    /// Entries per chunk (at least one).
    pub chunk_entries: usize,
}

impl Default for AuditThreads {
    /// One verifier per core, beside the replay's thread; chunks of 1,024 entries.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            verifiers: cores,
            chunk_entries: 1024,
        }
    }
}

/// Replays and cross-checks the whole store, trusting only `keys`, with
/// [`AuditThreads::default`].
pub fn audit_store(
    store: &LedgerStore,
    keys: &[VerifierKey],
) -> Result<AuditSummary, StoreAuditError> {
    audit_store_with(store, keys, AuditThreads::default())
}

/// [`audit_store`] with the given threads. The verdict and the first divergence named do not
/// depend on them: chunks are replayed in order, and within a chunk entry by entry.
pub fn audit_store_with(
    store: &LedgerStore,
    keys: &[VerifierKey],
    threads: AuditThreads,
) -> Result<AuditSummary, StoreAuditError> {
    audit_store_with_progress(store, keys, threads, |_| {})
}

/// [`audit_store_with`], calling `progress` with the number of entries replayed so far after
/// each chunk (for a progress bar; the cross-checks of the derived families come after the last
/// chunk).
pub fn audit_store_with_progress(
    store: &LedgerStore,
    keys: &[VerifierKey],
    threads: AuditThreads,
    mut progress: impl FnMut(u64),
) -> Result<AuditSummary, StoreAuditError> {
    let schema = store.schema_version()?;
    if schema != crate::storage::SCHEMA_VERSION {
        return Err(StoreAuditError::NeedsUpgrade(schema));
    }
    let chunk_entries = threads.chunk_entries.max(1);
    std::thread::scope(|scope| {
        let mut to_verify = Vec::new();
        let mut verified = Vec::new();
        for _ in 0..threads.verifiers.max(1) {
            let (read_tx, read_rx) = sync_channel::<Chunk<ReadEntry>>(2);
            let (checked_tx, checked_rx) = sync_channel::<Chunk<CheckedEntry>>(2);
            scope.spawn(move || check_chunks(keys, read_rx, checked_tx));
            to_verify.push(read_tx);
            verified.push(checked_rx);
        }
        scope.spawn(move || read_chunks(store, chunk_entries, to_verify));
        // Returning drops the receivers: the stages' next send fails and they stop, so an early
        // divergence does not wait for the rest of the log to be read.
        replay(
            store,
            keys,
            CheckedChunks {
                stages: verified,
                next: 0,
            },
            &mut progress,
        )
    })
}

/// Entries in key order, then the failure that stopped the read there (if any): what comes
/// before a failure is still replayed first, so the first divergence is the one reported.
struct Chunk<T> {
    entries: Vec<T>,
    error: Option<StoreAuditError>,
}

/// An entry as read, with its signature.
struct ReadEntry {
    index: u64,
    bytes: Box<[u8]>,
    signature: Result<Option<StoredSignature>, StorageError>,
}

/// An entry with the verdict on its signature.
struct CheckedEntry {
    index: u64,
    bytes: Box<[u8]>,
    checked: Result<CheckedSignature, StoreAuditError>,
}

/// The reader: chunk `n` goes to verifier `n % verifiers`, so that the replay finds them in
/// order by taking chunk `n` from the same verifier.
fn read_chunks(
    store: &LedgerStore,
    chunk_entries: usize,
    verifiers: Vec<SyncSender<Chunk<ReadEntry>>>,
) {
    let mut rows = match store.entry_rows() {
        Ok(rows) => rows,
        Err(error) => {
            let _ = verifiers[0].send(Chunk {
                entries: Vec::new(),
                error: Some(error.into()),
            });
            return;
        }
    };
    for n in 0.. {
        let mut entries = Vec::with_capacity(chunk_entries);
        let mut error = None;
        for row in rows.by_ref().take(chunk_entries) {
            match row {
                Ok(row) => entries.push(row),
                Err(failure) => {
                    error = Some(failure.into());
                    break;
                }
            }
        }
        // The entries appended before schema 7 have their signatures in a family of their own:
        // one batched read of those.
        let apart: Vec<u64> = entries
            .iter()
            .filter(|row| row.signature.is_none())
            .map(|row| row.index)
            .collect();
        let mut apart = match store.signatures(&apart) {
            Ok(signatures) => signatures.into_iter(),
            Err(failure) => {
                error = Some(failure.into());
                entries.clear();
                Vec::new().into_iter()
            }
        };
        let entries: Vec<ReadEntry> = entries
            .into_iter()
            .map(|row| ReadEntry {
                index: row.index,
                bytes: row.bytes.into_boxed_slice(),
                signature: match row.signature {
                    Some(inline) => Ok(Some(inline)),
                    None => apart.next().unwrap_or(Ok(None)),
                },
            })
            .collect();
        let last = error.is_some() || entries.len() < chunk_entries;
        if entries.is_empty() && error.is_none() {
            return;
        }
        if verifiers[n % verifiers.len()]
            .send(Chunk { entries, error })
            .is_err()
            || last
        {
            return;
        }
    }
}

/// A verifier: checks each signature of each chunk it is handed.
fn check_chunks(
    keys: &[VerifierKey],
    input: Receiver<Chunk<ReadEntry>>,
    output: SyncSender<Chunk<CheckedEntry>>,
) {
    for chunk in input {
        let entries = chunk
            .entries
            .into_iter()
            .map(|entry| {
                let checked = match entry.signature {
                    Err(error) => Err(error.into()),
                    Ok(None) => Err(StoreAuditError::MissingSignature(entry.index)),
                    Ok(Some(stored)) => Ok(CheckedSignature::check(
                        keys,
                        &entry.bytes,
                        &EntrySignature::from_bytes(stored.signature),
                        Some(KeyId::from_bytes(stored.key_id)),
                    )),
                };
                CheckedEntry {
                    index: entry.index,
                    bytes: entry.bytes,
                    checked,
                }
            })
            .collect();
        let chunk = Chunk {
            entries,
            error: chunk.error,
        };
        if output.send(chunk).is_err() {
            return;
        }
    }
}

/// The verifiers' output, taken back in the reader's order.
struct CheckedChunks {
    stages: Vec<Receiver<Chunk<CheckedEntry>>>,
    next: usize,
}

impl CheckedChunks {
    /// The next chunk, or `None` once the log is read.
    fn next_chunk(&mut self) -> Option<Chunk<CheckedEntry>> {
        let stage = &self.stages[self.next % self.stages.len()];
        self.next += 1;
        stage.recv().ok()
    }
}

/// The replay proper, over the checked chunks.
fn replay(
    store: &LedgerStore,
    keys: &[VerifierKey],
    mut chunks: CheckedChunks,
    progress: &mut dyn FnMut(u64),
) -> Result<AuditSummary, StoreAuditError> {
    let mut auditor = LogAuditor::new(keys.to_vec());
    // One checkpoint per commit group: few enough to hold (about 12,000 for 10 million entries).
    let mut checkpoints = std::collections::VecDeque::new();
    for row in store.rows(columns::CHECKPOINTS)? {
        let (key, note) = row?;
        let size = columns::decode_u64(&key).ok_or(StoreAuditError::Malformed {
            family: columns::CHECKPOINTS,
            reason: "key is not 8 bytes".into(),
        })?;
        let note = String::from_utf8(note.into_vec()).map_err(|_| StoreAuditError::Malformed {
            family: columns::CHECKPOINTS,
            reason: format!("checkpoint {size} is not UTF-8"),
        })?;
        checkpoints.push_back((size, note));
    }
    let mut checked_checkpoints = 0u64;
    let mut entries_seen = 0u64;
    let tree_chunks_next = store.tree_chunks_next()?;
    let mut tree_rows = 0u64;
    let mut chunk_leaves = Vec::with_capacity(64);
    let mut counts = CountAudit::new(store)?;
    let mut cases = CaseAudit::new(store)?;
    let mut event_id_rows = ExpectedRows::new();
    let mut chain_rows = ExpectedRows::new();

    let mut check_due = |auditor: &mut LogAuditor,
                         checkpoints: &mut std::collections::VecDeque<(u64, String)>|
     -> Result<(), StoreAuditError> {
        while checkpoints
            .front()
            .is_some_and(|(size, _)| *size == auditor.size())
        {
            if let Some((size, note)) = checkpoints.pop_front() {
                auditor
                    .check_checkpoint(&note)
                    .map_err(StoreAuditError::Checkpoint)?;
                audit_index_version(store, auditor, size)?;
                checked_checkpoints += 1;
            }
        }
        Ok(())
    };
    check_due(&mut auditor, &mut checkpoints)?;

    while let Some(chunk) = chunks.next_chunk() {
        for entry in chunk.entries {
            let index = entry.index;
            if index != auditor.size() {
                return Err(StoreAuditError::Gap {
                    expected: auditor.size(),
                    found: index,
                });
            }
            let replayed = auditor
                .push_checked(&entry.bytes, entry.checked?)
                .map_err(StoreAuditError::Entry)?;
            let completed = auditor.completed_nodes();
            // The rows themselves, not what a proof would read (the tree cache): every stored node
            // is checked. The levels below CHUNK_LEVELS are stored in the chunk rows only.
            let upper: Vec<_> = completed
                .iter()
                .filter(|(id, _)| id.level() >= CHUNK_LEVELS)
                .copied()
                .collect();
            let ids: Vec<_> = upper.iter().map(|(id, _)| *id).collect();
            tree_rows += ids.len() as u64;
            let stored_nodes = if ids.is_empty() {
                Vec::new()
            } else {
                store.stored_tree_nodes(&ids)?
            };
            for ((id, hash), stored) in upper.iter().zip(&stored_nodes) {
                if Some(hash) != stored.as_ref() {
                    return Err(StoreAuditError::TreeNode {
                        node: id.to_string(),
                        index,
                    });
                }
            }
            chunk_leaves.extend(
                completed
                    .iter()
                    .filter(|(id, _)| id.level() == 0)
                    .map(|(_, hash)| *hash),
            );
            if chunk_leaves.len() == 64 {
                audit_tree_chunk(store, index / 64, &chunk_leaves, tree_chunks_next)?;
                chunk_leaves.clear();
            }
            let fields = replayed.entry();
            if let Some(event) = &fields.event {
                event_id_rows.add(
                    &columns::event_id_key(&fields.producer, &event.event_id),
                    index,
                )?;
            }
            if let Some(token) = replayed.subject_token() {
                chain_rows.add(
                    &columns::subject_entry_key(token.as_bytes(), fields.subject_seq),
                    index,
                )?;
            }
            counts.add(index, fields)?;
            cases.add(index, fields)?;
            entries_seen += 1;
            check_due(&mut auditor, &mut checkpoints)?;
        }
        if let Some(error) = chunk.error {
            return Err(error);
        }
        progress(entries_seen);
    }
    // A read-only open of a data dir made before the derived families lacks them (and rows).
    let count_rows = |family| -> Result<u64, StoreAuditError> {
        if !store.has_column_family(family) {
            return Ok(0);
        }
        Ok(store.rows(family)?.count() as u64)
    };
    // Every `tree` row is one of the nodes checked above: none below CHUNK_LEVELS (but in a
    // data dir of the previous schema, not upgraded yet), none beyond the log.
    let (mut below, mut above) = (0u64, 0u64);
    for row in store.rows(columns::TREE)? {
        let (key, _) = row?;
        match NodeId::from_key_bytes(&key) {
            Ok(id) if id.level() < CHUNK_LEVELS => below += 1,
            Ok(_) => above += 1,
            Err(error) => {
                return Err(StoreAuditError::Malformed {
                    family: columns::TREE,
                    reason: error.to_string(),
                });
            }
        }
    }
    if above != tree_rows || below > 0 {
        return Err(StoreAuditError::TreeRows(format!(
            "{below} rows below level {CHUNK_LEVELS} (kept in the chunk rows only) and {above} \
             from it up, for {tree_rows} nodes"
        )));
    }
    let stored_chunks = count_rows(columns::TREE_CHUNKS)?;
    if stored_chunks != tree_chunks_next || tree_chunks_next > auditor.size() / 64 {
        return Err(StoreAuditError::TreeChunk(format!(
            "{stored_chunks} rows and a mark of {tree_chunks_next}, for {} complete chunks",
            auditor.size() / 64
        )));
    }
    if let Some((size, _)) = checkpoints.front() {
        return Err(StoreAuditError::CheckpointBeyondLog {
            size: *size,
            entries: auditor.size(),
        });
    }

    // The four cross-checks of the derived families read disjoint families and share nothing
    // but the store: they run side by side, and the first of them (in this order) that finds a
    // divergence is the one reported, as when they ran one after the other.
    let heads = auditor.subject_heads();
    let (event_ids, subject_rows, breach_count_rows, breach_case_rows) =
        std::thread::scope(|scope| {
            let event_ids = scope.spawn(|| audit_event_ids(store, event_id_rows));
            let subject_rows = scope.spawn(|| audit_subject_rows(store, heads, chain_rows));
            let breach_count_rows = scope.spawn(|| counts.finish(store));
            let breach_case_rows = cases.finish(store);
            (
                joined(event_ids),
                joined(subject_rows),
                joined(breach_count_rows),
                breach_case_rows,
            )
        });
    let event_ids = event_ids?;
    subject_rows?;
    let breach_count_rows = breach_count_rows?;
    let breach_case_rows = breach_case_rows?;
    Ok(AuditSummary {
        entries: entries_seen,
        checkpoints: checked_checkpoints,
        event_ids,
        subjects: auditor.subject_heads().len() as u64,
        breach_count_rows,
        breach_case_rows,
    })
}

/// What a scoped check returned; a check that panicked panics the audit too, with its own
/// message (a panic is a bug, never a verdict).
fn joined<T>(check: std::thread::ScopedJoinHandle<'_, T>) -> T {
    match check.join() {
        Ok(result) => result,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// The breach case and controller declaration rows recomputed from the replayed entries below
/// their mark (`case_row_keys`, the rule the commit follows), sorted in bounded memory through
/// [`DistinctKeys`], and compared with the stored rows of both tags.
struct CaseAudit {
    next: u64,
    rows: DistinctKeys,
}

impl CaseAudit {
    fn new(store: &LedgerStore) -> Result<Self, StoreAuditError> {
        let next = if store.has_column_family(columns::REPORTS) {
            store.breach_cases_next()?
        } else {
            0
        };
        Ok(Self {
            next,
            rows: DistinctKeys::new(&SpillConfig {
                memory_kib: COUNT_AUDIT_MEMORY_KIB,
                spill_dir: None,
            }),
        })
    }

    fn add(&mut self, index: u64, entry: &crate::proto::v1::Entry) -> Result<(), StoreAuditError> {
        if index >= self.next {
            return Ok(());
        }
        for key in case_row_keys(entry) {
            self.rows.insert(&key)?;
        }
        Ok(())
    }

    /// Compares the stored rows with the recomputed ones. Returns how many rows it checked.
    fn finish(self, store: &LedgerStore) -> Result<u64, StoreAuditError> {
        if !store.has_column_family(columns::REPORTS) {
            return Ok(0);
        }
        // Tags 0x0a to 0x10 in order: the seven families of rows in key order.
        let mut stored = store
            .report_rows_of_tag(TAG_BREACH_CASE)?
            .chain(store.report_rows_of_tag(TAG_CONTROLLER_DECLARED)?)
            .chain(store.report_rows_of_tag(TAG_REQUEST_CASE)?)
            .chain(store.report_rows_of_tag(TAG_REQUEST_POLICY)?)
            .chain(store.report_rows_of_tag(TAG_CONSENT_POLICY)?)
            .chain(store.report_rows_of_tag(TAG_RETENTION_POLICY)?)
            .chain(store.report_rows_of_tag(TAG_SYSTEM_DECLARED)?);
        let mut checked = 0u64;
        self.rows.for_each_sorted(|key| {
            match stored.next().transpose()? {
                Some((row, _)) if *row == *key => {}
                Some((row, _)) if *row < *key => {
                    return Err(StoreAuditError::BreachCase(format!(
                        "{} is one too many",
                        describe_case_row(&row)
                    )));
                }
                _ => {
                    return Err(StoreAuditError::BreachCase(format!(
                        "{} is missing",
                        describe_case_row(key)
                    )));
                }
            }
            checked += 1;
            Ok(())
        })?;
        if let Some((row, _)) = stored.next().transpose()? {
            return Err(StoreAuditError::BreachCase(format!(
                "{} is one too many",
                describe_case_row(&row)
            )));
        }
        Ok(checked)
    }
}

/// Memory the recomputation of the breach member rows holds before it spills to the system's
/// temporary directory.
const COUNT_AUDIT_MEMORY_KIB: usize = 256 << 10;

/// The breach count rows recomputed from the replayed entries below their mark: records per
/// count row in memory (one per system and group), member rows through [`DistinctKeys`].
struct CountAudit {
    next: u64,
    records: BTreeMap<Vec<u8>, u64>,
    members: DistinctKeys,
    /// Each subject's first entry, as replayed (what member rows name it by).
    firsts: HashMap<[u8; 32], u64>,
}

impl CountAudit {
    fn new(store: &LedgerStore) -> Result<Self, StoreAuditError> {
        let next = if store.has_column_family(columns::REPORTS) {
            store.breach_counts_next()?
        } else {
            0
        };
        Ok(Self {
            next,
            records: BTreeMap::new(),
            members: DistinctKeys::new(&SpillConfig {
                memory_kib: COUNT_AUDIT_MEMORY_KIB,
                spill_dir: None,
            }),
            firsts: HashMap::new(),
        })
    }

    /// Counts the (replayed, so well-formed) entry at `index`.
    fn add(&mut self, index: u64, entry: &crate::proto::v1::Entry) -> Result<(), StoreAuditError> {
        if index >= self.next {
            return Ok(());
        }
        let token = <[u8; 32]>::try_from(entry.subject_token.as_slice()).ok();
        if let Some(token) = token.filter(|_| entry.subject_seq == 0) {
            self.firsts.insert(token, index);
        }
        let Some(event) = &entry.event else {
            return Ok(());
        };
        let groups = count_groups(event);
        if groups.is_empty() {
            return Ok(());
        }
        // The replay checked that each entry continues its subject's chain, so the chain's first
        // entry was replayed before.
        let first = match token {
            None => None,
            Some(token) => Some(self.firsts.get(&token).copied().ok_or_else(|| {
                StoreAuditError::Subject(format!(
                    "entry {index}: token {} has no entry of seq 0",
                    hex::encode(token)
                ))
            })?),
        };
        for group in groups {
            *self
                .records
                .entry(count_key(&event.system, &group))
                .or_default() += 1;
            if let Some(first) = first {
                self.members
                    .insert(&member_key(&event.system, &group, first))?;
            }
        }
        Ok(())
    }

    /// Compares the stored rows with the recomputed ones. Returns how many rows it checked.
    fn finish(self, store: &LedgerStore) -> Result<u64, StoreAuditError> {
        if !store.has_column_family(columns::REPORTS) {
            return Ok(0);
        }
        let describe = |key: &[u8]| match parse_member_key(key) {
            Some((system, group, first)) => {
                format!("the member row of ({system}, {group:?}, the subject of entry {first})")
            }
            None => format!("the row {}", hex::encode(key)),
        };
        let mut stored = store.report_rows_of_tag(TAG_BREACH_MEMBER)?.peekable();
        let mut subjects: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        let mut checked = 0u64;
        self.members.for_each_sorted(|key| {
            let found = stored.next().transpose()?;
            match found {
                Some((row, _)) if *row == *key => {}
                Some((row, _)) if *row < *key => {
                    return Err(StoreAuditError::BreachCount(format!(
                        "{} is one too many",
                        describe(&row)
                    )));
                }
                _ => {
                    return Err(StoreAuditError::BreachCount(format!(
                        "{} is missing",
                        describe(key)
                    )));
                }
            }
            checked += 1;
            if let Some((system, group, _)) = parse_member_key(key) {
                *subjects.entry(count_key(&system, &group)).or_default() += 1;
            }
            Ok(())
        })?;
        if let Some(row) = stored.next().transpose()? {
            return Err(StoreAuditError::BreachCount(format!(
                "{} is one too many",
                describe(&row.0)
            )));
        }
        let count_name = |key: &[u8]| {
            parse_count_key(key)
                .map(|(system, group)| format!("({system}, {group:?})"))
                .unwrap_or_else(|| hex::encode(key))
        };
        let mut expected = self.records.into_iter().peekable();
        for row in store.report_rows_of_tag(TAG_BREACH_COUNT)? {
            let (key, value) = row?;
            let name = count_name(&key);
            let stored = Counts::from_bytes(&value);
            match expected.next() {
                Some((want, records)) if *want == *key => {
                    let subjects = subjects.get(&want).copied().unwrap_or(0);
                    let found = stored.map(|c| (c.records, c.subjects));
                    if found != Some((records, subjects)) {
                        return Err(StoreAuditError::BreachCount(format!(
                            "the count row of {name} holds (records, subjects) {found:?}, the entries give ({records}, {subjects})"
                        )));
                    }
                    checked += 1;
                }
                Some((want, _)) if *want < *key => {
                    return Err(StoreAuditError::BreachCount(format!(
                        "the count row of {} is missing",
                        count_name(&want)
                    )));
                }
                _ => {
                    return Err(StoreAuditError::BreachCount(format!(
                        "the count row of {name} is one too many"
                    )));
                }
            }
        }
        if let Some((want, _)) = expected.next() {
            return Err(StoreAuditError::BreachCount(format!(
                "the count row of {} is missing",
                count_name(&want)
            )));
        }
        Ok(checked)
    }
}

/// The subject-index version stored for the checkpoint of `size` is the one rebuilt from the
/// entries: the same root record and, page for page, the same nodes.
fn audit_index_version(
    store: &LedgerStore,
    auditor: &LogAuditor,
    size: u64,
) -> Result<(), StoreAuditError> {
    let Some(rebuilt) = auditor.last_index_commit() else {
        // The group added no subject: the server wrote a version with the previous root.
        return Ok(());
    };
    // Versions below the oldest kept one may have been pruned (docs/subject-index.md section 8):
    // their roots are still checked against the checkpoints, by the replay.
    if store
        .oldest_subject_index()?
        .is_some_and(|oldest| size < oldest)
    {
        return Ok(());
    }
    let mismatch = |family, reason: String| StoreAuditError::SubjectIndex {
        family,
        version: size,
        reason,
    };
    match store.read_root(size)? {
        // The root record's version, like a page's references, depends on the store's history.
        Some(root) if root.hash() == rebuilt.root.hash() => {}
        stored => {
            return Err(mismatch(
                columns::SUBJECT_INDEX_ROOTS,
                format!(
                    "root record {stored:?}, the entries give {:?}",
                    rebuilt.root
                ),
            ));
        }
    }
    let keys: Vec<_> = rebuilt.pages.iter().map(|(key, _)| *key).collect();
    let mut encoded = Vec::with_capacity(512);
    // A stored page that does not even decode is a divergence of this version too.
    let same = store
        .read_page_encodings(&keys, |at, stored| {
            let (key, page) = &rebuilt.pages[at];
            // The bytes the server wrote are the rebuilt page's encoding: the same page, since
            // a page's encoding decodes to that page; nothing to decode.
            encoded.clear();
            if page.encode(key.version, &mut encoded).is_ok() && encoded == stored {
                return Ok(true);
            }
            // Other bytes may still hold the same page: the versions a page's references to
            // other pages name depend on the store's history (an upgrade rewrote them, and
            // schema 5 wrote them in another form); the hashes fix the content.
            Ok(IndexPage::decode(key.version, key.path, stored)?.same_content(page))
        })
        .map_err(|error| match error {
            StorageError::Damaged(reason) => {
                mismatch(columns::SUBJECT_INDEX_PAGES, reason.to_string())
            }
            other => other.into(),
        })?;
    for ((key, _), same) in rebuilt.pages.iter().zip(same) {
        if same != Some(true) {
            return Err(mismatch(
                columns::SUBJECT_INDEX_PAGES,
                format!("page {key} is missing or differs from the rebuilt one"),
            ));
        }
    }
    Ok(())
}

/// Memory each of the sorted recomputations of the event-id and subject rows holds before it
/// spills to the system's temporary directory.
const ROW_AUDIT_MEMORY_KIB: usize = 64 << 10;

/// The rows a family must hold, recomputed from the replayed entries and read back in the
/// family's key order (`(key, index)` pairs, in bounded memory through [`DistinctKeys`]), to be
/// compared with one scan of the family: no point read, no second decoding of any entry.
struct ExpectedRows(DistinctKeys);

impl ExpectedRows {
    fn new() -> Self {
        Self(DistinctKeys::new(&SpillConfig {
            memory_kib: ROW_AUDIT_MEMORY_KIB,
            spill_dir: None,
        }))
    }

    /// The row `key` must point at entry `index`. Keys are written in an order-preserving
    /// escape (each 0x00 as 0x00 0xFF, then 0x00 0x00), so that the sorted pairs follow the
    /// family's byte order of keys even where one key is a prefix of another.
    fn add(&mut self, key: &[u8], index: u64) -> Result<(), StoreAuditError> {
        let mut encoded = Vec::with_capacity(key.len() + 10);
        for byte in key {
            encoded.push(*byte);
            if *byte == 0 {
                encoded.push(0xFF);
            }
        }
        encoded.extend_from_slice(&[0, 0]);
        encoded.extend_from_slice(&index.to_be_bytes());
        Ok(self.0.insert(&encoded)?)
    }

    /// Calls `visit` with each `(key, index)` in the family's key order.
    fn for_each(
        self,
        mut visit: impl FnMut(&[u8], u64) -> Result<(), StoreAuditError>,
    ) -> Result<(), StoreAuditError> {
        let mut key = Vec::new();
        self.0.for_each_sorted(|encoded: &[u8]| {
            let (body, index) = encoded.split_at(encoded.len().saturating_sub(8));
            key.clear();
            let mut bytes = body.iter();
            while let Some(byte) = bytes.next() {
                if *byte == 0 && bytes.next() == Some(&0) {
                    break;
                }
                key.push(*byte);
            }
            visit(&key, columns::decode_u64(index).unwrap_or(u64::MAX))
        })
    }
}

/// Every event-id row is the one the replayed entries imply (`producer 0x00 event_id` ->
/// the entry's index), none is missing and none is extra.
fn audit_event_ids(store: &LedgerStore, expected: ExpectedRows) -> Result<u64, StoreAuditError> {
    let malformed = |reason: &str| StoreAuditError::Malformed {
        family: columns::EVENT_IDS,
        reason: reason.into(),
    };
    let describe = |key: &[u8], index: u64| {
        let split = key.iter().position(|b| *b == 0).unwrap_or(key.len());
        StoreAuditError::EventId {
            producer: String::from_utf8_lossy(&key[..split]).into_owned(),
            event_id: String::from_utf8_lossy(key.get(split + 1..).unwrap_or_default())
                .into_owned(),
            index,
        }
    };
    let mut stored = store.rows(columns::EVENT_IDS)?;
    let mut checked = 0;
    expected.for_each(|key, index| {
        let Some(row) = stored.next().transpose()? else {
            return Err(StoreAuditError::EventIdMissing {
                index,
                key: String::from_utf8_lossy(key).replace('\0', "/"),
            });
        };
        let (row_key, value) = row;
        let row_index = columns::decode_u64(&value).ok_or_else(|| malformed("value too short"))?;
        if *row_key == *key && row_index == index {
            checked += 1;
            return Ok(());
        }
        if *row_key > *key {
            // The replayed entry's row is not there (the stored one sorts after it).
            return Err(StoreAuditError::EventIdMissing {
                index,
                key: String::from_utf8_lossy(key).replace('\0', "/"),
            });
        }
        Err(describe(&row_key, row_index))
    })?;
    if let Some(row) = stored.next().transpose()? {
        let index = columns::decode_u64(&row.1).ok_or_else(|| malformed("value too short"))?;
        return Err(describe(&row.0, index));
    }
    Ok(checked)
}

/// The row of `chunk`, whose replayed leaves are `leaves`, holds the chunk's perfect subtrees, if
/// the chunk is below the rows' mark.
fn audit_tree_chunk(
    store: &LedgerStore,
    chunk: u64,
    leaves: &[crate::core::hash::NodeHash],
    tree_chunks_next: u64,
) -> Result<(), StoreAuditError> {
    if chunk >= tree_chunks_next {
        return Ok(());
    }
    let replayed: Vec<_> = crate::core::merkle::aligned_subtrees(chunk * 64, leaves)
        .map_err(|error| StoreAuditError::TreeChunk(error.to_string()))?
        .into_iter()
        .map(|(_, hash)| hash)
        .collect();
    match store.tree_chunk_row(chunk) {
        Ok(Some(stored)) if stored == replayed => Ok(()),
        Ok(stored) => Err(StoreAuditError::TreeChunk(format!(
            "chunk {chunk} (completed by entry {}): the row {}",
            chunk * 64 + 63,
            if stored.is_some() {
                "differs from the replayed leaves"
            } else {
                "is missing"
            }
        ))),
        Err(StorageError::Damaged(reason)) => Err(StoreAuditError::TreeChunk(format!(
            "chunk {chunk} (completed by entry {}): {reason}",
            chunk * 64 + 63
        ))),
        Err(other) => Err(other.into()),
    }
}

/// A stored `token || seq` row: its key and the entry index it holds.
type ChainRow = (Box<[u8]>, u64);

/// The subject rows agree with the chains the entries form: each head row with the replayed
/// head, each `token || seq` row with the entry of that place in the token's chain (`chains`,
/// recomputed during the replay), none missing and none extra. A head row that records the
/// token's first entry must name the entry its row of seq 0 holds (which the chain check then
/// compares with the replay).
fn audit_subject_rows(
    store: &LedgerStore,
    heads_replayed: &HashMap<SubjectToken, SubjectHead>,
    chains: ExpectedRows,
) -> Result<(), StoreAuditError> {
    let mut heads = 0usize;
    // The first entry the last head row read records, with its token: the row after it is the
    // token's row of seq 0, which must hold that entry.
    let mut recorded_first: Option<([u8; 32], u64)> = None;
    let no_row_after = |recorded: Option<([u8; 32], u64)>| match recorded {
        Some((token, first)) => Err(StoreAuditError::Subject(format!(
            "head of token {} records entry {first} as its first, but the token has no row of seq 0",
            hex::encode(token)
        ))),
        None => Ok(()),
    };
    // Checks stored rows up to the next `token || seq` row, which it returns.
    let mut stored = store.rows(columns::SUBJECTS)?;
    let mut next_chain_row = || -> Result<Option<ChainRow>, StoreAuditError> {
        for row in stored.by_ref() {
            let (key, value) = row?;
            let token: [u8; 32] =
                key.get(..32)
                    .and_then(|t| t.try_into().ok())
                    .ok_or_else(|| {
                        StoreAuditError::Subject("a row key is shorter than a token".into())
                    })?;
            let Some((count, last)) = heads_replayed
                .get(&SubjectToken::from_bytes(token))
                .map(|head| (head.count, head.last_index))
            else {
                return Err(StoreAuditError::Subject(format!(
                    "a row names token {} that no entry carries",
                    hex::encode(token)
                )));
            };
            match key.len() {
                32 => {
                    no_row_after(recorded_first.take())?;
                    heads += 1;
                    let stored = decode_subject_head(&value).map_err(|e| {
                        StoreAuditError::Subject(format!(
                            "head of token {}: {e}",
                            hex::encode(token)
                        ))
                    })?;
                    if (stored.count, stored.last_index) != (count, last) {
                        return Err(StoreAuditError::Subject(format!(
                            "head of token {}: stored ({}, {}), entries say ({count}, {last})",
                            hex::encode(token),
                            stored.count,
                            stored.last_index
                        )));
                    }
                    recorded_first = stored.first_index.map(|first| (token, first));
                }
                40 => {
                    let index = columns::decode_u64(&value).unwrap_or(u64::MAX);
                    if let Some((head_token, first)) = recorded_first.take()
                        && (*key != columns::subject_entry_key(&head_token, 0) || first != index)
                    {
                        return Err(StoreAuditError::Subject(format!(
                            "head of token {} records entry {first} as its first, which its row of seq 0 does not hold",
                            hex::encode(head_token)
                        )));
                    }
                    return Ok(Some((key, index)));
                }
                _ => {
                    return Err(StoreAuditError::Subject(
                        "a row key is neither a token nor a token and a sequence number".into(),
                    ));
                }
            }
        }
        no_row_after(recorded_first.take())?;
        Ok(None)
    };
    let name = |key: &[u8]| {
        format!(
            "(token {}, seq {})",
            hex::encode(&key[..32.min(key.len())]),
            key.get(32..)
                .and_then(columns::decode_u64)
                .unwrap_or(u64::MAX)
        )
    };
    chains.for_each(|key, index| match next_chain_row()? {
        Some((row, at)) if *row == *key && at == index => Ok(()),
        Some((row, at)) if *row <= *key => Err(StoreAuditError::Subject(format!(
            "row {} points at entry {at}, which is not that entry",
            name(&row)
        ))),
        _ => Err(StoreAuditError::Subject(format!(
            "the row {} of entry {index} is missing",
            name(key)
        ))),
    })?;
    if let Some((row, at)) = next_chain_row()? {
        return Err(StoreAuditError::Subject(format!(
            "row {} points at entry {at}, which is not that entry",
            name(&row)
        )));
    }
    if heads != heads_replayed.len() {
        return Err(StoreAuditError::Subject(format!(
            "{} subjects have entries but {heads} have a head row",
            heads_replayed.len()
        )));
    }
    Ok(())
}
