//! TLS and mutual TLS of the gRPC listener (rustls, through tonic).
//!
//! `[tls] cert_file` and `key_file` (PEM) turn TLS on. `client_ca_file` (PEM, one or more CA
//! certificates) makes it mutual: every client must present a certificate that chains to one of
//! them, is within its validity period and is meant for client authentication, or the handshake is
//! refused. `[[tls.clients]]` maps a certificate to a caller: when the certificate's subject common
//! name, one of its DNS names or one of its URIs equals a client's `name`, the certificate
//! authenticates that identity and role, as a bearer token does (see
//! [`crate::service::auth::Authenticator`] for how the two combine).
//!
//! The private key file is read like every other secret: refused when group or others can read it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};
use x509_parser::extensions::GeneralName;
use zeroize::Zeroizing;

use crate::caller::{Caller, Role, Systems, valid_identity};
use crate::secrets;

/// How long a client may take over the TLS handshake before its connection is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// `[tls]`: TLS of the gRPC listener. Off while `cert_file` and `key_file` are unset.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// The server's certificate chain (PEM), leaf first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<PathBuf>,
    /// The server's private key (PEM: PKCS#8, PKCS#1 or SEC1), mode 0600 or 0400.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// CA certificates (PEM) that client certificates must chain to. Set: mutual TLS, every client
    /// presents a valid certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ca_file: Option<PathBuf>,
    /// Client certificates that stand for a caller.
    pub clients: Vec<ClientCertificateConfig>,
}

/// `[[tls.clients]]`: a client certificate name and the caller it stands for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientCertificateConfig {
    /// Matched against the certificate's subject common name, its DNS names (ignoring ASCII case)
    /// and its URIs (exactly), e.g. `crm.internal` or `spiffe://corp.example/crm`.
    pub name: String,
    /// The caller's identity: the `producer` of the entries it appends. `[A-Za-z0-9._-]{1,64}`.
    pub identity: String,
    /// The caller's role.
    pub role: Role,
    /// The systems the caller may report for (as a token's `systems`; without the list, the
    /// system named like the identity; an admin, any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systems: Option<Vec<String>>,
}

impl TlsConfig {
    /// Whether the gRPC listener serves TLS.
    pub fn enabled(&self) -> bool {
        self.cert_file.is_some() && self.key_file.is_some()
    }

    /// Whether clients must present a certificate (mutual TLS).
    pub fn requires_client_certificates(&self) -> bool {
        self.enabled() && self.client_ca_file.is_some()
    }

    /// Checks what serde cannot, without reading a file. On failure: the key and the reason.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        match (&self.cert_file, &self.key_file) {
            (Some(_), None) => {
                return Err(("tls.key_file", "cert_file is set without key_file".into()));
            }
            (None, Some(_)) => {
                return Err(("tls.cert_file", "key_file is set without cert_file".into()));
            }
            _ => {}
        }
        if self.client_ca_file.is_some() && !self.enabled() {
            return Err((
                "tls.client_ca_file",
                "client certificates need TLS: set cert_file and key_file too".into(),
            ));
        }
        if !self.clients.is_empty() && self.client_ca_file.is_none() {
            return Err((
                "tls.clients",
                "client certificates are verified against client_ca_file: set it".into(),
            ));
        }
        ClientCertificateMap::from_config(&self.clients)
            .map(|_| ())
            .map_err(|error| ("tls.clients", error.to_string()))
    }
}

