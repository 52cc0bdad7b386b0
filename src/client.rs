//! A client of the ledger for Rust programs (the load generator, tests, producers): the generated
//! tonic client with a bearer token on every call.

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::core::audit::{AuditError, LogAuditor};
use crate::core::bundle::BundleEntry;
use crate::core::checkpoint::VerifiedCheckpoint;
use crate::core::directory::SubjectToken;
use crate::core::entry::SequencedEntry;
use crate::core::hash::NodeHash;
use crate::core::lifecycle::LifecycleBundle;
use crate::core::signature::{EntrySignature, KeyId, VerifierKey};
use crate::core::subject_index::SubjectProof;
use crate::proto::v1 as pb;
use crate::proto::v1::ledger_client::LedgerClient;

/// Adds `authorization: Bearer <token>` to every request, or nothing for a caller named by its
/// client certificate (mutual TLS).
#[derive(Debug, Clone)]
pub struct BearerToken(Option<MetadataValue<Ascii>>);

/// The token cannot be sent in a header (it holds a character HTTP forbids).
#[derive(Debug, thiserror::Error)]
#[error("the token is not a valid HTTP header value")]
pub struct InvalidToken;

impl BearerToken {
    /// Wraps a token.
    pub fn new(token: &str) -> Result<Self, InvalidToken> {
        format!("Bearer {token}")
            .parse()
            .map(|value| Self(Some(value)))
            .map_err(|_| InvalidToken)
    }

    /// No token: the client certificate names the caller.
    pub fn none() -> Self {
        Self(None)
    }
}

impl Interceptor for BearerToken {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(token) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", token.clone());
        }
        Ok(request)
    }
}

/// A channel that presents a bearer token on every call: what every authenticated client of the
/// `gdpr_ledger.v1` services runs on.
pub type Intercepted = InterceptedService<Channel, BearerToken>;

/// The ledger's client with a bearer token on every call.
pub type AuthenticatedClient = LedgerClient<Intercepted>;

/// A client on `channel` presenting `token`.
pub fn authenticated(channel: Channel, token: &str) -> Result<AuthenticatedClient, InvalidToken> {
    Ok(LedgerClient::with_interceptor(
        channel,
        BearerToken::new(token)?,
    ))
}

/// Where a server is, as the client commands' `--server` takes it: `host:port` (a host name,
/// resolved when connecting, or an IP address, IPv6 in brackets), `http://host:port` (plaintext)
/// or `https://host[:port]` (TLS; port 443 by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddress {
    /// How it was written: with no scheme, the client's TLS options decide.
    pub scheme: Scheme,
    /// The host name or IP address (an IPv6 address in brackets).
    pub host: String,
    /// The port.
    pub port: u16,
}

/// The scheme a server address was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `host:port`: TLS when the client is given TLS options, plaintext otherwise.
    None,
    /// `http://`: plaintext.
    Http,
    /// `https://`: TLS, with the given CA or the system's roots.
    Https,
}

/// A `--server` value that is not a server address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input:?}: {reason}; write host:port, http://host:port or https://host[:port] (e.g. ledger.internal:50051)"
)]
pub struct ServerAddressError {
    /// The value given.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl std::str::FromStr for ServerAddress {
    type Err = ServerAddressError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let refuse = |reason| ServerAddressError {
            input: input.to_owned(),
            reason,
        };
        let (scheme, rest) = match input.split_once("://") {
            None => (Scheme::None, input),
            Some(("http", rest)) => (Scheme::Http, rest),
            Some(("https", rest)) => (Scheme::Https, rest),
            Some(_) => return Err(refuse("the scheme is neither http nor https")),
        };
        // A URL may end in `/`; any other path, query or fragment is not a gRPC server.
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(refuse("a server address has no path"));
        }
        if authority.contains('@') {
            return Err(refuse("a server address has no user name"));
        }
        let parsed: http::uri::Authority = authority
            .parse()
            .map_err(|_| refuse("not a host and port"))?;
        let host = parsed.host();
        let valid_host = if let Some(inner) = host.strip_prefix('[') {
            inner
                .strip_suffix(']')
                .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
        } else {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        };
        if !valid_host {
            return Err(refuse("not a host name or IP address"));
        }
        // With no user name, the authority is the host, then `:port` or nothing.
        let port_text = authority
            .get(host.len()..)
            .and_then(|rest| rest.strip_prefix(':'));
        let port = match (port_text, scheme) {
            (Some(text), _) => text
                .parse::<u16>()
                .map_err(|_| refuse("the port is not a number from 0 to 65535"))?,
            (None, Scheme::Https) => 443,
            (None, _) => return Err(refuse("the port is missing")),
        };
        Ok(ServerAddress {
            scheme,
            host: host.to_owned(),
            port,
        })
    }
}

