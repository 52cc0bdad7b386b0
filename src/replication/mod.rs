//! Replication of the log on an input stream (`docs/replication.md`): the pieces built so far.
//!
//! - [`transit`]: the ratchet of transit keys, the sealed body of a request and its message id.
//! - [`message`]: a prepared job as a `ReplicatedRequest` and back, strictly decoded.
//! - [`input_log`]: the `InputLog` trait (publish, fetch in order) and `MemoryInputLog`.
//! - [`nats`]: the input log on a NATS JetStream stream.
//! - [`replica`]: a replica that publishes what it receives and applies the log in order.
//! - [`genesis`]: the stream's first message, which every replica checks its secrets against.
//! - [`close`]: the close of a transit epoch, after which its key is destroyed.
//!
//! The sequencer is already deterministic (`sequencer::Arrival`, v2 details): a replica that
//! applies the same requests with the same arrivals makes the same log. The input log itself
//! (the stream, the applier) comes next (`docs/replication.md` section 12, steps 3 and 4).

pub mod close;
pub mod genesis;
pub mod input_log;
pub mod message;
pub mod nats;
pub mod replica;
pub mod transit;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::core::directory::DirectorySecret;
use crate::secrets::SecretError;
use crate::sequencer::SequencerHandle;

/// The file in the secrets dir that holds the replica's transit ratchet: 80 hex digits,
/// `u64_be(oldest epoch) || ratchet secret` (mode 0600, never in the data dir).
pub const TRANSIT_RATCHET_FILE: &str = "transit-ratchet";

/// `[replication]`: this server is a replica of a log whose input is a NATS JetStream stream.
/// Without the section the server is the single node it always was and never opens a socket to
/// NATS.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReplicationConfig {
    /// The nats-servers, comma-separated URLs (`nats://host:4222,...`).
    pub nats_urls: String,
    /// nats-servers that store each message (3: a quorum of 2 survives one down).
    pub stream_replicas: usize,
    /// Length of a transit key's epoch.
    pub transit_epoch_secs: u64,
    /// How long after an epoch ends its close falls due (requests sealed near its end have this
    /// long to reach the stream before they must be sealed again).
    pub transit_grace_secs: u64,
    /// Epochs whose transit keys a replica keeps after their close: a rebuild from a backup
    /// replays the stream only as far back as these keys reach (docs/replication.md section 3).
    /// 0 destroys a key as soon as its epoch is closed.
    pub transit_keep_epochs: u64,
    /// How long an append waits for the stream's acknowledgement.
    pub publish_timeout_ms: u64,
    /// How long an append then waits for this replica's own apply.
    pub apply_timeout_ms: u64,
    /// How long the stream keeps messages: a replica down longer must be rebuilt from a backup.
    pub stream_max_age_secs: u64,
    /// The most bytes the stream keeps (JetStream reserves them on each nats-server's disk).
    pub stream_max_bytes: i64,
    /// How long the stream remembers a message id to drop a duplicate.
    pub duplicate_window_secs: u64,
    /// The NATS user this replica connects as (with `nats_password_file`). Only the replicas'
    /// user may publish to the log's subject: any publisher there can stop every replica with a
    /// message none can open (docs/replication.md section 9). Empty: no authentication.
    pub nats_user: String,
    /// The file (mode 0600, outside the data dir) holding `nats_user`'s password.
    pub nats_password_file: Option<std::path::PathBuf>,
    /// TLS to the nats-servers: the PEM file of the CA their certificates chain to. When set, a
    /// replica connects only over TLS and only to servers that CA vouches for. Unset: plaintext,
    /// for a network the operator owns.
    pub nats_tls_ca_file: Option<std::path::PathBuf>,
    /// This replica's client certificate (PEM), for nats-servers that verify clients; with
    /// `nats_tls_key_file`.
    pub nats_tls_cert_file: Option<std::path::PathBuf>,
    /// The private key (PEM, mode 0600) of `nats_tls_cert_file`.
    pub nats_tls_key_file: Option<std::path::PathBuf>,
}

impl Default for ReplicationConfig {
    fn default() -> Self {
        let stream = nats::StreamSettings::default();
        Self {
            nats_urls: String::new(),
            stream_replicas: stream.replicas,
            transit_epoch_secs: 600,
            transit_grace_secs: 60,
            transit_keep_epochs: 6,
            publish_timeout_ms: 2000,
            apply_timeout_ms: 5000,
            stream_max_age_secs: stream.max_age.as_secs(),
            stream_max_bytes: stream.max_bytes,
            duplicate_window_secs: stream.duplicate_window.as_secs(),
            nats_user: String::new(),
            nats_password_file: None,
            nats_tls_ca_file: None,
            nats_tls_cert_file: None,
            nats_tls_key_file: None,
        }
    }
}

