//! The server's configuration: one TOML file, overridden by `GDPR_LEDGER_*` environment variables
//! (nested keys joined by `__`, e.g. `GDPR_LEDGER_LIMITS__MAX_BATCH_EVENTS=500`). Unknown keys are
//! refused with their name. Every key and its default is in `deploy/config.example.toml`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};

use crate::sequencer::SequencerConfig;
use crate::service::RequestLimits;
use crate::service::auth::TokenConfig;
use crate::storage::StorageConfig;

/// Prefix of the environment variables that override the file.
pub const ENV_PREFIX: &str = "GDPR_LEDGER_";

/// The whole configuration.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The log's origin (SPEC.md section 1): its name in checkpoints and signatures. No white space,
    /// no `+`. Fixed for the life of a data dir.
    pub origin: String,
    /// Where RocksDB keeps the log.
    pub data_dir: PathBuf,
    /// Where the log key and the secrets live: never inside `data_dir`, so that a copy of the data
    /// alone holds no key.
    pub secrets_dir: PathBuf,
    /// Key rotation: a new log signing key (a file made by `gdpr-ledger keygen`, mode 0600, never
    /// inside `data_dir`). While set, every checkpoint is signed by the current key
    /// (`secrets_dir/log-signing-key`) and by this one, so that verifiers can learn it before it
    /// takes over; entries stay signed by the current key. To finish the rotation, replace the
    /// current key file with this one and remove the setting: from then on it signs everything.
    /// `None` (the default): no rotation under way.
    pub next_log_key_file: Option<PathBuf>,
    /// gRPC listen address.
    pub listen: SocketAddr,
    /// Allow plaintext gRPC on a non-loopback address. Off by default: without TLS, only loopback.
    pub allow_plaintext_non_loopback: bool,
    /// Bearer tokens and the identities and roles they stand for. When empty, the first start
    /// creates a development admin token in `secrets_dir` and prints it.
    pub tokens: Vec<TokenConfig>,
    /// Request limits.
    pub limits: RequestLimits,
    /// Sequencer tuning.
    pub sequencer: SequencerConfig,
    /// RocksDB memory budget.
    pub storage: StorageConfig,
    /// Logging.
    pub log: LogConfig,
}

/// How the server logs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A `tracing` filter, e.g. `info` or `gdpr_ledger=debug,info`; `RUST_LOG` overrides it.
    pub filter: String,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            filter: "info".into(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            origin: "gdpr-ledger.localhost/dev".into(),
            data_dir: PathBuf::from("./data"),
            secrets_dir: PathBuf::from("./secrets"),
            next_log_key_file: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            allow_plaintext_non_loopback: false,
            tokens: Vec::new(),
            limits: RequestLimits::default(),
            sequencer: SequencerConfig::default(),
            storage: StorageConfig::default(),
            log: LogConfig::default(),
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or an environment variable does not parse, or names an unknown key.
    #[error("configuration: {0}")]
    Parse(Box<figment::Error>),
    /// The configuration file named does not exist.
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    /// A value is not acceptable.
    #[error("configuration: {key}: {reason}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// Why.
        reason: String,
    },
}

impl Config {
    /// Loads defaults, then the file (if any), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError::MissingFile(file.to_owned()));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        let config: Config = figment
            .merge(Env::prefixed(ENV_PREFIX).split("__"))
            .extract()
            .map_err(|e| ConfigError::Parse(Box::new(e)))?;
        config.check()?;
        Ok(config)
    }

    /// Checks what serde cannot.
    pub fn check(&self) -> Result<(), ConfigError> {
        crate::core::signature::validate_key_name(&self.origin).map_err(|e| {
            ConfigError::Invalid {
                key: "origin",
                reason: e.to_string(),
            }
        })?;
        if !self.allow_plaintext_non_loopback && !self.listen.ip().is_loopback() {
            return Err(ConfigError::Invalid {
                key: "listen",
                reason: format!(
                    "{} is not a loopback address; plaintext gRPC is served only on loopback unless allow_plaintext_non_loopback = true",
                    self.listen
                ),
            });
        }
        if self.secrets_dir.starts_with(&self.data_dir) || self.secrets_dir == self.data_dir {
            return Err(ConfigError::Invalid {
                key: "secrets_dir",
                reason:
                    "must not be inside data_dir (a copy of the data dir must not carry the keys)"
                        .into(),
            });
        }
        let limits = &self.limits;
        for (key, value) in [
            ("limits.max_event_bytes", limits.max_event_bytes),
            ("limits.max_request_bytes", limits.max_request_bytes),
            ("limits.max_batch_events", limits.max_batch_events),
            (
                "sequencer.max_group_entries",
                self.sequencer.max_group_entries,
            ),
            ("sequencer.queue_depth", self.sequencer.queue_depth),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid {
                    key,
                    reason: "must be at least 1".into(),
                });
            }
        }
        Ok(())
    }
}
