//! GetSubjectLifecycle on a real server: a subject's whole lifecycle, proved complete, verified
//! offline (in the core and by `gdpr-ledger verify`), proofs of absence, errors, streaming, and a
//! dishonest server's edits caught one by one.

use crate::common;

use common::{ADMIN_TOKEN, AUDITOR_TOKEN, PRODUCER_TOKEN, TestLedger};
use gdpr_ledger::client::fetch_lifecycle;
use gdpr_ledger::core::lifecycle::{LifecycleBundle, LifecycleError, verify_lifecycle};
use gdpr_ledger::core::subject_index::{ProofTerminal, SubjectIndexError};
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::validation::example_submission;
use pb::get_subject_lifecycle_request::Subject;

fn email(value: &str) -> Subject {
    Subject::Identifier(pb::SubjectIdentifier {
        kind: "email".into(),
        value: value.into(),
    })
}

/// A submission of `kind` about `who` (an e-mail address), with a fresh event id.
fn about(kind: pb::EventKind, who: &str, event_id: &str) -> pb::EventSubmission {
    let mut submission = example_submission(kind);
    if let Some(event) = submission.event.as_mut() {
        event.event_id = event_id.into();
    }
    submission.subject = Some(pb::SubjectIdentifier {
        kind: "email".into(),
        value: who.into(),
    });
    submission
}

async fn append_one(client: &mut common::Client, submission: pb::EventSubmission) -> pb::Receipt {
    client
        .append(pb::AppendRequest {
            submission: Some(submission),
            include_bundle: false,
        })
        .await
        .expect("append")
        .into_inner()
        .receipt
        .expect("receipt")
}

async fn append_many(
    client: &mut common::Client,
    submissions: Vec<pb::EventSubmission>,
) -> Vec<pb::Receipt> {
    client
        .append_batch(pb::AppendBatchRequest {
            submissions,
            include_bundle: false,
        })
        .await
        .expect("batch")
        .into_inner()
        .receipts
}

