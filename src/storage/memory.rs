//! [`MemoryStore`]: a [`TailStore`] in maps behind one lock, for unit tests of the sequencer's
//! rules. It keeps what the RocksDB store keeps for the sequencer, with the same semantics (a
//! group is all or nothing; a shredding in a group comes last), and passes the same conformance
//! suite. Not durable: nothing survives the process.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{
    ClosedEpoch, CommitGroup, EventIdRecord, StorageError, StoredSignature, SubjectHead, TailStore,
    columns,
};
use crate::core::hash::NodeHash;
use crate::core::merkle::{HashStore, NodeId};
use crate::core::subject_index::{IndexPage, NodeKey, SubjectNodeStore, SubtreeRef};

/// Every row the sequencer reads or writes, in maps.
#[derive(Debug, Default, Clone)]
struct Rows {
    entries: BTreeMap<u64, Vec<u8>>,
    signatures: BTreeMap<u64, StoredSignature>,
    tree: HashMap<NodeId, NodeHash>,
    checkpoints: BTreeMap<u64, String>,
    event_ids: HashMap<(String, String), EventIdRecord>,
    heads: HashMap<[u8; 32], SubjectHead>,
    subject_entries: BTreeMap<([u8; 32], u64), u64>,
    directory: HashMap<[u8; 32], [u8; 32]>,
    index_pages: HashMap<NodeKey, IndexPage>,
    index_roots: BTreeMap<u64, SubtreeRef>,
    data_keys: HashMap<[u8; 32], Vec<u8>>,
    details: BTreeMap<([u8; 32], u64), Vec<u8>>,
    identifiers: HashMap<[u8; 32], Vec<u8>>,
    erasures: HashMap<[u8; 32], Vec<u8>>,
    applied_input: Option<u64>,
    closed_epoch: Option<ClosedEpoch>,
}

/// A [`TailStore`] in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    rows: Mutex<Rows>,
    fail_next_commit: AtomicBool,
    /// While set, each commit waits for one permit (or for the sender to be dropped) before its
    /// rows are made ([`MemoryStore::hold_commits`]).
    gate: Mutex<Option<std::sync::mpsc::Receiver<()>>>,
    /// The same once its rows are made, before their write ([`MemoryStore::hold_writes`]).
    write_gate: Mutex<Option<std::sync::mpsc::Receiver<()>>>,
    /// Point reads of rows under a subject token (head, data key, identifier list), for tests of
    /// what the sequencer reads ([`MemoryStore::subject_reads`]).
    subject_reads: std::sync::atomic::AtomicU64,
    /// The name of the thread that made each commit ([`MemoryStore::commit_threads`]): one more
    /// per commit, as the rest of this store for tests, which keeps everything.
    commit_threads: Mutex<Vec<String>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next commit fail as a disk error would (fail-stop tests).
    pub fn fail_next_commit(&self) {
        self.fail_next_commit.store(true, Ordering::SeqCst);
    }

    /// Makes each later commit wait for a permit sent on the returned channel before its rows
    /// are made (a writer busy with a big group), until the sender is dropped: tests of what
    /// happens meanwhile.
    pub fn hold_commits(&self) -> std::sync::mpsc::Sender<()> {
        Self::hold(&self.gate)
    }

    /// Makes each later commit wait for a permit once its rows are made, before their write (a
    /// slow WAL sync), until the sender is dropped: the writer has said it is in its final
    /// write ([`TailStore::commit_signalling`]).
    pub fn hold_writes(&self) -> std::sync::mpsc::Sender<()> {
        Self::hold(&self.write_gate)
    }

    fn hold(gate: &Mutex<Option<std::sync::mpsc::Receiver<()>>>) -> std::sync::mpsc::Sender<()> {
        let (permits, receiver) = std::sync::mpsc::channel();
        if let Ok(mut held) = gate.lock() {
            *held = Some(receiver);
        }
        permits
    }

    /// Waits at `gate` for a permit, if it is held. A dropped sender ends the wait at once.
    fn pass(gate: &Mutex<Option<std::sync::mpsc::Receiver<()>>>) {
        if let Ok(held) = gate.lock()
            && let Some(gate) = held.as_ref()
        {
            let _ = gate.recv();
        }
    }

    /// The name of the thread that made each commit so far, in order: tests of which thread
    /// writes a group.
    pub fn commit_threads(&self) -> Vec<String> {
        self.commit_threads
            .lock()
            .map(|names| names.clone())
            .unwrap_or_default()
    }

    /// How many point reads of a subject's head, data key or identifier list were made so far.
    pub fn subject_reads(&self) -> u64 {
        self.subject_reads.load(Ordering::SeqCst)
    }

    fn count_subject_read(&self) {
        self.subject_reads.fetch_add(1, Ordering::SeqCst);
    }

    /// Makes `token`'s head what a head row written before heads recorded a subject's first
    /// entry reads as (none recorded): tests of the sequencer on a data dir of that time.
    pub fn forget_first_entry(&self, token: &[u8; 32]) {
        if let Ok(mut rows) = self.rows.lock()
            && let Some(head) = rows.heads.get_mut(token)
        {
            head.first_index = None;
        }
    }

    /// The erasure record of `token`, as the commit that opened its erasure wrote it.
    pub fn erasure_record(&self, token: &[u8; 32]) -> Option<Vec<u8>> {
        self.read(|rows| Ok(rows.erasures.get(token).cloned()))
            .ok()
            .flatten()
    }

    /// The indexes of `token`'s entries, in chain order.
    pub fn subject_entries(&self, token: &[u8; 32]) -> Vec<u64> {
        self.read(|rows| {
            Ok(rows
                .subject_entries
                .range((*token, 0)..=(*token, u64::MAX))
                .map(|(_, index)| *index)
                .collect())
        })
        .unwrap_or_default()
    }

    fn read<T>(
        &self,
        read: impl FnOnce(&Rows) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let rows = self.rows.lock().map_err(|_| StorageError::Poisoned)?;
        read(&rows)
    }
}

