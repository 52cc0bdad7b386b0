//! The input log on NATS JetStream (`docs/replication.md`): one stream per log, R3 and file
//! storage in a deployment, holding each request as one message whose headers are its
//! `Nats-Msg-Id`, `Ledger-Format` and `Ledger-Epoch` and whose body is sealed. JetStream orders,
//! replicates (a publish is acknowledged once a quorum of nats-servers has stored it) and drops a
//! message whose id it saw within the duplicate window; the replicas read it with an ordered pull
//! consumer of their own (no durable consumer state is kept in NATS: a replica's position is its
//! store's `applied_input`).

use std::time::{Duration, SystemTime};

use async_nats::jetstream::{self, consumer, stream};
use tokio::sync::Mutex;
use tokio_stream::StreamExt as _;

use super::input_log::{InputLog, InputLogError, Outgoing, PubAck, Stored};

/// How the stream is made (`[replication]` of the config, `docs/replication.md` section 8).
#[derive(Debug, Clone)]
pub struct StreamSettings {
    /// nats-servers that store each message (3 in a deployment; 1 for a single nats-server).
    pub replicas: usize,
    /// How long messages are kept: a replica may be down this long and still catch up.
    pub max_age: Duration,
    /// The most bytes the stream keeps.
    pub max_bytes: i64,
    /// How long a message id is remembered to drop a duplicate.
    pub duplicate_window: Duration,
    /// The largest message (a request's limit, sealed).
    pub max_message_bytes: i32,
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self {
            replicas: 3,
            max_age: Duration::from_secs(72 * 3600),
            max_bytes: 10 << 30,
            duplicate_window: Duration::from_secs(120),
            max_message_bytes: 8 << 20,
        }
    }
}

/// The stream's and subject's names for a log: `GDPR_LEDGER_<8 hex of BLAKE3(origin)>` and
/// `gdpr-ledger.<same>.requests`, so that several logs can share a NATS cluster.
pub fn names(origin: &str) -> (String, String) {
    let hash = blake3::hash(origin.as_bytes()).to_hex();
    let short = &hash.as_str()[..8];
    (
        format!("GDPR_LEDGER_{}", short.to_ascii_uppercase()),
        format!("gdpr-ledger.{short}.requests"),
    )
}

/// The input log on a JetStream stream.
pub struct NatsInputLog {
    context: jetstream::Context,
    stream: String,
    subject: String,
    /// The ordered consumer the applier reads with, and the next sequence it will give.
    reader: Mutex<Option<(u64, consumer::pull::Ordered)>>,
}

/// A NATS user and its password (`replication.nats_user`, `nats_password_file`).
pub struct NatsCredentials {
    /// The user.
    pub user: String,
    /// Its password, wiped from memory when dropped.
    pub password: zeroize::Zeroizing<String>,
}

/// TLS to the nats-servers: the CA that signs their certificates, and this replica's client
/// certificate and key when the servers verify clients (mutual TLS).
#[derive(Debug, Clone)]
pub struct NatsTls {
    /// PEM file of the CA certificates the servers' certificates must chain to.
    pub ca_file: std::path::PathBuf,
    /// PEM files of this replica's certificate and its private key.
    pub client: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

impl std::fmt::Debug for NatsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsCredentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl NatsInputLog {
    /// Connects to `servers` (comma-separated URLs) without authentication and makes sure the
    /// log's stream exists with `settings` (see [`NatsInputLog::connect_as`]).
    pub async fn connect(
        servers: &str,
        origin: &str,
        settings: &StreamSettings,
    ) -> Result<Self, InputLogError> {
        Self::connect_as(servers, None, None, origin, settings).await
    }

