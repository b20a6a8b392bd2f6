//! The driver: real `weft::p2p::Node` cores fed events in virtual time. Each core's
//! actions become scheduled events: sends cross the sender's upload queue, the link
//! and the receiver's download queue; validation jobs finish after their modelled
//! cost, one at a time per node, in the order asked; dials connect after the
//! transport's handshake round trips.

use std::sync::Arc;
use std::time::Duration;

use bitcoin::hashes::Hash;
use weft::p2p::chain_view::Job;
use weft::p2p::config::{NODE_NETWORK, NODE_WITNESS};
use weft::p2p::{Node, NodeConfig, Time};
use weft_transports::{Message, PeerAddr};

use crate::chain::{ModelChain, NodeState};
use crate::dist::{u64_seed, unit_draw, Stream};
use crate::error::SimError;
use crate::events::{Change, Dynamics};
use crate::link::{choose, node_addr_for, Link, Speaks};
use crate::metrics::{Metrics, TraceKind};
use crate::observe::{Observer, Seen};
use crate::region::RegionMatrix;
use crate::scenario::Scenario;
use crate::topology::{EdgeKind, Topology};
use crate::workload::Workload;
use crate::world::SharedWorld;

mod changes;
mod crew;
mod links;
mod mail;
mod node;
mod part;
mod real;

use crew::{Board, Window};
use node::Ctx;
use part::{locate, lookahead, tie, Deferred, Part, Record, Slot, GLOBAL_ORIGIN};

/// Payloads up to this size enter the trace hash whole; larger ones by their head.
const TRACE_FULL_PAYLOAD: usize = 4_096;
/// The most worker threads a run starts.
const MAX_THREADS: usize = 256;
/// Parts per worker thread when running on more than one.
const PARTS_PER_THREAD: u32 = 8;
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
    /// The sender rides along, so delivery need not read the link.
    Arrive {
        link: u64,
        from: u32,
        to: u32,
        msg: Message,
        wire: u64,
    },
    /// A message passed the receiver's download queue.
    Deliver {
        link: u64,
        from: u32,
        to: u32,
        msg: Message,
    },
    /// One end of a link finished its handshake.
    Connected { link: u64, node: u32 },
    /// A dial failed.
    ConnectFailed { node: u32, addr: PeerAddr },
    /// The other end closed a link.
    Disconnected { link: u64, node: u32 },
    /// A validation job finished (void if the node has gone offline since `epoch`).
    JobDone { node: u32, job: Job, epoch: u32 },
}

/// Something that happens to the whole network, run between windows.
#[derive(Debug)]
enum Global {
    /// The workload creates a transaction.
    NewTx,
    /// Somebody finds a block.
    Block,
    /// A scripted event or churn.
    Change(Change),
}

/// What every worker reads during a window and nobody writes then.
pub(crate) struct Shared {
    scenario: Scenario,
    seed: u64,
    world: SharedWorld,
    links: Vec<Link>,
    dynamics: Dynamics,
    observer: Observer,
    /// The region matrix and each node's region, if the scenario has regions.
    regions: Option<(RegionMatrix, Vec<u8>)>,
    /// Every node's real chainstate, in a real-validation run.
    real: Option<Box<crate::real::Real>>,
    /// How many parts the nodes are dealt into.
    parts: u32,
    /// Events on their way between parts.
    mail: mail::Mail,
}

/// The shared state, to change between windows.
fn unique(sh: &mut Arc<Shared>) -> &mut Shared {
    // Every window hands its clones back before it returns.
    Arc::get_mut(sh).expect("no worker holds the shared state between windows")
}

/// A whole simulation.
///
/// Time advances in windows no longer than the shortest link latency: within one, no
/// node can affect another, so the parts run on separate threads, and the run is the
/// same whatever the thread count.
pub struct Sim {
    /// Shared with the workers during a window; only this handle between windows.
    sh: Arc<Shared>,
    parts: Vec<Part>,
    global: crate::sched::Scheduler<Global>,
    global_seq: u64,
    workload: Workload,
    /// What was measured.
    pub metrics: Metrics,
    end: Time,
    tx_end: Time,
    /// The shortest one-way latency of any link so far, µs.
    min_latency_us: u64,
    clock: Time,
    threads: usize,
}

impl Sim {
    /// Builds the nodes, their topology and the workload of `scenario` under `seed`, to
    /// run on one thread.
    pub fn new(scenario: Scenario, seed: u64) -> Result<Sim, SimError> {
        Sim::with_threads(scenario, seed, 1)
    }

