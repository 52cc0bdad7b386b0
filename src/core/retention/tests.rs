//! The retention rule: unit tests of each of its rules, then the rule against a brute-force pass
//! written separately (plain day numbers, no jiff) over a seeded population with month-end and
//! leap-day collections, deletions confirmed late, exemptions that end, retractions and
//! amendments, relationship ends and policies that change over time.

use super::*;
use crate::core::test_calendar::{add_months as naive_add_months, days_from_civil, days_in_month};
use crate::proto::v1::{Correction, Exemption, Recipient, RetentionRule as RuleMessage};

fn ts(seconds: i64) -> Timestamp {
    Timestamp { seconds, nanos: 0 }
}

/// Unix seconds of a UTC day and second of the day.
fn at(y: i64, m: i64, d: i64, second: i64) -> i64 {
    days_from_civil(y, m, d) * 86_400 + second
}

fn event(kind: EventKind, system: &str, seconds: i64) -> Event {
    Event {
        kind: kind as i32,
        system: system.into(),
        occurred_at: Some(ts(seconds)),
        ..Event::default()
    }
}

fn collection(system: &str, category: &str, purpose: &str, seconds: i64) -> Event {
    Event {
        data_categories: vec![category.into()],
        purposes: vec![purpose.into()],
        ..event(EventKind::Collection, system, seconds)
    }
}

fn exempted(system: &str, seconds: i64, until: Option<i64>) -> Event {
    Event {
        exemption: Some(Exemption {
            legal_ground: "eu-gdpr:JustificationA17LegalClaims".into(),
            until: until.map(ts),
            reason: "legal hold".into(),
        }),
        ..event(EventKind::ErasureExempted, system, seconds)
    }
}

fn correction(target: u64, action: CorrectionAction, amended: Option<Event>) -> Event {
    let mut out = amended.unwrap_or_default();
    out.kind = EventKind::Correction as i32;
    out.correction = Some(Correction {
        target_index: target,
        action: action as i32,
        ..Correction::default()
    });
    out
}

fn rule(
    system: &str,
    category: &str,
    purpose: &str,
    period: Period,
    trigger: Trigger,
) -> RetentionRule {
    RetentionRule {
        system: system.into(),
        data_category: category.into(),
        purpose: purpose.into(),
        period,
        trigger,
    }
}

/// The message a rule is declared in.
fn message(rule: &RetentionRule) -> RuleMessage {
    let (days, months) = match rule.period {
        Period::Days(n) => (n, 0),
        Period::Months(n) => (0, n),
    };
    RuleMessage {
        system: rule.system.clone(),
        data_category: rule.data_category.clone(),
        purpose: rule.purpose.clone(),
        days,
        months,
        trigger: match rule.trigger {
            Trigger::LastCollection => RetentionTrigger::LastCollection,
            Trigger::RelationshipEnded => RetentionTrigger::RelationshipEnded,
        } as i32,
    }
}

fn policy(effective: i64, rules: Vec<RetentionRule>) -> RetentionPolicy {
    RetentionPolicy {
        effective_at: Some(ts(effective)),
        rules: rules.iter().map(message).collect(),
    }
}

fn ended(system: &str, seconds: i64) -> Event {
    event(EventKind::RelationshipEnded, system, seconds)
}

fn status(
    entries: &[(u64, Event)],
    policies: &[(u64, RetentionPolicy)],
    as_of: i64,
) -> RetentionStatus {
    retention_status(entries, policies, &ts(as_of)).expect("a status")
}

fn overdue(s: &RetentionStatus) -> Vec<(&str, &str, &str)> {
    s.items
        .iter()
        .filter(|i| i.overdue)
        .map(|i| {
            (
                i.holder.as_str(),
                i.data_category.as_str(),
                i.purpose.as_str(),
            )
        })
        .collect()
}

fn one_month() -> Vec<(u64, RetentionPolicy)> {
    vec![(
        0,
        policy(
            0,
            vec![rule(
                "*",
                "*",
                "*",
                Period::Months(1),
                Trigger::LastCollection,
            )],
        ),
    )]
}