/// Why a replica could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ReplicationError {
    /// A setting that cannot work, named.
    #[error("replication.{field}: {why}")]
    Config {
        /// The setting.
        field: &'static str,
        /// What is wrong.
        why: String,
    },
    /// The transit ratchet file.
    #[error("{path}: {why}")]
    Ratchet {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A secret file.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// NATS.
    #[error("the input log: {0}")]
    InputLog(#[from] input_log::InputLogError),
    /// The stream's genesis could not be made.
    #[error("the stream's genesis: {0}")]
    Genesis(String),
    /// The stream no longer holds the messages this replica has yet to apply.
    #[error(
        "this replica has applied the input log up to message {applied}, and the stream keeps \
         messages from {first} on (retention: replication.stream_max_age_secs and \
         stream_max_bytes): rebuild it from a recent backup of a replica (docs/replication.md \
         section 8)"
    )]
    Behind {
        /// The last message this replica applied.
        applied: u64,
        /// The oldest message the stream keeps.
        first: u64,
    },
}

/// Makes a new deployment's transit ratchet in `secrets_dir` (refused if one exists): a random
/// seed at the current epoch. The operator copies the secrets dir (log key, directory and
/// pseudonym secrets, master key, this file) to every replica, out of band.
pub fn init_ratchet(secrets_dir: &Path, epoch_secs: u64) -> Result<PathBuf, ReplicationError> {
    let path = secrets_dir.join(TRANSIT_RATCHET_FILE);
    if path.exists() {
        return Err(ReplicationError::Ratchet {
            path,
            why: "exists already: a deployment has one ratchet, copied to every replica".into(),
        });
    }
    crate::secrets::ensure_dir(secrets_dir)?;
    let epoch = transit::epoch_of(crate::unix_time::now_seconds(), epoch_secs);
    let ratchet = transit::TransitRatchet::new(epoch, crate::secrets::random_bytes()?);
    let text = zeroize::Zeroizing::new(hex::encode(&*ratchet.to_file_bytes()));
    crate::secrets::write_private_file(&path, &text)?;
    Ok(path)
}

/// Reads the replica's transit ratchet.
pub fn load_ratchet(secrets_dir: &Path) -> Result<transit::TransitRatchet, ReplicationError> {
    let path = secrets_dir.join(TRANSIT_RATCHET_FILE);
    if !path.exists() {
        return Err(ReplicationError::Ratchet {
            path,
            why: "missing: run `gdpr-ledger replication init` once for the deployment and copy \
                  the secrets dir to every replica"
                .into(),
        });
    }
    let text = zeroize::Zeroizing::new(crate::secrets::read_private_file(&path)?);
    let bytes = zeroize::Zeroizing::new(hex::decode(text.trim()).map_err(|e| {
        ReplicationError::Ratchet {
            path: path.clone(),
            why: format!("not hex: {e}"),
        }
    })?);
    transit::TransitRatchet::from_file_bytes(&bytes).map_err(|e| ReplicationError::Ratchet {
        path,
        why: e.to_string(),
    })
}

/// The user and password `[replication]` names, read from `nats_password_file` (mode 0600);
/// `None` without `nats_user`. Either setting without the other is refused, naming it.
fn nats_credentials(
    config: &ReplicationConfig,
) -> Result<Option<nats::NatsCredentials>, ReplicationError> {
    match (config.nats_user.trim(), &config.nats_password_file) {
        ("", None) => Ok(None),
        ("", Some(_)) => Err(ReplicationError::Config {
            field: "nats_user",
            why: "empty, but nats_password_file is set: name the NATS user".into(),
        }),
        (_, None) => Err(ReplicationError::Config {
            field: "nats_password_file",
            why: "missing: nats_user needs its password in a file (mode 0600)".into(),
        }),
        (user, Some(path)) => {
            let password = zeroize::Zeroizing::new(crate::secrets::read_private_file(path)?);
            let password = password.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                return Err(ReplicationError::Config {
                    field: "nats_password_file",
                    why: format!("{} is empty", path.display()),
                });
            }
            Ok(Some(nats::NatsCredentials {
                user: user.to_owned(),
                password: zeroize::Zeroizing::new(password.to_owned()),
            }))
        }
    }
}

