//! Breach investigations (article 33(3)): which entries and subjects of some systems or
//! recipients, in a window of `occurred_at`, optionally of some data categories.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use prost_types::Timestamp;

use super::{Corrections, Effective, ReportError};
use crate::proto::v1 as pb;
use crate::storage::LedgerStore;
use crate::storage::report_index::{
    TAG_RECIPIENT, TAG_SYSTEM, is_processing_kind, named_prefix, time_key,
};
use crate::validation::is_eea_country;
use crate::validation::is_special_category;

/// Most systems, recipients or categories in one request.
pub const MAX_NAMES: usize = 1000;

/// Most candidate entries one investigation examines: beyond, the request is refused (its
/// findings are held in memory before the access entry is logged and they are sent).
pub const MAX_CANDIDATES: usize = 5_000_000;

/// Entries read and checked together.
const READ_CHUNK: usize = 4096;

/// A validated breach query.
#[derive(Debug, Clone)]
pub struct BreachQuery {
    /// Systems concerned.
    pub systems: BTreeSet<String>,
    /// Recipients concerned.
    pub recipients: BTreeSet<String>,
    /// Only entries with one of these categories (all when empty).
    pub categories: BTreeSet<String>,
    /// Window start (inclusive).
    pub from: Timestamp,
    /// Window end (exclusive).
    pub to: Timestamp,
}

impl BreachQuery {
    /// Checks a request: at least one system or recipient, a window with `from < to`, names
    /// without NUL and not too many of them.
    pub fn from_request(request: &pb::InvestigateBreachRequest) -> Result<Self, ReportError> {
        let names = |field: &str, values: &[String]| -> Result<BTreeSet<String>, ReportError> {
            if values.len() > MAX_NAMES {
                return Err(ReportError::invalid(
                    field,
                    format!("{} values; at most {MAX_NAMES}", values.len()),
                ));
            }
            for (i, value) in values.iter().enumerate() {
                if value.is_empty() || value.len() > 256 || value.contains('\0') {
                    return Err(ReportError::invalid(
                        &format!("{field}[{i}]"),
                        "must be 1 to 256 characters without NUL",
                    ));
                }
            }
            Ok(values.iter().cloned().collect())
        };
        let systems = names("systems", &request.systems)?;
        let recipients = names("recipients", &request.recipients)?;
        let categories = names("data_categories", &request.data_categories)?;
        if systems.is_empty() && recipients.is_empty() {
            return Err(ReportError::invalid(
                "systems",
                "give at least one system or recipient",
            ));
        }
        let from = request
            .from
            .ok_or_else(|| ReportError::invalid("from", "is required"))?;
        let to = request
            .to
            .ok_or_else(|| ReportError::invalid("to", "is required"))?;
        for (field, time) in [("from", &from), ("to", &to)] {
            if !(0..1_000_000_000).contains(&time.nanos) {
                return Err(ReportError::invalid(field, "nanos must be 0 to 999999999"));
            }
        }
        if time_key(&from) >= time_key(&to) {
            return Err(ReportError::invalid("to", "must be later than from"));
        }
        Ok(Self {
            systems,
            recipients,
            categories,
            from,
            to,
        })
    }

    /// Whether an entry's effective event is concerned.
    pub fn matches(&self, event: &pb::Event) -> bool {
        if !is_processing_kind(event.kind()) {
            return false;
        }
        let occurred = event.occurred_at.as_ref().map(time_key).unwrap_or([0; 12]);
        if occurred < time_key(&self.from) || occurred >= time_key(&self.to) {
            return false;
        }
        let by_recipient = event
            .recipient
            .as_ref()
            .is_some_and(|r| self.recipients.contains(&r.name));
        if !self.systems.contains(&event.system) && !by_recipient {
            return false;
        }
        self.categories.is_empty()
            || event
                .data_categories
                .iter()
                .any(|c| self.categories.contains(c))
    }
}

/// What an investigation found.
#[derive(Debug, Default)]
pub struct BreachFindings {
    /// The entries concerned, in index order, with their effective fields.
    pub entries: Vec<pb::AffectedEntry>,
    /// The counts.
    pub summary: pb::BreachSummary,
    /// Every entry relied on: the entries and the corrections applied to them (sorted).
    pub relied_on: Vec<u64>,
}

#[derive(Default)]
struct Tally {
    subjects: HashSet<Vec<u8>>,
    records: u64,
}

impl Tally {
    fn add(&mut self, token: &[u8]) {
        self.records += 1;
        if !token.is_empty() {
            self.subjects.insert(token.to_vec());
        }
    }
}

fn counts(tallies: BTreeMap<String, Tally>) -> Vec<pb::BreachCount> {
    tallies
        .into_iter()
        .map(|(name, tally)| pb::BreachCount {
            name,
            subjects: tally.subjects.len() as u64,
            records: tally.records,
        })
        .collect()
}

