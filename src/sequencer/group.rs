//! The sequencer thread: gathers jobs into commit groups, plans them into entries, signs, commits.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tokio::sync::mpsc;

use super::head_cache::HeadCache;
use super::index_cache::IndexNodeCache;
use super::reads::GroupReads;
use super::signing::{self, Signing, SigningPool};
use super::writer;
use super::{
    AppendError, AppendJob, CorrectionRights, Details, Message, PreparedEvent, SequencerParts,
    SequencerShared, SignedCheckpoint, Tail, sign_checkpoint,
};
use crate::core::correction::apply_amendment;
use crate::core::directory::{SubjectToken, deterministic_pseudonym};
use crate::core::entry::{decode_entry, encode_entry};
use crate::core::hash::details_digest;
use crate::core::hash::{LeafHash, leaf_hash};
use crate::core::subject_index::{IndexCommit, SubjectHead as IndexHead, apply_updates};
use crate::proto::v1::{CorrectionAction, Entry, Event, EventKind};
use crate::storage::{
    CommitGroup, ErasureRecord, EventIdRecord, NewEntry, StorageError, StoredKey, StoredSignature,
    SubjectHead, columns,
};
use crate::validation::{LEDGER_SYSTEM, ValidationLimits, validate_amended_event};
use crate::vault::DataKey;

/// Where a job's receipt comes from once the group is committed.
pub(super) enum ReceiptSource {
    /// An entry of this group, by position in the group's entries; `duplicate` when an earlier
    /// job of the same group appended the same event.
    New { position: usize, duplicate: bool },
    /// An entry committed before (an idempotent retry).
    Existing(u64),
}

/// The group being built, on top of the durable state and of the group before it, whose write
/// may still be in flight.
struct GroupPlan {
    /// The durable state the group's jobs name, read before planning.
    reads: GroupReads,
    /// What the previous group changed: consulted before `reads`, which may not hold it yet.
    pending: PendingGroup,
    tail: Tail,
    entries: Vec<PlannedEntry>,
    commit: CommitGroup,
    event_ids: HashMap<(String, String), (EventIdRecord, usize)>,
    directory: HashMap<[u8; 32], [u8; 32]>,
    heads: HashMap<[u8; 32], SubjectHead>,
    /// Previous values of `heads`, so that a refused job can be undone.
    head_journal: Vec<([u8; 32], Option<SubjectHead>)>,
    /// Subjects' data keys as this group leaves them.
    keys: HashMap<[u8; 32], SubjectKey>,
    /// Previous values of `keys`.
    key_journal: Vec<([u8; 32], Option<SubjectKey>)>,
    /// Subjects' identifier lists as this group leaves them (only those it changes).
    identifiers: HashMap<[u8; 32], Vec<String>>,
    /// Previous values of `identifiers`.
    identifier_journal: Vec<([u8; 32], Option<Vec<String>>)>,
}

/// A subject's data key, as far as the sequencer knows it.
#[derive(Clone)]
enum SubjectKey {
    /// None yet (made when first needed).
    Absent,
    /// The unwrapped key.
    Live(DataKey),
    /// Destroyed by the subject's erasure.
    Shredded,
}

/// What a planned group changed, kept by the sequencer while the writer makes it durable, so
/// that the next group is planned on top of it (the reads of a group are made before it is
/// planned, and the store does not show an unwritten group). The maps are the planned group's
/// own, moved, not copied; its entries are read from the commit the writer holds. With them,
/// the heads planned by it and the groups before it, as far as the cache keeps them
/// ([`HeadCache`]), consulted after its own and before the store's.
#[derive(Default)]
pub(super) struct PendingGroup {
    event_ids: HashMap<(String, String), (EventIdRecord, usize)>,
    directory: HashMap<[u8; 32], [u8; 32]>,
    heads: HashMap<[u8; 32], SubjectHead>,
    keys: HashMap<[u8; 32], SubjectKey>,
    identifiers: HashMap<[u8; 32], Vec<String>>,
    commit: Option<Arc<CommitGroup>>,
    recent_heads: HeadCache,
}

impl PendingGroup {
    /// The bytes of the pending group's entry at `index`, if it has it.
    fn entry(&self, index: u64) -> Option<&[u8]> {
        let entries = &self.commit.as_ref()?.entries;
        let first = entries.first()?.index;
        let entry = entries.get(usize::try_from(index.checked_sub(first)?).ok()?)?;
        (entry.index == index).then_some(&*entry.bytes)
    }
}

struct PlannedEntry {
    index: u64,
    bytes: Vec<u8>,
    leaf: LeafHash,
    token: Option<[u8; 32]>,
    /// The message `bytes` encode, handed to the store with them: the rows derived from an
    /// entry are made from it, never by decoding the bytes again.
    entry: Entry,
}

/// What to restore if a job is refused half-way.
struct Savepoint {
    tail: Tail,
    entries: usize,
    tree_nodes: usize,
    commit_event_ids: usize,
    subject_entries: usize,
    directory_rows: usize,
    head_journal: usize,
    data_keys: usize,
    sealed_details: usize,
    sealed_identifiers: usize,
    shreds: usize,
    key_journal: usize,
    identifier_journal: usize,
}

