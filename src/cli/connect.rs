//! How the client subcommands (`audit --server`, `lifecycle`, `backup`, `bench`) reach a server: in
//! plaintext, or over TLS with `--tls-ca`, presenting a client certificate with `--tls-cert` and
//! `--tls-key` (mutual TLS, where the certificate names the caller and `--token` may be left out).
//! The `tls-` prefix keeps them apart from `--key`, which names the log's verifier key.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use gdpr_ledger::client::{BearerToken, ClientTls};
use tonic::transport::Channel;

/// TLS options of a client subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerTlsArgs {
    /// PEM file of the CA that signed the server's certificate: connect over TLS.
    #[arg(long = "tls-ca", value_name = "PEM")]
    pub ca: Option<PathBuf>,
    /// PEM file of this client's certificate, for mutual TLS (with --key).
    #[arg(
        long = "tls-cert",
        value_name = "PEM",
        requires = "key",
        requires = "ca"
    )]
    pub cert: Option<PathBuf>,
    /// PEM file of this client's private key (with --cert).
    #[arg(long = "tls-key", value_name = "PEM", requires = "cert")]
    pub key: Option<PathBuf>,
    /// The name the server's certificate must carry (default: the server's IP address).
    #[arg(long = "tls-server-name", requires = "ca")]
    pub server_name: Option<String>,
}

impl ServerTlsArgs {
    fn client_tls(&self) -> anyhow::Result<Option<ClientTls>> {
        let Some(ca) = &self.ca else {
            return Ok(None);
        };
        let read = |path: &PathBuf, what: &str| {
            std::fs::read_to_string(path).with_context(|| format!("{what} {}", path.display()))
        };
        let identity = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => Some((read(cert, "--tls-cert")?, read(key, "--tls-key")?)),
            _ => None,
        };
        Ok(Some(ClientTls {
            ca_pem: read(ca, "--tls-ca")?,
            identity,
            server_name: self.server_name.clone(),
        }))
    }

    /// Connects to `server`.
    pub async fn connect(&self, server: SocketAddr) -> anyhow::Result<Channel> {
        let tls = self.client_tls()?;
        gdpr_ledger::client::connect(server, tls.as_ref())
            .await
            .with_context(|| {
                let how = if tls.is_some() {
                    "over TLS"
                } else {
                    "in plaintext"
                };
                format!("cannot connect to {server} {how}")
            })
    }

    /// The bearer token to present: `token`, or none when a client certificate names the caller.
    pub fn bearer(&self, token: Option<&str>) -> anyhow::Result<BearerToken> {
        match token {
            Some(token) => Ok(BearerToken::new(token)?),
            None if self.cert.is_some() => Ok(BearerToken::none()),
            None => anyhow::bail!(
                "give --token (or GDPR_LEDGER_TOKEN), or a client certificate (--tls-cert and --tls-key)"
            ),
        }
    }
}
