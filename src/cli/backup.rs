//! `gdpr-ledger backup` (an online, consistent copy of a running server's log) and
//! `gdpr-ledger restore` (bring a backup back as a data dir, server stopped).

use std::path::PathBuf;

use anyhow::Context as _;
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::proto::v1::admin_client::AdminClient;

/// Arguments of `gdpr-ledger backup`.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The running server, and an admin's credential.
    #[command(flatten)]
    pub connection: super::connect::Connection,
    /// Where the server writes the backup: a new directory on the server's machine (absolute,
    /// outside the data dir; its parent must exist).
    #[arg(long)]
    pub to: PathBuf,
}

/// Arguments of `gdpr-ledger restore`.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The backup directory.
    #[arg(long)]
    pub from: PathBuf,
    /// The data dir to create from it; must not exist or be empty. Start the server on it with
    /// the same secrets dir as the backed-up log.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// The erasure journal of the ledger (`erasure.journal_file`; by default
    /// `<secrets dir>/erasure-journal`): every erasure in it is applied again to the restored log,
    /// so that no erasure made after the backup is undone.
    #[arg(long, default_value = "./secrets/erasure-journal")]
    pub erasure_journal: PathBuf,
}

/// Asks the server for a backup and reports what it holds.
pub fn backup(args: &BackupArgs) -> anyhow::Result<()> {
    let destination = std::path::absolute(&args.to).context("--to")?;
    let response = super::connect::block_on(async {
        let (channel, bearer) = args.connection.open().await?;
        let mut admin = AdminClient::with_interceptor(channel, bearer);
        let response = admin
            .create_backup(pb::CreateBackupRequest {
                destination: destination.display().to_string(),
            })
            .await
            .map_err(|status| super::connect::rpc_error("CreateBackup", status))?;
        anyhow::Ok(response.into_inner())
    })?;
    println!(
        "BACKED UP: {} entries ({} bytes) in {}; restore it with `gdpr-ledger restore --from {} --data-dir <new dir>` and the same secrets dir",
        response.tree_size, response.bytes, response.destination, response.destination
    );
    Ok(())
}

/// Copies a backup into a new data dir and checks that it opens.
pub fn restore(args: &RestoreArgs) -> anyhow::Result<()> {
    let summary = gdpr_ledger::storage::restore_backup(&args.from, &args.data_dir)
        .with_context(|| format!("restoring {}", args.from.display()))?;
    if args.erasure_journal.exists() {
        let store = gdpr_ledger::storage::LedgerStore::open(
            &summary.path,
            &summary.origin,
            &gdpr_ledger::storage::StorageConfig::default(),
        )
        .context("opening the restored log")?;
        let journal = gdpr_ledger::erasure::ErasureJournal::new(&args.erasure_journal);
        let erased = gdpr_ledger::erasure::reapply_journal(&store, &journal)
            .context("re-applying the erasure journal")?;
        println!(
            "ERASURES RE-APPLIED: {erased} subjects erased again from the restored log (journal {})",
            args.erasure_journal.display()
        );
    } else {
        eprintln!(
            "warning: no erasure journal at {}: erasures made after the backup cannot be re-applied (pass --erasure-journal)",
            args.erasure_journal.display()
        );
    }
    println!(
        "RESTORED: log {} with {} entries into {}; run `gdpr-ledger audit --data-dir {}` to check it, then start the server on it",
        summary.origin,
        summary.tree_size,
        summary.path.display(),
        summary.path.display()
    );
    Ok(())
}