/// TLS files or settings that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read, or the key file is too open.
    #[error("TLS: {0}")]
    File(#[from] secrets::SecretError),
    /// A certificate file holds no PEM certificate, or a malformed one.
    #[error("TLS: {path}: {reason}")]
    Certificates {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The key file holds no usable PEM private key.
    #[error("TLS: {path}: no PEM private key (PKCS#8, PKCS#1 or SEC1) in it: {reason}")]
    Key {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// rustls refused the certificate and key together (e.g. the key is not the certificate's).
    #[error("TLS: the server certificate and key cannot be used: {0}")]
    Unusable(String),
    /// A `[[tls.clients]]` entry cannot be used.
    #[error("{0}")]
    Client(String),
}

/// The files of `[tls]`, read and checked.
struct TlsFiles {
    /// The server's certificate chain (PEM).
    chain: Vec<u8>,
    /// Its private key (PEM).
    key: Zeroizing<String>,
    /// The CA certificates of clients (PEM), under mutual TLS.
    client_ca: Option<Vec<u8>>,
}

impl TlsFiles {
    /// Reads the files of `[tls]`, or `None` when TLS is off. Every file is parsed here, so that a
    /// bad file is refused at start with its name rather than when the first client connects.
    fn read(config: &TlsConfig) -> Result<Option<Self>, TlsError> {
        let (Some(cert_file), Some(key_file)) = (&config.cert_file, &config.key_file) else {
            return Ok(None);
        };
        let chain = read_certificates(cert_file)?;
        let key = Zeroizing::new(secrets::read_private_file(key_file)?);
        PrivateKeyDer::from_pem_slice(key.as_bytes()).map_err(|error| TlsError::Key {
            path: key_file.clone(),
            reason: error.to_string(),
        })?;
        let client_ca = match &config.client_ca_file {
            Some(ca_file) => Some(read_certificates(ca_file)?),
            None => None,
        };
        Ok(Some(Self {
            chain,
            key,
            client_ca,
        }))
    }
}

/// Reads the files of `[tls]` and builds tonic's server TLS configuration, or `None` when TLS is
/// off.
pub fn server_tls_config(config: &TlsConfig) -> Result<Option<ServerTlsConfig>, TlsError> {
    let Some(files) = TlsFiles::read(config)? else {
        return Ok(None);
    };
    let mut tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(files.chain, files.key.as_bytes()))
        .timeout(HANDSHAKE_TIMEOUT);
    if let Some(client_ca) = files.client_ca {
        tls = tls.client_ca_root(Certificate::from_pem(client_ca));
    }
    Ok(Some(tls))
}

/// The same TLS as [`server_tls_config`] (certificate, key, required client certificates under
/// mutual TLS), as a rustls configuration for the HTTP ingest listener (HTTP/1.1), or `None`
/// when TLS is off.
pub fn http_tls_config(
    config: &TlsConfig,
) -> Result<Option<Arc<tokio_rustls::rustls::ServerConfig>>, TlsError> {
    use tokio_rustls::rustls::{RootCertStore, ServerConfig, server::WebPkiClientVerifier};
    let Some(files) = TlsFiles::read(config)? else {
        return Ok(None);
    };
    let unusable = |error: &dyn std::fmt::Display| TlsError::Unusable(error.to_string());
    let chain = CertificateDer::pem_slice_iter(&files.chain)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unusable(&e))?;
    let key = PrivateKeyDer::from_pem_slice(files.key.as_bytes()).map_err(|e| unusable(&e))?;
    let builder = ServerConfig::builder();
    let builder = match files.client_ca {
        None => builder.with_no_client_auth(),
        Some(client_ca) => {
            let mut roots = RootCertStore::empty();
            for certificate in CertificateDer::pem_slice_iter(&client_ca) {
                roots
                    .add(certificate.map_err(|e| unusable(&e))?)
                    .map_err(|e| unusable(&e))?;
            }
            let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
                .build()
                .map_err(|e| unusable(&e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut tls = builder
        .with_single_cert(chain, key)
        .map_err(|e| unusable(&e))?;
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Arc::new(tls)))
}

/// Reads a PEM file that must hold at least one certificate, each of which parses as X.509.
fn read_certificates(path: &Path) -> Result<Vec<u8>, TlsError> {
    let pem = std::fs::read(path).map_err(|source| secrets::SecretError::Io {
        path: path.to_owned(),
        source,
    })?;
    let invalid = |reason: String| TlsError::Certificates {
        path: path.to_owned(),
        reason,
    };
    let mut count = 0;
    for certificate in CertificateDer::pem_slice_iter(&pem) {
        let certificate = certificate.map_err(|e| invalid(e.to_string()))?;
        x509_parser::parse_x509_certificate(certificate.as_ref())
            .map_err(|e| invalid(format!("certificate {}: {e}", count + 1)))?;
        count += 1;
    }
    if count == 0 {
        return Err(invalid(
            "no PEM certificate (-----BEGIN CERTIFICATE-----) in it".into(),
        ));
    }
    Ok(pem)
}

/// The names a certificate is known by, as `[[tls.clients]]` matches them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertificateNames {
    /// The subject's common names (usually one).
    pub common_names: Vec<String>,
    /// DNS names of the subject alternative name extension.
    pub dns_names: Vec<String>,
    /// URIs of the subject alternative name extension.
    pub uris: Vec<String>,
}

/// A client certificate whose names cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("client certificate: {0}")]
pub struct CertificateNameError(String);

impl CertificateNames {
    /// Reads the names of a DER certificate. The certificate's validity is not checked here: the
    /// TLS handshake has done that.
    pub fn from_der(der: &[u8]) -> Result<Self, CertificateNameError> {
        let (_, certificate) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| CertificateNameError(e.to_string()))?;
        let mut names = CertificateNames::default();
        for common_name in certificate.subject().iter_common_name() {
            let text = common_name
                .as_str()
                .map_err(|e| CertificateNameError(format!("subject common name: {e}")))?;
            names.common_names.push(text.to_owned());
        }
        let alternative = certificate
            .subject_alternative_name()
            .map_err(|e| CertificateNameError(format!("subject alternative name: {e}")))?;
        for name in alternative.iter().flat_map(|ext| &ext.value.general_names) {
            match name {
                GeneralName::DNSName(dns) => names.dns_names.push((*dns).to_owned()),
                GeneralName::URI(uri) => names.uris.push((*uri).to_owned()),
                _ => {}
            }
        }
        Ok(names)
    }

    /// Whether `name` is one of these names (DNS names ignoring ASCII case).
    pub fn matches(&self, name: &str) -> bool {
        self.common_names.iter().any(|cn| cn == name)
            || self
                .dns_names
                .iter()
                .any(|dns| dns.eq_ignore_ascii_case(name))
            || self.uris.iter().any(|uri| uri == name)
    }
}

