//! QUIC transport (quinn): one UDP port that both dials and accepts, TLS 1.3 with
//! self-signed certificates over a persistent key, one unidirectional stream per
//! traffic class and RFC 9221 datagrams. Each peer link is two QUIC connections, so
//! blocks never queue ahead of control traffic (see `lanes`); on Linux the block
//! connections have sockets and a thread of their own (see `steering`).

mod bulk_runtime;
mod lanes;
mod reader;
mod steering;
pub(crate) mod streams;
pub mod tls;
mod writer;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::{
    ConnInfo, Connecting, Connection, Direction, Listener, PeerAddr, RemoteId, Scheme, Transport, TransportError,
    TransportKind,
};
use bulk_runtime::BulkRuntime;
use lanes::{Lobby, Role};
use streams::{Lanes, QuicLike, SendHalf};
use tls::TlsIdentity;

/// Our ALPN: peers that do not speak it fail the TLS handshake. Version 2 is the
/// two-lane link; version 1 (one connection) is what Iroh links still speak.
pub const ALPN: &[u8] = b"weft-p2p/2";

/// Longest a dial or an inbound handshake may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Keep-alive interval: well under the idle timeout, so idle peers stay connected.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// A connection with no packets for this long is dead.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Per-stream receive window. A 4 MB block at 100 ms RTT needs
/// 8 MiB / 0.1 s ≈ 84 MB/s of credit per stream, so it is never throttled by flow
/// control on any link slower than that.
pub const STREAM_WINDOW: u32 = 8 * 1024 * 1024;

/// Connection receive window: the three class streams at full window at once
/// (3 × 8 MiB = 24 MiB), so one busy class never eats another's credit.
pub const CONN_WINDOW: u32 = 3 * STREAM_WINDOW;

/// Send window (unacknowledged bytes in flight): as large as the peer's receive window.
pub const SEND_WINDOW: u64 = CONN_WINDOW as u64;

/// Datagram bytes buffered each way before old ones are dropped.
pub const DATAGRAM_BUFFER: usize = 1024 * 1024;

/// How a [`QuicEndpoint`] is set up.
#[derive(Clone, Debug)]
pub struct QuicConfig {
    /// UDP address to bind (port 0 picks one).
    pub bind: SocketAddr,
    /// Where the TLS key persists; `None` makes a new identity every start.
    pub data_dir: Option<PathBuf>,
}

impl QuicConfig {
    /// A config binding `bind` with a key kept in `data_dir`.
    pub fn new(bind: SocketAddr, data_dir: Option<PathBuf>) -> Self {
        QuicConfig { bind, data_dir }
    }
}

/// The quinn transport parameters both roles use (public for the benchmarks).
pub fn transport_config() -> Arc<quinn::TransportConfig> {
    let mut t = quinn::TransportConfig::default();
    // Peers open exactly one uni stream per class and no bidirectional ones.
    t.max_concurrent_bidi_streams(0u32.into())
        .max_concurrent_uni_streams((crate::TrafficClass::ALL.len() as u32).into())
        .stream_receive_window(STREAM_WINDOW.into())
        .receive_window(CONN_WINDOW.into())
        .send_window(SEND_WINDOW)
        .keep_alive_interval(Some(KEEP_ALIVE))
        .max_idle_timeout(quinn::IdleTimeout::try_from(IDLE_TIMEOUT).ok())
        .datagram_receive_buffer_size(Some(DATAGRAM_BUFFER))
        .datagram_send_buffer_size(DATAGRAM_BUFFER);
    Arc::new(t)
}

/// A QUIC endpoint on one UDP port: dial with [`Transport`], accept with [`Listener`].
/// Cheap to clone; clones share the sockets.
#[derive(Clone)]
pub struct QuicEndpoint {
    /// Main lanes, dialed and accepted, on the caller's runtime.
    endpoint: quinn::Endpoint,
    /// Bulk lanes on a thread of their own, where the kernel can steer them there.
    bulk: Option<BulkSide>,
    /// Client configs for the main and the bulk lane: each marks its lane in the first
    /// destination connection id (see [`steering`]).
    client: [quinn::ClientConfig; 2],
    id: [u8; 32],
    local: SocketAddr,
    /// Inbound lanes waiting to be paired into links.
    lobby: Arc<tokio::sync::Mutex<Lobby>>,
}

