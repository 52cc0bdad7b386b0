//! Key rotation on a real server: a next key announced in the config co-signs every checkpoint
//! (so verifiers knowing either key accept them) while entries stay signed by the current key;
//! once it takes over it signs everything, each entry naming its key; a verifier holding both
//! keys checks the whole log, one holding either alone cannot.

use crate::common;

use common::{AUDITOR_TOKEN, PRODUCER_TOKEN, TestLedger};
use gdpr_ledger::core::checkpoint::Checkpoint;
use gdpr_ledger::core::signature::VerifierKey;
use gdpr_ledger::proto::v1 as pb;

async fn append(ledger: &TestLedger, from: u64, count: u64) {
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    for n in from..from + count {
        producer
            .append(pb::AppendRequest {
                submission: Some(common::collection(
                    &format!("rot-{n}"),
                    "email",
                    &format!("p{}@example.com", n % 2),
                )),
                include_bundle: false,
            })
            .await
            .expect("append");
    }
}

async fn latest_note(ledger: &TestLedger) -> String {
    let mut auditor = ledger.client(AUDITOR_TOKEN).await;
    auditor
        .get_checkpoint(pb::GetCheckpointRequest { tree_size: 0 })
        .await
        .expect("checkpoint")
        .into_inner()
        .checkpoint
}

async fn key_ids(ledger: &TestLedger, range: std::ops::Range<u64>) -> Vec<String> {
    let mut auditor = ledger.client(AUDITOR_TOKEN).await;
    let mut ids = Vec::new();
    for index in range {
        ids.push(
            auditor
                .get_entry(pb::GetEntryRequest {
                    selector: Some(pb::get_entry_request::Selector::Index(index)),
                    producer: String::new(),
                })
                .await
                .expect("entry")
                .into_inner()
                .key_id,
        );
    }
    ids
}

async fn audit(ledger: &TestLedger, keys: Vec<VerifierKey>) -> Result<u64, String> {
    let mut auditor = ledger.client(AUDITOR_TOKEN).await;
    let mut entries = 0;
    gdpr_ledger::client::audit_through_api(&mut auditor, keys, |_| entries += 1)
        .await
        .map(|_| entries)
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_co_signs_then_takes_over_and_the_whole_log_still_verifies() {
    let mut ledger = TestLedger::start().await;
    let old = ledger.verifier_key();
    append(&ledger, 0, 3).await;

    // Step 1: announce the next key.
    ledger.stop().await;
    let next_file = ledger.config.secrets_dir.join("next-log-key");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
        .args(["keygen", "--origin", &ledger.config.origin, "--out"])
        .arg(&next_file)
        .output()
        .expect("keygen runs");
    assert!(output.status.success());
    let new = VerifierKey::parse(String::from_utf8_lossy(&output.stdout).trim()).expect("key");
    assert_ne!(new.key_id(), old.key_id());
    ledger.config.next_log_key_file = Some(next_file.clone());
    ledger.restart().await;
    append(&ledger, 3, 3).await;

    let note = latest_note(&ledger).await;
    for keys in [vec![old.clone()], vec![new.clone()]] {
        Checkpoint::open(&note, &keys).expect("either key alone opens the checkpoint");
    }
    let both = Checkpoint::open(&note, &[old.clone(), new.clone()]).expect("opens");
    assert_eq!(both.log_keys, vec![old.clone(), new.clone()]);
    // Entries stay signed by the current key during the overlap.
    let old_id = old.key_id().to_string();
    let new_id = new.key_id().to_string();
    assert_eq!(key_ids(&ledger, 0..6).await, vec![old_id.clone(); 6]);
    let published = std::fs::read_to_string(ledger.config.secrets_dir.join("verifier-key"))
        .expect("verifier-key file");
    assert_eq!(
        published.lines().collect::<Vec<_>>(),
        vec![old.to_string(), new.to_string()]
    );

    // Step 2: the next key takes over.
    ledger.stop().await;
    let current = ledger.config.secrets_dir.join("log-signing-key");
    std::fs::rename(&next_file, &current).expect("the new key becomes current");
    ledger.config.next_log_key_file = None;
    ledger.restart().await;
    assert_eq!(ledger.verifier_key(), new);
    append(&ledger, 6, 3).await;
    let ids = key_ids(&ledger, 0..9).await;
    assert_eq!(ids[..6], vec![old_id; 6][..]);
    assert_eq!(ids[6..], vec![new_id; 3][..]);
    let note = latest_note(&ledger).await;
    Checkpoint::open(&note, std::slice::from_ref(&new)).expect("the new key signs");
    assert!(Checkpoint::open(&note, std::slice::from_ref(&old)).is_err());

    // Whole-log audits: both keys pass; either alone fails where the other key's work starts.
    assert_eq!(audit(&ledger, vec![old.clone(), new.clone()]).await, Ok(9));
    let only_old = audit(&ledger, vec![old.clone()])
        .await
        .expect_err("old key only");
    assert!(only_old.contains("entry 6"), "{only_old}");
    let only_new = audit(&ledger, vec![new.clone()])
        .await
        .expect_err("new key only");
    assert!(only_new.contains("entry 0"), "{only_new}");

    // `gdpr-ledger verify` takes both keys (repeated --key) for a bundle of an old entry in the
    // new checkpoint.
    let mut auditor = ledger.client(AUDITOR_TOKEN).await;
    let bundle = auditor
        .get_inclusion_proof(pb::GetInclusionProofRequest {
            index: 1,
            tree_size: 0,
            consistency_from: 0,
        })
        .await
        .expect("bundle")
        .into_inner()
        .bundle_json;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bundle.json");
    std::fs::write(&path, bundle).expect("write");
    let verify = |keys: &[&VerifierKey]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"));
        command.arg("verify");
        for key in keys {
            command.arg("--key").arg(key.to_string());
        }
        command.arg(&path).status().expect("verify runs").code()
    };
    assert_eq!(verify(&[&old, &new]), Some(0));
    assert_eq!(verify(&[&new]), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_next_key_that_is_the_current_one_or_unreadable_is_refused_at_start() {
    let mut ledger = TestLedger::start().await;
    ledger.stop().await;
    let mut config = ledger.config.clone();
    config.next_log_key_file = Some(config.secrets_dir.join("log-signing-key"));
    let refused = gdpr_ledger::server::start(config.clone())
        .await
        .err()
        .expect("the current key is not a next key");
    assert!(
        refused.to_string().contains("holds the current key"),
        "{refused}"
    );
    config.next_log_key_file = Some(config.secrets_dir.join("no-such-key"));
    assert!(gdpr_ledger::server::start(config).await.is_err());
}
