//! Backup and restore on a real server: an online backup taken while appends go on is a
//! consistent prefix of the log; restored into a new data dir it audits clean, proves lifecycles,
//! and takes appends from where it stopped. Bad requests are refused precisely.

use crate::common;

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

    // Restore into a new data dir, beside the same secrets, with the ledger's erasure journal:
    // the server created it (empty) at its start, before any erasure.
    let journal = ledger.config.secrets_dir.join("erasure-journal");
    assert!(journal.is_file(), "the server creates its erasure journal");
    let restored = work.path().join("restored");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
        .args(["restore", "--from"])
        .arg(&backup_dir)
        .arg("--data-dir")
        .arg(&restored)
        .arg("--erasure-journal")
        .arg(&journal)
        .output()
        .expect("restore runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("ERASURES RE-APPLIED: 0 subjects"),
        "{stdout}"
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
        .arg("--erasure-journal")
        .arg(&journal)
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

/// `gdpr-ledger restore` in `dir`, with `args` after `restore`: (exit code, stdout, stderr).
fn restore_in(dir: &std::path::Path, args: &[&std::ffi::OsStr]) -> (Option<i32>, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
        .current_dir(dir)
        .arg("restore")
        .args(args)
        .output()
        .expect("restore runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A restore without the erasure journal would bring back every erasure made after the backup:
/// it is refused, naming both flags and touching nothing, whether the journal is the default
/// `./secrets/erasure-journal` or a path given; only `--no-erasure-journal` restores without one,
/// and it cannot be combined with `--erasure-journal`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_without_its_erasure_journal_is_refused_unless_told() {
    let mut ledger = TestLedger::start().await;
    common::append_collections(&ledger, "nj", 0..3).await;
    let work = tempfile::tempdir().expect("temp dir");
    let backup_dir = work.path().join("backup");
    admin_client(&ledger, ADMIN_TOKEN)
        .await
        .create_backup(pb::CreateBackupRequest {
            destination: backup_dir.display().to_string(),
        })
        .await
        .expect("backup");
    ledger.stop().await;

    let restored = work.path().join("restored");
    let missing = work.path().join("lost-journal");
    let from = [backup_dir.as_os_str(), restored.as_os_str()];
    let base = |extra: &[&'static str]| {
        let mut args: Vec<&std::ffi::OsStr> =
            vec!["--from".as_ref(), from[0], "--data-dir".as_ref(), from[1]];
        args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
        args
    };
    // The default path, relative to the working directory (here a dir without `secrets/`), and a
    // path given that does not exist.
    let mut given = base(&["--erasure-journal"]);
    given.push(missing.as_os_str());
    for (what, args, path) in [
        ("default", base(&[]), "./secrets/erasure-journal".to_owned()),
        ("given", given, missing.display().to_string()),
    ] {
        let (code, stdout, stderr) = restore_in(work.path(), &args);
        assert_eq!(code, Some(2), "{what}: {stdout} {stderr}");
        assert!(
            stderr.contains(&format!("no erasure journal at {path}"))
                && stderr.contains("--erasure-journal")
                && stderr.contains("--no-erasure-journal"),
            "{what}: {stderr}"
        );
        assert!(!stdout.contains("RESTORED"), "{what}: {stdout}");
        assert!(!restored.exists(), "{what}: nothing is restored");
    }

    // Both flags at once: a usage error from the parser.
    let mut both = base(&["--no-erasure-journal", "--erasure-journal"]);
    both.push(missing.as_os_str());
    let (code, _, stderr) = restore_in(work.path(), &both);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cannot be used with"), "{stderr}");
    assert!(!restored.exists());

    // Told: it restores, and says what it did not do.
    let (code, stdout, stderr) = restore_in(work.path(), &base(&["--no-erasure-journal"]));
    assert_eq!(code, Some(0), "{stdout} {stderr}");
    assert!(stdout.contains("RESTORED: log"), "{stdout}");
    assert!(!stdout.contains("ERASURES RE-APPLIED"), "{stdout}");
    assert!(
        stderr.contains("erasures made after the backup was taken are not re-applied"),
        "{stderr}"
    );
    assert!(restored.join("CURRENT").is_file(), "a RocksDB data dir");
}
