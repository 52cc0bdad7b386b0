//! What runs beside the gRPC server: the health watch and the subject-index pruning.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::config::Config;
use crate::proto::v1::ledger_server::LedgerServer;
use crate::sequencer::SequencerShared;
use crate::service::LedgerService;
use crate::stats::Stopped;
use crate::storage::LedgerStore;

/// The background tasks, stopped at shutdown.
pub(super) struct Background {
    health_watch: JoinHandle<()>,
    pruning: Option<JoinHandle<()>>,
}

impl Background {
    pub(super) fn abort(self) {
        self.health_watch.abort();
        if let Some(pruning) = self.pruning {
            pruning.abort();
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
    Background {
        health_watch,
        pruning,
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