pub(super) fn run(
    parts: SequencerParts,
    mut tail: Tail,
    mut queue: mpsc::Receiver<Message>,
    wake: mpsc::WeakSender<Message>,
    shared: Arc<SequencerShared>,
) {
    let mut index_cache = IndexNodeCache::new(
        parts.config.subject_index_cache_depth,
        parts.config.subject_index_cache_mib.saturating_mul(1 << 20),
    );
    // The most entries one group takes; at least one job always fits, whatever its size.
    let limit = parts.config.max_group_entries.max(1);
    let mut stopping = false;
    // Whether the last group finished held one job at most: with this one, the sign of a lone
    // producer ([`SequencerConfig::write_inline_below`](super::SequencerConfig)).
    let mut last_was_lone = true;
    let mut pending = PendingGroup {
        recent_heads: HeadCache::new(parts.config.subject_head_cache_entries),
        ..PendingGroup::default()
    };
    // Groups handed to the writer, groups it is in the final write of, groups it has written.
    let progress = WriterProgress::default();
    std::thread::scope(|scope| {
        // A rendezvous: at most one group is in flight. The group after it is planned meanwhile,
        // job by job as they arrive, and finished once the writer is idle or the group is full:
        // so it takes every job that arrived during the previous write and sync. A big group is
        // finished earlier, once the writer is in its final write (`FINISH_EARLY_FROM`), so that
        // its subject-index version and checkpoint are made during that write and sync. The
        // writer takes it when the write returns.
        let (handoff, handed) = std::sync::mpsc::sync_channel::<PlannedGroup>(0);
        let (parts, shared, progress) = (&parts, &shared, &progress);
        let signing = SigningPool::start(
            scope,
            parts.signer.clone(),
            parts.config.signing_threads.max(1),
        );
        let started = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn_scoped(scope, move || {
                writer::run(parts, shared, handed, progress, &wake);
            });
        if let Err(error) = started {
            shared.fail(format!("cannot start the writer thread: {error}"));
        }
        let mut group: Option<OpenGroup> = None;
        // Jobs received but not yet taken into a group: those that must wait for the open group
        // to be handed over (it is full, or one of them is a group of its own).
        let mut waiting = std::collections::VecDeque::new();
        loop {
            let early = group.as_ref().is_some_and(OpenGroup::finishes_early);
            let ready = group.is_some() && progress.ready(early);
            if !ready && !stopping && !fits(&waiting, group.as_ref(), limit) {
                // A group waiting for the writer asks to be woken when the writer is ready for it
                // (and looks once more: it may be by now). Without one, only a job wakes the
                // sequencer.
                if group.is_some() && progress.wake_when_ready(early) {
                    continue;
                }
                match queue.blocking_recv() {
                    None | Some(Message::Stop) => stopping = true,
                    Some(Message::WriterReady) => {}
                    Some(Message::Job(job)) => waiting.push_back(job),
                }
            }
            let mut events = group.as_ref().map_or(0, |g| g.events)
                + waiting.iter().map(|j| j.events.len()).sum::<usize>();
            while !stopping && events < limit {
                match queue.try_recv() {
                    Ok(Message::Job(job)) => {
                        events += job.events.len();
                        waiting.push_back(job);
                    }
                    Ok(Message::Stop) => stopping = true,
                    Ok(Message::WriterReady) => {}
                    Err(_) => break,
                }
            }
            let jobs = take_for_group(&mut waiting, group.as_ref(), limit);
            if !jobs.is_empty() {
                if shared.has_failed() {
                    let why = shared.failure().unwrap_or_default();
                    for job in jobs {
                        let _ = job.reply.send(Err(AppendError::Unavailable(why.clone())));
                    }
                } else {
                    let open = group.get_or_insert_with(|| {
                        OpenGroup::begin(&tail, std::mem::take(&mut pending))
                    });
                    open.closed = jobs.iter().any(|job| job.arrival.own_group);
                    open.add_jobs(parts, shared, &signing, jobs);
                }
            }
            let Some(mut open) = group.take() else {
                if stopping && waiting.is_empty() {
                    break;
                }
                continue;
            };
            let full = open.closed || open.events >= limit;
            if !(stopping || full || progress.ready(open.finishes_early())) {
                // The writer is busy with the group before: what is planned is signed now, while
                // this thread would only wait, rather than at the hand-over, which then waits
                // only for the subject index's version.
                open.sign_unsent(&signing, 1);
                group = Some(open);
                continue;
            }
            let _span = tracing::info_span!(
                "plan_group",
                first_index = tail.size,
                jobs = open.accepted.len(),
                events = open.events
            )
            .entered();
            let finish_started = Instant::now();
            match finish_group(parts, &tail, open, shared, &mut index_cache, &signing) {
                Ok((planned, next)) => {
                    if planned.checkpoint.is_some() {
                        shared
                            .stats
                            .group_finish_duration
                            .observe(finish_started.elapsed());
                    }
                    let new_tail = planned.tail.clone();
                    shared.stats.groups_planned.fetch_add(1, Ordering::Relaxed);
                    // A lone producer's small group, with nothing else to plan meanwhile, is
                    // written here: handing it over would only add the writer thread's wake-up
                    // to its latency. Under concurrent appends the writer thread takes every
                    // group, so that the jobs arriving during a write are planned meanwhile.
                    let lone = planned.accepted.len() <= 1;
                    let inline = lone
                        && last_was_lone
                        && planned.leaves.len() < parts.config.write_inline_below
                        && waiting.is_empty()
                        && queue.is_empty()
                        && progress.ready(false);
                    last_was_lone = lone;
                    progress.handing();
                    if inline {
                        writer::write_group(parts, shared, planned, &|| {});
                        progress.written();
                    } else if let Err(unsent) = handoff.send(planned) {
                        // The writer has stopped: it could not start.
                        writer::refuse_all(shared, unsent.0.accepted, "the writer has stopped");
                        continue;
                    }
                    tail = new_tail;
                    pending = next;
                }
                // `refuse_all` has already marked the sequencer failed and answered the group.
                Err(failure) => debug_assert!(shared.has_failed(), "{failure}"),
            }
        }
        // The writer finishes the group in flight, then stops; the scope waits for it and for
        // the signing threads, which stop with the pool.
        drop(handoff);
        drop(signing);
    });
    queue.close();
    // Jobs that raced with the stop are answered, not dropped.
    while let Ok(message) = queue.try_recv() {
        if let Message::Job(job) = message {
            let _ = job.reply.send(Err(AppendError::Unavailable(
                "the ledger is shutting down".into(),
            )));
        }
    }
    tracing::info!("sequencer stopped");
}

/// A group of at least this many entries is finished while the writer is in the final write of
/// the group before (its rows made, only the synced write left), rather than once that write
/// returns: its subject-index version (about 12 us an entry) and its last signatures are then
/// made while the write and its sync are in flight. A smaller group waits for the write to
/// return and takes the jobs that arrive meanwhile: finishing it early saves little and makes
/// groups smaller, each with its own sync, checkpoint and rows (measured at 16 clients x 1 and
/// x 16: no faster, and 6 to 11% more CPU per entry).
const FINISH_EARLY_FROM: usize = 256;

