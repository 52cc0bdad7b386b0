//! The register against a brute-force pass written separately: a seeded population of request
//! cases (month-end receipts, leap years, extensions, refusals, late answers and late
//! confirmations, retractions, policies that change), whose overdue list and due dates for many
//! `as_of` times are recomputed with plain day arithmetic (no jiff, fixed-offset zones only).

use super::*;
use crate::proto::v1::{
    Correction, DataSubjectRequest, RequestExtension, RequestPolicy, RequestResponse,
};

/// The seed of the population, printed so that a failure can be replayed.
const SEED: u64 = 0x18_2027_0131;

use crate::core::test_rng::Rng;

use crate::core::test_calendar::{civil_from_days, days_from_civil, days_in_month};

/// A naive policy: a fixed UTC offset and holidays as day numbers.
struct Naive {
    offset: i64,
    holidays: BTreeSet<i64>,
}

impl Naive {
    fn local_day(&self, seconds: i64) -> i64 {
        (seconds + self.offset).div_euclid(86_400)
    }
    fn working(&self, day: i64) -> bool {
        // 1970-01-01 (day 0) was a Thursday: 0 = Thursday .. 2 = Saturday, 3 = Sunday.
        let weekday = day.rem_euclid(7);
        weekday != 2 && weekday != 3 && !self.holidays.contains(&day)
    }
    fn next_working(&self, mut day: i64) -> i64 {
        while !self.working(day) {
            day += 1;
        }
        day
    }
    fn add_months(day: i64, months: i64) -> i64 {
        crate::core::test_calendar::add_months(day, months)
    }
    /// (original due day, due day) of a receipt at `received` extended by `months`.
    fn due(&self, received: i64, months: i64) -> (i64, i64) {
        let month_end = Self::add_months(self.local_day(received), 1);
        let original = self.next_working(month_end);
        let due = if months == 0 {
            original
        } else {
            self.next_working(Self::add_months(month_end, months))
        };
        (original, due)
    }
    /// Whether `at` is after the end of `day`.
    fn after(&self, at: i64, day: i64) -> bool {
        at >= (day + 1) * 86_400 - self.offset
    }
}

/// The naive policy of a declaration: the two zones the population uses.
fn naive_policy(policy: Option<&RequestPolicy>) -> Naive {
    let (offset, holidays) = match policy {
        None => (0, Vec::new()),
        Some(policy) => {
            let offset = match policy.time_zone.as_str() {
                "UTC" => 0,
                "Etc/GMT-2" => 2 * 3600,
                "Etc/GMT+5" => -5 * 3600,
                other => panic!("no naive zone {other}"),
            };
            (offset, policy.public_holidays.clone())
        }
    };
    let holidays = holidays
        .iter()
        .map(|text| {
            let part = |r: std::ops::Range<usize>| text[r].parse::<i64>().expect("a number");
            days_from_civil(part(0..4), part(5..7), part(8..10))
        })
        .collect();
    Naive { offset, holidays }
}

