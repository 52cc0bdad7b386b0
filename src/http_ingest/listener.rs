//! The socket of the HTTP ingest listener: TCP, or TLS with the gRPC listener's certificate (and
//! its required client certificates under mutual TLS). Connections are accepted by a task of their
//! own, each TLS handshake runs in a task of its own within [`HANDSHAKE_TIMEOUT`] (a slow client
//! holds up no other), and the connections ready to serve are handed to axum's server through
//! [`IngestListener`], each with its [`Peer`]: its address and the certificate it presented.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

use crate::tls::HANDSHAKE_TIMEOUT;

/// Who is at the other end of a connection.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The client's address.
    pub addr: SocketAddr,
    /// The client certificate (DER, the leaf) its TLS handshake verified, under mutual TLS.
    pub certificate: Option<Arc<[u8]>>,
}

impl Connected<IncomingStream<'_, IngestListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, IngestListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A connection, in plaintext or TLS.
#[derive(Debug)]
pub enum Connection {
    /// Plaintext.
    Plain(TcpStream),
    /// TLS.
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Connection::Tls(stream) => Pin::new(stream).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Connection::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Connection::Tls(stream) => Pin::new(stream).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Connection::Tls(stream) => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Connection::Tls(stream) => Pin::new(stream).poll_shutdown(cx),
        }
    }
}

/// The bound socket, not yet accepting: bound early, so that a taken port stops the server before
/// anything is opened.
#[derive(Debug)]
pub struct BoundSocket {
    listener: TcpListener,
    local_addr: SocketAddr,
}

impl BoundSocket {
    /// Binds `address`.
    pub async fn bind(address: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind(address).await?;
        let local_addr = listener.local_addr()?;
        Ok(Self {
            listener,
            local_addr,
        })
    }

    /// Where it listens (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Starts accepting connections (over TLS when `tls` is given).
    pub fn accept(self, tls: Option<Arc<ServerConfig>>) -> IngestListener {
        let (ready, incoming) = mpsc::channel(64);
        tokio::spawn(accept_loop(
            self.listener,
            tls.map(TlsAcceptor::from),
            ready,
        ));
        IngestListener {
            incoming,
            local_addr: self.local_addr,
        }
    }
}

/// The connections ready to serve, for `axum::serve`. Dropped (when the server stops), the accept
/// task ends.
#[derive(Debug)]
pub struct IngestListener {
    incoming: mpsc::Receiver<(Connection, Peer)>,
    local_addr: SocketAddr,
}

impl axum::serve::Listener for IngestListener {
    type Io = Connection;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(connection) => connection,
            // The accept task only ends once this receiver is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(Peer {
            addr: self.local_addr,
            certificate: None,
        })
    }
}

/// Accepts connections until `ready` closes, handing them over (after their TLS handshake).
async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    ready: mpsc::Sender<(Connection, Peer)>,
) {
    loop {
        let accepted = tokio::select! {
            () = ready.closed() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, addr) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(%error, "HTTP ingest listener: accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        // Small answers must not wait for delayed ACKs (as on the gRPC listener).
        let _ = stream.set_nodelay(true);
        let Some(acceptor) = tls.clone() else {
            let peer = Peer {
                addr,
                certificate: None,
            };
            if ready.send((Connection::Plain(stream), peer)).await.is_err() {
                return;
            }
            continue;
        };
        let ready = ready.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => {
                    let certificate = stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .map(|leaf| Arc::from(leaf.as_ref()));
                    let peer = Peer { addr, certificate };
                    let _ = ready.send((Connection::Tls(Box::new(stream)), peer)).await;
                }
                Ok(Err(error)) => {
                    tracing::debug!(%addr, %error, "HTTP ingest: TLS handshake failed")
                }
                Err(_) => tracing::debug!(%addr, "HTTP ingest: TLS handshake timed out"),
            }
        });
    }
}
