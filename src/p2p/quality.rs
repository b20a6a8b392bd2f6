//! A peer quality score, 0–100, from what the peer has shown us: latency, block
//! bandwidth delivered, uptime and how recently it delivered a block.
//!
//! Core has no single score; it ranks peers per purpose (ping for eviction, last block
//! for protection). This one orders block download so the earliest blocks of the
//! window go to the peers most likely to deliver them soon, and `getpeerinfo` shows it
//! so operators can see why. Each part saturates, so no one measure dominates.

use std::time::Duration;

use super::peer::Peer;
use super::time::Time;

/// A minimum ping at which the latency part is half its best.
const LATENCY_HALF: Duration = Duration::from_millis(100);
/// Block bytes per second of connection at which the bandwidth part is half its best.
const BANDWIDTH_HALF: f64 = 50_000.0;
/// Uptime at which the uptime part is half its best.
const UPTIME_HALF: Duration = Duration::from_secs(60 * 60);
/// Time since the last new block at which the delivery part is half its best.
const DELIVERY_HALF: Duration = Duration::from_secs(20 * 60);

/// `x / (x + half)`: 0 at 0, ½ at `half`, approaching 1.
fn saturate(x: f64, half: f64) -> f64 {
    if x <= 0.0 {
        0.0
    } else {
        x / (x + half)
    }
}

/// The parts of a score, each in [0, 1].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QualityParts {
    /// Lower minimum ping is better; ½ before any pong.
    pub latency: f64,
    /// Block bytes delivered per second connected.
    pub bandwidth: f64,
    /// Time connected.
    pub uptime: f64,
    /// How recently it gave us a new block.
    pub delivery: f64,
}

impl QualityParts {
    /// Measures `p` at `now`.
    pub fn of(p: &Peer, now: Time) -> Self {
        let up = now.since(p.connected_at);
        let latency = p
            .ping
            .min_rtt
            .map_or(0.5, |rtt| 1.0 - saturate(rtt.as_secs_f64(), LATENCY_HALF.as_secs_f64()));
        let block_bytes = p.recv_per_msg.block() as f64;
        let bandwidth = saturate(block_bytes / up.as_secs_f64().max(1.0), BANDWIDTH_HALF);
        let uptime = saturate(up.as_secs_f64(), UPTIME_HALF.as_secs_f64());
        let delivery = p.last_block_time.map_or(0.0, |t| {
            1.0 - saturate(now.since(t).as_secs_f64(), DELIVERY_HALF.as_secs_f64())
        });
        QualityParts {
            latency,
            bandwidth,
            uptime,
            delivery,
        }
    }

    /// The weighted score, 0–100.
    pub fn score(&self) -> f64 {
        100.0 * (0.3 * self.latency + 0.3 * self.bandwidth + 0.2 * self.uptime + 0.2 * self.delivery)
    }
}

/// `p`'s score at `now`, 0–100.
pub fn quality(p: &Peer, now: Time) -> f64 {
    QualityParts::of(p, now).score()
}

#[cfg(test)]
mod tests {
    use weft_transports::{ConnInfo, Direction, RemoteId, TransportKind};

    use super::*;
    use crate::p2p::peer::PeerId;

    fn peer(at: Time) -> Peer {
        let info = ConnInfo {
            kind: TransportKind::Mem,
            direction: Direction::Inbound,
            remote_id: RemoteId::Mem(1),
            remote_addr: None,
            local_addr: None,
            session_id: None,
        };
        Peer::new(PeerId(1), info, None, at, 0)
    }

    #[test]
    fn a_fast_long_lived_block_source_outranks_a_new_slow_peer() {
        let t0 = Time::from_secs(1_000_000);
        let now = t0 + Duration::from_secs(2 * 3600);
        let fresh = peer(now - Duration::from_secs(10));
        let mut good = peer(t0);
        good.ping.min_rtt = Some(Duration::from_millis(5));
        good.recv_per_msg.add("block", 500_000_000);
        good.last_block_time = Some(now - Duration::from_secs(60));
        let (f, g) = (QualityParts::of(&fresh, now), QualityParts::of(&good, now));
        assert_eq!(f.latency, 0.5, "no pong yet: neither good nor bad");
        assert_eq!((f.bandwidth, f.delivery), (0.0, 0.0));
        assert!(g.latency > 0.9 && g.bandwidth > 0.5 && g.uptime > 0.6 && g.delivery > 0.9);
        assert!(quality(&good, now) > 70.0 && quality(&fresh, now) < 20.0);
        // Every part stays in range, so the score does.
        for parts in [f, g] {
            for x in [parts.latency, parts.bandwidth, parts.uptime, parts.delivery] {
                assert!((0.0..=1.0).contains(&x));
            }
        }
    }

    #[test]
    fn a_slow_ping_costs_latency_and_an_old_block_costs_delivery() {
        let t0 = Time::from_secs(1_000_000);
        let now = t0 + Duration::from_secs(3600);
        let mut p = peer(t0);
        p.ping.min_rtt = Some(LATENCY_HALF);
        p.last_block_time = Some(now - DELIVERY_HALF);
        let parts = QualityParts::of(&p, now);
        assert!((parts.latency - 0.5).abs() < 1e-9);
        assert!((parts.delivery - 0.5).abs() < 1e-9);
        assert!((parts.uptime - 0.5).abs() < 1e-9);
    }
}