/// The brute-force pass: (request_ref -> (due day as YYYY-MM-DD, overdue)) at `as_of`.
fn brute_force(entries: &[(u64, Event)], as_of: i64) -> BTreeMap<String, (String, bool)> {
    let mut retracted = BTreeSet::new();
    for (_, event) in entries {
        if let Some(c) = &event.correction
            && c.action == CorrectionAction::Retract as i32
        {
            retracted.insert(c.target_index);
        }
    }
    let live: Vec<&(u64, Event)> = entries
        .iter()
        .filter(|(i, e)| !retracted.contains(i) && e.correction.is_none())
        .collect();
    let mut best: Option<(i64, u64, &RequestPolicy)> = None;
    for (index, event) in &live {
        if let Some(policy) = &event.request_policy {
            let effective = policy.effective_at.expect("effective").seconds;
            if effective <= as_of && best.is_none_or(|(e, i, _)| (effective, *index) > (e, i)) {
                best = Some((effective, *index, policy));
            }
        }
    }
    let naive = naive_policy(best.map(|(_, _, p)| p));
    let refs: BTreeSet<&str> = live
        .iter()
        .map(|(_, e)| e.request_ref.as_str())
        .filter(|r| !r.is_empty())
        .collect();
    let mut out = BTreeMap::new();
    for request_ref in refs {
        let mine: Vec<&Event> = live
            .iter()
            .filter(|(_, e)| e.request_ref == request_ref)
            .map(|(_, e)| e)
            .collect();
        let Some(received) = mine.iter().find_map(|e| e.request.as_ref()) else {
            continue;
        };
        let months = mine
            .iter()
            .filter_map(|e| e.request_extension.as_ref())
            .next_back()
            .map_or(0, |x| i64::from(x.months));
        let (_, due) = naive.due(received.received_at.expect("received").seconds, months);
        let open = !mine.iter().any(|e| e.request_response.is_some());
        let (y, m, d) = civil_from_days(due);
        out.insert(
            request_ref.to_owned(),
            (
                format!("{y:04}-{m:02}-{d:02}"),
                open && naive.after(as_of, due),
            ),
        );
    }
    out
}

fn ts(seconds: i64) -> Timestamp {
    Timestamp { seconds, nanos: 0 }
}

fn at_day(y: i64, m: i64, d: i64) -> i64 {
    days_from_civil(y, m, d) * 86_400
}

/// A seeded population: (log time, event) in no particular order.
fn population(rng: &mut Rng, cases: usize) -> Vec<(i64, Event)> {
    let mut out = Vec::new();
    // Policies: UTC from the start, then UTC+2 with holidays, then UTC-5, then UTC+2 again.
    let holidays: Vec<String> = [
        "2027-03-01",
        "2027-12-31",
        "2028-02-29",
        "2028-03-31",
        "2028-05-01",
    ]
    .iter()
    .map(|d| (*d).to_owned())
    .collect();
    for (effective, declared, zone, holidays) in [
        (at_day(2026, 12, 1), at_day(2026, 12, 1), "UTC", Vec::new()),
        (
            at_day(2027, 6, 1),
            at_day(2027, 5, 1),
            "Etc/GMT-2",
            holidays.clone(),
        ),
        (
            at_day(2027, 11, 15),
            at_day(2027, 11, 20),
            "Etc/GMT+5",
            Vec::new(),
        ),
        (
            at_day(2028, 2, 1),
            at_day(2028, 1, 10),
            "Etc/GMT-2",
            holidays,
        ),
    ] {
        out.push((
            declared,
            Event {
                kind: EventKind::RequestPolicyDeclared as i32,
                request_policy: Some(RequestPolicy {
                    time_zone: zone.to_owned(),
                    public_holidays: holidays,
                    effective_at: Some(ts(effective)),
                }),
                ..Event::default()
            },
        ));
    }
    // Receipt days favour month ends and the days around them.
    let months: Vec<(i64, i64)> = (2027..=2028)
        .flat_map(|y| (1..=12).map(move |m| (y, m)))
        .filter(|(y, m)| (*y, *m) < (2028, 5))
        .collect();
    for n in 0..cases {
        let (y, m) = months[rng.below(months.len() as u64) as usize];
        let dim = days_in_month(y, m);
        let d = if rng.chance(60) {
            dim - rng.below(4) as i64
        } else {
            1 + rng.below(dim as u64) as i64
        };
        // Any second of the day, with a bias to the hours near midnight.
        let second = if rng.chance(40) {
            if rng.chance(50) {
                rng.below(3 * 3600) as i64
            } else {
                86_400 - 1 - rng.below(6 * 3600) as i64
            }
        } else {
            rng.below(86_400) as i64
        };
        let received = at_day(y, m, d) + second;
        let request_ref = format!("DSR-{n:04}");
        let event = |kind: EventKind| Event {
            kind: kind as i32,
            request_ref: request_ref.clone(),
            system: "privacy-portal".to_owned(),
            ..Event::default()
        };
        let mut receipt = event(EventKind::RequestReceived);
        receipt.request = Some(DataSubjectRequest {
            right: DataSubjectRight::Access as i32,
            channel: "email".to_owned(),
            received_at: Some(ts(received)),
        });
        // Recorded at once or a few days late.
        let recorded = received + rng.below(4 * 86_400) as i64;
        out.push((recorded, receipt));
        let mut last = recorded;
        if rng.chance(35) {
            let mut extension = event(EventKind::RequestExtended);
            let told = received + rng.below(40 * 86_400) as i64;
            extension.request_extension = Some(RequestExtension {
                months: 1 + rng.below(2) as u32,
                reason: "volume".to_owned(),
                subject_told_at: Some(ts(told)),
            });
            last = last.max(told + rng.below(3 * 86_400) as i64);
            out.push((last, extension));
            if rng.chance(20) {
                // A second extension replaces the first.
                let mut again = event(EventKind::RequestExtended);
                again.request_extension = Some(RequestExtension {
                    months: 1 + rng.below(2) as u32,
                    reason: "volume".to_owned(),
                    subject_told_at: Some(ts(last)),
                });
                last += 3600;
                out.push((last, again));
            }
        }
        if rng.chance(75) {
            let refused = rng.chance(25);
            let mut response = event(if refused {
                EventKind::RequestRefused
            } else {
                EventKind::RequestAnswered
            });
            // Answered within 0 to 100 days; confirmed in the log up to 20 days later.
            let responded = last.max(received + rng.below(100 * 86_400) as i64);
            response.request_response = Some(RequestResponse {
                responded_at: Some(ts(responded)),
                refusal_ground: if refused {
                    "eu-gdpr:A12-5-b".to_owned()
                } else {
                    String::new()
                },
                reason: String::new(),
            });
            let confirmed = responded
                + if rng.chance(30) {
                    rng.below(20 * 86_400) as i64
                } else {
                    0
                };
            out.push((confirmed, response));
        }
    }
    out
}

