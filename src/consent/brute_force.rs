//! The report's rule ([`ConsentLog`], with the opt-in rule of `core::opt_in`) against a
//! brute-force pass written separately, over a seeded population: consents and withdrawals,
//! collections, shares and accesses through various channels with bases that are and are not
//! consent, opt-in policies that change over time (some in force only after every processing,
//! some without rules), retractions (of processing, consents and policies) and amendments (of a
//! collection's channel, purposes or bases). For many log prefixes (the log as received by an
//! `as_of`), both must list the same processing, for the same reason.

use std::collections::BTreeSet;

use super::*;
use crate::core::correction::apply_amendment;
use crate::proto::v1::{Correction, CorrectionAction, OptInRule};

/// The seed of the population.
const SEED: u64 = 0x18_0005_0b71;

use crate::core::test_rng::Rng;

const CHANNELS: [&str; 5] = [
    "event-badge-scan",
    "partner:acme",
    "purchased-leads",
    "web-form",
    "",
];
const PURPOSES: [&str; 3] = ["dpv:Marketing", "dpv:ServiceProvision", "dpv:Profiling"];
const BASES: [&str; 4] = [
    "eu-gdpr:A6-1-a",
    "eu-gdpr:A6-1-b",
    "eu-gdpr:A6-1-f",
    "eu-gdpr:A9-2-a",
];
const SUBJECTS: u8 = 6;
/// Processing and consents happen in [0, HORIZON); some policies take effect later still.
const HORIZON: i64 = 1000;

