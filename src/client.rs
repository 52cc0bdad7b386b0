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

/// The ledger's client with a bearer token on every call.
pub type AuthenticatedClient = LedgerClient<InterceptedService<Channel, BearerToken>>;

/// A client on `channel` presenting `token`.
pub fn authenticated(channel: Channel, token: &str) -> Result<AuthenticatedClient, InvalidToken> {
    Ok(LedgerClient::with_interceptor(
        channel,
        BearerToken::new(token)?,
    ))
}

/// How a client reaches a server over TLS: the CA that signed the server's certificate (PEM), the
/// client's own certificate and key for mutual TLS (PEM), and the name to check the server's
/// certificate against (default: the address's IP).
#[derive(Debug, Clone)]
pub struct ClientTls {
    /// PEM of the CA certificate(s) to trust.
    pub ca_pem: String,
    /// PEM of the client certificate and its key.
    pub identity: Option<(String, String)>,
    /// The server name the certificate must carry.
    pub server_name: Option<String>,
}

/// Why connecting failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The address does not make a URI.
    #[error("{0}")]
    Uri(#[from] tonic::codegen::http::uri::InvalidUri),
    /// The connection or the TLS handshake failed.
    #[error("{0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Connects to the ledger at `address`, in plaintext or, with `tls`, over TLS (and mutual TLS).
pub async fn connect(
    address: std::net::SocketAddr,
    tls: Option<&ClientTls>,
) -> Result<Channel, ConnectError> {
    let Some(tls) = tls else {
        return Ok(Channel::from_shared(format!("http://{address}"))?
            .connect()
            .await?);
    };
    let mut config = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(&tls.ca_pem));
    if let Some((cert, key)) = &tls.identity {
        config = config.identity(tonic::transport::Identity::from_pem(cert, key));
    }
    if let Some(name) = &tls.server_name {
        config = config.domain_name(name);
    }
    Ok(Channel::from_shared(format!("https://{address}"))?
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
