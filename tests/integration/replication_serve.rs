//! `serve` with `[replication]`: two ledger servers (each its own data dir, the same secrets, as
//! `gdpr-ledger replication init` and a copy of the secrets dir make them) over a cluster of
//! three nats-servers. An append to either is applied by both: the same entries, the same signed
//! checkpoints, and the whole log audits on each. A server without `[replication]` never talks to
//! NATS (every other test).

use crate::common;
use crate::nats_cluster;

use std::time::{Duration, Instant};

use common::{ADMIN_TOKEN, AUDITOR_TOKEN, PRODUCER_TOKEN, TestLedger, collection, test_config};
use gdpr_ledger::config::Config;
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::replication::ReplicationConfig;
use nats_cluster::Cluster;

/// Details of person1, which erasure must leave in no file.
const DETAILS: &str = "{\"loyalty_note\": \"prefers paper mail Q7X\"}";

fn replica_config(root: &std::path::Path, cluster: &Cluster) -> Config {
    let mut config = test_config(root);
    config.replication = Some(ReplicationConfig {
        nats_urls: cluster.urls(),
        stream_replicas: 3,
        // JetStream reserves this on each nats-server's disk.
        stream_max_bytes: 8 << 20,
        ..ReplicationConfig::default()
    });
    config
}

