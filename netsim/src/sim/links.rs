//! Links made and closed between windows: a node's dial or disconnect touches the
//! other end too, so it waits for the window's end and is applied there in key order.

use std::time::Duration;

use weft::p2p::Time;
use weft_transports::{PeerAddr, Scheme};

use super::{Ev, Sim, DIAL_REFUSED_AFTER};
use crate::dist::{pair_key, unit_draw, Stream};
use crate::link::{node_of, Link, Transport};

impl Sim {
    /// Node `i` closes `link` (applied at a window's end): the other end hears after the
    /// link's latency.
    pub(super) fn disconnect(&mut self, i: u32, link_id: u64, now: Time, floor: Time) {
        let Some(link) = self.shm().links.get_mut(link_id as usize) else {
            return;
        };
        if !link.open {
            return;
        }
        link.open = false;
        let (other, at) = (link.peer_of(i), now + Duration::from_micros(link.latency_us));
        let listener = link.b;
        let slot = self.slot_mut(listener);
        slot.inbound = slot.inbound.saturating_sub(1);
        self.push(
            i,
            other,
            at,
            floor,
            Ev::Disconnected {
                link: link_id,
                node: other,
            },
        );
    }

    /// Node `from` dials `addr` (applied at a window's end).
    pub(super) fn dial(&mut self, from: u32, addr: PeerAddr, now: Time, floor: Time) {
        let n = self.sh.scenario.nodes;
        let target = node_of(&addr, n).filter(|&to| {
            let t = self.slot(to);
            to != from
                && t.reachable
                && t.inbound < self.sh.scenario.topology.inbound_cap
                && self.sh.dynamics.can_connect(from, to)
        });
        let quic_ok = |to: u32| self.slot(from).quic && self.slot(to).quic;
        let iroh_ok = |to: u32| self.slot(from).iroh && self.slot(to).iroh;
        let t = &self.sh.scenario.transport;
        let transport = match (target, addr.scheme) {
            (Some(to), Scheme::Quic) if quic_ok(to) => Some((to, Transport::Quic)),
            (Some(to), Scheme::Iroh) if iroh_ok(to) => {
                // Whether two nodes' NATs allow a direct path is a property of the pair.
                let relayed = unit_draw(self.sh.seed, Stream::IrohPath(pair_key(from, to))) < t.iroh_relay_fraction;
                Some((to, Transport::Iroh { relayed }))
            }
            (Some(to), Scheme::Tcp) => Some((to, Transport::Tcp { v2: t.tcp_v2 })),
            _ => None,
        };
        let Some((to, transport)) = transport else {
            self.push(
                from,
                from,
                now + DIAL_REFUSED_AFTER,
                floor,
                Ev::ConnectFailed { node: from, addr },
            );
            return;
        };
        let id = self.sh.links.len() as u64;
        let relay_hop = (t.iroh_relay_latency_ms * 1_000.0).round() as u64;
        let mut link = Link::new(id, from, to, transport, &self.sh.scenario.links, self.sh.seed);
        if let Some((m, of_node)) = &self.sh.regions {
            link.latency_us = m.link_latency_us(of_node[from as usize], of_node[to as usize], id, self.sh.seed);
        }
        link.add_relay_hop(relay_hop);
        link.block_relay = self.slot(from).core.config().block_relay_nodes.contains(&addr);
        let handshake = Duration::from_micros(link.handshake_us());
        let one_way = Duration::from_micros(link.latency_us);
        self.min_latency_us = self.min_latency_us.min(link.latency_us);
        self.shm().links.push(link);
        self.slot_mut(to).inbound += 1;
        // The listener's event is queued first: the dialer's `version` can never overtake it.
        self.push(
            from,
            to,
            now + handshake + one_way,
            floor,
            Ev::Connected { link: id, node: to },
        );
        self.push(
            from,
            from,
            now + handshake,
            floor,
            Ev::Connected { link: id, node: from },
        );
    }
}
