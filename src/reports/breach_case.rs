//! Breach cases and the 72-hour clock of article 33 (`docs/breach-cases.md`).
//!
//! A case is the entries of one `breach_ref` (`breach` reports, `breach_notified` and
//! `subjects_notified`), found through the breach case rows (`storage::report_index::cases`),
//! taken as the log held them at `as_of` (the entries received by then, a prefix of the log) and
//! after corrections. [`CaseFacts`] gathers them; [`CaseFacts::clock`] applies the clock's rules;
//! [`CaseFacts::draft`] fills the article 33(3) draft, whose counts come from
//! `reports::breach::summarize` (the code InvestigateBreach runs) over the case's systems and
//! window, and the controller's details from the declaration in force ([`declared_controller`]).
//! Nothing here is kept between calls: every answer is derived from the log alone.

use std::collections::BTreeSet;

use prost_types::Timestamp;

use super::{Corrections, Effective, ReportError};
use crate::proto::v1 as pb;
use crate::proto::v1::{BreachCaseState, EventKind};
use crate::storage::LedgerStore;
use crate::storage::report_index::cases::is_case_kind;
use crate::storage::report_index::time_key;

/// Article 33(1): the authority is notified within 72 hours of the controller becoming aware.
pub const DEADLINE_SECONDS: i64 = 72 * 3600;

/// Most entries one case may have (its reports and notifications); beyond, the case is refused.
pub const MAX_CASE_ENTRIES: usize = 100_000;

/// Entries read together.
const READ_CHUNK: usize = 4096;

/// The controller's details as configured (`[controller]`): at start the server declares them
/// in the log (a `controller_declared` entry, `server::controller`) when they differ from the
/// latest declaration; drafts read the declaration in force, never the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControllerConfig {
    /// The controller's name, e.g. "Example GmbH".
    pub name: String,
    /// The name and contact details of the data protection officer (article 33(3)(b)): an
    /// office's name and address, never a data subject's, e.g. "DPO office, dpo@example.com".
    pub dpo_contact: String,
}

/// What the entries of a case say, after corrections.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseFacts {
    /// The case's reference.
    pub breach_ref: String,
    /// The earliest `aware_at` of its reports.
    pub aware_at: Option<Timestamp>,
    /// The latest report's nature, consequences and measures (each from the latest report that
    /// gives it).
    pub nature: String,
    /// 33(3)(c).
    pub likely_consequences: String,
    /// 33(3)(d).
    pub measures: String,
    /// Categories of data subjects, from the latest report that gives them.
    pub subject_categories: Vec<String>,
    /// The data categories every report names.
    pub data_categories: BTreeSet<String>,
    /// The systems every report names.
    pub systems: BTreeSet<String>,
    /// The window of the latest report that gives one.
    pub window: Option<(Timestamp, Timestamp)>,
    /// The notifications to the authority, in log order.
    pub authority: Vec<(u64, pb::BreachNotification)>,
    /// The communications to the subjects, in log order.
    pub subjects: Vec<(u64, pb::SubjectsNotification)>,
    /// The case's entries, in log order.
    pub indexes: Vec<u64>,
    /// The amendments applied to them.
    pub amendments: Vec<u64>,
}

/// Seconds from `a` to `b` (negative when `b` is earlier), saturating.
fn seconds_between(a: &Timestamp, b: &Timestamp) -> i64 {
    let nanos = |t: &Timestamp| {
        i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos.clamp(0, 999_999_999))
    };
    let difference = (nanos(b) - nanos(a)).div_euclid(1_000_000_000);
    i64::try_from(difference).unwrap_or(if difference < 0 { i64::MIN } else { i64::MAX })
}

fn earlier(a: &Timestamp, b: &Timestamp) -> bool {
    time_key(a) < time_key(b)
}

impl CaseFacts {
    /// An empty case named `breach_ref`.
    pub fn new(breach_ref: &str) -> Self {
        Self {
            breach_ref: breach_ref.to_owned(),
            ..Self::default()
        }
    }

