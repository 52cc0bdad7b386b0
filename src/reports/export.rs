//! Exports of breach findings: CSV (one line per entry) and JSON (entries and summary), written as
//! the entries arrive ([`BreachCsv`], [`BreachJson`]). Used by `gdpr-ledger report breach` on what
//! the server streams, without holding the entries.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde_json::{Value, json};

use crate::proto::v1 as pb;

fn time(t: &Option<prost_types::Timestamp>) -> String {
    t.map(|t| t.to_string()).unwrap_or_default()
}

fn kind(kind: i32) -> String {
    pb::EventKind::try_from(kind)
        .map(|k| {
            k.as_str_name()
                .trim_start_matches("EVENT_KIND_")
                .to_ascii_lowercase()
        })
        .unwrap_or_else(|_| kind.to_string())
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// The header of [`breach_csv`].
pub const CSV_HEADER: &str = "index,subject_token,kind,occurred_at,system,data_categories,recipient,recipient_country,amended";

/// The entries of a breach finding as CSV, written as they arrive: [`CSV_HEADER`], then one line
/// per entry; categories joined with `;`.
#[derive(Debug)]
pub struct BreachCsv<W: Write> {
    out: W,
}

impl<W: Write> BreachCsv<W> {
    /// Writes the header.
    pub fn new(mut out: W) -> io::Result<Self> {
        writeln!(out, "{CSV_HEADER}")?;
        Ok(Self { out })
    }

    /// Writes a page of entries.
    pub fn entries(&mut self, entries: &[pb::AffectedEntry]) -> io::Result<()> {
        for e in entries {
            writeln!(
                self.out,
                "{},{},{},{},{},{},{},{},{}",
                e.index,
                hex::encode(&e.subject_token),
                kind(e.kind),
                time(&e.occurred_at),
                csv_field(&e.system),
                csv_field(&e.data_categories.join(";")),
                csv_field(&e.recipient),
                csv_field(&e.recipient_country),
                e.amended
            )?;
        }
        Ok(())
    }

    /// Flushes and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// The entries as CSV (see [`BreachCsv`]).
pub fn breach_csv(entries: &[pb::AffectedEntry]) -> String {
    let mut out = Vec::new();
    // Writing to memory does not fail.
    if let Ok(mut csv) = BreachCsv::new(&mut out) {
        let _ = csv.entries(entries);
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

/// The article 30 records as text (a table), CSV or JSON.
pub fn processing(records: &[pb::ProcessingRecord], csv: bool, as_json: bool) -> String {
    let basis = |b: i32| {
        pb::TransferBasis::try_from(b)
            .ok()
            .filter(|b| *b != pb::TransferBasis::Unspecified)
            .map(|b| b.as_str_name().to_owned())
            .unwrap_or_default()
    };
    if as_json {
        let rows: Vec<Value> = records
            .iter()
            .map(|r| {
                json!({
                    "system": r.system, "data_category": r.data_category, "purpose": r.purpose,
                    "legal_basis": r.legal_basis, "recipient": r.recipient,
                    "recipient_country": r.recipient_country,
                    "transfer_basis": basis(r.transfer_basis),
                    "special_category": r.special_category, "third_country": r.third_country,
                    "records": r.records, "first_seen": time(&r.first_seen),
                    "last_seen": time(&r.last_seen),
                })
            })
            .collect();
        return serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n";
    }
    let mut out = String::new();
    if csv {
        out.push_str("system,data_category,purpose,legal_basis,recipient,recipient_country,transfer_basis,special_category,third_country,records,first_seen,last_seen\n");
    }
    for r in records {
        if csv {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{},{}",
                csv_field(&r.system),
                csv_field(&r.data_category),
                csv_field(&r.purpose),
                csv_field(&r.legal_basis),
                csv_field(&r.recipient),
                csv_field(&r.recipient_country),
                basis(r.transfer_basis),
                r.special_category,
                r.third_country,
                r.records,
                time(&r.first_seen),
                time(&r.last_seen)
            );
        } else {
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
                            format!(", third country, {}", basis(r.transfer_basis))
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
    }
    out
}
