//! Replicas over a real NATS JetStream cluster: three nats-servers (JetStream, clustered, on
//! 127.0.0.1 with ephemeral ports, their stores in a temp dir) and three ledger replicas, each
//! with its own RocksDB store and sequencer, connected to a different nats-server.
//!
//! - the same log byte for byte on every replica, whichever replica each producer talks to;
//! - a nats-server killed (SIGKILL): appends go on with two; a second one killed: appends are
//!   `UNAVAILABLE` within the publish timeout and nothing is applied; one back: appends resume;
//! - a replica that stopped applying catches up from its store's `applied_input`.
//!
//! Needs Debian's `nats-server` (scripts/bootstrap.sh installs it); without it the test fails
//! saying so (it never skips).

use crate::nats_cluster;

use std::sync::Arc;
use std::time::{Duration, Instant};

use gdpr_ledger::core::directory::{DirectorySecret, PseudonymSecret};
use gdpr_ledger::core::signature::LogSigner;
use gdpr_ledger::proto::v1::{Event, EventKind};
use gdpr_ledger::replication::nats::{NatsInputLog, StreamSettings};
use gdpr_ledger::replication::replica::{Replica, ReplicaConfig, ReplicaError};
use gdpr_ledger::replication::transit::{MsgIdKey, TransitRatchet, epoch_of};
use gdpr_ledger::sequencer::{
    CorrectionRights, PreparedEvent, SequencerConfig, SequencerHandle, SequencerParts, start,
};
use gdpr_ledger::storage::{LedgerStore, StorageConfig, TailStore};
use nats_cluster::{Cluster, NatsServer};

const ORIGIN: &str = "ledger.test/nats-replicas";

fn config() -> ReplicaConfig {
    static FIRST: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let first = *FIRST
        .get_or_init(|| epoch_of(gdpr_ledger::unix_time::now_seconds(), 600).saturating_sub(1));
    ReplicaConfig {
        ratchet: TransitRatchet::new(first, [11; 32]),
        msg_ids: MsgIdKey::derive(&DirectorySecret::from_bytes([12; 32])),
        epoch_secs: 600,
        publish_timeout: Duration::from_secs(2),
        apply_timeout: Duration::from_secs(10),
        provisioning: gdpr_ledger::replication::genesis::Provisioning::new(
            ORIGIN,
            vec!["0011223344556677".into()],
            &[12; 32],
            &[4; 32],
            &gdpr_ledger::vault::MasterKey::from_bytes([5; 32]),
        ),
        keep_epochs: 6,
        close_grace_secs: 60,
        close_every: None,
        ratchet_file: None,
        clock: gdpr_ledger::replication::replica::system_clock(),
    }
}

struct Node {
    store: Arc<LedgerStore>,
    sequencer: SequencerHandle,
    log: Arc<NatsInputLog>,
    replica: Replica<NatsInputLog>,
    _dir: tempfile::TempDir,
}

