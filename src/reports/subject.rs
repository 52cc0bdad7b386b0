//! Subject access reports (article 15): for one subject token, what data, where, why, since when,
//! shared with whom, erased where; as JSON and as readable text.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::{Corrections, Effective, ReportError};
use crate::proto::v1::EventKind;
use crate::storage::LedgerStore;
use crate::validation::is_third_country;

/// One entry of the subject, with its effective fields.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SubjectEntry {
    /// Its index in the log.
    pub index: u64,
    /// The event kind (`collection`, `share`, ...).
    pub kind: String,
    /// When it happened (RFC 3339).
    pub occurred_at: String,
    /// The system.
    pub system: String,
    /// Data categories.
    pub data_categories: Vec<String>,
    /// Purposes.
    pub purposes: Vec<String>,
    /// Legal bases.
    pub legal_bases: Vec<String>,
    /// Recipient name, if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub recipient: String,
    /// Recipient country, if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub recipient_country: String,
    /// Indexes of the amendments applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amended_by: Vec<u64>,
}

/// What a system holds or held about the subject.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SystemHolding {
    /// The system.
    pub system: String,
    /// Categories recorded there.
    pub data_categories: BTreeSet<String>,
    /// Why.
    pub purposes: BTreeSet<String>,
    /// On which legal bases.
    pub legal_bases: BTreeSet<String>,
    /// First and last `occurred_at` of processing there.
    pub first_seen: String,
    /// See `first_seen`.
    pub last_seen: String,
    /// When the data was deleted there, if it was (the latest deletion or retention expiry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<String>,
}

/// A recipient the subject's data was shared with.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Disclosure {
    /// The recipient.
    pub recipient: String,
    /// Its country.
    pub country: String,
    /// Whether that is outside the EEA.
    pub third_country: bool,
    /// Categories shared.
    pub data_categories: BTreeSet<String>,
    /// Purposes.
    pub purposes: BTreeSet<String>,
    /// First and last share.
    pub first_shared: String,
    /// See `first_shared`.
    pub last_shared: String,
}

/// The article 15 report.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SubjectReport {
    /// The subject's token, hex.
    pub subject_token: String,
    /// The tree size the report read.
    pub tree_size: u64,
    /// Per system: what, why, since when, erased when.
    pub systems: Vec<SystemHolding>,
    /// Shared with whom.
    pub recipients: Vec<Disclosure>,
    /// Every entry of the subject (retracted ones left out), oldest first.
    pub entries: Vec<SubjectEntry>,
}

fn kind_name(kind: EventKind) -> String {
    kind.as_str_name()
        .trim_start_matches("EVENT_KIND_")
        .to_ascii_lowercase()
}