#[test]
fn a_month_from_the_31st_of_january_ends_on_the_last_of_february_in_a_leap_year() {
    let entries = vec![(
        1,
        collection("crm", "pd:Email", "dpv:Marketing", at(2024, 1, 31, 3600)),
    )];
    let s = status(&entries, &one_month(), at(2024, 2, 29, 86_399));
    assert_eq!(s.items[0].deadline, Some(jiff::civil::date(2024, 2, 29)));
    assert!(
        overdue(&s).is_empty(),
        "the deadline day itself is not overdue"
    );
    let s = status(&entries, &one_month(), at(2024, 3, 1, 0));
    assert_eq!(overdue(&s), [("crm", "pd:Email", "dpv:Marketing")]);
    let entries = vec![(
        1,
        collection("crm", "pd:Email", "dpv:Marketing", at(2023, 1, 31, 0)),
    )];
    let s = status(&entries, &one_month(), at(2023, 3, 1, 0));
    assert_eq!(s.items[0].deadline, Some(jiff::civil::date(2023, 2, 28)));
    assert_eq!(overdue(&s).len(), 1);
}

#[test]
fn the_period_runs_from_the_last_collection_in_days() {
    let policies = vec![(
        0,
        policy(
            0,
            vec![rule(
                "*",
                "*",
                "*",
                Period::Days(30),
                Trigger::LastCollection,
            )],
        ),
    )];
    let entries = vec![
        (
            1,
            collection("crm", "pd:Email", "dpv:Marketing", at(2025, 1, 1, 0)),
        ),
        (
            2,
            collection("crm", "pd:Email", "dpv:Marketing", at(2025, 2, 1, 0)),
        ),
    ];
    let s = status(&entries, &policies, at(2025, 3, 2, 0));
    assert_eq!(s.items[0].deadline, Some(jiff::civil::date(2025, 3, 3)));
    assert!(!s.items[0].overdue);
    assert!(status(&entries, &policies, at(2025, 3, 4, 0)).items[0].overdue);
}

#[test]
fn the_most_specific_rule_decides_and_the_earliest_deadline_among_equals() {
    let policies = vec![(
        0,
        policy(
            0,
            vec![
                rule("*", "*", "*", Period::Months(24), Trigger::LastCollection),
                rule(
                    "billing",
                    "*",
                    "*",
                    Period::Months(120),
                    Trigger::LastCollection,
                ),
                rule(
                    "*",
                    "pd:Email",
                    "*",
                    Period::Months(6),
                    Trigger::LastCollection,
                ),
                rule(
                    "*",
                    "pd:Email",
                    "*",
                    Period::Months(3),
                    Trigger::LastCollection,
                ),
            ],
        ),
    )];
    let entries = vec![
        (
            1,
            collection("billing", "pd:Email", "dpv:Billing", at(2020, 1, 15, 0)),
        ),
        (
            2,
            collection("crm", "pd:Email", "dpv:Marketing", at(2020, 1, 15, 0)),
        ),
        (
            3,
            collection("crm", "pd:Name", "dpv:Marketing", at(2020, 1, 15, 0)),
        ),
    ];
    let s = status(&entries, &policies, at(2023, 1, 1, 0));
    let deadline = |holder: &str, category: &str| {
        s.items
            .iter()
            .find(|i| i.holder == holder && i.data_category == category)
            .and_then(|i| i.deadline)
    };
    assert_eq!(
        deadline("billing", "pd:Email"),
        Some(jiff::civil::date(2030, 1, 15))
    );
    assert_eq!(
        deadline("crm", "pd:Email"),
        Some(jiff::civil::date(2020, 4, 15))
    );
    assert_eq!(
        deadline("crm", "pd:Name"),
        Some(jiff::civil::date(2022, 1, 15))
    );
    assert_eq!(
        overdue(&s),
        [
            ("crm", "pd:Email", "dpv:Marketing"),
            ("crm", "pd:Name", "dpv:Marketing")
        ]
    );
}