/// `[[tls.clients]]`, checked: which certificate names stand for which caller.
#[derive(Debug, Clone, Default)]
pub struct ClientCertificateMap {
    clients: Vec<(String, Caller)>,
}

impl ClientCertificateMap {
    /// Checks the entries: names non-empty and distinct, identities valid.
    pub fn from_config(clients: &[ClientCertificateConfig]) -> Result<Self, TlsError> {
        let mut checked: Vec<(String, Caller)> = Vec::with_capacity(clients.len());
        for client in clients {
            if client.name.trim().is_empty() || client.name.trim() != client.name {
                return Err(TlsError::Client(format!(
                    "client name {:?}: give the certificate's common name, DNS name or URI, without surrounding spaces",
                    client.name
                )));
            }
            if !valid_identity(&client.identity) {
                return Err(TlsError::Client(format!(
                    "client {:?}: identity {:?}: use 1 to 64 characters from [A-Za-z0-9._-]",
                    client.name, client.identity
                )));
            }
            Systems::check_config(&client.identity, client.systems.as_deref())
                .map_err(|e| TlsError::Client(format!("client {:?}: {e}", client.name)))?;
            if checked
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case(&client.name))
            {
                return Err(TlsError::Client(format!(
                    "client name {:?} is configured twice",
                    client.name
                )));
            }
            checked.push((
                client.name.clone(),
                Caller {
                    identity: client.identity.clone(),
                    role: client.role,
                    systems: Systems::of(&client.identity, client.role, client.systems.as_deref()),
                },
            ));
        }
        Ok(Self { clients: checked })
    }

    /// Whether no client certificate is mapped.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// The caller a (verified) client certificate stands for: `None` when none of its names is
    /// mapped; an error when its names map to different callers, which the operator must resolve.
    pub fn caller(&self, certificate_der: &[u8]) -> Result<Option<Caller>, CertificateNameError> {
        if self.clients.is_empty() {
            return Ok(None);
        }
        let names = CertificateNames::from_der(certificate_der)?;
        let mut found: Option<&Caller> = None;
        for (name, caller) in &self.clients {
            if !names.matches(name) {
                continue;
            }
            match found {
                Some(earlier) if earlier != caller => {
                    return Err(CertificateNameError(format!(
                        "its names map to two callers in tls.clients ({} and {}); a certificate must name one",
                        earlier.identity, caller.identity
                    )));
                }
                _ => found = Some(caller),
            }
        }
        Ok(found.cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(name: &str, identity: &str, role: Role) -> ClientCertificateConfig {
        ClientCertificateConfig {
            name: name.into(),
            identity: identity.into(),
            systems: None,
            role,
        }
    }

    #[test]
    fn tls_settings_must_be_complete() {
        let mut config = TlsConfig::default();
        assert!(!config.enabled());
        config.check().expect("no TLS is fine");
        config.cert_file = Some("server.crt".into());
        assert_eq!(config.check().map_err(|e| e.0), Err("tls.key_file"));
        config.key_file = Some("server.key".into());
        config.check().expect("server TLS");
        assert!(config.enabled() && !config.requires_client_certificates());
        config.clients = vec![client("crm.internal", "crm", Role::Producer)];
        assert_eq!(config.check().map_err(|e| e.0), Err("tls.clients"));
        config.client_ca_file = Some("clients-ca.crt".into());
        config.check().expect("mutual TLS with a mapped client");
        assert!(config.requires_client_certificates());
        config.cert_file = None;
        assert_eq!(config.check().map_err(|e| e.0), Err("tls.cert_file"));
    }

    #[test]
    fn client_entries_are_checked() {
        for (clients, what) in [
            (vec![client("", "crm", Role::Producer)], "empty name"),
            (
                vec![client("crm.internal", "has space", Role::Producer)],
                "identity",
            ),
            (
                vec![
                    client("crm.internal", "crm", Role::Producer),
                    client("CRM.internal", "crm", Role::Producer),
                ],
                "twice",
            ),
        ] {
            let error = ClientCertificateMap::from_config(&clients).expect_err(what);
            assert!(!error.to_string().is_empty());
        }
    }

    #[test]
    fn names_match_common_name_dns_ignoring_case_and_uri_exactly() {
        let names = CertificateNames {
            common_names: vec!["crm".into()],
            dns_names: vec!["crm.internal".into()],
            uris: vec!["spiffe://corp/crm".into()],
        };
        assert!(names.matches("crm"));
        assert!(names.matches("CRM.Internal"));
        assert!(names.matches("spiffe://corp/crm"));
        assert!(!names.matches("SPIFFE://corp/crm"));
        assert!(!names.matches("billing.internal"));
    }
}
