//! Erasure that is real, on a real server: details are sealed per subject; `EraseSubject` destroys
//! the subject's key, details and (at closing) directory rows, and a scan of every file in the
//! data dir finds none of them afterwards (and all of them before, as a positive control); proofs
//! and audits still verify; a restart finishes an interrupted purge; a restore re-applies
//! erasures made after the backup.

use crate::common;

use std::time::Duration;

use common::scan::{forms, found_in_files};
use common::{ADMIN_TOKEN, AUDITOR_TOKEN, BILLING_TOKEN, MAILER_TOKEN, PRODUCER_TOKEN, TestLedger};
use gdpr_ledger::client::BearerToken;
use gdpr_ledger::core::directory::{DirectorySecret, directory_row_key};
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::storage::{LedgerStore, StorageConfig, columns};
use tonic::Code;
use tonic::transport::Channel;

type Erasure = common::ErasureClient;

async fn erasure_client(ledger: &TestLedger, token: &str) -> Erasure {
    ledger.erasure_client(token).await
}

/// The subject named by the e-mail address `value`.
fn email(value: &str) -> pb::SubjectIdentifier {
    pb::SubjectIdentifier {
        kind: "email".into(),
        value: value.into(),
    }
}

fn jane() -> pb::SubjectIdentifier {
    email("jane.doe@example.com")
}

fn by_identifier(identifier: pb::SubjectIdentifier) -> Option<pb::SubjectRef> {
    Some(pb::SubjectRef {
        subject: Some(pb::subject_ref::Subject::Identifier(identifier)),
    })
}

fn with_details(mut submission: pb::EventSubmission, details: &str) -> pb::EventSubmission {
    submission.details = details.as_bytes().to_vec();
    submission
}

/// A collection in `crm` about `value`, with details.
fn collected(event_id: &str, value: &str, details: &str) -> pb::EventSubmission {
    with_details(common::collection(event_id, "email", value), details)
}

/// A share of `value`'s data to the processor `mailer-eu`.
fn shared(event_id: &str, value: &str) -> pb::EventSubmission {
    let mut submission = gdpr_ledger::validation::example_submission(pb::EventKind::Share);
    let event = submission.event.as_mut().expect("event");
    event.event_id = event_id.into();
    event.recipient = Some(pb::Recipient {
        name: "mailer-eu".into(),
        role: pb::RecipientRole::Processor as i32,
        country: "DE".into(),
        transfer_basis: 0,
    });
    submission.subject = Some(email(value));
    submission
}

/// `system` confirms it deleted `value`'s data.
fn deleted(event_id: &str, value: &str, system: &str) -> pb::EventSubmission {
    let mut submission = gdpr_ledger::validation::example_submission(pb::EventKind::DeletionDone);
    let event = submission.event.as_mut().expect("event");
    event.event_id = event_id.into();
    event.system = system.into();
    submission.subject = Some(email(value));
    submission
}

async fn append(client: &mut common::Client, submissions: Vec<pb::EventSubmission>) -> Vec<u64> {
    client
        .append_batch(pb::AppendBatchRequest {
            submissions,
            include_bundle: false,
        })
        .await
        .expect("appended")
        .into_inner()
        .receipts
        .iter()
        .map(|r| r.index)
        .collect()
}

/// What erasure must destroy, read from the store (opened read-only beside the server).
struct Secrets {
    wrapped_key: Vec<u8>,
    sealed_details: Vec<u8>,
    sealed_identifiers: Vec<u8>,
    directory_row: [u8; 32],
    linked_directory_row: [u8; 32],
}

/// The ledger's directory secret, read from its secrets dir.
fn directory_secret(ledger: &TestLedger) -> DirectorySecret {
    let text = std::fs::read_to_string(ledger.config.secrets_dir.join("directory-secret"))
        .expect("directory secret");
    let bytes: [u8; 32] = hex::decode(text.trim())
        .expect("hex")
        .try_into()
        .expect("32 bytes");
    DirectorySecret::from_bytes(bytes)
}

