//! Wires the parts into a running server: secrets, TLS, store, sequencer, gRPC service (with the
//! standard health and reflection services), the metrics listener, and a graceful shutdown that
//! finishes in-flight appends before the store closes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::config::Config;
use crate::core::directory::{DirectorySecret, PseudonymSecret};
use crate::core::signature::LogSigner;
use crate::metrics::{LedgerMetrics, MetricsListener, MetricsListenerError};
use crate::proto::v1::ledger_server::LedgerServer;
use crate::secrets::{self, SecretError};
use crate::sequencer::{self, SequencerParts};
use crate::service::LedgerService;
use crate::service::admission::Admission;
use crate::service::auth::{Authenticator, Caller, Role, TokenConfigError, TokenTable};
use crate::storage::{LedgerStore, StorageError};
use crate::tls::{self, ClientCertificateMap, TlsError};

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A key or secret file.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The token configuration.
    #[error(transparent)]
    Tokens(#[from] TokenConfigError),
    /// The TLS files or the client certificate map.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The metrics listener.
    #[error(transparent)]
    Metrics(#[from] MetricsListenerError),
    /// The store.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The log key does not fit the origin.
    #[error("log key: {0}")]
    Key(String),
    /// The legacy identifier lists could not be rewritten.
    #[error("identifier lists: {0}")]
    Identifiers(String),
    /// Binding or serving the socket.
    #[error("gRPC transport: {0}")]
    Transport(String),
    /// Creating the data dir.
    #[error("data dir {path}: {source}")]
    DataDir {
        /// The dir.
        path: std::path::PathBuf,
        /// The failure.
        source: std::io::Error,
    },
}

/// What a first start created, for the operator to see once.
#[derive(Debug, Clone, Default)]
pub struct FirstRun {
    /// A log key was generated now.
    pub created_log_key: bool,
    /// A development admin token was created (or reused) because no token and no client
    /// certificate is configured.
    pub dev_token: Option<String>,
}

/// A server that is listening.
pub struct RunningServer {
    /// The address it listens on (useful with port 0).
    pub local_addr: SocketAddr,
    /// Where the metrics listener listens, unless it is off.
    pub metrics_addr: Option<SocketAddr>,
    /// Whether gRPC is served over TLS.
    pub tls: bool,
    /// The verifier key of the key that signs new entries (`<origin>+<key id>+<key>`).
    pub verifier_key: String,
    /// Every key that signs checkpoints: the current key, then the next one during a rotation.
    pub verifier_keys: Vec<String>,
    /// What the first start created.
    pub first_run: FirstRun,
    shutdown: Option<oneshot::Sender<()>>,
    serving: tokio::task::JoinHandle<Result<(), ServerError>>,
}

impl RunningServer {
    /// Stops accepting requests, finishes those in flight (appends included), stops the sequencer
    /// and closes the store.
    pub async fn shutdown(mut self) -> Result<(), ServerError> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.wait().await
    }

    /// Waits until the server stops (after [`RunningServer::shutdown`] or a transport failure).
    pub async fn wait(&mut self) -> Result<(), ServerError> {
        (&mut self.serving)
            .await
            .map_err(|e| ServerError::Transport(format!("server task failed: {e}")))?
    }

    /// A sender that triggers the graceful shutdown (for signal handlers).
    pub fn take_shutdown(&mut self) -> Option<oneshot::Sender<()>> {
        self.shutdown.take()
    }
}

