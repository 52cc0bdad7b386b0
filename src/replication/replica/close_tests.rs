//! Epoch closes over an in-memory input log: a request whose epoch closed before it reached the
//! stream is refused by every replica alike and sealed again; a replica restarted after a close
//! refuses what the others refused; keys are destroyed after the keep window (the ratchet file
//! with them), and a replica whose ratchet has moved past the genesis epoch still checks it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::tests::{
    Node, all_applied, assert_same_log, config, event, first_epoch, node_with, stopped,
};
use super::{Clock, Replica, ReplicaConfig, make_genesis};
use crate::proto::v1::EventKind;
use crate::replication::close::close_message;
use crate::replication::input_log::{InputLog, InputLogError, MemoryInputLog, Outgoing, PubAck};
use crate::replication::message::encode_request;
use crate::replication::transit::{LEDGER_FORMAT, TransitRatchet};
use crate::sequencer::CorrectionRights;
use crate::storage::{ClosedEpoch, TailStore};

const EPOCH_SECS: i64 = 600;

/// A clock the test moves.
fn clock(at: &Arc<AtomicI64>) -> Clock {
    let at = at.clone();
    Arc::new(move || at.load(Ordering::SeqCst))
}

/// The middle of `epoch`, and a moment just after its close falls due (grace 60 s).
fn middle_of(epoch: u64) -> i64 {
    i64::try_from(epoch).expect("epoch") * EPOCH_SECS + EPOCH_SECS / 2
}
fn close_due_after(epoch: u64) -> i64 {
    (i64::try_from(epoch).expect("epoch") + 1) * EPOCH_SECS + 61
}

fn config_at(at: &Arc<AtomicI64>) -> ReplicaConfig {
    ReplicaConfig {
        clock: clock(at),
        ..config()
    }
}

/// A request of producer `crm` sealed under `epoch`, as a receiving node slow to learn of the
/// epoch's close would publish it.
fn sealed_request(id: &str, epoch: u64) -> Outgoing {
    let events = vec![event(id, EventKind::Collection, 2)];
    let request = encode_request("crm", CorrectionRights::OwnEntries, &events).expect("encodes");
    let config = config();
    let msg_id = config
        .msg_ids
        .msg_id("crm", "append", &[events[0].content_digest], epoch);
    let body = config
        .ratchet
        .key(epoch)
        .expect("key")
        .seal(&msg_id, &request)
        .expect("seals");
    Outgoing {
        msg_id,
        format: LEDGER_FORMAT.to_string(),
        epoch: epoch.to_string(),
        body,
    }
}

/// An input log where a close lands just before the first request published through it: the
/// race between a receiving node sealing under its epoch and another replica closing it.
struct CloseLandsFirst {
    inner: Arc<MemoryInputLog>,
    close: Mutex<Option<Outgoing>>,
}

impl InputLog for CloseLandsFirst {
    async fn publish(&self, message: Outgoing) -> Result<PubAck, InputLogError> {
        let close = self.close.lock().ok().and_then(|mut close| close.take());
        if let Some(close) = close {
            self.inner.publish(close).await?;
        }
        self.inner.publish(message).await
    }

    async fn publish_first(&self, message: Outgoing) -> Result<bool, InputLogError> {
        self.inner.publish_first(message).await
    }

    async fn last_seq(&self) -> Result<u64, InputLogError> {
        self.inner.last_seq().await
    }

    async fn first_seq(&self) -> Result<u64, InputLogError> {
        self.inner.first_seq().await
    }

