//! Retention schedules (issue 18 item 3): how long a holder may keep a subject's data of a data
//! category for a purpose, derived from the subject's entries and the declared policies alone,
//! for any time `as_of`.
//!
//! The caller hands over the subject's entries the log held at `as_of` (collections, shares,
//! `deletion_done`, `erasure_exempted`, `relationship_ended`) with the corrections that target
//! any of them, in log order, and the `retention_policy_declared` declarations of the log (after
//! their own corrections). Nothing is kept between calls.
//!
//! - An item is a (holder, data category, purpose) the subject's data reached: a collection puts
//!   each of its categories for each of its purposes in its `system`; a share puts them at its
//!   recipient (by `recipient.name`). An event without categories or purposes gives the empty
//!   category or purpose, which only a wildcard rule matches.
//! - A RETRACT correction removes its target; an AMEND replaces the target's descriptive fields
//!   (`core::correction`), in log order.
//! - The policy is the declaration in force at `as_of`: of those whose `effective_at` is not after
//!   `as_of`, the latest `effective_at` (the later entry on a tie), as for the request policy. Its
//!   rules decide every item, however old the data: an auditor asking about 1 March gets the rules
//!   that were in force on 1 March. Without a policy, no item has a deadline.
//! - A rule names a system, a data category and a purpose, each exact or `*` (any). Of the rules
//!   that match an item, the most specific decides: an exact system outranks an exact category,
//!   which outranks an exact purpose; among equally specific rules, the one giving the earliest
//!   deadline. So `billing / * / *: 10 years` keeps invoices beside a `* / * / *: 2 years`
//!   default.
//! - The period runs from its trigger: the item's last arrival (`occurred_at` of the latest
//!   collection or share that put it there), or the latest `relationship_ended` in the holder's
//!   system at or after that arrival (none: the relationship goes on, and there is no deadline).
//! - Periods are counted in days or calendar months, on UTC days: the trigger's UTC day plus the
//!   period, a month later being the same day-number or the month's last day when it has none
//!   (`core::deadline`'s month arithmetic). No move to a working day: a retention period is a
//!   longest time to keep.
//! - An item is overdue at `as_of` when its deadline day has ended (`as_of` at or after the next
//!   UTC midnight) and its holder still owes a deletion (`core::holding`, applied to the item: no
//!   `deletion_done` from the holder after the item's last arrival, and no exemption in force at
//!   `as_of`).
//! - A `retention_expired` entry (a system reporting that its own period expired) neither
//!   confirms a deletion nor changes a deadline: only `deletion_done` clears an item.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use prost_types::Timestamp;

use super::correction::apply_amendment;
use super::deadline::{DeadlineError, DeadlinePolicy, add_months};
use super::declarations::in_force;
use super::holding::{HolderAnswer, HolderConfirmation, HolderExemption};
use crate::proto::v1::{
    CorrectionAction, Event, EventKind, RetentionPolicy, RetentionRule as RuleMessage,
    RetentionTrigger,
};

/// A rule's field matching any value.
pub const WILDCARD: &str = "*";

/// The most rules a retention policy may have.
pub const MAX_RULES: usize = 256;

/// The longest period in days (about a hundred years).
pub const MAX_DAYS: u32 = 36_600;

/// The longest period in months (a hundred years).
pub const MAX_MONTHS: u32 = 1_200;

/// A retention period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// So many days.
    Days(u32),
    /// So many calendar months (a year is 12).
    Months(u32),
}

/// What a period runs from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The item's last arrival (collection or share).
    LastCollection,
    /// The latest `relationship_ended` in the holder's system at or after the last arrival.
    RelationshipEnded,
}

/// One rule of a retention policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionRule {
    /// The holder (system or recipient name), or `*`.
    pub system: String,
    /// The data category, or `*`.
    pub data_category: String,
    /// The purpose, or `*`.
    pub purpose: String,
    /// How long.
    pub period: Period,
    /// From when.
    pub trigger: Trigger,
}

impl RetentionRule {
    /// The rule a declaration's message states; `None` for one validation refuses (no period,
    /// both periods, no trigger), which no declaration in the log holds.
    pub fn of_message(rule: &RuleMessage) -> Option<Self> {
        let period = match (rule.days, rule.months) {
            (0, 0) => return None,
            (days, 0) => Period::Days(days),
            (0, months) => Period::Months(months),
            _ => return None,
        };
        let trigger = match RetentionTrigger::try_from(rule.trigger).ok()? {
            RetentionTrigger::LastCollection => Trigger::LastCollection,
            RetentionTrigger::RelationshipEnded => Trigger::RelationshipEnded,
            RetentionTrigger::Unspecified => return None,
        };
        Some(Self {
            system: rule.system.clone(),
            data_category: rule.data_category.clone(),
            purpose: rule.purpose.clone(),
            period,
            trigger,
        })
    }