    /// As [`Sim::new`], to run on `threads` threads; the result does not depend on it.
    pub fn with_threads(scenario: Scenario, seed: u64, threads: usize) -> Result<Sim, SimError> {
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
        // Never more parts than nodes, so no part is empty.
        // More threads than nodes would have nothing to run; the cap keeps a typo in
        // `--threads` from asking the OS for a million of them.
        let threads = threads.clamp(1, MAX_THREADS).min(n.max(1) as usize);
        // Several parts a thread, taken as each thread comes free, so one busy part
        // does not leave the other threads waiting at the window's end.
        let parts_n = if threads > 1 {
            (threads as u32).saturating_mul(PARTS_PER_THREAD)
        } else {
            1
        };
        let parts_n = parts_n.min(n.max(1));
        let mut parts: Vec<Part> = (0..parts_n as usize)
            .map(|i| Part::new(start, i, parts_n as usize))
            .collect();
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
            let state = NodeState::new(config.min_relay_fee);
            let (up, down) = (scenario.links.upload_mbps, scenario.links.download_mbps);
            let (upload_mbps, download_mbps) = match &regions {
                Some((m, of_node)) => m.bandwidth(of_node[i], up, down),
                None => (up, down),
            };
            let (view, mirror): (Box<dyn weft::p2p::chain_view::ChainView>, _) = match &real {
                Some(r) => (Box::new(r.chains[i].clone()), Some(state)),
                None => (Box::new(ModelChain::new(world.clone(), state)), None),
            };
            let core = Node::new(config, view, u64_seed(seed, Stream::Core(i as u32)), start);
            parts[i % parts_n as usize].slots.push(Slot {
                core,
                mirror,
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
                seq: 0,
                trace: Default::default(),
                seen: Seen::default(),
            });
        }
        let workload = Workload::new(&scenario.workload, n, seed);
        let dynamics = Dynamics::new(n, &scenario.churn, &spies, seed);
        let observer = Observer::new(spies);
        let mut sim = Sim {
            sh: Arc::new(Shared {
                scenario,
                seed,
                world,
                links: Vec::new(),
                dynamics,
                observer,
                regions,
                real,
                parts: parts_n,
                mail: mail::Mail::new(parts_n as usize),
            }),
            parts,
            global: crate::sched::Scheduler::new(start),
            global_seq: 0,
            workload,
            metrics: Metrics::new(n),
            end,
            tx_end,
            min_latency_us: u64::MAX,
            clock: start,
            threads,
        };
        sim.schedule_changes(start);
        for i in 0..n {
            if sim.sh.dynamics.online(i) {
                sim.ctx(i).after_core(i, start);
            }
        }
        if let Some(gap) = sim.workload.next_tx_gap() {
            sim.at_global(start + secs(gap), Global::NewTx);
        }
        if let Some(gap) = sim.workload.next_block_gap() {
            sim.at_global(start + secs(gap), Global::Block);
        }
        sim.close_window(start);
        Ok(sim)
    }

    /// Runs to the scenario's end.
    pub fn run(&mut self) {
        self.run_until(self.end);
    }

    /// Runs until virtual time `t` (at most the scenario's end), for tests that act mid-run.
    pub fn run_until(&mut self, t: Time) {
        let limit = t.min(self.end);
        if self.threads > 1 {
            let board = Board::default();
            std::thread::scope(|s| {
                for _ in 1..self.threads {
                    s.spawn(|| board.serve());
                }
                // Stops the helpers even if this thread panics, so the scope can end.
                let _stop = board.stopper();
                self.run_windows(limit, Some(&board));
            });
        } else {
            self.run_windows(limit, None);
        }
        self.collect();
    }

    fn run_windows(&mut self, limit: Time, board: Option<&Board>) {
        loop {
            let queued = self.parts.iter().filter_map(Part::next_event).min();
            let node_next = [queued, self.sh.mail.earliest()].into_iter().flatten().min();
            let global_next = self.global.peek().filter(|&g| g <= limit);
            if let Some(g) = global_next.filter(|&g| node_next.is_none_or(|n| g <= n)) {
                let Some((now, ev)) = self.global.pop_until(g) else {
                    break;
                };
                self.clock = now;
                self.handle_global(now, ev);
                self.close_window(now);
                continue;
            }
            let Some(start) = node_next.filter(|&n| n <= limit) else {
                break;
            };
            let step = lookahead(self.min_latency_us, DIAL_REFUSED_AFTER);
            let mut end = Time(start.0.saturating_add(step)).min(Time(limit.0 + 1));
            if let Some(g) = global_next {
                end = end.min(g);
            }
            // Every part takes its mail as the window starts.
            self.sh.mail.clear_earliest();
            match board {
                Some(b) => {
                    let parts = std::mem::take(&mut self.parts);
                    self.parts = b.run(Window::new(self.sh.clone(), end, parts));
                }
                None => {
                    for part in &mut self.parts {
                        Ctx { sh: &self.sh, part }.run_window(end);
                    }
                }
            }
            self.clock = self.parts.iter().map(|p| p.sched.now()).max().unwrap_or(self.clock);
            self.close_window(end);
        }
    }

    /// Ends a window at `end`: the records are applied in key order, then events made
    /// between windows for other parts are posted (the workers posted their own), so
    /// neither depends on which thread ran what.
    fn close_window(&mut self, end: Time) {
        let mut records: Vec<Record> = self.parts.iter_mut().flat_map(|p| p.records.drain(..)).collect();
        records.sort_unstable_by_key(|r| (r.at, r.tie));
        for r in records {
            self.apply(r, end);
        }
        for p in &mut self.parts {
            p.post_mail(&self.sh.mail);
        }
    }

    fn apply(&mut self, r: Record, end: Time) {
        let (node, at) = (r.node, r.at);
        match r.what {
            Deferred::Dial(addr) => self.dial(node, addr, at, end),
            Deferred::Disconnect(link) => self.disconnect(node, link, at, end),
            Deferred::TxReached(id) => self.metrics.tx_reached(id, at),
            Deferred::BlockReached(id) => self.metrics.block_reached(id, at),
            Deferred::Heard { from, tx } => self.shm().observer.spies.heard(node, from, tx, at),
            Deferred::RefusedBlock(hash, reason) => {
                if let Some(real) = self.shm().real.as_mut() {
                    real.log.refused_blocks.push((node, hash, reason));
                }
            }
            Deferred::StoreError(e) => {
                if let Some(real) = self.shm().real.as_mut() {
                    real.log.store_errors.push(format!("node {node}: {e}"));
                }
            }
        }
    }

    /// Sums the workers' counts and sets the trace hash.
    fn collect(&mut self) {
        let sh = unique(&mut self.sh);
        for p in &mut self.parts {
            // The observer's share first: the metrics take what is left.
            sh.observer.absorb(&mut p.tally);
            self.metrics.absorb(&mut p.tally);
        }
        let n = self.sh.scenario.nodes;
        let digests: Vec<[u8; 16]> = (0..n).map(|i| self.slot(i).trace.digest()).collect();
        self.metrics.set_trace(digests);
    }

    /// The shared state, to change between windows.
    fn shm(&mut self) -> &mut Shared {
        unique(&mut self.sh)
    }

    /// The worker view of node `n`'s part, for work done between windows.
    fn ctx(&mut self, n: u32) -> Ctx<'_> {
        let (p, _) = locate(n, self.sh.parts);
        Ctx {
            sh: &self.sh,
            part: &mut self.parts[p],
        }
    }

    fn slot(&self, n: u32) -> &Slot {
        let (p, i) = locate(n, self.sh.parts);
        &self.parts[p].slots[i]
    }

    fn slot_mut(&mut self, n: u32) -> &mut Slot {
        let (p, i) = locate(n, self.sh.parts);
        &mut self.parts[p].slots[i]
    }

    /// Queues a network-wide event.
    fn at_global(&mut self, at: Time, ev: Global) {
        self.global.at(at, tie(GLOBAL_ORIGIN, self.global_seq), ev);
        self.global_seq += 1;
    }

    /// Queues `ev` for node `to` between windows, made by `origin` (a node, or
    /// [`GLOBAL_ORIGIN`]), no earlier than `floor`: nothing may land in a window already run.
    fn push(&mut self, origin: u32, to: u32, at: Time, floor: Time, ev: Ev) {
        let t = if origin == GLOBAL_ORIGIN {
            self.global_seq += 1;
            tie(GLOBAL_ORIGIN, self.global_seq - 1)
        } else {
            self.slot_mut(origin).next_tie(origin)
        };
        let (p, _) = locate(to, self.sh.parts);
        self.parts[p].sched.at(at.max(floor), t, ev);
    }

    /// The scenario being run.
    pub fn scenario(&self) -> &Scenario {
        &self.sh.scenario
    }

    /// The run seed.
    pub fn seed(&self) -> u64 {
        self.sh.seed
    }

    /// The shared blocks and transactions.
    pub fn world(&self) -> &SharedWorld {
        &self.sh.world
    }

    /// Links ever opened.
    pub fn links_opened(&self) -> usize {
        self.sh.links.len()
    }

    /// The real core of node `i`.
    pub fn core(&self, i: u32) -> Option<&Node> {
        (i < self.sh.scenario.nodes).then(|| &self.slot(i).core)
    }

    /// Inventory, spy and origin observations.
    pub fn observer(&self) -> &Observer {
        &self.sh.observer
    }

    /// Which nodes are online and how the network is split.
    pub fn dynamics(&self) -> &Dynamics {
        &self.sh.dynamics
    }

    /// Every node's active tip.
    pub fn tips(&self) -> Vec<u32> {
        (0..self.sh.scenario.nodes)
            .map(|i| self.slot(i).state_ref().tip())
            .collect()
    }

    /// The region of node `i`, if the scenario has regions.
    pub fn region_of(&self, i: u32) -> Option<u8> {
        self.sh.regions.as_ref().and_then(|(_, r)| r.get(i as usize).copied())
    }

    /// The modelled chain and mempool of node `i`.
    pub fn node_state(&self, i: u32) -> Option<&NodeState> {
        (i < self.sh.scenario.nodes).then(|| self.slot(i).state_ref())
    }

    fn handle_global(&mut self, now: Time, ev: Global) {
        let node = match ev {
            Global::NewTx => self.on_new_tx(now),
            Global::Block => self.on_block(now),
            Global::Change(c) => self.apply_change(now, c),
        };
        if let Some(n) = node {
            self.ctx(n).after_core(n, now);
        }
    }

    /// A workload transaction appears at a random node, as `sendrawtransaction` would
    /// put it there: into the mempool, then announced by the core.
    fn on_new_tx(&mut self, now: Time) -> Option<u32> {
        if let Some(gap) = self.workload.next_tx_gap() {
            let next = now + secs(gap);
            if next < self.tx_end {
                self.at_global(next, Global::NewTx);
            }
        }
        if self.sh.real.is_some() {
            return self.real_new_tx(now);
        }
        let new = self.workload.new_tx(self.sh.scenario.nodes);
        if !self.sh.dynamics.online(new.node) {
            return None;
        }
        let tx = new.tx.clone();
        let id = self.sh.world.write().add_tx(new.tx, new.fee, now)?;
        self.metrics.tx_created(id, now);
        let (txid, wtxid) = (tx.compute_txid(), tx.compute_wtxid());
        self.ctx(new.node)
            .trace(now, new.node, TraceKind::NewTx, &[&wtxid.to_byte_array()]);
        let accepted = {
            let world = self.sh.world.clone();
            let w = world.read();
            let st = self.slot_mut(new.node).state();
            st.accept_tx(&w, &tx, now.as_secs()).1.is_some()
        };
        if !accepted {
            // Below the relay fee: it stays where it was made, as in a real node.
            return None;
        }
        self.metrics.tx_reached(id, now);
        self.shm().observer.originated(id, new.node);
        let slot = self.slot_mut(new.node);
        slot.seen.originated(id);
        slot.core.relay_transaction(now, txid, wtxid);
        Some(new.node)
    }

    /// A miner finds a block on its tip from its mempool; the core is told as after
    /// `generate` (`Node::chain_updated`).
    fn on_block(&mut self, now: Time) -> Option<u32> {
        if let Some(gap) = self.workload.next_block_gap() {
            self.at_global(now + secs(gap), Global::Block);
        }
        let miner = self.workload.pick_miner().filter(|&m| self.sh.dynamics.online(m))?;
        if self.sh.real.is_some() {
            return self.real_block(now, miner);
        }
        let (tip, template) = {
            let w = self.sh.world.read();
            let st = self.slot(miner).state_ref();
            (st.tip(), st.block_template(&w))
        };
        // Times fit a u32: the scenario check bounds start plus duration.
        let time = now.as_secs() as u32;
        let tag = format!("/netsim miner {miner}/");
        let id = self
            .sh
            .world
            .write()
            .add_block(Some(tip), template, time, tag.as_bytes());
        self.metrics.block_created(id, now);
        let hash = self.sh.world.read().block(id).hash.to_byte_array();
        self.ctx(miner).trace(now, miner, TraceKind::Mined, &[&hash]);
        {
            let world = self.sh.world.clone();
            let w = world.read();
            self.slot_mut(miner).state().add_own_block(&w, id);
        }
        self.metrics.block_reached(id, now);
        self.slot_mut(miner).core.chain_updated(now);
        Some(miner)
    }
}
