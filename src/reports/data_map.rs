//! The data map (`docs/data-map.md`) as the log held it at `as_of`: the declared systems
//! (`system_declared` entries, read through their declaration rows) against the entries,
//! corrections honoured, through the pure rule `core::data_map`.
//!
//! Cost: one pass over every entry received by `as_of` (as `ListProcessingWithoutConsent`
//! does), holding only counts by system, channel, recipient and flag. The article 30 aggregates
//! the commits keep (`storage::report_index`, tag `0x07`) cannot answer it: they are cumulative
//! over the whole log (no `as_of`), count original entries (corrections are applied at report
//! time), know no collection channel, and cannot check an entry against the declaration in
//! force at its own time.

use prost_types::Timestamp;

use super::{Corrections, Effective, ReportError};
use crate::core::data_map::{
    DataMap, DataMapBuilder, FlagKind, Instant, SECONDS_PER_DAY, Seen, declared_systems_at,
};
use crate::proto::v1 as pb;
use crate::proto::v1::{EventKind, SystemDeclaration};
use crate::storage::LedgerStore;
use crate::validation::is_third_country;

/// Longest `silent_after_days` a request may ask for (ten years).
pub const MAX_SILENT_AFTER_DAYS: u32 = 3650;

/// Default `[data_map] silent_after_days`.
pub const DEFAULT_SILENT_AFTER_DAYS: u32 = 30;

/// The live system declarations among the first `size` entries, with their indexes (few: one
/// per change of a declared system; read through their declaration rows).
pub fn system_declarations(
    store: &LedgerStore,
    size: u64,
    corrections: &Corrections,
) -> Result<Vec<(u64, SystemDeclaration)>, ReportError> {
    let indexes: Vec<u64> = store
        .system_declarations()?
        .into_iter()
        .filter(|index| *index < size)
        .collect();
    let mut declared = Vec::with_capacity(indexes.len());
    for mut entry in store.decoded_entries(&indexes)? {
        let event = entry.event.take().unwrap_or_default();
        if let Effective::Live { event, .. } = corrections.effective_event(entry.index, event)
            && event.kind() == EventKind::SystemDeclared
            && let Some(declaration) = event.system_declaration
        {
            declared.push((entry.index, declaration));
        }
    }
    Ok(declared)
}

/// The systems declared at `at` among the first `size` entries, corrections applied, by name
/// (`core::data_map::declared_systems_at`): what the article 30 record shows beside its lines.
pub fn declared_systems(
    store: &LedgerStore,
    size: u64,
    at: &Timestamp,
) -> Result<Vec<pb::DeclaredSystem>, ReportError> {
    Ok(
        declared_systems_at(live_system_declarations(store, size)?, at)
            .into_iter()
            .map(|(index, declaration)| pb::DeclaredSystem {
                declaration: Some(declaration),
                index,
            })
            .collect(),
    )
}

/// The live system declarations among the first `size` entries, with only their own
/// corrections read (not the whole log's).
pub fn live_system_declarations(
    store: &LedgerStore,
    size: u64,
) -> Result<Vec<(u64, SystemDeclaration)>, ReportError> {
    let indexes: Vec<u64> = store
        .system_declarations()?
        .into_iter()
        .filter(|index| *index < size)
        .collect();
    let corrections = Corrections::load_of(store, size, &indexes)?;
    system_declarations(store, size, &corrections)
}

/// The map at `as_of` among the first `latest` entries (the latest checkpoint's size), once the
/// report rows cover them; with the size it covers (the entries received by `as_of`).
pub fn data_map(
    store: &LedgerStore,
    latest: u64,
    as_of: Timestamp,
    silent_after_days: u32,
) -> Result<(DataMap, u64), ReportError> {
    super::check_indexed(store, latest)?;
    super::breach_case::check_cases_indexed(store, latest)?;
    let size = store.entries_received_by(&as_of, latest)?;
    let corrections = Corrections::load(store, size)?;
    let declared = system_declarations(store, size, &corrections)?;
    let silent_after = i64::from(silent_after_days) * SECONDS_PER_DAY;
    let mut builder = DataMapBuilder::new(declared, as_of, silent_after);
    for row in store.entry_rows()? {
        let (index, entry) = crate::consent::decoded(row)?;
        if index >= size {
            break;
        }
        let Some(event) = entry.event else { continue };
        if let Effective::Live { event, .. } = corrections.effective_event(index, event) {
            builder.observe(index, &event);
        }
    }
    Ok((builder.finish(), size))
}

fn timestamp((seconds, nanos): Instant) -> Timestamp {
    Timestamp { seconds, nanos }
}

fn seen(seen: &Seen) -> pb::DataMapSeen {
    pb::DataMapSeen {
        entries: seen.entries,
        first_seen: Some(timestamp(seen.first.0)),
        first_index: seen.first.1,
        last_seen: Some(timestamp(seen.last.0)),
        last_index: seen.last.1,
    }
}

