//! Links between nodes and the transports over them: latency drawn once per link,
//! jitter and loss per message, and the ordering each transport imposes. TCP is one
//! ordered stream, so a lost segment holds back everything behind it until its
//! retransmission; QUIC runs one stream per traffic class, so a loss stalls only its
//! own class. Iroh is QUIC between endpoint ids; when the two ends find no direct path,
//! every packet goes through a relay, which adds the relay hop's latency each way
//! (handshake round trips included). Bandwidth queues are per node and live in the
//! driver.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use rand::Rng;
use rand_chacha::ChaCha20Rng;
use weft::p2p::Time;
use weft_transports::{PeerAddr, Scheme, TrafficClass, TransportKind};

use crate::dist::{rng_for, Stream};
use crate::scenario::LinkConfig;

/// TCP payload bytes per segment (1500-byte MTU, timestamps on).
const TCP_MSS: u64 = 1_448;
/// TCP/IP header bytes per segment.
const TCP_PACKET_OVERHEAD: u64 = 52;
/// QUIC payload bytes per packet.
const QUIC_MSS: u64 = 1_200;
/// UDP/IP, short header and AEAD tag bytes per QUIC packet.
const QUIC_PACKET_OVERHEAD: u64 = 57;
/// The port every simulated node listens on.
pub const PORT: u16 = 8333;

/// The transport a link runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// TCP with v1 framing, or BIP324 v2 encryption.
    Tcp {
        /// BIP324 v2.
        v2: bool,
    },
    /// QUIC: one stream per traffic class.
    Quic,
    /// Iroh: QUIC between endpoint ids, directly or through a relay.
    Iroh {
        /// No direct path: packets go through a relay server.
        relayed: bool,
    },
}

impl Transport {
    /// Round trips from the dial until the dialer may send `version`.
    pub fn handshake_rtts(self) -> u64 {
        match self {
            // SYN/SYN-ACK, then for v2 the key exchange.
            Transport::Tcp { v2 } => 1 + u64::from(v2),
            // QUIC's 1-RTT handshake (no 0-RTT on a first contact); iroh's is QUIC's,
            // with a relayed path's round trips already in the link latency.
            Transport::Quic | Transport::Iroh { .. } => 1,
        }
    }

    /// What the core is told the connection is.
    pub fn kind(self) -> TransportKind {
        match self {
            Transport::Tcp { v2: true } => TransportKind::TcpV2,
            Transport::Tcp { v2: false } => TransportKind::TcpV1,
            Transport::Quic => TransportKind::Quic,
            Transport::Iroh { .. } => TransportKind::Iroh,
        }
    }

    /// The address scheme a dial over this transport uses.
    pub fn scheme(self) -> Scheme {
        match self {
            Transport::Tcp { .. } => Scheme::Tcp,
            Transport::Quic => Scheme::Quic,
            Transport::Iroh { .. } => Scheme::Iroh,
        }
    }

    /// Bytes on the wire for a message with `payload` bytes: framing plus packet headers.
    pub fn wire_bytes(self, payload: usize) -> u64 {
        let payload = payload as u64;
        let (framed, mss, per_packet) = match self {
            // Magic, command, length and checksum.
            Transport::Tcp { v2: false } => (payload + 24, TCP_MSS, TCP_PACKET_OVERHEAD),
            // Length, header byte, short message id and the AEAD tag.
            Transport::Tcp { v2: true } => (payload + 21, TCP_MSS, TCP_PACKET_OVERHEAD),
            // Stream frame header and the message type. Relay framing is not counted.
            Transport::Quic | Transport::Iroh { .. } => (payload + 5, QUIC_MSS, QUIC_PACKET_OVERHEAD),
        };
        framed + framed.div_ceil(mss) * per_packet
    }

    fn packets(self, wire: u64) -> u64 {
        let mss = match self {
            Transport::Tcp { .. } => TCP_MSS + TCP_PACKET_OVERHEAD,
            Transport::Quic | Transport::Iroh { .. } => QUIC_MSS + QUIC_PACKET_OVERHEAD,
        };
        wire.div_ceil(mss).max(1)
    }

    fn stream(self, class: TrafficClass) -> usize {
        match self {
            Transport::Tcp { .. } => 0,
            Transport::Quic | Transport::Iroh { .. } => class.index(),
        }
    }
}