#[test]
fn a_deletion_clears_only_what_arrived_before_it() {
    let entries = vec![
        (
            1,
            collection("crm", "pd:Email", "dpv:Marketing", at(2025, 1, 1, 0)),
        ),
        (2, event(EventKind::DeletionDone, "crm", at(2025, 6, 1, 0))),
    ];
    let as_of = at(2025, 7, 1, 0);
    assert!(overdue(&status(&entries[..1], &one_month(), as_of)).len() == 1);
    assert!(
        overdue(&status(&entries, &one_month(), as_of)).is_empty(),
        "a late confirmation still clears"
    );
    let mut again = entries.clone();
    again.push((
        3,
        collection("crm", "pd:Email", "dpv:Marketing", at(2025, 6, 2, 0)),
    ));
    assert!(
        overdue(&status(&again, &one_month(), as_of)).is_empty(),
        "a new period"
    );
    assert_eq!(
        overdue(&status(&again, &one_month(), at(2025, 7, 3, 0))).len(),
        1,
        "owed again"
    );
    let mut elsewhere = entries.clone();
    elsewhere[1].1.system = "billing".into();
    assert_eq!(
        overdue(&status(&elsewhere, &one_month(), as_of)).len(),
        1,
        "another holder's deletion"
    );
}

#[test]
fn an_exemption_holds_off_the_deadline_until_it_ends() {
    let entries = vec![
        (
            1,
            collection("crm", "pd:Email", "dpv:Marketing", at(2025, 1, 1, 0)),
        ),
        (
            2,
            exempted("crm", at(2025, 1, 5, 0), Some(at(2025, 9, 1, 0))),
        ),
    ];
    assert!(overdue(&status(&entries, &one_month(), at(2025, 8, 31, 86_399))).is_empty());
    assert_eq!(
        overdue(&status(&entries, &one_month(), at(2025, 9, 1, 0))).len(),
        1
    );
    let mut for_good = entries.clone();
    for_good[1].1 = exempted("crm", at(2025, 1, 5, 0), None);
    assert!(overdue(&status(&for_good, &one_month(), at(2030, 1, 1, 0))).is_empty());
}

#[test]
fn a_relationship_end_starts_its_rules_period() {
    let policies = vec![(
        0,
        policy(
            0,
            vec![rule(
                "crm",
                "*",
                "*",
                Period::Months(12),
                Trigger::RelationshipEnded,
            )],
        ),
    )];
    let entries = vec![(
        1,
        collection(
            "crm",
            "pd:Email",
            "dpv:ServiceProvision",
            at(2020, 2, 29, 0),
        ),
    )];
    let s = status(&entries, &policies, at(2030, 1, 1, 0));
    assert_eq!(
        (s.items[0].rule, s.items[0].deadline, s.items[0].overdue),
        (Some(0), None, false)
    );
    let mut ends = entries.clone();
    ends.push((2, ended("crm", at(2023, 2, 28, 0))));
    let s = status(&ends, &policies, at(2024, 2, 29, 0));
    assert_eq!(s.items[0].deadline, Some(jiff::civil::date(2024, 2, 28)));
    assert!(s.items[0].overdue);
    let mut elsewhere = entries.clone();
    elsewhere.push((2, ended("billing", at(2023, 2, 28, 0))));
    let s = status(&elsewhere, &policies, at(2024, 2, 29, 0));
    assert_eq!(
        s.items[0].deadline, None,
        "the end of a relationship with another system"
    );
    let mut retracted = ends.clone();
    retracted.push((3, correction(2, CorrectionAction::Retract, None)));
    let s = status(&retracted, &policies, at(2024, 2, 29, 0));
    assert_eq!(s.items[0].deadline, None, "a retracted end");
    let mut twice = ends.clone();
    twice.push((4, ended("crm", at(2023, 6, 30, 0))));
    let s = status(&twice, &policies, at(2024, 2, 29, 0));
    assert_eq!(
        (s.items[0].deadline, s.items[0].overdue),
        (Some(jiff::civil::date(2024, 6, 30)), false),
        "the latest end counts"
    );
    let mut later = ends.clone();
    later.push((
        3,
        collection("crm", "pd:Email", "dpv:ServiceProvision", at(2023, 3, 1, 0)),
    ));
    let s = status(&later, &policies, at(2024, 2, 29, 0));
    assert_eq!(
        s.items[0].deadline, None,
        "data collected after the end: the relationship goes on"
    );
}

