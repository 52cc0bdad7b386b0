//! The sequencer: the one owner of the log's tail.
//!
//! Appends arrive as [`AppendJob`]s on a bounded queue (back-pressure: a full queue makes callers
//! wait). One thread takes every job waiting, up to a group limit, turns them into entries (index,
//! hash chain, subject chain, pseudonyms), signs the entries in parallel, and commits the whole
//! group as one RocksDB write batch whose WAL is synced: many appends share one fsync. Only then
//! does it sign a checkpoint for the new tree size and answer the jobs. A job is all or nothing: if
//! one of its events is refused, none of them is appended.
//!
//! Fail-stop: if a write fails, the sequencer refuses every later append and reports itself
//! unhealthy, rather than carry on from a tail the disk does not hold.

mod group;
mod head_cache;
mod index_cache;
mod reads;
mod signing;
mod writer;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use tokio::sync::{mpsc, oneshot};

use crate::core::checkpoint::Checkpoint;
use crate::core::directory::PseudonymSecret;
use crate::core::hash::{LeafHash, RootHash};
use crate::core::merkle::{CompactRange, NodeId};
use crate::core::signature::LogSigner;
use crate::core::subject_index::{empty_index_root, format_extension_line};
use crate::proto::v1::Event;
use crate::storage::{StorageError, StoredSignature, TailStore};

/// Tuning of the sequencer.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SequencerConfig {
    /// Most entries committed in one group (one write batch, one fsync).
    pub max_group_entries: usize,
    /// Most jobs waiting in the queue before callers are made to wait.
    pub queue_depth: usize,
    /// Threads that sign a group's entries, while the sequencer thread makes its subject-index
    /// version (`sequencer::signing`; they live as long as the sequencer).
    pub signing_threads: usize,
    /// Depth down to which the sequencer keeps the subject index's latest nodes in memory (about
    /// 180 bytes a node; at most `2^(depth+1)` nodes): deeper nodes are read from RocksDB.
    pub subject_index_cache_depth: u16,
    /// Memory for those nodes, in MiB: the deepest level of pages (which with many subjects is
    /// most of it: about 120 MB for the pages at depth 16 with a million subjects) is kept as
    /// far as it fits; when the levels above take it all, the cache stops keeping that level,
    /// and logs it once.
    pub subject_index_cache_mib: usize,
    /// Subject heads the sequencer keeps in memory, the latest it planned (`sequencer::head_cache`,
    /// up to about 130 bytes a head, estimated from the map's layout: 34 MB at the default once that many subjects were seen): a
    /// group reads from RocksDB only the heads of subjects it has not planned lately. 0 reads
    /// every head.
    pub subject_head_cache_entries: usize,
    /// A group of fewer entries than this, of one job after a group of one job (a lone
    /// producer), finished while the writer thread is idle and no other job waits, is written
    /// by the sequencer thread itself: a lone append then wakes one thread fewer, and nothing
    /// is lost, since there is nothing to plan meanwhile. Groups of concurrent producers go to
    /// the writer thread, so that the jobs arriving during a write are planned meanwhile. 0
    /// hands every group to the writer thread.
    pub write_inline_below: usize,
}

impl Default for SequencerConfig {
    fn default() -> Self {
        Self {
            max_group_entries: 4096,
            queue_depth: 1024,
            signing_threads: 2,
            subject_index_cache_depth: 18,
            subject_index_cache_mib: 32,
            subject_head_cache_entries: 1 << 18,
            write_inline_below: 64,
        }
    }
}

/// One event, validated and resolved as far as can be done outside the sequencer.
#[derive(Debug, Clone)]
pub struct PreparedEvent {
    /// The validated event (no raw identifier in it).
    pub event: Event,
    /// Directory row key of the subject identifier, if the event concerns a subject.
    pub subject_row: Option<[u8; 32]>,
    /// Directory row key of the identifier an identity link adds.
    pub linked_row: Option<[u8; 32]>,
    /// Keyed digest of the whole submission: tells a retry from a conflicting reuse of its id.
    pub content_digest: [u8; 32],
    /// Free-form details, stored sealed; the entry keeps only the digest of the sealed bytes
    /// (`event.details_digest`).
    pub details: Option<Details>,
    /// The subject's identifier and the linked one, as `kind:normalized value`: added to the
    /// subject's sealed identifier list when they are new to the directory.
    pub identifiers: Vec<String>,
    /// A subject named by its token instead of `subject_row`: entries the server itself makes about
    /// a subject it knows only by token (the access entry that logs a read by token). The token
    /// must already have entries.
    pub subject_token: Option<[u8; 32]>,
    /// This erasure-request event opens the subject's erasure case, by this caller: the data key,
    /// sealed identifiers and details are destroyed in the same write as the entry.
    pub opens_erasure: Option<String>,
}