/// What the sequencer waits for the writer to reach, to be woken then ([`WriterProgress`]).
const WAKE_NONE: u8 = 0;
/// The final write of the group it holds (or idle).
const WAKE_AT_FINAL_WRITE: u8 = 1;
/// Idle: every group handed over written.
const WAKE_WHEN_IDLE: u8 = 2;

/// How far the writer is: groups handed to it, groups whose rows it has made (only their write
/// is left), groups it has written; and what the sequencer waits for it to reach, to be woken
/// then. Sequentially consistent throughout: the sequencer says what it waits for, then reads
/// the counts; the writer counts, then reads what is waited for; so one of them always sees the
/// other, and the sequencer is never left waiting for a writer that is there already.
#[derive(Debug, Default)]
pub(super) struct WriterProgress {
    handed: std::sync::atomic::AtomicU64,
    writing: std::sync::atomic::AtomicU64,
    written: std::sync::atomic::AtomicU64,
    wake_at: std::sync::atomic::AtomicU8,
}

impl WriterProgress {
    /// Whether the next group may be finished and handed over: every group handed over is
    /// written, or (`early`: a group of [`FINISH_EARLY_FROM`] entries or more) at least in its
    /// final write. The hand-over of a group finished early waits for that write (the writer
    /// takes a group only once the one before is written).
    fn ready(&self, early: bool) -> bool {
        let handed = self.handed.load(Ordering::SeqCst);
        let reached = if early { &self.writing } else { &self.written };
        reached.load(Ordering::SeqCst) == handed
    }

    /// The sequencer is about to hand a group over.
    fn handing(&self) {
        self.handed.fetch_add(1, Ordering::SeqCst);
    }

    /// The sequencer will wait for the writer: asks to be woken when it is [`Self::ready`], and
    /// says whether it is already (then it need not wait).
    fn wake_when_ready(&self, early: bool) -> bool {
        let wake_at = if early {
            WAKE_AT_FINAL_WRITE
        } else {
            WAKE_WHEN_IDLE
        };
        self.wake_at.store(wake_at, Ordering::SeqCst);
        let ready = self.ready(early);
        if ready {
            self.wake_at.store(WAKE_NONE, Ordering::SeqCst);
        }
        ready
    }

    /// The writer has made the rows of the group it holds: only their write is left. Says
    /// whether the sequencer waits for that.
    pub(super) fn writing(&self) -> bool {
        let written = self.written.load(Ordering::SeqCst);
        self.writing.store(written + 1, Ordering::SeqCst);
        self.wake_at
            .compare_exchange(
                WAKE_AT_FINAL_WRITE,
                WAKE_NONE,
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .is_ok()
    }

    /// The writer has written (or refused) a group. Says whether the sequencer waits for it.
    pub(super) fn written(&self) -> bool {
        let written = self.written.fetch_add(1, Ordering::SeqCst) + 1;
        self.writing.store(written, Ordering::SeqCst);
        self.wake_at.swap(WAKE_NONE, Ordering::SeqCst) != WAKE_NONE
    }
}

/// A group being planned: jobs are added as they arrive, until it is handed over.
struct OpenGroup {
    plan: GroupPlan,
    accepted: Vec<(AppendJob, Vec<ReceiptSource>)>,
    /// Events of the jobs taken (accepted or refused), against the group's limit.
    events: usize,
    /// No job may join any more: it holds a job that is a group of its own.
    closed: bool,
    /// The signing of the group's entries, started as their jobs are planned (an entry's
    /// signature covers its leaf hash, which planning fixes): parts in the order of the
    /// entries, which together cover the first entries of the plan ([`OpenGroup::sign_unsent`]).
    signing: Vec<Signing>,
}

/// Whether the first waiting job can join the open group (or start one) now.
fn fits(
    waiting: &std::collections::VecDeque<AppendJob>,
    group: Option<&OpenGroup>,
    limit: usize,
) -> bool {
    let Some(first) = waiting.front() else {
        return false;
    };
    match group {
        None => true,
        Some(open) => {
            !open.closed && open.events < limit && !(first.arrival.own_group && open.events > 0)
        }
    }
}

/// Takes from `waiting`, in order, the jobs that join the open group (or a new one): up to the
/// group's limit of events (a job always fits an empty group), and a job that is a group of its
/// own only into an empty group, alone.
fn take_for_group(
    waiting: &mut std::collections::VecDeque<AppendJob>,
    group: Option<&OpenGroup>,
    limit: usize,
) -> Vec<AppendJob> {
    let mut jobs = Vec::new();
    if group.is_some_and(|open| open.closed) {
        return jobs;
    }
    let mut events = group.map_or(0, |open| open.events);
    while let Some(first) = waiting.front() {
        let alone = first.arrival.own_group;
        if (events > 0 && (alone || events >= limit)) || (alone && !jobs.is_empty()) {
            break;
        }
        events += first.events.len().max(1);
        if let Some(job) = waiting.pop_front() {
            jobs.push(job);
        }
        if alone {
            break;
        }
    }
    jobs
}

impl OpenGroup {
    /// Whether the group is big enough to be finished during the write of the one before
    /// ([`FINISH_EARLY_FROM`]).
    fn finishes_early(&self) -> bool {
        self.plan.entries.len() >= FINISH_EARLY_FROM
    }

    /// A group starting at `tail`, on top of `pending` (the group before, maybe still in flight).
    fn begin(tail: &Tail, pending: PendingGroup) -> Self {
        Self {
            plan: GroupPlan {
                reads: GroupReads::default(),
                pending,
                tail: tail.clone(),
                entries: Vec::new(),
                commit: CommitGroup::default(),
                event_ids: HashMap::new(),
                directory: HashMap::new(),
                heads: HashMap::new(),
                head_journal: Vec::new(),
                keys: HashMap::new(),
                key_journal: Vec::new(),
                identifiers: HashMap::new(),
                identifier_journal: Vec::new(),
            },
            accepted: Vec::new(),
            events: 0,
            closed: false,
            signing: Vec::new(),
        }
    }

