//! Data subject request cases read from the store (`docs/requests.md`): the entries of a
//! `request_ref` (the request case rows, `storage::report_index::cases`) and the request policy
//! declarations, as the log held them at `as_of` and after corrections, handed to the pure
//! register (`core::request_cases`), which derives the case and its clock. Nothing is kept
//! between calls.

use prost_types::Timestamp;

use super::{Corrections, Effective, ReportError};
use crate::core::deadline::{DeadlineError, DeadlinePolicy};
use crate::core::request_cases::{
    DEFAULT_TIME_ZONE, Outcome, RequestCase, case_of, deadline_policy, erasure_case, erasure_ref,
    parse_erasure_ref, policy_in_force,
};
use crate::erasure::{HolderConfirmation, answered_request, holders_below};
use crate::proto::v1 as pb;
use crate::proto::v1::{EventKind, RequestCaseState};
use crate::storage::ErasureRecord;
use crate::storage::LedgerStore;
use crate::storage::report_index::cases::is_request_case_kind;

/// The request policy as configured (`[requests]`): at start the server declares it in the log
/// (a `request_policy_declared` entry, `server::controller`) when it differs from the latest
/// declaration; answers read the declaration in force, never the configuration.
///
/// `count_every_secs` is not part of the policy: it is how often the metrics count the open and
/// overdue cases (`gdpr_ledger_request_cases_open`, `_overdue`); 0 counts never.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestPolicyConfig {
    /// The controller's IANA time zone, e.g. "Europe/Berlin"; empty: declare nothing.
    pub time_zone: String,
    /// Public holidays of that zone, as YYYY-MM-DD dates.
    pub public_holidays: Vec<String>,
    /// Seconds between two counts of the register for the metrics (0: never).
    pub count_every_secs: u64,
}

/// How often the metrics count the register unless `[requests] count_every_secs` says otherwise.
pub const DEFAULT_COUNT_EVERY_SECS: u64 = 60;

impl Default for RequestPolicyConfig {
    fn default() -> Self {
        Self {
            time_zone: String::new(),
            public_holidays: Vec::new(),
            count_every_secs: DEFAULT_COUNT_EVERY_SECS,
        }
    }
}

/// The latest `request_policy_declared` entry in log order (the one the configuration is
/// compared with at start), corrections applied, over the whole log.
pub fn latest_request_policy(
    store: &LedgerStore,
) -> Result<Option<pb::RequestPolicy>, ReportError> {
    let size = store.tree_size()?;
    let corrections = Corrections::load(store, size)?;
    let indexes = store.request_policy_declarations()?;
    let mut latest = None;
    for mut entry in store.decoded_entries(&indexes)? {
        let event = entry.event.take().unwrap_or_default();
        if let Effective::Live { event, .. } = corrections.effective_event(entry.index, event) {
            latest = event.request_policy.or(latest);
        }
    }
    Ok(latest)
}

/// Most entries one request case may have; beyond, the case is refused.
pub const MAX_REQUEST_CASE_ENTRIES: usize = 10_000;

/// A deadline that cannot be computed: only an `as_of` outside the calendar's range gets here
/// (stored times and policies were validated when appended).
pub(crate) fn deadline_error(error: DeadlineError) -> ReportError {
    ReportError::invalid("as_of", error.to_string())
}

/// The policy in force at `as_of` among the first `size` entries, after corrections: its index,
/// its time zone and its deadline policy.
struct PolicyInForce {
    /// The declaration's index (`None` when none is in force).
    pub index: Option<u64>,
    /// Its time zone (UTC without one).
    pub time_zone: String,
    /// The rules.
    pub policy: DeadlinePolicy,
}

impl PolicyInForce {
    /// Reads the declarations below `size` and takes the one in force at `as_of`.
    pub fn read(
        store: &LedgerStore,
        size: u64,
        corrections: &Corrections,
        as_of: &Timestamp,
    ) -> Result<Self, ReportError> {
        let indexes: Vec<u64> = store
            .request_policy_declarations()?
            .into_iter()
            .filter(|index| *index < size)
            .collect();
        let mut declared = Vec::new();
        for mut entry in store.decoded_entries(&indexes)? {
            let event = entry.event.take().unwrap_or_default();
            if let Effective::Live { event, .. } = corrections.effective_event(entry.index, event)
                && event.kind() == EventKind::RequestPolicyDeclared
                && let Some(policy) = event.request_policy
            {
                declared.push((entry.index, policy));
            }
        }
        let in_force = policy_in_force(declared.iter().map(|(i, p)| (*i, p)), as_of);
        Ok(Self {
            index: in_force.map(|(index, _)| index),
            time_zone: in_force.map_or_else(
                || DEFAULT_TIME_ZONE.to_owned(),
                |(_, p)| p.time_zone.clone(),
            ),
            policy: deadline_policy(in_force.map(|(_, p)| p)).map_err(deadline_error)?,
        })
    }
}

