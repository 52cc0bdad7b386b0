//! Server-side cost of lifecycle answers on an existing data dir, without gRPC: what the server
//! does for `GetSubjectLifecycle` (the subject-index proof and the subject's entry rows, the
//! erasure flag, then the entries with their signatures and inclusion proofs), timed phase by
//! phase.
//!
//! ```text
//! cargo run --release --example lifecycle_latency -- <data-dir> [queries] [warm-up]
//! ```
//!
//! The store is opened read-only (a running server may keep serving). Subjects are drawn
//! uniformly from the subject index: each query proves a random token, which lands on the leaf
//! of a real subject, and then asks for that subject's lifecycle. The first `warm-up` queries
//! (default 1000) are not counted: they fill the caches, as a serving process's are filled.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use gdpr_ledger::core::directory::SubjectToken;
use gdpr_ledger::core::subject_index::ProofTerminal;
use gdpr_ledger::proofs;
use gdpr_ledger::storage::{LedgerStore, StorageConfig};

/// Entries proved per read, as the service streams them.
const ENTRIES_PER_READ: usize = 128;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let data_dir = PathBuf::from(
        args.next()
            .context("usage: <data-dir> [queries] [warm-up]")?,
    );
    let queries: usize = args.next().map_or(Ok(1000), |a| a.parse())?;
    let warm_up: usize = args.next().map_or(Ok(1000), |a| a.parse())?;
    let store = LedgerStore::open_read_only(&data_dir, &StorageConfig::default())?;
    let (size, _) = store
        .latest_checkpoint()?
        .context("the log has no checkpoint")?;
    let mut random = 0x9E37_79B9_7F4A_7C15u64;
    let mut phases = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    let mut entries = Vec::new();
    let mut answered = 0;
    while entries.len() < queries {
        let mut bytes = [0u8; 32];
        for word in bytes.chunks_mut(8) {
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            word.copy_from_slice(&random.to_le_bytes());
        }
        let (landing, _) =
            proofs::subject_lifecycle(&store, &SubjectToken::from_bytes(bytes), size)?;
        let ProofTerminal::Leaf { token, .. } = landing.terminal else {
            continue;
        };
        let started = Instant::now();
        let (_, indexes) = proofs::subject_lifecycle(&store, &token, size)?;
        let proved_head = started.elapsed();
        store.data_key_row(token.as_bytes())?;
        let flagged = started.elapsed();
        let mut count = 0;
        for part in indexes.chunks(ENTRIES_PER_READ) {
            count += proofs::proved_entries(&store, part, size)?.len();
        }
        let done = started.elapsed();
        answered += 1;
        if answered <= warm_up {
            // Not counted: the warm-up fills the block and tree caches.
            continue;
        }
        phases[0].push(proved_head);
        phases[1].push(flagged - proved_head);
        phases[2].push(done - flagged);
        phases[3].push(done);
        entries.push(count as f64);
    }
    println!("log of {size} entries; {queries} lifecycle queries after {warm_up} to warm up");
    let names = [
        "subject-index proof and entry rows",
        "erasure flag",
        "entries, signatures, inclusion proofs",
        "whole answer",
    ];
    for (name, phase) in names.iter().zip(&mut phases) {
        phase.sort_unstable();
        let ms = |q: f64| quantile(phase, q).as_secs_f64() * 1e3;
        println!(
            "{name:>38}: p50 {:7.3} ms  p90 {:7.3} ms  p99 {:7.3} ms  max {:7.3} ms",
            ms(0.5),
            ms(0.9),
            ms(0.99),
            ms(1.0)
        );
    }
    entries.sort_unstable_by(f64::total_cmp);
    println!(
        "{:>38}: p50 {:.0}  p99 {:.0}  max {:.0}",
        "entries per lifecycle",
        quantile(&entries, 0.5),
        quantile(&entries, 0.99),
        quantile(&entries, 1.0)
    );
    Ok(())
}

/// The value at quantile `q` of sorted `values`.
fn quantile<T: Copy + Default>(values: &[T], q: f64) -> T {
    if values.is_empty() {
        return T::default();
    }
    let at = ((values.len() - 1) as f64 * q).round() as usize;
    values[at.min(values.len() - 1)]
}
