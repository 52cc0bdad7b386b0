//! Breach investigations (article 33(3)): which entries and subjects of some systems or
//! recipients, in a window of `occurred_at`, optionally of some data categories.
//!
//! An investigation is made in two steps, neither of which holds the findings in memory:
//!
//! 1. [`summarize`]: the summary (subjects and records in all, per data category and per system,
//!    the special categories, the third-country transfers). When the query names whole systems
//!    (no recipients, no category filter) and its window holds every entry of them, the summary
//!    comes from the breach count rows the commits keep (`storage::report_index::counts`), with
//!    the few corrected entries applied ([`summarize_by_counts`]): a few row reads whatever the
//!    size of the systems. Otherwise the candidate entries are read once, in time order, and
//!    counted ([`summarize_by_entries`]); distinct subjects are counted in bounded memory
//!    (`reports::distinct`, spilling to disk beyond `[reports] memory_kib`).
//! 2. [`affected_entries`]: the entries themselves, read again and handed over page by page as
//!    they are read, in `(occurred_at, index)` order.
//!
//! The service logs the access entry between the two (the summary names the categories it
//! discloses), so nothing is disclosed before the read is logged.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use prost_types::Timestamp;

use super::distinct::{DistinctKeys, SpillConfig};
use super::{Corrections, Effective, ReportError};
use crate::proto::v1 as pb;
use crate::storage::LedgerStore;
use crate::storage::report_index::{
    CountGroup, CountView, TAG_RECIPIENT, TAG_SYSTEM, count_groups, is_processing_kind,
    named_prefix, time_key,
};
use crate::validation::is_special_category;

/// Most systems, recipients or categories in one request.
pub const MAX_NAMES: usize = 1000;

/// Most entries a breach proof bundle may hold (the entries and the amendments applied to them).
pub const MAX_BUNDLE_ENTRIES: usize = 100_000;

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

    /// The prefixes of the report rows that hold every candidate entry.
    fn prefixes(&self) -> Vec<Vec<u8>> {
        self.systems
            .iter()
            .map(|system| named_prefix(TAG_SYSTEM, system))
            .chain(
                self.recipients
                    .iter()
                    .map(|recipient| named_prefix(TAG_RECIPIENT, recipient)),
            )
            .collect()
    }
}

/// What a breach summary counts a concerned entry in (its records, and its subject among the
/// distinct subjects of each). Derived from the count groups of the entry's system
/// ([`count_groups`]), so that the count rows and the entry-by-entry count are one rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Counter {
    /// Every concerned entry.
    Total,
    /// The entries of a system.
    System(String),
    /// The entries naming a data category.
    Category(String),
    /// The entries shared with a recipient outside the EEA.
    Transfer {
        /// The recipient's name.
        recipient: String,
        /// Its country.
        country: String,
        /// The transfer basis, as its enum number.
        transfer_basis: i32,
    },
}

impl Counter {
    /// The summary's counter of a count group of `system`.
    fn of(system: &str, group: CountGroup) -> Self {
        match group {
            CountGroup::All => Counter::System(system.to_owned()),
            CountGroup::Category(category) => Counter::Category(category),
            CountGroup::Transfer {
                recipient,
                country,
                transfer_basis,
            } => Counter::Transfer {
                recipient,
                country,
                transfer_basis,
            },
        }
    }

    /// The counter a count group stands for across several systems (its union).
    fn across(group: &CountGroup) -> Self {
        match group {
            CountGroup::All => Counter::Total,
            other => Counter::of("", other.clone()),
        }
    }
}

/// The counters a (concerned) event counts in; none for an event that records no processing.
pub fn counters(event: &pb::Event) -> Vec<Counter> {
    let groups = count_groups(event);
    if groups.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(groups.len() + 1);
    out.push(Counter::Total);
    out.extend(
        groups
            .into_iter()
            .map(|group| Counter::of(&event.system, group)),
    );
    out
}

/// Records and distinct subjects per counter.
type Tally = BTreeMap<Counter, (i64, i64)>;

/// The summary message of a tally (counters without records left out).
fn summary_of(tally: &Tally, size: u64) -> pb::BreachSummary {
    let count = |name: &str, (subjects, records): (i64, i64)| pb::BreachCount {
        name: name.to_owned(),
        subjects: subjects.max(0) as u64,
        records: records.max(0) as u64,
    };
    let mut summary = pb::BreachSummary {
        tree_size: size,
        ..Default::default()
    };
    for (counter, &(records, subjects)) in tally {
        if records <= 0 {
            continue;
        }
        match counter {
            Counter::Total => {
                summary.records = records as u64;
                summary.subjects = subjects.max(0) as u64;
            }
            Counter::System(name) => summary.per_system.push(count(name, (subjects, records))),
            Counter::Category(name) => {
                summary.per_category.push(count(name, (subjects, records)));
                if is_special_category(name) {
                    summary.special_categories.push(name.clone());
                }
            }
            Counter::Transfer {
                recipient,
                country,
                transfer_basis,
            } => summary
                .third_country_transfers
                .push(pb::ThirdCountryTransfer {
                    recipient: recipient.clone(),
                    country: country.clone(),
                    transfer_basis: *transfer_basis,
                    subjects: subjects.max(0) as u64,
                    records: records as u64,
                }),
        }
    }
    summary.special_categories_involved = !summary.special_categories.is_empty();
    summary
}

