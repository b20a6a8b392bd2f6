//! Node-level relay tests: a node on a regtest chain with a test-filled mempool, peers
//! played by hand, virtual time, a fixed seed.

use std::sync::Arc;
use std::time::Duration;

use bitcoin::absolute::LockTime;
use bitcoin::hashes::Hash;
use bitcoin::transaction::Version as TxVersion;
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness};
use weft_transports::{Direction, Message};

use crate::p2p::chain_view::{Job, JobResult, Rejection, TxOutcome};
use crate::p2p::config::{NODE_NETWORK, NODE_WITNESS};
use crate::p2p::tests::{dialed, info, regtest_chain, FakeChain, FakeMempool};
use crate::p2p::wire::{Inventory, NetMsg, Version, VersionAddr};
use crate::p2p::{Action, DisconnectReason, Event, Node, NodeConfig, PeerId, Time};

pub(crate) const T0: u64 = 1_700_000_000;

pub(crate) fn at(ms: u64) -> Time {
    Time::from_secs(T0) + Duration::from_millis(ms)
}

/// Out of IBD on a genesis-only chain: any tip is recent enough.
pub(crate) fn config() -> NodeConfig {
    NodeConfig {
        max_tip_age: Duration::from_secs(100 * 365 * 24 * 3600),
        ..NodeConfig::default()
    }
}

pub(crate) fn new_node(cfg: NodeConfig) -> (Node, FakeMempool) {
    let pool = FakeMempool::new();
    let chain = FakeChain {
        inner: regtest_chain(),
        mempool: pool.clone(),
    };
    (Node::new(cfg, Box::new(chain), 42, at(0)), pool)
}

pub(crate) fn deliver(n: &mut Node, now: Time, id: u64, msg: NetMsg) {
    n.handle(
        now,
        Event::Message {
            peer: PeerId(id),
            msg: msg.encode(),
        },
    );
}

/// Connects peer `id` and runs the handshake; `relay` is its version flag, `wtxid`
/// whether it sends `wtxidrelay`.
pub(crate) fn connect(n: &mut Node, now: Time, id: u64, outbound: bool, relay: bool, wtxid: bool) -> Vec<Action> {
    let dir = if outbound {
        Direction::Outbound
    } else {
        Direction::Inbound
    };
    let peer = PeerId(id);
    let dialed = if outbound { dialed() } else { None };
    n.handle(
        now,
        Event::Connected {
            peer,
            info: info(dir, id),
            dialed,
        },
    );
    let version = Version {
        version: 70016,
        services: NODE_NETWORK | NODE_WITNESS,
        timestamp: now.as_secs() as i64,
        receiver: VersionAddr::UNSPECIFIED,
        sender: VersionAddr::UNSPECIFIED,
        nonce: 1000 + id,
        user_agent: "/test/".into(),
        start_height: 0,
        relay,
    };
    deliver(n, now, id, NetMsg::Version(Box::new(version)));
    if wtxid {
        deliver(n, now, id, NetMsg::WtxidRelay);
    }
    deliver(n, now, id, NetMsg::Verack);
    assert!(n.peer(peer).is_some_and(|p| p.is_ready()));
    take(n)
}

pub(crate) fn take(n: &mut Node) -> Vec<Action> {
    std::iter::from_fn(|| n.poll_action()).collect()
}

/// Runs every timer up to `until`, returning what was done and when.
pub(crate) fn run_until(n: &mut Node, until: Time) -> Vec<(Time, Action)> {
    let mut out = Vec::new();
    for _ in 0..100_000 {
        match n.poll_timeout() {
            Some(t) if t <= until => {
                n.handle_timeout(t);
                out.extend(take(n).into_iter().map(|a| (t, a)));
            }
            _ => return out,
        }
    }
    panic!("timers keep firing");
}

pub(crate) fn untimed(actions: Vec<(Time, Action)>) -> Vec<Action> {
    actions.into_iter().map(|(_, a)| a).collect()
}

