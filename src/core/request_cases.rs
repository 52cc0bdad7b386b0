//! The register of data subject request cases (`docs/requests.md`), derived from entries alone:
//! what the entries of the cases and the request policy declarations say for a time `as_of`.
//!
//! The caller hands over the entries the log held at `as_of` (a prefix of the log), in log
//! order: the `request_*` entries, the `request_policy_declared` entries, and the corrections
//! that target any of them. Nothing is kept between calls.
//!
//! - A case is the entries of one `request_ref`. Its first `request_received` opens it (later
//!   ones are ignored: the server refuses them); an extension in force is the latest
//!   `request_extended` (months 1 or 2, from the original due date); the case closes with its
//!   first `request_answered` or `request_refused`.
//! - A RETRACT correction removes its target, as if it had never been appended (a retracted
//!   receipt leaves no case; a retracted answer reopens it).
//! - The policy is the declaration in force at `as_of`: of those whose `effective_at` is not
//!   after `as_of`, the latest `effective_at` (the later entry on a tie); with none, UTC and no
//!   holidays ([`DEFAULT_TIME_ZONE`]).
//! - A case is overdue at `as_of` when it is open and `as_of` is after its due day; an answer
//!   whose `responded_at` is after the due day is late; an extension told to the subject after
//!   the original due day is flagged.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use prost_types::Timestamp;

use super::deadline::{DeadlineError, DeadlinePolicy, DueDates};
use crate::proto::v1::{CorrectionAction, DataSubjectRight, Event, EventKind, RequestPolicy};

/// The time zone of a ledger that declared no request policy.
pub const DEFAULT_TIME_ZONE: &str = "UTC";

/// How a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Neither answered nor refused.
    Open,
    /// Answered (`request_answered`).
    Answered,
    /// Refused (`request_refused`).
    Refused,
}

/// One case of the register at `as_of`.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestCase {
    /// The case's reference.
    pub request_ref: String,
    /// The right invoked.
    pub right: DataSubjectRight,
    /// The channel it came through.
    pub channel: String,
    /// The system that opened the case.
    pub system: String,
    /// When it was received.
    pub received_at: Timestamp,
    /// The due dates under the policy in force.
    pub due: DueDates,
    /// The extension in force (0 without one).
    pub extension_months: u32,
    /// Whether the subject was told of the extension after the original due day.
    pub extension_told_late: bool,
    /// Answered, refused or open.
    pub outcome: Outcome,
    /// When it was answered or refused.
    pub responded_at: Option<Timestamp>,
    /// A refusal's ground.
    pub refusal_ground: String,
    /// Whether the answer or refusal came after the due day.
    pub responded_late: bool,
    /// Whether it is open and its due day has ended at `as_of`.
    pub overdue: bool,
    /// The case's entries (not retracted), in log order.
    pub indexes: Vec<u64>,
}

/// The policy in force at `as_of` among `declarations` (index and policy, in log order): the
/// rule of every declaration, [`super::declarations::in_force`].
pub fn policy_in_force<'a>(
    declarations: impl IntoIterator<Item = (u64, &'a RequestPolicy)>,
    as_of: &Timestamp,
) -> Option<(u64, &'a RequestPolicy)> {
    super::declarations::in_force(declarations, |policy| policy.effective_at.as_ref(), as_of)
}

/// The deadline policy of a declaration, or the default one.
pub fn deadline_policy(declared: Option<&RequestPolicy>) -> Result<DeadlinePolicy, DeadlineError> {
    match declared {
        Some(policy) => DeadlinePolicy::new(&policy.time_zone, &policy.public_holidays),
        None => DeadlinePolicy::new::<&str>(DEFAULT_TIME_ZONE, &[]),
    }
}

/// The entries that remain after the RETRACT corrections among `entries`.
fn not_retracted(entries: &[(u64, Event)]) -> Vec<(u64, &Event)> {
    let retracted: BTreeSet<u64> = entries
        .iter()
        .filter(|(_, event)| event.kind() == EventKind::Correction)
        .filter_map(|(_, event)| event.correction.as_ref())
        .filter(|correction| correction.action == CorrectionAction::Retract as i32)
        .map(|correction| correction.target_index)
        .collect();
    entries
        .iter()
        .filter(|(index, event)| {
            !retracted.contains(index) && event.kind() != EventKind::Correction
        })
        .map(|(index, event)| (*index, event))
        .collect()
}

/// The register at `as_of`: every case the entries open, by reference.
pub fn register(
    entries: &[(u64, Event)],
    as_of: &Timestamp,
) -> Result<BTreeMap<String, RequestCase>, DeadlineError> {
    let entries = not_retracted(entries);
    let declarations = entries.iter().filter_map(|(index, event)| {
        (event.kind() == EventKind::RequestPolicyDeclared)
            .then_some(())
            .and(event.request_policy.as_ref())
            .map(|policy| (*index, policy))
    });
    let policy = deadline_policy(policy_in_force(declarations, as_of).map(|(_, p)| p))?;
    let mut by_ref: BTreeMap<&str, Vec<(u64, &Event)>> = BTreeMap::new();
    for (index, event) in &entries {
        if !event.request_ref.is_empty() {
            by_ref
                .entry(event.request_ref.as_str())
                .or_default()
                .push((*index, event));
        }
    }
    let mut cases = BTreeMap::new();
    for (request_ref, case_entries) in by_ref {
        if let Some(case) = case_of(request_ref, &case_entries, &policy, as_of)? {
            cases.insert(request_ref.to_owned(), case);
        }
    }
    Ok(cases)
}

