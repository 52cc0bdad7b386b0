//! `gdpr-ledger report breach|processing|retention|data-map|subject`: reports from a running server
//! (`docs/reports.md`), as text, JSON, CSV or one printable HTML page, with a progress bar on
//! standard error when it is a terminal.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use gdpr_ledger::client::investigate_breach_streamed;
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::reports::export;
use gdpr_ledger::reports::html::{CheckpointShown, Html};
use gdpr_ledger::reports::pages::{self, Query};
use gdpr_ledger::reports::subject::SubjectReport;

use super::connect::{Connection, SubjectIdentifierArg, rpc_error};

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
    /// One self-contained, printable HTML page: the query, the checkpoint the report rests on,
    /// labels beside the vocabulary terms, totals, the entries.
    Html,
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
        /// Window start, RFC 3339 (e.g. 2026-01-01T00:00:00Z), inclusive. Default: the beginning
        /// of time (0001-01-01T00:00:00Z).
        #[arg(long)]
        from: Option<String>,
        /// Window end, RFC 3339, exclusive. Default: the end of time (9999-12-31T23:59:59Z and
        /// its last nanosecond). Over all time, a summary of whole systems comes from the counts
        /// the ledger keeps.
        #[arg(long)]
        to: Option<String>,
        /// Output format: text (summary only: the server sends no entries), json (summary and
        /// entries), csv (entries), html (one page: query, checkpoint, summary, entries). Entries
        /// are written as they arrive, never held (html spools them to a temporary file).
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
    /// Data kept past its retention period at `--as-of` (docs/retention.md): every subject
    /// pseudonym and holder, with the deadline and the entries it ran from.
    Retention(super::retention::RetentionArgs),
    /// The data map at `--as-of` (docs/data-map.md): declared systems against observed ones,
    /// the collection and share flows, and the flags.
    DataMap(super::data_map::DataMapArgs),
    /// Subject access report (article 15) for one identifier.
    Subject {
        #[command(flatten)]
        connection: Connection,
        /// The subject's identifier as `kind:value`, e.g. `email:alice@example.com`.
        #[arg(long)]
        subject: SubjectIdentifierArg,
        /// Output format: text, json or html.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Where to write the report; standard output when absent.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// The window of `report breach` without `--from`: the earliest time a timestamp can hold.
const BEGINNING_OF_TIME: prost_types::Timestamp = prost_types::Timestamp {
    seconds: -62_135_596_800,
    nanos: 0,
};
/// Without `--to`: past the latest time a timestamp can hold (9999-12-31T23:59:59.999999999Z).
const END_OF_TIME: prost_types::Timestamp = prost_types::Timestamp {
    seconds: 253_402_300_799,
    nanos: 999_999_999,
};

/// Where the breach report goes, as the entries arrive.
enum Writer<W: std::io::Write> {
    /// The summary only, at the end.
    Text(W),
    /// Entries, then the summary.
    Json(export::BreachJson<W>),
    /// Entries.
    Csv(Box<export::BreachCsv<W>>),
    /// The page, written at the end (the entries spooled meanwhile).
    Html(pages::BreachHtml<W>),
}

/// An RFC 3339 time given as `--{field}`.
pub fn timestamp(field: &str, text: &str) -> anyhow::Result<prost_types::Timestamp> {
    text.parse()
        .map_err(|e| anyhow::anyhow!("--{field} {text:?}: not an RFC 3339 time ({e})"))
}

/// Writes `text` to `output`, or to standard output.
pub fn write_out(output: &Option<PathBuf>, text: &str) -> anyhow::Result<()> {
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

/// The clients of a report: the reports, and the ledger (for the checkpoint an HTML page shows).
struct Clients {
    reports: gdpr_ledger::client::AuthenticatedReportsClient,
    ledger: gdpr_ledger::client::AuthenticatedClient,
}

async fn connect(connection: &Connection) -> anyhow::Result<Clients> {
    let (channel, bearer) = connection.open().await?;
    Ok(Clients {
        reports: pb::reports_client::ReportsClient::with_interceptor(
            channel.clone(),
            bearer.clone(),
        ),
        ledger: pb::ledger_client::LedgerClient::with_interceptor(channel, bearer),
    })
}

/// The signed checkpoint of exactly `size` entries, the one a report read.
async fn checkpoint_at(
    ledger: &mut gdpr_ledger::client::AuthenticatedClient,
    size: u64,
) -> anyhow::Result<CheckpointShown> {
    let response = ledger
        .get_checkpoint(pb::GetCheckpointRequest { tree_size: size })
        .await
        .with_context(|| format!("GetCheckpoint {size}: the checkpoint the report rests on"))?
        .into_inner();
    if response.tree_size != size {
        bail!(
            "GetCheckpoint {size}: the server answered with a checkpoint of size {}",
            response.tree_size
        );
    }
    Ok(CheckpointShown {
        size,
        root_hex: hex::encode(&response.root_hash),
        note: response.checkpoint,
    })
}

/// The time the report is made, for its query section.
fn made_at() -> (String, Html) {
    (
        "Report made at".into(),
        Html::text(&prost_types::Timestamp::from(std::time::SystemTime::now()).to_string()),
    )
}

/// A list of names for a query section: a dash when empty.
fn names(list: &[String]) -> Html {
    Html::text_or_dash(&list.join(", "))
}

/// Runs a report.
pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    super::connect::block_on(run_async(&args.report))
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
                from: Some(match from {
                    Some(from) => timestamp("from", from)?,
                    None => BEGINNING_OF_TIME,
                }),
                to: Some(match to {
                    Some(to) => timestamp("to", to)?,
                    None => END_OF_TIME,
                }),
                include_bundle: bundle.is_some(),
                summary_only: matches!(format, Format::Text),
            };
            let Clients {
                reports: mut client,
                mut ledger,
            } = connect(connection).await?;
            let started = std::time::Instant::now();
            let sink: Box<dyn std::io::Write> = match output {
                Some(path) => Box::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("writing {}", path.display()))?,
                ),
                None => Box::new(std::io::stdout().lock()),
            };
            let sink = std::io::BufWriter::new(sink);
            let mut writer = match format {
                Format::Text => Writer::Text(sink),
                Format::Json => Writer::Json(export::BreachJson::new(sink)?),
                Format::Csv => Writer::Csv(Box::new(export::BreachCsv::new(sink)?)),
                Format::Html => {
                    let time = |given: &Option<String>, default: &str| match given {
                        Some(given) => Html::text(given),
                        None => Html::text(default),
                    };
                    let query: Query = vec![
                        ("Systems".into(), names(systems)),
                        ("Recipients".into(), names(recipients)),
                        (
                            "Data categories".into(),
                            if categories.is_empty() {
                                Html::text("all")
                            } else {
                                Html::terms(categories)
                            },
                        ),
                        (
                            "From (occurred at, inclusive)".into(),
                            time(from, "the beginning of time (0001-01-01T00:00:00Z)"),
                        ),
                        (
                            "To (occurred at, exclusive)".into(),
                            time(to, "the end of time (9999-12-31T23:59:59.999999999Z)"),
                        ),
                        made_at(),
                    ];
                    Writer::Html(pages::BreachHtml::new(sink, query)?)
                }
            };
            let mut received = 0u64;
            let bar = super::progress::spinner("asking the server");
            let found = investigate_breach_streamed(
                &mut client,
                request,
                |examined, _| bar.set_message(format!("examined {examined} candidate entries")),
                |page| -> anyhow::Result<()> {
                    received += page.len() as u64;
                    bar.set_message(format!("received {received} entries"));
                    match &mut writer {
                        Writer::Json(json) => json.entries(&page)?,
                        Writer::Csv(csv) => csv.entries(&page)?,
                        Writer::Html(html) => html.entries(&page)?,
                        Writer::Text(_) => {}
                    }
                    Ok(())
                },
            )
            .await;
            bar.finish_and_clear();
            let checkpoint = match (found, &writer) {
                (Ok(summary), Writer::Html(_)) => checkpoint_at(&mut ledger, summary.tree_size)
                    .await
                    .map(|checkpoint| (summary, Some(checkpoint))),
                (found, _) => found.map(|summary| (summary, None)),
            };
            let (summary, checkpoint) = match checkpoint {
                Ok(found) => found,
                Err(error) => {
                    // Nothing half-written is left behind as if it were a finding.
                    if let Some(path) = output {
                        let _ = std::fs::remove_file(path);
                    }
                    return Err(match error.downcast::<tonic::Status>() {
                        Ok(status) => rpc_error("InvestigateBreach", status),
                        Err(error) => error,
                    });
                }
            };
            eprintln!(
                "{} records of {} subjects ({received} entries received) in {:.2} s; logged as access entry {}",
                summary.records,
                summary.subjects,
                started.elapsed().as_secs_f64(),
                summary.access_entry_index
            );
            if let Some(path) = bundle {
                std::fs::write(path, format!("{}\n", summary.bundle_json))
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            match writer {
                Writer::Text(mut out) => {
                    out.write_all(export::summary_text(&summary).as_bytes())?;
                    out.flush()?;
                }
                Writer::Json(json) => {
                    json.finish(&summary)?;
                }
                Writer::Csv(csv) => {
                    csv.finish()?;
                }
                Writer::Html(html) => {
                    let checkpoint = checkpoint.context("the checkpoint was fetched above")?;
                    html.finish(&summary, &checkpoint)?;
                }
            }
            Ok(())
        }
        Report::Processing {
            connection,
            systems,
            format,
            output,
        } => {
            let Clients {
                reports: mut client,
                mut ledger,
            } = connect(connection).await?;
            let started = std::time::Instant::now();
            let bar = super::progress::spinner("asking the server");
            let response = client
                .records_of_processing(pb::RecordsOfProcessingRequest {
                    systems: systems.clone(),
                })
                .await;
            bar.finish_and_clear();
            let response = response
                .map_err(|status| rpc_error("RecordsOfProcessing", status))?
                .into_inner();
            eprintln!(
                "{} records of processing (log size {}) in {:.2} s",
                response.records.len(),
                response.tree_size,
                started.elapsed().as_secs_f64()
            );
            let declared = &response.declared_systems;
            let text = match format {
                Format::Text => {
                    export::processing_text(&response.records)
                        + &export::declared_systems_text(declared)
                }
                Format::Json => export::processing_json(&response.records, declared),
                Format::Csv => export::processing_csv(&response.records),
                Format::Html => {
                    let checkpoint = checkpoint_at(&mut ledger, response.tree_size).await?;
                    let query: Query = vec![
                        (
                            "Systems".into(),
                            if systems.is_empty() {
                                Html::text("all")
                            } else {
                                names(systems)
                            },
                        ),
                        made_at(),
                    ];
                    pages::processing_html(&response.records, declared, &query, &checkpoint)?
                }
            };
            write_out(output, &text)
        }
        Report::Retention(args) => super::retention::run(args).await,
        Report::DataMap(args) => super::data_map::run(args).await,
        Report::Subject {
            connection,
            subject,
            format,
            output,
        } => {
            let Clients {
                reports: mut client,
                mut ledger,
            } = connect(connection).await?;
            let bar = super::progress::spinner("asking the server");
            let response = client
                .subject_access_report(pb::SubjectAccessReportRequest {
                    subject: Some(subject.0.clone()),
                })
                .await;
            bar.finish_and_clear();
            let response = response
                .map_err(|status| rpc_error("SubjectAccessReport", status))?
                .into_inner();
            eprintln!("logged as access entry {}", response.access_entry_index);
            let text = match format {
                Format::Json => response.report_json + "\n",
                Format::Html => {
                    let report: SubjectReport = serde_json::from_str(&response.report_json)
                        .context("the server's report_json does not parse")?;
                    let checkpoint = checkpoint_at(&mut ledger, report.tree_size).await?;
                    let query: Query = vec![
                        (
                            "Subject identifier".into(),
                            Html::text(&format!("{}:{}", subject.0.kind, subject.0.value)),
                        ),
                        made_at(),
                    ];
                    pages::subject_html(&report, &query, &checkpoint, response.access_entry_index)?
                }
                Format::Text | Format::Csv => response.report_text,
            };
            write_out(output, &text)
        }
    }
}