/// Decoded messages of type `cmd` sent to `id`.
pub(crate) fn sent(actions: &[Action], id: u64, cmd: &str) -> Vec<NetMsg> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { peer, msg } if *peer == PeerId(id) && msg.command.as_str() == cmd => Some(decode(msg)),
            _ => None,
        })
        .collect()
}

pub(crate) fn decode(msg: &Message) -> NetMsg {
    NetMsg::decode(&msg.command, &msg.payload).unwrap()
}

/// All inventory in the `cmd` messages to `id`, in order.
pub(crate) fn items(actions: &[Action], id: u64, cmd: &str) -> Vec<Inventory> {
    sent(actions, id, cmd)
        .into_iter()
        .flat_map(|m| match m {
            NetMsg::Inv(i) | NetMsg::GetData(i) | NetMsg::NotFound(i) => i,
            other => panic!("not an inventory message: {other:?}"),
        })
        .collect()
}

pub(crate) fn validations(actions: &[Action]) -> Vec<(PeerId, Arc<Transaction>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Validate(Job::Transaction { peer, tx, .. }) => Some((*peer, tx.clone())),
            _ => None,
        })
        .collect()
}

pub(crate) fn drops(actions: &[Action]) -> Vec<(PeerId, DisconnectReason)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Disconnect { peer, reason } => Some((*peer, reason.clone())),
            _ => None,
        })
        .collect()
}

/// A one-input, one-output transaction spending `parent:vout`; `tag` makes it unique.
pub(crate) fn tx(parent: Txid, vout: u32, tag: u8) -> Transaction {
    Transaction {
        version: TxVersion::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint { txid: parent, vout },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::from_slice(&[vec![tag; 8]]),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(10_000),
            script_pubkey: ScriptBuf::from_bytes(vec![0x51]),
        }],
    }
}

pub(crate) fn coin(n: u8) -> Txid {
    Txid::from_byte_array([n; 32])
}

pub(crate) fn wtx(t: &Transaction) -> Inventory {
    Inventory::Wtx(t.compute_wtxid())
}

pub(crate) fn done(n: &mut Node, now: Time, peer: u64, tx: &Transaction, outcome: TxOutcome) -> Vec<Action> {
    n.handle(
        now,
        Event::JobDone(JobResult::Transaction {
            peer: PeerId(peer),
            tx: Arc::new(tx.clone()),
            outcome,
        }),
    );
    take(n)
}

pub(crate) fn accepted() -> TxOutcome {
    TxOutcome::Accepted { replaced: Vec::new() }
}

#[test]
fn outbound_inv_is_requested_at_once_inbound_after_two_seconds() {
    let (mut n, _pool) = new_node(config());
    connect(&mut n, at(0), 1, true, true, true);
    connect(&mut n, at(0), 2, false, true, true);
    connect(&mut n, at(0), 3, true, true, false);
    let (a, b, c) = (tx(coin(1), 0, 1), tx(coin(1), 1, 2), tx(coin(1), 2, 3));
    deliver(&mut n, at(1000), 2, NetMsg::Inv(vec![wtx(&a)]));
    deliver(&mut n, at(1000), 1, NetMsg::Inv(vec![wtx(&b)]));
    // A txid announcement is delayed while wtxid peers exist.
    deliver(&mut n, at(1000), 3, NetMsg::Inv(vec![Inventory::Tx(c.compute_txid())]));
    let now = take(&mut n);
    assert_eq!(items(&now, 1, "getdata"), [wtx(&b)]);
    assert!(items(&now, 2, "getdata").is_empty());
    assert!(items(&now, 3, "getdata").is_empty());
    assert_eq!(n.poll_timeout(), Some(at(3000)));
    let later = untimed(run_until(&mut n, at(2999)));
    assert!(items(&later, 2, "getdata").is_empty());
    let later = run_until(&mut n, at(3000));
    let acts = untimed(later);
    assert_eq!(items(&acts, 2, "getdata"), [wtx(&a)]);
    // Peer 3 serves witnesses, so the txid is asked for with MSG_WITNESS_TX.
    assert_eq!(items(&acts, 3, "getdata"), [Inventory::WitnessTx(c.compute_txid())]);
    // Entries of the kind a peer should not use are ignored (BIP339).
    deliver(&mut n, at(4000), 1, NetMsg::Inv(vec![Inventory::Tx(coin(9))]));
    deliver(
        &mut n,
        at(4000),
        3,
        NetMsg::Inv(vec![Inventory::Wtx(bitcoin::Wtxid::from_byte_array([9; 32]))]),
    );
    let acts = untimed(run_until(&mut n, at(10_000)));
    assert!(acts
        .iter()
        .all(|a| !matches!(a, Action::Send { msg, .. } if msg.command.as_str() == "getdata")));
}