/// The register as the log held it at `as_of`: the entries received by then, their corrections
/// and the request policy in force. Every read of the register (`GetRequestCase`,
/// `ListOverdueRequests`, the metrics' count) starts here.
pub struct RegisterAt {
    /// The entries the log had received by `as_of` (a prefix of the log).
    pub size: u64,
    corrections: Corrections,
    policy: PolicyInForce,
    as_of: Timestamp,
    /// The erasure cases' references below `size`, sorted: read once, on the first listing.
    erasure_refs: std::cell::OnceCell<Vec<String>>,
}

impl RegisterAt {
    /// The register at `as_of` among the first `latest` entries (the latest checkpoint's size),
    /// once the report indexes cover them.
    pub fn read(store: &LedgerStore, latest: u64, as_of: Timestamp) -> Result<Self, ReportError> {
        super::breach_case::check_cases_indexed(store, latest)?;
        let size = store.entries_received_by(&as_of, latest)?;
        let corrections = Corrections::load(store, size)?;
        let policy = PolicyInForce::read(store, size, &corrections, &as_of)?;
        Ok(Self {
            size,
            corrections,
            policy,
            as_of,
            erasure_refs: std::cell::OnceCell::new(),
        })
    }

    /// Case `request_ref` (an erasure case when it is `erasure:<index>`), or `None` when the
    /// log held no receipt of it at `as_of`.
    pub fn case(
        &self,
        store: &LedgerStore,
        request_ref: &str,
    ) -> Result<Option<pb::RequestCase>, ReportError> {
        if let Some(index) = parse_erasure_ref(request_ref) {
            return self.erasure_case(store, index);
        }
        read_case(
            store,
            request_ref,
            self.size,
            &self.corrections,
            &self.policy,
            &self.as_of,
        )
    }

    /// The erasure case opened by the entry at `index`: an `erasure_requested` entry below the
    /// register's size that opened an erasure case (`Erasure.EraseSubject`), answered once every
    /// holder of the subject's data had answered by then (`erasure::status::answered_request`).
    fn erasure_case(
        &self,
        store: &LedgerStore,
        index: u64,
    ) -> Result<Option<pb::RequestCase>, ReportError> {
        if index >= self.size {
            return Ok(None);
        }
        let Some(mut entry) = store.decoded_entries(&[index])?.pop() else {
            return Ok(None);
        };
        let Ok(token) = <[u8; 32]>::try_from(entry.subject_token.as_slice()) else {
            return Ok(None);
        };
        let opened_here = store
            .erasure_record(&token)?
            .map(|bytes| ErasureRecord::from_bytes(&bytes))
            .transpose()?
            .is_some_and(|record| record.request_index == index);
        let event = entry.event.take().unwrap_or_default();
        let Effective::Live { event, .. } = self.corrections.effective_event(index, event) else {
            return Ok(None);
        };
        if !opened_here || event.kind() != EventKind::ErasureRequested {
            return Ok(None);
        }
        let holders = holders_below(store, token, &self.corrections, self.size)?;
        let requested = HolderConfirmation {
            index,
            at: event.occurred_at.map_or(0, |t| t.seconds),
        };
        let answered = answered_request(&holders, requested).map(|(indexes, latest)| {
            let at = Timestamp {
                seconds: latest.at,
                nanos: 0,
            };
            (indexes, at)
        });
        let case = erasure_case((index, &event), answered, &self.policy.policy, &self.as_of)
            .map_err(deadline_error)?;
        to_proto(case, &self.policy, &self.as_of).map(Some)
    }