/// An event's free-form details, as they reach the sequencer (`docs/erasure.md` section 2).
#[derive(Debug, Clone)]
pub enum Details {
    /// In clear: the sequencer seals them with the subject's data key (a v1 row).
    Plain(zeroize::Zeroizing<Vec<u8>>),
    /// Already sealed under their own key, by the node that received them, so that every replica
    /// commits to the same bytes: the sequencer stores them with the key wrapped by the subject's
    /// data key (a v2 row).
    Sealed {
        /// The key that sealed them.
        key: crate::vault::DetailsKey,
        /// The sealed details ([`crate::vault::DetailsKey::seal`]).
        sealed: Vec<u8>,
    },
}

/// When a job arrived and how it is grouped: everything about a job that does not come from its
/// events and yet shows in the log. A replicated log fixes both for every replica
/// (`docs/replication.md` section 5); a single node takes its own clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// Written into the job's entries as `received_at`, raised to the previous entry's time if it
    /// is earlier (received times never go back along the log).
    pub received_at: SystemTime,
    /// The job is a commit group of its own: no job joins its group, so its entries end at a
    /// checkpoint and a subject-index version of their own.
    pub own_group: bool,
    /// The input-log message this job is (a replica's apply): recorded with the group's write as
    /// the replica's last applied message.
    pub input_seq: Option<u64>,
    /// The input-log message closes a transit epoch (a replica's apply of `close(e)`): the job
    /// has no events, and its group writes the close with `input_seq` even though it appends no
    /// entry.
    pub closes: Option<crate::storage::ClosedEpoch>,
}

impl Arrival {
    /// Now, grouped with whatever else is waiting: the single node's arrival.
    pub fn now() -> Self {
        Self {
            received_at: now(),
            own_group: false,
            input_seq: None,
            closes: None,
        }
    }
}

/// A request to append events, all or nothing.
#[derive(Debug)]
pub struct AppendJob {
    /// Authenticated producer identity, written into each entry.
    pub producer: String,
    /// Which entries the producer may correct.
    pub corrects: CorrectionRights,
    /// The events, in order (the planner moves each event it plans into its entry).
    pub events: Vec<PreparedEvent>,
    /// When it arrived, and whether it is a group of its own.
    pub arrival: Arrival,
    /// Only answer it as a retry: every event must already be in the log (the receipts are the
    /// original ones), and nothing is appended; an event that is not is refused
    /// ([`AppendError::NotApplied`]). A replica answers a request the input log dropped as a
    /// duplicate this way.
    pub retry_only: bool,
    /// Where the outcome goes.
    pub reply: oneshot::Sender<Result<Vec<Receipt>, AppendError>>,
}

/// Which entries a producer may correct (retract or amend).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrectionRights {
    /// Only the entries it appended itself (producers).
    OwnEntries,
    /// Any entry but the ledger's own (admins).
    AnyEntry,
}

/// What a producer gets for an appended (or already appended) event.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// The entry's index.
    pub index: u64,
    /// Its leaf hash.
    pub leaf_hash: LeafHash,
    /// Its signature and the key that made it.
    pub signature: StoredSignature,
    /// A signed checkpoint whose tree includes the entry, and its size.
    pub checkpoint: Arc<SignedCheckpoint>,
    /// The event id had been appended before with the same content; nothing new was appended.
    pub duplicate: bool,
    /// The subject token the entry carries, if any: what the service needs afterwards (consent
    /// warnings, confirmed deletions) without reading the directory again.
    pub subject_token: Option<[u8; 32]>,
}

