//! A plain snapshot of one peer, for RPC and tests.

use std::net::SocketAddr;
use std::time::Duration;

use bitcoin::BlockHash;
use weft_transports::{Direction, StatsSnapshot, TransportKind};

use crate::p2p::{Node, Peer, PeerId, Time};

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
    /// The remote socket address, where the transport has one.
    pub remote_addr: Option<SocketAddr>,
    /// Our end of the connection.
    pub local_addr: Option<SocketAddr>,
    /// The address we dialed, for outbound peers.
    pub dialed: Option<String>,
    /// Handshake complete.
    pub ready: bool,
    /// Their protocol version (0 before `version`).
    pub version: i32,
    /// Their user agent.
    pub user_agent: String,
    /// Their services.
    pub services: u64,
    /// Their `version` start height.
    pub start_height: i32,
    /// Their `version` relay flag.
    pub relay: bool,
    /// Their clock minus ours at `version`, in seconds.
    pub time_offset: i64,
    /// When the transport connected.
    pub connected_at: Time,
    /// Last message queued to them.
    pub last_send: Option<Time>,
    /// Last message from them.
    pub last_recv: Option<Time>,
    /// The best block they announced, and its height.
    pub best_known: Option<(BlockHash, u32)>,
    /// Heights of blocks requested from them.
    pub in_flight: Vec<u32>,
    /// BIP324 session id.
    pub session_id: Option<[u8; 32]>,
    /// Latest ping RTT.
    pub ping: Option<Duration>,
    /// Smallest ping RTT.
    pub min_ping: Option<Duration>,
    /// How long the outstanding ping has waited.
    pub ping_wait: Option<Duration>,
    /// Bytes sent per message type.
    pub sent_per_msg: std::collections::BTreeMap<String, u64>,
    /// Bytes received per message type.
    pub recv_per_msg: std::collections::BTreeMap<String, u64>,
    /// Byte and message counters.
    pub stats: StatsSnapshot,
    /// Address relay is set up with it.
    pub addr_relay: bool,
    /// Addresses of theirs processed.
    pub addr_processed: u64,
    /// Addresses of theirs dropped by the rate limit.
    pub addr_rate_limited: u64,
    /// Why the connection exists (Core's `connection_type`).
    pub conn_type: crate::p2p::conn_type::ConnectionType,
    /// Its permission names, in Core's order.
    pub permissions: Vec<&'static str>,
    /// weft's quality score, 0–100, and its parts.
    pub quality: crate::p2p::quality::QualityParts,
}

impl PeerSummary {
    /// From the core's peer and the transport's counters.
    pub fn new(node: &Node, p: &Peer, stats: StatsSnapshot, now: Time) -> Self {
        let v = p.version.as_ref();
        let addrs = node.peer_addrs(p.id);
        PeerSummary {
            id: p.id,
            transport: p.conn.kind,
            direction: p.conn.direction,
            remote: p.conn.remote_id.to_string(),
            remote_addr: p.conn.remote_addr,
            local_addr: p.conn.local_addr,
            dialed: p.dialed.as_ref().map(|d| d.to_string()),
            ready: p.is_ready(),
            version: v.map_or(0, |v| v.version),
            user_agent: v.map_or_else(String::new, |v| v.user_agent.clone()),
            services: v.map_or(0, |v| v.services),
            start_height: v.map_or(-1, |v| v.start_height),
            relay: v.is_some_and(|v| v.relay),
            time_offset: v.map_or(0, |v| v.timestamp - (p.connected_at.0 / 1_000_000) as i64),
            connected_at: p.connected_at,
            last_send: p.last_send,
            last_recv: p.last_recv,
            best_known: p.sync.best_known.map(|h| (h, p.sync.best_known_height)),
            in_flight: node.in_flight_heights(p.id),
            session_id: p.conn.session_id,
            ping: p.ping.last_rtt,
            min_ping: p.ping.min_rtt,
            ping_wait: p.ping.outstanding.map(|(_, sent)| now.since(sent)),
            sent_per_msg: p.sent_per_msg.to_map(),
            recv_per_msg: p.recv_per_msg.to_map(),
            stats,
            addr_relay: addrs.is_some(),
            addr_processed: addrs.map_or(0, |a| a.processed),
            addr_rate_limited: addrs.map_or(0, |a| a.rate_limited),
            conn_type: p.conn_type,
            permissions: p.permissions.names(),
            quality: crate::p2p::quality::QualityParts::of(p, now),
        }
    }
}