    /// The references of the register's cases after `after` (exclusive), in byte order, at most
    /// `limit`: the request cases' and the erasure cases' (`erasure:<index>`) merged.
    pub fn refs(
        &self,
        store: &LedgerStore,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, ReportError> {
        let mut refs = store.request_case_refs(after, limit)?;
        let erasure_refs = match self.erasure_refs.get() {
            Some(refs) => refs,
            None => {
                let mut names = Vec::new();
                for (_, bytes) in store.erasure_records()? {
                    let record = ErasureRecord::from_bytes(&bytes)?;
                    if record.request_index < self.size {
                        names.push(erasure_ref(record.request_index));
                    }
                }
                names.sort_unstable();
                self.erasure_refs.get_or_init(|| names)
            }
        };
        let first = after.map_or(0, |after| {
            erasure_refs.partition_point(|name| name.as_str() <= after)
        });
        refs.extend(erasure_refs[first..].iter().take(limit).cloned());
        refs.sort_unstable();
        refs.dedup();
        refs.truncate(limit);
        Ok(refs)
    }

    /// How many cases are open and how many of them are overdue, one case at a time in
    /// `request_ref` order. `None` when `stop` was set before the count finished.
    pub fn count(
        &self,
        store: &LedgerStore,
        stop: &std::sync::atomic::AtomicBool,
    ) -> Result<Option<RegisterCount>, ReportError> {
        const PAGE: usize = 1000;
        let mut count = RegisterCount::default();
        let mut after: Option<String> = None;
        loop {
            let refs = self.refs(store, after.as_deref(), PAGE)?;
            for request_ref in &refs {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    return Ok(None);
                }
                match self.case(store, request_ref)?.map(|case| case.state()) {
                    Some(RequestCaseState::Open) => count.open += 1,
                    Some(RequestCaseState::Overdue) => {
                        count.open += 1;
                        count.overdue += 1;
                    }
                    _ => {}
                }
            }
            if refs.len() < PAGE {
                return Ok(Some(count));
            }
            after = refs.last().cloned();
        }
    }
}

/// The register's open cases at a time, and those of them that are overdue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegisterCount {
    /// Neither answered nor refused (overdue ones included).
    pub open: u64,
    /// Open, and past the end of their due day.
    pub overdue: u64,
}

/// Reads case `request_ref` over the first `size` entries, corrections applied, and derives it
/// at `as_of`. `None` when no receipt of it below `size` is left.
fn read_case(
    store: &LedgerStore,
    request_ref: &str,
    size: u64,
    corrections: &Corrections,
    policy: &PolicyInForce,
    as_of: &Timestamp,
) -> Result<Option<pb::RequestCase>, ReportError> {
    let mut indexes = Vec::new();
    for index in store.request_case_rows(request_ref)? {
        let index = index?;
        if index >= size {
            // Rows are in index order: the rest are later still.
            break;
        }
        indexes.push(index);
        if indexes.len() > MAX_REQUEST_CASE_ENTRIES {
            return Err(ReportError::invalid(
                "request_ref",
                format!("the case has more than {MAX_REQUEST_CASE_ENTRIES} entries"),
            ));
        }
    }
    let mut events = Vec::with_capacity(indexes.len());
    for mut entry in store.decoded_entries(&indexes)? {
        let event = entry.event.take().unwrap_or_default();
        if let Effective::Live { event, .. } = corrections.effective_event(entry.index, event)
            && is_request_case_kind(event.kind())
            && event.request_ref == request_ref
        {
            events.push((entry.index, *event));
        }
    }
    let borrowed: Vec<(u64, &pb::Event)> = events.iter().map(|(i, e)| (*i, e)).collect();
    let Some(case) =
        case_of(request_ref, &borrowed, &policy.policy, as_of).map_err(deadline_error)?
    else {
        return Ok(None);
    };
    to_proto(case, policy, as_of).map(Some)
}

/// The case as the API shows it.
fn to_proto(
    case: RequestCase,
    policy: &PolicyInForce,
    as_of: &Timestamp,
) -> Result<pb::RequestCase, ReportError> {
    let due_end = policy
        .policy
        .end_of_day(case.due.due)
        .map_err(deadline_error)?;
    let state = match case.outcome {
        Outcome::Answered => RequestCaseState::Answered,
        Outcome::Refused => RequestCaseState::Refused,
        Outcome::Open if case.overdue => RequestCaseState::Overdue,
        Outcome::Open => RequestCaseState::Open,
    };
    let mut out = pb::RequestCase {
        request_ref: case.request_ref,
        channel: case.channel,
        system: case.system,
        received_at: Some(case.received_at),
        time_zone: policy.time_zone.clone(),
        policy_index: policy.index.unwrap_or(0),
        received_on: case.due.received_on.to_string(),
        original_due_on: case.due.original.to_string(),
        due_on: case.due.due.to_string(),
        due_end: Some(Timestamp {
            seconds: due_end.as_second(),
            nanos: due_end.subsec_nanosecond(),
        }),
        extension_months: case.extension_months,
        extension_told_late: case.extension_told_late,
        responded_at: case.responded_at,
        responded_late: case.responded_late,
        refusal_ground: case.refusal_ground,
        entry_indexes: case.indexes,
        as_of: Some(*as_of),
        ..Default::default()
    };
    out.set_right(case.right);
    out.set_state(state);
    Ok(out)
}

/// Checks a `request_ref` of a request by the rule of `event.request_ref` (a reference, the
/// rule of a `breach_ref`).
pub fn check_request_ref(field: &str, request_ref: &str) -> Result<(), ReportError> {
    super::breach_case::check_breach_ref(field, request_ref)
}
