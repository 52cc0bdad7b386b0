//! Retention schedules read from the store (`docs/retention.md`): the `retention_policy_declared`
//! declarations (their rows, `storage::report_index::cases`) as the log held them, after their
//! own corrections, handed to the pure rule (`core::retention`). Nothing is kept between calls.

use prost_types::Timestamp;

use super::request_case::deadline_error;
use super::{Corrections, Effective, ReportError};
use crate::core::retention::{RetentionItem, retention_policy_in_force, retention_status};
use crate::proto::v1 as pb;
use crate::proto::v1::EventKind;
use crate::storage::{LedgerStore, StorageError};

/// The retention schedule as configured (`[retention]`): at start the server declares it in the
/// log (a `retention_policy_declared` entry, `server::controller`) when it differs from the
/// latest declaration; answers read the declaration in force at their `as_of`, never the
/// configuration.
///
/// `count_every_secs` is not part of the policy: it is how often the metrics count the overdue
/// items (`gdpr_ledger_retention_overdue`); 0 counts never.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// The rules; absent: declare nothing. An empty list declares a policy without rules (it
    /// ends every deadline).
    pub rules: Option<Vec<RetentionRuleConfig>>,
    /// Seconds between two counts of the overdue items for the metrics (0: never).
    pub count_every_secs: u64,
}

/// How often the metrics count the overdue items unless `[retention] count_every_secs` says
/// otherwise.
pub const DEFAULT_COUNT_EVERY_SECS: u64 = 300;

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            rules: None,
            count_every_secs: DEFAULT_COUNT_EVERY_SECS,
        }
    }
}

/// One rule of `[retention] rules`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionRuleConfig {
    /// The holder (a collection's system or a recipient's name), or `*`.
    pub system: String,
    /// A data category as a DPV term, or `*` (the default).
    pub data_category: String,
    /// A purpose as a DPV term, or `*` (the default).
    pub purpose: String,
    /// The period in days (or 0 with `months`).
    pub days: u32,
    /// The period in months (or 0 with `days`).
    pub months: u32,
    /// What the period runs from: `last_collection` (the default) or `relationship_ended`.
    pub trigger: TriggerConfig,
}

impl Default for RetentionRuleConfig {
    fn default() -> Self {
        Self {
            system: String::new(),
            data_category: crate::core::retention::WILDCARD.to_owned(),
            purpose: crate::core::retention::WILDCARD.to_owned(),
            days: 0,
            months: 0,
            trigger: TriggerConfig::LastCollection,
        }
    }
}

/// `trigger` of a rule of `[retention] rules`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerConfig {
    /// From the data's last arrival at the holder.
    LastCollection,
    /// From the end of the subject's relationship with the holder's system.
    RelationshipEnded,
}

impl RetentionConfig {
    /// The configured rules as the policy's, if any are configured.
    pub fn rules(&self) -> Option<Vec<pb::RetentionRule>> {
        self.rules.as_ref().map(|rules| {
            rules
                .iter()
                .map(|rule| pb::RetentionRule {
                    system: rule.system.clone(),
                    data_category: rule.data_category.clone(),
                    purpose: rule.purpose.clone(),
                    days: rule.days,
                    months: rule.months,
                    trigger: match rule.trigger {
                        TriggerConfig::LastCollection => pb::RetentionTrigger::LastCollection,
                        TriggerConfig::RelationshipEnded => pb::RetentionTrigger::RelationshipEnded,
                    } as i32,
                })
                .collect()
        })
    }
}

/// The retention policy declarations among the first `size` entries, corrections applied (few:
/// one per change of the schedule; read through their declaration rows and their own
/// corrections only).
pub fn retention_policies(
    store: &LedgerStore,
    size: u64,
) -> Result<Vec<(u64, pb::RetentionPolicy)>, StorageError> {
    let indexes = declarations_below(store, size)?;
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    let corrections = Corrections::load_of(store, size, &indexes)?;
    policies_of(store, &indexes, &corrections)
}

