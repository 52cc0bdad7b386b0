//! `gdpr-ledger footprint`: what a data dir's bytes are made of, column family by column family,
//! and per entry of the log.

use std::path::PathBuf;

use anyhow::Context as _;
use gdpr_ledger::storage::{LedgerStore, StorageConfig};

/// Arguments of `gdpr-ledger footprint`.
#[derive(Debug, clap::Args)]
pub struct FootprintArgs {
    /// The data dir (opened read-only; a running server may keep writing).
    #[arg(long)]
    pub data_dir: PathBuf,
}

/// Prints one line per column family: rows, logical key and value bytes, bytes of its files, and
/// each per entry of the log.
pub fn run(args: &FootprintArgs) -> anyhow::Result<()> {
    let dir = &args.data_dir;
    let store = LedgerStore::open_read_only(dir, &StorageConfig::default())
        .with_context(|| format!("cannot open {}", dir.display()))?;
    let entries = store.tree_size()?;
    let families = store.footprint()?;
    let per_entry = |bytes: u64| {
        if entries == 0 {
            0.0
        } else {
            bytes as f64 / entries as f64
        }
    };
    println!(
        "{:<20} {:>12} {:>14} {:>14} {:>14} {:>12} {:>12}",
        "family", "rows", "key bytes", "value bytes", "sst bytes", "B/entry", "sst B/entry"
    );
    let (mut logical, mut sst) = (0u64, 0u64);
    for family in &families {
        let bytes = family.key_bytes + family.value_bytes;
        logical += bytes;
        sst += family.sst_bytes;
        println!(
            "{:<20} {:>12} {:>14} {:>14} {:>14} {:>12.1} {:>12.1}",
            family.name,
            family.rows,
            family.key_bytes,
            family.value_bytes,
            family.sst_bytes,
            per_entry(bytes),
            per_entry(family.sst_bytes)
        );
    }
    println!(
        "{:<20} {:>12} {:>29} {:>14} {:>12.1} {:>12.1}",
        "all",
        entries,
        logical,
        sst,
        per_entry(logical),
        per_entry(sst)
    );
    println!(
        "(rows not yet flushed to an SST file are in the WAL: the sst column counts only flushed ones)"
    );
    // The reports family by kind of row (docs/reports.md): SST bytes are not kept per key range,
    // so this is logical bytes only.
    println!();
    println!(
        "{:<20} {:>12} {:>14} {:>14} {:>14} {:>12}",
        "reports rows", "rows", "key bytes", "value bytes", "", "B/entry"
    );
    for (tag, (rows, keys, values)) in store.report_footprint()? {
        println!(
            "{:<20} {:>12} {:>14} {:>14} {:>14} {:>12.1}",
            report_row_kind(tag),
            rows,
            keys,
            values,
            "",
            per_entry(keys + values)
        );
    }
    // The subject index's pages by the depth of their top: a version rewrites every page its
    // paths cross, so this shows which levels its bytes go to (docs/subject-index.md section 8).
    let versions = families
        .iter()
        .find(|family| family.name == gdpr_ledger::storage::columns::SUBJECT_INDEX_ROOTS)
        .map_or(0, |family| family.rows);
    println!();
    println!(
        "{:<20} {:>12} {:>14} {:>14} {:>14} {:>12}",
        "index pages", "rows", "key bytes", "value bytes", "rows/version", "B/entry"
    );
    for (depth, (rows, keys, values)) in store.subject_index_footprint()? {
        println!(
            "{:<20} {:>12} {:>14} {:>14} {:>14.1} {:>12.1}",
            format!("top at depth {depth}"),
            rows,
            keys,
            values,
            if versions == 0 {
                0.0
            } else {
                rows as f64 / versions as f64
            },
            per_entry(keys + values)
        );
    }
    Ok(())
}

/// What the rows of a `reports` tag are (`storage::report_index`).
fn report_row_kind(tag: u8) -> String {
    use gdpr_ledger::storage::report_index as ri;
    match tag {
        ri::TAG_SYSTEM => "by system".into(),
        ri::TAG_RECIPIENT => "by recipient".into(),
        tag if ri::RETIRED_TAGS.contains(&tag) => format!("retired ({tag:#04x})"),
        ri::TAG_CORRECTION => "corrections".into(),
        ri::TAG_AGGREGATE => "article 30".into(),
        ri::TAG_BREACH_COUNT => "breach counts".into(),
        ri::TAG_BREACH_MEMBER => "breach members".into(),
        ri::cases::TAG_BREACH_CASE => "breach cases".into(),
        ri::cases::TAG_CONTROLLER_DECLARED => "controller declarations".into(),
        ri::cases::TAG_REQUEST_CASE => "request cases".into(),
        ri::cases::TAG_REQUEST_POLICY => "request policies".into(),
        ri::cases::TAG_CONSENT_POLICY => "consent policies".into(),
        ri::cases::TAG_RETENTION_POLICY => "retention policies".into(),
        ri::cases::TAG_SYSTEM_DECLARED => "system declarations".into(),
        other => format!("tag {other:#04x}"),
    }
}
