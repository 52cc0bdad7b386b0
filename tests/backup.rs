//! Backup and restore on a real server: an online backup taken while appends go on is a
//! consistent prefix of the log; restored into a new data dir it audits clean, proves lifecycles,
//! and takes appends from where it stopped. Bad requests are refused precisely.

mod common;

use common::{ADMIN_TOKEN, PRODUCER_TOKEN, TestLedger};
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::proto::v1::admin_client::AdminClient;

fn submission(n: u64) -> pb::EventSubmission {
    common::collection(
        &format!("bk-{n}"),
        "email",
        &format!("person{}@example.com", n % 7),
    )
}

async fn admin_client(
    ledger: &TestLedger,
    token: &str,
) -> AdminClient<
    tonic::service::interceptor::InterceptedService<
        tonic::transport::Channel,
        gdpr_ledger::client::BearerToken,
    >,
> {
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", ledger.addr()))
        .expect("uri")
        .connect()
        .await
        .expect("connects");
    AdminClient::with_interceptor(
        channel,
        gdpr_ledger::client::BearerToken::new(token).expect("token"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_backup_restores_to_a_log_that_verifies_and_goes_on() {
    let mut ledger = TestLedger::start().await;
    let key = ledger.verifier_key();
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    producer
        .append_batch(pb::AppendBatchRequest {
            submissions: (0..50).map(submission).collect(),
            include_bundle: false,
        })
        .await
        .expect("batch");

    // Appends keep going while the backup is taken.
    let writer = {
        let mut producer = ledger.client(PRODUCER_TOKEN).await;
        tokio::spawn(async move {
            for n in 50..150 {
                producer
                    .append(pb::AppendRequest {
                        submission: Some(submission(n)),
                        include_bundle: false,
                    })
                    .await
                    .expect("append during backup");
            }
        })
    };
    let work = tempfile::tempdir().expect("temp dir");
    let backup_dir = work.path().join("backup");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
        .args(["backup", "--server"])
        .arg(ledger.addr().to_string())
        .args(["--token", ADMIN_TOKEN, "--to"])
        .arg(&backup_dir)
        .output()
        .expect("backup runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.starts_with("BACKED UP: "), "{stdout}");
    writer.await.expect("writer");
    ledger.stop().await;

    // Restore into a new data dir, beside the same secrets.
    let restored = work.path().join("restored");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
        .args(["restore", "--from"])
        .arg(&backup_dir)
        .arg("--data-dir")
        .arg(&restored)
        .output()
        .expect("restore runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let backed_up: u64 = stdout
        .split_whitespace()
        .skip_while(|word| *word != "with")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("entry count in {stdout:?}"));
    assert!((50..=150).contains(&backed_up), "{backed_up}");

    // Restoring over a non-empty dir is refused.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
        .args(["restore", "--from"])
        .arg(&backup_dir)
        .arg("--data-dir")
        .arg(&restored)
        .output()
        .expect("restore runs");
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let mut config = ledger.config.clone();
    config.data_dir = restored.clone();
    let server = gdpr_ledger::server::start(config)
        .await
        .expect("starts on the restore");
    let entries = common::audit_whole_log(server.local_addr, &key).await;
    assert_eq!(entries.len() as u64, backed_up);
    // The restore is exactly a prefix of what was appended: event ids in order, none skipped.
    for (n, entry) in entries.iter().enumerate().skip(50) {
        let event_id = entry.entry().event.as_ref().map(|e| e.event_id.clone());
        assert_eq!(event_id.as_deref(), Some(format!("bk-{n}").as_str()));
    }
    let mut producer = common::client_for(server.local_addr, PRODUCER_TOKEN).await;
    let receipt = producer
        .append(pb::AppendRequest {
            submission: Some(submission(1_000)),
            include_bundle: false,
        })
        .await
        .expect("appends go on")
        .into_inner()
        .receipt
        .expect("receipt");
    assert_eq!(receipt.index, backed_up);
    let mut auditor = common::client_for(server.local_addr, common::AUDITOR_TOKEN).await;
    let lifecycle = gdpr_ledger::client::fetch_lifecycle(
        &mut auditor,
        pb::get_subject_lifecycle_request::Subject::Identifier(pb::SubjectIdentifier {
            kind: "email".into(),
            value: "person3@example.com".into(),
        }),
        0,
    )
    .await
    .expect("lifecycle");
    gdpr_ledger::core::lifecycle::verify_lifecycle(&lifecycle, std::slice::from_ref(&key))
        .expect("lifecycles verify on the restored log");
    server.shutdown().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_backup_requests_are_refused_precisely() {
    let ledger = TestLedger::start().await;
    let work = tempfile::tempdir().expect("temp dir");
    let request = |destination: String| pb::CreateBackupRequest { destination };
    let mut admin = admin_client(&ledger, ADMIN_TOKEN).await;

    let first = work.path().join("one");
    admin
        .create_backup(request(first.display().to_string()))
        .await
        .expect("first backup");
    let cases = [
        (first.display().to_string(), tonic::Code::AlreadyExists),
        ("relative/dir".to_owned(), tonic::Code::InvalidArgument),
        (
            ledger.data_dir().join("inside").display().to_string(),
            tonic::Code::InvalidArgument,
        ),
        (
            work.path().join("no/such/parent").display().to_string(),
            tonic::Code::FailedPrecondition,
        ),
    ];
    for (destination, code) in cases {
        let status = admin
            .create_backup(request(destination.clone()))
            .await
            .expect_err("refused");
        assert_eq!(status.code(), code, "{destination}: {status}");
        assert!(status.message().starts_with("destination"), "{status}");
    }
    let mut producer = admin_client(&ledger, PRODUCER_TOKEN).await;
    let status = producer
        .create_backup(request(work.path().join("two").display().to_string()))
        .await
        .expect_err("producer");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert!(!work.path().join("two").exists());
}
