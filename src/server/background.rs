//! What runs beside the gRPC server: the health watch, the subject-index pruning and the count
//! of the data subject request register for the metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::config::Config;
use crate::metrics::LedgerMetrics;
use crate::proto::v1::ledger_server::LedgerServer;
use crate::sequencer::SequencerShared;
use crate::service::LedgerService;
use crate::stats::Stopped;
use crate::storage::LedgerStore;

/// The background tasks, stopped at shutdown.
pub(super) struct Background {
    health_watch: JoinHandle<()>,
    pruning: Option<JoinHandle<()>>,
    register_count: Option<RegisterCounter>,
    retention_count: Option<RegisterCounter>,
}

impl Background {
    /// Stops every task. A count of the register under way is stopped at its next case and
    /// waited for, so that nothing holds the store once this returns.
    pub(super) async fn stop(self) {
        self.health_watch.abort();
        if let Some(pruning) = self.pruning {
            pruning.abort();
        }
        for counter in [self.register_count, self.retention_count]
            .into_iter()
            .flatten()
        {
            counter.stop().await;
        }
    }
}

/// A task that counts for the metrics (the request case register, the overdue retention items).
struct RegisterCounter {
    stop: Arc<AtomicBool>,
    wake: Arc<tokio::sync::Notify>,
    task: JoinHandle<()>,
}

impl RegisterCounter {
    async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.wake.notify_one();
        if let Err(error) = self.task.await {
            tracing::warn!(%error, "a count task failed");
        }
    }
}

/// Spawns the background tasks: the health watch (the ledger reports NOT_SERVING once the
/// sequencer has failed, or, with `[replication]`, once this replica has stopped applying the
/// input log: its appends would never be answered) and, when `storage.subject_index_keep_entries` is set, the
/// subject-index pruning.
pub(super) fn spawn_background(
    config: &Config,
    health: tonic_health::server::HealthReporter,
    store: &Arc<LedgerStore>,
    shared: &Arc<SequencerShared>,
    replica: Option<Arc<Stopped>>,
    metrics: &Arc<LedgerMetrics>,
) -> Background {
    // Health follows the sequencer and the replica's applier: once either has stopped
    // (fail-stop), the ledger reports NOT_SERVING.
    let watched = shared.clone();
    let health_watch = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let applier_stopped = replica
                .as_ref()
                .is_some_and(|stopped| stopped.reason().is_some());
            if watched.has_failed() || applier_stopped {
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
            shared.clone(),
            config.storage.subject_index_keep_entries,
        ))
    });
    let counter = |every: u64, what: &'static str, count: CountFn| {
        (every > 0).then(|| {
            let stop = Arc::new(AtomicBool::new(false));
            let wake = Arc::new(tokio::sync::Notify::new());
            let task = tokio::spawn(count_regularly(
                Counting {
                    store: store.clone(),
                    shared: shared.clone(),
                    metrics: metrics.clone(),
                    what,
                    count,
                },
                Duration::from_secs(every),
                stop.clone(),
                wake.clone(),
            ));
            RegisterCounter { stop, wake, task }
        })
    };
    let register_count = counter(
        config.requests.count_every_secs,
        "the request cases",
        |store, latest, as_of, stop, metrics| {
            let count = crate::reports::request_case::RegisterAt::read(store, latest, as_of)?
                .count(store, stop)?;
            Ok(count.map(|count| metrics.request_cases_counted(count)))
        },
    );
    let retention_count = counter(
        config.retention.count_every_secs,
        "the overdue retention items",
        |store, latest, as_of, stop, metrics| {
            let count = crate::reports::retention::RetentionAt::read(store, latest, as_of)?
                .count(store, stop)?;
            Ok(count.map(|count| metrics.retention_overdue_counted(count)))
        },
    );
    Background {
        health_watch,
        pruning,
        register_count,
        retention_count,
    }
}

/// One count at a time (store, latest size, as_of, stop flag): sets the gauges and returns
/// `Some`, or `None` when stopped before it finished.
type CountFn = fn(
    &LedgerStore,
    u64,
    prost_types::Timestamp,
    &AtomicBool,
    &LedgerMetrics,
) -> Result<Option<()>, crate::reports::ReportError>;

/// What a count task counts, and where.
struct Counting {
    store: Arc<LedgerStore>,
    shared: Arc<SequencerShared>,
    metrics: Arc<LedgerMetrics>,
    what: &'static str,
    count: CountFn,
}

/// Counts at the server's time, at start and then every `every`, and sets the metrics' gauges:
/// the open and overdue data subject request cases (`docs/requests.md`), the overdue retention
/// items (`docs/retention.md`). A count that fails (the report indexes still catching up at
/// start, a read error) is logged and tried again at the next tick; the gauges keep the last
/// count (the request cases' age is `request_cases_count_age_seconds`).
async fn count_regularly(
    counting: Counting,
    every: Duration,
    stop: Arc<AtomicBool>,
    wake: Arc<tokio::sync::Notify>,
) {
    let what = counting.what;
    while !stop.load(Ordering::Relaxed) {
        let latest = counting.shared.latest_checkpoint().size;
        let (store, metrics, count) = (
            counting.store.clone(),
            counting.metrics.clone(),
            counting.count,
        );
        let stopping = stop.clone();
        let counted = tokio::task::spawn_blocking(move || {
            let as_of = prost_types::Timestamp::from(std::time::SystemTime::now());
            count(&store, latest, as_of, &stopping, &metrics)
        })
        .await;
        match counted {
            Ok(Ok(Some(()))) => {}
            Ok(Ok(None)) => break,
            Ok(Err(error)) => tracing::warn!(%error, "counting {what} failed"),
            Err(error) => tracing::warn!(%error, "the count of {what} failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = wake.notified() => {}
        }
    }
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
                pages_deleted = summary.pages_deleted,
                roots_deleted = summary.roots_deleted,
                "pruned the subject index"
            ),
            Ok(Ok(None)) => {}
            Ok(Err(error)) => tracing::warn!(%error, "pruning the subject index failed"),
            Err(error) => tracing::warn!(%error, "the pruning task failed"),
        }
    }
}
