//! What the core knows about one connected peer.

use std::time::Duration;

use weft_transports::{ConnInfo, Direction, PeerAddr};

use super::addr::Service;
use super::conn_type::ConnectionType;
use super::msg_bytes::MsgBytes;
use super::permissions::NetPermissions;
use super::ping::PingState;
use super::request_limits::RequestLimits;
use super::sync::PeerSync;
use super::time::Time;
use super::wire::Version;

/// A peer's handle inside the core: assigned by the driver, never a socket address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(pub u64);

impl std::fmt::Display for PeerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a peer is in the `version`/`verack` exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeState {
    /// Nothing received yet.
    AwaitingVersion,
    /// Their `version` is in; waiting for `verack`.
    AwaitingVerack,
    /// Both received: the peer is fully connected.
    Ready,
}

/// Core counts each message with its 24-byte v1 header, whatever the transport.
const MSG_HEADER_BYTES: u64 = 24;

/// One peer's state.
#[derive(Clone, Debug)]
pub struct Peer {
    /// The core's id.
    pub id: PeerId,
    /// What the transport established.
    pub conn: ConnInfo,
    /// The address we dialed (outbound only).
    pub dialed: Option<PeerAddr>,
    /// When the transport connection came up.
    pub connected_at: Time,
    /// Handshake progress.
    pub state: HandshakeState,
    /// The nonce in our `version`, for self-connection detection.
    pub local_nonce: u64,
    /// Their `version`, once received.
    pub version: Option<Version>,
    /// They sent BIP339 `wtxidrelay`.
    pub wtxid_relay: bool,
    /// They sent BIP155 `sendaddrv2`.
    pub addrv2: bool,
    /// Ping bookkeeping.
    pub ping: PingState,
    /// Headers-first sync state.
    pub sync: PeerSync,
    /// When we last queued a message for it.
    pub last_send: Option<Time>,
    /// When a message from it last arrived.
    pub last_recv: Option<Time>,
    /// Bytes sent per message type, counting a 24-byte v1 header each as Core does.
    pub sent_per_msg: MsgBytes,
    /// Bytes received per message type, counted the same way.
    pub recv_per_msg: MsgBytes,
    /// Why the connection exists.
    pub conn_type: ConnectionType,
    /// What `-whitelist`/`-whitebind` grant it.
    pub permissions: NetPermissions,
    /// Its network group, keyed with our secret (eviction and outbound diversity).
    pub net_group: u64,
    /// Its address as addrman knows it: dialed for outbound, the source for inbound.
    pub service: Option<Service>,
    /// When it last gave us a block that extended our chain.
    pub last_block_time: Option<Time>,
    /// When it last gave us a transaction our mempool accepted.
    pub last_tx_time: Option<Time>,
    /// Token buckets for its `getheaders` and `getdata`, and requests waiting on them.
    pub requests: RequestLimits,
}

impl Peer {
    /// A peer whose transport just connected.
    pub fn new(id: PeerId, conn: ConnInfo, dialed: Option<PeerAddr>, now: Time, local_nonce: u64) -> Self {
        // The node refines this once it knows why it dialed.
        let conn_type = if dialed.is_some() {
            ConnectionType::Manual
        } else {
            ConnectionType::Inbound
        };
        Peer {
            id,
            conn,
            dialed,
            connected_at: now,
            state: HandshakeState::AwaitingVersion,
            local_nonce,
            version: None,
            wtxid_relay: false,
            addrv2: false,
            ping: PingState::default(),
            sync: PeerSync::default(),
            last_send: None,
            last_recv: None,
            sent_per_msg: Default::default(),
            recv_per_msg: Default::default(),
            conn_type,
            permissions: NetPermissions::NONE,
            net_group: 0,
            service: None,
            last_block_time: None,
            requests: RequestLimits::new(now),
            last_tx_time: None,
        }
    }

    /// Whether we dialed this peer.
    pub fn is_outbound(&self) -> bool {
        self.conn.direction == Direction::Outbound
    }

    /// Whether `version` and `verack` have both been received.
    pub fn is_ready(&self) -> bool {
        self.state == HandshakeState::Ready
    }

    /// Counts one message in a per-type byte table.
    pub fn count_msg(table: &mut MsgBytes, command: &str, payload_len: usize) {
        table.add(command, payload_len as u64 + MSG_HEADER_BYTES);
    }

    /// Last measured round trip, if any.
    pub fn ping_time(&self) -> Option<Duration> {
        self.ping.last_rtt
    }
}