/// What the first step of an investigation found.
#[derive(Debug)]
pub struct Summarized {
    /// The summary (its `tree_size` is [`Summarized::size`]).
    pub summary: pb::BreachSummary,
    /// The entries the investigation covers: those below it.
    pub size: u64,
    /// The corrections below `size`, for the second step.
    pub corrections: Corrections,
    /// With `bundle`: every entry relied on, the entries and the amendments applied (sorted).
    pub relied_on: Vec<u64>,
    /// Whether the summary came from the count rows.
    pub from_counts: bool,
    /// Run files the distinct-subject count wrote (0 when it fit in memory).
    pub spilled_runs: usize,
}

/// How to summarize.
#[derive(Debug, Clone, Copy)]
pub struct SummaryOptions<'a> {
    /// Also list the entries relied on, for a proof bundle (at most [`MAX_BUNDLE_ENTRIES`]).
    pub bundle: bool,
    /// Memory and spill directory of the distinct-subject counts.
    pub spill: &'a SpillConfig,
}

/// The summary of `query` over the first `size` entries (at least: from the count rows, over the
/// entries they cover when they cover more). `progress(examined)` is called after each chunk of
/// candidates an entry-by-entry summary reads; returning `false` abandons it.
pub fn summarize(
    store: &LedgerStore,
    query: &BreachQuery,
    size: u64,
    options: SummaryOptions<'_>,
    progress: impl FnMut(u64) -> bool,
) -> Result<Summarized, ReportError> {
    super::check_indexed(store, size)?;
    if !options.bundle
        && let Some(summarized) = summarize_by_counts(store, query, size)?
    {
        return Ok(summarized);
    }
    summarize_by_entries(store, query, size, options, progress)
}

/// The summary from the breach count rows, if they can answer: the query names systems only
/// (no recipients, no category filter), the rows cover at least `size` entries, and the window
/// holds every entry of the systems. Read from one snapshot; the summary covers the entries the
/// rows cover then (`size` or more). `None` otherwise.
pub fn summarize_by_counts(
    store: &LedgerStore,
    query: &BreachQuery,
    size: u64,
) -> Result<Option<Summarized>, ReportError> {
    if !query.recipients.is_empty() || !query.categories.is_empty() {
        return Ok(None);
    }
    let view = store.breach_count_view();
    let covered = view.covered()?;
    if covered < size {
        return Ok(None);
    }
    let (from, to) = (time_key(&query.from), time_key(&query.to));
    for system in &query.systems {
        if let Some((first, last)) = view.time_span(system)?
            && (first < from || last >= to)
        {
            return Ok(None);
        }
    }
    let corrections = Corrections::load(store, covered)?;
    let tally = tally_from_counts(store, &view, &query.systems, covered, &corrections)?;
    Ok(Some(Summarized {
        summary: summary_of(&tally, covered),
        size: covered,
        corrections,
        relied_on: Vec::new(),
        from_counts: true,
        spilled_runs: 0,
    }))
}

/// The tally of whole `systems` from the count rows of `view` (covering the first `size`
/// entries), corrections applied.
fn tally_from_counts(
    store: &LedgerStore,
    view: &CountView<'_>,
    systems: &BTreeSet<String>,
    size: u64,
    corrections: &Corrections,
) -> Result<Tally, ReportError> {
    let mut tally = Tally::new();
    // Each group's systems and their subjects there.
    let mut groups: BTreeMap<CountGroup, Vec<(&str, u64)>> = BTreeMap::new();
    for system in systems {
        for (group, counts) in view.counts(system)? {
            let records = counts.records as i64;
            tally
                .entry(Counter::of(system, group.clone()))
                .or_default()
                .0 += records;
            if group == CountGroup::All {
                tally.entry(Counter::Total).or_default().0 += records;
                tally.entry(Counter::System(system.clone())).or_default().1 =
                    counts.subjects as i64;
            }
            groups
                .entry(group)
                .or_default()
                .push((system.as_str(), counts.subjects));
        }
    }
    // Distinct subjects across systems: one system's count, or the union of the member rows.
    for (group, members) in &groups {
        let subjects = match members.as_slice() {
            [(_, subjects)] => *subjects,
            _ => {
                let names: Vec<&str> = members.iter().map(|(system, _)| *system).collect();
                view.distinct_members(&names, group)?
            }
        };
        tally.entry(Counter::across(group)).or_default().1 = subjects as i64;
    }
    apply_corrections(store, &mut tally, systems, size, corrections)?;
    Ok(tally)
}

