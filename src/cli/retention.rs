//! `gdpr-ledger report retention`: the data kept past its retention period at `--as-of`
//! (`Reports.ListRetentionOverdue`, docs/retention.md), every page of it, written as it arrives:
//! text, CSV or a JSON array. Subjects appear as their pseudonyms only.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::reports::export::{CsvOut, time};
use serde_json::json;

use super::breach::{as_of, connect};
use super::connect::{Connection, rpc_error};

/// How `report retention` writes the items.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ListFormat {
    /// One line per item.
    Text,
    /// A header line, then one line per item.
    Csv,
    /// One JSON array of the items.
    Json,
}

/// The arguments of `report retention`.
#[derive(Debug, clap::Args)]
pub struct RetentionArgs {
    #[command(flatten)]
    pub connection: Connection,
    /// The time to answer for, RFC 3339; default now.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
    /// Where to write the list; standard output when absent.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// The CSV columns, one per field of `RetentionOverdueItem`.
pub const COLUMNS: [&str; 11] = [
    "subject",
    "holder",
    "data_category",
    "purpose",
    "deadline",
    "last_arrival_index",
    "last_arrival_at",
    "relationship_ended_index",
    "relationship_ended_at",
    "rule",
    "exemption_ended_index",
];

fn cells(item: &pb::RetentionOverdueItem) -> [String; 11] {
    let ended = item.relationship_ended_at.is_some();
    [
        item.subject.clone(),
        item.holder.clone(),
        item.data_category.clone(),
        item.purpose.clone(),
        item.deadline.clone(),
        item.last_arrival_index.to_string(),
        time(&item.last_arrival_at),
        if ended {
            item.relationship_ended_index.to_string()
        } else {
            String::new()
        },
        time(&item.relationship_ended_at),
        item.rule.to_string(),
        if item.exemption_ended_index > 0 {
            item.exemption_ended_index.to_string()
        } else {
            String::new()
        },
    ]
}

/// One item as a line of text.
pub fn item_text(item: &pb::RetentionOverdueItem) -> String {
    let or_dash = |text: &str| {
        if text.is_empty() {
            "-".to_owned()
        } else {
            text.to_owned()
        }
    };
    let mut line = format!(
        "{} at {}: {} for {}, kept past {} (last arrived in entry {}, {})",
        item.subject,
        item.holder,
        or_dash(&item.data_category),
        or_dash(&item.purpose),
        item.deadline,
        item.last_arrival_index,
        time(&item.last_arrival_at)
    );
    if item.relationship_ended_at.is_some() {
        let _ = write!(
            line,
            "; relationship ended in entry {}, {}",
            item.relationship_ended_index,
            time(&item.relationship_ended_at)
        );
    }
    if item.exemption_ended_index > 0 {
        let _ = write!(
            line,
            "; its exemption (entry {}) has ended",
            item.exemption_ended_index
        );
    }
    let _ = write!(line, "; rule {}", item.rule);
    line
}

/// Writes the items of each page as they arrive.
enum Writer<W: std::io::Write> {
    Text(W),
    Csv(Box<CsvOut<W>>),
    Json { out: W, first: bool },
}

impl<W: std::io::Write> Writer<W> {
    fn new(format: ListFormat, mut out: W) -> std::io::Result<Self> {
        Ok(match format {
            ListFormat::Text => Self::Text(out),
            ListFormat::Csv => {
                let mut csv = CsvOut::new(out);
                csv.row(COLUMNS)?;
                Self::Csv(Box::new(csv))
            }
            ListFormat::Json => {
                out.write_all(b"[")?;
                Self::Json { out, first: true }
            }
        })
    }

    fn items(&mut self, items: &[pb::RetentionOverdueItem]) -> std::io::Result<()> {
        for item in items {
            match self {
                Self::Text(out) => writeln!(out, "{}", item_text(item))?,
                Self::Csv(csv) => csv.row(cells(item))?,
                Self::Json { out, first } => {
                    let object: serde_json::Map<String, serde_json::Value> = COLUMNS
                        .iter()
                        .zip(cells(item))
                        .map(|(name, cell)| ((*name).to_owned(), json!(cell)))
                        .collect();
                    let separator = if *first { "\n" } else { ",\n" };
                    *first = false;
                    write!(out, "{separator}{}", serde_json::Value::Object(object))?;
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> std::io::Result<()> {
        match self {
            Self::Text(mut out) => out.flush(),
            Self::Csv(csv) => csv.finish()?.flush(),
            Self::Json { mut out, .. } => {
                out.write_all(b"\n]\n")?;
                out.flush()
            }
        }
    }
}

/// Runs `report retention`.
pub async fn run(args: &RetentionArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.connection).await?;
    let as_of = as_of(&args.as_of)?;
    let started = std::time::Instant::now();
    let sink: Box<dyn std::io::Write> = match &args.output {
        Some(path) => Box::new(
            std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut writer = Writer::new(args.format, std::io::BufWriter::new(sink))?;
    let bar = super::progress::spinner("asking the server");
    let mut after = String::new();
    let mut count = 0u64;
    let last = loop {
        let page = client
            .list_retention_overdue(pb::ListRetentionOverdueRequest {
                as_of,
                after: after.clone(),
                limit: 0,
            })
            .await;
        let page = match page {
            Ok(page) => page.into_inner(),
            Err(status) => {
                bar.finish_and_clear();
                // Nothing half-written is left behind as if it were the list.
                if let Some(path) = &args.output {
                    let _ = std::fs::remove_file(path);
                }
                return Err(rpc_error("ListRetentionOverdue", status));
            }
        };
        count += page.items.len() as u64;
        bar.set_message(format!("received {count} items"));
        writer.items(&page.items)?;
        if page.next_after.is_empty() {
            break page;
        }
        after = page.next_after.clone();
    };
    bar.finish_and_clear();
    writer.finish()?;
    let policy = if last.has_policy {
        format!("the retention policy of entry {}", last.policy_index)
    } else {
        "no retention policy in force: nothing has a deadline".to_owned()
    };
    eprintln!(
        "{count} items kept past their retention period among {} entries, under {policy}, in {:.2} s",
        last.tree_size,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