    /// Reads what `jobs` name (one batched read per family) and plans each of them; a refused
    /// job is answered at once and leaves no trace in the group.
    fn add_jobs(
        &mut self,
        parts: &SequencerParts,
        shared: &SequencerShared,
        pool: &SigningPool<'_>,
        jobs: Vec<AppendJob>,
    ) {
        let recent = &self.plan.pending.recent_heads;
        self.plan
            .reads
            .gather(&*parts.store, &jobs, |token| recent.contains(token));
        for mut job in jobs {
            shared.stats.jobs_planned.fetch_add(1, Ordering::Relaxed);
            // A job without events still counts, so that a group of its own stays alone.
            self.events += job.events.len().max(1);
            self.plan.commit.applied_input =
                self.plan.commit.applied_input.max(job.arrival.input_seq);
            if job.arrival.closes.is_some() {
                self.plan.commit.closed_epoch = job.arrival.closes;
            }
            let savepoint = self.plan.savepoint();
            match plan_job(parts, &mut self.plan, &mut job) {
                Ok(sources) => self.accepted.push((job, sources)),
                Err(refusal) => {
                    self.plan.restore(savepoint);
                    let _ = job.reply.send(Err(refusal));
                }
            }
        }
        self.sign_unsent(pool, signing::INLINE_BELOW);
    }