/// A checkpoint the log signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// Tree size.
    pub size: u64,
    /// Root hash at that size.
    pub root: RootHash,
    /// The signed note text (SPEC.md section 5).
    pub note: String,
}

/// Why a job was refused. Nothing of a refused job is appended.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The producer used this event id before for different content.
    #[error("event {position}: event id {event_id:?} was already used for different content")]
    EventIdConflict {
        /// Position of the event in its request.
        position: usize,
        /// The event id.
        event_id: String,
    },
    /// An identity link names an identifier that already belongs to another subject.
    #[error("event {position}: linked_subject already belongs to another data subject")]
    IdentityConflict {
        /// Position of the event in its request.
        position: usize,
    },
    /// An identity link names a subject the ledger does not know.
    #[error(
        "event {position}: subject is not known to the ledger; an identity link needs a known subject"
    )]
    UnknownSubject {
        /// Position of the event in its request.
        position: usize,
    },
    /// A correction names an entry that does not exist or cannot be corrected.
    #[error("event {position}: event.correction.target_index {target}: {reason}")]
    BadCorrectionTarget {
        /// Position of the event in its request.
        position: usize,
        /// The target index.
        target: u64,
        /// Why it cannot be corrected.
        reason: &'static str,
    },
    /// A correction of an entry the producer may not correct.
    #[error("event {position}: event.correction.target_index {target}: {reason}")]
    CorrectionDenied {
        /// Position of the event in its request.
        position: usize,
        /// The target index.
        target: u64,
        /// Why not.
        reason: String,
    },
    /// An amendment whose amended event breaks its kind's rules.
    #[error("event {position}: the amended event: {error}")]
    InvalidAmendment {
        /// Position of the event in its request.
        position: usize,
        /// The rule the amended event breaks, naming the field.
        error: crate::validation::FieldError,
    },
    /// A job answered only as a retry names an event that is not in the log.
    #[error(
        "event {position}: event id {event_id:?} is not in the log: the request it retries was not applied"
    )]
    NotApplied {
        /// Position of the event in its request.
        position: usize,
        /// The event id.
        event_id: String,
    },
    /// The sequencer has stopped after a storage failure, or is shutting down.
    #[error("the ledger is not accepting appends: {0}")]
    Unavailable(String),
    /// The subject's erasure is open or done: its data key is destroyed, so nothing new can be
    /// sealed for it.
    #[error(
        "event {position}: the subject's erasure is under way or done (its data key is destroyed): {what} refused"
    )]
    SubjectErased {
        /// Position of the event in its request.
        position: usize,
        /// What was refused.
        what: &'static str,
    },
    /// Sealing or unsealing with the subject's key failed (a master key that does not match the
    /// data dir, or damage).
    #[error("subject key: {0}")]
    Vault(#[from] crate::vault::VaultError),
    /// Reading the store failed while planning the job.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
}

/// Counters the sequencer keeps, for metrics and for the durability check.
#[derive(Debug, Default)]
pub struct SequencerStats {
    /// Jobs planned (taken into a group, maybe while the group before is being written).
    pub jobs_planned: AtomicU64,
    /// Commit groups planned: their subject-index version made and checkpoint signed, ready for
    /// the writer (which takes each once the one before is written).
    pub groups_planned: AtomicU64,
    /// Commit groups written (each one synced write batch).
    pub groups_committed: AtomicU64,
    /// Entries appended.
    pub entries_appended: AtomicU64,
    /// Jobs answered with receipts.
    pub jobs_acknowledged: AtomicU64,
    /// Entries per commit group.
    pub group_entries: crate::stats::SizeHistogram,
    /// Duration of each group's store commit: the write batch and its WAL fsync.
    pub store_commit_duration: crate::stats::LatencyHistogram,
    /// Duration of signing each group's checkpoint (on the sequencer thread, before the write).
    pub checkpoint_sign_duration: crate::stats::LatencyHistogram,
    /// Duration of finishing each group with entries on the sequencer thread, before its
    /// write: its subject-index version, the signatures not made yet, its checkpoint.
    pub group_finish_duration: crate::stats::LatencyHistogram,
    /// When the latest checkpoint was published, once its group's write returned (made at start,
    /// when the recovered one is re-signed).
    pub checkpoint_signed: crate::stats::Stamp,
}

