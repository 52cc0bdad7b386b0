//! Retention schedules (docs/retention.md), through a real server on 127.0.0.1 with RocksDB in a
//! temporary directory: a seeded population of subjects (collections and shares on month ends
//! and on 29 February, relationship ends, deletions late and by other holders, exemptions that
//! end, retractions) and two retention policies, the second taking effect later; the answers of
//! `ListRetentionOverdue` at several `as_of` times, read a page at a time, against a brute-force
//! pass written apart over the entries the test appended; who may declare; bad requests; the
//! schedule of `[retention]` declared at start.

use crate::common;
// The seeded generator and the plain calendar of the library's own brute-force passes (built
// only for its unit tests), the same files.
#[path = "../../src/core/test_calendar.rs"]
#[allow(dead_code)]
mod test_calendar;
#[path = "../../src/core/test_rng.rs"]
#[allow(dead_code)]
mod test_rng;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use common::{
    ADMIN_TOKEN, AUDITOR_TOKEN, BILLING_TOKEN, MAILER_TOKEN, MARKETING_TOKEN, PRODUCER_TOKEN,
    TestLedger,
};
use gdpr_ledger::client::{AuthenticatedReportsClient, reports_client};
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::proto::v1::{CorrectionAction, EventKind, RetentionTrigger};
use gdpr_ledger::validation::example_submission;
use prost_types::Timestamp;
use test_calendar::{add_months, civil_from_days, days_from_civil, days_in_month};
use test_rng::Rng;

const DAY: i64 = 86_400;
const SEED: u64 = 0x5e7e_1e18;
const SYSTEMS: [(&str, &str); 3] = [
    ("crm", PRODUCER_TOKEN),
    ("billing", BILLING_TOKEN),
    ("marketing", MARKETING_TOKEN),
];
const MAILER: &str = "mailer-eu";
const CATEGORIES: [&str; 2] = ["pd:EmailAddress", "pd:Name"];
const PURPOSES: [&str; 2] = ["dpv:Marketing", "dpv:ServiceProvision"];

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

fn ts(seconds: i64) -> Timestamp {
    Timestamp { seconds, nanos: 0 }
}

fn token_of(system: &str) -> &'static str {
    match system {
        MAILER => MAILER_TOKEN,
        "privacy-portal" => ADMIN_TOKEN,
        _ => SYSTEMS
            .iter()
            .find(|(s, _)| *s == system)
            .map(|(_, t)| *t)
            .expect("a system of the test"),
    }
}

async fn reports(ledger: &TestLedger, token: &str) -> AuthenticatedReportsClient {
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", ledger.addr()))
        .expect("address")
        .connect()
        .await
        .expect("connect");
    reports_client(channel, token).expect("token")
}

async fn try_append(
    ledger: &TestLedger,
    token: &str,
    sub: pb::EventSubmission,
) -> Result<u64, tonic::Status> {
    let mut client = ledger.client(token).await;
    Ok(client
        .append(pb::AppendRequest {
            submission: Some(sub),
            include_bundle: false,
        })
        .await?
        .into_inner()
        .receipt
        .expect("receipt")
        .index)
}

fn rule(
    system: &str,
    category: &str,
    purpose: &str,
    (days, months): (u32, u32),
    trigger: RetentionTrigger,
) -> pb::RetentionRule {
    pb::RetentionRule {
        system: system.into(),
        data_category: category.into(),
        purpose: purpose.into(),
        days,
        months,
        trigger: trigger as i32,
    }
}

fn policy_submission(
    id: &str,
    effective: i64,
    rules: Vec<pb::RetentionRule>,
) -> pb::EventSubmission {
    let mut sub = example_submission(EventKind::RetentionPolicyDeclared);
    let event = sub.event.as_mut().expect("event");
    event.event_id = id.into();
    event.occurred_at = Some(ts(now()));
    event.retention_policy = Some(pb::RetentionPolicy {
        rules,
        effective_at: Some(ts(effective)),
    });
    sub
}

/// An event of the test: its index, its subject (by number) and what was sent.
type Sent = (u64, usize, pb::Event);

