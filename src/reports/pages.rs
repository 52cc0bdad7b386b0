//! The reports as HTML pages (`--format html`), on the skeleton of [`super::html`]: the breach
//! investigation ([`BreachHtml`], written as the entries arrive), the article 30 record
//! ([`processing_html`]) and the subject access report ([`subject_html`]). Each page shows the
//! query, the checkpoint the report rests on, totals, then the entries or records.

use std::io::{self, BufWriter, Seek as _, SeekFrom, Write};

use super::export::{kind, time, transfer_basis};
use super::html::{CheckpointShown, Html, Page, write_row};
use super::subject::SubjectReport;
use crate::proto::v1 as pb;

/// The parameters of a report as the page shows them: (name, value).
pub type Query = Vec<(String, Html)>;

const BREACH_COLUMNS: [&str; 9] = [
    "Index",
    "Occurred at",
    "System",
    "Kind",
    "Data categories",
    "Recipient",
    "Country",
    "Subject token",
    "Amended",
];

/// A breach investigation as one HTML page, written as the entries arrive: their rows are spooled
/// to an unlinked temporary file (not held in memory), and the page (query, checkpoint, totals,
/// then the rows) is written when the summary has come.
#[derive(Debug)]
pub struct BreachHtml<W: Write> {
    out: W,
    query: Query,
    rows: BufWriter<std::fs::File>,
    entries: u64,
}

impl<W: Write> BreachHtml<W> {
    /// A page for `query`; the spool is made in the system's temporary directory.
    pub fn new(out: W, query: Query) -> io::Result<Self> {
        Ok(Self {
            out,
            query,
            rows: BufWriter::new(tempfile::tempfile()?),
            entries: 0,
        })
    }

    /// Spools a page of entries.
    pub fn entries(&mut self, entries: &[pb::AffectedEntry]) -> io::Result<()> {
        for e in entries {
            write_row(
                &mut self.rows,
                &[
                    Html::number(e.index),
                    Html::text(&time(&e.occurred_at)),
                    Html::text(&e.system),
                    Html::text(&kind(e.kind)),
                    Html::terms(&e.data_categories),
                    Html::text_or_dash(&e.recipient),
                    Html::text_or_dash(&e.recipient_country),
                    Html::code(&hex::encode(&e.subject_token)),
                    Html::flag(e.amended),
                ],
            )?;
            self.entries += 1;
        }
        Ok(())
    }

    /// Writes the page: query, checkpoint, totals, entries. Flushes and returns the output.
    pub fn finish(
        self,
        summary: &pb::BreachSummary,
        checkpoint: &CheckpointShown,
    ) -> io::Result<W> {
        let mut spool = self.rows.into_inner().map_err(|e| e.into_error())?;
        spool.seek(SeekFrom::Start(0))?;
        let mut page = Page::begin(
            self.out,
            "Breach investigation (GDPR article 33)",
            "The entries of the ledger concerned by a personal data breach, and what they add up to.",
        )?;
        page.heading("Query")?;
        page.fields(&self.query)?;
        page.checkpoint(checkpoint)?;
        page.heading("Totals")?;
        page.fields(&[
            ("Data subjects", Html::number(summary.subjects)),
            ("Records", Html::number(summary.records)),
            (
                "Special categories (article 9)",
                if summary.special_categories_involved {
                    Html::terms(&summary.special_categories)
                } else {
                    Html::text("none")
                },
            ),
            ("Entries listed below", Html::number(self.entries)),
            (
                "Logged as access entry",
                Html::number(summary.access_entry_index),
            ),
        ])?;
        counts(
            &mut page,
            "Per data category",
            "Data category",
            true,
            &summary.per_category,
        )?;
        counts(
            &mut page,
            "Per system",
            "System",
            false,
            &summary.per_system,
        )?;
        page.heading("Third-country transfers")?;
        if summary.third_country_transfers.is_empty() {
            page.paragraph(&Html::text("None."))?;
        } else {
            page.table(&[
                "Recipient",
                "Country",
                "Transfer basis",
                "Subjects",
                "Records",
            ])?;
            for t in &summary.third_country_transfers {
                page.row(&[
                    Html::text(&t.recipient),
                    Html::text(&t.country),
                    Html::text_or_dash(&transfer_basis(t.transfer_basis)),
                    Html::number(t.subjects),
                    Html::number(t.records),
                ])?;
            }
            page.end_table()?;
        }
        page.heading("Entries")?;
        page.table(&BREACH_COLUMNS)?;
        page.copy_rows(&mut spool)?;
        page.end_table()?;
        page.finish()
    }
}

