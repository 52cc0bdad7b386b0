//! `gdpr-ledger audit` over a data dir: replays the whole log from index 0 with the core's
//! [`LogAuditor`] (hash chain, entry signatures, the tree) and checks every column family that is
//! derived from the entries against the replay: stored tree nodes, signed checkpoints, the
//! event-id index, the subject index, the report indexes, the breach count rows (recomputed
//! from the replayed entries: counts exactly, member rows one for one, in bounded memory) and
//! the tree chunk rows. The first divergence is reported with its index.

use std::collections::{BTreeMap, HashMap};

use crate::core::audit::{AuditError, LogAuditor};
use crate::core::directory::SubjectToken;
use crate::core::entry::SequencedEntry;
use crate::core::merkle::NodeId;
use crate::core::signature::{EntrySignature, KeyId, VerifierKey};
use crate::core::subject_index::{SubjectHead, SubjectNodeStore};
use crate::reports::distinct::{DistinctKeys, SpillConfig};
use crate::storage::report_index::counts::{
    count_key, member_key, parse_count_key, parse_member_key,
};
use crate::storage::report_index::{Counts, TAG_BREACH_COUNT, TAG_BREACH_MEMBER, count_groups};
use crate::storage::{CHUNK_LEVELS, LedgerStore, StorageError, columns};

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
    /// A breach count or member row (`storage::report_index::counts`) differs from the rows
    /// recomputed from the replayed entries, or is missing, or is one too many.
    #[error("reports: breach count rows: {0}")]
    BreachCount(String),
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

