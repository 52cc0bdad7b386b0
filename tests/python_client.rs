//! The Python example client (`examples/python/append_and_prove.py`) against a real server
//! (127.0.0.1, ephemeral port): it appends an event and verifies its inclusion proof in Python;
//! the Rust client then reads the entry back. Needs python3 with the modules of
//! `examples/python/requirements.txt`; without them the tests fail (they never skip).

mod common;

use std::process::Output;

use common::{ADMIN_TOKEN, AUDITOR_TOKEN, PRODUCER_TOKEN, TestLedger};
use gdpr_ledger::core::entry::SequencedEntry;
use gdpr_ledger::core::hash::leaf_hash;
use gdpr_ledger::core::signature::LogSigner;
use gdpr_ledger::proto::v1 as pb;

/// Fails, with what to do, when python3 or the client's modules are missing.
async fn require_python_modules() {
    let probe = tokio::process::Command::new("python3")
        .args(["-c", "import grpc, grpc_tools, blake3, cryptography"])
        .output()
        .await;
    match probe {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!(
            "python3 lacks the example client's modules; run scripts/bootstrap.sh \
             (or python3 -m pip install -r examples/python/requirements.txt): {}",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ),
        Err(error) => {
            panic!("python3 cannot be run ({error}); install it, then run scripts/bootstrap.sh")
        }
    }
}

/// Runs the script against `ledger` with these extra arguments. The environment's
/// `GDPR_LEDGER_*` variables are removed, so only the flags given here count.
async fn run_script(ledger: &TestLedger, args: &[&str]) -> Output {
    require_python_modules().await;
    let mut command = tokio::process::Command::new("python3");
    command
        .arg(common::repository_root().join("examples/python/append_and_prove.py"))
        .args(["--address", &ledger.addr().to_string()])
        .args(args)
        .current_dir(common::repository_root());
    for variable in [
        "GDPR_LEDGER_ADDRESS",
        "GDPR_LEDGER_TOKEN",
        "GDPR_LEDGER_READER_TOKEN",
        "GDPR_LEDGER_VERIFIER_KEY",
    ] {
        command.env_remove(variable);
    }
    command.output().await.expect("python3 runs the script")
}

/// The script's output, for assertion messages.
fn printed(output: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Checks that the script succeeded and verified the inclusion of one new entry at `index`;
/// returns the event id it appended.
fn appended_event_id(output: &Output, index: u64) -> String {
    let text = printed(output);
    assert!(output.status.success(), "the script failed:\n{text}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let event_id = stdout
        .lines()
        .find_map(|line| line.strip_prefix("appended "))
        .and_then(|rest| rest.strip_suffix(&format!(" at index {index}")))
        .unwrap_or_else(|| panic!("the script names no append at index {index}:\n{text}"));
    assert!(
        stdout.contains(&format!(
            "inclusion verified: index {index} in the tree of size"
        )),
        "the script does not say the inclusion was verified:\n{text}"
    );
    event_id.to_owned()
}

/// Reads the entry at `index` through the Rust client and checks it is the script's event.
async fn assert_entry(ledger: &TestLedger, index: u64, event_id: &str, producer: &str) {
    let mut auditor = ledger.client(AUDITOR_TOKEN).await;
    let response = auditor
        .get_entry(pb::GetEntryRequest {
            selector: Some(pb::get_entry_request::Selector::Index(index)),
            producer: String::new(),
        })
        .await
        .expect("the appended entry exists")
        .into_inner();
    assert_eq!(response.index, index);
    assert_eq!(
        leaf_hash(&response.entry).as_bytes().as_slice(),
        response.leaf_hash.as_slice()
    );
    let entry = SequencedEntry::from_bytes(response.entry).expect("entry decodes");
    assert_eq!(entry.index(), index);
    assert_eq!(entry.producer(), producer);
    assert_eq!(entry.event_kind(), Some(pb::EventKind::Collection));
    let event = entry.entry().event.as_ref().expect("event");
    assert_eq!(event.event_id, event_id);
    assert_eq!(entry.subject_token().map(|t| t.as_bytes().len()), Some(32));
    // The subject's e-mail address went into `subject` only.
    assert!(
        !entry
            .bytes()
            .windows(b"jane.doe@example.com".len())
            .any(|w| w == b"jane.doe@example.com")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_appends_and_verifies_inclusion_and_signatures() {
    let mut ledger = TestLedger::start().await;
    let key = ledger.verifier_key().to_string();
    let output = run_script(&ledger, &["--token", ADMIN_TOKEN, "--verifier-key", &key]).await;
    let event_id = appended_event_id(&output, 0);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("signatures verified"),
        "the script did not check the signatures:\n{}",
        printed(&output)
    );
    assert_entry(&ledger, 0, &event_id, "ops").await;
    ledger.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_with_producer_and_auditor_tokens_and_a_wrong_key() {
    let mut ledger = TestLedger::start().await;
    // A producer cannot read proofs: the script reads them with the auditor's token.
    let output = run_script(
        &ledger,
        &["--token", PRODUCER_TOKEN, "--reader-token", AUDITOR_TOKEN],
    )
    .await;
    let event_id = appended_event_id(&output, 0);
    assert_entry(&ledger, 0, &event_id, "crm").await;

    // Against the verifier key of another log with the same origin, the checkpoint's signature
    // does not verify: the script says so and exits non-zero.
    let other = LogSigner::from_seed("ledger.test/gdpr", &[7; 32])
        .expect("valid origin")
        .verifier_key()
        .to_string();
    let output = run_script(&ledger, &["--token", ADMIN_TOKEN, "--verifier-key", &other]).await;
    assert!(
        !output.status.success(),
        "a wrong key was accepted:\n{}",
        printed(&output)
    );
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("error: the checkpoint carries no signature by the given verifier key"),
        "{}",
        printed(&output)
    );
    ledger.stop().await;
}
