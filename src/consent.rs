//! Consent checking: which processing relied on consent (article 6(1)(a) or 9(2)(a)) without a
//! valid consent at the time it happened. See `docs/erasure.md` section 6.
//!
//! The rules:
//! - *Processing that relies on consent*: a `collection`, `share` or `access` entry whose legal
//!   bases include `eu-gdpr:A6-1-a` or `eu-gdpr:A9-2-a`, or a `collection` that the opt-in policy
//!   in force at its `occurred_at` requires consent for (its channel and purpose), whatever basis
//!   it states: the one rule is `core::opt_in::relies_on_consent`.
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
//! The report is derived from the log itself on every request, for the log as it stood at a size
//! (the entries received by the report's `as_of`): two passes over those entries, the first
//! gathering consents and opt-in policy declarations ([`ConsentLog::record`]), the second
//! checking each processing ([`ConsentLog::check`]); corrections come from the report index,
//! `reports::Corrections`, below the same size. It keeps no state of its own that could drift
//! from the log.

use std::collections::HashMap;

use crate::core::entry::decode_entry;
use crate::core::opt_in::relies_on_consent_under;
pub use crate::core::opt_in::{CONSENT_BASES, Reliance, relies_on_consent};
use crate::proto::v1::{Event, EventKind, OptInPolicy};
use crate::reports::{Corrections, Effective};
use crate::storage::{LedgerStore, StorageError};

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
        let reference = consent_reference(event)?;
        let at = occurred(event);
        let mut problem = ConsentProblem::NoSuchConsent;
        for grant in self.grants.iter().filter(|g| {
            g.event_id == reference || (!g.record_id.is_empty() && g.record_id == reference)
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
        let entry = decode_entry(&bytes).map_err(|e| StorageError::undecodable_entry(index, e))?;
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
    /// Why it needed consent: its stated basis, or the opt-in policy (with the stated bases).
    pub reliance: Reliance,
    /// Why the consent was not valid.
    pub problem: ConsentProblem,
}

impl ConsentFinding {
    /// The finding in words: the problem, after the opt-in policy's requirement when that is
    /// why the processing needed consent (the receipt's warning says the same).
    pub fn describe(&self) -> String {
        describe(&self.reliance, &self.problem)
    }
}

/// A processing's problem in words, after why it needed consent when the opt-in policy is why.
pub fn describe(reliance: &Reliance, problem: &ConsentProblem) -> String {
    match reliance {
        Reliance::Stated => problem.to_string(),
        Reliance::Policy(_) => format!("{reliance}: {problem}"),
    }
}

/// What the report knows after its first pass over a log prefix: each subject's consents and
/// withdrawals, and the opt-in policy declarations (corrections applied by the caller). Pure.
#[derive(Debug, Default, Clone)]
pub struct ConsentLog {
    histories: HashMap<[u8; 32], ConsentHistory>,
    policies: Vec<(u64, OptInPolicy)>,
}

impl ConsentLog {
    /// Pass 1: records an entry's event, as corrected (a retracted entry is not recorded).
    pub fn record(&mut self, index: u64, token: Option<&[u8; 32]>, event: &Event) {
        match event.kind() {
            EventKind::ConsentGiven | EventKind::ConsentWithdrawn => {
                if let Some(token) = token {
                    self.histories
                        .entry(*token)
                        .or_default()
                        .record(index, event);
                }
            }
            EventKind::ConsentPolicyDeclared => {
                if let Some(policy) = &event.consent_policy {
                    self.policies.push((index, policy.clone()));
                }
            }
            _ => {}
        }
    }

    /// Whether the (corrected) event relies on consent under the recorded opt-in policies.
    pub fn reliance(&self, event: &Event) -> Option<Reliance> {
        relies_on_consent_under(event, self.policies.iter().map(|(i, p)| (*i, p)))
    }

    /// Pass 2: the processing's finding, when it relies on consent without a valid one.
    pub fn check(&self, token: &[u8; 32], event: &Event) -> Option<(Reliance, ConsentProblem)> {
        let reliance = self.reliance(event)?;
        let empty = ConsentHistory::default();
        let history = self.histories.get(token).unwrap_or(&empty);
        history
            .check(event)
            .err()
            .map(|problem| (reliance, problem))
    }
}

/// The opt-in policy declarations among the first `size` entries, corrections applied (few: one
/// per change of the policy; read through their declaration rows).
pub fn opt_in_policies(
    store: &LedgerStore,
    size: u64,
) -> Result<Vec<(u64, OptInPolicy)>, StorageError> {
    let indexes: Vec<u64> = store
        .consent_policy_declarations()?
        .into_iter()
        .filter(|index| *index < size)
        .collect();
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    // Only the declarations' own corrections: this runs on the append path.
    let corrections = Corrections::load_of(store, size, &indexes)?;
    let mut policies = Vec::with_capacity(indexes.len());
    for mut entry in store.decoded_entries(&indexes)? {
        let event = entry.event.take().unwrap_or_default();
        if let Effective::Live { event, .. } = corrections.effective_event(entry.index, event)
            && event.kind() == EventKind::ConsentPolicyDeclared
            && let Some(policy) = event.consent_policy
        {
            policies.push((entry.index, policy));
        }
    }
    Ok(policies)
}

/// The opt-in policy as configured (`[consent]`): at start the server declares it in the log (a
/// `consent_policy_declared` entry, `server::controller`) when it differs from the latest
/// declaration; reports and receipts read the declarations in the log, never the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsentPolicyConfig {
    /// The rules; absent: declare nothing. An empty list declares a policy without rules (it
    /// ends an earlier requirement).
    pub opt_in: Option<Vec<OptInRuleConfig>>,
}

