//! Per-connection counters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Live RTT estimate supplied by transports that measure one (QUIC, Iroh).
pub type RttSource = Box<dyn Fn() -> Option<Duration> + Send + Sync>;

/// Counters a connection updates as it moves bytes; shared by its halves.
#[derive(Default)]
pub struct ConnStats {
    bytes_sent: AtomicU64,
    bytes_recv: AtomicU64,
    msgs_sent: AtomicU64,
    msgs_recv: AtomicU64,
    rtt: Option<RttSource>,
}

impl ConnStats {
    /// Empty counters with no transport-level RTT.
    pub fn new() -> Arc<Self> {
        Arc::new(ConnStats::default())
    }

    /// Empty counters whose RTT comes from the transport.
    pub fn with_rtt(rtt: RttSource) -> Arc<Self> {
        Arc::new(ConnStats {
            rtt: Some(rtt),
            ..ConnStats::default()
        })
    }

    /// Records one sent message of `wire_bytes` bytes including framing.
    pub fn on_send(&self, wire_bytes: usize) {
        self.bytes_sent.fetch_add(wire_bytes as u64, Ordering::Relaxed);
        self.msgs_sent.fetch_add(1, Ordering::Relaxed);
    }

    /// Records one received message of `wire_bytes` bytes including framing.
    pub fn on_recv(&self, wire_bytes: usize) {
        self.bytes_recv.fetch_add(wire_bytes as u64, Ordering::Relaxed);
        self.msgs_recv.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds raw bytes (handshakes, datagrams) without counting a message.
    pub fn add_raw(&self, sent: usize, recv: usize) {
        self.bytes_sent.fetch_add(sent as u64, Ordering::Relaxed);
        self.bytes_recv.fetch_add(recv as u64, Ordering::Relaxed);
    }

    /// A consistent-enough copy of the counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            bytes_recv: self.bytes_recv.load(Ordering::Relaxed),
            msgs_sent: self.msgs_sent.load(Ordering::Relaxed),
            msgs_recv: self.msgs_recv.load(Ordering::Relaxed),
            rtt: self.rtt.as_ref().and_then(|f| f()),
        }
    }
}

/// A copy of a connection's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Bytes written, framing included.
    pub bytes_sent: u64,
    /// Bytes read, framing included.
    pub bytes_recv: u64,
    /// Messages written.
    pub msgs_sent: u64,
    /// Messages read.
    pub msgs_recv: u64,
    /// The transport's own RTT estimate, where it has one.
    pub rtt: Option<Duration>,
}