/// Log order by log time, indexes assigned in that order; then corrections retracting random
/// entries (receipts, extensions, answers, a policy), appended after their targets.
fn log_of(rng: &mut Rng, mut items: Vec<(i64, Event)>) -> Vec<(i64, u64, Event)> {
    items.sort_by_key(|(time, _)| *time);
    let mut log: Vec<(i64, u64, Event)> = items
        .into_iter()
        .enumerate()
        .map(|(i, (time, event))| (time, i as u64, event))
        .collect();
    let mut corrections = Vec::new();
    for (time, index, event) in &log {
        let share = if event.kind() == EventKind::RequestPolicyDeclared {
            25
        } else {
            6
        };
        if rng.chance(share) {
            corrections.push((
                time + rng.below(30 * 86_400) as i64,
                Event {
                    kind: EventKind::Correction as i32,
                    correction: Some(Correction {
                        target_index: *index,
                        action: CorrectionAction::Retract as i32,
                        reason: "entered in error".to_owned(),
                    }),
                    ..Event::default()
                },
            ));
        }
    }
    let mut all: Vec<(i64, Event)> = log.drain(..).map(|(t, _, e)| (t, e)).collect();
    // Corrections need their targets' indexes: keep the targets first, in order, then merge.
    let targets = all.len() as u64;
    all.extend(corrections);
    let mut indexed: Vec<(i64, u64, Event)> = all
        .into_iter()
        .enumerate()
        .map(|(i, (t, e))| (t, i as u64, e))
        .collect();
    // Entries keep their indexes (log order); a correction's index is after every target, and
    // its time after its target's, so a prefix by time holds a correction only with its target.
    indexed.sort_by_key(|(t, i, _)| (*i >= targets, *t, *i));
    indexed
}

