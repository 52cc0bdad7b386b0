//! `gdpr-ledger audit`: replays a whole log, from its data dir or from a running server through
//! the API, and reports the first divergence; a progress bar of the entries replayed on standard
//! error when it is a terminal.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use gdpr_ledger::client::{ApiAuditError, audit_through_api};
use gdpr_ledger::core::signature::VerifierKey;
use gdpr_ledger::storage::{LedgerStore, StorageConfig};
use gdpr_ledger::store_audit::{AuditThreads, audit_store_with_progress};

/// Arguments of `gdpr-ledger audit`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["data_dir", "server"])))]
pub struct AuditArgs {
    /// A data dir to audit (opened read-only; a running server may keep writing). Checks the
    /// entries and every column family derived from them.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// A running server to audit through the API (entries, signatures, tree, latest checkpoint).
    /// As host:port, http://host:port or https://host[:port].
    #[arg(long)]
    pub server: Option<gdpr_ledger::client::ServerAddress>,
    /// A bearer token with the auditor or admin role, for `--server`.
    #[arg(long, env = "GDPR_LEDGER_TOKEN", requires = "server")]
    pub token: Option<String>,
    /// The log's verifier key(s), or a file holding them, obtained out of band.
    #[arg(long = "key", required = true)]
    pub keys: Vec<String>,
    /// TLS to `--server`.
    #[command(flatten)]
    pub tls: super::connect::ServerTlsArgs,
}

/// Exit status 0 when everything agrees, 1 at the first divergence.
pub fn run(args: &AuditArgs) -> anyhow::Result<ExitCode> {
    let keys = super::verify::load_keys(&args.keys)?;
    match (&args.data_dir, &args.server) {
        (Some(dir), _) => audit_data_dir(dir, &keys),
        (None, Some(server)) => audit_server(server, args, keys),
        (None, None) => anyhow::bail!("give --data-dir or --server"),
    }
}

fn audit_data_dir(dir: &std::path::Path, keys: &[VerifierKey]) -> anyhow::Result<ExitCode> {
    let store = LedgerStore::open_read_only(dir, &StorageConfig::default())
        .with_context(|| format!("cannot open {}", dir.display()))?;
    let origin = store.origin()?;
    let total = store.tree_size()?;
    let bar = super::progress::entries(total, "entries replayed");
    let audited = audit_store_with_progress(&store, keys, AuditThreads::default(), |replayed| {
        bar.set_position(replayed);
        if replayed >= total {
            bar.set_message("entries replayed; cross-checking the derived rows");
        }
    });
    bar.finish_and_clear();
    match audited {
        Ok(summary) => {
            println!(
                "AUDITED: log {origin}: {} entries replayed from index 0 (hash chain, signatures, tree), \
                 {} signed checkpoints match the replayed tree, {} event ids and {} subjects' chains and heads agree, \
                 {} breach count rows and {} breach case rows recomputed",
                summary.entries,
                summary.checkpoints,
                summary.event_ids,
                summary.subjects,
                summary.breach_count_rows,
                summary.breach_case_rows
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(divergence) => {
            println!("DIVERGENCE in log {origin}: {divergence}");
            Ok(ExitCode::from(1))
        }
    }
}

fn audit_server(
    server: &gdpr_ledger::client::ServerAddress,
    args: &AuditArgs,
    keys: Vec<VerifierKey>,
) -> anyhow::Result<ExitCode> {
    let bearer = args.tls.bearer(args.token.as_deref())?;
    super::connect::block_on(async move {
        let channel = args.tls.connect(server).await?;
        let mut client =
            gdpr_ledger::proto::v1::ledger_client::LedgerClient::with_interceptor(channel, bearer);
        let mut entries = 0u64;
        let total = client
            .get_checkpoint(gdpr_ledger::proto::v1::GetCheckpointRequest { tree_size: 0 })
            .await
            .map(|latest| latest.into_inner().tree_size)
            .unwrap_or(0);
        let bar = super::progress::entries(total, "entries replayed through the API");
        let audited = audit_through_api(&mut client, keys, |_| {
            entries += 1;
            // The audit reads the latest checkpoint itself, which may have grown since.
            if entries > bar.length().unwrap_or(0) {
                bar.set_length(entries);
            }
            bar.set_position(entries);
        })
        .await;
        bar.finish_and_clear();
        match audited {
            Ok(verified) => {
                println!(
                    "AUDITED: log {}: {entries} entries replayed from index 0 through the API (hash chain, signatures, tree); \
                     the latest signed checkpoint (size {}, root {}) commits to exactly them",
                    verified.checkpoint.origin, verified.checkpoint.size, verified.checkpoint.root
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(ApiAuditError::Rpc { call, status }) => {
                Err(super::connect::rpc_error(&call, status))
            }
            Err(divergence) => {
                println!("DIVERGENCE: {divergence}");
                Ok(ExitCode::from(1))
            }
        }
    })
}