/// One case from its entries (not retracted, in log order); `None` without a receipt.
pub fn case_of(
    request_ref: &str,
    entries: &[(u64, &Event)],
    policy: &DeadlinePolicy,
    as_of: &Timestamp,
) -> Result<Option<RequestCase>, DeadlineError> {
    let Some((_, received)) = entries
        .iter()
        .find(|(_, event)| event.kind() == EventKind::RequestReceived)
    else {
        return Ok(None);
    };
    let Some(request) = received.request.as_ref() else {
        return Ok(None);
    };
    let received_at = request.received_at.unwrap_or_default();
    let extension = entries
        .iter()
        .filter(|(_, event)| event.kind() == EventKind::RequestExtended)
        .filter_map(|(_, event)| event.request_extension.as_ref())
        .next_back();
    let extension_months = extension.map_or(0, |x| x.months);
    let due = policy.due_dates(&received_at, extension_months)?;
    let extension_told_late = match extension.and_then(|x| x.subject_told_at.as_ref()) {
        Some(told) => policy.is_after_day(told, due.original)?,
        None => false,
    };
    let response = entries.iter().find(|(_, event)| {
        matches!(
            event.kind(),
            EventKind::RequestAnswered | EventKind::RequestRefused
        )
    });
    let (outcome, responded_at, refusal_ground) = match response {
        Some((_, event)) => {
            let outcome = if event.kind() == EventKind::RequestRefused {
                Outcome::Refused
            } else {
                Outcome::Answered
            };
            let response = event.request_response.as_ref();
            (
                outcome,
                response.and_then(|r| r.responded_at),
                response
                    .map(|r| r.refusal_ground.clone())
                    .unwrap_or_default(),
            )
        }
        None => (Outcome::Open, None, String::new()),
    };
    let (responded_late, overdue) = judge(policy, &due, outcome, responded_at.as_ref(), as_of)?;
    Ok(Some(RequestCase {
        request_ref: request_ref.to_owned(),
        right: request.right(),
        channel: request.channel.clone(),
        system: received.system.clone(),
        received_at,
        due,
        extension_months,
        extension_told_late,
        outcome,
        responded_at,
        refusal_ground,
        responded_late,
        overdue,
        indexes: entries.iter().map(|(index, _)| *index).collect(),
    }))
}

/// Whether a case's answer came after its due day, and whether it is overdue at `as_of`: open,
/// and `as_of` after the due day.
fn judge(
    policy: &DeadlinePolicy,
    due: &DueDates,
    outcome: Outcome,
    responded_at: Option<&Timestamp>,
    as_of: &Timestamp,
) -> Result<(bool, bool), DeadlineError> {
    let responded_late = match responded_at {
        Some(at) => policy.is_after_day(at, due.due)?,
        None => false,
    };
    let overdue = outcome == Outcome::Open && policy.is_after_day(as_of, due.due)?;
    Ok((responded_late, overdue))
}

/// The prefix of an erasure case's reference in the register: `erasure:` and the index of the
/// `erasure_requested` entry that opened the case. No `request_received` may use it.
pub const ERASURE_REF_PREFIX: &str = "erasure:";

/// The register's reference of the erasure case opened by the entry at `index`.
pub fn erasure_ref(index: u64) -> String {
    format!("{ERASURE_REF_PREFIX}{index}")
}

/// The entry index an erasure case's reference names, or `None` for any other reference
/// (strictly `erasure:` and a decimal index without leading zeros).
pub fn parse_erasure_ref(request_ref: &str) -> Option<u64> {
    let digits = request_ref.strip_prefix(ERASURE_REF_PREFIX)?;
    let index: u64 = digits.parse().ok()?;
    (index.to_string() == digits).then_some(index)
}

/// An erasure case (article 17) of the register: opened by the `erasure_requested` entry
/// `request` (its index and event; received when it occurred, through its `system`), answered
/// at `answered` (the index and time of the latest holder's answer, `erasure::status`) once every
/// holder of the data has answered, or still open (`None`). No extension: the ledger records
/// none for erasure cases.
pub fn erasure_case(
    request: (u64, &Event),
    answered: Option<(Vec<u64>, Timestamp)>,
    policy: &DeadlinePolicy,
    as_of: &Timestamp,
) -> Result<RequestCase, DeadlineError> {
    let (index, event) = request;
    let received_at = event.occurred_at.unwrap_or_default();
    let due = policy.due_dates(&received_at, 0)?;
    let (outcome, responded_at, mut indexes) = match answered {
        Some((indexes, at)) => (Outcome::Answered, Some(at), indexes),
        None => (Outcome::Open, None, Vec::new()),
    };
    let (responded_late, overdue) = judge(policy, &due, outcome, responded_at.as_ref(), as_of)?;
    indexes.push(index);
    indexes.sort_unstable();
    indexes.dedup();
    Ok(RequestCase {
        request_ref: erasure_ref(index),
        right: DataSubjectRight::Erasure,
        channel: event.system.clone(),
        system: event.system.clone(),
        received_at,
        due,
        extension_months: 0,
        extension_told_late: false,
        outcome,
        responded_at,
        refusal_ground: String::new(),
        responded_late,
        overdue,
        indexes,
    })
}

/// The due day of a case, as YYYY-MM-DD.
pub fn day_text(day: Date) -> String {
    day.to_string()
}

#[cfg(test)]
mod tests;
