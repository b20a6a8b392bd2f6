//! The driver: real `weft::p2p::Node` cores fed events in virtual time. Each core's
//! actions become scheduled events: sends cross the sender's upload queue, the link
//! and the receiver's download queue; validation jobs finish after their modelled
//! cost, one at a time per node, in the order asked; dials connect after the
//! transport's handshake round trips.

use std::net::{SocketAddr, SocketAddrV4};
use std::time::Duration;

use bitcoin::hashes::Hash;
use weft::p2p::chain_view::{Job, JobResult};
use weft::p2p::config::{NODE_NETWORK, NODE_WITNESS};
use weft::p2p::{Action, Event, Node, NodeConfig, PeerId, Time};
use weft_transports::{Command, ConnInfo, Direction, Message, PeerAddr, RemoteId, Scheme, TrafficClass};

use crate::chain::{ModelChain, NodeState};
use crate::cost::job_cost;
use crate::dist::{pair_key, u64_seed, unit_draw, Stream};
use crate::error::SimError;
use crate::events::{Change, Dynamics};
use crate::link::{
    choose, endpoint_id, node_addr_for, node_ip, node_of, serialization_us, Link, Speaks, Transport, PORT,
};
use crate::metrics::{Metrics, TraceKind};
use crate::observe::Observer;
use crate::region::RegionMatrix;
use crate::scenario::Scenario;
use crate::topology::{EdgeKind, Topology};
use crate::workload::Workload;
use crate::world::SharedWorld;

mod changes;
mod real;

/// Payloads up to this size enter the trace hash whole; larger ones by their head.
const TRACE_FULL_PAYLOAD: usize = 4_096;
/// How long a refused dial takes to fail.
const DIAL_REFUSED_AFTER: Duration = Duration::from_secs(1);

/// A draw in seconds as a duration; absurd draws (infinite, negative) saturate.
fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(if s > 0.0 { Duration::MAX } else { Duration::ZERO })
}

/// Something scheduled.
#[derive(Debug)]
enum Ev {
    /// A node's timers may be due.
    Timer(u32),
    /// A message reached the receiver's network interface.
    Arrive {
        link: u64,
        to: u32,
        msg: Message,
        wire: u64,
    },
    /// A message passed the receiver's download queue.
    Deliver { link: u64, to: u32, msg: Message },
    /// One end of a link finished its handshake.
    Connected { link: u64, node: u32 },
    /// A dial failed.
    ConnectFailed { node: u32, addr: PeerAddr },
    /// The other end closed a link.
    Disconnected { link: u64, node: u32 },
    /// A validation job finished (void if the node has gone offline since `epoch`).
    JobDone { node: u32, job: Job, epoch: u32 },
    /// The workload creates a transaction.
    NewTx,
    /// Somebody finds a block.
    Block,
    /// A scripted event or churn.
    Change(Change),
}

/// One simulated node: the real core and what the driver keeps beside it.
struct Slot {
    core: Node,
    chain: ModelChain,
    upload_free: Time,
    download_free: Time,
    validate_free: Time,
    timer_at: Option<Time>,
    quic: bool,
    iroh: bool,
    reachable: bool,
    inbound: u32,
    upload_mbps: f64,
    download_mbps: f64,
}

/// A whole simulation.
pub struct Sim {
    scenario: Scenario,
    seed: u64,
    sched: crate::sched::Scheduler<Ev>,
    nodes: Vec<Slot>,
    links: Vec<Link>,
    world: SharedWorld,
    workload: Workload,
    /// What was measured.
    pub metrics: Metrics,
    end: Time,
    tx_end: Time,
    dynamics: Dynamics,
    observer: Observer,
    /// The region matrix and each node's region, if the scenario has regions.
    regions: Option<(RegionMatrix, Vec<u8>)>,
    /// Every node's real chainstate, in a real-validation run.
    real: Option<Box<crate::real::Real>>,
}

