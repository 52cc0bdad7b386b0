//! `gdpr-ledger lifecycle`: fetches a data subject's lifecycle bundle from a running server, for
//! `gdpr-ledger verify` to check offline (and to keep as evidence).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use gdpr_ledger::client::fetch_lifecycle;
use gdpr_ledger::proto::v1 as pb;

/// Arguments of `gdpr-ledger lifecycle`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["subject", "subject_token"])))]
pub struct LifecycleArgs {
    /// The server.
    #[arg(long)]
    pub server: SocketAddr,
    /// A bearer token with the auditor or admin role (not needed with a mapped client
    /// certificate).
    #[arg(long, env = "GDPR_LEDGER_TOKEN")]
    pub token: Option<String>,
    /// The subject's identifier as `kind:value`, e.g. `email:alice@example.com`, resolved through
    /// the server's subject directory.
    #[arg(long)]
    pub subject: Option<String>,
    /// The subject token, 64 hex digits (completeness is proved for a token).
    #[arg(long)]
    pub subject_token: Option<String>,
    /// The checkpoint's tree size; the latest when absent.
    #[arg(long, default_value_t = 0)]
    pub tree_size: u64,
    /// Where to write the bundle; standard output when absent.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// TLS to the server.
    #[command(flatten)]
    pub tls: super::connect::ServerTlsArgs,
}

/// Fetches the bundle and writes it.
pub fn run(args: &LifecycleArgs) -> anyhow::Result<()> {
    let subject = match (&args.subject, &args.subject_token) {
        (Some(identifier), _) => {
            let Some((kind, value)) = identifier.split_once(':') else {
                bail!(
                    "--subject {identifier:?}: write it as kind:value, e.g. email:alice@example.com"
                );
            };
            pb::get_subject_lifecycle_request::Subject::Identifier(pb::SubjectIdentifier {
                kind: kind.to_owned(),
                value: value.to_owned(),
            })
        }
        (None, Some(token)) => pb::get_subject_lifecycle_request::Subject::Token(
            hex::decode(token).context("--subject-token: not hex")?,
        ),
        (None, None) => bail!("give --subject or --subject-token"),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let bundle = runtime.block_on(async {
        let channel = args.tls.connect(args.server).await?;
        let mut client = pb::ledger_client::LedgerClient::with_interceptor(
            channel,
            args.tls.bearer(args.token.as_deref())?,
        );
        anyhow::Ok(fetch_lifecycle(&mut client, subject, args.tree_size).await?)
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
