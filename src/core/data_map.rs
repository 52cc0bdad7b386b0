//! The data map (`docs/data-map.md`): the systems the controller declares (`system_declared`
//! events) against what the log shows of them, as the log held it at `as_of`.
//!
//! The rules:
//! - *Observed*: the live (corrected) entries of the kinds that record processing
//!   ([`is_processing_kind`], what the article 30 record counts), each under its `system`. A
//!   collection is a flow from its `collection_channel` ("" when it states none) to its system;
//!   an entry with a recipient is a flow from its system to the recipient (name, role, country).
//! - *Declared*: a system's declaration in force at a time is the latest of its live
//!   `system_declared` entries whose `effective_at` is not after that time
//!   (`core::declarations::in_force`); a withdrawal in force means none.
//! - Each observed entry is checked against its system's declaration in force at the entry's
//!   `occurred_at`: with none, it is an entry of an *undeclared system*; otherwise each of its
//!   categories the declaration does not list is an *undeclared category*, and its recipient, if
//!   the declaration does not list it, an *undeclared recipient*. A flag counts its entries,
//!   with the first and last of them.
//! - A system declared at `as_of` is *silent* when its declaration has been in force (without a
//!   withdrawal in between) for at least `silent_after` seconds and it has no observed entry
//!   whose `occurred_at` is later than `as_of - silent_after`.

use std::collections::{BTreeMap, BTreeSet};

use prost_types::Timestamp;

use super::declarations::in_force;
use crate::proto::v1::{Event, EventKind, SystemDeclaration};

/// Most recipients one system declaration names.
pub const MAX_DECLARED_RECIPIENTS: usize = 64;

/// Seconds in a day, for `silent_after_days`.
pub const SECONDS_PER_DAY: i64 = 86_400;

/// The kinds that record processing of personal data: what the article 30 record and the data
/// map count as a system's records.
pub fn is_processing_kind(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::Collection
            | EventKind::Share
            | EventKind::Access
            | EventKind::Rectification
            | EventKind::Export
    )
}

/// A time as `(seconds, nanos)`, ordered.
pub type Instant = (i64, i32);

fn instant(time: Option<&Timestamp>) -> Instant {
    time.map_or((0, 0), |t| (t.seconds, t.nanos))
}

/// How many entries showed something, and the first and last of them (by `occurred_at`, then
/// index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// Entries.
    pub entries: u64,
    /// The earliest `occurred_at` and its entry.
    pub first: (Instant, u64),
    /// The latest `occurred_at` and its entry.
    pub last: (Instant, u64),
}

impl Seen {
    fn one(at: Instant, index: u64) -> Self {
        Self {
            entries: 1,
            first: (at, index),
            last: (at, index),
        }
    }

    fn add(&mut self, at: Instant, index: u64) {
        self.entries += 1;
        self.first = self.first.min((at, index));
        self.last = self.last.max((at, index));
    }
}

/// A system of the map: declared at `as_of`, observed, or both.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemNode {
    /// Its name.
    pub name: String,
    /// The declaration in force at `as_of` and its entry (`None`: not declared then).
    pub declared: Option<(u64, SystemDeclaration)>,
    /// With `declared`: when the declarations in force without a withdrawal since began.
    pub declared_since: Option<Instant>,
    /// Its observed entries (`None`: none).
    pub observed: Option<Seen>,
    /// The categories its observed entries name.
    pub observed_categories: BTreeSet<String>,
}

/// Collections through `channel` into `system`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChannelKey {
    /// The collection channel ("" when the collection states none).
    pub channel: String,
    /// The system.
    pub system: String,
}

/// Entries of `system` with the recipient `recipient` (its role and country as they state them).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecipientKey {
    /// The system.
    pub system: String,
    /// The recipient's name.
    pub recipient: String,
    /// Its role (the `RecipientRole` number).
    pub role: i32,
    /// Its country.
    pub country: String,
}

/// What a flag is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FlagKind {
    /// Entries of a system with no declaration in force at their time.
    UndeclaredSystem,
    /// A declared system with no entry in the last `silent_after` before `as_of`.
    SilentSystem,
    /// Entries naming a category the system's declaration in force does not list.
    UndeclaredCategory,
    /// Entries with a recipient the system's declaration in force does not list.
    UndeclaredRecipient,
}