    /// Starts signing the entries planned since the last part, if there are at least
    /// `at_least`. After a round of jobs that is [`signing::INLINE_BELOW`], enough for the
    /// signing threads (fewer wait for more; while the writer is busy, the sequencer signs them
    /// itself rather than wait, with `at_least` 1; the hand-over sends whatever is left). A
    /// refused job's entries are gone
    /// from the plan by then (its savepoint was restored), and entries are never taken out of a
    /// plan afterwards, so the parts stay in the order of the entries. The signing threads work
    /// on them while the writer writes the previous group; the hand-over then waits only for the
    /// last part.
    fn sign_unsent(&mut self, pool: &SigningPool<'_>, at_least: usize) {
        let sent: usize = self.signing.iter().map(Signing::entries).sum();
        if let Some(unsent) = self.plan.entries.get(sent..)
            && unsent.len() >= at_least.max(1)
        {
            self.signing
                .push(pool.sign(unsent.iter().map(|entry| entry.leaf).collect()));
        }
    }
}

/// A group as planned and signed, handed to the writer.
pub(super) struct PlannedGroup {
    /// The tail after the group.
    pub(super) tail: Tail,
    /// What to write (none when every job was refused or a retry).
    pub(super) commit: Option<Arc<CommitGroup>>,
    /// The signed checkpoint of the tail after the group, when it has entries (its note is in
    /// `commit`): published once the write has returned.
    pub(super) checkpoint: Option<Arc<SignedCheckpoint>>,
    /// Each new entry's leaf hash and subject token, by position in the group.
    pub(super) leaves: Vec<(LeafHash, Option<[u8; 32]>)>,
    /// The jobs to answer, with where each receipt comes from.
    pub(super) accepted: Vec<(AppendJob, Vec<ReceiptSource>)>,
}

/// The signatures of every part, in order: as many as the group has entries, or an error.
fn wait_all(signing: Vec<Signing>, entries: usize) -> Result<Vec<[u8; 64]>, String> {
    let mut signatures = Vec::with_capacity(entries);
    for part in signing {
        signatures.extend(part.wait()?);
    }
    if signatures.len() != entries {
        return Err(format!(
            "the signing threads returned {} signatures for {entries} entries",
            signatures.len()
        ));
    }
    Ok(signatures)
}

/// Finishes a group: its subject-index version, its entries' signatures (made on the signing
/// threads meanwhile). Returns the group for the writer and what it changes, for the next group;
/// or the failure that must stop the sequencer (every job of the group has then been answered
/// `Unavailable`).
fn finish_group(
    parts: &SequencerParts,
    tail: &Tail,
    mut open: OpenGroup,
    shared: &SequencerShared,
    index_cache: &mut IndexNodeCache,
    pool: &SigningPool<'_>,
) -> Result<(PlannedGroup, PendingGroup), String> {
    // The entries not sent yet (all of a small group's), so that the signing threads go on while
    // the subject index's version is made below.
    open.sign_unsent(pool, 1);
    let OpenGroup {
        mut plan,
        accepted,
        signing,
        ..
    } = open;
    if plan.entries.is_empty() {
        // Nothing new: the previous group's changes stay the pending ones. A replica's close of
        // a transit epoch is still written (with the input-log sequence it was), entries or not.
        let commit = plan
            .commit
            .closed_epoch
            .is_some()
            .then(|| Arc::new(std::mem::take(&mut plan.commit)));
        let planned = PlannedGroup {
            tail: plan.tail,
            commit,
            checkpoint: None,
            leaves: Vec::new(),
            accepted,
        };
        return Ok((planned, plan.pending));
    }
    plan.commit.subject_heads = plan.heads.iter().map(|(t, h)| (*t, *h)).collect();
    // The subject index's new version, written in the same batch as the entries it covers.
    let index = match update_subject_index(parts, index_cache, tail, &plan) {
        Ok(index) => index,
        Err(why) => {
            writer::refuse_all(shared, accepted, &why);
            return Err(why);
        }
    };
    // The next group's index version is made from this one, durable or not.
    index_cache.record(&index);
    plan.tail.index_version = Some(index.version);
    plan.tail.index_root = index.root_hash();
    plan.commit.subject_index = Some(index);
    // The checkpoint of the log after the group, signed here (while the signing threads sign
    // the entries, and while the writer syncs the group before) and written in the group's own
    // batch; the writer publishes it once that write has returned.
    let root = plan.tail.frontier.root();
    let signing_started = Instant::now();
    let note = sign_checkpoint(parts, plan.tail.size, root, plan.tail.index_root);
    shared
        .stats
        .checkpoint_sign_duration
        .observe(signing_started.elapsed());
    let note = match note {
        Ok(note) => note,
        Err(why) => {
            writer::refuse_all(shared, accepted, &why);
            return Err(why);
        }
    };
    plan.commit.checkpoint = Some((plan.tail.size, note.clone()));
    let checkpoint = Arc::new(SignedCheckpoint {
        size: plan.tail.size,
        root,
        note,
    });
    let signatures = match wait_all(signing, plan.entries.len()) {
        Ok(signatures) => signatures,
        Err(why) => {
            writer::refuse_all(shared, accepted, &why);
            return Err(why);
        }
    };
    let key_id = *parts.signer.key_id().as_bytes();
    plan.commit.entries = plan
        .entries
        .iter_mut()
        .zip(&signatures)
        .map(|(entry, signature)| NewEntry {
            index: entry.index,
            // Moved, not copied: the plan needs only the leaf hashes from here on.
            bytes: std::mem::take(&mut entry.bytes),
            signature: StoredSignature {
                key_id,
                signature: *signature,
            },
        })
        .collect();
    plan.commit.decoded = plan
        .entries
        .iter_mut()
        .map(|entry| std::mem::take(&mut entry.entry))
        .collect();
    let commit = Arc::new(std::mem::take(&mut plan.commit));
    let mut recent_heads = std::mem::take(&mut plan.pending.recent_heads);
    recent_heads.record(&plan.heads);
    let next = PendingGroup {
        event_ids: plan.event_ids,
        directory: plan.directory,
        heads: plan.heads,
        keys: plan.keys,
        identifiers: plan.identifiers,
        commit: Some(commit.clone()),
        recent_heads,
    };
    let planned = PlannedGroup {
        tail: plan.tail,
        commit: Some(commit),
        checkpoint: Some(checkpoint),
        leaves: plan.entries.iter().map(|e| (e.leaf, e.token)).collect(),
        accepted,
    };
    Ok((planned, next))
}

/// The subject index after this group: every subject whose head moved gets its new head (count,
/// latest index and that entry's leaf hash), as version `tree size after the group`.
fn update_subject_index(
    parts: &SequencerParts,
    index_cache: &IndexNodeCache,
    tail: &Tail,
    plan: &GroupPlan,
) -> Result<IndexCommit, String> {
    let first_index = tail.size;
    let updates: Vec<(SubjectToken, IndexHead)> = plan
        .heads
        .iter()
        .map(|(token, head)| {
            let position = usize::try_from(head.last_index - first_index).unwrap_or(usize::MAX);
            let last_leaf = plan
                .entries
                .get(position)
                .filter(|entry| entry.index == head.last_index)
                .map(|entry| entry.leaf)
                .ok_or_else(|| {
                    format!("subject head at {} is outside the group", head.last_index)
                })?;
            Ok((
                SubjectToken::from_bytes(*token),
                IndexHead {
                    count: head.count,
                    last_index: head.last_index,
                    last_leaf,
                },
            ))
        })
        .collect::<Result<_, String>>()?;
    apply_updates(
        &index_cache.over(&*parts.store),
        tail.index_version,
        plan.tail.size,
        &updates,
    )
    .map_err(|e| format!("subject index version {}: {e}", plan.tail.size))
}

/// Turns one job into planned entries, or refuses it (the caller restores the savepoint). The
/// events of the entries it plans are moved into them: a job's events are not read again.
fn plan_job(
    parts: &SequencerParts,
    plan: &mut GroupPlan,
    job: &mut AppendJob,
) -> Result<Vec<ReceiptSource>, AppendError> {
    let mut sources = Vec::with_capacity(job.events.len());
    for position in 0..job.events.len() {
        let prepared = &job.events[position];
        let event_id = prepared.event.event_id.clone();
        let id_key = (job.producer.clone(), event_id.clone());
        let known = match plan
            .event_ids
            .get(&id_key)
            .or_else(|| plan.pending.event_ids.get(&id_key))
        {
            Some((record, _)) => Some(*record),
            None => plan
                .reads
                .event_id(&*parts.store, &job.producer, &event_id)?,
        };
        if let Some(record) = known {
            if record.content_digest != prepared.content_digest
                || !names_the_same_subject(parts, plan, prepared, record.index)?
            {
                return Err(AppendError::EventIdConflict { position, event_id });
            }
            sources.push(match plan.event_ids.get(&id_key) {
                Some((_, group_position)) => ReceiptSource::New {
                    position: *group_position,
                    duplicate: true,
                },
                None => ReceiptSource::Existing(record.index),
            });
            continue;
        }
        if job.retry_only {
            return Err(AppendError::NotApplied { position, event_id });
        }
        let index = plan.tail.size;
        let received_at = received_at(job, &plan.tail);
        check_correction(parts, plan, job, prepared, position)?;
        let resolved = resolve_subject(parts, plan, prepared, position, index)?;
        let token = resolved.map(|(token, _)| token);
        let subject = match resolved {
            None => None,
            // A subject whose first entry this is has no head yet, anywhere.
            Some((token, Subject::New)) => Some((token, None)),
            Some((token, Subject::Known)) => {
                let head = match plan.planned_head(&token) {
                    Some(head) => Some(head),
                    None => plan.reads.subject_head(&*parts.store, &token)?,
                };
                Some((token, head))
            }
        };
        let details_digest = seal_for_subject(parts, plan, prepared, position, token, index)?;
        if prepared.opens_erasure.is_some() {
            open_erasure(
                parts,
                plan,
                prepared,
                position,
                subject,
                index,
                &received_at,
            )?;
        }
        let group_position = plan.entries.len();
        let record = EventIdRecord {
            index,
            content_digest: prepared.content_digest,
        };
        let event = std::mem::take(&mut job.events[position].event);
        plan_entry(
            plan,
            &job.producer,
            event,
            subject,
            index,
            received_at,
            details_digest,
        )?;
        plan.commit
            .event_ids
            .push((job.producer.clone(), event_id, record));
        plan.event_ids.insert(id_key, (record, group_position));
        sources.push(ReceiptSource::New {
            position: group_position,
            duplicate: false,
        });
    }
    Ok(sources)
}

/// A correction names an earlier entry that is not a correction, not the ledger's own (system
/// `gdpr-ledger`: access and erasure records), and that the producer appended itself (admins:
/// any); an amendment leaves the target a valid event of its kind.
fn check_correction(
    parts: &SequencerParts,
    plan: &GroupPlan,
    job: &AppendJob,
    prepared: &PreparedEvent,
    position: usize,
) -> Result<(), AppendError> {
    if prepared.event.kind() != EventKind::Correction {
        return Ok(());
    }
    let target = prepared
        .event
        .correction
        .as_ref()
        .map(|c| c.target_index)
        .unwrap_or_default();
    let refuse = |reason| AppendError::BadCorrectionTarget {
        position,
        target,
        reason,
    };
    if target >= plan.tail.size {
        return Err(refuse("no such entry"));
    }
    let entry = decode_entry(&entry_bytes(parts, plan, target)?)
        .map_err(|e| StorageError::undecodable_entry(target, e))?;
    let Some(mut target_event) = entry.event else {
        return Err(refuse("the entry holds no event"));
    };
    if target_event.kind() == EventKind::Correction {
        return Err(refuse(
            "a correction cannot itself be corrected; correct the original entry",
        ));
    }
    let denied = |reason: String| AppendError::CorrectionDenied {
        position,
        target,
        reason,
    };
    if target_event.system == LEDGER_SYSTEM {
        return Err(denied(format!(
            "the ledger wrote this entry itself (system {LEDGER_SYSTEM}); it cannot be corrected"
        )));
    }
    if entry.producer != job.producer && job.corrects != CorrectionRights::AnyEntry {
        return Err(denied(format!(
            "appended by {}; only its producer or an admin may correct it",
            entry.producer
        )));
    }
    let amends =
        prepared.event.correction.as_ref().map(|c| c.action()) == Some(CorrectionAction::Amend);
    if amends {
        apply_amendment(&mut target_event, &prepared.event);
        validate_amended_event(&target_event, &ValidationLimits::default())
            .map_err(|error| AppendError::InvalidAmendment { position, error })?;
    }
    Ok(())
}

/// Whether a subject's token was allocated by the entry being planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subject {
    /// Allocated from this entry's index: nothing is stored under the token (no head, data key
    /// or identifier list: every row under a token is written with or after its first entry,
    /// and no earlier entry has this index), so nothing is read for it.
    New,
    /// Named by the directory or by its token.
    Known,
}