impl Sim {
    /// Builds the nodes, their topology and the workload of `scenario` under `seed`.
    pub fn new(scenario: Scenario, seed: u64) -> Result<Sim, SimError> {
        scenario.check()?;
        let n = scenario.nodes;
        let start = Time::from_secs(scenario.start_time);
        let end = start + Duration::from_secs(scenario.duration_secs);
        let tx_end = end - Duration::from_secs(scenario.workload.quiet_tail_secs);
        let topology = Topology::generate(&scenario.topology, n, seed)?;
        let quic: Vec<bool> = (0..n)
            .map(|i| {
                let draw = u64_seed(seed, Stream::Node(i)) as f64 / u64::MAX as f64;
                draw < scenario.transport.quic_fraction
            })
            .collect();
        let speaks: Vec<Speaks> = (0..n)
            .map(|i| Speaks {
                quic: quic[i as usize],
                iroh: unit_draw(seed, Stream::Iroh(i)) < scenario.transport.iroh_fraction,
            })
            .collect();
        let mut targets: Vec<Vec<PeerAddr>> = vec![Vec::new(); n as usize];
        let mut block_targets: Vec<Vec<PeerAddr>> = vec![Vec::new(); n as usize];
        for (&(a, b), &kind) in topology.edges.iter().zip(&topology.kinds) {
            let addr = node_addr_for(b, choose(speaks[a as usize], speaks[b as usize]));
            match kind {
                EdgeKind::FullRelay => targets[a as usize].push(addr),
                EdgeKind::BlockRelayOnly => block_targets[a as usize].push(addr),
            }
        }
        let spies = scenario.adversary.choose(n, &topology.edges, seed);
        if scenario.adversary.connect_to_all {
            changes::spy_targets(&mut targets, &spies, &topology.reachable, &speaks);
        }
        let (real, world) = if scenario.real_validation.enabled {
            let (real, root) = crate::real::Real::new(&scenario.real_validation, n, scenario.start_time)?;
            (Some(Box::new(real)), SharedWorld::with_root(root))
        } else {
            // Genesis is stamped at the start; the run must never look like initial block download.
            (None, SharedWorld::new(scenario.start_time as u32))
        };
        let max_tip_age = Duration::from_secs(scenario.duration_secs + 24 * 3600);
        let regions = match &scenario.regions {
            Some(r) => {
                let m = r.resolve().map_err(SimError::Scenario)?;
                let of_node = m.assign(n, seed);
                Some((m, of_node))
            }
            None => None,
        };
        let mut nodes = Vec::with_capacity(n as usize);
        for (i, (addnode, block_relay_nodes)) in targets.into_iter().zip(block_targets).enumerate() {
            let config = NodeConfig {
                services: NODE_NETWORK | NODE_WITNESS,
                addnode,
                block_relay_nodes,
                max_tip_age,
                inbound_trickle: Duration::from_secs_f64(scenario.core.inbound_trickle_secs),
                outbound_trickle: Duration::from_secs_f64(scenario.core.outbound_trickle_secs),
                ..NodeConfig::default()
            };
            let chain = ModelChain::new(world.clone(), NodeState::new(config.min_relay_fee));
            let (up, down) = (scenario.links.upload_mbps, scenario.links.download_mbps);
            let (upload_mbps, download_mbps) = match &regions {
                Some((m, of_node)) => m.bandwidth(of_node[i], up, down),
                None => (up, down),
            };
            let view: Box<dyn weft::p2p::chain_view::ChainView> = match &real {
                Some(r) => Box::new(r.chains[i].clone()),
                None => Box::new(chain.clone()),
            };
            let core = Node::new(config, view, u64_seed(seed, Stream::Core(i as u32)), start);
            nodes.push(Slot {
                core,
                chain,
                upload_free: start,
                download_free: start,
                validate_free: start,
                timer_at: None,
                quic: quic[i],
                iroh: speaks[i].iroh,
                reachable: topology.reachable[i],
                inbound: 0,
                upload_mbps,
                download_mbps,
            });
        }
        let workload = Workload::new(&scenario.workload, n, seed);
        let dynamics = Dynamics::new(n, &scenario.churn, &spies, seed);
        let observer = Observer::new(n, spies);
        let mut sim = Sim {
            seed,
            sched: crate::sched::Scheduler::new(start),
            nodes,
            links: Vec::new(),
            world,
            workload,
            metrics: Metrics::new(n),
            end,
            tx_end,
            scenario,
            dynamics,
            observer,
            regions,
            real,
        };
        sim.schedule_changes(start);
        for i in 0..n {
            if sim.dynamics.online(i) {
                sim.after_core(i, start);
            }
        }
        if let Some(gap) = sim.workload.next_tx_gap() {
            sim.sched.at(start + secs(gap), Ev::NewTx);
        }
        if let Some(gap) = sim.workload.next_block_gap() {
            sim.sched.at(start + secs(gap), Ev::Block);
        }
        Ok(sim)
    }