/// The endpoints that carry bulk lanes, all driven by one [`BulkRuntime`].
#[derive(Clone)]
struct BulkSide {
    /// Inbound bulk lanes: the listening port's second socket.
    inbound: quinn::Endpoint,
    /// Dialed bulk lanes, from a port of their own. A link's two lanes then never share
    /// an address pair, so a NIC that merges a flow's packets (GRO) never hands one
    /// lane's packets to the other's socket.
    outbound: quinn::Endpoint,
    rt: Arc<BulkRuntime>,
}

impl QuicEndpoint {
    /// Loads or creates the key, then binds the UDP sockets. Needs a tokio runtime.
    pub fn bind(config: QuicConfig) -> Result<Self, TransportError> {
        let identity = match &config.data_dir {
            Some(dir) => TlsIdentity::load_or_create(dir)?,
            None => TlsIdentity::ephemeral()?,
        };
        let transport = transport_config();
        let server_tls = quinn::crypto::rustls::QuicServerConfig::try_from(identity.server_config(ALPN)?)
            .map_err(|e| TransportError::Setup(e.to_string()))?;
        let mut server = quinn::ServerConfig::with_crypto(Arc::new(server_tls));
        server.transport_config(transport.clone());
        let client_tls = quinn::crypto::rustls::QuicClientConfig::try_from(identity.client_config(ALPN)?)
            .map_err(|e| TransportError::Setup(e.to_string()))?;
        let client_tls = Arc::new(client_tls);
        let client = [Role::Main, Role::Bulk].map(|role| {
            let mut c = quinn::ClientConfig::new(client_tls.clone());
            c.transport_config(transport.clone());
            c.initial_dst_cid_provider(Arc::new(move || steering::marked_initial_cid(role)));
            c
        });
        let bind_err = |e: std::io::Error| TransportError::Setup(format!("bind {}: {e}", config.bind));
        let tokio_rt: Arc<dyn quinn::Runtime> = Arc::new(quinn::TokioRuntime);
        let main_config = steering::endpoint_config(Role::Main);
        let (endpoint, bulk) = match steering::bind_pair(config.bind).map_err(bind_err)? {
            Some((main_socket, bulk_socket)) => {
                let endpoint = quinn::Endpoint::new(main_config, Some(server.clone()), main_socket, tokio_rt)?;
                let rt = Arc::new(BulkRuntime::start()?);
                let bulk_config = steering::endpoint_config(Role::Bulk);
                let inbound = quinn::Endpoint::new(bulk_config.clone(), Some(server), bulk_socket, rt.quinn_runtime())?;
                let out_socket =
                    steering::bind_bulk_outbound(SocketAddr::new(config.bind.ip(), 0)).map_err(bind_err)?;
                let outbound = quinn::Endpoint::new(bulk_config, None, out_socket, rt.quinn_runtime())?;
                (endpoint, Some(BulkSide { inbound, outbound, rt }))
            }
            None => {
                let socket = std::net::UdpSocket::bind(config.bind).map_err(bind_err)?;
                (quinn::Endpoint::new(main_config, Some(server), socket, tokio_rt)?, None)
            }
        };
        let local = endpoint.local_addr()?;
        Ok(QuicEndpoint {
            endpoint,
            bulk,
            client,
            id: identity.id(),
            local,
            lobby: Arc::default(),
        })
    }

    /// Our identity (SHA-256 of our certificate's public key).
    pub fn id(&self) -> [u8; 32] {
        self.id
    }

    /// The bound UDP address.
    pub fn socket_addr(&self) -> SocketAddr {
        self.local
    }

    /// Stops accepting and closes every connection.
    pub fn close(&self) {
        self.endpoint.close(streams::CLOSE_NORMAL.into(), b"shutdown");
        if let Some(bulk) = &self.bulk {
            bulk.inbound.close(streams::CLOSE_NORMAL.into(), b"shutdown");
            bulk.outbound.close(streams::CLOSE_NORMAL.into(), b"shutdown");
        }
    }

