//! Applying scripted events and churn to the running simulation: cutting links,
//! taking nodes offline and bringing them back with a fresh core. The cores learn of
//! it only as a transport would tell them.

use std::time::Duration;

use weft::p2p::{Event, Node, Time};
use weft_transports::PeerAddr;

use super::{secs, Ev, Sim};
use crate::dist::{u64_seed, Stream};
use crate::events::{rejoin_seed, Change, ScriptedEvent};
use crate::link::{choose, node_addr_for, Speaks};
use crate::metrics::TraceKind;

/// Adds every reachable honest node to each spy's dial targets.
pub(super) fn spy_targets(targets: &mut [Vec<PeerAddr>], spies: &[bool], reachable: &[bool], speaks: &[Speaks]) {
    for s in 0..targets.len() {
        if !spies[s] {
            continue;
        }
        for b in 0..targets.len() {
            let addr = node_addr_for(b as u32, choose(speaks[s], speaks[b]));
            if b != s && reachable[b] && !spies[b] && !targets[s].contains(&addr) {
                targets[s].push(addr);
            }
        }
    }
}

impl Sim {
    /// Queues the scenario's events and the first churn departures. Nodes that leave at
    /// 0 s start offline: they never come up before their join.
    pub(super) fn schedule_changes(&mut self, start: Time) {
        for (i, e) in self.scenario.events.iter().enumerate() {
            if let ScriptedEvent::Leave { at_secs, nodes } = e {
                if *at_secs == 0.0 {
                    for &n in nodes {
                        self.dynamics.go_offline(n);
                    }
                    continue;
                }
            }
            self.sched.at(start + secs(e.at_secs()), Ev::Change(Change::Script(i)));
        }
        for (at, c) in self.dynamics.initial_churn(start) {
            self.sched.at(at, Ev::Change(c));
        }
    }

    /// Applies one change; the node whose core must then run, if any.
    pub(super) fn apply_change(&mut self, now: Time, change: Change) -> Option<u32> {
        let tag = format!("{change:?}");
        self.metrics.trace(now, 0, TraceKind::Change, &[tag.as_bytes()]);
        match change {
            Change::Script(i) => {
                let event = self.scenario.events.get(i)?.clone();
                match event {
                    ScriptedEvent::Partition { groups, .. } => {
                        self.dynamics.partition(&groups);
                        for id in 0..self.links.len() as u64 {
                            let l = &self.links[id as usize];
                            if l.open && self.dynamics.separated(l.a, l.b) {
                                self.cut_link(now, id);
                            }
                        }
                        None
                    }
                    ScriptedEvent::Heal { .. } => {
                        self.dynamics.heal();
                        None
                    }
                    ScriptedEvent::Leave { nodes, .. } => {
                        for n in nodes {
                            self.leave(now, n);
                        }
                        None
                    }
                    ScriptedEvent::Join { nodes, .. } => {
                        // Every joiner but the last runs here; the last is returned.
                        let (last, rest) = nodes.split_last()?;
                        for &n in rest {
                            if self.join(now, n) {
                                self.after_core(n, now);
                            }
                        }
                        self.join(now, *last).then_some(*last)
                    }
                }
            }
            Change::ChurnLeave(n) => {
                let left = self.leave(now, n);
                if left || !self.dynamics.online(n) {
                    let (at, c) = self.dynamics.next_churn(now, n, false);
                    self.sched.at(at, Ev::Change(c));
                }
                None
            }
            Change::ChurnJoin(n) => {
                let joined = self.join(now, n);
                let (at, c) = self.dynamics.next_churn(now, n, true);
                self.sched.at(at, Ev::Change(c));
                joined.then_some(n)
            }
        }
    }

    /// The network breaks link `id`: it closes, what is in flight is lost, and each end
    /// that knew it was connected is told after the link's latency.
    fn cut_link(&mut self, now: Time, id: u64) {
        let Some(link) = self.links.get_mut(id as usize) else {
            return;
        };
        if !link.open {
            return;
        }
        link.open = false;
        let (a, b, latency) = (link.a, link.b, link.latency_us);
        self.dynamics.cut(id);
        self.nodes[b as usize].inbound = self.nodes[b as usize].inbound.saturating_sub(1);
        for (end, node) in [(0, a), (1, b)] {
            if self.dynamics.is_up(id, end) && self.dynamics.online(node) {
                self.sched.at(
                    now + Duration::from_micros(latency),
                    Ev::Disconnected { link: id, node },
                );
            }
        }
    }

    /// Node `n` goes offline; false if it already was.
    fn leave(&mut self, now: Time, n: u32) -> bool {
        if !self.dynamics.online(n) {
            return false;
        }
        // Offline first, so its own ends of the cut links are not notified.
        self.dynamics.go_offline(n);
        self.nodes[n as usize].timer_at = None;
        for id in 0..self.links.len() as u64 {
            let l = &self.links[id as usize];
            if l.open && (l.a == n || l.b == n) {
                self.cut_link(now, id);
            }
        }
        true
    }

    /// Node `n` comes back with a fresh core (its chain and mempool persist, as on
    /// disk); false if it was online.
    fn join(&mut self, now: Time, n: u32) -> bool {
        if !self.dynamics.go_online(n) {
            return false;
        }
        let view = self.chain_view(n);
        let slot = &mut self.nodes[n as usize];
        let config = slot.core.config().clone();
        let seed = rejoin_seed(u64_seed(self.seed, Stream::Core(n)), self.dynamics.epoch(n));
        slot.core = Node::new(config, view, seed, now);
        slot.timer_at = None;
        true
    }

    /// A handshake finished on a link that was cut meanwhile, or at a node now offline:
    /// an online dialer learns the dial failed; anyone else hears nothing.
    pub(super) fn connect_cut(&mut self, now: Time, link: u64, node: u32) -> Option<u32> {
        let l = self.links.get(link as usize)?;
        if node != l.a || !self.dynamics.online(node) {
            return None;
        }
        let addr = node_addr_for(l.b, l.transport.scheme());
        self.metrics
            .trace(now, node, TraceKind::ConnectFailed, &[addr.host.as_bytes()]);
        let error = "connection reset".to_string();
        self.nodes[node as usize]
            .core
            .handle(now, Event::ConnectFailed { addr, error });
        Some(node)
    }
}
