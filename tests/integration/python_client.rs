//! The Python client package (`clients/python`, `gdpr_ledger_client`): its unit tests (the
//! verifier against the shared cases Rust exported and the repository's vectors, the event
//! builders against the requirement table, retries through the service config), the freshness of
//! its committed stubs, that pip installs it from the path, and, against a real server
//! (127.0.0.1, ephemeral port), the example `examples/python/append_and_prove.py` built on it
//! (append, verify the receipt's bundle and an inclusion proof, retry as a duplicate) and the
//! verifier refusing a tampered receipt. Needs python3 with the modules of
//! `clients/python/requirements-dev.txt`; without them the tests fail (they never skip).

use crate::common;

use std::process::Output;

use common::{ADMIN_TOKEN, AUDITOR_TOKEN, PRODUCER_TOKEN, TestLedger};
use gdpr_ledger::core::entry::SequencedEntry;
use gdpr_ledger::core::hash::leaf_hash;
use gdpr_ledger::core::signature::LogSigner;
use gdpr_ledger::proto::v1 as pb;

/// Fails, with what to do, when python3 or the client's modules are missing.
async fn require_python_modules() {
    let probe = tokio::process::Command::new("python3")
        .args([
            "-c",
            "import grpc, grpc_tools, blake3, cryptography, setuptools",
        ])
        .output()
        .await;
    match probe {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!(
            "python3 lacks the Python client's modules; run scripts/bootstrap.sh \
             (or python3 -m pip install -r clients/python/requirements-dev.txt): {}",
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

/// `python3` with the package's sources (`clients/python/src`) first on its path, run from the
/// repository's root: the tests use the tree's package, never an installed copy.
fn python() -> tokio::process::Command {
    let mut command = tokio::process::Command::new("python3");
    command
        .env(
            "PYTHONPATH",
            common::repository_root().join("clients/python/src"),
        )
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(common::repository_root());
    command
}

/// Runs the script against `ledger` with these extra arguments. The environment's
/// `GDPR_LEDGER_*` variables are removed, so only the flags given here count.
async fn run_script(ledger: &TestLedger, args: &[&str]) -> Output {
    require_python_modules().await;
    let mut command = python();
    command
        .arg(common::repository_root().join("examples/python/append_and_prove.py"))
        .args(["--address", &ledger.addr().to_string()])
        .args(args);
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
    for said in [
        format!("receipt verified: entry {index} in the checkpoint of size"),
        format!("inclusion verified: index {index} in the tree of size"),
        "signatures verified: the checkpoint and the entry are signed by the log key".to_owned(),
        format!("retry answered with the original receipt: index {index}, duplicate"),
    ] {
        assert!(
            stdout.contains(&said),
            "the script does not say {said:?}:\n{text}"
        );
    }
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
    let key = ledger.verifier_key().to_string();
    let output = run_script(
        &ledger,
        &[
            "--token",
            PRODUCER_TOKEN,
            "--reader-token",
            AUDITOR_TOKEN,
            "--verifier-key",
            &key,
        ],
    )
    .await;
    let event_id = appended_event_id(&output, 0);
    assert_entry(&ledger, 0, &event_id, "crm").await;

    // Against the verifier key of another log with the same origin, the receipt's checkpoint has
    // no signature by a known key: the script names the check (SPEC.md 9.2) and exits non-zero.
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
        String::from_utf8_lossy(&output.stderr).contains("error: note-no-known-signature: "),
        "{}",
        printed(&output)
    );
    ledger.stop().await;
}

/// Runs `python3` with these arguments (the tree's package first on the path); fails with what
/// it printed unless it succeeds. Returns its standard output.
async fn python_ok(args: &[&str]) -> String {
    require_python_modules().await;
    let output = python().args(args).output().await.expect("python3 runs");
    assert!(
        output.status.success(),
        "python3 {args:?} failed:\n{}",
        printed(&output)
    );
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

#[tokio::test]
async fn python_client_unit_tests_pass() {
    // unittest prints its summary on stderr: "Ran N tests in ...s" then "OK".
    let printed = python_ok(&[
        "-m",
        "unittest",
        "discover",
        "-v",
        "-s",
        "clients/python/tests",
    ])
    .await;
    let ran: u32 = printed
        .lines()
        .find_map(|line| line.strip_prefix("Ran ")?.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no unittest summary:\n{printed}"));
    assert!(ran >= 37, "only {ran} Python tests ran:\n{printed}");
    // The agreement test is among them: every shared case Rust exported, verdict and code.
    assert!(
        printed.contains("test_same_verdict_and_code_as_rust_on_every_case")
            && printed.contains("test_unavailable_is_retried_until_it_succeeds"),
        "{printed}"
    );
}

#[tokio::test]
async fn python_client_stubs_are_protocs_output_for_the_current_protos() {
    // regen.py --check regenerates into a temp dir and compares byte for byte; a stale stub
    // fails with the command to regenerate.
    let printed = python_ok(&["clients/python/regen.py", "--check"]).await;
    assert!(printed.contains("stubs fresh: "), "{printed}");
}

#[tokio::test]
async fn python_client_installs_with_pip_from_its_path() {
    require_python_modules().await;
    let target = tempfile::tempdir().expect("temp dir");
    let build = tempfile::tempdir().expect("temp dir");
    let root = common::repository_root();
    // A copy of the package, so the build leaves nothing in the tree (setuptools writes build/
    // and *.egg-info beside pyproject.toml).
    let copy = build.path().join("python");
    copy_dir(&root.join("clients/python"), &copy);
    let output = tokio::process::Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
        ])
        .arg("--target")
        .arg(target.path())
        .arg(&copy)
        .output()
        .await
        .expect("pip runs");
    assert!(
        output.status.success(),
        "pip install ./clients/python failed:\n{}",
        printed(&output)
    );
    // Imported from the install alone (not the tree): the package, its stubs and their types.
    let output = tokio::process::Command::new("python3")
        .env("PYTHONPATH", target.path())
        .current_dir(target.path())
        .args([
            "-c",
            "import gdpr_ledger_client, gdpr_ledger.v1.ledger_pb2_grpc as g, pathlib; \
             print(gdpr_ledger_client.__file__); print(g.__file__); \
             print(sorted(p.name for p in pathlib.Path(g.__file__).parent.glob('*.pyi'))); \
             print(pathlib.Path(gdpr_ledger_client.__file__).with_name('py.typed').exists())",
        ])
        .output()
        .await
        .expect("python3 runs");
    let text = printed(&output);
    assert!(output.status.success(), "{text}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let installed = target.path().to_string_lossy();
    assert!(lines[0].starts_with(&*installed), "{text}");
    assert!(lines[1].starts_with(&*installed), "{text}");
    assert!(lines[2].contains("'ledger_pb2.pyi'"), "{text}");
    assert_eq!(lines[3], "True", "{text}");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for item in std::fs::read_dir(from).expect("read dir") {
        let item = item.expect("dir entry");
        let name = item.file_name();
        if name == "__pycache__" || name == "build" || name.to_string_lossy().ends_with(".egg-info")
        {
            continue;
        }
        if item.file_type().expect("file type").is_dir() {
            copy_dir(&item.path(), &to.join(&name));
        } else {
            std::fs::copy(item.path(), to.join(&name)).expect("copy");
        }
    }
}

/// Appends a batch through the package's `Client` with a producer's token, verifies every
/// receipt's bundle in Python, and checks that the verifier refuses the same receipt with one
/// byte of its entry changed, or a receipt naming another entry.
const RECEIPTS_PROGRAM: &str = r#"
import base64, json, sys
from gdpr_ledger_client import Client, ReceiptMismatch, VerificationError, events, verify_receipt
address, token, key = sys.argv[1:4]
subject = events.Subject.email("  Jane.Doe@Example.COM ")
batch = [events.collection(event_id=f"crm:py-{i}", system="crm", subject=subject,
                           data_categories=["pd:EmailAddress"], purposes=["dpv:ServiceProvision"],
                           legal_bases=["eu-gdpr:A6-1-b"]) for i in range(3)]
batch.append(events.consent_given(event_id="crm:py-consent", system="crm", subject=subject,
                                  purposes=["dpv:Marketing"], legal_bases=["eu-gdpr:A6-1-a"]))
with Client(address, token) as client:
    receipts = client.append_batch(batch)
for receipt in receipts:
    verified = verify_receipt(receipt, [key])
    entry = verified.entries[0]
    print(f"verified {entry.index} kind {entry.event().kind} seq {entry.fields.subject_seq} size {verified.checkpoint.size}")
bundle = json.loads(receipts[1].bundle_json)
raw = bytearray(base64.b64decode(bundle["entries"][0]["entry"]))
raw[-1] ^= 1
bundle["entries"][0]["entry"] = base64.b64encode(bytes(raw)).decode()
receipts[1].bundle_json = json.dumps(bundle)
try:
    verify_receipt(receipts[1], [key])
    print("tampered: accepted")
except VerificationError as error:
    print(f"tampered: {error.code}")
receipts[2].index = 0
try:
    verify_receipt(receipts[2], [key])
    print("relabelled: accepted")
except ReceiptMismatch as error:
    print(f"relabelled: {error.code}")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_verifies_receipts_of_a_real_server_and_refuses_tampered_ones() {
    let mut ledger = TestLedger::start().await;
    let key = ledger.verifier_key().to_string();
    let addr = ledger.addr().to_string();
    let printed = python_ok(&["-c", RECEIPTS_PROGRAM, &addr, PRODUCER_TOKEN, &key]).await;
    // One batch: one group, one checkpoint of size 4; one subject, its chain 0..3.
    for (index, kind, seq) in [(0, 1, 0), (1, 1, 1), (2, 1, 2), (3, 8, 3)] {
        assert!(
            printed.contains(&format!("verified {index} kind {kind} seq {seq} size 4")),
            "{printed}"
        );
    }
    assert!(
        printed.contains("tampered: entry-signature-invalid"),
        "{printed}"
    );
    assert!(
        printed.contains("relabelled: receipt-mismatch"),
        "{printed}"
    );
    // What the Python client appended is what the server holds.
    let entry = SequencedEntry::from_bytes(
        ledger
            .client(AUDITOR_TOKEN)
            .await
            .get_entry(pb::GetEntryRequest {
                selector: Some(pb::get_entry_request::Selector::Index(3)),
                producer: String::new(),
            })
            .await
            .expect("entry 3")
            .into_inner()
            .entry,
    )
    .expect("entry decodes");
    assert_eq!(entry.event_kind(), Some(pb::EventKind::ConsentGiven));
    assert_eq!(entry.entry().subject_seq, 3);
    ledger.stop().await;
}