fn read_secrets(ledger: &TestLedger, token: &[u8; 32], details_index: u64) -> Secrets {
    let store = LedgerStore::open_read_only(&ledger.data_dir(), &StorageConfig::default())
        .expect("opens read-only");
    let secret = directory_secret(ledger);
    let directory_row =
        directory_row_key(&secret, "email", "jane.doe@example.com").expect("row key");
    let linked_directory_row = directory_row_key(&secret, "customer_id", "C-77").expect("row key");
    assert_eq!(
        store.directory_token(&directory_row).expect("read"),
        Some(*token)
    );
    Secrets {
        wrapped_key: store
            .data_key_row(token)
            .expect("read")
            .expect("a data key"),
        sealed_details: store
            .sealed_details(token, details_index)
            .expect("read")
            .expect("sealed details"),
        sealed_identifiers: store
            .sealed_identifiers(token)
            .expect("read")
            .expect("sealed identifiers"),
        directory_row,
        linked_directory_row,
    }
}

/// What erasure must leave in no file, each in every form a file could hold it in: as is, in hex
/// (both cases, as RocksDB's info log writes keys) and in base64 (standard and URL-safe, padded
/// or not). Named `<what> (<form>)`.
fn needles(secrets: &Secrets) -> Vec<(String, Vec<u8>)> {
    [
        ("wrapped data key", secrets.wrapped_key.as_slice()),
        ("sealed details", secrets.sealed_details.as_slice()),
        ("sealed identifiers", secrets.sealed_identifiers.as_slice()),
        ("directory row key", secrets.directory_row.as_slice()),
        (
            "linked directory row key",
            secrets.linked_directory_row.as_slice(),
        ),
        ("identifier", b"email:jane.doe@example.com".as_slice()),
        ("linked identifier", b"customer_id:C-77".as_slice()),
    ]
    .into_iter()
    .flat_map(|(what, bytes)| forms(what, bytes))
    .collect()
}

#[test]
fn the_scan_finds_every_form_of_every_secret() {
    // Positive control of the forms: a file holding each form is found by each name.
    let secrets = Secrets {
        wrapped_key: vec![1; 72],
        sealed_details: vec![2; 60],
        sealed_identifiers: vec![3; 64],
        directory_row: [4; 32],
        linked_directory_row: [5; 32],
    };
    let needles = needles(&secrets);
    let dir = tempfile::tempdir().expect("temp dir");
    for (n, (_, form)) in needles.iter().enumerate() {
        std::fs::write(
            dir.path().join(format!("LOG.old.{n}")),
            [b"x ", &form[..], b" y"].concat(),
        )
        .expect("write");
    }
    let found = found_in_files(dir.path(), &needles);
    for (name, _) in &needles {
        assert!(
            found.iter().any(|f| f.starts_with(&format!("{name} in "))),
            "{name} not found: {found:?}"
        );
    }
}