/// The brute-force answer at `as_of`: every overdue (subject, holder, category, purpose,
/// deadline day), from the events sent, the retractions among them and the policies (index,
/// effective second, rules), with plain day numbers.
fn brute_force(
    sent: &[Sent],
    policies: &[(u64, i64, Vec<pb::RetentionRule>)],
    as_of: i64,
) -> BTreeSet<(usize, String, String, String, i64)> {
    let retracted: BTreeSet<u64> = sent
        .iter()
        .filter_map(|(_, _, e)| e.correction.as_ref().map(|c| c.target_index))
        .collect();
    let live: Vec<&Sent> = sent
        .iter()
        .filter(|(i, _, e)| !retracted.contains(i) && e.kind() != EventKind::Correction)
        .collect();
    let policy = policies
        .iter()
        .filter(|(_, effective, _)| *effective <= as_of)
        .max_by_key(|(index, effective, _)| (*effective, *index));
    let holder = |e: &pb::Event| match e.kind() {
        EventKind::Collection => Some(e.system.clone()),
        EventKind::Share => Some(e.recipient.as_ref().expect("recipient").name.clone()),
        _ => None,
    };
    let at = |e: &pb::Event| e.occurred_at.expect("a time").seconds;
    let mut out = BTreeSet::new();
    for (i, subject, e) in &live {
        let Some(h) = holder(e) else { continue };
        for c in &e.data_categories {
            for p in &e.purposes {
                let later = live.iter().any(|(j, s, f)| {
                    j > i
                        && s == subject
                        && holder(f).as_ref() == Some(&h)
                        && f.data_categories.contains(c)
                        && f.purposes.contains(p)
                });
                if later {
                    continue;
                }
                let end = live
                    .iter()
                    .filter(|(j, s, f)| {
                        j > i
                            && s == subject
                            && f.kind() == EventKind::RelationshipEnded
                            && f.system == h
                    })
                    .map(|(_, _, f)| at(f))
                    .next_back();
                let Some((_, _, rules)) = policy else {
                    continue;
                };
                let score = |r: &pb::RetentionRule| {
                    let one = |rule: &str, v: &str, w: i64| match rule {
                        "*" => Some(0),
                        _ if rule == v => Some(w),
                        _ => None,
                    };
                    Some(
                        one(&r.system, &h, 100)?
                            + one(&r.data_category, c, 10)?
                            + one(&r.purpose, p, 1)?,
                    )
                };
                let top = rules.iter().filter_map(score).max();
                let mut deadline: Option<i64> = None;
                for r in rules
                    .iter()
                    .filter(|r| score(r).is_some() && score(r) == top)
                {
                    let from = if r.trigger == RetentionTrigger::LastCollection as i32 {
                        Some(at(e))
                    } else {
                        end
                    };
                    if let Some(from) = from {
                        let day = from.div_euclid(DAY);
                        let d = if r.days > 0 {
                            day + i64::from(r.days)
                        } else {
                            add_months(day, i64::from(r.months))
                        };
                        deadline = Some(deadline.map_or(d, |x| x.min(d)));
                    }
                }
                let Some(deadline) = deadline else { continue };
                let mut deleted = false;
                let mut exempt_until: Option<Option<i64>> = None;
                for (j, s, f) in &live {
                    if j <= i || s != subject || f.system != h {
                        continue;
                    }
                    match f.kind() {
                        EventKind::DeletionDone => {
                            deleted = true;
                            exempt_until = None;
                        }
                        EventKind::ErasureExempted if !deleted => {
                            exempt_until = Some(
                                f.exemption
                                    .as_ref()
                                    .and_then(|x| x.until.map(|t| t.seconds)),
                            );
                        }
                        _ => {}
                    }
                }
                let exempt = match exempt_until {
                    Some(None) => true,
                    Some(Some(until)) => until > as_of,
                    None => false,
                };
                if as_of >= (deadline + 1) * DAY && !deleted && !exempt {
                    out.insert((*subject, h.clone(), c.clone(), p.clone(), deadline));
                }
            }
        }
    }
    out
}

/// Every page of `ListRetentionOverdue` at `as_of`, `limit` items a page.
async fn listed(
    client: &mut AuthenticatedReportsClient,
    as_of: i64,
    limit: u32,
) -> (
    Vec<pb::RetentionOverdueItem>,
    usize,
    pb::ListRetentionOverdueResponse,
) {
    let mut items = Vec::new();
    let mut after = String::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_retention_overdue(pb::ListRetentionOverdueRequest {
                as_of: Some(ts(as_of)),
                after: after.clone(),
                limit,
            })
            .await
            .expect("a page")
            .into_inner();
        pages += 1;
        assert!(
            page.items.len() <= limit as usize,
            "a page holds at most its limit"
        );
        items.extend(page.items.iter().cloned());
        if page.next_after.is_empty() {
            return (items, pages, page);
        }
        after = page.next_after.clone();
    }
}

