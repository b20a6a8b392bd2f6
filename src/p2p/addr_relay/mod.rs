//! Address gossip as Core's `net_processing` does it: `addr`/`addrv2` in through a
//! per-peer token bucket into addrman, fresh small announcements relayed onward,
//! one answered `getaddr` per inbound connection, and Poisson-timed sends.

pub mod getaddr_cache;
mod handle;
#[cfg(test)]
mod node_tests;

use std::time::Duration;

use bitcoin::hashes::{sha256, Hash, HashEngine};

use super::relay::rolling::RollingSet;
use super::time::Time;
use super::wire::AddrEntry;

/// Core's `AVG_ADDRESS_BROADCAST_INTERVAL`: mean time between address sends to a peer.
pub const AVG_ADDRESS_BROADCAST_INTERVAL: Duration = Duration::from_secs(30);
/// Core's `MAX_ADDR_RATE_PER_SECOND`: addresses a peer may have processed per second.
pub const MAX_ADDR_RATE_PER_SECOND: f64 = 0.1;
/// Core's `MAX_ADDR_PROCESSING_TOKEN_BUCKET`: the bucket never holds more than this.
pub const MAX_ADDR_PROCESSING_TOKEN_BUCKET: f64 = 1_000.0;
/// Core's `MAX_PCT_ADDR_TO_SEND`: a `getaddr` answer carries at most this share of addrman.
pub const MAX_PCT_ADDR_TO_SEND: usize = 23;
/// Addresses learned from peers look this much older than announced (Core: 2 h).
pub const ADDR_TIME_PENALTY: i64 = 2 * 60 * 60;
/// Capacity of the per-peer set of addresses it knows (Core's `m_addr_known`: 5,000).
pub const ADDR_KNOWN_CAPACITY: usize = 5_000;
/// Announcements at most this long and this fresh are relayed onward (Core's rules).
pub const RELAY_MAX_ADDRS: usize = 10;
/// See [`RELAY_MAX_ADDRS`]: ten minutes, in seconds.
pub const RELAY_MAX_AGE: i64 = 10 * 60;

/// One peer's address-relay state (Core keeps it only once relay is set up).
#[derive(Clone, Debug)]
pub struct PeerAddrs {
    /// Addresses it has sent us or we have sent it.
    pub known: RollingSet,
    /// Queued for the next send.
    pub to_send: Vec<AddrEntry>,
    /// When the queue goes out.
    pub next_send: Time,
    /// We sent it `getaddr` and await the answer (which is not relayed onward).
    pub getaddr_sent: bool,
    /// It sent us `getaddr` (answered once per connection).
    pub getaddr_received: bool,
    /// Addresses it may still have processed.
    pub tokens: f64,
    /// When the bucket was last refilled.
    pub tokens_at: Time,
    /// Addresses processed (`getpeerinfo`'s `addr_processed`).
    pub processed: u64,
    /// Addresses dropped by the rate limit (`addr_rate_limited`).
    pub rate_limited: u64,
}

impl PeerAddrs {
    /// Fresh state; Core starts the bucket at one token so a new peer may announce itself.
    pub fn new(now: Time, salt: (u64, u64)) -> Self {
        PeerAddrs {
            known: RollingSet::new(ADDR_KNOWN_CAPACITY, salt),
            to_send: Vec::new(),
            next_send: now,
            getaddr_sent: false,
            getaddr_received: false,
            tokens: 1.0,
            tokens_at: now,
            processed: 0,
            rate_limited: 0,
        }
    }

    /// Adds the tokens earned since the last refill, up to the cap.
    pub fn refill(&mut self, now: Time) {
        let earned = now.since(self.tokens_at).as_secs_f64() * MAX_ADDR_RATE_PER_SECOND;
        self.tokens = (self.tokens + earned).min(MAX_ADDR_PROCESSING_TOKEN_BUCKET);
        self.tokens_at = now;
    }

    /// Takes a token; false (and counted as rate-limited) when none is left.
    pub fn take_token(&mut self) -> bool {
        if self.tokens < 1.0 {
            self.rate_limited += 1;
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

/// The 32 bytes an address is remembered by in a peer's known set.
pub fn addr_key(e: &AddrEntry) -> [u8; 32] {
    let mut engine = sha256::Hash::engine();
    engine.input(&[e.network]);
    engine.input(&e.addr);
    engine.input(&e.port.to_be_bytes());
    sha256::Hash::from_engine(engine).to_byte_array()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_at_core_rate_and_caps() {
        let t0 = Time::from_secs(1_000);
        let mut p = PeerAddrs::new(t0, (1, 2));
        assert!(p.take_token());
        assert!(!p.take_token());
        assert_eq!(p.rate_limited, 1);
        // 100 s earn 10 tokens.
        p.refill(t0 + Duration::from_secs(100));
        for _ in 0..10 {
            assert!(p.take_token());
        }
        assert!(!p.take_token());
        // A day earns far more than the cap.
        p.refill(t0 + Duration::from_secs(86_500));
        assert_eq!(p.tokens, MAX_ADDR_PROCESSING_TOKEN_BUCKET);
    }
}
