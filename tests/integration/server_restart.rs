//! Restart continuity: a server reopened on its data dir continues the chain and the tree exactly,
//! and its new checkpoints are consistent with the old ones.

use crate::common;

use common::{AUDITOR_TOKEN, PRODUCER_TOKEN, TestLedger};
use gdpr_ledger::core::checkpoint::Checkpoint;
use gdpr_ledger::core::hash::NodeHash;
use gdpr_ledger::core::merkle::verify_consistency;
use gdpr_ledger::proto::v1 as pb;

fn submission(id: &str, email: &str) -> pb::AppendRequest {
    pb::AppendRequest {
        submission: Some(common::collection(id, "email", email)),
        include_bundle: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_continues_the_chain_and_the_tree() {
    let mut ledger = TestLedger::start().await;
    let key = ledger.verifier_key();
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    for i in 0..5 {
        producer
            .append(submission(&format!("a-{i}"), "same@example.com"))
            .await
            .expect("append before restart");
    }
    let before = common::audit_whole_log(ledger.addr(), &key).await;
    let mut auditor = ledger.client(AUDITOR_TOKEN).await;
    let old_checkpoint = auditor
        .get_checkpoint(pb::GetCheckpointRequest { tree_size: 0 })
        .await
        .expect("checkpoint")
        .into_inner();

    ledger.restart().await;
    assert_eq!(ledger.verifier_key(), key, "the log key survives a restart");
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    // A retry of an event appended before the restart is still recognised.
    let retry = producer
        .append(submission("a-4", "same@example.com"))
        .await
        .expect("retry")
        .into_inner()
        .receipt
        .expect("receipt");
    assert!(retry.duplicate);
    assert_eq!(retry.index, 4);
    for i in 5..9 {
        producer
            .append(submission(&format!("a-{i}"), "same@example.com"))
            .await
            .expect("append after restart");
    }
    let after = common::audit_whole_log(ledger.addr(), &key).await;
    assert_eq!(after.len(), 9);
    assert_eq!(&after[..5], &before[..]);
    // The subject's chain continued across the restart.
    assert_eq!(after[5].entry().subject_seq, 5);
    assert_eq!(after[5].entry().subject_prev_index, 4);
    assert_eq!(after[5].subject_token(), before[0].subject_token());

    let mut auditor = ledger.client(AUDITOR_TOKEN).await;
    let proof = auditor
        .get_consistency_proof(pb::GetConsistencyProofRequest {
            first_size: old_checkpoint.tree_size,
            second_size: 0,
        })
        .await
        .expect("consistency")
        .into_inner();
    let old = Checkpoint::open(&old_checkpoint.checkpoint, std::slice::from_ref(&key))
        .expect("old opens");
    let new =
        Checkpoint::open(&proof.second_checkpoint, std::slice::from_ref(&key)).expect("new opens");
    let hashes: Vec<NodeHash> = proof
        .proof
        .iter()
        .map(|h| NodeHash::from_slice(h).expect("32 bytes"))
        .collect();
    verify_consistency(5, 9, &old.checkpoint.root, &new.checkpoint.root, &hashes)
        .expect("the tree after the restart extends the tree before it");
    ledger.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_dir_of_another_origin_is_refused() {
    let mut ledger = TestLedger::start().await;
    ledger.stop().await;
    let mut config = ledger.config.clone();
    config.origin = "ledger.test/other".into();
    let refused = gdpr_ledger::server::start(config).await;
    let error = refused.err().expect("another origin is refused");
    assert!(error.to_string().contains("ledger.test/gdpr"), "{error}");
}

/// A clean stop writes the memtables to SST files: the data dir it leaves has no row in a WAL
/// file, so the next open (a restart, or `audit --data-dir`) replays none, and what was appended
/// is in the SST files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_stop_leaves_no_wal_to_replay() {
    let mut ledger = TestLedger::start().await;
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    for i in 0..20 {
        producer
            .append(submission(&format!("w-{i}"), &format!("p{i}@example.com")))
            .await
            .expect("append");
    }
    ledger.stop().await;
    let wal_bytes: u64 = std::fs::read_dir(ledger.data_dir())
        .expect("data dir")
        .map(|entry| entry.expect("dir entry"))
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "log"))
        .map(|entry| entry.metadata().expect("metadata").len())
        .sum();
    assert_eq!(wal_bytes, 0, "bytes left in WAL files after a clean stop");
    ledger.restart().await;
    assert_eq!(
        ledger.tree_size().await,
        20,
        "what was appended is still there"
    );
}