/// An error and its sources, `: `-separated (tonic's transport errors say little on their own).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Whether `path` leads into the data dir (links and `..` resolved, `crate::paths`).
fn inside_data_dir(
    path: &std::path::Path,
    data_dir: &std::path::Path,
) -> Result<bool, ServerError> {
    crate::paths::is_within(path, data_dir).map_err(|source| ServerError::DataDir {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes the (public) verifier key beside the secrets, as `verifier-key`, for local tools.
fn publish_verifier_key(dir: &std::path::Path, key: &str) -> Result<(), ServerError> {
    let path = dir.join(secrets::VERIFIER_KEY_FILE);
    let current = std::fs::read_to_string(&path).ok();
    if current.as_deref().map(str::trim) != Some(key) {
        std::fs::write(&path, format!("{key}\n")).map_err(|source| {
            ServerError::Secret(SecretError::Io {
                path: path.clone(),
                source,
            })
        })?;
    }
    Ok(())
}

/// Loads the secrets (creating them on a first start) and the TLS files, opens the store, starts
/// the sequencer and starts serving on `config.listen` (and the metrics on `config.metrics_listen`).
pub async fn start(config: Config) -> Result<RunningServer, ServerError> {
    // TLS first: a bad certificate or key is refused before anything is opened or created.
    let tls_config = tls::server_tls_config(&config.tls)?;
    let serves_tls = tls_config.is_some();
    let mut grpc = tonic::transport::Server::builder();
    if let Some(tls_config) = tls_config {
        grpc = grpc
            .tls_config(tls_config)
            .map_err(|e| TlsError::Unusable(error_chain(&e)))?;
    }
    let certificates = ClientCertificateMap::from_config(&config.tls.clients)?;
    let metrics_listener = match config.metrics_listen.address() {
        Some(address) => Some(MetricsListener::bind(address).await?),
        None => None,
    };
    secrets::ensure_dir(&config.secrets_dir)?;
    let (seed, created_log_key) =
        secrets::load_or_create_secret(&config.secrets_dir.join(secrets::LOG_KEY_FILE))?;
    let current =
        LogSigner::from_seed(&config.origin, &seed).map_err(|e| ServerError::Key(e.to_string()))?;
    // During a key rotation the next key co-signs every checkpoint; entries stay signed by the
    // current key until the rotation is finished, so no verifier breaks during the overlap.
    let (signer, cosigners) = match &config.next_log_key_file {
        None => (Arc::new(current), Vec::new()),
        Some(path) => {
            if inside_data_dir(path, &config.data_dir)? {
                return Err(ServerError::Key(format!(
                    "next_log_key_file {} is inside the data dir",
                    path.display()
                )));
            }
            let seed = secrets::read_secret(path)?;
            let next = LogSigner::from_seed(&config.origin, &seed)
                .map_err(|e| ServerError::Key(e.to_string()))?;
            if next.key_id() == current.key_id() {
                return Err(ServerError::Key(format!(
                    "next_log_key_file {} holds the current key",
                    path.display()
                )));
            }
            (Arc::new(current), vec![Arc::new(next)])
        }
    };
    let (directory_secret, _) =
        secrets::load_or_create_secret(&config.secrets_dir.join(secrets::DIRECTORY_SECRET_FILE))?;
    let (pseudonym_secret, _) =
        secrets::load_or_create_secret(&config.secrets_dir.join(secrets::PSEUDONYM_SECRET_FILE))?;
    let master_key = Arc::new(load_master_key(&config)?);
    let verifier_key = signer.verifier_key().to_string();
    let verifier_keys: Vec<String> = std::iter::once(&signer)
        .chain(&cosigners)
        .map(|key| key.verifier_key().to_string())
        .collect();
    publish_verifier_key(&config.secrets_dir, &verifier_keys.join("\n"))?;

    let mut tokens = TokenTable::from_config(&config.tokens, |path| {
        secrets::read_private_file(path).map_err(|e| e.to_string())
    })?;
    let mut first_run = FirstRun {
        created_log_key,
        dev_token: None,
    };
    if tokens.is_empty() && certificates.is_empty() {
        let path = config.secrets_dir.join(secrets::DEV_TOKEN_FILE);
        let token = if path.exists() {
            secrets::read_private_file(&path)?.trim().to_owned()
        } else {
            let token = format!("dev-{}", hex::encode(secrets::random_bytes()?));
            secrets::write_private_file(&path, &format!("{token}\n"))?;
            token
        };
        tokens.insert(
            &token,
            Caller {
                identity: "dev-admin".into(),
                role: Role::Admin,
                systems: crate::service::auth::Systems::Any,
            },
        );
        first_run.dev_token = Some(token);
    }

    let data_dir_error = |source| ServerError::DataDir {
        path: config.data_dir.clone(),
        source,
    };
    if !config.data_dir.exists() {
        std::fs::create_dir_all(&config.data_dir).map_err(data_dir_error)?;
        crate::storage::make_private(&config.data_dir).map_err(data_dir_error)?;
    }
    let store = Arc::new(LedgerStore::open(
        &config.data_dir,
        &config.origin,
        &config.storage,
    )?);
    crate::backfill::run(&store)?;
    let withdrawn = store.withdraw_legacy_event_id_digests()?;
    if withdrawn > 0 {
        tracing::info!(
            rows = withdrawn,
            "event-id digests made with identifiers withdrawn (retries of those events are conflicts)"
        );
    }
    crate::identifier_lists::rewrite_legacy_lists(
        &store,
        &master_key,
        &DirectorySecret::from_bytes(directory_secret),
    )
    .map_err(|e| ServerError::Identifiers(e.to_string()))?;
    let (sequencer, sequencer_thread) = sequencer::start(SequencerParts {
        store: store.clone(),
        signer: signer.clone(),
        cosigners,
        pseudonym_secret: PseudonymSecret::from_bytes(pseudonym_secret),
        master_key: master_key.clone(),
        origin: config.origin.clone(),
        config: config.sequencer.clone(),
    })?;

    let journal_path = config
        .erasure
        .journal_file
        .clone()
        .unwrap_or_else(|| config.secrets_dir.join(secrets::ERASURE_JOURNAL_FILE));
    if inside_data_dir(&journal_path, &config.data_dir)? {
        return Err(ServerError::Key(format!(
            "erasure.journal_file {} is inside the data dir, which a restore replaces",
            journal_path.display()
        )));
    }
    let (erasure, erasure_worker) = crate::erasure::ErasureManager::start(
        store.clone(),
        sequencer.clone(),
        crate::erasure::ErasureJournal::new(&journal_path),
        &config.erasure,
    )
    .map_err(|e| ServerError::Transport(format!("erasure: {e}")))?;
    let digest_key = crate::service::submission_digest_key(&directory_secret);
    let directory_secret = Arc::new(DirectorySecret::from_bytes(directory_secret));

    let metrics = Arc::new(LedgerMetrics::new(
        sequencer.shared().clone(),
        store.clone(),
    ));
    let authenticator = Arc::new(Authenticator::new(tokens, certificates));
    let streams = crate::service::streams::StreamGate::new(
        config.limits.max_streams,
        config.limits.max_streams_per_caller,
        Duration::from_secs(config.limits.stream_send_timeout_secs),
    );
    let consent_service = crate::proto::v1::consent_server::ConsentServer::new(
        crate::service::consent::ConsentService::new(store.clone(), streams.clone()),
    );
    let admin = crate::proto::v1::admin_server::AdminServer::new(
        crate::service::admin::AdminService::new(store.clone(), config.data_dir.clone()),
    );
    let reports = crate::proto::v1::reports_server::ReportsServer::new(Arc::new(
        crate::service::reports::ReportsService::new(
            store.clone(),
            sequencer.clone(),
            directory_secret.clone(),
            digest_key,
            streams.clone(),
            config.reports.clone(),
        ),
    ));
    let service = LedgerService::new(
        store.clone(),
        sequencer.clone(),
        metrics.clone(),
        directory_secret.clone(),
        digest_key,
        config.limits.clone(),
        verifier_key.clone(),
        streams,
    )
    .with_erasure(erasure.clone());
    let erasure_service = crate::proto::v1::erasure_server::ErasureServer::new(
        crate::service::erasure::ErasureService::new(
            store.clone(),
            erasure,
            directory_secret.clone(),
            master_key,
            crate::service::access_log::AccessLog::new(
                sequencer.clone(),
                directory_secret.clone(),
                digest_key,
            ),
        ),
    );
    // The admission layer refuses messages over `max_request_bytes` (RESOURCE_EXHAUSTED) before
    // receiving them; tonic's own cap is a second line behind it.
    let admission = Admission::new(
        authenticator,
        crate::proto::v1::FILE_DESCRIPTOR_SET,
        &config.limits,
        metrics.clone(),
    )
    .map_err(|e| ServerError::Transport(e.to_string()))?;
    let ledger = LedgerServer::new(service)
        .max_decoding_message_size(config.limits.max_request_bytes)
        .max_encoding_message_size(usize::MAX);

    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<LedgerServer<LedgerService>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::proto::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| ServerError::Transport(e.to_string()))?;

    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| ServerError::Transport(format!("cannot listen on {}: {e}", config.listen)))?;
    let local_addr = listener
        .local_addr()
        .map_err(|e| ServerError::Transport(e.to_string()))?;
    tracing::info!(
        %local_addr,
        origin = %config.origin,
        %verifier_key,
        tls = serves_tls,
        client_certificates_required = config.tls.requires_client_certificates(),
        "gdpr-ledger is serving"
    );
    let metrics_addr = metrics_listener.as_ref().map(MetricsListener::local_addr);
    let pages = crate::http_pages::router(sequencer.shared().clone(), store.clone());
    let metrics_server = metrics_listener.map(|listener| listener.serve(metrics, pages));

    // Health follows the sequencer: once it has failed (fail-stop), the ledger reports NOT_SERVING.
    let watched = sequencer.shared().clone();
    let health_watch = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if watched.has_failed() {
                health
                    .set_not_serving::<LedgerServer<LedgerService>>()
                    .await;
                break;
            }
        }
    });

    let pruning = (config.storage.subject_index_keep_entries > 0).then(|| {
        tokio::spawn(prune_subject_index_regularly(
            store.clone(),
            sequencer.shared().clone(),
            config.storage.subject_index_keep_entries,
        ))
    });

    // Small replies must not wait for delayed ACKs (Nagle): without TCP_NODELAY a unary append
    // takes ~40 ms on loopback instead of a fraction of a millisecond.
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let max_streams_per_connection = config.limits.max_streams_per_connection.max(1);
    let serving = tokio::spawn(async move {
        let outcome = grpc
            // Batches of thousands of events are hundreds of KiB: wider HTTP/2 windows than the
            // 64 KiB default spare them round trips of flow control.
            .initial_stream_window_size(Some(1 << 20))
            .initial_connection_window_size(Some(4 << 20))
            .max_concurrent_streams(Some(max_streams_per_connection))
            .layer(admission.layer())
            .add_service(health_service)
            .add_service(reflection)
            .add_service(ledger)
            .add_service(admin)
            .add_service(erasure_service)
            .add_service(consent_service)
            .add_service(reports)
            .serve_with_incoming_shutdown(incoming, async {
                let _ = shutdown_rx.await;
                tracing::info!("shutting down: finishing in-flight requests");
            })
            .await;
        health_watch.abort();
        erasure_worker.abort();
        if let Some(pruning) = pruning {
            pruning.abort();
        }
        if let Some(metrics_server) = metrics_server {
            metrics_server.stop().await;
        }
        // Every request has been answered; the sequencer finishes what is queued and stops.
        // Joining it before the store closes means nothing in flight is cut off.
        sequencer.stop().await;
        drop(sequencer);
        let joined = tokio::task::spawn_blocking(move || sequencer_thread.join()).await;
        if !matches!(joined, Ok(Ok(()))) {
            tracing::error!("the sequencer thread did not stop cleanly");
        }
        drop(store);
        tracing::info!("stopped");
        outcome.map_err(|e| ServerError::Transport(e.to_string()))
    });

    Ok(RunningServer {
        local_addr,
        metrics_addr,
        tls: serves_tls,
        verifier_key,
        verifier_keys,
        first_run,
        shutdown: Some(shutdown_tx),
        serving,
    })
}