#[test]
fn the_policy_in_force_at_as_of_decides() {
    let policies = vec![
        (
            0,
            policy(
                at(2025, 1, 1, 0),
                vec![rule(
                    "*",
                    "*",
                    "*",
                    Period::Months(1),
                    Trigger::LastCollection,
                )],
            ),
        ),
        (
            5,
            policy(
                at(2025, 6, 1, 0),
                vec![rule(
                    "*",
                    "*",
                    "*",
                    Period::Months(12),
                    Trigger::LastCollection,
                )],
            ),
        ),
    ];
    let entries = vec![(
        1,
        collection("crm", "pd:Email", "dpv:Marketing", at(2025, 1, 10, 0)),
    )];
    assert_eq!(
        overdue(&status(&entries, &policies, at(2025, 5, 1, 0))).len(),
        1
    );
    let s = status(&entries, &policies, at(2025, 7, 1, 0));
    assert_eq!((s.policy, overdue(&s).len()), (Some(5), 0));
    let s = status(&entries, &policies, at(2024, 12, 31, 0));
    assert_eq!(
        (s.policy, s.items[0].deadline),
        (None, None),
        "no policy yet"
    );
}

#[test]
fn corrections_are_honoured() {
    let entries = vec![
        (
            1,
            collection("crm", "pd:Email", "dpv:Marketing", at(2025, 1, 1, 0)),
        ),
        (
            2,
            collection("crm", "pd:Email", "dpv:Marketing", at(2025, 5, 1, 0)),
        ),
        (3, correction(2, CorrectionAction::Retract, None)),
    ];
    let s = status(&entries, &one_month(), at(2025, 3, 1, 0));
    assert_eq!(
        s.items[0].last_arrival.index, 1,
        "a retracted collection put nothing there"
    );
    assert!(s.items[0].overdue);
    let amended = Event {
        data_categories: vec!["pd:Name".into()],
        ..Event::default()
    };
    let entries = vec![
        (
            1,
            collection("crm", "pd:Email", "dpv:Marketing", at(2025, 1, 1, 0)),
        ),
        (2, correction(1, CorrectionAction::Amend, Some(amended))),
    ];
    let s = status(&entries, &one_month(), at(2025, 3, 1, 0));
    assert_eq!(overdue(&s), [("crm", "pd:Name", "dpv:Marketing")]);
}

#[test]
fn a_share_makes_its_recipient_a_holder() {
    let share = Event {
        data_categories: vec!["pd:Email".into()],
        purposes: vec!["dpv:Marketing".into()],
        recipient: Some(Recipient {
            name: "mailer".into(),
            ..Recipient::default()
        }),
        ..event(EventKind::Share, "crm", at(2025, 1, 1, 0))
    };
    let entries = vec![
        (1, share),
        (
            2,
            event(EventKind::RetentionExpired, "mailer", at(2025, 3, 1, 0)),
        ),
    ];
    assert_eq!(
        overdue(&status(&entries, &one_month(), at(2025, 3, 2, 0))),
        [("mailer", "pd:Email", "dpv:Marketing")],
        "a retention_expired report is no deletion"
    );
}

// ---- The brute-force pass ----

const SEED: u64 = 0x0183_2028_0229;

use crate::core::test_rng::Rng;

const SYSTEMS: [&str; 3] = ["crm", "billing", "shop"];
const CATEGORIES: [&str; 3] = ["pd:Email", "pd:Name", "pd:Address"];
const PURPOSES: [&str; 2] = ["dpv:Marketing", "dpv:ServiceProvision"];

/// A time around the ends of months of 2023-2025, often on the 29th to 31st.
fn some_time(rng: &mut Rng) -> i64 {
    let y = 2023 + rng.below(3) as i64;
    let m = 1 + rng.below(12) as i64;
    let last = days_in_month(y, m);
    let d = if rng.below(2) == 0 {
        last - rng.below(3) as i64
    } else {
        1 + rng.below(28) as i64
    };
    at(y, m, d.max(1), rng.below(86_400) as i64)
}

