//! The opt-in rule: which processing relies on consent, by stated basis or by channel and
//! purpose under the policy in force at its `occurred_at`.

use super::*;

fn ts(seconds: i64) -> Timestamp {
    Timestamp { seconds, nanos: 0 }
}

fn collection(channel: &str, purposes: &[&str], bases: &[&str], at: i64) -> Event {
    Event {
        kind: EventKind::Collection as i32,
        occurred_at: Some(ts(at)),
        collection_channel: channel.into(),
        purposes: purposes.iter().map(|p| (*p).to_owned()).collect(),
        legal_bases: bases.iter().map(|b| (*b).to_owned()).collect(),
        ..Event::default()
    }
}

fn rule(channels: &[&str], purposes: &[&str]) -> OptInRule {
    OptInRule {
        channels: channels.iter().map(|c| (*c).to_owned()).collect(),
        purposes: purposes.iter().map(|p| (*p).to_owned()).collect(),
    }
}

fn policy(rules: Vec<OptInRule>, effective: i64) -> OptInPolicy {
    OptInPolicy {
        rules,
        effective_at: Some(ts(effective)),
    }
}

const INTEREST: &str = "eu-gdpr:A6-1-f";
const MARKETING: &str = "dpv:Marketing";

#[test]
fn a_listed_channel_for_a_listed_purpose_needs_consent_whatever_the_stated_basis() {
    let badge = policy(vec![rule(&["event-badge-scan"], &[MARKETING])], 0);
    let scan = collection("event-badge-scan", &[MARKETING], &[INTEREST], 10);
    assert_eq!(
        relies_on_consent(&scan, Some((7, &badge))),
        Some(Reliance::Policy(PolicyRequirement {
            policy_index: 7,
            channel: "event-badge-scan".into(),
            purpose: Some(MARKETING.into()),
            stated_bases: vec![INTEREST.into()],
        }))
    );
    // The words show the policy and the stated basis.
    let words = relies_on_consent(&scan, Some((7, &badge)))
        .expect("relies")
        .to_string();
    assert!(
        words.contains("entry 7") && words.contains(INTEREST),
        "{words}"
    );
    // Another channel, another purpose, or no policy: the stated basis decides.
    let web = collection("web-form", &[MARKETING], &[INTEREST], 10);
    assert_eq!(relies_on_consent(&web, Some((7, &badge))), None);
    let service = collection(
        "event-badge-scan",
        &["dpv:ServiceProvision"],
        &[INTEREST],
        10,
    );
    assert_eq!(relies_on_consent(&service, Some((7, &badge))), None);
    assert_eq!(relies_on_consent(&scan, None), None);
    // A stated consent basis relies on consent anyway.
    let consented = collection("event-badge-scan", &[MARKETING], &["eu-gdpr:A6-1-a"], 10);
    assert_eq!(
        relies_on_consent(&consented, Some((7, &badge))),
        Some(Reliance::Stated)
    );
}

#[test]
fn a_rule_without_purposes_covers_every_purpose_and_none() {
    let partners = policy(vec![rule(&["partner:acme"], &[])], 0);
    for purposes in [&[MARKETING][..], &["dpv:ServiceProvision"], &[]] {
        let event = collection("partner:acme", purposes, &[INTEREST], 10);
        assert!(
            matches!(
                relies_on_consent(&event, Some((1, &partners))),
                Some(Reliance::Policy(PolicyRequirement { purpose: None, .. }))
            ),
            "{purposes:?}"
        );
    }
    // A rule with purposes does not match a collection that states none.
    let marketing = policy(vec![rule(&["partner:acme"], &[MARKETING])], 0);
    let none = collection("partner:acme", &[], &[INTEREST], 10);
    assert_eq!(relies_on_consent(&none, Some((1, &marketing))), None);
    // No rules: nothing required.
    assert_eq!(
        relies_on_consent(&none, Some((1, &policy(Vec::new(), 0)))),
        None
    );
}

#[test]
fn only_collections_follow_the_channel_policy() {
    let every = policy(vec![rule(&["event-badge-scan"], &[])], 0);
    let mut share = collection("event-badge-scan", &[MARKETING], &[INTEREST], 10);
    share.kind = EventKind::Share as i32;
    assert_eq!(relies_on_consent(&share, Some((1, &every))), None);
    share.legal_bases = vec!["eu-gdpr:A6-1-a".into()];
    assert_eq!(
        relies_on_consent(&share, Some((1, &every))),
        Some(Reliance::Stated)
    );
    let mut consent = collection("event-badge-scan", &[MARKETING], &["eu-gdpr:A6-1-a"], 10);
    consent.kind = EventKind::ConsentGiven as i32;
    assert_eq!(relies_on_consent(&consent, Some((1, &every))), None);
}

#[test]
fn the_policy_in_force_at_the_collections_time_decides() {
    // Entry 2: badge scans from 100; entry 5: no rules from 200; entry 9: badge scans again from
    // 300, declared before a policy that takes effect later still (entry 11, from 1000, for
    // purchased leads only); entry 12 ties with entry 9 at 300 and wins, being later.
    let badge = policy(vec![rule(&["event-badge-scan"], &[])], 100);
    let none = policy(Vec::new(), 200);
    let again = policy(vec![rule(&["event-badge-scan"], &[])], 300);
    let future = policy(vec![rule(&["purchased-leads"], &[])], 1000);
    let tie = policy(vec![rule(&["event-badge-scan"], &[MARKETING])], 300);
    let declared = [
        (2, &badge),
        (5, &none),
        (9, &again),
        (11, &future),
        (12, &tie),
    ];
    let index_at = |at: i64| policy_at(declared, &ts(at)).map(|(index, _)| index);
    assert_eq!(index_at(99), None);
    assert_eq!(index_at(100), Some(2));
    assert_eq!(index_at(250), Some(5));
    assert_eq!(index_at(300), Some(12));
    assert_eq!(index_at(999), Some(12));
    assert_eq!(index_at(1000), Some(11));
    let scan = |at| {
        collection(
            "event-badge-scan",
            &["dpv:ServiceProvision"],
            &[INTEREST],
            at,
        )
    };
    let relies = |at| relies_on_consent_under(&scan(at), declared).and_then(|r| r.policy_index());
    assert_eq!(relies(50), None);
    assert_eq!(relies(150), Some(2));
    assert_eq!(relies(250), None);
    // At 400 the tie's rule (marketing only) is in force: a service collection is not covered.
    assert_eq!(relies(400), None);
    let mut marketing = scan(400);
    marketing.purposes = vec![MARKETING.into()];
    assert_eq!(
        relies_on_consent_under(&marketing, declared).and_then(|r| r.policy_index()),
        Some(12)
    );
    // The future policy is not in force before its time.
    let lead = |at| collection("purchased-leads", &[MARKETING], &[INTEREST], at);
    assert_eq!(relies_on_consent_under(&lead(999), declared), None);
    assert!(relies_on_consent_under(&lead(1000), declared).is_some());
}
