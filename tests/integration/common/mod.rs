//! A real ledger for integration tests: RocksDB in a temp dir, gRPC on 127.0.0.1 with an ephemeral
//! port, driven by the generated tonic client.
#![allow(dead_code)]

pub mod pki;
pub mod process;
pub mod promql;
pub mod scan;

use std::path::PathBuf;

use gdpr_ledger::config::{Config, MetricsListen};
use gdpr_ledger::core::signature::VerifierKey;
use gdpr_ledger::server::RunningServer;
use gdpr_ledger::service::auth::{Role, TokenConfig, token_digest};
use tonic::transport::Channel;

/// Tokens of the test deployment.
pub const PRODUCER_TOKEN: &str = "producer-token-crm";
pub const BILLING_TOKEN: &str = "producer-token-billing";
pub const AUDITOR_TOKEN: &str = "auditor-token";
pub const ADMIN_TOKEN: &str = "admin-token";
/// A producer whose token lists no systems: it may report for `marketing` only.
pub const MARKETING_TOKEN: &str = "producer-token-marketing";
/// A recipient outside the company (a processor), with a token of its own: it confirms the
/// deletions of `mailer-eu`.
pub const MAILER_TOKEN: &str = "recipient-token-mailer-eu";

/// The systems the `crm` token of the test deployment reports for: it stands in for an
/// integration hub that relays many systems' events, so the suites can use any of these
/// systems with one token. `billing` and `marketing` are not among them: they have their own.
pub const CRM_SYSTEMS: &[&str] = &[
    "crm",
    "crm-eu",
    "webshop",
    "support-desk",
    "analytics",
    "hr",
    "hr-portal",
    "marketing-hub",
    "clinic-app",
    "cmp",
    "privacy-portal",
    "recommender",
    "data-quality",
    "eu-west/crm:v2",
];

pub type Client = gdpr_ledger::client::AuthenticatedClient;

/// A running test ledger and the directories it owns. Dropped, it shuts the server down and waits
/// for it (on a multi-threaded runtime): a RocksDB still closing on a detached thread when the
/// test process exits aborts it ("pthread lock: Invalid argument").
pub struct TestLedger {
    pub server: Option<RunningServer>,
    pub config: Config,
    pub dirs: tempfile::TempDir,
}

/// The configuration of a test ledger in `root` (data and secrets side by side, as in production).
pub fn test_config(root: &std::path::Path) -> Config {
    let token = |identity: &str, role, token: &str| TokenConfig {
        identity: identity.into(),
        role,
        token_sha256: Some(hex::encode(token_digest(token))),
        token_file: None,
        systems: None,
    };
    Config {
        origin: "ledger.test/gdpr".into(),
        data_dir: root.join("data"),
        secrets_dir: root.join("secrets"),
        listen: "127.0.0.1:0".parse().expect("loopback address"),
        // Tests run side by side: the metrics listener takes an ephemeral port too.
        metrics_listen: MetricsListen::Address("127.0.0.1:0".parse().expect("loopback address")),
        tokens: vec![
            TokenConfig {
                systems: Some(CRM_SYSTEMS.iter().map(|s| (*s).to_owned()).collect()),
                ..token("crm", Role::Producer, PRODUCER_TOKEN)
            },
            token("billing", Role::Producer, BILLING_TOKEN),
            token("marketing", Role::Producer, MARKETING_TOKEN),
            token("mailer-eu", Role::Producer, MAILER_TOKEN),
            token("dpo-office", Role::Auditor, AUDITOR_TOKEN),
            token("ops", Role::Admin, ADMIN_TOKEN),
        ],
        ..Config::default()
    }
}

impl Drop for TestLedger {
    fn drop(&mut self) {
        let Some(server) = self.server.take() else {
            return;
        };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            let _ = tokio::task::block_in_place(|| handle.block_on(server.shutdown()));
        }
    }
}

impl TestLedger {
    /// Starts a ledger in fresh temp dirs.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a ledger in fresh temp dirs after `adjust` changes its configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dirs = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(dirs.path());
        adjust(&mut config);
        let server = gdpr_ledger::server::start(config.clone())
            .await
            .expect("server starts");
        Self {
            server: Some(server),
            config,
            dirs,
        }
    }

    /// Stops the server gracefully.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.expect("clean shutdown");
        }
    }

    /// Starts the server again on the same directories (a new port).
    pub async fn restart(&mut self) {
        self.stop().await;
        let server = gdpr_ledger::server::start(self.config.clone())
            .await
            .expect("server restarts");
        self.server = Some(server);
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.as_ref().expect("server running").local_addr
    }

    /// Where the metrics listener listens.
    pub fn metrics_addr(&self) -> std::net::SocketAddr {
        self.server
            .as_ref()
            .expect("server running")
            .metrics_addr
            .expect("the metrics listener is on")
    }

    pub fn verifier_key(&self) -> VerifierKey {
        VerifierKey::parse(&self.server.as_ref().expect("server running").verifier_key)
            .expect("the server's verifier key parses")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.config.data_dir.clone()
    }

    /// The size of the latest checkpoint, read as an auditor.
    pub async fn tree_size(&self) -> u64 {
        self.client(AUDITOR_TOKEN)
            .await
            .get_checkpoint(gdpr_ledger::proto::v1::GetCheckpointRequest { tree_size: 0 })
            .await
            .expect("checkpoint")
            .into_inner()
            .tree_size
    }

    /// A client presenting `token`.
    pub async fn client(&self, token: &str) -> Client {
        client_for(self.addr(), token).await
    }

    /// An erasure client presenting `token`.
    pub async fn erasure_client(&self, token: &str) -> ErasureClient {
        let channel = Channel::from_shared(format!("http://{}", self.addr()))
            .expect("uri")
            .connect()
            .await
            .expect("connects to the test server");
        gdpr_ledger::proto::v1::erasure_client::ErasureClient::with_interceptor(
            channel,
            gdpr_ledger::client::BearerToken::new(token).expect("token"),
        )
    }
}

