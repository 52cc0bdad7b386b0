//! A client of the ledger for Rust programs (the load generator, tests, producers): the generated
//! tonic client with a bearer token on every call.

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

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