fn some_rule(rng: &mut Rng) -> RetentionRule {
    let wild = |rng: &mut Rng, of: &[&str]| {
        if rng.below(2) == 0 {
            "*".to_owned()
        } else {
            rng.pick(of).to_owned()
        }
    };
    RetentionRule {
        system: wild(rng, &SYSTEMS),
        data_category: wild(rng, &CATEGORIES),
        purpose: wild(rng, &PURPOSES),
        period: if rng.below(2) == 0 {
            Period::Days(1 + rng.below(400) as u32)
        } else {
            Period::Months(1 + rng.below(24) as u32)
        },
        trigger: if rng.below(4) == 0 {
            Trigger::RelationshipEnded
        } else {
            Trigger::LastCollection
        },
    }
}

/// The brute-force answer: the overdue (holder, category, purpose) at `as_of`, each with its
/// deadline as a day number.
fn brute_force(
    entries: &[(u64, Event)],
    policies: &[(u64, RetentionPolicy)],
    as_of: i64,
) -> BTreeMap<(String, String, String), Option<i64>> {
    // Corrections.
    let mut live: Vec<(u64, Event)> = Vec::new();
    for (index, e) in entries {
        if e.kind() == EventKind::Correction {
            continue;
        }
        let mut e = e.clone();
        let mut gone = false;
        for (_, c) in entries {
            let Some(corr) = &c.correction else { continue };
            if corr.target_index != *index {
                continue;
            }
            if corr.action == CorrectionAction::Retract as i32 {
                gone = true;
            } else {
                if !c.data_categories.is_empty() {
                    e.data_categories = c.data_categories.clone();
                }
                if !c.purposes.is_empty() {
                    e.purposes = c.purposes.clone();
                }
            }
        }
        if !gone {
            live.push((*index, e));
        }
    }
    // The policy.
    let mut best: Option<&(u64, RetentionPolicy)> = None;
    let effective = |p: &RetentionPolicy| p.effective_at.expect("a time").seconds;
    for p in policies {
        if effective(&p.1) <= as_of
            && best.is_none_or(|b| (effective(&p.1), p.0) > (effective(&b.1), b.0))
        {
            best = Some(p);
        }
    }
    let holder_of = |e: &Event| match e.kind() {
        EventKind::Collection => Some(e.system.clone()),
        EventKind::Share => e.recipient.as_ref().map(|r| r.name.clone()),
        _ => None,
    };
    let mut out = BTreeMap::new();
    for (i, e) in &live {
        let Some(holder) = holder_of(e) else { continue };
        for c in &e.data_categories {
            for p in &e.purposes {
                // Only the last arrival of the item counts.
                let later = live.iter().any(|(j, f)| {
                    j > i
                        && holder_of(f).as_ref() == Some(&holder)
                        && f.data_categories.contains(c)
                        && f.purposes.contains(p)
                });
                if later {
                    continue;
                }
                let from_collection = e.occurred_at.expect("a time").seconds;
                let mut end = None;
                for (j, x) in &live {
                    if x.kind() == EventKind::RelationshipEnded && x.system == holder && j > i {
                        end = Some(x.occurred_at.expect("a time").seconds);
                    }
                }
                let mut deadline = None;
                if let Some((_, policy)) = best {
                    let score = |r: &RuleMessage| -> Option<i64> {
                        let one = |rule: &str, v: &str, w: i64| {
                            if rule == "*" {
                                Some(0)
                            } else if rule == v {
                                Some(w)
                            } else {
                                None
                            }
                        };
                        Some(
                            one(&r.system, &holder, 100)?
                                + one(&r.data_category, c, 10)?
                                + one(&r.purpose, p, 1)?,
                        )
                    };
                    let top = policy.rules.iter().filter_map(score).max();
                    for r in &policy.rules {
                        if score(r).is_none() || score(r) != top {
                            continue;
                        }
                        let from = if r.trigger == RetentionTrigger::LastCollection as i32 {
                            Some(from_collection)
                        } else {
                            end
                        };
                        if let Some(from) = from {
                            let day = from.div_euclid(86_400);
                            let d = if r.days > 0 {
                                day + i64::from(r.days)
                            } else {
                                naive_add_months(day, i64::from(r.months))
                            };
                            deadline = Some(deadline.map_or(d, |x: i64| x.min(d)));
                        }
                    }
                }
                // Answers after this arrival, in order.
                let mut deleted = false;
                let mut exemption_until: Option<Option<i64>> = None;
                for (j, f) in &live {
                    if j <= i || f.system != holder {
                        continue;
                    }
                    if f.kind() == EventKind::DeletionDone {
                        deleted = true;
                        exemption_until = None;
                    } else if f.kind() == EventKind::ErasureExempted && !deleted {
                        exemption_until = Some(
                            f.exemption
                                .as_ref()
                                .and_then(|x| x.until.map(|t| t.seconds)),
                        );
                    }
                }
                let exempt = matches!(exemption_until, Some(None))
                    || matches!(exemption_until, Some(Some(u)) if u > as_of);
                let overdue =
                    deadline.is_some_and(|d| as_of >= (d + 1) * 86_400) && !deleted && !exempt;
                if overdue {
                    out.insert((holder.clone(), c.clone(), p.clone()), deadline);
                }
            }
        }
    }
    out
}