    async fn fetch(
        &self,
        from: u64,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<crate::replication::input_log::Stored>, InputLogError> {
        self.inner.fetch(from, max, wait).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_epoch_closed_first_is_refused_by_every_replica_and_sealed_again() {
    let log = Arc::new(MemoryInputLog::new());
    assert!(make_genesis(&*log, &config()).await.expect("genesis"));
    let current = first_epoch() + 1;
    let at = Arc::new(AtomicI64::new(middle_of(current)));
    let racing = Arc::new(CloseLandsFirst {
        inner: log.clone(),
        close: Mutex::new(Some(close_message(
            &config().ratchet.key(current).expect("key"),
        ))),
    });
    let a: Node<CloseLandsFirst> = node_with(&racing, config_at(&at));
    let b = node_with(&log, config_at(&at));
    let receipts = a
        .replica
        .append(
            "crm",
            CorrectionRights::OwnEntries,
            vec![event("e-0", EventKind::Collection, 1)],
        )
        .await
        .expect("sealed again under an open epoch, and applied");
    assert_eq!(receipts[0].index, 0);
    // The stream: the genesis, the close, the request of the closed epoch, the same request
    // sealed again under the next one.
    let epochs: Vec<String> = log
        .messages()
        .into_iter()
        .map(|m| m.message.epoch)
        .collect();
    assert_eq!(
        epochs[1..],
        [
            current.to_string(),
            current.to_string(),
            (current + 1).to_string()
        ]
    );
    all_applied(&[&a], &log).await;
    all_applied(&[&b], &log).await;
    for store in [&a.store, &b.store] {
        assert_eq!(store.tree_size().expect("size"), 1, "one entry, not two");
        assert_eq!(
            store.closed_epoch().expect("read").map(|c| c.epoch),
            Some(current)
        );
    }
    assert_same_log(&a.store, &b.store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_restarted_after_a_close_refuses_a_late_request_as_the_others_do() {
    let log = Arc::new(MemoryInputLog::new());
    assert!(make_genesis(&*log, &config()).await.expect("genesis"));
    let current = first_epoch() + 1;
    let at = Arc::new(AtomicI64::new(middle_of(current)));
    let mut a = node_with(&log, config_at(&at));
    let later = Arc::new(AtomicI64::new(close_due_after(current)));
    let b = node_with(&log, config_at(&later));
    a.replica
        .append(
            "crm",
            CorrectionRights::OwnEntries,
            vec![event("e-0", EventKind::Collection, 1)],
        )
        .await
        .expect("appended");
    // B's clock is past the epoch's end and grace: it closes it.
    let (closed, _) = b
        .replica
        .close_due_epoch()
        .await
        .expect("published")
        .expect("due");
    assert_eq!(closed, current);
    all_applied(&[&a, &b], &log).await;
    assert_eq!(
        b.replica.close_due_epoch().await.expect("nothing"),
        None,
        "closed once"
    );
    a.replica.stop_applying().await;
    // A request sealed under the closed epoch reaches the stream after the close.
    log.publish(sealed_request("late", current))
        .await
        .expect("stored");
    all_applied(&[&b], &log).await;
    assert_eq!(b.store.tree_size().expect("size"), 1, "refused unopened");
    // A starts again from its store: the close is durable there, so it refuses it too.
    a.replica = Replica::start(
        log.clone(),
        a.sequencer.clone(),
        a.store.applied_input().expect("read").expect("applied"),
        a.store.closed_epoch().expect("read"),
        config_at(&at),
    );
    all_applied(&[&a], &log).await;
    assert_eq!(a.replica.failure(), None);
    assert_same_log(&a.store, &b.store);
    assert_eq!(a.store.tree_size().expect("size"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closes_destroy_keys_after_the_keep_window_and_a_restart_past_the_genesis_epoch_still_checks_it()
 {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("transit-ratchet");
    let text = |ratchet: &TransitRatchet| hex::encode(&*ratchet.to_file_bytes());
    crate::secrets::write_private_file(&file, &text(&config().ratchet)).expect("written");
    let log = Arc::new(MemoryInputLog::new());
    assert!(make_genesis(&*log, &config()).await.expect("genesis"));
    let first = first_epoch();
    let at = Arc::new(AtomicI64::new(close_due_after(first)));
    let with_file = |ratchet: TransitRatchet| ReplicaConfig {
        ratchet,
        keep_epochs: 1,
        ratchet_file: Some(file.clone()),
        ..config_at(&at)
    };
    let mut a = node_with(&log, with_file(config().ratchet));
    // close(first) with one epoch kept: nothing destroyed yet.
    assert_eq!(
        a.replica
            .close_due_epoch()
            .await
            .expect("published")
            .map(|(e, _)| e),
        Some(first)
    );
    // A close made with another deployment's ratchet is skipped and counted.
    log.publish(close_message(
        &TransitRatchet::new(first, [78; 32])
            .key(first + 1)
            .expect("key"),
    ))
    .await
    .expect("stored");
    all_applied(&[&a], &log).await;
    assert_eq!(a.replica.oldest_transit_epoch(), Some(first));
    assert_eq!(a.replica.closed_epoch(), Some(first));
    assert_eq!(a.replica.skipped().get(), 1);
    assert_eq!(
        crate::secrets::read_private_file(&file).expect("read"),
        text(&config().ratchet)
    );
    // close(first + 1): the key of `first` goes, in memory and in the file.
    at.store(close_due_after(first + 1), Ordering::SeqCst);
    a.replica.close_due_epoch().await.expect("published");
    all_applied(&[&a], &log).await;
    let mut advanced = config().ratchet;
    advanced.advance_to(first + 1).expect("advances");
    assert_eq!(a.replica.oldest_transit_epoch(), Some(first + 1));
    assert_eq!(
        crate::secrets::read_private_file(&file).expect("read"),
        text(&advanced)
    );
    let record = a.store.closed_epoch().expect("read").expect("a close");
    assert_eq!(
        record,
        ClosedEpoch {
            epoch: first + 1,
            oldest_kept: first + 1,
            oldest_kept_check: advanced.check_value(first + 1).expect("check"),
        }
    );

    // Restarted with the file's ratchet, which can no longer make the genesis epoch's key: the
    // genesis is checked through the store's record, so a forged message is still skipped.
    a.replica.stop_applying().await;
    log.publish(close_message(
        &TransitRatchet::new(first, [79; 32])
            .key(first + 2)
            .expect("key"),
    ))
    .await
    .expect("stored");
    let restart = |ratchet: TransitRatchet, a: &Node| {
        Replica::start(
            log.clone(),
            a.sequencer.clone(),
            a.store.applied_input().expect("read").expect("applied"),
            a.store.closed_epoch().expect("read"),
            with_file(ratchet),
        )
    };
    let from_file = TransitRatchet::from_file_bytes(
        &hex::decode(crate::secrets::read_private_file(&file).expect("read")).expect("hex"),
    )
    .expect("a ratchet");
    a.replica = restart(from_file, &a);
    all_applied(&[&a], &log).await;
    assert_eq!(a.replica.failure(), None);
    assert_eq!(a.replica.skipped().get(), 1);
    // Another ratchet at that epoch is found out by the same record.
    a.replica.stop_applying().await;
    a.replica = restart(TransitRatchet::new(first + 1, [1; 32]), &a);
    let failure = stopped(&a).await;
    assert!(failure.contains("recorded at epoch"), "{failure}");
    // A crash between the close's write and the file's: the start destroys what the record
    // lets go of.
    a.replica.stop_applying().await;
    a.replica = restart(config().ratchet, &a);
    assert_eq!(a.replica.oldest_transit_epoch(), Some(first + 1));
    assert_eq!(
        crate::secrets::read_private_file(&file).expect("read"),
        text(&advanced)
    );
    all_applied(&[&a], &log).await;
    assert_eq!(a.replica.failure(), None);
}
