//! A node dies under load (issue 15): three nats-servers and three ledger replicas, each a
//! `gdpr-ledger serve` process with its own data dir and the same secrets. Clients append through
//! all three (single events and batches) and, as a producer does, retry a failed request unchanged
//! on the next replica. Mid-load one ledger replica is killed with SIGKILL and started again, then
//! the nats-server leading the stream is killed with SIGKILL and started again. Transit epochs
//! last two seconds, so epoch closes, requests sealed again after their epoch closed, and the
//! destruction of transit keys all happen under the kills.
//!
//! Afterwards: every acknowledged event is on all three replicas at the index and with the leaf
//! hash its receipt gave; every checkpoint a receipt carried is byte-identical on all three; the
//! three logs are identical entry for entry and audit through the API; and each data dir audits
//! clean with `gdpr-ledger audit --data-dir`; every replica destroyed the keys of closed epochs.
//! How long producers waited after each fault is
//! printed (a figure for the notes, not an assertion).

use crate::common;
use crate::nats_cluster;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use common::process::{ServerProcess, start_server, toml_of};
use common::{ADMIN_TOKEN, AUDITOR_TOKEN, Client, test_config};
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::replication::ReplicationConfig;
use nats_cluster::Cluster;

/// Length of a transit epoch in this test: closes every two seconds.
const TRANSIT_EPOCH_SECS: u64 = 2;
const REPLICAS: usize = 3;
const CLIENTS_PER_REPLICA: usize = 2;
/// Each client stops after this many requests, or earlier when the test says so.
const MAX_REQUESTS_PER_CLIENT: u64 = 1_500;
/// Each producer pauses this long between requests: a steady load that leaves the 2 cores room
/// for three ledgers, three nats-servers and the test.
const PAUSE: Duration = Duration::from_millis(40);
/// A request is retried (on the next replica, every 100 ms) at most this many times: 60 s of
/// failures end the test, saying so.
const MAX_ATTEMPTS: u32 = 600;
/// Acknowledged events to wait for before each fault and after the last one.
const PROGRESS: usize = 60;
/// And the time to let pass after each fault, so that faults do not overlap.
const SETTLE: Duration = Duration::from_secs(6);

struct Replica {
    config_path: std::path::PathBuf,
    data_dir: std::path::PathBuf,
    process: Option<ServerProcess>,
    _dirs: tempfile::TempDir,
}

/// What a producer was told for one event.
#[derive(Clone)]
struct Ack {
    index: u64,
    leaf_hash: Vec<u8>,
    checkpoint: String,
}

/// One acknowledged request: when it was first sent, when it was acknowledged, how many tries.
struct Timing {
    started: Instant,
    acknowledged: Instant,
    attempts: u32,
}

#[derive(Default)]
struct Record {
    acks: HashMap<String, Ack>,
    timings: Vec<Timing>,
    /// Every failed try: when, and what the producer was told.
    failures: Vec<(Instant, String)>,
}

type Addresses = Arc<RwLock<Vec<Option<SocketAddr>>>>;

fn submission(id: String, subject: u64) -> pb::EventSubmission {
    common::collection(&id, "customer_id", &format!("C-{subject}"))
}

/// Sends one request (a batch when `batch`) to `addr`, bounded by a timeout.
async fn send(
    clients: &mut HashMap<SocketAddr, Client>,
    addr: SocketAddr,
    submissions: &[pb::EventSubmission],
) -> Result<Vec<pb::Receipt>, String> {
    let client = match clients.get_mut(&addr) {
        Some(client) => client,
        None => {
            let client = common::client_for_result(addr, ADMIN_TOKEN).await?;
            clients.entry(addr).or_insert(client)
        }
    };
    let call = async {
        if let [single] = submissions {
            client
                .append(pb::AppendRequest {
                    submission: Some(single.clone()),
                    include_bundle: false,
                })
                .await
                .map(|r| r.into_inner().receipt.into_iter().collect())
        } else {
            client
                .append_batch(pb::AppendBatchRequest {
                    submissions: submissions.to_vec(),
                    include_bundle: false,
                })
                .await
                .map(|r| r.into_inner().receipts)
        }
    };
    match tokio::time::timeout(Duration::from_secs(10), call).await {
        Ok(Ok(receipts)) => Ok(receipts),
        Ok(Err(status)) => {
            // A connection to a killed process is made anew on the next try.
            clients.remove(&addr);
            Err(status.to_string())
        }
        Err(_) => {
            clients.remove(&addr);
            Err("no answer within 10 s".into())
        }
    }
}

