//! The rules of data subject request cases that need the log (`docs/requests.md`), checked
//! before a submission reaches the sequencer: a `request_received` opens a case the log does not
//! hold yet (a second receipt is `FAILED_PRECONDITION` naming `event.request_ref`); an
//! extension, answer or refusal names a case the log holds, or that an earlier submission of the
//! same batch opens (`FAILED_PRECONDITION` naming `event.request_ref`), and comes from the system
//! that opened it or from an admin (`PERMISSION_DENIED` naming `event.system`), so that no
//! producer can close or extend another's case.
//!
//! Like the breach case check, it reads the committed request case rows: a case once in the log
//! stays there, so a concurrent append can only make a check refuse what a retry would accept.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::caller::{Caller, Role, SystemRefused};
use crate::proto::v1::EventKind;
use crate::sequencer::PreparedEvent;
use crate::service::status::{ServiceError, blocking};
use crate::storage::LedgerStore;
use crate::storage::report_index::cases::is_request_case_kind;
use crate::validation::FieldError;

/// One request case entry of a submission.
struct CaseEntry {
    prefix: String,
    kind: EventKind,
    request_ref: String,
    system: String,
}

/// Checks the request case entries among `events` (each with its field prefix), in order,
/// against the cases the log holds.
pub(super) async fn check_request_cases(
    store: &Arc<LedgerStore>,
    caller: &Caller,
    events: &[PreparedEvent],
    prefix: impl Fn(usize) -> String,
) -> Result<(), ServiceError> {
    let entries: Vec<CaseEntry> = events
        .iter()
        .enumerate()
        .filter(|(_, prepared)| is_request_case_kind(prepared.event.kind()))
        .map(|(position, prepared)| CaseEntry {
            prefix: prefix(position),
            kind: prepared.event.kind(),
            request_ref: prepared.event.request_ref.clone(),
            system: prepared.event.system.clone(),
        })
        .collect();
    if entries.is_empty() {
        return Ok(());
    }
    let store = store.clone();
    let admin = caller.role == Role::Admin;
    blocking(move || -> Result<(), ServiceError> {
        // The cases met so far and who opened each.
        let mut openers: BTreeMap<String, String> = BTreeMap::new();
        for entry in &entries {
            if !openers.contains_key(&entry.request_ref)
                && let Some(opener) = store.request_case_opener(&entry.request_ref)?
            {
                openers.insert(entry.request_ref.clone(), opener);
            }
            let ref_field = format!("{}.event.request_ref", entry.prefix);
            match (entry.kind, openers.get(&entry.request_ref)) {
                (EventKind::RequestReceived, Some(_)) => {
                    return Err(ServiceError::Precondition(FieldError::new(
                        ref_field,
                        format!(
                            "the log already holds the receipt of request case {:?}: a case is \
                             opened once",
                            entry.request_ref
                        ),
                    )));
                }
                (EventKind::RequestReceived, None) => {
                    openers.insert(entry.request_ref.clone(), entry.system.clone());
                }
                (_, None) => {
                    return Err(ServiceError::Precondition(FieldError::new(
                        ref_field,
                        format!(
                            "the log holds no request case {:?}: record its receipt (a \
                             `request_received` event) first",
                            entry.request_ref
                        ),
                    )));
                }
                (_, Some(owner)) if !admin && *owner != entry.system => {
                    return Err(SystemRefused::NotRequestCaseOwner {
                        field: format!("{}.event.system", entry.prefix),
                        request_ref: entry.request_ref.clone(),
                        system: entry.system.clone(),
                        owner: owner.clone(),
                    }
                    .into());
                }
                (_, Some(_)) => {}
            }
        }
        Ok(())
    })
    .await
}