/// Starts a ledger on `config`, retrying while the NATS cluster elects its leader (bounded).
async fn start(config: Config, dirs: tempfile::TempDir) -> TestLedger {
    let started = Instant::now();
    loop {
        match gdpr_ledger::server::start(config.clone()).await {
            Ok(server) => {
                return TestLedger {
                    server: Some(server),
                    config,
                    dirs,
                };
            }
            Err(error) if started.elapsed() < Duration::from_secs(60) => {
                eprintln!("waiting for the NATS cluster: {error}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => panic!("the replica did not start: {error}"),
        }
    }
}

/// Opens the erasure case of the e-mail address `value` through `admin`, received by the
/// privacy portal as `event_id`.
async fn erase(
    admin: &mut common::ErasureClient,
    value: &str,
    event_id: &str,
) -> pb::ErasureStatus {
    admin
        .erase_subject(pb::EraseSubjectRequest {
            subject: Some(pb::SubjectIdentifier {
                kind: "email".into(),
                value: value.into(),
            }),
            system: "privacy-portal".into(),
            event_id: event_id.into(),
        })
        .await
        .expect("erasure opens")
        .into_inner()
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create");
    for entry in std::fs::read_dir(from).expect("read") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

async fn checkpoint(ledger: &TestLedger) -> pb::GetCheckpointResponse {
    ledger
        .client(AUDITOR_TOKEN)
        .await
        .get_checkpoint(pb::GetCheckpointRequest { tree_size: 0 })
        .await
        .expect("checkpoint")
        .into_inner()
}

/// Waits until `ledger` has applied `size` entries (bounded).
async fn wait_for_size(ledger: &TestLedger, size: u64) {
    let started = Instant::now();
    while ledger.tree_size().await < size {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the replica did not reach size {size}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_nats_serve_the_same_log() {
    let cluster = Cluster::start();
    let (dirs_a, dirs_b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let config_a = replica_config(dirs_a.path(), &cluster);
    // Without the ratchet, a replica refuses to start, saying how to make it.
    let refused = gdpr_ledger::server::start(config_a.clone())
        .await
        .err()
        .expect("no transit ratchet");
    assert!(
        refused.to_string().contains("replication init"),
        "{refused}"
    );
    gdpr_ledger::replication::init_ratchet(&config_a.secrets_dir, 600).expect("init");
    let a = start(config_a, dirs_a).await;
    // B gets A's secrets (log key, secrets, master key, ratchet), as an operator copies them.
    let config_b = replica_config(dirs_b.path(), &cluster);
    copy_dir(&a.config.secrets_dir, &config_b.secrets_dir);
    let b = start(config_b, dirs_b).await;

    let mut producer_a = a.client(PRODUCER_TOKEN).await;
    let mut producer_b = b.client(PRODUCER_TOKEN).await;
    for i in 0..5 {
        let (producer, name) = if i % 2 == 0 {
            (&mut producer_a, "a")
        } else {
            (&mut producer_b, "b")
        };
        let receipt = producer
            .append(pb::AppendRequest {
                submission: Some(collection(
                    &format!("replicated-{i}"),
                    "email",
                    &format!("person{i}@example.com"),
                )),
                include_bundle: false,
            })
            .await
            .unwrap_or_else(|e| panic!("append {i} on {name}: {e}"))
            .into_inner();
        assert_eq!(receipt.receipt.expect("receipt").index, i);
    }
    // A read on B at least as large as A's log: B answers once it has applied it.
    let mut request = tonic::Request::new(pb::GetCheckpointRequest::default());
    request.metadata_mut().insert(
        gdpr_ledger::service::MIN_TREE_SIZE_HEADER,
        "5".parse().expect("ascii"),
    );
    let seen = b
        .client(AUDITOR_TOKEN)
        .await
        .get_checkpoint(request)
        .await
        .expect("B reaches 5 entries")
        .into_inner();
    assert!(seen.tree_size >= 5, "{}", seen.tree_size);
    // A retry on the other server: the original receipt, no new entry.
    let retry = producer_b
        .append(pb::AppendRequest {
            submission: Some(collection("replicated-0", "email", "person0@example.com")),
            include_bundle: false,
        })
        .await
        .expect("a retry")
        .into_inner();
    assert_eq!(retry.receipt.expect("receipt").index, 0);
    // Details travel sealed: the receiving node seals them once, the message seals them again.
    let mut with_details = collection("replicated-details", "email", "person1@example.com");
    with_details.details = DETAILS.as_bytes().to_vec();
    producer_b
        .append(pb::AppendRequest {
            submission: Some(with_details),
            include_bundle: false,
        })
        .await
        .expect("appended with details");
    // An erasure opened through A reaches B.
    let mut admin = a.erasure_client(ADMIN_TOKEN).await;
    erase(&mut admin, "person1@example.com", "erasure-1").await;

    wait_for_size(&a, 7).await;
    wait_for_size(&b, 7).await;
    let (on_a, on_b) = (checkpoint(&a).await, checkpoint(&b).await);
    assert_eq!(on_a.tree_size, 7);
    assert_eq!(on_a, on_b, "the same signed checkpoint on both");
    let entries_a = common::audit_whole_log(a.addr(), &a.verifier_key()).await;
    let entries_b = common::audit_whole_log(b.addr(), &b.verifier_key()).await;
    assert_eq!(entries_a.len(), 7);
    for (x, y) in entries_a.iter().zip(&entries_b) {
        assert_eq!(x.bytes(), y.bytes());
    }

    // The erasure scan over the nats-servers' stores (and both ledgers' data dirs): the erased
    // subject's identifier and details are in no file, in any form. The stores hold the messages
    // (the scan finds their headers), each sealed under its epoch's transit key.
    let personal: Vec<(String, Vec<u8>)> = [
        ("identifier", b"email:person1@example.com".as_slice()),
        ("address", b"person1@example.com".as_slice()),
        ("details", DETAILS.as_bytes()),
    ]
    .into_iter()
    .flat_map(|(what, bytes)| common::scan::forms(what, bytes))
    .collect();
    let header = [("a message header".to_owned(), b"Ledger-Epoch".to_vec())];
    assert!(
        !common::scan::found_in_files(cluster.dir(), &header).is_empty(),
        "the scan must read the nats-servers' message files"
    );
    for dir in [cluster.dir(), &a.data_dir(), &b.data_dir()] {
        let found = common::scan::found_in_files(dir, &personal);
        assert!(found.is_empty(), "{}: {found:?}", dir.display());
    }

    // A stranger's message (not sealed under the deployment's transit key) is skipped by every
    // replica, which checked the stream's genesis, and counted.
    let nats = async_nats::connect(cluster.servers[0].url())
        .await
        .expect("a NATS client");
    let (_, subject) = gdpr_ledger::replication::nats::names(&a.config.origin);
    let jetstream = async_nats::jetstream::new(nats);
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", "not-a-ledger-message");
    jetstream
        .publish_with_headers(subject.clone(), headers, vec![0u8; 64].into())
        .await
        .expect("published")
        .await
        .expect("stored");
    producer_a
        .append(pb::AppendRequest {
            submission: Some(collection("after-the-stranger", "email", "p7@example.com")),
            include_bundle: false,
        })
        .await
        .expect("appended past the stranger's message");
    wait_for_size(&b, 8).await;
    for ledger in [&a, &b] {
        let (_, metrics) = common::http_get(ledger.metrics_addr(), "/metrics").await;
        assert!(
            metrics.contains("gdpr_ledger_replica_skipped_messages_total 1"),
            "{metrics}"
        );
    }

    // A message sealed under the deployment's transit key that is not a request (a replica with
    // a bug) cannot be skipped without forking the log: it stops every replica's applier. Each
    // then says so: health NOT_SERVING, /healthz 503, replica_applier_stopped 1, and appends
    // UNAVAILABLE at once.
    let ratchet =
        gdpr_ledger::replication::load_ratchet(&a.config.secrets_dir).expect("the ratchet");
    let epoch = gdpr_ledger::replication::transit::epoch_of(
        gdpr_ledger::unix_time::now_seconds(),
        gdpr_ledger::replication::ReplicationConfig::default().transit_epoch_secs,
    );
    let msg_id = format!("{}.{epoch}", "ab".repeat(32));
    let body = ratchet
        .key(epoch)
        .expect("the epoch's key")
        .seal(&msg_id, b"not a request")
        .expect("sealed");
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", msg_id.as_str());
    headers.insert("Ledger-Format", "1");
    headers.insert("Ledger-Epoch", epoch.to_string().as_str());
    jetstream
        .publish_with_headers(subject, headers, body.into())
        .await
        .expect("published")
        .await
        .expect("stored");
    for ledger in [&a, &b] {
        wait_not_serving(ledger).await;
        let (status, body) = common::http_get(ledger.metrics_addr(), "/healthz").await;
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("stopped applying the input log"), "{body}");
        let (_, metrics) = common::http_get(ledger.metrics_addr(), "/metrics").await;
        assert!(
            metrics.contains("gdpr_ledger_replica_applier_stopped 1"),
            "{metrics}"
        );
    }
    let refused = producer_a
        .append(pb::AppendRequest {
            submission: Some(collection("after-the-stop", "email", "late@example.com")),
            include_bundle: false,
        })
        .await
        .expect_err("a stopped replica refuses");
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    assert!(
        refused.message().contains("stopped applying"),
        "{refused:?}"
    );
}

/// Waits (bounded) until the ledger's gRPC health says NOT_SERVING.
async fn wait_not_serving(ledger: &TestLedger) {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", ledger.addr()))
        .expect("uri")
        .connect()
        .await
        .expect("connects");
    let mut health = HealthClient::new(channel);
    let started = Instant::now();
    loop {
        let status = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: "gdpr_ledger.v1.Ledger".into(),
            })
            .await
            .expect("health answers")
            .into_inner();
        if status.status() == ServingStatus::NotServing {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "still {:?} after 30 s",
            status.status()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// With `nats_user` and `nats_password_file`, a replica connects as the replicas' NATS user;
/// without them, or with a wrong password, it refuses to start, saying why. A client without the
/// user's password cannot publish to the log's subject (it cannot connect at all).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_connect_as_their_nats_user_and_strangers_cannot_publish() {
    let cluster = Cluster::start_with_user(Some(("ledger-replicas", "s3cret-of-the-replicas")));
    let dirs = tempfile::tempdir().expect("dir");
    let mut config = replica_config(dirs.path(), &cluster);
    gdpr_ledger::secrets::ensure_dir(&config.secrets_dir).expect("secrets dir");
    gdpr_ledger::replication::init_ratchet(&config.secrets_dir, 600).expect("init");

    // No credentials: refused at start, naming the cause.
    let refused = gdpr_ledger::server::start(config.clone())
        .await
        .err()
        .expect("no NATS credentials");
    assert!(
        refused.to_string().to_lowercase().contains("authoriz"),
        "{refused}"
    );

    // A user without its password file, and a wrong password: refused, naming the setting.
    let password_file = config.secrets_dir.join("nats-password");
    let replication = config.replication.as_mut().expect("replication");
    replication.nats_user = "ledger-replicas".into();
    let refused = gdpr_ledger::server::start(config.clone())
        .await
        .err()
        .expect("no password file");
    assert!(
        refused.to_string().contains("nats_password_file"),
        "{refused}"
    );
    gdpr_ledger::secrets::write_private_file(&password_file, "not-the-password\n")
        .expect("written");
    config
        .replication
        .as_mut()
        .expect("replication")
        .nats_password_file = Some(password_file.clone());
    let refused = gdpr_ledger::server::start(config.clone())
        .await
        .err()
        .expect("wrong password");
    assert!(
        refused.to_string().to_lowercase().contains("authoriz"),
        "{refused}"
    );

    // The right password: the replica serves.
    std::fs::remove_file(&password_file).expect("removed");
    gdpr_ledger::secrets::write_private_file(&password_file, "s3cret-of-the-replicas\n")
        .expect("written");
    let ledger = start(config, dirs).await;
    let receipt = ledger
        .client(PRODUCER_TOKEN)
        .await
        .append(pb::AppendRequest {
            submission: Some(collection("with-a-user", "email", "user@example.com")),
            include_bundle: false,
        })
        .await
        .expect("appends")
        .into_inner();
    assert_eq!(receipt.receipt.expect("receipt").index, 0);

    // A stranger on the NATS network cannot connect, hence cannot publish.
    let stranger = async_nats::ConnectOptions::new()
        .connect(cluster.servers[0].url())
        .await;
    assert!(
        stranger.is_err(),
        "connected without the replicas' password"
    );
}

/// A nats-server with JetStream that speaks TLS only, with a certificate `ca` issued for
/// 127.0.0.1, and that requires a client certificate of `ca` too. Killed when dropped.
struct TlsNats {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl TlsNats {
    fn start(ca: &common::pki::Authority) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let (cert, key) = ca.issue(
            "nats",
            vec![rcgen::SanType::IpAddress([127, 0, 0, 1].into())],
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            false,
        );
        common::pki::write(&dir.path().join("server.crt"), &cert, 0o644);
        common::pki::write(&dir.path().join("server.key"), &key, 0o600);
        common::pki::write(&dir.path().join("ca.crt"), &ca.pem, 0o644);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = std::process::Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir.path().join("store"))
            .arg("--tls")
            .arg("--tlscert")
            .arg(dir.path().join("server.crt"))
            .arg("--tlskey")
            .arg(dir.path().join("server.key"))
            .arg("--tlsverify")
            .arg("--tlscacert")
            .arg(dir.path().join("ca.crt"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nats-server runs (scripts/bootstrap.sh installs it)");
        // Bounded wait until it accepts connections.
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "nats-server did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for TlsNats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_reach_nats_over_tls_only_with_the_servers_ca_and_their_certificate() {
    let ca = common::pki::Authority::new("nats test CA");
    let nats = TlsNats::start(&ca);
    let dirs = tempfile::tempdir().expect("dir");
    let mut config = test_config(dirs.path());
    config.replication = Some(ReplicationConfig {
        nats_urls: format!("nats://127.0.0.1:{}", nats.port),
        stream_replicas: 1,
        stream_max_bytes: 8 << 20,
        ..ReplicationConfig::default()
    });
    gdpr_ledger::secrets::ensure_dir(&config.secrets_dir).expect("secrets dir");
    gdpr_ledger::replication::init_ratchet(&config.secrets_dir, 600).expect("init");
    let tls_dir = dirs.path().join("nats-tls");
    std::fs::create_dir_all(&tls_dir).expect("dir");
    let (cert, key) = ca.client(
        "ledger-replica",
        vec![common::pki::dns("ledger-replica.internal")],
    );
    let (ca_file, cert_file, key_file) = (
        tls_dir.join("ca.crt"),
        tls_dir.join("client.crt"),
        tls_dir.join("client.key"),
    );
    common::pki::write(&ca_file, &ca.pem, 0o644);
    common::pki::write(&cert_file, &cert, 0o644);
    common::pki::write(&key_file, &key, 0o600);
    let stranger = common::pki::Authority::new("another CA");
    let stranger_file = tls_dir.join("stranger-ca.crt");
    common::pki::write(&stranger_file, &stranger.pem, 0o644);

    let with = |ca: Option<&std::path::Path>, client: bool| {
        let mut config = config.clone();
        let replication = config.replication.as_mut().expect("replication");
        replication.nats_tls_ca_file = ca.map(std::path::Path::to_path_buf);
        if client {
            replication.nats_tls_cert_file = Some(cert_file.clone());
            replication.nats_tls_key_file = Some(key_file.clone());
        }
        config
    };
    // Refused at start, each saying why: plaintext to a TLS-only server, a server the CA given
    // does not vouch for, no client certificate for a server that requires one, a certificate
    // without the CA.
    for (what, config) in [
        ("plaintext", with(None, false)),
        ("another CA", with(Some(&stranger_file), true)),
        ("no client certificate", with(Some(&ca_file), false)),
    ] {
        let refused = gdpr_ledger::server::start(config)
            .await
            .err()
            .unwrap_or_else(|| panic!("{what}: started"));
        assert!(
            refused.to_string().contains("cannot connect to NATS"),
            "{what}: {refused}"
        );
    }
    let refused = gdpr_ledger::server::start(with(None, true))
        .await
        .err()
        .expect("a client certificate without the CA");
    assert!(
        refused.to_string().contains("nats_tls_ca_file"),
        "{refused}"
    );
    // A key others can read is refused like any secret.
    common::pki::write(&key_file, &key, 0o644);
    let refused = gdpr_ledger::server::start(with(Some(&ca_file), true))
        .await
        .err()
        .expect("a readable key");
    assert!(refused.to_string().contains("client.key"), "{refused}");
    common::pki::write(&key_file, &key, 0o600);

    // With the servers' CA and its certificate, the replica joins and appends.
    let ledger = TestLedger {
        server: Some(
            gdpr_ledger::server::start(with(Some(&ca_file), true))
                .await
                .expect("joins over TLS"),
        ),
        config: with(Some(&ca_file), true),
        dirs,
    };
    let receipt = ledger
        .client(PRODUCER_TOKEN)
        .await
        .append(pb::AppendRequest {
            submission: Some(collection("over-tls", "email", "tls@example.com")),
            include_bundle: false,
        })
        .await
        .expect("appended through the TLS stream")
        .into_inner();
    assert_eq!(receipt.receipt.expect("receipt").index, 0);
}

/// Appends `count` collections through `ledger`, numbered from `from`.
async fn append_some(ledger: &TestLedger, from: u32, count: u32) {
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    for i in from..from + count {
        producer
            .append(pb::AppendRequest {
                submission: Some(collection(
                    &format!("rebuild-{i}"),
                    "email",
                    &format!("r{i}@example.com"),
                )),
                include_bundle: false,
            })
            .await
            .unwrap_or_else(|e| panic!("append {i}: {e}"));
    }
}

/// A replica whose disk is lost is rebuilt from its own backup and the stream's tail: `gdpr-ledger
/// backup` while it runs, `gdpr-ledger restore` with its erasure journal into an empty data dir,
/// and a start on it applies what the stream holds after the backup. The logs are then the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_whose_disk_is_lost_is_rebuilt_from_a_backup_and_the_stream() {
    let cluster = Cluster::start();
    let (dirs_a, dirs_b, work) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let config_a = replica_config(dirs_a.path(), &cluster);
    gdpr_ledger::secrets::ensure_dir(&config_a.secrets_dir).expect("secrets dir");
    gdpr_ledger::replication::init_ratchet(&config_a.secrets_dir, 600).expect("init");
    let a = start(config_a, dirs_a).await;
    let config_b = replica_config(dirs_b.path(), &cluster);
    copy_dir(&a.config.secrets_dir, &config_b.secrets_dir);
    let mut b = start(config_b, dirs_b).await;

    append_some(&a, 0, 20).await;
    wait_for_size(&b, 20).await;
    let backup = work.path().join("backup-b");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
        .args(["backup", "--server"])
        .arg(b.addr().to_string())
        .args(["--token", ADMIN_TOKEN, "--to"])
        .arg(&backup)
        .output()
        .expect("backup runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The log goes on after the backup; then B's disk is lost.
    append_some(&a, 20, 15).await;
    wait_for_size(&b, 35).await;
    b.stop().await;
    std::fs::remove_dir_all(&b.config.data_dir).expect("the data dir is gone");

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
        .args(["restore", "--from"])
        .arg(&backup)
        .arg("--data-dir")
        .arg(&b.config.data_dir)
        .arg("--erasure-journal")
        .arg(b.config.secrets_dir.join("erasure-journal"))
        .output()
        .expect("restore runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("with 20 entries"), "{stdout}");

    // Started on the restored dir, B applies the stream's tail after the backup, and goes on.
    b.restart().await;
    wait_for_size(&b, 35).await;
    append_some(&b, 35, 5).await;
    wait_for_size(&a, 40).await;
    let (on_a, on_b) = (checkpoint(&a).await, checkpoint(&b).await);
    assert_eq!(on_a, on_b, "the same signed checkpoint on both");
    let entries_a = common::audit_whole_log(a.addr(), &a.verifier_key()).await;
    let entries_b = common::audit_whole_log(b.addr(), &b.verifier_key()).await;
    assert_eq!(entries_a.len(), 40);
    for (x, y) in entries_a.iter().zip(&entries_b) {
        assert_eq!(x.bytes(), y.bytes());
    }
}

/// A replica that would start behind what the stream keeps (retention dropped messages it has
/// not applied) is refused at start, told to rebuild from a backup, rather than serving a log
/// that can never catch up; the replicas already running go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_behind_the_streams_retention_is_refused_at_start() {
    let cluster = Cluster::start();
    let (dirs_a, dirs_b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let short = |root: &std::path::Path| {
        let mut config = replica_config(root, &cluster);
        // Messages expire three seconds after they are stored (and their ids are remembered for
        // no longer: a longer duplicate window is refused, naming the setting).
        let replication = config.replication.as_mut().expect("replication");
        replication.stream_max_age_secs = 3;
        replication.duplicate_window_secs = 2;
        config
    };
    let config_a = short(dirs_a.path());
    let mut too_long = config_a.clone();
    too_long
        .replication
        .as_mut()
        .expect("replication")
        .duplicate_window_secs = 4;
    let refused = gdpr_ledger::server::start(too_long)
        .await
        .err()
        .expect("a duplicate window longer than the stream keeps messages");
    assert!(
        refused
            .to_string()
            .contains("replication.duplicate_window_secs"),
        "{refused}"
    );
    gdpr_ledger::secrets::ensure_dir(&config_a.secrets_dir).expect("secrets dir");
    gdpr_ledger::replication::init_ratchet(&config_a.secrets_dir, 600).expect("init");
    let a = start(config_a, dirs_a).await;
    append_some(&a, 0, 3).await;

    // Wait (bounded) until the stream has dropped them.
    let nats = async_nats::connect(cluster.servers[0].url())
        .await
        .expect("a NATS client");
    let jetstream = async_nats::jetstream::new(nats);
    let (stream_name, _) = gdpr_ledger::replication::nats::names(&a.config.origin);
    let started = Instant::now();
    loop {
        let mut stream = jetstream.get_stream(&stream_name).await.expect("stream");
        if stream.info().await.expect("info").state.messages == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the stream kept its messages"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // A new replica (nothing applied) cannot build the log from the stream any more.
    let config_b = short(dirs_b.path());
    copy_dir(&a.config.secrets_dir, &config_b.secrets_dir);
    let refused = gdpr_ledger::server::start(config_b)
        .await
        .err()
        .expect("behind the stream's retention");
    let why = refused.to_string();
    assert!(
        why.contains("up to message 0") && why.contains("rebuild it from a recent backup"),
        "{why}"
    );
    // The running replica goes on.
    append_some(&a, 3, 1).await;
    assert_eq!(a.tree_size().await, 4);
}

/// The ratchet secret `R_e` and transit key `T_e` of every epoch from the file form's `e_min`
/// through `last`, derived as docs/replication.md section 3 writes them (not through the ledger's
/// code): `R_{e+1} = BLAKE3-derive_key("gdpr-ledger transit ratchet v1", R_e)`, `T_e =
/// BLAKE3-derive_key("gdpr-ledger transit key v1", R_e)`.
fn transit_secrets(file_bytes: &[u8], last: u64) -> Vec<(u64, [u8; 32], [u8; 32])> {
    let (epoch, secret) = file_bytes.split_at(8);
    let mut epoch = u64::from_be_bytes(epoch.try_into().expect("8 bytes"));
    let mut secret: [u8; 32] = secret.try_into().expect("32 bytes");
    let mut secrets = Vec::new();
    while epoch <= last {
        let key = blake3::derive_key("gdpr-ledger transit key v1", &secret);
        secrets.push((epoch, secret, key));
        secret = blake3::derive_key("gdpr-ledger transit ratchet v1", &secret);
        epoch += 1;
    }
    secrets
}

/// Erasure closings go through the stream (an admin's on one replica, and the ledger's own once
/// every holder confirmed): both replicas close the same cases with the same time, by and
/// reason, and destroy their own directory rows. Then the transit keys of every epoch that
/// carried the subjects' identifiers and details are destroyed once their epochs close (keep
/// window 0): no file of either replica or of the three nats-servers holds them or the ratchet
/// secrets that made them, in any form, and the replicas' ratchet files can no longer make them.
/// What NATS keeps of those messages is ciphertext under keys that exist nowhere. Appends go on
/// under later epochs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_erasure_the_closed_epochs_transit_keys_exist_nowhere() {
    let cluster = Cluster::start();
    let (dirs_a, dirs_b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let short_epochs = |root: &std::path::Path| {
        let mut config = replica_config(root, &cluster);
        if let Some(replication) = config.replication.as_mut() {
            replication.transit_epoch_secs = 2;
            replication.transit_grace_secs = 1;
            replication.transit_keep_epochs = 0;
        }
        config
    };
    let config_a = short_epochs(dirs_a.path());
    let ratchet_file =
        gdpr_ledger::replication::init_ratchet(&config_a.secrets_dir, 2).expect("init");
    let provisioned =
        hex::decode(std::fs::read_to_string(&ratchet_file).expect("read").trim()).expect("hex");
    let a = start(config_a, dirs_a).await;
    // B gets A's secrets, and the ratchet as provisioned: A may have closed an epoch already, and
    // a replica that starts from an empty store needs the keys of the stream's first epochs.
    let config_b = short_epochs(dirs_b.path());
    copy_dir(&a.config.secrets_dir, &config_b.secrets_dir);
    std::fs::write(
        config_b
            .secrets_dir
            .join(gdpr_ledger::replication::TRANSIT_RATCHET_FILE),
        hex::encode(&provisioned),
    )
    .expect("the provisioned ratchet");
    let b = start(config_b, dirs_b).await;

    let mut producer = b.client(PRODUCER_TOKEN).await;
    let mut with_details = collection("closing-details", "email", "person1@example.com");
    with_details.details = DETAILS.as_bytes().to_vec();
    producer
        .append(pb::AppendRequest {
            submission: Some(with_details),
            include_bundle: false,
        })
        .await
        .expect("appended with details");
    // The erasure goes to A, which looks the subject up once it has applied B's append.
    wait_for_size(&a, 1).await;
    let mut admin = a.erasure_client(ADMIN_TOKEN).await;
    let opened = erase(&mut admin, "person1@example.com", "erasure-1").await;
    // The DPO closes the case on A before every holder confirmed: the closing goes through the
    // stream, so B closes it too, at the same point of the log, with the same time, by and reason,
    // and destroys its own directory rows (the identifier no longer names the subject on B).
    let by_token = || {
        Some(pb::SubjectRef {
            subject: Some(pb::subject_ref::Subject::Token(opened.token.clone())),
        })
    };
    let closed_on_a = admin
        .close_erasure(pb::CloseErasureRequest {
            subject: by_token(),
            reason: "the CRM vendor confirmed by letter".into(),
        })
        .await
        .expect("the case closes")
        .into_inner();
    assert_eq!(closed_on_a.state, pb::erasure_status::State::Closed as i32);
    let again = admin
        .close_erasure(pb::CloseErasureRequest {
            subject: by_token(),
            reason: "twice".into(),
        })
        .await
        .expect_err("closed already");
    assert_eq!(again.code(), tonic::Code::FailedPrecondition, "{again:?}");
    let mut admin_b = b.erasure_client(ADMIN_TOKEN).await;
    let on_b = admin_b
        .get_erasure_status(pb::GetErasureStatusRequest {
            subject: by_token(),
        })
        .await
        .expect("B knows the case")
        .into_inner();
    assert_eq!(on_b.state, pb::erasure_status::State::Closed as i32);
    assert_eq!(
        (&on_b.closed_at, &on_b.closed_by, &on_b.close_reason),
        (
            &closed_on_a.closed_at,
            &closed_on_a.closed_by,
            &closed_on_a.close_reason
        )
    );
    let by_identifier = admin_b
        .get_erasure_status(pb::GetErasureStatusRequest {
            subject: Some(pb::SubjectRef {
                subject: Some(pb::subject_ref::Subject::Identifier(
                    pb::SubjectIdentifier {
                        kind: "email".into(),
                        value: "person1@example.com".into(),
                    },
                )),
            }),
        })
        .await
        .expect_err("B's directory rows are destroyed");
    assert_eq!(
        by_identifier.code(),
        tonic::Code::NotFound,
        "{by_identifier:?}"
    );
    // A case the ledger closes itself once every holder confirmed: the replica whose service
    // took the confirmation publishes the closing, and both apply it alike.
    let mut producer_a = a.client(PRODUCER_TOKEN).await;
    producer_a
        .append(pb::AppendRequest {
            submission: Some(collection("closing-2", "email", "person2@example.com")),
            include_bundle: false,
        })
        .await
        .expect("appended");
    wait_for_size(&b, 3).await;
    let second = erase(&mut admin_b, "person2@example.com", "erasure-2").await;
    wait_for_size(&a, 4).await;
    let mut deleted = gdpr_ledger::validation::example_submission(pb::EventKind::DeletionDone);
    if let Some(event) = deleted.event.as_mut() {
        event.event_id = "crm-deleted-2".into();
        event.system = "crm".into();
    }
    deleted.subject = Some(pb::SubjectIdentifier {
        kind: "email".into(),
        value: "person2@example.com".into(),
    });
    producer_a
        .append(pb::AppendRequest {
            submission: Some(deleted),
            include_bundle: false,
        })
        .await
        .expect("the deletion is confirmed");
    let second_token = || {
        Some(pb::SubjectRef {
            subject: Some(pb::subject_ref::Subject::Token(second.token.clone())),
        })
    };
    let started = Instant::now();
    let (closed_a, closed_b) = loop {
        let on_a = admin
            .get_erasure_status(pb::GetErasureStatusRequest {
                subject: second_token(),
            })
            .await
            .expect("A knows the case")
            .into_inner();
        let on_b = admin_b
            .get_erasure_status(pb::GetErasureStatusRequest {
                subject: second_token(),
            })
            .await
            .expect("B knows the case")
            .into_inner();
        let closed = pb::erasure_status::State::Closed as i32;
        if on_a.state == closed && on_b.state == closed {
            break (on_a, on_b);
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the case did not close on both: {:?} {:?}",
            on_a.state,
            on_b.state
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(closed_a.closed_by, gdpr_ledger::validation::LEDGER_SYSTEM);
    assert_eq!(
        (
            &closed_a.closed_at,
            &closed_a.closed_by,
            &closed_a.close_reason
        ),
        (
            &closed_b.closed_at,
            &closed_b.closed_by,
            &closed_b.close_reason
        )
    );
    // Every epoch up to now carried the subject's messages, or none.
    let last_used =
        gdpr_ledger::replication::transit::epoch_of(gdpr_ledger::unix_time::now_seconds() + 1, 2);

    // The replicas close those epochs and destroy their keys (bounded wait).
    let started = Instant::now();
    for ledger in [&a, &b] {
        loop {
            let ratchet = gdpr_ledger::replication::load_ratchet(&ledger.config.secrets_dir)
                .expect("the ratchet file");
            if ratchet.oldest_epoch() > last_used {
                assert!(ratchet.key(last_used).is_err());
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the keys of epochs up to {last_used} were not destroyed; the oldest kept is {}",
                ratchet.oldest_epoch()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // Appends go on, under epochs still open.
    producer
        .append(pb::AppendRequest {
            submission: Some(collection("after-the-closes", "email", "p9@example.com")),
            include_bundle: false,
        })
        .await
        .expect("appended after the closes");
    wait_for_size(&a, 6).await;
    wait_for_size(&b, 6).await;
    assert_eq!(checkpoint(&a).await, checkpoint(&b).await);

    let mut destroyed = Vec::new();
    for (epoch, secret, key) in transit_secrets(&provisioned, last_used) {
        destroyed.extend(common::scan::forms(&format!("R_{epoch}"), &secret));
        destroyed.extend(common::scan::forms(&format!("T_{epoch}"), &key));
    }
    // The scan reads the secrets dirs: it finds the ratchet secret that is kept there.
    let kept = gdpr_ledger::replication::load_ratchet(&a.config.secrets_dir)
        .expect("the ratchet")
        .to_file_bytes();
    assert!(
        !common::scan::found_in_files(
            &a.config.secrets_dir,
            &common::scan::forms("the kept ratchet", &kept[8..])
        )
        .is_empty(),
        "the scan must read the ratchet file"
    );
    for dir in [
        cluster.dir(),
        &a.data_dir(),
        &b.data_dir(),
        &a.config.secrets_dir,
        &b.config.secrets_dir,
    ] {
        let found = common::scan::found_in_files(dir, &destroyed);
        assert!(found.is_empty(), "{}: {found:?}", dir.display());
    }
    for ledger in [&a, &b] {
        let (_, metrics) = common::http_get(ledger.metrics_addr(), "/metrics").await;
        assert!(
            metrics.contains("gdpr_ledger_replica_skipped_messages_total 0"),
            "{metrics}"
        );
    }
}