/// A table of a breach summary's counts, named by term (categories) or by text (systems).
fn counts<W: Write>(
    page: &mut Page<W>,
    heading: &str,
    first: &str,
    terms: bool,
    counts: &[pb::BreachCount],
) -> io::Result<()> {
    page.heading(heading)?;
    page.table(&[first, "Subjects", "Records"])?;
    for c in counts {
        page.row(&[
            if terms {
                Html::term(&c.name)
            } else {
                Html::text(&c.name)
            },
            Html::number(c.subjects),
            Html::number(c.records),
        ])?;
    }
    page.end_table()
}

/// The article 30 record as one HTML page.
pub fn processing_html(
    records: &[pb::ProcessingRecord],
    declared: &[pb::DeclaredSystem],
    query: &Query,
    checkpoint: &CheckpointShown,
) -> io::Result<String> {
    let mut page = Page::begin(
        Vec::new(),
        "Record of processing activities (GDPR article 30)",
        "What each system processes, why, on which legal basis, shared with whom, as recorded in the ledger.",
    )?;
    page.heading("Query")?;
    page.fields(query)?;
    page.checkpoint(checkpoint)?;
    page.heading("Totals")?;
    let total: u64 = records.iter().map(|r| r.records).sum();
    let mut systems: Vec<&str> = records.iter().map(|r| r.system.as_str()).collect();
    systems.sort_unstable();
    systems.dedup();
    page.fields(&[
        ("Lines of the record", Html::number(records.len() as u64)),
        ("Systems", Html::number(systems.len() as u64)),
        ("Records (entries counted)", Html::number(total)),
        (
            "Lines with special categories",
            Html::number(records.iter().filter(|r| r.special_category).count() as u64),
        ),
        (
            "Lines with third-country transfers",
            Html::number(records.iter().filter(|r| r.third_country).count() as u64),
        ),
    ])?;
    page.heading("Records of processing")?;
    page.table(&[
        "System",
        "Data category",
        "Purpose",
        "Legal basis",
        "Recipient",
        "Country",
        "Transfer basis",
        "Special category",
        "Third country",
        "Records",
        "First seen",
        "Last seen",
    ])?;
    for r in records {
        let term_or_dash = |t: &str| {
            if t.is_empty() {
                Html::text_or_dash(t)
            } else {
                Html::term(t)
            }
        };
        page.row(&[
            Html::text(&r.system),
            term_or_dash(&r.data_category),
            term_or_dash(&r.purpose),
            term_or_dash(&r.legal_basis),
            Html::text_or_dash(&r.recipient),
            Html::text_or_dash(&r.recipient_country),
            Html::text_or_dash(&transfer_basis(r.transfer_basis)),
            Html::flag(r.special_category),
            Html::flag(r.third_country),
            Html::number(r.records),
            Html::text(&time(&r.first_seen)),
            Html::text(&time(&r.last_seen)),
        ])?;
    }
    page.end_table()?;
    page.heading("Systems as declared (article 30(1))")?;
    if declared.is_empty() {
        page.paragraph(&Html::text(
            "No system is declared (system_declared, docs/data-map.md): the categories of data \
             subjects, the time limits for erasure and the security measures are not recorded.",
        ))?;
    } else {
        page.table(&[
            "System",
            "Owner",
            "Country",
            "Data categories",
            "Purposes",
            "Recipients",
            "Categories of data subjects",
            "Time limits for erasure",
            "Security measures",
            "In force from",
        ])?;
        for system in declared {
            let d = system.declaration.clone().unwrap_or_default();
            page.row(&[
                Html::text(&d.name),
                Html::text_or_dash(&d.owner),
                Html::text_or_dash(&d.country),
                Html::terms(&d.data_categories),
                Html::terms(&d.purposes),
                Html::text_or_dash(&d.recipients.join(", ")),
                Html::terms(&d.subject_categories),
                Html::text_or_dash(&d.retention),
                Html::text_or_dash(&d.security_measures),
                Html::text(&format!(
                    "{} (entry {})",
                    time(&d.effective_at),
                    system.index
                )),
            ])?;
        }
        page.end_table()?;
    }
    Ok(String::from_utf8_lossy(&page.finish()?).into_owned())
}