/// Replays and cross-checks the whole store, trusting only `keys`.
pub fn audit_store(
    store: &LedgerStore,
    keys: &[VerifierKey],
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

    for row in store.rows(columns::ENTRIES)? {
        let (key, bytes) = row?;
        let index = columns::decode_u64(&key).ok_or(StoreAuditError::Malformed {
            family: columns::ENTRIES,
            reason: "key is not 8 bytes".into(),
        })?;
        if index != auditor.size() {
            return Err(StoreAuditError::Gap {
                expected: auditor.size(),
                found: index,
            });
        }
        let stored = store
            .signature(index)?
            .ok_or(StoreAuditError::MissingSignature(index))?;
        auditor
            .push(
                &bytes,
                &EntrySignature::from_bytes(stored.signature),
                Some(KeyId::from_bytes(stored.key_id)),
            )
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
        let stored_nodes = store.stored_tree_nodes(&ids)?;
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
        counts.add(store, index, &bytes)?;
        entries_seen += 1;
        check_due(&mut auditor, &mut checkpoints)?;
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
    let upgradable = store.schema_version()? == crate::storage::UPGRADABLE_SCHEMA;
    if above != tree_rows || (below > 0 && !upgradable) {
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

    let event_ids = audit_event_ids(store)?;
    audit_subject_rows(store, auditor.subject_heads())?;
    let breach_count_rows = counts.finish(store)?;
    Ok(AuditSummary {
        entries: entries_seen,
        checkpoints: checked_checkpoints,
        event_ids,
        subjects: auditor.subject_heads().len() as u64,
        breach_count_rows,
    })
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
        })
    }

    /// Counts the (replayed, so well-formed) entry at `index`.
    fn add(
        &mut self,
        store: &LedgerStore,
        index: u64,
        bytes: &[u8],
    ) -> Result<(), StoreAuditError> {
        if index >= self.next {
            return Ok(());
        }
        let entry = crate::core::entry::decode_entry(bytes).map_err(|error| {
            StoreAuditError::Entry(AuditError::Undecodable {
                index,
                reason: error.to_string(),
            })
        })?;
        let Some(event) = &entry.event else {
            return Ok(());
        };
        let groups = count_groups(event);
        if groups.is_empty() {
            return Ok(());
        }
        let first = match <[u8; 32]>::try_from(entry.subject_token.as_slice()) {
            Err(_) => None,
            Ok(_) if entry.subject_seq == 0 => Some(index),
            // The subject rows are checked against the chains below (`audit_subject_rows`).
            Ok(token) => Some(store.first_entry(&token)?.ok_or_else(|| {
                StoreAuditError::Subject(format!(
                    "entry {index}: token {} has no row of seq 0",
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
/// entries: the same root record and, node for node, the same nodes.
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
        Some(root) if root == rebuilt.root => {}
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
    let keys: Vec<_> = rebuilt.nodes.iter().map(|(key, _)| *key).collect();
    // A stored node that does not even decode is a divergence of this version too.
    let stored = store.read_nodes(&keys).map_err(|error| match error {
        StorageError::Damaged(reason) => mismatch(columns::SUBJECT_INDEX, reason.to_string()),
        other => other.into(),
    })?;
    for ((key, node), stored) in rebuilt.nodes.iter().zip(stored) {
        if stored.as_ref() != Some(node) {
            return Err(mismatch(
                columns::SUBJECT_INDEX,
                format!("node {key} is missing or differs from the rebuilt one"),
            ));
        }
    }
    Ok(())
}

fn audit_event_ids(store: &LedgerStore) -> Result<u64, StoreAuditError> {
    let mut checked = 0;
    for row in store.rows(columns::EVENT_IDS)? {
        let (key, value) = row?;
        let malformed = |reason: &str| StoreAuditError::Malformed {
            family: columns::EVENT_IDS,
            reason: reason.into(),
        };
        let split = key
            .iter()
            .position(|b| *b == 0)
            .ok_or_else(|| malformed("key has no separator"))?;
        let producer = String::from_utf8_lossy(&key[..split]).into_owned();
        let event_id = String::from_utf8_lossy(&key[split + 1..]).into_owned();
        let index = columns::decode_u64(&value).ok_or_else(|| malformed("value too short"))?;
        let matches = store
            .entry(index)?
            .and_then(|bytes| SequencedEntry::from_bytes(bytes).ok())
            .is_some_and(|entry| {
                entry.producer() == producer
                    && entry.entry().event.as_ref().map(|e| e.event_id.as_str())
                        == Some(event_id.as_str())
            });
        if !matches {
            return Err(StoreAuditError::EventId {
                producer,
                event_id,
                index,
            });
        }
        checked += 1;
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

/// The subject rows (heads and token||seq rows) agree with the chains the entries form.
fn audit_subject_rows(
    store: &LedgerStore,
    heads_replayed: &HashMap<SubjectToken, SubjectHead>,
) -> Result<(), StoreAuditError> {
    let mut heads = 0usize;
    for row in store.rows(columns::SUBJECTS)? {
        let (key, value) = row?;
        let token: [u8; 32] = key
            .get(..32)
            .and_then(|t| t.try_into().ok())
            .ok_or_else(|| StoreAuditError::Subject("a row key is shorter than a token".into()))?;
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
                heads += 1;
                let stored_count = columns::decode_u64(&value);
                let stored_last = value.get(8..).and_then(columns::decode_u64);
                if stored_count != Some(count) || stored_last != Some(last) {
                    return Err(StoreAuditError::Subject(format!(
                        "head of token {}: stored ({stored_count:?}, {stored_last:?}), entries say ({count}, {last})",
                        hex::encode(token)
                    )));
                }
            }
            40 => {
                let seq = columns::decode_u64(&key[32..]).unwrap_or(u64::MAX);
                let index = columns::decode_u64(&value).unwrap_or(u64::MAX);
                let entry = store
                    .entry(index)?
                    .and_then(|bytes| SequencedEntry::from_bytes(bytes).ok());
                let fits = entry.is_some_and(|e| {
                    e.subject_token().map(|t| *t.as_bytes()) == Some(token)
                        && e.entry().subject_seq == seq
                });
                if !fits {
                    return Err(StoreAuditError::Subject(format!(
                        "row (token {}, seq {seq}) points at entry {index}, which is not that entry",
                        hex::encode(token)
                    )));
                }
            }
            _ => {
                return Err(StoreAuditError::Subject(
                    "a row key is neither a token nor a token and a sequence number".into(),
                ));
            }
        }
    }
    if heads != heads_replayed.len() {
        return Err(StoreAuditError::Subject(format!(
            "{} subjects have entries but {heads} have a head row",
            heads_replayed.len()
        )));
    }
    Ok(())
}
