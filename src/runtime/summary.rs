//! A plain snapshot of one peer, for RPC and tests.

use std::time::Duration;

use weft_transports::{Direction, StatsSnapshot, TransportKind};

use crate::p2p::{Peer, PeerId};

/// What `getpeerinfo`-style callers see of a peer.
#[derive(Clone, Debug)]
pub struct PeerSummary {
    /// The core's id.
    pub id: PeerId,
    /// Wire protocol in use.
    pub transport: TransportKind,
    /// Who dialed.
    pub direction: Direction,
    /// Authenticated identity, as text.
    pub remote: String,
    /// Handshake complete.
    pub ready: bool,
    /// Their protocol version (0 before `version`).
    pub version: i32,
    /// Their user agent.
    pub user_agent: String,
    /// Their services.
    pub services: u64,
    /// Latest ping RTT.
    pub ping: Option<Duration>,
    /// Smallest ping RTT.
    pub min_ping: Option<Duration>,
    /// Byte and message counters.
    pub stats: StatsSnapshot,
}

impl PeerSummary {
    /// From the core's peer and the transport's counters.
    pub fn new(p: &Peer, stats: StatsSnapshot) -> Self {
        let v = p.version.as_ref();
        PeerSummary {
            id: p.id,
            transport: p.conn.kind,
            direction: p.conn.direction,
            remote: p.conn.remote_id.to_string(),
            ready: p.is_ready(),
            version: v.map_or(0, |v| v.version),
            user_agent: v.map_or_else(String::new, |v| v.user_agent.clone()),
            services: v.map_or(0, |v| v.services),
            ping: p.ping.last_rtt,
            min_ping: p.ping.min_rtt,
            stats,
        }
    }
}