/// One flag of the map.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    /// What it is about.
    pub kind: FlagKind,
    /// The system.
    pub system: String,
    /// The category or recipient ("" for the other kinds).
    pub value: String,
    /// The entries concerned (for a silent system: its last observed entries, if any).
    pub seen: Option<Seen>,
}

/// The data map at `as_of`: every system, flow and flag, each list in key order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DataMap {
    /// Systems by name.
    pub systems: Vec<SystemNode>,
    /// Collection flows, by channel then system.
    pub collections: Vec<(ChannelKey, Seen)>,
    /// Recipient flows, by system, recipient, role, country.
    pub shares: Vec<(RecipientKey, Seen)>,
    /// Flags, by kind, system, value.
    pub flags: Vec<Flag>,
}

/// Builds the map: the declarations first ([`DataMapBuilder::new`]), then each entry as it is
/// read ([`DataMapBuilder::observe`]), so that no entry is kept.
#[derive(Debug)]
pub struct DataMapBuilder {
    as_of: Timestamp,
    silent_after: i64,
    /// Each system's live declarations (index, declaration), in log order.
    declarations: BTreeMap<String, Vec<(u64, SystemDeclaration)>>,
    observed: BTreeMap<String, Seen>,
    categories: BTreeMap<String, BTreeSet<String>>,
    collections: BTreeMap<ChannelKey, Seen>,
    shares: BTreeMap<RecipientKey, Seen>,
    flagged: BTreeMap<(FlagKind, String, String), Seen>,
}

impl DataMapBuilder {
    /// A map at `as_of` over the live declarations `declared` (index and declaration, any order)
    /// that calls a declared system silent after `silent_after` seconds without an entry.
    pub fn new(
        declared: impl IntoIterator<Item = (u64, SystemDeclaration)>,
        as_of: Timestamp,
        silent_after: i64,
    ) -> Self {
        let mut declarations: BTreeMap<String, Vec<(u64, SystemDeclaration)>> = BTreeMap::new();
        for (index, declaration) in declared {
            declarations
                .entry(declaration.name.clone())
                .or_default()
                .push((index, declaration));
        }
        for list in declarations.values_mut() {
            list.sort_by_key(|(index, _)| *index);
        }
        Self {
            as_of,
            silent_after,
            declarations,
            observed: BTreeMap::new(),
            categories: BTreeMap::new(),
            collections: BTreeMap::new(),
            shares: BTreeMap::new(),
            flagged: BTreeMap::new(),
        }
    }

    /// The declaration of `system` in force at `at` (not a withdrawal).
    fn declared_at(&self, system: &str, at: &Timestamp) -> Option<(u64, &SystemDeclaration)> {
        let list = self.declarations.get(system)?;
        in_force(
            list.iter().map(|(index, d)| (*index, d)),
            |d| d.effective_at.as_ref(),
            at,
        )
        .filter(|(_, d)| !d.withdrawn)
    }

    /// One live entry's effective event (other kinds and entries without a system are skipped).
    pub fn observe(&mut self, index: u64, event: &Event) {
        if !is_processing_kind(event.kind()) || event.system.is_empty() {
            return;
        }
        let at = instant(event.occurred_at.as_ref());
        let system = event.system.clone();
        add_to(&mut self.observed, system.clone(), at, index);
        self.categories
            .entry(system.clone())
            .or_default()
            .extend(event.data_categories.iter().cloned());
        if event.kind() == EventKind::Collection {
            let key = ChannelKey {
                channel: event.collection_channel.clone(),
                system: system.clone(),
            };
            add_to(&mut self.collections, key, at, index);
        }
        if let Some(recipient) = &event.recipient {
            let key = RecipientKey {
                system: system.clone(),
                recipient: recipient.name.clone(),
                role: recipient.role,
                country: recipient.country.clone(),
            };
            add_to(&mut self.shares, key, at, index);
        }
        let occurred = event.occurred_at.unwrap_or_default();
        let mut flags = Vec::new();
        match self.declared_at(&system, &occurred) {
            None => flags.push((FlagKind::UndeclaredSystem, String::new())),
            Some((_, declared)) => {
                for category in &event.data_categories {
                    if !declared.data_categories.contains(category) {
                        flags.push((FlagKind::UndeclaredCategory, category.clone()));
                    }
                }
                if let Some(recipient) = &event.recipient
                    && !declared.recipients.contains(&recipient.name)
                {
                    flags.push((FlagKind::UndeclaredRecipient, recipient.name.clone()));
                }
            }
        }
        for (kind, value) in flags {
            add_to(&mut self.flagged, (kind, system.clone(), value), at, index);
        }
    }

