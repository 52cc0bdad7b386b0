//! Every RPC of `gdpr_ledger.v1.Ledger` against a real server (127.0.0.1, ephemeral port) over a
//! real RocksDB in a temp dir, through the generated tonic client.

use crate::common;

use common::{ADMIN_TOKEN, AUDITOR_TOKEN, BILLING_TOKEN, PRODUCER_TOKEN, TestLedger};
use gdpr_ledger::core::bundle::verify_bundle_json as verify_bundle;
use gdpr_ledger::core::checkpoint::Checkpoint;
use gdpr_ledger::core::entry::SequencedEntry;
use gdpr_ledger::core::hash::{NodeHash, leaf_hash};
use gdpr_ledger::core::merkle::verify_consistency;
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::proto::v1::EventKind;
use gdpr_ledger::validation::example_submission;
use tonic::Code;
use tonic_types::StatusExt as _;

fn collection(event_id: &str, email: &str) -> pb::EventSubmission {
    common::collection(event_id, "email", email)
}

fn append(submission: pb::EventSubmission, include_bundle: bool) -> pb::AppendRequest {
    pb::AppendRequest {
        submission: Some(submission),
        include_bundle,
    }
}

async fn entry_at(ledger: &TestLedger, index: u64) -> SequencedEntry {
    let mut auditor = ledger.client(AUDITOR_TOKEN).await;
    let response = auditor
        .get_entry(pb::GetEntryRequest {
            selector: Some(pb::get_entry_request::Selector::Index(index)),
            producer: String::new(),
        })
        .await
        .expect("entry")
        .into_inner();
    SequencedEntry::from_bytes(response.entry).expect("entry decodes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_returns_a_receipt_whose_bundle_verifies_offline() {
    let mut ledger = TestLedger::start().await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    let receipt = producer
        .append(append(collection("crm-1", "jane@example.com"), true))
        .await
        .expect("append succeeds")
        .into_inner()
        .receipt
        .expect("receipt");
    assert_eq!(receipt.index, 0);
    assert!(!receipt.duplicate);
    let key = ledger.verifier_key();
    let checkpoint = Checkpoint::open(&receipt.checkpoint, std::slice::from_ref(&key))
        .expect("checkpoint opens");
    assert_eq!(checkpoint.checkpoint.size, 1);
    assert_eq!(receipt.key_id, key.key_id().to_string());

    let verified = verify_bundle(&receipt.bundle_json, &[key]).expect("bundle verifies");
    assert_eq!(verified.entries.len(), 1);
    let entry = entry_at(&ledger, 0).await;
    assert_eq!(
        entry.leaf_hash().as_bytes().as_slice(),
        receipt.leaf_hash.as_slice()
    );
    assert_eq!(entry.producer(), "crm");
    assert_eq!(entry.subject_token().map(|t| t.as_bytes().len()), Some(32));
    // The raw identifier never enters the entry.
    assert!(!entry.bytes().windows(16).any(|w| w == b"jane@example.com"));
    ledger.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_entry_by_index_and_by_event_id() {
    let mut ledger = TestLedger::start().await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    for i in 0..3 {
        producer
            .append(append(
                collection(&format!("crm-{i}"), "a@example.com"),
                false,
            ))
            .await
            .expect("append");
    }
    let mut auditor = ledger.client(AUDITOR_TOKEN).await;
    let by_id = auditor
        .get_entry(pb::GetEntryRequest {
            selector: Some(pb::get_entry_request::Selector::EventId("crm-2".into())),
            producer: "crm".into(),
        })
        .await
        .expect("by event id")
        .into_inner();
    assert_eq!(by_id.index, 2);
    assert_eq!(
        leaf_hash(&by_id.entry).as_bytes().as_slice(),
        by_id.leaf_hash.as_slice()
    );
    let missing = auditor
        .get_entry(pb::GetEntryRequest {
            selector: Some(pb::get_entry_request::Selector::EventId("crm-9".into())),
            producer: "crm".into(),
        })
        .await
        .expect_err("unknown id");
    assert_eq!(missing.code(), Code::NotFound);
    let beyond = auditor
        .get_entry(pb::GetEntryRequest {
            selector: Some(pb::get_entry_request::Selector::Index(3)),
            producer: String::new(),
        })
        .await
        .expect_err("beyond the log");
    assert_eq!(beyond.code(), Code::NotFound);
    let no_selector = auditor
        .get_entry(pb::GetEntryRequest::default())
        .await
        .expect_err("no selector");
    assert_eq!(no_selector.code(), Code::InvalidArgument);
    assert!(no_selector.message().contains("selector"));
    ledger.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_inclusion_and_consistency_proofs_verify() {
    let mut ledger = TestLedger::start().await;
    let key = ledger.verifier_key();
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    let mut sizes = Vec::new();
    for i in 0..7 {
        let receipt = producer
            .append(append(
                collection(&format!("crm-{i}"), &format!("p{i}@example.com")),
                false,
            ))
            .await
            .expect("append")
            .into_inner()
            .receipt
            .expect("receipt");
        let opened =
            Checkpoint::open(&receipt.checkpoint, std::slice::from_ref(&key)).expect("opens");
        sizes.push(opened.checkpoint.size);
    }
    assert_eq!(sizes, (1..=7).collect::<Vec<u64>>());
    let mut auditor = ledger.client(AUDITOR_TOKEN).await;

    let latest = auditor
        .get_checkpoint(pb::GetCheckpointRequest { tree_size: 0 })
        .await
        .expect("latest")
        .into_inner();
    assert_eq!(latest.tree_size, 7);
    assert_eq!(latest.verifier_key, key.to_string());
    let at_three = auditor
        .get_checkpoint(pb::GetCheckpointRequest { tree_size: 3 })
        .await
        .expect("at 3")
        .into_inner();
    assert_eq!(at_three.tree_size, 3);
    let beyond = auditor
        .get_checkpoint(pb::GetCheckpointRequest { tree_size: 8 })
        .await
        .expect_err("beyond");
    assert_eq!(beyond.code(), Code::OutOfRange);

    let bundle = auditor
        .get_inclusion_proof(pb::GetInclusionProofRequest {
            index: 1,
            tree_size: 0,
            consistency_from: 3,
        })
        .await
        .expect("inclusion proof")
        .into_inner();
    let verified =
        verify_bundle(&bundle.bundle_json, std::slice::from_ref(&key)).expect("verifies");
    assert_eq!(verified.checkpoint.checkpoint.size, 7);
    let outside = auditor
        .get_inclusion_proof(pb::GetInclusionProofRequest {
            index: 5,
            tree_size: 3,
            consistency_from: 0,
        })
        .await
        .expect_err("index outside the tree");
    assert_eq!(outside.code(), Code::OutOfRange);

    let consistency = auditor
        .get_consistency_proof(pb::GetConsistencyProofRequest {
            first_size: 3,
            second_size: 7,
        })
        .await
        .expect("consistency")
        .into_inner();
    let first =
        Checkpoint::open(&consistency.first_checkpoint, std::slice::from_ref(&key)).expect("first");
    let second = Checkpoint::open(&consistency.second_checkpoint, std::slice::from_ref(&key))
        .expect("second");
    let proof: Vec<NodeHash> = consistency
        .proof
        .iter()
        .map(|h| NodeHash::from_slice(h).expect("32 bytes"))
        .collect();
    verify_consistency(
        3,
        7,
        &first.checkpoint.root,
        &second.checkpoint.root,
        &proof,
    )
    .expect("consistency verifies");
    let backwards = auditor
        .get_consistency_proof(pb::GetConsistencyProofRequest {
            first_size: 7,
            second_size: 3,
        })
        .await
        .expect_err("first > second");
    assert_eq!(backwards.code(), Code::InvalidArgument);
    ledger.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection_are_served() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let mut ledger = TestLedger::start().await;
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", ledger.addr()))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let status = HealthClient::new(channel.clone())
        .check(tonic_health::pb::HealthCheckRequest {
            service: "gdpr_ledger.v1.Ledger".into(),
        })
        .await
        .expect("health answers")
        .into_inner();
    assert_eq!(status.status(), ServingStatus::Serving);

    let request = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("reflection answers")
        .into_inner();
    let response = responses
        .message()
        .await
        .expect("a reflection message")
        .expect("not closed");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("expected a service list");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"gdpr_ledger.v1.Ledger".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_owned()),
        "{names:?}"
    );

    // v1alpha too (issue 16): Python's grpcio-reflection, older grpcurl, Postman and Evans speak
    // only it, and got UNIMPLEMENTED.
    {
        use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
        let request = tonic_reflection::pb::v1alpha::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(
                "gdpr_ledger.v1.Erasure".into(),
            )),
        };
        let list = tonic_reflection::pb::v1alpha::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut responses = ServerReflectionClient::new(channel_for(ledger.addr()).await)
            .server_reflection_info(tokio_stream::iter(vec![list, request]))
            .await
            .expect("v1alpha reflection answers")
            .into_inner();
        let listed = responses
            .message()
            .await
            .expect("a v1alpha reflection message")
            .expect("not closed");
        let Some(MessageResponse::ListServicesResponse(list)) = listed.message_response else {
            panic!("expected a service list, got {listed:?}");
        };
        let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        for service in ["gdpr_ledger.v1.Ledger", "gdpr_ledger.v1.Erasure"] {
            assert!(names.contains(&service.to_owned()), "{names:?}");
        }
        let file = responses
            .message()
            .await
            .expect("a second v1alpha reflection message")
            .expect("not closed");
        let Some(MessageResponse::FileDescriptorResponse(files)) = file.message_response else {
            panic!("expected the file of gdpr_ledger.v1.Erasure, got {file:?}");
        };
        assert!(!files.file_descriptor_proto.is_empty());
    }
    ledger.stop().await;
}

