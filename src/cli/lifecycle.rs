//! `gdpr-ledger lifecycle`: fetches a data subject's lifecycle bundle from a running server, for
//! `gdpr-ledger verify` to check offline (and to keep as evidence).

use std::path::PathBuf;

use anyhow::Context as _;
use gdpr_ledger::client::fetch_lifecycle;
use gdpr_ledger::proto::v1 as pb;

use super::connect::{Connection, SubjectArgs};

/// Arguments of `gdpr-ledger lifecycle`.
#[derive(Debug, clap::Args)]
pub struct LifecycleArgs {
    /// The server, and an auditor's or admin's credential.
    #[command(flatten)]
    pub connection: Connection,
    /// The subject (completeness is proved for its token).
    #[command(flatten)]
    pub subject: SubjectArgs,
    /// The checkpoint's tree size; the latest when absent.
    #[arg(long, default_value_t = 0)]
    pub tree_size: u64,
    /// Where to write the bundle; standard output when absent.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// Fetches the bundle and writes it.
pub fn run(args: &LifecycleArgs) -> anyhow::Result<()> {
    let subject = args.subject.subject()?.into();
    let bundle = super::connect::block_on(async {
        let (channel, bearer) = args.connection.open().await?;
        let mut client = pb::ledger_client::LedgerClient::with_interceptor(channel, bearer);
        match fetch_lifecycle(&mut client, subject, args.tree_size).await {
            Ok(bundle) => Ok(bundle),
            Err(gdpr_ledger::client::LifecycleFetchError::Rpc(status)) => {
                Err(super::connect::rpc_error("GetSubjectLifecycle", status))
            }
            Err(error) => Err(error.into()),
        }
    })?;
    let json = bundle.to_json() + "\n";
    match &args.output {
        Some(path) => {
            std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{json}"),
    }
    Ok(())
}
