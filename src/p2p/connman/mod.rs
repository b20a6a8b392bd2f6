//! Connection management (Core's `CConnman` policy, without its sockets): which
//! automatic outbound connections to open and over which transport, who gets an inbound
//! slot, and who is discouraged or banned.

pub mod banning;
pub mod dial;
pub mod inbound;
pub mod seeds;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

use weft_transports::{PeerAddr, Scheme};

use super::addr::Service;
use super::conn_type::ConnectionType;
use super::time::Time;

/// Core's `FEELER_INTERVAL`: the mean time between feeler connections.
pub const FEELER_INTERVAL: Duration = Duration::from_secs(120);
/// How often the outbound slots are checked (Core's connection thread wakes every 500 ms).
pub const OPEN_INTERVAL: Duration = Duration::from_millis(500);
/// Core's `STALE_CHECK_INTERVAL`.
pub const STALE_CHECK_INTERVAL: Duration = Duration::from_secs(45);
/// A tip this old with no block in flight may mean our peers are hiding blocks (Core:
/// three block intervals), so one extra outbound peer is tried.
pub const STALE_TIP_AGE: Duration = Duration::from_secs(30 * 60);
/// Longest an `-seednode` visit may last before we give up on its addresses.
pub const ADDR_FETCH_TIMEOUT: Duration = Duration::from_secs(60);
/// Core's DNS seed delay when addrman already holds addresses.
pub const DNS_SEED_DELAY: Duration = Duration::from_secs(11);
/// Core adds the fixed seeds when a minute passed without any address.
pub const FIXED_SEED_DELAY: Duration = Duration::from_secs(60);

/// An automatic dial under way.
#[derive(Clone, Debug)]
pub struct PendingDial {
    /// The address as addrman knows it.
    pub service: Service,
    /// The services it was advertised with.
    pub services: u64,
    /// The connection it will become.
    pub conn_type: ConnectionType,
    /// Transports still to try if this one fails, best first.
    pub fallback: Vec<Scheme>,
}

/// The connection manager's state inside the node.
#[derive(Clone, Debug)]
pub struct Connman {
    /// Automatic dials under way, by the address dialed.
    pub pending: BTreeMap<PeerAddr, PendingDial>,
    /// When the outbound slots are checked next.
    pub next_open: Time,
    /// When the next feeler may go out.
    pub next_feeler: Time,
    /// When the stale-tip check runs next.
    pub next_stale_check: Time,
    /// Our tip last moved at this time.
    pub last_tip_change: Time,
    /// One extra full-relay slot is open because the tip looks stale.
    pub extra_outbound: bool,
    /// Keys the network-group hash, so a peer cannot predict eviction order.
    pub group_key: u64,
    /// When the node started, for the seed delays.
    pub started: Time,
    /// DNS seeds were asked.
    pub dns_queried: bool,
    /// Fixed seeds were added.
    pub fixed_added: bool,
    /// `-seednode` visits not yet made.
    pub seeds_to_visit: Vec<PeerAddr>,
}

impl Connman {
    /// A manager for a node started at `now`.
    pub fn new(now: Time, group_key: u64, next_feeler: Time, seednodes: Vec<PeerAddr>) -> Self {
        Connman {
            pending: BTreeMap::new(),
            next_open: now,
            next_feeler,
            next_stale_check: now + STALE_CHECK_INTERVAL,
            last_tip_change: now,
            extra_outbound: false,
            group_key,
            started: now,
            dns_queried: false,
            fixed_added: false,
            seeds_to_visit: seednodes,
        }
    }
}
