//! The metrics listener of a real server: `/metrics` counts what the gRPC API did (appends,
//! rejections by reason, batch and group sizes, commit and signing durations, the log's size,
//! reads by kind, RocksDB's figures, the open erasure cases as they open and close, the build's
//! version), `/healthz` answers `ok`, the listener can be turned off, and the binary logs JSON
//! lines, spans included, with `--log-json`.

use crate::common;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use common::{
    ADMIN_TOKEN, AUDITOR_TOKEN, PRODUCER_TOKEN, TestLedger, client_for, collection, http_get,
};
use gdpr_ledger::config::MetricsListen;
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::proto::v1::erasure_client::ErasureClient;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tonic::Code;

/// The samples of a metrics page: `name{labels}` -> value.
fn samples(page: &str) -> BTreeMap<String, f64> {
    page.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("`series value`");
            (
                series.to_owned(),
                value.parse().unwrap_or_else(|_| panic!("a number: {line}")),
            )
        })
        .collect()
}

async fn scrape(ledger: &TestLedger) -> BTreeMap<String, f64> {
    let (status, page) = http_get(ledger.metrics_addr(), "/metrics").await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.ends_with("# EOF\n"),
        "an OpenMetrics page ends with # EOF"
    );
    samples(&page)
}

fn value(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no sample {series} in {samples:#?}"))
}

fn append(submission: pb::EventSubmission) -> pb::AppendRequest {
    pb::AppendRequest {
        submission: Some(submission),
        include_bundle: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_the_api_did() {
    let ledger = TestLedger::start().await;
    let (status, body) = http_get(ledger.metrics_addr(), "/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let (status, _) = http_get(ledger.metrics_addr(), "/nothing-here").await;
    assert_eq!(status, 404);

    let before = scrape(&ledger).await;
    assert_eq!(value(&before, "gdpr_ledger_tree_size"), 0.0);
    assert_eq!(value(&before, "gdpr_ledger_appended_events_total"), 0.0);
    assert_eq!(value(&before, "gdpr_ledger_sequencer_failed"), 0.0);
    assert_eq!(value(&before, "gdpr_ledger_erasure_open_cases"), 0.0);
    assert_eq!(
        value(&before, "gdpr_ledger_erasure_oldest_open_case_age_seconds"),
        0.0
    );
    assert_eq!(
        value(
            &before,
            &format!(
                "gdpr_ledger_build_info{{version=\"{}\"}}",
                env!("CARGO_PKG_VERSION")
            )
        ),
        1.0
    );
    // The usual series are there at 0 before anything happened.
    assert_eq!(
        value(
            &before,
            "gdpr_ledger_append_rejections_total{reason=\"resource_exhausted\"}"
        ),
        0.0
    );
    assert_eq!(
        value(
            &before,
            "gdpr_ledger_proof_requests_total{kind=\"lifecycle\"}"
        ),
        0.0
    );

    // Acknowledged: one Append, one AppendBatch of three.
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    producer
        .append(append(collection("m-0001", "email", "a@example.com")))
        .await
        .expect("append");
    producer
        .append_batch(pb::AppendBatchRequest {
            submissions: (2..=4)
                .map(|n| collection(&format!("m-000{n}"), "email", "b@example.com"))
                .collect(),
            include_bundle: false,
        })
        .await
        .expect("batch");

    // Refused: an invalid event, an event id reused for other content, an auditor appending, an
    // unknown token.
    let mut invalid = collection("m-0005", "email", "c@example.com");
    if let Some(event) = invalid.event.as_mut() {
        event.purposes.clear();
    }
    let refused = producer.append(append(invalid)).await.expect_err("invalid");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    let refused = producer
        .append(append(collection("m-0001", "email", "other@example.com")))
        .await
        .expect_err("reused event id");
    assert_eq!(refused.code(), Code::AlreadyExists, "{refused:?}");
    let mut auditor = ledger.client(AUDITOR_TOKEN).await;
    let refused = auditor
        .append(append(collection("m-0006", "email", "d@example.com")))
        .await
        .expect_err("an auditor appends nothing");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let mut stranger = client_for(ledger.addr(), "no-such-token").await;
    let refused = stranger
        .append(append(collection("m-0007", "email", "e@example.com")))
        .await
        .expect_err("unknown token");
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");

    // Reads of each kind, once.
    auditor
        .get_entry(pb::GetEntryRequest {
            selector: Some(pb::get_entry_request::Selector::Index(0)),
            producer: String::new(),
        })
        .await
        .expect("entry");
    auditor
        .get_inclusion_proof(pb::GetInclusionProofRequest {
            index: 1,
            tree_size: 0,
            consistency_from: 0,
        })
        .await
        .expect("inclusion");
    auditor
        .get_consistency_proof(pb::GetConsistencyProofRequest {
            first_size: 1,
            second_size: 4,
        })
        .await
        .expect("consistency");
    let mut lifecycle = auditor
        .get_subject_lifecycle(pb::GetSubjectLifecycleRequest {
            subject: Some(pb::get_subject_lifecycle_request::Subject::Identifier(
                pb::SubjectIdentifier {
                    kind: "email".into(),
                    value: "b@example.com".into(),
                },
            )),
            tree_size: 0,
        })
        .await
        .expect("lifecycle")
        .into_inner();
    while lifecycle
        .message()
        .await
        .expect("lifecycle chunk")
        .is_some()
    {}
    // An admin reading statistics is not a proof request.
    let mut admin = ledger.client(ADMIN_TOKEN).await;
    admin
        .get_stats(pb::GetStatsRequest {})
        .await
        .expect("stats");

    let after = scrape(&ledger).await;
    assert_eq!(value(&after, "gdpr_ledger_tree_size"), 4.0);
    assert_eq!(value(&after, "gdpr_ledger_appended_events_total"), 4.0);
    for (reason, count) in [
        ("invalid_argument", 1.0),
        ("already_exists", 1.0),
        ("permission_denied", 1.0),
        ("unauthenticated", 1.0),
    ] {
        assert_eq!(
            value(
                &after,
                &format!("gdpr_ledger_append_rejections_total{{reason=\"{reason}\"}}")
            ),
            count,
            "{reason}"
        );
    }
    // Batch sizes of the requests that got past authentication: 1, 3, 1 (invalid), 1 (reused id).
    assert_eq!(value(&after, "gdpr_ledger_append_batch_events_count"), 4.0);
    assert_eq!(value(&after, "gdpr_ledger_append_batch_events_sum"), 6.0);
    assert_eq!(
        value(&after, "gdpr_ledger_append_batch_events_bucket{le=\"1.0\"}"),
        3.0
    );
    // Two acknowledged requests, one after the other: two commit groups (the refused requests
    // wrote nothing), each one store commit and one checkpoint signature.
    assert_eq!(
        value(&after, "gdpr_ledger_append_duration_seconds_count"),
        2.0
    );
    assert_eq!(value(&after, "gdpr_ledger_commit_group_entries_sum"), 4.0);
    let groups = value(&after, "gdpr_ledger_commit_group_entries_count");
    assert_eq!(groups, 2.0);
    assert_eq!(
        value(&after, "gdpr_ledger_store_commit_duration_seconds_count"),
        groups
    );
    assert_eq!(
        value(&after, "gdpr_ledger_checkpoint_sign_duration_seconds_count"),
        groups
    );
    assert_eq!(
        value(&after, "gdpr_ledger_group_finish_duration_seconds_count"),
        groups
    );
    assert!(
        value(&after, "gdpr_ledger_group_finish_duration_seconds_sum")
            >= value(&after, "gdpr_ledger_checkpoint_sign_duration_seconds_sum"),
        "a group's finish includes its checkpoint's signature"
    );
    assert!(value(&after, "gdpr_ledger_store_commit_duration_seconds_sum") > 0.0);
    for kind in ["entry", "inclusion", "consistency", "lifecycle"] {
        assert_eq!(
            value(
                &after,
                &format!("gdpr_ledger_proof_requests_total{{kind=\"{kind}\"}}")
            ),
            1.0,
            "{kind}"
        );
    }
    assert!(value(&after, "gdpr_ledger_checkpoint_age_seconds") >= 0.0);
    assert!(value(&after, "gdpr_ledger_rocksdb_pending_compaction_bytes") >= 0.0);
    assert!(value(&after, "gdpr_ledger_rocksdb_sst_files_bytes") >= 0.0);
    assert_eq!(value(&after, "gdpr_ledger_sequencer_failed"), 0.0);
}

/// The open erasure cases at each scrape: `(open cases, age of the oldest in seconds)`.
async fn open_erasures(ledger: &TestLedger) -> (f64, f64) {
    let now = scrape(ledger).await;
    (
        value(&now, "gdpr_ledger_erasure_open_cases"),
        value(&now, "gdpr_ledger_erasure_oldest_open_case_age_seconds"),
    )
}

/// The erasure gauges follow the cases: up when an admin opens one, down when one is closed,
/// the same after a restart (read again from the store), back to 0 when none is open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_erasure_gauges_follow_cases_opening_and_closing() {
    let mut ledger = TestLedger::start().await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    for (n, who) in ["jane@example.com", "max@example.com"].iter().enumerate() {
        producer
            .append(append(collection(&format!("er-{n}"), "email", who)))
            .await
            .expect("append");
    }
    assert_eq!(open_erasures(&ledger).await, (0.0, 0.0));

    let admin = |ledger: &TestLedger| {
        let addr = ledger.addr();
        async move {
            let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
                .expect("uri")
                .connect()
                .await
                .expect("connects");
            ErasureClient::with_interceptor(
                channel,
                gdpr_ledger::client::BearerToken::new(ADMIN_TOKEN).expect("token"),
            )
        }
    };
    let subject = |who: &str| pb::SubjectIdentifier {
        kind: "email".into(),
        value: who.into(),
    };
    let close = |who: &str| pb::CloseErasureRequest {
        subject: Some(pb::SubjectRef {
            subject: Some(pb::subject_ref::Subject::Identifier(subject(who))),
        }),
        reason: "test".into(),
    };
    let mut erasure = admin(&ledger).await;
    for (opened, who) in [(1.0, "jane@example.com"), (2.0, "max@example.com")] {
        erasure
            .erase_subject(pb::EraseSubjectRequest {
                subject: Some(subject(who)),
                ..Default::default()
            })
            .await
            .expect("the case opens");
        let (open, oldest) = open_erasures(&ledger).await;
        assert_eq!(open, opened, "{who}");
        // Opened a moment ago (seconds, whole; generous for a slow machine).
        assert!((0.0..120.0).contains(&oldest), "{oldest}");
    }
    // Asking again leaves the case as it is.
    erasure
        .erase_subject(pb::EraseSubjectRequest {
            subject: Some(subject("jane@example.com")),
            ..Default::default()
        })
        .await
        .expect("the same case");
    assert_eq!(open_erasures(&ledger).await.0, 2.0);

    erasure
        .close_erasure(close("jane@example.com"))
        .await
        .expect("closes");
    assert_eq!(open_erasures(&ledger).await.0, 1.0);

    // A restart reads the open case from the store.
    ledger.restart().await;
    assert_eq!(open_erasures(&ledger).await.0, 1.0);
    let mut erasure = admin(&ledger).await;
    erasure
        .close_erasure(close("max@example.com"))
        .await
        .expect("closes");
    assert_eq!(open_erasures(&ledger).await, (0.0, 0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_listener_can_be_turned_off() {
    let ledger = TestLedger::start_with(|config| config.metrics_listen = MetricsListen::Off).await;
    let server = ledger.server.as_ref().expect("running");
    assert_eq!(server.metrics_addr, None);
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    producer
        .append(append(collection("off-0001", "email", "a@example.com")))
        .await
        .expect("appends are served without a metrics listener");
}

/// The binary with `--log-json`: every line on stderr is a JSON object, the start is logged with
/// its fields, and an append's debug event carries its span (name and producer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_logs_json_lines_with_spans() {
    let dirs = tempfile::tempdir().expect("temp dir");
    let config = common::test_config(dirs.path());
    let config_path = dirs.path().join("gdpr-ledger.toml");
    std::fs::write(
        &config_path,
        toml::to_string(&config).expect("config serialises"),
    )
    .expect("config written");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
        .args(["serve", "--log-json", "--config"])
        .arg(&config_path)
        .env("RUST_LOG", "info,gdpr_ledger::service=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the server binary starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
    // A safety net against a hung binary, not a timing assertion.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);

    let (mut addr, mut metrics) = (None, None);
    while addr.is_none() || metrics.is_none() {
        let line = tokio::time::timeout_at(deadline, stdout.next_line())
            .await
            .expect("the server announces itself")
            .expect("stdout readable")
            .expect("the server printed its addresses");
        if let Some(rest) = line.strip_prefix("gdpr-ledger listening on ") {
            addr = Some(
                rest.trim()
                    .parse::<std::net::SocketAddr>()
                    .expect("address"),
            );
        } else if let Some(rest) = line.strip_prefix("metrics on http://") {
            let host = rest.split('/').next().expect("host and port");
            metrics = Some(host.parse::<std::net::SocketAddr>().expect("address"));
        }
    }
    let (addr, metrics) = (addr.expect("address"), metrics.expect("metrics"));
    let (status, body) = http_get(metrics, "/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok"));

    let mut producer = client_for(addr, PRODUCER_TOKEN).await;
    producer
        .append(append(collection("json-0001", "email", "a@example.com")))
        .await
        .expect("append");

    let mut serving = false;
    loop {
        let line = tokio::time::timeout_at(deadline, stderr.next_line())
            .await
            .expect("the server logs the append")
            .expect("stderr readable")
            .expect("the server logs until the append");
        let object: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
        let message = object["fields"]["message"].as_str().unwrap_or_default();
        if message == "gdpr-ledger is serving" {
            assert_eq!(object["level"], "INFO");
            assert_eq!(object["fields"]["local_addr"], addr.to_string());
            assert_eq!(object["fields"]["tls"], false);
            serving = true;
        }
        if message == "appended" {
            assert_eq!(object["span"]["name"], "append", "{line}");
            assert_eq!(object["span"]["producer"], "crm", "{line}");
            assert_eq!(object["fields"]["events"], 1, "{line}");
            break;
        }
    }
    assert!(serving, "the start was logged before the append");
    child.start_kill().expect("the server is stopped");
    let _ = child.wait().await;
}