impl std::fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = match self.scheme {
            Scheme::None => "",
            Scheme::Http => "http://",
            Scheme::Https => "https://",
        };
        write!(f, "{scheme}{}:{}", self.host, self.port)
    }
}

impl From<std::net::SocketAddr> for ServerAddress {
    fn from(address: std::net::SocketAddr) -> Self {
        ServerAddress {
            scheme: Scheme::None,
            host: match address {
                std::net::SocketAddr::V4(v4) => v4.ip().to_string(),
                std::net::SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
            },
            port: address.port(),
        }
    }
}

/// How a client reaches a server over TLS: the CA that signed the server's certificate (PEM; the
/// system's roots when absent), the client's own certificate and key for mutual TLS (PEM), and
/// the name to check the server's certificate against (default: the address's host).
#[derive(Debug, Clone, Default)]
pub struct ClientTls {
    /// PEM of the CA certificate(s) to trust; `None`: the system's roots.
    pub ca_pem: Option<String>,
    /// PEM of the client certificate and its key.
    pub identity: Option<(String, String)>,
    /// The server name the certificate must carry.
    pub server_name: Option<String>,
}

/// Why connecting failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The address does not make a URI.
    #[error(transparent)]
    Uri(#[from] tonic::codegen::http::uri::InvalidUri),
    /// The connection or the TLS handshake failed.
    #[error(transparent)]
    Transport(#[from] tonic::transport::Error),
    /// An `http://` address with TLS options.
    #[error("{0} is plaintext (http://) but TLS options were given: write https://")]
    PlaintextWithTls(ServerAddress),
}

/// Connects to the ledger at `address`: in plaintext, or over TLS (and mutual TLS) for an
/// `https://` address or with `tls` (which an `http://` address refuses). An `https://` address
/// without `tls` trusts the system's roots.
pub async fn connect(
    address: impl Into<ServerAddress>,
    tls: Option<&ClientTls>,
) -> Result<Channel, ConnectError> {
    let address = address.into();
    let host_port = format!("{}:{}", address.host, address.port);
    let system_roots = ClientTls::default();
    let tls = match (address.scheme, tls) {
        (Scheme::Http, Some(_)) => return Err(ConnectError::PlaintextWithTls(address)),
        (Scheme::Http | Scheme::None, None) => {
            return Ok(Channel::from_shared(format!("http://{host_port}"))?
                .connect()
                .await?);
        }
        (Scheme::Https | Scheme::None, Some(tls)) => tls,
        (Scheme::Https, None) => &system_roots,
    };
    let mut config = tonic::transport::ClientTlsConfig::new();
    config = match &tls.ca_pem {
        Some(pem) => config.ca_certificate(tonic::transport::Certificate::from_pem(pem)),
        None => config.with_native_roots(),
    };
    if let Some((cert, key)) = &tls.identity {
        config = config.identity(tonic::transport::Identity::from_pem(cert, key));
    }
    if let Some(name) = &tls.server_name {
        config = config.domain_name(name);
    }
    Ok(Channel::from_shared(format!("https://{host_port}"))?
        .tls_config(config)?
        .connect()
        .await?)
}

/// Why a replay through the API stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApiAuditError {
    /// A call failed.
    #[error("{call}: {status}")]
    Rpc {
        /// Which call.
        call: String,
        /// The server's answer.
        status: tonic::Status,
    },
    /// The server sent a signature or key id that does not decode.
    #[error("entry {0}: the server sent a malformed signature or key id")]
    Malformed(u64),
    /// The log diverges from what its entries, signatures and latest checkpoint imply.
    #[error("{0}")]
    Divergence(#[from] AuditError),
}

/// Replays the whole log through the API from index 0 (hash chain, every signature, the tree)
/// and checks that the latest signed checkpoint commits to exactly that tree. `on_entry` sees
/// each verified entry in order. Returns the opened latest checkpoint.
pub async fn audit_through_api(
    client: &mut AuthenticatedClient,
    keys: Vec<VerifierKey>,
    mut on_entry: impl FnMut(SequencedEntry),
) -> Result<VerifiedCheckpoint, ApiAuditError> {
    let rpc = |call: String| move |status| ApiAuditError::Rpc { call, status };
    let latest = client
        .get_checkpoint(pb::GetCheckpointRequest { tree_size: 0 })
        .await
        .map_err(rpc("GetCheckpoint".into()))?
        .into_inner();
    let mut auditor = LogAuditor::new(keys);
    for index in 0..latest.tree_size {
        let entry = client
            .get_entry(pb::GetEntryRequest {
                selector: Some(pb::get_entry_request::Selector::Index(index)),
                producer: String::new(),
            })
            .await
            .map_err(rpc(format!("GetEntry {index}")))?
            .into_inner();
        let signature = EntrySignature::from_slice(&entry.signature)
            .map_err(|_| ApiAuditError::Malformed(index))?;
        let key_id: KeyId = entry
            .key_id
            .parse()
            .map_err(|_| ApiAuditError::Malformed(index))?;
        on_entry(auditor.push(&entry.entry, &signature, Some(key_id))?);
    }
    Ok(auditor.check_checkpoint(&latest.checkpoint)?)
}

/// Why a lifecycle could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleFetchError {
    /// The call failed.
    #[error("GetSubjectLifecycle: {0}")]
    Rpc(#[from] tonic::Status),
    /// The stream did not have the promised shape (header first, then `count` entries) or a
    /// field does not decode.
    #[error("the server's lifecycle stream is malformed: {0}")]
    Malformed(String),
}

/// Fetches a subject's lifecycle (by identifier or token, at `tree_size` or the latest when 0)
/// and assembles the lifecycle bundle that [`crate::core::lifecycle::verify_lifecycle`] checks.
/// Nothing is verified here: the bundle is what the server said.
pub async fn fetch_lifecycle(
    client: &mut AuthenticatedClient,
    subject: pb::get_subject_lifecycle_request::Subject,
    tree_size: u64,
) -> Result<LifecycleBundle, LifecycleFetchError> {
    use pb::subject_lifecycle_chunk::Part;
    let malformed = |what: String| LifecycleFetchError::Malformed(what);
    let mut stream = client
        .get_subject_lifecycle(pb::GetSubjectLifecycleRequest {
            subject: Some(subject),
            tree_size,
        })
        .await?
        .into_inner();
    let header = match stream.message().await? {
        Some(pb::SubjectLifecycleChunk {
            part: Some(Part::Header(header)),
        }) => header,
        _ => return Err(malformed("the first message is not the header".into())),
    };
    let token = SubjectToken::from_slice(&header.token)
        .map_err(|_| malformed("the header's token is not 32 bytes".into()))?;
    let subject_proof = SubjectProof::from_bytes(&header.subject_proof)
        .map_err(|e| malformed(format!("the subject proof does not decode: {e}")))?;
    let mut entries = Vec::new();
    while let Some(chunk) = stream.message().await? {
        let part = match chunk.part {
            Some(Part::Entries(part)) => part.entries,
            Some(Part::Entry(entry)) => vec![entry],
            _ => return Err(malformed("a second header".into())),
        };
        for entry in part {
            entries.push(bundle_entry(entry)?);
        }
    }
    if entries.len() as u64 != header.count {
        return Err(malformed(format!(
            "the header announced {} entries, the stream held {}",
            header.count,
            entries.len()
        )));
    }
    Ok(LifecycleBundle {
        checkpoint: header.checkpoint,
        token,
        subject_proof,
        entries,
        details_erased: header.details_erased,
    })
}

/// A streamed lifecycle entry as a bundle entry (not verified: that is the core's job).
fn bundle_entry(entry: pb::LifecycleEntry) -> Result<BundleEntry, LifecycleFetchError> {
    let malformed =
        |what: &str| LifecycleFetchError::Malformed(format!("entry {}: {what}", entry.index));
    let signature =
        EntrySignature::from_slice(&entry.signature).map_err(|_| malformed("signature"))?;
    let key_id: KeyId = entry.key_id.parse().map_err(|_| malformed("key id"))?;
    let inclusion_proof = entry
        .inclusion_proof
        .iter()
        .map(|hash| NodeHash::from_slice(hash))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| malformed("inclusion proof"))?;
    Ok(BundleEntry {
        index: entry.index,
        entry: entry.entry,
        signature,
        inclusion_proof,
        key_id: Some(key_id),
    })
}

