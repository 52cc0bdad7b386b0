//! Consent checking: which processing relied on consent (article 6(1)(a) or 9(2)(a)) without a
//! valid consent at the time it happened. See `docs/erasure.md` section 7.
//!
//! The rules:
//! - *Processing that relies on consent*: a `collection`, `share` or `access` entry whose legal
//!   bases include `eu-gdpr:A6-1-a` or `eu-gdpr:A9-2-a`.
//! - It must name the consent in `consent_ref`: the event id of the subject's `consent_given`
//!   entry, or the consent management platform's record id that entry carries as `consent_ref`.
//! - The consent is valid at the processing's `occurred_at` when a matching `consent_given` of the
//!   same subject happened at or before it, covers every purpose of the processing, and no
//!   `consent_withdrawn` of the same subject withdrew it between the two. A withdrawal withdraws
//!   the consents it names in `consent_ref` (by event id or record id); one without `consent_ref`
//!   withdraws every consent of the subject that covers one of its purposes.
//! - Everything counts from its own `occurred_at`, not from when the ledger received it: a
//!   withdrawal that arrives late still invalidates the processing after it.
//! - Corrections are honoured: retracted entries do not count, amended ones count as amended.
//!
//! The report is derived from the log itself on every request (two passes over the entries: the
//! first gathers consents, the second checks each processing; corrections come from the report
//! index, `reports::Corrections`), so it keeps no state of its own that could drift from the log.

use std::collections::HashMap;

use crate::core::entry::decode_entry;
use crate::proto::v1::{Event, EventKind};
use crate::reports::{Corrections, Effective};
use crate::storage::{LedgerStore, StorageError, columns};

/// The legal bases that mean "relies on consent".
pub const CONSENT_BASES: [&str; 2] = ["eu-gdpr:A6-1-a", "eu-gdpr:A9-2-a"];

/// Whether the (corrected) event is processing that relies on consent.
pub fn relies_on_consent(event: &Event) -> bool {
    matches!(
        event.kind(),
        EventKind::Collection | EventKind::Share | EventKind::Access
    ) && event
        .legal_bases
        .iter()
        .any(|basis| CONSENT_BASES.contains(&basis.as_str()))
}

/// A point in time, as `(seconds, nanos)` of the event's `occurred_at`.
pub type Instant = (i64, i32);

fn occurred(event: &Event) -> Instant {
    event
        .occurred_at
        .as_ref()
        .map_or((0, 0), |t| (t.seconds, t.nanos))
}

/// One `consent_given` of a subject.
#[derive(Debug, Clone)]
struct Grant {
    index: u64,
    at: Instant,
    event_id: String,
    record_id: String,
    purposes: Vec<String>,
}

/// One `consent_withdrawn` of a subject.
#[derive(Debug, Clone)]
struct Withdrawal {
    index: u64,
    at: Instant,
    reference: String,
    purposes: Vec<String>,
}

impl Withdrawal {
    fn withdraws(&self, grant: &Grant) -> bool {
        if self.reference.is_empty() {
            self.purposes.is_empty() || self.purposes.iter().any(|p| grant.purposes.contains(p))
        } else {
            self.reference == grant.event_id
                || (!grant.record_id.is_empty() && self.reference == grant.record_id)
        }
    }
}

/// A subject's consents and withdrawals.
#[derive(Debug, Default, Clone)]
pub struct ConsentHistory {
    grants: Vec<Grant>,
    withdrawals: Vec<Withdrawal>,
}

/// Why a processing had no valid consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentProblem {
    /// It names no consent (`consent_ref` is empty).
    NoReference,
    /// No `consent_given` of the subject matches its `consent_ref`.
    NoSuchConsent,
    /// The matching consent was given only after the processing (entry of the consent).
    NotYetGiven {
        /// The consent's entry.
        consent_index: u64,
    },
    /// The matching consent had been withdrawn before the processing.
    Withdrawn {
        /// The consent's entry.
        consent_index: u64,
        /// The withdrawal's entry.
        withdrawal_index: u64,
    },
    /// The matching consent does not cover this purpose.
    PurposeNotCovered {
        /// The consent's entry.
        consent_index: u64,
        /// The purpose not covered.
        purpose: String,
    },
}

impl std::fmt::Display for ConsentProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoReference => write!(f, "relies on consent but names none (consent_ref)"),
            Self::NoSuchConsent => write!(f, "no consent_given of the subject matches consent_ref"),
            Self::NotYetGiven { consent_index } => {
                write!(
                    f,
                    "the consent (entry {consent_index}) was given only afterwards"
                )
            }
            Self::Withdrawn {
                consent_index,
                withdrawal_index,
            } => write!(
                f,
                "the consent (entry {consent_index}) was withdrawn before (entry {withdrawal_index})"
            ),
            Self::PurposeNotCovered {
                consent_index,
                purpose,
            } => write!(
                f,
                "the consent (entry {consent_index}) does not cover the purpose {purpose}"
            ),
        }
    }
}

