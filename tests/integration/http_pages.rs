//! The read-only pages on the metrics listener (src/http_pages.rs), against a real server
//! (RocksDB in a temp dir, gRPC and HTTP on 127.0.0.1, ephemeral ports): the auditor's page at
//! `/verify`, the latest signed checkpoint at `/checkpoint`, consistency proofs at
//! `/consistency`, and the refusals of bad parameters.

use crate::common;

use common::{AUDITOR_TOKEN, TestLedger, append_collections, http_get_with_head};
use gdpr_ledger::core::checkpoint::Checkpoint;
use gdpr_ledger::core::hash::NodeHash;
use gdpr_ledger::core::merkle::verify_consistency;
use gdpr_ledger::proto::v1 as pb;
use serde_json::Value;

async fn json(addr: std::net::SocketAddr, path: &str) -> Value {
    let (status, head, body) = http_get_with_head(addr, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    assert!(head.contains("content-type: application/json"), "{head}");
    serde_json::from_str(&body).expect("JSON")
}

fn hashes(proof: &Value) -> Vec<NodeHash> {
    proof
        .as_array()
        .expect("a list")
        .iter()
        .map(|h| NodeHash::from_base64(h.as_str().expect("base64")).expect("a hash"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoint_and_consistency_are_served_and_verify() {
    let ledger = TestLedger::start().await;
    let http = ledger.metrics_addr();
    let key = ledger.verifier_key();
    let keys = std::slice::from_ref(&key);

    append_collections(&ledger, "p", 0..5).await;
    let first = json(http, "/checkpoint").await;
    let size = first["size"].as_u64().expect("size");
    assert_eq!(size, ledger.tree_size().await);
    assert_eq!(first["origin"], key.name());
    let opened = Checkpoint::open(first["note"].as_str().expect("note"), keys).expect("it opens");
    assert_eq!(opened.checkpoint.size, size);
    assert_eq!(opened.checkpoint.origin, key.name());
    assert_eq!(first["root"], opened.checkpoint.root.to_base64());

    append_collections(&ledger, "p", 5..12).await;
    let second = json(http, "/checkpoint").await;
    let later = Checkpoint::open(second["note"].as_str().expect("note"), keys).expect("opens");
    assert_eq!(later.checkpoint.size, ledger.tree_size().await);
    assert!(later.checkpoint.size > size);

    let path = format!("/consistency?from={size}&to={}", later.checkpoint.size);
    let c = json(http, &path).await;
    assert_eq!(c["origin"], key.name());
    assert_eq!(c["from"], size);
    assert_eq!(c["to"], later.checkpoint.size);
    let proof = hashes(&c["proof"]);
    assert!(!proof.is_empty());
    verify_consistency(
        size,
        later.checkpoint.size,
        &opened.checkpoint.root,
        &later.checkpoint.root,
        &proof,
    )
    .expect("the served proof links the two signed checkpoints");
    // the same proof as gRPC's GetConsistencyProof
    let mut auditor = ledger.client(AUDITOR_TOKEN).await;
    let grpc = auditor
        .get_consistency_proof(pb::GetConsistencyProofRequest {
            first_size: size,
            second_size: later.checkpoint.size,
        })
        .await
        .expect("consistency over gRPC")
        .into_inner();
    let grpc: Vec<Vec<u8>> = grpc.proof;
    let http_bytes: Vec<Vec<u8>> = proof.iter().map(|h| h.as_bytes().to_vec()).collect();
    assert_eq!(http_bytes, grpc);
    // and it proves nothing about another root: the proof is checked, not trusted
    let mut forged = proof.clone();
    let mut bytes = forged[0].as_bytes().to_vec();
    bytes[0] ^= 1;
    forged[0] = NodeHash::from_slice(&bytes).expect("32 bytes");
    assert!(
        verify_consistency(
            size,
            later.checkpoint.size,
            &opened.checkpoint.root,
            &later.checkpoint.root,
            &forged,
        )
        .is_err()
    );

    // edge cases: empty proofs for 0 and for equal sizes
    let top = later.checkpoint.size;
    let zero = json(http, &format!("/consistency?from=0&to={top}")).await;
    assert_eq!(zero["proof"].as_array().map(Vec::len), Some(0));
    let same = json(http, &format!("/consistency?to={top}&from={top}")).await;
    assert_eq!(same["proof"].as_array().map(Vec::len), Some(0));

    // refusals: 400 naming the parameter, 404 beyond the log
    for (query, status, starts) in [
        ("/consistency", 400, "from: missing"),
        ("/consistency?from=1", 400, "to: missing"),
        ("/consistency?from=x&to=3", 400, "from: not a tree size"),
        ("/consistency?from=1&to=03", 400, "to: not a tree size"),
        ("/consistency?from=-1&to=3", 400, "from: not a tree size"),
        (
            "/consistency?from=1&from=2&to=3",
            400,
            "from: given more than once",
        ),
        (
            "/consistency?from=1&to=99999999999999999999",
            400,
            "to: larger than",
        ),
        (
            "/consistency?from=5&to=3",
            400,
            "from: 5 is larger than to (3)",
        ),
    ] {
        let (got, _, body) = http_get_with_head(http, query).await;
        assert_eq!(got, status, "{query}: {body}");
        assert!(body.starts_with(starts), "{query}: {body}");
    }
    let beyond = format!("/consistency?from=1&to={}", top + 1);
    let (got, _, body) = http_get_with_head(http, &beyond).await;
    assert_eq!(got, 404, "{body}");
    assert!(
        body.starts_with(&format!("to: {} is beyond", top + 1)),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auditors_page_is_served_as_committed() {
    let ledger = TestLedger::start().await;
    let http = ledger.metrics_addr();
    let committed = std::fs::read_to_string(common::repository_root().join("web/page/index.html"))
        .expect("web/page/index.html");
    let (status, head, body) = http_get_with_head(http, "/verify").await;
    assert_eq!(status, 200);
    assert!(
        head.contains("content-type: text/html; charset=utf-8"),
        "{head}"
    );
    assert!(
        head.contains("content-security-policy: default-src 'none'"),
        "{head}"
    );
    assert!(
        body == committed,
        "/verify is not the committed web/page/index.html"
    );
    let (status, head, _) = http_get_with_head(http, "/").await;
    assert!((300..400).contains(&status), "{status}");
    assert!(head.contains("\r\nlocation: /verify"), "{head}");
    // the metrics and health routes are still there
    assert_eq!(http_get_with_head(http, "/healthz").await.0, 200);
    assert_eq!(http_get_with_head(http, "/metrics").await.0, 200);
    assert_eq!(http_get_with_head(http, "/nothing-here").await.0, 404);
}
