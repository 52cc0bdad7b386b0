//! TLS and mutual TLS on a real server (127.0.0.1, ephemeral port), with certificates made here by
//! rcgen and clients built with tonic's `ClientTlsConfig`: a mapped client certificate is an
//! identity and a role like a bearer token; certificates of another CA, expired ones and missing
//! ones are refused in the handshake; a plaintext client gets nothing from a TLS listener.

use crate::common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;

use common::pki::{Authority, dns, write};
use common::{AUDITOR_TOKEN, BILLING_TOKEN, PRODUCER_TOKEN, TestLedger, collection};
use gdpr_ledger::config::Config;
use gdpr_ledger::core::entry::SequencedEntry;
use gdpr_ledger::proto::v1 as pb;
use gdpr_ledger::proto::v1::ledger_client::LedgerClient;
use gdpr_ledger::service::auth::Role;
use gdpr_ledger::tls::{ClientCertificateConfig, TlsConfig};
use rcgen::{ExtendedKeyUsagePurpose, KeyPair, SanType};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic::{Code, Request, Status};

/// The name the server's certificate is issued for (and 127.0.0.1).
const SERVER_NAME: &str = "localhost";
/// The producer's certificate: mapped by its DNS name.
const CRM_DNS: &str = "crm.internal";
/// The auditor's certificate: mapped by its URI.
const DPO_URI: &str = "spiffe://ledger.test/dpo-office";
/// The admin's certificate: mapped by its subject common name.
const OPS_CN: &str = "ops-console";

fn uri(name: &str) -> SanType {
    SanType::URI(name.try_into().expect("a URI"))
}

/// The test's certificates and the files the server reads.
struct Pki {
    _dir: tempfile::TempDir,
    ca: Authority,
    ca_file: PathBuf,
    server_cert_file: PathBuf,
    server_key_file: PathBuf,
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = Authority::new("gdpr-ledger test CA");
        let (server_cert, server_key) = ca.issue(
            SERVER_NAME,
            vec![dns(SERVER_NAME), SanType::IpAddress([127, 0, 0, 1].into())],
            ExtendedKeyUsagePurpose::ServerAuth,
            false,
        );
        let ca_file = dir.path().join("ca.crt");
        let server_cert_file = dir.path().join("server.crt");
        let server_key_file = dir.path().join("server.key");
        write(&ca_file, &ca.pem, 0o644);
        write(&server_cert_file, &server_cert, 0o644);
        write(&server_key_file, &server_key, 0o600);
        Self {
            _dir: dir,
            ca,
            ca_file,
            server_cert_file,
            server_key_file,
        }
    }

    /// Server TLS only: clients authenticate with tokens.
    fn server_tls(&self) -> TlsConfig {
        TlsConfig {
            cert_file: Some(self.server_cert_file.clone()),
            key_file: Some(self.server_key_file.clone()),
            ..TlsConfig::default()
        }
    }

    /// Mutual TLS, with the producer, the auditor and the admin mapped by DNS name, URI and common
    /// name.
    fn mutual_tls(&self) -> TlsConfig {
        // The same systems as the identity's token, so that both credentials name one caller.
        let client = |name: &str, identity: &str, role| ClientCertificateConfig {
            name: name.into(),
            identity: identity.into(),
            role,
            systems: (identity == "crm").then(|| {
                common::CRM_SYSTEMS
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect()
            }),
        };
        TlsConfig {
            client_ca_file: Some(self.ca_file.clone()),
            clients: vec![
                client(CRM_DNS, "crm", Role::Producer),
                client(DPO_URI, "dpo-office", Role::Auditor),
                client(OPS_CN, "ops", Role::Admin),
            ],
            ..self.server_tls()
        }
    }
}

/// Adds a bearer token when there is one.
#[derive(Clone)]
struct MaybeToken(Option<MetadataValue<Ascii>>);

impl Interceptor for MaybeToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(token) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", token.clone());
        }
        Ok(request)
    }
}

type Client = LedgerClient<InterceptedService<Channel, MaybeToken>>;

