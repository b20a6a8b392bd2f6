//! TCP transport: v1 framing or BIP324 v2, with Core's v1 detection on inbound
//! connections and its v2-to-v1 retry on outbound ones.

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use bytes::BytesMut;
use tokio::net::{TcpListener, TcpStream};

use crate::v1::{V1Codec, V1Reader, V1Writer};
use crate::v2::{self, InitiateError, Responded, V2Reader, V2Session, V2Writer, HANDSHAKE_STEP_TIMEOUT};
use crate::{
    ConnInfo, ConnStats, Connecting, Connection, Direction, Listener, Magic, PeerAddr, RemoteId, Scheme, Transport,
    TransportError, TransportKind,
};

/// How long a TCP connect may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Dials and listens on TCP for one network.
#[derive(Clone, Copy, Debug)]
pub struct TcpTransport {
    /// The network magic.
    pub magic: Magic,
    /// Try BIP324 first when dialing, and accept it when listening.
    pub v2: bool,
}

impl TcpTransport {
    /// A transport for the network with `magic`, offering BIP324 iff `v2`.
    pub fn new(magic: Magic, v2: bool) -> Self {
        TcpTransport { magic, v2 }
    }

    /// Binds a listener on `bind` (port 0 picks one). Needs a running tokio runtime.
    pub fn listen(&self, bind: SocketAddr) -> Result<TcpListenerHandle, TransportError> {
        let std_listener = std::net::TcpListener::bind(bind)?;
        std_listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(std_listener)?;
        let local = listener.local_addr()?;
        Ok(TcpListenerHandle {
            listener,
            local,
            transport: *self,
        })
    }

    /// Runs the inbound side of the transport handshake on an accepted socket.
    pub async fn accept_stream(self, stream: TcpStream) -> Result<Connection, TransportError> {
        let (peer, local) = addrs(&stream)?;
        let (mut rd, mut wr) = stream.into_split();
        if !self.v2 {
            return Ok(v1_conn(rd, wr, BytesMut::new(), self.magic, Direction::Inbound, peer, local));
        }
        match v2::respond(&mut rd, &mut wr, self.magic, HANDSHAKE_STEP_TIMEOUT).await? {
            Responded::V1 { buffered } => Ok(v1_conn(rd, wr, buffered, self.magic, Direction::Inbound, peer, local)),
            Responded::V2(session) => Ok(v2_conn(rd, wr, session, Direction::Inbound, peer, local)),
        }
    }

    /// Runs the outbound side of the transport handshake on a connected socket,
    /// redialing `peer` with v1 if a v2 attempt gets no reply.
    pub async fn connect_stream(self, stream: TcpStream) -> Result<Connection, TransportError> {
        let (peer, local) = addrs(&stream)?;
        let (mut rd, mut wr) = stream.into_split();
        if !self.v2 {
            return Ok(v1_conn(rd, wr, BytesMut::new(), self.magic, Direction::Outbound, peer, local));
        }
        match v2::initiate(&mut rd, &mut wr, self.magic, HANDSHAKE_STEP_TIMEOUT).await {
            Ok(session) => Ok(v2_conn(rd, wr, session, Direction::Outbound, peer, local)),
            Err(InitiateError::NoReply(why)) => {
                tracing::info!(%peer, %why, "v2 handshake failed before any reply; retrying with v1");
                drop((rd, wr));
                let stream = connect(&[peer]).await?;
                let (peer, local) = addrs(&stream)?;
                let (rd, wr) = stream.into_split();
                Ok(v1_conn(rd, wr, BytesMut::new(), self.magic, Direction::Outbound, peer, local))
            }
            Err(InitiateError::Failed(e)) => Err(e),
        }
    }
}

#[async_trait]
impl Transport for TcpTransport {
    fn scheme(&self) -> Scheme {
        Scheme::Tcp
    }

    async fn dial(&self, addr: &PeerAddr) -> Result<Connection, TransportError> {
        if addr.scheme != Scheme::Tcp {
            return Err(TransportError::BadAddress(format!("{addr} is not a tcp address")));
        }
        let stream = connect(&addr.resolve().await?).await?;
        self.connect_stream(stream).await
    }
}

/// A bound TCP listener; each accepted socket's handshake runs in its [`Connecting`].
pub struct TcpListenerHandle {
    listener: TcpListener,
    local: SocketAddr,
    transport: TcpTransport,
}

impl TcpListenerHandle {
    /// The bound socket address.
    pub fn socket_addr(&self) -> SocketAddr {
        self.local
    }
}

#[async_trait]
impl Listener for TcpListenerHandle {
    fn local_addr(&self) -> PeerAddr {
        PeerAddr {
            scheme: Scheme::Tcp,
            key: None,
            host: self.local.ip().to_string(),
            port: self.local.port(),
        }
    }

    async fn accept(&mut self) -> Result<Connecting, TransportError> {
        let (stream, _) = self.listener.accept().await?;
        let t = self.transport;
        Ok(Box::pin(t.accept_stream(stream)))
    }
}

/// Connects to the first of `addrs` that answers.
async fn connect(addrs: &[SocketAddr]) -> Result<TcpStream, TransportError> {
    let mut last = TransportError::BadAddress("no addresses".into());
    for a in addrs {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(a)).await {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err(e)) => last = e.into(),
            Err(_) => last = TransportError::TimedOut,
        }
    }
    Err(last)
}

/// Peer and local addresses; also turns Nagle off, as Core does.
fn addrs(stream: &TcpStream) -> Result<(SocketAddr, SocketAddr), TransportError> {
    stream.set_nodelay(true)?;
    Ok((stream.peer_addr()?, stream.local_addr()?))
}

fn info(kind: TransportKind, direction: Direction, peer: SocketAddr, local: SocketAddr) -> ConnInfo {
    ConnInfo {
        kind,
        direction,
        remote_id: RemoteId::Addr(peer),
        remote_addr: Some(peer),
        local_addr: Some(local),
        session_id: None,
    }
}

fn v1_conn(
    rd: tokio::net::tcp::OwnedReadHalf,
    wr: tokio::net::tcp::OwnedWriteHalf,
    buffered: BytesMut,
    magic: Magic,
    direction: Direction,
    peer: SocketAddr,
    local: SocketAddr,
) -> Connection {
    let stats = ConnStats::new();
    let codec = V1Codec::new(magic);
    Connection {
        info: info(TransportKind::TcpV1, direction, peer, local),
        reader: Box::new(V1Reader::new(rd, codec, buffered, stats.clone())),
        writer: Box::new(V1Writer::new(wr, codec, stats.clone())),
        stats,
    }
}

fn v2_conn(
    rd: tokio::net::tcp::OwnedReadHalf,
    wr: tokio::net::tcp::OwnedWriteHalf,
    s: V2Session,
    direction: Direction,
    peer: SocketAddr,
    local: SocketAddr,
) -> Connection {
    let stats = ConnStats::new();
    stats.add_raw(s.sent, s.received);
    let mut info = info(TransportKind::TcpV2, direction, peer, local);
    info.session_id = Some(s.session_id);
    Connection {
        info,
        reader: Box::new(V2Reader::new(rd, s.decoder, s.leftover, stats.clone())),
        writer: Box::new(V2Writer::new(wr, s.encoder, stats.clone())),
        stats,
    }
}
