//! Who is calling: bearer tokens, and with mutual TLS client certificates, mapped to an identity
//! and a role.
//!
//! Tokens are never kept in clear: the configuration holds their SHA-256 (or a file holding the
//! token), and a request's token is hashed and looked up. Client certificates are verified by the
//! TLS handshake and mapped by name (`[[tls.clients]]`, see [`crate::tls`]). The identity becomes
//! the entry's `producer`. [`Authenticator`] combines both.

use std::collections::HashMap;
use std::path::PathBuf;

use sha2::{Digest, Sha256};
use tonic::Request;
use tonic::metadata::MetadataMap;

pub use crate::caller::{Caller, Role, Systems, valid_identity};
use crate::tls::ClientCertificateMap;

/// One configured token.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// The caller's identity: the `producer` of the entries it appends. `[A-Za-z0-9._-]{1,64}`.
    pub identity: String,
    /// The caller's role.
    pub role: Role,
    /// Lowercase hex SHA-256 of the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_sha256: Option<String>,
    /// A file holding the token (mode 0600 or stricter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// The systems the caller may report for (`event.system`): its own, and for a recipient
    /// outside the company the name it is shared to under. Without the list: the system named
    /// like the identity only. An admin may report for any system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systems: Option<Vec<String>>,
}

/// Token hash -> caller.
#[derive(Debug, Clone, Default)]
pub struct TokenTable {
    by_hash: HashMap<[u8; 32], Caller>,
}

/// A token configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenConfigError {
    /// Neither or both of `token_sha256` and `token_file`.
    #[error("token of {0:?}: give exactly one of token_sha256 and token_file")]
    Source(String),
    /// Malformed hash.
    #[error("token of {0:?}: token_sha256 must be 64 lowercase hex digits")]
    Hash(String),
    /// Malformed identity.
    #[error("token identity {0:?}: use 1 to 64 characters from [A-Za-z0-9._-]")]
    Identity(String),
    /// Malformed list of systems.
    #[error("token of {0}")]
    Systems(String),
    /// The token file could not be read or is too open.
    #[error("token file of {identity:?}: {reason}")]
    File {
        /// Whose token.
        identity: String,
        /// What is wrong.
        reason: String,
    },
    /// Two entries share a token.
    #[error("the same token is configured twice (for {0:?})")]
    Duplicate(String),
}

/// SHA-256 of a token, as configured in `token_sha256`.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl TokenTable {
    /// Builds the table; `read_secret` reads a token file (checking its permissions).
    pub fn from_config(
        tokens: &[TokenConfig],
        read_secret: impl Fn(&std::path::Path) -> Result<String, String>,
    ) -> Result<Self, TokenConfigError> {
        let mut by_hash = HashMap::new();
        for token in tokens {
            if !valid_identity(&token.identity) {
                return Err(TokenConfigError::Identity(token.identity.clone()));
            }
            Systems::check_config(&token.identity, token.systems.as_deref())
                .map_err(TokenConfigError::Systems)?;
            let digest = match (&token.token_sha256, &token.token_file) {
                (Some(hash), None) => {
                    let bytes = hex::decode(hash)
                        .ok()
                        .filter(|b| b.len() == 32 && hash.bytes().all(|c| !c.is_ascii_uppercase()))
                        .ok_or_else(|| TokenConfigError::Hash(token.identity.clone()))?;
                    let mut digest = [0u8; 32];
                    digest.copy_from_slice(&bytes);
                    digest
                }
                (None, Some(path)) => {
                    let secret = read_secret(path).map_err(|reason| TokenConfigError::File {
                        identity: token.identity.clone(),
                        reason,
                    })?;
                    token_digest(secret.trim())
                }
                _ => return Err(TokenConfigError::Source(token.identity.clone())),
            };
            let caller = Caller {
                identity: token.identity.clone(),
                role: token.role,
                systems: Systems::of(&token.identity, token.role, token.systems.as_deref()),
            };
            if token.systems.is_none() && token.role == Role::Producer {
                tracing::info!(
                    identity = %token.identity,
                    "the token lists no systems: it may report for the system {:?} only",
                    token.identity
                );
            }
            if by_hash.insert(digest, caller).is_some() {
                return Err(TokenConfigError::Duplicate(token.identity.clone()));
            }
        }
        Ok(Self { by_hash })
    }

    /// Adds a caller for a token given in clear (the first-run development token).
    pub fn insert(&mut self, token: &str, caller: Caller) {
        self.by_hash.insert(token_digest(token), caller);
    }

    /// How many tokens are configured.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether no token is configured.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// The caller a request's `authorization: Bearer <token>` names.
    pub fn authenticate<T>(&self, request: &Request<T>) -> Result<Caller, AuthError> {
        self.bearer_caller(request.metadata())?
            .ok_or(AuthError::MissingCredential {
                certificates_mapped: false,
            })
    }

    /// The caller the `authorization` header names; `None` without the header. A malformed header
    /// or an unknown token is an error, never ignored.
    pub fn bearer_caller(&self, metadata: &MetadataMap) -> Result<Option<Caller>, AuthError> {
        let Some(header) = metadata.get("authorization") else {
            return Ok(None);
        };
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(AuthError::MalformedHeader)?;
        self.by_hash
            .get(&token_digest(token.trim()))
            .cloned()
            .map(Some)
            .ok_or(AuthError::UnknownToken)
    }
}

