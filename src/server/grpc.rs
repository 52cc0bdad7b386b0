//! The gRPC side of the server: the router of the services behind the admission layer, the
//! listener, and the serving task with its graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::server::Router;
use tower_layer::{Identity, Stack};

use super::ServerError;
use super::background::Background;
use super::keys::Keys;
use crate::config::Config;
use crate::core::directory::DirectorySecret;
use crate::erasure::ErasureManager;
use crate::http_ingest::IngestServer;
use crate::metrics::{LedgerMetrics, MetricsServer};
use crate::proto::v1::ledger_server::LedgerServer;
use crate::sequencer::SequencerHandle;
use crate::service::LedgerService;
use crate::service::admission::{Admission, AdmissionLayer};
use crate::service::auth::Authenticator;
use crate::storage::LedgerStore;

/// The gRPC services behind the admission layer.
pub(super) type GrpcRouter = Router<Stack<AdmissionLayer, Identity>>;

/// The gRPC router and what the HTTP ingest listener shares with it.
pub(super) struct Grpc {
    /// The router.
    pub(super) router: GrpcRouter,
    /// The health reporter.
    pub(super) health: tonic_health::server::HealthReporter,
    /// The Ledger service, which the HTTP ingest listener calls too.
    pub(super) ledger: Arc<LedgerService>,
    /// The admission rules and the in-flight budget, which the HTTP ingest listener applies too.
    pub(super) admission: Arc<Admission>,
}

/// The gRPC router: the `gdpr_ledger.v1` services (Ledger, Admin, Erasure, Consent, Reports)
/// behind the admission layer, with the health service (serving) and reflection (v1 and v1alpha), on `grpc`'s
/// transport with wider HTTP/2 windows. Returns the health reporter, the service and the
/// admission layer's rules too.
#[allow(clippy::too_many_arguments)]
pub(super) async fn grpc_router(
    grpc: tonic::transport::Server,
    config: &Config,
    keys: &Keys,
    store: &Arc<LedgerStore>,
    sequencer: &SequencerHandle,
    erasure: Arc<ErasureManager>,
    authenticator: Arc<Authenticator>,
    metrics: &Arc<LedgerMetrics>,
) -> Result<Grpc, ServerError> {
    let digest_key = crate::service::submission_digest_key(&keys.directory_secret);
    let directory_secret = Arc::new(DirectorySecret::from_bytes(keys.directory_secret));
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
        )
        .with_silent_after_days(config.data_map.silent_after_days),
    ));
    let service = LedgerService::new(
        store.clone(),
        sequencer.clone(),
        metrics.clone(),
        directory_secret.clone(),
        digest_key,
        config.limits.clone(),
        keys.verifier_key.clone(),
        streams,
    )
    .with_erasure(erasure.clone());
    let erasure_service = crate::proto::v1::erasure_server::ErasureServer::new(
        crate::service::erasure::ErasureService::new(
            store.clone(),
            erasure,
            directory_secret.clone(),
            keys.master_key.clone(),
            crate::service::access_log::AccessLog::new(
                sequencer.clone(),
                directory_secret.clone(),
                digest_key,
            ),
        ),
    );
    // The admission layer refuses messages over `max_request_bytes` (RESOURCE_EXHAUSTED) before
    // receiving them; tonic's own cap is a second line behind it.
    let admission = Arc::new(
        Admission::new(
            authenticator,
            crate::proto::v1::FILE_DESCRIPTOR_SET,
            &config.limits,
            metrics.clone(),
            sequencer.shared().clone(),
        )
        .map_err(|e| ServerError::Transport(e.to_string()))?,
    );
    let service = Arc::new(service);
    let ledger = LedgerServer::from_arc(service.clone())
        .max_decoding_message_size(config.limits.max_request_bytes)
        .max_encoding_message_size(usize::MAX);

    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<LedgerServer<LedgerService>>().await;
    // Reflection in both versions: v1, and v1alpha for the clients that speak only it (Python's
    // grpcio-reflection, older grpcurl, Postman, Evans).
    let reflection_of_our_files = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(crate::proto::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_error =
        |e: tonic_reflection::server::Error| ServerError::Transport(e.to_string());
    let reflection = reflection_of_our_files()
        .build_v1()
        .map_err(reflection_error)?;
    let reflection_v1alpha = reflection_of_our_files()
        .build_v1alpha()
        .map_err(reflection_error)?;
    let max_streams_per_connection = config.limits.max_streams_per_connection.max(1);
    let router = grpc
        // Batches of thousands of events are hundreds of KiB: wider HTTP/2 windows than the
        // 64 KiB default spare them round trips of flow control.
        .initial_stream_window_size(Some(1 << 20))
        .initial_connection_window_size(Some(4 << 20))
        .max_concurrent_streams(Some(max_streams_per_connection))
        .layer(admission.layer())
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_v1alpha)
        .add_service(ledger)
        .add_service(admin)
        .add_service(erasure_service)
        .add_service(consent_service)
        .add_service(reports);
    Ok(Grpc {
        router,
        health,
        ledger: service,
        admission,
    })
}

