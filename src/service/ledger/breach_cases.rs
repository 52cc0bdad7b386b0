//! The rules of breach cases that need the log (`docs/breach-cases.md`), checked before a
//! submission reaches the sequencer: a case is opened by a `breach` report that says when the
//! controller became aware (`event.breach_details.aware_at`), and its notifications
//! (`breach_notified`, `subjects_notified`) name a case the log holds, or that an earlier
//! submission of the same batch opens. Both refusals are `FAILED_PRECONDITION` naming the field.
//!
//! The check reads the committed breach case rows (`storage::report_index::cases`): a case once
//! in the log stays there, so a concurrent append can only make a check refuse what a retry
//! would accept (a notification sent with its case's first report in flight), never accept what
//! it should refuse.

use std::collections::BTreeSet;
use std::sync::Arc;

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
    aware_at: bool,
}

/// Checks the case entries among `events` (each with its field prefix, `submission` or
/// `submissions[3]`), in order, against the cases the log holds.
pub(super) async fn check_breach_cases(
    store: &Arc<LedgerStore>,
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
    blocking(move || -> Result<(), ServiceError> {
        let mut open: BTreeSet<String> = BTreeSet::new();
        for entry in &entries {
            if !open.contains(&entry.breach_ref) && store.breach_case_known(&entry.breach_ref)? {
                open.insert(entry.breach_ref.clone());
            }
            if open.contains(&entry.breach_ref) {
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
            open.insert(entry.breach_ref.clone());
        }
        Ok(())
    })
    .await
}
