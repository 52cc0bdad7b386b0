//! A ledger replica over an input log (`docs/replication.md` sections 4 to 6): it publishes the
//! requests it receives and applies every message of the log, in order, with its own sequencer.
//!
//! - **Receiving** ([`Replica::append`]): details are sealed once, the request is encoded and
//!   sealed under the transit key of the current epoch, published under its message id, and
//!   answered with what this replica's apply of that message produced (receipts or the refusal),
//!   once it is durable here.
//! - **Applying** (one task): messages are read from `applied + 1` on, opened and decoded, and
//!   queued to the sequencer in log order, each a commit group of its own, received at the log's
//!   timestamp, recorded as applied in the group's own write. The stream's first message is its
//!   genesis (`genesis`): a replica provisioned with other secrets stops there. Once the genesis
//!   matched, a message that no replica of the deployment sealed (it does not open under its
//!   epoch's key, names an epoch before the deployment's first, or has headers no replica writes)
//!   is skipped, counted, and logged: every correctly provisioned replica skips it alike. Without
//!   a matching genesis such a message stops the replica (fail-stop), as does a message that
//!   opens but cannot be applied: skipping those could fork the log.
//! - **Duplicates**: a request the log drops as a duplicate (the same message id within its
//!   window) is answered as a retry once the first message is applied here: the original
//!   receipts, or the sequencer's refusal of a reuse.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::stats::Stopped;

use super::close::{CloseDecision, close_message, decide};
use super::genesis::{GENESIS_MSG_ID, GenesisError, Provisioning};
use super::input_log::{InputLog, InputLogError, Outgoing, Stored};
use super::message::{
    DecodedClose, ERASURE_CLOSE_FORMAT, MessageError, decode_close, decode_request, encode_close,
    encode_request, seal_details,
};
use super::transit::{
    CLOSE_MSG_ID_PREFIX, LEDGER_FORMAT, MsgIdKey, RequestHeaders, TransitError, TransitRatchet,
    epoch_of,
};
use crate::erasure::{ErasureError, ErasureManager, IfClosed};
use crate::sequencer::{
    AppendError, Arrival, CorrectionRights, PreparedEvent, Receipt, SequencerHandle,
};
use crate::storage::ClosedEpoch;

/// Outcomes kept for the receiving side to collect, at most (older ones are answered as retries).
const KEPT_OUTCOMES: usize = 4096;
/// Messages read from the log at a time.
const FETCH_BATCH: usize = 256;
/// Times a request refused for its closed epoch is sealed again under an open one.
const RESEALS: usize = 3;

/// The clock a replica reads, in Unix seconds (injected in tests).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system's clock.
pub fn system_clock() -> Clock {
    Arc::new(crate::unix_time::now_seconds)
}

/// What a replica needs besides its sequencer: the deployment's shared secrets' derivations and
/// its timing.
pub struct ReplicaConfig {
    /// The transit ratchet (shared by every replica at provisioning).
    pub ratchet: TransitRatchet,
    /// The key of message ids.
    pub msg_ids: MsgIdKey,
    /// Length of a transit epoch.
    pub epoch_secs: u64,
    /// How long a publish may wait for the log's acknowledgement.
    pub publish_timeout: Duration,
    /// How long the receiving replica waits for its own apply of a published request.
    pub apply_timeout: Duration,
    /// The log and shared secrets this replica was provisioned with, as the genesis shows them.
    pub provisioning: Provisioning,
    /// Epochs whose transit keys are kept after a close (`transit_keep_epochs`): once
    /// `close(e + keep)` is applied, `T_e` is destroyed.
    pub keep_epochs: u64,
    /// How long after its epoch ends a close falls due (`transit_grace_secs`).
    pub close_grace_secs: u64,
    /// How often this replica publishes the close that is due; `None`: only when
    /// [`Replica::close_due_epoch`] is called.
    pub close_every: Option<Duration>,
    /// The ratchet's file, rewritten when keys are destroyed (`None`: in memory only).
    pub ratchet_file: Option<std::path::PathBuf>,
    /// The clock that picks a request's epoch and when a close is due.
    pub clock: Clock,
}