    /// Runs to the scenario's end.
    pub fn run(&mut self) {
        while let Some((now, ev)) = self.sched.pop_until(self.end) {
            self.handle(now, ev);
        }
    }

    /// Runs until virtual time `t` (at most the scenario's end), for tests that act mid-run.
    pub fn run_until(&mut self, t: Time) {
        while let Some((now, ev)) = self.sched.pop_until(t.min(self.end)) {
            self.handle(now, ev);
        }
    }

    /// The scenario being run.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The run seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The shared blocks and transactions.
    pub fn world(&self) -> &SharedWorld {
        &self.world
    }

    /// Links ever opened.
    pub fn links_opened(&self) -> usize {
        self.links.len()
    }

    /// The real core of node `i`.
    pub fn core(&self, i: u32) -> Option<&Node> {
        self.nodes.get(i as usize).map(|s| &s.core)
    }

    /// Inventory, spy and origin observations.
    pub fn observer(&self) -> &Observer {
        &self.observer
    }

    /// Which nodes are online and how the network is split.
    pub fn dynamics(&self) -> &Dynamics {
        &self.dynamics
    }

    /// Every node's active tip.
    pub fn tips(&self) -> Vec<u32> {
        self.nodes.iter().map(|s| s.chain.state().tip()).collect()
    }

    /// The region of node `i`, if the scenario has regions.
    pub fn region_of(&self, i: u32) -> Option<u8> {
        self.regions.as_ref().and_then(|(_, r)| r.get(i as usize).copied())
    }

    /// The modelled chain of node `i`.
    pub fn chain(&self, i: u32) -> Option<&ModelChain> {
        self.nodes.get(i as usize).map(|s| &s.chain)
    }

    fn handle(&mut self, now: Time, ev: Ev) {
        let node = match ev {
            Ev::Timer(n) => {
                if self.nodes[n as usize].timer_at != Some(now) || !self.dynamics.online(n) {
                    // Superseded by a later reschedule.
                    return;
                }
                self.nodes[n as usize].timer_at = None;
                self.metrics.trace(now, n, TraceKind::Timer, &[]);
                self.nodes[n as usize].core.handle_timeout(now);
                n
            }
            Ev::Arrive { link, to, msg, wire } => {
                let slot = &mut self.nodes[to as usize];
                let done = slot.download_free.max(now).0 + serialization_us(wire, slot.download_mbps);
                slot.download_free = Time(done);
                self.sched.at(Time(done), Ev::Deliver { link, to, msg });
                return;
            }
            Ev::Deliver { link, to, msg } => {
                if self.dynamics.is_cut(link) || !self.dynamics.online(to) {
                    return;
                }
                let from = self.links[link as usize].peer_of(to);
                {
                    let w = self.world.read();
                    let st = self.nodes[to as usize].chain.state();
                    let (command, payload) = (msg.command.as_str(), &msg.payload);
                    self.observer.message(&w, &st, (from, to), command, payload, now);
                }
                let p = &msg.payload;
                let head = if p.len() <= TRACE_FULL_PAYLOAD {
                    &p[..]
                } else {
                    &p[..80]
                };
                let parts: [&[u8]; 4] = [
                    &link.to_le_bytes(),
                    msg.command.as_str().as_bytes(),
                    &(p.len() as u64).to_le_bytes(),
                    head,
                ];
                self.metrics.trace(now, to, TraceKind::Message, &parts);
                let peer = PeerId(link);
                self.nodes[to as usize].core.handle(now, Event::Message { peer, msg });
                to
            }
            Ev::Connected { link, node } if self.dynamics.is_cut(link) || !self.dynamics.online(node) => {
                match self.connect_cut(now, link, node) {
                    Some(n) => n,
                    None => return,
                }
            }
            Ev::Connected { link, node } => self.on_connected(now, link, node),
            Ev::ConnectFailed { node, .. } | Ev::Disconnected { node, .. } if !self.dynamics.online(node) => return,
            Ev::ConnectFailed { node, addr } => {
                self.metrics
                    .trace(now, node, TraceKind::ConnectFailed, &[addr.host.as_bytes()]);
                let error = "connection refused".to_string();
                self.nodes[node as usize]
                    .core
                    .handle(now, Event::ConnectFailed { addr, error });
                node
            }
            Ev::Disconnected { link, node } => {
                self.metrics
                    .trace(now, node, TraceKind::Disconnected, &[&link.to_le_bytes()]);
                let reason = "peer closed the connection".to_string();
                self.nodes[node as usize].core.handle(
                    now,
                    Event::Disconnected {
                        peer: PeerId(link),
                        reason,
                    },
                );
                node
            }
            Ev::JobDone { node, epoch, .. } if epoch != self.dynamics.epoch(node) || !self.dynamics.online(node) => {
                return
            }
            Ev::JobDone { node, job, .. } => self.on_job_done(now, node, job),
            Ev::NewTx => match self.on_new_tx(now) {
                Some(n) => n,
                None => return,
            },
            Ev::Block => match self.on_block(now) {
                Some(n) => n,
                None => return,
            },
            Ev::Change(c) => match self.apply_change(now, c) {
                Some(n) => n,
                None => return,
            },
        };
        self.after_core(node, now);
    }

