//! Prometheus metrics and the HTTP listener that serves them (`metrics_listen`), apart from gRPC.
//!
//! `GET /metrics` answers the OpenMetrics text format (which Prometheus scrapes natively);
//! `GET /healthz` answers `200 ok` while the sequencer runs and `503` once it has stopped after a
//! storage failure (fail-stop), for liveness probes and load balancers. The listener has no
//! authentication and serves nothing about the log's content: counts, sizes and durations only.
//!
//! Every metric is named `gdpr_ledger_*`:
//!
//! | metric | type | what |
//! |---|---|---|
//! | `appended_events_total` | counter | events acknowledged with a receipt (new entries and idempotent retries) |
//! | `append_rejections_total{reason}` | counter | append requests refused, by gRPC status (`invalid_argument`, `unauthenticated`, `permission_denied`, `resource_exhausted`, `already_exists`, `failed_precondition`, `unavailable`, `internal`...) |
//! | `append_batch_events` | histogram | events per append request (`Append` counts 1), refused requests included |
//! | `append_duration_seconds` | histogram | from an append request's arrival to its receipts, for acknowledged requests: validation, queueing, the group's commit |
//! | `commit_group_entries` | histogram | entries per commit group (one write batch, one WAL fsync) |
//! | `store_commit_duration_seconds` | histogram | a commit group's RocksDB write: the batch and its WAL fsync |
//! | `checkpoint_sign_duration_seconds` | histogram | signing a commit group's checkpoint (before its write) |
//! | `group_finish_duration_seconds` | histogram | finishing a commit group before its write: its subject-index version, the signatures not made while it was planned, its checkpoint |
//! | `tree_size` | gauge | entries in the log (size of the latest signed checkpoint) |
//! | `checkpoint_age_seconds` | gauge | seconds since the latest checkpoint was signed (after every commit group; at start the recovered one is re-signed) |
//! | `proof_requests_total{kind}` | counter | authorised reads: `entry`, `inclusion`, `consistency`, `lifecycle` |
//! | `vocabulary_warnings_total` | counter | events acknowledged with a vocabulary warning (`Receipt.vocabulary_warning`) |
//! | `sequencer_failed` | gauge | 1 once the sequencer has stopped after a storage failure |
//! | `replica_applier_stopped` | gauge | with `[replication]`: 1 once this replica has stopped applying the input log (fail-stop); always 0 without |
//! | `replica_skipped_messages_total` | counter | with `[replication]`: messages of the input log no replica of the deployment sealed, skipped by this replica since it started (`replication::genesis`) |
//! | `rocksdb_pending_compaction_bytes` | gauge | `rocksdb.estimate-pending-compaction-bytes`, summed over column families |
//! | `rocksdb_sst_files_bytes` | gauge | `rocksdb.total-sst-files-size`, summed over column families |
//! | `erasure_open_cases` | gauge | erasure cases opened and not closed |
//! | `erasure_oldest_open_case_age_seconds` | gauge | seconds since the oldest open erasure case was opened; 0 when none is open (the ledger sets no due date: `deploy/prometheus/alerts.yml` warns past article 12(3)'s month) |
//! | `request_cases_open` | gauge | data subject request cases (`docs/requests.md`) neither answered nor refused, overdue ones included, as of the latest count |
//! | `request_cases_overdue` | gauge | of those, the cases past the end of their article 12(3) due day, as of the latest count |
//! | `retention_overdue` | gauge | items (subject, holder, data category, purpose) kept past their retention period with no deletion confirmed and no exemption in force (`docs/retention.md`), as of the latest count |
//! | `request_cases_count_age_seconds` | gauge | seconds since the request cases were last counted (since the start before the first count) |
//! | `build_info{version}` | gauge | 1, labelled with the server's version (`CARGO_PKG_VERSION`) |
//!
//! The gauges are read at each scrape from the sequencer and the store; none scans the log. The
//! erasure gauges come from the store's count of open cases (`LedgerStore::open_erasure_summary`),
//! kept up to date by every write of erasure records, so a scrape costs a lock, not a scan of the
//! `erasures` family (which the first scrape after a start reads once). The request case gauges
//! are the exception: they are the register at the time of the latest count (one pass over the
//! cases, `reports::request_case::RegisterAt::count`), which a background task makes every
//! `requests.count_every_secs` (60 by default), never a scrape.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::sequencer::SequencerShared;
use crate::stats::{LatencyHistogram, SizeHistogram, Stopped, Tally};
use crate::storage::LedgerStore;