fn ts(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

/// One entry of the population: index, subject, event.
type Logged = (u64, Option<[u8; 32]>, Event);

fn population(rng: &mut Rng, size: u64) -> Vec<Logged> {
    let mut log: Vec<Logged> = Vec::new();
    for index in 0..size {
        let subject = [rng.below(u64::from(SUBJECTS)) as u8; 32];
        let reference = |rng: &mut Rng| match rng.below(4) {
            0 => String::new(),
            1 => format!("g-{}", rng.below(size)),
            _ => format!("cmp:{}-{}", subject[0], rng.below(3)),
        };
        let roll = rng.below(100);
        let (token, event) = if roll < 8 {
            let rules = (0..rng.below(3))
                .map(|_| OptInRule {
                    channels: {
                        let mut channels = rng.subset(&CHANNELS[..4], 40);
                        if channels.is_empty() {
                            channels.push(rng.pick(&CHANNELS[..4]).to_owned());
                        }
                        channels
                    },
                    purposes: rng.subset(&PURPOSES, 40),
                })
                .collect();
            let event = Event {
                kind: EventKind::ConsentPolicyDeclared as i32,
                occurred_at: ts(rng.below(HORIZON as u64) as i64),
                consent_policy: Some(OptInPolicy {
                    rules,
                    // Up to half the horizon beyond it: some policies are never in force for
                    // any processing of the population.
                    effective_at: ts(rng.below((HORIZON * 3 / 2) as u64) as i64),
                }),
                ..Event::default()
            };
            (None, event)
        } else if roll < 28 {
            let event = Event {
                event_id: format!("g-{index}"),
                kind: EventKind::ConsentGiven as i32,
                occurred_at: ts(rng.below(HORIZON as u64) as i64),
                consent_ref: format!("cmp:{}-{}", subject[0], rng.below(3)),
                purposes: rng.subset(&PURPOSES, 60),
                legal_bases: vec!["eu-gdpr:A6-1-a".into()],
                ..Event::default()
            };
            (Some(subject), event)
        } else if roll < 36 {
            let event = Event {
                event_id: format!("w-{index}"),
                kind: EventKind::ConsentWithdrawn as i32,
                occurred_at: ts(rng.below(HORIZON as u64) as i64),
                consent_ref: if rng.chance(50) {
                    String::new()
                } else {
                    format!("cmp:{}-{}", subject[0], rng.below(3))
                },
                purposes: rng.subset(&PURPOSES, 40),
                legal_bases: vec!["eu-gdpr:A6-1-a".into()],
                ..Event::default()
            };
            (Some(subject), event)
        } else if roll < 88 || log.is_empty() {
            let kind = match rng.below(10) {
                0 => EventKind::Share,
                1 => EventKind::Access,
                _ => EventKind::Collection,
            };
            let mut purposes = rng.subset(&PURPOSES, 40);
            if purposes.is_empty() && rng.chance(70) {
                purposes.push(rng.pick(&PURPOSES).to_owned());
            }
            let event = Event {
                event_id: format!("p-{index}"),
                kind: kind as i32,
                occurred_at: ts(rng.below(HORIZON as u64) as i64),
                collection_channel: if kind == EventKind::Collection {
                    rng.pick(&CHANNELS).to_owned()
                } else {
                    String::new()
                },
                purposes,
                legal_bases: vec![rng.pick(&BASES).to_owned()],
                consent_ref: reference(rng),
                ..Event::default()
            };
            (Some(subject), event)
        } else {
            // A correction of an earlier entry that is not a correction.
            let targets: Vec<&Logged> = log
                .iter()
                .filter(|(_, _, e)| e.kind() != EventKind::Correction)
                .collect();
            let (target, _, target_event) = targets[rng.below(targets.len() as u64) as usize];
            let amendable = matches!(
                target_event.kind(),
                EventKind::Collection | EventKind::Share | EventKind::Access
            );
            let mut event = Event {
                kind: EventKind::Correction as i32,
                occurred_at: ts(rng.below(HORIZON as u64) as i64),
                ..Event::default()
            };
            let action = if amendable && rng.chance(60) {
                match rng.below(3) {
                    0 if target_event.kind() == EventKind::Collection => {
                        event.collection_channel = rng.pick(&CHANNELS[..4]).to_owned();
                    }
                    1 => event.legal_bases = vec![rng.pick(&BASES).to_owned()],
                    _ => event.purposes = vec![rng.pick(&PURPOSES).to_owned()],
                }
                CorrectionAction::Amend
            } else {
                CorrectionAction::Retract
            };
            event.correction = Some(Correction {
                target_index: *target,
                action: action as i32,
                reason: String::new(),
            });
            (None, event)
        };
        log.push((index, token, event));
    }
    log
}

/// The entries of the first `size` of `log` as reports see them: corrections applied in log
/// order (a retraction is final), corrections themselves left out.
fn corrected(log: &[Logged], size: u64) -> Vec<Logged> {
    let prefix = &log[..size as usize];
    let mut out: Vec<Option<Logged>> = prefix
        .iter()
        .map(|entry| (entry.2.kind() != EventKind::Correction).then(|| entry.clone()))
        .collect();
    let mut retracted = BTreeSet::new();
    for (_, _, event) in prefix {
        let Some(correction) = event.correction.as_ref() else {
            continue;
        };
        let target = correction.target_index as usize;
        if correction.action == CorrectionAction::Retract as i32 {
            retracted.insert(target);
        } else if let Some(Some((_, _, amended))) = out.get_mut(target) {
            apply_amendment(amended, event);
        }
    }
    out.into_iter()
        .enumerate()
        .filter(|(index, _)| !retracted.contains(index))
        .filter_map(|(_, entry)| entry)
        .collect()
}

/// The report's rule: [`ConsentLog`]'s two passes. (index, opt-in policy entry when that is why).
fn by_the_report(entries: &[Logged]) -> Vec<(u64, Option<u64>)> {
    let mut log = ConsentLog::default();
    for (index, token, event) in entries {
        log.record(*index, token.as_ref(), event);
    }
    entries
        .iter()
        .filter_map(|(index, token, event)| {
            let token = token.as_ref()?;
            let (reliance, _) = log.check(token, event)?;
            Some((*index, reliance.policy_index()))
        })
        .collect()
}

fn at(event: &Event) -> i64 {
    event.occurred_at.map_or(0, |t| t.seconds)
}

/// The same, by brute force: every processing against every declaration and every consent.
fn by_brute_force(entries: &[Logged]) -> Vec<(u64, Option<u64>)> {
    let mut found = Vec::new();
    for (index, token, event) in entries {
        let kind = event.kind();
        if !matches!(
            kind,
            EventKind::Collection | EventKind::Share | EventKind::Access
        ) {
            continue;
        }
        let states = event
            .legal_bases
            .iter()
            .any(|b| b == "eu-gdpr:A6-1-a" || b == "eu-gdpr:A9-2-a");
        // The policy in force at the processing's time: the latest effective_at not after it,
        // the later entry on a tie.
        let mut policy: Option<(i64, u64, &OptInPolicy)> = None;
        for (declared, _, declaration) in entries {
            let Some(p) = declaration.consent_policy.as_ref() else {
                continue;
            };
            let effective = p.effective_at.map_or(i64::MAX, |t| t.seconds);
            if effective > at(event) {
                continue;
            }
            let better = match policy {
                None => true,
                Some((e, i, _)) => effective > e || (effective == e && *declared > i),
            };
            if better {
                policy = Some((effective, *declared, p));
            }
        }
        let mut by_policy = None;
        if !states
            && kind == EventKind::Collection
            && let Some((_, declared, p)) = policy
        {
            for rule in &p.rules {
                let channel = rule.channels.contains(&event.collection_channel);
                let purpose = rule.purposes.is_empty()
                    || event.purposes.iter().any(|x| rule.purposes.contains(x));
                if channel && purpose {
                    by_policy = Some(declared);
                }
            }
        }
        if !states && by_policy.is_none() {
            continue;
        }
        // A valid consent: named, of the subject, given by then, covering every purpose, not
        // withdrawn in between.
        let reference = &event.consent_ref;
        let mut valid = false;
        for (_, grant_token, grant) in entries {
            if reference.is_empty()
                || grant.kind() != EventKind::ConsentGiven
                || grant_token != token
                || !(grant.event_id == *reference
                    || (!grant.consent_ref.is_empty() && grant.consent_ref == *reference))
                || at(grant) > at(event)
                || event.purposes.iter().any(|p| !grant.purposes.contains(p))
            {
                continue;
            }
            let withdrawn = entries.iter().any(|(_, w_token, w)| {
                w.kind() == EventKind::ConsentWithdrawn
                    && w_token == token
                    && at(w) >= at(grant)
                    && at(w) <= at(event)
                    && if w.consent_ref.is_empty() {
                        w.purposes.is_empty()
                            || w.purposes.iter().any(|p| grant.purposes.contains(p))
                    } else {
                        w.consent_ref == grant.event_id
                            || (!grant.consent_ref.is_empty() && w.consent_ref == grant.consent_ref)
                    }
            });
            if !withdrawn {
                valid = true;
            }
        }
        if !valid {
            found.push((*index, by_policy));
        }
    }
    found
}

#[test]
fn the_report_agrees_with_a_brute_force_pass_for_every_prefix() {
    let mut rng = Rng(SEED);
    let log = population(&mut rng, 600);
    let mut by_policy = 0;
    let mut changed_by_later_entries = false;
    let mut previous: Option<Vec<(u64, Option<u64>)>> = None;
    for size in (0..=log.len() as u64).step_by(7).chain([log.len() as u64]) {
        let entries = corrected(&log, size);
        let report = by_the_report(&entries);
        assert_eq!(
            report,
            by_brute_force(&entries),
            "seed {SEED:#x}, the log's first {size} entries"
        );
        by_policy += report.iter().filter(|(_, p)| p.is_some()).count();
        // A later declaration or correction changes the answer about earlier entries.
        if let Some(previous) = &previous {
            let earlier: Vec<_> = report
                .iter()
                .filter(|(index, _)| *index < size.saturating_sub(7))
                .collect();
            let before: Vec<_> = previous.iter().collect();
            if earlier != before {
                changed_by_later_entries = true;
            }
        }
        previous = Some(report);
    }
    assert!(
        by_policy > 50,
        "the population exercises the policy ({by_policy})"
    );
    assert!(changed_by_later_entries);
}

#[test]
fn a_collection_whose_basis_is_not_consent_is_listed_under_the_channels_policy() {
    let token = [1; 32];
    let policy = Event {
        kind: EventKind::ConsentPolicyDeclared as i32,
        consent_policy: Some(OptInPolicy {
            rules: vec![OptInRule {
                channels: vec!["event-badge-scan".into()],
                purposes: vec!["dpv:Marketing".into()],
            }],
            effective_at: ts(100),
        }),
        ..Event::default()
    };
    let scan = |at: i64| Event {
        kind: EventKind::Collection as i32,
        occurred_at: ts(at),
        collection_channel: "event-badge-scan".into(),
        purposes: vec!["dpv:Marketing".into()],
        legal_bases: vec!["eu-gdpr:A6-1-f".into()],
        ..Event::default()
    };
    let mut log = ConsentLog::default();
    log.record(0, None, &policy);
    assert_eq!(log.check(&token, &scan(50)), None, "before the policy");
    let (reliance, problem) = log.check(&token, &scan(150)).expect("needs consent");
    assert_eq!(reliance.policy_index(), Some(0));
    assert_eq!(problem, ConsentProblem::NoReference);
    let words = describe(&reliance, &problem);
    assert!(
        words.contains("opt-in policy (entry 0)")
            && words.contains("eu-gdpr:A6-1-f")
            && words.ends_with("names none (consent_ref)"),
        "{words}"
    );
    // A consent of the subject covering the purpose satisfies the policy.
    let given = Event {
        event_id: "g-1".into(),
        kind: EventKind::ConsentGiven as i32,
        occurred_at: ts(120),
        purposes: vec!["dpv:Marketing".into()],
        ..Event::default()
    };
    log.record(1, Some(&token), &given);
    let mut named = scan(150);
    named.consent_ref = "g-1".into();
    assert_eq!(log.check(&token, &named), None);
}