/// Turns a tally of original entries into the tally of effective ones. Records: each corrected
/// entry of the systems leaves its original counters and joins its effective ones (none if
/// retracted). Subjects: for each subject of a corrected entry, its memberships are computed from
/// all its entries of the systems, original and effective, and each counter's count moves by the
/// difference. Nothing else can differ, as the other entries and subjects are untouched.
fn apply_corrections(
    store: &LedgerStore,
    tally: &mut Tally,
    systems: &BTreeSet<String>,
    size: u64,
    corrections: &Corrections,
) -> Result<(), ReportError> {
    let targets: Vec<u64> = corrections.targets().filter(|t| *t < size).collect();
    let mut subjects: BTreeSet<[u8; 32]> = BTreeSet::new();
    for chunk in targets.chunks(READ_CHUNK) {
        for entry in store.decoded_entries(chunk)? {
            let Some(original) = &entry.event else {
                continue;
            };
            if !systems.contains(&original.system) {
                continue;
            }
            let before = counters(original);
            if before.is_empty() {
                continue;
            }
            for counter in before {
                tally.entry(counter).or_default().0 -= 1;
            }
            if let Effective::Live { event, .. } = corrections.effective(&entry) {
                for counter in counters(&event) {
                    tally.entry(counter).or_default().0 += 1;
                }
            }
            if let Ok(token) = <[u8; 32]>::try_from(entry.subject_token.as_slice()) {
                subjects.insert(token);
            }
        }
    }
    for token in subjects {
        let mut original: BTreeSet<Counter> = BTreeSet::new();
        let mut effective: BTreeSet<Counter> = BTreeSet::new();
        let mut indexes = store.subject_entry_indexes(&token)?;
        loop {
            let chunk = next_chunk(&mut indexes, size)?;
            if chunk.is_empty() {
                break;
            }
            for entry in store.decoded_entries(&chunk)? {
                let Some(event) = &entry.event else { continue };
                if !systems.contains(&event.system) {
                    continue;
                }
                original.extend(counters(event));
                if let Effective::Live { event, .. } = corrections.effective(&entry) {
                    effective.extend(counters(&event));
                }
            }
        }
        for counter in original.symmetric_difference(&effective) {
            let delta = if effective.contains(counter) { 1 } else { -1 };
            tally.entry(counter.clone()).or_default().1 += delta;
        }
    }
    Ok(())
}

/// The next indexes below `size` from `indexes`, up to [`READ_CHUNK`] of them (none at the end).
fn next_chunk<E>(
    indexes: &mut impl Iterator<Item = Result<u64, E>>,
    size: u64,
) -> Result<Vec<u64>, E> {
    let mut chunk = Vec::with_capacity(READ_CHUNK);
    for index in indexes.by_ref() {
        let index = index?;
        if index < size {
            chunk.push(index);
        }
        if chunk.len() >= READ_CHUNK {
            break;
        }
    }
    Ok(chunk)
}

/// Walks the candidate entries below `size` (the rows of the query's systems and recipients in
/// its window, in `(occurred_at, index)` order, each once), reading them in chunks, and calls
/// `visit` with each one concerned (its event taken out), its effective event and the amendments
/// applied. `visit`
/// returns whether to go on, and so does `progress(examined)`, called after each chunk. Returns
/// whether the walk reached the end.
fn walk(
    store: &LedgerStore,
    query: &BreachQuery,
    size: u64,
    corrections: &Corrections,
    mut visit: impl FnMut(&pb::Entry, &pb::Event, &[u64]) -> Result<bool, ReportError>,
    mut progress: impl FnMut(u64) -> bool,
) -> Result<bool, ReportError> {
    let mut rows = store.report_rows_merged(&query.prefixes(), &query.from, &query.to)?;
    let mut examined = 0u64;
    loop {
        let chunk = next_chunk(&mut rows, size)?;
        if chunk.is_empty() {
            return Ok(true);
        }
        for mut entry in store.decoded_entries(&chunk)? {
            let event = entry.event.take().unwrap_or_default();
            let Effective::Live { event, amended_by } =
                corrections.effective_event(entry.index, event)
            else {
                continue;
            };
            if query.matches(&event) && !visit(&entry, &event, &amended_by)? {
                return Ok(false);
            }
        }
        examined += chunk.len() as u64;
        if !progress(examined) {
            return Ok(false);
        }
    }
}