    /// Whether the rule covers the item, and how specifically (higher: more specific).
    fn specificity(&self, holder: &str, category: &str, purpose: &str) -> Option<u8> {
        let field = |rule: &str, value: &str, weight: u8| match rule {
            WILDCARD => Some(0),
            _ if rule == value => Some(weight),
            _ => None,
        };
        Some(
            field(&self.system, holder, 4)?
                + field(&self.data_category, category, 2)?
                + field(&self.purpose, purpose, 1)?,
        )
    }
}

/// One (holder, category, purpose) of a subject at `as_of`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionItem {
    /// The system or recipient holding the data.
    pub holder: String,
    /// The data category.
    pub data_category: String,
    /// The purpose.
    pub purpose: String,
    /// The latest collection or share that put it there.
    pub last_arrival: HolderConfirmation,
    /// The `relationship_ended` the period runs from, under a rule with that trigger.
    pub relationship_ended: Option<HolderConfirmation>,
    /// The rule that decides (an index into the rules of the policy in force).
    pub rule: Option<usize>,
    /// The last day the data may be kept (UTC); `None` without a rule, or before the trigger.
    pub deadline: Option<Date>,
    /// The deletion confirmed and the exemption answered since the last arrival.
    pub answer: HolderAnswer,
    /// Past the deadline with a deletion still owed at `as_of`.
    pub overdue: bool,
}

/// A subject's items at `as_of` under the policy in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionStatus {
    /// The declaration in force (its index among the given declarations' indexes).
    pub policy: Option<u64>,
    /// Every item, by (holder, category, purpose).
    pub items: Vec<RetentionItem>,
}

/// The policy in force at `as_of` among `declarations` (index and policy, in log order).
pub fn retention_policy_in_force<'a>(
    declarations: impl IntoIterator<Item = (u64, &'a RetentionPolicy)>,
    as_of: &Timestamp,
) -> Option<(u64, &'a RetentionPolicy)> {
    in_force(declarations, |policy| policy.effective_at.as_ref(), as_of)
}

/// The entries after the corrections among `entries`: retracted ones removed, amended ones
/// amended, the corrections themselves left out.
fn effective(entries: &[(u64, Event)]) -> Vec<(u64, Event)> {
    let mut retracted = BTreeSet::new();
    let mut amendments: BTreeMap<u64, Vec<&Event>> = BTreeMap::new();
    for (_, event) in entries {
        if event.kind() != EventKind::Correction {
            continue;
        }
        if let Some(correction) = &event.correction {
            if correction.action == CorrectionAction::Retract as i32 {
                retracted.insert(correction.target_index);
            } else if correction.action == CorrectionAction::Amend as i32 {
                amendments
                    .entry(correction.target_index)
                    .or_default()
                    .push(event);
            }
        }
    }
    entries
        .iter()
        .filter(|(index, event)| {
            !retracted.contains(index) && event.kind() != EventKind::Correction
        })
        .map(|(index, event)| {
            let mut event = event.clone();
            for amendment in amendments.get(index).into_iter().flatten() {
                apply_amendment(&mut event, amendment);
            }
            (*index, event)
        })
        .collect()
}

fn names(values: &[String]) -> Vec<&str> {
    if values.is_empty() {
        vec![""]
    } else {
        values.iter().map(String::as_str).collect()
    }
}

/// The last day of a period running from `from` (Unix seconds).
pub fn deadline_day(from: i64, period: Period) -> Result<Date, DeadlineError> {
    let utc = DeadlinePolicy::utc();
    let day = utc.day_of(&Timestamp {
        seconds: from,
        nanos: 0,
    })?;
    match period {
        Period::Months(months) => add_months(day, months),
        Period::Days(days) => day
            .checked_add(jiff::Span::new().days(i64::from(days)))
            .map_err(|_| DeadlineError::OutOfRange { seconds: from }),
    }
}

