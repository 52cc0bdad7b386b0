//! `gdpr-ledger report breach|processing|subject`: reports from a running server
//! (`docs/reports.md`), with a progress line on standard error for long investigations.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use gdpr_ledger::client::investigate_breach;
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::reports::export;

/// Where and as whom.
#[derive(Debug, clap::Args)]
pub struct Connection {
    /// The server.
    #[arg(long)]
    pub server: SocketAddr,
    /// A bearer token with the auditor or admin role (not needed with a mapped client
    /// certificate).
    #[arg(long, env = "GDPR_LEDGER_TOKEN")]
    pub token: Option<String>,
    /// TLS to the server.
    #[command(flatten)]
    pub tls: super::connect::ServerTlsArgs,
}

/// Arguments of `gdpr-ledger report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub report: Report,
}

/// Output formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// Readable text.
    Text,
    /// JSON.
    Json,
    /// CSV (breach entries, processing records).
    Csv,
}

/// The reports.
#[derive(Debug, clap::Subcommand)]
pub enum Report {
    /// Breach investigation (article 33): entries and subjects of systems or recipients in a
    /// window of time.
    Breach {
        #[command(flatten)]
        connection: Connection,
        /// A system concerned (repeatable).
        #[arg(long = "system")]
        systems: Vec<String>,
        /// A recipient concerned (repeatable).
        #[arg(long = "recipient")]
        recipients: Vec<String>,
        /// Only these data categories (repeatable).
        #[arg(long = "category")]
        categories: Vec<String>,
        /// Window start, RFC 3339 (e.g. 2026-01-01T00:00:00Z), inclusive.
        #[arg(long)]
        from: String,
        /// Window end, RFC 3339, exclusive.
        #[arg(long)]
        to: String,
        /// Output format: text (summary), json (summary and entries), csv (entries).
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Also write a proof bundle of the entries relied on to this file (check it with
        /// `gdpr-ledger verify`).
        #[arg(long)]
        bundle: Option<PathBuf>,
        /// Where to write the report; standard output when absent.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// The record of processing activities (article 30).
    Processing {
        #[command(flatten)]
        connection: Connection,
        /// Only these systems (repeatable).
        #[arg(long = "system")]
        systems: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Where to write the report; standard output when absent.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Subject access report (article 15) for one identifier.
    Subject {
        #[command(flatten)]
        connection: Connection,
        /// The subject's identifier as `kind:value`, e.g. `email:alice@example.com`.
        #[arg(long)]
        subject: String,
        /// Output format: text or json.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Where to write the report; standard output when absent.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

fn timestamp(field: &str, text: &str) -> anyhow::Result<prost_types::Timestamp> {
    text.parse()
        .map_err(|e| anyhow::anyhow!("--{field} {text:?}: not an RFC 3339 time ({e})"))
}

fn write_out(output: &Option<PathBuf>, text: &str) -> anyhow::Result<()> {
    match output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
        }
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

async fn connect(
    connection: &Connection,
) -> anyhow::Result<gdpr_ledger::client::AuthenticatedReportsClient> {
    let channel = connection.tls.connect(connection.server).await?;
    Ok(pb::reports_client::ReportsClient::with_interceptor(
        channel,
        connection.tls.bearer(connection.token.as_deref())?,
    ))
}

/// Runs a report.
pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_async(&args.report))
}

async fn run_async(report: &Report) -> anyhow::Result<()> {
    match report {
        Report::Breach {
            connection,
            systems,
            recipients,
            categories,
            from,
            to,
            format,
            bundle,
            output,
        } => {
            let request = pb::InvestigateBreachRequest {
                systems: systems.clone(),
                recipients: recipients.clone(),
                data_categories: categories.clone(),
                from: Some(timestamp("from", from)?),
                to: Some(timestamp("to", to)?),
                include_bundle: bundle.is_some(),
            };
            let mut client = connect(connection).await?;
            let started = std::time::Instant::now();
            let (entries, summary) = investigate_breach(&mut client, request, |done, total| {
                let mut err = std::io::stderr();
                let _ = write!(
                    err,
                    "\rexamined {done} of {total} candidate entries ({:.1} s)",
                    started.elapsed().as_secs_f64()
                );
                let _ = err.flush();
            })
            .await?;
            eprintln!(
                "\r{} records of {} subjects in {:.2} s; logged as access entry {}",
                summary.records,
                summary.subjects,
                started.elapsed().as_secs_f64(),
                summary.access_entry_index
            );
            if let Some(path) = bundle {
                std::fs::write(path, format!("{}\n", summary.bundle_json))
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            let text = match format {
                Format::Text => export::summary_text(&summary),
                Format::Json => export::breach_json(&entries, &summary) + "\n",
                Format::Csv => export::breach_csv(&entries),
            };
            write_out(output, &text)
        }
        Report::Processing {
            connection,
            systems,
            format,
            output,
        } => {
            let mut client = connect(connection).await?;
            let started = std::time::Instant::now();
            let response = client
                .records_of_processing(pb::RecordsOfProcessingRequest {
                    systems: systems.clone(),
                })
                .await?
                .into_inner();
            eprintln!(
                "{} records of processing (log size {}) in {:.2} s",
                response.records.len(),
                response.tree_size,
                started.elapsed().as_secs_f64()
            );
            write_out(
                output,
                &export::processing(
                    &response.records,
                    matches!(format, Format::Csv),
                    matches!(format, Format::Json),
                ),
            )
        }
        Report::Subject {
            connection,
            subject,
            format,
            output,
        } => {
            let Some((kind, value)) = subject.split_once(':') else {
                bail!(
                    "--subject {subject:?}: write it as kind:value, e.g. email:alice@example.com"
                );
            };
            let mut client = connect(connection).await?;
            let response = client
                .subject_access_report(pb::SubjectAccessReportRequest {
                    subject: Some(pb::SubjectIdentifier {
                        kind: kind.to_owned(),
                        value: value.to_owned(),
                    }),
                })
                .await?
                .into_inner();
            eprintln!("logged as access entry {}", response.access_entry_index);
            let text = match format {
                Format::Json => response.report_json + "\n",
                _ => response.report_text,
            };
            write_out(output, &text)
        }
    }
}