async fn channel_for(addr: std::net::SocketAddr) -> tonic::transport::Channel {
    tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_roles_are_enforced() {
    let mut ledger = TestLedger::start().await;
    let mut stranger = ledger.client("not-a-token").await;
    let refused = stranger
        .append(append(collection("x-1", "a@example.com"), false))
        .await
        .expect_err("unknown token");
    assert_eq!(refused.code(), Code::Unauthenticated);

    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    let read = producer
        .get_checkpoint(pb::GetCheckpointRequest { tree_size: 0 })
        .await
        .expect_err("a producer may not read");
    assert_eq!(read.code(), Code::PermissionDenied);

    let mut auditor = ledger.client(AUDITOR_TOKEN).await;
    let write = auditor
        .append(append(collection("x-2", "a@example.com"), false))
        .await
        .expect_err("an auditor may not append");
    assert_eq!(write.code(), Code::PermissionDenied);

    let mut admin = ledger.client(ADMIN_TOKEN).await;
    admin
        .append(append(collection("x-3", "a@example.com"), false))
        .await
        .expect("an admin may append");
    admin
        .get_checkpoint(pb::GetCheckpointRequest { tree_size: 0 })
        .await
        .expect("and read");
    // The entry names the authenticated identity, not anything the request claims.
    assert_eq!(entry_at(&ledger, 0).await.producer(), "ops");
    ledger.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_idempotent_and_reused_ids_conflict() {
    let mut ledger = TestLedger::start().await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    let first = producer
        .append(append(collection("crm-1", "a@example.com"), false))
        .await
        .expect("first")
        .into_inner()
        .receipt
        .expect("receipt");
    let retry = producer
        .append(append(collection("crm-1", "a@example.com"), false))
        .await
        .expect("retry")
        .into_inner()
        .receipt
        .expect("receipt");
    assert!(retry.duplicate);
    assert_eq!(retry.index, first.index);
    assert_eq!(retry.leaf_hash, first.leaf_hash);
    assert_eq!(retry.signature, first.signature);
    assert_eq!(ledger.tree_size().await, 1);

    // The same id from another producer is another event.
    let mut billing = ledger.client(BILLING_TOKEN).await;
    let mut billing_event = collection("crm-1", "a@example.com");
    billing_event.event.as_mut().expect("event").system = "billing".into();
    let other = billing
        .append(append(billing_event, false))
        .await
        .expect("another producer's id space")
        .into_inner()
        .receipt
        .expect("receipt");
    assert_eq!(other.index, 1);

    let conflict = producer
        .append(append(collection("crm-1", "b@example.com"), false))
        .await
        .expect_err("same id, other content");
    assert_eq!(conflict.code(), Code::AlreadyExists);
    assert!(
        conflict.message().contains("event_id"),
        "{}",
        conflict.message()
    );

    let twice = producer
        .append_batch(pb::AppendBatchRequest {
            submissions: vec![
                collection("crm-7", "a@example.com"),
                collection("crm-7", "a@example.com"),
            ],
            include_bundle: false,
        })
        .await
        .expect_err("an id twice in one batch");
    assert_eq!(twice.code(), Code::InvalidArgument);
    assert!(
        twice.message().starts_with("submissions[1].event.event_id"),
        "{}",
        twice.message()
    );
    assert_eq!(ledger.tree_size().await, 2);
    ledger.stop().await;
}

/// A batch refused by the sequencer half-way (the third event reuses an id for other content)
/// leaves no trace: no entry, no event-id row, no directory row for the new subject it named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_batch_changes_nothing() {
    let mut ledger = TestLedger::start().await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    producer
        .append(append(collection("crm-1", "first@example.com"), false))
        .await
        .expect("seed entry");
    let refused = producer
        .append_batch(pb::AppendBatchRequest {
            submissions: vec![
                collection("crm-2", "new.person@example.com"),
                collection("crm-3", "first@example.com"),
                collection("crm-1", "someone.else@example.com"),
            ],
            include_bundle: false,
        })
        .await
        .expect_err("the third event conflicts");
    assert_eq!(refused.code(), Code::AlreadyExists);
    assert!(
        refused.message().starts_with("submissions[2]"),
        "{}",
        refused.message()
    );
    assert_eq!(ledger.tree_size().await, 1, "no entry was appended");

    let mut auditor = ledger.client(AUDITOR_TOKEN).await;
    for id in ["crm-2", "crm-3"] {
        let missing = auditor
            .get_entry(pb::GetEntryRequest {
                selector: Some(pb::get_entry_request::Selector::EventId(id.into())),
                producer: "crm".into(),
            })
            .await
            .expect_err("no event-id row");
        assert_eq!(missing.code(), Code::NotFound);
    }

    // The first subject's chain did not move, and the new subject was never allocated: appending
    // for it now starts its chain (seq 0) with the token of this entry's own index, the
    // deterministic pseudonym of SPEC.md section 6, proving no earlier row pointed elsewhere.
    let receipts = producer
        .append_batch(pb::AppendBatchRequest {
            submissions: vec![
                collection("crm-3", "first@example.com"),
                collection("crm-2", "new.person@example.com"),
            ],
            include_bundle: false,
        })
        .await
        .expect("the corrected batch")
        .into_inner()
        .receipts;
    assert_eq!(
        receipts.iter().map(|r| r.index).collect::<Vec<_>>(),
        vec![1, 2]
    );
    let again = entry_at(&ledger, 1).await;
    assert_eq!(again.entry().subject_seq, 1);
    assert_eq!(again.entry().subject_prev_index, 0);
    let new_subject = entry_at(&ledger, 2).await;
    assert_eq!(new_subject.entry().subject_seq, 0);
    let secret = std::fs::read_to_string(ledger.config.secrets_dir.join("pseudonym-secret"))
        .expect("pseudonym secret");
    let secret = gdpr_ledger::core::directory::PseudonymSecret::from_bytes(
        hex::decode(secret.trim())
            .expect("hex")
            .try_into()
            .expect("32 bytes"),
    );
    assert_eq!(
        new_subject.subject_token(),
        Some(gdpr_ledger::core::directory::deterministic_pseudonym(
            &secret, 2
        ))
    );
    ledger.stop().await;
}

/// Issue 16: an INVALID_ARGUMENT status carries a google.rpc.BadRequest beside its message, with
/// a field violation naming the field, decoded here as any gRPC client would (grpc-status-details-bin).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_append_names_its_field_in_a_bad_request_detail() {
    let mut ledger = TestLedger::start().await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    let mut submission = collection("crm-bad-1", "jane.doe@example.com");
    let categories = &mut submission.event.as_mut().expect("event").data_categories;
    let field = format!("submission.event.data_categories[{}]", categories.len());
    categories.push("not a curie".into());
    let refused = producer
        .append(append(submission, false))
        .await
        .expect_err("a malformed category is refused");
    assert_eq!(refused.code(), Code::InvalidArgument);
    let details = refused
        .check_error_details()
        .expect("the details decode as google.rpc.Status");
    let violations = details
        .bad_request()
        .expect("a BadRequest detail")
        .field_violations
        .clone();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].field, field);
    assert!(!violations[0].description.is_empty());
    assert_eq!(
        refused.message(),
        format!("{field}: {}", violations[0].description)
    );

    // A refusal of the sequencer names its field too (a batch's event by position).
    let first = collection("crm-bad-2", "jane.doe@example.com");
    producer
        .append(append(first.clone(), false))
        .await
        .expect("appended");
    let mut changed = first;
    changed.event.as_mut().expect("event").purposes = vec!["dpv:Marketing".into()];
    let conflict = producer
        .append_batch(pb::AppendBatchRequest {
            submissions: vec![collection("crm-bad-3", "x@example.com"), changed],
            include_bundle: false,
        })
        .await
        .expect_err("a reused event id with other content is refused");
    assert_eq!(conflict.code(), Code::AlreadyExists, "{conflict:?}");
    // Not INVALID_ARGUMENT: no BadRequest.
    assert!(conflict.get_details_bad_request().is_none());
    ledger.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_required_field_of_every_kind_is_enforced() {
    use gdpr_ledger::validation::{clear_field, required_field_paths};
    let mut ledger = TestLedger::start().await;
    let mut admin = ledger.client(ADMIN_TOKEN).await;
    let mut checked = 0;
    for kind in all_kinds() {
        for path in required_field_paths(kind) {
            let mut submission = example_submission(kind);
            assert!(
                clear_field(&mut submission, path),
                "{kind:?}: cannot clear {path}"
            );
            let refused = admin
                .append(append(submission, false))
                .await
                .expect_err("a required field is missing");
            assert_eq!(refused.code(), Code::InvalidArgument, "{kind:?} {path}");
            let expected = format!("submission.{path}");
            assert!(
                refused.message().starts_with(&expected),
                "{kind:?}: clearing {path} gave {:?}",
                refused.message()
            );
            // Beside the message, the field as a google.rpc.BadRequest field violation.
            let violations = refused
                .get_details_bad_request()
                .unwrap_or_else(|| panic!("{kind:?} {path}: no BadRequest detail"))
                .field_violations;
            assert_eq!(violations.len(), 1, "{kind:?} {path}");
            assert!(
                violations[0].field.starts_with(&expected),
                "{kind:?} {path}: {:?}",
                violations[0]
            );
            assert_eq!(
                refused.message(),
                format!("{}: {}", violations[0].field, violations[0].description)
            );
            checked += 1;
        }
    }
    assert!(checked > 30, "only {checked} required fields checked");
    assert_eq!(
        ledger.tree_size().await,
        0,
        "no rejected request appended anything"
    );

    // Each example itself is accepted, so the refusals above are due to the cleared field alone.
    // The identity link (billing's customer id for the CRM's subject) comes right after the
    // collection, as it would in life, so that later events by customer id reach the same person;
    // the correction names an existing entry, so it comes last.
    let mut kinds = all_kinds();
    kinds.retain(|kind| *kind != EventKind::IdentityLink);
    kinds.insert(1, EventKind::IdentityLink);
    for kind in kinds {
        admin
            .append(append(example_submission(kind), false))
            .await
            .unwrap_or_else(|status| panic!("{kind:?} example refused: {status}"));
    }
    ledger.stop().await;
}