/// The indexes of the retention policy declarations below `size`.
fn declarations_below(store: &LedgerStore, size: u64) -> Result<Vec<u64>, StorageError> {
    Ok(store
        .retention_policy_declarations()?
        .into_iter()
        .filter(|index| *index < size)
        .collect())
}

/// The declarations at `indexes`, `corrections` applied.
fn policies_of(
    store: &LedgerStore,
    indexes: &[u64],
    corrections: &Corrections,
) -> Result<Vec<(u64, pb::RetentionPolicy)>, StorageError> {
    let mut policies = Vec::with_capacity(indexes.len());
    for mut entry in store.decoded_entries(indexes)? {
        let event = entry.event.take().unwrap_or_default();
        if let Effective::Live { event, .. } = corrections.effective_event(entry.index, event)
            && event.kind() == EventKind::RetentionPolicyDeclared
            && let Some(policy) = event.retention_policy
        {
            policies.push((entry.index, policy));
        }
    }
    Ok(policies)
}

/// The latest `retention_policy_declared` entry in log order (the one the configuration is
/// compared with at start), corrections applied, over the whole log.
pub fn latest_retention_policy(
    store: &LedgerStore,
) -> Result<Option<pb::RetentionPolicy>, StorageError> {
    Ok(retention_policies(store, store.tree_size()?)?
        .pop()
        .map(|(_, policy)| policy))
}

/// The retention answer as the log held it at `as_of`: the entries received by then, their
/// corrections and the retention policy declarations. Every read of the overdue items
/// (`ListRetentionOverdue`, the metrics' count) starts here.
pub struct RetentionAt {
    /// The entries the log had received by `as_of` (a prefix of the log).
    pub size: u64,
    corrections: Corrections,
    policies: Vec<(u64, pb::RetentionPolicy)>,
    as_of: Timestamp,
}

/// Where a page of overdue items starts: after the first `skip` items of `subject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionCursor {
    /// The subject's token.
    pub subject: [u8; 32],
    /// How many of its overdue items the earlier pages held.
    pub skip: usize,
}

impl RetentionCursor {
    /// `<subject token in hex>/<items already listed>`, as `next_after` gives it.
    pub fn parse(text: &str) -> Option<Self> {
        let (subject, skip) = text.split_once('/')?;
        let bytes = hex::decode(subject).ok()?;
        Some(Self {
            subject: bytes.try_into().ok()?,
            skip: skip.parse().ok()?,
        })
    }

    /// The text [`Self::parse`] reads.
    pub fn to_text(self) -> String {
        format!("{}/{}", hex::encode(self.subject), self.skip)
    }
}

/// Subjects read from the subject index at a time.
const SUBJECT_BATCH: usize = 256;

impl RetentionAt {
    /// The answer at `as_of` among the first `latest` entries (the latest checkpoint's size), once
    /// the report indexes cover them.
    pub fn read(store: &LedgerStore, latest: u64, as_of: Timestamp) -> Result<Self, ReportError> {
        super::breach_case::check_cases_indexed(store, latest)?;
        let size = store.entries_received_by(&as_of, latest)?;
        let corrections = Corrections::load(store, size)?;
        let policies = policies_of(store, &declarations_below(store, size)?, &corrections)?;
        Ok(Self {
            size,
            corrections,
            policies,
            as_of,
        })
    }

    /// The declaration in force at `as_of`, if any.
    pub fn policy_index(&self) -> Option<u64> {
        retention_policy_in_force(self.policies.iter().map(|(i, p)| (*i, p)), &self.as_of)
            .map(|(index, _)| index)
    }

