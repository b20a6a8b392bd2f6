//! Iroh transport: QUIC with ed25519 endpoint ids, dialed by id plus a direct address.
//! Relays, address lookup and port mapping stay off, so it works with no internet.
//! Streams and datagrams are mapped exactly as for [`crate::quic`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use iroh::endpoint::{presets, Connection as IrohConn, PortmapperConfig, QuicTransportConfig, VarInt};
use iroh::{Endpoint, EndpointAddr, EndpointId, NetReportConfig, RelayMode, SecretKey, TransportAddr};

use crate::quic::streams::{self, QuicLike, SendHalf};
use crate::quic::{tls, DATAGRAM_BUFFER, HANDSHAKE_TIMEOUT, IDLE_TIMEOUT, KEEP_ALIVE};
use crate::{
    ConnInfo, Connecting, Connection, Direction, Listener, PeerAddr, RemoteId, Scheme, Transport, TransportError,
    TransportKind,
};

/// Our ALPN on Iroh: one connection carries every class (QUIC links use two).
pub const ALPN: &[u8] = b"weft-p2p/1";

/// File in the data dir holding our 32-byte ed25519 secret key.
pub const KEY_FILE: &str = "iroh_secret_key";

/// How an [`IrohEndpoint`] is set up.
#[derive(Clone, Debug)]
pub struct IrohConfig {
    /// UDP address to bind (port 0 picks one).
    pub bind: SocketAddr,
    /// Where the secret key persists; `None` makes a new endpoint id every start.
    pub data_dir: Option<PathBuf>,
}

impl IrohConfig {
    /// A config binding `bind` with a key kept in `data_dir`.
    pub fn new(bind: SocketAddr, data_dir: Option<PathBuf>) -> Self {
        IrohConfig { bind, data_dir }
    }
}

