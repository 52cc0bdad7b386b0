//! Data subject request cases and the article 12(3) clock (docs/requests.md), through a real
//! server on 127.0.0.1 with RocksDB in a temporary directory: receipts, an extension and an
//! answer appended by the producer, the policy by an admin; the cases read by the auditor for
//! several `as_of` times (the injected clock: the server's own clock is never waited on); the
//! answers against the pure register's rules; who may read; bad requests.

use crate::common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::{ADMIN_TOKEN, AUDITOR_TOKEN, PRODUCER_TOKEN, TestLedger};
use gdpr_ledger::client::{AuthenticatedReportsClient, reports_client};
use gdpr_ledger::core::deadline::DeadlinePolicy;
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::proto::v1::{EventKind, RequestCaseState};
use gdpr_ledger::validation::example_submission;
use prost_types::Timestamp;

const DAY: i64 = 86_400;
const ZONE: &str = "Europe/Berlin";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

fn ts(seconds: i64) -> Timestamp {
    Timestamp { seconds, nanos: 0 }
}

async fn reports(ledger: &TestLedger, token: &str) -> AuthenticatedReportsClient {
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", ledger.addr()))
        .expect("address")
        .connect()
        .await
        .expect("connect");
    reports_client(channel, token).expect("token")
}

async fn append(ledger: &TestLedger, token: &str, sub: pb::EventSubmission) -> u64 {
    let mut client = ledger.client(token).await;
    client
        .append(pb::AppendRequest {
            submission: Some(sub),
            include_bundle: false,
        })
        .await
        .expect("append")
        .into_inner()
        .receipt
        .expect("receipt")
        .index
}

/// The example of `kind` with id `id`, case `request_ref` and `change` applied to its event.
fn event(
    kind: EventKind,
    id: &str,
    request_ref: &str,
    change: impl FnOnce(&mut pb::Event),
) -> pb::EventSubmission {
    let mut sub = example_submission(kind);
    let event = sub.event.as_mut().expect("event");
    event.event_id = id.into();
    event.occurred_at = Some(ts(now()));
    event.request_ref = request_ref.into();
    change(event);
    sub
}

fn received(id: &str, request_ref: &str, at: i64) -> pb::EventSubmission {
    event(EventKind::RequestReceived, id, request_ref, |e| {
        e.request.as_mut().expect("request").received_at = Some(ts(at));
    })
}

