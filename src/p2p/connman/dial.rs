//! Automatic outbound connections (Core's `ThreadOpenConnections`): fill the full-relay
//! and block-relay-only slots from addrman, one network group each, send feelers, and
//! dial each peer over the most preferred transport it offers, falling back down the
//! list when a dial fails.

use core::net::IpAddr;
use std::collections::BTreeSet;
use std::time::Duration;

use rand::Rng;
use tracing::{debug, info};
use weft_transports::{PeerAddr, Scheme};

use super::{PendingDial, FEELER_INTERVAL, OPEN_INTERVAL, STALE_CHECK_INTERVAL, STALE_TIP_AGE};
use crate::p2p::addr::{group_with, keyed_group, transports, NetAddr, Network, Service, Transport};
use crate::p2p::config::{NODE_NETWORK, NODE_WITNESS};
use crate::p2p::conn_type::ConnectionType;
use crate::p2p::disconnect::DisconnectReason;
use crate::p2p::node::{Action, Node};
use crate::p2p::peer::PeerId;
use crate::p2p::relay::rand_exp;
use crate::p2p::time::Time;

/// Addresses drawn from addrman per attempt before giving up until the next tick.
const MAX_SELECT_TRIES: u32 = 100;
/// Core skips an address tried within ten minutes (until 30 draws were skipped).
const RECENT_TRY: i64 = 10 * 60;
/// An outbound peer must have been up this long before it is dropped as the extra one.
const MINIMUM_CONNECT_TIME: Duration = Duration::from_secs(30);

/// The address to dial `service` at over `scheme`.
pub fn dial_addr(service: &Service, scheme: Scheme) -> Option<PeerAddr> {
    let ip: IpAddr = service.addr.ip()?;
    Some(PeerAddr {
        scheme,
        key: None,
        host: ip.to_string(),
        port: service.port,
    })
}

/// The addrman service behind a dialed address, when its host is an IP literal.
pub fn service_of(addr: &PeerAddr) -> Option<Service> {
    let ip: IpAddr = addr.host.parse().ok()?;
    Some(Service::new(NetAddr::from(ip), addr.port))
}

impl Node {
    /// The transports to try for a peer advertising `services`, in our order of
    /// preference. Iroh needs an endpoint id, which gossip cannot carry.
    pub(crate) fn dial_order(&self, services: u64) -> Vec<Scheme> {
        let offered = transports(services);
        self.config
            .prefer
            .iter()
            .copied()
            .filter(|s| match s {
                Scheme::Tcp => offered.contains(Transport::Tcp),
                Scheme::Quic => offered.contains(Transport::Quic),
                Scheme::Iroh | Scheme::Mem => false,
            })
            .collect()
    }

    /// A peer's keyed network group.
    pub(crate) fn keyed_group_of(&self, addr: &NetAddr) -> u64 {
        keyed_group(&group_with(addr, self.config.allow_local_addrs), self.connman.group_key)
    }

    /// Counts automatic outbound connections, open or being dialed, by type.
    fn outbound_counts(&self) -> (usize, usize) {
        let types = self
            .peers
            .values()
            .map(|p| p.conn_type)
            .chain(self.connman.pending.values().map(|d| d.conn_type));
        types.fold((0, 0), |(full, block), t| match t {
            ConnectionType::OutboundFullRelay => (full + 1, block),
            ConnectionType::BlockRelayOnly => (full, block + 1),
            _ => (full, block),
        })
    }

    /// Runs the slot filler when due: at most one new automatic dial per tick.
    pub(crate) fn open_connections(&mut self, now: Time) {
        if !self.config.auto_outbound || now < self.connman.next_open {
            return;
        }
        self.connman.next_open = now + OPEN_INTERVAL;
        self.check_stale_tip(now);
        self.visit_seeds(now);
        let (full, block) = self.outbound_counts();
        let slots = self.config.slots;
        let want_full = slots.full_relay_slots() + usize::from(self.connman.extra_outbound);
        let conn_type = if full < want_full {
            ConnectionType::OutboundFullRelay
        } else if block < slots.block_relay_slots() {
            ConnectionType::BlockRelayOnly
        } else if now >= self.connman.next_feeler && slots.feelers > 0 {
            self.connman.next_feeler = now + rand_exp(&mut self.rng, FEELER_INTERVAL);
            ConnectionType::Feeler
        } else {
            return;
        };
        if let Some((service, services)) = self.pick_address(now, conn_type == ConnectionType::Feeler) {
            self.dial_new(now, service, services, conn_type, full + block);
        }
    }

    /// Draws an address for a new connection, skipping ones we are connected to, in a
    /// network group we already use, banned, our own, or tried moments ago.
    fn pick_address(&mut self, now: Time, feeler: bool) -> Option<(Service, u64)> {
        let mut groups = BTreeSet::new();
        let mut busy = BTreeSet::new();
        for p in self.peers.values() {
            if let Some(s) = p.service {
                busy.insert(s);
            }
            if matches!(
                p.conn_type,
                ConnectionType::OutboundFullRelay | ConnectionType::BlockRelayOnly | ConnectionType::Manual
            ) {
                groups.insert(p.net_group);
            }
        }
        for d in self.connman.pending.values() {
            busy.insert(d.service);
            groups.insert(self.keyed_group_of(&d.service.addr));
        }
        let now_secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        let nets = [Network::Ipv4, Network::Ipv6];
        for tries in 0..MAX_SELECT_TRIES {
            let Node { addrman, rng, .. } = self;
            let (service, services, last_try) = addrman.select(feeler, Some(&nets), rng, now)?;
            if busy.contains(&service) || self.config.advertise.contains(&service) {
                continue;
            }
            if !feeler && groups.contains(&self.keyed_group_of(&service.addr)) {
                continue;
            }
            if let Some(ip) = service.addr.ip() {
                if self.bans.is_banned(&ip, now) || self.bans.is_discouraged(&ip) {
                    continue;
                }
            }
            if tries < 30 && now_secs - last_try < RECENT_TRY {
                continue;
            }
            let desirable = NODE_NETWORK | NODE_WITNESS;
            if !feeler && tries < 40 && services & desirable != desirable {
                continue;
            }
            if self.dial_order(services).is_empty() {
                continue;
            }
            return Some((service, services));
        }
        None
    }

