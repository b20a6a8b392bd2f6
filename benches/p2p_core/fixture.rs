//! A p2p core with 100 handshaken peers, on a regtest chain with a mempool the bench
//! fills by hand: the sans-I/O core alone, with no validation, sockets or clock.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitcoin::absolute::LockTime;
use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::hashes::Hash;
use bitcoin::transaction::Version;
use bitcoin::{
    Amount, BlockHash, CompactTarget, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxMerkleNode, TxOut, Txid,
    Witness, Wtxid,
};
use weft::chain::view::SharedChain;
use weft::chain::{params, Chain, ChainOptions, Chainstate};
use weft::p2p::chain_view::{BlockInfo, BlockRef, ChainView, MempoolTx, TxKey};
use weft::p2p::config::{NODE_NETWORK, NODE_WITNESS};
use weft::p2p::{Action, Event, Node, NodeConfig, PeerId, Time};
use weft::store::MemoryStore;
use weft_transports::{ConnInfo, Direction, Message, RemoteId, TransportKind};

/// Peers of the core under test.
pub const PEERS: u64 = 100;
/// The bench's clock: long after regtest genesis.
pub const NOW_SECS: u64 = 1_800_000_000;

type Pool = Arc<Mutex<HashMap<Wtxid, MempoolTx>>>;

/// A real regtest chain with a mempool the bench fills directly.
struct BenchChain {
    inner: SharedChain,
    pool: Pool,
}

impl ChainView for BenchChain {
    fn tip(&self) -> BlockRef {
        self.inner.tip()
    }
    fn best_header(&self) -> BlockRef {
        self.inner.best_header()
    }
    fn block_info(&self, hash: &BlockHash) -> Option<BlockInfo> {
        self.inner.block_info(hash)
    }
    fn header(&self, hash: &BlockHash) -> Option<Header> {
        self.inner.header(hash)
    }
    fn locator(&self, from: Option<&BlockHash>) -> Vec<BlockHash> {
        self.inner.locator(from)
    }
    fn headers_after(&self, locator: &[BlockHash], stop: &BlockHash, max: usize) -> Vec<Header> {
        self.inner.headers_after(locator, stop, max)
    }
    fn fork_height(&self, best: &BlockHash) -> Option<u32> {
        self.inner.fork_height(best)
    }
    fn missing_blocks(&self, best: &BlockHash, from: u32, to: u32) -> Vec<(u32, BlockHash)> {
        self.inner.missing_blocks(best, from, to)
    }
    fn minimum_chain_work(&self) -> bitcoin::pow::Work {
        self.inner.minimum_chain_work()
    }
    fn mempool_tx(&self, key: &TxKey) -> Option<MempoolTx> {
        let pool = self.pool.lock().ok()?;
        match key {
            TxKey::Wtxid(w) => pool.get(w).cloned(),
            // Workload transactions carry no witness: txid and wtxid share their bytes.
            TxKey::Txid(t) => pool.get(&Wtxid::from_byte_array(t.to_byte_array())).cloned(),
        }
    }
    fn mempool_min_fee(&self) -> weft::chain::policy::FeeRate {
        weft::chain::policy::FeeRate(1_000)
    }
}

/// The core under test and its 100 peers.
pub struct Fixture {
    /// The core being measured.
    pub node: Node,
    pool: Pool,
    /// Its current time.
    pub now: Time,
}

fn info(dir: Direction, i: u64) -> ConnInfo {
    // Distinct routable /16s, so every peer is its own network group.
    let ip = Ipv4Addr::new(11 + (i / 200) as u8, (i % 200) as u8, 1, 1);
    ConnInfo {
        kind: TransportKind::Mem,
        direction: dir,
        remote_id: RemoteId::Mem(i),
        remote_addr: Some(SocketAddr::from((ip, 8333))),
        local_addr: None,
        session_id: None,
    }
}

fn regtest() -> SharedChain {
    let cs = Chainstate::open(
        params(Chain::Regtest),
        Box::new(MemoryStore::new()),
        ChainOptions {
            log_tips: false,
            ..ChainOptions::default()
        },
    )
    .expect("in-memory regtest chainstate");
    SharedChain::new(cs)
}

fn config() -> NodeConfig {
    NodeConfig {
        services: NODE_NETWORK | NODE_WITNESS,
        // Regtest genesis is old: count the chain as current so transactions relay.
        max_tip_age: Duration::from_secs(NOW_SECS),
        ..NodeConfig::default()
    }
}

/// Drops every action, returning how many messages the core sent.
pub fn drain(node: &mut Node) -> usize {
    let mut sent = 0;
    while let Some(a) = node.poll_action() {
        if matches!(a, Action::Send { .. }) {
            sent += 1;
        }
    }
    sent
}

