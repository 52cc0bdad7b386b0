//! Deriving, at server start, the rows a data dir made before them lacks (or that an interrupted
//! backfill left unfinished): the report indexes and the lifecycle rows. Runs before the sequencer
//! takes the tail. Resumable: each chunk advances its kind's mark in its own batch, so a restart
//! continues where it stopped.

use std::time::Instant;

use crate::storage::{LedgerStore, StorageError};

/// Brings every kind of derived rows up to the log, logging progress about every 5%. Returns how
/// many entries were covered, per kind.
pub fn run(store: &LedgerStore) -> Result<(u64, u64), StorageError> {
    let reports = run_logged(
        "report indexes",
        store.report_index_next()?,
        store,
        |progress| store.backfill_report_index(progress),
    )?;
    let lifecycles = run_logged(
        "lifecycle rows",
        store.lifecycle_rows_next()?,
        store,
        |progress| store.backfill_lifecycle_rows(progress),
    )?;
    Ok((reports, lifecycles))
}

/// Runs one backfill from `next` (its mark) with progress logs.
fn run_logged(
    what: &'static str,
    next: u64,
    store: &LedgerStore,
    backfill: impl FnOnce(&mut dyn FnMut(u64, u64)) -> Result<u64, StorageError>,
) -> Result<u64, StorageError> {
    let size = store.tree_size()?;
    if next >= size {
        return Ok(0);
    }
    tracing::info!(
        from = next,
        to = size,
        "building the {what} (backfill); the server starts serving once it is done"
    );
    let started = Instant::now();
    let mut last_logged = 0u64;
    let done = backfill(&mut |done, total| {
        if done.saturating_sub(last_logged) * 20 >= total || done == total {
            last_logged = done;
            tracing::info!(
                done,
                total,
                elapsed_s = started.elapsed().as_secs(),
                "{what} backfill"
            );
        }
    })?;
    tracing::info!(
        entries = done,
        seconds = started.elapsed().as_secs_f64(),
        "{what} built"
    );
    Ok(done)
}