    /// Adds the entry at `index` whose effective event is `event` (amended by `amended_by`), if
    /// it belongs to the case: a case kind naming this `breach_ref`.
    pub fn add(&mut self, index: u64, event: &pb::Event, amended_by: &[u64]) {
        if !is_case_kind(event.kind()) || event.breach_ref != self.breach_ref {
            return;
        }
        self.indexes.push(index);
        self.amendments.extend_from_slice(amended_by);
        match event.kind() {
            EventKind::Breach => {
                if !event.system.is_empty() {
                    self.systems.insert(event.system.clone());
                }
                self.data_categories
                    .extend(event.data_categories.iter().cloned());
                let Some(details) = &event.breach_details else {
                    return;
                };
                if let Some(aware) = &details.aware_at
                    && self
                        .aware_at
                        .as_ref()
                        .is_none_or(|known| earlier(aware, known))
                {
                    self.aware_at = Some(*aware);
                }
                let latest = |field: &mut String, value: &String| {
                    if !value.is_empty() {
                        field.clone_from(value);
                    }
                };
                latest(&mut self.nature, &details.nature);
                latest(&mut self.likely_consequences, &details.likely_consequences);
                latest(&mut self.measures, &details.measures);
                if !details.subject_categories.is_empty() {
                    self.subject_categories = details.subject_categories.clone();
                }
                if let (Some(from), Some(to)) = (&details.window_from, &details.window_to) {
                    self.window = Some((*from, *to));
                }
            }
            EventKind::BreachNotified => {
                if let Some(notification) = &event.breach_notification {
                    self.authority.push((index, notification.clone()));
                }
            }
            EventKind::SubjectsNotified => {
                if let Some(notification) = &event.subjects_notification {
                    self.subjects.push((index, notification.clone()));
                }
            }
            _ => {}
        }
    }

    /// Reads case `breach_ref` over the first `size` entries, corrections applied. `None` when
    /// no entry below `size` belongs to it.
    pub fn read(
        store: &LedgerStore,
        breach_ref: &str,
        size: u64,
        corrections: &Corrections,
    ) -> Result<Option<Self>, ReportError> {
        let mut facts = Self::new(breach_ref);
        let mut rows = store.breach_case_rows(breach_ref)?;
        let mut count = 0usize;
        loop {
            let mut chunk = Vec::with_capacity(READ_CHUNK);
            for index in rows.by_ref() {
                let index = index?;
                if index >= size {
                    // Rows are in index order: the rest are later still.
                    break;
                }
                chunk.push(index);
                if chunk.len() >= READ_CHUNK {
                    break;
                }
            }
            if chunk.is_empty() {
                break;
            }
            count += chunk.len();
            if count > MAX_CASE_ENTRIES {
                return Err(ReportError::invalid(
                    "breach_ref",
                    format!("the case has more than {MAX_CASE_ENTRIES} entries"),
                ));
            }
            let last_chunk = chunk.len() < READ_CHUNK;
            for mut entry in store.decoded_entries(&chunk)? {
                let event = entry.event.take().unwrap_or_default();
                if let Effective::Live { event, amended_by } =
                    corrections.effective_event(entry.index, event)
                {
                    facts.add(entry.index, &event, &amended_by);
                }
            }
            if last_chunk {
                break;
            }
        }
        Ok((!facts.indexes.is_empty()).then_some(facts))
    }

    /// The first notification to the authority (earliest `notified_at`).
    fn first_notified(&self) -> Option<Timestamp> {
        self.authority
            .iter()
            .filter_map(|(_, n)| n.notified_at)
            .min_by_key(time_key)
    }

    /// The reasons for delay the notifications give, in log order.
    fn reasons_for_delay(&self) -> Vec<String> {
        self.authority
            .iter()
            .map(|(_, n)| n.reasons_for_delay.clone())
            .filter(|reasons| !reasons.is_empty())
            .collect()
    }

    /// The case and its clock at `as_of` (the rules of docs/breach-cases.md).
    pub fn clock(&self, as_of: &Timestamp) -> pb::BreachCase {
        let mut case = pb::BreachCase {
            breach_ref: self.breach_ref.clone(),
            aware_at: self.aware_at,
            as_of: Some(*as_of),
            authority_notifications: self
                .authority
                .iter()
                .map(|(index, n)| pb::CaseAuthorityNotification {
                    index: *index,
                    notification: Some(n.clone()),
                })
                .collect(),
            subjects_notifications: self
                .subjects
                .iter()
                .map(|(index, n)| pb::CaseSubjectsNotification {
                    index: *index,
                    notification: Some(n.clone()),
                })
                .collect(),
            reasons_for_delay: self.reasons_for_delay(),
            systems: self.systems.iter().cloned().collect(),
            window_from: self.window.map(|(from, _)| from),
            window_to: self.window.map(|(_, to)| to),
            entry_indexes: self.indexes.clone(),
            notified_at: self.first_notified(),
            ..Default::default()
        };
        let Some(aware) = self.aware_at else {
            case.set_state(BreachCaseState::NoAwareAt);
            return case;
        };
        let deadline = Timestamp {
            seconds: aware.seconds.saturating_add(DEADLINE_SECONDS),
            nanos: aware.nanos,
        };
        case.deadline = Some(deadline);
        match case.notified_at {
            Some(notified) if !earlier(&deadline, &notified) => {
                case.set_state(BreachCaseState::NotifiedOnTime);
            }
            Some(notified) => {
                case.set_state(BreachCaseState::NotifiedLate);
                case.seconds_late = seconds_between(&deadline, &notified);
                case.late_without_reasons = case.reasons_for_delay.is_empty();
            }
            None if !earlier(&deadline, as_of) => {
                case.set_state(BreachCaseState::Open);
                case.seconds_left = seconds_between(as_of, &deadline);
            }
            None => {
                case.set_state(BreachCaseState::Overdue);
                case.seconds_late = seconds_between(&deadline, as_of);
            }
        }
        case
    }