/// Path of the metrics page.
pub const METRICS_PATH: &str = "/metrics";
/// Path of the health check.
pub const HEALTH_PATH: &str = "/healthz";
/// Content type of the metrics page (OpenMetrics text, which Prometheus scrapes).
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// RocksDB's estimate of the bytes compaction must rewrite to settle the tree.
pub const ROCKSDB_PENDING_COMPACTION_BYTES: &str = "rocksdb.estimate-pending-compaction-bytes";
/// RocksDB's total size of the SST files.
pub const ROCKSDB_TOTAL_SST_FILES_SIZE: &str = "rocksdb.total-sst-files-size";

/// What a read request asked for, as counted in `proof_requests_total{kind}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofKind {
    /// `GetEntry`.
    Entry,
    /// `GetInclusionProof`.
    Inclusion,
    /// `GetConsistencyProof`.
    Consistency,
    /// `GetSubjectLifecycle`.
    Lifecycle,
}

impl ProofKind {
    /// Every kind.
    pub const ALL: [ProofKind; 4] = [
        ProofKind::Entry,
        ProofKind::Inclusion,
        ProofKind::Consistency,
        ProofKind::Lifecycle,
    ];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            ProofKind::Entry => "entry",
            ProofKind::Inclusion => "inclusion",
            ProofKind::Consistency => "consistency",
            ProofKind::Lifecycle => "lifecycle",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabel {
    version: &'static str,
}

/// The version `build_info` carries.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The statuses an append is refused with in the ordinary course of things: their
/// `append_rejections_total` series are shown at 0 before the first refusal.
const EXPECTED_REJECTIONS: [tonic::Code; 8] = [
    tonic::Code::InvalidArgument,
    tonic::Code::Unauthenticated,
    tonic::Code::PermissionDenied,
    tonic::Code::ResourceExhausted,
    tonic::Code::AlreadyExists,
    tonic::Code::FailedPrecondition,
    tonic::Code::Unavailable,
    tonic::Code::Internal,
];

/// The label of a gRPC status code, in snake case (`invalid_argument`).
pub fn status_code_label(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "cancelled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid_argument",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "resource_exhausted",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out_of_range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data_loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

/// Every metric of a running ledger, and where the scraped values come from.
pub struct LedgerMetrics {
    registry: Registry,
    appended_events: Counter,
    vocabulary_warnings: Counter,
    append_rejections: Family<ReasonLabel, Counter>,
    append_batch_events: SizeHistogram,
    append_duration: LatencyHistogram,
    proof_requests: Family<KindLabel, Counter>,
    tree_size: Gauge,
    checkpoint_age: Gauge<f64, AtomicU64>,
    sequencer_failed: Gauge,
    replica_applier_stopped: Gauge,
    pending_compaction_bytes: Gauge,
    sst_files_bytes: Gauge,
    erasure_open_cases: Gauge,
    erasure_oldest_open_case_age: Gauge,
    request_cases_open: Gauge,
    request_cases_overdue: Gauge,
    retention_overdue: Gauge,
    request_cases_count_age: Gauge<f64, AtomicU64>,
    /// When the request cases were last counted (the start, before the first count).
    request_cases_counted: std::sync::Mutex<std::time::Instant>,
    sequencer: Arc<SequencerShared>,
    store: Arc<LedgerStore>,
    /// With `[replication]`: why this replica's applier stopped, once it has.
    replica: Option<Arc<Stopped>>,
    /// With `[replication]`: the messages this replica's applier skipped.
    replica_skips: Option<Arc<Tally>>,
    replica_skipped_messages: Counter,
}

impl std::fmt::Debug for LedgerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerMetrics")
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

impl LedgerMetrics {
    /// Registers every metric. The sequencer's own histograms are read from `sequencer.stats`; the
    /// gauges are read from the sequencer and the store at each scrape.
    /// With `[replication]`: the replica's applier is watched too (`/healthz` answers 503 and
    /// `replica_applier_stopped` is 1 once it has stopped).
    pub fn with_replica(mut self, stopped: Arc<Stopped>, skipped: Arc<Tally>) -> Self {
        self.replica = Some(stopped);
        self.replica_skips = Some(skipped);
        self
    }

    pub fn new(sequencer: Arc<SequencerShared>, store: Arc<LedgerStore>) -> Self {
        let mut metrics = Self {
            registry: Registry::with_prefix("gdpr_ledger"),
            appended_events: Counter::default(),
            vocabulary_warnings: Counter::default(),
            append_rejections: Family::default(),
            append_batch_events: SizeHistogram::default(),
            append_duration: LatencyHistogram::default(),
            proof_requests: Family::default(),
            tree_size: Gauge::default(),
            checkpoint_age: Gauge::default(),
            sequencer_failed: Gauge::default(),
            replica_applier_stopped: Gauge::default(),
            pending_compaction_bytes: Gauge::default(),
            sst_files_bytes: Gauge::default(),
            erasure_open_cases: Gauge::default(),
            erasure_oldest_open_case_age: Gauge::default(),
            request_cases_open: Gauge::default(),
            request_cases_overdue: Gauge::default(),
            retention_overdue: Gauge::default(),
            request_cases_count_age: Gauge::default(),
            request_cases_counted: std::sync::Mutex::new(std::time::Instant::now()),
            sequencer,
            store,
            replica: None,
            replica_skips: None,
            replica_skipped_messages: Counter::default(),
        };
        let registry = &mut metrics.registry;
        registry.register(
            "appended_events",
            "Events acknowledged with a receipt (new entries and idempotent retries)",
            metrics.appended_events.clone(),
        );
        registry.register(
            "vocabulary_warnings",
            "Events acknowledged with a vocabulary warning (a dpv:, pd: or eu-gdpr: term DPV does not define)",
            metrics.vocabulary_warnings.clone(),
        );
        registry.register(
            "append_rejections",
            "Append requests refused, by gRPC status",
            metrics.append_rejections.clone(),
        );
        registry.register(
            "append_batch_events",
            "Events per append request (Append counts 1)",
            metrics.append_batch_events.metric(),
        );
        registry.register(
            "append_duration_seconds",
            "From an append request's arrival to its receipts (acknowledged requests)",
            metrics.append_duration.metric(),
        );
        let stats = &metrics.sequencer.stats;
        registry.register(
            "commit_group_entries",
            "Entries per commit group (one write batch, one WAL fsync)",
            stats.group_entries.metric(),
        );
        registry.register(
            "store_commit_duration_seconds",
            "A commit group's RocksDB write batch and WAL fsync",
            stats.store_commit_duration.metric(),
        );
        registry.register(
            "checkpoint_sign_duration_seconds",
            "Signing a commit group's checkpoint, before its write",
            stats.checkpoint_sign_duration.metric(),
        );
        registry.register(
            "group_finish_duration_seconds",
            "Finishing a commit group before its write: its subject-index version, the signatures \
             not made while it was planned, its checkpoint",
            stats.group_finish_duration.metric(),
        );
        registry.register(
            "tree_size",
            "Entries in the log (size of the latest signed checkpoint)",
            metrics.tree_size.clone(),
        );
        registry.register(
            "checkpoint_age_seconds",
            "Seconds since the latest checkpoint was signed",
            metrics.checkpoint_age.clone(),
        );
        registry.register(
            "proof_requests",
            "Authorised reads of entries and proofs, by kind",
            metrics.proof_requests.clone(),
        );
        registry.register(
            "sequencer_failed",
            "1 once the sequencer has stopped after a storage failure (fail-stop)",
            metrics.sequencer_failed.clone(),
        );
        registry.register(
            "replica_applier_stopped",
            "1 once this replica has stopped applying the replicated input log (fail-stop)",
            metrics.replica_applier_stopped.clone(),
        );
        registry.register(
            "replica_skipped_messages",
            "Messages of the input log that no replica of the deployment sealed, skipped",
            metrics.replica_skipped_messages.clone(),
        );
        registry.register(
            "rocksdb_pending_compaction_bytes",
            "rocksdb.estimate-pending-compaction-bytes, summed over column families",
            metrics.pending_compaction_bytes.clone(),
        );
        registry.register(
            "rocksdb_sst_files_bytes",
            "rocksdb.total-sst-files-size, summed over column families",
            metrics.sst_files_bytes.clone(),
        );
        registry.register(
            "erasure_open_cases",
            "Erasure cases opened and not closed",
            metrics.erasure_open_cases.clone(),
        );
        registry.register(
            "erasure_oldest_open_case_age_seconds",
            "Seconds since the oldest open erasure case was opened (0 when none is open)",
            metrics.erasure_oldest_open_case_age.clone(),
        );
        registry.register(
            "request_cases_open",
            "Data subject request cases neither answered nor refused (overdue ones included), as of the latest count",
            metrics.request_cases_open.clone(),
        );
        registry.register(
            "request_cases_overdue",
            "Open data subject request cases past their article 12(3) due day, as of the latest count",
            metrics.request_cases_overdue.clone(),
        );
        registry.register(
            "retention_overdue",
            "Items kept past their retention period with no deletion confirmed and no exemption in force, as of the latest count",
            metrics.retention_overdue.clone(),
        );
        registry.register(
            "request_cases_count_age_seconds",
            "Seconds since the data subject request cases were last counted",
            metrics.request_cases_count_age.clone(),
        );
        let build_info = Family::<BuildLabel, Gauge>::default();
        build_info
            .get_or_create(&BuildLabel { version: VERSION })
            .set(1);
        registry.register(
            "build_info",
            "1, labelled with the server's version",
            build_info,
        );
        // The usual series exist from the start (at 0), so that rates and alerts see them before
        // the first occurrence.
        for code in EXPECTED_REJECTIONS {
            drop(metrics.append_rejections.get_or_create(&ReasonLabel {
                reason: status_code_label(code),
            }));
        }
        for kind in ProofKind::ALL {
            drop(
                metrics
                    .proof_requests
                    .get_or_create(&KindLabel { kind: kind.label() }),
            );
        }
        metrics
    }

    /// An append request arrived with `events` events (after authentication).
    pub fn append_received(&self, events: usize) {
        self.append_batch_events.observe(events);
    }

    /// An append request was acknowledged with `events` receipts, `elapsed` after it arrived.
    pub fn append_acknowledged(&self, events: usize, elapsed: Duration) {
        self.appended_events.inc_by(events as u64);
        self.append_duration.observe(elapsed);
    }

    /// An event was acknowledged with a vocabulary warning.
    pub fn vocabulary_warned(&self) {
        self.vocabulary_warnings.inc();
    }

    /// An append request was refused with `code`.
    pub fn append_rejected(&self, code: tonic::Code) {
        self.append_rejections
            .get_or_create(&ReasonLabel {
                reason: status_code_label(code),
            })
            .inc();
    }

    /// An authorised read of `kind`.
    pub fn proof_requested(&self, kind: ProofKind) {
        self.proof_requests
            .get_or_create(&KindLabel { kind: kind.label() })
            .inc();
    }

    /// The request case register was counted (`reports::request_case::RegisterAt::count`).
    pub fn request_cases_counted(&self, count: crate::reports::request_case::RegisterCount) {
        let saturate = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        self.request_cases_open.set(saturate(count.open));
        self.request_cases_overdue.set(saturate(count.overdue));
        if let Ok(mut counted) = self.request_cases_counted.lock() {
            *counted = std::time::Instant::now();
        }
    }

    /// The overdue retention items were counted (`reports::retention::RetentionAt::count`).
    pub fn retention_overdue_counted(&self, count: u64) {
        self.retention_overdue
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// Reads the gauges' values from the sequencer and the store (none of them scans the log).
    fn refresh(&self) {
        let saturate = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        self.tree_size
            .set(saturate(self.sequencer.latest_checkpoint().size));
        self.checkpoint_age.set(
            self.sequencer
                .stats
                .checkpoint_signed
                .elapsed()
                .as_secs_f64(),
        );
        self.sequencer_failed
            .set(i64::from(self.sequencer.has_failed()));
        self.replica_applier_stopped.set(i64::from(
            self.replica
                .as_ref()
                .is_some_and(|stopped| stopped.reason().is_some()),
        ));
        if let Some(skips) = &self.replica_skips {
            let counted = self.replica_skipped_messages.get();
            self.replica_skipped_messages
                .inc_by(skips.get().saturating_sub(counted));
        }
        for (property, gauge) in [
            (
                ROCKSDB_PENDING_COMPACTION_BYTES,
                &self.pending_compaction_bytes,
            ),
            (ROCKSDB_TOTAL_SST_FILES_SIZE, &self.sst_files_bytes),
        ] {
            match self.store.property_total(property) {
                Ok(value) => {
                    gauge.set(saturate(value));
                }
                Err(error) => tracing::warn!(%error, property, "cannot read a RocksDB property"),
            }
        }
        match self.store.open_erasure_summary() {
            Ok(open) => {
                self.erasure_open_cases
                    .set(saturate(u64::try_from(open.count).unwrap_or(u64::MAX)));
                let age = open.oldest_requested_at.map_or(0, |at| {
                    crate::unix_time::now_seconds().saturating_sub(at).max(0)
                });
                self.erasure_oldest_open_case_age.set(age);
            }
            Err(error) => tracing::warn!(%error, "cannot read the open erasure cases"),
        }
        if let Ok(counted) = self.request_cases_counted.lock() {
            self.request_cases_count_age
                .set(counted.elapsed().as_secs_f64());
        }
    }
}

/// What the metrics listener serves: the page and the health. [`LedgerMetrics`] is the real one.
pub trait Exposition: Send + Sync + 'static {
    /// The metrics page, read now.
    fn render(&self) -> Result<String, std::fmt::Error>;
    /// `None` while healthy; why not otherwise.
    fn failure(&self) -> Option<String>;
}

impl Exposition for LedgerMetrics {
    fn render(&self) -> Result<String, std::fmt::Error> {
        self.refresh();
        let mut page = String::new();
        prometheus_client::encoding::text::encode(&mut page, &self.registry)?;
        Ok(page)
    }

    fn failure(&self) -> Option<String> {
        if self.sequencer.has_failed() {
            return Some(
                self.sequencer
                    .failure()
                    .unwrap_or_else(|| "the sequencer has stopped".into()),
            );
        }
        self.replica
            .as_ref()
            .and_then(|stopped| stopped.reason())
            .map(|why| format!("this replica has stopped applying the input log: {why}"))
    }
}

type Shared = Arc<dyn Exposition>;

async fn metrics_page(State(exposition): State<Shared>) -> Response {
    match tokio::task::spawn_blocking(move || exposition.render()).await {
        Ok(Ok(page)) => ([(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)], page).into_response(),
        Ok(Err(_)) | Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the metrics could not be encoded\n",
        )
            .into_response(),
    }
}

async fn health(State(exposition): State<Shared>) -> Response {
    match exposition.failure() {
        None => (StatusCode::OK, "ok").into_response(),
        Some(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("failed: {why}")).into_response(),
    }
}

/// The routes of the metrics listener.
pub fn router(exposition: Arc<dyn Exposition>) -> axum::Router {
    axum::Router::new()
        .route(METRICS_PATH, axum::routing::get(metrics_page))
        .route(HEALTH_PATH, axum::routing::get(health))
        .with_state(exposition)
}

/// The metrics listener could not start.
#[derive(Debug, thiserror::Error)]
#[error("metrics listener {address}: {source}")]
pub struct MetricsListenerError {
    /// The address asked for.
    pub address: SocketAddr,
    /// The failure.
    pub source: std::io::Error,
}

/// The metrics listener's socket, bound but not yet serving: bound early, so that a taken port
/// stops the server before anything is opened.
#[derive(Debug)]
pub struct MetricsListener {
    listener: TcpListener,
    local_addr: SocketAddr,
}

impl MetricsListener {
    /// Binds `address`.
    pub async fn bind(address: SocketAddr) -> Result<Self, MetricsListenerError> {
        let failed = |source| MetricsListenerError { address, source };
        let listener = TcpListener::bind(address).await.map_err(failed)?;
        let local_addr = listener.local_addr().map_err(failed)?;
        Ok(Self {
            listener,
            local_addr,
        })
    }