/// The erasure service's client, with a bearer token.
pub type ErasureClient = gdpr_ledger::proto::v1::erasure_client::ErasureClient<
    tonic::service::interceptor::InterceptedService<Channel, gdpr_ledger::client::BearerToken>,
>;

/// A client for the ledger at `addr` presenting `token` as a bearer token.
pub async fn client_for(addr: std::net::SocketAddr, token: &str) -> Client {
    client_for_result(addr, token)
        .await
        .unwrap_or_else(|error| panic!("connects to the test server: {error}"))
}

/// A plaintext client for the ledger at `addr` presenting `token`, or why it could not connect.
pub async fn client_for_result(addr: std::net::SocketAddr, token: &str) -> Result<Client, String> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .map_err(|error| format!("{error:?}"))?;
    Ok(gdpr_ledger::client::authenticated(channel, token)
        .expect("a valid token")
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20))
}

/// Replays the whole log through the API from index 0 (hash chain, every signature, the tree) and
/// checks that the latest checkpoint commits to exactly that tree. Returns the entries.
pub async fn audit_whole_log(
    addr: std::net::SocketAddr,
    key: &VerifierKey,
) -> Vec<gdpr_ledger::core::entry::SequencedEntry> {
    let mut client = client_for(addr, AUDITOR_TOKEN).await;
    let mut entries = Vec::new();
    gdpr_ledger::client::audit_through_api(&mut client, vec![key.clone()], |entry| {
        entries.push(entry)
    })
    .await
    .unwrap_or_else(|error| panic!("audit failed: {error}"));
    entries
}

/// `GET path` over HTTP/1.1 on `addr`: the status code and the body.
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let (status, _, body) = http_get_with_head(addr, path).await;
    (status, body)
}

/// [`http_get`] with the response's head too (lower-cased: status line and headers).
pub async fn http_get_with_head(addr: std::net::SocketAddr, path: &str) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects to the metrics listener");
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .expect("request sent");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .expect("response read");
    let response = String::from_utf8(response).expect("an HTTP response in UTF-8");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .expect("an HTTP response has a head and a body");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, head.to_ascii_lowercase(), body)
}

/// Appends one collection event per `i` in `ids` through the producer's token, one request each:
/// event id `{prefix}-{i}` about `{prefix}{i}@example.com`.
pub async fn append_collections(ledger: &TestLedger, prefix: &str, ids: std::ops::Range<u32>) {
    let mut producer = ledger.client(PRODUCER_TOKEN).await;
    for i in ids {
        producer
            .append(gdpr_ledger::proto::v1::AppendRequest {
                submission: Some(collection(
                    &format!("{prefix}-{i}"),
                    "email",
                    &format!("{prefix}{i}@example.com"),
                )),
                include_bundle: false,
            })
            .await
            .expect("append");
    }
}

/// The payload of a chunked HTTP/1.1 body.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").expect("a chunk size line");
        let size = usize::from_str_radix(size.trim(), 16).expect("a hex chunk size");
        if size == 0 {
            return out;
        }
        out.push_str(&rest[..size]);
        body = rest[size..]
            .strip_prefix("\r\n")
            .expect("a chunk ends with CRLF");
    }
}

/// A valid collection event with this id, about the subject `kind:value`.
pub fn collection(
    event_id: &str,
    kind: &str,
    value: &str,
) -> gdpr_ledger::proto::v1::EventSubmission {
    use gdpr_ledger::proto::v1 as pb;
    let mut submission = gdpr_ledger::validation::example_submission(pb::EventKind::Collection);
    if let Some(event) = submission.event.as_mut() {
        event.event_id = event_id.into();
    }
    submission.subject = Some(pb::SubjectIdentifier {
        kind: kind.into(),
        value: value.into(),
    });
    submission
}

/// The repository's root, as `cargo test` gives it when it runs the test, or else as it was at
/// build time. The run-time value comes first because a build cache may be shared by checkouts
/// at other paths; the build-time one covers a moment when a test's `figment::Jail` has cleared
/// the environment.
pub fn repository_root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}
