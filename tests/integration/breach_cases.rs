//! Breach cases and the 72-hour clock of article 33 (docs/breach-cases.md), through a real
//! server: cases reported and notified with the producer's token, read with the auditor's; the
//! clock at times before and after the deadline; notifications on time, late without and with
//! reasons; the draft's counts against InvestigateBreach's over the same systems and window; its
//! bundle through the core verifier; the rules that need the log; who may read.

use crate::common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::{ADMIN_TOKEN, AUDITOR_TOKEN, PRODUCER_TOKEN, TestLedger};
use gdpr_ledger::client::{AuthenticatedReportsClient, investigate_breach, reports_client};
use gdpr_ledger::core::bundle::verify_bundle_json;
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::proto::v1::{BreachCaseState, EventKind};
use gdpr_ledger::validation::example_submission;
use prost_types::Timestamp;

const H: i64 = 3600;
const DAY: i64 = 86_400;
const DPO: &str = "DPO office, dpo@example.com";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

fn ts(seconds: i64) -> Timestamp {
    Timestamp { seconds, nanos: 0 }
}

async fn start() -> TestLedger {
    TestLedger::start_with(|config| {
        config.controller.name = "Example GmbH".into();
        config.controller.dpo_contact = DPO.into();
    })
    .await
}

async fn reports(ledger: &TestLedger, token: &str) -> AuthenticatedReportsClient {
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", ledger.addr()))
        .expect("address")
        .connect()
        .await
        .expect("connect");
    reports_client(channel, token).expect("token")
}

/// A collection in `system` at `at` about subject `who`, of `categories`.
fn collection(
    id: &str,
    system: &str,
    at: i64,
    who: u32,
    categories: &[&str],
) -> pb::EventSubmission {
    let mut sub = example_submission(EventKind::Collection);
    let event = sub.event.as_mut().expect("event");
    event.event_id = id.into();
    event.system = system.into();
    event.occurred_at = Some(ts(at));
    event.data_categories = categories.iter().map(|c| (*c).to_owned()).collect();
    if categories.contains(&"pd:Health") {
        event.legal_bases.push("eu-gdpr:A9-2-a".into());
    }
    sub.subject = Some(pb::SubjectIdentifier {
        kind: "email".into(),
        value: format!("person{who}@example.com"),
    });
    sub
}

/// A breach report of case `breach_ref` in `system`, with `details`.
fn report(
    id: &str,
    breach_ref: &str,
    system: &str,
    details: Option<pb::BreachDetails>,
) -> pb::EventSubmission {
    let mut sub = example_submission(EventKind::Breach);
    let event = sub.event.as_mut().expect("event");
    event.event_id = id.into();
    event.breach_ref = breach_ref.into();
    event.system = system.into();
    event.occurred_at = Some(ts(now()));
    event.breach_details = details;
    sub
}

/// The details of a first report: aware at `aware`, affecting the window `[from, to)`.
fn details(aware: i64, window: Option<(i64, i64)>) -> pb::BreachDetails {
    pb::BreachDetails {
        aware_at: Some(ts(aware)),
        nature: "webshop database dump exposed".into(),
        likely_consequences: "phishing of customers".into(),
        measures: "dump removed; passwords reset".into(),
        window_from: window.map(|(from, _)| ts(from)),
        window_to: window.map(|(_, to)| ts(to)),
        subject_categories: vec!["dpv:Customer".into()],
    }
}

fn notified(id: &str, breach_ref: &str, at: i64, reasons: &str) -> pb::EventSubmission {
    let mut sub = example_submission(EventKind::BreachNotified);
    let event = sub.event.as_mut().expect("event");
    event.event_id = id.into();
    event.breach_ref = breach_ref.into();
    event.occurred_at = Some(ts(now()));
    event.breach_notification = Some(pb::BreachNotification {
        authority: "BfDI".into(),
        notified_at: Some(ts(at)),
        reference: format!("ref-{id}"),
        reasons_for_delay: reasons.into(),
    });
    sub
}

fn subjects_not_told(id: &str, breach_ref: &str, ground: &str) -> pb::EventSubmission {
    let mut sub = example_submission(EventKind::SubjectsNotified);
    let event = sub.event.as_mut().expect("event");
    event.event_id = id.into();
    event.breach_ref = breach_ref.into();
    event.occurred_at = Some(ts(now()));
    event.subjects_notification = Some(pb::SubjectsNotification {
        notified_at: None,
        not_notified_ground: ground.into(),
        reason: "data encrypted at rest".into(),
    });
    sub
}