/// Runs an investigation over the first `size` entries. `progress(examined, candidates)` is
/// called after each chunk of candidates.
pub fn investigate(
    store: &LedgerStore,
    query: &BreachQuery,
    size: u64,
    progress: impl FnMut(u64, u64),
) -> Result<BreachFindings, ReportError> {
    investigate_at_most(store, query, size, MAX_CANDIDATES, progress)
}

/// [`investigate`] with another bound than [`MAX_CANDIDATES`] on the entries examined.
pub fn investigate_at_most(
    store: &LedgerStore,
    query: &BreachQuery,
    size: u64,
    max_candidates: usize,
    mut progress: impl FnMut(u64, u64),
) -> Result<BreachFindings, ReportError> {
    super::check_indexed(store, size)?;
    let corrections = Corrections::load(store, size)?;
    // The bound holds while the candidates are gathered: no scan reads past it, and the set never
    // holds more than one scan beyond it.
    let too_large = || {
        ReportError::TooLarge(format!(
            "the systems and recipients have more than {max_candidates} entries in the window; at most {max_candidates} are examined at once: narrow the window or split the query"
        ))
    };
    let mut candidates = BTreeSet::new();
    let prefixes = query
        .systems
        .iter()
        .map(|system| named_prefix(TAG_SYSTEM, system))
        .chain(
            query
                .recipients
                .iter()
                .map(|recipient| named_prefix(TAG_RECIPIENT, recipient)),
        );
    for prefix in prefixes {
        let limit = max_candidates
            .saturating_sub(candidates.len())
            .saturating_add(1);
        let scanned = store.report_scan(&prefix, &query.from, &query.to, limit)?;
        // A scan that reached its limit stopped before the end of its rows: refused rather than
        // examined in part (its rows and the candidates so far are over the bound, counting the
        // duplicates of amended rows).
        if scanned.len() >= limit {
            return Err(too_large());
        }
        candidates.extend(scanned.into_iter().filter(|index| *index < size));
        if candidates.len() > max_candidates {
            return Err(too_large());
        }
    }
    let candidates: Vec<u64> = candidates.into_iter().collect();
    let total = candidates.len() as u64;

    let mut findings = BreachFindings::default();
    let mut relied = BTreeSet::new();
    let mut all = Tally::default();
    let mut per_category: BTreeMap<String, Tally> = BTreeMap::new();
    let mut per_system: BTreeMap<String, Tally> = BTreeMap::new();
    let mut transfers: BTreeMap<(String, String, i32), Tally> = BTreeMap::new();
    let mut special = BTreeSet::new();
    let mut examined = 0u64;
    for chunk in candidates.chunks(READ_CHUNK) {
        for entry in store.decoded_entries(chunk)? {
            let Effective::Live { event, amended_by } = corrections.effective(&entry) else {
                continue;
            };
            if !query.matches(&event) {
                continue;
            }
            relied.insert(entry.index);
            relied.extend(amended_by.iter().copied());
            let token = entry.subject_token.clone();
            all.add(&token);
            per_system
                .entry(event.system.clone())
                .or_default()
                .add(&token);
            for category in &event.data_categories {
                per_category
                    .entry(category.clone())
                    .or_default()
                    .add(&token);
                if is_special_category(category) {
                    special.insert(category.clone());
                }
            }
            let (recipient, country) = match &event.recipient {
                Some(r) => {
                    if !r.country.is_empty() && !is_eea_country(&r.country) {
                        transfers
                            .entry((r.name.clone(), r.country.clone(), r.transfer_basis))
                            .or_default()
                            .add(&token);
                    }
                    (r.name.clone(), r.country.clone())
                }
                None => Default::default(),
            };
            findings.entries.push(pb::AffectedEntry {
                index: entry.index,
                subject_token: token,
                kind: event.kind,
                occurred_at: event.occurred_at,
                system: event.system.clone(),
                data_categories: event.data_categories.clone(),
                recipient,
                recipient_country: country,
                amended: !amended_by.is_empty(),
            });
        }
        examined += chunk.len() as u64;
        progress(examined, total);
    }
    findings.summary = pb::BreachSummary {
        subjects: all.subjects.len() as u64,
        records: all.records,
        per_category: counts(per_category),
        per_system: counts(per_system),
        special_categories_involved: !special.is_empty(),
        special_categories: special.into_iter().collect(),
        third_country_transfers: transfers
            .into_iter()
            .map(
                |((recipient, country, transfer_basis), tally)| pb::ThirdCountryTransfer {
                    recipient,
                    country,
                    transfer_basis,
                    subjects: tally.subjects.len() as u64,
                    records: tally.records,
                },
            )
            .collect(),
        tree_size: size,
        bundle_json: String::new(),
        access_entry_index: 0,
    };
    findings.relied_on = relied.into_iter().collect();
    Ok(findings)
}