impl ConsentHistory {
    /// Records a (corrected) consent event of the subject.
    pub fn record(&mut self, index: u64, event: &Event) {
        match event.kind() {
            EventKind::ConsentGiven => self.grants.push(Grant {
                index,
                at: occurred(event),
                event_id: event.event_id.clone(),
                record_id: event.consent_ref.clone(),
                purposes: event.purposes.clone(),
            }),
            EventKind::ConsentWithdrawn => self.withdrawals.push(Withdrawal {
                index,
                at: occurred(event),
                reference: event.consent_ref.clone(),
                purposes: event.purposes.clone(),
            }),
            _ => {}
        }
    }

    /// Whether the processing `event` had a valid consent at its `occurred_at`; the problem if
    /// not (the most telling one when several consents match).
    pub fn check(&self, event: &Event) -> Result<(), ConsentProblem> {
        let reference = &event.consent_ref;
        if reference.is_empty() {
            return Err(ConsentProblem::NoReference);
        }
        let at = occurred(event);
        let mut problem = ConsentProblem::NoSuchConsent;
        for grant in self.grants.iter().filter(|g| {
            &g.event_id == reference || (!g.record_id.is_empty() && &g.record_id == reference)
        }) {
            if grant.at > at {
                if problem == ConsentProblem::NoSuchConsent {
                    problem = ConsentProblem::NotYetGiven {
                        consent_index: grant.index,
                    };
                }
                continue;
            }
            if let Some(withdrawal) = self
                .withdrawals
                .iter()
                .find(|w| w.at >= grant.at && w.at <= at && w.withdraws(grant))
            {
                problem = ConsentProblem::Withdrawn {
                    consent_index: grant.index,
                    withdrawal_index: withdrawal.index,
                };
                continue;
            }
            match event.purposes.iter().find(|p| !grant.purposes.contains(p)) {
                Some(purpose) => {
                    problem = ConsentProblem::PurposeNotCovered {
                        consent_index: grant.index,
                        purpose: purpose.clone(),
                    };
                }
                None => return Ok(()),
            }
        }
        Err(problem)
    }
}

/// The consents and withdrawals of one subject as its chain stands (corrections, which join no
/// chain, are not applied here: the report applies them).
pub fn subject_history(
    store: &LedgerStore,
    token: &[u8; 32],
) -> Result<ConsentHistory, StorageError> {
    let mut history = ConsentHistory::default();
    for index in store.subject_entries(token)? {
        let bytes = store
            .entry(index)?
            .ok_or_else(|| StorageError::missing_entry(index))?;
        let (_, entry) = decoded(&index.to_be_bytes(), &bytes)?;
        if let Some(event) = entry.event {
            history.record(index, &event);
        }
    }
    Ok(history)
}

/// One processing that relied on consent without a valid one.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentFinding {
    /// The processing's entry.
    pub index: u64,
    /// Its subject.
    pub token: [u8; 32],
    /// The event, as corrected.
    pub event: Event,
    /// Why the consent was not valid.
    pub problem: ConsentProblem,
}

/// Which processing the report covers: `occurred_at` in `[from, until)` (seconds; `None` is
/// unbounded), and only `system` when given.
#[derive(Debug, Clone, Default)]
pub struct ConsentQuery {
    /// From this time on (Unix seconds).
    pub from: Option<i64>,
    /// Before this time (Unix seconds).
    pub until: Option<i64>,
    /// Only this system.
    pub system: Option<String>,
}

impl ConsentQuery {
    fn covers(&self, event: &Event) -> bool {
        let (seconds, _) = occurred(event);
        self.from.is_none_or(|from| seconds >= from)
            && self.until.is_none_or(|until| seconds < until)
            && self.system.as_ref().is_none_or(|s| s == &event.system)
    }
}

fn decoded(key: &[u8], value: &[u8]) -> Result<(u64, crate::proto::v1::Entry), StorageError> {
    let index = columns::decode_u64(key)
        .ok_or_else(|| StorageError::undecodable(columns::ENTRIES, "a key", "is not 8 bytes"))?;
    let entry = decode_entry(value).map_err(|e| StorageError::undecodable_entry(index, e))?;
    Ok((index, entry))
}