    /// Dials a fresh automatic connection.
    fn dial_new(&mut self, now: Time, service: Service, services: u64, conn_type: ConnectionType, open: usize) {
        let mut order = self.dial_order(services);
        if order.is_empty() {
            return;
        }
        let first = order.remove(0);
        let Some(addr) = dial_addr(&service, first) else { return };
        // Core counts a failure only once we have a couple of working connections, so our
        // own outage does not make every address look bad.
        let count_failure = open >= 2;
        self.addrman.attempt(&service, count_failure, now);
        info!(target: "net", "trying {} connection to {addr}", conn_type.as_str());
        self.connman.pending.insert(
            addr.clone(),
            PendingDial {
                service,
                services,
                conn_type,
                fallback: order,
            },
        );
        self.actions.push_back(Action::Connect { addr });
    }

    /// A dial failed. An automatic one falls back to the next transport the peer
    /// offers; returns false if the dial was not an automatic one.
    pub(crate) fn automatic_dial_failed(&mut self, addr: &PeerAddr, error: &str) -> bool {
        let Some(mut pending) = self.connman.pending.remove(addr) else {
            return false;
        };
        if pending.fallback.is_empty() {
            return true;
        }
        let next = pending.fallback.remove(0);
        let Some(retry) = dial_addr(&pending.service, next) else {
            return true;
        };
        info!(target: "net", "connection to {addr} failed ({error}); falling back to {retry}");
        self.connman.pending.insert(retry.clone(), pending);
        self.actions.push_back(Action::Connect { addr: retry });
        true
    }

    /// What a new outbound connection to `addr` is, and its addrman address.
    pub(crate) fn classify_outbound(&mut self, addr: &PeerAddr) -> (ConnectionType, Option<Service>) {
        if let Some(d) = self.connman.pending.remove(addr) {
            return (d.conn_type, Some(d.service));
        }
        let conn_type = match self.targets.conn_type_of(addr) {
            Some(t) => t,
            None if self.config.seednodes.contains(addr) => ConnectionType::AddrFetch,
            None => ConnectionType::Manual,
        };
        (conn_type, service_of(addr))
    }

    /// After an outbound handshake: the address worked, so it moves to tried with the
    /// services it now shows; a feeler is then closed. Returns whether the peer is gone.
    pub(crate) fn outbound_ready(&mut self, now: Time, id: PeerId) -> bool {
        let Some(p) = self.peers.get(&id) else { return true };
        if !p.is_outbound() {
            return false;
        }
        let services = p.version.as_ref().map_or(0, |v| v.services);
        if let Some(service) = p.service.filter(|_| p.conn_type != ConnectionType::AddrFetch) {
            self.addrman.good(&service, now);
            self.addrman.set_services(&service, services);
        }
        if p.conn_type == ConnectionType::Feeler {
            self.disconnect(now, id, DisconnectReason::FeelerDone);
            return true;
        }
        false
    }

    /// Core's stale-tip check: with no new block for 30 minutes, allow one extra
    /// full-relay peer; while one is extra, drop the full-relay peer that gave us a
    /// block least recently.
    fn check_stale_tip(&mut self, now: Time) {
        if now < self.connman.next_stale_check {
            return;
        }
        self.connman.next_stale_check = now + STALE_CHECK_INTERVAL;
        let stale =
            now.since(self.connman.last_tip_change) > STALE_TIP_AGE && self.download.peers_downloading_from() == 0;
        if stale != self.connman.extra_outbound {
            if stale {
                info!(target: "net", "Potential stale tip detected, will try using extra outbound peer (last tip update: {} seconds ago)",
                    now.since(self.connman.last_tip_change).as_secs());
            }
            self.connman.extra_outbound = stale;
        }
        let full: Vec<_> = self
            .peers
            .values()
            .filter(|p| p.conn_type == ConnectionType::OutboundFullRelay && p.is_ready())
            .map(|p| (p.last_block_time, std::cmp::Reverse(p.id), p.connected_at))
            .collect();
        if full.len() <= self.config.slots.full_relay_slots() {
            return;
        }
        if let Some((_, std::cmp::Reverse(id), connected)) = full.into_iter().min() {
            if now.since(connected) >= MINIMUM_CONNECT_TIME {
                debug!(target: "net", "disconnecting extra outbound peer={id}");
                self.disconnect(now, id, DisconnectReason::ExtraOutbound);
            }
        }
    }

    /// When the connection manager next needs the clock.
    pub(crate) fn connman_deadline(&self) -> Option<Time> {
        if !self.config.auto_outbound {
            return None;
        }
        let fetch_deadline = self
            .peers
            .values()
            .filter(|p| p.conn_type == ConnectionType::AddrFetch)
            .map(|p| p.connected_at + super::ADDR_FETCH_TIMEOUT)
            .min();
        Some(self.connman.next_open).into_iter().chain(fetch_deadline).min()
    }

    /// Draws the first feeler time.
    pub(crate) fn first_feeler(now: Time, rng: &mut impl Rng) -> Time {
        now + rand_exp(rng, FEELER_INTERVAL)
    }
}
