//! The opt-in policy (`docs/erasure.md` section 6): which processing relies on consent. The one
//! rule, pure: the consent report, the receipt's consent warning and the tests all ask
//! [`relies_on_consent`].
//!
//! - A `collection`, `share` or `access` whose legal bases include consent ([`CONSENT_BASES`])
//!   relies on consent ([`Reliance::Stated`]).
//! - A `collection` whose `collection_channel` is one of a rule's `channels` and that has one of
//!   the rule's `purposes` (any purpose, or none, when the rule lists none) relies on consent
//!   under the opt-in policy in force at its `occurred_at`, whatever legal basis it states
//!   ([`Reliance::Policy`], which keeps the stated bases to show them). Shares and accesses have
//!   no collection channel: the policy is about how data was obtained.
//! - The policy in force at a time is the `consent_policy_declared` declaration whose
//!   `effective_at` is the latest not after that time (the later entry on a tie,
//!   [`super::declarations::in_force`]); a policy without rules requires nothing. Which
//!   declarations count is the caller's: those of the log as it stood at the report's `as_of`
//!   (or when the processing was appended, for the receipt), corrections applied.

use prost_types::Timestamp;

use super::declarations::in_force;
use crate::proto::v1::{Event, EventKind, OptInPolicy, OptInRule};

/// The legal bases that are consent: article 6(1)(a) and explicit consent, article 9(2)(a).
pub const CONSENT_BASES: [&str; 2] = ["eu-gdpr:A6-1-a", "eu-gdpr:A9-2-a"];

/// Most rules an opt-in policy may have.
pub const MAX_RULES: usize = 64;

/// Most channels one rule may list.
pub const MAX_CHANNELS_PER_RULE: usize = 64;

/// Why a processing relies on consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reliance {
    /// Its own legal bases include consent.
    Stated,
    /// The opt-in policy requires consent for its channel and purpose, whatever basis it states.
    Policy(PolicyRequirement),
}

/// What in the opt-in policy makes a collection rely on consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRequirement {
    /// The index of the `consent_policy_declared` entry in force.
    pub policy_index: u64,
    /// The collection's channel, which a rule lists.
    pub channel: String,
    /// The purpose the rule lists (`None`: the rule covers every purpose).
    pub purpose: Option<String>,
    /// The legal bases the collection states (none of them consent).
    pub stated_bases: Vec<String>,
}

impl Reliance {
    /// The opt-in policy's declaration, when the policy is why.
    pub fn policy_index(&self) -> Option<u64> {
        match self {
            Self::Stated => None,
            Self::Policy(requirement) => Some(requirement.policy_index),
        }
    }
}

impl std::fmt::Display for Reliance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Stated => write!(f, "its legal basis is consent"),
            Self::Policy(requirement) => {
                write!(
                    f,
                    "the opt-in policy (entry {}) requires consent for collections through {:?}",
                    requirement.policy_index, requirement.channel
                )?;
                if let Some(purpose) = &requirement.purpose {
                    write!(f, " for {purpose}")?;
                }
                let stated = if requirement.stated_bases.is_empty() {
                    "none".to_owned()
                } else {
                    requirement.stated_bases.join(", ")
                };
                write!(f, ", whatever the stated legal basis ({stated})")
            }
        }
    }
}

/// Whether the legal bases include consent.
pub fn states_consent(event: &Event) -> bool {
    event
        .legal_bases
        .iter()
        .any(|basis| CONSENT_BASES.contains(&basis.as_str()))
}

/// The kinds that record processing of personal data.
fn is_processing(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::Collection | EventKind::Share | EventKind::Access
    )
}

/// The rule of `policy` that matches the collection, and the purpose it matched on.
fn matching_rule<'a>(
    event: &Event,
    policy: &'a OptInPolicy,
) -> Option<(&'a OptInRule, Option<String>)> {
    if event.collection_channel.is_empty() {
        return None;
    }
    policy.rules.iter().find_map(|rule| {
        if !rule.channels.contains(&event.collection_channel) {
            return None;
        }
        if rule.purposes.is_empty() {
            return Some((rule, None));
        }
        event
            .purposes
            .iter()
            .find(|purpose| rule.purposes.contains(purpose))
            .map(|purpose| (rule, Some(purpose.clone())))
    })
}

/// Whether the (corrected) event relies on consent, and why, given the opt-in policy in force at
/// its `occurred_at` (`policy`: the declaration's index and policy; `None` when none is).
pub fn relies_on_consent(event: &Event, policy: Option<(u64, &OptInPolicy)>) -> Option<Reliance> {
    if !is_processing(event.kind()) {
        return None;
    }
    if states_consent(event) {
        return Some(Reliance::Stated);
    }
    if event.kind() != EventKind::Collection {
        return None;
    }
    let (policy_index, policy) = policy?;
    let (_, purpose) = matching_rule(event, policy)?;
    Some(Reliance::Policy(PolicyRequirement {
        policy_index,
        channel: event.collection_channel.clone(),
        purpose,
        stated_bases: event.legal_bases.clone(),
    }))
}

/// The opt-in policy in force at `at` among `declarations` (index and policy, corrections
/// applied, of the log the answer is for).
pub fn policy_at<'a>(
    declarations: impl IntoIterator<Item = (u64, &'a OptInPolicy)>,
    at: &Timestamp,
) -> Option<(u64, &'a OptInPolicy)> {
    in_force(declarations, |policy| policy.effective_at.as_ref(), at)
}

/// [`relies_on_consent`] under the policy of `declarations` in force at the event's
/// `occurred_at`.
pub fn relies_on_consent_under<'a>(
    event: &Event,
    declarations: impl IntoIterator<Item = (u64, &'a OptInPolicy)>,
) -> Option<Reliance> {
    let policy = event
        .occurred_at
        .as_ref()
        .and_then(|at| policy_at(declarations, at));
    relies_on_consent(event, policy)
}

#[cfg(test)]
mod tests;