/// The subject access report as one HTML page.
pub fn subject_html(
    report: &SubjectReport,
    query: &Query,
    checkpoint: &CheckpointShown,
    access_entry_index: u64,
) -> io::Result<String> {
    let mut page = Page::begin(
        Vec::new(),
        "Subject access report (GDPR article 15)",
        "What the ledger records about one data subject: what data, where, why, since when, shared with whom, erased where.",
    )?;
    page.heading("Query")?;
    page.fields(query)?;
    page.checkpoint(checkpoint)?;
    page.heading("Totals")?;
    page.fields(&[
        ("Subject token", Html::code(&report.subject_token)),
        ("Entries", Html::number(report.entries.len() as u64)),
        ("Systems", Html::number(report.systems.len() as u64)),
        ("Recipients", Html::number(report.recipients.len() as u64)),
        ("Logged as access entry", Html::number(access_entry_index)),
    ])?;
    page.heading("Where the data is held and why")?;
    page.table(&[
        "System",
        "Data categories",
        "Purposes",
        "Legal bases",
        "First seen",
        "Last seen",
        "Erased",
    ])?;
    for s in &report.systems {
        page.row(&[
            Html::text(&s.system),
            Html::terms(&s.data_categories),
            Html::terms(&s.purposes),
            Html::terms(&s.legal_bases),
            Html::text_or_dash(&s.first_seen),
            Html::text_or_dash(&s.last_seen),
            Html::text_or_dash(s.erased_at.as_deref().unwrap_or_default()),
        ])?;
    }
    page.end_table()?;
    page.heading("Shared with")?;
    if report.recipients.is_empty() {
        page.paragraph(&Html::text("No one."))?;
    } else {
        page.table(&[
            "Recipient",
            "Country",
            "Outside the EEA",
            "Data categories",
            "Purposes",
            "First shared",
            "Last shared",
        ])?;
        for r in &report.recipients {
            page.row(&[
                Html::text(&r.recipient),
                Html::text_or_dash(&r.country),
                Html::flag(r.third_country),
                Html::terms(&r.data_categories),
                Html::terms(&r.purposes),
                Html::text_or_dash(&r.first_shared),
                Html::text_or_dash(&r.last_shared),
            ])?;
        }
        page.end_table()?;
    }
    page.heading("Entries")?;
    page.table(&[
        "Index",
        "Occurred at",
        "System",
        "Kind",
        "Data categories",
        "Purposes",
        "Legal bases",
        "Recipient",
        "Country",
        "Amended by",
    ])?;
    for e in &report.entries {
        let amended: Vec<String> = e.amended_by.iter().map(u64::to_string).collect();
        page.row(&[
            Html::number(e.index),
            Html::text(&e.occurred_at),
            Html::text(&e.system),
            Html::text(&e.kind),
            Html::terms(&e.data_categories),
            Html::terms(&e.purposes),
            Html::terms(&e.legal_bases),
            Html::text_or_dash(&e.recipient),
            Html::text_or_dash(&e.recipient_country),
            Html::text_or_dash(&amended.join(", ")),
        ])?;
    }
    page.end_table()?;
    Ok(String::from_utf8_lossy(&page.finish()?).into_owned())
}