/// The subject's token: from the directory, or allocated (deterministically from the index of its
/// first entry). Records the directory rows a new subject or an identity link adds.
fn resolve_subject(
    parts: &SequencerParts,
    plan: &mut GroupPlan,
    prepared: &PreparedEvent,
    position: usize,
    index: u64,
) -> Result<Option<([u8; 32], Subject)>, AppendError> {
    let Some(row) = prepared.subject_row else {
        let Some(token) = prepared.subject_token else {
            return Ok(None);
        };
        let known = plan.planned_head(&token).is_some()
            || plan.reads.subject_head(&*parts.store, &token)?.is_some();
        return if known {
            Ok(Some((token, Subject::Known)))
        } else {
            Err(AppendError::UnknownSubject { position })
        };
    };
    let known = lookup_directory(parts, plan, &row)?;
    let is_link = prepared.event.kind() == EventKind::IdentityLink;
    let mut new_identifiers = Vec::new();
    let (token, subject) = match known {
        Some(token) => (token, Subject::Known),
        None if is_link => return Err(AppendError::UnknownSubject { position }),
        None if prepared.opens_erasure.is_some() => {
            return Err(AppendError::UnknownSubject { position });
        }
        None => {
            let token = *deterministic_pseudonym(&parts.pseudonym_secret, index).as_bytes();
            plan.directory.insert(row, token);
            plan.commit.directory_rows.push((row, token));
            new_identifiers.extend(prepared.identifiers.first().cloned());
            // Nothing is stored under a new token (`Subject::New`): no key and no identifier
            // list to read (both journaled, so a refusal of the job takes them back).
            plan.set_key(token, SubjectKey::Absent);
            let previous = plan.identifiers.insert(token, Vec::new());
            plan.identifier_journal.push((token, previous));
            (token, Subject::New)
        }
    };
    if let Some(linked) = prepared.linked_row {
        match lookup_directory(parts, plan, &linked)? {
            Some(existing) if existing == token => {}
            Some(_) => return Err(AppendError::IdentityConflict { position }),
            None => {
                plan.directory.insert(linked, token);
                plan.commit.directory_rows.push((linked, token));
                new_identifiers.extend(prepared.identifiers.get(1).cloned());
            }
        }
    }
    if !new_identifiers.is_empty() {
        add_identifiers(parts, plan, token, new_identifiers, position)?;
    }
    Ok(Some((token, subject)))
}

/// Whether a retried submission names the subject of the entry at `index`: the submission digest
/// leaves the identifiers out (so that the event-id index holds nothing an identifier could be
/// matched against once the subject's directory rows are destroyed), and the identifiers are
/// compared here instead, through the directory. After an erasure closed, they resolve to
/// nothing, and a retry is a conflict.
fn names_the_same_subject(
    parts: &SequencerParts,
    plan: &GroupPlan,
    prepared: &PreparedEvent,
    index: u64,
) -> Result<bool, AppendError> {
    let entry_token = decode_entry(&entry_bytes(parts, plan, index)?)
        .map_err(|e| StorageError::undecodable_entry(index, e))?
        .subject_token;
    let entry_token: Option<[u8; 32]> = if entry_token.is_empty() {
        None
    } else {
        Some(entry_token.as_slice().try_into().map_err(|_| {
            StorageError::undecodable(
                columns::ENTRIES,
                format!("entry {index}"),
                format!("a subject token of {} bytes", entry_token.len()),
            )
        })?)
    };
    let named = match (prepared.subject_row, prepared.subject_token) {
        (Some(row), _) => lookup_directory(parts, plan, &row)?,
        (None, token) => token,
    };
    if named != entry_token {
        return Ok(false);
    }
    match prepared.linked_row {
        Some(linked) => Ok(lookup_directory(parts, plan, &linked)? == entry_token),
        None => Ok(true),
    }
}

