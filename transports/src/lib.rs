//! Message transports for weft.
//!
//! Every transport turns a byte pipe into a sequence of whole [`Message`]s with a
//! remote identity that does not depend on the socket address. The p2p core above
//! never sees which transport a peer uses, only its [`ConnInfo`].

#![warn(missing_docs)]

pub mod addr;
pub mod error;
pub mod message;
pub mod stats;

pub mod iroh;
pub mod mem;
pub mod quic;
pub mod shortid;
pub mod stream_frame;
pub mod tcp;
pub mod v1;
pub mod v2;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

pub use addr::{PeerAddr, Scheme};
pub use error::{FrameError, TransportError};
pub use message::{Command, Message, Received, TrafficClass, COMMAND_LEN, MAX_MESSAGE_SIZE};
pub use stats::{ConnStats, StatsSnapshot};

/// Bitcoin network magic (the 4 message-start bytes).
pub type Magic = [u8; 4];

/// The wire protocol a connection ended up speaking (Core's `transport_protocol_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// TCP with v1 framing.
    TcpV1,
    /// TCP with BIP324 encryption.
    TcpV2,
    /// QUIC (quinn).
    Quic,
    /// Iroh.
    Iroh,
    /// In-process pair.
    Mem,
}

impl TransportKind {
    /// The name `getpeerinfo` shows.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::TcpV1 => "v1",
            TransportKind::TcpV2 => "v2",
            TransportKind::Quic => "quic",
            TransportKind::Iroh => "iroh",
            TransportKind::Mem => "mem",
        }
    }
}

/// Who opened the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The remote dialed us.
    Inbound,
    /// We dialed the remote.
    Outbound,
}

/// A peer's identity as the transport authenticates it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RemoteId {
    /// TCP has no keys: the socket address is all there is.
    Addr(SocketAddr),
    /// SHA-256 of the peer's certificate public key (QUIC).
    QuicKey([u8; 32]),
    /// The peer's Iroh endpoint id (an ed25519 public key).
    IrohEndpoint([u8; 32]),
    /// An in-process endpoint name.
    Mem(u64),
}

impl std::fmt::Display for RemoteId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RemoteId::Addr(a) => write!(f, "{a}"),
            RemoteId::QuicKey(k) => write!(f, "quic:{}", hex::encode(k)),
            RemoteId::IrohEndpoint(k) => write!(f, "iroh:{}", hex::encode(k)),
            RemoteId::Mem(n) => write!(f, "mem:{n}"),
        }
    }
}

/// What is known about a connection once its transport handshake is done.
#[derive(Clone, Debug)]
pub struct ConnInfo {
    /// The protocol in use (after any v2-to-v1 fallback).
    pub kind: TransportKind,
    /// Who dialed.
    pub direction: Direction,
    /// The authenticated identity.
    pub remote_id: RemoteId,
    /// The remote socket address, where there is one (for network groups and logs).
    pub remote_addr: Option<SocketAddr>,
    /// Our local socket address, where there is one.
    pub local_addr: Option<SocketAddr>,
    /// BIP324 session id, for v2 connections.
    pub session_id: Option<[u8; 32]>,
}

/// The receiving half of a connection.
#[async_trait]
pub trait MessageReader: Send {
    /// Waits for the next message or datagram. An error ends the connection.
    async fn recv(&mut self) -> Result<Received, TransportError>;
}

/// The sending half of a connection.
#[async_trait]
pub trait MessageWriter: Send {
    /// Queues or writes one message; returns once the transport has accepted it.
    /// Transports with one stream per class must not let a slow class block another.
    async fn send(&mut self, msg: Message) -> Result<(), TransportError>;

    /// Whether `send` of a message of `class` would complete without waiting.
    /// Single-stream transports are always ready.
    fn is_ready(&mut self, _class: TrafficClass) -> bool {
        true
    }

    /// Resolves once at least one of `classes` is ready (see [`Self::is_ready`]).
    /// Cancel-safe: dropping the future loses nothing.
    async fn wait_ready(&mut self, _classes: &[TrafficClass]) {}

    /// Largest datagram the path allows now, or `None` without datagram support.
    fn max_datagram_size(&self) -> Option<usize> {
        None
    }

    /// Sends an unreliable datagram.
    fn send_datagram(&mut self, _data: Bytes) -> Result<(), TransportError> {
        Err(TransportError::Unsupported("datagrams"))
    }

    /// Flushes what is queued and closes the connection.
    async fn close(&mut self, reason: &str);
}

/// An established connection, ready to be split into its halves.
pub struct Connection {
    /// Identity and addressing.
    pub info: ConnInfo,
    /// Receiving half.
    pub reader: Box<dyn MessageReader>,
    /// Sending half.
    pub writer: Box<dyn MessageWriter>,
    /// Counters shared by both halves.
    pub stats: Arc<ConnStats>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// An inbound connection whose transport handshake is still under way; the accept
/// loop hands it off so that one slow peer never blocks others.
pub type Connecting = Pin<Box<dyn Future<Output = Result<Connection, TransportError>> + Send>>;

/// Something that dials peers of one scheme.
#[async_trait]
pub trait Transport: Send + Sync {
    /// The scheme this transport dials.
    fn scheme(&self) -> Scheme;
    /// Dials `addr` and completes the transport handshake.
    async fn dial(&self, addr: &PeerAddr) -> Result<Connection, TransportError>;
}

/// Something that accepts peers.
#[async_trait]
pub trait Listener: Send {
    /// The address peers can dial to reach this listener (with our key where it has one).
    fn local_addr(&self) -> PeerAddr;
    /// Waits for the next inbound connection attempt.
    async fn accept(&mut self) -> Result<Connecting, TransportError>;
}
