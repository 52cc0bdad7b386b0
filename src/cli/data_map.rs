//! `gdpr-ledger report data-map`: the declared systems against the observed ones at `--as-of`
//! (`Reports.DataMap`, docs/data-map.md): every system, the collection and share flows, and the
//! flags, as text or JSON.

use std::fmt::Write as _;
use std::path::PathBuf;

use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::reports::export::time;
use serde_json::{Value, json};

use super::breach::{as_of, connect};
use super::connect::{Connection, rpc_error};
use super::report::write_out;

/// How `report data-map` writes the map.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum MapFormat {
    /// Readable text: systems, flows, flags.
    Text,
    /// One JSON object.
    Json,
}

/// The arguments of `report data-map`.
#[derive(Debug, clap::Args)]
pub struct DataMapArgs {
    #[command(flatten)]
    pub connection: Connection,
    /// The time to answer for, RFC 3339; default now.
    #[arg(long)]
    pub as_of: Option<String>,
    /// A declared system with no entry for this many days is flagged silent; default the
    /// server's `[data_map] silent_after_days`.
    #[arg(long)]
    pub silent_after_days: Option<u32>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: MapFormat,
    /// Where to write the map; standard output when absent.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

fn seen_text(seen: &Option<pb::DataMapSeen>) -> String {
    match seen {
        Some(seen) => format!(
            "{} entries, {} (entry {}) .. {} (entry {})",
            seen.entries,
            time(&seen.first_seen),
            seen.first_index,
            time(&seen.last_seen),
            seen.last_index
        ),
        None => "no entry".to_owned(),
    }
}

fn seen_json(seen: &Option<pb::DataMapSeen>) -> Value {
    match seen {
        Some(seen) => json!({
            "entries": seen.entries,
            "first_seen": time(&seen.first_seen), "first_index": seen.first_index,
            "last_seen": time(&seen.last_seen), "last_index": seen.last_index,
        }),
        None => Value::Null,
    }
}

/// A flag's kind as the text and JSON name it: `undeclared_system`, `silent_system`, ...
pub fn flag_name(kind: i32) -> String {
    pb::DataMapFlagKind::try_from(kind)
        .map(|k| {
            k.as_str_name()
                .trim_start_matches("DATA_MAP_FLAG_KIND_")
                .to_ascii_lowercase()
        })
        .unwrap_or_else(|_| kind.to_string())
}

fn role_name(role: i32) -> String {
    pb::RecipientRole::try_from(role)
        .map(|r| {
            r.as_str_name()
                .trim_start_matches("RECIPIENT_ROLE_")
                .to_ascii_lowercase()
        })
        .unwrap_or_else(|_| role.to_string())
}

/// The map as text: the systems, the collection flows, the share flows, the flags.
pub fn map_text(map: &pb::DataMapResponse) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Data map at {} ({} entries; silent after {} days)",
        time(&map.as_of),
        map.tree_size,
        map.silent_after_days
    );
    let _ = writeln!(out, "\nSystems:");
    for system in &map.systems {
        let declared = match &system.declared {
            Some(d) => format!(
                "declared (entry {}, owner {}, {}, since {})",
                system.declared_index,
                d.owner,
                d.country,
                time(&system.declared_since)
            ),
            None => "NOT DECLARED".to_owned(),
        };
        let _ = writeln!(
            out,
            "  {}: {declared}; observed: {}",
            system.name,
            seen_text(&system.observed)
        );
        if !system.observed_categories.is_empty() {
            let _ = writeln!(
                out,
                "    categories seen: {}",
                system.observed_categories.join(", ")
            );
        }
    }
    let _ = writeln!(out, "\nCollections (channel -> system):");
    for flow in &map.collections {
        let channel = if flow.channel.is_empty() {
            "(no channel stated)"
        } else {
            &flow.channel
        };
        let _ = writeln!(
            out,
            "  {channel} -> {}: {}",
            flow.system,
            seen_text(&flow.seen)
        );
    }
    let _ = writeln!(out, "\nShares (system -> recipient):");
    for flow in &map.shares {
        let _ = writeln!(
            out,
            "  {} -> {} ({}, {}{}): {}",
            flow.system,
            flow.recipient,
            role_name(flow.role),
            flow.country,
            if flow.third_country {
                ", third country"
            } else {
                ""
            },
            seen_text(&flow.seen)
        );
    }
    let _ = writeln!(out, "\nFlags ({}):", map.flags.len());
    for flag in &map.flags {
        let value = if flag.value.is_empty() {
            String::new()
        } else {
            format!(" {}", flag.value)
        };
        let _ = writeln!(
            out,
            "  {} {}{value}: {}",
            flag_name(flag.kind),
            flag.system,
            seen_text(&flag.seen)
        );
    }
    out
}

/// The map as one JSON object.
pub fn map_json(map: &pb::DataMapResponse) -> String {
    let systems: Vec<Value> = map
        .systems
        .iter()
        .map(|system| {
            json!({
                "name": system.name,
                "declared": system.declared.as_ref().map(|d| json!({
                    "index": system.declared_index, "owner": d.owner, "country": d.country,
                    "data_categories": d.data_categories, "purposes": d.purposes,
                    "recipients": d.recipients, "subject_categories": d.subject_categories,
                    "retention": d.retention, "security_measures": d.security_measures,
                    "effective_at": time(&d.effective_at),
                    "declared_since": time(&system.declared_since),
                })),
                "observed": seen_json(&system.observed),
                "observed_categories": system.observed_categories,
            })
        })
        .collect();
    let collections: Vec<Value> = map
        .collections
        .iter()
        .map(|flow| json!({"channel": flow.channel, "system": flow.system, "seen": seen_json(&flow.seen)}))
        .collect();
    let shares: Vec<Value> = map
        .shares
        .iter()
        .map(|flow| {
            json!({
                "system": flow.system, "recipient": flow.recipient,
                "role": role_name(flow.role), "country": flow.country,
                "third_country": flow.third_country, "seen": seen_json(&flow.seen),
            })
        })
        .collect();
    let flags: Vec<Value> = map
        .flags
        .iter()
        .map(|flag| {
            json!({
                "kind": flag_name(flag.kind), "system": flag.system, "value": flag.value,
                "seen": seen_json(&flag.seen),
            })
        })
        .collect();
    let report = json!({
        "as_of": time(&map.as_of), "tree_size": map.tree_size,
        "silent_after_days": map.silent_after_days,
        "systems": systems, "collections": collections, "shares": shares, "flags": flags,
    });
    serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
}

/// Runs `report data-map`.
pub async fn run(args: &DataMapArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.connection).await?;
    let started = std::time::Instant::now();
    let bar = super::progress::spinner("asking the server (it reads every entry)");
    let response = client
        .data_map(pb::DataMapRequest {
            as_of: as_of(&args.as_of)?,
            silent_after_days: args.silent_after_days.unwrap_or(0),
        })
        .await;
    bar.finish_and_clear();
    let map = response
        .map_err(|status| rpc_error("DataMap", status))?
        .into_inner();
    eprintln!(
        "{} systems, {} flags, over {} entries in {:.2} s",
        map.systems.len(),
        map.flags.len(),
        map.tree_size,
        started.elapsed().as_secs_f64()
    );
    let text = match args.format {
        MapFormat::Text => map_text(&map),
        MapFormat::Json => map_json(&map),
    };
    write_out(&args.output, &text)
}