/// State shared between the sequencer thread and its handles.
#[derive(Debug)]
pub struct SequencerShared {
    failed: AtomicBool,
    failure: RwLock<Option<String>>,
    latest: RwLock<Arc<SignedCheckpoint>>,
    /// The size of `latest`, for those who wait for the log to reach a size.
    size: tokio::sync::watch::Sender<u64>,
    /// Counters.
    pub stats: SequencerStats,
}

impl SequencerShared {
    /// Whether the sequencer has stopped after a storage failure.
    pub fn has_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// The failure that stopped the sequencer, if any.
    pub fn failure(&self) -> Option<String> {
        self.failure.read().ok().and_then(|f| f.clone())
    }

    /// The latest signed checkpoint (always of a durable state).
    pub fn latest_checkpoint(&self) -> Arc<SignedCheckpoint> {
        match self.latest.read() {
            Ok(latest) => latest.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Waits up to `within` until the latest signed checkpoint is of at least `size` entries;
    /// `Err` with the size it has then.
    pub async fn wait_for_size(&self, size: u64, within: std::time::Duration) -> Result<(), u64> {
        let mut sizes = self.size.subscribe();
        match tokio::time::timeout(within, sizes.wait_for(|now| *now >= size)).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(*self.size.borrow()),
        }
    }

    fn set_latest(&self, checkpoint: Arc<SignedCheckpoint>) {
        let size = checkpoint.size;
        match self.latest.write() {
            Ok(mut latest) => *latest = checkpoint,
            Err(poisoned) => *poisoned.into_inner() = checkpoint,
        }
        // After `latest`: whoever wakes on the size reads a checkpoint at least that large.
        self.size.send_replace(size);
    }

    fn fail(&self, why: String) {
        tracing::error!(error = %why, "sequencer stopped: refusing appends (fail-stop)");
        if let Ok(mut failure) = self.failure.write() {
            *failure = Some(why);
        }
        self.failed.store(true, Ordering::Release);
    }
}

/// What travels on the sequencer's queue.
#[derive(Debug)]
pub(crate) enum Message {
    /// Append these events.
    Job(AppendJob),
    /// Finish every job queued before this, then stop.
    Stop,
    /// From the writer: only the write of the group it holds is left (or it has written every
    /// group handed to it). The group being planned can be finished and handed over now (it
    /// waited for more jobs meanwhile).
    WriterReady,
}

/// Where a handle's appends go instead of its own queue: a replica publishes them to the
/// replicated input log and answers with its apply of them (`replication::replica`). The
/// sequencer itself is the same; only the way in differs.
pub trait AppendRoute: Send + Sync {
    /// Appends the job through the route, as [`SequencerHandle::append`] does locally.
    fn append(
        &self,
        producer: String,
        corrects: CorrectionRights,
        events: Vec<PreparedEvent>,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Vec<Receipt>, AppendError>> + Send + '_>,
    >;
}

/// The sending side of the sequencer's queue. Cheap to clone.
#[derive(Clone)]
pub struct SequencerHandle {
    queue: mpsc::Sender<Message>,
    shared: Arc<SequencerShared>,
    /// Set on a replica's service handle: appends go through the replicated log.
    route: Option<Arc<dyn AppendRoute>>,
}

impl std::fmt::Debug for SequencerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SequencerHandle")
            .field("routed", &self.route.is_some())
            .finish_non_exhaustive()
    }
}

impl SequencerHandle {
    /// Queues a job arriving now and waits for its outcome. Waits for room when the queue is
    /// full.
    pub async fn append(
        &self,
        producer: String,
        corrects: CorrectionRights,
        events: Vec<PreparedEvent>,
    ) -> Result<Vec<Receipt>, AppendError> {
        match &self.route {
            Some(route) => route.append(producer, corrects, events).await,
            None => {
                self.append_at(producer, corrects, events, Arrival::now())
                    .await
            }
        }
    }

    /// This handle with its appends going through `route` (the handle the services of a
    /// replica get); the other methods still reach this sequencer directly.
    pub fn routed(&self, route: Arc<dyn AppendRoute>) -> Self {
        Self {
            route: Some(route),
            ..self.clone()
        }
    }

