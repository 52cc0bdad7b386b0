//! How the client subcommands (`audit --server`, `lifecycle`, `backup`, `bench`, `report`,
//! `append`, `erasure`, `consent`, `identifiers`, `breach`) reach a server: `--server` as `host:port`,
//! `http://host:port` or `https://host[:port]` ([`ServerAddress`]); in plaintext, or over TLS for
//! `https://` or with `--tls-ca` (the system's roots when `https://` comes without it), presenting
//! a client certificate with `--tls-cert` and `--tls-key` (mutual TLS, where the certificate names
//! the caller and `--token` may be left out). The `tls-` prefix keeps them apart from `--key`,
//! which names the log's verifier key. Also the one parser of a subject named on the command line
//! (`--subject kind:value`, `--subject-token HEX`) and the text-or-JSON output choice.

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::Context as _;
use gdpr_ledger::client::{BearerToken, ClientTls, ServerAddress};
use gdpr_ledger::proto::v1 as pb;
use tonic::transport::Channel;

/// Where and as whom: the options every client subcommand shares.
#[derive(Debug, Clone, clap::Args)]
pub struct Connection {
    /// The server: host:port (a name or an IP address), http://host:port or
    /// https://host[:port] (TLS).
    #[arg(long)]
    pub server: ServerAddress,
    /// A bearer token of a role allowed the call (not needed with a mapped client certificate).
    #[arg(long, env = "GDPR_LEDGER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// TLS to the server.
    #[command(flatten)]
    pub tls: ServerTlsArgs,
}

impl Connection {
    /// Connects, and returns the channel with the caller's credential.
    pub async fn open(&self) -> anyhow::Result<(Channel, BearerToken)> {
        let channel = self.tls.connect(&self.server).await?;
        Ok((channel, self.tls.bearer(self.token.as_deref())?))
    }
}

/// TLS options of a client subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerTlsArgs {
    /// PEM file of the CA that signed the server's certificate: connect over TLS (without it, an
    /// https:// server is checked against the system's roots).
    #[arg(long = "tls-ca", value_name = "PEM")]
    pub ca: Option<PathBuf>,
    /// PEM file of this client's certificate, for mutual TLS (with --tls-key).
    #[arg(long = "tls-cert", value_name = "PEM", requires = "key")]
    pub cert: Option<PathBuf>,
    /// PEM file of this client's private key (with --tls-cert).
    #[arg(long = "tls-key", value_name = "PEM", requires = "cert")]
    pub key: Option<PathBuf>,
    /// The name the server's certificate must carry (default: the server's host).
    #[arg(long = "tls-server-name")]
    pub server_name: Option<String>,
}

impl ServerTlsArgs {
    /// The TLS options given, if any (any of them means TLS).
    fn client_tls(&self) -> anyhow::Result<Option<ClientTls>> {
        if self.ca.is_none() && self.cert.is_none() && self.server_name.is_none() {
            return Ok(None);
        }
        let read = |path: &PathBuf, what: &str| {
            std::fs::read_to_string(path).with_context(|| format!("{what} {}", path.display()))
        };
        let identity = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => Some((read(cert, "--tls-cert")?, read(key, "--tls-key")?)),
            _ => None,
        };
        Ok(Some(ClientTls {
            ca_pem: self
                .ca
                .as_ref()
                .map(|ca| read(ca, "--tls-ca"))
                .transpose()?,
            identity,
            server_name: self.server_name.clone(),
        }))
    }

    /// Connects to `server`.
    pub async fn connect(&self, server: &ServerAddress) -> anyhow::Result<Channel> {
        let tls = self.client_tls()?;
        let https = server.scheme == gdpr_ledger::client::Scheme::Https;
        // Only an https:// address trusts the system's roots: with host:port, TLS is asked for
        // by naming the CA.
        if tls.is_some() && self.ca.is_none() && !https {
            anyhow::bail!(
                "--tls-cert and --tls-server-name need --tls-ca (the CA of the server's certificate), or write --server https://{}:{} to trust the system's roots",
                server.host,
                server.port
            );
        }
        let over_tls = tls.is_some() || https;
        gdpr_ledger::client::connect(server.clone(), tls.as_ref())
            .await
            .with_context(|| {
                let how = if over_tls { "over TLS" } else { "in plaintext" };
                format!("--server: cannot connect to {server} {how}")
            })
    }

    /// The bearer token to present: `token`, or none when a client certificate names the caller.
    pub fn bearer(&self, token: Option<&str>) -> anyhow::Result<BearerToken> {
        match token {
            Some(token) => Ok(BearerToken::new(token).context("--token")?),
            None if self.cert.is_some() => Ok(BearerToken::none()),
            None => anyhow::bail!(
                "give --token (or GDPR_LEDGER_TOKEN), or a client certificate (--tls-cert and --tls-key)"
            ),
        }
    }
}

