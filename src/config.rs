//! The server's configuration: one TOML file, overridden by `GDPR_LEDGER_*` environment variables
//! (nested keys joined by `__`, e.g. `GDPR_LEDGER_LIMITS__MAX_BATCH_EVENTS=500`). Unknown keys are
//! refused with their name. Every key and its default is in `deploy/config.example.toml`.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};

use crate::sequencer::SequencerConfig;
use crate::service::RequestLimits;
use crate::service::auth::TokenConfig;
use crate::storage::StorageConfig;
use crate::tls::TlsConfig;

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
    /// The master key that wraps every subject's data key (crypto-shredding, docs/erasure.md): a
    /// file of 64 hex digits, mode 0600, never inside `data_dir`. The environment variable
    /// `GDPR_LEDGER_MASTER_KEY` (64 hex digits) takes precedence. `None` (the default): the file
    /// `secrets_dir/master-key`, created on the first start.
    pub master_key_file: Option<PathBuf>,
    /// Erasure: the journal that lets a restore re-apply erasures, and purge batching.
    pub erasure: crate::erasure::ErasureConfig,
    /// gRPC listen address.
    pub listen: SocketAddr,
    /// Allow plaintext gRPC on a non-loopback address. Off by default: without TLS, only loopback.
    /// With TLS configured (`[tls]`), any address is allowed and this key has no effect.
    pub allow_plaintext_non_loopback: bool,
    /// The HTTP listener of `/metrics` (Prometheus) and `/healthz`, or `off`.
    pub metrics_listen: MetricsListen,
    /// TLS and mutual TLS of the gRPC listener.
    pub tls: TlsConfig,
    /// Bearer tokens and the identities and roles they stand for. When empty and no client
    /// certificate is mapped (`tls.clients`), the first start creates a development admin token in
    /// `secrets_dir` and prints it.
    pub tokens: Vec<TokenConfig>,
    /// Request limits.
    pub limits: RequestLimits,
    /// Sequencer tuning.
    pub sequencer: SequencerConfig,
    /// RocksDB memory budget.
    pub storage: StorageConfig,
    /// Reports: the memory a breach investigation (or `audit --data-dir`) may hold while it counts
    /// distinct subjects, and where it spills beyond (`docs/reports.md`).
    pub reports: crate::reports::distinct::SpillConfig,
    /// The controller's name and its data protection officer's contact, which breach
    /// notification drafts show (article 33(3)(b); `docs/breach-cases.md`).
    pub controller: crate::reports::breach_case::ControllerConfig,
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
            master_key_file: None,
            erasure: crate::erasure::ErasureConfig::default(),
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            allow_plaintext_non_loopback: false,
            metrics_listen: MetricsListen::Address(SocketAddr::from(([127, 0, 0, 1], 9464))),
            tls: TlsConfig::default(),
            tokens: Vec::new(),
            limits: RequestLimits::default(),
            sequencer: SequencerConfig::default(),
            storage: StorageConfig::default(),
            reports: crate::reports::distinct::SpillConfig::default(),
            controller: crate::reports::breach_case::ControllerConfig::default(),
            log: LogConfig::default(),
        }
    }
}

/// Where the metrics listener listens: a socket address, or `off` (also written as an empty
/// string) for no metrics listener. In the file and the environment it is a string, e.g.
/// `metrics_listen = "0.0.0.0:9464"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsListen {
    /// No metrics listener.
    Off,
    /// Listen on this address.
    Address(SocketAddr),
}

impl MetricsListen {
    /// The address, unless the listener is off.
    pub fn address(self) -> Option<SocketAddr> {
        match self {
            MetricsListen::Off => None,
            MetricsListen::Address(address) => Some(address),
        }
    }
}

impl fmt::Display for MetricsListen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetricsListen::Off => f.write_str("off"),
            MetricsListen::Address(address) => address.fmt(f),
        }
    }
}

/// A `metrics_listen` value that is neither a socket address nor `off`.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a socket address (e.g. 127.0.0.1:9464) nor \"off\"")]
pub struct MetricsListenError(String);

impl FromStr for MetricsListen {
    type Err = MetricsListenError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("off") {
            return Ok(MetricsListen::Off);
        }
        text.parse()
            .map(MetricsListen::Address)
            .map_err(|_| MetricsListenError(text.to_owned()))
    }
}

impl serde::Serialize for MetricsListen {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for MetricsListen {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
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
            // The master key may come from GDPR_LEDGER_MASTER_KEY, which the server reads itself
            // (it is a secret, not a setting).
            .merge(
                Env::prefixed(ENV_PREFIX)
                    .ignore(&["master_key"])
                    .split("__"),
            )
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
        self.tls
            .check()
            .map_err(|(key, reason)| ConfigError::Invalid { key, reason })?;
        if !self.tls.enabled()
            && !self.allow_plaintext_non_loopback
            && !self.listen.ip().is_loopback()
        {
            return Err(ConfigError::Invalid {
                key: "listen",
                reason: format!(
                    "{} is not a loopback address; plaintext gRPC is served only on loopback unless allow_plaintext_non_loopback = true (or TLS is configured in [tls])",
                    self.listen
                ),
            });
        }
        let inside = crate::paths::is_within(&self.secrets_dir, &self.data_dir).map_err(|e| {
            ConfigError::Invalid {
                key: "secrets_dir",
                reason: format!("cannot be resolved: {e}"),
            }
        })?;
        if inside {
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
