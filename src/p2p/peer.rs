//! What the core knows about one connected peer.

use std::time::Duration;

use weft_transports::{ConnInfo, Direction, PeerAddr};

use super::ping::PingState;
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
}

impl Peer {
    /// A peer whose transport just connected.
    pub fn new(id: PeerId, conn: ConnInfo, dialed: Option<PeerAddr>, now: Time, local_nonce: u64) -> Self {
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

    /// Last measured round trip, if any.
    pub fn ping_time(&self) -> Option<Duration> {
        self.ping.last_rtt
    }
}