    /// The breach query of the case's counts: its systems over its window (`None` without
    /// either).
    pub fn query(&self) -> Option<super::breach::BreachQuery> {
        let (from, to) = self.window?;
        if self.systems.is_empty() {
            return None;
        }
        Some(super::breach::BreachQuery {
            systems: self.systems.clone(),
            recipients: BTreeSet::new(),
            categories: BTreeSet::new(),
            from,
            to,
        })
    }

    /// The article 33(3) draft, from the case, its counts (`None` without a window) and the
    /// controller's declaration in force (`None` when the log holds none yet).
    pub fn draft(
        &self,
        counts: Option<pb::BreachSummary>,
        controller: Option<&pb::ControllerDeclaration>,
    ) -> pb::BreachNotificationDraft {
        let controller = controller.cloned().unwrap_or_default();
        let mut categories = self.data_categories.clone();
        if let Some(summary) = &counts {
            categories.extend(summary.per_category.iter().map(|c| c.name.clone()));
        }
        let mut missing = Vec::new();
        let mut check = |present: bool, name: &str| {
            if !present {
                missing.push(name.to_owned());
            }
        };
        check(!self.nature.is_empty(), "nature");
        check(!self.subject_categories.is_empty(), "subject_categories");
        check(counts.is_some(), "window");
        check(!controller.dpo_contact.is_empty(), "dpo_contact");
        check(!self.likely_consequences.is_empty(), "likely_consequences");
        check(!self.measures.is_empty(), "measures");
        pb::BreachNotificationDraft {
            nature: self.nature.clone(),
            subject_categories: self.subject_categories.clone(),
            approximate_subjects: counts.as_ref().map_or(0, |c| c.subjects),
            data_categories: categories.into_iter().collect(),
            approximate_records: counts.as_ref().map_or(0, |c| c.records),
            counts,
            dpo_contact: controller.dpo_contact.clone(),
            likely_consequences: self.likely_consequences.clone(),
            measures: self.measures.clone(),
            reasons_for_delay: self.reasons_for_delay(),
            missing,
            controller: controller.name.clone(),
        }
    }
}

/// The controller's declaration in force at `as_of` among the first `size` entries: of the
/// `controller_declared` entries left after corrections, the one with the latest `effective_at`
/// not after `as_of` (the later entry when two are equal; the rule of every declaration,
/// `core::declarations::in_force`). With its index.
pub fn declared_controller(
    store: &LedgerStore,
    size: u64,
    corrections: &Corrections,
    as_of: &Timestamp,
) -> Result<Option<(u64, pb::ControllerDeclaration)>, ReportError> {
    let indexes: Vec<u64> = store
        .controller_declarations()?
        .into_iter()
        .filter(|index| *index < size)
        .collect();
    let mut declared = Vec::new();
    for mut entry in store.decoded_entries(&indexes)? {
        let event = entry.event.take().unwrap_or_default();
        if let Effective::Live { event, .. } = corrections.effective_event(entry.index, event)
            && let Some(declaration) = event.controller_declaration
        {
            declared.push((entry.index, declaration));
        }
    }
    let in_force = crate::core::declarations::in_force(
        declared
            .iter()
            .map(|(index, declaration)| (*index, declaration)),
        |declaration| declaration.effective_at.as_ref(),
        as_of,
    );
    Ok(in_force.map(|(index, declaration)| (index, declaration.clone())))
}

/// The latest `controller_declared` entry in log order (the one the configuration is compared
/// with at start), corrections applied, over the whole log.
pub fn latest_declaration(
    store: &LedgerStore,
) -> Result<Option<pb::ControllerDeclaration>, ReportError> {
    let size = store.tree_size()?;
    let corrections = Corrections::load(store, size)?;
    let indexes = store.controller_declarations()?;
    let mut latest = None;
    for mut entry in store.decoded_entries(&indexes)? {
        let event = entry.event.take().unwrap_or_default();
        if let Effective::Live { event, .. } = corrections.effective_event(entry.index, event) {
            latest = event.controller_declaration.or(latest);
        }
    }
    Ok(latest)
}

