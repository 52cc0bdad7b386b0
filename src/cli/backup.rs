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
    /// so that no erasure made after the backup is undone. The restore refuses to run if it does
    /// not exist (the server creates it at start), unless `--no-erasure-journal` is given.
    #[arg(
        long,
        default_value = "./secrets/erasure-journal",
        conflicts_with = "no_erasure_journal"
    )]
    pub erasure_journal: PathBuf,
    /// Restore without an erasure journal: every erasure made after the backup was taken is
    /// undone (the subjects' data keys, details and directory rows come back). Only for a ledger
    /// whose journal is truly lost, or that never had one.
    #[arg(long)]
    pub no_erasure_journal: bool,
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

/// Copies a backup into a new data dir, re-applies the erasure journal to it and checks that it
/// opens. Without a journal (and without `--no-erasure-journal`) it refuses before touching
/// anything: the erasures made after the backup would silently come back.
pub fn restore(args: &RestoreArgs) -> anyhow::Result<()> {
    let journal = if args.no_erasure_journal {
        None
    } else {
        let path = &args.erasure_journal;
        let exists = path
            .try_exists()
            .with_context(|| format!("--erasure-journal {}", path.display()))?;
        anyhow::ensure!(
            exists,
            "no erasure journal at {}: without it, every erasure made after the backup was taken \
             would be undone. Pass --erasure-journal <file> (the server's erasure.journal_file, by \
             default <secrets dir>/erasure-journal; the server creates it at start), or \
             --no-erasure-journal to restore without one and undo those erasures",
            path.display()
        );
        Some(gdpr_ledger::erasure::ErasureJournal::new(path))
    };
    let summary = gdpr_ledger::storage::restore_backup(&args.from, &args.data_dir)
        .with_context(|| format!("restoring {}", args.from.display()))?;
    match &journal {
        Some(journal) => {
            let store = gdpr_ledger::storage::LedgerStore::open(
                &summary.path,
                &summary.origin,
                &gdpr_ledger::storage::StorageConfig::default(),
            )
            .context("opening the restored log")?;
            let erased = gdpr_ledger::erasure::reapply_journal(&store, journal)
                .context("re-applying the erasure journal")?;
            println!(
                "ERASURES RE-APPLIED: {erased} subjects erased again from the restored log (journal {})",
                journal.path().display()
            );
        }
        None => eprintln!(
            "warning: --no-erasure-journal: erasures made after the backup was taken are not re-applied"
        ),
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
