//! Requests an attacker would send (issue 13): bodies built to blow up when decoded, sent with and
//! without a token; events naming another system; identifiers that spell a second identifier.
//! Every refusal is a precise status, and nothing is appended.

use crate::common;

use common::{
    ADMIN_TOKEN, AUDITOR_TOKEN, BILLING_TOKEN, MARKETING_TOKEN, PRODUCER_TOKEN, TestLedger,
};
use gdpr_ledger::proto::v1 as pb;
use prost::Message as _;
use tonic::Code;

use gdpr_ledger::client::RawCodec;

/// Calls `path` with `body` as the message, with `token` as bearer token if given.
async fn raw_call(
    ledger: &TestLedger,
    path: &'static str,
    token: Option<&str>,
    body: Vec<u8>,
) -> Result<Vec<u8>, tonic::Status> {
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", ledger.addr()))
        .expect("uri")
        .connect()
        .await
        .expect("connects");
    gdpr_ledger::client::raw_unary(channel, path, token, body).await
}

const APPEND_BATCH: &str = "/gdpr_ledger.v1.Ledger/AppendBatch";

/// The process's peak resident memory (VmHWM), in MiB.
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kib| kib / 1024)
        .expect("VmHWM")
}

/// Run in a process of its own, so that the peak memory it reads is its own: the bodies that took
/// gigabytes are refused before they are decoded, with and without a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_built_to_explode_are_refused_before_they_are_decoded() {
    if !common::process::in_own_process(
        "hostile::bodies_built_to_explode_are_refused_before_they_are_decoded",
    ) {
        return;
    }
    let ledger = TestLedger::start().await;
    let before = peak_rss_mib();

    // 8 million empty submissions, 16 MB, no token: 4.6 GB of peak memory before the fix.
    let empty_submissions = [0x0a, 0x00].repeat(8_000_000);
    let refused = raw_call(&ledger, APPEND_BATCH, None, empty_submissions.clone())
        .await
        .expect_err("no token");
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    let refused = raw_call(
        &ledger,
        APPEND_BATCH,
        Some("not-a-token"),
        empty_submissions.clone(),
    )
    .await
    .expect_err("unknown token");
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    // An auditor may not append: refused before the body, too.
    let refused = raw_call(
        &ledger,
        APPEND_BATCH,
        Some(AUDITOR_TOKEN),
        empty_submissions.clone(),
    )
    .await
    .expect_err("an auditor");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");

    // With a producer's token: over the 4 MiB request limit, refused from the length prefix.
    let refused = raw_call(
        &ledger,
        APPEND_BATCH,
        Some(PRODUCER_TOKEN),
        empty_submissions,
    )
    .await
    .expect_err("over the request limit");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused
            .message()
            .starts_with("request: 16000000 bytes; the limit is 4194304"),
        "{}",
        refused.message()
    );

    // Within the byte limit: 2 million empty submissions (4 MB) would still have been over a
    // gigabyte decoded; the count is bounded on the wire.
    let refused = raw_call(
        &ledger,
        APPEND_BATCH,
        Some(PRODUCER_TOKEN),
        [0x0a, 0x00].repeat(2_000_000),
    )
    .await
    .expect_err("over the batch limit");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(
        refused.message(),
        "submissions: more than 10000 elements; the limit is 10000 per request"
    );

    // One submission whose category list is 30,000 empty strings.
    let mut submission = common::collection("list-1", "email", "jane@example.com");
    submission
        .event
        .as_mut()
        .expect("event")
        .data_categories
        .clear();
    let mut body = Vec::new();
    let mut event = submission.event.take().expect("event").encode_to_vec();
    event.extend([0x2a, 0x00].repeat(30_000)); // field 5, data_categories: ""
    let mut inner = submission.encode_to_vec();
    prost::encoding::encode_key(1, prost::encoding::WireType::LengthDelimited, &mut inner);
    prost::encoding::encode_varint(event.len() as u64, &mut inner);
    inner.extend(&event);
    prost::encoding::encode_key(1, prost::encoding::WireType::LengthDelimited, &mut body);
    prost::encoding::encode_varint(inner.len() as u64, &mut body);
    body.extend(&inner);
    let refused = raw_call(&ledger, APPEND_BATCH, Some(PRODUCER_TOKEN), body)
        .await
        .expect_err("a long list");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(
        refused.message(),
        "submissions[0].event.data_categories: more than 1024 elements; the limit is 1024 per request"
    );

    // Not a protobuf message at all.
    let refused = raw_call(
        &ledger,
        APPEND_BATCH,
        Some(PRODUCER_TOKEN),
        vec![0x0a, 0x7f],
    )
    .await
    .expect_err("malformed");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");

    let grown = peak_rss_mib().saturating_sub(before);
    println!("peak resident memory grew by {grown} MiB over these requests");
    assert!(
        grown < 512,
        "the hostile bodies took {grown} MiB of peak memory (4.6 GB before issue 13)"
    );
    assert_eq!(ledger.tree_size().await, 0, "nothing was appended");
}

