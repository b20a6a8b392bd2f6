//! Announcement tests: what is trickled to whom, once, in bounded batches.

use std::sync::Arc;

use crate::p2p::relay::tests::{
    accepted, at, coin, config, connect, decode, deliver, done, items, new_node, run_until, take, tx, untimed, wtx, T0,
};
use crate::p2p::wire::{Inventory, NetMsg};
use crate::p2p::{Action, PeerId, Time};

#[test]
fn accepted_tx_is_trickled_to_others_not_back_to_the_sender() {
    let (mut n, pool) = new_node(config());
    connect(&mut n, at(0), 1, true, true, true);
    connect(&mut n, at(0), 2, true, true, true);
    connect(&mut n, at(0), 3, false, true, false);
    connect(&mut n, at(0), 4, false, true, true);
    let a = tx(coin(1), 0, 1);
    deliver(&mut n, at(5_000), 1, NetMsg::Tx(Arc::new(a.clone())));
    take(&mut n);
    pool.insert(&a, 1_000, T0 + 5);
    let acts = done(&mut n, at(5_000), 1, &a, accepted());
    assert!(acts
        .iter()
        .all(|a| !matches!(a, Action::Send { msg, .. } if msg.command.as_str() == "inv")));
    let timed = run_until(&mut n, at(65_000));
    let when = |id: u64| {
        let hits: Vec<Time> = timed
            .iter()
            .filter(|(_, a)| matches!(a, Action::Send { peer, msg } if *peer == PeerId(id) && msg.command.as_str() == "inv"))
            .map(|(t, _)| *t)
            .collect();
        assert!(hits.len() <= 1, "peer {id} got {} invs", hits.len());
        hits.first().copied()
    };
    let acts = untimed(timed.clone());
    assert!(items(&acts, 1, "inv").is_empty(), "announced back to the sender");
    assert_eq!(items(&acts, 2, "inv"), [wtx(&a)]);
    assert_eq!(items(&acts, 3, "inv"), [Inventory::Tx(a.compute_txid())]);
    assert_eq!(items(&acts, 4, "inv"), [wtx(&a)]);
    // Inbound peers share one timer; nobody heard at the instant of acceptance.
    assert_eq!(when(3), when(4));
    assert!(when(2).unwrap() > at(5_000) && when(3).unwrap() > at(5_000));
    // Announced once: relaying it again queues nothing.
    n.relay_transaction(at(70_000), a.compute_txid(), a.compute_wtxid());
    let acts = untimed(run_until(&mut n, at(130_000)));
    assert!((1..=4).all(|id| items(&acts, id, "inv").is_empty()));
}

#[test]
fn a_transaction_queued_twice_is_announced_once() {
    let (mut n, pool) = new_node(config());
    connect(&mut n, at(0), 1, true, true, true);
    connect(&mut n, at(0), 2, false, true, false);
    let a = tx(coin(1), 0, 1);
    let b = tx(coin(2), 0, 1);
    pool.insert(&a, 1_000, T0);
    pool.insert(&b, 1_000, T0);
    // Accepted again before the trickle (as after a reorg): the queue holds it twice.
    for t in [&a, &b, &a] {
        n.relay_transaction(at(1_000), t.compute_txid(), t.compute_wtxid());
    }
    let acts = untimed(run_until(&mut n, at(60_000)));
    let mut to_1 = items(&acts, 1, "inv");
    to_1.sort_by_key(|i| i.hash_bytes());
    let mut want = vec![wtx(&a), wtx(&b)];
    want.sort_by_key(|i| i.hash_bytes());
    assert_eq!(to_1, want);
    assert_eq!(items(&acts, 2, "inv").len(), 2);
}

#[test]
fn transactions_gone_from_the_mempool_are_not_announced() {
    let (mut n, pool) = new_node(config());
    connect(&mut n, at(0), 1, true, true, true);
    let (a, b) = (tx(coin(1), 0, 1), tx(coin(1), 1, 2));
    pool.insert(&a, 1_000, T0);
    pool.insert(&b, 1_000, T0);
    n.relay_transaction(at(0), a.compute_txid(), a.compute_wtxid());
    n.relay_transaction(at(0), b.compute_txid(), b.compute_wtxid());
    // Mined or replaced before the trickle.
    pool.remove(&a.compute_wtxid());
    let acts = untimed(run_until(&mut n, at(60_000)));
    assert_eq!(items(&acts, 1, "inv"), [wtx(&b)]);
}

#[test]
fn many_queued_announcements_go_out_in_bounded_trickles() {
    let (mut n, pool) = new_node(config());
    connect(&mut n, at(0), 1, true, true, true);
    for i in 0..100u8 {
        let t = tx(coin(3), u32::from(i), i);
        pool.insert(&t, 1_000 + i64::from(i), T0);
        n.relay_transaction(at(0), t.compute_txid(), t.compute_wtxid());
    }
    let invs: Vec<Vec<Inventory>> = untimed(run_until(&mut n, at(60_000)))
        .iter()
        .filter_map(|a| match a {
            Action::Send { msg, .. } if msg.command.as_str() == "inv" => match decode(msg) {
                NetMsg::Inv(i) => Some(i),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let sizes: Vec<usize> = invs.iter().map(Vec::len).collect();
    // Core's target of 35 per trickle, with a queue under 1,000.
    assert_eq!(sizes, [35, 35, 30]);
    // Highest fee rate first.
    assert_eq!(invs[0][0], wtx(&tx(coin(3), 99, 99)));
}

#[test]
fn a_peer_that_knew_every_transaction_holds_no_log_back() {
    let (mut n, pool) = new_node(config());
    connect(&mut n, at(0), 1, true, true, true);
    connect(&mut n, at(0), 2, false, true, true);
    let mut acts = Vec::new();
    let mut sent = Vec::new();
    // 15 minutes in all: the silent test peers would be dropped for ping timeouts at 20.
    for i in 0..30u8 {
        let now = u64::from(i) * 30_000;
        let t = tx(coin(4), u32::from(i), i);
        // Peer 1 announced each one before we took it.
        deliver(&mut n, at(now), 1, NetMsg::Inv(vec![wtx(&t)]));
        pool.insert(&t, 1_000, T0);
        n.relay_transaction(at(now), t.compute_txid(), t.compute_wtxid());
        sent.push(wtx(&t));
        // Peer 2's trickles have read everything but the newest: only it is kept.
        assert_eq!(n.relay.log.len(), 1, "after transaction {i}");
        acts.extend(untimed(run_until(&mut n, at(now + 29_000))));
    }
    acts.extend(untimed(run_until(&mut n, at(1_000_000))));
    assert!(items(&acts, 1, "inv").is_empty(), "announced to the peer that told us");
    assert_eq!(items(&acts, 2, "inv"), sent);
}
