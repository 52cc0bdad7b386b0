//! A client of the ledger for Rust programs (the load generator, tests, producers): the generated
//! tonic client with a bearer token on every call.

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::core::audit::{AuditError, LogAuditor};
use crate::core::checkpoint::VerifiedCheckpoint;
use crate::core::entry::SequencedEntry;
use crate::core::signature::{EntrySignature, KeyId, VerifierKey};
use crate::proto::v1 as pb;
use crate::proto::v1::ledger_client::LedgerClient;

/// Adds `authorization: Bearer <token>` to every request.
#[derive(Debug, Clone)]
pub struct BearerToken(MetadataValue<Ascii>);

/// The token cannot be sent in a header (it holds a character HTTP forbids).
#[derive(Debug, thiserror::Error)]
#[error("the token is not a valid HTTP header value")]
pub struct InvalidToken;

impl BearerToken {
    /// Wraps a token.
    pub fn new(token: &str) -> Result<Self, InvalidToken> {
        format!("Bearer {token}")
            .parse()
            .map(Self)
            .map_err(|_| InvalidToken)
    }
}

impl Interceptor for BearerToken {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

/// The ledger client presenting a bearer token.
pub type AuthenticatedClient = LedgerClient<InterceptedService<Channel, BearerToken>>;

/// A client over `channel` presenting `token`.
pub fn authenticated(channel: Channel, token: &str) -> Result<AuthenticatedClient, InvalidToken> {
    Ok(LedgerClient::with_interceptor(
        channel,
        BearerToken::new(token)?,
    ))
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
