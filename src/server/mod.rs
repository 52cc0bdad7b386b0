//! Wires the parts into a running server: secrets, TLS, store, sequencer, gRPC service (with the
//! standard health and reflection services), the metrics listener, and a graceful shutdown that
//! finishes in-flight appends before the store closes. [`start`] runs the steps in order, each a
//! function here or in `keys`, `grpc` and `background`.

mod background;
mod controller;
mod grpc;
mod keys;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::core::directory::{DirectorySecret, PseudonymSecret};
use crate::erasure::ErasureManager;
use crate::http_ingest::IngestServer;
use crate::http_ingest::listener::BoundSocket;
use crate::metrics::{LedgerMetrics, MetricsListener, MetricsListenerError, MetricsServer};
use crate::secrets::{self, SecretError};
use crate::sequencer::{self, SequencerHandle, SequencerParts, SequencerShared};
use crate::service::auth::{Authenticator, Caller, Role, TokenConfigError, TokenTable};
use crate::storage::{LedgerStore, StorageError};
use crate::tls::{self, ClientCertificateMap, TlsError};
use background::spawn_background;
use grpc::{Grpc, Running, bind_grpc, grpc_router, serve};
use keys::{Keys, load_keys};

pub use keys::MASTER_KEY_ENV;

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
    /// Joining the replicated log (`[replication]`).
    #[error("replication: {0}")]
    Replication(String),
    /// Binding the HTTP ingest listener.
    #[error("http_listen {address}: {source}")]
    HttpListen {
        /// The address asked for.
        address: SocketAddr,
        /// The failure.
        source: std::io::Error,
    },
    /// The controller's details of `[controller]` could not be declared in the log.
    #[error("controller: {0}")]
    Controller(String),
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
    /// Where the HTTP ingest listener listens, when `http_listen` is set.
    pub http_addr: Option<SocketAddr>,
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

/// Loads the secrets (creating them on a first start) and the TLS files, opens the store, starts
/// the sequencer and starts serving on `config.listen` (and the metrics on `config.metrics_listen`,
/// the HTTP ingest listener on `config.http_listen`).
pub async fn start(config: Config) -> Result<RunningServer, ServerError> {
    // TLS first: a bad certificate or key is refused before anything is opened or created.
    let (grpc, serves_tls, certificates) = load_tls(&config)?;
    let metrics_listener = bind_metrics(&config).await?;
    let ingest_socket = bind_ingest(&config).await?;
    let keys = load_keys(&config)?;
    let (authenticator, dev_token) = load_callers(&config, certificates)?;
    let first_run = FirstRun {
        created_log_key: keys.created_log_key,
        dev_token,
    };
    let store = open_store(&config, &keys)?;
    let (local_sequencer, sequencer_thread) = start_sequencer(&config, &store, &keys)?;
    // From here a step that fails stops the sequencer and joins its thread before the error is
    // returned: the store (and its lock on the data dir) is released when `start` returns.
    let stopper = local_sequencer.clone();
    macro_rules! or_stop {
        ($step:expr) => {
            match $step {
                Ok(value) => value,
                Err(error) => {
                    stop_sequencer(stopper, sequencer_thread).await;
                    return Err(ServerError::from(error));
                }
            }
        };
    }
    let (sequencer, replica) =
        or_stop!(join_replication(&config, &store, &keys, local_sequencer).await);
    or_stop!(
        controller::seed_controller(
            &config.controller,
            &store,
            &sequencer,
            &crate::service::submission_digest_key(&keys.directory_secret),
        )
        .await
    );
    or_stop!(
        controller::seed_request_policy(
            &config.requests,
            &store,
            &sequencer,
            &crate::service::submission_digest_key(&keys.directory_secret),
        )
        .await
    );
    or_stop!(
        controller::seed_consent_policy(
            &config.consent,
            &store,
            &sequencer,
            &crate::service::submission_digest_key(&keys.directory_secret),
        )
        .await
    );
    or_stop!(
        controller::seed_retention_policy(
            &config.retention,
            &store,
            &sequencer,
            &crate::service::submission_digest_key(&keys.directory_secret),
        )
        .await
    );
    or_stop!(
        controller::seed_systems(
            &config.data_map,
            &store,
            &sequencer,
            &crate::service::submission_digest_key(&keys.directory_secret),
        )
        .await
    );
    let close_route = replica
        .clone()
        .map(|replica| replica as Arc<dyn crate::erasure::CloseRoute>);
    let (erasure, erasure_worker) =
        or_stop!(start_erasure(&config, &store, &sequencer, close_route));
    if let Some(replica) = &replica {
        replica.set_erasure(&erasure);
    }
    let replica_stopped = replica.as_ref().map(|replica| replica.stopped());
    let mut metrics = LedgerMetrics::new(sequencer.shared().clone(), store.clone());
    if let (Some(stopped), Some(replica)) = (&replica_stopped, &replica) {
        metrics = metrics.with_replica(stopped.clone(), replica.skipped());
    }
    let metrics = Arc::new(metrics);
    let Grpc {
        router,
        health,
        ledger,
        admission,
    } = or_stop!(
        grpc_router(
            grpc,
            &config,
            &keys,
            &store,
            &sequencer,
            erasure,
            authenticator,
            &metrics,
        )
        .await
    );
    let (listener, local_addr) = or_stop!(bind_grpc(&config).await);
    tracing::info!(
        %local_addr,
        origin = %config.origin,
        verifier_key = %keys.verifier_key,
        tls = serves_tls,
        client_certificates_required = config.tls.requires_client_certificates(),
        "gdpr-ledger is serving"
    );
    let metrics_addr = metrics_listener.as_ref().map(MetricsListener::local_addr);
    let metrics_server = start_http(
        metrics_listener,
        metrics.clone(),
        sequencer.shared(),
        &store,
    );
    let http_addr = ingest_socket.as_ref().map(|s| s.socket.local_addr());
    let ingest_server = match ingest_socket {
        Some(socket) => Some(or_stop!(start_ingest(socket, ledger, admission))),
        None => None,
    };

    let background = spawn_background(
        &config,
        health,
        &store,
        sequencer.shared(),
        replica_stopped,
        &metrics,
    );

    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let serving = tokio::spawn(serve(
        router,
        listener,
        shutdown_rx,
        Running {
            background,
            erasure_worker,
            metrics_server,
            ingest_server,
            replica,
            sequencer,
            sequencer_thread,
            store,
        },
    ));

    Ok(RunningServer {
        local_addr,
        metrics_addr,
        http_addr,
        tls: serves_tls,
        verifier_key: keys.verifier_key,
        verifier_keys: keys.verifier_keys,
        first_run,
        shutdown: Some(shutdown_tx),
        serving,
    })
}