/// The report over the subject's entries in the first `size` entries of the log.
pub fn subject_access(
    store: &LedgerStore,
    token: &[u8; 32],
    size: u64,
) -> Result<SubjectReport, ReportError> {
    super::check_indexed(store, size)?;
    let corrections = Corrections::load(store, size)?;
    let mut indexes = store.subject_entries(token)?;
    indexes.retain(|i| *i < size);
    let mut systems: BTreeMap<String, SystemHolding> = BTreeMap::new();
    let mut recipients: BTreeMap<(String, String), Disclosure> = BTreeMap::new();
    let mut entries = Vec::new();
    for entry in store.decoded_entries(&indexes)? {
        let Effective::Live { event, amended_by } = corrections.effective(&entry) else {
            continue;
        };
        let when = event.occurred_at.map(|t| t.to_string()).unwrap_or_default();
        let kind = event.kind();
        if !event.system.is_empty() {
            let holding = systems
                .entry(event.system.clone())
                .or_insert_with(|| SystemHolding {
                    system: event.system.clone(),
                    ..SystemHolding::default()
                });
            match kind {
                EventKind::DeletionDone | EventKind::RetentionExpired => {
                    holding.erased_at = Some(when.clone());
                }
                k if crate::storage::report_index::is_processing_kind(k) => {
                    holding
                        .data_categories
                        .extend(event.data_categories.iter().cloned());
                    holding.purposes.extend(event.purposes.iter().cloned());
                    holding
                        .legal_bases
                        .extend(event.legal_bases.iter().cloned());
                    if holding.first_seen.is_empty() || when < holding.first_seen {
                        holding.first_seen = when.clone();
                    }
                    if when > holding.last_seen {
                        holding.last_seen = when.clone();
                    }
                }
                _ => {}
            }
        }
        let (recipient, country) = match &event.recipient {
            Some(r) if kind == EventKind::Share => {
                let disclosure = recipients
                    .entry((r.name.clone(), r.country.clone()))
                    .or_insert_with(|| Disclosure {
                        recipient: r.name.clone(),
                        country: r.country.clone(),
                        third_country: is_third_country(&r.country),
                        ..Disclosure::default()
                    });
                disclosure
                    .data_categories
                    .extend(event.data_categories.iter().cloned());
                disclosure.purposes.extend(event.purposes.iter().cloned());
                if disclosure.first_shared.is_empty() || when < disclosure.first_shared {
                    disclosure.first_shared = when.clone();
                }
                if when > disclosure.last_shared {
                    disclosure.last_shared = when.clone();
                }
                (r.name.clone(), r.country.clone())
            }
            Some(r) => (r.name.clone(), r.country.clone()),
            None => Default::default(),
        };
        entries.push(SubjectEntry {
            index: entry.index,
            kind: kind_name(kind),
            occurred_at: when,
            system: event.system,
            data_categories: event.data_categories,
            purposes: event.purposes,
            legal_bases: event.legal_bases,
            recipient,
            recipient_country: country,
            amended_by,
        });
    }
    Ok(SubjectReport {
        subject_token: hex::encode(token),
        tree_size: size,
        systems: systems.into_values().collect(),
        recipients: recipients.into_values().collect(),
        entries,
    })
}

fn list(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        "(none recorded)".into()
    } else {
        set.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

impl SubjectReport {
    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The report as readable text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Subject access report (GDPR article 15)\nSubject token: {}\nLog size read: {} entries\n",
            self.subject_token, self.tree_size
        );
        let _ = writeln!(out, "Where your data is held and why:");
        if self.systems.is_empty() {
            let _ = writeln!(out, "  (no system recorded)");
        }
        for s in &self.systems {
            let _ = writeln!(out, "  System {}", s.system);
            let _ = writeln!(out, "    data:         {}", list(&s.data_categories));
            let _ = writeln!(out, "    purposes:     {}", list(&s.purposes));
            let _ = writeln!(out, "    legal bases:  {}", list(&s.legal_bases));
            if !s.first_seen.is_empty() {
                let _ = writeln!(
                    out,
                    "    since:        {} (last {})",
                    s.first_seen, s.last_seen
                );
            }
            if let Some(erased) = &s.erased_at {
                let _ = writeln!(out, "    erased:       {erased}");
            }
        }
        let _ = writeln!(out, "\nShared with:");
        if self.recipients.is_empty() {
            let _ = writeln!(out, "  (no one)");
        }
        for r in &self.recipients {
            let _ = writeln!(
                out,
                "  {} ({}{}): {}; purposes {}; {} to {}",
                r.recipient,
                r.country,
                if r.third_country {
                    ", outside the EEA"
                } else {
                    ""
                },
                list(&r.data_categories),
                list(&r.purposes),
                r.first_shared,
                r.last_shared
            );
        }
        let _ = writeln!(out, "\nEvery recorded event ({}):", self.entries.len());
        for e in &self.entries {
            let _ = writeln!(
                out,
                "  #{} {} {} in {}{}{}",
                e.index,
                e.occurred_at,
                e.kind,
                e.system,
                if e.data_categories.is_empty() {
                    String::new()
                } else {
                    format!(": {}", e.data_categories.join(", "))
                },
                if e.recipient.is_empty() {
                    String::new()
                } else {
                    format!(" -> {} ({})", e.recipient, e.recipient_country)
                }
            );
        }
        out
    }

    /// The union of the data categories in the report (for the access entry that logs it).
    pub fn categories(&self) -> BTreeSet<String> {
        self.entries
            .iter()
            .flat_map(|e| e.data_categories.iter().cloned())
            .collect()
    }
}