/// A subject's retention status at `as_of`, from its entries (with the corrections that target
/// them, in log order) and the retention policy declarations (index and policy, as corrected).
pub fn retention_status(
    entries: &[(u64, Event)],
    declarations: &[(u64, RetentionPolicy)],
    as_of: &Timestamp,
) -> Result<RetentionStatus, DeadlineError> {
    let in_force = retention_policy_in_force(declarations.iter().map(|(i, p)| (*i, p)), as_of);
    let rules: Vec<Option<RetentionRule>> = in_force
        .map(|(_, policy)| policy.rules.iter().map(RetentionRule::of_message).collect())
        .unwrap_or_default();
    let mut items: BTreeMap<(String, String, String), (HolderConfirmation, HolderAnswer)> =
        BTreeMap::new();
    let mut ended: BTreeMap<String, Vec<HolderConfirmation>> = BTreeMap::new();
    for (index, event) in effective(entries) {
        let stamp = HolderConfirmation {
            index,
            at: event.occurred_at.map_or(0, |t| t.seconds),
        };
        let holder = match event.kind() {
            EventKind::Collection => Some(event.system.as_str()),
            EventKind::Share => event.recipient.as_ref().map(|r| r.name.as_str()),
            _ => None,
        };
        if let Some(holder) = holder {
            for category in names(&event.data_categories) {
                for purpose in names(&event.purposes) {
                    let key = (holder.to_owned(), category.to_owned(), purpose.to_owned());
                    let item = items
                        .entry(key)
                        .or_insert_with(|| (stamp, HolderAnswer::default()));
                    item.0 = stamp;
                    item.1.arrived();
                }
            }
            continue;
        }
        let of_holder = |items: &mut BTreeMap<_, (HolderConfirmation, HolderAnswer)>,
                         f: &dyn Fn(&mut HolderAnswer)| {
            for ((holder, _, _), (_, answer)) in items.iter_mut() {
                if *holder == event.system {
                    f(answer);
                }
            }
        };
        match event.kind() {
            EventKind::RelationshipEnded => {
                ended.entry(event.system.clone()).or_default().push(stamp)
            }
            EventKind::DeletionDone => of_holder(&mut items, &|answer| answer.deleted(stamp)),
            EventKind::ErasureExempted => {
                if let Some(exemption) = &event.exemption {
                    let exemption = HolderExemption::of(stamp, exemption);
                    of_holder(&mut items, &|answer| answer.exempted(exemption.clone()));
                }
            }
            _ => {}
        }
    }
    let utc = DeadlinePolicy::utc();
    let mut out = Vec::with_capacity(items.len());
    for ((holder, data_category, purpose), (last_arrival, answer)) in items {
        let relationship_ended = ended
            .get(holder.as_str())
            .and_then(|stamps| stamps.iter().rfind(|s| s.index > last_arrival.index))
            .copied();
        let mut candidates = Vec::new();
        for (rule_index, rule) in rules.iter().enumerate() {
            let Some(rule) = rule else { continue };
            let Some(specificity) = rule.specificity(&holder, &data_category, &purpose) else {
                continue;
            };
            // A rule whose trigger has not happened gives no deadline yet.
            let deadline = match rule.trigger {
                Trigger::LastCollection => Some(deadline_day(last_arrival.at, rule.period)?),
                Trigger::RelationshipEnded => relationship_ended
                    .map(|end| deadline_day(end.at, rule.period))
                    .transpose()?,
            };
            candidates.push((specificity, rule_index, deadline, rule.trigger));
        }
        let top = candidates.iter().map(|(s, ..)| *s).max();
        let decided = candidates
            .into_iter()
            .filter(|(s, ..)| Some(*s) == top)
            .min_by_key(|(_, rule, deadline, _)| (deadline.is_none(), *deadline, *rule));
        let rule = decided.map(|(_, rule, _, _)| rule);
        let deadline = decided.and_then(|(_, _, deadline, _)| deadline);
        let relationship_ended = decided
            .filter(|(.., trigger)| *trigger == Trigger::RelationshipEnded)
            .and(relationship_ended);
        let overdue = match deadline {
            Some(day) => utc.is_after_day(as_of, day)? && answer.pending(as_of.seconds),
            None => false,
        };
        out.push(RetentionItem {
            holder,
            data_category,
            purpose,
            last_arrival,
            relationship_ended,
            rule,
            deadline,
            answer,
            overdue,
        });
    }
    Ok(RetentionStatus {
        policy: in_force.map(|(index, _)| index),
        items: out,
    })
}

#[cfg(test)]
mod tests;