impl Fixture {
    /// A fresh core with [`PEERS`] peers through the whole handshake: half inbound, half
    /// outbound, each a real core of its own that is dropped afterwards.
    pub fn new() -> Fixture {
        let now = Time::from_secs(NOW_SECS);
        let chain = regtest();
        let pool: Pool = Arc::default();
        let view = BenchChain {
            inner: chain.clone(),
            pool: pool.clone(),
        };
        let mut node = Node::new(config(), Box::new(view), 0, now);
        for i in 1..=PEERS {
            let mut peer = Node::new(config(), Box::new(chain.clone()), i, now);
            let (ours, theirs) = if i % 2 == 0 {
                (Direction::Inbound, Direction::Outbound)
            } else {
                (Direction::Outbound, Direction::Inbound)
            };
            let dialed =
                |d: Direction| (d == Direction::Outbound).then(|| "tcp://11.0.0.1:8333".parse().expect("addr"));
            node.handle(
                now,
                Event::Connected {
                    peer: PeerId(i),
                    info: info(ours, i),
                    dialed: dialed(ours),
                },
            );
            peer.handle(
                now,
                Event::Connected {
                    peer: PeerId(0),
                    info: info(theirs, 0),
                    dialed: dialed(theirs),
                },
            );
            pump(&mut node, PeerId(i), &mut peer, now);
        }
        drain(&mut node);
        Fixture { node, pool, now }
    }

    /// Delivers `msg` from peer `from` and drops whatever the core does in reply.
    pub fn deliver(&mut self, from: u64, msg: Message) -> usize {
        self.node.handle(
            self.now,
            Event::Message {
                peer: PeerId(from),
                msg,
            },
        );
        drain(&mut self.node)
    }

    /// Puts `tx` in the mempool the core reads.
    pub fn add_to_mempool(&self, tx: &Arc<Transaction>) {
        let m = MempoolTx {
            tx: tx.clone(),
            txid: tx.compute_txid(),
            wtxid: tx.compute_wtxid(),
            fee: 1_000,
            vsize: tx.vsize() as u64,
            time: NOW_SECS,
        };
        if let Ok(mut pool) = self.pool.lock() {
            pool.insert(m.wtxid, m);
        }
    }

    /// Moves the clock on without running timers.
    pub fn skip(&mut self, by: Duration) {
        self.now = self.now + by;
    }

    /// Moves the clock on and runs the core's timers; returns the messages sent.
    pub fn advance(&mut self, by: Duration) -> usize {
        self.now = self.now + by;
        self.node.handle_timeout(self.now);
        drain(&mut self.node)
    }
}

/// Runs messages between the core (`id` there is the peer) and one peer until quiet.
fn pump(node: &mut Node, id: PeerId, peer: &mut Node, now: Time) {
    loop {
        let to_peer = sends(node, id);
        let to_node = sends(peer, PeerId(0));
        if to_peer.is_empty() && to_node.is_empty() {
            return;
        }
        for msg in to_peer {
            peer.handle(now, Event::Message { peer: PeerId(0), msg });
        }
        for msg in to_node {
            node.handle(now, Event::Message { peer: id, msg });
        }
    }
}

/// The messages `node` sends to `to`; other actions are dropped.
fn sends(node: &mut Node, to: PeerId) -> Vec<Message> {
    let mut out = Vec::new();
    while let Some(a) = node.poll_action() {
        if let Action::Send { peer, msg } = a {
            if peer == to {
                out.push(msg);
            }
        }
    }
    out
}

/// A 1-input, 1-output transaction spending an outpoint named by `n`.
pub fn tx(n: u64) -> Arc<Transaction> {
    let mut prev = [0u8; 32];
    prev[..8].copy_from_slice(&n.to_le_bytes());
    prev[31] = 1;
    Arc::new(Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::new(Txid::from_byte_array(prev), 0),
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(50_000),
            script_pubkey: ScriptBuf::from_bytes(vec![0x51]),
        }],
    })
}

/// A regtest header on top of genesis with valid proof of work, distinct per `n`.
pub fn header(n: u32) -> Header {
    let genesis = bitcoin::blockdata::constants::genesis_block(bitcoin::Network::Regtest);
    let mut h = Header {
        version: BlockVersion::from_consensus(0x2000_0000),
        prev_blockhash: genesis.block_hash(),
        merkle_root: TxMerkleNode::from_byte_array([n as u8; 32]),
        time: genesis.header.time + 600 + n,
        bits: CompactTarget::from_consensus(0x207f_ffff),
        nonce: 0,
    };
    while h.validate_pow(h.target()).is_err() {
        h.nonce += 1;
    }
    h
}