    /// The bulk thread, when bulk lanes have one.
    fn bulk_rt(&self) -> Option<Arc<BulkRuntime>> {
        self.bulk.as_ref().map(|b| b.rt.clone())
    }
}

/// Parses a pinned key: 64 hex characters.
fn parse_pin(key: &str) -> Result<[u8; 32], TransportError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(key, &mut out)
        .map_err(|_| TransportError::BadAddress(format!("quic key must be 64 hex chars, got {key:?}")))?;
    Ok(out)
}

/// The peer's identity from its TLS certificate.
fn peer_id(conn: &quinn::Connection) -> Result<[u8; 32], TransportError> {
    let certs = conn
        .peer_identity()
        .and_then(|any| any.downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>().ok())
        .ok_or_else(|| TransportError::Handshake("peer sent no certificate".into()))?;
    let cert = certs
        .first()
        .ok_or_else(|| TransportError::Handshake("peer sent no certificate".into()))?;
    tls::cert_identity(cert)
}

fn conn_info(conn: &quinn::Connection, direction: Direction, id: [u8; 32], local: SocketAddr) -> ConnInfo {
    ConnInfo {
        kind: TransportKind::Quic,
        direction,
        remote_id: RemoteId::QuicKey(id),
        remote_addr: Some(conn.remote_address()),
        local_addr: Some(local),
        session_id: None,
    }
}

#[async_trait]
impl Transport for QuicEndpoint {
    fn scheme(&self) -> Scheme {
        Scheme::Quic
    }

    async fn dial(&self, addr: &PeerAddr) -> Result<Connection, TransportError> {
        if addr.scheme != Scheme::Quic {
            return Err(TransportError::BadAddress(format!("not a quic address: {addr}")));
        }
        let pin = addr.key.as_deref().map(parse_pin).transpose()?;
        let candidates = addr.resolve().await?;
        // Our socket has one address family; pick a peer address in it.
        let target = candidates
            .iter()
            .find(|a| a.is_ipv4() == self.local.is_ipv4())
            .or(candidates.first())
            .copied()
            .ok_or_else(|| TransportError::BadAddress(format!("{addr} resolves to nothing")))?;
        // Both lanes at once: a link costs one handshake round trip, not two.
        let token: lanes::Token = rand::random();
        let (main, bulk) = tokio::join!(
            self.connect_lane(addr, target, Role::Main, &token),
            self.connect_lane(addr, target, Role::Bulk, &token)
        );
        let (main, bulk) = match (main, bulk) {
            (Ok(m), Ok(b)) => (m, b),
            (Err(e), other) | (other, Err(e)) => {
                if let Ok(c) = other {
                    c.close(streams::CLOSE_NORMAL.into(), b"other lane failed");
                }
                return Err(e);
            }
        };
        let refuse = |why: &[u8], err: TransportError| {
            main.close(streams::CLOSE_PROTOCOL.into(), why);
            bulk.close(streams::CLOSE_PROTOCOL.into(), why);
            Err(err)
        };
        let (id, bulk_id) = match (peer_id(&main), peer_id(&bulk)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return refuse(b"no certificate", e),
        };
        if bulk_id != id {
            let err = TransportError::Handshake(format!("{addr}: the two lanes reached two different keys"));
            return refuse(b"lane key mismatch", err);
        }
        if let Some(pin) = pin {
            if pin != id {
                let err = TransportError::KeyMismatch {
                    expected: hex::encode(pin),
                    got: hex::encode(id),
                };
                return refuse(b"key mismatch", err);
            }
        }
        let info = conn_info(&main, Direction::Outbound, id, self.local);
        streams::start(Lanes::paired(main, bulk, self.bulk_rt()), info).await
    }
}

#[async_trait]
impl Listener for QuicEndpoint {
    fn local_addr(&self) -> PeerAddr {
        PeerAddr {
            scheme: Scheme::Quic,
            key: Some(hex::encode(self.id)),
            host: self.local.ip().to_string(),
            port: self.local.port(),
        }
    }