/// Every processing in the log that relied on consent without a valid one, in log order, passed to
/// `found` as it is found (so that large reports stream). Returns how many entries were read.
pub fn processing_without_consent(
    store: &LedgerStore,
    query: &ConsentQuery,
    mut found: impl FnMut(ConsentFinding) -> bool,
) -> Result<u64, StorageError> {
    // The corrections, from the report index (each entry's event as corrected).
    let corrections = Corrections::load(store, store.tree_size()?)?;
    let corrected = |entry: &crate::proto::v1::Entry| match corrections.effective(entry) {
        Effective::Retracted => None,
        Effective::Live { event, .. } => Some(*event),
    };
    // Pass 1: every subject's consent events.
    let mut histories: HashMap<[u8; 32], ConsentHistory> = HashMap::new();
    for row in store.rows(columns::ENTRIES)? {
        let (key, value) = row?;
        let (index, entry) = decoded(&key, &value)?;
        let is_consent = entry.event.as_ref().is_some_and(|e| {
            matches!(
                e.kind(),
                EventKind::ConsentGiven | EventKind::ConsentWithdrawn
            )
        });
        let Ok(token) = <[u8; 32]>::try_from(entry.subject_token.as_slice()) else {
            continue;
        };
        if is_consent && let Some(event) = corrected(&entry) {
            histories.entry(token).or_default().record(index, &event);
        }
    }
    // Pass 2: every processing that relies on consent.
    let empty = ConsentHistory::default();
    let mut read = 0;
    for row in store.rows(columns::ENTRIES)? {
        let (key, value) = row?;
        let (index, entry) = decoded(&key, &value)?;
        read += 1;
        let Ok(token) = <[u8; 32]>::try_from(entry.subject_token.as_slice()) else {
            continue;
        };
        let Some(event) = corrected(&entry) else {
            continue;
        };
        if !relies_on_consent(&event) || !query.covers(&event) {
            continue;
        }
        if let Err(problem) = histories.get(&token).unwrap_or(&empty).check(&event) {
            let keep_going = found(ConsentFinding {
                index,
                token,
                event,
                problem,
            });
            if !keep_going {
                break;
            }
        }
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind, seconds: i64, reference: &str, purposes: &[&str]) -> Event {
        Event {
            event_id: format!("e-{seconds}"),
            kind: kind as i32,
            occurred_at: Some(prost_types::Timestamp { seconds, nanos: 0 }),
            consent_ref: reference.into(),
            purposes: purposes.iter().map(|p| (*p).to_owned()).collect(),
            legal_bases: vec!["eu-gdpr:A6-1-a".into()],
            ..Event::default()
        }
    }

    #[test]
    fn consent_counts_from_its_own_time_and_a_withdrawal_from_its_own() {
        let mut history = ConsentHistory::default();
        let mut given = event(EventKind::ConsentGiven, 100, "cmp:1", &["dpv:Marketing"]);
        given.event_id = "consent-1".into();
        history.record(1, &given);
        let processing = |at| event(EventKind::Collection, at, "cmp:1", &["dpv:Marketing"]);
        assert_eq!(
            history.check(&processing(50)),
            Err(ConsentProblem::NotYetGiven { consent_index: 1 })
        );
        assert_eq!(history.check(&processing(150)), Ok(()));
        // Referenced by the consent entry's event id works too.
        let mut by_id = processing(150);
        by_id.consent_ref = "consent-1".into();
        assert_eq!(history.check(&by_id), Ok(()));
        // A withdrawal at 200, even if it arrives after the processing at 250, counts from 200.
        history.record(9, &event(EventKind::ConsentWithdrawn, 200, "cmp:1", &[]));
        assert_eq!(history.check(&processing(150)), Ok(()));
        assert_eq!(
            history.check(&processing(250)),
            Err(ConsentProblem::Withdrawn {
                consent_index: 1,
                withdrawal_index: 9
            })
        );
        let mut wider = processing(150);
        wider.purposes.push("dpv:Profiling".into());
        assert!(matches!(
            history.check(&wider),
            Err(ConsentProblem::PurposeNotCovered { .. })
        ));
        let mut unnamed = processing(150);
        unnamed.consent_ref.clear();
        assert_eq!(history.check(&unnamed), Err(ConsentProblem::NoReference));
        let mut other = processing(150);
        other.consent_ref = "cmp:2".into();
        assert_eq!(history.check(&other), Err(ConsentProblem::NoSuchConsent));
        // Given again after the withdrawal: valid again from then on.
        history.record(
            12,
            &event(EventKind::ConsentGiven, 300, "cmp:1", &["dpv:Marketing"]),
        );
        assert_eq!(history.check(&processing(350)), Ok(()));
    }

    #[test]
    fn only_consent_based_processing_is_checked() {
        let mut contract = event(EventKind::Collection, 1, "", &[]);
        contract.legal_bases = vec!["eu-gdpr:A6-1-b".into()];
        assert!(!relies_on_consent(&contract));
        assert!(relies_on_consent(&event(EventKind::Share, 1, "", &[])));
        assert!(!relies_on_consent(&event(
            EventKind::ConsentGiven,
            1,
            "",
            &[]
        )));
    }
}
