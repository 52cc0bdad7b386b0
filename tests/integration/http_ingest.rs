//! The HTTP ingest listener (`http_listen`, `POST /v1/events`) on a real server (127.0.0.1,
//! ephemeral ports, RocksDB in a temp dir), driven by a plain HTTP/1.1 client written on a TCP
//! socket: CloudEvents in, receipts out, with the gRPC listener's tokens, validation, idempotency,
//! limits and TLS.

use crate::common;

use std::net::SocketAddr;

use common::{AUDITOR_TOKEN, BILLING_TOKEN, PRODUCER_TOKEN, TestLedger};
use gdpr_ledger::core::bundle::verify_bundle_json;
use gdpr_ledger::proto::v1 as pb;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

const ONE: &str = "application/cloudevents+json";
const BATCH: &str = "application/cloudevents-batch+json";

/// A ledger with the HTTP ingest listener on an ephemeral port.
async fn ledger() -> TestLedger {
    TestLedger::start_with(|config| {
        config.http_listen = Some("127.0.0.1:0".parse().expect("address"));
    })
    .await
}

fn http_addr(ledger: &TestLedger) -> SocketAddr {
    ledger
        .server
        .as_ref()
        .expect("running")
        .http_addr
        .expect("the HTTP ingest listener is on")
}

/// A valid collection event from `crm` about `email`.
fn collection(id: &str, email: &str) -> Value {
    json!({
        "specversion": "1.0",
        "id": id,
        "source": "crm",
        "type": "eu.gdpr-ledger.collection.v1",
        "time": "2026-01-15T09:30:00Z",
        "datacontenttype": "application/json",
        "data": {
            "subject": {"kind": "email", "value": email},
            "event": {
                "dataCategories": ["pd:Name", "pd:EmailAddress"],
                "purposes": ["dpv:ServiceProvision"],
                "legal_bases": ["eu-gdpr:A6-1-b"],
                "collectionChannel": "web-form"
            }
        }
    })
}

/// An HTTP answer: status, head (lower-cased) and body as JSON.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: Value,
}