    /// Queues a job whose arrival is given (a replicated log's message) and waits for its
    /// outcome.
    pub async fn append_at(
        &self,
        producer: String,
        corrects: CorrectionRights,
        events: Vec<PreparedEvent>,
        arrival: Arrival,
    ) -> Result<Vec<Receipt>, AppendError> {
        let outcome = self
            .submit(producer, corrects, events, arrival, false)
            .await?;
        outcome
            .await
            .map_err(|_| AppendError::Unavailable("the sequencer has stopped".into()))?
    }

    /// Answers a job as a retry of events already in the log, appending nothing
    /// ([`AppendJob::retry_only`]).
    pub async fn answer_retry(
        &self,
        producer: String,
        corrects: CorrectionRights,
        events: Vec<PreparedEvent>,
    ) -> Result<Vec<Receipt>, AppendError> {
        let outcome = self
            .submit(producer, corrects, events, Arrival::now(), true)
            .await?;
        outcome
            .await
            .map_err(|_| AppendError::Unavailable("the sequencer has stopped".into()))?
    }

    /// Queues a job (waiting for room) and returns where its outcome will come, without waiting
    /// for it: jobs queued one after another from one task are planned in that order, which a
    /// replica's applier relies on.
    pub async fn submit(
        &self,
        producer: String,
        corrects: CorrectionRights,
        events: Vec<PreparedEvent>,
        arrival: Arrival,
        retry_only: bool,
    ) -> Result<oneshot::Receiver<Result<Vec<Receipt>, AppendError>>, AppendError> {
        if let Some(why) = self.shared.failure() {
            return Err(AppendError::Unavailable(why));
        }
        let (reply, outcome) = oneshot::channel();
        self.queue
            .send(Message::Job(AppendJob {
                producer,
                corrects,
                events,
                arrival,
                retry_only,
                reply,
            }))
            .await
            .map_err(|_| AppendError::Unavailable("the sequencer has stopped".into()))?;
        Ok(outcome)
    }

    /// Asks the sequencer to finish the jobs already queued and stop. Later appends get
    /// `Unavailable`.
    pub async fn stop(&self) {
        let _ = self.queue.send(Message::Stop).await;
    }

    /// Shared state: health, latest checkpoint, counters.
    pub fn shared(&self) -> &Arc<SequencerShared> {
        &self.shared
    }
}

/// What the sequencer needs to run.
pub struct SequencerParts {
    /// The store: RocksDB in the server, [`crate::storage::MemoryStore`] in unit tests.
    pub store: Arc<dyn TailStore>,
    /// The log key that signs entries (and checkpoints).
    pub signer: Arc<LogSigner>,
    /// Other keys of the log that co-sign every checkpoint, after `signer`: the next key while a
    /// rotation is under way (`next_log_key_file`). Usually empty.
    pub cosigners: Vec<Arc<LogSigner>>,
    /// Secret of the deterministic pseudonyms (SPEC.md section 6).
    pub pseudonym_secret: PseudonymSecret,
    /// Wraps the subjects' data keys.
    pub master_key: Arc<crate::vault::MasterKey>,
    /// The log's origin.
    pub origin: String,
    /// Tuning.
    pub config: SequencerConfig,
}

/// The log's tail, as the sequencer advances it.
#[derive(Debug, Clone)]
pub(crate) struct Tail {
    /// Number of entries.
    pub size: u64,
    /// Leaf hash of the last entry (the next entry's `prev_hash`).
    pub last_leaf: LeafHash,
    /// The last entry's `received_at` (the epoch while the log is empty): no later entry is
    /// received earlier.
    pub last_received: prost_types::Timestamp,
    /// The tree's right edge.
    pub frontier: CompactRange,
    /// The subject index's latest version (the tree size it was made at), `None` while empty.
    pub index_version: Option<u64>,
    /// The subject index's root at that version.
    pub index_root: RootHash,
}

