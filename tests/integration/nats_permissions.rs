//! The shipped NATS configuration (`deploy/nats/`): `nats-server -t` accepts `nats-server.conf`,
//! and on a real nats-server with its `authorization.conf`, a ledger replica connected as
//! `gdpr-ledger` appends, while the `nats-operator` user (or anyone else) cannot put a message on
//! the log's subject. Needs Debian's `nats-server` (scripts/bootstrap.sh installs it).

use crate::common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{PRODUCER_TOKEN, TestLedger, collection, repository_root, test_config};
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::replication::ReplicationConfig;

const REPLICAS_PASSWORD: &str = "replicas-password-for-the-test";
const OPERATOR_PASSWORD: &str = "operator-password-for-the-test";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn nats_server() -> Command {
    let mut command = Command::new("nats-server");
    command
        .env("GDPR_LEDGER_NATS_PASSWORD", REPLICAS_PASSWORD)
        .env("NATS_OPERATOR_PASSWORD", OPERATOR_PASSWORD);
    command
}

#[test]
fn the_shipped_cluster_configuration_is_valid() {
    let output = nats_server()
        .current_dir(repository_root().join("deploy/nats"))
        .args(["-c", "nats-server.conf", "-t"])
        .env("NATS_SERVER_NAME", "n1")
        .env("NATS_ROUTE_1", "nats://127.0.0.1:6222")
        .env("NATS_ROUTE_2", "nats://127.0.0.2:6222")
        .env("NATS_ROUTE_3", "nats://127.0.0.3:6222")
        .output()
        .expect("nats-server runs (scripts/bootstrap.sh installs it)");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_replicas_user_puts_messages_on_the_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    // nats-server includes files relative to the including one: the shipped file, copied beside.
    std::fs::copy(
        repository_root().join("deploy/nats/authorization.conf"),
        dir.path().join("authorization.conf"),
    )
    .expect("copied");
    let config_file = dir.path().join("nats.conf");
    std::fs::write(
        &config_file,
        format!(
            "listen: 127.0.0.1:{port}\njetstream {{ store_dir: {:?} }}\ninclude \"authorization.conf\"\n",
            dir.path().join("js"),
        ),
    )
    .expect("written");
    let log = std::fs::File::create(dir.path().join("nats.log")).expect("log");
    let _server = Server(
        nats_server()
            .arg("-c")
            .arg(&config_file)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("nats-server runs (scripts/bootstrap.sh installs it)"),
    );
    let url = format!("nats://127.0.0.1:{port}");

    // A replica as `gdpr-ledger`: it makes the stream and appends.
    let root = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(root.path());
    gdpr_ledger::secrets::ensure_dir(&config.secrets_dir).expect("secrets dir");
    gdpr_ledger::replication::init_ratchet(&config.secrets_dir, 600).expect("init");
    let password_file = config.secrets_dir.join("nats-password");
    gdpr_ledger::secrets::write_private_file(&password_file, REPLICAS_PASSWORD).expect("written");
    config.replication = Some(ReplicationConfig {
        nats_urls: url.clone(),
        stream_replicas: 1,
        stream_max_bytes: 8 << 20,
        nats_user: "gdpr-ledger".into(),
        nats_password_file: Some(password_file),
        ..ReplicationConfig::default()
    });
    let started = Instant::now();
    let server = loop {
        match gdpr_ledger::server::start(config.clone()).await {
            Ok(server) => break server,
            Err(error) if started.elapsed() < Duration::from_secs(30) => {
                eprintln!("waiting for nats-server: {error}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!(
                "the replica did not start: {error}\nnats-server's log:\n{}",
                std::fs::read_to_string(dir.path().join("nats.log")).unwrap_or_default()
            ),
        }
    };
    let ledger = TestLedger {
        server: Some(server),
        config,
        dirs: root,
    };
    let receipt = ledger
        .client(PRODUCER_TOKEN)
        .await
        .append(pb::AppendRequest {
            submission: Some(collection("as-the-replicas", "email", "a@example.com")),
            include_bundle: false,
        })
        .await
        .expect("the replicas' user appends")
        .into_inner();
    assert_eq!(receipt.receipt.expect("receipt").index, 0);

    // The operator can connect and look, but not publish to the log's subject.
    let operator = async_nats::ConnectOptions::with_user_and_password(
        "nats-operator".into(),
        OPERATOR_PASSWORD.into(),
    )
    .connect(url.as_str())
    .await
    .expect("the operator connects");
    let (_, subject) = gdpr_ledger::replication::nats::names(&ledger.config.origin);
    let jetstream = async_nats::jetstream::new(operator);
    let stored = tokio::time::timeout(Duration::from_secs(5), async {
        match jetstream.publish(subject, vec![0u8; 64].into()).await {
            Ok(ack) => ack.await.is_ok(),
            Err(_) => false,
        }
    })
    .await;
    assert!(
        !matches!(stored, Ok(true)),
        "the operator put a message on the log"
    );
    assert_eq!(ledger.tree_size().await, 1, "nothing reached the replica");
}