/// `submission` with its event in `system`.
fn in_system(mut submission: pb::EventSubmission, system: &str) -> pb::EventSubmission {
    if let Some(event) = submission.event.as_mut() {
        event.system = system.into();
    }
    submission
}

async fn append(
    ledger: &TestLedger,
    submission: pb::EventSubmission,
) -> Result<pb::Receipt, tonic::Status> {
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    let response = producer
        .append(pb::AppendRequest {
            submission: Some(submission),
            include_bundle: false,
        })
        .await?;
    Ok(response.into_inner().receipt.expect("a receipt"))
}

async fn batch(
    ledger: &TestLedger,
    submissions: Vec<pb::EventSubmission>,
) -> Result<Vec<pb::Receipt>, tonic::Status> {
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    Ok(producer
        .append_batch(pb::AppendBatchRequest {
            submissions,
            include_bundle: false,
        })
        .await?
        .into_inner()
        .receipts)
}

async fn case(
    client: &mut AuthenticatedReportsClient,
    breach_ref: &str,
    as_of: i64,
    include_bundle: bool,
) -> Result<pb::GetBreachCaseResponse, tonic::Status> {
    Ok(client
        .get_breach_case(pb::GetBreachCaseRequest {
            breach_ref: breach_ref.into(),
            as_of: Some(ts(as_of)),
            include_bundle,
        })
        .await?
        .into_inner())
}