/// The bytes of the entry at `index`: planned in this group, in the pending one, or durable.
fn entry_bytes<'p>(
    parts: &SequencerParts,
    plan: &'p GroupPlan,
    index: u64,
) -> Result<std::borrow::Cow<'p, [u8]>, StorageError> {
    if let Some(entry) = plan.entries.iter().find(|entry| entry.index == index) {
        return Ok(std::borrow::Cow::Borrowed(&entry.bytes));
    }
    if let Some(bytes) = plan.pending.entry(index) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    parts
        .store
        .entry(index)?
        .map(std::borrow::Cow::Owned)
        .ok_or_else(|| StorageError::missing_entry(index))
}

fn lookup_directory(
    parts: &SequencerParts,
    plan: &GroupPlan,
    row: &[u8; 32],
) -> Result<Option<[u8; 32]>, AppendError> {
    match plan
        .directory
        .get(row)
        .or_else(|| plan.pending.directory.get(row))
    {
        Some(token) => Ok(Some(*token)),
        None => Ok(plan.reads.directory_token(&*parts.store, row)?),
    }
}

/// Builds the entry at `index` and advances the plan's tail, tree and subject chain. `subject` is
/// the token with its current head (none for a new subject).
fn plan_entry(
    plan: &mut GroupPlan,
    producer: &str,
    mut event: Event,
    subject: Option<([u8; 32], Option<SubjectHead>)>,
    index: u64,
    received_at: prost_types::Timestamp,
    details_digest: Option<[u8; 32]>,
) -> Result<(), AppendError> {
    let (token, subject_seq, subject_prev_index) = match subject {
        None => (None, 0, 0),
        Some((token, head)) => {
            let (seq, prev) = head.map_or((0, 0), |head| (head.count, head.last_index));
            let new_head = SubjectHead {
                count: seq + 1,
                last_index: index,
                // This entry's own index for a subject's first entry; what the head held (none
                // in a head row from before it was recorded) for the others.
                first_index: head.map_or(Some(index), |head| head.first_index),
            };
            let previous = plan.heads.insert(token, new_head);
            plan.head_journal.push((token, previous));
            plan.commit.subject_entries.push((token, seq, index));
            (Some(token), seq, prev)
        }
    };
    if let Some(digest) = details_digest {
        event.details_digest = digest.to_vec();
    }
    let entry = Entry {
        index,
        prev_hash: plan.tail.last_leaf.as_bytes().to_vec(),
        received_at: Some(received_at),
        producer: producer.to_owned(),
        subject_token: token.map(|t| t.to_vec()).unwrap_or_default(),
        subject_seq,
        subject_prev_index,
        event: Some(event),
    };
    let bytes = encode_entry(&entry)
        .map_err(|e| AppendError::Unavailable(format!("entry {index} cannot be encoded: {e}")))?;
    let leaf = leaf_hash(&bytes);
    plan.tail
        .frontier
        .append(leaf, &mut plan.commit.tree_nodes)
        .map_err(|e| AppendError::Unavailable(e.to_string()))?;
    plan.tail.size = index + 1;
    plan.tail.last_leaf = leaf;
    plan.tail.last_received = received_at;
    plan.entries.push(PlannedEntry {
        index,
        bytes,
        leaf,
        token,
        entry,
    });
    Ok(())
}

impl GroupPlan {
    /// `token`'s head as the sequencer planned it, if it has lately: in this group, in the
    /// group in flight, or in the groups before as far as the cache keeps them. None means
    /// the store's head is the latest (or there is none).
    fn planned_head(&self, token: &[u8; 32]) -> Option<SubjectHead> {
        self.heads
            .get(token)
            .or_else(|| self.pending.heads.get(token))
            .copied()
            .or_else(|| self.pending.recent_heads.get(token))
    }

    fn savepoint(&self) -> Savepoint {
        Savepoint {
            tail: self.tail.clone(),
            entries: self.entries.len(),
            tree_nodes: self.commit.tree_nodes.len(),
            commit_event_ids: self.commit.event_ids.len(),
            subject_entries: self.commit.subject_entries.len(),
            directory_rows: self.commit.directory_rows.len(),
            head_journal: self.head_journal.len(),
            data_keys: self.commit.data_keys.len(),
            sealed_details: self.commit.sealed_details.len(),
            sealed_identifiers: self.commit.sealed_identifiers.len(),
            shreds: self.commit.shreds.len(),
            key_journal: self.key_journal.len(),
            identifier_journal: self.identifier_journal.len(),
        }
    }

    fn restore(&mut self, savepoint: Savepoint) {
        self.tail = savepoint.tail;
        self.entries.truncate(savepoint.entries);
        self.commit.tree_nodes.truncate(savepoint.tree_nodes);
        for (producer, event_id, _) in self.commit.event_ids.drain(savepoint.commit_event_ids..) {
            self.event_ids.remove(&(producer, event_id));
        }
        self.commit
            .subject_entries
            .truncate(savepoint.subject_entries);
        for (row, _) in self.commit.directory_rows.drain(savepoint.directory_rows..) {
            self.directory.remove(&row);
        }
        for (token, previous) in self.head_journal.drain(savepoint.head_journal..).rev() {
            match previous {
                Some(head) => self.heads.insert(token, head),
                None => self.heads.remove(&token),
            };
        }
        self.commit.data_keys.truncate(savepoint.data_keys);
        self.commit
            .sealed_details
            .truncate(savepoint.sealed_details);
        self.commit
            .sealed_identifiers
            .truncate(savepoint.sealed_identifiers);
        self.commit.shreds.truncate(savepoint.shreds);
        for (token, previous) in self.key_journal.drain(savepoint.key_journal..).rev() {
            match previous {
                Some(key) => self.keys.insert(token, key),
                None => self.keys.remove(&token),
            };
        }
        for (token, previous) in self
            .identifier_journal
            .drain(savepoint.identifier_journal..)
            .rev()
        {
            match previous {
                Some(list) => self.identifiers.insert(token, list),
                None => self.identifiers.remove(&token),
            };
        }
    }
}

