//! Three replicas over one in-memory input log, each with its own sequencer and store, in one
//! process: the same log byte for byte, duplicates answered as retries, a replica stopped between
//! the log's acknowledgement and its apply, no quorum, a message that does not open (stopping every
//! replica without a genesis, skipped by every replica after a matching one), and a replica whose
//! secrets differ from the genesis's.

use std::sync::Arc;
use std::time::Duration;

use super::{Replica, ReplicaConfig, ReplicaError, make_genesis};
use crate::core::directory::{DirectorySecret, PseudonymSecret};
use crate::core::signature::LogSigner;
use crate::proto::v1::{Event, EventKind};
use crate::replication::genesis::Provisioning;
use crate::replication::input_log::{InputLog, MemoryInputLog, Outgoing};
use crate::replication::transit::{MsgIdKey, TransitRatchet};
use crate::sequencer::{
    AppendError, CorrectionRights, Details, PreparedEvent, SequencerConfig, SequencerHandle,
    SequencerParts, start,
};
use crate::storage::{MemoryStore, TailStore};

const ORIGIN: &str = "ledger.test/replicas";

pub(super) struct Node<L: InputLog = MemoryInputLog> {
    pub(super) store: Arc<MemoryStore>,
    pub(super) sequencer: SequencerHandle,
    pub(super) replica: Replica<L>,
    _thread: std::thread::JoinHandle<()>,
}

/// The ratchet's first epoch, the same for every replica of the process: the epoch before now.
pub(super) fn first_epoch() -> u64 {
    static FIRST: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *FIRST.get_or_init(|| {
        crate::replication::transit::epoch_of(crate::unix_time::now_seconds(), 600)
            .saturating_sub(1)
    })
}

pub(super) fn config() -> ReplicaConfig {
    ReplicaConfig {
        ratchet: TransitRatchet::new(first_epoch(), [11; 32]),
        msg_ids: MsgIdKey::derive(&DirectorySecret::from_bytes([12; 32])),
        epoch_secs: 600,
        publish_timeout: Duration::from_secs(2),
        apply_timeout: Duration::from_secs(5),
        provisioning: provisioning([12; 32]),
        keep_epochs: 6,
        close_grace_secs: 60,
        close_every: None,
        ratchet_file: None,
        clock: crate::replication::replica::system_clock(),
    }
}

/// What the genesis shows of a replica whose directory secret is `directory`.
fn provisioning(directory: [u8; 32]) -> Provisioning {
    Provisioning::new(
        ORIGIN,
        vec!["0011223344556677".into()],
        &directory,
        &[4; 32],
        &crate::vault::MasterKey::from_bytes([5; 32]),
    )
}

pub(super) fn node(log: &Arc<MemoryInputLog>) -> Node {
    node_with(log, config())
}

pub(super) fn node_with<L: InputLog>(log: &Arc<L>, config: ReplicaConfig) -> Node<L> {
    let store = Arc::new(MemoryStore::new());
    let (sequencer, thread) = start(SequencerParts {
        store: store.clone(),
        signer: Arc::new(LogSigner::from_seed(ORIGIN, &[3u8; 32]).expect("signer")),
        cosigners: Vec::new(),
        pseudonym_secret: PseudonymSecret::from_bytes([4u8; 32]),
        master_key: Arc::new(crate::vault::MasterKey::from_bytes([5u8; 32])),
        origin: ORIGIN.into(),
        config: SequencerConfig::default(),
    })
    .expect("starts");
    let replica = Replica::start(log.clone(), sequencer.clone(), 0, None, config);
    Node {
        store,
        sequencer,
        replica,
        _thread: thread,
    }
}

pub(super) fn event(id: &str, kind: EventKind, subject: u8) -> PreparedEvent {
    PreparedEvent {
        event: Event {
            event_id: id.into(),
            kind: kind as i32,
            system: "crm".into(),
            ..Event::default()
        },
        subject_row: Some([subject; 32]),
        linked_row: None,
        content_digest: *blake3::hash(id.as_bytes()).as_bytes(),
        details: None,
        identifiers: vec![format!("email:subject-{subject}@example.com")],
        subject_token: None,
        opens_erasure: None,
    }
}

fn with_details(mut prepared: PreparedEvent, text: &str) -> PreparedEvent {
    prepared.details = Some(Details::Plain(zeroize::Zeroizing::new(
        text.as_bytes().to_vec(),
    )));
    prepared
}