#[test]
fn timed_out_or_notfound_request_goes_to_the_next_announcer() {
    let (mut n, _pool) = new_node(config());
    connect(&mut n, at(0), 1, true, true, true);
    connect(&mut n, at(0), 2, true, true, true);
    let a = tx(coin(1), 0, 1);
    deliver(&mut n, at(0), 1, NetMsg::Inv(vec![wtx(&a)]));
    deliver(&mut n, at(0), 2, NetMsg::Inv(vec![wtx(&a)]));
    let acts = take(&mut n);
    let (first, second) = if items(&acts, 1, "getdata").is_empty() {
        (2, 1)
    } else {
        (1, 2)
    };
    assert_eq!(items(&acts, first, "getdata"), [wtx(&a)]);
    assert!(items(&acts, second, "getdata").is_empty());
    let acts = untimed(run_until(&mut n, at(59_999)));
    assert!(items(&acts, second, "getdata").is_empty());
    let acts = untimed(run_until(&mut n, at(60_000)));
    assert_eq!(items(&acts, second, "getdata"), [wtx(&a)]);
    assert!(items(&acts, first, "getdata").is_empty());

    // notfound moves on at once.
    let b = tx(coin(2), 0, 2);
    deliver(&mut n, at(70_000), 1, NetMsg::Inv(vec![wtx(&b)]));
    deliver(&mut n, at(70_000), 2, NetMsg::Inv(vec![wtx(&b)]));
    let acts = take(&mut n);
    let asked = if items(&acts, 1, "getdata").is_empty() { 2 } else { 1 };
    let other = 3 - asked;
    deliver(&mut n, at(70_100), asked, NetMsg::NotFound(vec![wtx(&b)]));
    assert_eq!(items(&take(&mut n), other, "getdata"), [wtx(&b)]);
}

#[test]
fn received_tx_is_validated_once_and_rejections_are_remembered() {
    let (mut n, _pool) = new_node(config());
    connect(&mut n, at(0), 1, true, true, true);
    connect(&mut n, at(0), 2, true, true, true);
    let a = tx(coin(1), 0, 1);
    deliver(&mut n, at(10), 1, NetMsg::Tx(Arc::new(a.clone())));
    let acts = take(&mut n);
    assert_eq!(validations(&acts), [(PeerId(1), Arc::new(a.clone()))]);
    // The same transaction while the first is being validated: not again.
    deliver(&mut n, at(20), 2, NetMsg::Tx(Arc::new(a.clone())));
    assert!(validations(&take(&mut n)).is_empty());
    let reject = TxOutcome::Rejected(Rejection {
        reason: "min relay fee not met".into(),
        punish: false,
    });
    assert!(drops(&done(&mut n, at(30), 1, &a, reject)).is_empty());
    // Rejected lately: neither validated nor requested again.
    deliver(&mut n, at(40), 2, NetMsg::Tx(Arc::new(a.clone())));
    deliver(&mut n, at(40), 2, NetMsg::Inv(vec![wtx(&a)]));
    let acts = take(&mut n);
    assert!(validations(&acts).is_empty() && items(&acts, 2, "getdata").is_empty());
}