/// Alice: a collection, a share (in a batch with Bob's events), an access; Bob: two events.
/// Returns Alice's indexes and the tree size after her first event.
async fn alice_and_bob(ledger: &TestLedger) -> (Vec<u64>, u64) {
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    let first = append_one(
        &mut producer,
        about(pb::EventKind::Collection, "alice@example.com", "a-1"),
    )
    .await;
    let batch = append_many(
        &mut producer,
        vec![
            about(pb::EventKind::Collection, "bob@example.com", "b-1"),
            about(pb::EventKind::Share, "alice@example.com", "a-2"),
            about(pb::EventKind::Access, "bob@example.com", "b-2"),
        ],
    )
    .await;
    let last = append_one(
        &mut producer,
        about(pb::EventKind::Access, "alice@example.com", "a-3"),
    )
    .await;
    (
        vec![first.index, batch[1].index, last.index],
        first.index + 1,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lifecycle_is_proved_complete_and_printed_as_a_timeline() {
    let ledger = TestLedger::start().await;
    let (alice, first_size) = alice_and_bob(&ledger).await;
    let key = ledger.verifier_key();
    let mut auditor = ledger.client(AUDITOR_TOKEN).await;

    let bundle = fetch_lifecycle(&mut auditor, email("alice@example.com"), 0)
        .await
        .expect("lifecycle");
    let verified = verify_lifecycle(&bundle, std::slice::from_ref(&key)).expect("verifies");
    let head = verified.head.expect("alice has entries");
    assert_eq!(head.count, 3);
    assert_eq!(head.last_index, alice[2]);
    let indexes: Vec<u64> = verified.entries.iter().map(|e| e.entry.index()).collect();
    assert_eq!(indexes, alice);

    // The same by token; and at the checkpoint after her first event, only that one.
    let by_token = fetch_lifecycle(
        &mut auditor,
        Subject::Token(bundle.token.as_bytes().to_vec()),
        0,
    )
    .await
    .expect("by token");
    assert_eq!(by_token, bundle);
    let early = fetch_lifecycle(&mut auditor, email("alice@example.com"), first_size)
        .await
        .expect("early");
    let early = verify_lifecycle(&early, std::slice::from_ref(&key)).expect("early verifies");
    assert_eq!(early.checkpoint.checkpoint.size, first_size);
    assert_eq!(early.entries.len(), 1);

    // `gdpr-ledger verify` prints the timeline, oldest first.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("alice.json");
    std::fs::write(&path, bundle.to_json()).expect("write bundle");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
        .arg("verify")
        .arg("--key")
        .arg(key.to_string())
        .arg(&path)
        .output()
        .expect("verify runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("complete lifecycle"), "{stdout}");
    let collection = stdout.find(" collection ").expect("collection line");
    let share = stdout.find(" share ").expect("share line");
    let access = stdout.find(" access ").expect("access line");
    assert!(collection < share && share < access, "{stdout}");
    assert!(stdout.contains("to mailer-us (processor), US"), "{stdout}");
    assert!(stdout.contains("on eu-gdpr:A6-1-a"), "{stdout}");

    // `gdpr-ledger lifecycle` writes the same bundle.
    let out = dir.path().join("cli.json");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
        .args(["lifecycle", "--server"])
        .arg(ledger.addr().to_string())
        .args([
            "--token",
            AUDITOR_TOKEN,
            "--subject",
            "email:alice@example.com",
            "-o",
        ])
        .arg(&out)
        .status()
        .expect("lifecycle runs");
    assert!(status.success());
    let from_cli =
        LifecycleBundle::from_json(&std::fs::read_to_string(&out).expect("read")).expect("parses");
    assert_eq!(from_cli, bundle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_token_gets_a_proof_of_absence_and_bad_requests_precise_errors() {
    let ledger = TestLedger::start().await;
    alice_and_bob(&ledger).await;
    let key = ledger.verifier_key();
    let mut auditor = ledger.client(AUDITOR_TOKEN).await;

    let absent = fetch_lifecycle(&mut auditor, Subject::Token(vec![0x5a; 32]), 0)
        .await
        .expect("absence");
    assert!(absent.entries.is_empty());
    let verified = verify_lifecycle(&absent, std::slice::from_ref(&key)).expect("verifies");
    assert_eq!(verified.head, None);
    assert!(!verified.checkpoint.checkpoint.extensions.is_empty());

    let status = fetch_lifecycle(&mut auditor, email("carol@example.com"), 0)
        .await
        .expect_err("unknown identifier");
    assert!(
        matches!(&status, gdpr_ledger::client::LifecycleFetchError::Rpc(s) if s.code() == tonic::Code::NotFound && s.message().starts_with("identifier")),
        "{status}"
    );
    let mut raw = ledger.client(AUDITOR_TOKEN).await;
    let request = |subject, tree_size| pb::GetSubjectLifecycleRequest { subject, tree_size };
    let code_and_message = |result: Result<_, tonic::Status>| {
        let status = result.expect_err("refused");
        (status.code(), status.message().to_owned())
    };
    let (code, message) = code_and_message(
        raw.get_subject_lifecycle(request(Some(Subject::Token(vec![1; 31])), 0))
            .await,
    );
    assert_eq!(code, tonic::Code::InvalidArgument);
    assert!(message.starts_with("token:"), "{message}");
    let (code, message) = code_and_message(raw.get_subject_lifecycle(request(None, 0)).await);
    assert_eq!(code, tonic::Code::InvalidArgument);
    assert!(message.starts_with("subject:"), "{message}");
    let (code, message) = code_and_message(
        raw.get_subject_lifecycle(request(Some(email("alice@example.com")), 1_000))
            .await,
    );
    assert_eq!(code, tonic::Code::OutOfRange);
    assert!(message.starts_with("tree_size:"), "{message}");
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    let (code, _) = code_and_message(
        producer
            .get_subject_lifecycle(request(Some(email("alice@example.com")), 0))
            .await,
    );
    assert_eq!(code, tonic::Code::PermissionDenied);
}

/// 300 entries: 100 about Dave, 200 about Erin, interleaved, in three batches.
async fn dave_and_erin(ledger: &TestLedger) -> usize {
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    const EVENTS: usize = 300;
    for start in (0..EVENTS).step_by(100) {
        let submissions = (start..start + 100)
            .map(|n| {
                let who = if n % 3 == 0 {
                    "dave@example.com"
                } else {
                    "erin@example.com"
                };
                about(pb::EventKind::Access, who, &format!("e-{n}"))
            })
            .collect();
        append_many(&mut producer, submissions).await;
    }
    EVENTS - EVENTS.div_ceil(3)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_lifecycle_streams_whole() {
    let ledger = TestLedger::start().await;
    let erins = dave_and_erin(&ledger).await;
    let mut admin = ledger.client(ADMIN_TOKEN).await;
    let bundle = fetch_lifecycle(&mut admin, email("erin@example.com"), 0)
        .await
        .expect("lifecycle");
    let verified =
        verify_lifecycle(&bundle, std::slice::from_ref(&ledger.verifier_key())).expect("verifies");
    assert_eq!(verified.entries.len(), erins);

    // On the wire: the header, then the entries several per message (up to 32), in order.
    let mut stream = admin
        .get_subject_lifecycle(pb::GetSubjectLifecycleRequest {
            subject: Some(email("erin@example.com")),
            tree_size: 0,
        })
        .await
        .expect("stream")
        .into_inner();
    let mut sizes = Vec::new();
    let mut indexes = Vec::new();
    while let Some(chunk) = stream.message().await.expect("message") {
        match chunk.part.expect("a part") {
            pb::subject_lifecycle_chunk::Part::Header(header) => {
                assert!(sizes.is_empty(), "the header comes first, once");
                assert_eq!(header.count, erins as u64);
                sizes.push(0);
            }
            pb::subject_lifecycle_chunk::Part::Entries(part) => {
                sizes.push(part.entries.len());
                indexes.extend(part.entries.iter().map(|e| e.index));
            }
            pb::subject_lifecycle_chunk::Part::Entry(_) => panic!("single entries are not sent"),
        }
    }
    // Parts of 128 entries are read, and sent 32 at a time: 128 = 4 x 32, 72 = 2 x 32 + 8.
    assert_eq!(sizes, [0, 32, 32, 32, 32, 32, 32, 8]);
    let expected: Vec<u64> = bundle.entries.iter().map(|e| e.index).collect();
    assert_eq!(indexes, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_data_dir_gets_its_chunk_rows_and_loses_its_lifecycle_copies_and_answers_do_not_change()
 {
    use gdpr_ledger::proofs::{proved_entries, subject_lifecycle};
    use gdpr_ledger::storage::{LedgerStore, columns};

    let mut ledger = TestLedger::start().await;
    let erins = dave_and_erin(&ledger).await;
    let mut admin = ledger.client(ADMIN_TOKEN).await;
    let before = fetch_lifecycle(&mut admin, email("erin@example.com"), 0)
        .await
        .expect("lifecycle");
    let size = before.entries.len() as u64 + 100;
    ledger.stop().await;

    let open = |ledger: &TestLedger| {
        LedgerStore::open(
            &ledger.config.data_dir,
            &ledger.config.origin,
            &ledger.config.storage,
        )
        .expect("store opens")
    };
    {
        let store = open(&ledger);
        let (_, indexes) = subject_lifecycle(&store, &before.token, size).expect("lifecycle");
        assert_eq!(indexes.len(), erins);
        let from_chunk_rows = proved_entries(&store, &indexes, size).expect("proved");
        assert_eq!(from_chunk_rows.len(), erins);
        // As a data dir made before the chunk rows: none, and the lower tree levels come from
        // the leaves, with the same proofs.
        assert_eq!(store.tree_chunks_next().expect("mark"), size / 64);
        store.reset_tree_chunks().expect("reset");
        assert_eq!(store.tree_chunks_next().expect("mark"), 0);
        let from_leaves = proved_entries(&store, &indexes, size).expect("proved");
        for (a, b) in from_chunk_rows.iter().zip(&from_leaves) {
            assert_eq!(
                (&a.0.bytes, a.0.signature, &a.1),
                (&b.0.bytes, b.0.signature, &b.1)
            );
        }
    }
    // And as one made by a version that kept a copy of each subject's entries (the family and
    // its mark) and the tree's lower levels as `tree` rows (schema 2).
    let data_dir = ledger.data_dir();
    {
        let options = rocksdb::Options::default();
        let mut db = rocksdb::DB::open_cf(&options, &data_dir, columns::ALL).expect("raw open");
        db.create_cf("lifecycle_rows", &options).expect("create");
        let copies = db.cf_handle("lifecycle_rows").expect("family");
        db.put_cf(copies, [7u8; 40], b"a copy").expect("put");
        let meta = db.cf_handle(columns::META).expect("meta");
        db.put_cf(meta, b"lifecycle_rows_next", size.to_be_bytes())
            .expect("put");
        db.put_cf(meta, columns::META_SCHEMA_VERSION, b"2")
            .expect("put");
        let tree = db.cf_handle(columns::TREE).expect("tree");
        for level in 0..6u8 {
            let node = gdpr_ledger::core::merkle::NodeId::new(level, 1).expect("node");
            db.put_cf(tree, node.to_key_bytes(), [level; 32])
                .expect("put");
        }
    }

    // The next start writes the chunk rows again and drops the copies; the answer is the same,
    // and new appends are proved.
    ledger.restart().await;
    let families = rocksdb::DB::list_cf(&rocksdb::Options::default(), &data_dir).expect("list");
    assert!(
        !families.iter().any(|f| f == "lifecycle_rows"),
        "{families:?}"
    );
    let mut admin = ledger.client(ADMIN_TOKEN).await;
    let after = fetch_lifecycle(&mut admin, email("erin@example.com"), size)
        .await
        .expect("lifecycle");
    assert_eq!(after, before);
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    append_one(
        &mut producer,
        about(pb::EventKind::Access, "erin@example.com", "e-last"),
    )
    .await;
    let latest = fetch_lifecycle(&mut admin, email("erin@example.com"), 0)
        .await
        .expect("lifecycle");
    let key = ledger.verifier_key();
    verify_lifecycle(&latest, std::slice::from_ref(&key)).expect("verifies");
    assert_eq!(latest.entries.len(), erins + 1);
    ledger.stop().await;
    let store = open(&ledger);
    assert_eq!(
        store.schema_version().expect("schema"),
        gdpr_ledger::storage::SCHEMA_VERSION
    );
    let lower_tree_rows = store
        .rows(columns::TREE)
        .expect("tree")
        .filter(|row| row.as_ref().expect("row").0[0] < 6)
        .count();
    assert_eq!(
        lower_tree_rows, 0,
        "the upgrade deletes the tree rows below level 6"
    );
    let audited = gdpr_ledger::store_audit::audit_store(&store, std::slice::from_ref(&key))
        .expect("audits clean");
    assert_eq!(audited.entries, size + 1);
    assert_eq!(store.tree_chunks_next().expect("mark"), (size + 1) / 64);
    let meta: Vec<Vec<u8>> = store
        .rows(columns::META)
        .expect("meta")
        .map(|row| row.expect("row").0.to_vec())
        .collect();
    assert!(!meta.iter().any(|key| key == b"lifecycle_rows_next"));
}

/// One bundle of four entries about Alice, another made earlier, and the keys.
async fn honest_bundles() -> (
    TestLedger,
    LifecycleBundle,
    LifecycleBundle,
    LifecycleBundle,
) {
    let ledger = TestLedger::start().await;
    let (_, first_size) = alice_and_bob(&ledger).await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    append_one(
        &mut producer,
        about(pb::EventKind::Objection, "alice@example.com", "a-4"),
    )
    .await;
    let mut auditor = ledger.client(AUDITOR_TOKEN).await;
    let alice = fetch_lifecycle(&mut auditor, email("alice@example.com"), 0)
        .await
        .expect("alice");
    let earlier = fetch_lifecycle(&mut auditor, email("alice@example.com"), first_size)
        .await
        .expect("earlier");
    let bob = fetch_lifecycle(&mut auditor, email("bob@example.com"), 0)
        .await
        .expect("bob");
    (ledger, alice, earlier, bob)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dishonest_server_is_caught_and_the_verifier_says_why() {
    let (ledger, alice, earlier, bob) = honest_bundles().await;
    let keys = [ledger.verifier_key()];
    assert_eq!(alice.entries.len(), 4);
    verify_lifecycle(&alice, &keys).expect("the honest bundle verifies");
    let check = |bundle: &LifecycleBundle| verify_lifecycle(bundle, &keys).expect_err("caught");

    // The latest entry dropped.
    let mut edited = alice.clone();
    let latest = edited.entries.pop().expect("latest");
    assert!(
        matches!(check(&edited), LifecycleError::MissingEntry { seq: 3, index, .. } if index == latest.index)
    );

    // A middle entry dropped.
    let mut edited = alice.clone();
    let middle = edited.entries.remove(1);
    assert!(
        matches!(check(&edited), LifecycleError::MissingEntry { seq: 1, index, .. } if index == middle.index)
    );

    // Two entries swapped.
    let mut edited = alice.clone();
    edited.entries.swap(1, 2);
    assert!(matches!(
        check(&edited),
        LifecycleError::OutOfPlace {
            seq: 1,
            position: 2,
            ..
        }
    ));

    // An entry of another subject slipped in: added, or in place of one of hers.
    let mut edited = alice.clone();
    edited.entries.insert(2, bob.entries[0].clone());
    assert!(matches!(
        check(&edited),
        LifecycleError::ExtraEntries {
            count: 4,
            listed: 5
        }
    ));
    let mut edited = alice.clone();
    edited.entries[1] = bob.entries[1].clone();
    assert!(matches!(
        check(&edited),
        LifecycleError::MissingEntry { seq: 1, .. }
    ));
    // ... or relabelled with her entry's index: its bytes then fail the proofs.
    let mut edited = alice.clone();
    let index = edited.entries[1].index;
    edited.entries[1] = bob.entries[1].clone();
    edited.entries[1].index = index;
    assert!(matches!(
        check(&edited),
        LifecycleError::Entry { position: 1, .. }
    ));

    // A stale subject proof (from the checkpoint when she had one entry) with today's entries.
    let mut edited = alice.clone();
    edited.subject_proof = earlier.subject_proof.clone();
    assert!(matches!(
        check(&edited),
        LifecycleError::SubjectProof(SubjectIndexError::RootMismatch)
    ));
    // The stale view as a whole is honest about its own checkpoint, not about today's.
    let mut edited = earlier.clone();
    edited.checkpoint = alice.checkpoint.clone();
    assert!(matches!(check(&edited), LifecycleError::SubjectProof(_)));

    // A forged absence: her path's siblings over an empty terminal, no entries.
    let mut edited = alice.clone();
    edited.entries.clear();
    edited.subject_proof.terminal = ProofTerminal::Empty;
    assert!(matches!(
        check(&edited),
        LifecycleError::SubjectProof(SubjectIndexError::RootMismatch)
    ));
    // ... or another token's genuine proof passed off as hers.
    let mut edited = alice.clone();
    edited.entries.clear();
    edited.subject_proof = bob.subject_proof.clone();
    assert!(matches!(check(&edited), LifecycleError::SubjectProof(_)));

    // And `gdpr-ledger verify` says NOT VERIFIED with the reason, exit status 1.
    let mut edited = alice.clone();
    edited.entries.remove(1);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("edited.json");
    std::fs::write(&path, edited.to_json()).expect("write");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
        .arg("verify")
        .arg("--key")
        .arg(keys[0].to_string())
        .arg(&path)
        .output()
        .expect("verify runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.starts_with("NOT VERIFIED: entry with subject_seq 1"),
        "{stdout}"
    );
    // ... and the check's code of docs/subject-index.md section 11.
    assert!(
        stdout.trim_end().ends_with("[lifecycle-missing-entry]"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_keeps_recent_versions_proving_and_refuses_older_ones() {
    let mut ledger = TestLedger::start().await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    for n in 0..6 {
        append_one(
            &mut producer,
            about(
                pb::EventKind::Access,
                "alice@example.com",
                &format!("p-{n}"),
            ),
        )
        .await;
    }
    let key = ledger.verifier_key();
    ledger.stop().await;
    {
        let store = gdpr_ledger::storage::LedgerStore::open(
            &ledger.data_dir(),
            &ledger.config.origin,
            &ledger.config.storage,
        )
        .expect("store opens");
        // Keep the last 2 entries: the horizon is version 4 (one version per unary append).
        let (horizon, summary) = store
            .prune_subject_index_keeping(6, 2)
            .expect("prunes")
            .expect("something to prune");
        assert_eq!(horizon, 4);
        assert_eq!(summary.roots_deleted, 3);
        // Alice's leaf was replaced at versions 2, 3 and 4 (the tree has one token: its leaf is
        // the root, alone in the root page), so exactly those three replaced pages go.
        assert_eq!(summary.pages_deleted, 3);
        assert_eq!(store.oldest_subject_index().expect("reads"), Some(4));
        assert!(
            store
                .prune_subject_index_keeping(6, 2)
                .expect("prunes")
                .is_none(),
            "a second pass finds nothing more"
        );
    }
    ledger.restart().await;
    let mut auditor = ledger.client(AUDITOR_TOKEN).await;
    for size in 4..=6 {
        let bundle = fetch_lifecycle(&mut auditor, email("alice@example.com"), size)
            .await
            .expect("kept version");
        let verified = verify_lifecycle(&bundle, std::slice::from_ref(&key)).expect("verifies");
        assert_eq!(verified.entries.len() as u64, size);
    }
    let refused = fetch_lifecycle(&mut auditor, email("alice@example.com"), 2)
        .await
        .expect_err("pruned version");
    assert!(
        matches!(&refused, gdpr_ledger::client::LifecycleFetchError::Rpc(s)
            if s.code() == tonic::Code::FailedPrecondition && s.message().contains("oldest kept is 4")),
        "{refused}"
    );
    // The audit rebuilds every version from the entries and checks the kept ones.
    ledger.stop().await;
    let store = gdpr_ledger::storage::LedgerStore::open_read_only(
        &ledger.data_dir(),
        &ledger.config.storage,
    )
    .expect("opens read-only");
    let summary = gdpr_ledger::store_audit::audit_store(&store, std::slice::from_ref(&key))
        .expect("audits clean after pruning");
    assert_eq!(summary.entries, 6);
}

/// Copies a stopped ledger's data dir.
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create");
    for file in std::fs::read_dir(from).expect("read dir") {
        let file = file.expect("dir entry");
        let target = to.join(file.file_name());
        if file.file_type().expect("file type").is_dir() {
            copy_dir(&file.path(), &target);
        } else {
            std::fs::copy(file.path(), target).expect("copy");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_in_small_batches_deletes_exactly_what_one_batch_does() {
    let mut ledger = TestLedger::start().await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    let who = |n: usize| format!("subject-{}@example.com", n % 4);
    for n in 0..12 {
        append_one(
            &mut producer,
            about(pb::EventKind::Access, &who(n), &format!("b-{n}")),
        )
        .await;
    }
    let key = ledger.verifier_key();
    ledger.stop().await;
    let copy = tempfile::tempdir().expect("temp dir");
    copy_dir(&ledger.data_dir(), copy.path());
    let prune = |dir: &std::path::Path, batch_deletes: usize| {
        let store = gdpr_ledger::storage::LedgerStore::open(
            dir,
            &ledger.config.origin,
            &ledger.config.storage,
        )
        .expect("store opens");
        let summary = store
            .prune_subject_index_in_batches(9, batch_deletes)
            .expect("prunes");
        let rows: Vec<(String, u64, u64)> = store
            .footprint()
            .expect("footprint")
            .into_iter()
            .filter(|family| family.name.starts_with("subject_index"))
            .map(|family| (family.name.to_owned(), family.rows, family.value_bytes))
            .collect();
        (summary, rows, store.oldest_subject_index().expect("reads"))
    };
    let in_one_batch = prune(copy.path(), usize::MAX);
    let a_batch_per_version = prune(&ledger.data_dir(), 1);
    assert_eq!(in_one_batch, a_batch_per_version);
    assert_eq!(in_one_batch.0.roots_deleted, 8, "versions 1 to 8 go");
    assert!(in_one_batch.0.pages_deleted >= 8, "{:?}", in_one_batch.0);
    assert_eq!(in_one_batch.2, Some(9));

    ledger.restart().await;
    let mut auditor = ledger.client(AUDITOR_TOKEN).await;
    for size in 9..=12 {
        for n in 0..4 {
            let bundle = fetch_lifecycle(&mut auditor, email(&who(n)), size)
                .await
                .expect("kept version");
            verify_lifecycle(&bundle, std::slice::from_ref(&key)).expect("verifies");
        }
    }
    ledger.stop().await;
    let store = gdpr_ledger::storage::LedgerStore::open_read_only(
        &ledger.data_dir(),
        &ledger.config.storage,
    )
    .expect("opens read-only");
    gdpr_ledger::store_audit::audit_store(&store, std::slice::from_ref(&key))
        .expect("audits clean after pruning in batches");
}

/// A data dir of schema 3 kept the subject index one node per row. The first writable open
/// rewrites its latest version as pages (docs/subject-index.md section 8): the same lifecycles at
/// that checkpoint, earlier ones refused as pruned, new appends proved, and an audit that is clean
/// (and that refuses the data dir before its upgrade).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_per_row_subject_index_is_rewritten_as_pages_and_answers_do_not_change() {
    use gdpr_ledger::core::subject_index::{IndexPage, NodeKey, PageNode};
    use gdpr_ledger::storage::{LedgerStore, columns};
    use gdpr_ledger::store_audit::{StoreAuditError, audit_store};

    let mut ledger = TestLedger::start().await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    // 300 subjects: a path crosses several pages.
    let who = |n: usize| format!("s-{}@example.com", n % 300);
    for start in (0..600).step_by(100) {
        let submissions = (start..start + 100)
            .map(|n| about(pb::EventKind::Access, &who(n), &format!("u-{n}")))
            .collect();
        append_many(&mut producer, submissions).await;
    }
    let mut admin = ledger.client(ADMIN_TOKEN).await;
    let probes = [0, 1, 150, 299];
    let mut before = Vec::new();
    for n in probes {
        before.push(
            fetch_lifecycle(&mut admin, email(&who(n)), 0)
                .await
                .expect("lifecycle"),
        );
    }
    let key = ledger.verifier_key();
    ledger.stop().await;
    let data_dir = ledger.data_dir();
    let size = LedgerStore::open_read_only(&data_dir, &ledger.config.storage)
        .expect("opens")
        .tree_size()
        .expect("size");

    // Rewrite the index as schema 3 kept it: every node of every page under the page's version.
    {
        let options = rocksdb::Options::default();
        let families = rocksdb::DB::list_cf(&options, &data_dir).expect("families");
        let mut db = rocksdb::DB::open_cf(&options, &data_dir, &families).expect("raw open");
        db.create_cf(columns::LEGACY_SUBJECT_INDEX, &options)
            .expect("create");
        let pages_family = db.cf_handle(columns::SUBJECT_INDEX_PAGES).expect("pages");
        let pages: Vec<_> = db
            .iterator_cf(pages_family, rocksdb::IteratorMode::Start)
            .map(|row| row.expect("row"))
            .collect();
        let legacy = db.cf_handle(columns::LEGACY_SUBJECT_INDEX).expect("legacy");
        let mut nodes = 0;
        for (page_key, value) in &pages {
            let page_key = NodeKey::from_key_bytes(page_key).expect("page key");
            let page = IndexPage::decode(page_key.version, page_key.path, &value[8..])
                .expect("page decodes");
            for PageNode { path, node, .. } in page.nodes() {
                let node_key = NodeKey {
                    version: page_key.version,
                    path: *path,
                };
                let mut row = u64::MAX.to_be_bytes().to_vec();
                row.extend(node.to_bytes());
                db.put_cf(legacy, node_key.to_key_bytes(), row)
                    .expect("put");
                nodes += 1;
            }
        }
        assert!(
            nodes > 2 * pages.len(),
            "{nodes} nodes in {} pages",
            pages.len()
        );
        let meta = db.cf_handle(columns::META).expect("meta");
        db.put_cf(meta, columns::META_SCHEMA_VERSION, b"3")
            .expect("put");
        db.drop_cf(columns::SUBJECT_INDEX_PAGES).expect("drop");
    }
    {
        let store = LedgerStore::open_read_only(&data_dir, &ledger.config.storage)
            .expect("a backup or an audit opens a schema 3 data dir");
        assert!(matches!(
            audit_store(&store, std::slice::from_ref(&key)),
            Err(StoreAuditError::NeedsUpgrade(found)) if found == "3"
        ));
    }

    ledger.restart().await;
    let families = rocksdb::DB::list_cf(&rocksdb::Options::default(), &data_dir).expect("list");
    assert!(
        !families
            .iter()
            .any(|family| family == columns::LEGACY_SUBJECT_INDEX),
        "{families:?}"
    );
    let mut admin = ledger.client(ADMIN_TOKEN).await;
    for (n, before) in probes.iter().zip(&before) {
        let after = fetch_lifecycle(&mut admin, email(&who(*n)), size)
            .await
            .expect("lifecycle at the upgraded version");
        assert_eq!(&after, before);
    }
    let refused = fetch_lifecycle(&mut admin, email(&who(0)), size - 100)
        .await
        .expect_err("an earlier version is not kept");
    assert!(
        matches!(&refused, gdpr_ledger::client::LifecycleFetchError::Rpc(s)
            if s.code() == tonic::Code::FailedPrecondition
                && s.message().contains(&format!("oldest kept is {size}"))),
        "{refused}"
    );
    // New appends build on the rewritten pages.
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    let submissions = (0..40)
        .map(|n| about(pb::EventKind::Access, &who(n * 7), &format!("v-{n}")))
        .collect();
    append_many(&mut producer, submissions).await;
    for n in probes {
        let latest = fetch_lifecycle(&mut admin, email(&who(n)), 0)
            .await
            .expect("lifecycle");
        verify_lifecycle(&latest, std::slice::from_ref(&key)).expect("verifies");
    }
    ledger.stop().await;
    let store = LedgerStore::open_read_only(&data_dir, &ledger.config.storage).expect("opens");
    assert_eq!(
        store.schema_version().expect("schema"),
        gdpr_ledger::storage::SCHEMA_VERSION
    );
    audit_store(&store, std::slice::from_ref(&key)).expect("audits clean after the upgrade");
}