#[test]
fn the_rule_agrees_with_a_brute_force_pass() {
    let mut rng = Rng(SEED);
    let mut compared = 0;
    let mut overdue_seen = 0;
    for subject in 0..300 {
        // Policies that change over time.
        let policies: Vec<(u64, RetentionPolicy)> = (0..1 + rng.below(3))
            .map(|k| {
                let rules = (0..1 + rng.below(4)).map(|_| some_rule(&mut rng)).collect();
                (1000 + k, policy(some_time(&mut rng), rules))
            })
            .collect();
        let mut entries: Vec<(u64, Event)> = Vec::new();
        let mut time = some_time(&mut rng) - 400 * 86_400;
        for index in 0..2 + rng.below(10) {
            time += rng.below(90 * 86_400) as i64;
            let system = rng.pick(&SYSTEMS);
            let e = match rng.below(10) {
                0..=3 => collection(system, rng.pick(&CATEGORIES), rng.pick(&PURPOSES), time),
                4 => Event {
                    recipient: Some(Recipient {
                        name: "mailer".into(),
                        ..Recipient::default()
                    }),
                    ..collection(system, rng.pick(&CATEGORIES), rng.pick(&PURPOSES), time)
                }
                .with_kind(EventKind::Share),
                5 => event(
                    EventKind::DeletionDone,
                    if rng.below(3) == 0 { "mailer" } else { system },
                    time,
                ),
                6 => exempted(
                    system,
                    time,
                    (rng.below(3) != 0).then(|| time + rng.below(300) as i64 * 86_400),
                ),
                7 if index > 0 => {
                    let target = rng.below(index);
                    if rng.below(2) == 0 {
                        correction(target, CorrectionAction::Retract, None)
                    } else {
                        let amended = Event {
                            data_categories: vec![rng.pick(&CATEGORIES).into()],
                            ..Event::default()
                        };
                        correction(target, CorrectionAction::Amend, Some(amended))
                    }
                }
                _ => ended(system, time),
            };
            entries.push((index, e));
        }
        for k in 0..12 {
            let as_of = time - 300 * 86_400 + k * 61 * 86_400 + rng.below(86_400) as i64;
            let got = status(&entries, &policies, as_of);
            let got: BTreeMap<_, _> = got
                .items
                .iter()
                .filter(|i| i.overdue)
                .map(|i| {
                    let day = i.deadline.map(|d| {
                        days_from_civil(d.year().into(), d.month().into(), d.day().into())
                    });
                    (
                        (i.holder.clone(), i.data_category.clone(), i.purpose.clone()),
                        day,
                    )
                })
                .collect();
            let want = brute_force(&entries, &policies, as_of);
            assert_eq!(
                got, want,
                "subject {subject} as_of {as_of} (seed {SEED:#x}): {entries:?} {policies:?}"
            );
            compared += 1;
            overdue_seen += want.len();
        }
    }
    assert!(
        compared == 3600 && overdue_seen > 300,
        "a population worth comparing: {overdue_seen}"
    );
}

trait WithKind {
    fn with_kind(self, kind: EventKind) -> Self;
}

impl WithKind for Event {
    fn with_kind(mut self, kind: EventKind) -> Self {
        self.kind = kind as i32;
        self
    }
}