/// The environment variable that may carry the master key (64 hex digits) instead of a file.
pub const MASTER_KEY_ENV: &str = "GDPR_LEDGER_MASTER_KEY";

/// The master key that wraps the subjects' data keys: from `GDPR_LEDGER_MASTER_KEY`, else from
/// `master_key_file`, else from `secrets_dir/master-key` (created on a first start). Never from
/// inside the data dir: a copy of the data dir alone must not undo shredding.
fn load_master_key(config: &Config) -> Result<crate::vault::MasterKey, ServerError> {
    if let Ok(text) = std::env::var(MASTER_KEY_ENV) {
        let bytes: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| {
                ServerError::Key(format!(
                    "{MASTER_KEY_ENV}: expected 64 hex digits (32 bytes)"
                ))
            })?;
        return Ok(crate::vault::MasterKey::from_bytes(bytes));
    }
    let path = config
        .master_key_file
        .clone()
        .unwrap_or_else(|| config.secrets_dir.join(secrets::MASTER_KEY_FILE));
    if inside_data_dir(&path, &config.data_dir)? {
        return Err(ServerError::Key(format!(
            "the master key file {} is inside the data dir",
            path.display()
        )));
    }
    let bytes = if config.master_key_file.is_some() {
        secrets::read_secret(&path)?
    } else {
        secrets::load_or_create_secret(&path)?.0
    };
    Ok(crate::vault::MasterKey::from_bytes(bytes))
}