/// Connects to `url`, retrying while the cluster elects its JetStream leader (bounded); fails
/// with the servers' logs.
async fn connect(url: &str, cluster: &Cluster) -> NatsInputLog {
    // A small stream: JetStream reserves max_bytes on each server's disk.
    let settings = StreamSettings {
        replicas: 3,
        max_bytes: 8 << 20,
        ..StreamSettings::default()
    };
    let started = Instant::now();
    loop {
        match NatsInputLog::connect(url, ORIGIN, &settings).await {
            Ok(log) => return log,
            Err(error) if started.elapsed() < Duration::from_secs(60) => {
                eprintln!("waiting for the NATS cluster: {error}");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(error) => panic!(
                "the NATS cluster did not come up: {error}\n{}",
                cluster.log_tails()
            ),
        }
    }
}

async fn node(url: &str, cluster: &Cluster) -> Node {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        Arc::new(LedgerStore::open(dir.path(), ORIGIN, &StorageConfig::default()).expect("open"));
    let (sequencer, _thread) = start(SequencerParts {
        store: store.clone(),
        signer: Arc::new(LogSigner::from_seed(ORIGIN, &[3u8; 32]).expect("signer")),
        cosigners: Vec::new(),
        pseudonym_secret: PseudonymSecret::from_bytes([4u8; 32]),
        master_key: Arc::new(gdpr_ledger::vault::MasterKey::from_bytes([5u8; 32])),
        origin: ORIGIN.into(),
        config: SequencerConfig::default(),
    })
    .expect("starts");
    let log = Arc::new(connect(url, cluster).await);
    // The first node makes the stream's genesis (only into an empty stream); the others find it.
    gdpr_ledger::replication::replica::make_genesis(&*log, &config())
        .await
        .expect("the genesis, or the stream holds one");
    let replica = Replica::start(log.clone(), sequencer.clone(), 0, None, config());
    Node {
        store,
        sequencer,
        log,
        replica,
        _dir: dir,
    }
}

fn event(id: &str, subject: u8) -> PreparedEvent {
    PreparedEvent {
        event: Event {
            event_id: id.into(),
            kind: EventKind::Collection as i32,
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

fn assert_same_log(a: &LedgerStore, b: &LedgerStore) {
    let size = TailStore::tree_size(a).expect("size");
    assert_eq!(TailStore::tree_size(b).expect("size"), size);
    for index in 0..size {
        assert_eq!(
            TailStore::entry(a, index).expect("read"),
            TailStore::entry(b, index).expect("read"),
            "entry {index}"
        );
        assert_eq!(
            TailStore::signature(a, index).expect("read"),
            TailStore::signature(b, index).expect("read")
        );
    }
    for at in 0..=size {
        assert_eq!(
            TailStore::checkpoint_at(a, at).expect("read"),
            TailStore::checkpoint_at(b, at).expect("read"),
            "checkpoint {at}"
        );
    }
}

async fn wait_all(nodes: &[&Node], seq: u64) {
    for node in nodes {
        node.replica
            .wait_applied(seq, Duration::from_secs(30))
            .await
            .expect("applied");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_on_a_nats_cluster_survive_a_dead_server_and_stop_without_a_quorum() {
    let mut cluster = Cluster::start();
    let urls: Vec<String> = cluster.servers.iter().map(NatsServer::url).collect();
    let a = node(&urls[0], &cluster).await;
    let b = node(&urls[1], &cluster).await;
    let mut c = node(&urls[2], &cluster).await;

    // Producers on every replica, concurrently.
    let mut tasks = Vec::new();
    for (n, node) in [&a, &b, &c].into_iter().enumerate() {
        tasks.push(async move {
            let mut seqs = Vec::new();
            for i in 0..6u8 {
                let receipts = node
                    .replica
                    .append(
                        "crm",
                        CorrectionRights::OwnEntries,
                        vec![event(&format!("n{n}-e{i}"), i % 3)],
                    )
                    .await
                    .expect("appends");
                seqs.push(receipts[0].index);
            }
            seqs
        });
    }
    for task in tasks {
        task.await;
    }
    wait_all(&[&a, &b, &c], a.log_last().await).await;
    assert_eq!(TailStore::tree_size(&*a.store).expect("size"), 18);
    assert_same_log(&a.store, &b.store);
    assert_same_log(&a.store, &c.store);

    // A nats-server dies: two of three still make a quorum.
    cluster.servers[2].kill();
    let receipts = append_until_ok(&a, "after-one-down", 2, Duration::from_secs(30)).await;
    assert_eq!(receipts, 18);

    // A second dies: no quorum. Appends are refused within the publish timeout; nothing moves.
    cluster.servers[1].kill();
    let size = TailStore::tree_size(&*a.store).expect("size");
    let started = Instant::now();
    let refused = a
        .replica
        .append(
            "crm",
            CorrectionRights::OwnEntries,
            vec![event("without-quorum", 1)],
        )
        .await
        .expect_err("no quorum");
    assert!(matches!(refused, ReplicaError::Unavailable(_)), "{refused}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(TailStore::tree_size(&*a.store).expect("size"), size);

    // One comes back: appends resume (after JetStream's election), and the retried request (the
    // same event, as a producer retries) is one entry, whether or not the refused attempt had
    // been stored once the quorum came back.
    cluster.restart(1);
    let index = append_until_ok(&a, "without-quorum", 1, Duration::from_secs(60)).await;
    assert_eq!(index, size);

    // C stopped applying while its nats-server was down; started again from its store's
    // position, it catches up with A and B.
    c.replica.stop_applying().await;
    cluster.restart(2);
    let applied = c.store.applied_input().expect("read").unwrap_or(0);
    let c_log = Arc::new(connect(&urls[2], &cluster).await);
    c.replica = Replica::start(
        c_log,
        c.sequencer.clone(),
        applied,
        c.store.closed_epoch().expect("read"),
        config(),
    );
    wait_all(&[&a, &b, &c], a.log_last().await).await;
    assert_same_log(&a.store, &b.store);
    assert_same_log(&a.store, &c.store);
    assert_eq!(TailStore::tree_size(&*c.store).expect("size"), 20);
}

impl Node {
    /// The stream's last sequence.
    async fn log_last(&self) -> u64 {
        use gdpr_ledger::replication::input_log::InputLog as _;
        self.log.last_seq().await.expect("the stream's state")
    }
}

/// Appends one event (`event(id, subject)`) through `node`, retrying `UNAVAILABLE` (bounded):
/// returns its index.
async fn append_until_ok(node: &Node, id: &str, subject: u8, within: Duration) -> u64 {
    let started = Instant::now();
    loop {
        match node
            .replica
            .append(
                "crm",
                CorrectionRights::OwnEntries,
                vec![event(id, subject)],
            )
            .await
        {
            Ok(receipts) => return receipts[0].index,
            Err(ReplicaError::Unavailable(why)) if started.elapsed() < within => {
                let _ = why;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(error) => panic!("{id}: {error}"),
        }
    }
}