/// Loads the secret key from `dir`, or creates it there (mode 0600).
fn load_or_create_key(dir: &Path) -> Result<SecretKey, TransportError> {
    let path = dir.join(KEY_FILE);
    match std::fs::read(&path) {
        Ok(raw) => {
            let bytes: [u8; 32] = raw
                .as_slice()
                .try_into()
                .map_err(|_| TransportError::Setup(format!("{}: not a 32-byte key", path.display())))?;
            Ok(SecretKey::from_bytes(&bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SecretKey::generate();
            std::fs::create_dir_all(dir)?;
            tls::write_private(&path, &key.to_bytes())?;
            Ok(key)
        }
        Err(e) => Err(e.into()),
    }
}

/// Per-stream receive window for Iroh. noq refuses a stream once its reassembly
/// buffer holds more than 1,024 separate chunks ("too many gaps in stream buffer"),
/// which the transports bench hit under heavy loopback loss with an 8 MiB window.
/// 2 MiB is about 1,750 full packets, so even alternate-packet loss leaves under
/// 1,024 holes. At 100 ms RTT that still gives 21 MB/s per stream.
pub const IROH_STREAM_WINDOW: u32 = 2 * 1024 * 1024;

/// The same timers as plain QUIC, with [`IROH_STREAM_WINDOW`] per stream (see
/// [`crate::quic`] for the rest of the arithmetic).
pub fn transport_config() -> Result<QuicTransportConfig, TransportError> {
    let idle = IDLE_TIMEOUT
        .try_into()
        .map_err(|_| TransportError::Setup("idle timeout out of range".into()))?;
    Ok(QuicTransportConfig::builder()
        .max_concurrent_bidi_streams(VarInt::from_u32(0))
        .max_concurrent_uni_streams(VarInt::from_u32(crate::TrafficClass::ALL.len() as u32))
        .stream_receive_window(VarInt::from_u32(IROH_STREAM_WINDOW))
        .receive_window(VarInt::from_u32(3 * IROH_STREAM_WINDOW))
        .send_window(3 * u64::from(IROH_STREAM_WINDOW))
        .keep_alive_interval(KEEP_ALIVE)
        .max_idle_timeout(Some(idle))
        .datagram_receive_buffer_size(Some(DATAGRAM_BUFFER))
        .datagram_send_buffer_size(DATAGRAM_BUFFER)
        .build())
}

/// An Iroh endpoint on one UDP socket: dial with [`Transport`], accept with
/// [`Listener`]. Cheap to clone; clones share the endpoint.
#[derive(Clone)]
pub struct IrohEndpoint {
    endpoint: Endpoint,
    local: SocketAddr,
}

impl IrohEndpoint {
    /// Loads or creates the key and binds, with relays, lookups and port mapping off.
    pub async fn bind(config: IrohConfig) -> Result<Self, TransportError> {
        let key = match &config.data_dir {
            Some(dir) => load_or_create_key(dir)?,
            None => SecretKey::generate(),
        };
        let endpoint = Endpoint::builder(presets::Minimal)
            .relay_mode(RelayMode::Disabled)
            .clear_address_lookup()
            .clear_ip_transports()
            .bind_addr(config.bind)
            .map_err(|e| TransportError::Setup(format!("bind {}: {e}", config.bind)))?
            .portmapper_config(PortmapperConfig::Disabled)
            .net_report_config(NetReportConfig::minimal())
            .secret_key(key)
            .alpns(vec![ALPN.to_vec()])
            .transport_config(transport_config()?)
            .bind()
            .await
            .map_err(|e| TransportError::Setup(format!("iroh bind {}: {e}", config.bind)))?;
        // Never await `online()` here: with relays disabled it waits forever.
        let local = endpoint
            .bound_sockets()
            .into_iter()
            .find(|a| a.is_ipv4() == config.bind.is_ipv4())
            .ok_or_else(|| TransportError::Setup("iroh bound no socket".into()))?;
        Ok(IrohEndpoint { endpoint, local })
    }

    /// Our endpoint id (ed25519 public key).
    pub fn id(&self) -> [u8; 32] {
        *self.endpoint.id().as_bytes()
    }

    /// The bound UDP address.
    pub fn socket_addr(&self) -> SocketAddr {
        self.local
    }

    /// Closes every connection and the endpoint.
    pub async fn close(&self) {
        self.endpoint.close().await
    }
}

/// The remote IP address of the connection's selected path.
fn remote_addr(conn: &IrohConn) -> Option<SocketAddr> {
    let paths = conn.paths();
    let path = paths.iter().find(|p| p.is_selected())?;
    match path.remote_addr() {
        TransportAddr::Ip(a) => Some(*a),
        _ => None,
    }
}

fn conn_info(conn: &IrohConn, direction: Direction, local: SocketAddr) -> ConnInfo {
    ConnInfo {
        kind: TransportKind::Iroh,
        direction,
        remote_id: RemoteId::IrohEndpoint(*conn.remote_id().as_bytes()),
        remote_addr: remote_addr(conn),
        local_addr: Some(local),
        session_id: None,
    }
}

#[async_trait]
impl Transport for IrohEndpoint {
    fn scheme(&self) -> Scheme {
        Scheme::Iroh
    }

    async fn dial(&self, addr: &PeerAddr) -> Result<Connection, TransportError> {
        if addr.scheme != Scheme::Iroh {
            return Err(TransportError::BadAddress(format!("not an iroh address: {addr}")));
        }
        let key = addr
            .key
            .as_deref()
            .ok_or_else(|| TransportError::BadAddress(format!("{addr}: missing endpoint id")))?;
        let id: EndpointId = key
            .parse()
            .map_err(|e| TransportError::BadAddress(format!("{addr}: bad endpoint id: {e}")))?;
        let socks = addr.resolve().await?;
        let target = EndpointAddr::from_parts(id, socks.into_iter().map(TransportAddr::Ip));
        let conn = tokio::time::timeout(HANDSHAKE_TIMEOUT, self.endpoint.connect(target, ALPN))
            .await
            .map_err(|_| TransportError::TimedOut)?
            .map_err(|e| TransportError::Handshake(e.to_string()))?;
        let info = conn_info(&conn, Direction::Outbound, self.local);
        streams::start(streams::Lanes::single(conn), info).await
    }
}

#[async_trait]
impl Listener for IrohEndpoint {
    fn local_addr(&self) -> PeerAddr {
        PeerAddr {
            scheme: Scheme::Iroh,
            key: Some(self.endpoint.id().to_string()),
            host: self.local.ip().to_string(),
            port: self.local.port(),
        }
    }

    async fn accept(&mut self) -> Result<Connecting, TransportError> {
        let incoming = self
            .endpoint
            .accept()
            .await
            .ok_or_else(|| TransportError::Closed("iroh endpoint closed".into()))?;
        let local = self.local;
        Ok(Box::pin(async move {
            let handshake = async {
                let accepting = incoming
                    .accept()
                    .map_err(|e| TransportError::Handshake(e.to_string()))?;
                accepting.await.map_err(|e| TransportError::Handshake(e.to_string()))
            };
            let conn = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
                .await
                .map_err(|_| TransportError::TimedOut)??;
            let info = conn_info(&conn, Direction::Inbound, local);
            streams::start(streams::Lanes::single(conn), info).await
        }))
    }
}

fn closed(e: impl std::fmt::Display) -> TransportError {
    TransportError::Closed(e.to_string())
}

impl SendHalf for iroh::endpoint::SendStream {
    fn set_priority(&self, priority: i32) {
        let _ = iroh::endpoint::SendStream::set_priority(self, priority);
    }

    fn finish(&mut self) {
        let _ = iroh::endpoint::SendStream::finish(self);
    }

    async fn write_chunks(&mut self, chunks: &mut [bytes::Bytes]) -> Result<(), TransportError> {
        iroh::endpoint::SendStream::write_all_chunks(self, chunks)
            .await
            .map_err(|e| TransportError::Closed(e.to_string()))
    }

    fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let fut = iroh::endpoint::SendStream::stopped(self);
        async move {
            let _ = fut.await;
        }
    }
}

impl QuicLike for IrohConn {
    type Send = iroh::endpoint::SendStream;
    type Recv = iroh::endpoint::RecvStream;

    async fn open_uni(&self) -> Result<Self::Send, TransportError> {
        IrohConn::open_uni(self).await.map_err(closed)
    }

    async fn accept_uni(&self) -> Result<Self::Recv, TransportError> {
        IrohConn::accept_uni(self).await.map_err(closed)
    }

    async fn read_datagram(&self) -> Result<Bytes, TransportError> {
        IrohConn::read_datagram(self).await.map_err(closed)
    }

    fn send_datagram(&self, data: Bytes) -> Result<(), TransportError> {
        use iroh::endpoint::SendDatagramError as E;
        let len = data.len();
        IrohConn::send_datagram(self, data).map_err(|e| match e {
            E::UnsupportedByPeer | E::Disabled => TransportError::Unsupported("datagrams"),
            E::TooLarge => crate::FrameError::Oversized(len as u64).into(),
            E::ConnectionLost(e) => closed(e),
        })
    }

    fn max_datagram_size(&self) -> Option<usize> {
        IrohConn::max_datagram_size(self)
    }

    fn close(&self, code: u32, reason: &[u8]) {
        IrohConn::close(self, VarInt::from_u32(code), reason)
    }

    fn close_reason(&self) -> Option<String> {
        IrohConn::close_reason(self).map(|e| e.to_string())
    }

    fn rtt(&self) -> Option<Duration> {
        let paths = self.paths();
        let rtt = paths.iter().find(|p| p.is_selected()).map(|p| p.rtt());
        rtt
    }
}
