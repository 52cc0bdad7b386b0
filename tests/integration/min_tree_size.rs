//! The `gdpr-ledger-min-tree-size` request header on a real server: a request waits until the
//! signed log has that many entries (`limits.min_tree_size_wait_ms`), is answered as soon as an
//! append gets it there, is `UNAVAILABLE` naming both sizes when it does not, and a value that is
//! not a size is `INVALID_ARGUMENT` naming the header, before anything else is done.

use crate::common;

use std::time::{Duration, Instant};

use common::{AUDITOR_TOKEN, PRODUCER_TOKEN, TestLedger, collection};
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::service::MIN_TREE_SIZE_HEADER;

fn at_least(size: &str) -> tonic::Request<pb::GetCheckpointRequest> {
    let mut request = tonic::Request::new(pb::GetCheckpointRequest::default());
    request
        .metadata_mut()
        .insert(MIN_TREE_SIZE_HEADER, size.parse().expect("ascii"));
    request
}

async fn append(ledger: &TestLedger, id: &str) -> u64 {
    ledger
        .client(PRODUCER_TOKEN)
        .await
        .append(pb::AppendRequest {
            submission: Some(collection(id, "email", &format!("{id}@example.com"))),
            include_bundle: false,
        })
        .await
        .expect("appends")
        .into_inner()
        .receipt
        .expect("receipt")
        .index
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_waits_for_the_size_it_asks_for_and_says_when_it_is_not_reached() {
    let ledger = TestLedger::start_with(|config| config.limits.min_tree_size_wait_ms = 1500).await;
    append(&ledger, "first").await;
    let size = ledger.tree_size().await;
    assert!(size >= 1);
    let mut reader = ledger.client(AUDITOR_TOKEN).await;

    // Reached already: answered at once.
    let answer = reader
        .get_checkpoint(at_least(&size.to_string()))
        .await
        .expect("reached")
        .into_inner();
    assert_eq!(answer.tree_size, size);

    // One more than the log has: the read waits, and the append that gets there answers it.
    let wanted = size + 1;
    let waiting = {
        let mut reader = ledger.client(AUDITOR_TOKEN).await;
        tokio::spawn(async move { reader.get_checkpoint(at_least(&wanted.to_string())).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !waiting.is_finished(),
        "answered before the log had {wanted} entries"
    );
    append(&ledger, "second").await;
    let answer = waiting
        .await
        .expect("joined")
        .expect("answered once the log had grown")
        .into_inner();
    assert!(answer.tree_size >= wanted, "{}", answer.tree_size);

    // Never reached: UNAVAILABLE after the wait, naming both sizes.
    let now = ledger.tree_size().await;
    let started = Instant::now();
    let refused = reader
        .get_checkpoint(at_least(&(now + 1000).to_string()))
        .await
        .expect_err("not reached");
    assert!(started.elapsed() >= Duration::from_millis(1400));
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    assert!(
        refused.message().contains(&format!("has {now} entries"))
            && refused
                .message()
                .contains(&format!("the {} the request", now + 1000)),
        "{}",
        refused.message()
    );

    // Not a size: INVALID_ARGUMENT naming the header, without waiting.
    for bad in ["ten", "-1", "1e3", "18446744073709551616", ""] {
        let started = Instant::now();
        let refused = reader
            .get_checkpoint(at_least(bad))
            .await
            .expect_err("not a size");
        assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{bad:?}");
        assert!(
            refused.message().contains(MIN_TREE_SIZE_HEADER),
            "{}",
            refused.message()
        );
        assert!(
            started.elapsed() < Duration::from_millis(1000),
            "{bad:?} waited"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_is_checked_after_the_caller_is_authenticated() {
    let ledger = TestLedger::start_with(|config| config.limits.min_tree_size_wait_ms = 1500).await;
    let mut stranger = common::client_for(ledger.addr(), "not-a-token").await;
    let started = Instant::now();
    let refused = stranger
        .get_checkpoint(at_least("1000000"))
        .await
        .expect_err("unknown token");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "a stranger was made to wait"
    );
}