/// The TLS settings of `config`, checked: `None` without `nats_tls_ca_file`. A client
/// certificate without its key (or the other way round), a client certificate without the CA, a
/// file that cannot be read, or a key that group or others can read is refused, naming the
/// setting.
fn nats_tls(config: &ReplicationConfig) -> Result<Option<nats::NatsTls>, ReplicationError> {
    let readable = |field: &'static str, path: &Path| {
        std::fs::metadata(path)
            .map(|_| ())
            .map_err(|e| ReplicationError::Config {
                field,
                why: format!("{}: {e}", path.display()),
            })
    };
    let client = match (&config.nats_tls_cert_file, &config.nats_tls_key_file) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(ReplicationError::Config {
                field: "nats_tls_key_file",
                why: "missing: nats_tls_cert_file needs its private key".into(),
            });
        }
        (None, Some(_)) => {
            return Err(ReplicationError::Config {
                field: "nats_tls_cert_file",
                why: "missing: nats_tls_key_file is the key of a client certificate".into(),
            });
        }
        (Some(cert), Some(key)) => {
            readable("nats_tls_cert_file", cert)?;
            // The key is a secret: read as one (owner-only mode), and only checked here.
            drop(zeroize::Zeroizing::new(crate::secrets::read_private_file(
                key,
            )?));
            Some((cert.clone(), key.clone()))
        }
    };
    match &config.nats_tls_ca_file {
        None if client.is_some() => Err(ReplicationError::Config {
            field: "nats_tls_ca_file",
            why: "missing: a client certificate is for TLS, which needs the servers' CA".into(),
        }),
        None => Ok(None),
        Some(ca) => {
            readable("nats_tls_ca_file", ca)?;
            Ok(Some(nats::NatsTls {
                ca_file: ca.clone(),
                client,
            }))
        }
    }
}

/// Joins the replicated log: connects to NATS (making or checking the stream), and starts the
/// replica applying from `applied` (the store's `applied_input`). Returns the replica, whose
/// [`sequencer::AppendRoute`](crate::sequencer::AppendRoute) the services' handle takes.
#[allow(clippy::too_many_arguments)]
pub async fn join(
    config: &ReplicationConfig,
    origin: &str,
    secrets_dir: &Path,
    directory_secret: &DirectorySecret,
    provisioning: genesis::Provisioning,
    sequencer: SequencerHandle,
    applied: u64,
    closed: Option<crate::storage::ClosedEpoch>,
    max_message_bytes: usize,
) -> Result<Arc<replica::Replica<nats::NatsInputLog>>, ReplicationError> {
    if config.nats_urls.trim().is_empty() {
        return Err(ReplicationError::Config {
            field: "nats_urls",
            why: "empty: name the nats-servers (nats://host:4222,...)".into(),
        });
    }
    if config.transit_epoch_secs == 0 {
        return Err(ReplicationError::Config {
            field: "transit_epoch_secs",
            why: "must be at least 1".into(),
        });
    }
    if config.duplicate_window_secs > config.stream_max_age_secs {
        // JetStream refuses such a stream; said here, before any connection, by name.
        return Err(ReplicationError::Config {
            field: "duplicate_window_secs",
            why: format!(
                "{} s is longer than stream_max_age_secs ({} s): the stream cannot remember a \
                 message id longer than it keeps the message",
                config.duplicate_window_secs, config.stream_max_age_secs
            ),
        });
    }
    let ratchet = load_ratchet(secrets_dir)?;
    let settings = nats::StreamSettings {
        replicas: config.stream_replicas.max(1),
        max_age: Duration::from_secs(config.stream_max_age_secs),
        max_bytes: config.stream_max_bytes,
        duplicate_window: Duration::from_secs(config.duplicate_window_secs),
        // A request at the limit, sealed and encoded, with room for its envelope.
        max_message_bytes: i32::try_from(max_message_bytes.saturating_mul(2).max(1 << 20))
            .unwrap_or(i32::MAX),
    };
    let credentials = nats_credentials(config)?;
    let tls = nats_tls(config)?;
    let log = Arc::new(
        nats::NatsInputLog::connect_as(&config.nats_urls, credentials, tls, origin, &settings)
            .await?,
    );
    let replica_config = replica::ReplicaConfig {
        ratchet,
        msg_ids: transit::MsgIdKey::derive(directory_secret),
        epoch_secs: config.transit_epoch_secs,
        publish_timeout: Duration::from_millis(config.publish_timeout_ms),
        apply_timeout: Duration::from_millis(config.apply_timeout_ms),
        provisioning,
        keep_epochs: config.transit_keep_epochs,
        close_grace_secs: config.transit_grace_secs,
        // Often enough that a close is published within a tenth of an epoch of falling due.
        close_every: Some(Duration::from_secs(
            config.transit_epoch_secs.div_ceil(10).max(1),
        )),
        ratchet_file: Some(secrets_dir.join(TRANSIT_RATCHET_FILE)),
        clock: replica::system_clock(),
    };
    let made = replica::make_genesis(&*log, &replica_config)
        .await
        .map_err(|e| ReplicationError::Genesis(e.to_string()))?;
    // A replica that would start behind what the stream keeps could never catch up: refused
    // before it serves anything.
    let first = input_log::InputLog::first_seq(&*log).await?;
    if applied + 1 < first {
        return Err(ReplicationError::Behind { applied, first });
    }
    tracing::info!(
        nats = %config.nats_urls,
        applied,
        made_genesis = made,
        "joined the replicated input log"
    );
    Ok(Arc::new(replica::Replica::start(
        log,
        sequencer,
        applied,
        closed,
        replica_config,
    )))
}