#[test]
fn invalid_tx_sender_is_dropped_with_a_reason() {
    let (mut n, _pool) = new_node(config());
    connect(&mut n, at(0), 1, false, true, true);
    let a = tx(coin(1), 0, 1);
    deliver(&mut n, at(10), 1, NetMsg::Tx(Arc::new(a.clone())));
    take(&mut n);
    let bad = TxOutcome::Rejected(Rejection {
        reason: "bad-txns-inputs-missingorspent".into(),
        punish: true,
    });
    let acts = done(&mut n, at(20), 1, &a, bad);
    let d = drops(&acts);
    assert_eq!(d.len(), 1);
    assert_eq!(
        d[0].1.to_string(),
        format!(
            "invalid transaction {}: bad-txns-inputs-missingorspent",
            a.compute_txid()
        )
    );
    assert!(n.peer(PeerId(1)).is_none() && n.tx_relay(PeerId(1)).is_none());
}

#[test]
fn feefilters_are_sent_and_honoured() {
    let (mut n, pool) = new_node(config());
    let hello = connect(&mut n, at(0), 1, true, true, true);
    // Ours goes out at the handshake: the min relay fee, rounded.
    let ours = sent(&hello, 1, "feefilter");
    assert!(matches!(ours[..], [NetMsg::FeeFilter(1_000 | 1_071)]), "{ours:?}");
    connect(&mut n, at(0), 2, true, true, true);
    connect(&mut n, at(0), 3, true, true, true);
    deliver(&mut n, at(0), 2, NetMsg::FeeFilter(10_000));
    // Above MAX_MONEY: ignored, as Core does.
    deliver(&mut n, at(0), 3, NetMsg::FeeFilter(21_000_000 * 100_000_000 + 1));
    assert_eq!(n.tx_relay(PeerId(2)).unwrap().fee_filter_received, 10_000);
    assert_eq!(n.tx_relay(PeerId(3)).unwrap().fee_filter_received, 0);
    let cheap = tx(coin(1), 0, 1);
    let rich = tx(coin(1), 1, 2);
    let vsize = cheap.vsize() as i64;
    pool.insert(&cheap, 5 * vsize, T0);
    pool.insert(&rich, 20 * vsize, T0);
    n.relay_transaction(at(1_000), cheap.compute_txid(), cheap.compute_wtxid());
    n.relay_transaction(at(1_000), rich.compute_txid(), rich.compute_wtxid());
    let acts = untimed(run_until(&mut n, at(60_000)));
    assert_eq!(items(&acts, 2, "inv"), [wtx(&rich)]);
    let mut to_3 = items(&acts, 3, "inv");
    to_3.sort_by_key(|i| i.hash_bytes());
    let mut both = vec![wtx(&cheap), wtx(&rich)];
    both.sort_by_key(|i| i.hash_bytes());
    assert_eq!(to_3, both);
    // Our mempool's floor jumps: the new filter goes out within five minutes.
    pool.set_min_fee(crate::chain::policy::FeeRate(50_000));
    n.handle_timeout(at(60_000));
    take(&mut n);
    let acts = untimed(run_until(&mut n, at(60_000 + 5 * 60_000)));
    let got = sent(&acts, 1, "feefilter");
    assert!(!got.is_empty(), "no feefilter within five minutes");
    assert!(
        got.iter()
            .all(|m| matches!(m, NetMsg::FeeFilter(f) if (40_000..=60_000).contains(f))),
        "{got:?}"
    );
}

