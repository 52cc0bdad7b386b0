//! Building the report indexes of a data dir made before them (or of an interrupted backfill),
//! at server start, before the sequencer takes the tail. Resumable: each chunk advances the
//! `reports_indexed` mark in its own batch, so a restart continues where it stopped.

use std::time::Instant;

use crate::storage::{LedgerStore, StorageError};

/// Indexes every entry the report indexes do not cover yet, logging progress about every 5%.
pub fn run(store: &LedgerStore) -> Result<u64, StorageError> {
    let size = store.tree_size()?;
    let next = store.report_index_next()?;
    if next >= size {
        return Ok(0);
    }
    tracing::info!(
        from = next,
        to = size,
        "building the report indexes (backfill); the server starts serving once it is done"
    );
    let started = Instant::now();
    let mut last_logged = 0u64;
    let done = store.backfill_report_index(|done, total| {
        if done.saturating_sub(last_logged) * 20 >= total || done == total {
            last_logged = done;
            tracing::info!(
                done,
                total,
                elapsed_s = started.elapsed().as_secs(),
                "report index backfill"
            );
        }
    })?;
    tracing::info!(
        entries = done,
        seconds = started.elapsed().as_secs_f64(),
        "report indexes built"
    );
    Ok(done)
}
