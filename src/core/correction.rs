//! What correction entries do to the entries they target, for every report derived from the log:
//! a RETRACT removes the target; an AMEND replaces the target's descriptive fields that the
//! correction carries (data categories, purposes, legal bases, recipient, consent reference,
//! deletion method, collection channel, breach reference). The log itself never changes.

use std::collections::{HashMap, HashSet};

use crate::proto::v1::{CorrectionAction, Event, EventKind};

/// The corrections seen so far, by target index.
#[derive(Debug, Default, Clone)]
pub struct Corrections {
    retracted: HashSet<u64>,
    amended: HashMap<u64, Event>,
}

impl Corrections {
    /// Records a correction event (events of other kinds are ignored).
    pub fn record(&mut self, event: &Event) {
        if event.kind() != EventKind::Correction {
            return;
        }
        let Some(correction) = &event.correction else {
            return;
        };
        let target = correction.target_index;
        match correction.action() {
            CorrectionAction::Retract => {
                self.retracted.insert(target);
            }
            CorrectionAction::Amend => {
                let amendment = self.amended.entry(target).or_default();
                overlay(amendment, event);
            }
            CorrectionAction::Unspecified => {}
        }
    }

    /// Whether the entry at `index` was retracted.
    pub fn is_retracted(&self, index: u64) -> bool {
        self.retracted.contains(&index)
    }

    /// The event of the entry at `index` as corrected: `None` when retracted, else with every
    /// amendment's fields in place.
    pub fn apply(&self, index: u64, mut event: Event) -> Option<Event> {
        if self.is_retracted(index) {
            return None;
        }
        if let Some(amendment) = self.amended.get(&index) {
            overlay(&mut event, amendment);
        }
        Some(event)
    }
}

/// Copies the descriptive fields `from` carries onto `onto`.
fn overlay(onto: &mut Event, from: &Event) {
    if !from.data_categories.is_empty() {
        onto.data_categories.clone_from(&from.data_categories);
    }
    if !from.purposes.is_empty() {
        onto.purposes.clone_from(&from.purposes);
    }
    if !from.legal_bases.is_empty() {
        onto.legal_bases.clone_from(&from.legal_bases);
    }
    if from.recipient.is_some() {
        onto.recipient.clone_from(&from.recipient);
    }
    if !from.consent_ref.is_empty() {
        onto.consent_ref.clone_from(&from.consent_ref);
    }
    if from.deletion_method != 0 {
        onto.deletion_method = from.deletion_method;
    }
    if !from.collection_channel.is_empty() {
        onto.collection_channel.clone_from(&from.collection_channel);
    }
    if !from.breach_ref.is_empty() {
        onto.breach_ref.clone_from(&from.breach_ref);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::v1::Correction;

    fn correction(target: u64, action: CorrectionAction, purposes: &[&str]) -> Event {
        Event {
            kind: EventKind::Correction as i32,
            correction: Some(Correction {
                target_index: target,
                action: action as i32,
                reason: String::new(),
            }),
            purposes: purposes.iter().map(|p| (*p).to_owned()).collect(),
            ..Event::default()
        }
    }

    #[test]
    fn retractions_remove_and_amendments_replace_only_what_they_carry() {
        let mut corrections = Corrections::default();
        corrections.record(&correction(3, CorrectionAction::Retract, &[]));
        corrections.record(&correction(5, CorrectionAction::Amend, &["dpv:Marketing"]));
        let original = Event {
            system: "crm".into(),
            purposes: vec!["dpv:ServiceProvision".into()],
            legal_bases: vec!["eu-gdpr:A6-1-b".into()],
            ..Event::default()
        };
        assert!(corrections.apply(3, original.clone()).is_none());
        let amended = corrections.apply(5, original.clone()).expect("kept");
        assert_eq!(amended.purposes, ["dpv:Marketing"]);
        assert_eq!(amended.legal_bases, original.legal_bases);
        assert_eq!(amended.system, "crm");
        assert_eq!(corrections.apply(4, original.clone()), Some(original));
    }
}