#[test]
fn block_relay_only_peers_get_no_transactions() {
    let (mut n, pool) = new_node(config());
    let hello = connect(&mut n, at(0), 1, true, false, true);
    assert!(sent(&hello, 1, "feefilter").is_empty());
    assert!(n.tx_relay(PeerId(1)).is_none());
    connect(&mut n, at(0), 2, true, true, true);
    let a = tx(coin(1), 0, 1);
    pool.insert(&a, 1_000, T0);
    n.relay_transaction(at(1_000), a.compute_txid(), a.compute_wtxid());
    // Its announcements are not followed up either.
    deliver(&mut n, at(1_000), 1, NetMsg::Inv(vec![wtx(&tx(coin(2), 0, 2))]));
    let acts = untimed(run_until(&mut n, at(60_000)));
    assert!(items(&acts, 1, "inv").is_empty() && items(&acts, 1, "getdata").is_empty());
    assert!(sent(&acts, 1, "feefilter").is_empty());
    assert_eq!(items(&acts, 2, "inv"), [wtx(&a)]);
}

#[test]
fn blocksonly_node_drops_peers_that_send_transactions() {
    let cfg = NodeConfig {
        relay: false,
        ..config()
    };
    let (mut n, _pool) = new_node(cfg);
    let hello = connect(&mut n, at(0), 1, false, true, true);
    assert!(sent(&hello, 1, "feefilter").is_empty());
    connect(&mut n, at(0), 2, false, true, true);
    let a = tx(coin(1), 0, 1);
    deliver(&mut n, at(10), 1, NetMsg::Inv(vec![wtx(&a)]));
    let d = drops(&take(&mut n));
    assert_eq!(d.len(), 1);
    assert_eq!(
        d[0].1.to_string(),
        format!("transaction ({}) inv sent in violation of protocol", a.compute_wtxid())
    );
    deliver(&mut n, at(10), 2, NetMsg::Tx(Arc::new(a)));
    let d = drops(&take(&mut n));
    assert_eq!(
        d,
        [(PeerId(2), DisconnectReason::TxRelayViolation("transaction".into()))]
    );
}

#[test]
fn orphan_parent_is_fetched_and_the_orphan_revalidated() {
    let (mut n, pool) = new_node(config());
    connect(&mut n, at(0), 1, true, true, true);
    connect(&mut n, at(0), 2, true, true, true);
    connect(&mut n, at(0), 3, true, true, true);
    let parent = tx(coin(1), 0, 1);
    let child = tx(parent.compute_txid(), 0, 2);
    deliver(&mut n, at(1_000), 1, NetMsg::Tx(Arc::new(child.clone())));
    assert_eq!(validations(&take(&mut n)).len(), 1);
    let missing = TxOutcome::MissingInputs {
        parents: vec![parent.compute_txid()],
    };
    let acts = done(&mut n, at(1_000), 1, &child, missing);
    assert_eq!(n.orphan_count(), 1);
    // Asked for by txid, after the txid delay (there are wtxid peers), from the sender.
    assert!(items(&acts, 1, "getdata").is_empty());
    let acts = untimed(run_until(&mut n, at(3_000)));
    assert_eq!(
        items(&acts, 1, "getdata"),
        [Inventory::WitnessTx(parent.compute_txid())]
    );
    assert!(items(&acts, 2, "getdata").is_empty());
    // The orphan announced again is not requested: we have it.
    deliver(&mut n, at(3_500), 2, NetMsg::Inv(vec![wtx(&child)]));
    assert!(items(&take(&mut n), 2, "getdata").is_empty());

    deliver(&mut n, at(4_000), 1, NetMsg::Tx(Arc::new(parent.clone())));
    assert_eq!(validations(&take(&mut n)), [(PeerId(1), Arc::new(parent.clone()))]);
    let vsize = parent.vsize() as i64;
    pool.insert(&parent, vsize, T0 + 4);
    let acts = done(&mut n, at(4_000), 1, &parent, accepted());
    // The child comes back for validation, on behalf of a random announcer (Core's
    // choice too): the sender, or peer 2 whose inv added it as one.
    let v = validations(&acts);
    assert_eq!(v.len(), 1);
    assert!(matches!(v[0].0, PeerId(1) | PeerId(2)), "{:?}", v[0].0);
    assert_eq!(v[0].1, Arc::new(child.clone()));
    // Pays more than its parent: feerate alone would announce it first.
    pool.insert(&child, 10 * vsize, T0 + 4);
    done(&mut n, at(4_000), 1, &child, accepted());
    assert_eq!(n.orphan_count(), 0);
    let acts = untimed(run_until(&mut n, at(60_000)));
    // Parent first; the child not to peer 2, which announced it to us.
    assert_eq!(items(&acts, 3, "inv"), [wtx(&parent), wtx(&child)]);
    assert_eq!(items(&acts, 2, "inv"), [wtx(&parent)]);
    assert!(items(&acts, 1, "inv").is_empty());
}

