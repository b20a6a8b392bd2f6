//! Who gets an inbound slot (Core's `CreateNodeFromAcceptedSocket`): bans, the
//! discouraged, the per-IP cap, and eviction when every slot is taken.

use core::net::IpAddr;

use weft_transports::ConnInfo;

use crate::p2p::addr::NetAddr;
use crate::p2p::conn_type::ConnectionType;
use crate::p2p::disconnect::DisconnectReason;
use crate::p2p::node::Node;
use crate::p2p::permissions::{whitelist_flags, NetPermissions};
use crate::p2p::slots::{select_to_evict, EvictionCandidate, InboundDecision, InboundRequest, NetKind, RefuseReason};
use crate::p2p::time::Time;

/// The eviction network of an address.
fn net_kind(addr: Option<&NetAddr>) -> NetKind {
    match addr {
        Some(NetAddr::Ipv4(_)) => NetKind::Ipv4,
        Some(NetAddr::Ipv6(_)) => NetKind::Ipv6,
        Some(NetAddr::TorV3(_)) => NetKind::Onion,
        Some(NetAddr::I2p(_)) => NetKind::I2p,
        Some(NetAddr::Cjdns(_)) => NetKind::Cjdns,
        None => NetKind::Other,
    }
}

impl Node {
    /// Whether `ip` is loopback in a real network, where every Tor and I2P peer arrives
    /// from the local proxy: such peers get Core's special treatment (no per-IP cap, no
    /// discouragement, their own eviction share). A test network (`allow_local_addrs`)
    /// treats loopback as ordinary IPv4.
    pub(crate) fn is_proxy_local(&self, ip: Option<IpAddr>) -> bool {
        ip.is_some_and(|ip| ip.is_loopback()) && !self.config.allow_local_addrs
    }

    /// The permissions `-whitelist` and `-whitebind` grant a connection.
    pub(crate) fn permissions_for(&self, info: &ConnInfo, inbound: bool) -> NetPermissions {
        let Some(ip) = info.remote_addr.map(|a| a.ip()) else {
            return NetPermissions::NONE;
        };
        let mut flags = whitelist_flags(&ip, inbound, &self.config.whitelist, true, false);
        if inbound {
            if let Some(local) = info.local_addr {
                for wb in self.config.whitebind.iter().filter(|wb| wb.addr == local) {
                    flags |= wb.flags.resolve_implicit(true, false);
                }
            }
        }
        flags
    }

    /// Decides on an inbound connection; on a full node another inbound peer may be
    /// evicted to make room. Returns the reason when it is turned away.
    pub(crate) fn admit_inbound(&mut self, now: Time, info: &ConnInfo, perms: NetPermissions) -> Option<RefuseReason> {
        let ip: Option<IpAddr> = info.remote_addr.map(|a| a.ip());
        let inbound: Vec<_> = self
            .peers
            .values()
            .filter(|p| p.conn_type == ConnectionType::Inbound)
            .collect();
        let same_ip = inbound
            .iter()
            .filter(|p| ip.is_some() && p.conn.remote_addr.map(|a| a.ip()) == ip)
            .count();
        let req = InboundRequest {
            inbound: inbound.len(),
            same_ip,
            banned: ip.is_some_and(|ip| self.bans.is_banned(&ip, now)),
            discouraged: ip.is_some_and(|ip| self.bans.is_discouraged(&ip)),
            noban: perms.has(NetPermissions::NO_BAN),
            is_local: self.is_proxy_local(ip),
        };
        match self.config.slots.admit_inbound(&req) {
            InboundDecision::Accept => None,
            InboundDecision::Refuse(r) => Some(r),
            InboundDecision::EvictFirst => match select_to_evict(self.eviction_candidates()) {
                Some(victim) => {
                    self.disconnect(now, victim, DisconnectReason::Evicted);
                    None
                }
                None => Some(RefuseReason::Full),
            },
        }
    }

    /// Every peer as eviction sees it (eviction itself skips outbound and manual ones).
    fn eviction_candidates(&self) -> Vec<EvictionCandidate> {
        let desirable = self.config.required_outbound_services;
        self.peers
            .values()
            .map(|p| {
                let ip = p.conn.remote_addr.map(|a| a.ip());
                let addr = ip.map(NetAddr::from);
                let services = p.version.as_ref().map_or(0, |v| v.services);
                EvictionCandidate {
                    id: p.id,
                    connected: p.connected_at,
                    min_ping: p.ping.min_rtt,
                    last_block: p.last_block_time,
                    last_tx: p.last_tx_time,
                    relevant_services: services & desirable == desirable,
                    relay_txs: p.version.as_ref().is_some_and(|v| v.relay),
                    bloom_filter: false,
                    keyed_net_group: p.net_group,
                    prefer_evict: ip.is_some_and(|ip| self.bans.is_discouraged(&ip)),
                    is_local: self.is_proxy_local(ip),
                    network: net_kind(addr.as_ref()),
                    noban: p.permissions.has(NetPermissions::NO_BAN),
                    outbound_or_manual: p.conn_type != ConnectionType::Inbound,
                }
            })
            .collect()
    }
}
