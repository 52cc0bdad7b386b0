//! The input log replicas apply: an ordered, replicated stream of messages (NATS JetStream in a
//! deployment, `docs/replication.md`; [`MemoryInputLog`] in tests). The log orders and stores;
//! it never sees a request in the clear.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;

/// A message as published: its headers and its (sealed) body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// `Nats-Msg-Id`: the log drops a message whose id it has seen within its duplicate window.
    pub msg_id: String,
    /// `Ledger-Format`.
    pub format: String,
    /// `Ledger-Epoch`.
    pub epoch: String,
    /// The sealed request.
    pub body: Vec<u8>,
}

/// A message as the log holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its sequence in the log, from 1.
    pub seq: u64,
    /// When the log stored it (the same for every reader): the entries' `received_at`.
    pub timestamp: SystemTime,
    /// What was published.
    pub message: Outgoing,
}

/// The log's answer to a publish: where the message is, and whether it was already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PubAck {
    /// The message's sequence (the first one's, for a duplicate).
    pub seq: u64,
    /// The id was seen within the duplicate window: nothing was stored.
    pub duplicate: bool,
}

/// Why the log did not answer.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputLogError {
    /// No quorum, no connection, or no answer in time: the message may or may not be stored.
    #[error("the input log is unavailable: {0}")]
    Unavailable(String),
    /// The messages before `first` are no longer kept (retention dropped them).
    #[error("the input log keeps messages from {first} on; {asked} is gone")]
    Truncated {
        /// The sequence asked for.
        asked: u64,
        /// The oldest kept.
        first: u64,
    },
}

/// An ordered, replicated log of messages.
pub trait InputLog: Send + Sync + 'static {
    /// Stores a message once a quorum has it, or answers with the sequence of the message of the
    /// same id already stored.
    fn publish(
        &self,
        message: Outgoing,
    ) -> impl std::future::Future<Output = Result<PubAck, InputLogError>> + Send;

    /// Stores `message` as the log's first, only while the log is empty: whether it did (a log
    /// that already holds a message is left as it is).
    fn publish_first(
        &self,
        message: Outgoing,
    ) -> impl std::future::Future<Output = Result<bool, InputLogError>> + Send;

    /// The last sequence stored (0 while empty).
    fn last_seq(&self) -> impl std::future::Future<Output = Result<u64, InputLogError>> + Send;

    /// The oldest sequence the log still keeps, or would store next when retention dropped every
    /// message (1 for a log that never dropped one).
    fn first_seq(&self) -> impl std::future::Future<Output = Result<u64, InputLogError>> + Send;

    /// Up to `max` messages from sequence `from` on, in order; waits up to `wait` for the first
    /// one when there is none yet (an empty answer then).
    fn fetch(
        &self,
        from: u64,
        max: usize,
        wait: Duration,
    ) -> impl std::future::Future<Output = Result<Vec<Stored>, InputLogError>> + Send;
}

/// An input log in memory: one process's stand-in for a stream, with its duplicate window (by
/// message id, for the log's lifetime) and a switch that makes it unavailable.
#[derive(Debug, Default)]
pub struct MemoryInputLog {
    state: Mutex<MemoryLogState>,
    appended: Notify,
}

#[derive(Debug, Default)]
struct MemoryLogState {
    messages: Vec<Stored>,
    ids: HashMap<String, u64>,
    unavailable: bool,
}

impl MemoryInputLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes publishes fail as without a quorum (`true`), or work again.
    pub fn set_unavailable(&self, unavailable: bool) {
        if let Ok(mut state) = self.state.lock() {
            state.unavailable = unavailable;
        }
    }

    /// The last sequence stored (0 while empty).
    pub fn last(&self) -> u64 {
        self.state
            .lock()
            .map(|state| state.messages.len() as u64)
            .unwrap_or(0)
    }

    /// Stores `message` (only into an empty log when `only_first`): its acknowledgement, or
    /// `None` when `only_first` found the log holding messages.
    fn store(&self, message: Outgoing, only_first: bool) -> Result<Option<PubAck>, InputLogError> {
        let ack = {
            let mut state = self
                .state
                .lock()
                .map_err(|_| InputLogError::Unavailable("poisoned".into()))?;
            if state.unavailable {
                return Err(InputLogError::Unavailable("no quorum".into()));
            }
            if only_first && !state.messages.is_empty() {
                return Ok(None);
            }
            if let Some(seq) = state.ids.get(&message.msg_id) {
                return Ok(Some(PubAck {
                    seq: *seq,
                    duplicate: true,
                }));
            }
            let seq = state.messages.len() as u64 + 1;
            state.ids.insert(message.msg_id.clone(), seq);
            state.messages.push(Stored {
                seq,
                timestamp: SystemTime::now(),
                message,
            });
            PubAck {
                seq,
                duplicate: false,
            }
        };
        self.appended.notify_waiters();
        Ok(Some(ack))
    }

    /// Every message stored, in order (what an operator could read from the stream's files).
    pub fn messages(&self) -> Vec<Stored> {
        self.state
            .lock()
            .map(|state| state.messages.clone())
            .unwrap_or_default()
    }
}

impl InputLog for MemoryInputLog {
    async fn last_seq(&self) -> Result<u64, InputLogError> {
        Ok(self.last())
    }

    async fn first_seq(&self) -> Result<u64, InputLogError> {
        // The memory log keeps every message.
        Ok(1)
    }

    async fn publish_first(&self, message: Outgoing) -> Result<bool, InputLogError> {
        Ok(self.store(message, true)?.is_some())
    }

    async fn publish(&self, message: Outgoing) -> Result<PubAck, InputLogError> {
        self.store(message, false)?
            .ok_or_else(|| InputLogError::Unavailable("not stored".into()))
    }

    async fn fetch(
        &self,
        from: u64,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Stored>, InputLogError> {
        let read = || -> Result<Vec<Stored>, InputLogError> {
            let state = self
                .state
                .lock()
                .map_err(|_| InputLogError::Unavailable("poisoned".into()))?;
            let start = usize::try_from(from.max(1) - 1).unwrap_or(usize::MAX);
            Ok(state
                .messages
                .iter()
                .skip(start)
                .take(max)
                .cloned()
                .collect())
        };
        // Registered before the read, so that a publish between the two still wakes this.
        let appended = self.appended.notified();
        let messages = read()?;
        if !messages.is_empty() {
            return Ok(messages);
        }
        let _ = tokio::time::timeout(wait, appended).await;
        read()
    }
}