#[test]
fn getdata_is_served_only_for_announced_or_old_transactions() {
    let (mut n, pool) = new_node(config());
    connect(&mut n, at(0), 1, false, true, true);
    let fresh = tx(coin(1), 0, 1);
    let old = tx(coin(1), 1, 2);
    pool.insert(&fresh, 1_000, T0 + 200);
    pool.insert(&old, 1_000, T0 + 200 - 120);
    deliver(&mut n, at(200_000), 1, NetMsg::GetData(vec![wtx(&fresh), wtx(&old)]));
    let acts = take(&mut n);
    assert_eq!(items(&acts, 1, "notfound"), [wtx(&fresh)]);
    assert_eq!(sent(&acts, 1, "tx"), [NetMsg::Tx(Arc::new(old.clone()))]);
    // MSG_TX: without the witness.
    deliver(
        &mut n,
        at(200_000),
        1,
        NetMsg::GetData(vec![Inventory::Tx(old.compute_txid())]),
    );
    let got = sent(&take(&mut n), 1, "tx");
    let NetMsg::Tx(stripped) = &got[0] else { panic!() };
    assert!(stripped.input[0].witness.is_empty());
    assert_eq!(stripped.compute_txid(), old.compute_txid());
    // Once announced, the fresh one is served too.
    n.relay_transaction(at(200_000), fresh.compute_txid(), fresh.compute_wtxid());
    let acts = untimed(run_until(&mut n, at(260_000)));
    assert_eq!(items(&acts, 1, "inv"), [wtx(&fresh)]);
    deliver(&mut n, at(260_000), 1, NetMsg::GetData(vec![wtx(&fresh)]));
    assert_eq!(sent(&take(&mut n), 1, "tx"), [NetMsg::Tx(Arc::new(fresh))]);
}

#[test]
fn a_gone_peer_leaves_nothing_behind() {
    let (mut n, _pool) = new_node(config());
    connect(&mut n, at(0), 1, false, true, true);
    connect(&mut n, at(0), 2, false, true, true);
    let a = tx(coin(1), 0, 1);
    let orphan = tx(coin(7), 0, 2);
    deliver(&mut n, at(0), 1, NetMsg::Inv(vec![wtx(&a)]));
    deliver(&mut n, at(0), 2, NetMsg::Inv(vec![wtx(&a)]));
    deliver(&mut n, at(0), 1, NetMsg::Tx(Arc::new(orphan.clone())));
    take(&mut n);
    let missing = TxOutcome::MissingInputs { parents: vec![coin(7)] };
    done(&mut n, at(0), 1, &orphan, missing);
    assert_eq!(n.orphan_count(), 1);
    assert!(n.relay.requests.count(PeerId(1)) > 0);
    n.handle(
        at(1_000),
        Event::Disconnected {
            peer: PeerId(1),
            reason: "gone".into(),
        },
    );
    take(&mut n);
    assert_eq!(n.relay.requests.count(PeerId(1)), 0);
    assert_eq!(n.orphan_count(), 0);
    assert!(n.tx_relay(PeerId(1)).is_none());
    // Peer 2's announcement is still there and gets asked after its delay.
    let acts = untimed(run_until(&mut n, at(2_000)));
    assert_eq!(items(&acts, 2, "getdata"), [wtx(&a)]);
}