/// The summary from the entries themselves: one read of the candidates, distinct subjects counted
/// in the memory `options.spill` allows (spilling beyond), and with `options.bundle` the entries
/// relied on (refused past [`MAX_BUNDLE_ENTRIES`], as soon as it is passed).
pub fn summarize_by_entries(
    store: &LedgerStore,
    query: &BreachQuery,
    size: u64,
    options: SummaryOptions<'_>,
    progress: impl FnMut(u64) -> bool,
) -> Result<Summarized, ReportError> {
    super::check_indexed(store, size)?;
    let corrections = Corrections::load(store, size)?;
    // Each counter by a number; records and subjects by that number. Distinct (counter, subject)
    // pairs are counted as keys `u32 number || token`.
    let mut ids: HashMap<Counter, u32> = HashMap::new();
    let mut counts: Vec<(Counter, i64, i64)> = Vec::new();
    let mut pairs = DistinctKeys::new(options.spill);
    let mut key = Vec::with_capacity(36);
    let mut relied = BTreeSet::new();
    let complete = walk(
        store,
        query,
        size,
        &corrections,
        |entry, event, amended_by| {
            if options.bundle {
                relied.insert(entry.index);
                relied.extend(amended_by.iter().copied());
                if relied.len() > MAX_BUNDLE_ENTRIES {
                    return Err(ReportError::invalid(
                        "include_bundle",
                        format!(
                            "the finding relies on more than {MAX_BUNDLE_ENTRIES} entries; a bundle holds at most {MAX_BUNDLE_ENTRIES}; narrow the query"
                        ),
                    ));
                }
            }
            for counter in counters(event) {
                let id = match ids.get(&counter) {
                    Some(id) => *id,
                    None => {
                        let id = u32::try_from(counts.len()).map_err(|_| {
                            ReportError::invalid("data_categories", "too many counters")
                        })?;
                        ids.insert(counter.clone(), id);
                        counts.push((counter, 0, 0));
                        id
                    }
                };
                counts[id as usize].1 += 1;
                if !entry.subject_token.is_empty() {
                    key.clear();
                    key.extend_from_slice(&id.to_be_bytes());
                    key.extend_from_slice(&entry.subject_token);
                    pairs.insert(&key)?;
                }
            }
            Ok(true)
        },
        progress,
    )?;
    if !complete {
        return Err(ReportError::Abandoned);
    }
    let spilled_runs = pairs.runs();
    pairs.for_each_sorted(|key| {
        let id = key
            .get(..4)
            .and_then(|id| id.try_into().ok())
            .map(u32::from_be_bytes);
        if let Some(slot) = id.and_then(|id| counts.get_mut(id as usize)) {
            slot.2 += 1;
        }
        Ok::<(), ReportError>(())
    })?;
    let tally: Tally = counts
        .into_iter()
        .map(|(counter, records, subjects)| (counter, (records, subjects)))
        .collect();
    Ok(Summarized {
        summary: summary_of(&tally, size),
        size,
        corrections,
        relied_on: relied.into_iter().collect(),
        from_counts: false,
        spilled_runs,
    })
}

/// The second step: the concerned entries below `size`, with their effective fields, handed to
/// `send` in pages of at most `page` as they are read, in `(occurred_at, index)` order. `send`
/// returns whether to go on. Returns whether every entry was sent.
pub fn affected_entries(
    store: &LedgerStore,
    query: &BreachQuery,
    size: u64,
    corrections: &Corrections,
    page: usize,
    mut send: impl FnMut(Vec<pb::AffectedEntry>) -> bool,
) -> Result<bool, ReportError> {
    let page = page.max(1);
    let mut entries = Vec::with_capacity(page);
    let complete = walk(
        store,
        query,
        size,
        corrections,
        |entry, event, amended_by| {
            let (recipient, recipient_country) = event
                .recipient
                .as_ref()
                .map(|r| (r.name.clone(), r.country.clone()))
                .unwrap_or_default();
            entries.push(pb::AffectedEntry {
                index: entry.index,
                subject_token: entry.subject_token.clone(),
                kind: event.kind,
                occurred_at: event.occurred_at,
                system: event.system.clone(),
                data_categories: event.data_categories.clone(),
                recipient,
                recipient_country,
                amended: !amended_by.is_empty(),
            });
            if entries.len() >= page {
                return Ok(send(std::mem::replace(
                    &mut entries,
                    Vec::with_capacity(page),
                )));
            }
            Ok(true)
        },
        |_| true,
    )?;
    if !complete {
        return Ok(false);
    }
    Ok(entries.is_empty() || send(entries))
}