/// One rule of `[consent] opt_in`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptInRuleConfig {
    /// Collection channels, as collections name them in `collection_channel`.
    pub channels: Vec<String>,
    /// Purposes as DPV terms; empty: every purpose.
    pub purposes: Vec<String>,
}

impl ConsentPolicyConfig {
    /// The configured rules as the policy's, if any are configured.
    pub fn rules(&self) -> Option<Vec<crate::proto::v1::OptInRule>> {
        self.opt_in.as_ref().map(|rules| {
            rules
                .iter()
                .map(|rule| crate::proto::v1::OptInRule {
                    channels: rule.channels.clone(),
                    purposes: rule.purposes.clone(),
                })
                .collect()
        })
    }
}

/// The latest `consent_policy_declared` entry in log order (the one the configuration is
/// compared with at start), corrections applied, over the whole log.
pub fn latest_consent_policy(store: &LedgerStore) -> Result<Option<OptInPolicy>, StorageError> {
    Ok(opt_in_policies(store, store.tree_size()?)?
        .pop()
        .map(|(_, policy)| policy))
}

/// The consent a processing names (its `consent_ref`), or [`ConsentProblem::NoReference`]: one
/// that names none has no valid consent, whatever its subject's history holds.
pub fn consent_reference(event: &Event) -> Result<&str, ConsentProblem> {
    if event.consent_ref.is_empty() {
        return Err(ConsentProblem::NoReference);
    }
    Ok(&event.consent_ref)
}

/// The receipt's consent warning for a processing appended now: whether it relies on consent
/// under the opt-in policies the log holds (`policies`, [`opt_in_policies`]) and has no valid
/// consent among its subject's entries as recorded (`None` when all is well).
pub fn receipt_warning(
    store: &LedgerStore,
    token: &[u8; 32],
    event: &Event,
    policies: &[(u64, OptInPolicy)],
) -> Result<Option<String>, StorageError> {
    let Some(reliance) = relies_on_consent_under(event, policies.iter().map(|(i, p)| (*i, p)))
    else {
        return Ok(None);
    };
    // Named or not is known without the history, which costs a read of each of the subject's
    // entries (on a 10M-entry log this read was a quarter of the server's CPU under `bench
    // --varied`, whose processing on consent names none).
    let verdict = match consent_reference(event) {
        Ok(_) => subject_history(store, token)?.check(event),
        Err(problem) => Err(problem),
    };
    Ok(verdict.err().map(|problem| describe(&reliance, &problem)))
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

/// One row of the entries' column family, decoded: its index and entry (for the scans over the
/// log, here and in `reports::data_map`).
pub fn decoded(
    row: Result<crate::storage::EntryRow, StorageError>,
) -> Result<(u64, crate::proto::v1::Entry), StorageError> {
    let row = row?;
    let entry =
        decode_entry(&row.bytes).map_err(|e| StorageError::undecodable_entry(row.index, e))?;
    Ok((row.index, entry))
}

/// Every processing among the first `size` entries of the log (those received by the report's
/// `as_of`) that relied on consent without a valid one, in log order, passed to `found` as it is
/// found (so that large reports stream). Returns how many entries were read.
pub fn processing_without_consent(
    store: &LedgerStore,
    size: u64,
    query: &ConsentQuery,
    mut found: impl FnMut(ConsentFinding) -> bool,
) -> Result<u64, StorageError> {
    // The corrections below `size`, from the report index (each entry's event as corrected).
    let corrections = Corrections::load(store, size)?;
    let corrected = |entry: &crate::proto::v1::Entry| match corrections.effective(entry) {
        Effective::Retracted => None,
        Effective::Live { event, .. } => Some(*event),
    };
    let token_of =
        |entry: &crate::proto::v1::Entry| <[u8; 32]>::try_from(entry.subject_token.as_slice()).ok();
    // Pass 1: every subject's consent events, and the opt-in policies.
    let mut log = ConsentLog::default();
    for row in store.entry_rows()? {
        let (index, entry) = decoded(row)?;
        if index >= size {
            break;
        }
        let recorded = entry.event.as_ref().is_some_and(|e| {
            matches!(
                e.kind(),
                EventKind::ConsentGiven
                    | EventKind::ConsentWithdrawn
                    | EventKind::ConsentPolicyDeclared
            )
        });
        if recorded && let Some(event) = corrected(&entry) {
            log.record(index, token_of(&entry).as_ref(), &event);
        }
    }
    // Pass 2: every processing that relies on consent.
    let mut read = 0;
    for row in store.entry_rows()? {
        let (index, entry) = decoded(row)?;
        if index >= size {
            break;
        }
        read += 1;
        let Some(token) = token_of(&entry) else {
            continue;
        };
        let Some(event) = corrected(&entry) else {
            continue;
        };
        if !query.covers(&event) {
            continue;
        }
        if let Some((reliance, problem)) = log.check(&token, &event) {
            let keep_going = found(ConsentFinding {
                index,
                token,
                event,
                reliance,
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
mod brute_force;

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
        assert_eq!(relies_on_consent(&contract, None), None);
        assert_eq!(
            relies_on_consent(&event(EventKind::Share, 1, "", &[]), None),
            Some(Reliance::Stated)
        );
        assert_eq!(
            relies_on_consent(&event(EventKind::ConsentGiven, 1, "", &[]), None),
            None
        );
    }
}