/// The address node `index` is dialed at, over QUIC or TCP.
pub fn node_addr(index: u32, quic: bool) -> PeerAddr {
    node_addr_for(index, if quic { Scheme::Quic } else { Scheme::Tcp })
}

/// The address node `index` is dialed at over `scheme`; an iroh address carries the
/// node's endpoint id, as weftd's `iroh://<id>@host:port`.
pub fn node_addr_for(index: u32, scheme: Scheme) -> PeerAddr {
    PeerAddr {
        scheme,
        key: (scheme == Scheme::Iroh).then(|| hex::encode(endpoint_id(index))),
        host: node_ip(index).to_string(),
        port: PORT,
    }
}

/// Node `index`'s iroh endpoint id: a stand-in for its ed25519 key, unique per node.
pub fn endpoint_id(index: u32) -> [u8; 32] {
    let mut id = [0u8; 32];
    id[..8].copy_from_slice(b"netsimid");
    id[28..].copy_from_slice(&index.to_be_bytes());
    id
}

/// The transport weftd would pick between two nodes: the first of QUIC, iroh, TCP
/// (its default `-prefer` order) that both speak; every node speaks TCP.
pub fn choose(a: Speaks, b: Speaks) -> Scheme {
    if a.quic && b.quic {
        Scheme::Quic
    } else if a.iroh && b.iroh {
        Scheme::Iroh
    } else {
        Scheme::Tcp
    }
}

/// The transports a node speaks besides TCP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Speaks {
    /// QUIC.
    pub quic: bool,
    /// Iroh.
    pub iroh: bool,
}

/// The IP address of node `index` (10.0.0.0/8, in order).
pub fn node_ip(index: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0a00_0000u32.wrapping_add(index))
}

/// The node an address names, if it names one of `nodes`.
pub fn node_of(addr: &PeerAddr, nodes: u32) -> Option<u32> {
    let ip: Ipv4Addr = addr.host.parse().ok()?;
    let index = u32::from(ip).checked_sub(0x0a00_0000)?;
    (index < nodes && addr.port == PORT).then_some(index)
}

/// One connection between two nodes.
#[derive(Debug)]
pub struct Link {
    /// The dialer.
    pub a: u32,
    /// The listener.
    pub b: u32,
    /// The transport.
    pub transport: Transport,
    /// Base one-way latency, µs.
    pub latency_us: u64,
    /// Whether neither end has closed it.
    pub open: bool,
    /// Whether the dialer opened it as a block-relay-only connection.
    pub block_relay: bool,
    /// Per direction (0: a to b): only the sending end touches its own, so the two
    /// ends may run on different workers at once.
    dirs: [Mutex<Direction>; 2],
    /// Per end (0: dialer), whether it was told it is connected.
    up: [AtomicBool; 2],
}

/// One direction of a link: its draws and its streams' order.
#[derive(Debug)]
struct Direction {
    rng: ChaCha20Rng,
    /// Per stream, the latest arrival so far.
    last_arrival: [Time; 3],
}

impl Link {
    /// Link `id` from `a` to `b`, its latency drawn from its own stream.
    pub fn new(id: u64, a: u32, b: u32, transport: Transport, cfg: &LinkConfig, seed: u64) -> Self {
        let mut rng = rng_for(seed, Stream::Link(id));
        let latency_us = (cfg.latency_ms.sample(&mut rng) * 1_000.0).round().max(1.0) as u64;
        let back = rng_for(seed, Stream::LinkBack(id));
        let dir = |rng| {
            Mutex::new(Direction {
                rng,
                last_arrival: [Time(0); 3],
            })
        };
        Link {
            a,
            b,
            transport,
            latency_us,
            open: true,
            block_relay: false,
            dirs: [dir(rng), dir(back)],
            up: [AtomicBool::new(false), AtomicBool::new(false)],
        }
    }

    /// The other end from `node`.
    pub fn peer_of(&self, node: u32) -> u32 {
        if node == self.a {
            self.b
        } else {
            self.a
        }
    }