fn clock(response: &pb::GetBreachCaseResponse) -> &pb::BreachCase {
    response.breach_case.as_ref().expect("a case")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clock_runs_72_hours_from_aware_at_and_the_draft_counts_as_investigate_breach() {
    let ledger = start().await;
    let t = now();
    let (from, to) = (t - 10 * DAY, t - 2 * DAY);
    // In the window in webshop: 6 records of 4 subjects; outside it, or in another system: not
    // counted.
    let mut submissions = Vec::new();
    for (i, (who, day, categories)) in [
        (1, 9, &["pd:EmailAddress"][..]),
        (2, 8, &["pd:EmailAddress", "pd:Name"][..]),
        (3, 7, &["pd:Name"][..]),
        (1, 5, &["pd:EmailAddress"][..]),
        (4, 4, &["pd:Health"][..]),
        (2, 3, &["pd:Name"][..]),
    ]
    .into_iter()
    .enumerate()
    {
        submissions.push(collection(
            &format!("web-{i}"),
            "webshop",
            t - day * DAY,
            who,
            categories,
        ));
    }
    submissions.push(collection(
        "web-old",
        "webshop",
        t - 20 * DAY,
        5,
        &["pd:Name"],
    ));
    submissions.push(collection("web-late", "webshop", t - DAY, 6, &["pd:Name"]));
    submissions.push(collection("crm-in", "crm", t - 5 * DAY, 7, &["pd:Name"]));
    let appended = batch(&ledger, submissions).await.expect("collections");
    let in_window: Vec<u64> = appended[..6].iter().map(|r| r.index).collect();
    let aware = t - 71 * H;
    let first = append(
        &ledger,
        report(
            "br-1",
            "BR-T-1",
            "webshop",
            Some(details(aware, Some((from, to)))),
        ),
    )
    .await
    .expect("the case's first report");

    let mut auditor = reports(&ledger, AUDITOR_TOKEN).await;
    // Before the deadline: time left.
    let open = case(&mut auditor, "BR-T-1", t + 1800, false)
        .await
        .expect("the case");
    let c = clock(&open);
    assert_eq!(c.state(), BreachCaseState::Open);
    assert_eq!(c.aware_at, Some(ts(aware)));
    assert_eq!(c.deadline, Some(ts(aware + 72 * H)));
    assert_eq!(c.seconds_left, H - 1800);
    assert_eq!(c.seconds_late, 0);
    assert_eq!(c.systems, vec!["webshop".to_owned()]);
    assert_eq!(c.entry_indexes, vec![first.index]);
    // After it: overdue, by how much.
    let overdue = case(&mut auditor, "BR-T-1", t + 3 * H, false)
        .await
        .expect("the case");
    let c = clock(&overdue);
    assert_eq!(c.state(), BreachCaseState::Overdue);
    assert_eq!(c.seconds_late, 2 * H);
    assert_eq!(c.seconds_left, 0);
    // Before anything of it was received, the log held no such case.
    let before = case(&mut auditor, "BR-T-1", t - H, false)
        .await
        .expect_err("not in the log yet");
    assert_eq!(before.code(), tonic::Code::NotFound);
    assert!(
        before.message().starts_with("breach_ref:"),
        "{}",
        before.message()
    );

    // The draft: every article 33(3) field; the counts are InvestigateBreach's.
    let (_, summary) = investigate_breach(
        &mut auditor,
        pb::InvestigateBreachRequest {
            systems: vec!["webshop".into()],
            from: Some(ts(from)),
            to: Some(ts(to)),
            summary_only: true,
            ..Default::default()
        },
        |_, _| {},
    )
    .await
    .expect("investigation");
    assert_eq!((summary.subjects, summary.records), (4, 6));
    let draft = overdue.draft.clone().expect("a draft");
    let counts = draft.counts.clone().expect("counts");
    assert_eq!(counts.subjects, summary.subjects);
    assert_eq!(counts.records, summary.records);
    assert_eq!(counts.per_category, summary.per_category);
    assert_eq!(counts.per_system, summary.per_system);
    assert_eq!(counts.special_categories, vec!["pd:Health".to_owned()]);
    assert_eq!(draft.approximate_subjects, 4);
    assert_eq!(draft.approximate_records, 6);
    assert_eq!(draft.nature, "webshop database dump exposed");
    assert_eq!(draft.subject_categories, vec!["dpv:Customer".to_owned()]);
    assert_eq!(draft.likely_consequences, "phishing of customers");
    assert_eq!(draft.measures, "dump removed; passwords reset");
    assert_eq!(draft.dpo_contact, DPO);
    assert_eq!(draft.controller, "Example GmbH");
    assert!(draft.missing.is_empty(), "{:?}", draft.missing);
    // The report's categories and the counted ones.
    for category in ["pd:EmailAddress", "pd:Name", "pd:HealthRecord", "pd:Health"] {
        assert!(
            draft.data_categories.contains(&category.to_owned()),
            "{category}"
        );
    }
    // The read that counted was logged, like an investigation, as an access entry.
    assert_ne!(overdue.access_entry_index, 0);
    let mut client = ledger.client(AUDITOR_TOKEN).await;
    let logged = client
        .get_entry(pb::GetEntryRequest {
            selector: Some(pb::get_entry_request::Selector::Index(
                overdue.access_entry_index,
            )),
            producer: String::new(),
        })
        .await
        .expect("the access entry")
        .into_inner();
    let entry: pb::Entry = prost::Message::decode(logged.entry.as_slice()).expect("an entry");
    let event = entry.event.expect("event");
    assert_eq!(event.kind(), EventKind::Access);
    assert_eq!(event.system, "gdpr-ledger");
    assert!(event.event_id.contains("breach-case"), "{}", event.event_id);
    assert_eq!(entry.producer, "dpo-office");

    // With the bundle: every entry relied on, proved against a signed checkpoint.
    let proved = case(&mut auditor, "BR-T-1", t + 3 * H, true)
        .await
        .expect("the case with its bundle");
    // Entry 0 is the controller's declaration the server made at start from `[controller]`.
    let mut expected: Vec<u64> = in_window.clone();
    expected.push(0);
    expected.push(first.index);
    expected.sort_unstable();
    assert_eq!(proved.relied_on, expected);
    let verified = verify_bundle_json(&proved.bundle_json, &[ledger.verifier_key()])
        .expect("the bundle verifies");
    let indexes: Vec<u64> = verified.entries.iter().map(|e| e.entry.index()).collect();
    assert_eq!(indexes, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_make_a_case_on_time_or_late_and_corrections_count() {
    let ledger = start().await;
    let t = now();
    // Case A, aware 10 h ago, notified an hour ago: on time.
    append(
        &ledger,
        report("a-1", "BR-A", "crm", Some(details(t - 10 * H, None))),
    )
    .await
    .expect("report A");
    let a_notified = append(&ledger, notified("a-n", "BR-A", t - H, ""))
        .await
        .expect("notified A");
    let told = append(&ledger, subjects_not_told("a-s", "BR-A", "eu-gdpr:A34-3-a"))
        .await
        .expect("subjects of A");
    // Case B, aware 100 h ago, notified an hour ago without reasons: late by 27 h, flagged.
    append(
        &ledger,
        report("b-1", "BR-B", "crm", Some(details(t - 100 * H, None))),
    )
    .await
    .expect("report B");
    append(&ledger, notified("b-n", "BR-B", t - H, ""))
        .await
        .expect("notified B");
    // Case C, aware an hour ago, not notified.
    append(
        &ledger,
        report("c-1", "BR-C", "crm", Some(details(t - H, None))),
    )
    .await
    .expect("report C");

    let mut auditor = reports(&ledger, AUDITOR_TOKEN).await;
    let a = case(&mut auditor, "BR-A", t + 60, false).await.expect("A");
    let c = clock(&a);
    assert_eq!(c.state(), BreachCaseState::NotifiedOnTime);
    assert_eq!(c.notified_at, Some(ts(t - H)));
    assert_eq!(c.authority_notifications.len(), 1);
    assert_eq!(c.authority_notifications[0].index, a_notified.index);
    assert_eq!(c.subjects_notifications.len(), 1);
    let subjects = &c.subjects_notifications[0];
    assert_eq!(subjects.index, told.index);
    assert_eq!(
        subjects
            .notification
            .as_ref()
            .map(|n| n.not_notified_ground.as_str()),
        Some("eu-gdpr:A34-3-a")
    );
    // No window was declared: nothing counted, nothing logged, and the draft says so.
    assert_eq!(a.access_entry_index, 0);
    let draft = a.draft.clone().expect("draft");
    assert!(draft.counts.is_none());
    assert_eq!(draft.missing, vec!["window".to_owned()]);

    let b = case(&mut auditor, "BR-B", t + 60, false).await.expect("B");
    let c = clock(&b);
    assert_eq!(c.state(), BreachCaseState::NotifiedLate);
    assert_eq!(c.seconds_late, 27 * H);
    assert!(c.late_without_reasons);
    // A later notification of the case brings the reasons: still late, no longer flagged.
    append(
        &ledger,
        notified("b-n2", "BR-B", t, "forensic analysis first"),
    )
    .await
    .expect("reasons for B");
    let b = case(&mut auditor, "BR-B", t + 60, false).await.expect("B");
    let c = clock(&b);
    assert_eq!(c.state(), BreachCaseState::NotifiedLate);
    assert_eq!(c.seconds_late, 27 * H, "the first notification counts");
    assert!(!c.late_without_reasons);
    assert_eq!(
        c.reasons_for_delay,
        vec!["forensic analysis first".to_owned()]
    );

    // The list: every case with its clock; open ones only.
    let all = auditor
        .list_breach_cases(pb::ListBreachCasesRequest {
            as_of: Some(ts(t + 60)),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    let states: Vec<(String, BreachCaseState)> = all
        .cases
        .iter()
        .map(|c| (c.breach_ref.clone(), c.state()))
        .collect();
    assert_eq!(
        states,
        vec![
            ("BR-A".to_owned(), BreachCaseState::NotifiedOnTime),
            ("BR-B".to_owned(), BreachCaseState::NotifiedLate),
            ("BR-C".to_owned(), BreachCaseState::Open),
        ]
    );
    assert!(all.next_after.is_empty());
    let open = auditor
        .list_breach_cases(pb::ListBreachCasesRequest {
            as_of: Some(ts(t + 60)),
            open_only: true,
            ..Default::default()
        })
        .await
        .expect("open cases")
        .into_inner();
    let refs: Vec<&str> = open.cases.iter().map(|c| c.breach_ref.as_str()).collect();
    assert_eq!(refs, vec!["BR-C"]);
    let paged = auditor
        .list_breach_cases(pb::ListBreachCasesRequest {
            as_of: Some(ts(t + 60)),
            limit: 2,
            ..Default::default()
        })
        .await
        .expect("a page")
        .into_inner();
    assert_eq!(paged.cases.len(), 2);
    assert_eq!(paged.next_after, "BR-B");

    // A retracted notification no longer counts: A is open again.
    let mut retract = example_submission(EventKind::Correction);
    let event = retract.event.as_mut().expect("event");
    event.event_id = "a-n-retract".into();
    event.occurred_at = Some(ts(now()));
    event.correction = Some(pb::Correction {
        target_index: a_notified.index,
        action: pb::CorrectionAction::Retract as i32,
        reason: "sent to the wrong authority".into(),
    });
    append(&ledger, retract).await.expect("retraction");
    let a = case(&mut auditor, "BR-A", t + 60, false).await.expect("A");
    assert_eq!(clock(&a).state(), BreachCaseState::Open);
    assert!(clock(&a).authority_notifications.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rules_of_a_case_are_checked_and_name_the_field() {
    let ledger = start().await;
    let t = now();
    let refused = |status: tonic::Status, code: tonic::Code, field: &str| {
        assert_eq!(status.code(), code, "{}", status.message());
        assert!(
            status.message().starts_with(&format!("{field}:")),
            "expected {field}: {}",
            status.message()
        );
    };
    // No breach_ref.
    let status = append(
        &ledger,
        report("x-1", "", "crm", Some(details(t - H, None))),
    )
    .await
    .expect_err("no breach_ref");
    refused(
        status,
        tonic::Code::InvalidArgument,
        "submission.event.breach_ref",
    );
    // The first report of a case says when the controller became aware.
    let status = append(&ledger, report("x-2", "BR-X", "crm", None))
        .await
        .expect_err("no aware_at");
    refused(
        status,
        tonic::Code::FailedPrecondition,
        "submission.event.breach_details.aware_at",
    );
    // Notifications of a case the log does not hold.
    let status = append(&ledger, notified("x-3", "BR-X", t, ""))
        .await
        .expect_err("unknown case");
    refused(
        status,
        tonic::Code::FailedPrecondition,
        "submission.event.breach_ref",
    );
    let status = append(&ledger, subjects_not_told("x-4", "BR-X", "eu-gdpr:A34-3-b"))
        .await
        .expect_err("unknown case");
    refused(
        status,
        tonic::Code::FailedPrecondition,
        "submission.event.breach_ref",
    );
    // Bad times.
    let status = append(
        &ledger,
        report("x-5", "BR-X", "crm", Some(details(t + DAY, None))),
    )
    .await
    .expect_err("aware in the future");
    refused(
        status,
        tonic::Code::InvalidArgument,
        "submission.event.breach_details.aware_at",
    );
    let mut bad = notified("x-6", "BR-X", t, "");
    if let Some(n) = bad
        .event
        .as_mut()
        .and_then(|e| e.breach_notification.as_mut())
    {
        n.notified_at = Some(Timestamp {
            seconds: t,
            nanos: -1,
        });
    }
    let status = append(&ledger, bad).await.expect_err("bad nanos");
    refused(
        status,
        tonic::Code::InvalidArgument,
        "submission.event.breach_notification.notified_at",
    );
    let status = append(
        &ledger,
        report(
            "x-7",
            "BR-X",
            "crm",
            Some(details(t - H, Some((t - H, t - 2 * H)))),
        ),
    )
    .await
    .expect_err("a window backwards");
    refused(
        status,
        tonic::Code::InvalidArgument,
        "submission.event.breach_details.window_to",
    );
    // In a batch, an earlier submission may open the case; a later one may not.
    let status = batch(
        &ledger,
        vec![
            notified("y-n", "BR-Y", t, ""),
            report("y-1", "BR-Y", "crm", Some(details(t - H, None))),
        ],
    )
    .await
    .expect_err("notified before reported");
    refused(
        status,
        tonic::Code::FailedPrecondition,
        "submissions[0].event.breach_ref",
    );
    let receipts = batch(
        &ledger,
        vec![
            report("y-1", "BR-Y", "crm", Some(details(t - H, None))),
            notified("y-n", "BR-Y", t, ""),
        ],
    )
    .await
    .expect("reported, then notified");
    assert_eq!(receipts.len(), 2);
    // Later reports need not repeat aware_at.
    append(&ledger, report("y-2", "BR-Y", "crm", None))
        .await
        .expect("a later report");

    // Reading: refs are checked, unknown cases are NOT_FOUND; producers may not read cases,
    // auditors and admins may.
    let mut auditor = reports(&ledger, AUDITOR_TOKEN).await;
    let status = case(&mut auditor, "", t, false).await.expect_err("no ref");
    refused(status, tonic::Code::InvalidArgument, "breach_ref");
    let status = case(&mut auditor, "BR Y", t, false)
        .await
        .expect_err("a bad ref");
    refused(status, tonic::Code::InvalidArgument, "breach_ref");
    let status = case(&mut auditor, "BR-Z", t + 60, false)
        .await
        .expect_err("unknown");
    refused(status, tonic::Code::NotFound, "breach_ref");
    let y = case(&mut auditor, "BR-Y", t + 60, false).await.expect("Y");
    assert_eq!(clock(&y).entry_indexes.len(), 3);
    let mut admin = reports(&ledger, ADMIN_TOKEN).await;
    case(&mut admin, "BR-Y", t + 60, false)
        .await
        .expect("admins may read");
    let mut producer = reports(&ledger, PRODUCER_TOKEN).await;
    let status = case(&mut producer, "BR-Y", t + 60, false)
        .await
        .expect_err("producers may not read");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    let status = producer
        .list_breach_cases(pb::ListBreachCasesRequest::default())
        .await
        .expect_err("producers may not list");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_system_that_opened_a_case_or_an_admin_speaks_for_it() {
    let ledger = start().await;
    let t = now();
    // The case is crm's. The producer's token also reports for webshop (an integration hub), so
    // what refuses webshop below is the case's owner, not the token.
    append(
        &ledger,
        report("z-1", "BR-Z", "crm", Some(details(t - 80 * H, None))),
    )
    .await
    .expect("crm opens the case");
    let denied = |status: tonic::Status, field: &str| {
        assert_eq!(
            status.code(),
            tonic::Code::PermissionDenied,
            "{}",
            status.message()
        );
        assert!(
            status.message().starts_with(&format!(
                "{field}: breach case \"BR-Z\" was opened by system \"crm\""
            )),
            "{}",
            status.message()
        );
    };
    // Another system may not mark the case notified (which would stop its clock on time) ...
    let status = append(
        &ledger,
        in_system(notified("z-n", "BR-Z", t - 79 * H, ""), "webshop"),
    )
    .await
    .expect_err("webshop notifies crm's case");
    denied(status, "submission.event.system");
    // ... nor record the subjects as told, nor rewrite the case's facts (the draft's text).
    let status = append(
        &ledger,
        in_system(
            subjects_not_told("z-s", "BR-Z", "eu-gdpr:A34-3-a"),
            "webshop",
        ),
    )
    .await
    .expect_err("webshop answers for crm's case");
    denied(status, "submission.event.system");
    let status = append(
        &ledger,
        report("z-2", "BR-Z", "webshop", Some(details(t, None))),
    )
    .await
    .expect_err("webshop restates crm's case");
    denied(status, "submission.event.system");
    // In a batch, the position is named; nothing of the batch is appended.
    let status = batch(
        &ledger,
        vec![
            collection("z-c", "webshop", t - DAY, 1, &["pd:Name"]),
            in_system(notified("z-n", "BR-Z", t - 79 * H, ""), "webshop"),
        ],
    )
    .await
    .expect_err("in a batch");
    denied(status, "submissions[1].event.system");
    // A case opened earlier in the same batch has its owner too.
    let status = batch(
        &ledger,
        vec![
            report("q-1", "BR-Q", "crm", Some(details(t - H, None))),
            in_system(notified("q-n", "BR-Q", t, ""), "webshop"),
        ],
    )
    .await
    .expect_err("a case opened in the batch");
    assert_eq!(
        status.code(),
        tonic::Code::PermissionDenied,
        "{}",
        status.message()
    );
    assert!(
        status
            .message()
            .starts_with("submissions[1].event.system: breach case \"BR-Q\""),
        "{}",
        status.message()
    );

    let mut auditor = reports(&ledger, AUDITOR_TOKEN).await;
    let z = case(&mut auditor, "BR-Z", t + 60, false).await.expect("Z");
    assert_eq!(
        clock(&z).state(),
        BreachCaseState::Overdue,
        "nothing refused was appended"
    );
    assert_eq!(clock(&z).entry_indexes.len(), 1);
    // A record of one affected subject (no breach_details) may come from any system.
    append(&ledger, report("z-3", "BR-Z", "webshop", None))
        .await
        .expect("webshop records an affected subject of its own");
    // The opener's system notifies; so may an admin, in any system.
    append(&ledger, notified("z-n", "BR-Z", t - 70 * H, ""))
        .await
        .expect("crm notifies its case");
    let mut admin = ledger.client(ADMIN_TOKEN).await;
    admin
        .append(pb::AppendRequest {
            submission: Some(in_system(
                subjects_not_told("z-s", "BR-Z", "eu-gdpr:A34-3-a"),
                "webshop",
            )),
            include_bundle: false,
        })
        .await
        .expect("an admin speaks for any case");
    let z = case(&mut auditor, "BR-Z", t + 60, false).await.expect("Z");
    assert_eq!(clock(&z).state(), BreachCaseState::NotifiedOnTime);
    assert_eq!(clock(&z).entry_indexes.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_dir_without_the_case_rows_gets_them_by_a_backfill() {
    let mut ledger = start().await;
    let t = now();
    let first = append(
        &ledger,
        report("r-1", "BR-R", "crm", Some(details(t - H, None))),
    )
    .await
    .expect("report");
    let notice = append(&ledger, notified("r-n", "BR-R", t, ""))
        .await
        .expect("notified");
    ledger.stop().await;
    {
        // What a data dir made before the case rows looks like: no report rows, no marks.
        let store = gdpr_ledger::storage::LedgerStore::open(
            &ledger.data_dir(),
            &ledger.config.origin,
            &ledger.config.storage,
        )
        .expect("store opens");
        store.reset_report_index().expect("reset");
        assert_eq!(store.breach_cases_next().expect("mark"), 0);
    }
    ledger.restart().await;
    let mut auditor = reports(&ledger, AUDITOR_TOKEN).await;
    let r = case(&mut auditor, "BR-R", t + 60, false)
        .await
        .expect("the case, backfilled");
    assert_eq!(clock(&r).entry_indexes, vec![first.index, notice.index]);
    assert_eq!(clock(&r).state(), BreachCaseState::NotifiedOnTime);
}

/// Runs `gdpr-ledger breach <args>` against the ledger with the auditor's token; its stdout.
fn breach_command(ledger: &TestLedger, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
        .arg("breach")
        .args(args)
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
async fn the_breach_command_prints_clocks_and_the_draft_as_text_and_escaped_html() {
    let ledger = start().await;
    let t = now();
    batch(
        &ledger,
        vec![
            collection("w-1", "webshop", t - 5 * DAY, 1, &["pd:EmailAddress"]),
            collection("w-2", "webshop", t - 4 * DAY, 2, &["pd:EmailAddress"]),
        ],
    )
    .await
    .expect("collections");
    let mut first = details(t - 80 * H, Some((t - 10 * DAY, t - DAY)));
    first.nature = "<b>dump</b> & \"co\"".into();
    append(&ledger, report("h-1", "BR-H", "webshop", Some(first)))
        .await
        .expect("report");
    append(
        &ledger,
        in_system(notified("h-n", "BR-H", t - H, ""), "webshop"),
    )
    .await
    .expect("late notification");
    append(
        &ledger,
        report("o-1", "BR-O", "crm", Some(details(t - H, None))),
    )
    .await
    .expect("an open case");

    let text = breach_command(&ledger, &["case", "BR-H"]);
    assert!(
        text.contains("notified LATE by 0d 07h 00m, WITHOUT reasons"),
        "{text}"
    );
    assert!(text.contains(DPO), "{text}");
    assert!(text.contains("<b>dump</b> & \"co\""), "{text}");
    assert!(
        text.lines().any(
            |line| line.starts_with("(a) Approximate number of data subjects")
                && line.trim_end().ends_with(" 2")
        ),
        "{text}"
    );
    let html = breach_command(&ledger, &["case", "BR-H", "--format", "html"]);
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(
        html.contains("&lt;b&gt;dump&lt;/b&gt; &amp; &quot;co&quot;"),
        "{html}"
    );
    assert!(!html.contains("<b>"), "{html}");
    let list = breach_command(&ledger, &["list"]);
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(list.contains("BR-H") && list.contains("BR-O"), "{list}");
    let open = breach_command(&ledger, &["list", "--open"]);
    assert!(
        open.contains("BR-O") && open.contains("open: 2d 22h"),
        "{open}"
    );
    assert!(!open.contains("BR-H"), "{open}");
}

/// The entry at `index`, decoded.
async fn entry(ledger: &TestLedger, index: u64) -> pb::Entry {
    let mut client = ledger.client(AUDITOR_TOKEN).await;
    let response = client
        .get_entry(pb::GetEntryRequest {
            selector: Some(pb::get_entry_request::Selector::Index(index)),
            producer: String::new(),
        })
        .await
        .expect("the entry")
        .into_inner();
    prost::Message::decode(response.entry.as_slice()).expect("an entry")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dpo_contact_is_declared_in_the_log_and_read_as_of() {
    let mut ledger = start().await;
    // The first start declared [controller] in the log.
    let declared = entry(&ledger, 0).await;
    let event = declared.event.expect("event");
    assert_eq!(event.kind(), EventKind::ControllerDeclared);
    assert_eq!(event.system, "gdpr-ledger");
    assert_eq!(declared.producer, "gdpr-ledger");
    let declaration = event.controller_declaration.expect("declaration");
    assert_eq!(declaration.dpo_contact, DPO);
    let t = now();
    append(
        &ledger,
        report("d-1", "BR-D", "crm", Some(details(t - H, None))),
    )
    .await
    .expect("report");
    let mut auditor = reports(&ledger, AUDITOR_TOKEN).await;
    let d = case(&mut auditor, "BR-D", t + 60, false).await.expect("D");
    assert_eq!(d.draft.as_ref().map(|d| d.dpo_contact.as_str()), Some(DPO));
    assert!(d.relied_on.contains(&0), "{:?}", d.relied_on);

    // The same configuration again: nothing new is declared.
    let size = ledger.tree_size().await;
    ledger.restart().await;
    assert_eq!(ledger.tree_size().await, size);
    // A new DPO: declared from the restart on; answers before it keep the old one.
    ledger.config.controller.dpo_contact = "New DPO office, dpo2@example.com".into();
    ledger.restart().await;
    assert_eq!(ledger.tree_size().await, size + 1);
    let second = entry(&ledger, size).await;
    // In force from its effective_at, in the log from its received_at (a moment later).
    let recorded = second.received_at.expect("received_at");
    let second = second.event.expect("event");
    let effective = second
        .controller_declaration
        .and_then(|d| d.effective_at)
        .expect("effective_at");
    let just_before = if effective.nanos > 0 {
        Timestamp {
            seconds: effective.seconds,
            nanos: effective.nanos - 1,
        }
    } else {
        Timestamp {
            seconds: effective.seconds - 1,
            nanos: 999_999_999,
        }
    };
    let auditor = reports(&ledger, AUDITOR_TOKEN).await;
    let read = |as_of: Timestamp| {
        let mut auditor = auditor.clone();
        async move {
            auditor
                .get_breach_case(pb::GetBreachCaseRequest {
                    breach_ref: "BR-D".into(),
                    as_of: Some(as_of),
                    include_bundle: false,
                })
                .await
                .expect("D")
                .into_inner()
                .draft
                .expect("draft")
                .dpo_contact
        }
    };
    assert_eq!(read(just_before).await, DPO);
    assert_eq!(read(recorded).await, "New DPO office, dpo2@example.com");

    // Producers cannot declare the controller; admins can, ahead of time: in force from its
    // effective_at only.
    let mut declaration = example_submission(EventKind::ControllerDeclared);
    let event = declaration.event.as_mut().expect("event");
    event.system = "crm".into();
    event.occurred_at = Some(ts(now()));
    event.controller_declaration = Some(pb::ControllerDeclaration {
        name: "Example GmbH".into(),
        dpo_contact: "Future DPO, dpo3@example.com".into(),
        effective_at: Some(ts(t + 10 * DAY)),
    });
    let status = append(&ledger, declaration.clone())
        .await
        .expect_err("a producer's declaration");
    assert_eq!(
        status.code(),
        tonic::Code::PermissionDenied,
        "{}",
        status.message()
    );
    let mut admin = ledger.client(ADMIN_TOKEN).await;
    admin
        .append(pb::AppendRequest {
            submission: Some(declaration),
            include_bundle: false,
        })
        .await
        .expect("an admin's declaration");
    assert_eq!(
        read(ts(now() + 60)).await,
        "New DPO office, dpo2@example.com"
    );
    assert_eq!(read(ts(t + 11 * DAY)).await, "Future DPO, dpo3@example.com");
}