/// Polls the status until `done` holds (bounded: 300 polls, 100 ms apart).
async fn wait_for_status(
    client: &mut Erasure,
    token: &[u8; 32],
    done: impl Fn(&pb::ErasureStatus) -> bool,
) -> pb::ErasureStatus {
    let subject = Some(pb::SubjectRef {
        subject: Some(pb::subject_ref::Subject::Token(token.to_vec())),
    });
    for _ in 0..300 {
        let status = client
            .get_erasure_status(pb::GetErasureStatusRequest {
                subject: subject.clone(),
            })
            .await
            .expect("status")
            .into_inner();
        if done(&status) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the erasure did not reach the expected state in 30 s");
}

fn token_of(status: &pb::ErasureStatus) -> [u8; 32] {
    status.token.as_slice().try_into().expect("32-byte token")
}

const CLOSED: i32 = pb::erasure_status::State::Closed as i32;
const OPEN: i32 = pb::erasure_status::State::Open as i32;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_subject_leaves_no_key_details_or_directory_row_in_any_file() {
    let ledger = TestLedger::start_with(|c| c.erasure.purge_batch_ms = 50).await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    let mut auditor = erasure_client(&ledger, AUDITOR_TOKEN).await;
    let mut admin = erasure_client(&ledger, ADMIN_TOKEN).await;

    // Jane, and others around her.
    let indexes = append(
        &mut producer,
        vec![
            collected(
                "c-jane",
                "jane.doe@example.com",
                "Jane Doe, 12 Baker Street, London",
            ),
            collected("c-max", "max@example.com", "Max, call after 5pm"),
            shared("s-jane", "jane.doe@example.com"),
            collected("c-eva", "eva@example.com", "Eva, prefers post"),
        ],
    )
    .await;
    let details = auditor
        .get_details(pb::GetDetailsRequest { index: indexes[0] })
        .await
        .expect("details")
        .into_inner();
    assert_eq!(details.details, b"Jane Doe, 12 Baker Street, London");
    // The entry holds the digest of the sealed bytes, never the details.
    let entry = producer_entry(&ledger, indexes[0]).await;
    assert_eq!(entry.event.expect("event").details_digest.len(), 32);

    let before = auditor
        .get_erasure_status(pb::GetErasureStatusRequest {
            subject: by_identifier(jane()),
        })
        .await
        .expect("status")
        .into_inner();
    assert_eq!(before.state, pb::erasure_status::State::None as i32);
    assert_eq!(before.holders.len(), 2, "{before:?}");
    let token = token_of(&before);

    // While the data is held, an admin can go back from the token to the person (article 34),
    // by every identifier the ledger has seen for her.
    let mut link = gdpr_ledger::validation::example_submission(pb::EventKind::IdentityLink);
    link.event.as_mut().expect("event").event_id = "link-jane".into();
    link.subject = Some(jane());
    link.linked_subject = Some(pb::SubjectIdentifier {
        kind: "customer_id".into(),
        value: " C-77 ".into(),
    });
    // The link is billing's (its customer id), so billing appends it.
    let mut billing = ledger.client(BILLING_TOKEN).await;
    append(&mut billing, vec![link]).await;
    let back = admin
        .get_identifiers(pb::GetIdentifiersRequest {
            token: token.to_vec(),
        })
        .await
        .expect("identifiers")
        .into_inner();
    assert_eq!(
        back.identifiers,
        [
            jane(),
            pb::SubjectIdentifier {
                kind: "customer_id".into(),
                value: "C-77".into(),
            }
        ]
    );
    let refused = auditor
        .get_identifiers(pb::GetIdentifiersRequest {
            token: token.to_vec(),
        })
        .await
        .expect_err("only admins re-identify");
    assert_eq!(refused.code(), Code::PermissionDenied);

    // Positive control: everything erasure must destroy is in the files now.
    let secrets = read_secrets(&ledger, &token, indexes[0]);
    let found = found_in_files(&ledger.data_dir(), &needles(&secrets));
    let stored_as_is = [
        "wrapped data key",
        "sealed details",
        "sealed identifiers",
        "directory row key",
    ];
    for name in stored_as_is.map(|what| format!("{what} (raw)")) {
        assert!(
            found.iter().any(|f| f.starts_with(&name)),
            "the scan must find the {name} before the erasure: {found:?}"
        );
    }

    // Producers and auditors may not erase.
    let refused = auditor
        .erase_subject(pb::EraseSubjectRequest {
            subject: Some(jane()),
            ..Default::default()
        })
        .await
        .expect_err("an auditor cannot erase");
    assert_eq!(refused.code(), Code::PermissionDenied);
    let unknown = admin
        .erase_subject(pb::EraseSubjectRequest {
            subject: Some(email("nobody@example.com")),
            ..Default::default()
        })
        .await
        .expect_err("unknown subject");
    assert_eq!(unknown.code(), Code::NotFound);

    let opened = admin
        .erase_subject(pb::EraseSubjectRequest {
            subject: Some(jane()),
            system: "privacy-portal".into(),
            event_id: "erase-jane-1".into(),
        })
        .await
        .expect("erasure opens")
        .into_inner();
    assert_eq!(opened.state, OPEN);
    assert_eq!(opened.pending, 2);
    assert!(opened.request_index > indexes[3]);
    // Asking again changes nothing.
    let again = admin
        .erase_subject(pb::EraseSubjectRequest {
            subject: Some(jane()),
            ..Default::default()
        })
        .await
        .expect("same case")
        .into_inner();
    assert_eq!(again.request_index, opened.request_index);

    // At once: the details are unreadable, and no new details are sealed for her.
    let erased = auditor
        .get_details(pb::GetDetailsRequest { index: indexes[0] })
        .await
        .expect("details answer")
        .into_inner();
    assert!(erased.erased && erased.details.is_empty());
    let refused = producer
        .append(pb::AppendRequest {
            submission: Some(collected("c-jane-2", "jane.doe@example.com", "new notes")),
            include_bundle: false,
        })
        .await
        .expect_err("no new details during an erasure");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    // Others are untouched.
    let max = auditor
        .get_details(pb::GetDetailsRequest { index: indexes[1] })
        .await
        .expect("details")
        .into_inner();
    assert_eq!(max.details, b"Max, call after 5pm");

    // The systems confirm, naming her by identifier; the last confirmation closes the case.
    append(
        &mut producer,
        vec![deleted("d-crm", "jane.doe@example.com", "crm")],
    )
    .await;
    let one_left = auditor
        .get_erasure_status(pb::GetErasureStatusRequest {
            subject: by_identifier(jane()),
        })
        .await
        .expect("status")
        .into_inner();
    assert_eq!(one_left.pending, 1);
    let pending: Vec<&str> = one_left
        .holders
        .iter()
        .filter(|h| h.confirmed_index.is_none())
        .map(|h| h.name.as_str())
        .collect();
    assert_eq!(pending, ["mailer-eu"]);
    // The crm cannot confirm the processor's deletion: only mailer-eu's own token can.
    let forged = producer
        .append_batch(pb::AppendBatchRequest {
            submissions: vec![deleted("d-forged", "jane.doe@example.com", "mailer-eu")],
            include_bundle: false,
        })
        .await
        .expect_err("crm speaks for mailer-eu");
    assert_eq!(forged.code(), Code::PermissionDenied);
    let still = auditor
        .get_erasure_status(pb::GetErasureStatusRequest {
            subject: by_identifier(jane()),
        })
        .await
        .expect("status")
        .into_inner();
    assert_eq!(
        (still.state, still.pending),
        (OPEN, 1),
        "the case stays open"
    );
    let mut mailer = ledger.client(MAILER_TOKEN).await;
    append(
        &mut mailer,
        vec![deleted("d-mailer", "jane.doe@example.com", "mailer-eu")],
    )
    .await;
    let closed = wait_for_status(&mut auditor, &token, |s| s.state == CLOSED && s.purged).await;
    assert_eq!(closed.pending, 0);
    assert_eq!(closed.closed_by, "gdpr-ledger");

    // Nothing maps her entries back to her any more.
    let gone = auditor
        .get_erasure_status(pb::GetErasureStatusRequest {
            subject: by_identifier(jane()),
        })
        .await
        .expect_err("the directory no longer resolves her");
    assert_eq!(gone.code(), Code::NotFound);

    let gone = admin
        .get_identifiers(pb::GetIdentifiersRequest {
            token: token.to_vec(),
        })
        .await
        .expect("answer")
        .into_inner();
    assert!(gone.erased && gone.identifiers.is_empty());

    // And none of it is in any file of the data dir (SSTs, WAL, MANIFEST, OPTIONS, LOG and
    // LOG.old), in any form, nor in the erasure journal beside it.
    let found = found_in_files(&ledger.data_dir(), &needles(&secrets));
    assert!(found.is_empty(), "found after the erasure: {found:?}");
    let journal = ledger.config.secrets_dir.join("erasure-journal");
    assert!(journal.exists(), "the journal is where the scan looks");
    let journal_text = std::fs::read(&journal).expect("journal");
    for (name, form) in needles(&secrets) {
        assert!(
            !journal_text
                .windows(form.len())
                .any(|w| w == form.as_slice()),
            "{name} in the erasure journal"
        );
    }

    // The log still verifies, whole, and her lifecycle is still proved by token.
    let key = ledger.verifier_key();
    common::audit_whole_log(ledger.addr(), &key).await;
    let mut reader = ledger.client(AUDITOR_TOKEN).await;
    let bundle = gdpr_ledger::client::fetch_lifecycle(
        &mut reader,
        pb::get_subject_lifecycle_request::Subject::Token(token.to_vec()),
        0,
    )
    .await
    .expect("lifecycle");
    let verified =
        gdpr_ledger::core::lifecycle::verify_lifecycle(&bundle, std::slice::from_ref(&key))
            .expect("verifies");
    // Her chain: collection, share, the access entry of the details read, identity link, the
    // access entry of the re-identification, erasure request, two deletions.
    let events: Vec<(i32, String)> = verified
        .entries
        .iter()
        .map(|e| {
            let event = e.entry.entry().event.clone().unwrap_or_default();
            (event.kind, event.event_id)
        })
        .collect();
    assert_eq!(events.len(), 8, "{events:?}");
    let access = pb::EventKind::Access as i32;
    assert!(
        events[2].0 == access && events[2].1.starts_with(&format!("details.{}.", indexes[0])),
        "the details read is logged in her chain: {events:?}"
    );
    assert!(
        events[4].0 == access && events[4].1.starts_with("identifiers."),
        "the re-identification is logged in her chain: {events:?}"
    );
    // The lifecycle view says her details are gone; the entries still say what happened.
    assert!(bundle.details_erased && verified.details_erased);
    let rows = gdpr_ledger::core::lifecycle::TimelineRow::all(&verified);
    assert_eq!(
        rows[0].note.as_deref(),
        Some("details erased"),
        "{}",
        rows[0]
    );
}

async fn producer_entry(ledger: &TestLedger, index: u64) -> pb::Entry {
    let mut reader = ledger.client(AUDITOR_TOKEN).await;
    let response = reader
        .get_entry(pb::GetEntryRequest {
            selector: Some(pb::get_entry_request::Selector::Index(index)),
            ..Default::default()
        })
        .await
        .expect("entry")
        .into_inner();
    gdpr_ledger::core::entry::decode_entry(&response.entry).expect("decodes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subject_with_thousands_of_entries_is_erased_whole_and_a_restart_finishes_the_purge() {
    // The purge waits long enough that the server stops before it runs.
    let mut ledger = TestLedger::start_with(|c| c.erasure.purge_batch_ms = 60_000).await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    let mut indexes = Vec::new();
    for batch in 0..5 {
        let submissions = (0..500)
            .map(|n| {
                collected(
                    &format!("bulk-{batch}-{n}"),
                    "jane.doe@example.com",
                    &format!("note {batch}/{n} about Jane"),
                )
            })
            .collect();
        indexes.extend(append(&mut producer, submissions).await);
    }
    let mut admin = erasure_client(&ledger, ADMIN_TOKEN).await;
    let opened = admin
        .erase_subject(pb::EraseSubjectRequest {
            subject: Some(jane()),
            ..Default::default()
        })
        .await
        .expect("erasure opens")
        .into_inner();
    assert!(!opened.purged);
    let token = token_of(&opened);

    // The shredding is in the same durable write as the request: after a stop before the
    // purge, every sealed row is gone from the store...
    ledger.stop().await;
    {
        let store = LedgerStore::open_read_only(&ledger.data_dir(), &StorageConfig::default())
            .expect("opens");
        assert_eq!(
            store.data_key_row(&token).expect("read").as_deref(),
            Some(columns::SHREDDED_KEY)
        );
        assert_eq!(store.rows(columns::DETAILS).expect("rows").count(), 0);
        assert!(store.sealed_identifiers(&token).expect("read").is_none());
    }
    // ...and the restarted server finishes the purge it had not run.
    ledger.config.erasure.purge_batch_ms = 50;
    ledger.restart().await;
    let mut auditor = erasure_client(&ledger, AUDITOR_TOKEN).await;
    let status = wait_for_status(&mut auditor, &token, |s| s.purged).await;
    assert_eq!(status.state, OPEN);
    for index in [indexes[0], indexes[1234], indexes[2499]] {
        let details = auditor
            .get_details(pb::GetDetailsRequest { index })
            .await
            .expect("answer")
            .into_inner();
        assert!(details.erased, "entry {index}");
    }
    // An admin may close the case early, with a reason; without one it is refused.
    let no_reason = admin_client_after_restart(&ledger)
        .await
        .close_erasure(pb::CloseErasureRequest {
            subject: by_identifier(jane()),
            reason: String::new(),
        })
        .await
        .expect_err("a reason is required");
    assert_eq!(no_reason.code(), Code::InvalidArgument);
    let closed = admin_client_after_restart(&ledger)
        .await
        .close_erasure(pb::CloseErasureRequest {
            subject: by_identifier(jane()),
            reason: "crm decommissioned".into(),
        })
        .await
        .expect("closes")
        .into_inner();
    assert_eq!(closed.state, CLOSED);
    assert_eq!(closed.close_reason, "crm decommissioned");
    let entries = common::audit_whole_log(ledger.addr(), &ledger.verifier_key()).await;
    assert_eq!(entries.len(), 2501);
}

async fn admin_client_after_restart(ledger: &TestLedger) -> Erasure {
    erasure_client(ledger, ADMIN_TOKEN).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_racing_an_erasure_either_land_before_it_or_are_refused() {
    let ledger = TestLedger::start_with(|c| c.erasure.purge_batch_ms = 50).await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    append(
        &mut producer,
        vec![collected("first", "jane.doe@example.com", "first note")],
    )
    .await;
    let writer = {
        let mut producer = ledger.client(PRODUCER_TOKEN).await;
        tokio::spawn(async move {
            let (mut landed, mut refused) = (0, 0);
            for n in 0..300 {
                let outcome = producer
                    .append(pb::AppendRequest {
                        submission: Some(collected(
                            &format!("race-{n}"),
                            "jane.doe@example.com",
                            &format!("note {n}"),
                        )),
                        include_bundle: false,
                    })
                    .await;
                match outcome {
                    Ok(_) => landed += 1,
                    Err(status) => {
                        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
                        refused += 1;
                    }
                }
            }
            (landed, refused)
        })
    };
    tokio::time::sleep(Duration::from_millis(30)).await;
    let mut admin = erasure_client(&ledger, ADMIN_TOKEN).await;
    let opened = admin
        .erase_subject(pb::EraseSubjectRequest {
            subject: Some(jane()),
            ..Default::default()
        })
        .await
        .expect("erasure opens")
        .into_inner();
    let (landed, refused) = writer.await.expect("writer");
    assert_eq!(landed + refused, 300);
    // Once refused, always refused: nothing after the request holds details of hers.
    let token = token_of(&opened);
    let mut auditor = erasure_client(&ledger, AUDITOR_TOKEN).await;
    wait_for_status(&mut auditor, &token, |s| s.purged).await;
    let store =
        LedgerStore::open_read_only(&ledger.data_dir(), &StorageConfig::default()).expect("opens");
    assert_eq!(store.rows(columns::DETAILS).expect("rows").count(), 0);
    let entries = common::audit_whole_log(ledger.addr(), &ledger.verifier_key()).await;
    assert_eq!(entries.len() as u64, 1 + landed + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_does_not_bring_back_an_erasure_made_after_the_backup() {
    let mut ledger = TestLedger::start_with(|c| c.erasure.purge_batch_ms = 50).await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    let indexes = append(
        &mut producer,
        vec![
            collected(
                "c-jane",
                "jane.doe@example.com",
                "Jane Doe, 12 Baker Street",
            ),
            collected("c-max", "max@example.com", "Max"),
        ],
    )
    .await;
    let mut auditor = erasure_client(&ledger, AUDITOR_TOKEN).await;
    let token = token_of(
        &auditor
            .get_erasure_status(pb::GetErasureStatusRequest {
                subject: by_identifier(jane()),
            })
            .await
            .expect("status")
            .into_inner(),
    );
    let secrets = read_secrets(&ledger, &token, indexes[0]);

    let backup_dir = ledger.dirs.path().join("backup");
    let channel = Channel::from_shared(format!("http://{}", ledger.addr()))
        .expect("uri")
        .connect()
        .await
        .expect("connects");
    gdpr_ledger::proto::v1::admin_client::AdminClient::with_interceptor(
        channel,
        BearerToken::new(ADMIN_TOKEN).expect("token"),
    )
    .create_backup(pb::CreateBackupRequest {
        destination: backup_dir.display().to_string(),
    })
    .await
    .expect("backup");
    assert!(
        !found_in_files(&backup_dir, &needles(&secrets)).is_empty(),
        "the backup holds her rows"
    );

    let mut admin = erasure_client(&ledger, ADMIN_TOKEN).await;
    admin
        .erase_subject(pb::EraseSubjectRequest {
            subject: Some(jane()),
            ..Default::default()
        })
        .await
        .expect("erasure opens");
    admin
        .close_erasure(pb::CloseErasureRequest {
            subject: Some(pb::SubjectRef {
                subject: Some(pb::subject_ref::Subject::Token(token.to_vec())),
            }),
            reason: "test".into(),
        })
        .await
        .expect("closes");
    wait_for_status(&mut auditor, &token, |s| s.state == CLOSED && s.purged).await;
    ledger.stop().await;

    // Restore the backup with the command line, as an operator would.
    let restored = ledger.dirs.path().join("restored");
    let journal = ledger.config.secrets_dir.join("erasure-journal");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
        .arg("restore")
        .arg("--from")
        .arg(&backup_dir)
        .arg("--data-dir")
        .arg(&restored)
        .arg("--erasure-journal")
        .arg(&journal)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("ERASURES RE-APPLIED: 1 subjects"),
        "{stdout}"
    );
    let found = found_in_files(&restored, &needles(&secrets));
    assert!(found.is_empty(), "the restore brought back: {found:?}");

    // The restored log runs: Max's details are there, Jane's are not.
    ledger.config.data_dir = restored;
    ledger.restart().await;
    let mut auditor = erasure_client(&ledger, AUDITOR_TOKEN).await;
    let max = auditor
        .get_details(pb::GetDetailsRequest { index: indexes[1] })
        .await
        .expect("details")
        .into_inner();
    assert_eq!(max.details, b"Max");
    let jane_details = auditor
        .get_details(pb::GetDetailsRequest { index: indexes[0] })
        .await
        .expect("answer")
        .into_inner();
    assert!(jane_details.erased);
}

/// `system` keeps `value`'s data on a ground of article 17(3), until `until` (Unix seconds).
fn exempted(
    event_id: &str,
    value: &str,
    system: &str,
    occurred: i64,
    until: Option<i64>,
) -> pb::EventSubmission {
    let mut submission =
        gdpr_ledger::validation::example_submission(pb::EventKind::ErasureExempted);
    let event = submission.event.as_mut().expect("event");
    event.event_id = event_id.into();
    event.system = system.into();
    event.occurred_at = Some(prost_types::Timestamp {
        seconds: occurred,
        nanos: 0,
    });
    let exemption = event.exemption.as_mut().expect("exemption");
    exemption.until = until.map(|seconds| prost_types::Timestamp { seconds, nanos: 0 });
    submission.subject = Some(email(value));
    submission
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exemption_answers_for_a_system_until_its_end_date_and_keeps_the_case_open() {
    let ledger = TestLedger::start_with(|c| c.erasure.purge_batch_ms = 50).await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    let mut billing = ledger.client(BILLING_TOKEN).await;
    let mut billing_collection = common::collection("c-billing", "email", "jane.doe@example.com");
    billing_collection.event.as_mut().expect("event").system = "billing".into();
    let mut max_in_hr = common::collection("c-max-hr", "email", "max@example.com");
    max_in_hr.event.as_mut().expect("event").system = "hr".into();
    append(
        &mut producer,
        vec![
            common::collection("c-crm", "email", "jane.doe@example.com"),
            common::collection("c-max-crm", "email", "max@example.com"),
            max_in_hr,
        ],
    )
    .await;
    append(&mut billing, vec![billing_collection]).await;
    // A share recorded by mistake and retracted put her data nowhere: not a holder.
    let mistaken = append(
        &mut producer,
        vec![shared("s-mistake", "jane.doe@example.com")],
    )
    .await;
    let mut retraction = gdpr_ledger::validation::example_submission(pb::EventKind::Correction);
    let event = retraction.event.as_mut().expect("event");
    event.event_id = "s-mistake-retracted".into();
    event.correction.as_mut().expect("correction").target_index = mistaken[0];
    append(&mut producer, vec![retraction]).await;
    let mut admin = erasure_client(&ledger, ADMIN_TOKEN).await;
    let opened = admin
        .erase_subject(pb::EraseSubjectRequest {
            subject: Some(jane()),
            ..Default::default()
        })
        .await
        .expect("opens")
        .into_inner();
    let names: Vec<&str> = opened.holders.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        ["billing", "crm"],
        "the retracted share is no holder"
    );
    assert_eq!(opened.pending, 2);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    // crm deletes; billing keeps invoices for ten years.
    append(
        &mut producer,
        vec![deleted("d-crm", "jane.doe@example.com", "crm")],
    )
    .await;
    append(
        &mut billing,
        vec![exempted(
            "x-billing",
            "jane.doe@example.com",
            "billing",
            now - 60,
            Some(now + 315_360_000),
        )],
    )
    .await;
    let mut auditor = erasure_client(&ledger, AUDITOR_TOKEN).await;
    let status = auditor
        .get_erasure_status(pb::GetErasureStatusRequest {
            subject: by_identifier(jane()),
        })
        .await
        .expect("status")
        .into_inner();
    assert_eq!(status.state, OPEN, "an exemption does not close the case");
    assert_eq!(status.pending, 0);
    let billing = status
        .holders
        .iter()
        .find(|h| h.name == "billing")
        .expect("billing holds her data");
    assert_eq!(
        billing.exemption_ground,
        "eu-gdpr:JustificationA17LegallyRequired"
    );
    assert_eq!(
        billing.exempt_until.as_ref().map(|t| t.seconds),
        Some(now + 315_360_000)
    );
    assert!(!billing.pending && billing.confirmed_index.is_none());

    // Max: hr answered with an exemption that has already ended: it owes an answer again.
    admin
        .erase_subject(pb::EraseSubjectRequest {
            subject: Some(email("max@example.com")),
            ..Default::default()
        })
        .await
        .expect("opens");
    append(
        &mut producer,
        vec![
            deleted("d-max-crm", "max@example.com", "crm"),
            exempted(
                "x-max-hr",
                "max@example.com",
                "hr",
                now - 86_400 * 30,
                Some(now - 86_400),
            ),
        ],
    )
    .await;
    let open = auditor
        .list_open_erasures(pb::ListOpenErasuresRequest { older_than_days: 0 })
        .await
        .expect("list")
        .into_inner()
        .cases;
    assert_eq!(open.len(), 2, "both cases are open, oldest first");
    assert_eq!(open[0].token, status.token);
    let max = &open[1];
    assert_eq!(max.pending, 1);
    let hr = max
        .holders
        .iter()
        .find(|h| h.name == "hr")
        .expect("hr holds his data");
    assert!(hr.pending, "the exemption ended a day ago");
    assert!(hr.exemption_index.is_some());
    // Cases opened less than a day ago are not listed as a day old.
    let old = auditor
        .list_open_erasures(pb::ListOpenErasuresRequest { older_than_days: 1 })
        .await
        .expect("list")
        .into_inner()
        .cases;
    assert!(old.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_line_torn_by_a_crash_does_not_stop_the_next_start() {
    let mut ledger = TestLedger::start_with(|c| c.erasure.purge_batch_ms = 50).await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    append(
        &mut producer,
        vec![
            collected("c-1", "jane.doe@example.com", "x"),
            collected("c-2", "max@example.com", "y"),
        ],
    )
    .await;
    let mut admin = erasure_client(&ledger, ADMIN_TOKEN).await;
    admin
        .erase_subject(pb::EraseSubjectRequest {
            subject: Some(jane()),
            ..Default::default()
        })
        .await
        .expect("opens");
    ledger.stop().await;
    // A crash in the middle of the next journal append.
    let journal = ledger.config.secrets_dir.join("erasure-journal");
    let mut text = std::fs::read(&journal).expect("journal");
    assert!(text.ends_with(b"\n"));
    text.extend_from_slice(b"{\"token\":\"00ab");
    std::fs::write(&journal, &text).expect("torn");
    ledger.restart().await;
    let mut admin = erasure_client(&ledger, ADMIN_TOKEN).await;
    let opened = admin
        .erase_subject(pb::EraseSubjectRequest {
            subject: Some(email("max@example.com")),
            ..Default::default()
        })
        .await
        .expect("the server started and erases again")
        .into_inner();
    assert_eq!(opened.state, OPEN);
    let journal = gdpr_ledger::erasure::ErasureJournal::new(&journal);
    assert_eq!(
        journal
            .latest()
            .expect("the journal reads whole again")
            .len(),
        2,
        "both cases, and no torn line"
    );
}

/// The purge of a shredding and the closing of the same case can fall in one batch of the
/// worker (here a 1.5-s batch that the erasure request and the last confirmation both land in):
/// the case is marked purged only once the rows its closing destroyed are gone from the files
/// too, not after the batch's first purge (a crash in between would never purge them: a start
/// resumes only the purges of cases not marked purged).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_closed_in_the_batch_of_its_shredding_is_purged_of_its_directory_rows_too() {
    let ledger = TestLedger::start_with(|c| c.erasure.purge_batch_ms = 1500).await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    append(
        &mut producer,
        vec![collected("c-jane", "jane.doe@example.com", "notes")],
    )
    .await;
    let secret = directory_secret(&ledger);
    let row = directory_row_key(&secret, "email", "jane.doe@example.com").expect("row key");
    let needles = forms("directory row key", &row);

    let mut admin = erasure_client(&ledger, ADMIN_TOKEN).await;
    let opened = admin
        .erase_subject(pb::EraseSubjectRequest {
            subject: Some(jane()),
            ..Default::default()
        })
        .await
        .expect("erasure opens")
        .into_inner();
    let token = token_of(&opened);
    // The only holder confirms at once, inside the worker's batch.
    append(
        &mut producer,
        vec![deleted("d-crm", "jane.doe@example.com", "crm")],
    )
    .await;
    wait_for_status(&mut admin, &token, |s| s.state == CLOSED && s.purged).await;
    let found = found_in_files(&ledger.data_dir(), &needles);
    assert!(found.is_empty(), "marked purged, yet: {found:?}");
}