/// The reports client presenting a bearer token.
pub type AuthenticatedReportsClient =
    crate::proto::v1::reports_client::ReportsClient<InterceptedService<Channel, BearerToken>>;

/// A reports client over `channel` presenting `token`.
pub fn reports_client(
    channel: Channel,
    token: &str,
) -> Result<AuthenticatedReportsClient, InvalidToken> {
    Ok(
        crate::proto::v1::reports_client::ReportsClient::with_interceptor(
            channel,
            BearerToken::new(token)?,
        )
        .max_decoding_message_size(usize::MAX),
    )
}

/// Runs a breach investigation and collects its stream: the affected entries and the summary.
/// `progress(examined, candidates)` sees the server's progress messages. Holds every entry: for
/// tests and small findings; [`investigate_breach_streamed`] hands them over page by page.
pub async fn investigate_breach(
    client: &mut AuthenticatedReportsClient,
    request: pb::InvestigateBreachRequest,
    progress: impl FnMut(u64, u64),
) -> Result<(Vec<pb::AffectedEntry>, pb::BreachSummary), tonic::Status> {
    let mut entries = Vec::new();
    let summary = investigate_breach_streamed(client, request, progress, |page| {
        entries.extend(page);
        Ok::<(), tonic::Status>(())
    })
    .await?;
    Ok((entries, summary))
}