fn all_kinds() -> Vec<EventKind> {
    gdpr_ledger::validation::requirements::all_kinds().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_are_enforced() {
    let mut ledger = TestLedger::start_with(|config| {
        config.limits.max_batch_events = 3;
        config.limits.max_event_bytes = 2048;
        config.limits.max_request_bytes = 16 * 1024;
    })
    .await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    let too_many = producer
        .append_batch(pb::AppendBatchRequest {
            submissions: (0..4)
                .map(|i| collection(&format!("b-{i}"), "a@example.com"))
                .collect(),
            include_bundle: false,
        })
        .await
        .expect_err("over the batch limit");
    assert_eq!(too_many.code(), Code::ResourceExhausted);
    assert!(too_many.message().contains("submissions"));

    let mut big = collection("big-1", "a@example.com");
    if let Some(event) = big.event.as_mut() {
        event.actor = "a".repeat(100);
        event.purposes = (0..40).map(|i| format!("dpv:Purpose{i:0>40}")).collect();
    }
    let too_big = producer
        .append(append(big, false))
        .await
        .expect_err("over the event size limit");
    assert!(
        matches!(
            too_big.code(),
            Code::InvalidArgument | Code::ResourceExhausted
        ),
        "{too_big:?}"
    );

    let mut huge = collection("huge-1", "a@example.com");
    huge.details = vec![b'x'; 20 * 1024];
    let too_large = producer
        .append(append(huge, false))
        .await
        .expect_err("over the request size limit");
    assert_eq!(too_large.code(), Code::ResourceExhausted);
    assert!(too_large.message().starts_with("request"));
    assert_eq!(ledger.tree_size().await, 0);
    ledger.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_form_details_never_enter_the_log_in_clear() {
    let mut ledger = TestLedger::start().await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    let mut submission = collection("d-1", "a@example.com");
    submission.details = b"called about her divorce".to_vec();
    let receipt = producer
        .append(append(submission, false))
        .await
        .expect("details of a subject are accepted")
        .into_inner()
        .receipt
        .expect("receipt");
    let mut auditor = ledger.client(AUDITOR_TOKEN).await;
    let stored = auditor
        .get_entry(pb::GetEntryRequest {
            selector: Some(pb::get_entry_request::Selector::Index(receipt.index)),
            ..Default::default()
        })
        .await
        .expect("entry")
        .into_inner()
        .entry;
    assert!(
        !stored.windows(6).any(|w| w == b"called"),
        "the entry holds no details"
    );
    let entry = gdpr_ledger::core::entry::decode_entry(&stored).expect("decodes");
    assert_eq!(entry.event.expect("event").details_digest.len(), 32);

    // Details need the subject's key: kinds without a required subject refuse them.
    let mut breach = example_submission(EventKind::Breach);
    breach.details = b"laptop stolen from Jane's car".to_vec();
    let refused = producer
        .append(append(breach, false))
        .await
        .expect_err("details of no subject are refused");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().starts_with("submission.details"),
        "{}",
        refused.message()
    );
    assert_eq!(ledger.tree_size().await, 1);
    ledger.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subjects_get_one_pseudonym_across_identifiers() {
    let mut ledger = TestLedger::start().await;
    let mut crm = ledger.client(PRODUCER_TOKEN).await;
    let mut billing = ledger.client(BILLING_TOKEN).await;
    crm.append(append(collection("c-1", "Jane.Doe@Example.com"), false))
        .await
        .expect("first");
    // The same address, written differently, normalises to the same subject.
    crm.append(append(collection("c-2", "  jane.doe@example.COM "), false))
        .await
        .expect("second");
    let mut link = example_submission(EventKind::IdentityLink);
    link.subject = Some(pb::SubjectIdentifier {
        kind: "email".into(),
        value: "jane.doe@example.com".into(),
    });
    link.linked_subject = Some(pb::SubjectIdentifier {
        kind: "customer_id".into(),
        value: "C-000123".into(),
    });
    if let Some(event) = link.event.as_mut() {
        event.linked_identifier_kind = "customer_id".into();
    }
    billing
        .append(append(link, false))
        .await
        .expect("identity link");
    let mut by_customer_id = collection("b-1", "unused@example.com");
    by_customer_id.event.as_mut().expect("event").system = "billing".into();
    by_customer_id.subject = Some(pb::SubjectIdentifier {
        kind: "customer_id".into(),
        value: "C-000123".into(),
    });
    billing
        .append(append(by_customer_id, false))
        .await
        .expect("by the linked identifier");

    let entries = [
        entry_at(&ledger, 0).await,
        entry_at(&ledger, 1).await,
        entry_at(&ledger, 2).await,
        entry_at(&ledger, 3).await,
    ];
    let token = entries[0].subject_token().expect("a subject");
    for (seq, entry) in entries.iter().enumerate() {
        assert_eq!(entry.subject_token(), Some(token), "entry {seq}");
        assert_eq!(entry.entry().subject_seq, seq as u64);
        if seq > 0 {
            assert_eq!(entry.entry().subject_prev_index, seq as u64 - 1);
        }
    }

    // Linking an identifier that belongs to someone else is refused.
    crm.append(append(collection("c-3", "other@example.com"), false))
        .await
        .expect("another subject");
    let mut steal = example_submission(EventKind::IdentityLink);
    steal.subject = Some(pb::SubjectIdentifier {
        kind: "email".into(),
        value: "other@example.com".into(),
    });
    steal.linked_subject = Some(pb::SubjectIdentifier {
        kind: "customer_id".into(),
        value: "C-000123".into(),
    });
    if let Some(event) = steal.event.as_mut() {
        event.event_id = "link-2".into();
        event.linked_identifier_kind = "customer_id".into();
    }
    let refused = billing
        .append(append(steal, false))
        .await
        .expect_err("conflict");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(refused.message().contains("linked_subject"));
    ledger.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrections_must_name_an_existing_original() {
    let mut ledger = TestLedger::start().await;
    let mut crm = ledger.client(PRODUCER_TOKEN).await;
    crm.append(append(collection("c-1", "a@example.com"), false))
        .await
        .expect("original");
    let correction = |id: &str, target: u64| {
        let mut submission = example_submission(EventKind::Correction);
        if let Some(event) = submission.event.as_mut() {
            event.event_id = id.into();
            if let Some(correction) = event.correction.as_mut() {
                correction.target_index = target;
            }
        }
        submission
    };
    let receipt = crm
        .append(append(correction("fix-1", 0), false))
        .await
        .expect("correcting entry 0")
        .into_inner()
        .receipt
        .expect("receipt");
    assert_eq!(receipt.index, 1);
    let missing = crm
        .append(append(correction("fix-2", 9), false))
        .await
        .expect_err("no entry 9");
    assert_eq!(missing.code(), Code::InvalidArgument);
    assert!(missing.message().contains("correction.target_index"));
    let nested = crm
        .append(append(correction("fix-3", 1), false))
        .await
        .expect_err("a correction of a correction");
    assert_eq!(nested.code(), Code::InvalidArgument);
    assert_eq!(ledger.tree_size().await, 2);
    ledger.stop().await;
}

/// The README's worked example: append an event asking for the bundle, then verify the receipt's
/// bundle offline with the `gdpr-ledger verify` binary and the key file the server wrote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_worked_example_verifies_with_the_cli() {
    let mut ledger = TestLedger::start().await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    let receipt = producer
        .append(append(
            collection("crm-2026-000001", "jane.doe@example.com"),
            true,
        ))
        .await
        .expect("append")
        .into_inner()
        .receipt
        .expect("receipt");
    let bundle = ledger.dirs.path().join("bundle.json");
    std::fs::write(&bundle, &receipt.bundle_json).expect("bundle written");
    let key_file = ledger.config.secrets_dir.join("verifier-key");
    let verify = |bundle: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
            .arg("verify")
            .arg("--key")
            .arg(&key_file)
            .arg(bundle)
            .output()
            .expect("verify runs")
    };
    let output = verify(&bundle);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("VERIFIED"), "{stdout}");

    // One changed character in the entry bytes and the same command refuses it.
    let mut tampered: serde_json::Value =
        serde_json::from_str(&receipt.bundle_json).expect("bundle is JSON");
    let entry = tampered["entries"][0]["entry"]
        .as_str()
        .expect("entry")
        .to_owned();
    let flipped = if entry.starts_with('C') { "D" } else { "C" };
    tampered["entries"][0]["entry"] =
        serde_json::Value::String(format!("{flipped}{}", &entry[1..]));
    let tampered_path = ledger.dirs.path().join("tampered.json");
    std::fs::write(&tampered_path, tampered.to_string()).expect("written");
    let output = verify(&tampered_path);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    ledger.stop().await;
}