impl HashStore for MemoryStore {
    type Error = StorageError;

    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<NodeHash>, StorageError> {
        self.read(|rows| {
            ids.iter()
                .map(|id| {
                    rows.tree
                        .get(id)
                        .copied()
                        .ok_or_else(|| StorageError::missing(columns::TREE, format!("{id:?}")))
                })
                .collect()
        })
    }
}

impl SubjectNodeStore for MemoryStore {
    type Error = StorageError;

    fn read_pages(&self, keys: &[NodeKey]) -> Result<Vec<Option<IndexPage>>, StorageError> {
        self.read(|rows| {
            Ok(keys
                .iter()
                .map(|key| rows.index_pages.get(key).cloned())
                .collect())
        })
    }

    fn read_root(&self, version: u64) -> Result<Option<SubtreeRef>, StorageError> {
        self.read(|rows| Ok(rows.index_roots.get(&version).copied()))
    }
}

impl TailStore for MemoryStore {
    fn tree_size(&self) -> Result<u64, StorageError> {
        self.read(|rows| Ok(rows.entries.keys().next_back().map_or(0, |last| last + 1)))
    }

    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StorageError> {
        self.read(|rows| Ok(rows.entries.get(&index).cloned()))
    }

    fn signature(&self, index: u64) -> Result<Option<StoredSignature>, StorageError> {
        self.read(|rows| Ok(rows.signatures.get(&index).copied()))
    }

    fn event_id(
        &self,
        producer: &str,
        event_id: &str,
    ) -> Result<Option<EventIdRecord>, StorageError> {
        self.read(|rows| {
            Ok(rows
                .event_ids
                .get(&(producer.to_owned(), event_id.to_owned()))
                .copied())
        })
    }

    fn directory_token(&self, row_key: &[u8; 32]) -> Result<Option<[u8; 32]>, StorageError> {
        self.read(|rows| Ok(rows.directory.get(row_key).copied()))
    }

    fn subject_head(&self, token: &[u8; 32]) -> Result<Option<SubjectHead>, StorageError> {
        self.count_subject_read();
        self.read(|rows| Ok(rows.heads.get(token).copied()))
    }

    fn data_key_row(&self, token: &[u8; 32]) -> Result<Option<Vec<u8>>, StorageError> {
        self.count_subject_read();
        self.read(|rows| Ok(rows.data_keys.get(token).cloned()))
    }

