//! `gdpr-ledger breach case <ref>` and `gdpr-ledger breach list`: breach cases and their 72-hour
//! clocks from a running server (`docs/breach-cases.md`); the case's article 33(3) draft as text
//! or as a printable HTML page.

use std::path::PathBuf;

use anyhow::Context as _;
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::reports::breach_draft;

use super::connect::{Connection, block_on, rpc_error};

/// Arguments of `gdpr-ledger breach`.
#[derive(Debug, clap::Args)]
pub struct BreachArgs {
    #[command(subcommand)]
    pub command: BreachCommand,
}

/// How to print a case's draft.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DraftFormat {
    /// Readable text.
    Text,
    /// A self-contained printable HTML page (every value escaped).
    Html,
}

/// The breach commands.
#[derive(Debug, clap::Subcommand)]
pub enum BreachCommand {
    /// One case: its clock and its draft notification (a read that counts is logged as an
    /// access entry).
    Case {
        #[command(flatten)]
        connection: Connection,
        /// The case's breach_ref.
        breach_ref: String,
        /// The time to answer for, RFC 3339; default now.
        #[arg(long)]
        as_of: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: DraftFormat,
        /// Also write the proof bundle of the entries relied on to this file (check it with
        /// `gdpr-ledger verify`).
        #[arg(long)]
        bundle: Option<PathBuf>,
        /// Where to write the draft; standard output when absent.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// The cases with their clocks.
    List {
        #[command(flatten)]
        connection: Connection,
        /// The time to answer for, RFC 3339; default now.
        #[arg(long)]
        as_of: Option<String>,
        /// Only the cases not notified to the authority yet.
        #[arg(long)]
        open: bool,
    },
}

pub(super) fn as_of(text: &Option<String>) -> anyhow::Result<Option<prost_types::Timestamp>> {
    text.as_ref()
        .map(|text| {
            text.parse()
                .map_err(|e| anyhow::anyhow!("--as-of {text:?}: not an RFC 3339 time ({e})"))
        })
        .transpose()
}

pub(super) async fn connect(
    connection: &Connection,
) -> anyhow::Result<pb::reports_client::ReportsClient<gdpr_ledger::client::Intercepted>> {
    let (channel, bearer) = connection.open().await?;
    Ok(pb::reports_client::ReportsClient::with_interceptor(
        channel, bearer,
    ))
}

/// Runs a breach command.
pub fn run(args: &BreachArgs) -> anyhow::Result<()> {
    block_on(run_async(&args.command))
}

async fn run_async(command: &BreachCommand) -> anyhow::Result<()> {
    match command {
        BreachCommand::Case {
            connection,
            breach_ref,
            as_of: at,
            format,
            bundle,
            output,
        } => {
            let mut client = connect(connection).await?;
            let response = client
                .get_breach_case(pb::GetBreachCaseRequest {
                    breach_ref: breach_ref.clone(),
                    as_of: as_of(at)?,
                    include_bundle: bundle.is_some(),
                })
                .await
                .map_err(|status| rpc_error("GetBreachCase", status))?
                .into_inner();
            if let Some(path) = bundle {
                std::fs::write(path, format!("{}\n", response.bundle_json))
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            if response.access_entry_index != 0 {
                eprintln!("logged as access entry {}", response.access_entry_index);
            }
            let text = match format {
                DraftFormat::Text => breach_draft::draft_text(&response),
                DraftFormat::Html => breach_draft::draft_html(&response),
            };
            match output {
                Some(path) => std::fs::write(path, text)
                    .with_context(|| format!("writing {}", path.display())),
                None => {
                    print!("{text}");
                    Ok(())
                }
            }
        }
        BreachCommand::List {
            connection,
            as_of: at,
            open,
        } => {
            let mut client = connect(connection).await?;
            let mut after = String::new();
            loop {
                let page = client
                    .list_breach_cases(pb::ListBreachCasesRequest {
                        as_of: as_of(at)?,
                        open_only: *open,
                        after: after.clone(),
                        limit: 0,
                    })
                    .await
                    .map_err(|status| rpc_error("ListBreachCases", status))?
                    .into_inner();
                print!("{}", breach_draft::list_text(&page.cases));
                if page.next_after.is_empty() {
                    return Ok(());
                }
                after = page.next_after;
            }
        }
    }
}