#[test]
fn the_register_agrees_with_a_brute_force_pass() {
    println!("seed {SEED:#x}");
    let mut rng = Rng(SEED);
    let people = population(&mut rng, 400);
    let log = log_of(&mut rng, people);
    // as_of: every 5 days across the population, each midnight (UTC, UTC+2, UTC-5) one second
    // before and at it, and the month ends.
    let mut times = BTreeSet::new();
    let mut t = at_day(2027, 1, 1);
    while t < at_day(2028, 10, 1) {
        times.insert(t + 13 * 3600);
        t += 5 * 86_400;
    }
    for (y, m) in (2027..=2028).flat_map(|y| (1..=12).map(move |m| (y, m))) {
        let end = at_day(y, m, days_in_month(y, m)) + 86_400;
        for offset in [0, 2 * 3600, -5 * 3600] {
            times.insert(end - offset - 1);
            times.insert(end - offset);
        }
    }
    let mut overdue_seen = 0;
    let mut checked = 0;
    for as_of in times {
        // The log as it stood at as_of: entries recorded by then, in index order.
        let mut held: Vec<(u64, Event)> = log
            .iter()
            .filter(|(time, _, _)| *time <= as_of)
            .map(|(_, index, event)| (*index, event.clone()))
            .collect();
        held.sort_by_key(|(index, _)| *index);
        let expected = brute_force(&held, as_of);
        let got = register(&held, &ts(as_of)).expect("register");
        let got: BTreeMap<String, (String, bool)> = got
            .into_iter()
            .map(|(r, case)| (r, (day_text(case.due.due), case.overdue)))
            .collect();
        assert_eq!(got, expected, "as_of {as_of} (seed {SEED:#x})");
        overdue_seen += expected.values().filter(|(_, overdue)| *overdue).count();
        checked += expected.len();
    }
    // The population exercises both answers.
    assert!(overdue_seen > 500, "{overdue_seen}");
    assert!(checked > 10_000, "{checked}");
}

fn entry(kind: EventKind, request_ref: &str) -> Event {
    Event {
        kind: kind as i32,
        request_ref: request_ref.to_owned(),
        system: "portal".to_owned(),
        ..Event::default()
    }
}

#[test]
fn one_case_through_extension_late_notice_and_refusal() {
    let received = at_day(2028, 1, 31) + 10 * 3600;
    let mut receipt = entry(EventKind::RequestReceived, "R-1");
    receipt.request = Some(DataSubjectRequest {
        right: DataSubjectRight::Portability as i32,
        channel: "letter".to_owned(),
        received_at: Some(ts(received)),
    });
    let mut extension = entry(EventKind::RequestExtended, "R-1");
    extension.request_extension = Some(RequestExtension {
        months: 2,
        reason: "volume".to_owned(),
        // 2028-02-29 is the original due day (a leap year's Tuesday); told on 1 March.
        subject_told_at: Some(ts(at_day(2028, 3, 1) + 3600)),
    });
    let mut refusal = entry(EventKind::RequestRefused, "R-1");
    refusal.request_response = Some(RequestResponse {
        responded_at: Some(ts(at_day(2028, 5, 1))),
        refusal_ground: "eu-gdpr:A11-2".to_owned(),
        reason: String::new(),
    });
    let log = vec![(0, receipt.clone()), (1, extension.clone())];
    // On the original due day, extended: not overdue; due 29 April 2028 (a Saturday) -> 1 May.
    let case = &register(&log, &ts(at_day(2028, 3, 2))).expect("register")["R-1"];
    assert_eq!(day_text(case.due.original), "2028-02-29");
    assert_eq!(day_text(case.due.due), "2028-05-01");
    assert!(case.extension_told_late);
    assert!(!case.overdue);
    assert_eq!(case.right, DataSubjectRight::Portability);
    // Without the extension it was overdue from 1 March.
    let alone = register(&log[..1], &ts(at_day(2028, 3, 1))).expect("register");
    assert!(alone["R-1"].overdue);
    assert!(!register(&log[..1], &ts(at_day(2028, 3, 1) - 1)).expect("r")["R-1"].overdue);
    // Overdue after 1 May ends, until the refusal is in the log; refused on time.
    assert!(register(&log, &ts(at_day(2028, 5, 2))).expect("r")["R-1"].overdue);
    let mut refused = log.clone();
    refused.push((2, refusal));
    let case = &register(&refused, &ts(at_day(2028, 5, 2))).expect("r")["R-1"];
    assert_eq!(case.outcome, Outcome::Refused);
    assert_eq!(case.refusal_ground, "eu-gdpr:A11-2");
    assert!(!case.overdue && !case.responded_late);
    // Retracting the refusal reopens the case; retracting the receipt removes it.
    let retract = |target| Event {
        kind: EventKind::Correction as i32,
        correction: Some(Correction {
            target_index: target,
            action: CorrectionAction::Retract as i32,
            reason: String::new(),
        }),
        ..Event::default()
    };
    let mut reopened = refused.clone();
    reopened.push((3, retract(2)));
    assert!(register(&reopened, &ts(at_day(2028, 5, 2))).expect("r")["R-1"].overdue);
    reopened.push((4, retract(0)));
    assert!(
        register(&reopened, &ts(at_day(2028, 5, 2)))
            .expect("r")
            .is_empty()
    );
}

