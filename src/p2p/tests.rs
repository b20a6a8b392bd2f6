//! Core-level tests: two nodes wired back to back, no I/O at all. The fakes here
//! (a regtest chain with a test-filled mempool) serve the relay tests too.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitcoin::block::Header;
use bitcoin::pow::Work;
use bitcoin::{BlockHash, Transaction, Wtxid};
use bytes::Bytes;

use weft_transports::{Command, ConnInfo, Direction, Message, RemoteId, TrafficClass, TransportKind};

use super::wire::{NetMsg, Version, VersionAddr};
use super::*;
use crate::chain::policy::FeeRate;

pub(crate) fn info(dir: Direction, id: u64) -> ConnInfo {
    ConnInfo {
        kind: TransportKind::Mem,
        direction: dir,
        remote_id: RemoteId::Mem(id),
        remote_addr: Some("127.0.0.1:18444".parse().unwrap()),
        local_addr: None,
        session_id: None,
    }
}

pub(crate) fn dialed() -> Option<weft_transports::PeerAddr> {
    Some("tcp://127.0.0.1:18444".parse().unwrap())
}

/// A fresh regtest chain in memory.
pub(crate) fn regtest_chain() -> Box<dyn chain_view::ChainView> {
    let params = crate::chain::params(crate::chain::Chain::Regtest);
    let store = Box::new(crate::store::MemoryStore::new());
    let cs = crate::chain::Chainstate::open(params, store, crate::chain::ChainOptions::default()).unwrap();
    Box::new(crate::chain::view::SharedChain::new(cs))
}

/// The mempool a test fills, shared with the [`FakeChain`] a node reads.
#[derive(Clone)]
/// The pool, its minimum fee, and bodies handed out ready-made (as netsim shares them).
#[allow(clippy::type_complexity)]
pub(crate) struct FakeMempool(
    Arc<
        Mutex<(
            BTreeMap<Wtxid, chain_view::MempoolTx>,
            FeeRate,
            Vec<(chain_view::KnownTx, Bytes)>,
        )>,
    >,
);

impl FakeMempool {
    pub(crate) fn new() -> Self {
        FakeMempool(Arc::new(Mutex::new((BTreeMap::new(), FeeRate(1_000), Vec::new()))))
    }

    /// Puts `tx` in, paying `fee`, as having entered at `time` (seconds).
    pub(crate) fn insert(&self, tx: &Transaction, fee: i64, time: u64) -> chain_view::MempoolTx {
        let m = chain_view::MempoolTx {
            tx: Arc::new(tx.clone()),
            txid: tx.compute_txid(),
            wtxid: tx.compute_wtxid(),
            fee,
            vsize: tx.vsize() as u64,
            time,
        };
        self.0.lock().unwrap().0.insert(m.wtxid, m.clone());
        m
    }

    /// Holds `tx` decoded, hashed and serialized, for the chain view to hand out.
    pub(crate) fn share(&self, tx: &Transaction) -> (chain_view::KnownTx, Bytes) {
        let known = chain_view::KnownTx {
            tx: Arc::new(tx.clone()),
            txid: tx.compute_txid(),
            wtxid: tx.compute_wtxid(),
        };
        let wire = Bytes::from(bitcoin::consensus::serialize(tx));
        self.0.lock().unwrap().2.push((known.clone(), wire.clone()));
        (known, wire)
    }

    pub(crate) fn remove(&self, wtxid: &Wtxid) {
        self.0.lock().unwrap().0.remove(wtxid);
    }

    pub(crate) fn set_min_fee(&self, rate: FeeRate) {
        self.0.lock().unwrap().1 = rate;
    }
}

/// A regtest chain whose mempool is a [`FakeMempool`].
pub(crate) struct FakeChain {
    pub(crate) inner: Box<dyn chain_view::ChainView>,
    pub(crate) mempool: FakeMempool,
}