    /// Connects to `servers` (comma-separated URLs), as `credentials`' user if given, over TLS
    /// verified against `tls`'s CA if given (TLS is then required), and makes sure the log's stream
    /// exists with `settings` (created if missing; an existing stream whose
    /// subjects, storage or replicas differ is refused, naming what differs).
    pub async fn connect_as(
        servers: &str,
        credentials: Option<NatsCredentials>,
        tls: Option<NatsTls>,
        origin: &str,
        settings: &StreamSettings,
    ) -> Result<Self, InputLogError> {
        let unavailable = |what: &str, e: &dyn std::fmt::Display| {
            InputLogError::Unavailable(format!("{what}: {e}"))
        };
        let addresses = servers
            .split(',')
            .map(|url| url.trim().parse::<async_nats::ServerAddr>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| unavailable(&format!("nats_urls {servers:?}"), &e))?;
        let options = match credentials {
            Some(credentials) => async_nats::ConnectOptions::with_user_and_password(
                credentials.user,
                credentials.password.to_string(),
            ),
            None => async_nats::ConnectOptions::new(),
        };
        let options = match tls {
            Some(tls) => {
                let options = options.require_tls(true).add_root_certificates(tls.ca_file);
                match tls.client {
                    Some((cert, key)) => options.add_client_certificate(cert, key),
                    None => options,
                }
            }
            None => options,
        };
        let client = options
            .name("gdpr-ledger")
            .connect(addresses)
            .await
            .map_err(|e| unavailable("cannot connect to NATS", &e))?;
        let context = jetstream::new(client);
        let (name, subject) = names(origin);
        let wanted = stream::Config {
            name: name.clone(),
            subjects: vec![subject.clone()],
            storage: stream::StorageType::File,
            num_replicas: settings.replicas,
            retention: stream::RetentionPolicy::Limits,
            discard: stream::DiscardPolicy::Old,
            max_age: settings.max_age,
            max_bytes: settings.max_bytes,
            duplicate_window: settings.duplicate_window,
            max_message_size: settings.max_message_bytes,
            ..Default::default()
        };
        let mut stream = context
            .get_or_create_stream(wanted.clone())
            .await
            .map_err(|e| unavailable("cannot create or find the stream", &e))?;
        let info = stream
            .info()
            .await
            .map_err(|e| unavailable("cannot read the stream's configuration", &e))?;
        let have = &info.config;
        if have.subjects != wanted.subjects
            || have.storage != wanted.storage
            || have.num_replicas != wanted.num_replicas
        {
            return Err(InputLogError::Unavailable(format!(
                "stream {name} exists with subjects {:?}, storage {:?} and {} replicas; this log needs {:?}, {:?} and {}",
                have.subjects,
                have.storage,
                have.num_replicas,
                wanted.subjects,
                wanted.storage,
                wanted.num_replicas
            )));
        }
        // From here on, a JetStream request (a publish's acknowledgement, the stream's info) that
        // gets no answer within a second fails, and its caller tries again: while the stream
        // elects a new leader, the default five seconds kept a replica's applier waiting on a
        // request to a leader that had died.
        let mut context = context;
        context.set_timeout(REQUEST_TIMEOUT);
        Ok(Self {
            context,
            stream: name,
            subject,
            reader: Mutex::new(None),
        })
    }

    /// The stream's state (first and last sequence, messages), asked of the stream now.
    async fn state(&self) -> Result<stream::State, InputLogError> {
        let unavailable = |e: &dyn std::fmt::Display| {
            InputLogError::Unavailable(format!("stream {}: {e}", self.stream))
        };
        let mut stream = self
            .context
            .get_stream(&self.stream)
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(stream
            .info()
            .await
            .map_err(|e| unavailable(&e))?
            .state
            .clone())
    }

    /// An ordered consumer of the stream from `from` on.
    async fn reader_from(&self, from: u64) -> Result<consumer::pull::Ordered, InputLogError> {
        let stream = self
            .context
            .get_stream(&self.stream)
            .await
            .map_err(|e| InputLogError::Unavailable(format!("stream {}: {e}", self.stream)))?;
        // Messages before `first` are gone, whether or not any message is left: a reader from
        // before it would wait forever for what retention dropped.
        let first = stream.cached_info().state.first_sequence;
        if from < first {
            return Err(InputLogError::Truncated { asked: from, first });
        }
        stream
            .create_consumer(consumer::pull::OrderedConfig {
                deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: from.max(1),
                },
                ..Default::default()
            })
            .await
            .map_err(|e| InputLogError::Unavailable(format!("cannot read the stream: {e}")))?
            .messages()
            .await
            .map_err(|e| InputLogError::Unavailable(format!("cannot read the stream: {e}")))
    }
}

/// How long a JetStream request waits for its answer once the stream is made or checked.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// The headers a message is published with (`header` reads them back).
fn headers_of(message: &Outgoing) -> async_nats::HeaderMap {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", message.msg_id.as_str());
    headers.insert("Ledger-Format", message.format.as_str());
    headers.insert("Ledger-Epoch", message.epoch.as_str());
    headers
}

fn header(message: &async_nats::Message, name: &str) -> String {
    message
        .headers
        .as_ref()
        .and_then(|headers| headers.get(name))
        .map(|value| value.as_str().to_owned())
        .unwrap_or_default()
}

/// Where a delivered message stands against the one a reader waits for.
#[derive(Debug, PartialEq, Eq)]
enum InOrder {
    /// The message waited for.
    Next,
    /// One before it, delivered again.
    Again,
    /// One after it: the messages in between did not come.
    Gap,
}