/// Runs a breach investigation, handing each page of affected entries to `entries` as it
/// arrives (its error ends the call), and returns the summary that ends the stream. Holds one
/// page at a time.
pub async fn investigate_breach_streamed<E: From<tonic::Status>>(
    client: &mut AuthenticatedReportsClient,
    request: pb::InvestigateBreachRequest,
    mut progress: impl FnMut(u64, u64),
    mut entries: impl FnMut(Vec<pb::AffectedEntry>) -> Result<(), E>,
) -> Result<pb::BreachSummary, E> {
    use pb::investigate_breach_chunk::Part;
    let mut stream = client.investigate_breach(request).await?.into_inner();
    while let Some(chunk) = stream.message().await? {
        match chunk.part {
            Some(Part::Progress(p)) => progress(p.examined, p.candidates),
            Some(Part::Entries(page)) => entries(page.entries)?,
            Some(Part::Summary(summary)) => return Ok(summary),
            None => {}
        }
    }
    Err(tonic::Status::data_loss("the investigation's stream ended without a summary").into())
}

/// A codec that sends and receives message bytes as they are: for tools and tests that build a
/// request's body themselves (a replay, a benchmark of hostile bodies) without encoding it.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl tonic::codec::Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), Self::Error> {
        bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Vec<u8>>, Self::Error> {
        let mut out = vec![0; bytes::Buf::remaining(src)];
        bytes::Buf::copy_to_slice(src, &mut out);
        Ok(Some(out))
    }
}

