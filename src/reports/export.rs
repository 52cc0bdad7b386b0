//! Exports of breach findings: CSV (one line per entry) and JSON (entries and summary), written as
//! the entries arrive ([`BreachCsv`], [`BreachJson`]). Used by `gdpr-ledger report breach` on what
//! the server streams, without holding the entries.
//!
//! CSV is written by the `csv` crate (quoting of separators, quotes and line breaks is its), and
//! every cell goes through [`neutralise_formula`] first, in [`CsvOut::row`], the one way a cell is
//! written.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

use serde_json::{Value, json};

use crate::proto::v1 as pb;

/// A time as RFC 3339, or empty when unset: how every report writes a time.
pub fn time(t: &Option<prost_types::Timestamp>) -> String {
    t.map(|t| t.to_string()).unwrap_or_default()
}

/// An event kind's name as reports write it (`collection`, `share`, ...).
pub fn kind(kind: i32) -> String {
    pb::EventKind::try_from(kind)
        .map(|k| {
            k.as_str_name()
                .trim_start_matches("EVENT_KIND_")
                .to_ascii_lowercase()
        })
        .unwrap_or_else(|_| kind.to_string())
}

/// A transfer basis's name (`TRANSFER_BASIS_...`), empty when unspecified.
pub fn transfer_basis(basis: i32) -> String {
    pb::TransferBasis::try_from(basis)
        .ok()
        .filter(|b| *b != pb::TransferBasis::Unspecified)
        .map(|b| b.as_str_name().to_owned())
        .unwrap_or_default()
}

/// A cell as a spreadsheet may read it safely: a cell that starts with `=`, `+`, `-`, `@`, a tab
/// or a carriage return gets a leading `'`, so that the spreadsheet shows it as text instead of
/// running it as a formula (OWASP, "CSV Injection"). Every CSV cell the ledger writes goes
/// through here.
pub fn neutralise_formula(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// A CSV output: rows of cells, each neutralised ([`neutralise_formula`]) and quoted by the `csv`
/// crate where it needs to be; lines end in `\n`.
#[derive(Debug)]
pub struct CsvOut<W: Write> {
    out: csv::Writer<W>,
}

impl<W: Write> CsvOut<W> {
    /// A CSV output over `out`.
    pub fn new(out: W) -> Self {
        Self {
            out: csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(out),
        }
    }

    /// Writes one row.
    pub fn row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) -> io::Result<()> {
        let cells: Vec<String> = cells
            .into_iter()
            .map(|cell| neutralise_formula(cell.as_ref()).into_owned())
            .collect();
        self.out.write_record(&cells).map_err(io::Error::from)
    }

    /// Flushes and returns the output.
    pub fn finish(self) -> io::Result<W> {
        self.out
            .into_inner()
            .map_err(|error| io::Error::other(error.to_string()))
    }
}

/// The columns of [`BreachCsv`].
pub const CSV_COLUMNS: [&str; 9] = [
    "index",
    "subject_token",
    "kind",
    "occurred_at",
    "system",
    "data_categories",
    "recipient",
    "recipient_country",
    "amended",
];

/// The header line of [`BreachCsv`].
pub const CSV_HEADER: &str = "index,subject_token,kind,occurred_at,system,data_categories,recipient,recipient_country,amended";

/// The entries of a breach finding as CSV, written as they arrive: [`CSV_HEADER`], then one line
/// per entry; categories joined with `;`.
#[derive(Debug)]
pub struct BreachCsv<W: Write> {
    out: CsvOut<W>,
}

impl<W: Write> BreachCsv<W> {
    /// Writes the header.
    pub fn new(out: W) -> io::Result<Self> {
        let mut out = CsvOut::new(out);
        out.row(CSV_COLUMNS)?;
        Ok(Self { out })
    }