    /// Records that end `end` (0: dialer, 1: listener) was told it is connected; only
    /// that end's worker writes it.
    pub fn mark_up(&self, end: usize) {
        self.up[end].store(true, Ordering::Relaxed);
    }

    /// Whether end `end` was told it is connected.
    pub fn is_up(&self, end: usize) -> bool {
        self.up[end].load(Ordering::Relaxed)
    }

    /// Round-trip time, µs.
    pub fn rtt_us(&self) -> u64 {
        2 * self.latency_us
    }

    /// Time from the dial until the dialer may send `version`, µs.
    pub fn handshake_us(&self) -> u64 {
        self.transport.handshake_rtts() * self.rtt_us()
    }

    /// Puts the relay hop (`hop_us` more each way) on the path of a relayed iroh link;
    /// call after the base latency is final. Other links are left alone.
    pub fn add_relay_hop(&mut self, hop_us: u64) {
        if self.transport == (Transport::Iroh { relayed: true }) {
            self.latency_us += hop_us;
        }
    }

    /// When a message of `wire` bytes of `class` that left `from` at `depart` (fully
    /// serialized) arrives, given jitter, loss and its stream's ordering.
    pub fn transit(&self, cfg: &LinkConfig, from: u32, class: TrafficClass, wire: u64, depart: Time) -> Time {
        let dir = usize::from(from != self.a);
        // Each direction is only ever used by its sender, so the lock is never contended;
        // a poisoned one still holds consistent draws.
        let mut d = self.dirs[dir].lock().unwrap_or_else(|e| e.into_inner());
        let jitter = (d.rng.gen::<f64>() * cfg.jitter_ms * 1_000.0) as u64;
        let mut arrival = depart.0 + self.latency_us + jitter;
        if cfg.loss > 0.0 {
            let packets = self.transport.packets(wire);
            let p_all_arrive = (1.0 - cfg.loss).powf(packets as f64);
            if d.rng.gen::<f64>() >= p_all_arrive {
                arrival += self.recovery_us(cfg);
            }
        }
        let slot = &mut d.last_arrival[self.transport.stream(class)];
        let at = Time(arrival.max(slot.0));
        *slot = at;
        at
    }

    /// Extra delay of a message one of whose packets was lost.
    fn recovery_us(&self, cfg: &LinkConfig) -> u64 {
        let rtt = self.rtt_us() as f64;
        match self.transport {
            // A retransmission timeout: Linux's floor, or about an RTT plus variance.
            Transport::Tcp { .. } => (cfg.min_rto_ms * 1_000.0).max(rtt * 1.5) as u64,
            // QUIC's packet-threshold/time-threshold detection: about 9/8 of an RTT.
            Transport::Quic | Transport::Iroh { .. } => (rtt * 9.0 / 8.0) as u64,
        }
    }
}