async fn overdue(
    client: &mut AuthenticatedReportsClient,
    as_of: i64,
    include_open: bool,
) -> Vec<(String, RequestCaseState)> {
    client
        .list_overdue_requests(pb::ListOverdueRequestsRequest {
            as_of: Some(ts(as_of)),
            include_open,
            after: String::new(),
            limit: 0,
        })
        .await
        .expect("list")
        .into_inner()
        .cases
        .into_iter()
        .map(|case| (case.request_ref.clone(), case.state()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_cases_and_their_clock_for_any_as_of() {
    let mut ledger = TestLedger::start().await;
    let t = now();
    // The policy: Berlin, no holidays, in force from long ago (an admin's).
    let mut policy = example_submission(EventKind::RequestPolicyDeclared);
    {
        let event = policy.event.as_mut().expect("event");
        event.occurred_at = Some(ts(t));
        let p = event.request_policy.as_mut().expect("policy");
        p.time_zone = ZONE.into();
        p.public_holidays = vec![];
        p.effective_at = Some(ts(t - 400 * DAY));
    }
    let policy_index = append(&ledger, ADMIN_TOKEN, policy).await;
    // A: received 45 days ago, never answered. B: received 10 days ago. C: received 45 days ago,
    // extended by one month (told on time). D: received 45 days ago, answered 5 days ago (late).
    // E: received 45 days ago, its receipt retracted.
    let a = append(
        &ledger,
        PRODUCER_TOKEN,
        received("r-a", "DSR-A", t - 45 * DAY),
    )
    .await;
    append(
        &ledger,
        PRODUCER_TOKEN,
        received("r-b", "DSR-B", t - 10 * DAY),
    )
    .await;
    append(
        &ledger,
        PRODUCER_TOKEN,
        received("r-c", "DSR-C", t - 45 * DAY),
    )
    .await;
    append(
        &ledger,
        PRODUCER_TOKEN,
        event(EventKind::RequestExtended, "x-c", "DSR-C", |e| {
            e.request_extension
                .as_mut()
                .expect("extension")
                .subject_told_at = Some(ts(t - 40 * DAY));
        }),
    )
    .await;
    append(
        &ledger,
        PRODUCER_TOKEN,
        received("r-d", "DSR-D", t - 45 * DAY),
    )
    .await;
    append(
        &ledger,
        PRODUCER_TOKEN,
        event(EventKind::RequestAnswered, "a-d", "DSR-D", |e| {
            e.request_response.as_mut().expect("response").responded_at = Some(ts(t - 5 * DAY));
        }),
    )
    .await;
    let e = append(
        &ledger,
        PRODUCER_TOKEN,
        received("r-e", "DSR-E", t - 45 * DAY),
    )
    .await;
    let mut retract = example_submission(EventKind::Correction);
    {
        let event = retract.event.as_mut().expect("event");
        event.event_id = "fix-e".into();
        event.occurred_at = Some(ts(t));
        event.correction.as_mut().expect("correction").target_index = e;
    }
    append(&ledger, ADMIN_TOKEN, retract).await;

    let mut auditor = reports(&ledger, AUDITOR_TOKEN).await;
    let later = now() + 60;
    // The expected dates from the deadline rules (core::deadline's own tests check them).
    let berlin = DeadlinePolicy::new::<&str>(ZONE, &[]).expect("policy");
    let due_a = berlin.due_dates(&ts(t - 45 * DAY), 0).expect("due");
    let due_b = berlin.due_dates(&ts(t - 10 * DAY), 0).expect("due");
    let due_c = berlin.due_dates(&ts(t - 45 * DAY), 1).expect("due");
    let end = |day| {
        let end = berlin.end_of_day(day).expect("end");
        end.as_second()
    };

    let case = auditor
        .get_request_case(pb::GetRequestCaseRequest {
            request_ref: "DSR-A".into(),
            as_of: Some(ts(later)),
        })
        .await
        .expect("case A")
        .into_inner()
        .request_case
        .expect("a case");
    assert_eq!(case.state(), RequestCaseState::Overdue);
    assert_eq!(case.due_on, due_a.due.to_string());
    assert_eq!(case.received_on, due_a.received_on.to_string());
    assert_eq!(case.time_zone, ZONE);
    assert_eq!(case.policy_index, policy_index);
    assert_eq!(case.entry_indexes, vec![a]);
    assert_eq!(case.right(), pb::DataSubjectRight::Access);
    assert_eq!(case.due_end, Some(ts(end(due_a.due))));

    // Now: A is overdue; with the open ones, B and C too (C is extended); D answered, E gone.
    assert_eq!(
        overdue(&mut auditor, later, false).await,
        vec![("DSR-A".to_owned(), RequestCaseState::Overdue)]
    );
    assert_eq!(
        overdue(&mut auditor, later, true).await,
        vec![
            ("DSR-A".to_owned(), RequestCaseState::Overdue),
            ("DSR-B".to_owned(), RequestCaseState::Open),
            ("DSR-C".to_owned(), RequestCaseState::Open),
        ]
    );
    // A page of one case at a time gives the same list.
    let mut paged = Vec::new();
    let mut after = String::new();
    loop {
        let page = auditor
            .list_overdue_requests(pb::ListOverdueRequestsRequest {
                as_of: Some(ts(later)),
                include_open: true,
                after: after.clone(),
                limit: 1,
            })
            .await
            .expect("a page")
            .into_inner();
        paged.extend(page.cases.iter().map(|c| c.request_ref.clone()));
        if page.next_after.is_empty() {
            break;
        }
        after = page.next_after;
    }
    assert_eq!(paged, ["DSR-A", "DSR-B", "DSR-C"]);
    // One second before A's due day ends (in the future of the log): still open; at its end,
    // overdue. B's and C's due days later: overdue from their ends.
    let before = end(due_a.due) - 1;
    assert!(before >= later || overdue(&mut auditor, before, false).await.is_empty());
    let c_end = end(due_c.due);
    let b_end = end(due_b.due);
    let both = overdue(&mut auditor, c_end.max(b_end), false).await;
    assert_eq!(
        both.iter().map(|(r, _)| r.as_str()).collect::<Vec<_>>(),
        ["DSR-A", "DSR-B", "DSR-C"]
    );
    assert_eq!(
        overdue(&mut auditor, b_end - 1, false).await.len(),
        if c_end < b_end { 2 } else { 1 }
    );
    // D was answered after its due day.
    let d = auditor
        .get_request_case(pb::GetRequestCaseRequest {
            request_ref: "DSR-D".into(),
            as_of: Some(ts(later)),
        })
        .await
        .expect("case D")
        .into_inner()
        .request_case
        .expect("a case");
    assert_eq!(d.state(), RequestCaseState::Answered);
    assert!(d.responded_late);
    // Before anything was appended, the log held no case: NOT_FOUND naming the field, and an
    // empty list.
    let status = auditor
        .get_request_case(pb::GetRequestCaseRequest {
            request_ref: "DSR-A".into(),
            as_of: Some(ts(t - 3600)),
        })
        .await
        .expect_err("no case yet");
    assert_eq!(status.code(), tonic::Code::NotFound, "{}", status.message());
    assert!(
        status.message().starts_with("request_ref:"),
        "{}",
        status.message()
    );
    assert!(overdue(&mut auditor, t - 3600, true).await.is_empty());
    // A retracted receipt leaves no case.
    let status = auditor
        .get_request_case(pb::GetRequestCaseRequest {
            request_ref: "DSR-E".into(),
            as_of: Some(ts(later)),
        })
        .await
        .expect_err("retracted");
    assert_eq!(status.code(), tonic::Code::NotFound);
    // Bad input: a precise status naming the field.
    for (request_ref, field) in [("", "request_ref"), ("DSR A", "request_ref")] {
        let status = auditor
            .get_request_case(pb::GetRequestCaseRequest {
                request_ref: request_ref.into(),
                as_of: None,
            })
            .await
            .expect_err("bad ref");
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(
            status.message().starts_with(&format!("{field}:")),
            "{}",
            status.message()
        );
    }
    let status = auditor
        .list_overdue_requests(pb::ListOverdueRequestsRequest {
            as_of: Some(Timestamp {
                seconds: 5,
                nanos: -1,
            }),
            ..Default::default()
        })
        .await
        .expect_err("bad as_of");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().starts_with("as_of:"),
        "{}",
        status.message()
    );
    // A far as_of is refused by name, not a panic.
    let status = auditor
        .list_overdue_requests(pb::ListOverdueRequestsRequest {
            as_of: Some(ts(i64::MAX / 2)),
            ..Default::default()
        })
        .await
        .expect_err("far as_of");
    assert_eq!(
        status.code(),
        tonic::Code::InvalidArgument,
        "{}",
        status.message()
    );
    // Producers may not read the register.
    let mut producer = reports(&ledger, PRODUCER_TOKEN).await;
    let status = producer
        .list_overdue_requests(pb::ListOverdueRequestsRequest::default())
        .await
        .expect_err("a producer");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    // A producer may not declare the policy.
    let mut client = ledger.client(PRODUCER_TOKEN).await;
    let mut policy = example_submission(EventKind::RequestPolicyDeclared);
    policy.event.as_mut().expect("event").occurred_at = Some(ts(now()));
    let status = client
        .append(pb::AppendRequest {
            submission: Some(policy),
            include_bundle: false,
        })
        .await
        .expect_err("a producer's policy");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    ledger.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_is_opened_once_and_added_to_by_its_opener_or_an_admin() {
    let mut ledger = TestLedger::start().await;
    let t = now();
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    let mut send = async |sub: pb::EventSubmission| {
        producer
            .append(pb::AppendRequest {
                submission: Some(sub),
                include_bundle: false,
            })
            .await
    };
    let refused = |status: tonic::Status, code: tonic::Code, field: &str| {
        assert_eq!(status.code(), code, "{}", status.message());
        assert!(
            status.message().starts_with(&format!("{field}:")),
            "expected {field}: {}",
            status.message()
        );
    };
    // An answer to a case the log does not hold.
    let answer = |id: &str, system: &str| {
        event(EventKind::RequestAnswered, id, "DSR-1", |e| {
            e.system = system.into();
            e.request_response.as_mut().expect("response").responded_at = Some(ts(t));
        })
    };
    let status = send(answer("a-0", "privacy-portal"))
        .await
        .expect_err("no case");
    refused(
        status,
        tonic::Code::FailedPrecondition,
        "submission.event.request_ref",
    );
    send(received("r-1", "DSR-1", t - 3 * DAY))
        .await
        .expect("receipt");
    // A second receipt of the same case.
    let status = send(received("r-2", "DSR-1", t - 2 * DAY))
        .await
        .expect_err("second receipt");
    refused(
        status,
        tonic::Code::FailedPrecondition,
        "submission.event.request_ref",
    );
    // Another system the producer reports for may not answer it.
    let status = send(answer("a-1", "crm"))
        .await
        .expect_err("not the opener");
    refused(
        status,
        tonic::Code::PermissionDenied,
        "submission.event.system",
    );
    // The opener may; so may an admin, from any system.
    send(answer("a-2", "privacy-portal"))
        .await
        .expect("the opener's answer");
    let mut admin = ledger.client(ADMIN_TOKEN).await;
    admin
        .append(pb::AppendRequest {
            submission: Some(answer("a-3", "crm")),
            include_bundle: false,
        })
        .await
        .expect("an admin's answer");
    // In a batch, a receipt earlier in the batch opens the case for what follows.
    let batch = vec![
        received("r-9", "DSR-9", t - DAY),
        event(EventKind::RequestExtended, "x-9", "DSR-9", |e| {
            e.request_extension
                .as_mut()
                .expect("extension")
                .subject_told_at = Some(ts(t));
        }),
    ];
    producer
        .append_batch(pb::AppendBatchRequest {
            submissions: batch,
            include_bundle: false,
        })
        .await
        .expect("a batch that opens and extends a case");
    ledger.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_policy_is_declared_in_the_log_and_read_from_there() {
    let t = now();
    // The day one month after a receipt yesterday, made a holiday: the due day moves past it.
    let utc = DeadlinePolicy::new::<&str>("UTC", &[]).expect("policy");
    let plain = utc.due_dates(&ts(t - DAY), 0).expect("due");
    let holiday = plain.due.to_string();
    let mut ledger = TestLedger::start_with(|config| {
        config.requests.time_zone = "UTC".into();
        config.requests.public_holidays = vec![holiday.clone()];
    })
    .await;
    append(&ledger, PRODUCER_TOKEN, received("r-1", "DSR-1", t - DAY)).await;
    let mut auditor = reports(&ledger, AUDITOR_TOKEN).await;
    let case = auditor
        .get_request_case(pb::GetRequestCaseRequest {
            request_ref: "DSR-1".into(),
            as_of: None,
        })
        .await
        .expect("case")
        .into_inner()
        .request_case
        .expect("a case");
    // Entry 0 is the declaration the server made at start.
    assert_eq!(case.policy_index, 0);
    assert_eq!(case.time_zone, "UTC");
    let with_holiday = DeadlinePolicy::new("UTC", &[holiday]).expect("policy");
    let expected = with_holiday.due_dates(&ts(t - DAY), 0).expect("due");
    assert_ne!(expected.due, plain.due);
    assert_eq!(case.original_due_on, expected.original.to_string());
    assert_eq!(case.due_on, expected.due.to_string());
    ledger.stop().await;
}

/// Runs `gdpr-ledger requests <args>` against the ledger with the auditor's token; its stdout.
fn requests_command(ledger: &TestLedger, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
        .arg("requests")
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
async fn the_requests_command_lists_open_and_overdue_cases() {
    let mut ledger = TestLedger::start().await;
    let t = now();
    append(
        &ledger,
        PRODUCER_TOKEN,
        received("r-a", "DSR-A", t - 45 * DAY),
    )
    .await;
    append(
        &ledger,
        PRODUCER_TOKEN,
        received("r-b", "DSR-B", t - 2 * DAY),
    )
    .await;
    let overdue = requests_command(&ledger, &["overdue"]);
    assert!(overdue.starts_with("DSR-A\taccess\t"), "{overdue}");
    assert!(
        overdue.contains("OVERDUE") && !overdue.contains("DSR-B"),
        "{overdue}"
    );
    let open = requests_command(&ledger, &["list"]);
    assert_eq!(open.lines().count(), 2, "{open}");
    assert!(open.contains("DSR-B") && open.contains("\topen"), "{open}");
    let case = requests_command(&ledger, &["case", "DSR-B"]);
    assert!(case.contains("opened by system privacy-portal"), "{case}");
    // An auditor's question about an earlier time: before the log held the cases.
    let then = requests_command(&ledger, &["list", "--as-of", "2020-03-01T00:00:00Z"]);
    assert!(then.is_empty(), "{then}");
    ledger.stop().await;
}

/// The register's cost on a larger log (ignored: a measurement, not a check). Run with
/// `REQUEST_CASES=20000 cargo test --release --test integration request_cases:: -- --ignored --nocapture`:
/// appends that many cases (a receipt each, every third answered, every fifth extended) among as
/// many collections, then times GetRequestCase and ListOverdueRequests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn timing_of_the_register() {
    let cases: usize = std::env::var("REQUEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let mut ledger = TestLedger::start().await;
    let t = now();
    let mut client = ledger.client(PRODUCER_TOKEN).await;
    let started = std::time::Instant::now();
    let mut batch = Vec::new();
    for n in 0..cases {
        let request_ref = format!("DSR-{n:07}");
        let mut receipt = received(&format!("r-{n}"), &request_ref, t - (n as i64 % 90) * DAY);
        receipt.subject.as_mut().expect("subject").value = format!("p{n}@example.com");
        batch.push(receipt);
        let mut collection = example_submission(EventKind::Collection);
        {
            let event = collection.event.as_mut().expect("event");
            event.event_id = format!("c-{n}");
            event.occurred_at = Some(ts(t));
        }
        batch.push(collection);
        if n % 3 == 0 {
            batch.push(event(
                EventKind::RequestAnswered,
                &format!("a-{n}"),
                &request_ref,
                |e| {
                    e.request_response.as_mut().expect("response").responded_at = Some(ts(t));
                },
            ));
        }
        if n % 5 == 0 {
            batch.push(event(
                EventKind::RequestExtended,
                &format!("x-{n}"),
                &request_ref,
                |e| {
                    e.request_extension
                        .as_mut()
                        .expect("extension")
                        .subject_told_at = Some(ts(t));
                },
            ));
        }
        if batch.len() >= 5000 || n + 1 == cases {
            client
                .append_batch(pb::AppendBatchRequest {
                    submissions: std::mem::take(&mut batch),
                    include_bundle: false,
                })
                .await
                .expect("batch");
        }
    }
    let size = ledger
        .client(AUDITOR_TOKEN)
        .await
        .get_checkpoint(pb::GetCheckpointRequest::default())
        .await
        .expect("checkpoint")
        .into_inner()
        .tree_size;
    println!(
        "{cases} cases, log of {size} entries, appended in {:?}",
        started.elapsed()
    );
    let mut auditor = reports(&ledger, AUDITOR_TOKEN).await;
    let later = now() + 60;
    for _ in 0..3 {
        let started = std::time::Instant::now();
        auditor
            .get_request_case(pb::GetRequestCaseRequest {
                request_ref: "DSR-0000007".into(),
                as_of: Some(ts(later)),
            })
            .await
            .expect("case");
        println!("GetRequestCase: {:?}", started.elapsed());
    }
    for include_open in [false, true] {
        let started = std::time::Instant::now();
        let mut after = String::new();
        let mut listed = 0;
        loop {
            let page = auditor
                .list_overdue_requests(pb::ListOverdueRequestsRequest {
                    as_of: Some(ts(later)),
                    include_open,
                    after: after.clone(),
                    limit: 0,
                })
                .await
                .expect("list")
                .into_inner();
            listed += page.cases.len();
            if page.next_after.is_empty() {
                break;
            }
            after = page.next_after;
        }
        println!(
            "ListOverdueRequests (include_open {include_open}): {listed} cases in {:?}",
            started.elapsed()
        );
    }
    ledger.stop().await;
}

/// The value of the gauge `name` on the metrics page at `addr`.
async fn gauge(addr: std::net::SocketAddr, name: &str) -> Option<f64> {
    let (status, page) = common::http_get(addr, "/metrics").await;
    assert_eq!(status, 200, "{page}");
    page.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Scrapes until the request case gauges read `open` and `overdue` (the count runs every
/// second here), at most 20 s.
async fn wait_for_counts(ledger: &TestLedger, open: f64, overdue: f64) {
    let addr = ledger.metrics_addr();
    let mut last = (None, None);
    for _ in 0..200 {
        last = (
            gauge(addr, "gdpr_ledger_request_cases_open").await,
            gauge(addr, "gdpr_ledger_request_cases_overdue").await,
        );
        if last == (Some(open), Some(overdue)) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the gauges read (open, overdue) = {last:?}, not ({open}, {overdue})");
}

/// The metrics count the register at the server's time (`[requests] count_every_secs`): open
/// cases (overdue ones included) and overdue ones, following answers and retractions, and a
/// restart on the same data dir finds the store released by the count task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_count_open_and_overdue_cases() {
    let mut ledger = TestLedger::start_with(|config| config.requests.count_every_secs = 1).await;
    wait_for_counts(&ledger, 0.0, 0.0).await;
    let t = now();
    // Received 45 days ago (overdue under UTC), today (open), and 45 days ago then answered.
    append(
        &ledger,
        PRODUCER_TOKEN,
        received("m-a", "DSR-M-A", t - 45 * DAY),
    )
    .await;
    append(&ledger, PRODUCER_TOKEN, received("m-b", "DSR-M-B", t)).await;
    append(
        &ledger,
        PRODUCER_TOKEN,
        received("m-c", "DSR-M-C", t - 45 * DAY),
    )
    .await;
    let answer = |id: &str, request_ref: &str| {
        event(EventKind::RequestAnswered, id, request_ref, |e| {
            e.request_response.as_mut().expect("response").responded_at = Some(ts(t));
        })
    };
    let answered = append(&ledger, PRODUCER_TOKEN, answer("m-c-answer", "DSR-M-C")).await;
    wait_for_counts(&ledger, 2.0, 1.0).await;

    // Answering the overdue case leaves one open case, on time.
    append(&ledger, PRODUCER_TOKEN, answer("m-a-answer", "DSR-M-A")).await;
    wait_for_counts(&ledger, 1.0, 0.0).await;

    // Retracting C's answer reopens it, overdue.
    let mut retract = example_submission(EventKind::Correction);
    {
        let event = retract.event.as_mut().expect("event");
        event.event_id = "m-c-retract".into();
        event.occurred_at = Some(ts(t));
        let correction = event.correction.as_mut().expect("correction");
        correction.target_index = answered;
        correction.set_action(pb::CorrectionAction::Retract);
    }
    append(&ledger, PRODUCER_TOKEN, retract).await;
    wait_for_counts(&ledger, 2.0, 1.0).await;
    gauge(
        ledger.metrics_addr(),
        "gdpr_ledger_request_cases_count_age_seconds",
    )
    .await
    .expect("the count's age is exported");

    ledger.restart().await;
    wait_for_counts(&ledger, 2.0, 1.0).await;
}

/// The case `request_ref` at `as_of`, or the error's code.
async fn case_at(
    client: &mut AuthenticatedReportsClient,
    request_ref: &str,
    as_of: i64,
) -> Result<pb::RequestCase, tonic::Code> {
    client
        .get_request_case(pb::GetRequestCaseRequest {
            request_ref: request_ref.into(),
            as_of: Some(ts(as_of)),
        })
        .await
        .map(|response| response.into_inner().request_case.expect("case"))
        .map_err(|status| status.code())
}

/// An erasure case (`Erasure.EraseSubject`) joins the register as `erasure:<index>` with the
/// erasure right: open until every holder of the data has answered (here the CRM's deletion),
/// overdue a month on, answered at the holder's confirmation; listed with the request cases; and
/// no request case may take a name of that form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_cases_join_the_register() {
    let ledger = TestLedger::start().await;
    let ann = || pb::SubjectIdentifier {
        kind: "email".into(),
        value: "ann@example.com".into(),
    };
    append(
        &ledger,
        PRODUCER_TOKEN,
        common::collection("ann-collected", "email", "ann@example.com"),
    )
    .await;
    let mut erasure = ledger.erasure_client(ADMIN_TOKEN).await;
    let opened = erasure
        .erase_subject(pb::EraseSubjectRequest {
            subject: Some(ann()),
            system: "privacy-portal".into(),
            event_id: "ann-erase".into(),
        })
        .await
        .expect("erasure opens")
        .into_inner();
    let request_index = opened.request_index;
    let name = format!("erasure:{request_index}");
    let t = now();
    let mut auditor = reports(&ledger, AUDITOR_TOKEN).await;

    // Before the request reached the log there is no such case.
    assert_eq!(
        case_at(&mut auditor, &name, t - DAY).await,
        Err(tonic::Code::NotFound)
    );
    let open = case_at(&mut auditor, &name, t + 60).await.expect("case");
    assert_eq!(open.right(), pb::DataSubjectRight::Erasure);
    assert_eq!(open.state(), RequestCaseState::Open);
    assert_eq!(open.system, "privacy-portal");
    assert_eq!(open.entry_indexes, vec![request_index]);
    let late = t + 40 * DAY;
    assert_eq!(
        case_at(&mut auditor, &name, late)
            .await
            .expect("case")
            .state(),
        RequestCaseState::Overdue
    );
    assert!(
        overdue(&mut auditor, late, false)
            .await
            .contains(&(name.clone(), RequestCaseState::Overdue))
    );
    assert!(
        !overdue(&mut auditor, t + 60, false)
            .await
            .iter()
            .any(|(r, _)| *r == name)
    );
    assert!(
        overdue(&mut auditor, t + 60, true)
            .await
            .contains(&(name.clone(), RequestCaseState::Open))
    );

    // A request case beside it: paged one case at a time, the two kinds of names come in one
    // order, each once.
    append(
        &ledger,
        PRODUCER_TOKEN,
        received("r-beside", "DSR-BESIDE", t),
    )
    .await;
    let whole = overdue(&mut auditor, t + 60, true).await;
    let mut paged = Vec::new();
    let mut after = String::new();
    loop {
        let page = auditor
            .list_overdue_requests(pb::ListOverdueRequestsRequest {
                as_of: Some(ts(t + 60)),
                include_open: true,
                after: after.clone(),
                limit: 1,
            })
            .await
            .expect("page")
            .into_inner();
        paged.extend(
            page.cases
                .into_iter()
                .map(|c| (c.request_ref.clone(), c.state())),
        );
        if page.next_after.is_empty() {
            break;
        }
        after = page.next_after;
        assert!(paged.len() <= whole.len(), "paging does not end: {paged:?}");
    }
    assert_eq!(paged, whole);
    assert_eq!(whole.len(), 2, "{whole:?}");

    // The CRM, the only holder, confirms its deletion: the case is answered then.
    let mut deletion = example_submission(EventKind::DeletionDone);
    {
        let event = deletion.event.as_mut().expect("event");
        event.event_id = "ann-deleted".into();
        event.system = "crm".into();
        event.occurred_at = Some(ts(t));
    }
    deletion.subject = Some(ann());
    let deleted = append(&ledger, PRODUCER_TOKEN, deletion).await;
    let answered = case_at(&mut auditor, &name, late).await.expect("case");
    assert_eq!(answered.state(), RequestCaseState::Answered);
    assert_eq!(answered.responded_at, Some(ts(t)));
    assert!(!answered.responded_late);
    assert_eq!(answered.entry_indexes, vec![request_index, deleted]);
    assert!(
        !overdue(&mut auditor, late, true)
            .await
            .iter()
            .any(|(r, _)| *r == name)
    );

    // A request case may not take the erasure cases' names.
    let mut client = ledger.client(PRODUCER_TOKEN).await;
    let refused = client
        .append(pb::AppendRequest {
            submission: Some(received("r-erasure-name", &format!("erasure:{deleted}"), t)),
            include_bundle: false,
        })
        .await
        .expect_err("a reserved name");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(
        refused.message().contains("event.request_ref"),
        "{}",
        refused.message()
    );
}