    /// Writes a page of entries.
    pub fn entries(&mut self, entries: &[pb::AffectedEntry]) -> io::Result<()> {
        for e in entries {
            self.out.row([
                e.index.to_string(),
                hex::encode(&e.subject_token),
                kind(e.kind),
                time(&e.occurred_at),
                e.system.clone(),
                e.data_categories.join(";"),
                e.recipient.clone(),
                e.recipient_country.clone(),
                e.amended.to_string(),
            ])?;
        }
        Ok(())
    }

    /// Flushes and returns the output.
    pub fn finish(self) -> io::Result<W> {
        self.out.finish()
    }
}

/// The entries as CSV (see [`BreachCsv`]).
pub fn breach_csv(entries: &[pb::AffectedEntry]) -> String {
    let mut out = Vec::new();
    // Writing to memory does not fail.
    if let Ok(mut csv) = BreachCsv::new(&mut out) {
        let _ = csv.entries(entries);
        let _ = csv.finish();
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn count(c: &pb::BreachCount) -> Value {
    json!({"name": c.name, "subjects": c.subjects, "records": c.records})
}

/// The summary as JSON.
pub fn summary_json(s: &pb::BreachSummary) -> Value {
    json!({
        "tree_size": s.tree_size,
        "subjects": s.subjects,
        "records": s.records,
        "per_category": s.per_category.iter().map(count).collect::<Vec<_>>(),
        "per_system": s.per_system.iter().map(count).collect::<Vec<_>>(),
        "special_categories_involved": s.special_categories_involved,
        "special_categories": s.special_categories,
        "third_country_transfers": s.third_country_transfers.iter().map(|t| json!({
            "recipient": t.recipient,
            "country": t.country,
            "transfer_basis": pb::TransferBasis::try_from(t.transfer_basis)
                .map(|b| b.as_str_name().to_owned())
                .unwrap_or_default(),
            "subjects": t.subjects,
            "records": t.records,
        })).collect::<Vec<_>>(),
        "access_entry_index": s.access_entry_index,
    })
}

fn entry_json(e: &pb::AffectedEntry) -> Value {
    json!({
        "index": e.index,
        "subject_token": hex::encode(&e.subject_token),
        "kind": kind(e.kind),
        "occurred_at": time(&e.occurred_at),
        "system": e.system,
        "data_categories": e.data_categories,
        "recipient": e.recipient,
        "recipient_country": e.recipient_country,
        "amended": e.amended,
    })
}

/// Pretty JSON of `value`, its lines after the first indented by `indent`.
fn indented(value: &Value, indent: &str) -> String {
    serde_json::to_string_pretty(value)
        .unwrap_or_default()
        .replace('\n', &format!("\n{indent}"))
}

/// A breach finding as one JSON document `{"entries": [...], "summary": {...}}`, written as the
/// entries arrive (the summary comes last in the stream, and last in the document).
#[derive(Debug)]
pub struct BreachJson<W: Write> {
    out: W,
    entries: u64,
}

impl<W: Write> BreachJson<W> {
    /// Opens the document.
    pub fn new(mut out: W) -> io::Result<Self> {
        write!(out, "{{\n  \"entries\": [")?;
        Ok(Self { out, entries: 0 })
    }

    /// Writes a page of entries.
    pub fn entries(&mut self, entries: &[pb::AffectedEntry]) -> io::Result<()> {
        for e in entries {
            let separator = if self.entries == 0 { "" } else { "," };
            write!(
                self.out,
                "{separator}\n    {}",
                indented(&entry_json(e), "    ")
            )?;
            self.entries += 1;
        }
        Ok(())
    }

    /// Writes the summary, closes the document, flushes and returns the output.
    pub fn finish(mut self, summary: &pb::BreachSummary) -> io::Result<W> {
        let close = if self.entries == 0 { "]" } else { "\n  ]" };
        writeln!(
            self.out,
            "{close},\n  \"summary\": {}\n}}",
            indented(&summary_json(summary), "  ")
        )?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Entries and summary as one JSON document (see [`BreachJson`]).
pub fn breach_json(entries: &[pb::AffectedEntry], summary: &pb::BreachSummary) -> String {
    let mut out = Vec::new();
    // Writing to memory does not fail.
    if let Ok(mut doc) = BreachJson::new(&mut out) {
        let _ = doc.entries(entries);
        let _ = doc.finish(summary);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The summary as readable text.
pub fn summary_text(s: &pb::BreachSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Breach investigation (log size {}): {} data subjects, {} records",
        s.tree_size, s.subjects, s.records
    );
    let _ = writeln!(out, "Per data category:");
    for c in &s.per_category {
        let _ = writeln!(
            out,
            "  {:<40} {:>10} subjects {:>10} records",
            c.name, c.subjects, c.records
        );
    }
    let _ = writeln!(out, "Per system:");
    for c in &s.per_system {
        let _ = writeln!(
            out,
            "  {:<40} {:>10} subjects {:>10} records",
            c.name, c.subjects, c.records
        );
    }
    let _ = writeln!(
        out,
        "Special categories (article 9): {}",
        if s.special_categories_involved {
            s.special_categories.join(", ")
        } else {
            "none".into()
        }
    );
    let _ = writeln!(out, "Third-country transfers:");
    if s.third_country_transfers.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for t in &s.third_country_transfers {
        let _ = writeln!(
            out,
            "  {} ({}, {}): {} subjects, {} records",
            t.recipient,
            t.country,
            pb::TransferBasis::try_from(t.transfer_basis)
                .map(|b| b.as_str_name())
                .unwrap_or("?"),
            t.subjects,
            t.records
        );
    }
    out
}

/// The columns of the article 30 record as CSV.
pub const PROCESSING_CSV_COLUMNS: [&str; 12] = [
    "system",
    "data_category",
    "purpose",
    "legal_basis",
    "recipient",
    "recipient_country",
    "transfer_basis",
    "special_category",
    "third_country",
    "records",
    "first_seen",
    "last_seen",
];

/// The article 30 records as CSV: [`PROCESSING_CSV_COLUMNS`], then one line per record.
pub fn processing_csv(records: &[pb::ProcessingRecord]) -> String {
    let mut out = Vec::new();
    let mut csv = CsvOut::new(&mut out);
    // Writing to memory does not fail.
    let _ = csv.row(PROCESSING_CSV_COLUMNS);
    for r in records {
        let _ = csv.row([
            r.system.clone(),
            r.data_category.clone(),
            r.purpose.clone(),
            r.legal_basis.clone(),
            r.recipient.clone(),
            r.recipient_country.clone(),
            transfer_basis(r.transfer_basis),
            r.special_category.to_string(),
            r.third_country.to_string(),
            r.records.to_string(),
            time(&r.first_seen),
            time(&r.last_seen),
        ]);
    }
    let _ = csv.finish();
    String::from_utf8_lossy(&out).into_owned()
}

/// A system's declaration as JSON (the names of `SystemDeclaration`'s fields).
fn declaration_json(system: &pb::DeclaredSystem) -> Value {
    let d = system.declaration.clone().unwrap_or_default();
    json!({
        "index": system.index, "name": d.name, "owner": d.owner, "country": d.country,
        "data_categories": d.data_categories, "purposes": d.purposes,
        "recipients": d.recipients, "subject_categories": d.subject_categories,
        "retention": d.retention, "security_measures": d.security_measures,
        "effective_at": time(&d.effective_at),
    })
}

/// The article 30 record as JSON: `records`, its lines as the entries show them, and
/// `declared_systems`, the systems as the controller declares them.
pub fn processing_json(
    records: &[pb::ProcessingRecord],
    declared: &[pb::DeclaredSystem],
) -> String {
    let rows: Vec<Value> = records
        .iter()
        .map(|r| {
            json!({
                "system": r.system, "data_category": r.data_category, "purpose": r.purpose,
                "legal_basis": r.legal_basis, "recipient": r.recipient,
                "recipient_country": r.recipient_country,
                "transfer_basis": transfer_basis(r.transfer_basis),
                "special_category": r.special_category, "third_country": r.third_country,
                "records": r.records, "first_seen": time(&r.first_seen),
                "last_seen": time(&r.last_seen),
            })
        })
        .collect();
    let declared: Vec<Value> = declared.iter().map(declaration_json).collect();
    let report = json!({"records": rows, "declared_systems": declared});
    serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
}

/// A list for text: its items joined with ", ", or `-` when empty.
fn list_or_dash(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(", ")
    }
}

/// The declared systems as text: a block per system with the article 30(1) fields the entries
/// cannot show. Empty when none is declared.
pub fn declared_systems_text(declared: &[pb::DeclaredSystem]) -> String {
    let mut out = String::new();
    if declared.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\nDeclared systems (system_declared):");
    for system in declared {
        let d = system.declaration.clone().unwrap_or_default();
        let or_dash = |text: &str| {
            if text.is_empty() {
                "-".to_owned()
            } else {
                text.to_owned()
            }
        };
        let _ = writeln!(
            out,
            "{} (entry {}, in force from {}): owner {}, country {}",
            d.name,
            system.index,
            time(&d.effective_at),
            or_dash(&d.owner),
            or_dash(&d.country)
        );
        let _ = writeln!(
            out,
            "  data categories: {}",
            list_or_dash(&d.data_categories)
        );
        let _ = writeln!(out, "  purposes: {}", list_or_dash(&d.purposes));
        let _ = writeln!(out, "  recipients: {}", list_or_dash(&d.recipients));
        let _ = writeln!(
            out,
            "  categories of data subjects: {}",
            list_or_dash(&d.subject_categories)
        );
        let _ = writeln!(out, "  time limits for erasure: {}", or_dash(&d.retention));
        let _ = writeln!(
            out,
            "  security measures: {}",
            or_dash(&d.security_measures)
        );
    }
    out
}

/// The article 30 records as text, one line per record.
pub fn processing_text(records: &[pb::ProcessingRecord]) -> String {
    let mut out = String::new();
    for r in records {
        let _ = writeln!(
            out,
            "{} holds {}{} for {} on {}{}: {} records, {} .. {}",
            r.system,
            r.data_category,
            if r.special_category { " (art. 9)" } else { "" },
            if r.purpose.is_empty() {
                "-"
            } else {
                &r.purpose
            },
            if r.legal_basis.is_empty() {
                "-"
            } else {
                &r.legal_basis
            },
            if r.recipient.is_empty() {
                String::new()
            } else {
                format!(
                    ", shared with {} ({}{})",
                    r.recipient,
                    r.recipient_country,
                    if r.third_country {
                        format!(", third country, {}", transfer_basis(r.transfer_basis))
                    } else {
                        String::new()
                    }
                )
            },
            r.records,
            time(&r.first_seen),
            time(&r.last_seen)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_a_spreadsheet_would_run_are_neutralised() {
        for cell in [
            "=HYPERLINK(\"http://evil.example\",\"x\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(neutralise_formula(cell), format!("'{cell}"), "{cell:?}");
        }
        for cell in ["crm", "1", "", "a=b", " =1", "'=1", "2026-01-01T00:00:00Z"] {
            assert_eq!(neutralise_formula(cell), cell, "{cell:?}");
        }
    }

    #[test]
    fn every_cell_is_neutralised_and_quoted_by_the_csv_writer() {
        let mut out = Vec::new();
        let mut csv = CsvOut::new(&mut out);
        csv.row(["=1+1", "a,b", "say \"hi\"", "two\nlines", "-x,y", "plain"])
            .expect("row");
        csv.finish().expect("flush");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "'=1+1,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"'-x,y\",plain\n"
        );
    }

    #[test]
    fn the_header_constant_is_the_columns() {
        assert_eq!(CSV_HEADER, CSV_COLUMNS.join(","));
        let csv = breach_csv(&[]);
        assert_eq!(csv, format!("{CSV_HEADER}\n"));
    }
}