    fn on_connected(&mut self, now: Time, link: u64, node: u32) -> u32 {
        let l = &self.links[link as usize];
        let outbound = node == l.a;
        let other = l.peer_of(node);
        // The listener sees the dialer from an ephemeral port.
        let port = if outbound {
            PORT
        } else {
            49_152 + (link % 16_384) as u16
        };
        let remote = SocketAddr::V4(SocketAddrV4::new(node_ip(other), port));
        let remote_id = match l.transport {
            Transport::Iroh { .. } => RemoteId::IrohEndpoint(endpoint_id(other)),
            _ => RemoteId::Addr(remote),
        };
        let info = ConnInfo {
            kind: l.transport.kind(),
            direction: if outbound {
                Direction::Outbound
            } else {
                Direction::Inbound
            },
            remote_id,
            remote_addr: Some(remote),
            local_addr: None,
            session_id: None,
        };
        let dialed = outbound.then(|| node_addr_for(other, l.transport.scheme()));
        self.dynamics.mark_up(link, usize::from(!outbound));
        self.metrics
            .trace(now, node, TraceKind::Connected, &[&link.to_le_bytes()]);
        self.nodes[node as usize].core.handle(
            now,
            Event::Connected {
                peer: PeerId(link),
                info,
                dialed,
            },
        );
        node
    }

    fn on_job_done(&mut self, now: Time, node: u32, job: Job) -> u32 {
        if self.real.is_some() {
            return self.real_job_done(now, node, job);
        }
        let world = self.world.clone();
        let result = {
            let w = world.read();
            let mut st = self.nodes[node as usize].chain.state();
            match job {
                Job::Headers { peer, headers } => {
                    let last = headers
                        .last()
                        .map(|h| h.block_hash().to_byte_array())
                        .unwrap_or_default();
                    self.metrics.trace(now, node, TraceKind::JobDone, &[b"headers", &last]);
                    st.apply_headers(&w, peer, &headers)
                }
                Job::Block { peer, block, .. } => {
                    let hash = block.block_hash().to_byte_array();
                    self.metrics.trace(now, node, TraceKind::JobDone, &[b"block", &hash]);
                    let out = st.apply_block(&w, peer, &block);
                    if let Some(id) = out.stored {
                        self.metrics.block_reached(id, now);
                    }
                    out.result
                }
                Job::Transaction { peer, tx } => {
                    let wtxid = tx.compute_wtxid();
                    self.metrics
                        .trace(now, node, TraceKind::JobDone, &[b"tx", &wtxid.to_byte_array()]);
                    let (outcome, accepted) = st.accept_tx_by_wtxid(&w, &tx, &wtxid, now.as_secs());
                    if let Some(id) = accepted {
                        self.metrics.tx_reached(id, now);
                    }
                    JobResult::Transaction { peer, tx, outcome }
                }
            }
        };
        self.nodes[node as usize].core.handle(now, Event::JobDone(result));
        node
    }