fn day_number(date: &str) -> i64 {
    let parts: Vec<i64> = date
        .split('-')
        .map(|p| p.parse().expect("a number"))
        .collect();
    days_from_civil(parts[0], parts[1], parts[2])
}

/// A time of 2024-2026 before `limit_day`, on a month's last day one time in two (so on
/// 29 February 2024 when in that month).
fn some_time(rng: &mut Rng, from_day: i64, limit_day: i64) -> i64 {
    let mut day = (from_day + rng.below(100) as i64).min(limit_day);
    if rng.chance(50) {
        let (y, m, _) = civil_from_days(day);
        let last = days_from_civil(y, m, days_in_month(y, m));
        if last <= limit_day {
            day = last;
        }
    }
    day * DAY + rng.below(DAY as u64) as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overdue_data_for_any_as_of_agrees_with_a_brute_force_pass() {
    let ledger = TestLedger::start().await;
    let t = now();
    let last_day = t.div_euclid(DAY) - 2;
    let mut rng = Rng(SEED);
    // The schedule in force from 2023, and a stricter one from 200 days ahead.
    use RetentionTrigger::{LastCollection as Lc, RelationshipEnded as Re};
    let first_rules = vec![
        rule("*", "*", "*", (0, 12), Lc),
        rule("billing", "*", "*", (0, 24), Re),
        rule("marketing", "*", "dpv:Marketing", (90, 0), Lc),
        rule(MAILER, "*", "*", (30, 0), Lc),
        rule("crm", "pd:EmailAddress", "*", (0, 6), Re),
    ];
    let second_rules = vec![
        rule("*", "*", "*", (0, 36), Lc),
        rule("billing", "*", "*", (0, 12), Re),
        rule("crm", "*", "dpv:Marketing", (400, 0), Lc),
        rule("crm", "*", "dpv:Marketing", (0, 1), Re),
    ];
    let first_effective = days_from_civil(2023, 1, 1) * DAY;
    let second_effective = t + 200 * DAY;
    let mut policies = Vec::new();
    for (id, effective, rules) in [
        ("privacy-portal:ret-1", first_effective, first_rules),
        ("privacy-portal:ret-2", second_effective, second_rules),
    ] {
        let index = try_append(
            &ledger,
            ADMIN_TOKEN,
            policy_submission(id, effective, rules.clone()),
        )
        .await
        .expect("an admin declares");
        policies.push((index, effective, rules));
    }
    // The population.
    let mut sent: Vec<Sent> = Vec::new();
    let mut tokens: BTreeMap<String, usize> = BTreeMap::new();
    let subjects = 30;
    for subject in 0..subjects {
        let mut day = days_from_civil(2024, 1, 1) + rng.below(60) as i64;
        let mut mine: Vec<(u64, String)> = Vec::new();
        for n in 0..3 + rng.below(7) {
            let at = some_time(&mut rng, day, last_day);
            day = at.div_euclid(DAY) + 1;
            let (system, _) = SYSTEMS[rng.below(3) as usize];
            let choice = if n == 0 { 0 } else { rng.below(10) };
            let (kind, system) = match choice {
                0..=3 => (EventKind::Collection, system),
                4 => (EventKind::Share, system),
                5 => (
                    EventKind::DeletionDone,
                    if rng.chance(30) { MAILER } else { system },
                ),
                6 => (EventKind::ErasureExempted, system),
                7 if !mine.is_empty() => (EventKind::Correction, ""),
                _ => (EventKind::RelationshipEnded, system),
            };
            let mut sub = example_submission(kind);
            let event = sub.event.as_mut().expect("event");
            event.event_id = format!("ret:{subject}-{n}");
            event.occurred_at = Some(ts(at));
            event.actor = String::new();
            let system = if kind == EventKind::Correction {
                let (target, target_system) = mine[rng.below(mine.len() as u64) as usize].clone();
                event.correction = Some(pb::Correction {
                    target_index: target,
                    action: CorrectionAction::Retract as i32,
                    reason: "entered for the wrong subject".into(),
                });
                target_system
            } else {
                sub.subject = Some(pb::SubjectIdentifier {
                    kind: "customer_id".into(),
                    value: format!("R-{subject}"),
                });
                system.to_owned()
            };
            let event = sub.event.as_mut().expect("event");
            event.system = system.clone();
            match kind {
                EventKind::Collection | EventKind::Share => {
                    event.data_categories = vec![rng.pick(&CATEGORIES).into()];
                    event.purposes = vec![rng.pick(&PURPOSES).into()];
                    if kind == EventKind::Share {
                        event.recipient.as_mut().expect("recipient").name = MAILER.into();
                    }
                }
                EventKind::DeletionDone => event.data_categories = Vec::new(),
                EventKind::ErasureExempted => {
                    event.data_categories = Vec::new();
                    let exemption = event.exemption.as_mut().expect("exemption");
                    exemption.until = match rng.below(3) {
                        0 => None,
                        1 => Some(ts(at + (1 + rng.below(200) as i64) * DAY)),
                        _ => Some(ts(t + (1 + rng.below(500) as i64) * DAY)),
                    };
                }
                _ => {}
            }
            let sent_event = event.clone();
            let index = try_append(&ledger, token_of(&system), sub)
                .await
                .unwrap_or_else(|status| panic!("{kind:?} by {system}: {status:?}"));
            if kind != EventKind::Correction {
                mine.push((index, system.clone()));
            }
            if tokens.values().all(|s| *s != subject) && kind != EventKind::Correction {
                let mut client = ledger.client(AUDITOR_TOKEN).await;
                let got = client
                    .get_entry(pb::GetEntryRequest {
                        selector: Some(pb::get_entry_request::Selector::Index(index)),
                        producer: String::new(),
                    })
                    .await
                    .expect("the entry")
                    .into_inner();
                let entry: pb::Entry =
                    prost::Message::decode(got.entry.as_slice()).expect("an entry");
                tokens.insert(hex::encode(&entry.subject_token), subject);
            }
            sent.push((index, subject, sent_event));
        }
    }
    let mut client = reports(&ledger, AUDITOR_TOKEN).await;
    let mut compared = 0;
    let mut overdue_seen = 0;
    for (k, offset) in [DAY / 24, 90 * DAY, 210 * DAY, 500 * DAY, 1200 * DAY]
        .into_iter()
        .enumerate()
    {
        let as_of = t + offset;
        let want = brute_force(&sent, &policies, as_of);
        let limit = [7, 1, 1000, 3, 50][k];
        let (items, pages, last) = listed(&mut client, as_of, limit).await;
        let got: BTreeSet<_> = items
            .iter()
            .map(|item| {
                (
                    *tokens.get(&item.subject).expect("a subject of the test"),
                    item.holder.clone(),
                    item.data_category.clone(),
                    item.purpose.clone(),
                    day_number(&item.deadline),
                )
            })
            .collect();
        assert_eq!(got.len(), items.len(), "no item twice across pages");
        assert_eq!(got, want, "as_of {as_of} (seed {SEED:#x})");
        assert!(pages >= items.len() / limit as usize, "paged by {limit}");
        let in_force = if as_of >= second_effective { 1 } else { 0 };
        assert!(last.has_policy);
        assert_eq!(last.policy_index, policies[in_force].0);
        compared += 1;
        overdue_seen += want.len();
        if k == 3 {
            // The command line lists every page: one CSV line per item, in the server's order.
            let csv = report_retention(&ledger, &ts(as_of).to_string(), "csv");
            let mut lines = csv.lines();
            assert_eq!(
                lines.next(),
                Some(
                    "subject,holder,data_category,purpose,deadline,last_arrival_index,\
                     last_arrival_at,relationship_ended_index,relationship_ended_at,rule,\
                     exemption_ended_index"
                )
            );
            let rows: Vec<(String, String, String, String, String)> = lines
                .map(|line| {
                    let cells: Vec<&str> = line.split(',').collect();
                    assert_eq!(cells.len(), 11, "{line}");
                    (
                        cells[0].to_owned(),
                        cells[1].to_owned(),
                        cells[2].to_owned(),
                        cells[3].to_owned(),
                        cells[4].to_owned(),
                    )
                })
                .collect();
            let from_rpc: Vec<(String, String, String, String, String)> = items
                .iter()
                .map(|item| {
                    (
                        item.subject.clone(),
                        item.holder.clone(),
                        item.data_category.clone(),
                        item.purpose.clone(),
                        item.deadline.clone(),
                    )
                })
                .collect();
            assert!(!rows.is_empty(), "items to list at as_of {as_of}");
            assert_eq!(rows, from_rpc);
            let json = report_retention(&ledger, &ts(as_of).to_string(), "json");
            let json: serde_json::Value = serde_json::from_str(&json).expect("JSON");
            assert_eq!(json.as_array().map(Vec::len), Some(items.len()));
        }
    }
    assert!(
        compared == 5 && overdue_seen > 40,
        "a population worth comparing: {overdue_seen} overdue items"
    );
}

/// Runs `gdpr-ledger report retention` against the ledger with the auditor's token; its
/// standard output.
fn report_retention(ledger: &TestLedger, as_of: &str, format: &str) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
        .args(["report", "retention", "--as-of", as_of, "--format", format])
        .arg("--server")
        .arg(ledger.addr().to_string())
        .args(["--token", AUDITOR_TOKEN])
        .output()
        .expect("the command runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_declarations_ends_and_requests_are_refused_naming_what() {
    let ledger = TestLedger::start().await;
    let t = now();
    let rules = || {
        vec![rule(
            "*",
            "*",
            "*",
            (0, 12),
            RetentionTrigger::LastCollection,
        )]
    };
    // A producer may not declare the schedule, even in its own system.
    let mut by_producer = policy_submission("crm:ret-1", t, rules());
    by_producer.event.as_mut().expect("event").system = "crm".into();
    let status = try_append(&ledger, PRODUCER_TOKEN, by_producer)
        .await
        .expect_err("a producer's declaration");
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    assert!(
        status.message().contains("retention_policy_declared"),
        "{status:?}"
    );
    // A rule with both periods: refused naming the field, nothing appended.
    let size = ledger.tree_size().await;
    let mut both = rules();
    both[0].days = 30;
    let status = try_append(
        &ledger,
        ADMIN_TOKEN,
        policy_submission("privacy-portal:ret-2", t, both),
    )
    .await
    .expect_err("two periods");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(
        status
            .message()
            .contains("event.retention_policy.rules[0].months"),
        "{status:?}"
    );
    let mut unnamed = rules();
    unnamed[0].purpose = "Marketing".into();
    let status = try_append(
        &ledger,
        ADMIN_TOKEN,
        policy_submission("privacy-portal:ret-3", t, unnamed),
    )
    .await
    .expect_err("a purpose that is no term");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(
        status
            .message()
            .contains("event.retention_policy.rules[0].purpose"),
        "{status:?}"
    );
    assert_eq!(ledger.tree_size().await, size, "nothing appended");
    // A relationship ends in the producer's own systems only, as a collection is reported.
    let mut elsewhere = example_submission(EventKind::RelationshipEnded);
    elsewhere.event.as_mut().expect("event").system = "billing".into();
    let status = try_append(&ledger, PRODUCER_TOKEN, elsewhere.clone())
        .await
        .expect_err("another system's relationship");
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    assert!(status.message().contains("event.system"), "{status:?}");
    try_append(&ledger, BILLING_TOKEN, elsewhere)
        .await
        .expect("billing ends its own relationship");
    // A cursor that no page gave.
    let mut client = reports(&ledger, AUDITOR_TOKEN).await;
    let status = client
        .list_retention_overdue(pb::ListRetentionOverdueRequest {
            as_of: None,
            after: "not-a-cursor".into(),
            limit: 0,
        })
        .await
        .expect_err("a bad cursor");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("after"), "{status:?}");
    // Without a declaration nothing has a deadline.
    let answer = client
        .list_retention_overdue(pb::ListRetentionOverdueRequest::default())
        .await
        .expect("an answer")
        .into_inner();
    assert!(!answer.has_policy && answer.items.is_empty(), "{answer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_schedule_is_declared_at_start_and_a_bad_one_names_its_key() {
    use gdpr_ledger::reports::retention::{RetentionRuleConfig, TriggerConfig};
    let configured = vec![
        RetentionRuleConfig {
            system: "billing".into(),
            months: 120,
            ..RetentionRuleConfig::default()
        },
        RetentionRuleConfig {
            system: "*".into(),
            days: 30,
            trigger: TriggerConfig::RelationshipEnded,
            ..RetentionRuleConfig::default()
        },
    ];
    let mut ledger = TestLedger::start_with(|config| {
        config.retention.rules = Some(configured.clone());
    })
    .await;
    let mut client = reports(&ledger, AUDITOR_TOKEN).await;
    let answer = client
        .list_retention_overdue(pb::ListRetentionOverdueRequest::default())
        .await
        .expect("an answer")
        .into_inner();
    assert!(answer.has_policy, "declared at start");
    let declared = answer.policy_index;
    let mut reader = ledger.client(AUDITOR_TOKEN).await;
    let got = reader
        .get_entry(pb::GetEntryRequest {
            selector: Some(pb::get_entry_request::Selector::Index(declared)),
            producer: String::new(),
        })
        .await
        .expect("the declaration")
        .into_inner();
    let entry: pb::Entry = prost::Message::decode(got.entry.as_slice()).expect("an entry");
    let policy = entry
        .event
        .and_then(|e| e.retention_policy)
        .expect("a retention policy");
    assert_eq!(
        policy.rules,
        vec![
            rule(
                "billing",
                "*",
                "*",
                (0, 120),
                RetentionTrigger::LastCollection
            ),
            rule("*", "*", "*", (30, 0), RetentionTrigger::RelationshipEnded),
        ]
    );
    // The same configuration again: nothing more is declared.
    let size = ledger.tree_size().await;
    ledger.restart().await;
    assert_eq!(ledger.tree_size().await, size);
    drop(ledger);

    let dirs = tempfile::tempdir().expect("temp dir");
    let mut config = common::test_config(dirs.path());
    config.retention.rules = Some(vec![RetentionRuleConfig {
        system: "billing".into(),
        days: 30,
        months: 1,
        ..RetentionRuleConfig::default()
    }]);
    let error = match gdpr_ledger::server::start(config).await {
        Ok(_) => panic!("a rule with two periods is refused"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("[retention] rules[0].months:"), "{error}");
}

/// Scrapes until `gdpr_ledger_retention_overdue` reads `want` (the count runs every second
/// here), at most 20 s.
async fn wait_for_overdue(ledger: &TestLedger, want: f64) {
    let mut last = None;
    for _ in 0..200 {
        let (status, page) = common::http_get(ledger.metrics_addr(), "/metrics").await;
        assert_eq!(status, 200, "{page}");
        last = page.lines().find_map(|line| {
            line.strip_prefix("gdpr_ledger_retention_overdue ")?
                .parse::<f64>()
                .ok()
        });
        if last == Some(want) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("gdpr_ledger_retention_overdue reads {last:?}, not {want}");
}

/// The gauge counts the overdue items at the server's time (`[retention] count_every_secs`),
/// and follows a deletion confirmed late.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gauge_counts_the_overdue_items() {
    use gdpr_ledger::reports::retention::RetentionRuleConfig;
    let ledger = TestLedger::start_with(|config| {
        config.retention.count_every_secs = 1;
        config.retention.rules = Some(vec![RetentionRuleConfig {
            system: "crm".into(),
            days: 30,
            ..RetentionRuleConfig::default()
        }]);
    })
    .await;
    wait_for_overdue(&ledger, 0.0).await;
    let t = now();
    // Collected 60 days ago: two items (two categories), overdue; another subject today.
    for (id, subject, at) in [("g-1", "G-1", t - 60 * DAY), ("g-2", "G-2", t)] {
        let mut sub = example_submission(EventKind::Collection);
        let event = sub.event.as_mut().expect("event");
        event.event_id = id.into();
        event.occurred_at = Some(ts(at));
        event.data_categories = CATEGORIES.iter().map(|c| (*c).to_owned()).collect();
        event.purposes = vec![PURPOSES[1].into()];
        sub.subject = Some(pb::SubjectIdentifier {
            kind: "customer_id".into(),
            value: subject.into(),
        });
        try_append(&ledger, PRODUCER_TOKEN, sub)
            .await
            .expect("a collection");
    }
    wait_for_overdue(&ledger, 2.0).await;
    let mut deletion = example_submission(EventKind::DeletionDone);
    let event = deletion.event.as_mut().expect("event");
    event.event_id = "g-1-deleted".into();
    event.occurred_at = Some(ts(t));
    event.system = "crm".into();
    deletion.subject = Some(pb::SubjectIdentifier {
        kind: "customer_id".into(),
        value: "G-1".into(),
    });
    try_append(&ledger, PRODUCER_TOKEN, deletion)
        .await
        .expect("a deletion");
    wait_for_overdue(&ledger, 0.0).await;
}