    /// When the declarations of `system` in force at `as_of` began: the earliest `effective_at`
    /// of the declarations since its last withdrawal in force (`None`: not declared at `as_of`).
    fn declared_since(&self, system: &str) -> Option<Instant> {
        let list = self.declarations.get(system)?;
        let as_of = instant(Some(&self.as_of));
        // In the order they take effect (a tie: the later entry last, as `in_force` decides).
        let mut effective: Vec<(Instant, u64, bool)> = list
            .iter()
            .filter_map(|(index, d)| {
                let at = instant(Some(d.effective_at.as_ref()?));
                (at <= as_of).then_some((at, *index, d.withdrawn))
            })
            .collect();
        effective.sort();
        let mut since = None;
        for (at, _, withdrawn) in effective {
            if withdrawn {
                since = None;
            } else if since.is_none() {
                since = Some(at);
            }
        }
        since
    }

    /// The map.
    pub fn finish(self) -> DataMap {
        let mut names: BTreeSet<String> = self.observed.keys().cloned().collect();
        let as_of = self.as_of;
        let mut systems = Vec::new();
        let mut flags = Vec::new();
        let quiet_until = (as_of.seconds.saturating_sub(self.silent_after), as_of.nanos);
        names.extend(
            self.declarations
                .keys()
                .filter(|name| self.declared_at(name, &as_of).is_some())
                .cloned(),
        );
        for name in names {
            let declared = self
                .declared_at(&name, &as_of)
                .map(|(index, d)| (index, d.clone()));
            let declared_since = declared.as_ref().and_then(|_| self.declared_since(&name));
            let observed = self.observed.get(&name).copied();
            let observed_categories = self.categories.get(&name).cloned().unwrap_or_default();
            let quiet = observed.is_none_or(|seen| seen.last.0 <= quiet_until);
            if declared.is_some() && quiet && declared_since.is_some_and(|s| s <= quiet_until) {
                flags.push(Flag {
                    kind: FlagKind::SilentSystem,
                    system: name.clone(),
                    value: String::new(),
                    seen: observed,
                });
            }
            systems.push(SystemNode {
                name,
                declared,
                declared_since,
                observed,
                observed_categories,
            });
        }
        flags.extend(
            self.flagged
                .into_iter()
                .map(|((kind, system, value), seen)| Flag {
                    kind,
                    system,
                    value,
                    seen: Some(seen),
                }),
        );
        flags.sort_by(|a, b| (a.kind, &a.system, &a.value).cmp(&(b.kind, &b.system, &b.value)));
        DataMap {
            systems,
            collections: self.collections.into_iter().collect(),
            shares: self.shares.into_iter().collect(),
            flags,
        }
    }
}

/// The declaration of each system in force at `at` (none for a system whose withdrawal is in
/// force), by name: the declared side of the article 30 record. The same rule as the map's
/// declared systems at its `as_of`.
pub fn declared_systems_at(
    declared: impl IntoIterator<Item = (u64, SystemDeclaration)>,
    at: &Timestamp,
) -> Vec<(u64, SystemDeclaration)> {
    let builder = DataMapBuilder::new(declared, *at, 0);
    builder
        .declarations
        .keys()
        .filter_map(|name| {
            builder
                .declared_at(name, at)
                .map(|(index, declaration)| (index, declaration.clone()))
        })
        .collect()
}

fn add_to<K: Ord>(map: &mut BTreeMap<K, Seen>, key: K, at: Instant, index: u64) {
    map.entry(key)
        .and_modify(|seen| seen.add(at, index))
        .or_insert_with(|| Seen::one(at, index));
}

#[cfg(test)]
mod tests;