    /// A workload transaction appears at a random node, as `sendrawtransaction` would
    /// put it there: into the mempool, then announced by the core.
    fn on_new_tx(&mut self, now: Time) -> Option<u32> {
        if let Some(gap) = self.workload.next_tx_gap() {
            let next = now + secs(gap);
            if next < self.tx_end {
                self.sched.at(next, Ev::NewTx);
            }
        }
        if self.real.is_some() {
            return self.real_new_tx(now);
        }
        let new = self.workload.new_tx(self.scenario.nodes);
        if !self.dynamics.online(new.node) {
            return None;
        }
        let tx = new.tx.clone();
        let id = self.world.write().add_tx(new.tx, new.fee, now)?;
        self.metrics.tx_created(id, now);
        let (txid, wtxid) = (tx.compute_txid(), tx.compute_wtxid());
        self.metrics
            .trace(now, new.node, TraceKind::NewTx, &[&wtxid.to_byte_array()]);
        let accepted = {
            let w = self.world.read();
            let mut st = self.nodes[new.node as usize].chain.state();
            st.accept_tx(&w, &tx, now.as_secs()).1.is_some()
        };
        if !accepted {
            // Below the relay fee: it stays where it was made, as in a real node.
            return None;
        }
        self.metrics.tx_reached(id, now);
        self.observer.originated(id, new.node);
        self.nodes[new.node as usize].core.relay_transaction(now, txid, wtxid);
        Some(new.node)
    }

    /// A miner finds a block on its tip from its mempool; the core is told as after
    /// `generate` (`Node::chain_updated`).
    fn on_block(&mut self, now: Time) -> Option<u32> {
        if let Some(gap) = self.workload.next_block_gap() {
            self.sched.at(now + secs(gap), Ev::Block);
        }
        let miner = self.workload.pick_miner().filter(|&m| self.dynamics.online(m))?;
        if self.real.is_some() {
            return self.real_block(now, miner);
        }
        let (tip, template) = {
            let w = self.world.read();
            let st = self.nodes[miner as usize].chain.state();
            (st.tip(), st.block_template(&w))
        };
        // Times fit a u32: the scenario check bounds start plus duration.
        let time = now.as_secs() as u32;
        let tag = format!("/netsim miner {miner}/");
        let id = self.world.write().add_block(Some(tip), template, time, tag.as_bytes());
        self.metrics.block_created(id, now);
        let hash = self.world.read().block(id).hash.to_byte_array();
        self.metrics.trace(now, miner, TraceKind::Mined, &[&hash]);
        {
            let w = self.world.read();
            self.nodes[miner as usize].chain.state().add_own_block(&w, id);
        }
        self.metrics.block_reached(id, now);
        self.nodes[miner as usize].core.chain_updated(now);
        Some(miner)
    }

    /// Carries out what core `i` asked for, then re-arms its timer.
    fn after_core(&mut self, i: u32, now: Time) {
        while let Some(action) = self.nodes[i as usize].core.poll_action() {
            self.perform(i, now, action);
        }
        let slot = &mut self.nodes[i as usize];
        // At least a microsecond ahead, so a core that keeps asking for "now" cannot stall time.
        let want = slot.core.poll_timeout().map(|t| t.max(Time(now.0 + 1)));
        if want != slot.timer_at {
            slot.timer_at = want;
            if let Some(t) = want {
                self.sched.at(t, Ev::Timer(i));
            }
        }
    }

    fn perform(&mut self, i: u32, now: Time, action: Action) {
        match action {
            Action::Send { peer, msg } => self.send(i, peer.0, msg, now),
            Action::SendBlock { peer, hash, witness } => {
                let payload = {
                    let w = self.world.read();
                    let Some(id) = w.block_id(&hash) else { return };
                    let b = w.block(id);
                    if witness {
                        b.wire.clone()
                    } else {
                        let mut stripped = (*b.block).clone();
                        stripped
                            .txdata
                            .iter_mut()
                            .for_each(|tx| tx.input.iter_mut().for_each(|i| i.witness.clear()));
                        bitcoin::consensus::serialize(&stripped).into()
                    }
                };
                let Ok(command) = Command::new("block") else { return };
                self.send(i, peer.0, Message::new(command, payload, TrafficClass::Block), now);
            }
            Action::Disconnect { peer, .. } => {
                let Some(link) = self.links.get_mut(peer.0 as usize) else {
                    return;
                };
                if !link.open {
                    return;
                }
                link.open = false;
                let (other, at) = (link.peer_of(i), now + Duration::from_micros(link.latency_us));
                let listener = link.b;
                self.nodes[listener as usize].inbound = self.nodes[listener as usize].inbound.saturating_sub(1);
                self.sched.at(
                    at,
                    Ev::Disconnected {
                        link: peer.0,
                        node: other,
                    },
                );
            }
            Action::Connect { addr } => self.dial(i, addr, now),
            // The simulated network has no DNS: nodes learn peers from the topology.
            Action::Resolve { .. } => {}
            Action::Validate(job) => {
                let cost = job_cost(&self.scenario.validation, &self.world.read(), &job);
                let slot = &mut self.nodes[i as usize];
                let done = Time(slot.validate_free.max(now).0 + cost);
                slot.validate_free = done;
                let epoch = self.dynamics.epoch(i);
                self.sched.at(done, Ev::JobDone { node: i, job, epoch });
            }
        }
    }