/// The request's bytes: `POST path` with these headers and body (a `Content-Length` unless the
/// headers give a `Transfer-Encoding`).
fn request_bytes(path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: ledger\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("transfer-encoding"))
    {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Reads a whole answer (the server closes the connection after it).
async fn read_answer(stream: &mut (impl AsyncRead + Unpin)) -> Answer {
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8(response).expect("an HTTP response in UTF-8");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("an HTTP response has a head and a body: {response:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let body = if body.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("a JSON body ({e}): {body:?}"))
    };
    Answer {
        status,
        head: head.to_ascii_lowercase(),
        body,
    }
}

/// Sends a request on `stream` and reads the answer.
async fn exchange(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    stream
        .write_all(&request_bytes(path, headers, body))
        .await
        .expect("request sent");
    read_answer(&mut stream).await
}

/// `POST path` with a bearer token (if any), a content type and a body.
async fn post(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> Answer {
    let bearer = token.map(|token| format!("Bearer {token}"));
    let mut headers = vec![("Content-Type", content_type)];
    if let Some(bearer) = &bearer {
        headers.push(("Authorization", bearer.as_str()));
    }
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects to the HTTP ingest listener");
    exchange(stream, path, &headers, body).await
}

async fn post_json(addr: SocketAddr, token: &str, content_type: &str, body: &Value) -> Answer {
    post(
        addr,
        "/v1/events",
        Some(token),
        content_type,
        body.to_string().as_bytes(),
    )
    .await
}

/// Asserts a refusal: its status, its code and the field it names.
fn assert_refused(answer: &Answer, status: u16, code: &str, field: Option<&str>) {
    assert_eq!(answer.status, status, "{answer:?}");
    assert_eq!(answer.body["code"], code, "{answer:?}");
    assert_eq!(answer.body["field"].as_str(), field, "{answer:?}");
    assert!(answer.body["message"].as_str().is_some(), "{answer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_event_is_appended_with_a_receipt_whose_bundle_verifies() {
    let ledger = ledger().await;
    let addr = http_addr(&ledger);
    let answer = post(
        addr,
        "/v1/events?include_bundle=true",
        Some(PRODUCER_TOKEN),
        ONE,
        collection("web-1", "jane@example.com")
            .to_string()
            .as_bytes(),
    )
    .await;
    assert_eq!(answer.status, 201, "{answer:?}");
    assert!(answer.head.contains("content-type: application/json"));
    let receipt = &answer.body["receipt"];
    assert_eq!(receipt["index"], 0);
    assert_eq!(receipt["duplicate"], false);
    let key = ledger.verifier_key();
    assert_eq!(receipt["key_id"], key.key_id().to_string());
    let bundle = receipt["bundle"].to_string();
    let verified = verify_bundle_json(&bundle, &[key]).expect("the bundle verifies");
    let entry = &verified.entries[0].entry;
    assert_eq!(entry.index(), 0);
    assert_eq!(entry.producer(), "crm");
    assert_eq!(entry.event_kind(), Some(pb::EventKind::Collection));
    let event = entry.entry().event.clone().expect("event");
    assert_eq!(event.event_id, "web-1");
    assert_eq!(event.system, "crm");
    assert_eq!(event.collection_channel, "web-form");
    assert_eq!(event.legal_bases, ["eu-gdpr:A6-1-b"]);
    assert_eq!(
        event.occurred_at.map(|t| t.seconds),
        Some(1_768_469_400),
        "time is occurred_at"
    );
    assert!(!entry.bytes().windows(16).any(|w| w == b"jane@example.com"));
    // The receipt is the gRPC receipt: the same leaf hash as the entry GetEntry serves.
    use base64::Engine as _;
    let leaf = base64::engine::general_purpose::STANDARD
        .decode(receipt["leaf_hash"].as_str().expect("leaf hash"))
        .expect("base64");
    assert_eq!(leaf, entry.leaf_hash().as_bytes());
    assert!(
        receipt["checkpoint"]
            .as_str()
            .expect("note")
            .starts_with("ledger.test/gdpr\n1\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_appended_in_order_and_retries_are_idempotent() {
    let ledger = ledger().await;
    let addr = http_addr(&ledger);
    let events: Vec<Value> = (0..5)
        .map(|i| collection(&format!("batch-{i}"), &format!("p{i}@example.com")))
        .collect();
    let answer = post_json(addr, PRODUCER_TOKEN, BATCH, &json!(events)).await;
    assert_eq!(answer.status, 201, "{answer:?}");
    let receipts = answer.body["receipts"].as_array().expect("receipts");
    let indexes: Vec<u64> = receipts
        .iter()
        .map(|r| r["index"].as_u64().unwrap_or(99))
        .collect();
    assert_eq!(indexes, [0, 1, 2, 3, 4]);
    let entries = common::audit_whole_log(ledger.addr(), &ledger.verifier_key()).await;
    let ids: Vec<String> = entries
        .iter()
        .map(|e| e.entry().event.clone().unwrap_or_default().event_id)
        .collect();
    assert_eq!(ids, ["batch-0", "batch-1", "batch-2", "batch-3", "batch-4"]);

    // The same event again: the same receipt, marked as a duplicate; nothing appended.
    let retry = post_json(addr, PRODUCER_TOKEN, ONE, &events[2]).await;
    assert_eq!(retry.status, 200, "{retry:?}");
    assert_eq!(retry.body["receipt"]["index"], 2);
    assert_eq!(retry.body["receipt"]["duplicate"], true);
    assert_eq!(retry.body["receipt"]["leaf_hash"], receipts[2]["leaf_hash"]);
    assert_eq!(retry.body["receipt"]["signature"], receipts[2]["signature"]);
    // The whole batch again: the same receipts.
    let again = post_json(addr, PRODUCER_TOKEN, BATCH, &json!(events)).await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.body["receipts"][4]["index"], 4);
    assert_eq!(ledger.tree_size().await, 5);

    // The same id with other content: 409, naming the id.
    let mut changed = events[2].clone();
    changed["data"]["event"]["collectionChannel"] = json!("event-badge-scan");
    let conflict = post_json(addr, PRODUCER_TOKEN, ONE, &changed).await;
    assert_refused(&conflict, 409, "ALREADY_EXISTS", Some("id"));
    // In a batch, the event's position too, and nothing of the batch is appended.
    let batch = json!([collection("batch-new", "new@example.com"), changed]);
    let conflict = post_json(addr, PRODUCER_TOKEN, BATCH, &batch).await;
    assert_refused(&conflict, 409, "ALREADY_EXISTS", Some("[1].id"));
    assert_eq!(ledger.tree_size().await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_are_checked_as_on_grpc() {
    let ledger = ledger().await;
    let addr = http_addr(&ledger);
    let body = collection("auth-1", "jane@example.com").to_string();
    let missing = post(addr, "/v1/events", None, ONE, body.as_bytes()).await;
    assert_refused(&missing, 401, "UNAUTHENTICATED", None);
    assert!(missing.head.contains("www-authenticate: bearer"));
    let unknown = post(
        addr,
        "/v1/events",
        Some("no-such-token"),
        ONE,
        body.as_bytes(),
    )
    .await;
    assert_refused(&unknown, 401, "UNAUTHENTICATED", None);
    // An auditor may not append.
    let auditor = post(
        addr,
        "/v1/events",
        Some(AUDITOR_TOKEN),
        ONE,
        body.as_bytes(),
    )
    .await;
    assert_refused(&auditor, 403, "PERMISSION_DENIED", None);
    // billing may not report for crm: 403 naming source, and nothing appended, in a batch too.
    let billing = post(
        addr,
        "/v1/events",
        Some(BILLING_TOKEN),
        ONE,
        body.as_bytes(),
    )
    .await;
    assert_refused(&billing, 403, "PERMISSION_DENIED", Some("source"));
    let mut own = collection("auth-2", "joe@example.com");
    own["source"] = json!("billing");
    let batch = json!([own, collection("auth-3", "jim@example.com")]);
    let billing = post_json(addr, BILLING_TOKEN, BATCH, &batch).await;
    assert_refused(&billing, 403, "PERMISSION_DENIED", Some("[1].source"));
    assert_eq!(ledger.tree_size().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_events_are_refused_naming_the_attribute_and_nothing_is_appended() {
    let ledger = ledger().await;
    let addr = http_addr(&ledger);
    let good = collection("bad-0", "jane@example.com");
    let without = |attribute: &str| {
        let mut event = good.clone();
        event.as_object_mut().map(|o| o.remove(attribute));
        event
    };
    let with = |attribute: &str, value: Value| {
        let mut event = good.clone();
        event[attribute] = value;
        event
    };
    let mut in_data = good.clone();
    in_data["data"]["event"]["eventId"] = json!("other");
    let mut bad_data = good.clone();
    bad_data["data"]["event"]["purposes"] = json!(["dpv:ServiceProvision", 7]);
    let mut bad_country = good.clone();
    bad_country["data"]["subject"]["kind"] = json!("E-Mail");
    for (event, field) in [
        (without("id"), "id"),
        (without("specversion"), "specversion"),
        (with("specversion", json!("0.3")), "specversion"),
        (without("type"), "type"),
        (with("type", json!("com.example.signup")), "type"),
        (with("type", json!("eu.gdpr-ledger.collection.v2")), "type"),
        (without("source"), "source"),
        (with("time", json!("yesterday")), "time"),
        (without("time"), "time"),
        (with("id", json!("jane@example.com")), "id"),
        (with("subject", json!("jane@example.com")), "subject"),
        (
            with("datacontenttype", json!("text/plain")),
            "datacontenttype",
        ),
        (with("data", json!("text")), "data"),
        (in_data, "data.event.eventId"),
        (bad_data, "data.event.purposes[1]"),
        (bad_country, "data.subject.kind"),
    ] {
        let answer = post_json(addr, PRODUCER_TOKEN, ONE, &event).await;
        assert_refused(&answer, 400, "INVALID_ARGUMENT", Some(field));
        // The message names the attribute too.
        let message = answer.body["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(&format!("{field}: ")), "{message}");
    }
    // Not JSON at all; not an array for a batch; an empty batch; a bad event in a batch.
    let answer = post(addr, "/v1/events", Some(PRODUCER_TOKEN), ONE, b"{\"id\": ").await;
    assert_refused(&answer, 400, "INVALID_ARGUMENT", Some("body"));
    let answer = post_json(addr, PRODUCER_TOKEN, BATCH, &good).await;
    assert_refused(&answer, 400, "INVALID_ARGUMENT", Some("body"));
    let answer = post_json(addr, PRODUCER_TOKEN, BATCH, &json!([])).await;
    assert_refused(&answer, 400, "INVALID_ARGUMENT", Some("body"));
    let batch = json!([good.clone(), with("type", json!("collection"))]);
    let answer = post_json(addr, PRODUCER_TOKEN, BATCH, &batch).await;
    assert_refused(&answer, 400, "INVALID_ARGUMENT", Some("[1].type"));
    // Another content type, or a query parameter the endpoint does not take.
    let answer = post_json(addr, PRODUCER_TOKEN, "application/json", &good).await;
    assert_refused(&answer, 400, "INVALID_ARGUMENT", Some("Content-Type"));
    let answer = post(
        addr,
        "/v1/events?bundle=yes",
        Some(PRODUCER_TOKEN),
        ONE,
        good.to_string().as_bytes(),
    )
    .await;
    assert_refused(&answer, 400, "INVALID_ARGUMENT", Some("bundle"));
    assert_eq!(ledger.tree_size().await, 0);
    // And the good event goes in.
    assert_eq!(
        post_json(addr, PRODUCER_TOKEN, ONE, &good).await.status,
        201
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_bodies_are_refused_before_they_are_read() {
    let ledger = TestLedger::start_with(|config| {
        config.http_listen = Some("127.0.0.1:0".parse().expect("address"));
        config.limits.max_request_bytes = 64 * 1024;
        config.limits.max_batch_events = 3;
    })
    .await;
    let addr = http_addr(&ledger);
    let bearer = format!("Bearer {PRODUCER_TOKEN}");
    // A Content-Length beyond the limit: the answer comes with none of the body sent.
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nHost: ledger\r\nConnection: close\r\nContent-Type: {ONE}\r\nAuthorization: {bearer}\r\nContent-Length: {}\r\n\r\n",
        64 * 1024 + 1
    );
    stream.write_all(head.as_bytes()).await.expect("head sent");
    let answer = tokio::time::timeout(std::time::Duration::from_secs(10), read_answer(&mut stream))
        .await
        .expect("answered without the body");
    assert_refused(&answer, 413, "RESOURCE_EXHAUSTED", None);

    // A chunked body that never ends: cut off once past the limit.
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nHost: ledger\r\nConnection: close\r\nContent-Type: {ONE}\r\nAuthorization: {bearer}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head sent");
    let chunk = format!("{:x}\r\n{}\r\n", 16 * 1024, " ".repeat(16 * 1024));
    for _ in 0..5 {
        // The server may close the connection once it has answered; later writes then fail.
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let answer = tokio::time::timeout(std::time::Duration::from_secs(10), read_answer(&mut stream))
        .await
        .expect("answered before the body ended");
    assert_refused(&answer, 413, "RESOURCE_EXHAUSTED", None);

    // More events than limits.max_batch_events: 413 naming the batch, as on gRPC.
    let events: Vec<Value> = (0..4)
        .map(|i| collection(&format!("big-{i}"), &format!("b{i}@example.com")))
        .collect();
    let answer = post_json(addr, PRODUCER_TOKEN, BATCH, &json!(events)).await;
    assert_refused(&answer, 413, "RESOURCE_EXHAUSTED", Some("body"));
    // A stranger is refused before the size is looked at.
    let answer = post(addr, "/v1/events", None, ONE, &vec![b' '; 70 * 1024]).await;
    assert_eq!(answer.status, 401, "{answer:?}");
    assert_eq!(ledger.tree_size().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_is_absent_unless_configured() {
    let ledger = TestLedger::start().await;
    let server = ledger.server.as_ref().expect("running");
    assert_eq!(server.http_addr, None);
    // Not on the metrics listener either: ingest needs a token, metrics has none.
    let (status, _) = common::http_get(ledger.metrics_addr(), "/v1/events").await;
    assert_eq!(status, 404);
}

/// Mutual TLS: the gRPC listener's `[tls]` serves the HTTP ingest listener too. A client
/// certificate mapped in `tls.clients` authenticates without a token; a client without a
/// certificate is refused in the handshake; a plaintext client gets no answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_client_certificates_are_the_grpc_listeners() {
    use std::os::unix::fs::PermissionsExt as _;
    use std::sync::Arc;

    use gdpr_ledger::service::auth::Role;
    use gdpr_ledger::tls::{ClientCertificateConfig, TlsConfig};
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose, SanType,
    };
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    use tokio_rustls::rustls;

    let dir = tempfile::tempdir().expect("temp dir");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "ingest test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().expect("CA key");
    let ca_pem = ca_params.self_signed(&ca_key).expect("CA").pem();
    let issuer = Issuer::new(ca_params, ca_key);
    let issue = |name: &str, usage| {
        let mut params = CertificateParams::new(vec![name.to_owned()]).expect("parameters");
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![usage];
        params.use_authority_key_identifier_extension = true;
        if name == "localhost" {
            params
                .subject_alt_names
                .push(SanType::IpAddress([127, 0, 0, 1].into()));
        }
        let key = KeyPair::generate().expect("key");
        let certificate = params.signed_by(&key, &issuer).expect("certificate");
        (certificate.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = issue("localhost", ExtendedKeyUsagePurpose::ServerAuth);
    let (client_cert, client_key) = issue("crm.internal", ExtendedKeyUsagePurpose::ClientAuth);
    let write = |name: &str, text: &str, mode| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("written");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("mode");
        path
    };
    let tls = TlsConfig {
        cert_file: Some(write("server.crt", &server_cert, 0o644)),
        key_file: Some(write("server.key", &server_key, 0o600)),
        client_ca_file: Some(write("ca.crt", &ca_pem, 0o644)),
        clients: vec![ClientCertificateConfig {
            name: "crm.internal".into(),
            identity: "crm".into(),
            role: Role::Producer,
            systems: Some(vec!["crm".into()]),
        }],
    };
    let ledger = TestLedger::start_with(|config| {
        config.http_listen = Some("127.0.0.1:0".parse().expect("address"));
        config.tls = tls;
    })
    .await;
    let addr = http_addr(&ledger);

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("CA"))
        .expect("root");
    let roots = Arc::new(roots);
    let connect = |with_certificate: bool, id: &'static str| {
        let builder = rustls::ClientConfig::builder().with_root_certificates(roots.clone());
        let config = if with_certificate {
            builder
                .with_client_auth_cert(
                    vec![CertificateDer::from_pem_slice(client_cert.as_bytes()).expect("cert")],
                    PrivateKeyDer::from_pem_slice(client_key.as_bytes()).expect("key"),
                )
                .expect("client auth")
        } else {
            builder.with_no_client_auth()
        };
        async move {
            let tcp = tokio::net::TcpStream::connect(addr)
                .await
                .expect("connects");
            let name = ServerName::try_from("localhost").expect("name");
            let mut stream = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(name, tcp)
                .await?;
            // TLS 1.3 clients learn of a refused certificate at their first read.
            let body = collection(id, "jane@example.com").to_string();
            let headers = [("Content-Type", ONE)];
            stream
                .write_all(&request_bytes("/v1/events", &headers, body.as_bytes()))
                .await?;
            let mut response = Vec::new();
            stream.read_to_end(&mut response).await?;
            Ok::<_, std::io::Error>(response)
        }
    };
    let response = connect(true, "tls-1").await.expect("mutual TLS exchange");
    let answer = read_answer(&mut response.as_slice()).await;
    assert_eq!(answer.status, 201, "{answer:?}");
    assert_eq!(answer.body["receipt"]["index"], 0);

    let refused = connect(false, "tls-2").await;
    assert!(
        refused.as_ref().map_or(true, |r| r.is_empty()),
        "no answer without a client certificate: {refused:?}"
    );
    // Plaintext on the TLS listener: no HTTP answer.
    let mut tcp = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let body = collection("plain-1", "jane@example.com").to_string();
    let bearer = format!("Bearer {PRODUCER_TOKEN}");
    let _ = tcp
        .write_all(&request_bytes(
            "/v1/events",
            &[("Content-Type", ONE), ("Authorization", &bearer)],
            body.as_bytes(),
        ))
        .await;
    let mut response = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tcp.read_to_end(&mut response),
    )
    .await;
    assert!(!response.starts_with(b"HTTP/"), "a plaintext answer");
    // Neither was appended: the next event is entry 1.
    let response = connect(true, "tls-3").await.expect("mutual TLS exchange");
    let answer = read_answer(&mut response.as_slice()).await;
    assert_eq!(answer.status, 201, "{answer:?}");
    assert_eq!(answer.body["receipt"]["index"], 1);
}