/// Refuses to answer while the breach case rows (or the report indexes) lag the log.
pub fn check_cases_indexed(store: &LedgerStore, size: u64) -> Result<(), ReportError> {
    super::check_indexed(store, size)?;
    let indexed = store.breach_cases_next()?;
    if indexed < size {
        return Err(ReportError::NotIndexed { indexed, size });
    }
    Ok(())
}

/// Checks a `breach_ref` of a request by the rule of `event.breach_ref`.
pub fn check_breach_ref(field: &str, breach_ref: &str) -> Result<(), ReportError> {
    if breach_ref.is_empty() {
        return Err(ReportError::invalid(field, "is required"));
    }
    crate::validation::check_breach_ref(field, breach_ref)
        .map_err(|error| ReportError::invalid(&error.field, error.reason))
}

/// Checks an `as_of` of a request, or gives `now` without one.
pub fn as_of_or(
    field: &str,
    as_of: Option<Timestamp>,
    now: Timestamp,
) -> Result<Timestamp, ReportError> {
    let Some(as_of) = as_of else { return Ok(now) };
    if !(0..1_000_000_000).contains(&as_of.nanos) || as_of.seconds < 0 {
        return Err(ReportError::invalid(
            field,
            "must be a time after 1970 with nanos 0 to 999999999",
        ));
    }
    Ok(as_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp { seconds, nanos: 0 }
    }

    fn report(aware: Option<i64>) -> pb::Event {
        pb::Event {
            kind: EventKind::Breach as i32,
            breach_ref: "BR-1".into(),
            system: "crm".into(),
            breach_details: Some(pb::BreachDetails {
                aware_at: aware.map(at),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn notified(when: i64, reasons: &str) -> pb::Event {
        pb::Event {
            kind: EventKind::BreachNotified as i32,
            breach_ref: "BR-1".into(),
            breach_notification: Some(pb::BreachNotification {
                authority: "BfDI".into(),
                notified_at: Some(at(when)),
                reasons_for_delay: reasons.into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    const H: i64 = 3600;

    #[test]
    fn the_clock_runs_from_the_earliest_aware_at() {
        let mut facts = CaseFacts::new("BR-1");
        facts.add(0, &report(Some(10 * H)), &[]);
        facts.add(1, &report(Some(4 * H)), &[]);
        facts.add(2, &report(None), &[]);
        let case = facts.clock(&at(5 * H));
        assert_eq!(case.aware_at, Some(at(4 * H)));
        assert_eq!(case.deadline, Some(at(76 * H)));
        assert_eq!(case.state(), BreachCaseState::Open);
        assert_eq!(case.seconds_left, 71 * H);
        let case = facts.clock(&at(80 * H));
        assert_eq!(case.state(), BreachCaseState::Overdue);
        assert_eq!(case.seconds_late, 4 * H);
    }

    #[test]
    fn notifications_decide_the_state() {
        let mut facts = CaseFacts::new("BR-1");
        facts.add(0, &report(Some(0)), &[]);
        let mut on_time = facts.clone();
        on_time.add(1, &notified(72 * H, ""), &[]);
        assert_eq!(
            on_time.clock(&at(100 * H)).state(),
            BreachCaseState::NotifiedOnTime
        );
        let mut late = facts.clone();
        late.add(1, &notified(73 * H, ""), &[]);
        let case = late.clock(&at(100 * H));
        assert_eq!(case.state(), BreachCaseState::NotifiedLate);
        assert_eq!(case.seconds_late, H);
        assert!(case.late_without_reasons);
        late.add(2, &notified(74 * H, "forensics first"), &[]);
        let case = late.clock(&at(100 * H));
        assert_eq!(case.notified_at, Some(at(73 * H)));
        assert!(!case.late_without_reasons);
        assert_eq!(case.reasons_for_delay, vec!["forensics first".to_owned()]);
    }

    #[test]
    fn other_cases_and_kinds_are_left_out() {
        let mut facts = CaseFacts::new("BR-1");
        let mut other = report(Some(0));
        other.breach_ref = "BR-2".into();
        facts.add(0, &other, &[]);
        let mut collection = report(Some(0));
        collection.kind = EventKind::Collection as i32;
        facts.add(1, &collection, &[]);
        assert!(facts.indexes.is_empty());
        assert_eq!(facts.clock(&at(0)).state(), BreachCaseState::NoAwareAt);
    }
}