/// Every entry, signature and checkpoint of `a` and `b` are the same bytes.
pub(super) fn assert_same_log(a: &MemoryStore, b: &MemoryStore) {
    let size = a.tree_size().expect("size");
    assert_eq!(b.tree_size().expect("size"), size);
    for index in 0..size {
        assert_eq!(
            a.entry(index).expect("read"),
            b.entry(index).expect("read"),
            "entry {index}"
        );
        assert_eq!(
            a.signature(index).expect("read"),
            b.signature(index).expect("read"),
            "signature {index}"
        );
    }
    for at in 0..=size {
        assert_eq!(
            a.checkpoint_at(at).expect("read"),
            b.checkpoint_at(at).expect("read"),
            "checkpoint {at}"
        );
    }
}

pub(super) async fn all_applied<L: InputLog>(nodes: &[&Node<L>], log: &MemoryInputLog) {
    let last = log.last();
    for node in nodes {
        node.replica
            .wait_applied(last, Duration::from_secs(10))
            .await
            .expect("applied");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_apply_the_same_log_byte_for_byte() {
    let log = Arc::new(MemoryInputLog::new());
    let nodes = [node(&log), node(&log), node(&log)];
    // Concurrent producers, each on its own replica.
    let mut tasks = Vec::new();
    for (n, producer) in ["crm", "billing", "support"].into_iter().enumerate() {
        let replica = &nodes[n].replica;
        tasks.push(async move {
            let mut outcomes = Vec::new();
            for i in 0..8u8 {
                let id = format!("{producer}-{i}");
                let mut events = vec![event(&id, EventKind::Collection, i % 4)];
                if i % 3 == 0 {
                    events.push(with_details(
                        event(&format!("{id}-d"), EventKind::Access, i % 4),
                        &format!("secret ticket {producer} {i}"),
                    ));
                }
                outcomes.push(
                    replica
                        .append(producer, CorrectionRights::OwnEntries, events)
                        .await,
                );
            }
            outcomes
        });
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.extend(task.await);
    }
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    // An identity link, a reuse of an id for other content, and an erasure, through different
    // replicas: refused or applied the same everywhere.
    let mut link = event("crm-link", EventKind::IdentityLink, 1);
    link.linked_row = Some([99; 32]);
    link.identifiers.push("customer_id:C-99".into());
    nodes[1]
        .replica
        .append("crm", CorrectionRights::OwnEntries, vec![link])
        .await
        .expect("links");
    let mut reuse = event("crm-0", EventKind::Collection, 0);
    reuse.content_digest = [7; 32];
    let refused = nodes[2]
        .replica
        .append("crm", CorrectionRights::OwnEntries, vec![reuse])
        .await
        .expect_err("a reuse");
    assert!(
        matches!(
            refused,
            ReplicaError::Refused(AppendError::EventIdConflict { .. })
        ),
        "{refused}"
    );
    let mut erasure = event("erase-2", EventKind::ErasureRequested, 2);
    erasure.opens_erasure = Some("dpo".into());
    nodes[0]
        .replica
        .append("admin", CorrectionRights::AnyEntry, vec![erasure])
        .await
        .expect("erases");

    all_applied(&[&nodes[0], &nodes[1], &nodes[2]], &log).await;
    assert_same_log(&nodes[0].store, &nodes[1].store);
    assert_same_log(&nodes[0].store, &nodes[2].store);
    assert!(nodes[0].store.tree_size().expect("size") >= 33);
    // Each receipt names an entry the replicas agree on, at a checkpoint they all signed.
    for receipts in outcomes.iter().flatten() {
        for receipt in receipts {
            for node in &nodes {
                assert_eq!(
                    node.store.signature(receipt.index).expect("read"),
                    Some(receipt.signature)
                );
                assert_eq!(
                    node.store
                        .checkpoint_at(receipt.checkpoint.size)
                        .expect("read")
                        .as_deref(),
                    Some(receipt.checkpoint.note.as_str())
                );
            }
        }
    }
    // The log itself never held a detail or an identifier in the clear.
    for stored in log.messages() {
        for needle in [b"secret ticket".as_slice(), b"example.com", b"C-99"] {
            assert!(
                !stored
                    .message
                    .body
                    .windows(needle.len())
                    .any(|w| w == needle),
                "message {} shows {:?}",
                stored.seq,
                String::from_utf8_lossy(needle)
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_is_one_message_answered_with_the_original_receipts() {
    let log = Arc::new(MemoryInputLog::new());
    let (a, b) = (node(&log), node(&log));
    let first = a
        .replica
        .append(
            "crm",
            CorrectionRights::OwnEntries,
            vec![event("e-1", EventKind::Collection, 1)],
        )
        .await
        .expect("appends");
    let seq = log.last();
    // The same request again, through the other replica: the log drops it, the answer is the
    // original receipt.
    let again = b
        .replica
        .append(
            "crm",
            CorrectionRights::OwnEntries,
            vec![event("e-1", EventKind::Collection, 1)],
        )
        .await
        .expect("a retry");
    assert_eq!(log.last(), seq, "one message");
    assert_eq!(
        (again[0].index, again[0].signature, again[0].duplicate),
        (first[0].index, first[0].signature, true)
    );
    // The same event for another subject shares the message id (identifiers are not in it): the
    // log drops it too, and the retry rule refuses it.
    let elsewhere = b
        .replica
        .append(
            "crm",
            CorrectionRights::OwnEntries,
            vec![event("e-1", EventKind::Collection, 2)],
        )
        .await
        .expect_err("another subject");
    assert!(
        matches!(
            elsewhere,
            ReplicaError::Refused(AppendError::EventIdConflict { .. })
        ),
        "{elsewhere}"
    );
    assert_eq!(log.last(), seq);
    all_applied(&[&a, &b], &log).await;
    assert_same_log(&a.store, &b.store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_stopped_between_the_ack_and_its_apply_catches_up_and_a_retry_is_answered() {
    let log = Arc::new(MemoryInputLog::new());
    let mut impatient = config();
    impatient.apply_timeout = Duration::from_secs(2);
    let (mut a, b) = (node_with(&log, impatient), node(&log));
    a.replica
        .append(
            "crm",
            CorrectionRights::OwnEntries,
            vec![event("e-0", EventKind::Collection, 1)],
        )
        .await
        .expect("appends");
    // A stops applying: what it publishes now is stored (acknowledged) but not applied by it.
    a.replica.stop_applying().await;
    let lost = a
        .replica
        .append(
            "crm",
            CorrectionRights::OwnEntries,
            vec![event("e-1", EventKind::Collection, 2)],
        )
        .await
        .expect_err("no apply in time");
    assert!(matches!(lost, ReplicaError::Unavailable(_)), "{lost}");
    assert_eq!(log.last(), 2, "the request is in the log");
    // The client retries on B: one entry, answered with the receipt B's apply made.
    let retried = b
        .replica
        .append(
            "crm",
            CorrectionRights::OwnEntries,
            vec![event("e-1", EventKind::Collection, 2)],
        )
        .await
        .expect("answered");
    assert_eq!((retried[0].index, retried[0].duplicate), (1, true));
    assert_eq!(log.last(), 2);
    // A starts applying again from what its store says it applied, and catches up.
    let applied = a
        .store
        .applied_input()
        .expect("read")
        .expect("a replica's store");
    assert_eq!(applied, 1);
    a.replica = Replica::start(
        log.clone(),
        a.sequencer.clone(),
        applied,
        a.store.closed_epoch().expect("read"),
        config(),
    );
    all_applied(&[&a, &b], &log).await;
    assert_same_log(&a.store, &b.store);
    assert_eq!(a.store.tree_size().expect("size"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_quorum_appends_are_unavailable_and_resume_after() {
    let log = Arc::new(MemoryInputLog::new());
    let a = node(&log);
    log.set_unavailable(true);
    let refused = a
        .replica
        .append(
            "crm",
            CorrectionRights::OwnEntries,
            vec![event("e-0", EventKind::Collection, 1)],
        )
        .await
        .expect_err("no quorum");
    assert!(matches!(refused, ReplicaError::Unavailable(_)), "{refused}");
    assert_eq!(log.last(), 0);
    log.set_unavailable(false);
    a.replica
        .append(
            "crm",
            CorrectionRights::OwnEntries,
            vec![event("e-0", EventKind::Collection, 1)],
        )
        .await
        .expect("appends");
    assert_eq!(a.store.tree_size().expect("size"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_does_not_open_stops_every_replica_and_is_never_skipped() {
    let log = Arc::new(MemoryInputLog::new());
    let (a, b) = (node(&log), node(&log));
    let epoch = first_epoch() + 1;
    log.publish(Outgoing {
        msg_id: format!("{}.{epoch}", "ab".repeat(32)),
        format: "1".into(),
        epoch: epoch.to_string(),
        body: vec![0; 64],
    })
    .await
    .expect("stored");
    let refused = a
        .replica
        .append(
            "crm",
            CorrectionRights::OwnEntries,
            vec![event("e-0", EventKind::Collection, 1)],
        )
        .await;
    assert!(refused.is_err(), "applied past a message it could not open");
    for node in [&a, &b] {
        // `b` applies on its own task: it may not have reached the message yet.
        let failure = stopped(node).await;
        assert!(failure.contains("message 1"), "{failure}");
        assert_eq!(node.replica.applied(), 0);
        assert_eq!(node.store.tree_size().expect("size"), 0);
        assert_eq!(node.replica.stopped().reason(), Some(failure));
    }
    // A stopped replica refuses at once, publishing nothing: it would never answer.
    let published = log.last();
    let refused = a
        .replica
        .append(
            "crm",
            CorrectionRights::OwnEntries,
            vec![event("e-1", EventKind::Collection, 1)],
        )
        .await
        .expect_err("refused");
    assert!(
        matches!(&refused, ReplicaError::Unavailable(why) if why.contains("stopped applying")),
        "{refused}"
    );
    assert_eq!(log.last(), published);
}

/// Why `node`'s applier stopped, once it has (bounded wait).
pub(super) async fn stopped<L: InputLog>(node: &Node<L>) -> String {
    let started = std::time::Instant::now();
    loop {
        if let Some(failure) = node.replica.failure() {
            return failure;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "never stopped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A message no replica sealed: a body under no key, named for `epoch`.
fn forged(epoch: u64, tag: &str) -> Outgoing {
    Outgoing {
        msg_id: format!("{}.{epoch}", tag.repeat(32)),
        format: "1".into(),
        epoch: epoch.to_string(),
        body: vec![0; 64],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_matching_genesis_messages_no_replica_sealed_are_skipped_by_every_replica() {
    let log = Arc::new(MemoryInputLog::new());
    assert!(make_genesis(&*log, &config()).await.expect("genesis"));
    assert!(
        !make_genesis(&*log, &config()).await.expect("genesis"),
        "a second replica finds the genesis there"
    );
    let (a, b) = (node(&log), node(&log));
    let epoch = first_epoch() + 1;
    // Forged five ways: a body under no key, an epoch before the deployment's first, an epoch
    // too far ahead, headers no replica writes, a later format that does not open, and a second
    // genesis.
    for message in [
        forged(epoch, "ab"),
        forged(first_epoch() - 5, "cd"),
        forged(first_epoch() + 200_000, "ef"),
        Outgoing {
            epoch: "01".into(),
            ..forged(epoch, "12")
        },
        Outgoing {
            format: "2".into(),
            ..forged(epoch, "34")
        },
        config()
            .provisioning
            .genesis(&config().ratchet)
            .map(|g| Outgoing {
                msg_id: g.msg_id,
                ..forged(epoch, "56")
            })
            .expect("genesis"),
    ] {
        log.publish(message).await.expect("stored");
    }
    let receipt = a
        .replica
        .append(
            "crm",
            CorrectionRights::OwnEntries,
            vec![event("e-0", EventKind::Collection, 1)],
        )
        .await
        .expect("applied past the forged messages");
    assert_eq!(receipt[0].index, 0);
    all_applied(&[&a, &b], &log).await;
    for node in [&a, &b] {
        assert_eq!(node.replica.failure(), None);
        assert_eq!(node.store.tree_size().expect("size"), 1);
        // The second genesis was dropped by the log as a duplicate of the first: five skipped.
        assert_eq!(node.replica.skipped().get(), 5);
    }
    assert_same_log(&a.store, &b.store);

    // A replica started later (over a new store) checks the genesis and skips the same ones.
    let c = node(&log);
    all_applied(&[&c], &log).await;
    assert_same_log(&a.store, &c.store);
    assert_eq!(c.replica.skipped().get(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_provisioned_with_other_secrets_stops_at_the_genesis() {
    let log = Arc::new(MemoryInputLog::new());
    make_genesis(&*log, &config()).await.expect("genesis");
    let a = node(&log);
    a.replica
        .append(
            "crm",
            CorrectionRights::OwnEntries,
            vec![event("e-0", EventKind::Collection, 1)],
        )
        .await
        .expect("appended");
    let stranger = node_with(
        &log,
        ReplicaConfig {
            provisioning: provisioning([99; 32]),
            ..config()
        },
    );
    let failure = stopped(&stranger).await;
    assert!(
        failure.contains("message 1") && failure.contains("directory secret"),
        "{failure}"
    );
    assert_eq!(
        stranger.store.tree_size().expect("size"),
        0,
        "applied nothing"
    );
    // Another transit ratchet is found out the same way.
    let other_ratchet = node_with(
        &log,
        ReplicaConfig {
            ratchet: TransitRatchet::new(first_epoch(), [77; 32]),
            ..config()
        },
    );
    let failure = stopped(&other_ratchet).await;
    assert!(failure.contains("transit ratchet"), "{failure}");
}