impl chain_view::ChainView for FakeChain {
    fn tip(&self) -> chain_view::BlockRef {
        self.inner.tip()
    }
    fn best_header(&self) -> chain_view::BlockRef {
        self.inner.best_header()
    }
    fn block_info(&self, hash: &BlockHash) -> Option<chain_view::BlockInfo> {
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
    fn minimum_chain_work(&self) -> Work {
        self.inner.minimum_chain_work()
    }
    fn mempool_tx(&self, key: &chain_view::TxKey) -> Option<chain_view::MempoolTx> {
        let guard = self.mempool.0.lock().unwrap();
        let pool = &guard.0;
        match key {
            chain_view::TxKey::Wtxid(w) => pool.get(w).cloned(),
            chain_view::TxKey::Txid(t) => pool.values().find(|m| m.txid == *t).cloned(),
        }
    }
    fn mempool_min_fee(&self) -> FeeRate {
        self.mempool.0.lock().unwrap().1
    }
    fn known_tx(&self, wire: &[u8]) -> Option<chain_view::KnownTx> {
        let guard = self.mempool.0.lock().unwrap();
        guard.2.iter().find(|(_, w)| w[..] == *wire).map(|(k, _)| k.clone())
    }
    fn known_wire(&self, wtxid: &Wtxid) -> Option<Bytes> {
        let guard = self.mempool.0.lock().unwrap();
        guard.2.iter().find(|(k, _)| k.wtxid == *wtxid).map(|(_, w)| w.clone())
    }
}

pub(crate) type Sent = Vec<(PeerId, Message)>;
pub(crate) type Dropped = Vec<(PeerId, DisconnectReason)>;

/// Drains actions, returning the messages sent and the disconnects.
pub(crate) fn drain(n: &mut Node) -> (Sent, Dropped) {
    let (mut sent, mut dropped) = (Vec::new(), Vec::new());
    while let Some(a) = n.poll_action() {
        match a {
            Action::Send { peer, msg } => sent.push((peer, msg)),
            Action::Disconnect { peer, reason } => dropped.push((peer, reason)),
            Action::Connect { .. } | Action::Validate(_) | Action::SendBlock { .. } | Action::Resolve { .. } => {}
        }
    }
    (sent, dropped)
}

/// Runs messages between `a` (peer 1 there) and `b` (peer 2 there) until quiet.
pub(crate) fn pump(a: &mut Node, b: &mut Node, now: Time) {
    loop {
        let (to_b, _) = drain(a);
        let (to_a, _) = drain(b);
        if to_a.is_empty() && to_b.is_empty() {
            return;
        }
        for (_, msg) in to_b {
            b.handle(now, Event::Message { peer: PeerId(2), msg });
        }
        for (_, msg) in to_a {
            a.handle(now, Event::Message { peer: PeerId(1), msg });
        }
    }
}

fn connected_pair(now: Time) -> (Node, Node) {
    connected_pair_with(NodeConfig::default(), now)
}

/// Two cores with `config`: `a` dialed `b`; `a` knows `b` as peer 1, `b` knows `a` as peer 2.
pub(crate) fn connected_pair_with(config: NodeConfig, now: Time) -> (Node, Node) {
    let mut a = Node::new(config.clone(), regtest_chain(), 1, now);
    let mut b = Node::new(config, regtest_chain(), 2, now);
    a.handle(
        now,
        Event::Connected {
            peer: PeerId(1),
            info: info(Direction::Outbound, 2),
            dialed: dialed(),
        },
    );
    b.handle(
        now,
        Event::Connected {
            peer: PeerId(2),
            info: info(Direction::Inbound, 1),
            dialed: None,
        },
    );
    (a, b)
}

#[test]
fn handshake_negotiates_and_pings() {
    let t0 = Time::from_secs(1_700_000_000);
    let (mut a, mut b) = connected_pair(t0);
    // Deliver with a 5 ms delay so the RTT is visible.
    let t1 = t0 + Duration::from_millis(5);
    pump(&mut a, &mut b, t1);
    let pa = a.peer(PeerId(1)).unwrap();
    let pb = b.peer(PeerId(2)).unwrap();
    assert!(pa.is_ready() && pb.is_ready());
    assert!(pa.wtxid_relay && pa.addrv2 && pb.wtxid_relay && pb.addrv2);
    assert_eq!(
        pa.version.as_ref().unwrap().user_agent,
        format!("/weft:{}/", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(pa.version.as_ref().unwrap().version, 70016);
    // Both sent a ping on verack; both got a pong back.
    assert!(pa.ping.last_rtt.is_some() && pb.ping.last_rtt.is_some());
    // The next ping is due two minutes later.
    assert_eq!(a.poll_timeout(), Some(t1 + Duration::from_secs(120)));
}

#[test]
fn handshake_message_order_matches_core() {
    let t0 = Time::from_secs(1_700_000_000);
    let (mut a, mut b) = connected_pair(t0);
    let (sent, _) = drain(&mut a);
    let names: Vec<_> = sent.iter().map(|(_, m)| m.command.to_string()).collect();
    assert_eq!(names, ["version"]);
    for (_, msg) in sent {
        b.handle(t0, Event::Message { peer: PeerId(2), msg });
    }
    let (sent, _) = drain(&mut b);
    let names: Vec<_> = sent.iter().map(|(_, m)| m.command.to_string()).collect();
    assert_eq!(names, ["version", "wtxidrelay", "sendaddrv2", "verack"]);
}

fn raw(name: &str, payload: Vec<u8>) -> Message {
    Message::new(Command::new(name).unwrap(), payload.into(), TrafficClass::Control)
}

fn their_version(nonce: u64, version: i32) -> Message {
    NetMsg::Version(Box::new(Version {
        version,
        services: 0,
        timestamp: 0,
        receiver: VersionAddr::UNSPECIFIED,
        sender: VersionAddr::UNSPECIFIED,
        nonce,
        user_agent: "/test/".into(),
        start_height: 0,
        relay: true,
    }))
    .encode()
}

fn inbound_node(now: Time) -> Node {
    let mut n = Node::new(NodeConfig::default(), regtest_chain(), 3, now);
    n.handle(
        now,
        Event::Connected {
            peer: PeerId(7),
            info: info(Direction::Inbound, 9),
            dialed: None,
        },
    );
    n
}

fn expect_drop(n: &mut Node, needle: &str) {
    let (_, dropped) = drain(n);
    assert_eq!(dropped.len(), 1, "expected one disconnect, got {dropped:?}");
    let why = dropped[0].1.to_string();
    assert!(why.contains(needle), "{why:?} lacks {needle:?}");
    assert!(n.peer(PeerId(7)).is_none());
}

#[test]
fn bad_sequences_disconnect_with_reasons() {
    let t = Time::from_secs(1_700_000_000);
    let mut n = inbound_node(t);
    n.handle(
        t,
        Event::Message {
            peer: PeerId(7),
            msg: raw("ping", vec![0; 8]),
        },
    );
    expect_drop(&mut n, "before version");

    let mut n = inbound_node(t);
    n.handle(
        t,
        Event::Message {
            peer: PeerId(7),
            msg: their_version(5, 70016),
        },
    );
    n.handle(
        t,
        Event::Message {
            peer: PeerId(7),
            msg: their_version(5, 70016),
        },
    );
    expect_drop(&mut n, "redundant version");

    let mut n = inbound_node(t);
    n.handle(
        t,
        Event::Message {
            peer: PeerId(7),
            msg: their_version(5, 31799),
        },
    );
    expect_drop(&mut n, "obsolete version 31799");

    let mut n = inbound_node(t);
    n.handle(
        t,
        Event::Message {
            peer: PeerId(7),
            msg: raw("version", vec![0xff; 40]),
        },
    );
    expect_drop(&mut n, "malformed version");

    let mut n = inbound_node(t);
    n.handle(
        t,
        Event::Message {
            peer: PeerId(7),
            msg: their_version(5, 70016),
        },
    );
    n.handle(
        t,
        Event::Message {
            peer: PeerId(7),
            msg: raw("verack", vec![]),
        },
    );
    n.handle(
        t,
        Event::Message {
            peer: PeerId(7),
            msg: raw("wtxidrelay", vec![]),
        },
    );
    expect_drop(&mut n, "wtxidrelay received after verack");
}

#[test]
fn self_connection_is_detected() {
    let t = Time::from_secs(1_700_000_000);
    let mut n = Node::new(NodeConfig::default(), regtest_chain(), 4, t);
    n.handle(
        t,
        Event::Connected {
            peer: PeerId(1),
            info: info(Direction::Outbound, 1),
            dialed: dialed(),
        },
    );
    let (sent, _) = drain(&mut n);
    // Our own version arrives on the inbound side of the same node.
    n.handle(
        t,
        Event::Connected {
            peer: PeerId(7),
            info: info(Direction::Inbound, 1),
            dialed: None,
        },
    );
    n.handle(
        t,
        Event::Message {
            peer: PeerId(7),
            msg: sent[0].1.clone(),
        },
    );
    expect_drop(&mut n, "connected to self");
    assert!(n.peer(PeerId(1)).is_some());
}

#[test]
fn timeouts() {
    let t = Time::from_secs(1_700_000_000);
    let mut n = inbound_node(t);
    assert_eq!(n.poll_timeout(), Some(t + Duration::from_secs(60)));
    n.handle_timeout(t + Duration::from_secs(59));
    assert!(n.peer(PeerId(7)).is_some());
    n.handle_timeout(t + Duration::from_secs(60));
    expect_drop(&mut n, "handshake timeout");

    let (mut a, mut b) = connected_pair(t);
    pump(&mut a, &mut b, t);
    // b stops answering: a's next ping goes unanswered for 20 minutes.
    let t2 = t + Duration::from_secs(120);
    a.handle_timeout(t2);
    let (sent, _) = drain(&mut a);
    assert_eq!(sent[0].1.command.as_str(), "ping");
    a.handle_timeout(t2 + Duration::from_secs(20 * 60));
    assert!(a.peer(PeerId(1)).is_some());
    a.handle_timeout(t2 + Duration::from_secs(20 * 60 + 1));
    let (_, dropped) = drain(&mut a);
    assert!(matches!(dropped[0].1, DisconnectReason::PingTimeout(_)));
}

#[test]
fn manual_targets_redial_with_backoff() {
    let t = Time::from_secs(1_700_000_000);
    let cfg = NodeConfig {
        connect: vec!["quic://127.0.0.1:1".parse().unwrap()],
        ..NodeConfig::default()
    };
    let mut n = Node::new(cfg, regtest_chain(), 5, t);
    assert!(matches!(n.poll_action(), Some(Action::Connect { .. })));
    n.handle(
        t,
        Event::ConnectFailed {
            addr: "quic://127.0.0.1:1".parse().unwrap(),
            error: "refused".into(),
        },
    );
    assert_eq!(n.poll_timeout(), Some(t + outbound::RETRY_MIN));
    n.handle_timeout(t + outbound::RETRY_MIN);
    assert!(matches!(n.poll_action(), Some(Action::Connect { .. })));
}

mod prop {
    use proptest::prelude::*;
    use weft_transports::Command;

    use crate::p2p::wire::NetMsg;

    proptest! {
        /// Any payload under any handled type decodes or errors; never panics, and
        /// whatever decodes re-encodes to the same bytes (version may drop trailing data).
        #[test]
        fn payload_decoders_never_panic(
            which in 0usize..7,
            payload in proptest::collection::vec(any::<u8>(), 0..400),
        ) {
            let name = ["version", "verack", "ping", "pong", "wtxidrelay", "sendaddrv2", "inv"][which];
            let cmd = Command::new(name).unwrap();
            if let Ok(m) = NetMsg::decode(&cmd, &payload) {
                let enc = m.encode();
                if name != "version" && name != "inv" {
                    prop_assert_eq!(&enc.payload[..], &payload[..]);
                }
                prop_assert_eq!(NetMsg::decode(&enc.command, &enc.payload).unwrap(), m);
            }
        }
    }
}