#[test]
fn the_policy_in_force_is_the_latest_effective_by_as_of() {
    let policy = |zone: &str, effective: i64| RequestPolicy {
        time_zone: zone.to_owned(),
        public_holidays: Vec::new(),
        effective_at: Some(ts(effective)),
    };
    let a = policy("UTC", 100);
    let b = policy("Europe/Berlin", 300);
    let c = policy("Europe/Paris", 200);
    let declared = [(1, &a), (2, &b), (3, &c)];
    assert_eq!(policy_in_force(declared, &ts(99)), None);
    assert_eq!(policy_in_force(declared, &ts(250)).map(|(i, _)| i), Some(3));
    assert_eq!(policy_in_force(declared, &ts(300)).map(|(i, _)| i), Some(2));
    // The same effective_at: the later entry wins.
    let d = policy("Europe/Rome", 300);
    let declared = [(1, &a), (2, &b), (4, &d)];
    assert_eq!(policy_in_force(declared, &ts(400)).map(|(i, _)| i), Some(4));
}

#[test]
fn erasure_references_are_strict() {
    assert_eq!(erasure_ref(42), "erasure:42");
    assert_eq!(parse_erasure_ref("erasure:42"), Some(42));
    assert_eq!(parse_erasure_ref("erasure:0"), Some(0));
    for other in [
        "erasure:",
        "erasure:042",
        "erasure:+4",
        "erasure:4x",
        "DSR-1",
        "Erasure:4",
    ] {
        assert_eq!(parse_erasure_ref(other), None, "{other}");
    }
}

#[test]
fn an_erasure_case_is_due_a_month_on_and_answered_when_its_holders_have() {
    // Received on 31 January 2028 (UTC): due on 29 February (a leap year, a Tuesday).
    let mut request = Event {
        system: "privacy-portal".into(),
        occurred_at: Some(ts(at_day(2028, 1, 31) + 3600)),
        ..Event::default()
    };
    request.set_kind(EventKind::ErasureRequested);
    let policy = deadline_policy(None).expect("UTC");
    let end_of_due_day = at_day(2028, 3, 1);

    let open = erasure_case((7, &request), None, &policy, &ts(end_of_due_day - 1)).expect("case");
    assert_eq!(open.request_ref, "erasure:7");
    assert_eq!(open.right, DataSubjectRight::Erasure);
    assert_eq!(open.due.due.to_string(), "2028-02-29");
    assert_eq!((open.outcome, open.overdue), (Outcome::Open, false));
    let overdue = erasure_case((7, &request), None, &policy, &ts(end_of_due_day)).expect("case");
    assert!(overdue.overdue);

    let answered_at = ts(end_of_due_day + 5);
    let late = erasure_case(
        (7, &request),
        Some((vec![9, 12], answered_at)),
        &policy,
        &ts(end_of_due_day + 10),
    )
    .expect("case");
    assert_eq!(late.outcome, Outcome::Answered);
    assert_eq!(late.responded_at, Some(answered_at));
    assert!(late.responded_late && !late.overdue);
    assert_eq!(late.indexes, vec![7, 9, 12]);
}