/// Calls the unary method at `path` with `body` as its message bytes, presenting `token` if given,
/// and returns the answer's message bytes.
pub async fn raw_unary(
    channel: Channel,
    path: &'static str,
    token: Option<&str>,
    body: Vec<u8>,
) -> Result<Vec<u8>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel)
        .max_encoding_message_size(usize::MAX)
        .max_decoding_message_size(usize::MAX);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let mut request = tonic::Request::new(body);
    if let Some(token) = token {
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| tonic::Status::invalid_argument("token: not a header value"))?;
        request.metadata_mut().insert("authorization", value);
    }
    let path = http::uri::PathAndQuery::from_static(path);
    grpc.unary(request, path, RawCodec)
        .await
        .map(tonic::Response::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> ServerAddress {
        text.parse()
            .unwrap_or_else(|e| panic!("{text} parses: {e}"))
    }

    #[test]
    fn server_addresses_are_host_port_or_http_urls() {
        let address = |scheme, host: &str, port| ServerAddress {
            scheme,
            host: host.to_owned(),
            port,
        };
        assert_eq!(
            parsed("127.0.0.1:50051"),
            address(Scheme::None, "127.0.0.1", 50051)
        );
        assert_eq!(
            parsed("ledger.internal:50051"),
            address(Scheme::None, "ledger.internal", 50051)
        );
        assert_eq!(parsed("[::1]:7"), address(Scheme::None, "[::1]", 7));
        assert_eq!(
            parsed("http://localhost:50051"),
            address(Scheme::Http, "localhost", 50051)
        );
        assert_eq!(
            parsed("http://localhost:50051/"),
            address(Scheme::Http, "localhost", 50051)
        );
        assert_eq!(
            parsed("https://ledger.example.com"),
            address(Scheme::Https, "ledger.example.com", 443)
        );
        assert_eq!(
            parsed("https://ledger.example.com:8443/"),
            address(Scheme::Https, "ledger.example.com", 8443)
        );
        // What it connects to, and how it is shown, keeps the scheme.
        assert_eq!(
            parsed("https://a.example").to_string(),
            "https://a.example:443"
        );
        assert_eq!(parsed("[::1]:7").to_string(), "[::1]:7");
        let socket: std::net::SocketAddr = "[::1]:9".parse().expect("socket address");
        assert_eq!(ServerAddress::from(socket), parsed("[::1]:9"));
    }

    #[test]
    fn anything_else_is_refused_saying_what_is_wrong() {
        for (text, reason) in [
            ("ledger.internal", "the port is missing"),
            ("http://ledger.internal", "the port is missing"),
            ("ledger.internal:", "the port is not a number"),
            ("ledger.internal:99999", "the port is not a number"),
            ("ledger.internal:http", "the port is not a number"),
            (
                "ftp://ledger.internal:21",
                "the scheme is neither http nor https",
            ),
            (
                "grpc://ledger.internal:1",
                "the scheme is neither http nor https",
            ),
            ("https://ledger.internal/v1", "no path"),
            ("https://user@ledger.internal", "no user name"),
            ("https://", "not a host"),
            ("", "not a host"),
            ("[zz]:1", "not a host name or IP address"),
            ("le dger:1", "not a host"),
        ] {
            let error = text
                .parse::<ServerAddress>()
                .expect_err(&format!("{text:?} is refused"));
            let message = error.to_string();
            assert!(message.contains(reason), "{text:?}: {message}");
            assert!(message.contains("host:port, http://host:port or https://host[:port]"));
        }
    }
}