/// Stops a sequencer that a failed start had started, and joins its thread: its store is then
/// closed when the caller drops it.
async fn stop_sequencer(sequencer: SequencerHandle, thread: std::thread::JoinHandle<()>) {
    sequencer.stop().await;
    drop(sequencer);
    if !matches!(
        tokio::task::spawn_blocking(move || thread.join()).await,
        Ok(Ok(()))
    ) {
        tracing::error!("the sequencer thread did not stop cleanly");
    }
}

/// Reads and checks the TLS files into the gRPC transport (whether it serves TLS) and the
/// client certificate map: first, so that a bad certificate or key is refused before anything
/// is opened or created.
fn load_tls(
    config: &Config,
) -> Result<(tonic::transport::Server, bool, ClientCertificateMap), ServerError> {
    let tls_config = tls::server_tls_config(&config.tls)?;
    let serves_tls = tls_config.is_some();
    let mut grpc = tonic::transport::Server::builder();
    if let Some(tls_config) = tls_config {
        grpc = grpc
            .tls_config(tls_config)
            .map_err(|e| TlsError::Unusable(error_chain(&e)))?;
    }
    let certificates = ClientCertificateMap::from_config(&config.tls.clients)?;
    Ok((grpc, serves_tls, certificates))
}

/// Binds the metrics listener, unless it is off: before anything is created, so that a taken
/// port is refused first.
async fn bind_metrics(config: &Config) -> Result<Option<MetricsListener>, ServerError> {
    Ok(match config.metrics_listen.address() {
        Some(address) => Some(MetricsListener::bind(address).await?),
        None => None,
    })
}

/// The callers: the bearer tokens of the configuration and the mapped client certificates; when
/// neither is configured, a development admin token (created on a first start, then reused),
/// which is returned for the operator to see.
fn load_callers(
    config: &Config,
    certificates: ClientCertificateMap,
) -> Result<(Arc<Authenticator>, Option<String>), ServerError> {
    let mut tokens = TokenTable::from_config(&config.tokens, |path| {
        secrets::read_private_file(path).map_err(|e| e.to_string())
    })?;
    let mut dev_token = None;
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
        dev_token = Some(token);
    }
    Ok((
        Arc::new(Authenticator::new(tokens, certificates)),
        dev_token,
    ))
}

/// Opens the store (creating the data dir, private, on a first start) and brings it up to date
/// before the sequencer starts: the backfill of derived rows, the withdrawal of event-id digests
/// made with identifiers, the first entries of head rows of an earlier version, the rewrite of
/// legacy identifier lists.
fn open_store(config: &Config, keys: &Keys) -> Result<Arc<LedgerStore>, ServerError> {
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
    let completed = store.record_first_entries_in_heads()?;
    if completed > 0 {
        tracing::info!(
            heads = completed,
            "subject head rows of an earlier version now record their subject's first entry"
        );
    }
    crate::identifier_lists::rewrite_legacy_lists(
        &store,
        &keys.master_key,
        &DirectorySecret::from_bytes(keys.directory_secret),
    )
    .map_err(|e| ServerError::Identifiers(e.to_string()))?;
    Ok(store)
}

