//! `gdpr-ledger audit`: replays a whole log from its data dir and reports the first divergence.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use gdpr_ledger::storage::{LedgerStore, StorageConfig};
use gdpr_ledger::store_audit::audit_store;

/// Arguments of `gdpr-ledger audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// The data dir to audit (opened read-only; a running server may keep writing).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// The log's verifier key(s), or a file holding them, obtained out of band.
    #[arg(long = "key", required = true)]
    pub keys: Vec<String>,
}

/// Replays the log (hash chain, signatures, tree, checkpoints, event-id and subject indexes).
/// Exit status 0 when everything agrees, 1 at the first divergence.
pub fn run(args: &AuditArgs) -> anyhow::Result<ExitCode> {
    let keys = super::verify::load_keys(&args.keys)?;
    let store = LedgerStore::open_read_only(&args.data_dir, &StorageConfig::default())
        .with_context(|| format!("cannot open {}", args.data_dir.display()))?;
    let origin = store.origin()?;
    match audit_store(&store, &keys) {
        Ok(summary) => {
            println!(
                "AUDITED: log {origin}: {} entries replayed from index 0 (hash chain, signatures, tree), \
                 {} signed checkpoints match the replayed tree, {} event ids and {} subjects' chains and heads agree",
                summary.entries, summary.checkpoints, summary.event_ids, summary.subjects
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(divergence) => {
            println!("DIVERGENCE in log {origin}: {divergence}");
            Ok(ExitCode::from(1))
        }
    }
}