    fn sealed_identifiers(&self, token: &[u8; 32]) -> Result<Option<Vec<u8>>, StorageError> {
        self.count_subject_read();
        self.read(|rows| Ok(rows.identifiers.get(token).cloned()))
    }

    fn sealed_details(
        &self,
        token: &[u8; 32],
        index: u64,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        self.read(|rows| Ok(rows.details.get(&(*token, index)).cloned()))
    }

    fn latest_subject_index(&self) -> Result<Option<(u64, SubtreeRef)>, StorageError> {
        self.read(|rows| {
            Ok(rows
                .index_roots
                .iter()
                .next_back()
                .map(|(version, root)| (*version, *root)))
        })
    }

    fn commit(&self, group: &CommitGroup) -> Result<(), StorageError> {
        self.commit_signalling(group, &|| {})
    }

    fn commit_signalling(
        &self,
        group: &CommitGroup,
        writing: &dyn Fn(),
    ) -> Result<(), StorageError> {
        if let Ok(mut names) = self.commit_threads.lock() {
            names.push(std::thread::current().name().unwrap_or("").to_owned());
        }
        Self::pass(&self.gate);
        writing();
        Self::pass(&self.write_gate);
        if self.fail_next_commit.swap(false, Ordering::SeqCst) {
            return Err(StorageError::Injected);
        }
        let mut rows = self.rows.lock().map_err(|_| StorageError::Poisoned)?;
        for entry in &group.entries {
            rows.entries.insert(entry.index, entry.bytes.clone());
            rows.signatures.insert(entry.index, entry.signature);
        }
        rows.tree.extend(group.tree_nodes.iter().copied());
        for (producer, event_id, record) in &group.event_ids {
            rows.event_ids
                .insert((producer.clone(), event_id.clone()), *record);
        }
        rows.heads.extend(group.subject_heads.iter().copied());
        for (token, seq, index) in &group.subject_entries {
            rows.subject_entries.insert((*token, *seq), *index);
        }
        rows.directory.extend(group.directory_rows.iter().copied());
        if let Some(index) = &group.subject_index {
            rows.index_pages.extend(index.pages.iter().cloned());
            rows.index_roots.insert(index.version, index.root);
        }
        for (token, wrapped) in &group.data_keys {
            rows.data_keys.insert(*token, wrapped.clone());
        }
        for (token, index, sealed) in &group.sealed_details {
            rows.details.insert((*token, *index), sealed.clone());
        }
        for (token, sealed) in &group.sealed_identifiers {
            rows.identifiers.insert(*token, sealed.clone());
        }
        // Last, as in the RocksDB store: a subject erased in this group loses what earlier jobs
        // of the group sealed for it.
        for (token, record) in &group.shreds {
            rows.data_keys
                .insert(*token, columns::SHREDDED_KEY.to_vec());
            rows.identifiers.remove(token);
            rows.details.retain(|(owner, _), _| owner != token);
            rows.erasures.insert(*token, record.clone());
        }
        if group.applied_input.is_some() {
            rows.applied_input = group.applied_input;
        }
        if group.closed_epoch.is_some() {
            rows.closed_epoch = group.closed_epoch;
        }
        if let Some((size, note)) = &group.checkpoint {
            rows.checkpoints.insert(*size, note.clone());
        }
        Ok(())
    }

    fn applied_input(&self) -> Result<Option<u64>, StorageError> {
        self.read(|rows| Ok(rows.applied_input))
    }

    fn closed_epoch(&self) -> Result<Option<ClosedEpoch>, StorageError> {
        self.read(|rows| Ok(rows.closed_epoch))
    }

    fn checkpoint_at(&self, size: u64) -> Result<Option<String>, StorageError> {
        self.read(|rows| Ok(rows.checkpoints.get(&size).cloned()))
    }

    fn put_checkpoint(&self, size: u64, note: &str) -> Result<(), StorageError> {
        let mut rows = self.rows.lock().map_err(|_| StorageError::Poisoned)?;
        rows.checkpoints.insert(size, note.to_owned());
        Ok(())
    }
}