/// A client over TLS that trusts the test CA, with an optional client certificate and token.
/// Connecting may fail (the handshake is refused); the error is returned as a transport status.
async fn tls_client(
    ledger: &TestLedger,
    pki: &Pki,
    certificate: Option<&(String, String)>,
    token: Option<&str>,
) -> Result<Client, String> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca.pem))
        .domain_name(SERVER_NAME);
    if let Some((cert, key)) = certificate {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    let channel = Channel::from_shared(format!("https://{}", ledger.addr()))
        .expect("uri")
        .tls_config(tls)
        .expect("client TLS configuration")
        .connect()
        .await
        .map_err(|e| error_chain(&e))?;
    let token = token.map(|t| format!("Bearer {t}").parse().expect("token header"));
    Ok(LedgerClient::with_interceptor(channel, MaybeToken(token)))
}

/// Whether a status was made by the client's own transport (its cause chain holds a
/// `tonic::transport::Error`) rather than received from the service.
fn made_by_the_transport(status: &tonic::Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(cause) = source {
        if cause.is::<tonic::transport::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn append_request(event_id: &str) -> pb::AppendRequest {
    pb::AppendRequest {
        submission: Some(collection(event_id, "customer_id", "C-1")),
        include_bundle: false,
    }
}

/// The log's size, read by the admin's certificate.
async fn tree_size(ledger: &TestLedger, pki: &Pki, admin: &(String, String)) -> u64 {
    let mut client = tls_client(ledger, pki, Some(admin), None)
        .await
        .expect("the admin connects");
    client
        .get_stats(pb::GetStatsRequest {})
        .await
        .expect("the admin reads statistics")
        .into_inner()
        .tree_size
}

/// What a client whose handshake the server refuses gets: either `connect` fails, or (TLS 1.3: the
/// client finishes its side before the server has checked the certificate) the first call fails
/// with a transport error, never with an answer of the service. The error carries the server's TLS
/// alert (`alert`, e.g. `UnknownCA`), unless the connection's reset overtook the alert on its way
/// to the client (TCP may drop received data on a reset), which the error then says, or the
/// connection closed before the client's first request could go out on it (hyper: "connection
/// was not ready"; seen once in CI).
async fn refused_in_handshake(
    ledger: &TestLedger,
    pki: &Pki,
    certificate: Option<&(String, String)>,
    alert: &str,
) {
    let error = match tls_client(ledger, pki, certificate, Some(PRODUCER_TOKEN)).await {
        Err(error) => error,
        Ok(client) => refused_call(client).await,
    };
    let lower = error.to_ascii_lowercase();
    if lower.contains("alert") {
        assert!(
            error.contains(&format!("received fatal alert: {alert}")),
            "expected the alert {alert}: {error}"
        );
    } else {
        assert!(
            ["reset", "broken pipe", "closed", "connection was not ready"]
                .iter()
                .any(|what| lower.contains(what)),
            "expected the alert {alert} or a reset connection: {error}"
        );
    }
}

/// The first call of a client whose handshake was refused: a transport error, as text.
async fn refused_call(mut client: Client) -> String {
    let status = client
        .append(append_request("refused-0001"))
        .await
        .expect_err("a refused handshake serves nothing");
    assert!(
        !matches!(
            status.code(),
            Code::Ok | Code::Unauthenticated | Code::PermissionDenied | Code::InvalidArgument
        ),
        "the service answered instead of the handshake failing: {status:?}"
    );
    format!("{status:?}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapped_producer_certificate_appends_and_cannot_read() {
    let pki = Pki::new();
    let ledger = TestLedger::start_with(|config| config.tls = pki.mutual_tls()).await;
    assert!(ledger.server.as_ref().expect("running").tls);
    let producer = pki.ca.client("crm client", vec![dns(CRM_DNS)]);

    // No bearer token: the certificate is the identity.
    let mut crm = tls_client(&ledger, &pki, Some(&producer), None)
        .await
        .expect("the producer connects");
    let receipt = crm
        .append(append_request("crm-tls-0001"))
        .await
        .expect("a mapped producer certificate appends")
        .into_inner()
        .receipt
        .expect("a receipt");
    assert_eq!(receipt.index, 0);

    // A producer reads nothing, and calls no auditor or admin RPC.
    let denied = crm
        .get_entry(pb::GetEntryRequest {
            selector: Some(pb::get_entry_request::Selector::Index(0)),
            producer: String::new(),
        })
        .await
        .expect_err("a producer cannot read");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    let denied = crm
        .get_stats(pb::GetStatsRequest {})
        .await
        .expect_err("a producer cannot read statistics");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    let denied = crm
        .get_inclusion_proof(pb::GetInclusionProofRequest {
            index: 0,
            tree_size: 0,
            consistency_from: 0,
        })
        .await
        .expect_err("a producer cannot read proofs");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");

    // The auditor's certificate (mapped by URI) reads the entry: its producer is the identity the
    // producer's certificate maps to.
    let auditor = pki.ca.client("dpo office", vec![uri(DPO_URI)]);
    let mut dpo = tls_client(&ledger, &pki, Some(&auditor), None)
        .await
        .expect("the auditor connects");
    let entry = dpo
        .get_entry(pb::GetEntryRequest {
            selector: Some(pb::get_entry_request::Selector::Index(0)),
            producer: String::new(),
        })
        .await
        .expect("an auditor certificate reads")
        .into_inner();
    let entry = SequencedEntry::from_bytes(entry.entry).expect("entry bytes decode");
    assert_eq!(entry.producer(), "crm");
    let denied = dpo
        .append(append_request("dpo-tls-0001"))
        .await
        .expect_err("an auditor cannot append");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");

    // The admin's certificate (mapped by common name) reads the statistics.
    let admin = pki.ca.client(OPS_CN, Vec::new());
    assert_eq!(tree_size(&ledger, &pki, &admin).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_and_a_token_must_agree() {
    let pki = Pki::new();
    let ledger = TestLedger::start_with(|config| config.tls = pki.mutual_tls()).await;
    let producer = pki.ca.client("crm client", vec![dns(CRM_DNS)]);

    // The same caller twice: served.
    let mut agreeing = tls_client(&ledger, &pki, Some(&producer), Some(PRODUCER_TOKEN))
        .await
        .expect("connects");
    agreeing
        .append(append_request("crm-tls-0001"))
        .await
        .expect("certificate and token name the same producer");

    // A token of another producer on the crm certificate: refused, nothing appended.
    let mut disagreeing = tls_client(&ledger, &pki, Some(&producer), Some(BILLING_TOKEN))
        .await
        .expect("connects");
    let refused = disagreeing
        .append(append_request("billing-tls-0001"))
        .await
        .expect_err("the credentials disagree");
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    assert!(refused.message().contains("must agree"), "{refused:?}");

    // A valid certificate that tls.clients does not map names nobody: a token is then needed.
    let unmapped = pki
        .ca
        .client("reporting.internal", vec![dns("reporting.internal")]);
    let mut anonymous = tls_client(&ledger, &pki, Some(&unmapped), None)
        .await
        .expect("a certificate of the CA passes the handshake");
    let refused = anonymous
        .append(append_request("anon-tls-0001"))
        .await
        .expect_err("an unmapped certificate alone is nobody");
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    let mut with_token = tls_client(&ledger, &pki, Some(&unmapped), Some(AUDITOR_TOKEN))
        .await
        .expect("connects");
    let stats = with_token
        .get_stats(pb::GetStatsRequest {})
        .await
        .expect("the auditor token is the caller")
        .into_inner();
    assert_eq!(stats.tree_size, 1, "only the agreeing append went in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_of_another_ca_expired_or_missing_are_refused_in_the_handshake() {
    let pki = Pki::new();
    let ledger = TestLedger::start_with(|config| config.tls = pki.mutual_tls()).await;
    let admin = pki.ca.client(OPS_CN, Vec::new());

    let stranger_ca = Authority::new("another CA");
    let stranger = stranger_ca.client("crm client", vec![dns(CRM_DNS)]);
    refused_in_handshake(&ledger, &pki, Some(&stranger), "UnknownCA").await;

    let expired = pki.ca.issue(
        "crm client",
        vec![dns(CRM_DNS)],
        ExtendedKeyUsagePurpose::ClientAuth,
        true,
    );
    refused_in_handshake(&ledger, &pki, Some(&expired), "CertificateExpired").await;

    // Mutual TLS: a client without a certificate does not get in, token or not.
    refused_in_handshake(&ledger, &pki, None, "CertificateRequired").await;

    // None of them appended anything; a good certificate still gets in.
    assert_eq!(tree_size(&ledger, &pki, &admin).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plaintext_client_gets_nothing_from_a_tls_listener() {
    let pki = Pki::new();
    let ledger = TestLedger::start_with(|config| config.tls = pki.server_tls()).await;
    // A plaintext HTTP/2 client: its connection preface is not a TLS handshake. It fails to
    // connect or its call fails in the transport, with no answer of the service.
    match common::client_for_result(ledger.addr(), PRODUCER_TOKEN).await {
        Err(error) => eprintln!("plaintext client: cannot connect: {error}"),
        Ok(mut client) => {
            let status = client
                .append(append_request("plain-0001"))
                .await
                .expect_err("plaintext is not served");
            // How the client's HTTP/2 stack words it varies with timing (a transport error, or
            // an h2 protocol error once it reads the TLS alert as a frame); either way the
            // status was made by the client's transport, never sent by the service.
            assert!(
                made_by_the_transport(&status),
                "a plaintext client gets a transport error, no answer: {status:?}"
            );
        }
    }

    // Server TLS without client certificates: the token authenticates, over TLS.
    let mut producer = tls_client(&ledger, &pki, None, Some(PRODUCER_TOKEN))
        .await
        .expect("a TLS client connects");
    let receipt = producer
        .append(append_request("tls-0001"))
        .await
        .expect("a token over TLS appends")
        .into_inner()
        .receipt
        .expect("receipt");
    assert_eq!(receipt.index, 0, "the plaintext attempt appended nothing");
    let mut anonymous = tls_client(&ledger, &pki, None, None)
        .await
        .expect("a TLS client connects");
    let refused = anonymous
        .append(append_request("tls-0002"))
        .await
        .expect_err("TLS alone names nobody");
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_tls_files_stop_the_server_at_start() {
    let pki = Pki::new();
    let dirs = tempfile::tempdir().expect("temp dir");
    let start = |tls: TlsConfig| {
        let config = Config {
            tls,
            ..common::test_config(dirs.path())
        };
        async move {
            match gdpr_ledger::server::start(config).await {
                Ok(server) => {
                    server.shutdown().await.expect("clean shutdown");
                    panic!("the server started with unusable TLS files")
                }
                Err(error) => error.to_string(),
            }
        }
    };

    // A private key that group members can read is refused, as every secret is.
    std::fs::set_permissions(&pki.server_key_file, std::fs::Permissions::from_mode(0o640))
        .expect("mode set");
    let error = start(pki.server_tls()).await;
    assert!(error.contains("chmod 600"), "{error}");
    assert!(error.contains("server.key"), "{error}");
    std::fs::set_permissions(&pki.server_key_file, std::fs::Permissions::from_mode(0o600))
        .expect("mode set");

    // A certificate file without a certificate.
    let error = start(TlsConfig {
        cert_file: Some(pki.server_key_file.clone()),
        ..pki.server_tls()
    })
    .await;
    assert!(error.contains("no PEM certificate"), "{error}");

    // A key that is not the certificate's.
    let other_key = pki.server_key_file.with_file_name("other.key");
    write(
        &other_key,
        &KeyPair::generate().expect("key").serialize_pem(),
        0o600,
    );
    let error = start(TlsConfig {
        key_file: Some(other_key),
        ..pki.server_tls()
    })
    .await;
    assert!(error.contains("cannot be used"), "{error}");

    // Nothing was created: TLS is checked before the data dir or the secrets.
    assert!(!dirs.path().join("data").exists());
}

/// Runs the `gdpr-ledger` binary; returns its exit success and its output.
fn run_cli(args: &[&std::ffi::OsStr]) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-ledger"))
        .args(args)
        .env_remove("GDPR_LEDGER_TOKEN")
        .output()
        .expect("the binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_clients_reach_a_mutual_tls_server_with_a_client_certificate() {
    let pki = Pki::new();
    let ledger = TestLedger::start_with(|config| config.tls = pki.mutual_tls()).await;
    let producer = pki.ca.client("crm client", vec![dns(CRM_DNS)]);
    let mut crm = tls_client(&ledger, &pki, Some(&producer), None)
        .await
        .expect("the producer connects");
    crm.append(append_request("cli-tls-0001"))
        .await
        .expect("appended");

    // The auditor's certificate (mapped by its URI) names the caller: no token needed.
    let (cert, key) = pki.ca.client("dpo", vec![uri(DPO_URI)]);
    let dir = tempfile::tempdir().expect("temp dir");
    let cert_file = dir.path().join("dpo.crt");
    let key_file = dir.path().join("dpo.key");
    write(&cert_file, &cert, 0o644);
    write(&key_file, &key, 0o600);
    let server = ledger.addr().to_string();
    let verifier = ledger
        .server
        .as_ref()
        .expect("running")
        .verifier_key
        .clone();
    let tls_args = [
        "--tls-ca".as_ref(),
        pki.ca_file.as_os_str(),
        "--tls-cert".as_ref(),
        cert_file.as_os_str(),
        "--tls-key".as_ref(),
        key_file.as_os_str(),
        "--tls-server-name".as_ref(),
        SERVER_NAME.as_ref(),
    ];
    let mut audit: Vec<&std::ffi::OsStr> = vec![
        "audit".as_ref(),
        "--server".as_ref(),
        server.as_ref(),
        "--key".as_ref(),
        verifier.as_ref(),
    ];
    audit.extend(tls_args);
    let (ok, output) = run_cli(&audit);
    assert!(ok, "{output}");
    assert!(output.contains("AUDITED"), "{output}");
    assert!(output.contains("1 entries"), "{output}");

    let mut lifecycle: Vec<&std::ffi::OsStr> = vec![
        "lifecycle".as_ref(),
        "--server".as_ref(),
        server.as_ref(),
        "--subject".as_ref(),
        "customer_id:C-1".as_ref(),
    ];
    lifecycle.extend(tls_args);
    let (ok, output) = run_cli(&lifecycle);
    assert!(ok, "{output}");
    assert!(output.contains("\"checkpoint\""), "{output}");

    // Issue 16: --server as an https:// URL with a host name: TLS, the certificate checked
    // against that name (no --tls-server-name), the port resolved.
    let url = format!("https://{SERVER_NAME}:{}", ledger.addr().port());
    let by_url: Vec<&std::ffi::OsStr> = vec![
        "erasure".as_ref(),
        "list".as_ref(),
        "--server".as_ref(),
        url.as_ref(),
        "--tls-ca".as_ref(),
        pki.ca_file.as_os_str(),
        "--tls-cert".as_ref(),
        cert_file.as_os_str(),
        "--tls-key".as_ref(),
        key_file.as_os_str(),
    ];
    let (ok, output) = run_cli(&by_url);
    assert!(ok, "{output}");
    assert_eq!(output, "no open erasure cases\n");
    // Without --tls-ca, https:// trusts the system's roots, which do not hold the test CA.
    let (ok, output) = run_cli(&[by_url[..4].to_vec(), by_url[6..].to_vec()].concat());
    assert!(!ok, "{output}");
    assert!(output.contains("over TLS"), "{output}");
    // http:// is plaintext: TLS options with it are refused, naming the scheme.
    let plain = format!("http://{SERVER_NAME}:{}", ledger.addr().port());
    let mut mixed = by_url.clone();
    mixed[3] = plain.as_ref();
    let (ok, output) = run_cli(&mixed);
    assert!(!ok, "{output}");
    assert!(output.contains("is plaintext (http://)"), "{output}");

    // Without the client certificate the handshake is refused; in plaintext nothing answers.
    let mut no_certificate: Vec<&std::ffi::OsStr> = vec![
        "audit".as_ref(),
        "--server".as_ref(),
        server.as_ref(),
        "--key".as_ref(),
        verifier.as_ref(),
        "--token".as_ref(),
        AUDITOR_TOKEN.as_ref(),
        "--tls-ca".as_ref(),
        pki.ca_file.as_os_str(),
        "--tls-server-name".as_ref(),
        SERVER_NAME.as_ref(),
    ];
    let (ok, output) = run_cli(&no_certificate);
    assert!(!ok, "{output}");
    no_certificate.truncate(7);
    let (ok, output) = run_cli(&no_certificate);
    assert!(!ok, "a plaintext client gets nothing: {output}");
    // A certificate with neither a token nor --tls-ca is a usage error, named.
    let (ok, output) = run_cli(&[
        "audit".as_ref(),
        "--server".as_ref(),
        server.as_ref(),
        "--key".as_ref(),
        verifier.as_ref(),
        "--tls-cert".as_ref(),
        cert_file.as_os_str(),
        "--tls-key".as_ref(),
        key_file.as_os_str(),
    ]);
    assert!(!ok);
    assert!(output.contains("--tls-ca"), "{output}");
}
