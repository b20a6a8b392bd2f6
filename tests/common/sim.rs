//! A tiny in-process network of p2p cores with real chainstates: messages are delivered
//! in order, jobs run synchronously. No I/O, no clock.

use std::collections::VecDeque;
use std::sync::Arc;

use weft::chain::jobs::{block_payload, run_job};
use weft::chain::view::SharedChain;
use weft::chain::{params, Chain, ChainOptions, Chainstate};
use weft::p2p::config::{NODE_NETWORK, NODE_WITNESS};
use weft::p2p::{Action, DisconnectReason, Event, Node, NodeConfig, PeerId, Time};
use weft::store::MemoryStore;
use weft_transports::{Command, ConnInfo, Direction, Message, RemoteId, TrafficClass, TransportKind};

/// The simulated time: after every fixture block, so none is "too new".
pub const NOW_SECS: u64 = 4_000_000_000;

/// A regtest chainstate in memory holding `blocks`.
pub fn chain_with(blocks: &[Arc<bitcoin::Block>]) -> SharedChain {
    let opts = ChainOptions {
        log_tips: false,
        ..ChainOptions::default()
    };
    let mut cs = Chainstate::open(params(Chain::Regtest), Box::new(MemoryStore::new()), opts).unwrap();
    for b in blocks {
        cs.accept_block(b.clone(), true, NOW_SECS).unwrap();
        assert!(cs.activate_best_chain().unwrap().is_empty());
    }
    SharedChain::new(cs)
}

/// Nodes wired by index: node `i` knows node `j` as `PeerId(j)`.
pub struct Sim {
    /// The cores.
    pub nodes: Vec<Node>,
    /// Their chains.
    pub chains: Vec<SharedChain>,
    /// Every disconnect a core asked for: (node, peer, reason).
    pub drops: Vec<(usize, PeerId, DisconnectReason)>,
    /// Blocks each node has served.
    pub served: Vec<usize>,
    queue: VecDeque<(usize, Event)>,
    now: Time,
}

fn conn(dir: Direction, id: usize) -> ConnInfo {
    ConnInfo {
        kind: TransportKind::Mem,
        direction: dir,
        remote_id: RemoteId::Mem(id as u64),
        remote_addr: None,
        local_addr: None,
        session_id: None,
    }
}

impl Sim {
    /// One core per chain, advertising full block service.
    pub fn new(chains: Vec<SharedChain>) -> Sim {
        let now = Time::from_secs(NOW_SECS);
        // The fixture is older than Core's 24 h tip age at NOW_SECS: treat it as current.
        let config = NodeConfig {
            services: NODE_NETWORK | NODE_WITNESS,
            max_tip_age: std::time::Duration::from_secs(NOW_SECS),
            ..NodeConfig::default()
        };
        let nodes = chains
            .iter()
            .enumerate()
            .map(|(i, c)| Node::new(config.clone(), Box::new(c.clone()), i as u64, now))
            .collect();
        Sim {
            served: vec![0; chains.len()],
            nodes,
            chains,
            drops: Vec::new(),
            queue: VecDeque::new(),
            now,
        }
    }

    /// Connects `from` (outbound) to `to`.
    pub fn connect(&mut self, from: usize, to: usize) {
        let dialed = Some("tcp://127.0.0.1:1".parse().unwrap());
        self.nodes[from].handle(
            self.now,
            Event::Connected {
                peer: PeerId(to as u64),
                info: conn(Direction::Outbound, to),
                dialed,
            },
        );
        self.nodes[to].handle(
            self.now,
            Event::Connected {
                peer: PeerId(from as u64),
                info: conn(Direction::Inbound, from),
                dialed: None,
            },
        );
    }

    /// Delivers `msg` to `to` as if `from` sent it.
    pub fn inject(&mut self, from: usize, to: usize, msg: Message) {
        self.queue.push_back((
            to,
            Event::Message {
                peer: PeerId(from as u64),
                msg,
            },
        ));
    }

    /// Runs until no core has anything left to do.
    pub fn run(&mut self) {
        loop {
            let mut idle = true;
            for i in 0..self.nodes.len() {
                while let Some(action) = self.nodes[i].poll_action() {
                    idle = false;
                    self.perform(i, action);
                }
            }
            while let Some((to, ev)) = self.queue.pop_front() {
                idle = false;
                self.nodes[to].handle(self.now, ev);
            }
            if idle {
                return;
            }
        }
    }

    fn perform(&mut self, i: usize, action: Action) {
        let from = PeerId(i as u64);
        match action {
            Action::Send { peer, msg } => self
                .queue
                .push_back((peer.0 as usize, Event::Message { peer: from, msg })),
            Action::Disconnect { peer, reason } => {
                self.drops.push((i, peer, reason));
                let ev = Event::Disconnected {
                    peer: from,
                    reason: "peer closed".into(),
                };
                self.queue.push_back((peer.0 as usize, ev));
            }
            Action::Validate(job) => {
                let result = run_job(&mut self.chains[i].lock(), job, NOW_SECS).expect("memory store");
                self.queue.push_back((i, Event::JobDone(result)));
            }
            Action::SendBlock { peer, hash, witness } => {
                if let Some(payload) = block_payload(&self.chains[i].lock(), &hash, witness).unwrap() {
                    self.served[i] += 1;
                    let msg = Message::new(Command::new("block").unwrap(), payload.into(), TrafficClass::Block);
                    self.queue
                        .push_back((peer.0 as usize, Event::Message { peer: from, msg }));
                }
            }
            Action::Connect { .. } | Action::Resolve { .. } => {}
        }
    }

    /// The tip hash of node `i`.
    pub fn tip(&self, i: usize) -> bitcoin::BlockHash {
        let cs = self.chains[i].lock();
        cs.index().get(cs.tip()).hash
    }
}