/// Starts the sequencer's thread, the only owner of the log's tail.
fn start_sequencer(
    config: &Config,
    store: &Arc<LedgerStore>,
    keys: &Keys,
) -> Result<(SequencerHandle, std::thread::JoinHandle<()>), ServerError> {
    Ok(sequencer::start(SequencerParts {
        store: store.clone(),
        signer: keys.signer.clone(),
        cosigners: keys.cosigners.clone(),
        pseudonym_secret: PseudonymSecret::from_bytes(keys.pseudonym_secret),
        master_key: keys.master_key.clone(),
        origin: config.origin.clone(),
        config: config.sequencer.clone(),
    })?)
}

/// With `[replication]`, joins the replicated log: the services get a handle whose appends go
/// through the input log, and the replica applies it with the local sequencer. Without it, the
/// local handle, and no NATS.
async fn join_replication(
    config: &Config,
    store: &Arc<LedgerStore>,
    keys: &Keys,
    sequencer: SequencerHandle,
) -> Result<(SequencerHandle, Option<Arc<ReplicaOnNats>>), ServerError> {
    let Some(replication) = &config.replication else {
        return Ok((sequencer, None));
    };
    if config.next_log_key_file.is_some() {
        return Err(ServerError::Replication(
            "next_log_key_file: a key rotation must switch at the same size on every replica, \
             which replication does not do yet"
                .into(),
        ));
    }
    let key_ids = keys
        .verifier_keys
        .iter()
        .map(|key| {
            crate::core::signature::VerifierKey::parse(key)
                .map(|key| key.key_id().to_string())
                .map_err(|e| ServerError::Replication(format!("verifier key: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let provisioning = crate::replication::genesis::Provisioning::new(
        &config.origin,
        key_ids,
        &keys.directory_secret,
        &keys.pseudonym_secret,
        &keys.master_key,
    );
    let replica = crate::replication::join(
        replication,
        &config.origin,
        &config.secrets_dir,
        &DirectorySecret::from_bytes(keys.directory_secret),
        provisioning,
        sequencer.clone(),
        store.applied_input()?.unwrap_or(0),
        store.closed_epoch()?,
        config.limits.max_request_bytes,
    )
    .await
    .map_err(|e| ServerError::Replication(e.to_string()))?;
    let routed = sequencer.routed(replica.clone());
    Ok((routed, Some(replica)))
}

/// A replica on NATS JetStream.
pub(super) type ReplicaOnNats =
    crate::replication::replica::Replica<crate::replication::nats::NatsInputLog>;

/// Starts the erasure manager and its purge worker, with the erasure journal (never inside the
/// data dir, which a restore replaces).
fn start_erasure(
    config: &Config,
    store: &Arc<LedgerStore>,
    sequencer: &SequencerHandle,
    route: Option<Arc<dyn crate::erasure::CloseRoute>>,
) -> Result<(Arc<ErasureManager>, JoinHandle<()>), ServerError> {
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
    ErasureManager::start(
        store.clone(),
        sequencer.clone(),
        route,
        crate::erasure::ErasureJournal::new(&journal_path),
        &config.erasure,
    )
    .map_err(|e| ServerError::Transport(format!("erasure: {e}")))
}

/// Serves the metrics listener, if any, with the read-only pages of `http_pages` (`/verify`,
/// `/checkpoint`, `/consistency`) beside `/metrics` and `/healthz`.
fn start_http(
    listener: Option<MetricsListener>,
    metrics: Arc<LedgerMetrics>,
    shared: &Arc<SequencerShared>,
    store: &Arc<LedgerStore>,
) -> Option<MetricsServer> {
    let pages = crate::http_pages::router(shared.clone(), store.clone());
    listener.map(|listener| listener.serve(metrics, pages))
}

/// Binds the HTTP ingest listener, when `http_listen` is set: before anything is created, so that a
/// taken port is refused first.
/// Its TLS, the gRPC listener's, is read and checked here too.
async fn bind_ingest(config: &Config) -> Result<Option<IngestSocket>, ServerError> {
    let Some(address) = config.http_listen else {
        return Ok(None);
    };
    let tls = tls::http_tls_config(&config.tls)?;
    let socket = BoundSocket::bind(address)
        .await
        .map_err(|source| ServerError::HttpListen { address, source })?;
    Ok(Some(IngestSocket { socket, tls }))
}

/// The HTTP ingest listener's socket and TLS configuration.
struct IngestSocket {
    socket: BoundSocket,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
}

/// Serves the HTTP ingest listener (`http_ingest`) on `socket`: with the gRPC listener's TLS, and
/// the same service and admission rules.
fn start_ingest(
    IngestSocket { socket, tls }: IngestSocket,
    ledger: Arc<crate::service::LedgerService>,
    admission: Arc<crate::service::admission::Admission>,
) -> Result<IngestServer, ServerError> {
    let serves_tls = tls.is_some();
    let router = crate::http_ingest::router(ledger, admission)
        .map_err(|e| ServerError::Transport(format!("HTTP ingest: {e}")))?;
    tracing::info!(
        local_addr = %socket.local_addr(),
        tls = serves_tls,
        path = crate::http_ingest::EVENTS_PATH,
        "serving CloudEvents over HTTP"
    );
    Ok(IngestServer::serve(socket.accept(tls), router))
}
