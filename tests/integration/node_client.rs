//! The Node example (`clients/node/append_and_verify.js`: @grpc/grpc-js, the protos loaded from
//! proto/ at run time, the bundle verified by the independent JavaScript verifier of web/) against
//! a real server on 127.0.0.1 with an ephemeral port: it appends, verifies the receipt's bundle
//! under the verifier key, and is answered as a duplicate on a retry; under another log's key it
//! refuses the bundle with the check's code. Needs node and `npm ci` in clients/node and web
//! (scripts/test.sh runs both); without them the test fails, saying so.

use crate::common;

use std::process::Output;

use common::{AUDITOR_TOKEN, PRODUCER_TOKEN, TestLedger, repository_root};
use gdpr_ledger::core::entry::SequencedEntry;
use gdpr_ledger::core::signature::LogSigner;
use gdpr_ledger::proto::v1 as pb;

fn run_example(ledger: &TestLedger, key: &str) -> Output {
    let root = repository_root();
    for (dir, probe) in [("clients/node", "@grpc/grpc-js"), ("web", "@noble")] {
        assert!(
            root.join(dir).join("node_modules").join(probe).is_dir(),
            "{dir}/node_modules is missing: run (cd {dir} && npm ci)"
        );
    }
    std::process::Command::new("node")
        .arg(root.join("clients/node/append_and_verify.js"))
        .args(["--address", &ledger.addr().to_string()])
        .args(["--token", PRODUCER_TOKEN, "--key", key])
        .output()
        .expect("node runs (Node 18 or later)")
}

fn printed(output: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_example_appends_and_verifies_the_receipts_bundle() {
    let mut ledger = TestLedger::start().await;
    let key = ledger.verifier_key();
    let output = run_example(&ledger, &key.to_string());
    let text = printed(&output);
    assert!(output.status.success(), "{text}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let event_id = stdout
        .lines()
        .find_map(|line| line.strip_prefix("appended ")?.strip_suffix(" at index 0"))
        .unwrap_or_else(|| panic!("no append at index 0:\n{text}"));
    assert!(
        stdout.contains(&format!(
            "bundle verified: entry 0 (leaf {}) in the checkpoint of ledger.test/gdpr at size 1, \
             signed by key {}",
            base64_of_leaf(&ledger, 0).await,
            key.key_id()
        )),
        "{text}"
    );
    assert!(
        stdout.contains("retry answered with the original receipt: index 0, duplicate"),
        "{text}"
    );
    // What the Node producer appended is what the server holds, once (the retry added nothing).
    assert_eq!(ledger.tree_size().await, 1);
    let entry = entry_at(&ledger, 0).await;
    assert_eq!(entry.producer(), "crm");
    assert_eq!(entry.event_kind(), Some(pb::EventKind::Collection));
    assert_eq!(
        entry.entry().event.as_ref().expect("event").event_id,
        event_id
    );

    // Under the key of another log with the same origin, the receipt's checkpoint has no known
    // signature: the example exits 2 with the check's code (SPEC.md 9.2).
    let other = LogSigner::from_seed("ledger.test/gdpr", &[7; 32])
        .expect("valid origin")
        .verifier_key()
        .to_string();
    let output = run_example(&ledger, &other);
    assert_eq!(output.status.code(), Some(2), "{}", printed(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("error: note-no-known-signature: "),
        "{}",
        printed(&output)
    );
    ledger.stop().await;
}

async fn entry_at(ledger: &TestLedger, index: u64) -> SequencedEntry {
    let response = ledger
        .client(AUDITOR_TOKEN)
        .await
        .get_entry(pb::GetEntryRequest {
            selector: Some(pb::get_entry_request::Selector::Index(index)),
            producer: String::new(),
        })
        .await
        .expect("the entry exists")
        .into_inner();
    SequencedEntry::from_bytes(response.entry).expect("entry decodes")
}

async fn base64_of_leaf(ledger: &TestLedger, index: u64) -> String {
    use base64::Engine as _;
    let entry = entry_at(ledger, index).await;
    base64::engine::general_purpose::STANDARD.encode(entry.leaf_hash().as_bytes())
}