/// Starts the sequencer thread over an opened store: recovers the tail from disk, makes sure the
/// latest durable state has a checkpoint, and returns the handle and the thread.
pub fn start(
    parts: SequencerParts,
) -> Result<(SequencerHandle, std::thread::JoinHandle<()>), StorageError> {
    let size = parts.store.tree_size()?;
    let frontier = CompactRange::load(&*parts.store, size).map_err(|e| {
        StorageError::inconsistent(format!("cannot rebuild the tree's right edge: {e}"))
    })?;
    let last_leaf = if size == 0 {
        LeafHash::from_bytes([0u8; 32])
    } else {
        let last = NodeId::leaf(size - 1)
            .map_err(|e| StorageError::inconsistent(format!("tree size {size}: {e}")))?;
        let leaf = parts.store.read_hashes(&[last])?;
        leaf.first()
            .map(|node| LeafHash::from_bytes(*node.as_bytes()))
            .ok_or_else(|| StorageError::missing_entry(size - 1))?
    };
    let last_received = match size.checked_sub(1) {
        None => prost_types::Timestamp::default(),
        Some(last) => {
            let bytes = parts
                .store
                .entry(last)?
                .ok_or_else(|| StorageError::missing_entry(last))?;
            crate::core::entry::decode_entry(&bytes)
                .map_err(|e| StorageError::undecodable_entry(last, e))?
                .received_at
                .unwrap_or_default()
        }
    };
    let (index_version, index_root) = match parts.store.latest_subject_index()? {
        Some((version, root)) => (Some(version), RootHash::from(root.hash())),
        None => (None, empty_index_root()),
    };
    // The index is written in the same batch as the entries: its latest version is the tree size.
    if index_version.unwrap_or(0) != size {
        return Err(StorageError::inconsistent(format!(
            "the subject index is at version {index_version:?} but the log has {size} entries"
        )));
    }
    let tail = Tail {
        size,
        last_leaf,
        last_received,
        frontier,
        index_version,
        index_root,
    };
    let latest = Arc::new(ensure_checkpoint(&parts, &tail)?);
    tracing::info!(tree_size = size, root = %latest.root, "sequencer recovered the log's tail");
    let shared = Arc::new(SequencerShared {
        failed: AtomicBool::new(false),
        failure: RwLock::new(None),
        size: tokio::sync::watch::Sender::new(latest.size),
        latest: RwLock::new(latest),
        stats: SequencerStats::default(),
    });
    let (queue, jobs) = mpsc::channel(parts.config.queue_depth.max(1));
    let handle = SequencerHandle {
        queue,
        shared: shared.clone(),
        route: None,
    };
    let thread = std::thread::Builder::new()
        .name("sequencer".into())
        .spawn({
            // The writer wakes the sequencer through its own queue, without keeping it open.
            let wake = handle.queue.downgrade();
            move || group::run(parts, tail, jobs, wake, shared)
        })
        .map_err(StorageError::Thread)?;
    Ok((handle, thread))
}

/// Signs (or finds) the checkpoint of the tail's durable state, carrying the subject index's root
/// (`docs/subject-index.md`) as its extension line.
fn ensure_checkpoint(
    parts: &SequencerParts,
    tail: &Tail,
) -> Result<SignedCheckpoint, StorageError> {
    let root = tail.frontier.root();
    let note =
        sign_checkpoint(parts, tail.size, root, tail.index_root).map_err(StorageError::Signing)?;
    if parts.store.checkpoint_at(tail.size)?.as_deref() != Some(note.as_str()) {
        parts.store.put_checkpoint(tail.size, &note)?;
    }
    Ok(SignedCheckpoint {
        size: tail.size,
        root,
        note,
    })
}

/// Signs the checkpoint of `size` and `root`. Fails only if the log key does not belong to the
/// origin, which the first checkpoint at start-up already reveals.
pub(crate) fn sign_checkpoint(
    parts: &SequencerParts,
    size: u64,
    root: RootHash,
    index_root: RootHash,
) -> Result<String, String> {
    Checkpoint {
        origin: parts.origin.clone(),
        size,
        root,
        extensions: vec![format_extension_line(&index_root)],
    }
    .sign_by(
        &std::iter::once(&parts.signer)
            .chain(&parts.cosigners)
            .map(Arc::as_ref)
            .collect::<Vec<_>>(),
    )
    .map_err(|e| format!("cannot sign checkpoint {size}: {e}"))
}

pub(crate) fn now() -> SystemTime {
    SystemTime::now()
}

#[cfg(test)]
mod rules;
#[cfg(test)]
mod tests;