    /// The overdue items of one subject: its entries below the size (the subject index's rows),
    /// corrections applied, under the rule (`core::retention`).
    pub fn overdue_of(
        &self,
        store: &LedgerStore,
        token: &[u8; 32],
    ) -> Result<Vec<pb::RetentionOverdueItem>, ReportError> {
        let indexes: Vec<u64> = store
            .subject_entries(token)?
            .into_iter()
            .filter(|index| *index < self.size)
            .collect();
        let mut events = Vec::with_capacity(indexes.len());
        for mut entry in store.decoded_entries(&indexes)? {
            let event = entry.event.take().unwrap_or_default();
            if let Effective::Live { event, .. } =
                self.corrections.effective_event(entry.index, event)
            {
                events.push((entry.index, *event));
            }
        }
        let status =
            retention_status(&events, &self.policies, &self.as_of).map_err(deadline_error)?;
        let subject = hex::encode(token);
        Ok(status
            .items
            .into_iter()
            .filter(|item| item.overdue)
            .map(|item| to_proto(&subject, item))
            .collect())
    }

    /// A page of at most `limit` overdue items after `after`, in subject token order, then in
    /// (holder, category, purpose) order; with the cursor of its last item when the page is full.
    pub fn page(
        &self,
        store: &LedgerStore,
        after: Option<RetentionCursor>,
        limit: usize,
    ) -> Result<(Vec<pb::RetentionOverdueItem>, Option<RetentionCursor>), ReportError> {
        let mut items = Vec::new();
        if let Some(cursor) = after {
            let rest = self.overdue_of(store, &cursor.subject)?;
            for (position, item) in rest.into_iter().enumerate().skip(cursor.skip) {
                items.push(item);
                if items.len() >= limit {
                    return Ok((
                        items,
                        Some(RetentionCursor {
                            subject: cursor.subject,
                            skip: position + 1,
                        }),
                    ));
                }
            }
        }
        let mut from = after.map(|cursor| cursor.subject);
        loop {
            let tokens = store.subject_tokens_after(from.as_ref(), SUBJECT_BATCH)?;
            for token in &tokens {
                for (position, item) in self.overdue_of(store, token)?.into_iter().enumerate() {
                    items.push(item);
                    if items.len() >= limit {
                        return Ok((
                            items,
                            Some(RetentionCursor {
                                subject: *token,
                                skip: position + 1,
                            }),
                        ));
                    }
                }
            }
            if tokens.len() < SUBJECT_BATCH {
                return Ok((items, None));
            }
            from = tokens.last().copied();
        }
    }

    /// How many items are overdue, one subject at a time. `None` when `stop` was set before the
    /// count finished.
    pub fn count(
        &self,
        store: &LedgerStore,
        stop: &std::sync::atomic::AtomicBool,
    ) -> Result<Option<u64>, ReportError> {
        let mut count = 0u64;
        let mut from = None;
        loop {
            let tokens = store.subject_tokens_after(from.as_ref(), SUBJECT_BATCH)?;
            for token in &tokens {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    return Ok(None);
                }
                count += self.overdue_of(store, token)?.len() as u64;
            }
            if tokens.len() < SUBJECT_BATCH {
                return Ok(Some(count));
            }
            from = tokens.last().copied();
        }
    }
}

/// An overdue item as the API shows it.
fn to_proto(subject: &str, item: RetentionItem) -> pb::RetentionOverdueItem {
    let time = |seconds: i64| Some(Timestamp { seconds, nanos: 0 });
    pb::RetentionOverdueItem {
        subject: subject.to_owned(),
        holder: item.holder,
        data_category: item.data_category,
        purpose: item.purpose,
        deadline: item.deadline.map(|day| day.to_string()).unwrap_or_default(),
        last_arrival_index: item.last_arrival.index,
        last_arrival_at: time(item.last_arrival.at),
        relationship_ended_index: item.relationship_ended.map_or(0, |end| end.index),
        relationship_ended_at: item.relationship_ended.and_then(|end| time(end.at)),
        rule: item
            .rule
            .and_then(|rule| u32::try_from(rule).ok())
            .unwrap_or_default(),
        exemption_ended_index: item
            .answer
            .exempted
            .as_ref()
            .map_or(0, |exemption| exemption.stamp.index),
    }
}