/// Why a replicated request was not answered with receipts.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// The sequencer refused the request (the same refusal on every replica).
    #[error(transparent)]
    Refused(#[from] AppendError),
    /// The log or this replica's apply did not answer in time; the request may have been stored,
    /// and a retry (on any replica) is safe.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The request could not be made into a message.
    #[error("the request cannot be replicated: {0}")]
    Message(#[from] MessageError),
    /// The transit key of the epoch is not at hand.
    #[error("transit: {0}")]
    Transit(#[from] TransitError),
}

type Outcome = Result<Vec<Receipt>, AppendError>;

/// What this replica's apply of a message gave, for the receiving side.
enum Applied {
    /// The sequencer's outcome.
    Outcome(Outcome),
    /// The request's epoch was closed before it in the stream: refused unopened, to be sealed
    /// again under an open epoch.
    EpochClosed(u64),
    /// The erasure cases of a closing message were closed, or why not.
    ErasureClosed(Result<(), ErasureError>),
}

/// A message queued to the sequencer, or decided without it, for the collector.
struct Queued {
    seq: u64,
    outcome: tokio::sync::oneshot::Receiver<Outcome>,
    /// What to do once the outcome is in.
    then: Then,
}

enum Then {
    Answer,
    /// Answer [`Applied::EpochClosed`].
    EpochClosed(u64),
    /// Answer [`Applied::ErasureClosed`].
    ErasureClosed(Result<(), ErasureError>),
    /// A close is durable: destroy the keys of epochs before this one.
    Destroy(u64),
}

/// Publishes the genesis of `log` if it is empty (`genesis`): whether this replica's genesis is
/// now the log's first message (`false`: the log held a message already).
pub async fn make_genesis<L: InputLog>(
    log: &L,
    config: &ReplicaConfig,
) -> Result<bool, ReplicaError> {
    if log
        .last_seq()
        .await
        .map_err(|e| ReplicaError::Unavailable(e.to_string()))?
        > 0
    {
        return Ok(false);
    }
    let genesis = config.provisioning.genesis(&config.ratchet)?;
    log.publish_first(genesis)
        .await
        .map_err(|e| ReplicaError::Unavailable(e.to_string()))
}

/// State shared by the receiving side and the applier.
struct Shared {
    /// The last message applied durably here.
    applied: watch::Sender<u64>,
    /// Outcomes of recently applied messages, by sequence, until collected.
    outcomes: Mutex<BTreeMap<u64, Applied>>,
    /// The latest epoch closed in the stream as far as this replica has read it.
    closed: watch::Sender<Option<u64>>,
    /// The erasure manager that applies closings (set by the server once it is made). Weak: the
    /// manager routes its closings through this replica, and neither may keep the other (and
    /// the store) alive after the server stops.
    erasure: watch::Sender<Option<std::sync::Weak<ErasureManager>>>,
    /// Why the applier stopped, if it did, and how many messages it skipped (read by health and
    /// metrics too).
    failure: Arc<Stopped>,
    skipped: Arc<crate::stats::Tally>,
}

/// One ledger replica over an input log.
pub struct Replica<L: InputLog> {
    log: Arc<L>,
    sequencer: SequencerHandle,
    config: Arc<Mutex<ReplicaConfig>>,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    applier: Mutex<Option<tokio::task::JoinHandle<()>>>,
    closer: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl<L: InputLog> Replica<L> {
    /// Starts applying `log` from the message after `applied` (the store's
    /// `applied_input`, 0 for none) with `sequencer`; `closed` is the store's latest applied close
    /// of a transit epoch. Keys that close let go of and that are still in the ratchet (a crash
    /// came between the close's write and the ratchet file's) are destroyed first.
    pub fn start(
        log: Arc<L>,
        sequencer: SequencerHandle,
        applied: u64,
        closed: Option<ClosedEpoch>,
        config: ReplicaConfig,
    ) -> Self {
        let shared = Arc::new(Shared {
            applied: watch::Sender::new(applied),
            outcomes: Mutex::new(BTreeMap::new()),
            closed: watch::Sender::new(closed.map(|c| c.epoch)),
            erasure: watch::Sender::new(None),
            failure: Arc::default(),
            skipped: Arc::default(),
        });
        let close_every = config.close_every;
        let config = Arc::new(Mutex::new(config));
        if let Some(closed) = closed {
            destroy_before(&config, closed.oldest_kept);
        }
        let (stop, stopped) = watch::channel(false);
        let applier = tokio::spawn(apply(
            log.clone(),
            sequencer.clone(),
            config.clone(),
            shared.clone(),
            Start { applied, closed },
            stopped.clone(),
        ));
        let closer = close_every.map(|every| {
            tokio::spawn(publish_closes(
                log.clone(),
                config.clone(),
                shared.clone(),
                every,
                stopped,
            ))
        });
        Self {
            log,
            sequencer,
            config,
            shared,
            stop,
            applier: Mutex::new(Some(applier)),
            closer: Mutex::new(closer),
        }
    }

    /// The latest transit epoch closed in the stream, as far as this replica has read it.
    pub fn closed_epoch(&self) -> Option<u64> {
        *self.shared.closed.borrow()
    }

    /// The oldest epoch whose transit key this replica still holds.
    pub fn oldest_transit_epoch(&self) -> Option<u64> {
        self.config
            .lock()
            .ok()
            .map(|config| config.ratchet.oldest_epoch())
    }

    /// Publishes the close that is due by this replica's clock, if the stream has not closed that
    /// epoch yet: the epoch closed, and the message's sequence.
    pub async fn close_due_epoch(&self) -> Result<Option<(u64, u64)>, ReplicaError> {
        close_due(&*self.log, &self.config, &self.shared).await
    }

    /// The last message this replica applied durably.
    pub fn applied(&self) -> u64 {
        *self.shared.applied.borrow()
    }

    /// Why the applier stopped (fail-stop), if it did.
    pub fn failure(&self) -> Option<String> {
        self.shared.failure.reason()
    }

    /// Where the applier records why it stopped: for the server's health and metrics.
    pub fn stopped(&self) -> Arc<Stopped> {
        self.shared.failure.clone()
    }

    /// How many messages the applier skipped (sealed by no replica of the deployment).
    pub fn skipped(&self) -> Arc<crate::stats::Tally> {
        self.shared.skipped.clone()
    }

    /// Waits until this replica has applied message `seq`, up to `wait`.
    pub async fn wait_applied(&self, seq: u64, wait: Duration) -> Result<(), ReplicaError> {
        let mut applied = self.shared.applied.subscribe();
        let reached = tokio::time::timeout(wait, applied.wait_for(|at| *at >= seq)).await;
        match reached {
            Ok(Ok(_)) => Ok(()),
            _ => Err(ReplicaError::Unavailable(format!(
                "this replica has applied the input log up to {}, not yet {seq}{}",
                self.applied(),
                self.failure()
                    .map(|why| format!(" (its applier stopped: {why})"))
                    .unwrap_or_default()
            ))),
        }
    }

    /// Refused before anything is published when this replica no longer applies: it would
    /// publish a request and never answer it (another replica can take it).
    fn still_applying(&self) -> Result<(), ReplicaError> {
        match self.failure() {
            Some(why) => Err(ReplicaError::Unavailable(format!(
                "this replica has stopped applying the input log ({why}); send the request to another replica"
            ))),
            None => Ok(()),
        }
    }

    /// Publishes a request received here and answers with this replica's apply of it.
    pub async fn append(
        &self,
        producer: &str,
        corrects: CorrectionRights,
        mut events: Vec<PreparedEvent>,
    ) -> Result<Vec<Receipt>, ReplicaError> {
        self.still_applying()?;
        seal_details(&mut events).map_err(MessageError::from)?;
        let request = zeroize::Zeroizing::new(encode_request(producer, corrects, &events)?);
        let digests: Vec<[u8; 32]> = events.iter().map(|e| e.content_digest).collect();
        match self
            .publish_sealed(producer, "append", &digests, LEDGER_FORMAT, &request)
            .await?
        {
            Some(Applied::Outcome(outcome)) => Ok(outcome?),
            // A duplicate of a message applied before, or an outcome no longer kept: answered as
            // a retry against what the log holds.
            _ => Ok(self
                .sequencer
                .answer_retry(producer.to_owned(), corrects, events)
                .await?),
        }
    }

    /// Closes erasure cases through the input log (`docs/replication.md` section 10): every
    /// replica closes them at the same point of the log, stamped with the stream's time.
    pub async fn close_erasures(&self, close: DecodedClose) -> Result<(), ErasureError> {
        let unavailable =
            |e: ReplicaError| ErasureError::Append(AppendError::Unavailable(e.to_string()));
        self.still_applying().map_err(unavailable)?;
        let bytes = zeroize::Zeroizing::new(encode_close(&close));
        let applied = self
            .publish_sealed(
                &close.by,
                "close-erasure",
                // The whole closing names the message: the same closing sent twice in an epoch
                // is one message, another reason for the same case another.
                &[*blake3::hash(&bytes).as_bytes()],
                ERASURE_CLOSE_FORMAT,
                &bytes,
            )
            .await
            .map_err(unavailable)?;
        match applied {
            Some(Applied::ErasureClosed(result)) => result,
            _ => {
                // A duplicate of a closing applied before: done if every case is closed now.
                let closed = match self.erasure() {
                    Some(manager) => close
                        .tokens
                        .iter()
                        .map(|token| manager.is_closed(token))
                        .collect::<Result<Vec<_>, _>>()?
                        .into_iter()
                        .all(|closed| closed == Some(true)),
                    None => false,
                };
                if closed {
                    Ok(())
                } else {
                    Err(unavailable(ReplicaError::Unavailable(
                        "the closing's outcome is not known here; retry".into(),
                    )))
                }
            }
        }
    }

    /// Lets the applier close erasure cases (the server's manager, made after the replica).
    /// Until it is given, the applier waits at the first closing it meets.
    pub fn set_erasure(&self, manager: &Arc<ErasureManager>) {
        self.shared
            .erasure
            .send_replace(Some(Arc::downgrade(manager)));
    }

    /// The erasure manager, while the server has one.
    fn erasure(&self) -> Option<Arc<ErasureManager>> {
        self.shared
            .erasure
            .borrow()
            .as_ref()
            .and_then(std::sync::Weak::upgrade)
    }

    /// Seals `bytes` (a message of `format`, named for `producer`, `kind` and `digests`) under
    /// the current epoch's transit key, publishes it, and waits for this replica's apply: its
    /// outcome, or `None` for a duplicate (or an outcome no longer kept). A message whose epoch
    /// the stream closed before it is sealed again under an open one.
    async fn publish_sealed(
        &self,
        producer: &str,
        kind: &str,
        digests: &[[u8; 32]],
        format: u32,
        bytes: &[u8],
    ) -> Result<Option<Applied>, ReplicaError> {
        for _ in 0..=RESEALS {
            let (outgoing, publish_timeout, apply_timeout) = {
                let config = self
                    .config
                    .lock()
                    .map_err(|_| ReplicaError::Unavailable("poisoned".into()))?;
                // The clock's epoch, unless the stream has closed it already.
                let epoch = epoch_of((config.clock)(), config.epoch_secs)
                    .max(self.closed_epoch().map_or(0, |closed| closed + 1));
                let msg_id = config.msg_ids.msg_id(producer, kind, digests, epoch);
                let body = config.ratchet.key(epoch)?.seal_as(format, &msg_id, bytes)?;
                let outgoing = Outgoing {
                    msg_id,
                    format: format.to_string(),
                    epoch: epoch.to_string(),
                    body,
                };
                (outgoing, config.publish_timeout, config.apply_timeout)
            };
            let ack = publish_within(&*self.log, outgoing, publish_timeout).await?;
            self.wait_applied(ack.seq, apply_timeout).await?;
            match self.take_outcome(ack.seq) {
                Some(Applied::EpochClosed(epoch)) => {
                    // Closed in the stream before the request reached it: sealed again under an
                    // open epoch (this replica has now read the close).
                    tracing::debug!(
                        epoch,
                        "a request's transit epoch closed first; sealing again"
                    );
                }
                Some(applied) if !ack.duplicate => return Ok(Some(applied)),
                _ => return Ok(None),
            }
        }
        Err(ReplicaError::Unavailable(format!(
            "the request's transit epoch was closed in the stream {} times in a row",
            RESEALS + 1
        )))
    }

    fn take_outcome(&self, seq: u64) -> Option<Applied> {
        self.shared.outcomes.lock().ok()?.remove(&seq)
    }

    /// Stops applying, after the messages already queued to the sequencer are answered (the
    /// sequencer is the caller's to stop). The replica still publishes; what it publishes is
    /// applied by the others, and by this one once a replica is started again over its store.
    pub async fn stop_applying(&self) {
        let _ = self.stop.send(true);
        for task in [&self.applier, &self.closer] {
            let task = task.lock().ok().and_then(|mut t| t.take());
            if let Some(task) = task {
                let _ = task.await;
            }
        }
    }
}

impl<L: InputLog> crate::erasure::CloseRoute for Replica<L> {
    fn close(
        &self,
        by: String,
        reason: String,
        tokens: Vec<[u8; 32]>,
        if_closed: IfClosed,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ErasureError>> + Send + '_>>
    {
        Box::pin(self.close_erasures(DecodedClose {
            by,
            reason,
            tokens,
            skip_closed: if_closed == IfClosed::Skip,
        }))
    }
}

impl<L: InputLog> crate::sequencer::AppendRoute for Replica<L> {
    fn append(
        &self,
        producer: String,
        corrects: CorrectionRights,
        events: Vec<PreparedEvent>,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Vec<Receipt>, AppendError>> + Send + '_>,
    > {
        Box::pin(async move {
            Replica::append(self, &producer, corrects, events)
                .await
                .map_err(|error| match error {
                    ReplicaError::Refused(refusal) => refusal,
                    other => AppendError::Unavailable(other.to_string()),
                })
        })
    }
}

/// Where the applier starts: after message `applied`, with the store's latest applied close.
struct Start {
    applied: u64,
    closed: Option<ClosedEpoch>,
}

/// The applier: reads, opens and queues messages in order; a second task collects their outcomes
/// in the same order and advances `applied`.
async fn apply<L: InputLog>(
    log: Arc<L>,
    sequencer: SequencerHandle,
    config: Arc<Mutex<ReplicaConfig>>,
    shared: Arc<Shared>,
    start: Start,
    mut stopped: watch::Receiver<bool>,
) {
    let (queued, mut outcomes) = mpsc::channel::<Queued>(FETCH_BATCH * 4);
    let collector = {
        let shared = shared.clone();
        let config = config.clone();
        tokio::spawn(async move {
            while let Some(Queued { seq, outcome, then }) = outcomes.recv().await {
                let outcome = outcome.await.unwrap_or_else(|_| {
                    Err(AppendError::Unavailable("the sequencer has stopped".into()))
                });
                let stopped = matches!(&outcome, Err(AppendError::Unavailable(_)));
                if stopped {
                    // Not applied: the sequencer failed or stopped; never count it.
                    if let Ok(mut kept) = shared.outcomes.lock() {
                        kept.insert(seq, Applied::Outcome(outcome));
                    }
                    break;
                }
                let applied = match then {
                    Then::Answer => Applied::Outcome(outcome),
                    Then::EpochClosed(epoch) => Applied::EpochClosed(epoch),
                    Then::ErasureClosed(result) => Applied::ErasureClosed(result),
                    Then::Destroy(oldest_kept) => {
                        // The close is durable: the keys it lets go of can go.
                        destroy_before(&config, oldest_kept);
                        Applied::Outcome(outcome)
                    }
                };
                if let Ok(mut kept) = shared.outcomes.lock() {
                    kept.insert(seq, applied);
                    while kept.len() > KEPT_OUTCOMES {
                        kept.pop_first();
                    }
                }
                shared.applied.send_modify(|at| *at = (*at).max(seq));
            }
        })
    };
    let mut next = start.applied + 1;
    // The latest epoch closed before the next message, in stream order.
    let mut closed = start.closed.map(|c| c.epoch);
    let fail = |why: String| {
        tracing::error!(error = %why, "replica stopped applying the input log (fail-stop)");
        shared.failure.set(why);
    };
    // The deployment's first transit epoch, once the stream's genesis matched this replica.
    let mut genesis: Option<u64> = None;
    if next > 1 {
        // Restarted past the first message: its genesis is read again (unless retention dropped
        // it: then no message is skipped, and a forged one stops this replica).
        match read_genesis(&*log, &config, start.closed.as_ref(), &mut stopped).await {
            Ok(checked) => genesis = checked,
            Err(why) => {
                fail(why);
                drop(queued);
                let _ = collector.await;
                return;
            }
        }
    }
    let keep = config.lock().map(|c| c.keep_epochs).unwrap_or(0);
    'reading: loop {
        let batch = tokio::select! {
            _ = stopped.changed() => break,
            batch = log.fetch(next, FETCH_BATCH, Duration::from_millis(200)) => batch,
        };
        let batch = match batch {
            Ok(batch) => batch,
            Err(InputLogError::Truncated { asked, first }) => {
                fail(format!(
                    "the input log no longer holds message {asked} (it starts at {first}): rebuild this replica from a backup"
                ));
                break;
            }
            Err(error) => {
                tracing::warn!(%error, "input log unavailable; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        for stored in batch {
            if stored.seq != next {
                fail(format!(
                    "the input log answered message {} where {next} was asked",
                    stored.seq
                ));
                break 'reading;
            }
            next += 1;
            if stored.message.msg_id == GENESIS_MSG_ID {
                if stored.seq == 1 {
                    match check_genesis(&config, &stored, None) {
                        Ok(checked) => genesis = checked,
                        Err(why) => {
                            fail(why);
                            break 'reading;
                        }
                    }
                } else {
                    // Only an empty stream takes a genesis: this one was not a replica's.
                    skip(&shared, &stored, "a genesis after the first message");
                }
                if queued.send(nothing_to_apply(stored.seq)).await.is_err() {
                    break 'reading;
                }
                continue;
            }
            let (arrival, then, job) = if stored.message.msg_id.starts_with(CLOSE_MSG_ID_PREFIX) {
                let decision = match config.lock() {
                    Ok(config) => decide(&stored.message, &config.ratchet, closed, keep, genesis),
                    Err(_) => CloseDecision::Unusable("poisoned".into()),
                };
                let record = match decision {
                    CloseDecision::Apply(record) => record,
                    CloseDecision::AlreadyClosed => {
                        if queued.send(nothing_to_apply(stored.seq)).await.is_err() {
                            break 'reading;
                        }
                        continue;
                    }
                    CloseDecision::NotMadeByUs(why) if genesis.is_some() => {
                        skip(&shared, &stored, &why);
                        if queued.send(nothing_to_apply(stored.seq)).await.is_err() {
                            break 'reading;
                        }
                        continue;
                    }
                    CloseDecision::NotMadeByUs(why) | CloseDecision::Unusable(why) => {
                        fail(format!("message {}: {why}", stored.seq));
                        break 'reading;
                    }
                };
                closed = Some(record.epoch);
                shared.closed.send_replace(closed);
                let arrival = Arrival {
                    received_at: stored.timestamp,
                    own_group: true,
                    input_seq: Some(stored.seq),
                    closes: Some(record),
                };
                (arrival, Then::Destroy(record.oldest_kept), None)
            } else {
                let request = match open(&config, &stored, genesis, closed) {
                    Ok(Opened::Append(request)) => request,
                    Ok(Opened::CloseErasures(close)) => {
                        let then = match close_erasures(&shared, &mut stopped, &stored, close).await
                        {
                            Closing::Done(result) => Then::ErasureClosed(result),
                            Closing::Stopped => break 'reading,
                            Closing::Failed(why) => {
                                fail(format!("message {}: {why}", stored.seq));
                                break 'reading;
                            }
                        };
                        let closed = Queued {
                            then,
                            ..nothing_to_apply(stored.seq)
                        };
                        if queued.send(closed).await.is_err() {
                            break 'reading;
                        }
                        continue;
                    }
                    Err(Unopened::EpochClosed(epoch)) => {
                        // Refused unopened on every replica alike; nothing to write.
                        let refused = Queued {
                            then: Then::EpochClosed(epoch),
                            ..nothing_to_apply(stored.seq)
                        };
                        if queued.send(refused).await.is_err() {
                            break 'reading;
                        }
                        continue;
                    }
                    Err(Unopened::NotSealedByUs(why)) if genesis.is_some() => {
                        skip(&shared, &stored, &why);
                        if queued.send(nothing_to_apply(stored.seq)).await.is_err() {
                            break 'reading;
                        }
                        continue;
                    }
                    Err(Unopened::NotSealedByUs(why) | Unopened::Unusable(why)) => {
                        fail(format!("message {}: {why}", stored.seq));
                        break 'reading;
                    }
                };
                let arrival = Arrival {
                    received_at: stored.timestamp,
                    own_group: true,
                    input_seq: Some(stored.seq),
                    closes: None,
                };
                (arrival, Then::Answer, Some(request))
            };
            let (producer, corrects, events) = match job {
                Some(request) => (request.producer, request.corrects, request.events),
                None => (String::new(), CorrectionRights::OwnEntries, Vec::new()),
            };
            let outcome = match sequencer
                .submit(producer, corrects, events, arrival, false)
                .await
            {
                Ok(outcome) => outcome,
                Err(error) => {
                    fail(format!("message {}: {error}", stored.seq));
                    break 'reading;
                }
            };
            if queued
                .send(Queued {
                    seq: stored.seq,
                    outcome,
                    then,
                })
                .await
                .is_err()
            {
                break 'reading;
            }
        }
    }
    drop(queued);
    let _ = collector.await;
}

/// How a replica's apply of an erasure closing ended.
enum Closing {
    /// Applied, or refused alike on every replica (no case, closed already).
    Done(Result<(), ErasureError>),
    /// The replica is stopping.
    Stopped,
    /// This replica cannot apply it (its store failed): fail-stop.
    Failed(String),
}

/// Applies a closing of erasure cases at its place in the log: once every earlier message is
/// applied here, so that it meets the same records and directory on every replica, stamped with
/// the stream's time.
async fn close_erasures(
    shared: &Shared,
    stopped: &mut watch::Receiver<bool>,
    stored: &Stored,
    close: DecodedClose,
) -> Closing {
    let mut applied = shared.applied.subscribe();
    tokio::select! {
        _ = stopped.changed() => return Closing::Stopped,
        reached = applied.wait_for(|at| *at + 1 >= stored.seq) => {
            if reached.is_err() {
                return Closing::Stopped;
            }
        }
    }
    let mut erasure = shared.erasure.subscribe();
    let manager = tokio::select! {
        _ = stopped.changed() => return Closing::Stopped,
        manager = erasure.wait_for(Option::is_some) => match manager {
            Ok(manager) => manager.as_ref().and_then(std::sync::Weak::upgrade),
            Err(_) => return Closing::Stopped,
        },
    };
    // Gone: the server is stopping.
    let Some(manager) = manager else {
        return Closing::Stopped;
    };
    let at = crate::unix_time::seconds(stored.timestamp);
    let if_closed = if close.skip_closed {
        IfClosed::Skip
    } else {
        IfClosed::Refuse
    };
    let applied = tokio::task::spawn_blocking(move || {
        manager.apply_close(&close.tokens, &close.by, &close.reason, at, if_closed)
    })
    .await;
    match applied {
        Err(error) => Closing::Failed(format!("the erasure closing panicked: {error}")),
        Ok(Err(error @ (ErasureError::Storage(_) | ErasureError::WorkerStopped))) => {
            Closing::Failed(format!("erasure closing: {error}"))
        }
        Ok(result) => Closing::Done(result),
    }
}

/// A message that writes nothing (skipped, refused unopened, a late copy of a close): queued all
/// the same, so that `applied` moves past it in order.
fn nothing_to_apply(seq: u64) -> Queued {
    let (reply, outcome) = tokio::sync::oneshot::channel();
    let _ = reply.send(Ok(Vec::new()));
    Queued {
        seq,
        outcome,
        then: Then::Answer,
    }
}

/// Destroys the transit keys of the epochs before `oldest_kept`: the ratchet moves forward and
/// its file is rewritten. A failure is logged, not fatal: the log is not affected, and the next
/// close (or the next start, from the store's record) destroys them again.
fn destroy_before(config: &Mutex<ReplicaConfig>, oldest_kept: u64) {
    let Ok(mut config) = config.lock() else {
        return;
    };
    if config.ratchet.oldest_epoch() >= oldest_kept {
        return;
    }
    if let Err(error) = config.ratchet.advance_to(oldest_kept) {
        tracing::error!(%error, oldest_kept, "the transit ratchet could not move forward");
        return;
    }
    if let Some(path) = &config.ratchet_file {
        let text = zeroize::Zeroizing::new(hex::encode(&*config.ratchet.to_file_bytes()));
        if let Err(error) = crate::secrets::replace_private_file(path, &text) {
            tracing::error!(%error, file = %path.display(), "the transit ratchet file could not be rewritten: the keys of closed epochs are still in it");
            return;
        }
    }
    tracing::info!(
        oldest_kept,
        "destroyed the transit keys of the epochs before this one"
    );
}

/// Publishes the close that is due by the replica's clock, unless the stream closed that epoch
/// already (as far as this replica has read it): the epoch and the message's sequence.
async fn close_due<L: InputLog>(
    log: &L,
    config: &Mutex<ReplicaConfig>,
    shared: &Shared,
) -> Result<Option<(u64, u64)>, ReplicaError> {
    let (epoch, message, publish_timeout) = {
        let config = config
            .lock()
            .map_err(|_| ReplicaError::Unavailable("poisoned".into()))?;
        let Some(due) =
            super::close::due((config.clock)(), config.epoch_secs, config.close_grace_secs)
        else {
            return Ok(None);
        };
        let closed = *shared.closed.borrow();
        if closed.is_some_and(|closed| closed >= due) || due < config.ratchet.oldest_epoch() {
            return Ok(None);
        }
        (
            due,
            close_message(&config.ratchet.key(due)?),
            config.publish_timeout,
        )
    };
    let ack = publish_within(log, message, publish_timeout).await?;
    Ok(Some((epoch, ack.seq)))
}

/// Publishes `message`, waiting up to `timeout` for the log's acknowledgement: a request's and a
/// close's publish alike.
async fn publish_within<L: InputLog>(
    log: &L,
    message: Outgoing,
    timeout: Duration,
) -> Result<super::input_log::PubAck, ReplicaError> {
    tokio::time::timeout(timeout, log.publish(message))
        .await
        .map_err(|_| {
            ReplicaError::Unavailable(format!(
                "the input log did not acknowledge within {timeout:?}"
            ))
        })?
        .map_err(|e: InputLogError| ReplicaError::Unavailable(e.to_string()))
}

/// Publishes the close that is due every `every`, until the replica stops.
async fn publish_closes<L: InputLog>(
    log: Arc<L>,
    config: Arc<Mutex<ReplicaConfig>>,
    shared: Arc<Shared>,
    every: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            () = tokio::time::sleep(every) => {}
        }
        match close_due(&*log, &config, &shared).await {
            Ok(Some((epoch, seq))) => {
                tracing::debug!(epoch, seq, "published a transit epoch's close")
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, "could not publish a transit epoch's close; retrying")
            }
        }
    }
}

/// A message of the log, opened.
enum Opened {
    /// A request that appends (`Ledger-Format` 1).
    Append(super::message::DecodedRequest),
    /// A closing of erasure cases (`Ledger-Format` 2).
    CloseErasures(DecodedClose),
}

/// Why a message of the log was not opened.
enum Unopened {
    /// No replica of this deployment sealed it: it does not open under its epoch's key, names an
    /// epoch before the deployment's first, or has headers no replica writes. Every correctly
    /// provisioned replica refuses it alike.
    NotSealedByUs(String),
    /// A replica sealed it, or this replica cannot tell: its epoch's key is destroyed here, it is
    /// of a later format, or it opens and does not decode. Skipping it could fork the log.
    Unusable(String),
    /// Its epoch was closed before it in the stream: refused unopened, on every replica alike.
    EpochClosed(u64),
}

/// Skips a message no replica of the deployment sealed: counted, and logged with why.
fn skip(shared: &Shared, stored: &Stored, why: &str) {
    shared.skipped.add_one();
    // The message id is whatever the publisher wrote: bounded and escaped before it is logged.
    let msg_id: String = stored.message.msg_id.chars().take(80).collect();
    tracing::warn!(
        seq = stored.seq,
        msg_id = ?msg_id,
        why,
        "skipped a message of the input log that no replica of this deployment sealed"
    );
}

/// Checks the stream's genesis (its first message) against this replica's provisioning: the
/// deployment's first epoch when it matches, `None` when it can no longer be checked (warned),
/// or why this replica must not apply the stream.
fn check_genesis(
    config: &Mutex<ReplicaConfig>,
    stored: &Stored,
    recorded: Option<&ClosedEpoch>,
) -> Result<Option<u64>, String> {
    let config = config.lock().map_err(|_| "poisoned".to_owned())?;
    match config
        .provisioning
        .check(&stored.message, &config.ratchet, recorded)
    {
        Ok(first_epoch) => Ok(Some(first_epoch)),
        Err(GenesisError::Unverifiable(why)) => {
            tracing::warn!(%why, "the stream's genesis cannot be checked: a message no replica sealed will stop this replica");
            Ok(None)
        }
        Err(error) => Err(format!("message 1: {error}")),
    }
}

/// Reads the stream's first message again (after a restart) and checks it if it is a genesis:
/// `None` for a stream made before genesis messages, or whose first message retention dropped.
async fn read_genesis<L: InputLog>(
    log: &L,
    config: &Mutex<ReplicaConfig>,
    recorded: Option<&ClosedEpoch>,
    stopped: &mut watch::Receiver<bool>,
) -> Result<Option<u64>, String> {
    loop {
        let first = tokio::select! {
            _ = stopped.changed() => return Ok(None),
            first = log.fetch(1, 1, Duration::from_millis(200)) => first,
        };
        match first {
            Ok(batch) => {
                return match batch.first() {
                    Some(stored) if stored.seq == 1 && stored.message.msg_id == GENESIS_MSG_ID => {
                        check_genesis(config, stored, recorded)
                    }
                    _ => Ok(None),
                };
            }
            Err(InputLogError::Truncated { .. }) => return Ok(None),
            Err(error) => {
                tracing::warn!(%error, "input log unavailable; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Opens and decodes one message of the log; `first_epoch` is the deployment's first transit
/// epoch once the genesis matched, `closed` the latest epoch closed before it in the stream.
fn open(
    config: &Mutex<ReplicaConfig>,
    stored: &Stored,
    first_epoch: Option<u64>,
    closed: Option<u64>,
) -> Result<Opened, Unopened> {
    let message = &stored.message;
    let (format, headers) =
        RequestHeaders::parse_any_format(&message.format, &message.epoch, &message.msg_id)
            .map_err(|e| Unopened::NotSealedByUs(e.to_string()))?;
    // Decided on the stream's order alone, before any key is asked for: a replica that has
    // destroyed the epoch's key and one that has not refuse it alike.
    if closed.is_some_and(|closed| headers.epoch <= closed) {
        return Err(Unopened::EpochClosed(headers.epoch));
    }
    let config = config
        .lock()
        .map_err(|_| Unopened::Unusable("poisoned".to_owned()))?;
    let key = match config.ratchet.key(headers.epoch) {
        Ok(key) => key,
        Err(error @ TransitError::EpochTooFar { .. }) => {
            return Err(Unopened::NotSealedByUs(error.to_string()));
        }
        Err(error @ TransitError::EpochDestroyed { epoch, .. })
            if first_epoch.is_some_and(|first| epoch < first) =>
        {
            return Err(Unopened::NotSealedByUs(format!(
                "{error}, and before the deployment's first"
            )));
        }
        Err(error) => return Err(Unopened::Unusable(error.to_string())),
    };
    let bytes = key
        .open_as(format, &headers.msg_id, &message.body)
        .map_err(|e| Unopened::NotSealedByUs(e.to_string()))?;
    match format {
        LEDGER_FORMAT => decode_request(&bytes).map(Opened::Append),
        ERASURE_CLOSE_FORMAT => decode_close(&bytes).map(Opened::CloseErasures),
        _ => {
            return Err(Unopened::Unusable(format!(
                "a request of format {format}, sealed by a replica of this deployment: this \
                 replica applies formats {LEDGER_FORMAT} and {ERASURE_CLOSE_FORMAT} only (upgrade it)"
            )));
        }
    }
    .map_err(|e| Unopened::Unusable(e.to_string()))
}

#[cfg(test)]
mod close_tests;
#[cfg(test)]
mod tests;