/// A subject named by identifier on the command line: `kind:value`, e.g.
/// `email:alice@example.com` (the value may itself hold colons).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectIdentifierArg(pub pb::SubjectIdentifier);

impl FromStr for SubjectIdentifierArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once(':') {
            Some((kind, value)) if !kind.is_empty() && !value.is_empty() => {
                Ok(Self(pb::SubjectIdentifier {
                    kind: kind.to_owned(),
                    value: value.to_owned(),
                }))
            }
            _ => Err(format!(
                "{text:?}: write it as kind:value, e.g. email:alice@example.com"
            )),
        }
    }
}

/// A subject token on the command line: 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectTokenArg(pub Vec<u8>);

impl FromStr for SubjectTokenArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match hex::decode(text) {
            Ok(bytes) if bytes.len() == 32 => Ok(Self(bytes)),
            _ => Err(format!("{text:?}: a subject token is 64 hex digits")),
        }
    }
}

/// A subject named by identifier or by token (exactly one).
#[derive(Debug, Clone, clap::Args)]
#[group(required = true, multiple = false)]
pub struct SubjectArgs {
    /// The subject's identifier as `kind:value`, e.g. `email:alice@example.com`, resolved through
    /// the server's subject directory.
    #[arg(long)]
    pub subject: Option<SubjectIdentifierArg>,
    /// The subject token, 64 hex digits (as reports and lifecycles show it).
    #[arg(long)]
    pub subject_token: Option<SubjectTokenArg>,
}

/// A subject as named on the command line.
#[derive(Debug, Clone)]
pub enum Subject {
    /// By identifier.
    Identifier(pb::SubjectIdentifier),
    /// By token.
    Token(Vec<u8>),
}

impl SubjectArgs {
    /// The subject named (clap makes sure there is exactly one).
    pub fn subject(&self) -> anyhow::Result<Subject> {
        match (&self.subject, &self.subject_token) {
            (Some(identifier), _) => Ok(Subject::Identifier(identifier.0.clone())),
            (None, Some(token)) => Ok(Subject::Token(token.0.clone())),
            (None, None) => anyhow::bail!("give --subject or --subject-token"),
        }
    }
}

impl From<Subject> for pb::get_subject_lifecycle_request::Subject {
    fn from(subject: Subject) -> Self {
        match subject {
            Subject::Identifier(identifier) => Self::Identifier(identifier),
            Subject::Token(token) => Self::Token(token),
        }
    }
}

impl From<Subject> for pb::SubjectRef {
    fn from(subject: Subject) -> Self {
        pb::SubjectRef {
            subject: Some(match subject {
                Subject::Identifier(identifier) => pb::subject_ref::Subject::Identifier(identifier),
                Subject::Token(token) => pb::subject_ref::Subject::Token(token),
            }),
        }
    }
}

/// Output of the DPO's commands: readable text, or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TextOrJson {
    /// Readable text.
    Text,
    /// JSON.
    Json,
}

/// Runs `work` on a single-threaded async runtime (the client commands' one way to start one).
pub fn block_on<T>(
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(work)
}

/// A failed call as the command line shows it: the method, the gRPC status code and message, and
/// the field violations the server sent beside them.
pub fn rpc_error(method: &str, status: tonic::Status) -> anyhow::Error {
    use tonic_types::StatusExt as _;
    let mut text = format!("{method}: {:?}: {}", status.code(), status.message());
    if let Some(bad_request) = status.get_details_bad_request() {
        for violation in bad_request.field_violations {
            text.push_str(&format!(
                "\n  field {}: {}",
                violation.field, violation.description
            ));
        }
    }
    anyhow::anyhow!(text)
}
