//! Deriving, at server start, the rows a data dir made before them lacks (or that an interrupted
//! backfill left unfinished): the report indexes, the breach count rows, the breach case rows and the
//! tree chunk rows. Runs before the sequencer takes the tail. Resumable: each chunk advances its kind's
//! mark in its own batch, so a restart continues where it stopped.

use std::time::Instant;

use crate::storage::{LedgerStore, StorageError};

/// How much each backfill covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backfilled {
    /// Entries added to the report indexes.
    pub report_entries: u64,
    /// Entries counted in the breach count rows.
    pub breach_count_entries: u64,
    /// Tree chunks given their row.
    pub tree_chunks: u64,
    /// Entries given their breach case rows.
    pub breach_case_entries: u64,
}

/// Brings every kind of derived rows up to the log, logging progress about every 5%.
pub fn run(store: &LedgerStore) -> Result<Backfilled, StorageError> {
    let reports = run_logged(
        "report indexes",
        store.report_index_next()?,
        store.tree_size()?,
        |progress| store.backfill_report_index(progress),
    )?;
    let counts = run_logged(
        "breach count rows",
        store.breach_counts_next()?,
        store.tree_size()?,
        |progress| store.backfill_breach_counts(progress),
    )?;
    let cases = run_logged(
        "breach case rows",
        store.breach_cases_next()?,
        store.tree_size()?,
        |progress| store.backfill_breach_cases(progress),
    )?;
    let size = store.tree_size()?;
    let chunks = run_logged(
        "tree chunk rows",
        store.tree_chunks_next()?,
        size / 64,
        |progress| store.backfill_tree_chunks(progress),
    )?;
    Ok(Backfilled {
        report_entries: reports,
        breach_count_entries: counts,
        tree_chunks: chunks,
        breach_case_entries: cases,
    })
}

/// Runs one backfill from `next` (its mark) to `end` with progress logs.
fn run_logged(
    what: &'static str,
    next: u64,
    end: u64,
    backfill: impl FnOnce(&mut dyn FnMut(u64, u64)) -> Result<u64, StorageError>,
) -> Result<u64, StorageError> {
    if next >= end {
        return Ok(0);
    }
    tracing::info!(
        from = next,
        to = end,
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
        done,
        seconds = started.elapsed().as_secs_f64(),
        "{what} built"
    );
    Ok(done)
}