fn next_in_order(next: u64, seq: u64) -> InOrder {
    match seq.cmp(&next) {
        std::cmp::Ordering::Equal => InOrder::Next,
        std::cmp::Ordering::Less => InOrder::Again,
        std::cmp::Ordering::Greater => InOrder::Gap,
    }
}

impl InputLog for NatsInputLog {
    async fn last_seq(&self) -> Result<u64, InputLogError> {
        Ok(self.state().await?.last_sequence)
    }

    async fn first_seq(&self) -> Result<u64, InputLogError> {
        Ok(self.state().await?.first_sequence.max(1))
    }

    async fn publish(&self, message: Outgoing) -> Result<PubAck, InputLogError> {
        let headers = headers_of(&message);
        let ack = self
            .context
            .publish_with_headers(self.subject.clone(), headers, message.body.into())
            .await
            .map_err(|e| InputLogError::Unavailable(format!("publish: {e}")))?
            .await
            .map_err(|e| InputLogError::Unavailable(format!("no acknowledgement: {e}")))?;
        Ok(PubAck {
            seq: ack.sequence,
            duplicate: ack.duplicate,
        })
    }

    async fn publish_first(&self, message: Outgoing) -> Result<bool, InputLogError> {
        let mut headers = headers_of(&message);
        // JetStream stores it only while the stream's last sequence is 0.
        headers.insert("Nats-Expected-Last-Sequence", "0");
        let acked = self
            .context
            .publish_with_headers(self.subject.clone(), headers, message.body.into())
            .await
            .map_err(|e| InputLogError::Unavailable(format!("publish: {e}")))?
            .await;
        match acked {
            Ok(ack) => Ok(!ack.duplicate),
            // Refused because the stream holds a message already: another replica was first.
            Err(_) if self.last_seq().await? > 0 => Ok(false),
            Err(e) => Err(InputLogError::Unavailable(format!(
                "no acknowledgement: {e}"
            ))),
        }
    }

    async fn fetch(
        &self,
        from: u64,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Stored>, InputLogError> {
        let mut reader = self.reader.lock().await;
        if reader.as_ref().is_none_or(|(next, _)| *next != from) {
            *reader = Some((from, self.reader_from(from).await?));
        }
        let Some((next, messages)) = reader.as_mut() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut deadline = wait;
        while out.len() < max {
            let item = match tokio::time::timeout(deadline, messages.next()).await {
                Err(_) | Ok(None) => break,
                Ok(Some(item)) => item,
            };
            // After the first message, take only what is already there.
            deadline = Duration::ZERO;
            let message = match item {
                Ok(message) => message,
                Err(error) => {
                    // The consumer recreates itself; start again from where we are next time.
                    let at = *next;
                    drop(reader);
                    tracing::warn!(%error, from = at, "reading the input log");
                    return Ok(out);
                }
            };
            let info = message.info().map_err(|e| {
                InputLogError::Unavailable(format!("a message without its stream info: {e}"))
            })?;
            let seq = info.stream_sequence;
            match next_in_order(*next, seq) {
                InOrder::Next => {}
                InOrder::Again => {
                    // The ordered consumer recreated itself (its server died) and started again
                    // before what it had delivered: that message was answered already.
                    tracing::debug!(seq, next = *next, "the input log delivered a message again");
                    continue;
                }
                InOrder::Gap => {
                    // Never answer past a hole: the next fetch reads anew from `next`, and a
                    // stream that dropped it says so (`Truncated`).
                    tracing::warn!(
                        seq,
                        next = *next,
                        "the input log skipped a message; reading anew"
                    );
                    *reader = None;
                    return Ok(out);
                }
            }
            let timestamp = SystemTime::from(info.published);
            let stored = Stored {
                seq,
                timestamp,
                message: Outgoing {
                    msg_id: header(&message, "Nats-Msg-Id"),
                    format: header(&message, "Ledger-Format"),
                    epoch: header(&message, "Ledger-Epoch"),
                    body: message.payload.to_vec(),
                },
            };
            *next = seq + 1;
            out.push(stored);
        }
        if out.is_empty() {
            // Nothing came: fine if the stream has nothing new. If it has, the consumer is stuck
            // (its pull was lost with a stream leader that died): make a new one next time.
            drop(reader);
            if self.last_seq().await? >= from {
                tracing::info!(from, "the input log's reader was stuck; reading anew");
                *self.reader.lock().await = None;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_answers_each_message_once_and_never_past_a_hole() {
        assert_eq!(next_in_order(21, 21), InOrder::Next);
        // What the replica saw once after a stream server died: 20 again where 21 was next.
        assert_eq!(next_in_order(21, 20), InOrder::Again);
        assert_eq!(next_in_order(21, 1), InOrder::Again);
        assert_eq!(next_in_order(21, 22), InOrder::Gap);
    }
}