/// A submission of `kind` (the requirement table's example) about `subject`, from `system`.
fn event_of(kind: pb::EventKind, event_id: &str, system: &str) -> pb::EventSubmission {
    let mut submission = gdpr_ledger::validation::example_submission(kind);
    let event = submission.event.as_mut().expect("event");
    event.event_id = event_id.into();
    event.system = system.into();
    submission
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_reports_only_for_the_systems_its_token_lists() {
    let ledger = TestLedger::start().await;
    let mut marketing = ledger.client(MARKETING_TOKEN).await;
    // No list: the system named like the identity only.
    marketing
        .append(pb::AppendRequest {
            submission: Some(event_of(pb::EventKind::Collection, "m-1", "marketing")),
            include_bundle: false,
        })
        .await
        .expect("its own system");
    let refused = marketing
        .append(pb::AppendRequest {
            submission: Some(event_of(pb::EventKind::Collection, "m-2", "crm")),
            include_bundle: false,
        })
        .await
        .expect_err("another system");
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(
        refused.message(),
        "submission.event.system: marketing may not report for system \"crm\"; its credential lists [marketing]"
    );
    // In a batch, the whole batch is refused, naming the submission.
    let refused = marketing
        .append_batch(pb::AppendBatchRequest {
            submissions: vec![
                event_of(pb::EventKind::Collection, "m-3", "marketing"),
                event_of(pb::EventKind::DeletionDone, "m-4", "billing"),
            ],
            include_bundle: false,
        })
        .await
        .expect_err("a forged confirmation in a batch");
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(
        refused.message().starts_with("submissions[1].event.system"),
        "{}",
        refused.message()
    );
    // A correction cannot move an entry to another system either.
    let mut amend = event_of(pb::EventKind::Correction, "m-5", "crm");
    amend.event.as_mut().expect("event").correction = Some(pb::Correction {
        target_index: 0,
        action: pb::CorrectionAction::Amend as i32,
        reason: "moved".into(),
    });
    let refused = marketing
        .append(pb::AppendRequest {
            submission: Some(amend),
            include_bundle: false,
        })
        .await
        .expect_err("an amendment to another system");
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(
        ledger.tree_size().await,
        1,
        "only the first event was appended"
    );

    // The holder itself confirms; an admin may report for any system.
    let mut billing = ledger.client(BILLING_TOKEN).await;
    billing
        .append(pb::AppendRequest {
            submission: Some(event_of(pb::EventKind::DeletionDone, "b-1", "billing")),
            include_bundle: false,
        })
        .await
        .expect("billing confirms its own deletion");
    let mut admin = ledger.client(ADMIN_TOKEN).await;
    admin
        .append(pb::AppendRequest {
            submission: Some(event_of(pb::EventKind::DeletionDone, "a-1", "billing")),
            include_bundle: false,
        })
        .await
        .expect("an admin may");
    assert_eq!(ledger.tree_size().await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identifier_holding_a_line_feed_cannot_forge_a_second_identifier() {
    let ledger = TestLedger::start().await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    for value in [
        "C-1\nemail:victim@example.com",
        "C-1\u{0}",
        "C-\u{200B}1",
        "\u{202E}1-C",
    ] {
        let refused = producer
            .append(pb::AppendRequest {
                submission: Some(common::collection("id-1", "customer_id", value)),
                include_bundle: false,
            })
            .await
            .expect_err("a non-printing character");
        assert_eq!(refused.code(), Code::InvalidArgument, "{value:?}");
        assert!(
            refused.message().starts_with("submission.subject.value: "),
            "{value:?}: {}",
            refused.message()
        );
    }
    assert_eq!(ledger.tree_size().await, 0);
}

/// A client whose HTTP/2 stream windows hold 16 KiB: a stream it does not read stalls soon, and
/// the connection's window (4 MiB) leaves the other streams of the connection readable.
async fn small_window_client(ledger: &TestLedger, token: &str) -> common::Client {
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", ledger.addr()))
        .expect("uri")
        .initial_stream_window_size(16 * 1024)
        .initial_connection_window_size(4 << 20)
        .connect()
        .await
        .expect("connects");
    gdpr_ledger::client::authenticated(channel, token).expect("a valid token")
}

/// Lifecycle streams that never read: they hold no server thread, beyond the bounds they are
/// refused, and a stalled one ends with DEADLINE_EXCEEDED and frees its place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_that_never_read_hold_no_thread_and_are_bounded() {
    use pb::get_subject_lifecycle_request::Subject;
    let ledger = TestLedger::start_with(|config| {
        config.limits.max_streams = 12;
        config.limits.max_streams_per_caller = 6;
        config.limits.stream_send_timeout_secs = 3;
    })
    .await;
    // One subject with 1,200 entries: far more than the client's window and the server's channel
    // hold, so a stream that is not read stalls.
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    let submissions = (0..1200)
        .map(|i| common::collection(&format!("s-{i}"), "email", "busy@example.com"))
        .collect();
    producer
        .append_batch(pb::AppendBatchRequest {
            submissions,
            include_bundle: false,
        })
        .await
        .expect("appended");
    let request = || pb::GetSubjectLifecycleRequest {
        subject: Some(Subject::Identifier(pb::SubjectIdentifier {
            kind: "email".into(),
            value: "busy@example.com".into(),
        })),
        tree_size: 0,
    };

    // 40 streams from each of two callers, on several connections, never read.
    let mut stalled = Vec::new();
    let mut refused = Vec::new();
    for token in [AUDITOR_TOKEN, ADMIN_TOKEN] {
        for _connection in 0..4 {
            let mut client = small_window_client(&ledger, token).await;
            for _ in 0..10 {
                match client.get_subject_lifecycle(request()).await {
                    Ok(stream) => stalled.push(stream.into_inner()),
                    Err(status) => refused.push(status),
                }
            }
        }
    }
    assert_eq!(stalled.len(), 12, "six per caller, twelve in all");
    assert_eq!(refused.len(), 68);
    assert!(
        refused
            .iter()
            .all(|status| status.code() == Code::ResourceExhausted),
        "{:?}",
        refused.first()
    );

    // The server still answers appends and reads (a liveness bound, not a timing assertion).
    let live = async {
        producer
            .append(pb::AppendRequest {
                submission: Some(common::collection("after-1", "email", "other@example.com")),
                include_bundle: true,
            })
            .await
            .expect("an append is answered");
        let mut auditor = ledger.client(AUDITOR_TOKEN).await;
        auditor
            .get_entry(pb::GetEntryRequest {
                selector: Some(pb::get_entry_request::Selector::Index(7)),
                ..Default::default()
            })
            .await
            .expect("an entry is answered");
    };
    tokio::time::timeout(std::time::Duration::from_secs(120), live)
        .await
        .expect("the server answers while streams are stalled");

    // A stalled stream ends with DEADLINE_EXCEEDED once the send timeout passes; read late, it
    // says so rather than ending as if complete.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let mut first = stalled.remove(0);
    let mut entries = 0;
    let ending = loop {
        match first.message().await {
            Ok(Some(chunk)) => {
                if let Some(pb::subject_lifecycle_chunk::Part::Entries(part)) = chunk.part {
                    entries += part.entries.len();
                }
            }
            Ok(None) => break None,
            Err(status) => break Some(status),
        }
    };
    let ending = ending.expect("the stalled stream ends with an error, not silently");
    assert_eq!(ending.code(), Code::DeadlineExceeded, "{ending:?}");
    assert!(entries < 1200, "{entries} entries came before the end");
    // Their places are free again.
    drop(stalled);
    let mut auditor = ledger.client(AUDITOR_TOKEN).await;
    let mut stream = auditor
        .get_subject_lifecycle(request())
        .await
        .expect("a place is free")
        .into_inner();
    let mut read = 0;
    while let Some(chunk) = stream.message().await.expect("reads") {
        if let Some(pb::subject_lifecycle_chunk::Part::Entries(part)) = chunk.part {
            read += part.entries.len();
        }
    }
    assert_eq!(read, 1200, "a client that reads gets the whole lifecycle");
}

/// A correction of `target` by `action` (the requirement table's example, re-aimed).
fn correction_of(
    event_id: &str,
    system: &str,
    target: u64,
    action: pb::CorrectionAction,
) -> pb::EventSubmission {
    let mut submission = event_of(pb::EventKind::Correction, event_id, system);
    let correction = submission
        .event
        .as_mut()
        .and_then(|event| event.correction.as_mut())
        .expect("the example carries a correction");
    correction.target_index = target;
    correction.action = action as i32;
    submission
}

async fn append_one(
    client: &mut common::Client,
    submission: pb::EventSubmission,
) -> Result<u64, tonic::Status> {
    client
        .append(pb::AppendRequest {
            submission: Some(submission),
            include_bundle: false,
        })
        .await
        .map(|response| response.into_inner().receipt.expect("receipt").index)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_entrys_producer_or_an_admin_corrects_it_and_never_the_ledgers_own() {
    let ledger = TestLedger::start().await;
    let mut crm = ledger.client(PRODUCER_TOKEN).await;
    let mut billing = ledger.client(BILLING_TOKEN).await;
    let mut admin = ledger.client(ADMIN_TOKEN).await;
    let collected = append_one(
        &mut crm,
        common::collection("c-1", "email", "jane@example.com"),
    )
    .await
    .expect("collection");

    // billing cannot retract crm's entry.
    let refused = append_one(
        &mut billing,
        correction_of("x-1", "billing", collected, pb::CorrectionAction::Retract),
    )
    .await
    .expect_err("another producer's entry");
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(
        refused.message(),
        format!(
            "submission.event.correction.target_index: {collected}: appended by crm; only its producer or an admin may correct it"
        )
    );

    // An amendment must leave the target a valid event of its kind: a collection has no
    // deletion method.
    let mut amend = correction_of("x-2", "crm", collected, pb::CorrectionAction::Amend);
    amend.event.as_mut().expect("event").deletion_method = pb::DeletionMethod::Erase as i32;
    let refused = append_one(&mut crm, amend)
        .await
        .expect_err("an invalid amendment");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(
        refused
            .message()
            .starts_with("submission.event.deletion_method: not allowed in `collection` events"),
        "{}",
        refused.message()
    );

    // The ledger's own access records cannot be corrected, not even by an admin.
    let mut reports = gdpr_ledger::client::reports_client(
        tonic::transport::Channel::from_shared(format!("http://{}", ledger.addr()))
            .expect("uri")
            .connect()
            .await
            .expect("connects"),
        AUDITOR_TOKEN,
    )
    .expect("token");
    let access = reports
        .subject_access_report(pb::SubjectAccessReportRequest {
            subject: Some(pb::SubjectIdentifier {
                kind: "email".into(),
                value: "jane@example.com".into(),
            }),
        })
        .await
        .expect("an access report")
        .into_inner()
        .access_entry_index;
    let refused = append_one(
        &mut admin,
        correction_of("x-3", "crm", access, pb::CorrectionAction::Retract),
    )
    .await
    .expect_err("the ledger's own record");
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(
        refused
            .message()
            .contains("the ledger wrote this entry itself"),
        "{}",
        refused.message()
    );
    // Nor can anyone write as the ledger.
    let refused = append_one(
        &mut admin,
        event_of(pb::EventKind::Access, "a-1", "gdpr-ledger"),
    )
    .await
    .expect_err("the ledger's system");
    assert_eq!(refused.code(), Code::PermissionDenied);
    let before = ledger.tree_size().await;

    // The producer itself, and an admin, may correct.
    let mut amend = correction_of("x-4", "crm", collected, pb::CorrectionAction::Amend);
    amend.event.as_mut().expect("event").purposes = vec!["dpv:ServiceProvision".into()];
    append_one(&mut crm, amend)
        .await
        .expect("crm amends its own entry");
    append_one(
        &mut admin,
        correction_of("x-5", "crm", collected, pb::CorrectionAction::Retract),
    )
    .await
    .expect("an admin retracts");
    assert_eq!(ledger.tree_size().await, before + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_id_index_keeps_no_digest_of_an_identifier_and_retries_still_compare_subjects() {
    // The digest leaves the identifiers out: after an erasure, nothing in the index can be
    // matched against a guessed identifier.
    let key = [7; 32];
    let jane = common::collection("e-1", "email", "jane@example.com");
    let mut bob = jane.clone();
    bob.subject.as_mut().expect("subject").value = "bob@example.com".into();
    assert_eq!(
        gdpr_ledger::service::submission_digest(&key, &jane),
        gdpr_ledger::service::submission_digest(&key, &bob)
    );
    let mut other_details = jane.clone();
    other_details.details = b"other".to_vec();
    assert_ne!(
        gdpr_ledger::service::submission_digest(&key, &jane),
        gdpr_ledger::service::submission_digest(&key, &other_details)
    );

    // The subject is still compared, through the directory: a retry about another subject is a
    // reused event id.
    let ledger = TestLedger::start().await;
    let mut crm = ledger.client(PRODUCER_TOKEN).await;
    let first = append_one(&mut crm, jane.clone()).await.expect("appended");
    let retry = crm
        .append(pb::AppendRequest {
            submission: Some(jane.clone()),
            include_bundle: false,
        })
        .await
        .expect("a retry")
        .into_inner()
        .receipt
        .expect("receipt");
    assert!(retry.duplicate && retry.index == first);
    let reused = append_one(&mut crm, bob.clone())
        .await
        .expect_err("another subject");
    assert_eq!(reused.code(), Code::AlreadyExists, "{reused:?}");
    // In one batch, too.
    let mut batch_jane = jane.clone();
    batch_jane.event.as_mut().expect("event").event_id = "e-2".into();
    let mut batch_bob = bob.clone();
    batch_bob.event.as_mut().expect("event").event_id = "e-2".into();
    crm.append_batch(pb::AppendBatchRequest {
        submissions: vec![batch_jane],
        include_bundle: false,
    })
    .await
    .expect("e-2 for jane");
    let reused = crm
        .append_batch(pb::AppendBatchRequest {
            submissions: vec![batch_bob],
            include_bundle: false,
        })
        .await
        .expect_err("e-2 for bob");
    assert_eq!(reused.code(), Code::AlreadyExists);
    assert_eq!(ledger.tree_size().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_dir_and_backups_are_readable_by_the_ledgers_user_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let ledger = TestLedger::start().await;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .expect("exists")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&ledger.data_dir()), 0o700, "the data dir");
    let mut admin = gdpr_ledger::proto::v1::admin_client::AdminClient::with_interceptor(
        tonic::transport::Channel::from_shared(format!("http://{}", ledger.addr()))
            .expect("uri")
            .connect()
            .await
            .expect("connects"),
        gdpr_ledger::client::BearerToken::new(ADMIN_TOKEN).expect("token"),
    );
    let destination = ledger.dirs.path().join("backup-1");
    admin
        .create_backup(pb::CreateBackupRequest {
            destination: destination.display().to_string(),
        })
        .await
        .expect("backup");
    assert_eq!(mode(&destination), 0o700, "the backup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_cannot_reach_into_the_data_dir_through_a_link_or_dot_dot() {
    let ledger = TestLedger::start().await;
    let mut admin = gdpr_ledger::proto::v1::admin_client::AdminClient::with_interceptor(
        tonic::transport::Channel::from_shared(format!("http://{}", ledger.addr()))
            .expect("uri")
            .connect()
            .await
            .expect("connects"),
        gdpr_ledger::client::BearerToken::new(ADMIN_TOKEN).expect("token"),
    );
    let root = ledger.dirs.path();
    std::os::unix::fs::symlink(ledger.data_dir(), root.join("link")).expect("link");
    std::fs::create_dir_all(root.join("elsewhere")).expect("dir");
    for destination in [
        root.join("link/backup-1"),
        root.join("elsewhere/../data/backup-2"),
    ] {
        let refused = admin
            .create_backup(pb::CreateBackupRequest {
                destination: destination.display().to_string(),
            })
            .await
            .expect_err("inside the data dir");
        assert_eq!(refused.code(), Code::InvalidArgument, "{destination:?}");
        assert_eq!(
            refused.message(),
            "destination: a backup must not be inside the data dir"
        );
    }
    assert!(!ledger.data_dir().join("backup-1").exists());
    assert!(!ledger.data_dir().join("backup-2").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_arrives_is_given_up_on() {
    let ledger = TestLedger::start_with(|config| config.limits.request_body_timeout_secs = 1).await;
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", ledger.addr()))
        .expect("uri")
        .connect()
        .await
        .expect("connects");
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    // Headers and a token, then nothing: the body's stream never yields.
    let mut request = tonic::Request::new(tokio_stream::pending::<Vec<u8>>());
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {PRODUCER_TOKEN}")
            .parse()
            .expect("header value"),
    );
    let outcome = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        grpc.client_streaming(
            request,
            http::uri::PathAndQuery::from_static(APPEND_BATCH),
            RawCodec,
        ),
    )
    .await
    .expect("the server answers instead of waiting for ever");
    let refused = outcome.expect_err("no body");
    assert_eq!(refused.code(), Code::DeadlineExceeded, "{refused:?}");
    assert!(
        refused
            .message()
            .starts_with("request: the body did not arrive within 1 s")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digests_of_an_earlier_version_are_withdrawn_from_every_file_at_start() {
    use gdpr_ledger::storage::{LedgerStore, StorageConfig};
    let mut ledger = TestLedger::start().await;
    let mut crm = ledger.client(PRODUCER_TOKEN).await;
    let jane = common::collection("old-1", "email", "jane@example.com");
    let index = append_one(&mut crm, jane.clone()).await.expect("appended");
    ledger.stop().await;
    // A data dir of an earlier version: its event-id rows' digests were made with the
    // identifiers, and no mark says they were withdrawn.
    let digest = {
        let store = LedgerStore::open(
            &ledger.data_dir(),
            &ledger.config.origin,
            &StorageConfig::default(),
        )
        .expect("opens");
        store.reset_event_id_digest_mark().expect("reset");
        store
            .event_id("crm", "old-1")
            .expect("read")
            .expect("the row")
            .content_digest
    };
    let hex = hex::encode(digest);
    let found = |dir: &std::path::Path| -> Vec<String> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).expect("data dir").flatten() {
            let Ok(bytes) = std::fs::read(entry.path()) else {
                continue;
            };
            for needle in [digest.as_slice(), hex.as_bytes()] {
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    found.push(entry.file_name().to_string_lossy().into_owned());
                }
            }
        }
        found
    };
    assert!(
        !found(&ledger.data_dir()).is_empty(),
        "positive control: the digest is in a file"
    );
    ledger.restart().await;
    assert!(
        found(&ledger.data_dir()).is_empty(),
        "{:?}",
        found(&ledger.data_dir())
    );
    // The row keeps its index; a retry of the event is a conflict, never a silent duplicate of
    // something else.
    let mut crm = ledger.client(PRODUCER_TOKEN).await;
    let retry = append_one(&mut crm, jane)
        .await
        .expect_err("a withdrawn digest");
    assert_eq!(retry.code(), Code::AlreadyExists);
    let entry = ledger
        .client(AUDITOR_TOKEN)
        .await
        .get_entry(pb::GetEntryRequest {
            selector: Some(pb::get_entry_request::Selector::EventId("old-1".into())),
            producer: "crm".into(),
        })
        .await
        .expect("found by its event id")
        .into_inner();
    assert_eq!(entry.index, index);
}