/// Microseconds to push `bytes` through `mbps`.
pub fn serialization_us(bytes: u64, mbps: f64) -> u64 {
    // bits / (Mbit/s) = µs.
    ((bytes * 8) as f64 / mbps).ceil() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::Dist;

    fn cfg(loss: f64) -> LinkConfig {
        LinkConfig {
            latency_ms: Dist::Constant { value: 50.0 },
            jitter_ms: 0.0,
            loss,
            ..LinkConfig::default()
        }
    }

    #[test]
    fn addresses_round_trip() {
        let addr = node_addr(300, true);
        assert_eq!(addr.scheme, Scheme::Quic);
        assert_eq!(node_of(&addr, 301), Some(300));
        assert_eq!(node_of(&addr, 300), None);
        let other = PeerAddr {
            host: "192.168.0.1".into(),
            ..addr
        };
        assert_eq!(node_of(&other, 1_000), None);
    }

    #[test]
    fn wire_bytes_count_framing_and_packets() {
        assert_eq!(Transport::Tcp { v2: false }.wire_bytes(0), 24 + 52);
        assert_eq!(Transport::Tcp { v2: false }.wire_bytes(1_448 - 24 + 1), 1_449 + 2 * 52);
        assert!(Transport::Quic.wire_bytes(1_000_000) > 1_000_000);
    }

    #[test]
    fn tcp_loss_blocks_later_messages_but_quic_streams_do_not() {
        let c = cfg(0.999);
        let tcp = Link::new(1, 0, 1, Transport::Tcp { v2: false }, &c, 9);
        let first = tcp.transit(&c, 0, TrafficClass::Block, 100_000, Time(0));
        assert!(first.0 >= 50_000 + 200_000, "{first:?}");
        let clean = cfg(0.0);
        let second = tcp.transit(&clean, 0, TrafficClass::Control, 10, Time(1));
        assert_eq!(second, first, "head-of-line blocked");
        let back = tcp.transit(&clean, 1, TrafficClass::Control, 10, Time(1));
        assert_eq!(back, Time(50_001), "the other direction is its own stream");

        let quic = Link::new(1, 0, 1, Transport::Quic, &c, 9);
        let block = quic.transit(&c, 0, TrafficClass::Block, 100_000, Time(0));
        assert!(block.0 > 50_000);
        let ping = quic.transit(&clean, 0, TrafficClass::Control, 10, Time(1));
        assert_eq!(ping, Time(50_001), "another class is not held back");
        let tx = quic.transit(&clean, 0, TrafficClass::Block, 10, Time(1));
        assert_eq!(tx, block, "the same class stays in order");
    }

    #[test]
    fn iroh_is_quic_plus_the_relay_hop() {
        let c = cfg(0.0);
        let direct_t = Transport::Iroh { relayed: false };
        let mut direct = Link::new(3, 0, 1, direct_t, &c, 9);
        direct.add_relay_hop(30_000);
        assert_eq!(direct.handshake_us(), 100_000, "one round trip of 2 x 50 ms");
        assert_eq!(direct.transit(&c, 0, TrafficClass::Tx, 500, Time(0)), Time(50_000));
        let mut relayed = Link::new(3, 0, 1, Transport::Iroh { relayed: true }, &c, 9);
        relayed.add_relay_hop(30_000);
        assert_eq!(relayed.handshake_us(), 160_000, "the round trip pays the hop twice");
        assert_eq!(relayed.transit(&c, 0, TrafficClass::Tx, 500, Time(0)), Time(80_000));
        assert_eq!(relayed.transit(&c, 1, TrafficClass::Tx, 500, Time(0)), Time(80_000));
        let quic = Link::new(3, 0, 1, Transport::Quic, &c, 9);
        assert_eq!(quic.handshake_us(), direct.handshake_us());
        assert_eq!(direct_t.wire_bytes(1_000), Transport::Quic.wire_bytes(1_000));
        assert_eq!(direct_t.kind(), TransportKind::Iroh);

        // A loss on a relayed link stalls only its class, and costs ~9/8 of the longer RTT.
        let lossy = cfg(0.999);
        let mut relayed = Link::new(4, 0, 1, Transport::Iroh { relayed: true }, &lossy, 9);
        relayed.add_relay_hop(30_000);
        let block = relayed.transit(&lossy, 0, TrafficClass::Block, 100_000, Time(0));
        assert_eq!(block, Time(80_000 + 180_000));
        let ping = relayed.transit(&c, 0, TrafficClass::Control, 10, Time(1));
        assert_eq!(ping, Time(80_001));
    }

    #[test]
    fn transport_choice_follows_weftds_preference() {
        let s = |quic, iroh| Speaks { quic, iroh };
        assert_eq!(choose(s(true, true), s(true, true)), Scheme::Quic);
        assert_eq!(choose(s(true, true), s(false, true)), Scheme::Iroh);
        assert_eq!(choose(s(true, false), s(false, true)), Scheme::Tcp);
        assert_eq!(choose(s(false, false), s(true, true)), Scheme::Tcp);
        let a = node_addr_for(7, Scheme::Iroh);
        assert_eq!(a.key.as_deref().map(str::len), Some(64));
        assert_ne!(a.key, node_addr_for(8, Scheme::Iroh).key);
        assert_eq!(node_of(&a, 8), Some(7));
        assert_eq!(node_addr_for(7, Scheme::Quic), node_addr(7, true));
    }

    #[test]
    fn serialization_time() {
        assert_eq!(serialization_us(1_000_000, 8.0), 1_000_000);
        assert_eq!(Transport::Tcp { v2: true }.handshake_rtts(), 2);
        assert_eq!(Transport::Quic.handshake_rtts(), 1);
    }
}
