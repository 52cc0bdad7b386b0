//! The rules of breach cases that need the log (`docs/breach-cases.md`), checked before a
//! submission reaches the sequencer: a case is opened by a `breach` report that says when the
//! controller became aware (`event.breach_details.aware_at`), and its notifications
//! (`breach_notified`, `subjects_notified`) name a case the log holds, or that an earlier
//! submission of the same batch opens. Both refusals are `FAILED_PRECONDITION` naming the field.
//!
//! A case speaks with one voice: once opened, its facts (a `breach` carrying `breach_details`)
//! and its notifications come from the system that opened it (its first original report) or
//! from an admin; any other producer is refused (`PERMISSION_DENIED` naming the event's
//! `system`), so that no producer can mark another's case notified on time or rewrite its
//! draft. A `breach` without `breach_details` (one affected subject's record, from whichever
//! system holds it) may come from any system its caller reports for.
//!
//! The check reads the committed breach case rows (`storage::report_index::cases`): a case once
//! in the log stays there, so a concurrent append can only make a check refuse what a retry
//! would accept (a notification sent with its case's first report in flight), never accept what
//! it should refuse.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::caller::{Caller, Role, SystemRefused};
use crate::proto::v1::EventKind;
use crate::sequencer::PreparedEvent;
use crate::service::status::{ServiceError, blocking};
use crate::storage::LedgerStore;
use crate::validation::FieldError;

/// One case entry of a request: where it sits, its kind and case, and whether it says when the
/// controller became aware.
struct CaseEntry {
    prefix: String,
    kind: EventKind,
    breach_ref: String,
    system: String,
    details: bool,
    aware_at: bool,
}

/// Checks the case entries among `events` (each with its field prefix, `submission` or
/// `submissions[3]`), in order, against the cases the log holds.
pub(super) async fn check_breach_cases(
    store: &Arc<LedgerStore>,
    caller: &Caller,
    events: &[PreparedEvent],
    prefix: impl Fn(usize) -> String,
) -> Result<(), ServiceError> {
    let entries: Vec<CaseEntry> = events
        .iter()
        .enumerate()
        .filter_map(|(position, prepared)| {
            let event = &prepared.event;
            let kind = event.kind();
            matches!(
                kind,
                EventKind::Breach | EventKind::BreachNotified | EventKind::SubjectsNotified
            )
            .then(|| CaseEntry {
                prefix: prefix(position),
                kind,
                breach_ref: event.breach_ref.clone(),
                system: event.system.clone(),
                details: event.breach_details.is_some(),
                aware_at: event
                    .breach_details
                    .as_ref()
                    .is_some_and(|details| details.aware_at.is_some()),
            })
        })
        .collect();
    if entries.is_empty() {
        return Ok(());
    }
    let store = store.clone();
    let admin = caller.role == Role::Admin;
    blocking(move || -> Result<(), ServiceError> {
        // The cases met so far: who opened each (`None`: no original report, admins only).
        let mut openers: BTreeMap<String, Option<String>> = BTreeMap::new();
        for entry in &entries {
            if !openers.contains_key(&entry.breach_ref)
                && let Some(opener) = store.breach_case_opener(&entry.breach_ref)?
            {
                openers.insert(entry.breach_ref.clone(), opener);
            }
            if let Some(opener) = openers.get(&entry.breach_ref) {
                let speaks_for_case = entry.kind != EventKind::Breach || entry.details;
                if speaks_for_case && !admin && opener.as_deref() != Some(entry.system.as_str()) {
                    return Err(SystemRefused::NotCaseOwner {
                        field: format!("{}.event.system", entry.prefix),
                        breach_ref: entry.breach_ref.clone(),
                        system: entry.system.clone(),
                        owner: opener.as_ref().map_or_else(
                            || "amendments only (no original report)".to_owned(),
                            |system| format!("system {system:?}"),
                        ),
                    }
                    .into());
                }
                continue;
            }
            if entry.kind != EventKind::Breach {
                return Err(ServiceError::Precondition(FieldError::new(
                    format!("{}.event.breach_ref", entry.prefix),
                    format!(
                        "the log holds no breach case {:?}: report the breach (a `breach` event \
                         with breach_details.aware_at) first",
                        entry.breach_ref
                    ),
                )));
            }
            if !entry.aware_at {
                return Err(ServiceError::Precondition(FieldError::new(
                    format!("{}.event.breach_details.aware_at", entry.prefix),
                    format!(
                        "required on the first report of breach case {:?}: the 72-hour clock \
                         of article 33(1) starts there",
                        entry.breach_ref
                    ),
                )));
            }
            openers.insert(entry.breach_ref.clone(), Some(entry.system.clone()));
        }
        Ok(())
    })
    .await
}
