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

use super::genesis::{GENESIS_MSG_ID, GenesisError, Provisioning};
use super::input_log::{InputLog, InputLogError, Outgoing, Stored};
use super::message::{MessageError, decode_request, encode_request, seal_details};
use super::transit::{
    LEDGER_FORMAT, MsgIdKey, RequestHeaders, TransitError, TransitRatchet, epoch_of,
};
use crate::sequencer::{
    AppendError, Arrival, CorrectionRights, PreparedEvent, Receipt, SequencerHandle,
};

/// Outcomes kept for the receiving side to collect, at most (older ones are answered as retries).
const KEPT_OUTCOMES: usize = 4096;
/// Messages read from the log at a time.
const FETCH_BATCH: usize = 256;

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
    outcomes: Mutex<BTreeMap<u64, Outcome>>,
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
}

impl<L: InputLog> Replica<L> {
    /// Starts applying `log` from the message after `applied` (the store's
    /// `applied_input`, 0 for none) with `sequencer`.
    pub fn start(
        log: Arc<L>,
        sequencer: SequencerHandle,
        applied: u64,
        config: ReplicaConfig,
    ) -> Self {
        let shared = Arc::new(Shared {
            applied: watch::Sender::new(applied),
            outcomes: Mutex::new(BTreeMap::new()),
            failure: Arc::default(),
            skipped: Arc::default(),
        });
        let config = Arc::new(Mutex::new(config));
        let (stop, stopped) = watch::channel(false);
        let applier = tokio::spawn(apply(
            log.clone(),
            sequencer.clone(),
            config.clone(),
            shared.clone(),
            applied,
            stopped,
        ));
        Self {
            log,
            sequencer,
            config,
            shared,
            stop,
            applier: Mutex::new(Some(applier)),
        }
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

    /// Publishes a request received here and answers with this replica's apply of it.
    pub async fn append(
        &self,
        producer: &str,
        corrects: CorrectionRights,
        mut events: Vec<PreparedEvent>,
    ) -> Result<Vec<Receipt>, ReplicaError> {
        // A replica that no longer applies would publish a request and never answer it: refused
        // before anything is published (another replica can take it).
        if let Some(why) = self.failure() {
            return Err(ReplicaError::Unavailable(format!(
                "this replica has stopped applying the input log ({why}); send the request to another replica"
            )));
        }
        seal_details(&mut events).map_err(MessageError::from)?;
        let request = encode_request(producer, corrects, &events)?;
        let digests: Vec<[u8; 32]> = events.iter().map(|e| e.content_digest).collect();
        let (outgoing, publish_timeout, apply_timeout) = {
            let config = self
                .config
                .lock()
                .map_err(|_| ReplicaError::Unavailable("poisoned".into()))?;
            let epoch = epoch_of(crate::unix_time::now_seconds(), config.epoch_secs);
            let msg_id = config.msg_ids.msg_id(producer, "append", &digests, epoch);
            let body = config.ratchet.key(epoch)?.seal(&msg_id, &request)?;
            let outgoing = Outgoing {
                msg_id,
                format: LEDGER_FORMAT.to_string(),
                epoch: epoch.to_string(),
                body,
            };
            (outgoing, config.publish_timeout, config.apply_timeout)
        };
        let ack = tokio::time::timeout(publish_timeout, self.log.publish(outgoing))
            .await
            .map_err(|_| {
                ReplicaError::Unavailable(format!(
                    "the input log did not acknowledge within {publish_timeout:?}"
                ))
            })?
            .map_err(|e: InputLogError| ReplicaError::Unavailable(e.to_string()))?;
        self.wait_applied(ack.seq, apply_timeout).await?;
        if !ack.duplicate
            && let Some(outcome) = self.take_outcome(ack.seq)
        {
            return Ok(outcome?);
        }
        // A duplicate of a message applied before, or an outcome no longer kept: answered as a
        // retry against what the log holds.
        Ok(self
            .sequencer
            .answer_retry(producer.to_owned(), corrects, events)
            .await?)
    }

    fn take_outcome(&self, seq: u64) -> Option<Outcome> {
        self.shared.outcomes.lock().ok()?.remove(&seq)
    }

    /// Stops applying, after the messages already queued to the sequencer are answered (the
    /// sequencer is the caller's to stop). The replica still publishes; what it publishes is
    /// applied by the others, and by this one once a replica is started again over its store.
    pub async fn stop_applying(&self) {
        let _ = self.stop.send(true);
        let applier = self.applier.lock().ok().and_then(|mut a| a.take());
        if let Some(applier) = applier {
            let _ = applier.await;
        }
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

/// The applier: reads, opens and queues messages in order; a second task collects their outcomes
/// in the same order and advances `applied`.
async fn apply<L: InputLog>(
    log: Arc<L>,
    sequencer: SequencerHandle,
    config: Arc<Mutex<ReplicaConfig>>,
    shared: Arc<Shared>,
    applied: u64,
    mut stopped: watch::Receiver<bool>,
) {
    let (queued, mut outcomes) =
        mpsc::channel::<(u64, tokio::sync::oneshot::Receiver<Outcome>)>(FETCH_BATCH * 4);
    let collector = {
        let shared = shared.clone();
        tokio::spawn(async move {
            while let Some((seq, outcome)) = outcomes.recv().await {
                let outcome = outcome.await.unwrap_or_else(|_| {
                    Err(AppendError::Unavailable("the sequencer has stopped".into()))
                });
                let stopped = matches!(&outcome, Err(AppendError::Unavailable(_)));
                if let Ok(mut kept) = shared.outcomes.lock() {
                    kept.insert(seq, outcome);
                    while kept.len() > KEPT_OUTCOMES {
                        kept.pop_first();
                    }
                }
                if stopped {
                    // Not applied: the sequencer failed or stopped; never count it.
                    break;
                }
                shared.applied.send_modify(|at| *at = (*at).max(seq));
            }
        })
    };
    let mut next = applied + 1;
    let fail = |why: String| {
        tracing::error!(error = %why, "replica stopped applying the input log (fail-stop)");
        shared.failure.set(why);
    };
    // The deployment's first transit epoch, once the stream's genesis matched this replica.
    let mut genesis: Option<u64> = None;
    if next > 1 {
        // Restarted past the first message: its genesis is read again (unless retention dropped
        // it: then no message is skipped, and a forged one stops this replica).
        match read_genesis(&*log, &config, &mut stopped).await {
            Ok(checked) => genesis = checked,
            Err(why) => {
                fail(why);
                drop(queued);
                let _ = collector.await;
                return;
            }
        }
    }
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
                    match check_genesis(&config, &stored) {
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
                continue;
            }
            let request = match open(&config, &stored, genesis) {
                Ok(request) => request,
                Err(Unopened::NotSealedByUs(why)) if genesis.is_some() => {
                    skip(&shared, &stored, &why);
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
            };
            let outcome = match sequencer
                .submit(
                    request.producer,
                    request.corrects,
                    request.events,
                    arrival,
                    false,
                )
                .await
            {
                Ok(outcome) => outcome,
                Err(error) => {
                    fail(format!("message {}: {error}", stored.seq));
                    break 'reading;
                }
            };
            if queued.send((stored.seq, outcome)).await.is_err() {
                break 'reading;
            }
        }
    }
    drop(queued);
    let _ = collector.await;
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
fn check_genesis(config: &Mutex<ReplicaConfig>, stored: &Stored) -> Result<Option<u64>, String> {
    let config = config.lock().map_err(|_| "poisoned".to_owned())?;
    match config.provisioning.check(&stored.message, &config.ratchet) {
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
                        check_genesis(config, stored)
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
/// epoch once the genesis matched.
fn open(
    config: &Mutex<ReplicaConfig>,
    stored: &Stored,
    first_epoch: Option<u64>,
) -> Result<super::message::DecodedRequest, Unopened> {
    let message = &stored.message;
    let (format, headers) =
        RequestHeaders::parse_any_format(&message.format, &message.epoch, &message.msg_id)
            .map_err(|e| Unopened::NotSealedByUs(e.to_string()))?;
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
    if format != LEDGER_FORMAT {
        return Err(Unopened::Unusable(format!(
            "a request of format {format}, sealed by a replica of this deployment: this replica \
             applies format {LEDGER_FORMAT} only (upgrade it)"
        )));
    }
    decode_request(&bytes).map_err(|e| Unopened::Unusable(e.to_string()))
}

#[cfg(test)]
mod tests;