impl GroupPlan {
    fn set_key(&mut self, token: [u8; 32], key: SubjectKey) {
        let previous = self.keys.insert(token, key);
        self.key_journal.push((token, previous));
    }
}

/// The subject's data key as the group stands: from the plan, or unwrapped from the store.
fn subject_key(
    parts: &SequencerParts,
    plan: &mut GroupPlan,
    token: [u8; 32],
) -> Result<SubjectKey, AppendError> {
    if let Some(key) = plan
        .keys
        .get(&token)
        .or_else(|| plan.pending.keys.get(&token))
    {
        return Ok(key.clone());
    }
    let key = match StoredKey::from_row(plan.reads.data_key_row(&*parts.store, &token)?) {
        StoredKey::Absent => SubjectKey::Absent,
        StoredKey::Shredded => SubjectKey::Shredded,
        StoredKey::Wrapped(wrapped) => {
            SubjectKey::Live(parts.master_key.unwrap_key(&token, &wrapped)?)
        }
    };
    plan.keys.insert(token, key.clone());
    Ok(key)
}

/// The subject's live data key, made (and wrapped into the group's batch) if it has none yet.
/// A subject whose erasure destroyed its key gets no new one: `what` is refused.
fn live_subject_key(
    parts: &SequencerParts,
    plan: &mut GroupPlan,
    token: [u8; 32],
    position: usize,
    what: &'static str,
) -> Result<DataKey, AppendError> {
    match subject_key(parts, plan, token)? {
        SubjectKey::Live(key) => Ok(key),
        SubjectKey::Shredded => Err(AppendError::SubjectErased { position, what }),
        SubjectKey::Absent => {
            let key = DataKey::generate()?;
            plan.commit
                .data_keys
                .push((token, parts.master_key.wrap(&token, &key)?));
            plan.set_key(token, SubjectKey::Live(key.clone()));
            Ok(key)
        }
    }
}

/// Adds identifiers new to the directory to the subject's sealed identifier list.
fn add_identifiers(
    parts: &SequencerParts,
    plan: &mut GroupPlan,
    token: [u8; 32],
    new: Vec<String>,
    position: usize,
) -> Result<(), AppendError> {
    let key = live_subject_key(parts, plan, token, position, "a new identifier")?;
    let mut list = match plan
        .identifiers
        .get(&token)
        .or_else(|| plan.pending.identifiers.get(&token))
    {
        Some(list) => list.clone(),
        None => match parts.store.sealed_identifiers(&token)? {
            Some(sealed) => key.open_identifiers(&token, &sealed)?,
            None => Vec::new(),
        },
    };
    for identifier in new {
        if !list.contains(&identifier) {
            list.push(identifier);
        }
    }
    plan.commit
        .sealed_identifiers
        .push((token, key.seal_identifiers(&token, &list)?));
    let previous = plan.identifiers.insert(token, list);
    plan.identifier_journal.push((token, previous));
    Ok(())
}

/// Seals the event's free-form details with the subject's key; returns the digest the entry
/// commits to.
fn seal_for_subject(
    parts: &SequencerParts,
    plan: &mut GroupPlan,
    prepared: &PreparedEvent,
    position: usize,
    token: Option<[u8; 32]>,
    index: u64,
) -> Result<Option<[u8; 32]>, AppendError> {
    let Some(details) = &prepared.details else {
        return Ok(None);
    };
    // Validation refuses details without a subject; this is the sequencer's own guard.
    let token = token.ok_or_else(|| {
        AppendError::Unavailable(format!("event {position}: details without a subject"))
    })?;
    let key = live_subject_key(parts, plan, token, position, "new details")?;
    let (row, digest) = match details {
        Details::Plain(details) => {
            let sealed = key.seal_details(&token, index, details)?;
            let digest = details_digest(&sealed);
            (sealed, digest)
        }
        Details::Sealed {
            key: details_key,
            sealed,
        } => (
            key.details_row_v2(&token, index, details_key, sealed)?,
            details_digest(sealed),
        ),
    };
    plan.commit.sealed_details.push((token, index, row));
    Ok(Some(digest))
}

/// Opens the subject's erasure case in this group: the erasure-request entry and the destruction
/// of the subject's key, identifiers and details share one write.
fn open_erasure(
    parts: &SequencerParts,
    plan: &mut GroupPlan,
    prepared: &PreparedEvent,
    position: usize,
    subject: Option<([u8; 32], Option<SubjectHead>)>,
    index: u64,
    received_at: &prost_types::Timestamp,
) -> Result<(), AppendError> {
    let Some(requested_by) = &prepared.opens_erasure else {
        return Ok(());
    };
    let Some((token, Some(_))) = subject else {
        return Err(AppendError::UnknownSubject { position });
    };
    if prepared.event.kind() != EventKind::ErasureRequested {
        return Err(AppendError::Unavailable(format!(
            "event {position}: only an erasure request opens an erasure"
        )));
    }
    if matches!(subject_key(parts, plan, token)?, SubjectKey::Shredded) {
        return Err(AppendError::SubjectErased {
            position,
            what: "a second erasure request",
        });
    }
    let record = ErasureRecord {
        request_index: index,
        requested_at: received_at.seconds,
        requested_by: requested_by.clone(),
        closed: None,
        purged: false,
    };
    plan.commit.shreds.push((token, record.to_bytes()));
    plan.set_key(token, SubjectKey::Shredded);
    let previous = plan.identifiers.remove(&token);
    plan.identifier_journal.push((token, previous));
    Ok(())
}

/// The `received_at` of the job's entries: its arrival, or the tail's last time if that is later,
/// so that received times never go back along the log (a clock stepped back, or replicas' stream
/// times).
fn received_at(job: &AppendJob, tail: &Tail) -> prost_types::Timestamp {
    let arrived = prost_types::Timestamp::from(job.arrival.received_at);
    let last = &tail.last_received;
    if (arrived.seconds, arrived.nanos) < (last.seconds, last.nanos) {
        *last
    } else {
        arrived
    }
}