    /// Where it listens (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves [`router`], merged with `pages` (other read-only routes), until
    /// [`MetricsServer::stop`].
    pub fn serve(self, exposition: Arc<dyn Exposition>, pages: axum::Router) -> MetricsServer {
        let Self {
            listener,
            local_addr,
        } = self;
        let (shutdown, stop) = oneshot::channel::<()>();
        let serving = tokio::spawn(async move {
            axum::serve(listener, router(exposition).merge(pages))
                .with_graceful_shutdown(async {
                    let _ = stop.await;
                })
                .await
        });
        tracing::info!(%local_addr, "serving /metrics, /healthz, /verify, /checkpoint, /consistency");
        MetricsServer { shutdown, serving }
    }
}

/// A running metrics listener.
#[derive(Debug)]
pub struct MetricsServer {
    shutdown: oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl MetricsServer {
    /// Stops listening, finishes the requests in flight and releases what the routes hold.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        match self.serving.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "the metrics listener failed"),
            Err(error) => tracing::warn!(%error, "the metrics listener task failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Option<String>);

    impl Exposition for Fixed {
        fn render(&self) -> Result<String, std::fmt::Error> {
            Ok("# EOF\n".into())
        }

        fn failure(&self) -> Option<String> {
            self.0.clone()
        }
    }

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        String::from_utf8(bytes.to_vec()).expect("UTF-8")
    }

    #[tokio::test]
    async fn health_is_ok_until_the_sequencer_fails() {
        let healthy = health(State(Arc::new(Fixed(None)) as Shared)).await;
        assert_eq!(healthy.status(), StatusCode::OK);
        assert_eq!(body(healthy).await, "ok");

        let failed = health(State(Arc::new(Fixed(Some(
            "commit of entries 0..1 failed: disk".into(),
        ))) as Shared))
        .await;
        assert_eq!(failed.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(body(failed).await.contains("commit of entries 0..1 failed"));
    }

    #[tokio::test]
    async fn the_page_is_openmetrics_text() {
        let page = metrics_page(State(Arc::new(Fixed(None)) as Shared)).await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(
            page.headers()
                .get(header::CONTENT_TYPE)
                .map(|v| v.as_bytes()),
            Some(OPENMETRICS_CONTENT_TYPE.as_bytes())
        );
        assert_eq!(body(page).await, "# EOF\n");
    }

    #[test]
    fn status_labels_are_snake_case() {
        assert_eq!(
            status_code_label(tonic::Code::InvalidArgument),
            "invalid_argument"
        );
        assert_eq!(
            status_code_label(tonic::Code::ResourceExhausted),
            "resource_exhausted"
        );
    }
}
