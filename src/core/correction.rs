//! What a correction entry's AMEND does to its target, for every report derived from the log: the
//! descriptive fields the correction carries (data categories, purposes, legal bases, recipient,
//! consent reference, deletion method, collection channel, breach reference) replace the
//! target's; fields it leaves out stay, and `system` and `occurred_at` never change. (A RETRACT
//! removes the target from reports for good; `reports::Corrections` applies both, in log order.)

use crate::proto::v1::Event;

/// Applies an amendment's replacement fields to a target event.
pub fn apply_amendment(target: &mut Event, amendment: &Event) {
    if !amendment.data_categories.is_empty() {
        target
            .data_categories
            .clone_from(&amendment.data_categories);
    }
    if !amendment.purposes.is_empty() {
        target.purposes.clone_from(&amendment.purposes);
    }
    if !amendment.legal_bases.is_empty() {
        target.legal_bases.clone_from(&amendment.legal_bases);
    }
    if amendment.recipient.is_some() {
        target.recipient.clone_from(&amendment.recipient);
    }
    if !amendment.consent_ref.is_empty() {
        target.consent_ref.clone_from(&amendment.consent_ref);
    }
    if amendment.deletion_method != 0 {
        target.deletion_method = amendment.deletion_method;
    }
    if !amendment.collection_channel.is_empty() {
        target
            .collection_channel
            .clone_from(&amendment.collection_channel);
    }
    if !amendment.breach_ref.is_empty() {
        target.breach_ref.clone_from(&amendment.breach_ref);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_amendment_replaces_only_what_it_carries() {
        let original = Event {
            system: "crm".into(),
            purposes: vec!["dpv:ServiceProvision".into()],
            legal_bases: vec!["eu-gdpr:A6-1-b".into()],
            ..Event::default()
        };
        let amendment = Event {
            system: "other".into(),
            purposes: vec!["dpv:Marketing".into()],
            ..Event::default()
        };
        let mut amended = original.clone();
        apply_amendment(&mut amended, &amendment);
        assert_eq!(amended.purposes, ["dpv:Marketing"]);
        assert_eq!(amended.legal_bases, original.legal_bases);
        assert_eq!(amended.system, "crm");
    }
}
