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

/// The `GDPR_LEDGER_*` variables that are not settings, by the name after the prefix (lower
/// case): `GDPR_LEDGER_CONFIG` names the file (`serve --config`), `GDPR_LEDGER_MASTER_KEY` is a
/// secret the server reads itself, and the clients' variables (`GDPR_LEDGER_TOKEN` of the
/// command line and the example clients, `GDPR_LEDGER_ADDRESS`, `GDPR_LEDGER_READER_TOKEN` and
/// `GDPR_LEDGER_VERIFIER_KEY` of `examples/python`), which a shell that starts the server may
/// export too. Every other `GDPR_LEDGER_*` variable must name a setting.
pub const ENV_NOT_SETTINGS: &[&str] = &[
    "config",
    "master_key",
    "token",
    "address",
    "reader_token",
    "verifier_key",
];

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
    /// The HTTP ingest listener (CloudEvents over HTTP, `docs/http-ingest.md`): off while unset.
    /// It serves appends only, with the gRPC listener's TLS (`[tls]`), tokens and limits; without
    /// TLS, only on loopback unless `allow_plaintext_non_loopback`, as gRPC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_listen: Option<SocketAddr>,
    /// TLS and mutual TLS of the gRPC listener (and of the HTTP ingest listener).
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
    /// The time zone and public holidays data subject request deadlines are counted under
    /// (article 12(3); `docs/requests.md`).
    pub requests: crate::reports::request_case::RequestPolicyConfig,
    /// The opt-in policy: collections through these channels for these purposes need consent,
    /// whatever legal basis they state (`docs/erasure.md` section 6).
    pub consent: crate::consent::ConsentPolicyConfig,
    /// The retention schedule: how long each holder may keep data of a category for a purpose
    /// (`docs/retention.md`).
    pub retention: crate::reports::retention::RetentionConfig,
    /// The data map: when a declared system is silent, and the declared systems
    /// (`docs/data-map.md`).
    pub data_map: crate::reports::data_map::DataMapConfig,
    /// Logging.
    pub log: LogConfig,
    /// `[replication]`: a replica of a log replicated on NATS JetStream (`docs/replication.md`);
    /// absent, a single node that never talks to NATS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication: Option<crate::replication::ReplicationConfig>,
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
            http_listen: None,
            tls: TlsConfig::default(),
            tokens: Vec::new(),
            limits: RequestLimits::default(),
            sequencer: SequencerConfig::default(),
            storage: StorageConfig::default(),
            reports: crate::reports::distinct::SpillConfig::default(),
            controller: crate::reports::breach_case::ControllerConfig::default(),
            requests: crate::reports::request_case::RequestPolicyConfig::default(),
            consent: crate::consent::ConsentPolicyConfig::default(),
            retention: crate::reports::retention::RetentionConfig::default(),
            data_map: crate::reports::data_map::DataMapConfig::default(),
            log: LogConfig::default(),
            replication: None,
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
    /// A `GDPR_LEDGER_*` environment variable names no setting.
    #[error(
        "configuration: the environment variable {variable} names no setting (`{key}`): GDPR_LEDGER_<KEY> variables set the keys of the configuration (nested keys joined by \"__\"; GDPR_LEDGER_CONFIG, GDPR_LEDGER_MASTER_KEY and the clients' GDPR_LEDGER_TOKEN, _ADDRESS, _READER_TOKEN and _VERIFIER_KEY are read apart)"
    )]
    UnknownVariable {
        /// The variable, e.g. `GDPR_LEDGER_LIMITS__MAX_BATCH_EVENT`.
        variable: String,
        /// The key it stands for, e.g. `limits.max_batch_event`.
        key: String,
    },
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

impl ConfigError {
    /// A figment error, with an unknown key that came from the environment named as the variable
    /// that set it.
    fn from_figment(error: figment::Error) -> Self {
        if let figment::error::Kind::UnknownField(field, _) = &error.kind {
            let from_env = error
                .metadata
                .as_ref()
                .is_some_and(|metadata| metadata.name.contains("environment"));
            if from_env {
                let mut path = error.path.clone();
                if path.last() != Some(field) {
                    path.push(field.clone());
                }
                let variable = format!("{ENV_PREFIX}{}", path.join("__").to_ascii_uppercase());
                return ConfigError::UnknownVariable {
                    variable,
                    key: path.join("."),
                };
            }
        }
        ConfigError::Parse(Box::new(error))
    }
}

impl Config {
    /// Loads defaults, then the file (if any), then the environment, and checks the result.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let config = Self::read(file)?;
        config.check()?;
        Ok(config)
    }

    /// [`Config::load`] without the check, for a caller that overrides settings (command-line
    /// flags) and then checks what it will run with: a default that a flag replaces is never
    /// checked (a relative default path cannot be resolved without a working directory).
    pub fn read(file: Option<&Path>) -> Result<Self, ConfigError> {
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
                    .ignore(ENV_NOT_SETTINGS)
                    .split("__"),
            )
            .extract()
            .map_err(ConfigError::from_figment)?;
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
        let plaintext = [("listen", "gRPC", Some(self.listen))].into_iter().chain([(
            "http_listen",
            "HTTP",
            self.http_listen,
        )]);
        for (key, what, address) in plaintext {
            let Some(address) = address else { continue };
            if !self.tls.enabled()
                && !self.allow_plaintext_non_loopback
                && !address.ip().is_loopback()
            {
                return Err(ConfigError::Invalid {
                    key,
                    reason: format!(
                        "{address} is not a loopback address; plaintext {what} is served only on loopback unless allow_plaintext_non_loopback = true (or TLS is configured in [tls])"
                    ),
                });
            }
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
        self.data_map
            .check()
            .map_err(|(key, reason)| ConfigError::Invalid { key, reason })?;
        Ok(())
    }
}