/// Names the caller of a request from its bearer token and, under mutual TLS, its client
/// certificate.
///
/// - A token alone, or a token with a certificate that `[[tls.clients]]` does not map: the token's
///   caller (the handshake has verified the certificate; it names nobody).
/// - A mapped certificate alone: its caller.
/// - Both: they must name the same identity and role, or the request is refused
///   (`UNAUTHENTICATED`): neither credential silently overrides the other.
/// - A malformed header, an unknown token or a certificate whose names map to two callers: refused,
///   whatever else the request carries.
#[derive(Debug, Clone, Default)]
pub struct Authenticator {
    tokens: TokenTable,
    certificates: ClientCertificateMap,
}

impl Authenticator {
    /// Combines the token table and the client certificate map.
    pub fn new(tokens: TokenTable, certificates: ClientCertificateMap) -> Self {
        Self {
            tokens,
            certificates,
        }
    }

    /// The request's caller (see the type's rules).
    pub fn authenticate<T>(&self, request: &Request<T>) -> Result<Caller, AuthError> {
        let chain = request.peer_certs();
        let leaf = chain.as_ref().and_then(|chain| chain.first());
        self.identify(request.metadata(), leaf.map(|leaf| leaf.as_ref()))
    }

    /// The caller of a request whose head is `metadata` and whose connection presented the
    /// client certificate `leaf` (DER, verified by the TLS handshake), by the type's rules: what
    /// [`Authenticator::authenticate`] decides for gRPC, and the HTTP ingest listener for its
    /// requests.
    pub fn identify(
        &self,
        metadata: &MetadataMap,
        leaf: Option<&[u8]>,
    ) -> Result<Caller, AuthError> {
        let by_certificate = match leaf {
            Some(leaf) => self
                .certificates
                .caller(leaf)
                .map_err(AuthError::Certificate)?,
            None => None,
        };
        let by_token = self.tokens.bearer_caller(metadata)?;
        match (by_token, by_certificate) {
            (Some(token), Some(certificate)) if token == certificate => Ok(token),
            (Some(token), Some(certificate)) => Err(AuthError::Disagree {
                token: Box::new(token),
                certificate: Box::new(certificate),
            }),
            (Some(caller), None) | (None, Some(caller)) => Ok(caller),
            (None, None) => Err(AuthError::MissingCredential {
                certificates_mapped: !self.certificates.is_empty(),
            }),
        }
    }
}

/// Refuses a caller without the right.
pub fn require(caller: &Caller, allowed: bool, what: &str) -> Result<(), AuthError> {
    if allowed {
        Ok(())
    } else {
        Err(AuthError::NotAllowed {
            identity: caller.identity.clone(),
            role: caller.role,
            what: what.to_owned(),
        })
    }
}

/// Why a request's caller is not known, or may not do what it asks.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Neither a bearer token nor a mapped client certificate.
    #[error("missing authorization: Bearer <token>{}", if *certificates_mapped { ", and no client certificate mapped in tls.clients" } else { "" })]
    MissingCredential {
        /// Whether `[[tls.clients]]` maps any certificate (the message then says none was).
        certificates_mapped: bool,
    },
    /// The `authorization` header is not `Bearer <token>`.
    #[error("authorization must be: Bearer <token>")]
    MalformedHeader,
    /// No configured token has this hash.
    #[error("unknown token")]
    UnknownToken,
    /// The client certificate's names could not be read, or map to two callers.
    #[error("{0}")]
    Certificate(crate::tls::CertificateNameError),
    /// The bearer token and the client certificate name different callers.
    #[error(
        "the bearer token names {} ({:?}, systems {:?}) but the client certificate names {} ({:?}, systems {:?}); they must agree",
        token.identity, token.role, token.systems, certificate.identity, certificate.role, certificate.systems
    )]
    Disagree {
        /// The token's caller.
        token: Box<Caller>,
        /// The certificate's caller.
        certificate: Box<Caller>,
    },
    /// The caller's role does not allow the method.
    #[error("{identity} ({role:?}) may not {what}")]
    NotAllowed {
        /// Who.
        identity: String,
        /// With which role.
        role: Role,
        /// What the method does.
        what: String,
    },
}