    /// Handshakes run here, bounded, until both lanes of a link are in; the returned
    /// future only opens our streams.
    async fn accept(&mut self) -> Result<Connecting, TransportError> {
        let bulk_endpoint = self.bulk.as_ref().map(|b| &b.inbound);
        let (main, bulk, id) = self.lobby.lock().await.next_link(&self.endpoint, bulk_endpoint).await?;
        let info = conn_info(&main, Direction::Inbound, id, self.local);
        let lanes = Lanes::paired(main, bulk, self.bulk_rt());
        Ok(Box::pin(streams::start(lanes, info)))
    }
}

impl QuicEndpoint {
    /// Dials one lane of a link to `target` and completes its TLS handshake.
    async fn connect_lane(
        &self,
        addr: &PeerAddr,
        target: SocketAddr,
        role: Role,
        token: &lanes::Token,
    ) -> Result<quinn::Connection, TransportError> {
        let (endpoint, client) = match (role, &self.bulk) {
            (Role::Bulk, Some(bulk)) => (&bulk.outbound, &self.client[1]),
            (Role::Bulk, None) => (&self.endpoint, &self.client[1]),
            (Role::Main, _) => (&self.endpoint, &self.client[0]),
        };
        let connecting = endpoint
            .connect_with(client.clone(), target, &lanes::server_name(role, token))
            .map_err(|e| match e {
                quinn::ConnectError::EndpointStopping => TransportError::Closed("quic endpoint closed".into()),
                e => TransportError::BadAddress(format!("{addr}: {e}")),
            })?;
        tokio::time::timeout(HANDSHAKE_TIMEOUT, connecting)
            .await
            .map_err(|_| TransportError::TimedOut)?
            .map_err(|e| TransportError::Handshake(e.to_string()))
    }
}

fn closed(e: impl std::fmt::Display) -> TransportError {
    TransportError::Closed(e.to_string())
}

impl SendHalf for quinn::SendStream {
    fn set_priority(&self, priority: i32) {
        let _ = quinn::SendStream::set_priority(self, priority);
    }

    fn finish(&mut self) {
        let _ = quinn::SendStream::finish(self);
    }

    async fn write_chunks(&mut self, chunks: &mut [bytes::Bytes]) -> Result<(), TransportError> {
        quinn::SendStream::write_all_chunks(self, chunks)
            .await
            .map_err(|e| TransportError::Closed(e.to_string()))
    }

    fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let fut = quinn::SendStream::stopped(self);
        async move {
            let _ = fut.await;
        }
    }
}

impl QuicLike for quinn::Connection {
    type Send = quinn::SendStream;
    type Recv = quinn::RecvStream;

    async fn open_uni(&self) -> Result<Self::Send, TransportError> {
        quinn::Connection::open_uni(self).await.map_err(closed)
    }

    async fn accept_uni(&self) -> Result<Self::Recv, TransportError> {
        quinn::Connection::accept_uni(self).await.map_err(closed)
    }

    async fn read_datagram(&self) -> Result<Bytes, TransportError> {
        quinn::Connection::read_datagram(self).await.map_err(closed)
    }

    fn send_datagram(&self, data: Bytes) -> Result<(), TransportError> {
        let len = data.len();
        quinn::Connection::send_datagram(self, data).map_err(|e| match e {
            quinn::SendDatagramError::UnsupportedByPeer | quinn::SendDatagramError::Disabled => {
                TransportError::Unsupported("datagrams")
            }
            quinn::SendDatagramError::TooLarge => crate::FrameError::Oversized(len as u64).into(),
            quinn::SendDatagramError::ConnectionLost(e) => closed(e),
        })
    }

    fn max_datagram_size(&self) -> Option<usize> {
        quinn::Connection::max_datagram_size(self)
    }

    fn close(&self, code: u32, reason: &[u8]) {
        quinn::Connection::close(self, code.into(), reason)
    }

    fn close_reason(&self) -> Option<String> {
        quinn::Connection::close_reason(self).map(|e| e.to_string())
    }

    fn rtt(&self) -> Option<Duration> {
        Some(quinn::Connection::rtt(self))
    }
}