fn flag_kind(kind: FlagKind) -> pb::DataMapFlagKind {
    match kind {
        FlagKind::UndeclaredSystem => pb::DataMapFlagKind::UndeclaredSystem,
        FlagKind::SilentSystem => pb::DataMapFlagKind::SilentSystem,
        FlagKind::UndeclaredCategory => pb::DataMapFlagKind::UndeclaredCategory,
        FlagKind::UndeclaredRecipient => pb::DataMapFlagKind::UndeclaredRecipient,
    }
}

/// The map as the service returns it (without the request's `tree_size`, `as_of` and
/// `silent_after_days`).
pub fn to_proto(map: DataMap) -> pb::DataMapResponse {
    pb::DataMapResponse {
        systems: map
            .systems
            .into_iter()
            .map(|system| pb::DataMapSystem {
                name: system.name,
                declared_index: system.declared.as_ref().map_or(0, |(index, _)| *index),
                declared: system.declared.map(|(_, declared)| declared),
                declared_since: system.declared_since.map(timestamp),
                observed: system.observed.as_ref().map(seen),
                observed_categories: system.observed_categories.into_iter().collect(),
            })
            .collect(),
        collections: map
            .collections
            .into_iter()
            .map(|(key, found)| pb::DataMapCollectionFlow {
                channel: key.channel,
                system: key.system,
                seen: Some(seen(&found)),
            })
            .collect(),
        shares: map
            .shares
            .into_iter()
            .map(|(key, found)| pb::DataMapShareFlow {
                third_country: is_third_country(&key.country),
                system: key.system,
                recipient: key.recipient,
                role: key.role,
                country: key.country,
                seen: Some(seen(&found)),
            })
            .collect(),
        flags: map
            .flags
            .into_iter()
            .map(|flag| pb::DataMapFlag {
                kind: flag_kind(flag.kind) as i32,
                system: flag.system,
                value: flag.value,
                seen: flag.seen.as_ref().map(seen),
            })
            .collect(),
        ..Default::default()
    }
}

/// `[data_map]`: when a declared system counts as silent, and the systems the server declares
/// in the log at start (`server::controller`) where they differ from the declaration in force.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataMapConfig {
    /// A declared system with no entry for this many days is flagged silent (1 to 3650;
    /// default 30), unless a request names its own.
    pub silent_after_days: u32,
    /// `[[data_map.systems]]`: the declared systems.
    pub systems: Vec<SystemConfig>,
}

impl Default for DataMapConfig {
    fn default() -> Self {
        Self {
            silent_after_days: DEFAULT_SILENT_AFTER_DAYS,
            systems: Vec::new(),
        }
    }
}

/// One `[[data_map.systems]]`: a [`SystemDeclaration`] without its time (the server declares it
/// in force from the start that finds it changed).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SystemConfig {
    /// The system, as its entries name it.
    pub name: String,
    /// A team or role responsible.
    pub owner: String,
    /// ISO 3166-1 alpha-2 code of where it holds the data.
    pub country: String,
    /// The categories it is declared to hold (DPV-PD terms).
    pub data_categories: Vec<String>,
    /// Purposes (DPV terms).
    pub purposes: Vec<String>,
    /// Recipients it shares with, as shares name them.
    pub recipients: Vec<String>,
    /// Categories of data subjects (DPV terms).
    pub subject_categories: Vec<String>,
    /// Time limits for erasure, short text.
    pub retention: String,
    /// Security measures, short text.
    pub security_measures: String,
}

impl DataMapConfig {
    /// What serde cannot check: the days in range, each system named once. (Each system's
    /// fields follow the event's rules when the server declares it at start.)
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !(1..=MAX_SILENT_AFTER_DAYS).contains(&self.silent_after_days) {
            return Err((
                "data_map.silent_after_days",
                format!("must be 1 to {MAX_SILENT_AFTER_DAYS} days"),
            ));
        }
        for (i, system) in self.systems.iter().enumerate() {
            if let Some(first) = self.systems[..i].iter().position(|s| s.name == system.name) {
                return Err((
                    "data_map.systems",
                    format!(
                        "systems[{i}] names {:?} again (systems[{first}]); one declaration a system",
                        system.name
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl SystemConfig {
    /// The declaration it makes, without `effective_at`.
    pub fn declaration(&self) -> SystemDeclaration {
        SystemDeclaration {
            name: self.name.clone(),
            owner: self.owner.clone(),
            country: self.country.clone(),
            data_categories: self.data_categories.clone(),
            purposes: self.purposes.clone(),
            recipients: self.recipients.clone(),
            subject_categories: self.subject_categories.clone(),
            retention: self.retention.clone(),
            security_measures: self.security_measures.clone(),
            effective_at: None,
            withdrawn: false,
        }
    }
}
