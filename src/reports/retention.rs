//! Retention schedules read from the store (`docs/retention.md`): the `retention_policy_declared`
//! declarations (their rows, `storage::report_index::cases`) as the log held them, after their
//! own corrections, handed to the pure rule (`core::retention`). Nothing is kept between calls.

use super::{Corrections, Effective};
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
    let indexes: Vec<u64> = store
        .retention_policy_declarations()?
        .into_iter()
        .filter(|index| *index < size)
        .collect();
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    let corrections = Corrections::load_of(store, size, &indexes)?;
    let mut policies = Vec::with_capacity(indexes.len());
    for mut entry in store.decoded_entries(&indexes)? {
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