    fn send(&mut self, from: u32, link_id: u64, msg: Message, now: Time) {
        let Some(link) = self.links.get_mut(link_id as usize) else {
            return;
        };
        if !link.open {
            return;
        }
        let wire = link.transport.wire_bytes(msg.payload.len());
        self.metrics.sent(msg.command.as_str(), msg.payload.len(), wire);
        if link.block_relay {
            self.metrics.sent_block_relay(msg.command.as_str(), &msg.payload, wire);
        }
        let slot = &mut self.nodes[from as usize];
        let depart = Time(slot.upload_free.max(now).0 + serialization_us(wire, slot.upload_mbps));
        slot.upload_free = depart;
        let arrive = link.transit(&self.scenario.links, from, msg.class, wire, depart);
        let to = link.peer_of(from);
        self.sched.at(
            arrive,
            Ev::Arrive {
                link: link_id,
                to,
                msg,
                wire,
            },
        );
    }

    fn dial(&mut self, from: u32, addr: PeerAddr, now: Time) {
        let n = self.scenario.nodes;
        let target = node_of(&addr, n).filter(|&to| {
            let t = &self.nodes[to as usize];
            to != from
                && t.reachable
                && t.inbound < self.scenario.topology.inbound_cap
                && self.dynamics.can_connect(from, to)
        });
        let quic_ok = |to: u32| self.nodes[from as usize].quic && self.nodes[to as usize].quic;
        let iroh_ok = |to: u32| self.nodes[from as usize].iroh && self.nodes[to as usize].iroh;
        let t = &self.scenario.transport;
        let transport = match (target, addr.scheme) {
            (Some(to), Scheme::Quic) if quic_ok(to) => Some((to, Transport::Quic)),
            (Some(to), Scheme::Iroh) if iroh_ok(to) => {
                // Whether two nodes' NATs allow a direct path is a property of the pair.
                let relayed = unit_draw(self.seed, Stream::IrohPath(pair_key(from, to))) < t.iroh_relay_fraction;
                Some((to, Transport::Iroh { relayed }))
            }
            (Some(to), Scheme::Tcp) => Some((
                to,
                Transport::Tcp {
                    v2: self.scenario.transport.tcp_v2,
                },
            )),
            _ => None,
        };
        let Some((to, transport)) = transport else {
            self.sched
                .at(now + DIAL_REFUSED_AFTER, Ev::ConnectFailed { node: from, addr });
            return;
        };
        let id = self.links.len() as u64;
        let mut link = Link::new(id, from, to, transport, &self.scenario.links, self.seed);
        if let Some((m, of_node)) = &self.regions {
            link.latency_us = m.link_latency_us(of_node[from as usize], of_node[to as usize], id, self.seed);
        }
        link.add_relay_hop((t.iroh_relay_latency_ms * 1_000.0).round() as u64);
        link.block_relay = self.nodes[from as usize]
            .core
            .config()
            .block_relay_nodes
            .contains(&addr);
        let handshake = Duration::from_micros(link.handshake_us());
        let one_way = Duration::from_micros(link.latency_us);
        self.links.push(link);
        self.nodes[to as usize].inbound += 1;
        // The listener's event is queued first: the dialer's `version` can never overtake it.
        self.sched
            .at(now + handshake + one_way, Ev::Connected { link: id, node: to });
        self.sched.at(now + handshake, Ev::Connected { link: id, node: from });
    }
}
