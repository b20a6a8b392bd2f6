//! Applying scripted events and churn to the running simulation: cutting links,
//! taking nodes offline and bringing them back with a fresh core. The cores learn of
//! it only as a transport would tell them.

use std::time::Duration;

use weft::p2p::chain_view::ChainView;
use weft::p2p::{Node, Time};
use weft_transports::PeerAddr;

use super::part::GLOBAL_ORIGIN;
use super::{secs, Ev, Global, Sim};
use crate::chain::{ModelChain, NodeState};
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
        let mut queued = Vec::new();
        let sh = self.shm();
        for (i, e) in sh.scenario.events.iter().enumerate() {
            if let ScriptedEvent::Leave { at_secs, nodes } = e {
                if *at_secs == 0.0 {
                    for &n in nodes {
                        sh.dynamics.go_offline(n);
                    }
                    continue;
                }
            }
            queued.push((start + secs(e.at_secs()), Change::Script(i)));
        }
        queued.extend(sh.dynamics.initial_churn(start));
        for (at, c) in queued {
            self.at_global(at, Global::Change(c));
        }
    }

    /// Applies one change; the node whose core must then run, if any.
    pub(super) fn apply_change(&mut self, now: Time, change: Change) -> Option<u32> {
        let tag = format!("{change:?}");
        self.ctx(0).trace(now, 0, TraceKind::Change, &[tag.as_bytes()]);
        match change {
            Change::Script(i) => {
                let event = self.sh.scenario.events.get(i)?.clone();
                match event {
                    ScriptedEvent::Partition { groups, .. } => {
                        self.shm().dynamics.partition(&groups);
                        for id in 0..self.sh.links.len() as u64 {
                            let l = &self.sh.links[id as usize];
                            if l.open && self.sh.dynamics.separated(l.a, l.b) {
                                self.cut_link(now, id);
                            }
                        }
                        None
                    }
                    ScriptedEvent::Heal { .. } => {
                        self.shm().dynamics.heal();
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
                                self.ctx(n).after_core(n, now);
                            }
                        }
                        self.join(now, *last).then_some(*last)
                    }
                }
            }
            Change::ChurnLeave(n) => {
                let left = self.leave(now, n);
                if left || !self.sh.dynamics.online(n) {
                    let (at, c) = self.shm().dynamics.next_churn(now, n, false);
                    self.at_global(at, Global::Change(c));
                }
                None
            }
            Change::ChurnJoin(n) => {
                let joined = self.join(now, n);
                let (at, c) = self.shm().dynamics.next_churn(now, n, true);
                self.at_global(at, Global::Change(c));
                joined.then_some(n)
            }
        }
    }

    /// The network breaks link `id`: it closes, what is in flight is lost, and each end
    /// that knew it was connected is told after the link's latency.
    fn cut_link(&mut self, now: Time, id: u64) {
        let Some(link) = self.shm().links.get_mut(id as usize) else {
            return;
        };
        if !link.open {
            return;
        }
        link.open = false;
        let (a, b, latency) = (link.a, link.b, link.latency_us);
        let up = [link.is_up(0), link.is_up(1)];
        self.shm().dynamics.cut(id);
        let slot = self.slot_mut(b);
        slot.inbound = slot.inbound.saturating_sub(1);
        for (end, node) in [(0, a), (1, b)] {
            if up[end] && self.sh.dynamics.online(node) {
                let at = now + Duration::from_micros(latency);
                self.push(GLOBAL_ORIGIN, node, at, now, Ev::Disconnected { link: id, node });
            }
        }
    }

    /// Node `n` goes offline; false if it already was.
    fn leave(&mut self, now: Time, n: u32) -> bool {
        if !self.sh.dynamics.online(n) {
            return false;
        }
        // Offline first, so its own ends of the cut links are not notified.
        self.shm().dynamics.go_offline(n);
        self.slot_mut(n).timer_at = None;
        for id in 0..self.sh.links.len() as u64 {
            let l = &self.sh.links[id as usize];
            if l.open && (l.a == n || l.b == n) {
                self.cut_link(now, id);
            }
        }
        true
    }

    /// Node `n` comes back with a fresh core (its chain and mempool persist, as on
    /// disk); false if it was online.
    fn join(&mut self, now: Time, n: u32) -> bool {
        if !self.shm().dynamics.go_online(n) {
            return false;
        }
        let view = self.take_chain_view(n);
        let seed = rejoin_seed(u64_seed(self.sh.seed, Stream::Core(n)), self.sh.dynamics.epoch(n));
        let slot = self.slot_mut(n);
        let config = slot.core.config().clone();
        slot.core = Node::new(config, view, seed, now);
        slot.timer_at = None;
        true
    }

    /// The chain view for a fresh core of node `i`: its real chainstate, or its model
    /// chain, taken from the core it had.
    pub(super) fn take_chain_view(&mut self, i: u32) -> Box<dyn ChainView> {
        if let Some(c) = self.real_chain(i) {
            return Box::new(c.clone());
        }
        let world = self.sh.world.clone();
        let slot = self.slot_mut(i);
        let fee = slot.core.config().min_relay_fee;
        let state = std::mem::replace(slot.state(), NodeState::new(fee));
        Box::new(ModelChain::new(world, state))
    }
}