/// Binds the gRPC listener on `config.listen`.
pub(super) async fn bind_grpc(config: &Config) -> Result<(TcpListener, SocketAddr), ServerError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| ServerError::Transport(format!("cannot listen on {}: {e}", config.listen)))?;
    let local_addr = listener
        .local_addr()
        .map_err(|e| ServerError::Transport(e.to_string()))?;
    Ok((listener, local_addr))
}

/// What runs beside the gRPC server, stopped in order once it has stopped.
pub(super) struct Running {
    pub(super) background: Background,
    pub(super) erasure_worker: JoinHandle<()>,
    pub(super) metrics_server: Option<MetricsServer>,
    pub(super) ingest_server: Option<IngestServer>,
    /// The replica applying the replicated log, with `[replication]`.
    pub(super) replica: Option<Arc<super::ReplicaOnNats>>,
    pub(super) sequencer: SequencerHandle,
    pub(super) sequencer_thread: std::thread::JoinHandle<()>,
    pub(super) store: Arc<LedgerStore>,
}

/// Serves gRPC on `listener` until `shutdown` fires (finishing the requests in flight), then
/// stops the HTTP ingest listener (finishing its requests), the background tasks, the metrics listener and the sequencer (joining its thread), and
/// closes the store last.
pub(super) async fn serve(
    router: GrpcRouter,
    listener: TcpListener,
    shutdown: oneshot::Receiver<()>,
    running: Running,
) -> Result<(), ServerError> {
    let Running {
        background,
        erasure_worker,
        metrics_server,
        ingest_server,
        replica,
        sequencer,
        sequencer_thread,
        store,
    } = running;
    // Small replies must not wait for delayed ACKs (Nagle): without TCP_NODELAY a unary append
    // takes ~40 ms on loopback instead of a fraction of a millisecond.
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let outcome = router
        .serve_with_incoming_shutdown(incoming, async {
            let _ = shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
        })
        .await;
    // The HTTP ingest listener's appends in flight finish before the sequencer stops.
    if let Some(ingest_server) = ingest_server {
        ingest_server.stop().await;
    }
    background.stop().await;
    erasure_worker.abort();
    if let Some(metrics_server) = metrics_server {
        metrics_server.stop().await;
    }
    // Every request has been answered; a replica stops applying (what it queued is answered),
    // then the sequencer finishes what is queued and stops.
    if let Some(replica) = replica {
        replica.stop_applying().await;
    }
    // Joining it before the store closes means nothing in flight is cut off.
    sequencer.stop().await;
    drop(sequencer);
    let joined = tokio::task::spawn_blocking(move || sequencer_thread.join()).await;
    if !matches!(joined, Ok(Ok(()))) {
        tracing::error!("the sequencer thread did not stop cleanly");
    }
    // Nothing writes any more: the memtables go to SST files, so that the next open replays no
    // WAL (about 1.3 s after a minute of appends). Every row is durable in the WAL already: a
    // flush that fails loses nothing, and only leaves that replay to the next open.
    let flushing = store.clone();
    let flushed = match tokio::task::spawn_blocking(move || flushing.flush_all()).await {
        Ok(flushed) => flushed.map_err(|error| error.to_string()),
        Err(error) => Err(error.to_string()),
    };
    if let Err(error) = flushed {
        tracing::warn!(%error, "the memtables were not flushed at the stop");
    }
    drop(store);
    tracing::info!("stopped");
    outcome.map_err(|e| ServerError::Transport(e.to_string()))
}