/// How often the subject index is pruned, when `storage.subject_index_keep_entries` is set.
const SUBJECT_INDEX_PRUNE_INTERVAL: Duration = Duration::from_secs(60);

/// Prunes the subject index once a minute down to the configured history
/// (`docs/subject-index.md` section 8). Safe beside the sequencer, which only reads the latest
/// version; a failure is logged and retried at the next tick.
async fn prune_subject_index_regularly(
    store: Arc<LedgerStore>,
    shared: Arc<crate::sequencer::SequencerShared>,
    keep_entries: u64,
) {
    let mut ticks = tokio::time::interval(SUBJECT_INDEX_PRUNE_INTERVAL);
    loop {
        ticks.tick().await;
        let size = shared.latest_checkpoint().size;
        let store = store.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            store.prune_subject_index_keeping(size, keep_entries)
        })
        .await;
        match outcome {
            Ok(Ok(Some((horizon, summary)))) => tracing::info!(
                horizon,
                nodes_deleted = summary.nodes_deleted,
                roots_deleted = summary.roots_deleted,
                "pruned the subject index"
            ),
            Ok(Ok(None)) => {}
            Ok(Err(error)) => tracing::warn!(%error, "pruning the subject index failed"),
            Err(error) => tracing::warn!(%error, "the pruning task failed"),
        }
    }
}