/// A producer homed on replica `home`: appends until told to stop, each request retried
/// unchanged on the next replica until one acknowledges it.
async fn producer(
    client: usize,
    home: usize,
    addresses: Addresses,
    record: Arc<Mutex<Record>>,
    stop: Arc<AtomicBool>,
) {
    let mut clients = HashMap::new();
    for n in 0..MAX_REQUESTS_PER_CLIENT {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let size = if n % 3 == 0 { 5 } else { 1 };
        let ids: Vec<String> = (0..size).map(|i| format!("c{client}-n{n}-{i}")).collect();
        let submissions: Vec<pb::EventSubmission> = ids
            .iter()
            .map(|id| submission(id.clone(), (client as u64 * 7919 + n) % 150))
            .collect();
        let started = Instant::now();
        let mut target = home;
        let mut attempts = 0;
        let receipts = loop {
            attempts += 1;
            let addr = addresses.read().expect("lock")[target];
            let outcome = match addr {
                Some(addr) => send(&mut clients, addr, &submissions).await,
                None => Err("replica down".into()),
            };
            match outcome {
                Ok(receipts) => break receipts,
                Err(why) => {
                    record
                        .lock()
                        .expect("lock")
                        .failures
                        .push((Instant::now(), why.clone()));
                    assert!(
                        attempts < MAX_ATTEMPTS,
                        "client {client}: request {n} unacknowledged after {attempts} tries: {why}"
                    );
                    target = (target + 1) % REPLICAS;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        assert_eq!(receipts.len(), ids.len(), "a receipt per event");
        {
            let mut record = record.lock().expect("lock");
            for (id, receipt) in ids.into_iter().zip(receipts) {
                record.acks.insert(
                    id,
                    Ack {
                        index: receipt.index,
                        leaf_hash: receipt.leaf_hash,
                        checkpoint: receipt.checkpoint,
                    },
                );
            }
            record.timings.push(Timing {
                started,
                acknowledged: Instant::now(),
                attempts,
            });
        }
        tokio::time::sleep(PAUSE).await;
    }
}

/// Waits (bounded) until `PROGRESS` more events than `from` are acknowledged and `settle` has
/// passed since `since`, so that each fault's figures are its own.
async fn wait_for_progress(
    record: &Mutex<Record>,
    from: usize,
    since: Instant,
    what: &str,
) -> usize {
    let started = Instant::now();
    loop {
        let now = record.lock().expect("lock").acks.len();
        if now >= from + PROGRESS && since.elapsed() >= SETTLE {
            return now;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "{what}: only {} events acknowledged in 90 s",
            now - from
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The longest a request sent in [fault - 1 s, fault + 5 s] waited for its acknowledgement, the
/// number of those that needed more than one try, and the longest gap between two consecutive
/// acknowledgements (any producer) in that span.
fn after_fault(record: &Record, fault: Instant) -> (Duration, usize, Duration) {
    let from = fault.checked_sub(Duration::from_secs(1)).unwrap_or(fault);
    let to = fault + Duration::from_secs(5);
    let near: Vec<&Timing> = record
        .timings
        .iter()
        .filter(|t| t.started >= from && t.started <= to)
        .collect();
    let longest = near
        .iter()
        .map(|t| t.acknowledged - t.started)
        .max()
        .unwrap_or_default();
    let retried = near.iter().filter(|t| t.attempts > 1).count();
    let mut acked: Vec<Instant> = record
        .timings
        .iter()
        .map(|t| t.acknowledged)
        .filter(|&t| t >= from && t <= to)
        .collect();
    acked.sort();
    let gap = acked
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    (longest, retried, gap)
}

async fn tree_size(addr: SocketAddr) -> u64 {
    common::client_for(addr, AUDITOR_TOKEN)
        .await
        .get_checkpoint(pb::GetCheckpointRequest { tree_size: 0 })
        .await
        .map(|r| r.into_inner().tree_size)
        .unwrap_or(0)
}

/// The tree size a signed note commits to (its second line, SPEC.md section 5).
fn note_size(note: &str) -> u64 {
    note.lines()
        .nth(1)
        .and_then(|line| line.parse().ok())
        .unwrap_or_else(|| panic!("not a checkpoint note: {note:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_replica_and_a_nats_server_die_under_load_and_nothing_acknowledged_is_lost() {
    let mut cluster = Cluster::start();
    let mut replicas: Vec<Replica> = (0..REPLICAS)
        .map(|_| {
            let dirs = tempfile::tempdir().expect("temp dir");
            let mut config = test_config(dirs.path());
            config.replication = Some(ReplicationConfig {
                nats_urls: cluster.urls(),
                stream_replicas: 3,
                // JetStream reserves this on each nats-server's disk.
                stream_max_bytes: 32 << 20,
                // Epochs of two seconds: closes, requests sealed again and keys destroyed all
                // happen under the kills.
                transit_epoch_secs: TRANSIT_EPOCH_SECS,
                transit_grace_secs: 1,
                transit_keep_epochs: 1,
                ..ReplicationConfig::default()
            });
            let config_path = dirs.path().join("gdpr-ledger.toml");
            std::fs::write(&config_path, toml_of(&config)).expect("config written");
            Replica {
                config_path,
                data_dir: config.data_dir.clone(),
                process: None,
                _dirs: dirs,
            }
        })
        .collect();
    // The first replica makes the secrets; the others get a copy, as an operator does.
    let secrets = |r: &Replica| r.data_dir.with_file_name("secrets");
    let ratchet_file =
        gdpr_ledger::replication::init_ratchet(&secrets(&replicas[0]), TRANSIT_EPOCH_SECS)
            .expect("ratchet");
    // The ratchet as provisioned: the first replica may close epochs (and destroy their keys)
    // before the others start, and they apply the stream from its first message.
    let provisioned = std::fs::read_to_string(&ratchet_file).expect("ratchet");
    let first_epoch = gdpr_ledger::replication::load_ratchet(&secrets(&replicas[0]))
        .expect("ratchet")
        .oldest_epoch();
    replicas[0].process = Some(start_server(&replicas[0].config_path).await);
    for i in 1..REPLICAS {
        let to = secrets(&replicas[i]);
        std::fs::create_dir_all(&to).expect("secrets dir");
        for entry in std::fs::read_dir(secrets(&replicas[0])).expect("read") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
        }
        std::fs::write(
            to.join(gdpr_ledger::replication::TRANSIT_RATCHET_FILE),
            &provisioned,
        )
        .expect("the provisioned ratchet");
        replicas[i].process = Some(start_server(&replicas[i].config_path).await);
    }
    let key = replicas[0]
        .process
        .as_ref()
        .expect("running")
        .verifier_key
        .clone();
    let addresses: Addresses = Arc::new(RwLock::new(
        replicas
            .iter()
            .map(|r| r.process.as_ref().map(|p| p.addr))
            .collect(),
    ));

    let record = Arc::new(Mutex::new(Record::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let producers: Vec<_> = (0..REPLICAS * CLIENTS_PER_REPLICA)
        .map(|client| {
            tokio::spawn(producer(
                client,
                client % REPLICAS,
                addresses.clone(),
                record.clone(),
                stop.clone(),
            ))
        })
        .collect();

    // A ledger replica dies (SIGKILL) mid-load and comes back on the same data dir.
    let acked = wait_for_progress(&record, 0, Instant::now(), "before the faults").await;
    let ledger_fault = Instant::now();
    addresses.write().expect("lock")[1] = None;
    let mut killed = replicas[1].process.take().expect("running");
    killed.child.start_kill().expect("SIGKILL");
    assert!(!killed.child.wait().await.expect("exits").success());
    let acked = wait_for_progress(&record, acked, ledger_fault, "with a ledger replica down").await;
    let restarted = start_server(&replicas[1].config_path).await;
    addresses.write().expect("lock")[1] = Some(restarted.addr);
    replicas[1].process = Some(restarted);
    let back = Instant::now();
    let acked = wait_for_progress(&record, acked, back, "after the replica came back").await;

    // The nats-server leading the stream dies (SIGKILL) mid-load and comes back.
    let leader = cluster.stream_leader().expect("the stream has a leader");
    let nats_fault = Instant::now();
    cluster.servers[leader].kill();
    let acked = wait_for_progress(&record, acked, nats_fault, "with a nats-server down").await;
    tokio::task::block_in_place(|| cluster.restart(leader));
    let back = Instant::now();
    wait_for_progress(&record, acked, back, "after the nats-server came back").await;
    stop.store(true, Ordering::Relaxed);
    for producer in producers {
        producer.await.expect("producer");
    }

    let record = Arc::try_unwrap(record)
        .ok()
        .expect("producers ended")
        .into_inner()
        .expect("lock");
    for (what, fault) in [
        ("a ledger replica killed", ledger_fault),
        ("the stream's nats-server leader killed", nats_fault),
    ] {
        let (longest, retried, gap) = after_fault(&record, fault);
        println!(
            "{what}: the longest wait for an acknowledgement {longest:?} ({retried} requests \
             retried), the longest gap between acknowledgements {gap:?}"
        );
        let mut told: BTreeMap<String, usize> = BTreeMap::new();
        for (at, why) in &record.failures {
            if *at >= fault && *at <= fault + SETTLE {
                let why: String = why.chars().take(400).collect();
                *told.entry(why).or_default() += 1;
            }
        }
        for (why, count) in told {
            println!("  {count} x {why}");
        }
    }
    println!(
        "{} events acknowledged in {} requests",
        record.acks.len(),
        record.timings.len()
    );

    // Every replica applies the whole stream: the same size everywhere (bounded wait).
    let addrs: Vec<SocketAddr> = addresses
        .read()
        .expect("lock")
        .iter()
        .flatten()
        .copied()
        .collect();
    assert_eq!(addrs.len(), REPLICAS);
    let highest = record.acks.values().map(|a| a.index).max().expect("acks") + 1;
    let started = Instant::now();
    let size = loop {
        let mut sizes = Vec::new();
        for &addr in &addrs {
            sizes.push(tree_size(addr).await);
        }
        if sizes.iter().all(|&s| s == sizes[0] && s >= highest) {
            break sizes[0];
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the replicas did not converge: sizes {sizes:?}, {highest} acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    println!("all three replicas at size {size}");

    // Every acknowledged event, at its index with its leaf hash, on every replica.
    for &addr in &addrs {
        let mut auditor = common::client_for(addr, AUDITOR_TOKEN).await;
        for (event_id, ack) in &record.acks {
            let entry = auditor
                .get_entry(pb::GetEntryRequest {
                    selector: Some(pb::get_entry_request::Selector::EventId(event_id.clone())),
                    producer: "ops".into(),
                })
                .await
                .unwrap_or_else(|status| {
                    panic!("acknowledged {event_id} is lost on {addr}: {status}")
                })
                .into_inner();
            assert_eq!(entry.index, ack.index, "{event_id} moved on {addr}");
            assert_eq!(
                entry.leaf_hash, ack.leaf_hash,
                "{event_id} changed on {addr}"
            );
        }
    }

    // Every checkpoint a receipt carried is the checkpoint every replica signed at that size.
    let checkpoints: BTreeMap<u64, &str> = record
        .acks
        .values()
        .map(|a| (note_size(&a.checkpoint), a.checkpoint.as_str()))
        .collect();
    for &addr in &addrs {
        let mut auditor = common::client_for(addr, AUDITOR_TOKEN).await;
        for (&tree_size, note) in &checkpoints {
            let held = auditor
                .get_checkpoint(pb::GetCheckpointRequest { tree_size })
                .await
                .unwrap_or_else(|s| panic!("no checkpoint at {tree_size} on {addr}: {s}"))
                .into_inner();
            assert_eq!(
                &held.checkpoint, note,
                "checkpoint {tree_size} differs on {addr}"
            );
        }
    }
    println!(
        "{} checkpoints identical on the three replicas",
        checkpoints.len()
    );
    // Epochs were closed and their keys destroyed on every replica meanwhile.
    for replica in &replicas {
        let oldest = gdpr_ledger::replication::load_ratchet(&secrets(replica))
            .expect("ratchet")
            .oldest_epoch();
        assert!(
            oldest > first_epoch + 2,
            "the ratchet of {} is at epoch {oldest}, provisioned at {first_epoch}",
            replica.data_dir.display()
        );
        println!(
            "{}: transit keys destroyed for {} epochs",
            replica.data_dir.display(),
            oldest - first_epoch
        );
    }

    // The three logs, entry for entry, each audited through the API.
    let logs = whole_logs(&addrs, &key).await;
    for log in &logs[1..] {
        assert_eq!(log.len(), logs[0].len());
        for (x, y) in log.iter().zip(&logs[0]) {
            assert_eq!(x.bytes(), y.bytes(), "entry {} differs", x.index());
        }
    }

    // Each data dir audits clean with the CLI (the processes killed first, as a crash leaves it).
    for replica in &mut replicas {
        let mut process = replica.process.take().expect("running");
        process.child.start_kill().expect("SIGKILL");
        process.child.wait().await.expect("exits");
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
            .arg("audit")
            .arg("--data-dir")
            .arg(&replica.data_dir)
            .arg("--key")
            .arg(key.to_string())
            .output()
            .expect("gdpr-ledger audit runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("AUDITED"),
            "{}: {stdout}{}",
            replica.data_dir.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Every replica's whole log, audited through the API.
async fn whole_logs(
    addrs: &[SocketAddr],
    key: &gdpr_ledger::core::signature::VerifierKey,
) -> Vec<Vec<gdpr_ledger::core::entry::SequencedEntry>> {
    let mut logs = Vec::new();
    for &addr in addrs {
        logs.push(common::audit_whole_log(addr, key).await);
    }
    logs
}
